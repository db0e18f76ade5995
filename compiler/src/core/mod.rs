//! Core WebAssembly modules: parsing ([`module`]), the `vmctx` layout
//! ([`offsets`]), translation of function bodies ([`translate`]), and the
//! generated code around them: instantiation ([`init`]) and host entry
//! trampolines ([`trampoline`]).

pub mod env;
pub mod init;
pub mod module;
pub mod offsets;
pub mod trampoline;
pub mod translate;
pub mod types;
pub mod vmctx;

/// The WebAssembly features smelt's validator accepts: all of
/// WebAssembly 3.0. Instructions of proposals the translator does not
/// handle yet are reported as unsupported when a function uses them.
pub fn features() -> wasmparser::WasmFeatures {
    wasmparser::WasmFeatures::WASM3
}
