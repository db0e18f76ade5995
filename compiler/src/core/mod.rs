//! Core WebAssembly modules: parsing ([`module`]), the `vmctx` layout
//! ([`offsets`]), translation of function bodies ([`translate`]), and the
//! generated code around them: instantiation ([`init`]), host entry
//! trampolines ([`trampoline`]) and exit stubs to built-ins ([`exit`]).

pub mod env;
pub mod exit;
pub mod forward;
pub mod gc_types;
pub mod heap;
pub mod init;
pub mod inline;
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
    // WebAssembly 3.0 with the legacy exception-handling instructions
    // (`try`, `catch`, `delegate`, `rethrow`, which older toolchains
    // emit), and the component model with the features its reference
    // tests are run with.
    F::WASM3
        | F::LEGACY_EXCEPTIONS
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
