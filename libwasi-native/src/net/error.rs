//! The error codes of `wasi:sockets`, for both versions: the union of
//! WASI 0.2's `network.error-code` and WASI 0.3's `types.error-code` and
//! `ip-name-lookup.error-code`, and their mapping from `errno` as the WIT
//! documents it ("POSIX equivalent: ..."). Each face converts an
//! [`ErrorCode`] into its own WIT type; a code its version lacks becomes
//! the nearest one it has.

use std::io;

/// Why a socket operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `access-denied` (EACCES, EPERM), and every operation the network
    /// capabilities do not grant.
    AccessDenied,
    /// `not-supported` (EOPNOTSUPP, ENOPROTOOPT, EPFNOSUPPORT,
    /// EPROTONOSUPPORT, ESOCKTNOSUPPORT).
    NotSupported,
    /// `invalid-argument` (EINVAL, EDESTADDRREQ, EAFNOSUPPORT).
    InvalidArgument,
    /// `out-of-memory` (ENOMEM, ENOBUFS).
    OutOfMemory,
    /// `timeout` (ETIMEDOUT).
    Timeout,
    /// `concurrency-conflict` (WASI 0.2; EALREADY): another operation of
    /// the socket is in progress.
    ConcurrencyConflict,
    /// `not-in-progress` (WASI 0.2): a `finish-*` without its `start-*`.
    NotInProgress,
    /// `would-block` (WASI 0.2; EWOULDBLOCK, EAGAIN, EINPROGRESS).
    WouldBlock,
    /// `invalid-state`: not valid in the socket's current state.
    InvalidState,
    /// `new-socket-limit` (WASI 0.2; EMFILE, ENFILE).
    NewSocketLimit,
    /// `address-not-bindable` (EADDRNOTAVAIL).
    AddressNotBindable,
    /// `address-in-use` (EADDRINUSE).
    AddressInUse,
    /// `remote-unreachable` (EHOSTUNREACH, EHOSTDOWN, ENETDOWN,
    /// ENETUNREACH, ENONET).
    RemoteUnreachable,
    /// `connection-refused` (ECONNREFUSED).
    ConnectionRefused,
    /// `connection-broken` (WASI 0.3; EPIPE).
    ConnectionBroken,
    /// `connection-reset` (ECONNRESET).
    ConnectionReset,
    /// `connection-aborted` (ECONNABORTED).
    ConnectionAborted,
    /// `datagram-too-large` (EMSGSIZE).
    DatagramTooLarge,
    /// `name-unresolvable` (EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY).
    NameUnresolvable,
    /// `temporary-resolver-failure` (EAI_AGAIN).
    TemporaryResolverFailure,
    /// `permanent-resolver-failure` (EAI_FAIL).
    PermanentResolverFailure,
    /// Any other failure, with its `errno` (0 when there is none): WASI
    /// 0.2's `unknown`, WASI 0.3's `other`.
    Other(i32),
}

impl ErrorCode {
    /// The code of an OS error, by the WIT's table of POSIX equivalents.
    pub fn from_errno(errno: i32) -> ErrorCode {
        use ErrorCode::*;
        match errno {
            libc::EACCES | libc::EPERM => AccessDenied,
            libc::EOPNOTSUPP
            | libc::ENOPROTOOPT
            | libc::EPFNOSUPPORT
            | libc::EPROTONOSUPPORT
            | libc::ESOCKTNOSUPPORT => NotSupported,
            libc::EINVAL | libc::EDESTADDRREQ | libc::EAFNOSUPPORT => InvalidArgument,
            libc::ENOMEM | libc::ENOBUFS => OutOfMemory,
            libc::ETIMEDOUT => Timeout,
            libc::EALREADY => ConcurrencyConflict,
            libc::EWOULDBLOCK | libc::EINPROGRESS => WouldBlock,
            libc::EMFILE | libc::ENFILE => NewSocketLimit,
            libc::EADDRNOTAVAIL => AddressNotBindable,
            libc::EADDRINUSE => AddressInUse,
            libc::EHOSTUNREACH
            | libc::EHOSTDOWN
            | libc::ENETDOWN
            | libc::ENETUNREACH
            | libc::ENONET => RemoteUnreachable,
            libc::ECONNREFUSED => ConnectionRefused,
            libc::EPIPE => ConnectionBroken,
            libc::ECONNRESET => ConnectionReset,
            libc::ECONNABORTED => ConnectionAborted,
            libc::EMSGSIZE => DatagramTooLarge,
            libc::EISCONN | libc::ENOTCONN => InvalidState,
            other => Other(other),
        }
    }

    /// The code of `e` (an OS error, or `Other(0)`).
    pub fn from_io(e: &io::Error) -> ErrorCode {
        match e.raw_os_error() {
            Some(errno) => ErrorCode::from_errno(errno),
            None if e.kind() == io::ErrorKind::WouldBlock => ErrorCode::WouldBlock,
            None => ErrorCode::Other(0),
        }
    }

    /// A description, for `wasi:io/error#to-debug-string` and WASI 0.3's
    /// `other`.
    pub fn describe(self) -> String {
        match self {
            ErrorCode::Other(0) => "unknown network error".to_string(),
            ErrorCode::Other(errno) => io::Error::from_raw_os_error(errno).to_string(),
            code => format!("{code:?}"),
        }
    }
}

impl From<io::Error> for ErrorCode {
    fn from(e: io::Error) -> ErrorCode {
        ErrorCode::from_io(&e)
    }
}

/// The result of a socket operation.
pub type NetResult<T> = Result<T, ErrorCode>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_follows_the_wit_table() {
        assert_eq!(
            ErrorCode::from_errno(libc::ECONNREFUSED),
            ErrorCode::ConnectionRefused
        );
        assert_eq!(ErrorCode::from_errno(libc::EAGAIN), ErrorCode::WouldBlock);
        assert_eq!(
            ErrorCode::from_errno(libc::EADDRINUSE),
            ErrorCode::AddressInUse
        );
        assert_eq!(
            ErrorCode::from_errno(libc::ENETUNREACH),
            ErrorCode::RemoteUnreachable
        );
        assert_eq!(ErrorCode::from_errno(libc::EPERM), ErrorCode::AccessDenied);
        assert_eq!(
            ErrorCode::from_errno(libc::EIO),
            ErrorCode::Other(libc::EIO)
        );
        assert!(ErrorCode::Other(libc::EIO).describe().contains("rror"));
    }
}
