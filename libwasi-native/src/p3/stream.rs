//! Byte streams on file descriptors: the host's end of a WASI 0.3
//! `stream<u8>` (standard streams, file contents).
//!
//! A [`FdSink`] writes what a guest writes straight from the guest's
//! memory with `write(2)` (or `pwrite(2)` at a moving offset), to a pipe
//! no more than it has room for, so that a slow reader makes the guest's
//! write wait in the event loop rather than block the process; a
//! [`FdSource`] reads straight into the guest's buffer, first asking
//! `poll(2)` with no timeout whether a read would block — if it would,
//! the guest's read waits in the event loop for the descriptor to become
//! readable. When the stream ends, `on_end` gets the error that ended it,
//! if any (to resolve the stream's `future<result<_, error-code>>`).

use std::fs::File;
use std::io;
use std::sync::Arc;

use smelt_rt::component::hostio::Wait;
use smelt_rt::component::stream::{HostSink, HostSource, SourceRead};
use smelt_rt::component::trap::ComponentTrap;

/// What runs when a stream ends: with the error that ended it, if any.
pub type OnEnd = Box<dyn FnOnce(Option<io::Error>) -> Result<(), ComponentTrap>>;

/// The host reading a guest's byte stream into a file descriptor.
pub struct FdSink {
    /// The descriptor.
    pub fd: i32,
    /// Where to write next, for a positioned write (`pwrite`); `None`
    /// writes at the descriptor's position.
    pub offset: Option<u64>,
    /// Runs once, when the stream ends.
    pub on_end: Option<OnEnd>,
    /// The file `fd` belongs to, kept open while the stream lives.
    pub owner: Option<Arc<File>>,
}

/// How many bytes a write to pipe `fd` can take without blocking (its
/// capacity less what is unread), if `fd` is a pipe.
fn pipe_room(fd: i32) -> Option<usize> {
    // SAFETY: `F_GETPIPE_SZ` only inspects the descriptor; it fails on
    // anything but a pipe.
    let capacity = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    if capacity <= 0 {
        return None;
    }
    let mut unread: libc::c_int = 0;
    // SAFETY: `FIONREAD` writes one int.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut unread) } < 0 {
        return None;
    }
    Some((capacity - unread).max(0) as usize)
}

impl HostSink for FdSink {
    /// Writes without blocking the process on a pipe (at most the room it
    /// has, `WouldBlock` when full: the guest's write then waits in the
    /// event loop) or a non-blocking descriptor; other files take it all.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let len = match self.offset {
            None => match pipe_room(self.fd) {
                Some(0) => return Err(io::ErrorKind::WouldBlock.into()),
                Some(room) => bytes.len().min(room),
                None => bytes.len(),
            },
            Some(_) => bytes.len(),
        };
        let n = loop {
            // SAFETY: `bytes` is valid for reads of `len` bytes.
            let n = unsafe {
                match self.offset {
                    Some(at) => libc::pwrite(self.fd, bytes.as_ptr().cast(), len, at as i64),
                    None => libc::write(self.fd, bytes.as_ptr().cast(), len),
                }
            };
            if n >= 0 {
                break n;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        if let Some(at) = &mut self.offset {
            *at += n as u64;
        }
        Ok(n as usize)
    }

    fn writable(&self) -> Wait {
        Wait::Writable(self.fd)
    }

    fn end(&mut self, error: Option<io::Error>) -> Result<(), ComponentTrap> {
        match self.on_end.take() {
            Some(f) => f(error),
            None => Ok(()),
        }
    }
}

/// The host writing a byte stream a guest reads, from a file descriptor.
pub struct FdSource {
    /// The descriptor.
    pub fd: i32,
    /// Where to read next, for a positioned read (`pread`); `None` reads
    /// at the descriptor's position.
    pub offset: Option<u64>,
    /// Runs once, when the stream ends.
    pub on_end: Option<OnEnd>,
    /// The file `fd` belongs to, kept open while the stream lives.
    pub owner: Option<Arc<File>>,
}

impl FdSource {
    fn end(&mut self, error: Option<io::Error>) -> SourceRead {
        if let Some(f) = self.on_end.take() {
            // A trap lowering the outcome into a guest reading it now
            // cannot be raised from here; the guest then sees the future
            // unresolved.
            let _ = f(error);
        }
        SourceRead::End
    }
}

/// A byte stream that ends at once (the contents of a file that cannot be
/// read; the stream's outcome says why).
pub struct Ended;

impl HostSource for Ended {
    fn read(&mut self, _: &mut [u8]) -> SourceRead {
        SourceRead::End
    }
}

impl Drop for FdSource {
    /// A guest that drops the stream before its end stopped reading; the
    /// outcome is success.
    fn drop(&mut self) {
        if let Some(f) = self.on_end.take() {
            let _ = f(None);
        }
    }
}

/// Whether a read of `fd` would not block now.
fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

impl HostSource for FdSource {
    fn read(&mut self, buf: &mut [u8]) -> SourceRead {
        if self.offset.is_none() && !readable(self.fd) {
            return SourceRead::Wait(Wait::Readable(self.fd));
        }
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe {
                match self.offset {
                    Some(at) => libc::pread(self.fd, buf.as_mut_ptr().cast(), buf.len(), at as i64),
                    None => libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()),
                }
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return SourceRead::Wait(Wait::Readable(self.fd)),
                    _ => return self.end(Some(e)),
                }
            }
            if n == 0 {
                return self.end(None);
            }
            if let Some(at) = &mut self.offset {
                *at += n as u64;
            }
            return SourceRead::Data(n as usize);
        }
    }
}
