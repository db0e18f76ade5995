//! Resolution of guest paths beneath a base directory (the sandbox).

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::c_int;

use super::errno::Errno;
use super::sys::*;

/// Most symbolic links one resolution expands (Linux's own limit);
/// one more is `loop`.
pub const MAX_SYMLINKS: usize = 40;

/// Most `..` steps [`depth_below`] takes looking for the base.
const MAX_DEPTH: usize = 4096;

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
    pub fn check_dir(&self) -> Result<(), Errno> {
        if !self.must_be_dir {
            return Ok(());
        }
        match fstatat(self.dir(), &self.name, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if is_dir(&st) => Ok(()),
            Ok(_) => Err(Errno(libc::ENOTDIR)),
            Err(Errno(libc::ENOENT)) => Ok(()),
            Err(e) => Err(e),
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
    pub fn resolve(self, path: &[u8]) -> Result<Resolved<'a>, Errno> {
        self.resolve_as(path, false)
    }

    /// [`Beneath::resolve`], following a last symbolic link when
    /// `follow`.
    pub fn resolve_as(self, path: &[u8], follow: bool) -> Result<Resolved<'a>, Errno> {
        check_path(path)?;
        let mut path: Vec<u8> = path.to_vec();
        let mut must_be_dir = false;
        let mut links = 0;
        loop {
            let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
            must_be_dir |= end < path.len();
            let trimmed = &path[..end];
            if trimmed.is_empty() {
                return Err(Errno(libc::ENOENT));
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
                            return Err(Errno(libc::ELOOP));
                        }
                        if target.first() == Some(&b'/') {
                            return Err(Errno(libc::EPERM));
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
                    Err(e) => return Err(e),
                }
            }
            return Ok(resolved);
        }
    }

    /// Opens `path` beneath the base with `open(2)` flags `flags` (and
    /// `O_CLOEXEC`; `mode` for a file it creates) in one system call:
    /// `openat2` with `RESOLVE_BENEATH`, which the kernel resolves, symbolic
    /// links included (a last one unless `flags` has `O_NOFOLLOW`),
    /// failing with `EXDEV` where the path leaves the base. `None` when the
    /// kernel cannot (no `openat2`, a seccomp filter refusing it, renames
    /// racing): the caller resolves by hand.
    ///
    /// # Errors
    ///
    /// `EPERM` (`not-permitted`) for a path that leaves the base, `ENOENT`
    /// for an empty one, `EINVAL` for one with a NUL; otherwise the error
    /// of `openat2`.
    pub fn open(self, path: &[u8], flags: c_int, mode: u64) -> Option<Result<OwnedFd, Errno>> {
        if let Err(e) = check_path(path) {
            return Some(Err(e));
        }
        if self.strategy != Strategy::Auto || NO_OPENAT2.load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        match openat2_beneath(self.dir, path, flags, mode) {
            Ok(fd) => Some(Ok(fd)),
            Err(Errno(libc::ENOSYS)) => {
                NO_OPENAT2.store(true, std::sync::atomic::Ordering::Relaxed);
                None
            }
            // As in `open_dir`; a real `EPERM` comes again by hand.
            Err(Errno(libc::EPERM | libc::E2BIG | libc::EAGAIN)) => None,
            Err(Errno(libc::EXDEV)) => Some(Err(Errno(libc::EPERM))),
            Err(e) => Some(Err(e)),
        }
    }

    /// Opens directory `path` beneath the base (`O_PATH`), following
    /// symbolic links.
    ///
    /// # Errors
    ///
    /// As [`Beneath::resolve`]; `not-directory` when a component is
    /// not a directory.
    pub fn open_dir(self, path: &[u8]) -> Result<OwnedFd, Errno> {
        check_path(path)?;
        if self.strategy == Strategy::Auto && !NO_OPENAT2.load(std::sync::atomic::Ordering::Relaxed)
        {
            match openat2_beneath(self.dir, path, libc::O_PATH | libc::O_DIRECTORY, 0) {
                Ok(fd) => return Ok(fd),
                Err(Errno(libc::ENOSYS)) => {
                    NO_OPENAT2.store(true, std::sync::atomic::Ordering::Relaxed)
                }
                // A seccomp filter that does not know `openat2`, a
                // kernel with another `open_how`, or renames racing
                // the resolution: resolve by hand this time.
                Err(Errno(libc::EPERM | libc::E2BIG | libc::EAGAIN)) => {}
                Err(Errno(libc::EXDEV)) => return Err(Errno(libc::EPERM)),
                Err(e) => return Err(e),
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
    fn open_dir_manual(self, path: &[u8]) -> Result<OwnedFd, Errno> {
        let mut todo: VecDeque<Vec<u8>> = path.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut links = 0;
        while let Some(component) = todo.pop_front() {
            match component.as_slice() {
                b"" | b"." => {}
                b".." => {
                    if stack.pop().is_none() {
                        return Err(Errno(libc::EPERM));
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
                                return Err(Errno(libc::ELOOP));
                            }
                            let target = readlinkat(fd.as_fd(), c"")?;
                            if target.first() == Some(&b'/') {
                                return Err(Errno(libc::EPERM));
                            }
                            for c in target.split(|&b| b == b'/').rev() {
                                todo.push_front(c.to_vec());
                            }
                        }
                        _ => return Err(Errno(libc::ENOTDIR)),
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
fn check_path(path: &[u8]) -> Result<(), Errno> {
    match path.first() {
        None => Err(Errno(libc::ENOENT)),
        Some(b'/') => Err(Errno(libc::EPERM)),
        Some(_) if path.contains(&0) => Err(Errno(libc::EINVAL)),
        Some(_) => Ok(()),
    }
}

/// `openat2(dir, path, flags | O_CLOEXEC)` with `RESOLVE_BENEATH`
/// (and `RESOLVE_NO_MAGICLINKS`: no `/proc/self/fd` tricks).
fn openat2_beneath(
    dir: BorrowedFd<'_>,
    path: &[u8],
    flags: c_int,
    mode: u64,
) -> Result<OwnedFd, Errno> {
    let path = CString::new(path).map_err(|_| Errno(libc::EINVAL))?;
    // SAFETY: `open_how` is plain integers; zero is "no flags".
    let mut how: libc::open_how = unsafe { core::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    // `openat2` refuses a mode without a file to create.
    // (`O_TMPFILE` includes `O_DIRECTORY`'s bit.)
    if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        how.mode = mode;
    }
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
pub fn depth_below(base: BorrowedFd<'_>, dir: BorrowedFd<'_>) -> Result<usize, Errno> {
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
    Err(Errno(libc::EPERM))
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
