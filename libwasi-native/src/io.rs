//! The I/O core: reading and writing file descriptors, and waiting for
//! several things at once.
//!
//! Writes go straight to the descriptor (no buffering in the host), so
//! everything a guest wrote is out when the process ends, whatever way it
//! ends. [`wait`] blocks in `poll(2)` over the descriptors and the nearest
//! monotonic deadline of what it waits for. WASI 0.2's pollables and
//! streams (`p2/io.rs`) and preview1's `fd_read`/`fd_write`/`poll_oneoff`
//! are faces over this; WASI 0.3 waits in the component runtime's event
//! loop instead.

use std::cell::Cell;

use crate::clocks::monotonic_now;

/// Largest number of bytes one read returns, and the write budget a
/// WASI 0.2 `check-write` grants.
pub const CHUNK: u64 = 1 << 20;

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Nothing: ready at once.
    Ready,
    /// The monotonic clock reaching this instant (ns).
    Deadline(u64),
    /// The descriptor becoming readable (or reaching its end, or failing).
    Readable(i32),
    /// The descriptor becoming writable (or failing).
    Writable(i32),
}

/// Something a wait can wait for: ready now or not, and if not, the
/// descriptor and events and the monotonic deadline (ns) that can make it
/// ready.
pub trait Wait {
    /// Whether it is ready now.
    fn ready(&self) -> bool;
    /// What `poll(2)` waits for until it may be ready: a descriptor with
    /// its events, a deadline, both or neither.
    fn interest(&self) -> (Option<(i32, i16)>, Option<u64>);
    /// Whether it is ready exactly when its descriptor is: [`wait`] then
    /// learns it from its one `poll(2)` rather than asking first.
    fn direct(&self) -> bool {
        false
    }
}

impl Wait for Interest {
    fn ready(&self) -> bool {
        match *self {
            Interest::Ready => true,
            Interest::Deadline(t) => monotonic_now() >= t,
            Interest::Readable(fd) => poll_fds(&mut [(fd, libc::POLLIN)], 0) > 0,
            Interest::Writable(fd) => poll_fds(&mut [(fd, libc::POLLOUT)], 0) > 0,
        }
    }

    fn interest(&self) -> (Option<(i32, i16)>, Option<u64>) {
        match *self {
            Interest::Ready => (None, None),
            Interest::Deadline(t) => (None, Some(t)),
            Interest::Readable(fd) => (Some((fd, libc::POLLIN)), None),
            Interest::Writable(fd) => (Some((fd, libc::POLLOUT)), None),
        }
    }

    fn direct(&self) -> bool {
        matches!(self, Interest::Readable(_) | Interest::Writable(_))
    }
}

thread_local! {
    /// The descriptor a `poll(2)` last found with bytes to read (readable,
    /// not at its end, no error), until something reads from or closes
    /// it; -1 for none.
    static HAS_BYTES: Cell<i32> = const { Cell::new(-1) };
}

/// Notes that a `poll(2)` asked for `POLLIN | POLLRDHUP` found socket `fd`
/// readable and nothing else: bytes wait in it, and only a read takes
/// them, so a read that comes next may allocate room for them before it
/// reads ([`take_has_bytes`]).
pub fn note_has_bytes(fd: i32) {
    HAS_BYTES.with(|h| h.set(fd));
}

/// Whether bytes are known to wait in socket `fd` ([`note_has_bytes`]);
/// the note is used up either way.
pub fn take_has_bytes(fd: i32) -> bool {
    HAS_BYTES.with(|h| h.replace(-1) == fd)
}

/// Forgets what is known of `fd`'s bytes: it is read from, shut down or
/// closed.
pub fn forget_has_bytes(fd: i32) {
    HAS_BYTES.with(|h| {
        if h.get() == fd {
            h.set(-1);
        }
    });
}

/// `poll(2)` over `fds` for at most `timeout_ms` (-1: no limit); returns
/// how many are ready (0 on timeout or error).
pub fn poll_fds(fds: &mut [(i32, i16)], timeout_ms: i32) -> usize {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    // SAFETY: `pfds` is a valid array of `pfds.len()` entries.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    n.max(0) as usize
}

/// Blocks until at least one of `waits` is ready; returns the indices of
/// the ready ones, in order (none for an empty list).
///
/// Descriptors are asked once: one `poll(2)` over them answers which
/// [`Wait::direct`] ones are ready now and, when nothing else is, waits
/// for them until the nearest deadline.
pub fn wait<W: Wait>(waits: &[W]) -> Vec<u32> {
    if waits.is_empty() {
        return Vec::new();
    }
    // One descriptor and nothing else (a guest blocking on a socket's
    // pollable): one `poll(2)`, with nothing to gather first.
    if let [w] = waits
        && w.direct()
        && let (Some((fd, events)), None) = w.interest()
    {
        // Asked for the end too, so that a socket found readable without
        // it is known to have bytes ([`note_has_bytes`]).
        let rdhup = if events & libc::POLLIN != 0 {
            libc::POLLRDHUP
        } else {
            0
        };
        let mut p = libc::pollfd {
            fd,
            events: events | rdhup,
            revents: 0,
        };
        // SAFETY: one valid pollfd; an interrupted poll is asked again.
        while unsafe { libc::poll(&mut p, 1, -1) } <= 0 {}
        if rdhup != 0 && p.revents == libc::POLLIN {
            note_has_bytes(fd);
        }
        return vec![0];
    }
    loop {
        let now = monotonic_now();
        let mut out: Vec<u32> = Vec::new();
        let mut deadline: Option<u64> = None;
        let mut fds: Vec<libc::pollfd> = Vec::new();
        // Per descriptor: its wait, and whether the descriptor being ready
        // makes the wait ready (an HTTP exchange checks again).
        let mut owners: Vec<(u32, bool)> = Vec::new();
        for (i, w) in waits.iter().enumerate() {
            let direct = w.direct();
            if !direct && w.ready() {
                out.push(i as u32);
                continue;
            }
            let (fd, d) = w.interest();
            if let Some(d) = d {
                deadline = Some(deadline.map_or(d, |x| x.min(d)));
            }
            if let Some((fd, events)) = fd {
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                owners.push((i as u32, direct));
            }
        }
        let timeout = match (out.is_empty(), deadline) {
            (false, _) => 0,
            (true, Some(t)) => {
                (t.saturating_sub(now).div_ceil(1_000_000)).min(i32::MAX as u64) as i32
            }
            (true, None) => -1,
        };
        if fds.is_empty() {
            if !out.is_empty() {
                return out;
            }
            // Nothing to wait on but the waits' own checks (an HTTP
            // exchange waiting for the guest): check again a little later
            // rather than spin.
            sleep_until(deadline.unwrap_or(now.saturating_add(1_000_000)));
            continue;
        }
        // SAFETY: `fds` is a valid array of `fds.len()` entries; an
        // interrupted or failed poll reports nothing ready and the loop
        // asks again.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n > 0 {
            out.extend(
                fds.iter()
                    .zip(&owners)
                    .filter(|(p, (_, direct))| p.revents != 0 && *direct)
                    .map(|(_, (i, _))| *i),
            );
            out.sort_unstable();
        }
        if !out.is_empty() {
            return out;
        }
    }
}

/// Sleeps until the monotonic clock reaches `t` (ns).
fn sleep_until(t: u64) {
    let ts = libc::timespec {
        tv_sec: (t / 1_000_000_000) as _,
        tv_nsec: (t % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: a valid timespec; interrupted sleeps are retried by `wait`.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            core::ptr::null_mut(),
        )
    };
}

/// Appends up to `len` bytes that `read` reads to `buf`, without zeroing
/// the room first (a guest's 64 KiB reads made `memset` a fifth of a file
/// search's time): `read(ptr, n)` is a `read`/`pread`-like system call
/// that writes at most `n` bytes at `ptr` and returns how many, or -1 with
/// `errno`. Returns how many it read; retries on `EINTR`.
///
/// # Errors
///
/// The error of `read`.
pub fn read_into(
    buf: &mut Vec<u8>,
    len: usize,
    mut read: impl FnMut(*mut u8, usize) -> isize,
) -> std::io::Result<usize> {
    buf.reserve(len);
    loop {
        // SAFETY: `buf` has room for `len` more bytes; `read` writes at
        // most that many, and only they become part of it.
        let n = read(unsafe { buf.as_mut_ptr().add(buf.len()) }, len);
        if n >= 0 {
            // SAFETY: the system call wrote `n <= len` bytes there.
            unsafe { buf.set_len(buf.len() + n as usize) };
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Reads up to `len` bytes from descriptor `fd` (blocking: a non-blocking
/// descriptor is waited for).
///
/// # Errors
///
/// The error of `read`.
pub fn read_fd(fd: i32, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    loop {
        // SAFETY: `ptr` has room for `n` bytes (`read_into`).
        match read_into(&mut buf, len, |ptr, n| unsafe {
            libc::read(fd, ptr.cast(), n)
        }) {
            Ok(_) => return Ok(buf),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                poll_fds(&mut [(fd, libc::POLLIN)], -1);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `bytes` to descriptor `fd` (a non-blocking descriptor is
/// waited for).
///
/// # Errors
///
/// The error of `write`.
pub fn write_fd(fd: i32, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for its length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            bytes = &bytes[n as usize..];
            continue;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EAGAIN) => {
                poll_fds(&mut [(fd, libc::POLLOUT)], -1);
            }
            _ => return Err(e),
        }
    }
    Ok(())
}
