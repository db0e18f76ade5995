//! WASI preview1 (`wasi_snapshot_preview1`), from the vendored witx files
//! (`wit/p1/`, [`crate::witx`]): the functions a core module may import
//! with their core signatures, their numbering and shim symbols, and the
//! generator of `libwasi-native`'s preview1 bindings.
//!
//! Both sides of a preview1 call use this, as they do [`crate::p2`]: the
//! compiler checks a module's imports against [`functions`] and binds each
//! to the shim [`Preview1Function::symbol`]; `libwasi-native`'s build
//! script generates from the same witx, with [`generate`], the Rust types
//! of the witx types (constants for every enum case and flag, records and
//! unions with their `load`/`store` at the witx layout), one trait per
//! group of functions (`Preview1Fd` for the `fd_*` ones, `Preview1Path`,
//! ...) with a method per function, and one shim per function that
//! decodes the core arguments (checking enum and flag values, as the witx
//! says: `inval` for a value outside the type), calls the method, and
//! stores its result through the caller's out pointers.

use std::fmt::Write;
use std::sync::OnceLock;

use smelt_abi::component::FlatType;

use crate::witx::{Func, Int, Type, TypeDef, Witx};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The vendored witx files: the types, and the module.
const TYPES: &str = include_str!("../p1/typenames.witx");
const FUNCTIONS: &str = include_str!("../p1/wasi_snapshot_preview1.witx");

/// The preview1 witx, read once.
///
/// # Panics
///
/// When the vendored files do not parse (a bug caught by the tests).
pub fn witx() -> &'static Witx {
    static WITX: OnceLock<Witx> = OnceLock::new();
    WITX.get_or_init(|| Witx::parse(TYPES, FUNCTIONS).expect("the vendored preview1 witx parses"))
}

/// One preview1 function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview1Function {
    /// Its name (`fd_write`).
    pub name: String,
    /// Its core parameter types (with the result's out pointers).
    pub params: Vec<FlatType>,
    /// Its core result types (`[i32]`, the errno; none for `proc_exit`).
    pub results: Vec<FlatType>,
}

impl Preview1Function {
    /// The symbol of its shim in the runtime library
    /// (`smelt_p1__fd_write`).
    pub fn symbol(&self) -> String {
        format!("smelt_p1__{}", self.name)
    }
}

/// Every preview1 function, in witx order.
pub fn functions() -> &'static [Preview1Function] {
    static FUNCS: OnceLock<Vec<Preview1Function>> = OnceLock::new();
    FUNCS.get_or_init(|| {
        let w = witx();
        w.funcs
            .iter()
            .map(|f| {
                let (params, results) = w.core_signature(f);
                Preview1Function {
                    name: f.name.clone(),
                    params,
                    results,
                }
            })
            .collect()
    })
}

/// The preview1 function `name`, if there is one.
pub fn function(name: &str) -> Option<&'static Preview1Function> {
    functions().iter().find(|f| f.name == name)
}

/// The group of function `name`: its first word (`fd` of `fd_write`).
fn group(name: &str) -> &str {
    name.split('_').next().unwrap_or(name)
}

/// The trait of a group's functions: `Preview1Fd`.
fn trait_name(group: &str) -> String {
    format!("Preview1{}", camel(group))
}

/// `snake_case` → `CamelCase`.
fn camel(name: &str) -> String {
    crate::bindings::camel(&name.replace('_', "-"))
}

/// A constant's name: `fd_read` → `FD_READ`, `2big` → `_2BIG`.
fn constant(name: &str) -> String {
    let upper = name.to_uppercase();
    if upper.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{upper}")
    } else {
        upper
    }
}

/// A Rust field or parameter name.
fn ident(name: &str) -> String {
    match name {
        "type" | "in" | "fn" | "mod" | "move" | "ref" | "self" | "use" => format!("{name}_"),
        _ => name.to_string(),
    }
}

struct Gen<'a> {
    w: &'a Witx,
    out: String,
}

impl Gen<'_> {
    /// The Rust type of a value of `ty` in a record or a result.
    fn rust(&self, ty: &Type) -> String {
        if let Some(i) = self.w.int(ty) {
            return i.rust().to_string();
        }
        match ty {
            Type::Named(n) => camel(n),
            _ => panic!("no Rust type for {ty:?}"),
        }
    }

    fn types(&mut self) {
        let w = self.w;
        for (name, def) in &w.types {
            match def {
                TypeDef::Alias(_) | TypeDef::Handle
                    if w.int(&Type::Named(name.clone())).is_some() =>
                {
                    let int = w.int(&Type::Named(name.clone())).expect("an integer");
                    writeln!(
                        self.out,
                        "/// `${name}`.\npub type {} = {};",
                        camel(name),
                        int.rust()
                    )
                    .unwrap();
                }
                TypeDef::Alias(_) | TypeDef::Handle => {}
                TypeDef::Enum { tag, cases } => {
                    writeln!(self.out, "/// `${name}`: the value of each case.\npub type {} = {};\n/// The cases of `${name}`.\npub mod {name} {{", camel(name), tag.rust()).unwrap();
                    for (i, c) in cases.iter().enumerate() {
                        writeln!(
                            self.out,
                            "    /// `${c}`.\n    pub const {}: {} = {i};",
                            constant(c),
                            tag.rust()
                        )
                        .unwrap();
                    }
                    writeln!(
                        self.out,
                        "    /// How many cases there are.\n    pub const COUNT: u64 = {};\n}}",
                        cases.len()
                    )
                    .unwrap();
                }
                TypeDef::Flags { repr, flags } => {
                    writeln!(self.out, "/// `${name}`.\npub type {} = {};\n/// The flags of `${name}`.\npub mod {name} {{", camel(name), repr.rust()).unwrap();
                    for (i, f) in flags.iter().enumerate() {
                        writeln!(
                            self.out,
                            "    /// `${f}`.\n    pub const {}: {} = 1 << {i};",
                            constant(f),
                            repr.rust()
                        )
                        .unwrap();
                    }
                    let all = if flags.len() >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << flags.len()) - 1
                    };
                    writeln!(
                        self.out,
                        "    /// Every flag.\n    pub const ALL: {} = {all:#x};\n}}",
                        repr.rust()
                    )
                    .unwrap();
                }
                TypeDef::Record { fields } => self.record(name, fields),
                TypeDef::Union { tag, cases } => self.union(name, tag, cases),
            }
        }
    }

    fn record(&mut self, name: &str, fields: &[(String, Type)]) {
        let w = self.w;
        let (size, align) = w.layout(&Type::Named(name.to_string()));
        let offsets = w.field_offsets(fields.iter().map(|(_, t)| t));
        let rust = camel(name);
        writeln!(self.out, "/// `${name}` ({size} bytes, aligned to {align}).\n#[derive(Debug, Clone, Copy, PartialEq, Eq)]\npub struct {rust} {{").unwrap();
        for (f, t) in fields {
            writeln!(
                self.out,
                "    /// `${f}`.\n    pub {}: {},",
                ident(f),
                self.rust(t)
            )
            .unwrap();
        }
        writeln!(self.out, "}}").unwrap();
        let mut load = String::new();
        let mut store = String::new();
        for ((f, t), off) in fields.iter().zip(&offsets) {
            let f = ident(f);
            if let Some(i) = w.int(t) {
                writeln!(
                    load,
                    "            {f}: mem.read::<{}>(at + {off})?,",
                    i.rust()
                )
                .unwrap();
                writeln!(
                    store,
                    "        mem.write::<{}>(at + {off}, self.{f})?;",
                    i.rust()
                )
                .unwrap();
            } else {
                writeln!(
                    load,
                    "            {f}: {}::load(mem, at + {off})?,",
                    self.rust(t)
                )
                .unwrap();
                writeln!(store, "        self.{f}.store(mem, at + {off})?;").unwrap();
            }
        }
        // A record of integers only (`filestat`, `fdstat`, `iovec`, ...) is
        // read and written through one bounds check of its whole size,
        // its fields at constant offsets in that slice.
        if fields.iter().all(|(_, t)| w.int(t).is_some()) {
            load = "        let b = mem.slice(at, Self::SIZE)?;\n".to_string();
            store = "        let b = mem.slice_mut(at, Self::SIZE)?;\n".to_string();
            let mut fields_load = String::new();
            for ((f, t), off) in fields.iter().zip(&offsets) {
                let f = ident(f);
                let ty = w.int(t).expect("an integer").rust();
                let bytes = format!("b[{off}..][..<{ty} as Int>::SIZE as usize]");
                writeln!(
                    fields_load,
                    "            {f}: <{ty} as Int>::from_le(&{bytes}),"
                )
                .unwrap();
                writeln!(
                    store,
                    "        <{ty} as Int>::to_le(self.{f}, &mut {bytes});"
                )
                .unwrap();
            }
            writeln!(load, "        Ok(Self {{\n{fields_load}        }})").unwrap();
        } else {
            load = format!("        Ok(Self {{\n{load}        }})\n");
        }
        writeln!(
            self.out,
            "impl {rust} {{
    /// Size in memory, in bytes.
    pub const SIZE: u32 = {size};
    /// Alignment in memory, in bytes.
    pub const ALIGN: u32 = {align};
    /// Reads one at `at` (checked for alignment and bounds by the caller).
    #[inline]
    pub fn load(mem: &Memory, at: u32) -> Result<Self, Fault> {{
{load}    }}
    /// Writes it at `at` (checked for alignment and bounds by the caller).
    #[inline]
    pub fn store(&self, mem: &Memory, at: u32) -> Result<(), Fault> {{
{store}        Ok(())
    }}
}}"
        )
        .unwrap();
    }

    fn union(&mut self, name: &str, tag: &str, cases: &[Type]) {
        let w = self.w;
        let (size, align) = w.layout(&Type::Named(name.to_string()));
        let payload = w.union_payload_offset(tag, cases);
        let TypeDef::Enum {
            tag: tag_int,
            cases: tag_cases,
        } = w.def(tag)
        else {
            panic!("the tag of union `{name}` is not an enum");
        };
        let rust = camel(name);
        writeln!(self.out, "/// `${name}` ({size} bytes, aligned to {align}; the payload at {payload}).\n#[derive(Debug, Clone, Copy, PartialEq, Eq)]\npub enum {rust} {{").unwrap();
        for (c, t) in tag_cases.iter().zip(cases) {
            writeln!(
                self.out,
                "    /// `${c}`.\n    {}({}),",
                camel(c),
                self.rust(t)
            )
            .unwrap();
        }
        writeln!(self.out, "}}").unwrap();
        let mut load = String::new();
        let mut store = String::new();
        for (i, (c, t)) in tag_cases.iter().zip(cases).enumerate() {
            let t = self.rust(t);
            writeln!(
                load,
                "            {i} => Self::{}({t}::load(mem, at + {payload})?),",
                camel(c)
            )
            .unwrap();
            writeln!(store, "            Self::{}(v) => {{ mem.write::<{}>(at, {i})?; v.store(mem, at + {payload}) }}", camel(c), tag_int.rust()).unwrap();
        }
        writeln!(
            self.out,
            "impl {rust} {{
    /// Size in memory, in bytes.
    pub const SIZE: u32 = {size};
    /// Alignment in memory, in bytes.
    pub const ALIGN: u32 = {align};
    /// Reads one at `at`; `inval` for a tag outside `${tag}`.
    pub fn load(mem: &Memory, at: u32) -> Result<Self, Fault> {{
        Ok(match mem.read::<{}>(at)? {{
{load}            _ => return Err(Fault::Errno(errno::INVAL)),
        }})
    }}
    /// Writes it at `at`.
    pub fn store(&self, mem: &Memory, at: u32) -> Result<(), Fault> {{
        match self {{
{store}        }}
    }}
}}",
            tag_int.rust()
        )
        .unwrap();
    }

    /// The Rust parameters of `func`'s method (a `string` or `list` is a
    /// pointer `x` and a length `x_len`) and the argument decoding of its
    /// shim.
    fn params(&self, func: &Func) -> (Vec<String>, String) {
        let w = self.w;
        let mut params = Vec::new();
        let mut decode = String::new();
        let mut k = 0;
        for (name, ty) in &func.params {
            let n = ident(name);
            match w.int(ty) {
                Some(int) => {
                    params.push(format!("{n}: {}", int.rust()));
                    let raw = match int {
                        Int::U64 | Int::S64 => format!("a[{k}] as u64"),
                        _ => format!("a[{k}] as u32"),
                    };
                    // Enum and flags values outside the type are `inval`.
                    let check = match ty {
                        Type::Named(t) => match w.def(t) {
                            TypeDef::Enum { cases, .. } => {
                                format!(
                                    " if (raw as u64) >= {} {{ return Err(Fault::Errno(errno::INVAL)); }}",
                                    cases.len()
                                )
                            }
                            TypeDef::Flags { flags, .. } if flags.len() < 64 => {
                                format!(
                                    " if (raw as u64) >> {} != 0 {{ return Err(Fault::Errno(errno::INVAL)); }}",
                                    flags.len()
                                )
                            }
                            _ => String::new(),
                        },
                        _ => String::new(),
                    };
                    writeln!(
                        decode,
                        "        let {n} = {{ let raw = {raw};{check} raw as {} }};",
                        int.rust()
                    )
                    .unwrap();
                    k += 1;
                }
                None => {
                    params.push(format!("{n}: u32"));
                    params.push(format!("{n}_len: u32"));
                    writeln!(
                        decode,
                        "        let {n} = a[{k}] as u32;\n        let {n}_len = a[{}] as u32;",
                        k + 1
                    )
                    .unwrap();
                    k += 2;
                }
            }
        }
        (params, decode)
    }

    fn host_traits(&mut self) {
        let w = self.w;
        let mut groups: Vec<&str> = Vec::new();
        for func in &w.funcs {
            let g = group(&func.name);
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        for g in groups {
            writeln!(
                self.out,
                "/// The host side of the `{g}_*` functions of `{}`.\npub trait {} {{",
                w.module,
                trait_name(g)
            )
            .unwrap();
            for func in w.funcs.iter().filter(|f| group(&f.name) == g) {
                let (params, _) = self.params(func);
                let ret = match &func.result {
                    None => "Fault".to_string(),
                    Some(None) => "Result<(), Fault>".to_string(),
                    Some(Some(Type::Tuple(ts))) => format!(
                        "Result<({}), Fault>",
                        ts.iter()
                            .map(|t| self.rust(t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some(Some(t)) => format!("Result<{}, Fault>", self.rust(t)),
                };
                writeln!(
                    self.out,
                    "    /// `{}`.\n    fn {}(&self, mem: &Memory{}{}) -> {ret};",
                    func.name,
                    func.name,
                    if params.is_empty() { "" } else { ", " },
                    params.join(", ")
                )
                .unwrap();
            }
            writeln!(self.out, "}}").unwrap();
        }
    }

    /// The statements that store a result value `v` of type `ty` through
    /// out pointer `ptr`.
    fn store_result(&self, ty: &Type, v: &str, ptr: &str) -> String {
        match self.w.int(ty) {
            Some(i) => format!("mem.store::<{}>({ptr}, {v})?;", i.rust()),
            None => {
                let t = self.rust(ty);
                format!("mem.check({ptr}, {t}::SIZE, {t}::ALIGN)?; {v}.store(mem, {ptr})?;")
            }
        }
    }

    fn shims(&mut self) {
        let w = self.w;
        for func in &w.funcs {
            let (params, decode) = self.params(func);
            let n_params = w.core_signature(func).0.len();
            let args: Vec<String> = params
                .iter()
                .map(|p| p.split(':').next().expect("a name").to_string())
                .collect();
            let call = format!(
                "{}::{}(p1, mem{}{})",
                trait_name(group(&func.name)),
                func.name,
                if args.is_empty() { "" } else { ", " },
                args.join(", ")
            );
            let first_out = n_params
                - match &func.result {
                    Some(Some(Type::Tuple(ts))) => ts.len(),
                    Some(Some(_)) => 1,
                    _ => 0,
                };
            let body = match &func.result {
                None => format!("Err({call})"),
                Some(None) => call.to_string(),
                Some(Some(Type::Tuple(ts))) => {
                    let names: Vec<String> = (0..ts.len()).map(|i| format!("r{i}")).collect();
                    let mut s = format!("let ({}) = {call}?;", names.join(", "));
                    for (i, t) in ts.iter().enumerate() {
                        s += &self.store_result(
                            t,
                            &names[i],
                            &format!("(a[{}] as u32)", first_out + i),
                        );
                    }
                    s + " Ok(())"
                }
                Some(Some(t)) => {
                    format!(
                        "let r = {call}?; {} Ok(())",
                        self.store_result(t, "r", &format!("(a[{first_out}] as u32)"))
                    )
                }
            };
            let f = crate::preview1::function(&func.name).expect("a function");
            writeln!(
                self.out,
                "/// `{module}::{name}`.\n#[unsafe(export_name = \"{symbol}\")]\nunsafe extern \"C\" fn shim_{name}(_ctx: *mut u8, args: *mut ValRaw, results: *mut ValRaw) -> u32 {{\n    // SAFETY: the compiled trampoline passes {n_params} arguments and room for the result.\n    unsafe {{ call(\"{name}\", args, {n_params}, results, |p1, mem, a| {{\n        let _ = (&p1, &mem, &a);\n{decode}        {body}\n    }}) }}\n}}",
                module = w.module,
                name = func.name,
                symbol = f.symbol(),
            )
            .unwrap();
        }
    }
}

/// Generates `libwasi-native`'s preview1 bindings (see the module
/// documentation). The code expects, where it is included, `Memory`
/// (bounds-checked guest memory with `read`/`write`/`store`/`check`/
/// `slice`/`slice_mut`), `Int` (an integer's `SIZE`, `from_le`, `to_le`),
/// `Fault` (`Errno(u16)` or a trap), `ValRaw`, and `call(name, args, n,
/// results, f)`, which finds the host state and the memory and turns `f`'s
/// outcome into the errno result or a trap.
pub fn generate() -> String {
    let mut g = Gen {
        w: witx(),
        out: String::new(),
    };
    writeln!(
        g.out,
        "// Generated by smelt-wit from the WASI preview1 witx files: do not edit."
    )
    .unwrap();
    g.types();
    g.host_traits();
    g.shims();
    g.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_signature_and_a_symbol() {
        let f = function("fd_write").unwrap();
        assert_eq!(f.symbol(), "smelt_p1__fd_write");
        assert_eq!(functions().len(), 46);
        assert!(function("fd_nonesuch").is_none());
    }

    #[test]
    fn generates_types_traits_and_shims() {
        let code = generate();
        assert!(code.contains("pub const BADF: u16 = 8;"));
        assert!(code.contains("pub const FD_WRITE: u64 = 1 << 6;"));
        assert!(code.contains("pub struct Filestat {"));
        assert!(code.contains("pub enum SubscriptionU {"));
        assert!(code.contains("pub trait Preview1Path {"));
        assert!(code.contains("fn path_open(&self, mem: &Memory, fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u16, fs_rights_base: u64, fs_rights_inheriting: u64, fdflags: u16) -> Result<u32, Fault>;"));
        assert!(code.contains("export_name = \"smelt_p1__proc_exit\""));
    }
}
