//! The host I/O the event loop waits for: file descriptors becoming
//! readable or writable, and timers.
//!
//! In: host operations that cannot finish at once (a WASI 0.3 `async`
//! host function such as `wasi:clocks/monotonic-clock#wait-for`, a read
//! of a host stream whose file descriptor has no data yet) register a
//! [`Wait`] with a continuation. Out: when no thread of any task can run
//! ([`super::task::Sched::tick`] finds none), the event loop calls
//! [`HostWaits::poll`], which blocks in `ppoll(2)` on every registered
//! descriptor until one is ready or the earliest deadline passes, then
//! runs the continuations of the waits that are ready; those set the
//! events (a subtask's resolution, a copy's completion) that make
//! waiting threads ready again. Now and then the event loop also runs the
//! waits that are over without blocking ([`HostWaits::poll_now`]).
//!
//! Invariants: the process never busy-waits and never starts an OS
//! thread; continuations run on the event loop's stack with no scheduler
//! borrow held, in the order their waits were registered.

use core::cell::RefCell;
use std::time::{Duration, Instant};

use super::trap::ComponentTrap;

/// What a host operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The monotonic clock reaching this instant.
    Until(Instant),
    /// The file descriptor having data to read (or being at its end).
    Readable(i32),
    /// The file descriptor accepting writes.
    Writable(i32),
    /// The file descriptor having one of `events` (`poll(2)` events), or
    /// the clock reaching `until`, whichever comes first.
    Io {
        /// The descriptor.
        fd: i32,
        /// `POLLIN`, `POLLOUT`, or both.
        events: i16,
        /// When to give up waiting for it.
        until: Option<Instant>,
    },
}

/// Runs once the wait is over; a trap it returns stops the event loop.
pub type Then = Box<dyn FnOnce() -> Result<(), ComponentTrap>>;

/// Whether a registered wait is still wanted (a cancelled copy's is not).
pub type Live = Box<dyn Fn() -> bool>;

struct Entry {
    wait: Wait,
    live: Live,
    then: Then,
}

/// The waits registered by host operations in progress.
#[derive(Default)]
pub struct HostWaits {
    entries: RefCell<Vec<Entry>>,
}

impl HostWaits {
    /// Registers `then` to run once `wait` is over, as long as `live`
    /// holds.
    pub fn add(&self, wait: Wait, live: Live, then: Then) {
        self.entries.borrow_mut().push(Entry { wait, live, then });
    }

    /// Whether no host operation is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Forgets every wait (after a trap).
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }

    /// Blocks until at least one registered wait is over, then runs the
    /// continuations of all that are, in registration order. Returns
    /// `false` at once when nothing is registered (then nothing can make
    /// progress: the caller reports a deadlock).
    ///
    /// # Errors
    ///
    /// The first trap a continuation returns.
    pub fn poll(&self) -> Result<bool, ComponentTrap> {
        self.poll_with(true)
    }

    /// Runs the continuations of the registered waits that are over now,
    /// without blocking (so that host I/O makes progress while threads
    /// keep running). Returns whether any was.
    ///
    /// # Errors
    ///
    /// The first trap a continuation returns.
    pub fn poll_now(&self) -> Result<bool, ComponentTrap> {
        self.poll_with(false)
    }

    /// Blocks until a registered wait is over, `fd` is readable, or
    /// `deadline` passes, then runs the continuations of the waits that
    /// are over (an event loop of the caller's own, an `epoll` instance,
    /// waiting together with the host's). Returns whether `fd` is
    /// readable.
    ///
    /// # Errors
    ///
    /// The first trap a continuation returns.
    pub fn poll_also(&self, fd: i32, deadline: Instant) -> Result<bool, ComponentTrap> {
        self.entries.borrow_mut().retain(|e| (e.live)());
        let mut waits: Vec<Wait> = self.entries.borrow().iter().map(|e| e.wait).collect();
        let n = waits.len();
        waits.push(Wait::Readable(fd));
        waits.push(Wait::Until(deadline));
        let ready = ready(&waits, true);
        self.run_ready(&ready[..n])?;
        Ok(ready[n])
    }

    fn poll_with(&self, block: bool) -> Result<bool, ComponentTrap> {
        self.entries.borrow_mut().retain(|e| (e.live)());
        let waits: Vec<Wait> = self.entries.borrow().iter().map(|e| e.wait).collect();
        if waits.is_empty() {
            return Ok(false);
        }
        let ready = ready(&waits, block);
        self.run_ready(&ready)
    }

    /// Runs the continuations of the entries `ready` marks (the first
    /// `ready.len()` entries, in order); returns whether there was one.
    fn run_ready(&self, ready: &[bool]) -> Result<bool, ComponentTrap> {
        if !ready.iter().any(|&r| r) {
            return Ok(false);
        }
        let done: Vec<Entry> = {
            let mut entries = self.entries.borrow_mut();
            let mut done = Vec::new();
            let mut rest = Vec::new();
            for (i, e) in core::mem::take(&mut *entries).into_iter().enumerate() {
                if ready.get(i).copied().unwrap_or(false) {
                    done.push(e);
                } else {
                    rest.push(e);
                }
            }
            *entries = rest;
            done
        };
        for e in done {
            if (e.live)() {
                (e.then)()?;
            }
        }
        Ok(true)
    }
}

/// Blocks until `wait` is over (a host operation lowered synchronously).
pub fn block_on(wait: Wait) {
    while !wait_any(&[wait])[0] {}
}

/// Blocks in `ppoll(2)` until one of `waits` is over; returns which are.
fn wait_any(waits: &[Wait]) -> Vec<bool> {
    ready(waits, true)
}

/// Which of `waits` are over: asks `ppoll(2)`, blocking (when `block`)
/// until one is. A descriptor that reports an error or hang-up counts as
/// ready: the operation then finds out what happened.
fn ready(waits: &[Wait], block: bool) -> Vec<bool> {
    loop {
        let now = Instant::now();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut deadline: Option<Instant> = None;
        for w in waits {
            match *w {
                Wait::Until(t) => deadline = Some(deadline.map_or(t, |d| d.min(t))),
                Wait::Readable(fd) => fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                }),
                Wait::Writable(fd) => fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                }),
                Wait::Io { fd, events, until } => {
                    fds.push(libc::pollfd {
                        fd,
                        events,
                        revents: 0,
                    });
                    if let Some(t) = until {
                        deadline = Some(deadline.map_or(t, |d| d.min(t)));
                    }
                }
            }
        }
        let deadline = if block { deadline } else { Some(now) };
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(now);
            libc::timespec {
                tv_sec: left.as_secs().min(i32::MAX as u64) as _,
                tv_nsec: left.subsec_nanos() as _,
            }
        });
        // SAFETY: `fds` holds `fds.len()` pollfd structures; the timeout,
        // when given, is a valid timespec; no signal mask is changed.
        let n = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                timeout
                    .as_ref()
                    .map_or(core::ptr::null(), |t| t as *const libc::timespec),
                core::ptr::null(),
            )
        };
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            // An invalid descriptor or no memory: report every descriptor
            // ready, so that the operations fail with the OS's error.
            return waits.iter().map(|w| !matches!(w, Wait::Until(_))).collect();
        }
        let now = Instant::now();
        let mut fd = fds.iter();
        let ready: Vec<bool> = waits
            .iter()
            .map(|w| match w {
                Wait::Until(t) => now >= *t,
                Wait::Io { until, .. } => {
                    fd.next().is_some_and(|p| p.revents != 0) || until.is_some_and(|t| now >= t)
                }
                _ => fd.next().is_some_and(|p| p.revents != 0),
            })
            .collect();
        if !block || ready.iter().any(|&r| r) {
            return ready;
        }
    }
}

/// The instant `d` from now, saturating far in the future.
pub fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(u64::from(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn nothing_to_wait_for_is_no_progress() {
        assert!(!HostWaits::default().poll().unwrap());
    }

    #[test]
    fn the_earliest_timer_and_a_readable_pipe_end_the_wait() {
        let mut fds = [0; 2];
        // SAFETY: a valid array of two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let start = Instant::now();
        let waits = [
            Wait::Until(start + Duration::from_millis(30)),
            Wait::Readable(fds[0]),
            Wait::Until(start + Duration::from_secs(60)),
        ];
        // Nothing to read: the 30 ms timer ends the wait.
        assert_eq!(wait_any(&waits), [true, false, false]);
        assert!(start.elapsed() >= Duration::from_millis(30));
        // SAFETY: one byte from a valid buffer.
        assert_eq!(unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) }, 1);
        assert_eq!(wait_any(&waits[1..]), [true, false]);
        // SAFETY: descriptors made above.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn continuations_run_in_order_and_dead_waits_are_dropped() {
        let waits = HostWaits::default();
        let log = Rc::new(RefCell::new(Vec::new()));
        let now = Instant::now();
        for (i, live) in [(1, true), (2, false), (3, true)] {
            let log = log.clone();
            waits.add(
                Wait::Until(now),
                Box::new(move || live),
                Box::new(move || {
                    log.borrow_mut().push(i);
                    Ok(())
                }),
            );
        }
        assert!(waits.poll().unwrap());
        assert_eq!(*log.borrow(), [1, 3]);
        assert!(waits.is_empty());
    }
}
