//! WASI preview1 core modules.
//!
//! In: a core module that imports `wasi_snapshot_preview1` (the output of
//! Rust's `wasm32-wasip1`, wasi-libc, TinyGo, Zig, AssemblyScript, ...).
//! Out: a program of kind `Preview1` ([`crate::program::Entry::Preview1`]):
//! the module compiled as it is, each of its imports bound to a compiled
//! trampoline that calls the preview1 host's shim of that function
//! (`libwasi-native`'s `p1`, generated from the preview1 witx as the list
//! here is, `smelt_wit::preview1`), and its `_start` called. The
//! executable has the same capability flags (`--dir`, `--env`,
//! `--inherit-env`) and exit behaviour as a component's.
//!
//! Checked first, so the error names what is wrong and where: every
//! import is a preview1 function of the witx's type, and the module is a
//! command (exports `_start`).

use thiserror::Error;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

use smelt_abi::component::{CoreSignature, FlatType};
use smelt_abi::wasi::WasiConfig;

use crate::core::types::{EntityIndex, FuncIndex};
use crate::error::CompileError;
use crate::program::{Entry, HostImport, ProgramBuilder};
use crate::target::Target;

/// The import module name of WASI preview1.
pub const MODULE: &str = smelt_wit::preview1::MODULE;

/// Why a preview1 module cannot be compiled.
#[derive(Debug, Error)]
pub enum Preview1Error {
    /// The module does not parse.
    #[error("invalid WebAssembly: {0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    /// The module does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
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
    /// An import of a function preview1 does not have.
    #[error(
        "the module imports `{MODULE}::{name}` (at offset {offset:#x}), which is not a WASI \
         preview1 function"
    )]
    UnknownFunction {
        /// Import field name.
        name: String,
        /// Byte offset of the import.
        offset: u64,
    },
    /// An import of a preview1 function with another type than the witx's.
    #[error(
        "the module imports `{MODULE}::{name}` (at offset {offset:#x}) as {found}, but the \
         function is {expected} in WASI preview1"
    )]
    WrongType {
        /// Import field name.
        name: String,
        /// Byte offset of the import.
        offset: u64,
        /// The type preview1 gives it.
        expected: String,
        /// The type the module declares.
        found: String,
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

/// A core function type as the text format writes it:
/// `(func (param i32 i64) (result i32))`.
fn func_text(params: &[FlatType], results: &[FlatType]) -> String {
    let names = |ts: &[FlatType]| {
        ts.iter()
            .map(|t| match t {
                FlatType::I32 => "i32",
                FlatType::I64 => "i64",
                FlatType::F32 => "f32",
                FlatType::F64 => "f64",
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = "(func".to_string();
    if !params.is_empty() {
        s += &format!(" (param {})", names(params));
    }
    if !results.is_empty() {
        s += &format!(" (result {})", names(results));
    }
    s + ")"
}

/// A function type of any value types, as the text format writes it.
fn val_types_text(params: &[wasmparser::ValType], results: &[wasmparser::ValType]) -> String {
    let names = |ts: &[wasmparser::ValType]| {
        ts.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = "(func".to_string();
    if !params.is_empty() {
        s += &format!(" (param {})", names(params));
    }
    if !results.is_empty() {
        s += &format!(" (result {})", names(results));
    }
    s + ")"
}

/// The flat type of a core value type, if it is one of the four numbers.
fn flat(t: &wasmparser::ValType) -> Option<FlatType> {
    Some(match t {
        wasmparser::ValType::I32 => FlatType::I32,
        wasmparser::ValType::I64 => FlatType::I64,
        wasmparser::ValType::F32 => FlatType::F32,
        wasmparser::ValType::F64 => FlatType::F64,
        _ => return None,
    })
}

/// Checks that `wasm` is a preview1 command and compiles it, with the
/// capabilities `wasi`, into an object that runs it.
///
/// # Errors
///
/// See [`Preview1Error`].
pub fn compile(wasm: &[u8], target: &Target, wasi: &WasiConfig) -> Result<Vec<u8>, Preview1Error> {
    // The imports (with their offsets, for the errors) and `_start`.
    let mut start = false;
    let mut initialize = false;
    let mut offsets = Vec::new();
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
                    offsets.push(offset);
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
    let mut program = ProgramBuilder::new();
    let m = program.add_module(wasm)?;
    let info = program.module(m);
    let mut imports = Vec::with_capacity(info.imports.len());
    for (i, import) in info.imports.iter().enumerate() {
        let offset = offsets.get(i).copied().unwrap_or(import.offset);
        let Some(f) = smelt_wit::preview1::function(&import.name) else {
            return Err(Preview1Error::UnknownFunction {
                name: import.name.clone(),
                offset,
            });
        };
        let func = FuncIndex::from_u32(i as u32);
        let ty = info.func_type(func);
        let params: Option<Vec<FlatType>> = ty.params.iter().map(flat).collect();
        let results: Option<Vec<FlatType>> = ty.results.iter().map(flat).collect();
        if params.as_deref() != Some(&f.params[..]) || results.as_deref() != Some(&f.results[..]) {
            return Err(Preview1Error::WrongType {
                name: import.name.clone(),
                offset,
                expected: func_text(&f.params, &f.results),
                found: val_types_text(&ty.params, &ty.results),
            });
        }
        imports.push(HostImport {
            signature: CoreSignature {
                params: f.params.clone(),
                results: f.results.clone(),
                params_indirect: false,
                results_indirect: false,
            },
            type_id: info.func_type_id(func),
            symbol: f.symbol(),
        });
    }
    let export_index = |name: &str, want: fn(&EntityIndex) -> bool| {
        info.exports
            .iter()
            .position(|e| e.name == name && want(&e.index))
            .map(|i| i as u32)
    };
    let start = export_index("_start", |e| matches!(e, EntityIndex::Func(_)))
        .ok_or(Preview1Error::NoStart)?;
    let memory = export_index("memory", |e| matches!(e, EntityIndex::Memory(_)));
    Ok(program.compile(
        target,
        Entry::Preview1 {
            start,
            memory,
            imports,
            wasi: wasi.clone(),
        },
    )?)
}
