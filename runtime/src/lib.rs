//! The static library linked into every executable smelt produces
//! (`libsmelt_runtime.a`): the runtime core (`smelt-rt`) and the process
//! entry point.
//!
//! Rust static libraries each carry their own copy of the standard library,
//! so everything the generated code links against is bundled into this one
//! library rather than shipped as several.

#![deny(missing_docs)]

use core::ffi::{c_char, c_int};

use smelt_abi::program::ProgramDesc;

unsafe extern "C" {
    /// The program descriptor the compiler emits (`smelt_abi::PROGRAM_SYMBOL`,
    /// whose name carries the ABI version: an object compiled for another
    /// version fails to link).
    #[link_name = concat!("smelt_program_v", smelt_abi::abi_version!())]
    static PROGRAM: ProgramDesc;
}

/// The process entry point.
///
/// # Safety
///
/// Called by the C start files with the process's arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SAFETY: the descriptor is emitted by the compiler into this executable.
    unsafe { smelt_rt::entry::start(&PROGRAM) }
}
