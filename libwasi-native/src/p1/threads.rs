//! wasi-threads: `thread-spawn` for preview1 modules that import it.
//!
//! A wasi-threads program is one module whose memory is imported and
//! shared ([`smelt_abi::preview1::MemoryImport`]: the runtime makes it,
//! [`smelt_rt::threads::SharedMemory`]). `thread-spawn(start_arg)` starts
//! an OS thread ([`smelt_rt::threads::spawn`]) that instantiates the same
//! module with the same imports (so the same memory; its tables, globals
//! and `vmctx` are the new instance's own, as the proposal specifies),
//! then calls its export `wasi_thread_start(tid, start_arg)`. The new
//! thread gets a host state of its own ([`crate::install`]) that holds the
//! process's one [`Preview1Host`], whose state is behind locks.
//!
//! - **Thread ids** are unique among the threads alive, in
//!   `1..=`[`MAX_TID`] (wasi-libc keeps a thread id in a mutex word with
//!   flag bits above it), handed out in increasing order and wrapping
//!   around.
//! - **The cap**: at most `max_threads` threads run guest code at once,
//!   the main one included ([`smelt_abi::preview1::ThreadsDesc`]). A
//!   `thread-spawn` past it, or when the OS cannot start a thread, returns
//!   -1 (wasi-threads: a negative value is an error; wasi-libc's
//!   `pthread_create` reports it as `EAGAIN`).
//! - **The end**: a trap on any thread ends the process with status 134
//!   ([`smelt_rt::threads::exit_after_trap`]); `proc_exit` on any thread
//!   ends it with its status ([`exit`]), as does a return from `_start`
//!   (status 0), whatever the other threads are doing. A return from
//!   `wasi_thread_start` ends only its thread: its instance is freed and
//!   its id and slot under the cap are given back.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use smelt_abi::program::ModuleDesc;
use smelt_abi::vm::ValRaw;
use smelt_rt::instance::{CallError, Instance};
use smelt_rt::threads::{DEFAULT_STACK_SIZE, exit_after_trap};

use super::Preview1Host;

/// The largest thread id.
pub const MAX_TID: u32 = 0x1FFF_FFFF;

/// What `thread-spawn` returns when it cannot start a thread.
pub const SPAWN_FAILED: i32 = -1;

/// What every spawned thread instantiates and calls.
pub struct Threads {
    /// The module.
    module: &'static ModuleDesc,
    /// Its imports, one pointer per import, as the main instance got them
    /// (function references to trampolines, the shared memory): they live
    /// as long as the process and are never written.
    imports: Vec<usize>,
    /// The export index of `wasi_thread_start`.
    thread_start: u32,
    /// The most threads at once, the main one included.
    max_threads: u32,
    /// The ids of the spawned threads alive, and the last one handed out.
    ids: Mutex<Ids>,
    /// The process's preview1 host.
    host: Arc<Preview1Host>,
}

// SAFETY: the module descriptor is immutable data the compiler emitted
// (its pointers lead to more of it); the rest is `Sync`.
unsafe impl Sync for Threads {}
// SAFETY: as for `Sync`.
unsafe impl Send for Threads {}

/// The thread ids in use.
#[derive(Debug, Default)]
struct Ids {
    live: BTreeSet<u32>,
    last: u32,
}

impl Ids {
    /// A free id after the last one handed out (wrapping around), if the
    /// spawned threads are fewer than `spawned_max`.
    fn allocate(&mut self, spawned_max: usize) -> Option<u32> {
        if self.live.len() >= spawned_max.min(MAX_TID as usize) {
            return None;
        }
        let mut tid = self.last;
        loop {
            tid = if tid >= MAX_TID { 1 } else { tid + 1 };
            if self.live.insert(tid) {
                self.last = tid;
                return Some(tid);
            }
        }
    }

    fn release(&mut self, tid: u32) {
        self.live.remove(&tid);
    }
}

static THREADS: OnceLock<Threads> = OnceLock::new();

/// Makes `thread-spawn` start threads of `module` with `imports` (the
/// main instance's), calling export `thread_start`, at most
/// `max_threads` at once (the main one included).
///
/// # Safety
///
/// `imports` must be valid imports of `module` on every thread for the
/// life of the process (function references and a shared memory).
pub unsafe fn enable(
    module: &'static ModuleDesc,
    imports: &[*mut u8],
    thread_start: u32,
    max_threads: u32,
    host: Arc<Preview1Host>,
) {
    let _ = THREADS.set(Threads {
        module,
        imports: imports.iter().map(|p| *p as usize).collect(),
        thread_start,
        max_threads,
        ids: Mutex::new(Ids::default()),
        host,
    });
}

/// Whether `thread-spawn` is enabled in this process.
pub fn enabled() -> bool {
    THREADS.get().is_some()
}

/// Ends the process with `status` from any thread: flushes what the
/// runtime buffered and exits at once, without the exit handlers, which
/// other threads may be using (`_exit`).
pub fn exit(status: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; nothing after it runs.
    unsafe { libc::_exit(status) }
}

/// `thread-spawn(start_arg)`: the id of the new thread, or
/// [`SPAWN_FAILED`].
fn spawn(threads: &'static Threads, start_arg: u32) -> i32 {
    let spawned_max = threads.max_threads.saturating_sub(1) as usize;
    let lock = || threads.ids.lock().unwrap_or_else(|e| e.into_inner());
    let Some(tid) = lock().allocate(spawned_max) else {
        return SPAWN_FAILED;
    };
    let started = smelt_rt::threads::spawn(
        &format!("wasi-thread-{tid}"),
        DEFAULT_STACK_SIZE,
        move || run_thread(threads, tid, start_arg, || lock().release(tid)),
    );
    match started {
        Ok(_) => tid as i32,
        Err(_) => {
            lock().release(tid);
            SPAWN_FAILED
        }
    }
}

/// The body of spawned thread `tid`; `done` gives back its id and slot,
/// as soon as `wasi_thread_start` returns (a thread that joined this one
/// may spawn another at once).
fn run_thread(threads: &'static Threads, tid: u32, start_arg: u32, done: impl FnOnce()) {
    let mut host = crate::WasiHost::fresh();
    host.preview1 = Some(threads.host.clone());
    crate::install(host);
    let imports: Vec<*mut u8> = threads.imports.iter().map(|p| *p as *mut u8).collect();
    // SAFETY: the main instance's imports, valid on every thread
    // (`enable`).
    let instance = match unsafe { Instance::new(threads.module, &imports) } {
        Ok(i) => i,
        Err(trap) => exit_after_trap(&trap),
    };
    let args = [ValRaw::from(tid), ValRaw::from(start_arg)];
    // SAFETY: the compiler checked that `wasi_thread_start` takes two
    // `i32`s.
    match unsafe { instance.call(threads.thread_start, &args) } {
        Ok(_) => {}
        Err(CallError::Trap(trap)) => exit_after_trap(&trap),
        Err(e) => {
            eprintln!("smelt: cannot call `wasi_thread_start`: {e:?}");
            exit(smelt_rt::entry::EXIT_SOFTWARE);
        }
    }
    done();
    // SAFETY: the instance ran only on this thread and is done: its
    // tables and `vmctx` are reached from nowhere else (other threads
    // reach only the shared memory, which it imports).
    unsafe { instance.free() };
}

/// The runtime's `wasi` `thread-spawn`, which the trampoline of that
/// import calls: one `i32` argument (the start argument), one `i32`
/// result.
///
/// # Safety
///
/// `args` must hold one value and `results` room for one.
#[unsafe(export_name = "smelt_wasi__thread_spawn")]
unsafe extern "C" fn shim_thread_spawn(
    _ctx: *mut u8,
    args: *mut ValRaw,
    results: *mut ValRaw,
) -> u32 {
    let Some(threads) = THREADS.get() else {
        smelt_rt::traps::set_pending(
            "wasi::thread-spawn: smelt bug: threads are not enabled".to_string(),
        );
        return 1;
    };
    // SAFETY: guaranteed by the caller.
    let start_arg = unsafe { *args } as u32;
    let tid = spawn(threads, start_arg);
    // SAFETY: guaranteed by the caller.
    unsafe { *results = ValRaw::from(tid as u32) };
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_capped_and_reused_after_wrapping() {
        let mut ids = Ids::default();
        assert_eq!(ids.allocate(3), Some(1));
        assert_eq!(ids.allocate(3), Some(2));
        assert_eq!(ids.allocate(3), Some(3));
        assert_eq!(ids.allocate(3), None, "the cap");
        ids.release(2);
        assert_eq!(ids.allocate(3), Some(4), "ids keep increasing");
        assert_eq!(ids.allocate(0), None);
        let mut ids = Ids {
            live: [1, 3].into_iter().collect(),
            last: MAX_TID - 1,
        };
        assert_eq!(ids.allocate(10), Some(MAX_TID));
        assert_eq!(ids.allocate(10), Some(2), "wraps around, skipping live ids");
        assert_eq!(ids.allocate(10), Some(4));
    }
}
