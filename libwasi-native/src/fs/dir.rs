//! Reading directories.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};

use super::DirectoryEntries;
use super::sandbox::Errno;
use super::sys::*;
use crate::bindings::wasi_filesystem_types::{DescriptorType, ErrorCode};

/// The entries of directory `dir`, without `.` and `..`, sorted by name.
/// Read through a new open file description of the directory, so the
/// listing always starts at the beginning and leaves `dir` alone.
///
/// # Errors
///
/// `not-directory` when `dir` is not a directory, or the error of
/// `openat`/`readdir`. A name that is not UTF-8 is an
/// `illegal-byte-sequence` entry.
pub fn read_directory(dir: BorrowedFd<'_>) -> Result<DirectoryEntries, ErrorCode> {
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
        return Err(Errno::last().into());
    }
    let _ = fd.into_raw_fd();
    let stream = Stream(stream);
    // SAFETY: `stream` is open.
    let stream_fd = unsafe { BorrowedFd::borrow_raw(libc::dirfd(stream.0)) };
    let mut raw: Vec<(Vec<u8>, DescriptorType)> = Vec::new();
    loop {
        // SAFETY: `errno` is thread-local; zero tells the end from an
        // error after `readdir` returns null.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is open.
        let entry = unsafe { libc::readdir(stream.0) };
        if entry.is_null() {
            match Errno::last() {
                Errno(0) => break,
                e => return Err(e.into()),
            }
        }
        // SAFETY: `readdir` returned an entry, valid until the next call.
        let (name, d_type) = unsafe { (CStr::from_ptr((*entry).d_name.as_ptr()), (*entry).d_type) };
        if name == c"." || name == c".." {
            continue;
        }
        let ty = match d_type {
            libc::DT_BLK => DescriptorType::BlockDevice,
            libc::DT_CHR => DescriptorType::CharacterDevice,
            libc::DT_DIR => DescriptorType::Directory,
            libc::DT_FIFO => DescriptorType::Fifo,
            libc::DT_LNK => DescriptorType::SymbolicLink,
            libc::DT_REG => DescriptorType::RegularFile,
            libc::DT_SOCK => DescriptorType::Socket,
            // The file system does not say: ask the inode.
            _ => fstatat(stream_fd, name, libc::AT_SYMLINK_NOFOLLOW)
                .map_or(DescriptorType::Unknown, |st| descriptor_type(st.st_mode)),
        };
        raw.push((name.to_bytes().to_vec(), ty));
    }
    raw.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(DirectoryEntries {
        entries: raw
            .into_iter()
            .map(|(name, ty)| {
                String::from_utf8(name)
                    .map(|name| (ty, name))
                    .map_err(|_| ErrorCode::IllegalByteSequence)
            })
            .collect(),
    })
}
