//! The static library linked into every executable smelt produces
//! (`libsmelt_runtime.a`): the runtime core (`smelt-rt`), the WASI host
//! (`smelt-wasi`, libwasi-native) and the process entry point.
//!
//! Rust static libraries each carry their own copy of the standard library,
//! so everything the generated code links against is bundled into this one
//! library rather than shipped as several.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

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
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the descriptor is emitted by the compiler into this
    // executable; the C start files pass valid arguments.
    if let Err(e) = unsafe { smelt_wasi::init(&PROGRAM, argc, argv) } {
        eprintln!("smelt: cannot start: {e}");
        return smelt_rt::entry::EXIT_SOFTWARE;
    }
    // SAFETY: as above.
    unsafe { smelt_rt::entry::start(&PROGRAM, &smelt_wasi::HOST_TABLE) }
}
