//! `errno`: the error type of the WASI core.
//!
//! Every operation of the core fails with the POSIX `errno` value the
//! kernel returned, or the one the WASI interfaces document for what the
//! core refused itself ("similar to `EPERM` in POSIX" for a path that
//! leaves the sandbox, `EROFS` for a change through a read-only
//! descriptor, ...). Each face turns it into its own error type: WASI 0.2
//! and 0.3 into their `error-code` ([`error_code_of_errno!`]), preview1
//! into its `errno` numbering.

/// An `errno` value (Linux numbering).
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

    /// The `errno` of an I/O error: its OS error, or the closest one to its
    /// kind.
    pub fn of_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        if let Some(errno) = e.raw_os_error() {
            return Errno(errno);
        }
        Errno(match e.kind() {
            ErrorKind::NotFound => libc::ENOENT,
            ErrorKind::PermissionDenied => libc::EACCES,
            ErrorKind::AlreadyExists => libc::EEXIST,
            ErrorKind::WouldBlock => libc::EAGAIN,
            ErrorKind::InvalidInput => libc::EINVAL,
            ErrorKind::Interrupted => libc::EINTR,
            ErrorKind::Unsupported => libc::ENOTSUP,
            ErrorKind::OutOfMemory => libc::ENOMEM,
            _ => libc::EIO,
        })
    }
}

impl From<std::io::Error> for Errno {
    fn from(e: std::io::Error) -> Self {
        Errno::of_io(&e)
    }
}

/// The result of an operation of the core.
pub type FsResult<T> = Result<T, Errno>;

/// The case of a WIT `error-code` type (WASI 0.2's or 0.3's, which name
/// their cases alike) that `errno` value `$errno` stands for, by the
/// correspondence the WIT documents for each case ("similar to `E...` in
/// POSIX"), or `$other` for a value with no case. `EAGAIN` is left to the
/// caller (`would-block` in WASI 0.2, no case in WASI 0.3).
macro_rules! error_code_of_errno {
    ($code:ident, $errno:expr, $other:expr) => {
        match $errno {
            libc::EACCES => $code::Access,
            libc::EALREADY => $code::Already,
            libc::EBADF => $code::BadDescriptor,
            libc::EBUSY => $code::Busy,
            libc::EDEADLK => $code::Deadlock,
            libc::EDQUOT => $code::Quota,
            libc::EEXIST => $code::Exist,
            libc::EFBIG => $code::FileTooLarge,
            libc::EILSEQ => $code::IllegalByteSequence,
            libc::EINPROGRESS => $code::InProgress,
            libc::EINTR => $code::Interrupted,
            libc::EINVAL => $code::Invalid,
            libc::EIO => $code::Io,
            libc::EISDIR => $code::IsDirectory,
            libc::ELOOP => $code::Loop,
            libc::EMLINK => $code::TooManyLinks,
            libc::EMSGSIZE => $code::MessageSize,
            libc::ENAMETOOLONG => $code::NameTooLong,
            libc::ENODEV => $code::NoDevice,
            libc::ENOENT => $code::NoEntry,
            libc::ENOLCK => $code::NoLock,
            libc::ENOMEM | libc::EMFILE | libc::ENFILE => $code::InsufficientMemory,
            libc::ENOSPC => $code::InsufficientSpace,
            libc::ENOTDIR => $code::NotDirectory,
            libc::ENOTEMPTY => $code::NotEmpty,
            libc::ENOTRECOVERABLE => $code::NotRecoverable,
            // `EOPNOTSUPP` is `ENOTSUP` on Linux.
            libc::ENOTSUP | libc::ENOSYS => $code::Unsupported,
            libc::ENOTTY => $code::NoTty,
            libc::ENXIO => $code::NoSuchDevice,
            libc::EOVERFLOW => $code::Overflow,
            libc::EPERM => $code::NotPermitted,
            libc::EPIPE => $code::Pipe,
            libc::EROFS => $code::ReadOnly,
            libc::ESPIPE => $code::InvalidSeek,
            libc::ETXTBSY => $code::TextFileBusy,
            libc::EXDEV => $code::CrossDevice,
            _ => $other,
        }
    };
}

pub(crate) use error_code_of_errno;
