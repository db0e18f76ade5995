//! Compiling a program that runs as a command.
//!
//! A component of the `wasi:cli/command` world is instantiated at compile
//! time with its imports bound to the WASI host; the executable runs its
//! initializers, then calls its `wasi:cli/run` export. It exits with 0
//! when `run` returns `ok`, 1 when it returns `err`, and with the status a
//! guest passes to `wasi:cli/exit`.
//!
//! A core module importing WASI preview1 runs on the preview1 host, with
//! the same capabilities and exit behaviour ([`crate::preview1`]).
//!
//! A core module without imports runs as a program: its start function
//! (if any) runs at instantiation, then the export chosen as entry point
//! (by default `_start`, if it exports one) is called.
//!
//! Either way a trap exits with status 134 after printing the trap and a
//! wasm backtrace.

use thiserror::Error;

use smelt_abi::component::{TypeTable, ValType};
use smelt_abi::wasi::{ServeConfig, WasiConfig};

use crate::component::flatten::{ItemDef, TypeDef};
use crate::core::types::EntityIndex;
use crate::error::CompileError;
use crate::program::{Entry, ProgramBuilder};
use crate::target::Target;

/// Why a module cannot be compiled as a command.
#[derive(Debug, Error)]
pub enum CommandError {
    /// The module does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The module imports something no host provides.
    #[error(
        "the module imports `{module}::{name}` (at offset {offset:#x}), which nothing provides \
         (smelt provides the imports of WASI preview1, `wasi_snapshot_preview1`, and the WASI \
         imports of components)"
    )]
    UnresolvedImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// Byte offset of the import.
        offset: u64,
    },
    /// The named entry point is not an exported function without
    /// parameters.
    #[error("the module has no exported function `{0}` without parameters to run")]
    NoEntry(String),
    /// The component is not a command.
    #[error(
        "the component exports no `wasi:cli/run@0.2.x` or `wasi:cli/run@0.3.x` instance with \
         a function `run: func() -> result` (`async` in WASI 0.3): smelt builds components of \
         the `wasi:cli/command` world{0}"
    )]
    NotACommand(String),
    /// `--serve` was given for a component without an HTTP handler.
    #[error(
        "--serve: the component exports no `wasi:http/incoming-handler@0.2.x` or \
         `wasi:http/handler@0.3.x` instance with a function `handle`{0}"
    )]
    NotAServer(String),
    /// The HTTP handler export has another type than its WIT's.
    #[error("the component's `{0}` is not `{1}`")]
    BadHandler(String, &'static str),
    /// `--invoke` was given for a component.
    #[error("--invoke applies to core modules; a component runs its `wasi:cli/run` export")]
    InvokeComponent,
    /// `--invoke` was given for a WASI preview1 module.
    #[error("--invoke applies to core modules without imports; a WASI command starts at `_start`")]
    InvokePreview1,
    /// A WASI preview1 module that cannot be compiled.
    #[error(transparent)]
    Preview1(#[from] crate::preview1::Preview1Error),
    /// `--emit staticlib` was given for something else than a component.
    #[error(
        "--emit staticlib builds components into libraries; this is a core module (build it as \
         an executable, or make it a component with `wasm-tools component new`)"
    )]
    LibraryOfModule,
    /// A library component exports no function.
    #[error("the component exports no function to call from a library{0}")]
    NoLibraryExports(String),
    /// A library export uses a type the C interface does not carry yet.
    #[error(
        "the exported function `{function}` uses {what}, which --emit staticlib does not support \
         yet (strings, lists, records, variants, enums, options, results, flags and scalars are)"
    )]
    UnsupportedLibraryType {
        /// The function's key (`"<instance>#<function>"`).
        function: String,
        /// The type, in WIT words.
        what: &'static str,
    },
}

/// How a component that exports a `wasi:http` handler is served
/// (`smelt build --serve --addr --workers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Serve the handler even when the component also exports
    /// `wasi:cli/run` (which it runs otherwise).
    pub force: bool,
    /// The address the executable listens on unless told otherwise when
    /// it starts.
    pub addr: String,
    /// Worker threads; 0: one per CPU.
    pub workers: u32,
}

impl Default for ServeOptions {
    /// Listens on `0.0.0.0:8080`, as `wasmtime serve` does, with one
    /// worker per CPU.
    fn default() -> Self {
        ServeOptions {
            force: false,
            addr: "0.0.0.0:8080".into(),
            workers: 0,
        }
    }
}

/// Compiles `wasm`, a core module or a component, into an object that runs
/// it as a command or serves it (see the module documentation). `wasi` is
/// what a component is granted; `invoke` names a core module's entry
/// export; `serve` says how a component exporting an HTTP handler is
/// served; `max_threads` caps the threads of a wasi-threads module
/// ([`crate::preview1::compile`]); `native_imports` makes a component's
/// imports that are not WASI interfaces native functions
/// ([`compile_component`]).
pub fn compile_any(
    wasm: &[u8],
    target: &Target,
    invoke: Option<&str>,
    wasi: &WasiConfig,
    serve: &ServeOptions,
    max_threads: Option<u32>,
    native_imports: bool,
) -> Result<Vec<u8>, CommandError> {
    let is_preview1 = crate::preview1::is_preview1(wasm);
    if max_threads.is_some() && !is_preview1 {
        return Err(crate::preview1::Preview1Error::MaxThreadsWithoutThreads.into());
    }
    if wasmparser::Parser::is_component(wasm) {
        if invoke.is_some() {
            return Err(CommandError::InvokeComponent);
        }
        compile_component(wasm, target, wasi, serve, native_imports)
    } else if is_preview1 {
        if invoke.is_some() {
            return Err(CommandError::InvokePreview1);
        }
        if serve.force {
            return Err(CommandError::NotAServer(
                " (it is a WASI preview1 module, which runs as a command)".into(),
            ));
        }
        Ok(crate::preview1::compile(wasm, target, wasi, max_threads)?)
    } else {
        compile_with_limits(wasm, target, invoke, wasi.limits)
    }
}

/// The exported function `func` of the newest exported instance
/// `{interface}@0.{minor}.x`, with `minor`.
fn export_func(
    instance: &crate::component::flatten::InstanceDef,
    interface: &str,
    func: &str,
) -> Option<(u32, Option<crate::component::flatten::FuncDef>)> {
    let prefix = format!("{interface}@");
    instance
        .exports
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .filter_map(|(name, item)| Some((smelt_wit::wasi_minor(name)?, item)))
        .max_by_key(|(minor, _)| *minor)
        .map(|(minor, item)| {
            let f = match item {
                ItemDef::Instance(i) => match i.get(func) {
                    Some(ItemDef::Func(f)) => Some(f.clone()),
                    _ => None,
                },
                _ => None,
            };
            (minor, f)
        })
}

/// Compiles `wasm`, a component of the `wasi:cli/command` world or one
/// that exports a `wasi:http` handler, into an object that runs its
/// `wasi:cli/run` export, or serves its handler (`serve`), with the
/// capabilities `wasi`. With `native_imports`, its imports that are not
/// WASI interfaces are native functions that the object refers to by
/// symbol (`smelt_abi::component::native_import_symbol`), which the user's
/// objects linked with it define.
pub fn compile_component(
    wasm: &[u8],
    target: &Target,
    wasi: &WasiConfig,
    serve: &ServeOptions,
    native_imports: bool,
) -> Result<Vec<u8>, CommandError> {
    let mut program = ProgramBuilder::new();
    let root = program.add_component(wasm)?;
    let instantiation = if native_imports {
        program.instantiate_with_native_imports(root)?
    } else {
        program.instantiate_with_host(root)?
    };
    // `wasi:cli/run@0.3.x` (an async `run`) is preferred to
    // `wasi:cli/run@0.2.x`: a component built with Rust's std for WASI 0.3
    // exports both. Likewise `wasi:http/handler@0.3.x` to
    // `wasi:http/incoming-handler@0.2.x`.
    let exports = &instantiation.instance;
    let run = export_func(exports, "wasi:cli/run", "run");
    let handler = export_func(exports, "wasi:http/handler", "handle")
        .or_else(|| export_func(exports, "wasi:http/incoming-handler", "handle"));
    let exported = || {
        let names: Vec<&str> = exports.exports.iter().map(|(n, _)| n.as_str()).collect();
        if names.is_empty() {
            " (it exports nothing)".to_string()
        } else {
            format!(" (it exports: {})", names.join(", "))
        }
    };
    if serve.force && handler.is_none() {
        return Err(CommandError::NotAServer(exported()));
    }
    if let (Some((minor, handle)), false) = (&handler, run.is_some() && !serve.force) {
        let interface = if *minor >= 3 {
            "wasi:http/handler"
        } else {
            "wasi:http/incoming-handler"
        };
        let Some(handle) = handle else {
            return Err(CommandError::NotAServer(format!(
                " (its `{interface}` instance has no function `handle`)"
            )));
        };
        let (entry, ty, entry_ops) = program.host_entry(handle, *minor >= 3)?;
        check_handler(&program.component_state().types, ty, *minor, interface)?;
        let mut init = instantiation.ops;
        init.extend(entry_ops);
        let wasi = WasiConfig {
            serve: Some(ServeConfig {
                addr: serve.addr.clone(),
                wasi_minor: *minor as u8,
                workers: serve.workers,
            }),
            ..wasi.clone()
        };
        return Ok(program.compile(target, Entry::Component { init, entry, wasi })?);
    }
    let run = match run {
        Some((_, Some(f))) => f,
        Some((_, None)) => {
            return Err(CommandError::NotACommand(
                " (its `wasi:cli/run` instance has no function `run`)".into(),
            ));
        }
        None => return Err(CommandError::NotACommand(exported())),
    };
    let (entry, ty, entry_ops) = program.host_entry(&run, false)?;
    let types = &program.component_state().types;
    let func = &types.funcs[ty.index()];
    let returns_result = func.result.is_some_and(|r| {
        matches!(types.table.get(r), ValType::Variant(cases) if cases.len() == 2 && cases.iter().all(Option::is_none))
    });
    if !func.params.is_empty() || !returns_result {
        return Err(CommandError::NotACommand(
            " (its `run` is not `func() -> result`)".into(),
        ));
    }
    let mut init = instantiation.ops;
    init.extend(entry_ops);
    let wasi = WasiConfig {
        serve: None,
        ..wasi.clone()
    };
    Ok(program.compile(target, Entry::Component { init, entry, wasi })?)
}

/// Compiles `wasm`, a component, into an object for a static library
/// (`smelt build --emit staticlib`): its initializers, and an export
/// adapter with the host as the caller for each function of `keys`
/// ([`crate::library::exported_functions`]: a function of an exported
/// instance, `"<instance>#<function>"`, or one exported at the top level),
/// which is the function number of the C header
/// ([`smelt_abi::component::LibraryExport::key`]); and the runtime resource
/// type of each resource of `resources`
/// ([`crate::library::exported_resources`]: `"<instance>#<resource>"`),
/// the resource number of the header's `_drop` functions.
///
/// # Errors
///
/// What [`compile_component`] reports, no function to export, a key the
/// component does not export, or an export whose type holds a stream, a
/// future or an error context ([`CommandError::UnsupportedLibraryType`]).
pub fn compile_library(
    wasm: &[u8],
    target: &Target,
    wasi: &WasiConfig,
    keys: &[String],
    resources: &[String],
) -> Result<Vec<u8>, CommandError> {
    use smelt_abi::component::{LibraryDesc, LibraryExport, LibraryResource};
    if !wasmparser::Parser::is_component(wasm) {
        return Err(CommandError::LibraryOfModule);
    }
    let mut program = ProgramBuilder::new();
    let root = program.add_component(wasm)?;
    let instantiation = program.instantiate_with_native_imports(root)?;
    if keys.is_empty() {
        let names: Vec<&str> = instantiation
            .instance
            .exports
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        return Err(CommandError::NoLibraryExports(if names.is_empty() {
            " (it exports nothing)".to_string()
        } else {
            format!(" (it exports: {})", names.join(", "))
        }));
    }
    let exported = &instantiation.instance;
    let lookup = |key: &String| match key.split_once('#') {
        Some((instance, item)) => match exported.get(instance) {
            Some(ItemDef::Instance(i)) => i.get(item),
            _ => None,
        },
        None => exported.get(key),
    };
    let resources = resources
        .iter()
        .map(|key| match lookup(key) {
            Some(ItemDef::Type(TypeDef::Resource(resource))) => Ok(LibraryResource {
                key: key.clone(),
                resource: *resource,
            }),
            _ => Err(CommandError::NoLibraryExports(format!(
                " (no resource type `{key}`, which its WIT types name)"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut init = instantiation.ops.clone();
    let mut exports = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(ItemDef::Func(f)) = lookup(key) else {
            return Err(CommandError::NoLibraryExports(format!(
                " (no function `{key}`, which its WIT types name)"
            )));
        };
        let (trampoline, func, ops) = program.host_entry(f, false)?;
        let types = &program.component_state().types;
        let ty = &types.funcs[func.index()];
        for &t in ty.params.iter().chain(&ty.result) {
            if let Some(what) = unsupported_in_library(&types.table, t) {
                return Err(CommandError::UnsupportedLibraryType {
                    function: key.clone(),
                    what,
                });
            }
        }
        init.extend(ops);
        exports.push(LibraryExport {
            key: key.clone(),
            trampoline,
            func,
        });
    }
    let wasi = WasiConfig {
        serve: None,
        ..wasi.clone()
    };
    Ok(program.compile(
        target,
        Entry::Library {
            desc: LibraryDesc {
                init,
                exports,
                resources,
            },
            wasi,
        },
    )?)
}

/// The first type in `t` that a library's C interface cannot carry, in
/// WIT words.
fn unsupported_in_library(
    table: &TypeTable,
    t: smelt_abi::component::TypeId,
) -> Option<&'static str> {
    match table.get(t) {
        ValType::Stream(_) => Some("a `stream`"),
        ValType::Future(_) => Some("a `future`"),
        ValType::ErrorContext => Some("an `error-context`"),
        ValType::Flags(n) if *n > 32 => Some("`flags` with more than 32 labels"),
        ValType::List(e) => unsupported_in_library(table, *e),
        ValType::Record(fields) => fields
            .iter()
            .find_map(|&f| unsupported_in_library(table, f)),
        ValType::Variant(cases) => cases
            .iter()
            .flatten()
            .find_map(|&c| unsupported_in_library(table, c)),
        _ => None,
    }
}

/// Checks the type of an HTTP handler's `handle`: WASI 0.2's
/// `func(request: own<incoming-request>, response-out:
/// own<response-outparam>)`, WASI 0.3's `async func(request: own<request>)
/// -> result<own<response>, error-code>`.
fn check_handler(
    types: &crate::component::types::TypeInterner,
    ty: smelt_abi::component::FuncTypeIndex,
    minor: u32,
    interface: &str,
) -> Result<(), CommandError> {
    let func = &types.funcs[ty.index()];
    let own = |t: &smelt_abi::component::TypeId, table: &TypeTable| {
        matches!(table.get(*t), ValType::Own(_))
    };
    let ok = if minor >= 3 {
        func.async_
            && func.params.len() == 1
            && own(&func.params[0], &types.table)
            && func.result.is_some_and(|r| {
                matches!(types.table.get(r), ValType::Variant(cases) if cases.len() == 2
                    && cases[0].is_some_and(|t| own(&t, &types.table)))
            })
    } else {
        func.params.len() == 2
            && func.params.iter().all(|t| own(t, &types.table))
            && func.result.is_none()
    };
    if ok {
        Ok(())
    } else {
        Err(CommandError::BadHandler(
            format!("{interface}#handle"),
            if minor >= 3 {
                "async func(request: request) -> result<response, error-code>"
            } else {
                "func(request: incoming-request, response-out: response-outparam)"
            },
        ))
    }
}

/// Compiles `wasm`, a core module, into an object that runs it as a
/// command, calling export `invoke` (default: `_start` when exported).
pub fn compile(
    wasm: &[u8],
    target: &Target,
    invoke: Option<&str>,
) -> Result<Vec<u8>, CommandError> {
    compile_with_limits(wasm, target, invoke, smelt_abi::wasi::Limits::default())
}

/// [`compile`], with the resource limits `limits` built in.
pub fn compile_with_limits(
    wasm: &[u8],
    target: &Target,
    invoke: Option<&str>,
    limits: smelt_abi::wasi::Limits,
) -> Result<Vec<u8>, CommandError> {
    let mut program = ProgramBuilder::new();
    let m = program.add_module(wasm)?;
    let info = program.module(m);
    if let Some(import) = info.imports.first() {
        return Err(CommandError::UnresolvedImport {
            module: import.module.clone(),
            name: import.name.clone(),
            offset: import.offset,
        });
    }
    let wanted = invoke.unwrap_or("_start");
    let export = info.exports.iter().position(|e| {
        e.name == wanted
            && matches!(e.index, EntityIndex::Func(f) if info.func_type(f).params.is_empty())
    });
    let export = match (export, invoke) {
        (Some(i), _) => Some(i as u32),
        (None, Some(name)) => return Err(CommandError::NoEntry(name.to_string())),
        (None, None) => None,
    };
    Ok(program.compile(target, Entry::CoreCommand { export, limits })?)
}
