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

use smelt_abi::component::ValType;
use smelt_abi::wasi::WasiConfig;

use crate::component::flatten::ItemDef;
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
         (WASI preview1 modules are not supported yet)"
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
    /// `--invoke` was given for a component.
    #[error("--invoke applies to core modules; a component runs its `wasi:cli/run` export")]
    InvokeComponent,
    /// `--invoke` was given for a WASI preview1 module.
    #[error("--invoke applies to core modules without imports; a WASI command starts at `_start`")]
    InvokePreview1,
    /// A WASI preview1 module that cannot be compiled.
    #[error(transparent)]
    Preview1(#[from] crate::preview1::Preview1Error),
}

/// Compiles `wasm`, a core module or a component, into an object that runs
/// it as a command (see the module documentation). `wasi` is what a
/// component is granted; `invoke` names a core module's entry export.
pub fn compile_any(
    wasm: &[u8],
    target: &Target,
    invoke: Option<&str>,
    wasi: &WasiConfig,
) -> Result<Vec<u8>, CommandError> {
    if wasmparser::Parser::is_component(wasm) {
        if invoke.is_some() {
            return Err(CommandError::InvokeComponent);
        }
        compile_component(wasm, target, wasi)
    } else if crate::preview1::is_preview1(wasm) {
        if invoke.is_some() {
            return Err(CommandError::InvokePreview1);
        }
        Ok(crate::preview1::compile(wasm, target, wasi)?)
    } else {
        compile(wasm, target, invoke)
    }
}

/// Compiles `wasm`, a component of the `wasi:cli/command` world, into an
/// object that runs its `wasi:cli/run` export with the capabilities `wasi`.
pub fn compile_component(
    wasm: &[u8],
    target: &Target,
    wasi: &WasiConfig,
) -> Result<Vec<u8>, CommandError> {
    let mut program = ProgramBuilder::new();
    let root = program.add_component(wasm)?;
    let instantiation = program.instantiate_with_host(root)?;
    // `wasi:cli/run@0.3.x` (an async `run`) is preferred to
    // `wasi:cli/run@0.2.x`: a component built with Rust's std for WASI 0.3
    // exports both.
    let run = instantiation
        .instance
        .exports
        .iter()
        .filter(|(name, _)| name.starts_with("wasi:cli/run@"))
        .filter_map(|(name, item)| Some((smelt_wit::wasi_minor(name)?, item)))
        .max_by_key(|(minor, _)| *minor)
        .map(|(_, item)| item.clone());
    let run = match run {
        Some(ItemDef::Instance(i)) => match i.get("run") {
            Some(ItemDef::Func(f)) => f.clone(),
            _ => {
                return Err(CommandError::NotACommand(
                    " (its `wasi:cli/run` instance has no function `run`)".into(),
                ));
            }
        },
        _ => {
            let exports: Vec<&str> = instantiation
                .instance
                .exports
                .iter()
                .map(|(n, _)| n.as_str())
                .collect();
            let found = if exports.is_empty() {
                " (it exports nothing)".to_string()
            } else {
                format!(" (it exports: {})", exports.join(", "))
            };
            return Err(CommandError::NotACommand(found));
        }
    };
    let (entry, ty, entry_ops) = program.host_entry(&run)?;
    let types = &program.component_state().types;
    let func = &types.funcs[ty as usize];
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
    Ok(program.compile(
        target,
        Entry::Component {
            init,
            entry,
            wasi: wasi.clone(),
        },
    )?)
}

/// Compiles `wasm`, a core module, into an object that runs it as a
/// command, calling export `invoke` (default: `_start` when exported).
pub fn compile(
    wasm: &[u8],
    target: &Target,
    invoke: Option<&str>,
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
    Ok(program.compile(target, Entry::CoreCommand { export })?)
}
