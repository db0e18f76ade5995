//! Compiling a core module that runs as a command.
//!
//! A module without imports runs as a program: its start function (if
//! any) runs at instantiation, then the export chosen as entry point (by
//! default `_start`, if it exports one) is called. A trap exits with status
//! 134 after printing the trap and a wasm backtrace.

use thiserror::Error;

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
