//! Guest threads: OS threads, besides the main one, that run guest code.
//!
//! What wasi-threads (`thread-spawn`) and the `thread` command of `.wast`
//! scripts need from the runtime, and nothing of WASI:
//!
//! - [`spawn`] starts an OS thread ready for guest code: its own alternate
//!   signal stack (the trap handler runs there), its own store context
//!   with a stack limit set from the thread's own stack
//!   ([`crate::traps::store_context`]), so that guest stack overflow on
//!   any thread is the trap "call stack exhausted". Instances created on
//!   the thread belong to it; the memories they import, when shared, are
//!   the only guest state several threads reach.
//! - [`exit_after_trap`] ends the whole process after a trap on any
//!   thread, as a trap on the main thread does: output flushed, the trap
//!   and its backtrace printed once (the first thread to trap wins), exit
//!   status 134.
//! - [`SharedMemory`] is a shared memory the host makes for modules that
//!   import one (a wasi-threads module imports `env.memory`): every
//!   thread's instance gets the same definition as that import.

use std::io::Write;
use std::sync::Mutex;

use smelt_abi::vm::VMMemoryDefinition;

use crate::entry::{EXIT_TRAP, report_trap};
use crate::memory::{self, MemoryError};
use crate::traps::{ALT_STACK_SIZE, HOST_STACK_RESERVE, Trap, set_thread_stack_size};

/// Stack size of a guest thread unless asked otherwise: as large as the
/// main thread's usual `RLIMIT_STACK`, 8 MiB.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;

/// Smallest stack [`spawn`] gives a thread: room for some guest frames
/// beyond what runtime and host code keep below and above them.
pub const MIN_STACK_SIZE: usize = 4 * HOST_STACK_RESERVE;

/// The calling thread's alternate signal stack, removed and unmapped when
/// the thread ends.
struct AltStack {
    map: *mut libc::c_void,
    len: usize,
}

impl AltStack {
    /// Maps an alternate signal stack with a guard page below it and makes
    /// it the calling thread's.
    fn install() -> std::io::Result<AltStack> {
        let page = crate::memory::host_page_size() as usize;
        let len = ALT_STACK_SIZE + page;
        // SAFETY: a fresh anonymous mapping.
        let map = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let alt = AltStack { map, len };
        // SAFETY: the guard page and the stack lie inside the mapping.
        let rc = unsafe {
            libc::mprotect(map, page, libc::PROT_NONE);
            let stack = libc::stack_t {
                ss_sp: map.cast::<u8>().add(page).cast(),
                ss_flags: 0,
                ss_size: ALT_STACK_SIZE,
            };
            libc::sigaltstack(&stack, core::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(alt)
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: the thread is not on its signal stack here (no handler
        // runs), so disabling and unmapping it is safe.
        unsafe {
            let disable = libc::stack_t {
                ss_sp: core::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&disable, core::ptr::null_mut());
            libc::munmap(self.map, self.len);
        }
    }
}

/// Starts an OS thread named `name` with a stack of `stack_size` bytes (at
/// least [`MIN_STACK_SIZE`]) that runs `f`, which may run guest code
/// through [`crate::traps::catch`] (trap handling must be initialized,
/// [`crate::traps::init`]). Guest code there may use the thread's stack
/// but for [`HOST_STACK_RESERVE`] bytes below and above it.
///
/// # Errors
///
/// The operating system's, when it cannot create the thread or its
/// signal stack (`f` does not run then).
pub fn spawn<F, T>(name: &str, stack_size: usize, f: F) -> std::io::Result<ThreadHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let stack_size = stack_size.max(MIN_STACK_SIZE);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(stack_size)
        .spawn(move || {
            let alt = match AltStack::install() {
                Ok(alt) => alt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return None;
                }
            };
            let _ = ready_tx.send(Ok(()));
            set_thread_stack_size(stack_size);
            let result = f();
            drop(alt);
            Some(result)
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(ThreadHandle { handle }),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(std::io::Error::other("the thread ended before it started")),
    }
}

/// A thread started by [`spawn`].
pub struct ThreadHandle<T> {
    handle: std::thread::JoinHandle<Option<T>>,
}

impl<T> ThreadHandle<T> {
    /// Waits for the thread to end; returns what its function returned.
    pub fn join(self) -> T {
        match self.handle.join() {
            Ok(Some(value)) => value,
            // The runtime aborts on panic, and a thread whose signal stack
            // failed was never handed out.
            Ok(None) | Err(_) => unreachable!("a started guest thread returns"),
        }
    }
}

/// Ends the process after `trap` on the calling thread, whichever it is:
/// flushes stdout, prints the trap and its backtrace on stderr and exits
/// with status 134 ([`EXIT_TRAP`]) without running exit handlers, which
/// other threads may still be using. If several threads trap at once, the
/// first one's trap is printed and the others wait for the end.
pub fn exit_after_trap(trap: &Trap) -> ! {
    static REPORTING: Mutex<()> = Mutex::new(());
    let _only = REPORTING.lock().unwrap_or_else(|e| e.into_inner());
    let status = report_trap(trap);
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; nothing after it runs.
    unsafe { libc::_exit(status) }
}

const _: () = assert!(EXIT_TRAP == 134);

/// A shared memory made by the host, to be imported by the instances of
/// every thread. Like every memory it never moves; it is never unmapped
/// nor freed, so the import pointer stays valid on every thread for as
/// long as the process runs.
#[derive(Debug, Clone, Copy)]
pub struct SharedMemory {
    def: &'static VMMemoryDefinition,
}

// SAFETY: a shared memory is made for concurrent use: its length changes
// only under the grow lock, with atomic accesses (`crate::memory`), and
// guest accesses are guest code's business (atomics or data races, as
// the threads proposal specifies).
unsafe impl Send for SharedMemory {}
// SAFETY: as for `Send`.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    /// Makes a shared memory of `min_pages` pages, growable to
    /// `max_pages` (a shared memory always has a maximum), 64-bit indexed
    /// when `memory64`.
    ///
    /// # Errors
    ///
    /// [`MemoryError::TooLarge`] when `min_pages` passes the maximum or the
    /// index space, [`MemoryError::MapFailed`] when the address space
    /// cannot be reserved.
    pub fn new(
        min_pages: u64,
        max_pages: u64,
        memory64: bool,
    ) -> Result<SharedMemory, MemoryError> {
        let def = Box::leak(Box::new(
            core::mem::MaybeUninit::<VMMemoryDefinition>::uninit(),
        ));
        // SAFETY: `def` is writable; `create_shared` initializes it on
        // success (on failure it stays leaked, uninitialized and unused).
        unsafe {
            memory::create_shared(def.as_mut_ptr(), min_pages, Some(max_pages), 0, memory64)?
        };
        Ok(SharedMemory {
            // SAFETY: initialized just above.
            def: unsafe { def.assume_init_ref() },
        })
    }

    /// The memory's definition: what an instance importing it receives.
    pub fn definition(&self) -> *mut VMMemoryDefinition {
        core::ptr::from_ref(self.def).cast_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_abi::trap::TrapCode;

    #[test]
    fn each_thread_has_its_own_store_context_and_stack_limit() {
        crate::traps::init();
        let main = crate::traps::store_context() as usize;
        let t = spawn("guest", 2 << 20, || {
            let store = crate::traps::store_context();
            let marker = 0u8;
            let sp = &marker as *const u8 as usize;
            // SAFETY: nothing runs guest code; `catch` only sets the limit.
            unsafe { crate::traps::catch(|| {}) }.unwrap();
            // SAFETY: this thread's own context.
            let limit = unsafe { (*store).stack_limit };
            (store as usize, sp, limit)
        })
        .unwrap();
        let (store, sp, limit) = t.join();
        assert_ne!(store, main, "a thread has a store context of its own");
        assert!(limit < sp, "the limit is below the thread's stack pointer");
        let budget = sp - limit;
        assert!(
            budget > (2 << 20) - 3 * HOST_STACK_RESERVE && budget <= 2 << 20,
            "the limit comes from the thread's own 2 MiB stack: {budget}"
        );
    }

    #[test]
    fn threads_growing_one_shared_memory_get_distinct_pages() {
        let mem = SharedMemory::new(1, 41, false).unwrap();
        let growers: Vec<_> = (0..4)
            .map(|_| {
                spawn("grower", MIN_STACK_SIZE, move || {
                    (0..10)
                        // SAFETY: a live memory.
                        .map(|_| unsafe { memory::grow(mem.definition(), 1) }.unwrap())
                        .collect::<Vec<u64>>()
                })
                .unwrap()
            })
            .collect();
        let mut olds: Vec<u64> = growers.into_iter().flat_map(ThreadHandle::join).collect();
        olds.sort_unstable();
        assert_eq!(
            olds,
            (1..41).collect::<Vec<u64>>(),
            "each page handed out once"
        );
        // SAFETY: a live memory.
        unsafe {
            assert_eq!(memory::length(mem.definition()), 41 << 16);
            assert_eq!(memory::grow(mem.definition(), 1), None, "past the maximum");
            // The last page is accessible.
            (*mem.definition()).base.add((41 << 16) - 1).write(1);
        }
        assert!(matches!(
            SharedMemory::new(3, 2, false),
            Err(MemoryError::TooLarge)
        ));
    }

    /// The child half of the test below: a thread reports a trap and ends
    /// the process.
    #[test]
    fn trap_on_a_thread_child() {
        if std::env::var_os("SMELT_RT_TRAP_CHILD").is_none() {
            return;
        }
        let trap = Trap {
            code: TrapCode::UnreachableCodeReached,
            detail: None,
            frames: Vec::new(),
            total_frames: 0,
        };
        print!("printed before the trap");
        spawn("guest", DEFAULT_STACK_SIZE, move || exit_after_trap(&trap))
            .unwrap()
            .join();
    }

    #[test]
    fn a_trap_on_another_thread_ends_the_process_with_134() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "threads::tests::trap_on_a_thread_child"])
            .args(["--nocapture", "--test-threads=1"])
            .env("SMELT_RT_TRAP_CHILD", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(134), "stderr: {stderr}");
        assert!(
            stderr.contains("wasm trap: unreachable\nwasm backtrace:"),
            "stderr: {stderr}"
        );
        assert!(stdout.contains("printed before the trap"), "{stdout}");
    }
}
