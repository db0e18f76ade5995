//! WASI preview1 (`wasi_snapshot_preview1`): a native host for core
//! modules, a third face over the core ([`crate::fs`], [`crate::io`],
//! [`crate::cli`], [`crate::clocks`], [`crate::random`]), as WASI 0.2 and
//! 0.3 are.
//!
//! In: a core module whose imports the compiler bound, one by one, to the
//! shims generated from the preview1 witx ([`bindings`], `smelt-wit`'s
//! `preview1`), and the capabilities baked into the executable. Out: the
//! module run as a command by [`run`]: its `_start` called, its exit code
//! the one it passes to `proc_exit` (any value, 33 and 255 alike), 0 when
//! `_start` returns, 134 after a trap.
//!
//! Each function's shim decodes its core arguments (an enum or flags value
//! outside its type is `inval`, as the witx says), calls the method of
//! [`Preview1Host`] (by group: `fd.rs`, `path.rs`, `poll.rs`, `cli.rs`),
//! and stores the result through the caller's out pointers; a pointer out
//! of bounds or misaligned traps (witx-docs.md, "Pointers"). Every errno
//! is the witx's number for the `errno` the core returned ([`errno`]).
//!
//! # Threads
//!
//! The host state is built to be shared by the threads of a program
//! (wasi-threads): [`Preview1Host`] is `Sync`. Its descriptor table is a
//! `Mutex` held only to look a number up, insert or remove (never across
//! a system call); an entry is an `Arc<Entry>` the call keeps while it
//! works, so a `fd_close` on one thread while another reads the same
//! descriptor closes the file when the read is done, never under it. An
//! entry is immutable but for its rights (atomics), its non-blocking mode
//! (an atomic) and its directory cursor (its own `Mutex`); file positions
//! are the kernel's (each preview1 descriptor is its own open file
//! description), so `fd_read` on two threads behaves as `read(2)` does.
//! The guest memory is read through a pointer to its definition, whose
//! length is read at each call: a shared memory only grows.

pub mod cli;
pub mod errno;
pub mod fd;
pub mod memory;
pub mod path;
pub mod poll;
pub mod run;
pub mod table;
#[cfg(test)]
mod tests;
pub mod threads;

pub use errno::errno;
pub use memory::Memory;
pub use run::run;

use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, Ordering};

use smelt_abi::vm::{VMMemoryDefinition, ValRaw};

use table::FdTable;

/// The generated bindings: the witx types, one trait per group of
/// functions, and the shims.
#[allow(
    missing_docs,
    clippy::all,
    unused_imports,
    unused_variables,
    unused_parens,
    non_camel_case_types
)]
pub mod bindings {
    use super::memory::Int;
    use super::{Fault, Memory, call};
    use smelt_abi::vm::ValRaw;
    include!(concat!(env!("OUT_DIR"), "/bindings_p1.rs"));
}

/// Why a preview1 call does not succeed: an `errno` (the call returns it),
/// or a trap (a pointer out of bounds or misaligned, or a `proc_exit`
/// that cannot exit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A witx `errno` value ([`bindings::errno`]).
    Errno(u16),
    /// A trap with this message.
    Trap(String),
}

impl From<crate::fs::Errno> for Fault {
    fn from(e: crate::fs::Errno) -> Self {
        Fault::Errno(errno(e))
    }
}

impl From<std::io::Error> for Fault {
    fn from(e: std::io::Error) -> Self {
        crate::fs::Errno::of_io(&e).into()
    }
}

/// The result of a preview1 method.
pub type P1Result<T> = Result<T, Fault>;

/// The state of the preview1 host: the descriptor table, the arguments
/// and environment as bytes, and the guest's memory.
#[derive(Debug)]
pub struct Preview1Host {
    /// The descriptors, by number (see the module documentation).
    pub fds: Mutex<FdTable>,
    /// The program's arguments, byte for byte.
    pub args: Vec<Vec<u8>>,
    /// The environment: `NAME=VALUE` each, byte for byte.
    pub env: Vec<Vec<u8>>,
    /// The definition of the memory the module exports as `memory` (null
    /// before instantiation, or when it exports none).
    memory: AtomicPtr<VMMemoryDefinition>,
}

impl Preview1Host {
    /// The host of a program with `args` and `env` (`NAME=VALUE`) and the
    /// descriptors of `fds`.
    pub fn new(args: Vec<Vec<u8>>, env: Vec<Vec<u8>>, fds: FdTable) -> Self {
        Preview1Host {
            fds: Mutex::new(fds),
            args,
            env,
            memory: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Sets the guest's memory.
    pub fn set_memory(&self, memory: *mut VMMemoryDefinition) {
        self.memory.store(memory, Ordering::Release);
    }

    /// The guest's memory as it is now.
    pub fn memory(&self) -> Memory {
        let def = self.memory.load(Ordering::Acquire);
        if def.is_null() {
            return Memory::none();
        }
        // SAFETY: a memory definition lives as long as its instance, which
        // lives as long as the program (a shared one, for ever); its
        // length is read atomically, as another thread may be growing it.
        let (base, length) = unsafe { ((*def).base, smelt_rt::memory::length(def)) };
        // SAFETY: `base` has `length` accessible bytes.
        unsafe { Memory::new(base, length as usize) }
    }
}

/// What every shim does around its function: finds the preview1 host and
/// the guest memory, runs `f` on the `n` arguments at `args`, and writes
/// the errno to `results[0]` (0 on success), or records the trap and
/// returns 1 (the trampoline then traps).
///
/// # Safety
///
/// `args` must hold `n` values; `results` room for one, unless the
/// function has no result (`proc_exit`, whose `f` never succeeds).
pub unsafe fn call(
    name: &str,
    args: *mut ValRaw,
    n: usize,
    results: *mut ValRaw,
    f: impl FnOnce(&Preview1Host, &Memory, &[ValRaw]) -> P1Result<()>,
) -> u32 {
    // Borrowed, not cloned: the thread's host state keeps its `Arc` for
    // the whole run (only `run` and a thread's start set it, before the
    // guest runs), and a host call never re-enters.
    let host = crate::host();
    let Some(p1) = host.preview1.as_deref() else {
        smelt_rt::traps::set_pending(format!(
            "wasi_snapshot_preview1::{name}: smelt bug: the preview1 host is not running"
        ));
        return 1;
    };
    // SAFETY: guaranteed by the caller.
    let a = unsafe { core::slice::from_raw_parts(args, n) };
    let errno = match f(p1, &p1.memory(), a) {
        Ok(()) => 0,
        Err(Fault::Errno(e)) if name != "proc_exit" => e,
        Err(Fault::Errno(e)) => {
            smelt_rt::traps::set_pending(format!(
                "wasi_snapshot_preview1::proc_exit: cannot exit (errno {e})"
            ));
            return 1;
        }
        Err(Fault::Trap(m)) => {
            smelt_rt::traps::set_pending(format!("wasi_snapshot_preview1::{name}: {m}"));
            return 1;
        }
    };
    // SAFETY: a function with a result has room for it.
    unsafe { *results = ValRaw::from(u32::from(errno)) };
    0
}
