//! System calls on descriptors, by name relative to a directory: thin
//! wrappers that retry on `EINTR` and return the [`Errno`] of a failure.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::c_int;

use super::errno::Errno;

/// `name` as a C string; `EINVAL` when it holds a NUL.
pub(crate) fn cstring(name: &[u8]) -> Result<CString, Errno> {
    CString::new(name).map_err(|_| Errno(libc::EINVAL))
}

/// Retries `f` while it fails with `EINTR`; `Ok` of a non-negative result.
pub(crate) fn retry(mut f: impl FnMut() -> c_int) -> Result<c_int, Errno> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        match Errno::last() {
            Errno(libc::EINTR) => {}
            e => return Err(e),
        }
    }
}

/// `openat(dir, name, flags | O_CLOEXEC | O_NOCTTY, mode)`.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: c_int,
    mode: libc::mode_t,
) -> Result<OwnedFd, Errno> {
    let flags = flags | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: a valid descriptor and C string.
    let fd = retry(|| unsafe {
        libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode as libc::c_uint)
    })?;
    // SAFETY: a new descriptor, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat(fd)`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a valid out-pointer.
    retry(|| unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(dir, name, flags)`.
pub(crate) fn fstatat(dir: BorrowedFd<'_>, name: &CStr, flags: c_int) -> Result<libc::stat, Errno> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid descriptor, C string and out-pointer.
    retry(|| unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: `fstatat` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `readlinkat(dir, name)`: the target of a symbolic link (`EINVAL` when
/// `name` is not one). With an empty `name`, `dir` is the link itself
/// (opened `O_PATH | O_NOFOLLOW`).
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: a valid descriptor and C string; `buf` has room for
        // `buf.len()` bytes.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            match Errno::last() {
                Errno(libc::EINTR) => continue,
                e => return Err(e),
            }
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        // Perhaps truncated: try again with more room.
        if buf.len() >= 1 << 20 {
            return Err(Errno(libc::ENAMETOOLONG));
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// Whether `st` is a directory's.
pub(crate) fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Whether `st` is a symbolic link's.
pub(crate) fn is_symlink(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}
