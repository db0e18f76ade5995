//! Preview1's `fd_*` functions, on the filesystem core ([`crate::fs`]).
//!
//! Reads and writes go from and to guest memory directly: each `iovec` is
//! checked to lie in the memory, and the array goes to one `readv`/
//! `writev` (`preadv`/`pwritev` with an offset) at the kernel's position
//! of the descriptor. Directory listings are `getdents64` batches
//! ([`crate::fs::dir`]) whose `d_off` positions are the cookies.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::bindings::{
    Dirent, Fdstat, Filestat, Prestat, PrestatDir, Preview1Fd, advice, fdflags, filetype, fstflags,
    rights, whence,
};
use super::table::{DirCursor, Entry, Handle};
use super::{Fault, Memory, P1Result, Preview1Host, errno};
use crate::fs::dir::{getdents, raw_entries};
use crate::fs::sys::{fstat, fstatat, retry};
use crate::fs::types::stat as st;
use crate::fs::{Advice, Errno, FileType, Flags, SetTime, Time};

impl Preview1Host {
    /// The entry of descriptor `fd`.
    ///
    /// # Errors
    ///
    /// `badf` when it is not open.
    pub fn fd(&self, fd: u32) -> P1Result<Arc<Entry>> {
        self.fds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(fd)
    }
}

/// The preview1 `filetype` of a file type.
pub fn file_type(t: FileType) -> u8 {
    match t {
        FileType::Unknown | FileType::Fifo => filetype::UNKNOWN,
        FileType::BlockDevice => filetype::BLOCK_DEVICE,
        FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        FileType::Directory => filetype::DIRECTORY,
        FileType::RegularFile => filetype::REGULAR_FILE,
        FileType::Socket => filetype::SOCKET_STREAM,
        FileType::SymbolicLink => filetype::SYMBOLIC_LINK,
    }
}

/// A time in nanoseconds since the epoch (0 before it).
fn nanos(t: Time) -> u64 {
    u64::try_from(t.seconds)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(t.nanoseconds))
}

/// The `filestat` of `s`.
pub fn filestat(s: &libc::stat) -> Filestat {
    Filestat {
        dev: st::device(s),
        ino: st::inode(s),
        filetype: file_type(st::file_type(s)),
        nlink: st::link_count(s),
        size: st::size(s),
        atim: nanos(st::accessed(s)),
        mtim: nanos(st::modified(s)),
        ctim: nanos(st::changed(s)),
    }
}

/// The two timestamps `fst_flags` says to set (`inval` when a timestamp
/// is both given and "now").
pub fn set_times(atim: u64, mtim: u64, fst_flags: u16) -> P1Result<(SetTime, SetTime)> {
    let one = |t: u64, set: u16, now: u16| {
        if fst_flags & set != 0 && fst_flags & now != 0 {
            return Err(Fault::Errno(errno::INVAL));
        }
        Ok(if fst_flags & now != 0 {
            SetTime::Now
        } else if fst_flags & set != 0 {
            SetTime::At(Time {
                seconds: (t / 1_000_000_000) as i64,
                nanoseconds: (t % 1_000_000_000) as u32,
            })
        } else {
            SetTime::NoChange
        })
    };
    Ok((
        one(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        one(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ))
}

/// The core flag an open file needs for `want` (a read or a write); a
/// standard stream can always be read or written (the kernel decides).
fn check_open(entry: &Entry, want: u8) -> P1Result<()> {
    match &entry.handle {
        Handle::Open(d) if !d.flags.contains(want) => Err(Fault::Errno(errno::BADF)),
        _ => Ok(()),
    }
}

/// Runs a read or write system call on `entry` until it does not fail
/// with `EINTR`. One that would block waits for the descriptor (with
/// `poll(2)`), unless the guest made it non-blocking: then it is `again`.
fn io(entry: &Entry, events: i16, mut op: impl FnMut(RawFd) -> isize) -> P1Result<u32> {
    let fd = entry.raw();
    let nonblock = entry.nonblock.load(Ordering::Relaxed);
    if nonblock && crate::io::poll_fds(&mut [(fd, events)], 0) == 0 {
        return Err(Fault::Errno(errno::AGAIN));
    }
    loop {
        let n = op(fd);
        if n >= 0 {
            return Ok(n as u32);
        }
        match Errno::last() {
            Errno(libc::EINTR) => {}
            Errno(libc::EAGAIN) if !nonblock => {
                crate::io::poll_fds(&mut [(fd, events)], -1);
            }
            e => return Err(e.into()),
        }
    }
}

/// An offset as `off_t` (`inval` past `i64::MAX`).
fn offset(o: u64) -> P1Result<i64> {
    i64::try_from(o).map_err(|_| Fault::Errno(errno::INVAL))
}

/// `lseek(fd, at, whence)`.
fn seek(fd: RawFd, at: i64, whence: libc::c_int) -> P1Result<u64> {
    // SAFETY: `lseek` only changes the descriptor's position.
    let r = unsafe { libc::lseek(fd, at, whence) };
    if r < 0 {
        return Err(Errno::last().into());
    }
    Ok(r as u64)
}

/// Writes the entries of directory `dir` from `cookie` on into `out` as
/// `dirent`s followed by their names, the last one cut off where `out`
/// ends; returns the bytes written (`out.len()` when it is full).
fn read_dir(
    cur: &mut DirCursor,
    dir: BorrowedFd<'_>,
    out: &mut [u8],
    cookie: u64,
) -> P1Result<usize> {
    // The batch read for the call before serves only the call that
    // continues where that one stopped; any other cookie (a rewind, `0`)
    // reads the directory again, so that a listing sees its changes.
    if !(cur.valid && cur.resume == cookie && cookie != 0) {
        cur.valid = false;
    }
    let mut used = 0;
    let mut at = cookie;
    loop {
        if !cur.valid {
            if cur.kernel_at != Some(at) {
                seek(dir.as_raw_fd(), at as i64, libc::SEEK_SET)?;
            }
            let n = match getdents(dir, &mut cur.batch) {
                Ok(n) => n,
                Err(e) => {
                    cur.kernel_at = None;
                    return Err(e.into());
                }
            };
            cur.start = at;
            cur.kernel_at = Some(raw_entries(&cur.batch).last().map_or(at, |e| e.next));
            cur.valid = true;
            if n == 0 {
                cur.valid = false;
                cur.resume = at;
                return Ok(used);
            }
        }
        // The entry at cookie `at`: the first, or the one after the entry
        // whose `d_off` is `at`.
        let mut prev = cur.start;
        let mut found = false;
        for e in raw_entries(&cur.batch) {
            let here = prev;
            prev = e.next;
            if here != at {
                continue;
            }
            found = true;
            let d_type = FileType::of_dirent(e.d_type).unwrap_or_else(|| {
                let name = std::ffi::CString::new(e.name).unwrap_or_default();
                fstatat(dir, &name, libc::AT_SYMLINK_NOFOLLOW)
                    .map_or(FileType::Unknown, |s| FileType::of_stat(&s))
            });
            let mut header = [0u8; Dirent::SIZE as usize];
            Dirent {
                d_next: e.next,
                d_ino: e.ino,
                d_namlen: e.name.len() as u32,
                d_type: file_type(d_type),
            }
            .store(&Memory::over(&mut header), 0)?;
            for part in [&header[..], e.name] {
                let room = out.len() - used;
                let n = part.len().min(room);
                out[used..used + n].copy_from_slice(&part[..n]);
                used += n;
                if n < part.len() {
                    // Full: the guest asks again from `at`.
                    cur.resume = at;
                    return Ok(used);
                }
            }
            at = e.next;
        }
        if !found {
            // `at` is not in this batch: read from it.
            cur.valid = false;
            continue;
        }
        // The batch is done; the next one follows it in the kernel.
        cur.valid = false;
        if used == out.len() {
            cur.resume = at;
            return Ok(used);
        }
    }
}

impl Preview1Fd for Preview1Host {
    fn fd_advise(&self, _: &Memory, fd: u32, offset: u64, len: u64, a: u8) -> P1Result<()> {
        let entry = self.fd(fd)?;
        let d = entry.descriptor()?;
        if crate::fs::sys::is_dir(&d.stat()?) {
            return Err(Fault::Errno(errno::BADF));
        }
        let a = match a {
            advice::NORMAL => Advice::Normal,
            advice::SEQUENTIAL => Advice::Sequential,
            advice::RANDOM => Advice::Random,
            advice::WILLNEED => Advice::WillNeed,
            advice::DONTNEED => Advice::DontNeed,
            _ => Advice::NoReuse,
        };
        Ok(d.advise(offset, len, a)?)
    }

    fn fd_allocate(&self, _: &Memory, fd: u32, offset: u64, len: u64) -> P1Result<()> {
        let entry = self.fd(fd)?;
        check_open(&entry, Flags::WRITE)?;
        let (offset, len) = (self::offset(offset)?, self::offset(len)?);
        // SAFETY: `posix_fallocate` returns the error.
        let e = unsafe { libc::posix_fallocate(entry.raw(), offset, len) };
        if e == 0 { Ok(()) } else { Err(Errno(e).into()) }
    }

    fn fd_close(&self, _: &Memory, fd: u32) -> P1Result<()> {
        self.fds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(fd)
            .map(drop)
    }

    fn fd_datasync(&self, _: &Memory, fd: u32) -> P1Result<()> {
        let entry = self.fd(fd)?;
        // SAFETY: a descriptor the entry keeps open.
        retry(|| unsafe { libc::fdatasync(entry.raw()) })?;
        Ok(())
    }

    fn fd_fdstat_get(&self, _: &Memory, fd: u32) -> P1Result<Fdstat> {
        let entry = self.fd(fd)?;
        let ty = match entry.file_type.get() {
            Some(ty) => *ty,
            None => {
                // SAFETY: a descriptor the entry keeps open.
                let s = fstat(unsafe { BorrowedFd::borrow_raw(entry.raw()) })?;
                *entry.file_type.get_or_init(|| st::file_type(&s))
            }
        };
        let mut fs_flags = 0;
        if entry.append.load(Ordering::Relaxed) {
            fs_flags |= fdflags::APPEND;
        }
        if entry.nonblock.load(Ordering::Relaxed) {
            fs_flags |= fdflags::NONBLOCK;
        }
        let mut base = rights::ALL;
        match &entry.handle {
            Handle::Stdio(0) => base = rights::FD_READ | rights::POLL_FD_READWRITE,
            Handle::Stdio(_) => base = rights::FD_WRITE | rights::POLL_FD_READWRITE,
            Handle::Open(d) => {
                if d.flags.contains(Flags::FILE_INTEGRITY_SYNC) {
                    fs_flags |= fdflags::SYNC;
                }
                if d.flags.contains(Flags::DATA_INTEGRITY_SYNC) {
                    fs_flags |= fdflags::DSYNC;
                }
                if d.flags.contains(Flags::REQUESTED_WRITE_SYNC) {
                    fs_flags |= fdflags::RSYNC;
                }
                if !d.flags.contains(Flags::READ) && ty != FileType::Directory {
                    base &= !(rights::FD_READ | rights::FD_READDIR);
                }
                if !d.flags.contains(Flags::WRITE) {
                    base &= !rights::FD_WRITE;
                }
                if ty == FileType::Directory {
                    base &= !(rights::FD_SEEK
                        | rights::FD_READ
                        | rights::FD_WRITE
                        | rights::FD_FILESTAT_SET_SIZE
                        | rights::PATH_FILESTAT_SET_SIZE);
                }
            }
        }
        let (mask_base, mask_inheriting) = entry.rights();
        Ok(Fdstat {
            fs_filetype: file_type(ty),
            fs_flags,
            fs_rights_base: base & mask_base,
            fs_rights_inheriting: rights::ALL & mask_inheriting,
        })
    }

    fn fd_fdstat_set_flags(&self, _: &Memory, fd: u32, flags: u16) -> P1Result<()> {
        let entry = self.fd(fd)?;
        // Only `append` and `nonblock` can change once a file is open.
        if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
            return Err(Fault::Errno(errno::INVAL));
        }
        let nonblock = flags & fdflags::NONBLOCK != 0;
        if let Handle::Open(_) = entry.handle {
            let raw = entry.raw();
            // SAFETY: a descriptor the entry keeps open.
            let fl = unsafe { libc::fcntl(raw, libc::F_GETFL) };
            if fl < 0 {
                return Err(Errno::last().into());
            }
            let mut new = fl & !(libc::O_APPEND | libc::O_NONBLOCK);
            if flags & fdflags::APPEND != 0 {
                new |= libc::O_APPEND;
            }
            if nonblock {
                new |= libc::O_NONBLOCK;
            }
            // SAFETY: as above.
            retry(|| unsafe { libc::fcntl(raw, libc::F_SETFL, new) })?;
        }
        // The standard streams' open file descriptions are the parent's
        // too: their mode changes for the guest only.
        entry.nonblock.store(nonblock, Ordering::Relaxed);
        entry
            .append
            .store(flags & fdflags::APPEND != 0, Ordering::Relaxed);
        Ok(())
    }

    fn fd_fdstat_set_rights(
        &self,
        _: &Memory,
        fd: u32,
        fs_rights_base: u64,
        fs_rights_inheriting: u64,
    ) -> P1Result<()> {
        let entry = self.fd(fd)?;
        let (base, inheriting) = entry.rights();
        // Rights can only be removed.
        if fs_rights_base & !base != 0 || fs_rights_inheriting & !inheriting != 0 {
            return Err(Fault::Errno(errno::NOTCAPABLE));
        }
        entry.rights_base.store(fs_rights_base, Ordering::Relaxed);
        entry
            .rights_inheriting
            .store(fs_rights_inheriting, Ordering::Relaxed);
        Ok(())
    }

    fn fd_filestat_get(&self, _: &Memory, fd: u32) -> P1Result<Filestat> {
        let entry = self.fd(fd)?;
        // SAFETY: a descriptor the entry keeps open.
        let s = fstat(unsafe { BorrowedFd::borrow_raw(entry.raw()) })?;
        Ok(filestat(&s))
    }

    fn fd_filestat_set_size(&self, _: &Memory, fd: u32, size: u64) -> P1Result<()> {
        let entry = self.fd(fd)?;
        Ok(entry.descriptor()?.set_size(size)?)
    }

    fn fd_filestat_set_times(
        &self,
        _: &Memory,
        fd: u32,
        atim: u64,
        mtim: u64,
        fst_flags: u16,
    ) -> P1Result<()> {
        let (a, m) = set_times(atim, mtim, fst_flags)?;
        let entry = self.fd(fd)?;
        match &entry.handle {
            Handle::Open(d) => Ok(d.set_times(a, m)?),
            Handle::Stdio(fd) => {
                let times = [a.timespec()?, m.timespec()?];
                // SAFETY: a standard stream and two timespecs.
                retry(|| unsafe { libc::futimens(*fd, times.as_ptr()) })?;
                Ok(())
            }
        }
    }

    fn fd_pread(
        &self,
        mem: &Memory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
    ) -> P1Result<u32> {
        let entry = self.fd(fd)?;
        check_open(&entry, Flags::READ)?;
        mem.with_iovecs(iovs, iovs_len, |v| {
            let at = self::offset(offset)?;
            // SAFETY: the buffers are guest memory, checked to be in bounds.
            io(&entry, libc::POLLIN, |fd| unsafe {
                libc::preadv(fd, v.as_ptr(), v.len() as libc::c_int, at)
            })
        })?
    }

    fn fd_prestat_get(&self, _: &Memory, fd: u32) -> P1Result<Prestat> {
        let entry = self.fd(fd)?;
        let name = entry.preopen.as_ref().ok_or(Fault::Errno(errno::BADF))?;
        Ok(Prestat::Dir(PrestatDir {
            pr_name_len: name.len() as u32,
        }))
    }

    fn fd_prestat_dir_name(&self, mem: &Memory, fd: u32, path: u32, path_len: u32) -> P1Result<()> {
        let entry = self.fd(fd)?;
        let name = entry.preopen.as_ref().ok_or(Fault::Errno(errno::BADF))?;
        if (path_len as usize) < name.len() {
            return Err(Fault::Errno(errno::NAMETOOLONG));
        }
        mem.write_bytes(path, name.as_bytes())
    }

    fn fd_pwrite(
        &self,
        mem: &Memory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
    ) -> P1Result<u32> {
        let entry = self.fd(fd)?;
        check_open(&entry, Flags::WRITE)?;
        mem.with_iovecs(iovs, iovs_len, |v| {
            let at = self::offset(offset)?;
            // SAFETY: the buffers are guest memory, checked to be in bounds.
            io(&entry, libc::POLLOUT, |fd| unsafe {
                libc::pwritev(fd, v.as_ptr(), v.len() as libc::c_int, at)
            })
        })?
    }

    fn fd_read(&self, mem: &Memory, fd: u32, iovs: u32, iovs_len: u32) -> P1Result<u32> {
        let entry = self.fd(fd)?;
        check_open(&entry, Flags::READ)?;
        mem.with_iovecs(iovs, iovs_len, |v| {
            // SAFETY: the buffers are guest memory, checked to be in bounds.
            io(&entry, libc::POLLIN, |fd| unsafe {
                libc::readv(fd, v.as_ptr(), v.len() as libc::c_int)
            })
        })?
    }

    fn fd_readdir(
        &self,
        mem: &Memory,
        fd: u32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
    ) -> P1Result<u32> {
        let entry = self.fd(fd)?;
        let d = entry.descriptor()?;
        let out = mem.slice_mut(buf, buf_len)?;
        let mut cur = entry
            .dir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(read_dir(&mut cur, d.file.as_fd(), out, cookie)? as u32)
    }

    fn fd_renumber(&self, _: &Memory, fd: u32, to: u32) -> P1Result<()> {
        self.fds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .renumber(fd, to)
    }

    fn fd_seek(&self, _: &Memory, fd: u32, offset: i64, w: u8) -> P1Result<u64> {
        let entry = self.fd(fd)?;
        let w = match w {
            whence::SET => libc::SEEK_SET,
            whence::CUR => libc::SEEK_CUR,
            _ => libc::SEEK_END,
        };
        seek(entry.raw(), offset, w)
    }

    fn fd_sync(&self, _: &Memory, fd: u32) -> P1Result<()> {
        let entry = self.fd(fd)?;
        // SAFETY: a descriptor the entry keeps open.
        retry(|| unsafe { libc::fsync(entry.raw()) })?;
        Ok(())
    }

    fn fd_tell(&self, _: &Memory, fd: u32) -> P1Result<u64> {
        let entry = self.fd(fd)?;
        seek(entry.raw(), 0, libc::SEEK_CUR)
    }

    fn fd_write(&self, mem: &Memory, fd: u32, iovs: u32, iovs_len: u32) -> P1Result<u32> {
        let entry = self.fd(fd)?;
        check_open(&entry, Flags::WRITE)?;
        mem.with_iovecs(iovs, iovs_len, |v| {
            // SAFETY: the buffers are guest memory, checked to be in bounds.
            io(&entry, libc::POLLOUT, |fd| unsafe {
                libc::writev(fd, v.as_ptr(), v.len() as libc::c_int)
            })
        })?
    }
}
