//! smelt's runtime core, linked into every executable smelt produces.
//!
//! It owns what generated code cannot do by itself: creating and growing
//! linear memories ([`memory`]) and tables ([`table`]) within the
//! program's resource limits ([`limits`]), allocating
//! instances and running their initialization ([`instance`]), turning
//! hardware faults in compiled code into wasm traps with backtraces
//! ([`traps`]), unwinding thrown exceptions to their handlers
//! ([`exceptions`]), collecting garbage ([`gc`]), and the process's behaviour for each kind of program
//! ([`entry`], [`wast`]). The functions generated code calls are in
//! [`builtins`]; their list and every structure shared with generated code
//! are defined once, in `smelt-abi`.
//!
//! This crate does not name the program descriptor symbol: the
//! `smelt-runtime` static library does, and passes it to [`entry::start`].

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod atomics;
pub mod builtins;
pub mod component;
pub mod entry;
pub mod exceptions;
pub mod gc;
pub mod instance;
pub mod limits;
pub mod memory;
pub mod program;
pub mod table;
pub mod threads;
pub mod traps;
pub mod wast;
