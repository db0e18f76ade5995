//! Resource limits: total linear memory and table elements, and a time
//! limit that interrupts a runaway guest.
//!
//! In: the [`Limits`] chosen at build time (in the program's
//! [`smelt_abi::wasi::WasiConfig`]) with the executable's environment's
//! overrides ([`Limits::ENV`]), installed once by [`install`] when the
//! process starts. Out: answers to "may this memory or table have that
//! many more bytes or elements?" ([`charge_memory`], [`charge_table`]) and
//! the interrupt flag of each thread's store context, set when the guest's
//! time is up.
//!
//! **Memory and tables.** What the instances of one store have (their
//! linear memories and tables, and the GC heap's spaces) is counted
//! per thread (a store is per thread: a command's whole program, one HTTP
//! server worker's instances): every creation and growth is charged before
//! it happens and refused past the limit (`memory.grow` and `table.grow`
//! then return -1, an instantiation traps), and freeing an instance gives
//! its memories and tables back.
//!
//! **Time.** A timer thread, started with the first deadline, sets
//! [`smelt_abi::vm::VMStoreContext::interrupt`] of every store whose
//! deadline passed, and its `stack_limit` to
//! [`smelt_abi::vm::STACK_LIMIT_INTERRUPTED`]; compiled code checks the flag
//! in loop headers and the entries of functions that make no call, and
//! the stack limit in the prologue of every function that makes calls, and
//! traps with `interrupt` (the trap handler reports a stack check that
//! failed in an interrupted store as the interruption). The deadline is the
//! process's start plus the limit for a command (its whole run), and the
//! start of each outermost call into the guest plus the limit for an HTTP
//! server (one request's handling, or for a WASI 0.3 server one run of
//! guest code between two waits). Guest code waiting in a host call is
//! stopped when the call returns.

use core::cell::Cell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use smelt_abi::program::{ProgramDesc, ProgramKind};
use smelt_abi::vm::{STACK_LIMIT_INTERRUPTED, VMStoreContext};
use smelt_abi::wasi::{Limits, WasiConfig};

/// The limits in force (`u64::MAX`: none).
static MAX_MEMORY: AtomicU64 = AtomicU64::new(u64::MAX);
static MAX_TABLE_ELEMENTS: AtomicU64 = AtomicU64::new(u64::MAX);
/// The time limit in milliseconds; 0: none.
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);
/// A command's deadline (the process's start plus the time limit); unset
/// for a server, whose deadlines start with each call into the guest.
static PROCESS_DEADLINE: OnceLock<Instant> = OnceLock::new();

thread_local! {
    /// Bytes of linear memory and table elements this thread's store has.
    static USED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// The limits of `program`: those its configuration was built with, with
/// the overrides of the process's environment.
///
/// # Errors
///
/// A malformed configuration, or an override that does not parse: the
/// message names it.
pub fn of_program(program: &ProgramDesc) -> Result<Limits, String> {
    // SAFETY: the compiler emits the configuration with this length.
    let bytes = unsafe { crate::entry::slice(program.wasi, program.wasi_len) };
    let built = if bytes.is_empty() {
        Limits::default()
    } else {
        smelt_abi::codec::from_bytes::<WasiConfig>(bytes)
            .map_err(|e| format!("malformed configuration in the executable: {e:?}"))?
            .limits
    };
    built
        .with_overrides(|name| std::env::var(name).ok())
        .map_err(|e| e.to_string())
}

/// Puts `limits` in force for the process running `program`; called once,
/// when the process starts, before any guest code runs.
pub fn install(limits: Limits, program: &ProgramDesc) {
    MAX_MEMORY.store(limits.max_memory.unwrap_or(u64::MAX), Ordering::Relaxed);
    MAX_TABLE_ELEMENTS.store(
        limits.max_table_elements.unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    if let Some(ms) = limits.timeout_ms {
        TIMEOUT_MS.store(ms, Ordering::Relaxed);
        if program.kind != ProgramKind::HttpServer as u32
            && program.kind != ProgramKind::Library as u32
        {
            let _ = PROCESS_DEADLINE.set(Instant::now() + Duration::from_millis(ms));
        }
    }
}

/// Why a memory or table may not grow: the message of the trap of an
/// instantiation that needed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit(pub String);

/// Charges `bytes` more of linear memory to this thread's store.
///
/// # Errors
///
/// Past the limit; nothing is charged then.
pub fn charge_memory(bytes: u64) -> Result<(), OverLimit> {
    let max = MAX_MEMORY.load(Ordering::Relaxed);
    USED.with(|u| {
        let (memory, tables) = u.get();
        match memory.checked_add(bytes).filter(|&n| n <= max) {
            Some(n) => {
                u.set((n, tables));
                Ok(())
            }
            None => Err(OverLimit(format!(
                "{bytes} more bytes of memory would take the program past its limit of \
                 {max} bytes (smelt build --max-memory, SMELT_MAX_MEMORY); it has {memory}"
            ))),
        }
    })
}

/// Gives back `bytes` of linear memory charged by [`charge_memory`].
pub fn refund_memory(bytes: u64) {
    USED.with(|u| {
        let (memory, tables) = u.get();
        u.set((memory.saturating_sub(bytes), tables));
    });
}

/// Charges `elements` more table elements to this thread's store.
///
/// # Errors
///
/// Past the limit; nothing is charged then.
pub fn charge_table(elements: u64) -> Result<(), OverLimit> {
    let max = MAX_TABLE_ELEMENTS.load(Ordering::Relaxed);
    USED.with(|u| {
        let (memory, tables) = u.get();
        match tables.checked_add(elements).filter(|&n| n <= max) {
            Some(n) => {
                u.set((memory, n));
                Ok(())
            }
            None => Err(OverLimit(format!(
                "{elements} more table elements would take the program past its limit of {max} \
                 (smelt build --max-table-elements, SMELT_MAX_TABLE_ELEMENTS); it has {tables}"
            ))),
        }
    })
}

/// Gives back `elements` charged by [`charge_table`].
pub fn refund_table(elements: u64) {
    USED.with(|u| {
        let (memory, tables) = u.get();
        u.set((memory, tables.saturating_sub(elements)));
    });
}

/// Bytes of linear memory and table elements this thread's store has.
pub fn used() -> (u64, u64) {
    USED.with(Cell::get)
}

/// A store watched by the timer.
struct Watch {
    id: u64,
    /// The address of the store context.
    store: usize,
    deadline: Instant,
}

struct Timer {
    watches: Mutex<Vec<Watch>>,
    changed: Condvar,
}

static TIMER: OnceLock<&'static Timer> = OnceLock::new();
static NEXT_WATCH: AtomicU64 = AtomicU64::new(1);

/// The `interrupt` word and the stack limit of the store context at
/// `store`, as atomics: the timer writes them while the store's thread
/// runs.
///
/// # Safety
///
/// `store` must point to a live store context.
unsafe fn words<'a>(store: usize) -> (&'a AtomicUsize, &'a AtomicUsize) {
    let store = store as *mut VMStoreContext;
    // SAFETY: the caller's contract; both are aligned `usize`s.
    unsafe {
        (
            AtomicUsize::from_ptr(&raw mut (*store).interrupt),
            AtomicUsize::from_ptr(&raw mut (*store).stack_limit),
        )
    }
}

/// Interrupts the store context at `store`: sets its `interrupt` word,
/// then its stack limit to `STACK_LIMIT_INTERRUPTED` (in that order: see
/// [`set_stack_limit`]).
fn raise(store: usize) {
    // SAFETY: `store` is a live store context: a watch is removed (under
    // the timer's lock) before its thread leaves the call that registered
    // it.
    let (interrupt, limit) = unsafe { words(store) };
    interrupt.store(1, Ordering::SeqCst);
    limit.store(STACK_LIMIT_INTERRUPTED, Ordering::SeqCst);
}

/// Sets the stack limit of this thread's store context `store` to `limit`
/// (a coroutine's, or the one saved when it suspended) and returns the one
/// it replaces, unless the store is interrupted, whose limit stays
/// `STACK_LIMIT_INTERRUPTED`. Whichever of this and [`raise`] comes last,
/// the limit ends up right: `raise` sets the word before the limit, and
/// this reads the word after setting the limit.
///
/// # Safety
///
/// `store` must be this thread's live store context.
pub unsafe fn replace_stack_limit(store: *mut VMStoreContext, limit: usize) -> usize {
    // SAFETY: the caller's contract.
    let (interrupt, stack_limit) = unsafe { words(store as usize) };
    let old = stack_limit.swap(limit, Ordering::SeqCst);
    if interrupt.load(Ordering::SeqCst) != 0 {
        stack_limit.store(STACK_LIMIT_INTERRUPTED, Ordering::SeqCst);
    }
    old
}

/// Whether the store context `store` is interrupted: a stack check that
/// fails in it is the interruption, not an overflow.
///
/// # Safety
///
/// `store` must point to a live store context.
pub unsafe fn interrupted(store: *mut VMStoreContext) -> bool {
    // SAFETY: the caller's contract.
    unsafe { words(store as usize) }.0.load(Ordering::SeqCst) != 0
}

/// The timer, started on first use: a thread that sleeps until the
/// earliest deadline and raises the interrupt of every store whose
/// deadline passed.
fn timer() -> &'static Timer {
    TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            watches: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("smelt-timer".into())
            .stack_size(64 << 10)
            .spawn(move || {
                let mut watches = timer.watches.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let now = Instant::now();
                    watches.retain(|w| {
                        if w.deadline <= now {
                            raise(w.store);
                            false
                        } else {
                            true
                        }
                    });
                    watches = match watches.iter().map(|w| w.deadline).min() {
                        None => timer
                            .changed
                            .wait(watches)
                            .unwrap_or_else(|e| e.into_inner()),
                        Some(d) => {
                            timer
                                .changed
                                .wait_timeout(watches, d - now)
                                .unwrap_or_else(|e| e.into_inner())
                                .0
                        }
                    };
                }
            });
        if let Err(e) = spawned {
            eprintln!("smelt: cannot start the timer of --timeout: {e}");
            std::process::exit(crate::entry::EXIT_SOFTWARE);
        }
        timer
    })
}

/// The deadline of an outermost call into the guest on this thread,
/// registered with the timer while it lives.
pub struct Deadline(u64);

impl Drop for Deadline {
    fn drop(&mut self) {
        let timer = timer();
        let mut watches = timer.watches.lock().unwrap_or_else(|e| e.into_inner());
        watches.retain(|w| w.id != self.0);
    }
}

/// Called when an outermost call into the guest starts on this thread,
/// whose store context is `store`: clears its interrupt and, under a time
/// limit, watches it until the returned value is dropped (when the call
/// ends). Without a time limit: nothing, at the cost of one load.
///
/// # Safety
///
/// `store` must be the calling thread's live store context, and stay live
/// until the returned value is dropped.
#[inline]
pub unsafe fn enter(store: *mut VMStoreContext) -> Option<Deadline> {
    let ms = TIMEOUT_MS.load(Ordering::Relaxed);
    if ms == 0 {
        return None;
    }
    // SAFETY: the caller's contract.
    unsafe { watch(store, ms) }
}

/// [`enter`] under a time limit of `ms` milliseconds.
///
/// # Safety
///
/// As [`enter`].
#[cold]
unsafe fn watch(store: *mut VMStoreContext, ms: u64) -> Option<Deadline> {
    let store = store as usize;
    // SAFETY: `store` is this thread's live store context; its stack limit
    // was just set by the call's entry.
    unsafe { words(store) }.0.store(0, Ordering::SeqCst);
    let deadline = match PROCESS_DEADLINE.get() {
        Some(&d) => d,
        None => Instant::now() + Duration::from_millis(ms),
    };
    if deadline <= Instant::now() {
        raise(store);
        return None;
    }
    let id = NEXT_WATCH.fetch_add(1, Ordering::Relaxed);
    let timer = timer();
    timer
        .watches
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Watch {
            id,
            store,
            deadline,
        });
    timer.changed.notify_one();
    Some(Deadline(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_refused_past_the_limit_and_refunds_make_room() {
        // Each test runs on its own thread, so its store starts empty.
        MAX_MEMORY.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(charge_memory(1 << 40), Ok(()));
        refund_memory(1 << 40);
        assert_eq!(used().0, 0);
        refund_memory(5);
        assert_eq!(used().0, 0, "refunds never go below zero");
    }
}
