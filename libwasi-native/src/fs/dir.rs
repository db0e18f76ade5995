//! Reading directories.

use std::os::fd::{AsRawFd, BorrowedFd};

use super::DirectoryEntries;
use super::errno::Errno;
use super::sys::*;
use super::types::FileType;

/// The entries of directory `dir`, without `.` and `..`, sorted by name:
/// `getdents64` batches from its start (it is rewound first: a listing
/// always starts at the beginning). The host is single-threaded and reads
/// the whole listing at once, so the position it moves is nobody else's
/// at that time.
///
/// # Errors
///
/// `ENOTDIR` when `dir` is not a directory, or the error of
/// `lseek`/`getdents64`.
pub fn read_directory(dir: BorrowedFd<'_>) -> Result<DirectoryEntries, Errno> {
    // SAFETY: `lseek` only moves the position.
    if unsafe { libc::lseek(dir.as_raw_fd(), 0, libc::SEEK_SET) } < 0 {
        return Err(match Errno::last() {
            // A file that cannot seek is no directory.
            Errno(libc::ESPIPE) => Errno(libc::ENOTDIR),
            e => e,
        });
    }
    let mut raw: Vec<(FileType, Vec<u8>)> = Vec::new();
    let mut batch = Vec::new();
    while getdents(dir, &mut batch)? > 0 {
        for e in raw_entries(&batch) {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            // When the file system does not say, ask the inode.
            let ty = FileType::of_dirent(e.d_type).unwrap_or_else(|| {
                let name = std::ffi::CString::new(e.name).unwrap_or_default();
                fstatat(dir, &name, libc::AT_SYMLINK_NOFOLLOW)
                    .map_or(FileType::Unknown, |st| FileType::of_stat(&st))
            });
            raw.push((ty, e.name.to_vec()));
        }
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
