//! WASI preview1 core modules.
//!
//! In: a core module that imports `wasi_snapshot_preview1` (the output of
//! Rust's `wasm32-wasip1`, wasi-libc, TinyGo, Zig, ...). Out: a component
//! of the `wasi:cli/command` world, made with `wit-component` and the
//! preview1 command adapter (from `wasi-preview1-component-adapter-
//! provider`), which implements every preview1 function on WASI 0.2. The
//! component then takes the component path: the executable has the same
//! capability flags and exit behaviour as for any component.
//!
//! Checked before wrapping, so the error names what is wrong: every import
//! is a preview1 function, and the module is a command (exports `_start`).

use thiserror::Error;
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// The import module name of WASI preview1.
pub const MODULE: &str = WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME;

/// Why a preview1 module cannot be compiled.
#[derive(Debug, Error)]
pub enum Preview1Error {
    /// The module does not parse.
    #[error("invalid WebAssembly: {0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    /// An import outside WASI preview1.
    #[error(
        "the module imports `{module}::{name}` (at offset {offset:#x}), which nothing provides: \
         a WASI preview1 module may import only `{MODULE}` functions"
    )]
    ForeignImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// Byte offset of the import.
        offset: u64,
    },
    /// A reactor (exports `_initialize` but not `_start`).
    #[error(
        "the module is a WASI reactor (it exports `_initialize` but no `_start`): smelt builds \
         commands, which start at `_start`"
    )]
    Reactor,
    /// Neither `_start` nor `_initialize`.
    #[error("the module exports no `_start` function: smelt builds WASI commands")]
    NoStart,
    /// `wit-component` refused the module.
    #[error("cannot adapt the module to WASI 0.2 with the preview1 adapter: {0:#}")]
    Adapt(anyhow::Error),
}

/// Whether `wasm` is a core module importing WASI preview1.
pub fn is_preview1(wasm: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ImportSection(reader)) => {
                return reader
                    .into_imports()
                    .any(|i| i.is_ok_and(|i| i.module == MODULE));
            }
            Ok(Payload::CodeSectionStart { .. }) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}

/// Checks that `wasm` is a preview1 command and wraps it into a
/// component with the preview1 command adapter.
///
/// # Errors
///
/// See [`Preview1Error`].
pub fn to_component(wasm: &[u8]) -> Result<Vec<u8>, Preview1Error> {
    let mut start = false;
    let mut initialize = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(reader) => {
                for item in reader.into_imports_with_offsets() {
                    let (offset, import) = item?;
                    if import.module != MODULE || !matches!(import.ty, TypeRef::Func(_)) {
                        return Err(Preview1Error::ForeignImport {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            offset,
                        });
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.kind == ExternalKind::Func {
                        start |= export.name == "_start";
                        initialize |= export.name == "_initialize";
                    }
                }
            }
            _ => {}
        }
    }
    if !start {
        return Err(if initialize {
            Preview1Error::Reactor
        } else {
            Preview1Error::NoStart
        });
    }
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(wasm)
        .and_then(|e| e.adapter(MODULE, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER))
        .and_then(|e| e.encode())
        .map_err(Preview1Error::Adapt)
}
