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
//! Resource methods, constructors and static functions are left out of the
//! list in this version; a function whose types hold a handle (`own`,
//! `borrow`), a `stream`, a `future` or an `error-context` is refused.

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

use std::collections::HashMap;

use thiserror::Error;
use wit_parser::decoding::DecodedWasm;
use wit_parser::{Function, FunctionKind, InterfaceId, Resolve, Type, TypeDefKind, WorldItem};

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

/// Every exported function of the component `wasm`, sorted by key: a
/// function's number for `smelt_lib_call` is its index in the result.
///
/// Resource methods, constructors and static functions are left out.
///
/// # Errors
///
/// [`LibraryError::NotAComponent`] and [`LibraryError::Decode`] when
/// `wasm` is not a component whose WIT decodes; [`LibraryError::Unsupported`]
/// when an exported function's parameters or result hold `own`/`borrow`
/// handles, `stream`, `future`, `error-context`, `map`, a fixed-length list,
/// or `flags` with more than 32 labels.
pub fn exported_functions(wasm: &[u8]) -> Result<Vec<ExportedFunction>, LibraryError> {
    let library = Library::decode(wasm)?;
    Ok(library
        .functions
        .into_iter()
        .map(|f| ExportedFunction {
            is_async: f.function.kind == FunctionKind::AsyncFreestanding,
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
    /// The C name (snake case, no prefix) of each interface that an
    /// exported function or a type they use belongs to.
    interface_names: HashMap<InterfaceId, String>,
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

        // The functions, with the scope their C name starts with.
        let mut found = Vec::new();
        for (key, item) in &resolve.worlds[world].exports {
            match item {
                WorldItem::Function(function) => found.push((None, function)),
                WorldItem::Interface { id, .. } => {
                    let export = resolve.name_world_key(key);
                    let scope = names::export_scope(&resolve, key, *id);
                    for function in resolve.interfaces[*id].functions.values() {
                        found.push((Some((export.clone(), scope.clone())), function));
                    }
                }
                WorldItem::Type { .. } => {}
            }
        }
        found.retain(|(_, f)| {
            exports
                && matches!(
                    f.kind,
                    FunctionKind::Freestanding | FunctionKind::AsyncFreestanding
                )
        });
        // The native imports: every import but WASI's.
        let mut imported = Vec::new();
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
                }
                WorldItem::Type { .. } => {}
            }
        }

        // Every interface whose name a C name will use.
        let mut scopes = Vec::new();
        for (export, function) in found.iter().chain(&imported) {
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
            for ty in types {
                check_type(&resolve, ty, &key, &mut scopes)?;
            }
        }
        let scope_names = names::assign(&resolve, world, &scopes);

        let named = |found: Vec<(Option<(String, names::Scope)>, &Function)>| {
            let mut functions: Vec<LibraryFunction> = found
                .into_iter()
                .map(|(export, function)| {
                    let snake = names::snake(&function.name);
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

/// Checks that `ty`, a type of exported function `function`, can be
/// passed by a component library, and adds the interfaces that own the
/// named types in it to `scopes`.
fn check_type(
    resolve: &Resolve,
    ty: &Type,
    function: &str,
    scopes: &mut Vec<names::Scope>,
) -> Result<(), LibraryError> {
    let unsupported = |what: String| LibraryError::Unsupported {
        function: function.to_string(),
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
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let mut check = |ty: &Type| check_type(resolve, ty, function, scopes);
    match &def.kind {
        TypeDefKind::Type(t) | TypeDefKind::List(t) | TypeDefKind::Option(t) => check(t),
        TypeDefKind::Record(r) if r.fields.is_empty() => Err(unsupported(format!(
            "record `{}` with no field",
            names::wit(resolve, ty)
        ))),
        TypeDefKind::Record(r) => r.fields.iter().try_for_each(|f| check(&f.ty)),
        TypeDefKind::Tuple(t) if t.types.is_empty() => Err(unsupported("tuple<>".into())),
        TypeDefKind::Tuple(t) => t.types.iter().try_for_each(check),
        TypeDefKind::Variant(v) if v.cases.is_empty() => Err(unsupported(format!(
            "variant `{}` with no case",
            names::wit(resolve, ty)
        ))),
        TypeDefKind::Variant(v) => v.cases.iter().flat_map(|c| &c.ty).try_for_each(check),
        TypeDefKind::Enum(e) if e.cases.is_empty() => Err(unsupported(format!(
            "enum `{}` with no case",
            names::wit(resolve, ty)
        ))),
        TypeDefKind::Enum(_) => Ok(()),
        TypeDefKind::Result(r) => r.ok.iter().chain(&r.err).try_for_each(check),
        TypeDefKind::Flags(f) if (1..=32).contains(&f.flags.len()) => Ok(()),
        TypeDefKind::Flags(f) => Err(unsupported(format!(
            "flags `{}` with {} labels (1 to 32 are supported)",
            names::wit(resolve, ty),
            f.flags.len()
        ))),
        TypeDefKind::Handle(_)
        | TypeDefKind::Resource
        | TypeDefKind::Future(_)
        | TypeDefKind::Stream(_)
        | TypeDefKind::Map(..)
        | TypeDefKind::FixedLengthList(..) => Err(unsupported(names::wit(resolve, ty))),
        TypeDefKind::Unknown => Err(unsupported("a type of unknown structure".into())),
    }
}
