//! The Rust bindings `P.rs` of a component library: a module to
//! `include!` in a Rust program linked with `libP.a`, with typed methods
//! for the exported functions.
//!
//! In: a decoded [`Library`] and the library name `P`. Out: Rust source.
//! It defines, at the place of the `include!`:
//!
//! - `Config` (arguments, environment, preopened directories), `Instance`
//!   (`Instance::new(&Config)`, freed on drop; neither `Send` nor `Sync`)
//!   and `Trap` (the message of a trap, `Display + Error`);
//! - a module per interface (`shapes::Point`), with a Rust type per named
//!   WIT type: a record is a struct with `pub` fields, a variant or an
//!   enum a Rust `enum`, flags a newtype over the smallest unsigned
//!   integer with a `const` per label (bit i is label i) and the `|`, `&`,
//!   `^` and `!` operators; types defined by the world are at the top;
//! - one method of `Instance` per exported function, named as the C
//!   function without its prefix (`text_concat`), taking `string` as
//!   `&str`, `list<T>` as `&[T]`, a value holding no string or list by
//!   value and any other by reference, and returning `Result<T, Trap>`
//!   with owned values (`String`, `Vec<T>`, `Option`, `Result`, tuples,
//!   `char`);
//! - for each resource type of an exported interface, a handle type in its
//!   interface's module (`counters::Counter`, a `u32` index into the
//!   instance's handle table): its constructor, methods and static
//!   functions are methods of `Instance` like the others
//!   (`counters_counter_new`, `counters_counter_add(&counter, ..)`), an
//!   `own` parameter takes the handle by value (it moves into the call), a
//!   `borrow` one by reference, and `Instance::<iface>_<resource>_drop`
//!   drops one, running the component's destructor. Dropping the Rust
//!   value does not drop the handle.
//!
//! Each named type has a `#[repr(C)]` twin in the native layout
//! ([`native_layout`], the C header's), checked by a `const` assertion of
//! its size and alignment, as are each function's parameter struct and
//! result; the functions are numbered as [`super::exported_functions`]
//! numbers them. Arguments are passed as pointers into the caller's data
//! (a list of numbers is not copied); results are converted into owned
//! Rust values and their memory from malloc is freed.

use std::collections::HashSet;
use std::fmt::Write;

use wit_parser::{Handle, Resolve, Type, TypeDefKind, TypeId, TypeOwner};

use super::layout::{discriminant, native_layout};
use super::names::snake;
use super::{Library, LibraryError, LibraryFunction, names};

/// The fixed part of the bindings: `Config`, `Trap`, `Instance` and the
/// conversions of strings, lists, options, results and tuples.
const PRELUDE: &str = include_str!("rust_prelude.rs.in");

/// The most fields of a WIT tuple the bindings pass (the prelude's
/// `Tuple1` to `Tuple8`).
const MAX_TUPLE: usize = 8;

/// The Rust bindings of the component `wasm` built as the library `name`
/// (`libNAME.a`), for `include!(concat!(env!("OUT_DIR"), "/NAME.rs"))`
/// (see the module documentation for what they define).
///
/// # Errors
///
/// [`LibraryError::InvalidPrefix`] when `name` is not a C identifier; the
/// errors of [`super::exported_functions`];
/// [`LibraryError::Unsupported`] for a tuple of more than 8 fields; and
/// [`LibraryError::NameClash`] when a type the world defines would be
/// named `Config`, `Instance` or `Trap`, or two functions would get the
/// same method name.
pub fn rust_bindings(wasm: &[u8], name: &str) -> Result<String, LibraryError> {
    if !names::is_identifier(name) {
        return Err(LibraryError::InvalidPrefix(name.to_string()));
    }
    let library = Library::decode(wasm)?;
    let mut generator = Generator {
        resolve: &library.resolve,
        library: &library,
        done: HashSet::new(),
        modules: Vec::new(),
        methods: String::new(),
        function: String::new(),
    };
    let mut method_names = HashSet::new();
    for (number, function) in library.functions.iter().enumerate() {
        generator.function = function.key.clone();
        let method = method_name(&function.c_name);
        if !method_names.insert(method.clone()) {
            return Err(LibraryError::NameClash {
                name: method,
                first: "another exported function".into(),
                second: function.key.clone(),
            });
        }
        generator.method(number, function, &method)?;
    }
    for (number, resource) in library.resources.iter().enumerate() {
        generator.function = resource.key.clone();
        let method = format!("{}_drop", method_name(&resource.c_name));
        if !method_names.insert(method.clone()) {
            return Err(LibraryError::NameClash {
                name: method,
                first: "an exported function".into(),
                second: format!("the destructor of resource {}", resource.key),
            });
        }
        generator.drop_method(number, resource.id, &method)?;
    }
    generator.finish(name)
}

/// Where a piece of generated code is: at the place of the `include!`, or
/// in an interface's module.
#[derive(Clone, Copy)]
enum At {
    Top,
    Module,
}

impl At {
    /// The path from here to the top.
    fn root(self) -> &'static str {
        match self {
            At::Top => "",
            At::Module => "super::",
        }
    }
}

struct Generator<'a> {
    resolve: &'a Resolve,
    library: &'a Library,
    /// The named types defined so far.
    done: HashSet<TypeId>,
    /// The items of each module (`""`: the top), in order of first use.
    modules: Vec<(String, String)>,
    /// The methods of `Instance`.
    methods: String,
    /// The key of the function whose types are being made.
    function: String,
}

impl Generator<'_> {
    /// `ty` through type aliases.
    fn dealias(&self, mut ty: Type) -> Type {
        while let Type::Id(id) = ty {
            match &self.resolve.types[id].kind {
                TypeDefKind::Type(t) => ty = *t,
                _ => break,
            }
        }
        ty
    }

    /// The module of named type `id` (`""` for the top).
    fn module_of(&self, id: TypeId) -> String {
        match self.resolve.types[id].owner {
            TypeOwner::Interface(owner) => self
                .library
                .interface_names
                .get(&owner)
                .cloned()
                .unwrap_or_default(),
            TypeOwner::World(_) | TypeOwner::None => String::new(),
        }
    }

    /// The Rust path of named type `id`, from `at`.
    fn path_of(&self, id: TypeId, at: At) -> String {
        let name = camel(
            self.resolve.types[id]
                .name
                .as_deref()
                .unwrap_or("anonymous"),
        );
        match self.module_of(id).as_str() {
            "" => format!("{}{name}", at.root()),
            module => format!("{}{}::{name}", at.root(), ident(module)),
        }
    }

    /// The owned Rust type of `ty` (a result, a field), from `at`;
    /// defines the named types it uses.
    fn owned(&mut self, ty: &Type, at: At) -> Result<String, LibraryError> {
        Ok(match self.dealias(*ty) {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "i8".into(),
            Type::S16 => "i16".into(),
            Type::S32 => "i32".into(),
            Type::S64 => "i64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "::std::string::String".into(),
            Type::ErrorContext => return Err(self.unsupported("error-context".into())),
            Type::Id(id) => match &self.resolve.types[id].kind {
                TypeDefKind::List(t) => format!("::std::vec::Vec<{}>", self.owned(t, at)?),
                TypeDefKind::Option(t) => format!("::std::option::Option<{}>", self.owned(t, at)?),
                TypeDefKind::Result(r) => {
                    let ok = self.owned_or_unit(r.ok.as_ref(), at)?;
                    let err = self.owned_or_unit(r.err.as_ref(), at)?;
                    format!("::std::result::Result<{ok}, {err}>")
                }
                TypeDefKind::Tuple(t) => {
                    if t.types.len() > MAX_TUPLE {
                        return Err(self.unsupported(format!(
                            "a tuple of {} fields (the Rust bindings pass up to {MAX_TUPLE})",
                            t.types.len()
                        )));
                    }
                    let fields = t
                        .types
                        .iter()
                        .map(|t| self.owned(t, at))
                        .collect::<Result<Vec<_>, _>>()?;
                    format!("({},)", fields.join(", "))
                }
                TypeDefKind::Record(_)
                | TypeDefKind::Variant(_)
                | TypeDefKind::Enum(_)
                | TypeDefKind::Flags(_) => {
                    self.define(id)?;
                    self.path_of(id, at)
                }
                TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                    let r = *r;
                    self.owned(&Type::Id(r), at)?
                }
                TypeDefKind::Resource => {
                    self.define_resource(id)?;
                    self.path_of(id, at)
                }
                _ => return Err(self.unsupported(names::wit(self.resolve, ty))),
            },
        })
    }

    fn owned_or_unit(&mut self, ty: Option<&Type>, at: At) -> Result<String, LibraryError> {
        match ty {
            Some(ty) => self.owned(ty, at),
            None => Ok("()".into()),
        }
    }

    fn unsupported(&self, what: String) -> LibraryError {
        LibraryError::Unsupported {
            function: self.function.clone(),
            what,
        }
    }

    /// Whether a value of `ty` holds no string or list (it is passed by
    /// value and its Rust type is `Copy`).
    fn is_plain(&self, ty: &Type) -> bool {
        match self.dealias(*ty) {
            Type::String => false,
            Type::Id(id) => match &self.resolve.types[id].kind {
                TypeDefKind::List(_) | TypeDefKind::Handle(_) | TypeDefKind::Resource => false,
                TypeDefKind::Option(t) => self.is_plain(t),
                TypeDefKind::Result(r) => r.ok.iter().chain(&r.err).all(|t| self.is_plain(t)),
                TypeDefKind::Tuple(t) => t.types.iter().all(|t| self.is_plain(t)),
                TypeDefKind::Record(r) => r.fields.iter().all(|f| self.is_plain(&f.ty)),
                TypeDefKind::Variant(v) => {
                    v.cases.iter().flat_map(|c| &c.ty).all(|t| self.is_plain(t))
                }
                _ => true,
            },
            _ => true,
        }
    }

    /// The items of module `module`, created empty when new.
    fn module(&mut self, module: &str) -> &mut String {
        let index = match self.modules.iter().position(|(m, _)| m == module) {
            Some(i) => i,
            None => {
                self.modules.push((module.to_string(), String::new()));
                self.modules.len() - 1
            }
        };
        &mut self.modules[index].1
    }

    /// Defines the Rust type of named type `id` and its native twin.
    fn define(&mut self, id: TypeId) -> Result<(), LibraryError> {
        if !self.done.insert(id) {
            return Ok(());
        }
        let def = &self.resolve.types[id];
        let wit_name = def.name.clone().unwrap_or_default();
        let name = camel(&wit_name);
        let raw = format!("Raw{name}");
        let at = match self.module_of(id).as_str() {
            "" => At::Top,
            _ => At::Module,
        };
        let layout = native_layout(self.resolve, &Type::Id(id))
            .ok_or_else(|| self.unsupported(names::wit(self.resolve, &Type::Id(id))))?;
        let plain = self.is_plain(&Type::Id(id));
        let abi = format!("{}__smelt", at.root());
        let mut out = String::new();
        let docs = |out: &mut String, docs: &wit_parser::Docs, fallback: &str| match &docs.contents
        {
            Some(text) => {
                for line in text.lines() {
                    writeln!(out, "/// {line}").unwrap();
                }
            }
            None => writeln!(out, "/// {fallback}").unwrap(),
        };
        docs(&mut out, &def.docs, &format!("WIT `{wit_name}`."));
        let kind = def.kind.clone();
        match &kind {
            TypeDefKind::Record(r) => {
                let copy = if plain { "Copy, " } else { "" };
                writeln!(
                    out,
                    "#[derive(Clone, {copy}Debug, PartialEq)]\npub struct {name} {{"
                )
                .unwrap();
                let mut raw_fields = String::new();
                let mut lower = String::new();
                let mut lift = String::new();
                for field in &r.fields {
                    let ty = self.owned(&field.ty, at)?;
                    let member = ident(&snake(&field.name));
                    docs(&mut out, &field.docs, &format!("WIT `{}`.", field.name));
                    writeln!(out, "    pub {member}: {ty},").unwrap();
                    writeln!(raw_fields, "    pub {member}: <{ty} as {abi}::Abi>::Raw,").unwrap();
                    writeln!(
                        lower,
                        "            {member}: {abi}::Lower::lower(&self.{member}, keep),"
                    )
                    .unwrap();
                    writeln!(lift, "            {member}: unsafe {{ <{ty} as {abi}::Lift>::lift(raw.{member}) }},").unwrap();
                }
                writeln!(out, "}}\n").unwrap();
                writeln!(out, "#[doc(hidden)]\n#[repr(C)]\n#[derive(Clone, Copy)]\npub struct {raw} {{\n{raw_fields}}}\n").unwrap();
                write_impls(
                    &mut out,
                    &name,
                    &raw,
                    &abi,
                    &format!("{raw} {{\n{lower}        }}"),
                    &format!("{name} {{\n{lift}        }}"),
                );
            }
            TypeDefKind::Variant(v) => {
                let copy = if plain { "Copy, " } else { "" };
                let tag = uint(discriminant(v.cases.len()).size);
                writeln!(
                    out,
                    "#[derive(Clone, {copy}Debug, PartialEq)]\npub enum {name} {{"
                )
                .unwrap();
                let mut union = String::new();
                let mut lower = String::new();
                let mut lift = String::new();
                for (i, case) in v.cases.iter().enumerate() {
                    let case_name = camel(&case.name);
                    let member = ident(&snake(&case.name));
                    docs(&mut out, &case.docs, &format!("WIT `{}`.", case.name));
                    match &case.ty {
                        Some(t) => {
                            let ty = self.owned(t, at)?;
                            writeln!(out, "    {case_name}({ty}),").unwrap();
                            writeln!(union, "    pub {member}: <{ty} as {abi}::Abi>::Raw,")
                                .unwrap();
                            writeln!(lower, "            {name}::{case_name}(x) => {raw} {{ tag: {i}, val: {raw}Val {{ {member}: {abi}::Lower::lower(x, keep) }} }},").unwrap();
                            writeln!(lift, "            {i} => {name}::{case_name}(unsafe {{ <{ty} as {abi}::Lift>::lift(raw.val.{member}) }}),").unwrap();
                        }
                        None => {
                            writeln!(out, "    {case_name},").unwrap();
                            writeln!(lower, "            {name}::{case_name} => {raw} {{ tag: {i}, val: {raw}Val {{ _none: () }} }},").unwrap();
                            writeln!(lift, "            {i} => {name}::{case_name},").unwrap();
                        }
                    }
                }
                writeln!(out, "}}\n").unwrap();
                writeln!(out, "#[doc(hidden)]\n#[repr(C)]\n#[derive(Clone, Copy)]\npub struct {raw} {{\n    pub tag: {tag},\n    pub val: {raw}Val,\n}}\n").unwrap();
                writeln!(out, "#[doc(hidden)]\n#[repr(C)]\n#[derive(Clone, Copy)]\npub union {raw}Val {{\n    pub _none: (),\n{union}}}\n").unwrap();
                write_impls(
                    &mut out,
                    &name,
                    &raw,
                    &abi,
                    &format!("match self {{\n{lower}        }}"),
                    &format!(
                        "match raw.tag {{\n{lift}            tag => panic!(\"smelt: {wit_name} with tag {{tag}} from the runtime\"),\n        }}"
                    ),
                );
            }
            TypeDefKind::Enum(e) => {
                let tag = uint(discriminant(e.cases.len()).size);
                writeln!(out, "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[repr({tag})]\npub enum {name} {{").unwrap();
                let mut lift = String::new();
                for (i, case) in e.cases.iter().enumerate() {
                    let case_name = camel(&case.name);
                    docs(&mut out, &case.docs, &format!("WIT `{}`.", case.name));
                    writeln!(out, "    {case_name} = {i},").unwrap();
                    writeln!(lift, "            {i} => {name}::{case_name},").unwrap();
                }
                writeln!(out, "}}\n").unwrap();
                writeln!(out, "#[doc(hidden)]\npub type {raw} = {tag};\n").unwrap();
                write_impls(
                    &mut out,
                    &name,
                    &raw,
                    &abi,
                    &format!("*self as {tag}"),
                    &format!(
                        "match raw {{\n{lift}            tag => panic!(\"smelt: {wit_name} with tag {{tag}} from the runtime\"),\n        }}"
                    ),
                );
            }
            TypeDefKind::Flags(f) => {
                let bits = uint(layout.size);
                writeln!(out, "///\n/// Bit i is label i; the labels are the associated constants.\n#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]\npub struct {name}({bits});\n").unwrap();
                writeln!(out, "#[allow(dead_code)]\nimpl {name} {{").unwrap();
                for (i, flag) in f.flags.iter().enumerate() {
                    docs(&mut out, &flag.docs, &format!("WIT `{}`.", flag.name));
                    writeln!(
                        out,
                        "    pub const {}: {name} = {name}(1 << {i});",
                        names::upper(&flag.name)
                    )
                    .unwrap();
                }
                let all = if f.flags.len() == bits_of(bits) {
                    format!("{bits}::MAX")
                } else {
                    format!("(1 << {}) - 1", f.flags.len())
                };
                write!(
                    out,
                    "    /// No label.
    pub const fn empty() -> {name} {{
        {name}(0)
    }}
    /// Every label.
    pub const fn all() -> {name} {{
        {name}({all})
    }}
    /// The bits (bit i: label i).
    pub const fn bits(self) -> {bits} {{
        self.0
    }}
    /// The value with these bits, unknown ones included.
    pub const fn from_bits_retain(bits: {bits}) -> {name} {{
        {name}(bits)
    }}
    /// Whether every label of `other` is set.
    pub const fn contains(self, other: {name}) -> bool {{
        self.0 & other.0 == other.0
    }}
    /// Whether no label is set.
    pub const fn is_empty(self) -> bool {{
        self.0 == 0
    }}
}}

impl ::std::ops::BitOr for {name} {{
    type Output = {name};
    fn bitor(self, other: {name}) -> {name} {{
        {name}(self.0 | other.0)
    }}
}}

impl ::std::ops::BitAnd for {name} {{
    type Output = {name};
    fn bitand(self, other: {name}) -> {name} {{
        {name}(self.0 & other.0)
    }}
}}

impl ::std::ops::BitXor for {name} {{
    type Output = {name};
    fn bitxor(self, other: {name}) -> {name} {{
        {name}(self.0 ^ other.0)
    }}
}}

impl ::std::ops::Not for {name} {{
    type Output = {name};
    fn not(self) -> {name} {{
        {name}(!self.0 & {name}::all().0)
    }}
}}

"
                )
                .unwrap();
                writeln!(out, "#[doc(hidden)]\npub type {raw} = {bits};\n").unwrap();
                write_impls(
                    &mut out,
                    &name,
                    &raw,
                    &abi,
                    "self.0",
                    &format!("{name}(raw)"),
                );
            }
            _ => unreachable!("define is called for records, variants, enums and flags"),
        }
        writeln!(
            out,
            "const _: () = assert!(\n    ::std::mem::size_of::<{raw}>() == {} && ::std::mem::align_of::<{raw}>() == {},\n    \"{wit_name}: native layout\"\n);\n",
            layout.size, layout.align
        )
        .unwrap();
        self.add_item(id, name, &format!("type `{wit_name}`"), &out)
    }

    /// Adds `item`, the definition of the Rust type `name` of WIT type
    /// `id` (`what`, for the error), to the module of `id`: an error if it
    /// is at the top and would be named like the bindings' own types.
    fn add_item(
        &mut self,
        id: TypeId,
        name: String,
        what: &str,
        item: &str,
    ) -> Result<(), LibraryError> {
        let module = self.module_of(id);
        if module.is_empty() && ["Config", "Instance", "Trap"].contains(&name.as_str()) {
            return Err(LibraryError::NameClash {
                name,
                first: "the bindings' own type".into(),
                second: format!("the world's {what}"),
            });
        }
        self.module(&module).push_str(item);
        Ok(())
    }

    /// Defines the handle type of resource `id`.
    fn define_resource(&mut self, id: TypeId) -> Result<(), LibraryError> {
        if !self.done.insert(id) {
            return Ok(());
        }
        let Some(resource) = self.library.resources.iter().find(|r| r.id == id) else {
            return Err(self.unsupported(format!(
                "{} (a resource of no exported interface)",
                names::wit(self.resolve, &Type::Id(id))
            )));
        };
        let def = &self.resolve.types[id];
        let wit_name = def.name.clone().unwrap_or_default();
        let name = camel(&wit_name);
        let at = match self.module_of(id).as_str() {
            "" => At::Top,
            _ => At::Module,
        };
        let abi = format!("{}__smelt", at.root());
        let drop = format!("{}_drop", method_name(&resource.c_name));
        let mut out = String::new();
        if let Some(text) = &def.docs.contents {
            for line in text.lines() {
                writeln!(out, "/// {line}").unwrap();
            }
            writeln!(out, "///").unwrap();
        }
        writeln!(
            out,
            "/// A handle of WIT resource `{wit_name}` (`{key}`): an index into the
/// instance's handle table. A handle a function returns is owned: it is
/// the caller's until it is passed where an `own<{wit_name}>` is taken (the
/// call takes it) or given to `Instance::{drop}`, which runs the
/// component's destructor. Dropping this value does not drop the handle;
/// a clone is the same handle.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct {name}(u32);

impl {name} {{
    /// The index in the instance's handle table.
    pub fn handle(&self) -> u32 {{
        self.0
    }}
}}
",
            key = resource.key
        )
        .unwrap();
        write_impls(
            &mut out,
            &name,
            "u32",
            &abi,
            "self.0",
            &format!("{name}(raw)"),
        );
        self.add_item(id, name, &format!("resource `{wit_name}`"), &out)
    }

    /// The method `method` that drops a handle of resource `id`, number
    /// `number`.
    fn drop_method(&mut self, number: usize, id: TypeId, method: &str) -> Result<(), LibraryError> {
        let ty = self.owned(&Type::Id(id), At::Top)?;
        writeln!(
            self.methods,
            "    /// Drops the owned handle `handle`, running the resource's destructor in
    /// the component (resource number {number}).
    ///
    /// # Errors
    ///
    /// The handle is not an owned handle of this instance (moved into a call,
    /// or dropped already), or the destructor trapped (the instance may not
    /// be called again).
    pub fn {method}(&mut self, handle: {ty}) -> ::std::result::Result<(), Trap> {{
        self.drop_handle({number}, handle.handle())
    }}
"
        )
        .unwrap();
        Ok(())
    }

    /// The method of exported function `function`, number `number`.
    fn method(
        &mut self,
        number: usize,
        function: &LibraryFunction,
        method: &str,
    ) -> Result<(), LibraryError> {
        let resolve = self.resolve;
        let wit_function = &function.function;
        let mut params = Vec::new();
        let mut lowers = Vec::new();
        let mut fields = Vec::new();
        for param in &wit_function.params {
            let name = match ident(&snake(&param.name)) {
                n if n.starts_with("__") => format!("{n}_"),
                n => n,
            };
            let ty = self.dealias(param.ty);
            let (rust, lower, expr) = match ty {
                Type::String => ("&str".to_string(), "str".to_string(), name.clone()),
                Type::Id(id) if matches!(resolve.types[id].kind, TypeDefKind::List(_)) => {
                    let TypeDefKind::List(element) = &resolve.types[id].kind else {
                        unreachable!()
                    };
                    let element = self.owned(element, At::Top)?;
                    (
                        format!("&[{element}]"),
                        format!("[{element}]"),
                        name.clone(),
                    )
                }
                // A borrowed handle by reference; an owned one (the
                // resource's type itself, or `own<r>`) by value: it moves.
                Type::Id(id)
                    if matches!(
                        resolve.types[id].kind,
                        TypeDefKind::Handle(Handle::Borrow(_))
                    ) =>
                {
                    let owned = self.owned(&ty, At::Top)?;
                    (format!("&{owned}"), owned, name.clone())
                }
                Type::Id(id)
                    if matches!(
                        resolve.types[id].kind,
                        TypeDefKind::Resource | TypeDefKind::Handle(Handle::Own(_))
                    ) =>
                {
                    let owned = self.owned(&ty, At::Top)?;
                    (owned.clone(), owned, format!("&{name}"))
                }
                _ if self.is_plain(&ty) => {
                    let owned = self.owned(&ty, At::Top)?;
                    (owned.clone(), owned, format!("&{name}"))
                }
                _ => {
                    let owned = self.owned(&ty, At::Top)?;
                    (format!("&{owned}"), owned, name.clone())
                }
            };
            params.push(format!("{name}: {rust}"));
            fields.push(format!("<{lower} as __smelt::Abi>::Raw"));
            lowers.push(format!(
                "<{lower} as __smelt::Lower>::lower({expr}, &mut __keep)"
            ));
        }
        let result = match &wit_function.result {
            Some(ty) => Some(self.owned(ty, At::Top)?),
            None => None,
        };

        let m = &mut self.methods;
        let signature: Vec<String> = wit_function
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, names::wit(resolve, &p.ty)))
            .collect();
        if let Some(text) = &wit_function.docs.contents {
            for line in text.lines() {
                writeln!(m, "    /// {line}").unwrap();
            }
            writeln!(m, "    ///").unwrap();
        }
        write!(
            m,
            "    /// `{}`: `func({})",
            function.key,
            signature.join(", ")
        )
        .unwrap();
        if let Some(ty) = &wit_function.result {
            write!(m, " -> {}", names::wit(resolve, ty)).unwrap();
        }
        writeln!(m, "`, function number {number}.\n    ///\n    /// # Errors\n    ///\n    /// The guest trapped (the instance may not be called again).").unwrap();
        writeln!(
            m,
            "    pub fn {method}(&mut self{}) -> ::std::result::Result<{}, Trap> {{",
            params.iter().map(|p| format!(", {p}")).collect::<String>(),
            result.as_deref().unwrap_or("()")
        )
        .unwrap();
        let args = if fields.is_empty() {
            "::std::ptr::null()".to_string()
        } else {
            let layout =
                super::layout::record_layout(resolve, wit_function.params.iter().map(|p| &p.ty))
                    .ok_or_else(|| {
                        self.unsupported("a parameter without a native layout".into())
                    })?;
            let m = &mut self.methods;
            writeln!(
                m,
                "        #[repr(C)]\n        struct Args({});",
                fields.join(", ")
            )
            .unwrap();
            writeln!(
                m,
                "        const _: () = assert!(::std::mem::size_of::<Args>() == {} && ::std::mem::align_of::<Args>() == {});",
                layout.size, layout.align
            )
            .unwrap();
            writeln!(m, "        let mut __keep = __smelt::Keep::new();").unwrap();
            writeln!(m, "        let __args = Args({});", lowers.join(", ")).unwrap();
            "(&raw const __args).cast()".to_string()
        };
        let m = &mut self.methods;
        match (&result, &wit_function.result) {
            (Some(rust), Some(ty)) => {
                let layout = native_layout(resolve, ty).expect("checked by the library's decoding");
                writeln!(m, "        type Ret = <{rust} as __smelt::Abi>::Raw;").unwrap();
                writeln!(
                    m,
                    "        const _: () = assert!(::std::mem::size_of::<Ret>() == {} && ::std::mem::align_of::<Ret>() == {});",
                    layout.size, layout.align
                )
                .unwrap();
                writeln!(
                    m,
                    "        let mut __ret = ::std::mem::MaybeUninit::<Ret>::uninit();"
                )
                .unwrap();
                writeln!(m, "        // SAFETY: the parameters and the result in the layout of function {number}.").unwrap();
                writeln!(
                    m,
                    "        unsafe {{ self.call({number}, {args}, __ret.as_mut_ptr().cast())? }};"
                )
                .unwrap();
                writeln!(
                    m,
                    "        // SAFETY: the call succeeded: the runtime wrote the result."
                )
                .unwrap();
                writeln!(
                    m,
                    "        Ok(unsafe {{ <{rust} as __smelt::Lift>::lift(__ret.assume_init()) }})"
                )
                .unwrap();
            }
            _ => {
                writeln!(m, "        // SAFETY: the parameters in the layout of function {number}; no result.").unwrap();
                writeln!(
                    m,
                    "        unsafe {{ self.call({number}, {args}, ::std::ptr::null_mut()) }}"
                )
                .unwrap();
            }
        }
        writeln!(m, "    }}\n").unwrap();
        Ok(())
    }

    fn finish(self, name: &str) -> Result<String, LibraryError> {
        let mut out = format!(
            "// {name}.rs: the Rust bindings of the component library lib{name}.a.
// Generated by smelt from the component's WIT; do not edit. Use with
//     include!(concat!(env!(\"OUT_DIR\"), \"/{name}.rs\"));
// in a crate whose build script builds the library with smelt::Build.

"
        );
        out.push_str(PRELUDE);
        out.push('\n');
        for (module, items) in &self.modules {
            if module.is_empty() {
                out.push_str(items);
            }
        }
        for (module, items) in &self.modules {
            if module.is_empty() {
                continue;
            }
            writeln!(
                out,
                "/// The types of interface `{module}`.\n#[allow(dead_code, clippy::all)]\npub mod {} {{\n",
                ident(module)
            )
            .unwrap();
            for line in items.lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    writeln!(out, "    {line}").unwrap();
                }
            }
            out.push_str("}\n\n");
        }
        writeln!(out, "#[allow(dead_code, clippy::all)]\nimpl Instance {{").unwrap();
        out.push_str(&self.methods);
        out.push_str("}\n");
        Ok(out)
    }
}

/// The `Abi`, `Lower` and `Lift` impls of a named type.
fn write_impls(out: &mut String, name: &str, raw: &str, abi: &str, lower: &str, lift: &str) {
    write!(
        out,
        "impl {abi}::Abi for {name} {{
    type Raw = {raw};
}}

impl {abi}::Lower for {name} {{
    fn lower(&self, keep: &mut {abi}::Keep) -> {raw} {{
        let _ = &keep;
        {lower}
    }}
}}

impl {abi}::Lift for {name} {{
    unsafe fn lift(raw: {raw}) -> {name} {{
        // SAFETY: the caller's contract, for each payload.
        {lift}
    }}
}}

"
    )
    .unwrap();
}

/// The unsigned integer type of `size` bytes.
fn uint(size: u64) -> &'static str {
    match size {
        1 => "u8",
        2 => "u16",
        _ => "u32",
    }
}

/// The bits of an unsigned integer type.
fn bits_of(ty: &str) -> usize {
    match ty {
        "u8" => 8,
        "u16" => 16,
        _ => 32,
    }
}

/// A kebab-case WIT name in upper camel case: `shape-info` -> `ShapeInfo`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect()
}

/// Rust's keywords, strict and reserved (2024 edition).
const KEYWORDS: &str = "as break const continue else enum extern false fn for if impl in let loop \
     match mod move mut pub ref return static struct trait true type unsafe use where while async \
     await dyn abstract become box do final macro override priv typeof unsized virtual yield try gen";

/// `name` as a Rust identifier: a keyword raw (`r#type`); `self`,
/// `super`, `crate` and `Self`, which cannot be raw, with `_` appended.
fn ident(name: &str) -> String {
    if ["self", "super", "crate", "Self"].contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.split_whitespace().any(|k| k == name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// The method name of a function whose C name without the prefix is
/// `c_name` (`new` is `Instance::new`'s, `call` the bindings' own).
fn method_name(c_name: &str) -> String {
    match c_name {
        "new" | "call" => format!("{c_name}_"),
        _ => ident(c_name),
    }
}
