//! Reading and reopening files.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::FileExt;

use super::errno::error_code;
use super::sandbox::Errno;
use crate::bindings::wasi_filesystem_types::ErrorCode;
use crate::p2::io::CHUNK;

/// Reads up to `len` bytes (at most [`CHUNK`]) at `offset`; `true` with
/// them when the end of the file was reached.
///
/// # Errors
///
/// The error of `pread` (`is-directory` for a directory).
pub fn read_at(file: &File, len: u64, offset: u64) -> Result<(Vec<u8>, bool), ErrorCode> {
    let len = len.min(CHUNK) as usize;
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        let at = offset
            .checked_add(filled as u64)
            .ok_or(ErrorCode::Overflow)?;
        match file.read_at(&mut buf[filled..], at) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok((buf, true));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(error_code(&e)),
        }
    }
    Ok((buf, false))
}

/// Reopens `file` for appending: a new open file description with
/// `O_APPEND` (through `/proc/self/fd`, which names the same inode),
/// so appending does not turn the descriptor's `pwrite`s into appends.
/// Without `/proc`, the file itself, its position moved to the end.
pub fn reopen_for_append(file: &File) -> Result<File, ErrorCode> {
    let path =
        CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(|_| ErrorCode::Io)?;
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
    let copy = file.try_clone().map_err(|e| error_code(&e))?;
    // SAFETY: a valid descriptor.
    if unsafe { libc::lseek(copy.as_raw_fd(), 0, libc::SEEK_END) } < 0 {
        return Err(Errno::last().into());
    }
    Ok(copy)
}
