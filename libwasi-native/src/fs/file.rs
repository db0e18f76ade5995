//! Reading and reopening files.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};

use super::errno::Errno;
use crate::io::CHUNK;

/// Reads up to `len` bytes (at most [`CHUNK`]) at `offset`; `true` with
/// them when the end of the file was reached.
///
/// # Errors
///
/// `EOVERFLOW` past the largest offset, or the error of `pread` (`EISDIR`
/// for a directory).
pub fn read_at(file: &File, len: u64, offset: u64) -> Result<(Vec<u8>, bool), Errno> {
    let len = len.min(CHUNK) as usize;
    let mut buf = Vec::new();
    while buf.len() < len {
        let at = offset
            .checked_add(buf.len() as u64)
            .and_then(|at| i64::try_from(at).ok())
            .ok_or(Errno(libc::EOVERFLOW))?;
        let (fd, want) = (file.as_raw_fd(), len - buf.len());
        // SAFETY: `ptr` has room for `n` bytes (`read_into`).
        let n = crate::io::read_into(&mut buf, want, |ptr, n| unsafe {
            libc::pread(fd, ptr.cast(), n, at)
        })?;
        if n == 0 {
            return Ok((buf, true));
        }
    }
    Ok((buf, false))
}

/// Reopens `file` for appending: a new open file description with
/// `O_APPEND` (through `/proc/self/fd`, which names the same inode),
/// so appending does not turn the descriptor's `pwrite`s into appends.
/// Without `/proc`, the file itself, its position moved to the end.
///
/// # Errors
///
/// The error of `dup` or `lseek`.
pub fn reopen_for_append(file: &File) -> Result<File, Errno> {
    let path = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(|_| Errno(libc::EIO))?;
    // SAFETY: a valid C string.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if fd >= 0 {
        // SAFETY: a new descriptor, owned by nothing else.
        return Ok(unsafe { File::from_raw_fd(fd) });
    }
    let copy = file.try_clone()?;
    // SAFETY: a valid descriptor.
    if unsafe { libc::lseek(copy.as_raw_fd(), 0, libc::SEEK_END) } < 0 {
        return Err(Errno::last());
    }
    Ok(copy)
}
