//! `wasi:filesystem`: descriptors under preopened directories.
//!
//! In: the directories granted at build time (`WasiHost::preopens`), opened
//! once by [`open_preopens`] at start-up. Out: `descriptor`s, each an open
//! file or directory in the [`Table`](crate::table::Table), and the
//! `wasi:filesystem/types` operations on them.
//!
//! Invariant: every path a guest passes is resolved *beneath* the directory
//! descriptor it is relative to, as [WASI path resolution] demands. A path
//! starting with `/`, a `..` that climbs above the base directory, or a
//! symbolic link whose target is absolute or climbs above it fails with
//! `not-permitted`. [`sandbox`] does this with `openat2(2)` and
//! `RESOLVE_BENEATH` where the kernel has it, and component by component
//! (`openat` with `O_PATH | O_NOFOLLOW`, symbolic links expanded by hand)
//! where it does not; either way, every system call that names a file names
//! it by a single component relative to a directory descriptor already
//! resolved beneath the base, with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`, so
//! no kernel-side resolution can leave the sandbox.
//!
//! Everything but the `Host` methods is a plain function of descriptors and
//! paths, tested on a temporary directory at the end of this file.
//!
//! [WASI path resolution]: https://github.com/WebAssembly/wasi-filesystem/blob/main/path-resolution.md

use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock, PoisonError};

use libc::c_int;
use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::wasi_filesystem_preopens;
use crate::bindings::wasi_filesystem_types::{
    self, Advice, Datetime, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry,
    ErrorCode, MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use crate::bindings::wasi_io_error::Error as ErrorRes;
use crate::bindings::wasi_io_streams::{InputStream as InputRes, OutputStream as OutputRes};
use crate::p2::io::{CHUNK, InputStream, OutputStream};
use crate::table::Object;

use sandbox::{Beneath, Errno};

type DescriptorRes = wasi_filesystem_types::Descriptor;
type EntriesRes = wasi_filesystem_types::DirectoryEntryStream;

/// The result of a `wasi:filesystem` call: a trap (a bug in smelt), or the
/// call's value or `error-code`.
type FsResult<T> = HostResult<Result<T, ErrorCode>>;

/// A `descriptor`: an open file or directory.
#[derive(Debug)]
pub struct Descriptor {
    /// The open file or directory. Streams made from the descriptor share
    /// it; reads and writes give their offset (`pread`/`pwrite`), so its
    /// file position is unused.
    pub file: Rc<File>,
    /// The `descriptor-flags` it was opened with: what `get-flags` returns
    /// and what the descriptor may do (`read`, `write`,
    /// `mutate-directory`).
    pub flags: DescriptorFlags,
}

/// A `directory-entry-stream`: the entries of a directory, read when the
/// stream was made (`read-directory`), sorted by name, without `.` and
/// `..`.
#[derive(Debug, Default)]
pub struct DirectoryEntries {
    /// The entries not yet returned: a type and a name, or the error to
    /// return in that entry's place (a name that is not UTF-8).
    pub entries: VecDeque<Result<(DescriptorType, String), ErrorCode>>,
}

// ---------------------------------------------------------------------------
// Error codes

/// The `error-code` of an OS error.
pub fn error_code(e: &std::io::Error) -> ErrorCode {
    use std::io::ErrorKind;
    if let Some(errno) = e.raw_os_error() {
        return errno_code(errno);
    }
    match e.kind() {
        ErrorKind::NotFound => ErrorCode::NoEntry,
        ErrorKind::PermissionDenied => ErrorCode::Access,
        ErrorKind::AlreadyExists => ErrorCode::Exist,
        ErrorKind::WouldBlock => ErrorCode::WouldBlock,
        ErrorKind::InvalidInput => ErrorCode::Invalid,
        ErrorKind::Interrupted => ErrorCode::Interrupted,
        ErrorKind::Unsupported => ErrorCode::Unsupported,
        ErrorKind::OutOfMemory => ErrorCode::InsufficientMemory,
        _ => ErrorCode::Io,
    }
}

/// The `error-code` of `errno` value `errno` (the correspondence the WIT
/// documents for each case, "similar to `E...` in POSIX").
pub fn errno_code(errno: i32) -> ErrorCode {
    match errno {
        libc::EACCES => ErrorCode::Access,
        libc::EAGAIN => ErrorCode::WouldBlock,
        libc::EALREADY => ErrorCode::Already,
        libc::EBADF => ErrorCode::BadDescriptor,
        libc::EBUSY => ErrorCode::Busy,
        libc::EDEADLK => ErrorCode::Deadlock,
        libc::EDQUOT => ErrorCode::Quota,
        libc::EEXIST => ErrorCode::Exist,
        libc::EFBIG => ErrorCode::FileTooLarge,
        libc::EILSEQ => ErrorCode::IllegalByteSequence,
        libc::EINPROGRESS => ErrorCode::InProgress,
        libc::EINTR => ErrorCode::Interrupted,
        libc::EINVAL => ErrorCode::Invalid,
        libc::EIO => ErrorCode::Io,
        libc::EISDIR => ErrorCode::IsDirectory,
        libc::ELOOP => ErrorCode::Loop,
        libc::EMLINK => ErrorCode::TooManyLinks,
        libc::EMSGSIZE => ErrorCode::MessageSize,
        libc::ENAMETOOLONG => ErrorCode::NameTooLong,
        libc::ENODEV => ErrorCode::NoDevice,
        libc::ENOENT => ErrorCode::NoEntry,
        libc::ENOLCK => ErrorCode::NoLock,
        libc::ENOMEM | libc::EMFILE | libc::ENFILE => ErrorCode::InsufficientMemory,
        libc::ENOSPC => ErrorCode::InsufficientSpace,
        libc::ENOTDIR => ErrorCode::NotDirectory,
        libc::ENOTEMPTY => ErrorCode::NotEmpty,
        libc::ENOTRECOVERABLE => ErrorCode::NotRecoverable,
        // `EOPNOTSUPP` is `ENOTSUP` on Linux.
        libc::ENOTSUP | libc::ENOSYS => ErrorCode::Unsupported,
        libc::ENOTTY => ErrorCode::NoTty,
        libc::ENXIO => ErrorCode::NoSuchDevice,
        libc::EOVERFLOW => ErrorCode::Overflow,
        libc::EPERM => ErrorCode::NotPermitted,
        libc::EPIPE => ErrorCode::Pipe,
        libc::EROFS => ErrorCode::ReadOnly,
        libc::ESPIPE => ErrorCode::InvalidSeek,
        libc::ETXTBSY => ErrorCode::TextFileBusy,
        libc::EXDEV => ErrorCode::CrossDevice,
        _ => ErrorCode::Io,
    }
}

// ---------------------------------------------------------------------------
// Preopened directories

/// The preopened directories, opened by [`open_preopens`]: each
/// `get-directories` call hands out new descriptors duplicated from these.
///
/// A static rather than a field of [`WasiHost`] so that the host state
/// keeps its plain `(host path, guest name)` list; a `Mutex` only to be
/// `Sync` (the host is single-threaded).
static PREOPENED: Mutex<Vec<(OwnedFd, String)>> = Mutex::new(Vec::new());

/// The `descriptor-flags` of a preopened directory: it may be read and its
/// contents changed.
const PREOPEN_FLAGS: DescriptorFlags = DescriptorFlags {
    bits: DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
};

/// Opens the preopened directories of `host` (relative host paths are
/// relative to the process's working directory).
///
/// # Errors
///
/// A message naming a directory that cannot be opened.
pub fn open_preopens(host: &mut WasiHost) -> Result<(), String> {
    let mut opened = Vec::with_capacity(host.preopens.len());
    for (host_path, guest_name) in &host.preopens {
        let dir = open_host_dir(host_path).map_err(|e| {
            format!(
                "cannot open preopened directory `{host_path}` (`{guest_name}` in the guest): {e}"
            )
        })?;
        opened.push((dir, guest_name.clone()));
    }
    *PREOPENED.lock().unwrap_or_else(PoisonError::into_inner) = opened;
    Ok(())
}

/// Opens directory `path` of the host, for reading.
fn open_host_dir(path: &str) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)?;
    Ok(OwnedFd::from(file))
}

// ---------------------------------------------------------------------------
// Path resolution

/// Resolution of guest paths beneath a base directory (the sandbox).
pub mod sandbox {
    use super::*;

    /// Most symbolic links one resolution expands (Linux's own limit);
    /// one more is `loop`.
    pub const MAX_SYMLINKS: usize = 40;

    /// Most `..` steps [`depth_below`] takes looking for the base.
    const MAX_DEPTH: usize = 4096;

    /// An `errno` value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Errno(pub i32);

    impl Errno {
        /// The calling thread's `errno`.
        pub fn last() -> Self {
            Errno(
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            )
        }
    }

    impl From<Errno> for ErrorCode {
        fn from(e: Errno) -> Self {
            errno_code(e.0)
        }
    }

    /// How directories beneath a base are opened.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Strategy {
        /// `openat2(2)` with `RESOLVE_BENEATH`, or [`Strategy::Manual`]
        /// when the kernel does not have it.
        Auto,
        /// Component by component, by hand.
        Manual,
    }

    /// Set once `openat2` said `ENOSYS` (kernels before 5.6, qemu-user).
    static NO_OPENAT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// A base directory that paths are resolved beneath.
    #[derive(Debug, Clone, Copy)]
    pub struct Beneath<'a> {
        /// The base directory.
        pub dir: BorrowedFd<'a>,
        /// How to open directories beneath it.
        pub strategy: Strategy,
    }

    /// The directory a [`Resolved`] path's last component is in.
    #[derive(Debug)]
    enum Parent<'a> {
        /// The base directory itself.
        Base(BorrowedFd<'a>),
        /// A directory beneath it (opened `O_PATH`).
        Owned(OwnedFd),
    }

    /// A path resolved beneath a base directory up to its last component.
    #[derive(Debug)]
    pub struct Resolved<'a> {
        parent: Parent<'a>,
        /// The last component: one name, without `/`, never `..`; `.`
        /// when the path names the parent directory itself.
        pub name: CString,
        /// Whether the path ended with `/`: the object must be a
        /// directory (and a symbolic link there was followed).
        pub must_be_dir: bool,
    }

    impl Resolved<'_> {
        /// The directory [`Resolved::name`] is in.
        pub fn dir(&self) -> BorrowedFd<'_> {
            match &self.parent {
                Parent::Base(fd) => *fd,
                Parent::Owned(fd) => fd.as_fd(),
            }
        }

        /// Whether the directory is the base directory itself.
        pub fn in_base(&self) -> bool {
            matches!(self.parent, Parent::Base(_))
        }

        /// Checks that the object exists and is a directory when the path
        /// ended with `/` (when it does not exist, the operation decides).
        pub fn check_dir(&self) -> Result<(), ErrorCode> {
            if !self.must_be_dir {
                return Ok(());
            }
            match fstatat(self.dir(), &self.name, libc::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if is_dir(&st) => Ok(()),
                Ok(_) => Err(ErrorCode::NotDirectory),
                Err(Errno(libc::ENOENT)) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
    }

    impl<'a> Beneath<'a> {
        /// `dir`, with [`Strategy::Auto`].
        pub fn new(dir: BorrowedFd<'a>) -> Self {
            Beneath {
                dir,
                strategy: Strategy::Auto,
            }
        }

        /// Resolves `path` up to its last component. When `follow` (or
        /// when the path ends with `/`), a symbolic link as last component
        /// is expanded (again and again), so the result never names one.
        ///
        /// # Errors
        ///
        /// `not-permitted` for an absolute path or one that leaves the base
        /// directory (by `..` or a symbolic link), `no-entry` for an empty
        /// one, `invalid` for one with a NUL, `loop` after
        /// [`MAX_SYMLINKS`] symbolic links, or the error of the system
        /// call that failed.
        pub fn resolve(self, path: &str) -> Result<Resolved<'a>, ErrorCode> {
            self.resolve_as(path, false)
        }

        /// [`Beneath::resolve`], following a last symbolic link when
        /// `follow`.
        pub fn resolve_as(self, path: &str, follow: bool) -> Result<Resolved<'a>, ErrorCode> {
            check_path(path.as_bytes())?;
            let mut path: Vec<u8> = path.as_bytes().to_vec();
            let mut must_be_dir = false;
            let mut links = 0;
            loop {
                let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
                must_be_dir |= end < path.len();
                let trimmed = &path[..end];
                if trimmed.is_empty() {
                    return Err(ErrorCode::NoEntry);
                }
                let (parent_path, name) = match trimmed.iter().rposition(|&b| b == b'/') {
                    Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
                    None => (&trimmed[..0], trimmed),
                };
                if name == b".." {
                    // The last component climbs: the object is that
                    // directory, named `.` in itself.
                    let dir = self.open_dir(trimmed)?;
                    return Ok(Resolved {
                        parent: Parent::Owned(dir),
                        name: c".".to_owned(),
                        must_be_dir: true,
                    });
                }
                let parent = if parent_path
                    .split(|&b| b == b'/')
                    .all(|c| c.is_empty() || c == b".")
                {
                    Parent::Base(self.dir)
                } else {
                    Parent::Owned(self.open_dir(parent_path)?)
                };
                let cname = cstring(name)?;
                let resolved = Resolved {
                    parent,
                    name: cname,
                    must_be_dir,
                };
                if (follow || must_be_dir) && name != b"." {
                    match readlinkat(resolved.dir(), &resolved.name) {
                        Ok(target) => {
                            links += 1;
                            if links > MAX_SYMLINKS {
                                return Err(ErrorCode::Loop);
                            }
                            if target.first() == Some(&b'/') {
                                return Err(ErrorCode::NotPermitted);
                            }
                            // The target is relative to the link's
                            // directory: resolve `parent/target` from the
                            // base again.
                            let mut next = parent_path.to_vec();
                            if !next.is_empty() {
                                next.push(b'/');
                            }
                            next.extend_from_slice(&target);
                            path = next;
                            continue;
                        }
                        // Not a symbolic link, or nothing there yet.
                        Err(Errno(libc::EINVAL | libc::ENOENT)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                return Ok(resolved);
            }
        }

        /// Opens directory `path` beneath the base (`O_PATH`), following
        /// symbolic links.
        ///
        /// # Errors
        ///
        /// As [`Beneath::resolve`]; `not-directory` when a component is
        /// not a directory.
        pub fn open_dir(self, path: &[u8]) -> Result<OwnedFd, ErrorCode> {
            check_path(path)?;
            if self.strategy == Strategy::Auto
                && !NO_OPENAT2.load(std::sync::atomic::Ordering::Relaxed)
            {
                match openat2_beneath(self.dir, path, libc::O_PATH | libc::O_DIRECTORY) {
                    Ok(fd) => return Ok(fd),
                    Err(Errno(libc::ENOSYS)) => {
                        NO_OPENAT2.store(true, std::sync::atomic::Ordering::Relaxed)
                    }
                    // A seccomp filter that does not know `openat2`, a
                    // kernel with another `open_how`, or renames racing
                    // the resolution: resolve by hand this time.
                    Err(Errno(libc::EPERM | libc::E2BIG | libc::EAGAIN)) => {}
                    Err(Errno(libc::EXDEV)) => return Err(ErrorCode::NotPermitted),
                    Err(e) => return Err(e.into()),
                }
            }
            self.open_dir_manual(path)
        }

        /// [`Beneath::open_dir`] component by component: `openat` with
        /// `O_PATH | O_NOFOLLOW` for each, symbolic links read and their
        /// targets put in front of the components left, and a stack of the
        /// directories entered that `..` pops (the kernel's `..` is never
        /// used, so neither a rename nor a bind mount can take the walk
        /// out).
        fn open_dir_manual(self, path: &[u8]) -> Result<OwnedFd, ErrorCode> {
            let mut todo: VecDeque<Vec<u8>> =
                path.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
            let mut stack: Vec<OwnedFd> = Vec::new();
            let mut links = 0;
            while let Some(component) = todo.pop_front() {
                match component.as_slice() {
                    b"" | b"." => {}
                    b".." => {
                        if stack.pop().is_none() {
                            return Err(ErrorCode::NotPermitted);
                        }
                    }
                    name => {
                        let cur = stack.last().map_or(self.dir, |fd| fd.as_fd());
                        let fd = openat(cur, &cstring(name)?, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
                        let st = fstat(fd.as_fd())?;
                        match st.st_mode & libc::S_IFMT {
                            libc::S_IFDIR => stack.push(fd),
                            libc::S_IFLNK => {
                                links += 1;
                                if links > MAX_SYMLINKS {
                                    return Err(ErrorCode::Loop);
                                }
                                let target = readlinkat(fd.as_fd(), c"")?;
                                if target.first() == Some(&b'/') {
                                    return Err(ErrorCode::NotPermitted);
                                }
                                for c in target.split(|&b| b == b'/').rev() {
                                    todo.push_front(c.to_vec());
                                }
                            }
                            _ => return Err(ErrorCode::NotDirectory),
                        }
                    }
                }
            }
            match stack.pop() {
                Some(fd) => Ok(fd),
                None => Ok(openat(self.dir, c".", libc::O_PATH | libc::O_DIRECTORY, 0)?),
            }
        }
    }

    /// Refuses an absolute path (`not-permitted`), an empty one
    /// (`no-entry`) and one with a NUL (`invalid`).
    fn check_path(path: &[u8]) -> Result<(), ErrorCode> {
        match path.first() {
            None => Err(ErrorCode::NoEntry),
            Some(b'/') => Err(ErrorCode::NotPermitted),
            Some(_) if path.contains(&0) => Err(ErrorCode::Invalid),
            Some(_) => Ok(()),
        }
    }

    /// `openat2(dir, path, flags | O_CLOEXEC)` with `RESOLVE_BENEATH`
    /// (and `RESOLVE_NO_MAGICLINKS`: no `/proc/self/fd` tricks).
    fn openat2_beneath(dir: BorrowedFd<'_>, path: &[u8], flags: c_int) -> Result<OwnedFd, Errno> {
        let path = CString::new(path).map_err(|_| Errno(libc::EINVAL))?;
        // SAFETY: `open_how` is plain integers; zero is "no flags".
        let mut how: libc::open_how = unsafe { core::mem::zeroed() };
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        let mut again = 0;
        loop {
            // SAFETY: a valid descriptor, C string and `open_how` of the
            // size passed.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    dir.as_raw_fd(),
                    path.as_ptr(),
                    &how as *const libc::open_how,
                    core::mem::size_of::<libc::open_how>(),
                )
            };
            if r >= 0 {
                // SAFETY: a new descriptor, owned by nothing else.
                return Ok(unsafe { OwnedFd::from_raw_fd(r as c_int) });
            }
            match Errno::last() {
                Errno(libc::EINTR) => {}
                Errno(libc::EAGAIN) if again < 8 => again += 1,
                e => return Err(e),
            }
        }
    }

    /// How many `..` steps lead from `dir` up to `base` (0 when `dir` is
    /// `base`).
    ///
    /// # Errors
    ///
    /// `not-permitted` when `base` is not above `dir` (found by walking
    /// `..` to the root), or the error of a system call.
    pub fn depth_below(base: BorrowedFd<'_>, dir: BorrowedFd<'_>) -> Result<usize, ErrorCode> {
        let key = |st: &libc::stat| (st.st_dev, st.st_ino);
        let base = key(&fstat(base)?);
        let mut up: Option<OwnedFd> = None;
        for depth in 0..MAX_DEPTH {
            let cur = up.as_ref().map_or(dir, |fd| fd.as_fd());
            let here = key(&fstat(cur)?);
            if here == base {
                return Ok(depth);
            }
            let parent = openat(cur, c"..", libc::O_PATH | libc::O_DIRECTORY, 0)?;
            if key(&fstat(parent.as_fd())?) == here {
                break;
            }
            up = Some(parent);
        }
        Err(ErrorCode::NotPermitted)
    }

    /// Whether symbolic link target `target`, in a directory `depth` levels
    /// below the base, stays beneath the base when read as a path (its own
    /// components are not resolved: resolution checks those when the link
    /// is followed).
    pub fn target_stays_beneath(target: &[u8], depth: usize) -> bool {
        if target.first() == Some(&b'/') {
            return false;
        }
        let mut level = depth;
        for c in target.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => match level.checked_sub(1) {
                    Some(l) => level = l,
                    None => return false,
                },
                _ => level += 1,
            }
        }
        true
    }
}

// ---------------------------------------------------------------------------
// System calls on descriptors, by name relative to a directory

/// `name` as a C string; `invalid` when it holds a NUL.
fn cstring(name: &[u8]) -> Result<CString, ErrorCode> {
    CString::new(name).map_err(|_| ErrorCode::Invalid)
}

/// Retries `f` while it fails with `EINTR`; `Ok` of a non-negative result.
fn retry(mut f: impl FnMut() -> c_int) -> Result<c_int, Errno> {
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
fn openat(
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
fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a valid out-pointer.
    retry(|| unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(dir, name, flags)`.
fn fstatat(dir: BorrowedFd<'_>, name: &CStr, flags: c_int) -> Result<libc::stat, Errno> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid descriptor, C string and out-pointer.
    retry(|| unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), flags) })?;
    // SAFETY: `fstatat` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `readlinkat(dir, name)`: the target of a symbolic link (`EINVAL` when
/// `name` is not one). With an empty `name`, `dir` is the link itself
/// (opened `O_PATH | O_NOFOLLOW`).
fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> Result<Vec<u8>, Errno> {
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
fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Whether `st` is a symbolic link's.
fn is_symlink(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// The `descriptor-type` of file mode `mode`.
fn descriptor_type(mode: libc::mode_t) -> DescriptorType {
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
fn datetime(seconds: i64, nanoseconds: i64) -> Option<Datetime> {
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
fn descriptor_stat(st: &libc::stat) -> DescriptorStat {
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
/// The result of a successful `stat-at` or `metadata-hash-at`, kept for
/// the next host call if it is one of the two, for the same descriptor,
/// path and flags: wasi-libc's `stat` makes this pair of calls
/// (`metadata-hash-at` for `st_ino` without following a last symbolic
/// link, then `stat-at` following it), and the second needs
/// no second `fstatat`. Answering it from the first is what one `fstatat`
/// at the time of the first call gives: the guest, which made no host call
/// between the two, cannot tell the difference (a change to the file
/// between them is a race it cannot order either way).
#[derive(Debug)]
pub struct LastStat {
    /// [`WasiHost::calls`] at the first call.
    call: u64,
    /// The descriptor's handle representation.
    descriptor: u32,
    path: String,
    follow: bool,
    /// Whether the path's last component is a symbolic link (if not,
    /// `stat` answers with `follow` either way).
    link: bool,
    stat: libc::stat,
}

fn metadata_hash(st: &libc::stat) -> MetadataHashValue {
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
fn timespec(t: NewTimestamp) -> Result<libc::timespec, ErrorCode> {
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

/// The `open(2)` flags and symlink-following of an `open-at` with
/// `path_flags`, `open_flags` and descriptor `flags`.
///
/// # Errors
///
/// `invalid` for `truncate` without `write`.
pub fn open_mode(
    path_flags: PathFlags,
    open_flags: OpenFlags,
    flags: DescriptorFlags,
) -> Result<(c_int, bool), ErrorCode> {
    let read = flags.contains(DescriptorFlags::READ);
    let write = flags.contains(DescriptorFlags::WRITE);
    let mut oflags = match (read, write) {
        (true, true) => libc::O_RDWR,
        (false, true) => libc::O_WRONLY,
        // Opening needs an access mode; a descriptor opened for neither
        // reads nor writes is opened for reading and refuses reads.
        (_, false) => libc::O_RDONLY,
    };
    if open_flags.contains(OpenFlags::CREATE) {
        oflags |= libc::O_CREAT;
    }
    if open_flags.contains(OpenFlags::DIRECTORY) {
        oflags |= libc::O_DIRECTORY;
    }
    if open_flags.contains(OpenFlags::EXCLUSIVE) {
        oflags |= libc::O_EXCL;
    }
    if open_flags.contains(OpenFlags::TRUNCATE) {
        if !write {
            return Err(ErrorCode::Invalid);
        }
        oflags |= libc::O_TRUNC;
    }
    if flags.contains(DescriptorFlags::FILE_INTEGRITY_SYNC) {
        oflags |= libc::O_SYNC;
    }
    if flags.contains(DescriptorFlags::DATA_INTEGRITY_SYNC) {
        oflags |= libc::O_DSYNC;
    }
    if flags.contains(DescriptorFlags::REQUESTED_WRITE_SYNC) {
        oflags |= libc::O_RSYNC;
    }
    // `create` with `exclusive` fails on anything there, a symbolic link
    // included (as `O_CREAT | O_EXCL` does).
    let exclusive =
        open_flags.contains(OpenFlags::CREATE) && open_flags.contains(OpenFlags::EXCLUSIVE);
    let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW) && !exclusive;
    Ok((oflags, follow))
}

/// Opens `path` beneath `at` with `open(2)` flags `oflags` (new files get
/// mode 0666 less the umask), following a last symbolic link when
/// `follow`.
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `openat` (`loop` for a last
/// symbolic link not followed).
pub fn open_at(
    at: Beneath<'_>,
    path: &str,
    follow: bool,
    oflags: c_int,
) -> Result<File, ErrorCode> {
    let open = |r: &sandbox::Resolved<'_>| {
        let mut oflags = oflags | libc::O_NOFOLLOW;
        if r.must_be_dir {
            oflags |= libc::O_DIRECTORY;
        }
        openat(r.dir(), &r.name, oflags, 0o666)
    };
    // The common case first: the last component opened as it is, without
    // a `readlinkat` to ask whether it is a symbolic link. `O_NOFOLLOW`
    // makes `openat` fail (and change nothing) when it is one: with
    // `ELOOP`, or `ENOTDIR` when a directory is asked for. Only then, when
    // it must be followed, is it expanded.
    let r = at.resolve(path)?;
    let directory = r.must_be_dir || oflags & libc::O_DIRECTORY != 0;
    match open(&r) {
        Err(Errno(e)) if follow && (e == libc::ELOOP || (e == libc::ENOTDIR && directory)) => {
            Ok(File::from(open(&at.resolve_as(path, true)?)?))
        }
        result => Ok(File::from(result?)),
    }
}

/// `stat-at`: the status of `path` beneath `at`.
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `fstatat`.
pub fn stat_at(at: Beneath<'_>, path: &str, follow: bool) -> Result<libc::stat, ErrorCode> {
    stat_at_link(at, path, follow).map(|(st, _)| st)
}

/// [`stat_at`], and whether the last component of `path` is a symbolic
/// link (when it is not, the `stat` is the same whether links are
/// followed or not).
fn stat_at_link(
    at: Beneath<'_>,
    path: &str,
    follow: bool,
) -> Result<(libc::stat, bool), ErrorCode> {
    // The common case in one system call: the last component is stated
    // as it is, without a `readlinkat` to ask whether it is a symbolic
    // link; only when it is one that must be followed is it expanded.
    let r = at.resolve(path)?;
    let mut st = fstatat(r.dir(), &r.name, libc::AT_SYMLINK_NOFOLLOW)?;
    let link = is_symlink(&st);
    if follow && link {
        let r = at.resolve_as(path, true)?;
        st = fstatat(r.dir(), &r.name, libc::AT_SYMLINK_NOFOLLOW)?;
    }
    if r.must_be_dir && !is_dir(&st) {
        return Err(ErrorCode::NotDirectory);
    }
    Ok((st, link))
}

/// `set-times-at`: sets the access and modification times of `path`.
///
/// # Errors
///
/// As [`Beneath::resolve`] and [`timespec`], or the error of `utimensat`.
pub fn set_times_at(
    at: Beneath<'_>,
    path: &str,
    follow: bool,
    atime: NewTimestamp,
    mtime: NewTimestamp,
) -> Result<(), ErrorCode> {
    let times = [timespec(atime)?, timespec(mtime)?];
    let r = at.resolve_as(path, follow)?;
    r.check_dir()?;
    // SAFETY: a valid descriptor, C string and two timespecs.
    retry(|| unsafe {
        libc::utimensat(
            r.dir().as_raw_fd(),
            r.name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(())
}

/// `create-directory-at`: makes directory `path` (mode 0777 less the
/// umask).
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `mkdirat`.
pub fn create_directory_at(at: Beneath<'_>, path: &str) -> Result<(), ErrorCode> {
    let r = at.resolve(path)?;
    // SAFETY: a valid descriptor and C string.
    retry(|| unsafe { libc::mkdirat(r.dir().as_raw_fd(), r.name.as_ptr(), 0o777) })?;
    Ok(())
}

/// `remove-directory-at`: removes empty directory `path`.
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `unlinkat` (`not-empty`).
pub fn remove_directory_at(at: Beneath<'_>, path: &str) -> Result<(), ErrorCode> {
    let r = at.resolve(path)?;
    // SAFETY: a valid descriptor and C string.
    retry(|| unsafe { libc::unlinkat(r.dir().as_raw_fd(), r.name.as_ptr(), libc::AT_REMOVEDIR) })?;
    Ok(())
}

/// `unlink-file-at`: removes non-directory `path` (a symbolic link itself,
/// not its target).
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `unlinkat` (`is-directory`).
pub fn unlink_file_at(at: Beneath<'_>, path: &str) -> Result<(), ErrorCode> {
    let r = at.resolve(path)?;
    r.check_dir()?;
    // SAFETY: a valid descriptor and C string.
    retry(|| unsafe { libc::unlinkat(r.dir().as_raw_fd(), r.name.as_ptr(), 0) })?;
    Ok(())
}

/// `readlink-at`: the target of symbolic link `path`.
///
/// # Errors
///
/// As [`Beneath::resolve`], `not-permitted` for an absolute target,
/// `illegal-byte-sequence` for one that is not UTF-8, or the error of
/// `readlinkat` (`invalid` when `path` is not a symbolic link).
pub fn readlink_at(at: Beneath<'_>, path: &str) -> Result<String, ErrorCode> {
    let r = at.resolve(path)?;
    let target = readlinkat(r.dir(), &r.name)?;
    if target.first() == Some(&b'/') {
        return Err(ErrorCode::NotPermitted);
    }
    String::from_utf8(target).map_err(|_| ErrorCode::IllegalByteSequence)
}

/// `symlink-at`: makes `path` a symbolic link to `target`.
///
/// # Errors
///
/// `not-permitted` for a `target` that is absolute or climbs above `at`
/// from where the link is; otherwise as [`Beneath::resolve`], or the error
/// of `symlinkat`.
pub fn symlink_at(at: Beneath<'_>, target: &str, path: &str) -> Result<(), ErrorCode> {
    if target.starts_with('/') {
        return Err(ErrorCode::NotPermitted);
    }
    let target_c = cstring(target.as_bytes())?;
    let r = at.resolve(path)?;
    if r.must_be_dir {
        return Err(exists_or_not(&r));
    }
    let depth = if r.in_base() {
        0
    } else {
        sandbox::depth_below(at.dir, r.dir())?
    };
    if !sandbox::target_stays_beneath(target.as_bytes(), depth) {
        return Err(ErrorCode::NotPermitted);
    }
    // SAFETY: a valid descriptor and C strings.
    retry(|| unsafe { libc::symlinkat(target_c.as_ptr(), r.dir().as_raw_fd(), r.name.as_ptr()) })?;
    Ok(())
}

/// The error of making a non-directory at a path ending with `/`: `exist`
/// when something is there, `no-entry` when not.
fn exists_or_not(r: &sandbox::Resolved<'_>) -> ErrorCode {
    match fstatat(r.dir(), &r.name, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(_) => ErrorCode::Exist,
        Err(Errno(libc::ENOENT)) => ErrorCode::NoEntry,
        Err(e) => e.into(),
    }
}

/// `link-at`: makes `new_path` beneath `new_at` a hard link to `old_path`
/// beneath `old_at` (to the target of a last symbolic link when `follow`).
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `linkat` (`not-permitted` for
/// a directory).
pub fn link_at(
    old_at: Beneath<'_>,
    old_path: &str,
    follow: bool,
    new_at: Beneath<'_>,
    new_path: &str,
) -> Result<(), ErrorCode> {
    let old = old_at.resolve_as(old_path, follow)?;
    old.check_dir()?;
    let new = new_at.resolve(new_path)?;
    if new.must_be_dir {
        return Err(exists_or_not(&new));
    }
    // SAFETY: valid descriptors and C strings.
    retry(|| unsafe {
        libc::linkat(
            old.dir().as_raw_fd(),
            old.name.as_ptr(),
            new.dir().as_raw_fd(),
            new.name.as_ptr(),
            0,
        )
    })?;
    Ok(())
}

/// `rename-at`: renames `old_path` beneath `old_at` to `new_path` beneath
/// `new_at`.
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `renameat`.
pub fn rename_at(
    old_at: Beneath<'_>,
    old_path: &str,
    new_at: Beneath<'_>,
    new_path: &str,
) -> Result<(), ErrorCode> {
    let old = old_at.resolve(old_path)?;
    old.check_dir()?;
    let new = new_at.resolve(new_path)?;
    if new.must_be_dir && !is_dir(&fstatat(old.dir(), &old.name, libc::AT_SYMLINK_NOFOLLOW)?) {
        // `new/` names a directory; `old` is not one.
        return Err(ErrorCode::NotDirectory);
    }
    // SAFETY: valid descriptors and C strings.
    retry(|| unsafe {
        libc::renameat(
            old.dir().as_raw_fd(),
            old.name.as_ptr(),
            new.dir().as_raw_fd(),
            new.name.as_ptr(),
        )
    })?;
    Ok(())
}

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

// ---------------------------------------------------------------------------
// The host

impl WasiHost {
    /// The `stat` of `path` under descriptor `descriptor` (following a
    /// last symbolic link when `follow`), from the [`LastStat`] of the host
    /// call just before when it was of the same, else from the system (and
    /// kept for the next call).
    ///
    /// # Errors
    ///
    /// As [`WasiHost::fs_descriptor`] (the outer result), and as [`stat_at`].
    fn stat_at_again(
        &mut self,
        descriptor: u32,
        path: String,
        follow: bool,
    ) -> HostResult<Result<libc::stat, ErrorCode>> {
        let (dir, _) = self.fs_descriptor(descriptor)?;
        if let Some(last) = self.last_stat.take()
            && last.call.wrapping_add(1) == self.calls
            && last.descriptor == descriptor
            && (last.follow == follow || !last.link)
            && last.path == path
        {
            return Ok(Ok(last.stat));
        }
        let st = stat_at_link(Beneath::new(dir.as_fd()), &path, follow);
        if let Ok((stat, link)) = &st {
            self.last_stat = Some(LastStat {
                call: self.calls,
                descriptor,
                path,
                follow,
                link: *link,
                stat: *stat,
            });
        }
        Ok(st.map(|(stat, _)| stat))
    }

    /// The file and flags of descriptor `rep`.
    pub fn fs_descriptor(&mut self, rep: u32) -> HostResult<(Rc<File>, DescriptorFlags)> {
        let d = self.table.descriptor(rep)?;
        Ok((d.file.clone(), d.flags))
    }

    /// Descriptor `rep`, which is about to change what is in it (needs
    /// `mutate-directory`, else `read-only`).
    fn fs_mutable(&mut self, rep: u32) -> HostResult<Result<Rc<File>, ErrorCode>> {
        let (file, flags) = self.fs_descriptor(rep)?;
        Ok(if flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            Ok(file)
        } else {
            Err(ErrorCode::ReadOnly)
        })
    }

    /// Descriptor `rep`, a file that is about to be read (needs `read`,
    /// else `bad-descriptor`) or written (`write`).
    pub fn fs_file(&mut self, rep: u32, needs: u64) -> HostResult<Result<Rc<File>, ErrorCode>> {
        let (file, flags) = self.fs_descriptor(rep)?;
        if !flags.contains(needs) {
            return Ok(Err(ErrorCode::BadDescriptor));
        }
        Ok(match fstat(file.as_fd()) {
            Ok(st) if is_dir(&st) => Err(ErrorCode::IsDirectory),
            Ok(_) => Ok(file),
            Err(e) => Err(e.into()),
        })
    }

    /// A new descriptor resource.
    fn fs_new_descriptor(
        &mut self,
        file: File,
        flags: DescriptorFlags,
    ) -> HostResult<Own<DescriptorRes>> {
        Ok(Own::new(self.table.push(Object::Descriptor(
            Descriptor {
                file: Rc::new(file),
                flags,
            },
        ))?))
    }
}

/// `?` for the `error-code` of a `wasi:filesystem` call inside a
/// `HostResult`.
macro_rules! fs_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(ErrorCode::from(e))),
        }
    };
}

impl wasi_filesystem_types::Host for WasiHost {
    fn method_descriptor_read_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> FsResult<Own<InputRes>> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::READ)?);
        let rep = self
            .table
            .push(Object::InputStream(InputStream::File { file, offset }))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_write_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> FsResult<Own<OutputRes>> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        let rep = self.table.push(Object::OutputStream(OutputStream::File {
            file,
            offset: Some(offset),
        }))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_append_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<Own<OutputRes>> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        let file = fs_try!(reopen_for_append(&file));
        let rep = self.table.push(Object::OutputStream(OutputStream::File {
            file: Rc::new(file),
            offset: None,
        }))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_advise(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
        length: u64,
        advice: Advice,
    ) -> FsResult<()> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        let advice = match advice {
            Advice::Normal => libc::POSIX_FADV_NORMAL,
            Advice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
            Advice::Random => libc::POSIX_FADV_RANDOM,
            Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
            Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
            Advice::NoReuse => libc::POSIX_FADV_NOREUSE,
        };
        let offset = fs_try!(i64::try_from(offset).map_err(|_| ErrorCode::Invalid));
        let length = fs_try!(i64::try_from(length).map_err(|_| ErrorCode::Invalid));
        // SAFETY: a valid descriptor; `posix_fadvise` returns the error.
        let e = unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, length, advice) };
        Ok(if e == 0 { Ok(()) } else { Err(errno_code(e)) })
    }

    fn method_descriptor_sync_data(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<()> {
        let (file, flags) = self.fs_descriptor(this.rep)?;
        Ok(sync_result(file.sync_data(), flags))
    }

    fn method_descriptor_get_flags(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<DescriptorFlags> {
        Ok(Ok(self.fs_descriptor(this.rep)?.1))
    }

    fn method_descriptor_get_type(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<DescriptorType> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        Ok(fstat(file.as_fd())
            .map(|st| descriptor_type(st.st_mode))
            .map_err(Into::into))
    }

    fn method_descriptor_set_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        size: u64,
    ) -> FsResult<()> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        if i64::try_from(size).is_err() {
            return Ok(Err(ErrorCode::FileTooLarge));
        }
        Ok(file.set_len(size).map_err(|e| error_code(&e)))
    }

    fn method_descriptor_set_times(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsResult<()> {
        let (file, flags) = self.fs_descriptor(this.rep)?;
        let st = fs_try!(fstat(file.as_fd()));
        // A directory's times change with `mutate-directory`, a file's with
        // `write`.
        if is_dir(&st) {
            if !flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
                return Ok(Err(ErrorCode::ReadOnly));
            }
        } else if !flags.contains(DescriptorFlags::WRITE) {
            return Ok(Err(ErrorCode::NotPermitted));
        }
        let times = [
            fs_try!(timespec(data_access_timestamp)),
            fs_try!(timespec(data_modification_timestamp)),
        ];
        // SAFETY: a valid descriptor and two timespecs.
        fs_try!(retry(|| unsafe {
            libc::futimens(file.as_raw_fd(), times.as_ptr())
        }));
        Ok(Ok(()))
    }

    fn method_descriptor_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        length: u64,
        offset: u64,
    ) -> FsResult<(Vec<u8>, bool)> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::READ)?);
        Ok(read_at(&file, length, offset))
    }

    fn method_descriptor_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        buffer: Vec<u8>,
        offset: u64,
    ) -> FsResult<u64> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        Ok(file
            .write_all_at(&buffer, offset)
            .map(|()| buffer.len() as u64)
            .map_err(|e| error_code(&e)))
    }

    fn method_descriptor_read_directory(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<Own<EntriesRes>> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        let entries = fs_try!(read_directory(file.as_fd()));
        let rep = self.table.push(Object::DirectoryEntries(entries))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_sync(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<()> {
        let (file, flags) = self.fs_descriptor(this.rep)?;
        Ok(sync_result(file.sync_all(), flags))
    }

    fn method_descriptor_create_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(create_directory_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_stat(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<DescriptorStat> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        Ok(fstat(file.as_fd())
            .map(|st| descriptor_stat(&st))
            .map_err(Into::into))
    }

    fn method_descriptor_stat_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<DescriptorStat> {
        let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(self
            .stat_at_again(this.rep, path, follow)?
            .map(|st| descriptor_stat(&st)))
    }

    fn method_descriptor_set_times_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(set_times_at(
            Beneath::new(dir.as_fd()),
            &path,
            follow,
            data_access_timestamp,
            data_modification_timestamp,
        ))
    }

    fn method_descriptor_link_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> FsResult<()> {
        let (old_dir, _) = self.fs_descriptor(this.rep)?;
        let new_dir = fs_try!(self.fs_mutable(new_descriptor.rep)?);
        let follow = old_path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(link_at(
            Beneath::new(old_dir.as_fd()),
            &old_path,
            follow,
            Beneath::new(new_dir.as_fd()),
            &new_path,
        ))
    }

    fn method_descriptor_open_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Own<DescriptorRes>> {
        let (dir, dir_flags) = self.fs_descriptor(this.rep)?;
        let mutates = flags.contains(DescriptorFlags::WRITE)
            || flags.contains(DescriptorFlags::MUTATE_DIRECTORY)
            || open_flags.contains(OpenFlags::CREATE)
            || open_flags.contains(OpenFlags::TRUNCATE);
        if mutates && !dir_flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            return Ok(Err(ErrorCode::ReadOnly));
        }
        let (oflags, follow) = fs_try!(open_mode(path_flags, open_flags, flags));
        let file = fs_try!(open_at(Beneath::new(dir.as_fd()), &path, follow, oflags));
        // A directory opened under a mutable one may be changed too, as
        // POSIX programs expect (wasi-libc opens subdirectories with
        // `read` alone, then removes entries in them), and as wasmtime
        // does.
        let mut flags = flags;
        if let Ok(st) = fstat(file.as_fd())
            && st.st_mode & libc::S_IFMT == libc::S_IFDIR
            && dir_flags.contains(DescriptorFlags::MUTATE_DIRECTORY)
        {
            flags.bits |= DescriptorFlags::MUTATE_DIRECTORY;
        }
        Ok(Ok(self.fs_new_descriptor(file, flags)?))
    }

    fn method_descriptor_readlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<String> {
        let (dir, _) = self.fs_descriptor(this.rep)?;
        Ok(readlink_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_remove_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(remove_directory_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_rename_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> FsResult<()> {
        let old_dir = fs_try!(self.fs_mutable(this.rep)?);
        let new_dir = fs_try!(self.fs_mutable(new_descriptor.rep)?);
        Ok(rename_at(
            Beneath::new(old_dir.as_fd()),
            &old_path,
            Beneath::new(new_dir.as_fd()),
            &new_path,
        ))
    }

    fn method_descriptor_symlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(symlink_at(Beneath::new(dir.as_fd()), &old_path, &new_path))
    }

    fn method_descriptor_unlink_file_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(unlink_file_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_is_same_object(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        other: Borrow<DescriptorRes>,
    ) -> HostResult<bool> {
        let (a, _) = self.fs_descriptor(this.rep)?;
        let (b, _) = self.fs_descriptor(other.rep)?;
        Ok(match (fstat(a.as_fd()), fstat(b.as_fd())) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        })
    }

    fn method_descriptor_metadata_hash(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<MetadataHashValue> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        Ok(fstat(file.as_fd())
            .map(|st| metadata_hash(&st))
            .map_err(Into::into))
    }

    fn method_descriptor_metadata_hash_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(self
            .stat_at_again(this.rep, path, follow)?
            .map(|st| metadata_hash(&st)))
    }

    fn method_directory_entry_stream_read_directory_entry(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<EntriesRes>,
    ) -> FsResult<Option<DirectoryEntry>> {
        let entries = self.table.directory_entries(this.rep)?;
        Ok(match entries.entries.pop_front() {
            None => Ok(None),
            Some(Ok((type_, name))) => Ok(Some(DirectoryEntry { type_, name })),
            Some(Err(e)) => Err(e),
        })
    }

    fn filesystem_error_code(
        &mut self,
        _: &mut Cx<'_>,
        err: Borrow<ErrorRes>,
    ) -> HostResult<Option<ErrorCode>> {
        match self.table.get(err.rep)? {
            Object::Error { code, .. } => Ok(*code),
            _ => Err(crate::table::wrong_type(err.rep, "error")),
        }
    }
}

/// The result of `fsync`/`fdatasync` on a descriptor with `flags`: on one
/// not opened for writing, a failure is no failure ("succeeds with no
/// effect").
fn sync_result(result: std::io::Result<()>, flags: DescriptorFlags) -> Result<(), ErrorCode> {
    match result {
        Ok(()) => Ok(()),
        Err(_) if !flags.contains(DescriptorFlags::WRITE) => Ok(()),
        Err(e) => Err(error_code(&e)),
    }
}

impl wasi_filesystem_preopens::Host for WasiHost {
    fn get_directories(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<(Own<DescriptorRes>, String)>> {
        let copies = {
            let preopened = PREOPENED.lock().unwrap_or_else(PoisonError::into_inner);
            preopened
                .iter()
                .map(|(fd, name)| fd.try_clone().map(|fd| (File::from(fd), name.clone())))
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| {
                    HostTrap::Message(format!("cannot duplicate a preopened directory: {e}"))
                })?
        };
        copies
            .into_iter()
            .map(|(file, name)| Ok((self.fs_new_descriptor(file, PREOPEN_FLAGS)?, name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::sandbox::Strategy;
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    /// A directory under the system's temporary directory, removed when
    /// dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "smelt-wasi-fs-{test}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A sandbox: `root/sandbox`, with `root/outside.txt` next to it, and
    /// `sandbox/a/`, `sandbox/b/file.txt`, `sandbox/link-b -> b`,
    /// `sandbox/a/up -> ../b`, `sandbox/etc -> /etc`,
    /// `sandbox/escape -> ../outside.txt`, `sandbox/a/far -> ../../outside.txt`,
    /// `sandbox/self -> self`.
    fn sandbox(test: &str) -> (TempDir, File) {
        let root = TempDir::new(test);
        let sb = root.0.join("sandbox");
        std::fs::create_dir_all(sb.join("a")).unwrap();
        std::fs::create_dir_all(sb.join("b")).unwrap();
        std::fs::write(sb.join("b/file.txt"), b"inside").unwrap();
        std::fs::write(root.0.join("outside.txt"), b"outside").unwrap();
        symlink("b", sb.join("link-b")).unwrap();
        symlink("../b", sb.join("a/up")).unwrap();
        symlink("/etc", sb.join("etc")).unwrap();
        symlink("../outside.txt", sb.join("escape")).unwrap();
        symlink("../../outside.txt", sb.join("a/far")).unwrap();
        symlink("self", sb.join("self")).unwrap();
        let dir = File::from(open_host_dir(sb.to_str().unwrap()).unwrap());
        (root, dir)
    }

    const STRATEGIES: [Strategy; 2] = [Strategy::Auto, Strategy::Manual];

    fn at(dir: &File, strategy: Strategy) -> Beneath<'_> {
        Beneath {
            dir: dir.as_fd(),
            strategy,
        }
    }

    fn read(
        dir: &File,
        strategy: Strategy,
        path: &str,
        follow: bool,
    ) -> Result<Vec<u8>, ErrorCode> {
        let file = open_at(at(dir, strategy), path, follow, libc::O_RDONLY)?;
        let (bytes, _) = read_at(&file, 100, 0)?;
        Ok(bytes)
    }

    #[test]
    fn dot_dot_cannot_leave_the_sandbox() {
        let (_root, dir) = sandbox("dotdot");
        for s in STRATEGIES {
            assert_eq!(
                read(&dir, s, "../outside.txt", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "a/../../outside.txt", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "b/../../sandbox/b/file.txt", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                stat_at(at(&dir, s), "..", true).err(),
                Some(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                stat_at(at(&dir, s), "a/../..", true).err(),
                Some(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                create_directory_at(at(&dir, s), "../made"),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
        }
        assert!(!_root.0.join("made").exists());
    }

    #[test]
    fn absolute_paths_are_refused() {
        let (root, dir) = sandbox("absolute");
        let outside = root.0.join("outside.txt");
        for s in STRATEGIES {
            assert_eq!(
                read(&dir, s, outside.to_str().unwrap(), true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                stat_at(at(&dir, s), "/etc/passwd", false).err(),
                Some(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                unlink_file_at(at(&dir, s), outside.to_str().unwrap()),
                Err(ErrorCode::NotPermitted)
            );
        }
        assert!(outside.exists());
    }

    #[test]
    fn symlinks_out_of_the_sandbox_are_refused() {
        let (root, dir) = sandbox("symlink-out");
        for s in STRATEGIES {
            // An absolute target, as the last component and in the middle.
            assert_eq!(
                read(&dir, s, "etc", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "etc/passwd", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "etc/", false),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                stat_at(at(&dir, s), "etc/hostname", false).err(),
                Some(ErrorCode::NotPermitted)
            );
            assert_eq!(
                stat_at(at(&dir, s), "etc", true).err(),
                Some(ErrorCode::NotPermitted),
                "{s:?}"
            );
            // A relative target that climbs out.
            assert_eq!(
                read(&dir, s, "escape", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "a/far", true),
                Err(ErrorCode::NotPermitted),
                "{s:?}"
            );
            // Not following the last link: it is the link itself.
            assert_eq!(read(&dir, s, "etc", false), Err(ErrorCode::Loop), "{s:?}");
            let st = stat_at(at(&dir, s), "etc", false).unwrap();
            assert_eq!(descriptor_type(st.st_mode), DescriptorType::SymbolicLink);
            // Writing through the link does not reach outside either.
            let r = open_at(at(&dir, s), "escape", true, libc::O_WRONLY | libc::O_TRUNC);
            assert_eq!(r.err(), Some(ErrorCode::NotPermitted), "{s:?}");
            // A link to itself.
            assert_eq!(read(&dir, s, "self", true), Err(ErrorCode::Loop), "{s:?}");
            assert_eq!(read(&dir, s, "self/x", true), Err(ErrorCode::Loop), "{s:?}");
        }
        assert_eq!(
            std::fs::read(root.0.join("outside.txt")).unwrap(),
            b"outside"
        );
    }

    #[test]
    fn symlinks_inside_the_sandbox_are_followed() {
        let (_root, dir) = sandbox("symlink-in");
        for s in STRATEGIES {
            assert_eq!(
                read(&dir, s, "link-b/file.txt", true).unwrap(),
                b"inside",
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "link-b/file.txt", false).unwrap(),
                b"inside",
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "a/up/file.txt", false).unwrap(),
                b"inside",
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "link-b/../b/file.txt", false).unwrap(),
                b"inside",
                "{s:?}"
            );
            let st = stat_at(at(&dir, s), "a/up", true).unwrap();
            assert_eq!(
                descriptor_type(st.st_mode),
                DescriptorType::Directory,
                "{s:?}"
            );
            let st = stat_at(at(&dir, s), "link-b/", false).unwrap();
            assert_eq!(
                descriptor_type(st.st_mode),
                DescriptorType::Directory,
                "{s:?}"
            );
        }
        // A link to a file, followed as the last component.
        symlink("b/file.txt", _root.0.join("sandbox/to-file")).unwrap();
        for s in STRATEGIES {
            assert_eq!(read(&dir, s, "to-file", true).unwrap(), b"inside", "{s:?}");
            assert_eq!(readlink_at(at(&dir, s), "to-file").unwrap(), "b/file.txt");
        }
    }

    #[test]
    fn a_last_symbolic_link_is_followed_only_when_asked() {
        let (root, dir) = sandbox("last-link");
        let sb = root.0.join("sandbox");
        symlink("b/file.txt", sb.join("to-file")).unwrap();
        symlink("b/new.txt", sb.join("dangling")).unwrap();
        symlink("../created.txt", sb.join("dangling-out")).unwrap();
        let create = libc::O_WRONLY | libc::O_CREAT;
        for s in STRATEGIES {
            let kind = |path, follow| {
                stat_at(at(&dir, s), path, follow).map(|st| descriptor_type(st.st_mode))
            };
            assert_eq!(kind("to-file", true), Ok(DescriptorType::RegularFile));
            assert_eq!(kind("to-file", false), Ok(DescriptorType::SymbolicLink));
            assert_eq!(kind("b/file.txt", true), Ok(DescriptorType::RegularFile));
            assert_eq!(kind("dangling", true), Err(ErrorCode::NoEntry));
            assert_eq!(kind("escape", true), Err(ErrorCode::NotPermitted));
            assert_eq!(kind("escape", false), Ok(DescriptorType::SymbolicLink));
            // Creating through a link creates its target, beneath the base
            // only.
            open_at(at(&dir, s), "dangling", true, create).unwrap();
            assert!(sb.join("b/new.txt").is_file(), "{s:?}");
            std::fs::remove_file(sb.join("b/new.txt")).unwrap();
            let r = open_at(at(&dir, s), "dangling-out", true, create);
            assert_eq!(r.err(), Some(ErrorCode::NotPermitted), "{s:?}");
            let r = open_at(at(&dir, s), "dangling", false, create);
            assert_eq!(r.err(), Some(ErrorCode::Loop), "{s:?}");
            // Directories through a link: inside, and out of the base.
            let dir_flags = libc::O_RDONLY | libc::O_DIRECTORY;
            open_at(at(&dir, s), "link-b", true, dir_flags).unwrap();
            let r = open_at(at(&dir, s), "etc", true, dir_flags);
            assert_eq!(r.err(), Some(ErrorCode::NotPermitted), "{s:?}");
            let r = open_at(at(&dir, s), "b/file.txt", true, dir_flags);
            assert_eq!(r.err(), Some(ErrorCode::NotDirectory), "{s:?}");
        }
        assert!(!root.0.join("created.txt").exists());
        assert!(!sb.join("b/new.txt").exists());
    }

    #[test]
    fn dot_dot_inside_the_sandbox_is_allowed() {
        let (_root, dir) = sandbox("dotdot-in");
        for s in STRATEGIES {
            assert_eq!(
                read(&dir, s, "a/../b/file.txt", true).unwrap(),
                b"inside",
                "{s:?}"
            );
            assert_eq!(
                read(&dir, s, "./a/./../b//file.txt", true).unwrap(),
                b"inside",
                "{s:?}"
            );
            let st = stat_at(at(&dir, s), "a/..", false).unwrap();
            assert_eq!(
                descriptor_type(st.st_mode),
                DescriptorType::Directory,
                "{s:?}"
            );
            let st = stat_at(at(&dir, s), ".", false).unwrap();
            assert_eq!(
                descriptor_type(st.st_mode),
                DescriptorType::Directory,
                "{s:?}"
            );
        }
    }

    #[test]
    fn mutations_stay_inside() {
        for strategy in STRATEGIES {
            mutations_stay_inside_with(strategy);
        }
    }

    fn mutations_stay_inside_with(strategy: Strategy) {
        let (root, dir) = sandbox("mutations");
        let sb = root.0.join("sandbox");
        let s = at(&dir, strategy);
        create_directory_at(s, "a/new").unwrap();
        assert!(sb.join("a/new").is_dir());
        assert_eq!(create_directory_at(s, "a/new"), Err(ErrorCode::Exist));
        let f = open_at(
            s,
            "a/new/f.txt",
            false,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
        )
        .unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        assert_eq!(
            open_at(
                s,
                "a/new/f.txt",
                false,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL
            )
            .err(),
            Some(ErrorCode::Exist)
        );
        assert_eq!(remove_directory_at(s, "a/new"), Err(ErrorCode::NotEmpty));
        assert_eq!(
            rename_at(s, "a/new/f.txt", s, "b/g.txt/"),
            Err(ErrorCode::NotDirectory)
        );
        rename_at(s, "a/new/f.txt", s, "b/g.txt").unwrap();
        assert_eq!(std::fs::read(sb.join("b/g.txt")).unwrap(), b"hello");
        link_at(s, "b/g.txt", false, s, "a/h.txt").unwrap();
        assert_eq!(stat_at(s, "a/h.txt", false).unwrap().st_nlink, 2);
        assert_eq!(unlink_file_at(s, "a"), Err(ErrorCode::IsDirectory));
        assert_eq!(unlink_file_at(s, "b/g.txt/"), Err(ErrorCode::NotDirectory));
        unlink_file_at(s, "b/g.txt").unwrap();
        remove_directory_at(s, "a/new").unwrap();
        // Unlinking a symbolic link removes the link, not its target.
        unlink_file_at(s, "escape").unwrap();
        assert!(root.0.join("outside.txt").exists());
        // Symbolic links: absolute and escaping targets are refused.
        assert_eq!(symlink_at(s, "/etc", "l"), Err(ErrorCode::NotPermitted));
        assert_eq!(
            symlink_at(s, "../outside.txt", "l"),
            Err(ErrorCode::NotPermitted)
        );
        assert_eq!(
            symlink_at(s, "../../outside.txt", "a/l"),
            Err(ErrorCode::NotPermitted)
        );
        symlink_at(s, "../b/file.txt", "a/l").unwrap();
        assert_eq!(read(&dir, strategy, "a/l", true).unwrap(), b"inside");
        assert_eq!(readlink_at(s, "a/l").unwrap(), "../b/file.txt");
        assert_eq!(readlink_at(s, "etc"), Err(ErrorCode::NotPermitted));
        // Creating through a dangling link inside the sandbox.
        symlink_at(s, "b/created.txt", "dangling").unwrap();
        open_at(s, "dangling", true, libc::O_WRONLY | libc::O_CREAT).unwrap();
        assert!(sb.join("b/created.txt").exists());
    }

    #[test]
    fn directory_listing_skips_dot_entries() {
        let (_root, dir) = sandbox("listing");
        let entries = read_directory(dir.as_fd()).unwrap();
        let names: Vec<(DescriptorType, String)> =
            entries.entries.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            names,
            [
                (DescriptorType::Directory, "a".to_string()),
                (DescriptorType::Directory, "b".to_string()),
                (DescriptorType::SymbolicLink, "escape".to_string()),
                (DescriptorType::SymbolicLink, "etc".to_string()),
                (DescriptorType::SymbolicLink, "link-b".to_string()),
                (DescriptorType::SymbolicLink, "self".to_string()),
            ]
        );
        let file = open_at(
            Beneath::new(dir.as_fd()),
            "b/file.txt",
            false,
            libc::O_RDONLY,
        )
        .unwrap();
        assert_eq!(
            read_directory(file.as_fd()).err(),
            Some(ErrorCode::NotDirectory)
        );
    }

    #[test]
    fn open_flags_map_to_open_2() {
        let flags = |bits| DescriptorFlags { bits };
        let (o, follow) = open_mode(
            PathFlags {
                bits: PathFlags::SYMLINK_FOLLOW,
            },
            OpenFlags {
                bits: OpenFlags::CREATE | OpenFlags::TRUNCATE,
            },
            flags(DescriptorFlags::READ | DescriptorFlags::WRITE),
        )
        .unwrap();
        assert_eq!(o, libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC);
        assert!(follow);
        let (_, follow) = open_mode(
            PathFlags {
                bits: PathFlags::SYMLINK_FOLLOW,
            },
            OpenFlags {
                bits: OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
            },
            flags(DescriptorFlags::WRITE),
        )
        .unwrap();
        assert!(!follow);
        assert_eq!(
            open_mode(
                PathFlags::default(),
                OpenFlags {
                    bits: OpenFlags::TRUNCATE
                },
                flags(DescriptorFlags::READ)
            ),
            Err(ErrorCode::Invalid)
        );
    }

    #[test]
    fn symlink_targets_are_checked_against_the_depth() {
        use sandbox::target_stays_beneath as ok;
        assert!(ok(b"a/b", 0));
        assert!(ok(b"a/../b", 0));
        assert!(!ok(b"../b", 0));
        assert!(ok(b"../b", 1));
        assert!(!ok(b"a/../../b", 0));
        assert!(!ok(b"/etc", 5));
    }

    #[test]
    fn a_stat_serves_only_the_next_call_for_the_same_path() {
        let root = TempDir::new("last-stat");
        std::fs::write(root.0.join("a"), "a").unwrap();
        std::fs::write(root.0.join("b"), "bb").unwrap();
        symlink("a", root.0.join("link")).unwrap();
        let mut host = WasiHost {
            table: Default::default(),
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            calls: 0,
            last_stat: None,
            network: Default::default(),
        };
        let dir = File::open(&root.0).unwrap();
        let rep = host
            .table
            .push(Object::Descriptor(Descriptor {
                file: Rc::new(dir),
                flags: PREOPEN_FLAGS,
            }))
            .unwrap();
        // One host call: what each shim's `host()` counts.
        let stat = |host: &mut WasiHost, path: &str, follow: bool| {
            host.calls += 1;
            host.stat_at_again(rep, path.into(), follow)
                .unwrap()
                .unwrap()
        };
        let size = |st: libc::stat| st.st_size;
        assert_eq!(size(stat(&mut host, "a", false)), 1);
        // The file changes; the next call for it still answers from the
        // first (one `fstatat` at the time of the first would have).
        std::fs::write(root.0.join("a"), "aaa").unwrap();
        assert_eq!(
            size(stat(&mut host, "a", true)),
            1,
            "not a link: either follow"
        );
        // Reused once only; another path, or another call between, stats.
        assert_eq!(size(stat(&mut host, "a", false)), 3);
        assert_eq!(size(stat(&mut host, "b", false)), 2);
        std::fs::write(root.0.join("a"), "aaaa").unwrap();
        assert_eq!(size(stat(&mut host, "a", false)), 4, "another path before");
        std::fs::write(root.0.join("a"), "aaaaa").unwrap();
        host.calls += 1;
        assert_eq!(
            size(stat(&mut host, "a", false)),
            5,
            "another host call before"
        );
        // A symbolic link: the link's own `stat` does not answer for its
        // target.
        let link = stat(&mut host, "link", false);
        assert!(is_symlink(&link));
        assert_eq!(size(stat(&mut host, "link", true)), 5);
    }

    #[test]
    fn preopens_name_a_missing_directory() {
        let mut host = WasiHost {
            table: Default::default(),
            args: Vec::new(),
            env: Vec::new(),
            preopens: vec![("/nonexistent/smelt-test-dir".into(), "data".into())],
            calls: 0,
            last_stat: None,
            network: Default::default(),
        };
        let e = open_preopens(&mut host).unwrap_err();
        assert!(e.contains("/nonexistent/smelt-test-dir"), "{e}");
    }
}
