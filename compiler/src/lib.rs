//! smelt: an ahead-of-time compiler from WebAssembly to standalone native
//! executables.
//!
//! The data path (see `docs/architecture.md`):
//!
//! ```text
//!  .wasm ──parse/validate──► ModuleInfo ──translate (parallel)──► CLIF ──Cranelift──► object ──link──► executable
//!        core::module                    core::translate                    program, emit      link
//! ```
//!
//! [`program::ProgramBuilder`] compiles a set of modules into one object
//! whose runtime behaviour an [`program::Entry`] chooses; [`link`] turns it
//! into an executable with the runtime library; [`wast`] runs WebAssembly
//! test scripts through the same path.

#![deny(missing_docs)]

pub mod command;
pub mod component;
pub mod core;
mod emit;
pub mod error;
mod gc_emit;
pub mod install;
pub mod library;
pub mod link;
pub mod preview1;
pub mod program;
pub mod staticlib;
pub mod target;
pub mod wast;

pub use library::Build;
