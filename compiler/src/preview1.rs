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
//!
//! # wasi-threads
//!
//! A module may also import one shared memory (by convention `env`
//! `memory`, which the runtime makes from the import's limits) and `wasi`
//! `thread-spawn` `(func (param i32) (result i32))`; a module that imports
//! `thread-spawn` must import a shared memory and export
//! `wasi_thread_start` `(func (param i32 i32))`, as the wasi-threads
//! proposal specifies. Each spawned thread then runs on an OS thread of
//! its own, in a new instance of the module importing the same memory
//! (`libwasi-native`'s `p1::threads`), at most `max_threads` at once (the
//! main one included, [`DEFAULT_MAX_THREADS`] unless `--max-threads`
//! says otherwise).

use thiserror::Error;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

use smelt_abi::component::{CoreSignature, FlatType};
use smelt_abi::preview1::{MemoryImport, Preview1Desc, ThreadsDesc};
use smelt_abi::wasi::WasiConfig;

use crate::core::types::EntityIndex;
use crate::error::CompileError;
use crate::program::{Entry, HostImport, ProgramBuilder};
use crate::target::Target;

/// The import module name of WASI preview1.
pub const MODULE: &str = smelt_wit::preview1::MODULE;

/// The import module and name of wasi-threads' `thread-spawn`.
pub const THREAD_SPAWN: (&str, &str) = ("wasi", "thread-spawn");

/// The symbol of the runtime's `thread-spawn` (`libwasi-native`'s
/// `p1::threads`), which its import's trampoline calls.
pub const THREAD_SPAWN_SYMBOL: &str = "smelt_wasi__thread_spawn";

/// The export each spawned thread calls.
pub const THREAD_START: &str = "wasi_thread_start";

/// The most threads a wasi-threads program runs at once, the main one
/// included, unless `--max-threads` says otherwise.
pub const DEFAULT_MAX_THREADS: u32 = 512;

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
         a WASI preview1 module may import only `{MODULE}` functions, `wasi::thread-spawn` \
         and one shared memory"
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
    /// A memory import that is not shared.
    #[error(
        "the module imports memory `{module}::{name}` (at offset {offset:#x}), which is not \
         shared: smelt provides an imported memory only to wasi-threads modules, whose memory \
         is shared (declare it `shared`, with a maximum)"
    )]
    UnsharedMemory {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// Byte offset of the import.
        offset: u64,
    },
    /// An imported memory with pages of another size than 64 KiB.
    #[error(
        "the module imports memory `{module}::{name}` (at offset {offset:#x}) with a custom page \
         size, which smelt does not provide for an imported memory"
    )]
    CustomPageSize {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// Byte offset of the import.
        offset: u64,
    },
    /// `thread-spawn` of another type than wasi-threads'.
    #[error(
        "the module imports `wasi::thread-spawn` (at offset {offset:#x}) as {found}, but \
         wasi-threads defines it as (func (param i32) (result i32))"
    )]
    ThreadSpawnType {
        /// Byte offset of the import.
        offset: u64,
        /// The type the module declares.
        found: String,
    },
    /// A wasi-threads module without a shared memory import.
    #[error(
        "the module imports `wasi::thread-spawn` but no shared memory: a wasi-threads module \
         imports its memory (`env::memory`, shared), which every thread's instance shares"
    )]
    ThreadsWithoutSharedMemory,
    /// A wasi-threads module without a `wasi_thread_start` export of the
    /// proposal's type.
    #[error(
        "the module imports `wasi::thread-spawn` but exports no function `{THREAD_START}` of \
         type (func (param i32 i32)), which each spawned thread starts at{0}"
    )]
    NoThreadStart(String),
    /// `--max-threads` for a module that spawns no threads.
    #[error(
        "--max-threads applies to wasi-threads modules (which import `wasi::thread-spawn`); \
         this module spawns no threads"
    )]
    MaxThreadsWithoutThreads,
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

/// Whether `wasm` is a core module importing WASI preview1 (or
/// wasi-threads' `thread-spawn`, which is defined on preview1).
pub fn is_preview1(wasm: &[u8]) -> bool {
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::ImportSection(reader)) => {
                return reader.into_imports().any(|i| {
                    i.is_ok_and(|i| i.module == MODULE || (i.module, i.name) == THREAD_SPAWN)
                });
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
/// capabilities `wasi`, into an object that runs it; a wasi-threads
/// module runs at most `max_threads` threads at once (the main one
/// included; [`DEFAULT_MAX_THREADS`] when `None`).
///
/// # Errors
///
/// See [`Preview1Error`].
pub fn compile(
    wasm: &[u8],
    target: &Target,
    wasi: &WasiConfig,
    max_threads: Option<u32>,
) -> Result<Vec<u8>, Preview1Error> {
    // The imports (with their offsets, for the errors) and `_start`.
    let mut start = false;
    let mut initialize = false;
    let mut offsets = Vec::new();
    let mut shared_memory = false;
    let mut thread_spawn = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(reader) => {
                for item in reader.into_imports_with_offsets() {
                    let (offset, import) = item?;
                    let foreign = || Preview1Error::ForeignImport {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        offset,
                    };
                    match import.ty {
                        TypeRef::Func(_) if import.module == MODULE => {}
                        TypeRef::Func(_) if (import.module, import.name) == THREAD_SPAWN => {
                            thread_spawn = true;
                        }
                        TypeRef::Memory(m) if !shared_memory => {
                            if !m.shared {
                                return Err(Preview1Error::UnsharedMemory {
                                    module: import.module.to_string(),
                                    name: import.name.to_string(),
                                    offset,
                                });
                            }
                            if m.page_size_log2.is_some_and(|p| p != 16) {
                                return Err(Preview1Error::CustomPageSize {
                                    module: import.module.to_string(),
                                    name: import.name.to_string(),
                                    offset,
                                });
                            }
                            shared_memory = true;
                        }
                        _ => return Err(foreign()),
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
    if thread_spawn && !shared_memory {
        return Err(Preview1Error::ThreadsWithoutSharedMemory);
    }
    if max_threads.is_some() && !thread_spawn {
        return Err(Preview1Error::MaxThreadsWithoutThreads);
    }
    let mut program = ProgramBuilder::new();
    let m = program.add_module(wasm)?;
    let info = program.module(m);
    let mut imports = Vec::with_capacity(info.imports.len());
    let mut memory_import = None;
    for (i, import) in info.imports.iter().enumerate() {
        let offset = offsets.get(i).copied().unwrap_or(import.offset);
        let func = match import.index {
            EntityIndex::Func(func) => func,
            EntityIndex::Memory(mem) => {
                let ty = &info.memories[mem];
                memory_import = Some(MemoryImport {
                    import: i as u32,
                    min_pages: ty.initial,
                    // Checked by the validator: a shared memory has a maximum.
                    max_pages: ty.maximum.unwrap_or(ty.initial),
                    memory64: ty.memory64,
                });
                continue;
            }
            _ => unreachable!("only functions and a memory are imported (checked above)"),
        };
        let ty = info.func_type(func);
        if (import.module.as_str(), import.name.as_str()) == THREAD_SPAWN {
            let i32_ = [wasmparser::ValType::I32];
            if ty.params[..] != i32_ || ty.results[..] != i32_ {
                return Err(Preview1Error::ThreadSpawnType {
                    offset,
                    found: val_types_text(&ty.params, &ty.results),
                });
            }
            imports.push(HostImport {
                signature: CoreSignature {
                    params: vec![FlatType::I32],
                    results: vec![FlatType::I32],
                    params_indirect: false,
                    results_indirect: false,
                },
                type_id: info.func_type_id(func),
                symbol: THREAD_SPAWN_SYMBOL.to_string(),
            });
            continue;
        }
        let Some(f) = smelt_wit::preview1::function(&import.name) else {
            return Err(Preview1Error::UnknownFunction {
                name: import.name.clone(),
                offset,
            });
        };
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
    let export_index = |name: &str, want: &dyn Fn(&EntityIndex) -> bool| {
        info.exports
            .iter()
            .position(|e| e.name == name && want(&e.index))
            .map(|i| i as u32)
    };
    let start = export_index("_start", &|e| matches!(e, EntityIndex::Func(_)))
        .ok_or(Preview1Error::NoStart)?;
    let memory = export_index("memory", &|e| matches!(e, EntityIndex::Memory(_)));
    let threads = if thread_spawn {
        let thread_start = export_index(THREAD_START, &|e| match e {
            EntityIndex::Func(f) => {
                let ty = info.func_type(*f);
                ty.params[..] == [wasmparser::ValType::I32; 2] && ty.results.is_empty()
            }
            _ => false,
        })
        .ok_or_else(|| {
            Preview1Error::NoThreadStart(if info.exports.iter().any(|e| e.name == THREAD_START) {
                " (its export of that name is of another kind or type)".into()
            } else {
                String::new()
            })
        })?;
        Some(ThreadsDesc {
            thread_start,
            max_threads: max_threads.unwrap_or(DEFAULT_MAX_THREADS),
        })
    } else {
        None
    };
    Ok(program.compile(
        target,
        Entry::Preview1 {
            start,
            desc: Preview1Desc {
                memory,
                memory_import,
                threads,
            },
            imports,
            wasi: wasi.clone(),
        },
    )?)
}
