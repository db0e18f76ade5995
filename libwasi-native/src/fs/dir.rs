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

/// Bytes a `getdents64` batch reads at once: a few hundred entries.
pub const BATCH: usize = 32 << 10;

/// One entry of a `getdents64(2)` batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry<'a> {
    /// Its inode number.
    pub ino: u64,
    /// The position of the next entry (`d_off`): what `lseek` takes to
    /// continue after this one.
    pub next: u64,
    /// Its `d_type` (`DT_UNKNOWN` when the file system does not say).
    pub d_type: u8,
    /// Its name, without the NUL.
    pub name: &'a [u8],
}

/// Reads the next batch of entries of directory `dir` (from its position)
/// into `buf` (up to its capacity, at least [`BATCH`] bytes); returns the
/// number of bytes read, 0 at the end.
///
/// # Errors
///
/// The error of `getdents64` (`ENOTDIR` for a file).
pub fn getdents(dir: BorrowedFd<'_>, buf: &mut Vec<u8>) -> Result<usize, Errno> {
    buf.clear();
    buf.reserve(BATCH);
    let cap = buf.capacity();
    loop {
        // SAFETY: `buf` has room for `cap` bytes; the kernel writes at most
        // that many.
        let n =
            unsafe { libc::syscall(libc::SYS_getdents64, dir.as_raw_fd(), buf.as_mut_ptr(), cap) };
        if n >= 0 {
            // SAFETY: the kernel wrote `n` bytes.
            unsafe { buf.set_len(n as usize) };
            return Ok(n as usize);
        }
        match Errno::last() {
            Errno(libc::EINTR) => {}
            e => return Err(e),
        }
    }
}

/// The entries of a batch `getdents` read, in order.
pub fn raw_entries(batch: &[u8]) -> impl Iterator<Item = RawEntry<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        // `struct linux_dirent64`: ino (8), off (8), reclen (2), type (1),
        // the name, NUL-terminated, padded to 8.
        let header = batch.get(at..at + 19)?;
        let reclen = u16::from_ne_bytes([header[16], header[17]]) as usize;
        let record = batch.get(at..at + reclen)?;
        let name = &record[19..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        at += reclen.max(19);
        Some(RawEntry {
            ino: u64::from_ne_bytes(header[0..8].try_into().expect("8 bytes")),
            next: u64::from_ne_bytes(header[8..16].try_into().expect("8 bytes")),
            d_type: header[18],
            name,
        })
    })
}
