//! Error codes: the `error-code` of an OS error.

use crate::bindings::wasi_filesystem_types::ErrorCode;

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
