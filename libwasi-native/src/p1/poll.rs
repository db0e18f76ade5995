//! Preview1's `poll_oneoff`: waiting for clocks and descriptors at once,
//! on the I/O core ([`crate::io::wait`], `poll(2)` over the descriptors
//! and the nearest deadline).

use std::os::fd::BorrowedFd;

use super::bindings::{
    Event, EventFdReadwrite, Preview1Poll, Subscription, SubscriptionClock, SubscriptionU, clockid,
    eventrwflags, eventtype, subclockflags,
};
use super::{Fault, Memory, P1Result, Preview1Host, errno};
use crate::clocks::{clock, monotonic_now, nanos};
use crate::fs::FileType;
use crate::fs::sys::fstat;
use crate::io::Interest;

/// The monotonic instant (ns) a clock subscription is due, or the errno of
/// one that cannot be waited for (a CPU-time clock, an unknown one).
fn deadline(c: &SubscriptionClock) -> Result<u64, u16> {
    let absolute = c.flags & subclockflags::SUBSCRIPTION_CLOCK_ABSTIME != 0;
    let now = monotonic_now();
    match c.id {
        clockid::MONOTONIC if absolute => Ok(c.timeout),
        clockid::MONOTONIC | clockid::REALTIME if !absolute => Ok(now.saturating_add(c.timeout)),
        clockid::REALTIME => {
            // The real-time clock's distance to the instant, from now on
            // the monotonic clock.
            let real = nanos(clock(libc::CLOCK_REALTIME));
            Ok(now.saturating_add(c.timeout.saturating_sub(real)))
        }
        _ => Err(errno::INVAL),
    }
}

/// What a subscription waits for, or the event it makes at once.
enum Wait {
    /// Waiting for this.
    For(Interest),
    /// Ready now, with this `nbytes`.
    Now(u64),
    /// Failed with this errno.
    Failed(u16),
}

impl Preview1Host {
    /// What subscription `s` waits for.
    fn wait_of(&self, s: &Subscription) -> Wait {
        let (fd, read) = match &s.u {
            SubscriptionU::Clock(c) => {
                return match deadline(c) {
                    Ok(t) => Wait::For(Interest::Deadline(t)),
                    Err(e) => Wait::Failed(e),
                };
            }
            SubscriptionU::FdRead(f) => (f.file_descriptor, true),
            SubscriptionU::FdWrite(f) => (f.file_descriptor, false),
        };
        let entry = match self.fd(fd) {
            Ok(e) => e,
            Err(Fault::Errno(e)) => return Wait::Failed(e),
            Err(Fault::Trap(_)) => return Wait::Failed(errno::BADF),
        };
        let raw = entry.raw();
        // SAFETY: a descriptor the entry keeps open.
        let st = match fstat(unsafe { BorrowedFd::borrow_raw(raw) }) {
            Ok(st) => st,
            Err(e) => return Wait::Failed(super::errno(e)),
        };
        if FileType::of_stat(&st) == FileType::RegularFile {
            // A regular file is always ready: reading has what is left of
            // it, writing no limit it can say.
            if !read {
                return Wait::Now(0);
            }
            // SAFETY: `lseek` only reads the position here.
            let at = unsafe { libc::lseek(raw, 0, libc::SEEK_CUR) };
            return Wait::Now((st.st_size as u64).saturating_sub(at.max(0) as u64));
        }
        Wait::For(if read {
            Interest::Readable(raw)
        } else {
            Interest::Writable(raw)
        })
    }
}

/// The `fd_readwrite` of a descriptor found ready: the bytes there are to
/// read (`FIONREAD`, where the descriptor has it) and whether the other
/// end hung up.
fn readiness(fd: i32, read: bool) -> EventFdReadwrite {
    let mut p = libc::pollfd {
        fd,
        events: if read { libc::POLLIN } else { libc::POLLOUT },
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) };
    let mut nbytes: libc::c_int = 0;
    // SAFETY: `FIONREAD` writes one int (or fails, leaving it 0).
    if read && unsafe { libc::ioctl(fd, libc::FIONREAD, &mut nbytes) } < 0 {
        nbytes = 0;
    }
    EventFdReadwrite {
        nbytes: nbytes.max(0) as u64,
        flags: if p.revents & libc::POLLHUP != 0 {
            eventrwflags::FD_READWRITE_HANGUP
        } else {
            0
        },
    }
}

impl Preview1Poll for Preview1Host {
    fn poll_oneoff(&self, mem: &Memory, in_: u32, out: u32, nsubscriptions: u32) -> P1Result<u32> {
        if nsubscriptions == 0 {
            return Err(Fault::Errno(errno::INVAL));
        }
        let overflow = || Fault::Trap("the subscription or event array overflows".into());
        let in_size = nsubscriptions
            .checked_mul(Subscription::SIZE)
            .ok_or_else(overflow)?;
        let out_size = nsubscriptions
            .checked_mul(Event::SIZE)
            .ok_or_else(overflow)?;
        mem.check(in_, in_size, Subscription::ALIGN)?;
        mem.check(out, out_size, Event::ALIGN)?;
        let subs = (0..nsubscriptions)
            .map(|i| Subscription::load(mem, in_ + i * Subscription::SIZE))
            .collect::<P1Result<Vec<_>>>()?;
        let waits: Vec<Wait> = subs.iter().map(|s| self.wait_of(s)).collect();
        let interests: Vec<Interest> = waits
            .iter()
            .map(|w| match w {
                Wait::For(i) => *i,
                Wait::Now(_) | Wait::Failed(_) => Interest::Ready,
            })
            .collect();
        let ready = crate::io::wait(&interests);
        for (k, &i) in ready.iter().enumerate() {
            let s = &subs[i as usize];
            let (type_, read) = match s.u {
                SubscriptionU::Clock(_) => (eventtype::CLOCK, false),
                SubscriptionU::FdRead(_) => (eventtype::FD_READ, true),
                SubscriptionU::FdWrite(_) => (eventtype::FD_WRITE, false),
            };
            let (error, fd_readwrite) = match (&waits[i as usize], interests[i as usize]) {
                (Wait::Failed(e), _) => (
                    *e,
                    EventFdReadwrite {
                        nbytes: 0,
                        flags: 0,
                    },
                ),
                (Wait::Now(n), _) => (
                    0,
                    EventFdReadwrite {
                        nbytes: *n,
                        flags: 0,
                    },
                ),
                (_, Interest::Readable(fd) | Interest::Writable(fd)) => (0, readiness(fd, read)),
                _ => (
                    0,
                    EventFdReadwrite {
                        nbytes: 0,
                        flags: 0,
                    },
                ),
            };
            Event {
                userdata: s.userdata,
                error,
                type_,
                fd_readwrite,
            }
            .store(mem, out + k as u32 * Event::SIZE)?;
        }
        Ok(ready.len() as u32)
    }
}
