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

/// The WebAssembly features smelt's validator accepts. Instructions of
/// proposals the translator does not handle yet are reported as
/// unsupported when a function uses them.
pub fn features() -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    // WebAssembly 3.0, and the component model with the features its
    // reference tests are run with.
    F::WASM3
        | F::COMPONENT_MODEL
        | F::CM_ASYNC
        | F::CM_ASYNC_STACKFUL
        | F::CM_MORE_ASYNC_BUILTINS
        | F::CM_THREADING
        | F::CM_IMPLEMENTS
        | F::CM_FIXED_LENGTH_LISTS
        | F::CM_MAP
        | F::CM_ERROR_CONTEXT
}
