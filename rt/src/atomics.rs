//! `memory.atomic.wait32`/`wait64` and `memory.atomic.notify` (threads
//! proposal): a parking lot keyed by native address.
//!
//! A location is its native address: a memory never moves, and every
//! instance that imports a shared memory reaches the same bytes at the same
//! address, so two threads waiting on "the same address" of a shared
//! memory agree on it whichever instance they run.
//!
//! Waiters queue, first come first woken, in one of [`BUCKETS`] lists
//! chosen by a hash of the address, each behind its own lock. A wait takes
//! its bucket's lock, loads the value (sequentially consistent) and, if it
//! equals the expected one, queues itself before releasing the lock; a
//! notify takes the same lock to dequeue. So a notify that follows a store
//! cannot miss a waiter that saw the old value, and a waiter that saw the
//! new value does not sleep. Each waiter then sleeps on a futex word of its
//! own (`FUTEX_WAIT_BITSET` with an absolute `CLOCK_MONOTONIC` deadline, so
//! interruptions and spurious returns simply sleep again until the same
//! deadline). It returns "ok" (0) only when a notify dequeued it: no
//! spurious wake-ups, as the proposal requires. On time-out it dequeues
//! itself under the lock; if a notify got there first, the wait counts as
//! woken.
//!
//! The built-ins of [`smelt_abi::builtins`] ([`crate::builtins`]) are thin
//! wrappers around [`wait32`], [`wait64`] and [`notify`]; compiled code has
//! already checked bounds, alignment and that the memory is shared.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What a wait returned (the instruction's result).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify.
    Ok = 0,
    /// The value was not the expected one.
    NotEqual = 1,
    /// The timeout passed first.
    TimedOut = 2,
}

/// Number of waiter lists.
const BUCKETS: usize = 64;

/// One waiting thread, on its own stack while it waits.
struct Waiter {
    /// The native address it waits on.
    addr: usize,
    /// 0 while queued; 1 once a notify dequeued it. The futex word.
    woken: AtomicU32,
}

/// A queued waiter.
#[derive(Clone, Copy)]
struct WaiterPtr(*const Waiter);

// SAFETY: a waiter stays alive while it is queued (it dequeues itself
// before returning, or waits for the notify that dequeued it to release the
// bucket lock), and it is only touched under its bucket's lock.
unsafe impl Send for WaiterPtr {}

struct Bucket {
    queue: Mutex<Vec<WaiterPtr>>,
}

static TABLE: [Bucket; BUCKETS] = [const {
    Bucket {
        queue: Mutex::new(Vec::new()),
    }
}; BUCKETS];

/// The bucket of `addr`, locked. (The runtime aborts on panic, so a
/// poisoned lock cannot be observed; its contents are still consistent.)
fn lock(addr: usize) -> MutexGuard<'static, Vec<WaiterPtr>> {
    // Fibonacci hashing of the 4-byte-aligned address.
    let h = ((addr >> 2) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58;
    TABLE[h as usize % BUCKETS]
        .queue
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The `CLOCK_MONOTONIC` time `timeout_ns` from now; `None` for a negative
/// timeout (never) or one past the clock's range.
fn deadline(timeout_ns: i64) -> Option<libc::timespec> {
    if timeout_ns < 0 {
        return None;
    }
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the struct it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let total = now.tv_nsec.checked_add(timeout_ns % 1_000_000_000)?;
    let secs = now
        .tv_sec
        .checked_add(timeout_ns / 1_000_000_000)?
        .checked_add(total / 1_000_000_000)?;
    Some(libc::timespec {
        tv_sec: secs as _,
        tv_nsec: (total % 1_000_000_000) as _,
    })
}

/// Sleeps while `*word == 0`, until `deadline`; returns false when the
/// deadline has passed.
fn futex_wait(word: &AtomicU32, deadline: Option<&libc::timespec>) -> bool {
    let timeout = deadline.map_or(core::ptr::null(), |d| d as *const libc::timespec);
    // SAFETY: FUTEX_WAIT_BITSET on a live, aligned word of ours, with an
    // absolute CLOCK_MONOTONIC timeout or none.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            0u32,
            timeout,
            core::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    };
    !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

/// Wakes one thread sleeping on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1u32,
        )
    };
}

/// Waits at `addr` while `matches()` (called with the bucket locked) holds,
/// for at most `timeout_ns` nanoseconds (negative: no limit).
fn wait(addr: usize, matches: impl FnOnce() -> bool, timeout_ns: i64) -> WaitResult {
    let deadline = deadline(timeout_ns);
    let waiter = Waiter {
        addr,
        woken: AtomicU32::new(0),
    };
    {
        let mut queue = lock(addr);
        if !matches() {
            return WaitResult::NotEqual;
        }
        if timeout_ns == 0 {
            return WaitResult::TimedOut;
        }
        queue.push(WaiterPtr(&waiter));
    }
    loop {
        if waiter.woken.load(Ordering::Acquire) != 0 {
            // The notify that set the flag may still be waking the futex:
            // let it release the lock before the waiter goes away.
            drop(lock(addr));
            return WaitResult::Ok;
        }
        if !futex_wait(&waiter.woken, deadline.as_ref()) {
            let mut queue = lock(addr);
            return match queue.iter().position(|w| core::ptr::eq(w.0, &waiter)) {
                Some(i) => {
                    queue.remove(i);
                    WaitResult::TimedOut
                }
                // Dequeued by a notify just before the deadline.
                None => WaitResult::Ok,
            };
        }
    }
}

/// `memory.atomic.wait32` at `addr`.
///
/// # Safety
///
/// `addr` must be a 4-byte-aligned address of a live shared memory.
pub unsafe fn wait32(addr: *mut u32, expected: u32, timeout_ns: i64) -> WaitResult {
    // SAFETY: guaranteed by the caller; guest memory is only ever accessed
    // atomically or by compiled code.
    let cell = unsafe { AtomicU32::from_ptr(addr) };
    wait(
        addr as usize,
        || cell.load(Ordering::SeqCst) == expected,
        timeout_ns,
    )
}

/// `memory.atomic.wait64` at `addr`.
///
/// # Safety
///
/// `addr` must be an 8-byte-aligned address of a live shared memory.
pub unsafe fn wait64(addr: *mut u64, expected: u64, timeout_ns: i64) -> WaitResult {
    // SAFETY: as in `wait32`.
    let cell = unsafe { AtomicU64::from_ptr(addr) };
    wait(
        addr as usize,
        || cell.load(Ordering::SeqCst) == expected,
        timeout_ns,
    )
}

/// `memory.atomic.notify` at `addr`: wakes up to `count` waiters there, the
/// longest waiting first; returns how many it woke.
pub fn notify(addr: usize, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    let mut queue = lock(addr);
    let mut woken = 0;
    queue.retain(|w| {
        // SAFETY: queued waiters are alive (see `WaiterPtr`).
        let w = unsafe { &*w.0 };
        if woken == count || w.addr != addr {
            return true;
        }
        w.woken.store(1, Ordering::Release);
        futex_wake(&w.woken);
        woken += 1;
        false
    });
    woken
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

    #[test]
    fn not_equal_and_zero_timeout_return_at_once() {
        let mut word = 5u32;
        // SAFETY: the word is a live, aligned local.
        unsafe {
            assert_eq!(wait32(&mut word, 4, -1), WaitResult::NotEqual);
            assert_eq!(wait32(&mut word, 5, 0), WaitResult::TimedOut);
        }
        let mut wide = u64::MAX;
        // SAFETY: as above.
        unsafe {
            assert_eq!(wait64(&mut wide, u64::MAX >> 1, -1), WaitResult::NotEqual);
            assert_eq!(wait64(&mut wide, u64::MAX, 0), WaitResult::TimedOut);
        }
        assert_eq!(notify(&word as *const u32 as usize, 10), 0);
    }

    #[test]
    fn a_timeout_expires_no_earlier_than_asked() {
        let mut word = 0u32;
        let start = Instant::now();
        assert_eq!(
            // SAFETY: the word is a live, aligned local.
            unsafe { wait32(&mut word, 0, 20_000_000) },
            WaitResult::TimedOut
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    /// Threads that announce themselves, then wait; notify wakes exactly
    /// as many as asked. A waiter may announce itself before it is queued,
    /// so notify repeats until it has woken the count it wants.
    #[test]
    fn notify_wakes_at_most_count_waiters() {
        let word = Arc::new(AtomicU32::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (word, started) = (word.clone(), started.clone());
                std::thread::spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    // SAFETY: the word is live for the whole wait (the Arc holds it) and aligned.
                    unsafe { wait32(word.as_ptr(), 0, -1) }
                })
            })
            .collect();
        let addr = word.as_ptr() as usize;
        while started.load(Ordering::SeqCst) < 4 {
            std::thread::yield_now();
        }
        let mut woken = 0;
        while woken < 3 {
            woken += notify(addr, 3 - woken);
            std::thread::yield_now();
        }
        assert_eq!(woken, 3);
        // The fourth is still waiting (or about to): wake it too.
        let mut rest = 0;
        while rest < 1 {
            rest += notify(addr, u32::MAX);
            std::thread::yield_now();
        }
        for t in threads {
            assert_eq!(t.join().unwrap(), WaitResult::Ok);
        }
        assert_eq!(notify(addr, u32::MAX), 0);
    }

    #[test]
    fn a_notify_at_another_address_wakes_nobody() {
        let words = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
        let w = words.clone();
        // SAFETY: the word is live for the whole wait (the Arc holds it) and aligned.
        let t = std::thread::spawn(move || unsafe { wait32(w[0].as_ptr(), 0, 50_000_000) });
        assert_eq!(notify(words[1].as_ptr() as usize, u32::MAX), 0);
        assert_eq!(t.join().unwrap(), WaitResult::TimedOut);
    }
}
