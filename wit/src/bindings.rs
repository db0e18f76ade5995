//! Generating the host bindings of the WASI interfaces.
//!
//! Out: Rust source that `libwasi-native` includes. For every host
//! interface, a module with:
//!
//! - a Rust type for each WIT record, variant, enum and flags type, with
//!   its `Layout`, `Lift` and `Lower` implementations (sizes, alignments
//!   and offsets from `wit-parser`'s `SizeAlign`), and a marker type for
//!   each resource;
//! - a `Host` trait with one method per function, taking the lifted
//!   parameters and returning the result to lower (for an `async func`,
//!   `Async<R>`: the result, or the host I/O it waits for first); no method
//!   has a default body, so a function the WIT declares and the host does
//!   not implement is a build error (a function the host does not support
//!   says so in its own body, with the error its WIT defines where it has
//!   one);
//!
//! and, for the whole world, one shim per function (`smelt_abi::vm::
//! TrampolineFn`) calling `smelt_rt::component::host::call` with the
//! function's Rust types, exported under [`crate::HostFunction::symbol`]
//! (compiled programs refer to the shims they import by that name, so an
//! executable links only those). [`resource_table`] makes the table of
//! every world's host resource types with their destructors.
//!
//! `stream<T>` and `future<T>` are `StreamReader<T>` and `FutureReader<T>`
//! of `smelt_rt::component::host`: the readable end the guest passes to
//! the host, or the one the host returns to the guest.
//!
//! The generated code expects, in the crate that includes it, a function
//! `crate::host()` returning the host state, whose type implements every
//! interface's `Host` trait, and a function `crate::drop_resource(type,
//! rep)` that frees the host object behind the last owned handle a guest
//! drops.

use std::fmt::Write;

use wit_parser::{Function, Handle, InterfaceId, Resolve, SizeAlign, Type, TypeDefKind, TypeId};

use crate::{HostWorld, interface_name};

/// The Rust module of an interface: `wasi:io/streams` → `wasi_io_streams`.
pub fn module_name(interface: &str) -> String {
    interface.replace([':', '/', '-'], "_")
}

/// `kebab-case` → `CamelCase`.
pub fn camel(name: &str) -> String {
    name.split(['-', '.'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `kebab-case` → `snake_case`, avoiding Rust keywords.
pub fn snake(name: &str) -> String {
    let s = name.replace(['-', '.'], "_");
    match s.as_str() {
        "type" | "self" | "in" | "move" | "ref" | "use" | "match" | "fn" | "mod" | "loop"
        | "as" | "impl" | "where" => format!("{s}_"),
        _ => s,
    }
}

/// A function's Rust method name: `[method]output-stream.write` →
/// `method_output_stream_write`.
pub fn method_name(func: &str) -> String {
    let s = func
        .replace("[method]", "method-")
        .replace("[static]", "static-")
        .replace("[constructor]", "constructor-")
        .replace("[resource-drop]", "drop-");
    snake(&s)
}

/// The WASI 0.2 functions whose `list<u8>` moves in place, without a copy
/// in the host: the bytes a guest writes to an output stream are read from
/// its memory (`GuestBytes`), and those it reads from an input stream may
/// be written straight into the list the guest gets (`ReadBytes`) — the
/// hot path of sockets and files.
const IN_PLACE: &[&str] = &[
    "[method]output-stream.write",
    "[method]output-stream.blocking-write-and-flush",
    "[method]input-stream.read",
    "[method]input-stream.blocking-read",
];

struct Gen<'a> {
    world: &'a HostWorld,
    sizes: SizeAlign,
    out: String,
}

impl Gen<'_> {
    fn resolve(&self) -> &Resolve {
        &self.world.resolve
    }

    /// The path of a named type from the bindings root.
    fn type_path(&self, ty: TypeId) -> String {
        let def = &self.resolve().types[ty];
        let name = camel(def.name.as_deref().expect("named type"));
        match crate::owner_interface(self.resolve(), ty) {
            Some(i) => format!(
                "{}::{name}",
                module_name(&interface_name(self.resolve(), i))
            ),
            None => name,
        }
    }

    /// The Rust type of a WIT type, from the bindings root.
    fn rust(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::S8 => "i8".into(),
            Type::U16 => "u16".into(),
            Type::S16 => "i16".into(),
            Type::U32 => "u32".into(),
            Type::S32 => "i32".into(),
            Type::U64 => "u64".into(),
            Type::S64 => "i64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "String".into(),
            Type::ErrorContext => panic!("error-context is not in WASI 0.2"),
            Type::Id(id) => self.rust_id(*id),
        }
    }

    fn rust_id(&self, id: TypeId) -> String {
        let def = &self.resolve().types[id];
        match &def.kind {
            TypeDefKind::Record(_)
            | TypeDefKind::Variant(_)
            | TypeDefKind::Enum(_)
            | TypeDefKind::Flags(_)
            | TypeDefKind::Resource => self.type_path(id),
            TypeDefKind::Type(t) => match def.name {
                Some(_) => self.type_path(id),
                None => self.rust(t),
            },
            TypeDefKind::Handle(Handle::Own(r)) => {
                format!(
                    "Own<{}>",
                    self.type_path(crate::dealias(self.resolve(), *r))
                )
            }
            TypeDefKind::Handle(Handle::Borrow(r)) => {
                format!(
                    "Borrow<{}>",
                    self.type_path(crate::dealias(self.resolve(), *r))
                )
            }
            TypeDefKind::Tuple(t) => {
                let items: Vec<String> = t.types.iter().map(|t| self.rust(t)).collect();
                format!("({},)", items.join(", "))
            }
            TypeDefKind::Option(t) => format!("Option<{}>", self.rust(t)),
            TypeDefKind::Result(r) => format!(
                "Result<{}, {}>",
                r.ok.as_ref().map_or("()".into(), |t| self.rust(t)),
                r.err.as_ref().map_or("()".into(), |t| self.rust(t))
            ),
            TypeDefKind::List(t) => format!("Vec<{}>", self.rust(t)),
            TypeDefKind::Stream(t) => format!(
                "StreamReader<{}>",
                t.as_ref().map_or("()".into(), |t| self.rust(t))
            ),
            TypeDefKind::Future(t) => format!(
                "FutureReader<{}>",
                t.as_ref().map_or("()".into(), |t| self.rust(t))
            ),
            other => panic!("unsupported WIT type {other:?}"),
        }
    }

    fn flat_count(&self, ty: &Type) -> usize {
        let mut flat = Vec::new();
        self.push_flat(ty, &mut flat);
        flat.len()
    }

    fn push_flat(&self, ty: &Type, out: &mut Vec<()>) {
        match ty {
            Type::String => out.extend([(), ()]),
            Type::Id(id) => match &self.resolve().types[*id].kind {
                TypeDefKind::Record(r) => r.fields.iter().for_each(|f| self.push_flat(&f.ty, out)),
                TypeDefKind::Tuple(t) => t.types.iter().for_each(|t| self.push_flat(t, out)),
                TypeDefKind::Flags(f) => {
                    out.extend(std::iter::repeat_n((), f.flags.len().div_ceil(32)))
                }
                TypeDefKind::Variant(v) => {
                    let payload = v
                        .cases
                        .iter()
                        .filter_map(|c| c.ty.as_ref())
                        .map(|t| self.flat_count(t))
                        .max()
                        .unwrap_or(0);
                    out.extend(std::iter::repeat_n((), 1 + payload));
                }
                TypeDefKind::Enum(_) => out.push(()),
                TypeDefKind::Option(t) => {
                    out.extend(std::iter::repeat_n((), 1 + self.flat_count(t)))
                }
                TypeDefKind::Result(r) => {
                    let ok = r.ok.as_ref().map_or(0, |t| self.flat_count(t));
                    let err = r.err.as_ref().map_or(0, |t| self.flat_count(t));
                    out.extend(std::iter::repeat_n((), 1 + ok.max(err)));
                }
                TypeDefKind::List(_) => out.extend([(), ()]),
                TypeDefKind::Type(t) => self.push_flat(t, out),
                _ => out.push(()),
            },
            _ => out.push(()),
        }
    }

    fn layout(&mut self, name: &str, flat: usize, ty: TypeId) {
        let size = self.sizes.size(&Type::Id(ty)).size_wasm32();
        let align = self.sizes.align(&Type::Id(ty)).align_wasm32();
        writeln!(
            self.out,
            "impl Layout for {name} {{ const FLAT: usize = {flat}; const SIZE: u32 = {size}; const ALIGN: u32 = {align}; }}"
        )
        .unwrap();
    }

    fn record(&mut self, name: &str, ty: TypeId, record: &wit_parser::Record) {
        let fields: Vec<(String, String)> = record
            .fields
            .iter()
            .map(|f| (snake(&f.name), self.rust(&f.ty)))
            .collect();
        writeln!(self.out, "#[derive(Debug)]\npub struct {name} {{").unwrap();
        for (f, t) in &fields {
            writeln!(self.out, "    pub {f}: {t},").unwrap();
        }
        writeln!(self.out, "}}").unwrap();
        let flat = self.flat_count(&Type::Id(ty));
        self.layout(name, flat, ty);
        let offsets = self
            .sizes
            .field_offsets(record.fields.iter().map(|f| &f.ty));
        let mut lift_flat = String::new();
        let mut load = String::new();
        let mut lower_flat = String::new();
        let mut store = String::new();
        for ((f, t), (off, _)) in fields.iter().zip(&offsets) {
            let off = off.size_wasm32();
            writeln!(
                lift_flat,
                "let {f} = <{t}>::lift_flat(cx, &src[i..])?; i += <{t}>::FLAT;"
            )
            .unwrap();
            writeln!(load, "{f}: <{t}>::load(cx, addr + {off})?,").unwrap();
            writeln!(
                lower_flat,
                "self.{f}.lower_flat(cx, &mut dst[i..])?; i += <{t}>::FLAT;"
            )
            .unwrap();
            writeln!(store, "self.{f}.store(cx, addr + {off})?;").unwrap();
        }
        let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
        writeln!(
            self.out,
            "impl Lift for {name} {{
    #[allow(unused_assignments)]
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {{ let mut i = 0; {lift_flat} Ok(Self {{ {} }}) }}
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {{ Ok(Self {{ {load} }}) }}
}}
impl Lower for {name} {{
    #[allow(unused_assignments)]
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {{ let mut i = 0; {lower_flat} Ok(()) }}
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {{ {store} Ok(()) }}
}}",
            names.join(", ")
        )
        .unwrap();
    }

    /// A variant-like type: cases with optional payload types.
    fn variant(&mut self, name: &str, ty: TypeId, cases: &[(String, Option<Type>)], is_enum: bool) {
        let disc = match cases.len() {
            0..=256 => 1,
            257..=65536 => 2,
            _ => 4,
        };
        if is_enum {
            writeln!(
                self.out,
                "#[derive(Debug, Clone, Copy, PartialEq, Eq)]\npub enum {name} {{"
            )
            .unwrap();
        } else {
            writeln!(self.out, "#[derive(Debug)]\npub enum {name} {{").unwrap();
        }
        for (case, payload) in cases {
            match payload {
                Some(t) => writeln!(self.out, "    {}({}),", camel(case), self.rust(t)).unwrap(),
                None => writeln!(self.out, "    {},", camel(case)).unwrap(),
            }
        }
        writeln!(self.out, "}}").unwrap();
        let flat = self.flat_count(&Type::Id(ty));
        self.layout(name, flat, ty);
        let payload_offset = self
            .sizes
            .payload_offset(wit_parser::Int::U8, cases.iter().map(|(_, t)| t.as_ref()))
            .size_wasm32();
        let payload_offset = if disc == 1 {
            payload_offset
        } else {
            self.sizes
                .payload_offset(
                    if disc == 2 {
                        wit_parser::Int::U16
                    } else {
                        wit_parser::Int::U32
                    },
                    cases.iter().map(|(_, t)| t.as_ref()),
                )
                .size_wasm32()
        };
        let mut lift_flat = String::new();
        let mut load = String::new();
        let mut lower_flat = String::new();
        let mut store = String::new();
        for (i, (case, payload)) in cases.iter().enumerate() {
            let c = camel(case);
            match payload {
                Some(t) => {
                    let t = self.rust(t);
                    writeln!(
                        lift_flat,
                        "{i} => Self::{c}(<{t}>::lift_flat(cx, &src[1..])?),"
                    )
                    .unwrap();
                    writeln!(
                        load,
                        "{i} => Self::{c}(<{t}>::load(cx, addr + {payload_offset})?),"
                    )
                    .unwrap();
                    writeln!(
                        lower_flat,
                        "Self::{c}(v) => {{ dst[0] = {i}; v.lower_flat(cx, &mut dst[1..])?; }}"
                    )
                    .unwrap();
                    writeln!(store, "Self::{c}(v) => {{ cx.store_int(addr, {disc}, {i})?; v.store(cx, addr + {payload_offset})?; }}").unwrap();
                }
                None => {
                    writeln!(lift_flat, "{i} => Self::{c},").unwrap();
                    writeln!(load, "{i} => Self::{c},").unwrap();
                    writeln!(lower_flat, "Self::{c} => {{ dst[0] = {i}; }}").unwrap();
                    writeln!(store, "Self::{c} => cx.store_int(addr, {disc}, {i})?,").unwrap();
                }
            }
        }
        writeln!(
            self.out,
            "impl Lift for {name} {{
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {{ let _ = &cx; Ok(match src[0] as u32 {{ {lift_flat} _ => return Err(ComponentTrap::InvalidDiscriminant.into()) }}) }}
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {{ Ok(match cx.load_int(addr, {disc})? {{ {load} _ => return Err(ComponentTrap::InvalidDiscriminant.into()) }}) }}
}}
impl Lower for {name} {{
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {{ let _ = &cx; dst[..Self::FLAT].fill(0); match self {{ {lower_flat} }} Ok(()) }}
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {{ match self {{ {store} }} Ok(()) }}
}}"
        )
        .unwrap();
    }

    fn flags(&mut self, name: &str, ty: TypeId, flags: &wit_parser::Flags) {
        let size = self.sizes.size(&Type::Id(ty)).size_wasm32();
        writeln!(self.out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]\npub struct {name} {{ pub bits: u64 }}\nimpl {name} {{").unwrap();
        for (i, f) in flags.flags.iter().enumerate() {
            writeln!(
                self.out,
                "    pub const {}: u64 = 1 << {i};",
                snake(&f.name).to_uppercase()
            )
            .unwrap();
        }
        writeln!(self.out, "    /// Whether the flags include `flag`.\n    pub fn contains(&self, flag: u64) -> bool {{ self.bits & flag == flag }}\n}}").unwrap();
        let flat = self.flat_count(&Type::Id(ty));
        self.layout(name, flat, ty);
        let mask = if flags.flags.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << flags.flags.len()) - 1
        };
        writeln!(
            self.out,
            "impl Lift for {name} {{
    fn lift_flat(_: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {{ let mut bits = 0u64; for (i, w) in src[..Self::FLAT].iter().enumerate() {{ bits |= (*w as u32 as u64) << (32 * i); }} Ok(Self {{ bits: bits & {mask} }}) }}
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {{ let mut bits = 0u64; for w in 0..({size}u32).div_ceil(4) {{ bits |= cx.load_int(addr + 4 * w, ({size}u32).min(4))? << (32 * w); }} Ok(Self {{ bits: bits & {mask} }}) }}
}}
impl Lower for {name} {{
    fn lower_flat(self, _: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {{ for i in 0..Self::FLAT {{ dst[i] = ValRaw::from((self.bits >> (32 * i)) as u32); }} Ok(()) }}
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {{ for w in 0..({size}u32).div_ceil(4) {{ cx.store_int(addr + 4 * w, ({size}u32).min(4), (self.bits >> (32 * w)) & 0xffff_ffff)?; }} Ok(()) }}
}}"
        )
        .unwrap();
    }

    fn types(&mut self, iface: InterfaceId) {
        let types: Vec<(String, TypeId)> = self.resolve().interfaces[iface]
            .types
            .iter()
            .map(|(n, &t)| (n.clone(), t))
            .collect();
        for (name, ty) in types {
            let rust_name = camel(&name);
            let kind = self.resolve().types[ty].kind.clone();
            match kind {
                TypeDefKind::Record(r) => self.record(&rust_name, ty, &r),
                TypeDefKind::Variant(v) => {
                    let cases: Vec<(String, Option<Type>)> =
                        v.cases.iter().map(|c| (c.name.clone(), c.ty)).collect();
                    self.variant(&rust_name, ty, &cases, false);
                }
                TypeDefKind::Enum(e) => {
                    let cases: Vec<(String, Option<Type>)> =
                        e.cases.iter().map(|c| (c.name.clone(), None)).collect();
                    self.variant(&rust_name, ty, &cases, true);
                }
                TypeDefKind::Flags(f) => self.flags(&rust_name, ty, &f),
                TypeDefKind::Resource => {
                    let index = self
                        .world
                        .resource_of(ty)
                        .expect("every resource is a host resource")
                        .as_u32();
                    // The runtime type, as `smelt_abi::component::ResourceIndex`.
                    writeln!(
                        self.out,
                        "/// Resource `{name}`.\n#[derive(Debug)]\npub struct {rust_name};\nimpl HostResource for {rust_name} {{ const TYPE: smelt_abi::component::ResourceIndex = smelt_abi::component::ResourceIndex::from_u32({index}); }}"
                    )
                    .unwrap();
                }
                TypeDefKind::Type(t) => {
                    let target = self.rust(&t);
                    writeln!(self.out, "pub type {rust_name} = {target};").unwrap();
                }
                other => {
                    let target = self.rust_id(ty);
                    let _ = other;
                    writeln!(self.out, "pub type {rust_name} = {target};").unwrap();
                }
            }
        }
    }

    fn signature(&self, func: &Function) -> (Vec<(String, String)>, String) {
        let in_place = self.world.minor == 2 && IN_PLACE.contains(&func.name.as_str());
        let params = func
            .params
            .iter()
            .map(|p| {
                let ty = self.rust(&p.ty);
                match (in_place, ty.as_str()) {
                    (true, "Vec<u8>") => (snake(&p.name), "GuestBytes".to_string()),
                    _ => (snake(&p.name), ty),
                }
            })
            .collect();
        let result = func.result.as_ref().map_or("()".into(), |t| self.rust(t));
        let result = if in_place {
            result.replacen("Result<Vec<u8>,", "Result<ReadBytes,", 1)
        } else {
            result
        };
        (params, result)
    }

    /// What a `Host` method returns: `R`, or `Async<R>` for an `async
    /// func`.
    fn returns(&self, func: &Function) -> String {
        let (_, result) = self.signature(func);
        if func.kind.is_async() {
            format!("Async<{result}>")
        } else {
            result
        }
    }

    fn host_trait(&mut self, iface: InterfaceId, name: &str) {
        writeln!(
            self.out,
            "/// The host side of `{name}`.\npub trait Host {{"
        )
        .unwrap();
        let funcs: Vec<Function> = self.resolve().interfaces[iface]
            .functions
            .values()
            .cloned()
            .collect();
        for func in funcs {
            let (params, _) = self.signature(&func);
            let result = self.returns(&func);
            let params: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            // No default body: a function the WIT declares and the host
            // does not implement is a build error of the host.
            writeln!(
                self.out,
                "    /// `{}`.\n    fn {}(&mut self, cx: &mut Cx<'_>{}{}) -> HostResult<{result}>;",
                func.name,
                method_name(&func.name),
                if params.is_empty() { "" } else { ", " },
                params.join(", "),
            )
            .unwrap();
        }
        writeln!(self.out, "}}").unwrap();
    }
}

/// Generates the bindings of `world` (see the module documentation),
/// without the resource table ([`resource_table`]).
pub fn generate(world: &HostWorld) -> String {
    let mut sizes = SizeAlign::default();
    sizes
        .fill(&world.resolve)
        .expect("the WASI WIT types have canonical ABI sizes");
    let mut g = Gen {
        world,
        sizes,
        out: String::new(),
    };
    writeln!(
        g.out,
        "// Generated by smelt-wit from the WASI 0.{} WIT files: do not edit.\n\
         #[allow(unused_imports)]\n\
         use smelt_rt::component::host::{{Async, Borrow, Cx, FutureReader, GuestBytes, HostResource, HostResult, HostTrap, Layout, Lift, Lower, Own, ReadBytes, StreamReader}};\n\
         #[allow(unused_imports)]\n\
         use smelt_rt::component::trap::ComponentTrap;\n\
         #[allow(unused_imports)]\n\
         use smelt_abi::vm::ValRaw;\n",
        world.minor
    )
    .unwrap();
    for (name, id) in &world.interfaces {
        writeln!(
            g.out,
            "/// `{name}`.\n#[allow(missing_docs, clippy::all, unused_mut, unused_variables, non_camel_case_types)]\npub mod {} {{\nuse super::*;",
            module_name(name)
        )
        .unwrap();
        g.types(*id);
        g.host_trait(*id, name);
        writeln!(g.out, "}}").unwrap();
    }

    // The shims, each under the symbol compiled programs refer to it by
    // (no table of them: the linker keeps only the ones a program imports).
    for (i, f) in world.functions.iter().enumerate() {
        let (params, result) = g.signature(&f.func);
        let wrap = if f.func.kind.is_async() {
            ""
        } else {
            ".map(Async::Ready)"
        };
        let types: Vec<&str> = params.iter().map(|(_, t)| t.as_str()).collect();
        let names: Vec<String> = (0..params.len()).map(|k| format!("p{k}")).collect();
        let tuple_ty = if types.is_empty() {
            "()".to_string()
        } else {
            format!("({},)", types.join(", "))
        };
        let tuple_pat = if names.is_empty() {
            "()".to_string()
        } else {
            format!("({},)", names.join(", "))
        };
        let module = module_name(&f.interface);
        writeln!(
            g.out,
            "/// `{}#{}`.\n#[unsafe(export_name = \"{}\")]\nunsafe extern \"C\" fn shim_{i}(ctx: *mut u8, args: *mut ValRaw, results: *mut ValRaw) -> u32 {{\n    // SAFETY: the compiled trampoline passes its state and slots.\n    unsafe {{ smelt_rt::component::host::call::<{tuple_ty}, {result}>(ctx, args, results, |cx, {tuple_pat}| {module}::Host::{}(crate::host(), cx{}{}){wrap}) }}\n}}",
            f.interface,
            f.name,
            f.symbol(),
            method_name(&f.name),
            if names.is_empty() { "" } else { ", " },
            names.join(", ")
        )
        .unwrap();
    }
    g.out
}

/// Generates the table of every world's host resource types, in runtime
/// type number order (each world's from its `first_resource`), with their
/// destructors (`crate::drop_resource(type, rep)`).
pub fn resource_table(worlds: &[&HostWorld]) -> String {
    let mut out = String::new();
    let n: usize = worlds.iter().map(|w| w.resources.len()).sum();
    writeln!(
        out,
        "/// Every host resource type, by runtime type number.\npub static RESOURCES: [smelt_rt::component::HostResourceType; {n}] = ["
    )
    .unwrap();
    for world in worlds {
        assert_eq!(
            out.matches("HostResourceType {").count(),
            world.first_resource as usize,
            "worlds in number order"
        );
        for (i, r) in world.resources.iter().enumerate() {
            let ty = world.first_resource as usize + i;
            writeln!(
                out,
                "    smelt_rt::component::HostResourceType {{ name: \"{}#{}\", drop: |rep| crate::drop_resource({ty}, rep) }},",
                r.interface, r.name,
            )
            .unwrap();
        }
    }
    writeln!(out, "];").unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(module_name("wasi:io/streams"), "wasi_io_streams");
        assert_eq!(camel("descriptor-stat"), "DescriptorStat");
        assert_eq!(snake("type"), "type_");
        assert_eq!(
            method_name("[method]output-stream.blocking-write-and-flush"),
            "method_output_stream_blocking_write_and_flush"
        );
        assert_eq!(
            method_name("[static]fields.from-list"),
            "static_fields_from_list"
        );
        assert_eq!(method_name("[constructor]fields"), "constructor_fields");
    }

    #[test]
    fn generates_every_function_and_resource() {
        let world = crate::p2();
        let code = generate(world);
        assert!(code.contains("pub mod wasi_filesystem_types"));
        assert!(code.contains(&format!("shim_{}", world.functions.len() - 1)));
        assert!(code.contains("fn method_descriptor_read_via_stream"));
        assert!(code.contains("pub struct DescriptorStat"));
        // No default bodies: an unimplemented function fails the host's
        // build.
        assert!(code.contains(
            "fn method_descriptor_read_via_stream(&mut self, cx: &mut Cx<'_>, self_: Borrow<"
        ));
        assert!(!code.contains("HostTrap::unsupported"));
        let code = generate(crate::p3());
        assert!(code.contains("Duration) -> HostResult<Async<()>>"));
        assert!(code.contains("StreamReader<u8>"));
        assert!(
            code.contains("export_name = \"smelt_host_p3__wasi_cli_stdout__write_via_stream\"")
        );
        let table = resource_table(&[crate::p2(), crate::p3()]);
        let resources = crate::p2().resources.len() + crate::p3().resources.len();
        assert_eq!(table.matches("HostResourceType {").count(), resources);
    }
}
