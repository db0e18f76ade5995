//! A TCP socket and its state machine, for both versions of
//! `wasi:sockets/tcp` (WIT `tcp-socket`; the operational semantics are
//! WASI's `TcpSocketOperationalSemantics.md`).
//!
//! WASI 0.2 splits `bind`, `listen` and `connect` into `start-*` and
//! `finish-*`; [`TcpSocket`] offers both halves, and WASI 0.3's one-call
//! forms are the two in a row (only a connect in progress is visible to a
//! WASI 0.3 guest: an `async` call, during which a second connect is
//! `invalid-state`). The OS socket is non-blocking: a connect in progress
//! finishes when the socket becomes writable, a listener has a connection
//! to accept when it becomes readable ([`TcpSocket::readiness`]); nothing
//! here waits.
//!
//! Socket options go straight to the OS (`SO_KEEPALIVE`, `TCP_KEEPIDLE`,
//! `TCP_KEEPINTVL`, `TCP_KEEPCNT`, `IP_TTL`/`IPV6_UNICAST_HOPS`,
//! `SO_RCVBUF`, `SO_SNDBUF`), which also gives an accepted socket the
//! listener's, as the WIT requires; values are checked (0 is
//! `invalid-argument`) and clamped to what Linux accepts.

use std::net::SocketAddr;
use std::rc::Rc;

use libc::c_int;
use smelt_abi::net::{NetGrants, NetOp};

use super::addr::{check_local, check_remote};
use super::error::{ErrorCode, NetResult};
use super::os::{Family, Socket, ready_now};

/// Where a TCP socket is in its life (WIT: the states of `tcp-socket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// Created, not bound.
    Unbound,
    /// Bound by `start-bind`, waiting for `finish-bind` (WASI 0.2).
    BindStarted,
    /// Bound to a local address.
    Bound,
    /// Listening since `start-listen`, waiting for `finish-listen` (WASI
    /// 0.2).
    ListenStarted,
    /// Listening: connections can be accepted.
    Listening,
    /// A connect is in progress.
    Connecting,
    /// Connected to a peer.
    Connected,
    /// A connect failed: only dropping the socket is left.
    Closed,
}

/// What a socket's readiness waits for (WASI 0.2's `subscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Nothing: ready now.
    Now,
    /// The descriptor becoming readable (a listener's next connection).
    Readable(i32),
    /// The descriptor becoming writable (a connect's end).
    Writable(i32),
}

/// The backlog of a listener whose guest did not set one.
const DEFAULT_BACKLOG: c_int = 128;

/// Linux's largest `TCP_KEEPIDLE` and `TCP_KEEPINTVL`, in seconds.
const MAX_KEEPALIVE_SECS: u64 = 32767;

/// Linux's largest `TCP_KEEPCNT`.
const MAX_KEEPALIVE_COUNT: u32 = 127;

/// Nanoseconds in a second (WIT durations are in nanoseconds).
const NS: u64 = 1_000_000_000;

/// A `tcp-socket`.
#[derive(Debug)]
pub struct TcpSocket {
    socket: Rc<Socket>,
    family: Family,
    state: TcpState,
    backlog: c_int,
    /// Whether WASI 0.3's `send` was called (it may be once).
    pub sending: bool,
    /// Whether WASI 0.3's `receive` was called (it may be once).
    pub receiving: bool,
}

/// The error of a failed `connect` (at the start or at the end): an
/// implicit bind that found no free port is `address-in-use`, whatever
/// Linux calls it.
fn connect_error(e: std::io::Error) -> ErrorCode {
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) => ErrorCode::AddressInUse,
        _ => ErrorCode::from_io(&e),
    }
}

/// Seconds of a WIT duration, rounded up and clamped to `1..=max`; a zero
/// duration is `invalid-argument`.
fn duration_secs(ns: u64, max: u64) -> NetResult<c_int> {
    if ns == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(ns.div_ceil(NS).clamp(1, max) as c_int)
}

/// A buffer size for `SO_RCVBUF`/`SO_SNDBUF`: 0 is `invalid-argument`,
/// larger than an `int` is clamped.
pub fn buffer_size(value: u64) -> NetResult<c_int> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(value.min(i32::MAX as u64) as c_int)
}

/// The socket option of the hop limit for `family`.
pub fn hop_limit_option(family: Family) -> (c_int, c_int) {
    match family {
        Family::V4 => (libc::IPPROTO_IP, libc::IP_TTL),
        Family::V6 => (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS),
    }
}

impl TcpSocket {
    /// A new, unbound socket of `family` (WIT `create-tcp-socket`,
    /// `tcp-socket.create`).
    ///
    /// # Errors
    ///
    /// `new-socket-limit` (out of descriptors), `not-supported` (a family
    /// the system lacks).
    pub fn new(family: Family) -> NetResult<TcpSocket> {
        let socket = Socket::new(family, true).map_err(|e| match e.raw_os_error() {
            Some(libc::EAFNOSUPPORT) => ErrorCode::NotSupported,
            _ => ErrorCode::from_io(&e),
        })?;
        Ok(TcpSocket::with(socket, family, TcpState::Unbound))
    }

    fn with(socket: Socket, family: Family, state: TcpState) -> TcpSocket {
        TcpSocket {
            socket: Rc::new(socket),
            family,
            state,
            backlog: DEFAULT_BACKLOG,
            sending: false,
            receiving: false,
        }
    }

    /// The OS socket, which the socket's streams share.
    pub fn socket(&self) -> &Rc<Socket> {
        &self.socket
    }

    /// The state.
    pub fn state(&self) -> TcpState {
        self.state
    }

    /// The address family (WIT `address-family`).
    pub fn family(&self) -> Family {
        self.family
    }

    /// Whether the socket listens (WIT `is-listening`).
    pub fn is_listening(&self) -> bool {
        self.state == TcpState::Listening
    }

    /// What the operation in progress waits for (WIT `subscribe`: a
    /// pollable that follows the socket's state).
    pub fn readiness(&self) -> Readiness {
        match self.state {
            TcpState::Connecting => Readiness::Writable(self.socket.fd()),
            TcpState::Listening => Readiness::Readable(self.socket.fd()),
            _ => Readiness::Now,
        }
    }

    /// The error of an operation that needs another state than the
    /// current one: `concurrency-conflict` while another operation is
    /// in progress, else `invalid-state`.
    fn busy_or_invalid(&self) -> ErrorCode {
        match self.state {
            TcpState::BindStarted | TcpState::ListenStarted | TcpState::Connecting => {
                ErrorCode::ConcurrencyConflict
            }
            _ => ErrorCode::InvalidState,
        }
    }

    /// Binds the socket to `addr` (WIT `start-bind`; WASI 0.3's `bind`
    /// with [`TcpSocket::finish_bind`]). `SO_REUSEADDR` is set first, so
    /// that a port in `TIME_WAIT` can be bound again, as the WIT asks.
    ///
    /// # Errors
    ///
    /// `invalid-state` once bound, `invalid-argument` for an address of
    /// the wrong family, IPv4-mapped or not unicast, `access-denied` when
    /// `--allow-tcp-listen` does not grant `addr`, `address-in-use`,
    /// `address-not-bindable`.
    pub fn start_bind(&mut self, grants: &NetGrants, addr: SocketAddr) -> NetResult<()> {
        if self.state != TcpState::Unbound {
            return Err(self.busy_or_invalid());
        }
        check_local(self.family, &addr, true)?;
        if !grants.allows(NetOp::TcpListen, addr) {
            return Err(ErrorCode::AccessDenied);
        }
        self.socket
            .set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        self.socket.bind(&addr)?;
        self.state = TcpState::BindStarted;
        Ok(())
    }

    /// Ends a bind (WIT `finish-bind`).
    ///
    /// # Errors
    ///
    /// `not-in-progress` without a `start-bind`.
    pub fn finish_bind(&mut self) -> NetResult<()> {
        if self.state != TcpState::BindStarted {
            return Err(ErrorCode::NotInProgress);
        }
        self.state = TcpState::Bound;
        Ok(())
    }

    /// Starts connecting to `addr` (WIT `start-connect`, and the first
    /// half of WASI 0.3's `connect`); [`TcpSocket::finish_connect`] tells
    /// how it ends.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for an address of the wrong family, IPv4-mapped,
    /// unspecified, not unicast or with port 0, `access-denied` when
    /// `--allow-tcp-connect` does not grant it, `invalid-state` when
    /// connected or listening, `concurrency-conflict` while another
    /// operation is in progress, and the OS's errors (the socket is then
    /// closed).
    pub fn start_connect(&mut self, grants: &NetGrants, addr: SocketAddr) -> NetResult<()> {
        if !matches!(self.state, TcpState::Unbound | TcpState::Bound) {
            return Err(self.busy_or_invalid());
        }
        check_remote(self.family, &addr, true)?;
        if !grants.allows(NetOp::TcpConnect, addr) {
            return Err(ErrorCode::AccessDenied);
        }
        match self.socket.connect(&addr) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => {
                self.state = TcpState::Closed;
                return Err(connect_error(e));
            }
        }
        self.state = TcpState::Connecting;
        Ok(())
    }

    /// Ends a connect, if it has ended (WIT `finish-connect`).
    ///
    /// # Errors
    ///
    /// `would-block` while it goes on, `not-in-progress` without one, and
    /// how it failed (`connection-refused`, `timeout`, ...; the socket is
    /// then closed).
    pub fn finish_connect(&mut self) -> NetResult<()> {
        if self.state != TcpState::Connecting {
            return Err(ErrorCode::NotInProgress);
        }
        if !ready_now(self.socket.fd(), libc::POLLOUT) {
            return Err(ErrorCode::WouldBlock);
        }
        match self.socket.take_error() {
            Ok(None) => {
                self.state = TcpState::Connected;
                Ok(())
            }
            Ok(Some(e)) | Err(e) => {
                self.state = TcpState::Closed;
                Err(connect_error(e))
            }
        }
    }

    /// Starts listening (WIT `start-listen`): the socket must be bound.
    ///
    /// # Errors
    ///
    /// `invalid-state` when not bound, connected or listening,
    /// `concurrency-conflict` while another operation is in progress,
    /// `address-in-use`.
    pub fn start_listen(&mut self) -> NetResult<()> {
        if self.state != TcpState::Bound {
            return Err(self.busy_or_invalid());
        }
        self.socket.listen(self.backlog)?;
        self.state = TcpState::ListenStarted;
        Ok(())
    }

    /// Ends a listen (WIT `finish-listen`).
    ///
    /// # Errors
    ///
    /// `not-in-progress` without a `start-listen`.
    pub fn finish_listen(&mut self) -> NetResult<()> {
        if self.state != TcpState::ListenStarted {
            return Err(ErrorCode::NotInProgress);
        }
        self.state = TcpState::Listening;
        Ok(())
    }

    /// Listens, binding the socket first to any free port of the
    /// unspecified address if it is not bound (WASI 0.3's `listen`).
    ///
    /// # Errors
    ///
    /// `invalid-state` when connecting, connected or listening,
    /// `access-denied` for an implicit bind `--allow-tcp-listen` does not
    /// grant (any free port of `0.0.0.0` or `::`), `address-in-use`.
    pub fn listen(&mut self, grants: &NetGrants) -> NetResult<()> {
        match self.state {
            TcpState::Bound => {}
            TcpState::Unbound => {
                if !grants.allows(NetOp::TcpListen, self.family.unspecified()) {
                    return Err(ErrorCode::AccessDenied);
                }
            }
            _ => return Err(ErrorCode::InvalidState),
        }
        self.socket.listen(self.backlog)?;
        self.state = TcpState::Listening;
        Ok(())
    }

    /// Accepts the next connection (WIT `accept`, and each value of WASI
    /// 0.3's `listen` stream): a connected socket with the listener's
    /// options. Errors Linux reports for the connection rather than the
    /// listener (`accept(2)`: ENETDOWN, EPROTO, ...) skip it.
    ///
    /// # Errors
    ///
    /// `invalid-state` when not listening, `would-block` when no
    /// connection is pending, `connection-aborted`, `new-socket-limit`.
    pub fn accept(&self) -> NetResult<TcpSocket> {
        if self.state != TcpState::Listening {
            return Err(ErrorCode::InvalidState);
        }
        loop {
            match self.socket.accept() {
                Ok((socket, _)) => {
                    return Ok(TcpSocket::with(socket, self.family, TcpState::Connected));
                }
                Err(e) => match e.raw_os_error() {
                    Some(
                        libc::ENETDOWN
                        | libc::EPROTO
                        | libc::ENOPROTOOPT
                        | libc::EHOSTDOWN
                        | libc::ENONET
                        | libc::EHOSTUNREACH
                        | libc::EOPNOTSUPP
                        | libc::ENETUNREACH,
                    ) => {}
                    _ => return Err(ErrorCode::from_io(&e)),
                },
            }
        }
    }

    /// The bound address (WIT `local-address`).
    ///
    /// # Errors
    ///
    /// `invalid-state` when not bound.
    pub fn local_address(&self) -> NetResult<SocketAddr> {
        match self.state {
            TcpState::Unbound | TcpState::BindStarted => Err(ErrorCode::InvalidState),
            _ => Ok(self.socket.local_addr()?),
        }
    }

    /// The peer's address (WIT `remote-address`).
    ///
    /// # Errors
    ///
    /// `invalid-state` when not connected.
    pub fn remote_address(&self) -> NetResult<SocketAddr> {
        match self.state {
            TcpState::Connected => Ok(self.socket.peer_addr()?),
            _ => Err(ErrorCode::InvalidState),
        }
    }

    /// Sets the listen backlog (WIT `set-listen-backlog-size`): kept for
    /// the listen to come, or applied at once to a listening socket.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0, `invalid-state` when connecting or
    /// connected.
    pub fn set_listen_backlog_size(&mut self, value: u64) -> NetResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        if matches!(self.state, TcpState::Connecting | TcpState::Connected) {
            return Err(ErrorCode::InvalidState);
        }
        let backlog = value.min(i32::MAX as u64) as c_int;
        if self.state == TcpState::Listening {
            self.socket
                .listen(backlog)
                .map_err(|_| ErrorCode::NotSupported)?;
        }
        self.backlog = backlog;
        Ok(())
    }

    fn get(&self, level: c_int, name: c_int) -> NetResult<c_int> {
        Ok(self.socket.get_int(level, name)?)
    }

    fn set(&self, level: c_int, name: c_int, value: c_int) -> NetResult<()> {
        Ok(self.socket.set_int(level, name, value)?)
    }

    /// WIT `keep-alive-enabled` (`SO_KEEPALIVE`).
    pub fn keep_alive_enabled(&self) -> NetResult<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_KEEPALIVE)? != 0)
    }

    /// WIT `set-keep-alive-enabled`.
    pub fn set_keep_alive_enabled(&self, value: bool) -> NetResult<()> {
        self.set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, c_int::from(value))
    }

    /// WIT `keep-alive-idle-time` (`TCP_KEEPIDLE`), in nanoseconds.
    pub fn keep_alive_idle_time(&self) -> NetResult<u64> {
        Ok(self.get(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?.max(0) as u64 * NS)
    }

    /// WIT `set-keep-alive-idle-time`: whole seconds, rounded up, at most
    /// 32767 s.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_keep_alive_idle_time(&self, ns: u64) -> NetResult<()> {
        let secs = duration_secs(ns, MAX_KEEPALIVE_SECS)?;
        self.set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs)
    }

    /// WIT `keep-alive-interval` (`TCP_KEEPINTVL`), in nanoseconds.
    pub fn keep_alive_interval(&self) -> NetResult<u64> {
        Ok(self.get(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?.max(0) as u64 * NS)
    }

    /// WIT `set-keep-alive-interval`: whole seconds, rounded up, at most
    /// 32767 s.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_keep_alive_interval(&self, ns: u64) -> NetResult<()> {
        let secs = duration_secs(ns, MAX_KEEPALIVE_SECS)?;
        self.set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, secs)
    }

    /// WIT `keep-alive-count` (`TCP_KEEPCNT`).
    pub fn keep_alive_count(&self) -> NetResult<u32> {
        Ok(self.get(libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?.max(0) as u32)
    }

    /// WIT `set-keep-alive-count`: at most 127.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_keep_alive_count(&self, value: u32) -> NetResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let count = value.min(MAX_KEEPALIVE_COUNT) as c_int;
        self.set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, count)
    }

    /// WIT `hop-limit` (`IP_TTL`, `IPV6_UNICAST_HOPS`).
    pub fn hop_limit(&self) -> NetResult<u8> {
        let (level, name) = hop_limit_option(self.family);
        Ok(self.get(level, name)?.clamp(0, 255) as u8)
    }

    /// WIT `set-hop-limit`.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_hop_limit(&self, value: u8) -> NetResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let (level, name) = hop_limit_option(self.family);
        self.set(level, name, c_int::from(value))
    }

    /// WIT `receive-buffer-size` (`SO_RCVBUF`).
    pub fn receive_buffer_size(&self) -> NetResult<u64> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_RCVBUF)?.max(0) as u64)
    }

    /// WIT `set-receive-buffer-size`.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_receive_buffer_size(&self, value: u64) -> NetResult<()> {
        self.set(libc::SOL_SOCKET, libc::SO_RCVBUF, buffer_size(value)?)
    }

    /// WIT `send-buffer-size` (`SO_SNDBUF`).
    pub fn send_buffer_size(&self) -> NetResult<u64> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_SNDBUF)?.max(0) as u64)
    }

    /// WIT `set-send-buffer-size`.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_send_buffer_size(&self, value: u64) -> NetResult<()> {
        self.set(libc::SOL_SOCKET, libc::SO_SNDBUF, buffer_size(value)?)
    }

    /// Shuts down one or both directions (WIT `shutdown`; `how` is
    /// `libc::SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`).
    ///
    /// # Errors
    ///
    /// `invalid-state` when not connected.
    pub fn shutdown(&self, how: c_int) -> NetResult<()> {
        if self.state != TcpState::Connected {
            return Err(ErrorCode::InvalidState);
        }
        match self.socket.shutdown(how) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
            r => Ok(r?),
        }
    }
}
