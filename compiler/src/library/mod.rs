//! Components as native libraries (`smelt build --emit staticlib`): what a
//! C program sees of a component.
//!
//! In: a component's bytes. Out: its exported functions, numbered as
//! `smelt_lib_call` numbers them ([`exported_functions`]), and the C header
//! `P.h` that declares a typed C function for each ([`c_header`]), laid out
//! as [`native_layout`] says; [`write_staticlib`] writes the library and
//! its header, [`rust_bindings`] the typed Rust module of the same
//! functions, and [`Build`] does both from a Rust build script. The
//! contract between the header, the runtime and the caller is the
//! header's first comment. The header also declares the functions of the
//! component's native imports (its imports that are not WASI interfaces),
//! which the program implements ([`c_header_of_imports`] alone, for an
//! executable).
//!
//! Invariant: a function's number is its position in the byte-ordered list
//! of keys (`"<export name>#<function name>"` for a function of an exported
//! instance, `"<function name>"` at the top level), the same in the header
//! and in the runtime, because both come from [`exported_functions`].
//! A resource type of an exported interface is numbered the same way, by
//! its key `"<export name>#<resource name>"` ([`exported_resources`]); its
//! constructor, methods and static functions are exported functions (their
//! keys end in `#[constructor]r`, `#[method]r.f`, `#[static]r.f`), and its
//! handles (`own<r>`, `borrow<r>`) are `uint32_t` indices into the host's
//! handle table. A resource type of a native import's interface is the
//! native code's: its handles there are the representations the
//! implementation chose, and its destructor is one more native function.
//! A function whose types hold a handle of another resource the component
//! imports (WASI's), a `stream`, a `future` or an `error-context` is
//! refused.

mod build;
mod header;
mod layout;
mod names;
mod output;
mod rust;
#[cfg(test)]
mod rust_tests;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use thiserror::Error;
use wit_parser::decoding::DecodedWasm;
use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, Resolve, Type, TypeDefKind, WorldItem,
};

pub use build::{Build, Built};
pub use header::{c_header, c_header_of_imports};
pub use layout::{NativeLayout, native_layout};
pub use output::{BuildError, write_staticlib};
pub use rust::rust_bindings;

/// Why a component cannot be made into a library, or its header written.
#[derive(Debug, Error)]
pub enum LibraryError {
    /// The input is not a WebAssembly component (a core module, or not
    /// WebAssembly at all).
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(&'static str),
    /// The component's WIT could not be decoded from its type sections.
    #[error("cannot decode the component's WIT types: {0}")]
    Decode(String),
    /// An exported function uses something a component library cannot
    /// pass yet.
    #[error("function `{function}`: {what} is not supported in a component library yet")]
    Unsupported {
        /// The function's key (`"<export name>#<function name>"`, or the
        /// function name at the top level).
        function: String,
        /// What it uses, in WIT (`own<r>`, `stream<u8>`, `flags with 40
        /// labels`, ...).
        what: String,
    },
    /// The prefix of the header's names is not a C identifier.
    #[error("invalid library name `{0}`: the prefix of the C names must be a C identifier")]
    InvalidPrefix(String),
    /// Two different things of the component would get the same C name.
    #[error("two things would have the C name `{name}`: {first} and {second}")]
    NameClash {
        /// The C identifier.
        name: String,
        /// What has it first, in WIT.
        first: String,
        /// What else would have it.
        second: String,
    },
}

/// One exported function of a component, as a component library numbers
/// it: its number is its position in [`exported_functions`]'s result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFunction {
    /// The key the functions are sorted by (byte order):
    /// `"<export name>#<function name>"` (e.g.
    /// `"test:lib/strings@0.1.0#concat"`), or `"<function name>"` for a
    /// function exported at the top level.
    pub key: String,
    /// The component export name of the instance the function belongs to
    /// (e.g. `"test:lib/strings@0.1.0"`), `None` at the top level.
    pub export: Option<String>,
    /// The function's WIT name (kebab-case, e.g. `"to-upper"`).
    pub name: String,
    /// The C name without the prefix: `"<interface>_<function>"` (e.g.
    /// `"strings_to_upper"`) or `"<function>"` at the top level, snake
    /// case; the header declares it as `P_<c_name>`.
    pub c_name: String,
    /// Whether the function is a WASI 0.3 `async func` (the header calls it
    /// like a synchronous one).
    pub is_async: bool,
}

/// One resource type of a component's exported interfaces, as a component
/// library numbers it: its number is its position in
/// [`exported_resources`]'s result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedResource {
    /// The key the resources are sorted by (byte order):
    /// `"<export name>#<resource name>"` (e.g.
    /// `"test:lib/counters@0.1.0#counter"`).
    pub key: String,
    /// The C name without the prefix: `"<interface>_<resource>"` (e.g.
    /// `"counters_counter"`); the header's handle type is `P_<c_name>_t`
    /// and its destructor `P_<c_name>_drop`.
    pub c_name: String,
}

/// Every resource type of the exported interfaces of the component
/// `wasm`, sorted by key: a resource's number for `smelt_lib_drop` is its
/// index in the result.
///
/// # Errors
///
/// As [`exported_functions`].
pub fn exported_resources(wasm: &[u8]) -> Result<Vec<ExportedResource>, LibraryError> {
    let library = Library::decode(wasm)?;
    Ok(library
        .resources
        .into_iter()
        .map(|r| ExportedResource {
            key: r.key,
            c_name: r.c_name,
        })
        .collect())
}

/// Every exported function of the component `wasm`, sorted by key: a
/// function's number for `smelt_lib_call` is its index in the result.
///
/// A resource's constructor, methods and static functions are among them;
/// accessor functions (getters and setters) are left out.
///
/// # Errors
///
/// [`LibraryError::NotAComponent`] and [`LibraryError::Decode`] when
/// `wasm` is not a component whose WIT decodes; [`LibraryError::Unsupported`]
/// when an exported function's parameters or result hold a handle of a
/// resource the component imports, `stream`, `future`, `error-context`,
/// `map`, a fixed-length list, or `flags` with more than 32 labels, or
/// when a native import's hold such types or a handle of a resource that
/// no native import defines.
pub fn exported_functions(wasm: &[u8]) -> Result<Vec<ExportedFunction>, LibraryError> {
    let library = Library::decode(wasm)?;
    Ok(library
        .functions
        .into_iter()
        .map(|f| ExportedFunction {
            is_async: f.function.kind.is_async(),
            key: f.key,
            export: f.export,
            name: f.function.name,
            c_name: f.c_name,
        })
        .collect())
}

/// A decoded component with its exported functions numbered and its
/// interfaces named for C.
struct Library {
    resolve: Resolve,
    /// Sorted by key.
    functions: Vec<LibraryFunction>,
    /// The functions of the imports that are not WASI interfaces (native
    /// imports, which the user's code implements), sorted by key; their
    /// `export` is the import's name.
    imports: Vec<LibraryFunction>,
    /// The resource types of the exported interfaces, sorted by key.
    resources: Vec<LibraryResource>,
    /// The resource types of the native imports' interfaces, which the
    /// user's code implements, sorted by key.
    native_resources: Vec<LibraryResource>,
    /// The C name (snake case, no prefix) of each interface that an
    /// exported function or a type they use belongs to.
    interface_names: HashMap<InterfaceId, String>,
}

/// A resource type of an exported interface of a [`Library`], or of one of
/// its native imports.
struct LibraryResource {
    /// `"<export or import name>#<resource name>"`.
    key: String,
    /// Its WIT type definition.
    id: wit_parser::TypeId,
    c_name: String,
}

/// An exported function of a [`Library`].
struct LibraryFunction {
    key: String,
    export: Option<String>,
    function: Function,
    c_name: String,
}

impl Library {
    /// Decodes `wasm`'s WIT, lists its exported functions and checks that
    /// their types can be passed.
    fn decode(wasm: &[u8]) -> Result<Self, LibraryError> {
        Self::decode_with(wasm, true)
    }

    /// As [`Library::decode`]; with `exports` false, the exported
    /// functions are left out (the native imports of an executable).
    fn decode_with(wasm: &[u8], exports: bool) -> Result<Self, LibraryError> {
        if !wasmparser::Parser::is_component(wasm) {
            return Err(LibraryError::NotAComponent(
                if wasmparser::Parser::is_core_wasm(wasm) {
                    "it is a core module"
                } else {
                    "no WebAssembly component header"
                },
            ));
        }
        let (resolve, world) = match wit_parser::decoding::decode(wasm) {
            Ok(DecodedWasm::Component(resolve, world)) => (resolve, world),
            Ok(DecodedWasm::WitPackage(..)) => {
                return Err(LibraryError::NotAComponent(
                    "it is a WIT package, not an implementation",
                ));
            }
            Err(err) => return Err(LibraryError::Decode(format!("{err:#}"))),
        };

        // The functions, with the scope their C name starts with, and the
        // resource types of the exported interfaces.
        let mut found = Vec::new();
        let mut resources = Vec::new();
        for (key, item) in &resolve.worlds[world].exports {
            match item {
                WorldItem::Function(function) => found.push((None, function)),
                WorldItem::Interface { id, .. } => {
                    let export = resolve.name_world_key(key);
                    let scope = names::export_scope(&resolve, key, *id);
                    for function in resolve.interfaces[*id].functions.values() {
                        found.push((Some((export.clone(), scope.clone())), function));
                    }
                    for (name, &ty) in &resolve.interfaces[*id].types {
                        if resolve.types[ty].kind == TypeDefKind::Resource {
                            resources.push((export.clone(), scope.clone(), name.clone(), ty));
                        }
                    }
                }
                WorldItem::Type { .. } => {}
            }
        }
        found.retain(|(_, f)| {
            exports
                && matches!(
                    f.kind,
                    FunctionKind::Freestanding
                        | FunctionKind::AsyncFreestanding
                        | FunctionKind::Method(_)
                        | FunctionKind::AsyncMethod(_)
                        | FunctionKind::Static(_)
                        | FunctionKind::AsyncStatic(_)
                        | FunctionKind::Constructor(_)
                )
        });
        if !exports {
            resources.clear();
        }
        let exported_resources: HashSet<wit_parser::TypeId> =
            resources.iter().map(|&(.., id)| id).collect();
        // The native imports: every import but WASI's, with the resource
        // types of their interfaces, which native code implements.
        let mut imported = Vec::new();
        let mut native_resources = Vec::new();
        for (key, item) in &resolve.worlds[world].imports {
            match item {
                WorldItem::Function(function) => imported.push((None, function)),
                WorldItem::Interface { id, .. } => {
                    let import = resolve.name_world_key(key);
                    if import.starts_with("wasi:") {
                        continue;
                    }
                    let scope = names::export_scope(&resolve, key, *id);
                    for function in resolve.interfaces[*id].functions.values() {
                        imported.push((Some((import.clone(), scope.clone())), function));
                    }
                    for (name, &ty) in &resolve.interfaces[*id].types {
                        if resolve.types[ty].kind == TypeDefKind::Resource {
                            native_resources.push((
                                import.clone(),
                                scope.clone(),
                                name.clone(),
                                ty,
                            ));
                        }
                    }
                }
                WorldItem::Type { .. } => {}
            }
        }
        let implemented: HashSet<wit_parser::TypeId> =
            native_resources.iter().map(|&(.., id)| id).collect();

        // Every interface whose name a C name will use.
        let mut scopes = Vec::new();
        for (_, scope, ..) in resources.iter().chain(&native_resources) {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        let exported_functions = found.iter().map(|f| (f, false));
        let imported_functions = imported.iter().map(|f| (f, true));
        for ((export, function), imported) in exported_functions.chain(imported_functions) {
            let key = function_key(export.as_ref().map(|(name, _)| name), &function.name);
            if let Some((_, scope)) = export
                && !scopes.contains(scope)
            {
                scopes.push(scope.clone());
            }
            let types = function
                .params
                .iter()
                .map(|p| &p.ty)
                .chain(&function.result);
            let mut checker = Checker {
                resolve: &resolve,
                function: &key,
                scopes: &mut scopes,
                handles: if imported {
                    &implemented
                } else {
                    &exported_resources
                },
                imported,
            };
            for ty in types {
                checker.check(ty)?;
            }
        }
        let scope_names = names::assign(&resolve, world, &scopes);

        let named = |found: Vec<(Option<(String, names::Scope)>, &Function)>| {
            let mut functions: Vec<LibraryFunction> = found
                .into_iter()
                .map(|(export, function)| {
                    let snake = c_function_name(&resolve, function);
                    let (export, c_name) = match export {
                        Some((name, scope)) => {
                            (Some(name), format!("{}_{snake}", scope_names[&scope]))
                        }
                        None => (None, snake),
                    };
                    LibraryFunction {
                        key: function_key(export.as_ref(), &function.name),
                        export,
                        function: function.clone(),
                        c_name,
                    }
                })
                .collect();
            functions.sort_by(|a, b| a.key.cmp(&b.key));
            functions
        };
        let functions = named(found);
        let imports = named(imported);
        let sorted = |found: Vec<(String, names::Scope, String, wit_parser::TypeId)>| {
            let mut resources: Vec<LibraryResource> = found
                .into_iter()
                .map(|(export, scope, name, id)| LibraryResource {
                    key: function_key(Some(&export), &name),
                    id,
                    c_name: format!("{}_{}", scope_names[&scope], names::snake(&name)),
                })
                .collect();
            resources.sort_by(|a, b| a.key.cmp(&b.key));
            resources
        };
        let resources = sorted(resources);
        let native_resources = sorted(native_resources);

        let interface_names = scope_names
            .into_iter()
            .filter_map(|(scope, name)| match scope {
                names::Scope::Interface(id) => Some((id, name)),
                names::Scope::Named(_) => None,
            })
            .collect();
        Ok(Library {
            resolve,
            functions,
            imports,
            resources,
            native_resources,
            interface_names,
        })
    }
}

/// `"<export>#<name>"`, or `name` at the top level.
fn function_key(export: Option<&String>, name: &str) -> String {
    match export {
        Some(export) => format!("{export}#{name}"),
        None => name.to_string(),
    }
}

/// The C name of `function` without its interface: its name in snake
/// case; for a resource's, the resource's name then the function's
/// (`counter_add` for `[method]counter.add`, `counter_new` for the
/// constructor).
fn c_function_name(resolve: &Resolve, function: &Function) -> String {
    let Some(resource) = function.kind.resource() else {
        return names::snake(&function.name);
    };
    let resource = resolve.types[resource]
        .name
        .as_deref()
        .unwrap_or("resource");
    let item = match function.kind {
        FunctionKind::Constructor(_) => "new",
        _ => function.item_name(),
    };
    format!("{}_{}", names::snake(resource), names::snake(item))
}

/// Checks the types of one function of a library.
struct Checker<'a> {
    resolve: &'a Resolve,
    /// The function's key.
    function: &'a str,
    /// The interfaces that own the named types met so far.
    scopes: &'a mut Vec<names::Scope>,
    /// The resource types whose handles the function may pass: those of
    /// the exported interfaces for an exported function, those of the
    /// native imports for an imported one.
    handles: &'a HashSet<wit_parser::TypeId>,
    /// Whether the function is a native import.
    imported: bool,
}

impl Checker<'_> {
    /// Checks that `ty` can be passed by a component library, and adds the
    /// interfaces that own the named types in it to `scopes`.
    fn check(&mut self, ty: &Type) -> Result<(), LibraryError> {
        let resolve = self.resolve;
        let unsupported = |what: String| LibraryError::Unsupported {
            function: self.function.to_string(),
            what,
        };
        let id = match ty {
            Type::ErrorContext => return Err(unsupported("error-context".into())),
            Type::Id(id) => *id,
            _ => return Ok(()),
        };
        let def = &resolve.types[id];
        if def.name.is_some()
            && let wit_parser::TypeOwner::Interface(owner) = def.owner
        {
            let scope = names::Scope::Interface(owner);
            if !self.scopes.contains(&scope) {
                self.scopes.push(scope);
            }
        }
        match &def.kind {
            TypeDefKind::Type(t) | TypeDefKind::List(t) | TypeDefKind::Option(t) => self.check(t),
            TypeDefKind::Record(r) if r.fields.is_empty() => Err(unsupported(format!(
                "record `{}` with no field",
                names::wit(resolve, ty)
            ))),
            TypeDefKind::Record(r) => r.fields.iter().try_for_each(|f| self.check(&f.ty)),
            TypeDefKind::Tuple(t) if t.types.is_empty() => Err(unsupported("tuple<>".into())),
            TypeDefKind::Tuple(t) => t.types.iter().try_for_each(|t| self.check(t)),
            TypeDefKind::Variant(v) if v.cases.is_empty() => Err(unsupported(format!(
                "variant `{}` with no case",
                names::wit(resolve, ty)
            ))),
            TypeDefKind::Variant(v) => v
                .cases
                .iter()
                .flat_map(|c| &c.ty)
                .try_for_each(|t| self.check(t)),
            TypeDefKind::Enum(e) if e.cases.is_empty() => Err(unsupported(format!(
                "enum `{}` with no case",
                names::wit(resolve, ty)
            ))),
            TypeDefKind::Enum(_) => Ok(()),
            TypeDefKind::Result(r) => r.ok.iter().chain(&r.err).try_for_each(|t| self.check(t)),
            TypeDefKind::Flags(f) if (1..=32).contains(&f.flags.len()) => Ok(()),
            TypeDefKind::Flags(f) => Err(unsupported(format!(
                "flags `{}` with {} labels (1 to 32 are supported)",
                names::wit(resolve, ty),
                f.flags.len()
            ))),
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                if !self.handles.contains(&resource_definition(resolve, *r)) {
                    return Err(unsupported(self.refused_handle(id)));
                }
                self.check(&Type::Id(*r))
            }
            TypeDefKind::Resource if self.handles.contains(&id) => Ok(()),
            TypeDefKind::Resource => Err(unsupported(self.refused_handle(id))),
            TypeDefKind::Future(_)
            | TypeDefKind::Stream(_)
            | TypeDefKind::Map(..)
            | TypeDefKind::FixedLengthList(..) => Err(unsupported(names::wit(resolve, ty))),
            TypeDefKind::Unknown => Err(unsupported("a type of unknown structure".into())),
        }
    }
}

impl Checker<'_> {
    /// What is wrong with the handle type `id` (`own<r>`, `borrow<r>`, or
    /// resource `r` itself, which is `own<r>`), which the function may not
    /// pass.
    fn refused_handle(&self, id: wit_parser::TypeId) -> String {
        let why = if self.imported {
            "a handle of a resource that native code does not implement, in an imported function"
        } else {
            "a handle of a resource the component imports"
        };
        format!("{} ({why})", names::wit(self.resolve, &Type::Id(id)))
    }
}

/// The resource type definition that `id` names, through aliases (`use`
/// makes one).
fn resource_definition(resolve: &Resolve, id: wit_parser::TypeId) -> wit_parser::TypeId {
    match &resolve.types[id].kind {
        TypeDefKind::Type(Type::Id(target)) => resource_definition(resolve, *target),
        _ => id,
    }
}
