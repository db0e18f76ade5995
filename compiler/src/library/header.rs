//! The C header `P.h` of a component library (the README's "Libraries",
//! docs/architecture.md's "Libraries"; the header's first comment states
//! the contract with the caller).
//!
//! In: a decoded [`Library`] and the prefix `P`. Out: the header's text,
//! valid C11 and C++17: the `smelt_lib_*` declarations, a C type for every
//! WIT type the exported functions use (with a `_Static_assert` of its
//! size and alignment as [`native_layout`] computes them, and a free helper
//! when it owns memory), and a `static inline` wrapper per exported
//! function that packs its parameters into a struct and calls
//! `smelt_lib_call` with the function's number.
//!
//! Invariant: every identifier the header defines at file scope is
//! defined once, for one WIT thing ([`LibraryError::NameClash`] otherwise),
//! and every type is defined before its first use.

use std::collections::HashMap;
use std::fmt::Write;

use wit_parser::{Handle, Resolve, Type, TypeDefKind, TypeId, TypeOwner};

use super::layout::{NativeLayout, discriminant, native_layout, record_layout};
use super::names::{self, member, snake, upper};
use super::{Library, LibraryError, LibraryFunction, LibraryResource};

/// The C header of the component `wasm` as a component library whose C
/// names start with `prefix` (`P`: `P_t`, `P_new`,
/// `P_<interface>_<function>`, `P_<interface>_<type>_t`; macros start with
/// `prefix` in upper case: `P_<INTERFACE>_<TYPE>_<CASE>`).
///
/// The functions are numbered as [`super::exported_functions`] numbers
/// them.
///
/// # Errors
///
/// [`LibraryError::InvalidPrefix`] when `prefix` is not a C identifier;
/// the errors of [`super::exported_functions`]; and
/// [`LibraryError::NameClash`] when two different WIT things would get the
/// same C name.
pub fn c_header(wasm: &[u8], prefix: &str) -> Result<String, LibraryError> {
    if !names::is_identifier(prefix) {
        return Err(LibraryError::InvalidPrefix(prefix.to_string()));
    }
    let library = Library::decode(wasm)?;
    let mut generator = Generator::new(&library, prefix, false)?;
    for (number, function) in library.functions.iter().enumerate() {
        generator.function(number, function)?;
    }
    for function in &library.imports {
        generator.import(function)?;
    }
    generator.native_resources()?;
    Ok(generator.finish())
}

/// The C header of the native imports of the component `wasm` built as an
/// executable (`smelt build --emit header`, then `--link`): the types of
/// its imports that are not WASI interfaces, the declaration of each
/// function's implementation `prefix_impl_<interface>_<function>`, and the
/// glue under `PREFIX_IMPLEMENTATION`, as [`c_header`] writes them for a
/// library, without the library's instances and exported functions.
///
/// # Errors
///
/// As [`c_header`], for the imported functions.
pub fn c_header_of_imports(wasm: &[u8], prefix: &str) -> Result<String, LibraryError> {
    if !names::is_identifier(prefix) {
        return Err(LibraryError::InvalidPrefix(prefix.to_string()));
    }
    let library = Library::decode_with(wasm, false)?;
    let mut generator = Generator::new(&library, prefix, true)?;
    for function in &library.imports {
        generator.import(function)?;
    }
    generator.native_resources()?;
    Ok(generator.finish())
}

/// A C type made for a WIT type.
#[derive(Clone, Debug)]
struct CType {
    /// How C spells it (`uint32_t`, `P_string_t`, `P_strings_person_t`).
    spell: String,
    /// Its part in the names of anonymous types that contain it (`u32`,
    /// `string`, `strings_person`, `list_u8`): `P_list_<mangle>_t`.
    mangle: String,
    /// Which WIT type it is, unambiguously (`u32`,
    /// `test:lib/strings@0.1.0.person`, `list<u8>`), for name clashes.
    key: String,
    /// The free helper when the type owns memory.
    free: Option<String>,
}

/// What [`Generator::signature`] makes of a function.
struct Signature {
    params: Vec<Member>,
    result: Option<CType>,
    /// The parameters' struct.
    layout: NativeLayout,
    /// `name: type` for each parameter, in WIT.
    wit_params: Vec<String>,
}

/// A member of a generated struct or union.
struct Member {
    name: String,
    ty: CType,
}

struct Generator<'a> {
    resolve: &'a Resolve,
    library: &'a Library,
    /// `P`.
    prefix: &'a str,
    /// `P` in upper case, for macros.
    macro_prefix: String,
    /// Type definitions, in dependency order.
    types: String,
    /// Function wrappers.
    functions: String,
    /// Declarations of the native imports' implementations.
    imports: String,
    /// The native imports' glue, defined under `P_IMPLEMENTATION`.
    glue: String,
    /// C types made so far, by WIT type.
    by_id: HashMap<TypeId, CType>,
    /// Anonymous C types defined so far, by mangle.
    anonymous: HashMap<String, CType>,
    /// Every file-scope identifier defined, with the WIT thing it is for.
    identifiers: HashMap<String, String>,
    /// The key of the function whose types are being made.
    function: String,
    /// Whether the header is for an executable's native imports
    /// ([`c_header_of_imports`]): no instances, no exported functions.
    executable: bool,
}

impl<'a> Generator<'a> {
    fn new(library: &'a Library, prefix: &'a str, executable: bool) -> Result<Self, LibraryError> {
        let mut generator = Generator {
            resolve: &library.resolve,
            library,
            prefix,
            macro_prefix: prefix.to_ascii_uppercase(),
            types: String::new(),
            functions: String::new(),
            imports: String::new(),
            glue: String::new(),
            by_id: HashMap::new(),
            anonymous: HashMap::new(),
            identifiers: HashMap::new(),
            function: String::new(),
            executable,
        };
        let (p, m) = (prefix, &generator.macro_prefix);
        let builtin = [
            format!("{p}_t"),
            format!("{p}_new"),
            format!("{p}_free"),
            format!("{p}_string_t"),
            format!("{p}_string_free"),
            format!("{p}_string_from_cstr"),
            format!("{m}_STATIC_ASSERT"),
            format!("{m}_ALIGNOF"),
            format!("{m}_OPTION_NONE"),
            format!("{m}_OPTION_SOME"),
            format!("{m}_RESULT_OK"),
            format!("{m}_RESULT_ERR"),
            format!("{m}_SMELT_H"),
            format!("{m}_IMPLEMENTATION"),
        ];
        for name in builtin {
            generator.define(&name, "the header's own definitions")?;
        }
        Ok(generator)
    }

    /// Makes the handle type and destructor of every resource the program
    /// implements, those no imported function uses included: the
    /// component may drop their handles all the same.
    fn native_resources(&mut self) -> Result<(), LibraryError> {
        let library = self.library;
        for resource in &library.native_resources {
            self.function = resource.key.clone();
            self.c_type(&Type::Id(resource.id))?;
        }
        Ok(())
    }

    /// Records that file-scope identifier `name` is defined for `what`.
    /// `Ok(false)` when it already is (for the same thing).
    fn define(&mut self, name: &str, what: &str) -> Result<bool, LibraryError> {
        match self.identifiers.get(name) {
            Some(first) if first == what => Ok(false),
            Some(first) => Err(LibraryError::NameClash {
                name: name.to_string(),
                first: first.clone(),
                second: what.to_string(),
            }),
            None => {
                self.identifiers.insert(name.to_string(), what.to_string());
                Ok(true)
            }
        }
    }

    fn unsupported(&self, what: String) -> LibraryError {
        LibraryError::Unsupported {
            function: self.function.clone(),
            what,
        }
    }

    /// The C type of WIT type `ty`, defining it (and what it contains)
    /// first if needed.
    fn c_type(&mut self, ty: &Type) -> Result<CType, LibraryError> {
        let scalar = |spell: &str, mangle: &str| CType {
            spell: spell.into(),
            mangle: mangle.into(),
            key: mangle.into(),
            free: None,
        };
        Ok(match ty {
            Type::Bool => scalar("bool", "bool"),
            Type::U8 => scalar("uint8_t", "u8"),
            Type::U16 => scalar("uint16_t", "u16"),
            Type::U32 => scalar("uint32_t", "u32"),
            Type::U64 => scalar("uint64_t", "u64"),
            Type::S8 => scalar("int8_t", "s8"),
            Type::S16 => scalar("int16_t", "s16"),
            Type::S32 => scalar("int32_t", "s32"),
            Type::S64 => scalar("int64_t", "s64"),
            Type::F32 => scalar("float", "f32"),
            Type::F64 => scalar("double", "f64"),
            Type::Char => scalar("uint32_t", "char"),
            Type::String => CType {
                spell: format!("{}_string_t", self.prefix),
                free: Some(format!("{}_string_free", self.prefix)),
                ..scalar("", "string")
            },
            Type::ErrorContext => return Err(self.unsupported("error-context".into())),
            Type::Id(id) => {
                if let Some(made) = self.by_id.get(id) {
                    return Ok(made.clone());
                }
                let made = self.type_def(*id)?;
                self.by_id.insert(*id, made.clone());
                made
            }
        })
    }

    /// The C type of the WIT type definition `id`.
    fn type_def(&mut self, id: TypeId) -> Result<CType, LibraryError> {
        let resolve = self.resolve;
        let def = &resolve.types[id];
        let ty = Type::Id(id);
        match &def.kind {
            // `own<r>` and `borrow<r>` are both r's handle type.
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                return self.c_type(&Type::Id(*r));
            }
            TypeDefKind::Resource => return self.resource(id),
            _ => {}
        }
        let Some(layout) = native_layout(resolve, &ty) else {
            return Err(self.unsupported(names::wit(resolve, &ty)));
        };
        let doc = def.docs.contents.as_deref();
        // Structural types: one C type for every use, then a typedef for
        // the WIT name if the definition has one.
        let structural = match &def.kind {
            TypeDefKind::Type(t) => Some(self.c_type(t)?),
            TypeDefKind::List(t) => {
                let elem = self.c_type(t)?;
                Some(self.list(elem, layout)?)
            }
            TypeDefKind::Option(t) => {
                let some = self.c_type(t)?;
                let cases = [("none".to_string(), None), ("some".to_string(), Some(some))];
                Some(self.anonymous_variant("option", &cases, layout)?)
            }
            TypeDefKind::Result(r) => {
                let ok = r.ok.as_ref().map(|t| self.c_type(t)).transpose()?;
                let err = r.err.as_ref().map(|t| self.c_type(t)).transpose()?;
                let cases = [("ok".to_string(), ok), ("err".to_string(), err)];
                Some(self.anonymous_variant("result", &cases, layout)?)
            }
            TypeDefKind::Tuple(t) => {
                let types = t
                    .types
                    .iter()
                    .map(|t| self.c_type(t))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(self.tuple(types, layout)?)
            }
            _ => None,
        };
        if let Some(target) = structural {
            let Some(name) = &def.name else {
                return Ok(target);
            };
            let (mangle, key) = self.named(id, name);
            let spell = format!("{}_{mangle}_t", self.prefix);
            self.define(&spell, &format!("type {key}"))?;
            self.comment(doc);
            let wit = names::wit_definition(resolve, id);
            writeln!(self.types, "/* type {key} = {wit} */").unwrap();
            writeln!(self.types, "typedef {} {spell};\n", target.spell).unwrap();
            return Ok(CType { spell, ..target });
        }
        let name = def.name.as_deref().unwrap_or("anonymous");
        let (mangle, key) = self.named(id, name);
        let spell = format!("{}_{mangle}_t", self.prefix);
        let made = match &def.kind {
            TypeDefKind::Record(r) => {
                let mut members = Vec::new();
                for field in &r.fields {
                    let ty = self.c_type(&field.ty)?;
                    members.push(Member {
                        name: member(&field.name),
                        ty,
                    });
                }
                self.define(&spell, &format!("record {key}"))?;
                self.comment(doc);
                writeln!(self.types, "/* record {key} */").unwrap();
                self.emit_struct(&spell, &mangle, &format!("record {key}"), &members, layout)?
            }
            TypeDefKind::Variant(v) => {
                let mut cases = Vec::new();
                for case in &v.cases {
                    let ty = case.ty.as_ref().map(|t| self.c_type(t)).transpose()?;
                    cases.push((case.name.clone(), ty));
                }
                self.define(&spell, &format!("variant {key}"))?;
                self.comment(doc);
                writeln!(self.types, "/* variant {key} */").unwrap();
                self.case_macros(&mangle, &key, cases.iter().map(|(name, _)| name.as_str()))?;
                self.emit_variant(&spell, &mangle, &format!("variant {key}"), &cases, layout)?
            }
            TypeDefKind::Enum(e) => {
                self.define(&spell, &format!("enum {key}"))?;
                self.comment(doc);
                writeln!(self.types, "/* enum {key} */").unwrap();
                self.case_macros(&mangle, &key, e.cases.iter().map(|c| c.name.as_str()))?;
                self.emit_scalar(&spell, layout, &format!("enum {key}"))
            }
            TypeDefKind::Flags(f) => {
                self.define(&spell, &format!("flags {key}"))?;
                self.comment(doc);
                writeln!(self.types, "/* flags {key}: bit i is label i */").unwrap();
                for (bit, flag) in f.flags.iter().enumerate() {
                    let name = format!(
                        "{}_{}_{}",
                        self.macro_prefix,
                        upper(&mangle),
                        upper(&flag.name)
                    );
                    self.define(&name, &format!("flag {key}.{}", flag.name))?;
                    writeln!(self.types, "#define {name} (1u << {bit})").unwrap();
                }
                self.emit_scalar(&spell, layout, &format!("flags {key}"))
            }
            _ => return Err(self.unsupported(names::wit(resolve, &ty))),
        };
        Ok(CType {
            mangle,
            key,
            ..made
        })
    }

    /// The handle type of resource `id` (one of the exported interfaces'),
    /// `P_<interface>_<resource>_t`, and its destructor
    /// `P_<interface>_<resource>_drop`, which calls `smelt_lib_drop` with
    /// the resource's number.
    fn resource(&mut self, id: TypeId) -> Result<CType, LibraryError> {
        let library = self.library;
        if let Some(resource) = library.native_resources.iter().find(|r| r.id == id) {
            return self.native_resource(resource);
        }
        let Some((number, resource)) = library
            .resources
            .iter()
            .enumerate()
            .find(|(_, r)| r.id == id)
        else {
            return Err(self.unsupported(format!(
                "{} (a resource of no exported interface)",
                names::wit(self.resolve, &Type::Id(id))
            )));
        };
        let (p, m) = (self.prefix, self.macro_prefix.clone());
        let spell = format!("{p}_{}_t", resource.c_name);
        let drop = format!("{p}_{}_drop", resource.c_name);
        let what = format!("resource {}", resource.key);
        self.define(&spell, &what)?;
        self.define(&drop, &what)?;
        self.comment(self.resolve.types[id].docs.contents.as_deref());
        let t = &mut self.types;
        writeln!(
            t,
            "/* resource {key}: a handle (an index into the instance's handle table).\n \
             * An owned handle (WIT own<{name}>, what a constructor returns) is the\n \
             * caller's until it passes it as an own<{name}> argument, which moves it\n \
             * into the call, or drops it with {drop}. A borrowed one (borrow<{name}>)\n \
             * is only lent to the call. The _free helpers do not drop handles. */",
            key = resource.key,
            name = self.resolve.types[id].name.as_deref().unwrap_or("resource"),
        )
        .unwrap();
        writeln!(
            t,
            "typedef struct {spell} {{\n    uint32_t handle;\n}} {spell};"
        )
        .unwrap();
        writeln!(
            t,
            "{m}_STATIC_ASSERT(sizeof({spell}) == 4 && {m}_ALIGNOF({spell}) == 4, \"{spell}: native layout of a handle\");"
        )
        .unwrap();
        writeln!(
            t,
            "/* Drops the owned handle `handle`, running the resource's destructor in\n \
             * the component (Explainer.md `resource.drop`). False, with *error set as\n \
             * for a trap, if the handle is not an owned {spell} of this instance,\n \
             * is lent to a call in progress, or the destructor traps. */"
        )
        .unwrap();
        writeln!(
            t,
            "static inline bool {drop}({p}_t *self, {spell} handle, char **error) {{\n    \
             return smelt_lib_drop(self, {number}, handle.handle, error) == 0;\n}}\n"
        )
        .unwrap();
        Ok(CType {
            spell,
            mangle: resource.c_name.clone(),
            key: resource.key.clone(),
            free: None,
        })
    }

    /// The handle type of `resource`, which the program implements (a
    /// resource of a native import's interface),
    /// `P_impl_<interface>_<resource>_t`: the representation the
    /// implementation chose. Declares its destructor
    /// `P_impl_<interface>_<resource>_drop`, which the program implements
    /// too, and defines its glue (the native import
    /// `<import>#[dtor]<resource>`, of type `func(rep: u32)`).
    fn native_resource(&mut self, resource: &LibraryResource) -> Result<CType, LibraryError> {
        let (p, m) = (self.prefix, self.macro_prefix.clone());
        let spell = format!("{p}_impl_{}_t", resource.c_name);
        let drop = format!("{p}_impl_{}_drop", resource.c_name);
        let what = format!("imported resource {}", resource.key);
        self.define(&spell, &what)?;
        self.define(&drop, &what)?;
        let name = self.resolve.types[resource.id]
            .name
            .as_deref()
            .unwrap_or("resource");
        self.comment(self.resolve.types[resource.id].docs.contents.as_deref());
        let t = &mut self.types;
        writeln!(
            t,
            "/* resource {key}: implemented by the program. A handle is the\n \
             * representation the implementation chose for a resource (an index into\n \
             * a table of its own, for example). One it returns (from the constructor,\n \
             * or as an own<{name}> in a result) is the component's from then on, until\n \
             * the component drops it: then {drop} is called. One it receives as an\n \
             * own<{name}> argument is the implementation's again (no {drop} follows);\n \
             * as a borrow<{name}> argument, it is only lent for the call. */",
            key = resource.key,
        )
        .unwrap();
        writeln!(
            t,
            "typedef struct {spell} {{\n    uint32_t rep;\n}} {spell};"
        )
        .unwrap();
        writeln!(
            t,
            "{m}_STATIC_ASSERT(sizeof({spell}) == 4 && {m}_ALIGNOF({spell}) == 4, \"{spell}: native layout of a handle\");\n"
        )
        .unwrap();
        let f = &mut self.imports;
        writeln!(
            f,
            "/* {key}: the destructor (Explainer.md `resource.drop`), called when the\n \
             * component drops the last handle of `self_`.\n \
             * Imported: the program implements it.\n \
             */\nvoid {drop}({spell} self_);\n",
            key = resource.key,
        )
        .unwrap();
        let (import, item) = resource
            .key
            .rsplit_once('#')
            .expect("a resource's key is <import>#<resource>");
        let symbol = smelt_abi::component::native_import_symbol(&format!("{import}#[dtor]{item}"));
        let g = &mut self.glue;
        writeln!(g, "void {symbol}(const void *args, void *ret);").unwrap();
        writeln!(
            g,
            "void {symbol}(const void *args, void *ret) {{\n    (void)ret;\n    {drop}(*(const {spell} *)args);\n}}\n"
        )
        .unwrap();
        Ok(CType {
            spell,
            mangle: format!("impl_{}", resource.c_name),
            key: resource.key.clone(),
            free: None,
        })
    }

    /// The mangle and key of the named type `id` (`strings_person`,
    /// `test:lib/strings@0.1.0.person`).
    fn named(&self, id: TypeId, name: &str) -> (String, String) {
        let resolve = self.resolve;
        match resolve.types[id].owner {
            TypeOwner::Interface(owner) => {
                let interface = &resolve.interfaces[owner];
                let scope = self
                    .library
                    .interface_names
                    .get(&owner)
                    .cloned()
                    .unwrap_or_else(|| snake(interface.name.as_deref().unwrap_or("interface")));
                let qualified = match (&interface.name, interface.package) {
                    (Some(_), Some(_)) => resolve.id_of(owner).unwrap_or_default(),
                    _ => scope.clone(),
                };
                (
                    format!("{scope}_{}", snake(name)),
                    format!("{qualified}.{name}"),
                )
            }
            TypeOwner::World(_) | TypeOwner::None => (snake(name), name.to_string()),
        }
    }

    /// `/* ... */` lines with a WIT doc comment, if there is one.
    fn comment(&mut self, doc: Option<&str>) {
        if let Some(doc) = doc {
            write_doc(&mut self.types, doc);
        }
    }

    /// `list<elem>`: `P_list_<elem>_t`.
    fn list(&mut self, elem: CType, layout: NativeLayout) -> Result<CType, LibraryError> {
        let mangle = format!("list_{}", elem.mangle);
        if let Some(made) = self.anonymous.get(&mangle) {
            return Ok(made.clone());
        }
        let key = format!("list<{}>", elem.key);
        let spell = format!("{}_{mangle}_t", self.prefix);
        self.define(&spell, &key)?;
        let free = format!("{}_{mangle}_free", self.prefix);
        self.define(&free, &key)?;
        let t = &mut self.types;
        writeln!(t, "/* {key} */").unwrap();
        writeln!(t, "typedef struct {spell} {{").unwrap();
        writeln!(t, "    {} *ptr;", elem.spell).unwrap();
        writeln!(t, "    size_t len;").unwrap();
        writeln!(t, "}} {spell};").unwrap();
        self.static_assert(&spell, layout, &key);
        let t = &mut self.types;
        writeln!(t, "static inline void {free}({spell} *v) {{").unwrap();
        if let Some(elem_free) = &elem.free {
            writeln!(t, "    for (size_t i = 0; i < v->len; i++) {{").unwrap();
            writeln!(t, "        {elem_free}(&v->ptr[i]);").unwrap();
            writeln!(t, "    }}").unwrap();
        }
        writeln!(t, "    free(v->ptr);").unwrap();
        writeln!(t, "    v->ptr = NULL;").unwrap();
        writeln!(t, "    v->len = 0;").unwrap();
        writeln!(t, "}}\n").unwrap();
        let made = CType {
            spell,
            mangle: mangle.clone(),
            key,
            free: Some(free),
        };
        self.anonymous.insert(mangle, made.clone());
        Ok(made)
    }

    /// `tuple<...>`: `P_tuple<N>_<types>_t` with members `f0`, `f1`, ...
    fn tuple(&mut self, types: Vec<CType>, layout: NativeLayout) -> Result<CType, LibraryError> {
        let mangles: Vec<&str> = types.iter().map(|t| t.mangle.as_str()).collect();
        let mangle = format!("tuple{}_{}", types.len(), mangles.join("_"));
        if let Some(made) = self.anonymous.get(&mangle) {
            return Ok(made.clone());
        }
        let keys: Vec<&str> = types.iter().map(|t| t.key.as_str()).collect();
        let key = format!("tuple<{}>", keys.join(", "));
        let spell = format!("{}_{mangle}_t", self.prefix);
        self.define(&spell, &key)?;
        writeln!(self.types, "/* {key} */").unwrap();
        let members: Vec<Member> = types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| Member {
                name: format!("f{i}"),
                ty,
            })
            .collect();
        let made = self.emit_struct(&spell, &mangle, &key, &members, layout)?;
        self.anonymous.insert(mangle, made.clone());
        Ok(made)
    }

    /// `option<T>` or `result<T, E>`: `P_option_<T>_t`,
    /// `P_result_<T>_<E>_t` (`void` for a missing type).
    fn anonymous_variant(
        &mut self,
        kind: &str,
        cases: &[(String, Option<CType>)],
        layout: NativeLayout,
    ) -> Result<CType, LibraryError> {
        let mangles: Vec<&str> = if kind == "option" {
            vec![
                cases[1]
                    .1
                    .as_ref()
                    .expect("option has a payload")
                    .mangle
                    .as_str(),
            ]
        } else {
            cases
                .iter()
                .map(|(_, ty)| ty.as_ref().map_or("void", |t| t.mangle.as_str()))
                .collect()
        };
        let mangle = format!("{kind}_{}", mangles.join("_"));
        if let Some(made) = self.anonymous.get(&mangle) {
            return Ok(made.clone());
        }
        let keys: Vec<&str> = cases
            .iter()
            .filter(|(name, _)| kind == "result" || name == "some")
            .map(|(_, ty)| ty.as_ref().map_or("_", |t| t.key.as_str()))
            .collect();
        let key = format!("{kind}<{}>", keys.join(", "));
        let spell = format!("{}_{mangle}_t", self.prefix);
        self.define(&spell, &key)?;
        let tags = if kind == "option" {
            format!(
                "tag {m}_OPTION_NONE or {m}_OPTION_SOME",
                m = self.macro_prefix
            )
        } else {
            format!("tag {m}_RESULT_OK or {m}_RESULT_ERR", m = self.macro_prefix)
        };
        writeln!(self.types, "/* {key}: {tags} */").unwrap();
        let made = self.emit_variant(&spell, &mangle, &key, cases, layout)?;
        self.anonymous.insert(mangle, made.clone());
        Ok(made)
    }

    /// `#define P_<MANGLE>_<CASE> N` for each case of a variant or enum.
    fn case_macros<'c>(
        &mut self,
        mangle: &str,
        key: &str,
        cases: impl Iterator<Item = &'c str>,
    ) -> Result<(), LibraryError> {
        for (tag, case) in cases.enumerate() {
            let name = format!("{}_{}_{}", self.macro_prefix, upper(mangle), upper(case));
            self.define(&name, &format!("case {key}.{case}"))?;
            writeln!(self.types, "#define {name} {tag}").unwrap();
        }
        Ok(())
    }

    /// A struct with `members`, its layout check and, if a member owns
    /// memory, its free helper `P_<mangle>_free`.
    fn emit_struct(
        &mut self,
        spell: &str,
        mangle: &str,
        key: &str,
        members: &[Member],
        layout: NativeLayout,
    ) -> Result<CType, LibraryError> {
        let t = &mut self.types;
        writeln!(t, "typedef struct {spell} {{").unwrap();
        for m in members {
            writeln!(t, "    {} {};", m.ty.spell, m.name).unwrap();
        }
        writeln!(t, "}} {spell};").unwrap();
        self.static_assert(spell, layout, key);
        let owning: Vec<&Member> = members.iter().filter(|m| m.ty.free.is_some()).collect();
        let free = if owning.is_empty() {
            None
        } else {
            let free = format!("{}_{mangle}_free", self.prefix);
            self.define(&free, key)?;
            let t = &mut self.types;
            writeln!(t, "static inline void {free}({spell} *v) {{").unwrap();
            for m in owning {
                writeln!(t, "    {}(&v->{});", m.ty.free.as_ref().unwrap(), m.name).unwrap();
            }
            writeln!(t, "}}").unwrap();
            Some(free)
        };
        self.types.push('\n');
        Ok(CType {
            spell: spell.to_string(),
            mangle: mangle.to_string(),
            key: key.to_string(),
            free,
        })
    }

    /// `struct { uintN_t tag; union { ... } val; }` for the cases, the
    /// union left out when no case has a payload; its layout check and,
    /// if a payload owns memory, its free helper `P_<mangle>_free`.
    fn emit_variant(
        &mut self,
        spell: &str,
        mangle: &str,
        key: &str,
        cases: &[(String, Option<CType>)],
        layout: NativeLayout,
    ) -> Result<CType, LibraryError> {
        let tag = match discriminant(cases.len()).size {
            1 => "uint8_t",
            2 => "uint16_t",
            _ => "uint32_t",
        };
        let payloads: Vec<(usize, String, &CType)> = cases
            .iter()
            .enumerate()
            .filter_map(|(i, (name, ty))| ty.as_ref().map(|ty| (i, member(name), ty)))
            .collect();
        let t = &mut self.types;
        writeln!(t, "typedef struct {spell} {{").unwrap();
        writeln!(t, "    {tag} tag;").unwrap();
        if !payloads.is_empty() {
            writeln!(t, "    union {{").unwrap();
            for (_, name, ty) in &payloads {
                writeln!(t, "        {} {name};", ty.spell).unwrap();
            }
            writeln!(t, "    }} val;").unwrap();
        }
        writeln!(t, "}} {spell};").unwrap();
        self.static_assert(spell, layout, key);
        let owning: Vec<_> = payloads
            .iter()
            .filter(|(_, _, ty)| ty.free.is_some())
            .collect();
        let free = if owning.is_empty() {
            None
        } else {
            let free = format!("{}_{mangle}_free", self.prefix);
            self.define(&free, key)?;
            let t = &mut self.types;
            writeln!(t, "static inline void {free}({spell} *v) {{").unwrap();
            writeln!(t, "    switch (v->tag) {{").unwrap();
            for (tag, name, ty) in owning {
                writeln!(t, "    case {tag}:").unwrap();
                writeln!(t, "        {}(&v->val.{name});", ty.free.as_ref().unwrap()).unwrap();
                writeln!(t, "        break;").unwrap();
            }
            writeln!(t, "    default:").unwrap();
            writeln!(t, "        break;").unwrap();
            writeln!(t, "    }}").unwrap();
            writeln!(t, "}}").unwrap();
            Some(free)
        };
        self.types.push('\n');
        Ok(CType {
            spell: spell.to_string(),
            mangle: mangle.to_string(),
            key: key.to_string(),
            free,
        })
    }

    /// An enum or flags: the unsigned integer of its size.
    fn emit_scalar(&mut self, spell: &str, layout: NativeLayout, key: &str) -> CType {
        let integer = match layout.size {
            1 => "uint8_t",
            2 => "uint16_t",
            _ => "uint32_t",
        };
        writeln!(self.types, "typedef {integer} {spell};").unwrap();
        self.static_assert(spell, layout, key);
        self.types.push('\n');
        CType {
            spell: spell.to_string(),
            mangle: String::new(),
            key: String::new(),
            free: None,
        }
    }

    /// The check that C lays out `spell` as [`native_layout`] says.
    fn static_assert(&mut self, spell: &str, layout: NativeLayout, key: &str) {
        let m = &self.macro_prefix;
        writeln!(
            self.types,
            "{m}_STATIC_ASSERT(sizeof({spell}) == {} && {m}_ALIGNOF({spell}) == {}, \"{spell}: native layout of {key}\");",
            layout.size, layout.align
        )
        .unwrap();
    }

    /// The C types of function `function`'s parameters and result, the
    /// native layout of its parameters' struct, and its WIT parameters as
    /// a comment spells them (`name: type`); sets the function whose types
    /// are being made.
    fn signature(&mut self, function: &LibraryFunction) -> Result<Signature, LibraryError> {
        self.function = function.key.clone();
        let wit_function = &function.function;
        let mut params = Vec::new();
        for param in &wit_function.params {
            let ty = self.c_type(&param.ty)?;
            params.push(Member {
                name: member(&param.name),
                ty,
            });
        }
        let result = wit_function
            .result
            .as_ref()
            .map(|t| self.c_type(t))
            .transpose()?;
        let params_types = wit_function.params.iter().map(|p| &p.ty);
        let Some(layout) = record_layout(self.resolve, params_types) else {
            return Err(self.unsupported("a parameter type without a layout".into()));
        };
        let wit_params = wit_function
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, names::wit(self.resolve, &p.ty)))
            .collect();
        Ok(Signature {
            params,
            result,
            layout,
            wit_params,
        })
    }

    /// The wrapper of exported function `function`, number `number`.
    fn function(&mut self, number: usize, function: &LibraryFunction) -> Result<(), LibraryError> {
        let Signature {
            params,
            result,
            layout,
            wit_params: signature,
        } = self.signature(function)?;
        let resolve = self.resolve;
        let wit_function = &function.function;
        let name = format!("{}_{}", self.prefix, function.c_name);
        self.define(&name, &format!("function {}", function.key))?;

        let f = &mut self.functions;
        if let Some(doc) = &wit_function.docs.contents {
            write_doc(f, doc);
        }
        let asynchronous = if wit_function.kind.is_async() {
            "async "
        } else {
            ""
        };
        write!(
            f,
            "/* {}: {asynchronous}func({})",
            function.key,
            signature.join(", ")
        )
        .unwrap();
        if let Some(ty) = &wit_function.result {
            write!(f, " -> {}", names::wit(resolve, ty)).unwrap();
        }
        writeln!(f, "\n * Function number {number}.").unwrap();
        if !asynchronous.is_empty() {
            writeln!(
                f,
                " * An async function, called like a synchronous one: the call returns\n * when the function has returned its result."
            )
            .unwrap();
        }
        if let Some(result) = &result {
            match &result.free {
                Some(free) => writeln!(
                    f,
                    " * On success *ret is the result, owned by the caller: free it with {free}."
                )
                .unwrap(),
                None => writeln!(f, " * On success *ret is the result.").unwrap(),
            }
        }
        writeln!(f, " */").unwrap();

        let mut c_params = vec![format!("{}_t *self", self.prefix)];
        c_params.extend(params.iter().map(|p| format!("{} {}", p.ty.spell, p.name)));
        if let Some(result) = &result {
            c_params.push(format!("{} *ret", result.spell));
        }
        c_params.push("char **error".into());
        writeln!(f, "static inline bool {name}({}) {{", c_params.join(", ")).unwrap();
        let args = if params.is_empty() {
            "NULL"
        } else {
            let tag = format!("{name}_args");
            writeln!(f, "    struct {tag} {{").unwrap();
            for p in &params {
                writeln!(f, "        {} {};", p.ty.spell, p.name).unwrap();
            }
            let values: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            writeln!(f, "    }} args = {{{}}};", values.join(", ")).unwrap();
            let m = &self.macro_prefix;
            writeln!(
                f,
                "    {m}_STATIC_ASSERT(sizeof(args) == {} && {m}_ALIGNOF(struct {tag}) == {}, \"{name}: native layout of the parameters\");",
                layout.size, layout.align
            )
            .unwrap();
            "&args"
        };
        let ret = if result.is_some() { "ret" } else { "NULL" };
        writeln!(
            f,
            "    return smelt_lib_call(self, {number}, {args}, {ret}, error) == 0;"
        )
        .unwrap();
        writeln!(f, "}}\n").unwrap();
        Ok(())
    }

    /// The declaration of imported function `function`'s implementation,
    /// `P_impl_<c_name>`, and its glue
    /// (`smelt_abi::component::native_import_symbol`), which unpacks the
    /// parameters' struct and stores the result.
    fn import(&mut self, function: &LibraryFunction) -> Result<(), LibraryError> {
        let Signature {
            params,
            result,
            layout,
            wit_params: signature,
        } = self.signature(function)?;
        let resolve = self.resolve;
        let wit_function = &function.function;
        let name = format!("{}_impl_{}", self.prefix, function.c_name);
        self.define(&name, &format!("imported function {}", function.key))?;

        let f = &mut self.imports;
        if let Some(doc) = &wit_function.docs.contents {
            write_doc(f, doc);
        }
        write!(f, "/* {}: func({})", function.key, signature.join(", ")).unwrap();
        if let Some(ty) = &wit_function.result {
            write!(f, " -> {}", names::wit(resolve, ty)).unwrap();
        }
        writeln!(f, "\n * Imported: the program implements it.").unwrap();
        if let Some(result) = &result
            && result.free.is_some()
        {
            writeln!(
                f,
                " * Its result's strings and lists must come from malloc: the library frees them."
            )
            .unwrap();
        }
        writeln!(f, " */").unwrap();
        let c_params: Vec<String> = params
            .iter()
            .map(|p| format!("{} {}", p.ty.spell, p.name))
            .collect();
        let c_params = if c_params.is_empty() {
            "void".to_string()
        } else {
            c_params.join(", ")
        };
        let returns = result.as_ref().map_or("void", |r| r.spell.as_str());
        writeln!(f, "{returns} {name}({c_params});\n").unwrap();

        let symbol = smelt_abi::component::native_import_symbol(&function.key);
        let m = &self.macro_prefix;
        let g = &mut self.glue;
        writeln!(g, "void {symbol}(const void *args, void *ret);").unwrap();
        writeln!(g, "void {symbol}(const void *args, void *ret) {{").unwrap();
        let call_args = if params.is_empty() {
            writeln!(g, "    (void)args;").unwrap();
            String::new()
        } else {
            let tag = format!("{name}_args");
            writeln!(g, "    struct {tag} {{").unwrap();
            for p in &params {
                writeln!(g, "        {} {};", p.ty.spell, p.name).unwrap();
            }
            writeln!(g, "    }};").unwrap();
            writeln!(
                g,
                "    {m}_STATIC_ASSERT(sizeof(struct {tag}) == {} && {m}_ALIGNOF(struct {tag}) == {}, \"{name}: native layout of the parameters\");",
                layout.size, layout.align
            )
            .unwrap();
            writeln!(
                g,
                "    const struct {tag} *in = (const struct {tag} *)args;"
            )
            .unwrap();
            params
                .iter()
                .map(|p| format!("in->{}", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &result {
            Some(r) => writeln!(g, "    *({} *)ret = {name}({call_args});", r.spell).unwrap(),
            None => writeln!(g, "    (void)ret;\n    {name}({call_args});").unwrap(),
        }
        writeln!(g, "}}\n").unwrap();
        Ok(())
    }

    fn finish(self) -> String {
        let (p, m) = (self.prefix, &self.macro_prefix);
        let mut h = String::new();
        if self.executable {
            write!(
                h,
                r#"/* {p}.h: the native imports of an executable built by smelt.
 * Generated by smelt from the component's WIT; do not edit.
 *
 * The component imports the functions below, which the program's own
 * C code implements: define each {p}_impl_ function, and in exactly one
 * C file define {m}_IMPLEMENTATION before including this header. Compile
 * it, then link it in with `smelt build ... --link FILE.o` (and -l, -L).
 *
 * Types: as in a component library's header: a string is
 * {{ uint8_t *ptr; size_t len; }} (UTF-8), a list {{ T *ptr; size_t len; }},
 * records and tuples are structs; variants, options and results are a
 * `tag` and a union `val`; enums are the tag alone; flags an unsigned
 * integer; a WIT char a uint32_t Unicode scalar value.
 */
"#
            )
            .unwrap();
        } else {
            write!(
                h,
                r#"/* {p}.h: the C interface of the component library lib{p}.a.
 * Generated by smelt from the component's WIT; do not edit.
 *
 * Use:
 *     smelt_config config = {{0}};  (arguments, environment, preopened directories)
 *     char *error = NULL;
 *     {p}_t *instance = {p}_new(&config, &error);
 *     if (instance == NULL) {{ ... print error, free(error) ... }}
 *     if ({p}_<interface>_<function>(instance, <arguments>, &result, &error)) {{
 *         ... use result, then free it with its {p}_<type>_free helper ...
 *     }} else {{ ... print error, free(error) ... }}
 *     {p}_free(instance);
 *
 * Ownership: arguments are borrowed (the call copies them into the
 * instance). A result is owned by the caller: its strings and lists are
 * allocated with malloc, and the {p}_<type>_free helpers free a value's
 * memory recursively (the value itself stays where it is). Strings are
 * UTF-8 with `len` in bytes; a result's strings are also NUL-terminated.
 *
 * Errors: each function returns true on success. When the call traps it
 * returns false, writes nothing to *ret and, if `error` is not NULL, sets
 * *error to a message allocated with malloc (free it with free()).
 *
 * Types: records and tuples are structs; variants, options and results
 * are a `tag` and a union `val` with a member per case that has a payload
 * (tags: the {m}_<TYPE>_<CASE> macros, {m}_OPTION_NONE/SOME,
 * {m}_RESULT_OK/ERR); enums are the tag alone; flags are an unsigned
 * integer with bit i for label i; a WIT char is a uint32_t Unicode scalar
 * value. Each type's size and alignment are checked below against the
 * layout the library was built for.
 */
"#
            )
            .unwrap();
        }
        write!(
            h,
            r#"#ifndef {m}_SMELT_H
#define {m}_SMELT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {{
#define {m}_STATIC_ASSERT(condition, message) static_assert(condition, message)
#define {m}_ALIGNOF(type) alignof(type)
#else
#define {m}_STATIC_ASSERT(condition, message) _Static_assert(condition, message)
#define {m}_ALIGNOF(type) _Alignof(type)
#endif

"#
        )
        .unwrap();
        if !self.executable {
            write!(
                h,
                r#"#ifndef SMELT_LIB_DECLARATIONS
#define SMELT_LIB_DECLARATIONS
/* The runtime's entry points (any component library's header declares
 * them). */
typedef struct smelt_instance smelt_instance;
typedef struct {{
    const char *const *args;  /* argv for the guest (wasi:cli/environment) */
    size_t args_len;
    const char *const *env;   /* "NAME=VALUE" strings */
    size_t env_len;
    const char *const *dirs;  /* "HOST_PATH" or "HOST_PATH::GUEST_PATH" preopens */
    size_t dirs_len;
}} smelt_config;
smelt_instance *smelt_lib_new(const smelt_config *config, char **error);
void smelt_lib_free(smelt_instance *instance);
int smelt_lib_call(smelt_instance *instance, uint32_t func, const void *args, void *ret,
                   char **error);
int smelt_lib_drop(smelt_instance *instance, uint32_t resource, uint32_t handle, char **error);
#endif

/* An instance of the component. */
typedef struct smelt_instance {p}_t;

/* A new instance with the capabilities in `config` (NULL on failure,
 * with *error set as for a trap). Several instances may live at once. */
static inline {p}_t *{p}_new(const smelt_config *config, char **error) {{
    return smelt_lib_new(config, error);
}}

/* Frees an instance and everything it holds. */
static inline void {p}_free({p}_t *self) {{
    smelt_lib_free(self);
}}

"#
            )
            .unwrap();
        }
        write!(
            h,
            r#"#define {m}_OPTION_NONE 0
#define {m}_OPTION_SOME 1
#define {m}_RESULT_OK 0
#define {m}_RESULT_ERR 1

/* string: UTF-8, `len` in bytes. */
typedef struct {p}_string_t {{
    uint8_t *ptr;
    size_t len;
}} {p}_string_t;
{m}_STATIC_ASSERT(sizeof({p}_string_t) == 16 && {m}_ALIGNOF({p}_string_t) == 8, "{p}_string_t: native layout of string");
static inline void {p}_string_free({p}_string_t *v) {{
    free(v->ptr);
    v->ptr = NULL;
    v->len = 0;
}}

/* A NUL-terminated string as an argument (borrowed: not copied here). */
static inline {p}_string_t {p}_string_from_cstr(const char *s) {{
    {p}_string_t result;
    result.ptr = (uint8_t *)(uintptr_t)s;
    result.len = 0;
    while (s[result.len] != '\0') {{
        result.len++;
    }}
    return result;
}}

"#
        )
        .unwrap();
        h.push_str(&self.types);
        h.push_str(&self.functions);
        if !self.imports.is_empty() {
            write!(
                h,
                r#"/* Native imports: the functions the component imports that are not WASI
 * interfaces, which the program implements. Define each {p}_impl_ function
 * below, and in exactly one C file define {m}_IMPLEMENTATION before
 * including this header: that file then defines the glue through which
 * the library calls them. A missing implementation is a link error that
 * names it.
 *
 * Ownership: the arguments are borrowed for the call (the library frees
 * them after it; a string argument is also NUL-terminated). A result is
 * given to the library: its strings and lists must be allocated with
 * malloc, and the library frees them. An implementation runs on the
 * thread of the call into the library, and must not call into the same
 * instance.
 */
"#
            )
            .unwrap();
            h.push_str(&self.imports);
            write!(h, "#ifdef {m}_IMPLEMENTATION\n{}#endif\n\n", self.glue).unwrap();
        }
        write!(
            h,
            "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {m}_SMELT_H */\n"
        )
        .unwrap();
        h
    }
}

/// A WIT doc comment as a C comment.
fn write_doc(out: &mut String, doc: &str) {
    writeln!(out, "/*").unwrap();
    for line in doc.lines() {
        let line = line.replace("*/", "* /");
        writeln!(out, "{}", format!(" * {line}").trim_end()).unwrap();
    }
    writeln!(out, " */").unwrap();
}
