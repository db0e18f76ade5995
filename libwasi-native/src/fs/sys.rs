//! System calls on descriptors, by name relative to a directory, and the
//! conversions of what they return.

use std::ffi::{CStr, CString};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use libc::c_int;

use super::sandbox::Errno;
use crate::bindings::wasi_filesystem_types::{
    Datetime, DescriptorStat, DescriptorType, ErrorCode, MetadataHashValue, NewTimestamp,
};

/// `name` as a C string; `invalid` when it holds a NUL.
pub(crate) fn cstring(name: &[u8]) -> Result<CString, ErrorCode> {
    CString::new(name).map_err(|_| ErrorCode::Invalid)
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

/// The `descriptor-type` of file mode `mode`.
pub(crate) fn descriptor_type(mode: libc::mode_t) -> DescriptorType {
    match mode & libc::S_IFMT {
        libc::S_IFBLK => DescriptorType::BlockDevice,
        libc::S_IFCHR => DescriptorType::CharacterDevice,
        libc::S_IFDIR => DescriptorType::Directory,
        libc::S_IFIFO => DescriptorType::Fifo,
        libc::S_IFLNK => DescriptorType::SymbolicLink,
        libc::S_IFREG => DescriptorType::RegularFile,
        libc::S_IFSOCK => DescriptorType::Socket,
        _ => DescriptorType::Unknown,
    }
}

/// A `datetime` of seconds and nanoseconds since the epoch; `None` before
/// the epoch (a `datetime` cannot say it).
pub(crate) fn datetime(seconds: i64, nanoseconds: i64) -> Option<Datetime> {
    Some(Datetime {
        seconds: u64::try_from(seconds).ok()?,
        nanoseconds: u32::try_from(nanoseconds).ok()?,
    })
}

/// The `descriptor-stat` of `st`.
#[allow(
    clippy::unnecessary_cast,
    reason = "the field types of `stat` vary by target"
)]
pub(crate) fn descriptor_stat(st: &libc::stat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(st.st_mode),
        link_count: st.st_nlink as u64,
        size: st.st_size as u64,
        data_access_timestamp: datetime(st.st_atime as i64, st.st_atime_nsec as i64),
        data_modification_timestamp: datetime(st.st_mtime as i64, st.st_mtime_nsec as i64),
        status_change_timestamp: datetime(st.st_ctime as i64, st.st_ctime_nsec as i64),
    }
}

/// The `metadata-hash-value` of `st`: a keyed hash (the key is chosen at
/// random once per process) of the device, inode, size and modification
/// and status-change times.
pub(crate) fn metadata_hash(st: &libc::stat) -> MetadataHashValue {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    let mut h = KEY.get_or_init(RandomState::new).build_hasher();
    (st.st_dev, st.st_ino, st.st_size).hash(&mut h);
    (st.st_mtime, st.st_mtime_nsec, st.st_ctime, st.st_ctime_nsec).hash(&mut h);
    // The two halves share the hashing of the fields and differ by a
    // last byte.
    let half = |salt: u8| {
        let mut h = h.clone();
        salt.hash(&mut h);
        h.finish()
    };
    MetadataHashValue {
        lower: half(0),
        upper: half(1),
    }
}

/// The `timespec` of a `new-timestamp` for `utimensat`/`futimens`.
///
/// # Errors
///
/// `overflow` for seconds past `time_t`, `invalid` for a nanosecond count
/// of a second or more.
pub(crate) fn timespec(t: NewTimestamp) -> Result<libc::timespec, ErrorCode> {
    Ok(match t {
        NewTimestamp::NoChange => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        NewTimestamp::Now => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        NewTimestamp::Timestamp(d) => {
            if d.nanoseconds >= 1_000_000_000 {
                return Err(ErrorCode::Invalid);
            }
            libc::timespec {
                tv_sec: d.seconds.try_into().map_err(|_| ErrorCode::Overflow)?,
                tv_nsec: d.nanoseconds as _,
            }
        }
    })
}
