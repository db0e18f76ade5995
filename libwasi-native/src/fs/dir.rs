//! Reading directories.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};

use super::DirectoryEntries;
use super::errno::Errno;
use super::sys::*;
use super::types::FileType;

/// The entries of directory `dir`, without `.` and `..`, sorted by name.
/// Read through a new open file description of the directory, so the
/// listing always starts at the beginning and leaves `dir` alone.
///
/// # Errors
///
/// `ENOTDIR` when `dir` is not a directory, or the error of
/// `openat`/`readdir`.
pub fn read_directory(dir: BorrowedFd<'_>) -> Result<DirectoryEntries, Errno> {
    struct Stream(*mut libc::DIR);
    impl Drop for Stream {
        fn drop(&mut self) {
            // SAFETY: a stream from `fdopendir`, closed once.
            unsafe { libc::closedir(self.0) };
        }
    }
    let fd = openat(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    // SAFETY: `fd` is an open directory; the stream owns it from here.
    let stream = unsafe { libc::fdopendir(fd.as_raw_fd()) };
    if stream.is_null() {
        return Err(Errno::last());
    }
    let _ = fd.into_raw_fd();
    let stream = Stream(stream);
    // SAFETY: `stream` is open.
    let stream_fd = unsafe { BorrowedFd::borrow_raw(libc::dirfd(stream.0)) };
    let mut raw: Vec<(FileType, Vec<u8>)> = Vec::new();
    loop {
        // SAFETY: `errno` is thread-local; zero tells the end from an
        // error after `readdir` returns null.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is open.
        let entry = unsafe { libc::readdir(stream.0) };
        if entry.is_null() {
            match Errno::last() {
                Errno(0) => break,
                e => return Err(e),
            }
        }
        // SAFETY: `readdir` returned an entry, valid until the next call.
        let (name, d_type) = unsafe { (CStr::from_ptr((*entry).d_name.as_ptr()), (*entry).d_type) };
        if name == c"." || name == c".." {
            continue;
        }
        // When the file system does not say, ask the inode.
        let ty = FileType::of_dirent(d_type).unwrap_or_else(|| {
            fstatat(stream_fd, name, libc::AT_SYMLINK_NOFOLLOW)
                .map_or(FileType::Unknown, |st| FileType::of_stat(&st))
        });
        raw.push((ty, name.to_bytes().to_vec()));
    }
    raw.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(DirectoryEntries {
        entries: raw.into(),
    })
}
