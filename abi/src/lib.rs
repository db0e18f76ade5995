//! The one definition of the contract between code that smelt generates and
//! smelt's runtime.
//!
//! Everything that both sides must agree on lives here and only here: the
//! layout of the structures that generated code reads and writes
//! ([`vm`], and GC objects and types, [`gc`]), the trap codes and their messages ([`trap`]), the list of
//! runtime built-ins with their signatures ([`builtins`]), the program
//! descriptor the compiler emits for the runtime to start from
//! ([`program`]), the component model's types, trampolines and
//! initializers ([`component`]) and the encoding of `.wast` scripts
//! compiled into test executables ([`script`]), both in the small binary
//! encoding of [`codec`].
//!
//! The compiler computes field offsets from the `#[repr(C)]` structures in
//! this crate with `core::mem::offset_of!`, and the runtime uses the same
//! structures directly, so a change to a layout changes both sides at once.
//! The descriptor symbol's name carries [`ABI_VERSION`], so an object built
//! against one version of this crate does not link with a runtime built
//! against another: a drift between the two is a link error, never a crash.
//!
//! All supported targets (x86_64, aarch64 and riscv64 Linux) are 64-bit and
//! little-endian; the layouts here assume 8-byte pointers.

#![deny(missing_docs)]

pub mod builtins;
pub mod codec;
pub mod component;
pub mod gc;
pub mod net;
pub mod preview1;
pub mod program;
pub mod script;
pub mod trap;
pub mod vm;
pub mod wasi;

/// Expands to the version number of the compiler↔runtime contract, as a
/// literal, so that it can be spliced into symbol names with `concat!`.
/// Bump it on any change to a layout, a built-in's signature or the script
/// encoding.
#[macro_export]
macro_rules! abi_version {
    () => {
        19
    };
}

/// Version of the compiler↔runtime contract (see [`abi_version!`]).
pub const ABI_VERSION: u32 = abi_version!();

/// Symbol of the runtime function that every
/// [`component::TrampolineKind::Builtin`] trampoline calls
/// ([`program::TrampolineCode::callee`]).
pub const BUILTIN_TRAMPOLINE_SYMBOL: &str = "smelt_builtin_trampoline";

/// Name of the data symbol holding the [`program::ProgramDesc`] in every
/// object smelt emits. It embeds [`ABI_VERSION`].
pub const PROGRAM_SYMBOL: &str = concat!("smelt_program_v", abi_version!());

/// Prefix of every runtime built-in's symbol name (see [`builtins`]).
pub const BUILTIN_PREFIX: &str = "smelt_rt_";

const _: () = assert!(
    core::mem::size_of::<usize>() == 8,
    "smelt targets are 64-bit"
);
