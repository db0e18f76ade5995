//! Operations on paths beneath a directory.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};

use libc::c_int;

use super::errno::Errno;
use super::sandbox::{self, Beneath};
use super::sys::*;
use super::types::{Flags, OpenFlags, SetTime};

/// The `open(2)` flags and symlink-following of an `open-at` that follows
/// a last symbolic link when `follow`, with `open_flags`, for a descriptor
/// with `flags` (the flags it gets, [`super::opened_flags`]).
pub fn open_mode(follow: bool, open_flags: OpenFlags, flags: Flags) -> (c_int, bool) {
    let read = flags.contains(Flags::READ);
    let write = flags.contains(Flags::WRITE);
    let mut oflags = match (read, write) {
        (true, true) => libc::O_RDWR,
        (false, true) => libc::O_WRONLY,
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
        oflags |= libc::O_TRUNC;
    }
    if flags.contains(Flags::FILE_INTEGRITY_SYNC) {
        oflags |= libc::O_SYNC;
    }
    if flags.contains(Flags::DATA_INTEGRITY_SYNC) {
        oflags |= libc::O_DSYNC;
    }
    if flags.contains(Flags::REQUESTED_WRITE_SYNC) {
        oflags |= libc::O_RSYNC;
    }
    // `create` with `exclusive` fails on anything there, a symbolic link
    // included (as `O_CREAT | O_EXCL` does).
    let exclusive =
        open_flags.contains(OpenFlags::CREATE) && open_flags.contains(OpenFlags::EXCLUSIVE);
    (oflags, follow && !exclusive)
}

/// Opens `path` beneath `at` with `open(2)` flags `oflags` (new files get
/// mode 0666 less the umask), following a last symbolic link when
/// `follow`.
///
/// # Errors
///
/// As [`Beneath::resolve`], or the error of `openat` (`loop` for a last
/// symbolic link not followed).
pub fn open_at(at: Beneath<'_>, path: &[u8], follow: bool, oflags: c_int) -> Result<File, Errno> {
    // One `openat2` where the kernel has it.
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    if let Some(opened) = at.open(path, oflags | nofollow | libc::O_NOCTTY, 0o666) {
        return opened.map(File::from);
    }
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
pub fn stat_at(at: Beneath<'_>, path: &[u8], follow: bool) -> Result<libc::stat, Errno> {
    stat_at_link(at, path, follow).map(|(st, _)| st)
}

/// [`stat_at`], and whether the last component of `path` is a symbolic
/// link (when it is not, the `stat` is the same whether links are
/// followed or not).
pub(crate) fn stat_at_link(
    at: Beneath<'_>,
    path: &[u8],
    follow: bool,
) -> Result<(libc::stat, bool), Errno> {
    // A path of several components: the kernel resolves it beneath the
    // base in one `openat2` (`O_PATH`, the last symbolic link not
    // followed), which alone answers when it fails (most `stat`s of a
    // directory walk ask for files that are not there: `.gitignore`);
    // otherwise an `fstat` of what it opened.
    if path
        .iter()
        .rposition(|&b| b != b'/')
        .is_some_and(|end| path[..end].contains(&b'/'))
    {
        let stat_of = |flags: c_int| -> Option<Result<libc::stat, Errno>> {
            Some(
                at.open(path, libc::O_PATH | flags, 0)?
                    .and_then(|fd| fstat(fd.as_fd())),
            )
        };
        if let Some(st) = stat_of(libc::O_NOFOLLOW) {
            let st = st?;
            let link = is_symlink(&st);
            if !(follow && link) {
                return Ok((st, link));
            }
            if let Some(st) = stat_of(0) {
                return Ok((st?, true));
            }
        }
    }
    // One name in the base directory (the common case: a `stat` of a file
    // of a preopened directory): no resolution, no allocation, its C
    // string on the stack. It is what `resolve` makes of such a name,
    // unless it is a symbolic link to follow.
    if let Some(name) = base_name(path, &mut [0; 256]) {
        let st = fstatat(at.dir, name, libc::AT_SYMLINK_NOFOLLOW)?;
        let link = is_symlink(&st);
        if !(follow && link) {
            return Ok((st, link));
        }
    }
    // One component (or no `openat2`): the last component is stated as
    // it is, without a `readlinkat` to ask whether it is a symbolic link;
    // only when it is one that must be followed is it expanded.
    let r = at.resolve(path)?;
    let mut st = fstatat(r.dir(), &r.name, libc::AT_SYMLINK_NOFOLLOW)?;
    let link = is_symlink(&st);
    if follow && link {
        let r = at.resolve_as(path, true)?;
        st = fstatat(r.dir(), &r.name, libc::AT_SYMLINK_NOFOLLOW)?;
    }
    if r.must_be_dir && !is_dir(&st) {
        return Err(Errno(libc::ENOTDIR));
    }
    Ok((st, link))
}

/// `path` as a C string in `buf` when it is one name of the directory it
/// is resolved beneath, as [`Beneath::resolve`] would leave it: not empty,
/// without `/` or NUL, not `..`, shorter than `buf`.
fn base_name<'b>(path: &[u8], buf: &'b mut [u8]) -> Option<&'b core::ffi::CStr> {
    if path.is_empty() || path.len() >= buf.len() || path == b".." || path.contains(&b'/') {
        return None;
    }
    buf[..path.len()].copy_from_slice(path);
    buf[path.len()] = 0;
    core::ffi::CStr::from_bytes_with_nul(&buf[..=path.len()]).ok()
}

/// `set-times-at`: sets the access and modification times of `path`.
///
/// # Errors
///
/// As [`Beneath::resolve`] and [`SetTime::timespec`], or the error of
/// `utimensat`.
pub fn set_times_at(
    at: Beneath<'_>,
    path: &[u8],
    follow: bool,
    atime: SetTime,
    mtime: SetTime,
) -> Result<(), Errno> {
    let times = [atime.timespec()?, mtime.timespec()?];
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
pub fn create_directory_at(at: Beneath<'_>, path: &[u8]) -> Result<(), Errno> {
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
pub fn remove_directory_at(at: Beneath<'_>, path: &[u8]) -> Result<(), Errno> {
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
pub fn unlink_file_at(at: Beneath<'_>, path: &[u8]) -> Result<(), Errno> {
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
/// As [`Beneath::resolve`], `EPERM` for an absolute target, or the error
/// of `readlinkat` (`EINVAL` when `path` is not a symbolic link).
pub fn readlink_at(at: Beneath<'_>, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let r = at.resolve(path)?;
    let target = readlinkat(r.dir(), &r.name)?;
    if target.first() == Some(&b'/') {
        return Err(Errno(libc::EPERM));
    }
    Ok(target)
}

/// `symlink-at`: makes `path` a symbolic link to `target`.
///
/// # Errors
///
/// `not-permitted` for a `target` that is absolute or climbs above `at`
/// from where the link is; otherwise as [`Beneath::resolve`], or the error
/// of `symlinkat`.
pub fn symlink_at(at: Beneath<'_>, target: &[u8], path: &[u8]) -> Result<(), Errno> {
    if target.first() == Some(&b'/') {
        return Err(Errno(libc::EPERM));
    }
    let target_c = cstring(target)?;
    let r = at.resolve(path)?;
    if r.must_be_dir {
        return Err(exists_or_not(&r));
    }
    let depth = if r.in_base() {
        0
    } else {
        sandbox::depth_below(at.dir, r.dir())?
    };
    if !sandbox::target_stays_beneath(target, depth) {
        return Err(Errno(libc::EPERM));
    }
    // SAFETY: a valid descriptor and C strings.
    retry(|| unsafe { libc::symlinkat(target_c.as_ptr(), r.dir().as_raw_fd(), r.name.as_ptr()) })?;
    Ok(())
}

/// The error of making a non-directory at a path ending with `/`: `exist`
/// when something is there, `no-entry` when not.
pub(crate) fn exists_or_not(r: &sandbox::Resolved<'_>) -> Errno {
    match fstatat(r.dir(), &r.name, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(_) => Errno(libc::EEXIST),
        Err(Errno(libc::ENOENT)) => Errno(libc::ENOENT),
        Err(e) => e,
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
    old_path: &[u8],
    follow: bool,
    new_at: Beneath<'_>,
    new_path: &[u8],
) -> Result<(), Errno> {
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
    old_path: &[u8],
    new_at: Beneath<'_>,
    new_path: &[u8],
) -> Result<(), Errno> {
    let old = old_at.resolve(old_path)?;
    old.check_dir()?;
    let new = new_at.resolve(new_path)?;
    if new.must_be_dir && !is_dir(&fstatat(old.dir(), &old.name, libc::AT_SYMLINK_NOFOLLOW)?) {
        // `new/` names a directory; `old` is not one.
        return Err(Errno(libc::ENOTDIR));
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
