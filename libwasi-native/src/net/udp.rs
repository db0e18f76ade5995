//! A UDP socket, for both versions of `wasi:sockets/udp` (WIT
//! `udp-socket`): bind, an optional peer (WASI 0.2's `stream` with a
//! remote address, WASI 0.3's `connect`/`disconnect`), and datagrams sent
//! and received without blocking (`would-block` when the OS is not ready;
//! the faces wait for the descriptor and try again).

use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::rc::Rc;

use libc::c_int;
use smelt_abi::net::{NetGrants, NetOp};

use super::addr::{check_local, check_remote};
use super::error::{ErrorCode, NetResult};
use super::os::{Family, Socket};
use super::tcp::{buffer_size, hop_limit_option};

/// The largest UDP payload (an IPv4 datagram's 65535 bytes less its
/// headers fit in it).
pub const MAX_DATAGRAM: usize = 65535;

/// Where a UDP socket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpState {
    /// Created, not bound.
    Unbound,
    /// Bound by `start-bind`, waiting for `finish-bind` (WASI 0.2).
    BindStarted,
    /// Bound, explicitly or by a send or connect.
    Bound,
}

/// A `udp-socket`.
#[derive(Debug)]
pub struct UdpSocket {
    socket: Rc<Socket>,
    family: Family,
    state: UdpState,
    remote: Option<SocketAddr>,
    /// Counts WASI 0.2's `stream` calls: only the streams of the latest
    /// work.
    pub generation: u64,
}

/// The error of a failed send or receive, as `send`'s and `receive`'s WIT
/// documentation lists them.
fn datagram_error(e: &std::io::Error) -> ErrorCode {
    match e.raw_os_error() {
        Some(libc::ECONNRESET | libc::ENETRESET) => ErrorCode::RemoteUnreachable,
        Some(libc::EISCONN | libc::EDESTADDRREQ) => ErrorCode::InvalidArgument,
        _ => ErrorCode::from_io(e),
    }
}

impl UdpSocket {
    /// A new, unbound socket of `family` (WIT `create-udp-socket`,
    /// `udp-socket.create`).
    ///
    /// # Errors
    ///
    /// `new-socket-limit`, `not-supported`.
    pub fn new(family: Family) -> NetResult<UdpSocket> {
        let socket = Socket::new(family, false).map_err(|e| match e.raw_os_error() {
            Some(libc::EAFNOSUPPORT) => ErrorCode::NotSupported,
            _ => ErrorCode::from_io(&e),
        })?;
        Ok(UdpSocket {
            socket: Rc::new(socket),
            family,
            state: UdpState::Unbound,
            remote: None,
            generation: 0,
        })
    }

    /// The OS socket.
    pub fn socket(&self) -> &Rc<Socket> {
        &self.socket
    }

    /// The address family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The state.
    pub fn state(&self) -> UdpState {
        self.state
    }

    /// The peer, if the socket has one.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// Binds the socket to `addr` (WIT `start-bind`; WASI 0.3's `bind`
    /// with [`UdpSocket::finish_bind`]).
    ///
    /// # Errors
    ///
    /// `invalid-state` once bound, `concurrency-conflict` while a bind is
    /// in progress, `invalid-argument` for an address of the wrong family
    /// or IPv4-mapped, `access-denied` when `--allow-udp-bind` does not
    /// grant it, `address-in-use`, `address-not-bindable`.
    pub fn start_bind(&mut self, grants: &NetGrants, addr: SocketAddr) -> NetResult<()> {
        match self.state {
            UdpState::Unbound => {}
            UdpState::BindStarted => return Err(ErrorCode::ConcurrencyConflict),
            UdpState::Bound => return Err(ErrorCode::InvalidState),
        }
        check_local(self.family, &addr, false)?;
        if !grants.allows(NetOp::UdpBind, addr) {
            return Err(ErrorCode::AccessDenied);
        }
        self.socket.bind(&addr)?;
        self.state = UdpState::BindStarted;
        Ok(())
    }

    /// Ends a bind (WIT `finish-bind`).
    ///
    /// # Errors
    ///
    /// `not-in-progress` without a `start-bind`.
    pub fn finish_bind(&mut self) -> NetResult<()> {
        if self.state != UdpState::BindStarted {
            return Err(ErrorCode::NotInProgress);
        }
        self.state = UdpState::Bound;
        Ok(())
    }

    /// Sets the socket's peer, or clears it (`None`): WASI 0.2's
    /// `stream`, WASI 0.3's `connect` and `disconnect`. An unbound socket
    /// is bound by the OS to a free port.
    ///
    /// # Errors
    ///
    /// For a peer: `invalid-argument` for an address of the wrong family,
    /// IPv4-mapped, unspecified or with port 0, `access-denied` when
    /// `--allow-udp-send` does not grant it, and the OS's errors.
    pub fn set_remote(&mut self, grants: &NetGrants, remote: Option<SocketAddr>) -> NetResult<()> {
        if let Some(addr) = &remote {
            check_remote(self.family, addr, false)?;
            if !grants.allows(NetOp::UdpSend, *addr) {
                return Err(ErrorCode::AccessDenied);
            }
        }
        if self.remote.take().is_some() {
            self.socket.disconnect()?;
        }
        if let Some(addr) = remote {
            self.socket
                .connect(&addr)
                .map_err(|e| match e.raw_os_error() {
                    Some(libc::EADDRNOTAVAIL) => ErrorCode::AddressInUse,
                    _ => datagram_error(&e),
                })?;
            self.remote = Some(addr);
            self.state = UdpState::Bound;
        }
        Ok(())
    }

    /// Sends one datagram to `to`, or to the peer when `None`, without
    /// blocking (WIT `send`). An unbound socket is bound by the OS to a
    /// free port.
    ///
    /// # Errors
    ///
    /// `would-block` when the OS cannot take it now; `invalid-argument`
    /// for a destination that is not the peer's of a socket that has one,
    /// none without a peer, or a bad address; `access-denied` when
    /// `--allow-udp-send` does not grant the destination;
    /// `datagram-too-large`, `remote-unreachable`, `connection-refused`.
    pub fn send(
        &mut self,
        grants: &NetGrants,
        data: &[u8],
        to: Option<SocketAddr>,
    ) -> NetResult<()> {
        let dest = match (to, self.remote) {
            (Some(a), Some(peer)) if a != peer => return Err(ErrorCode::InvalidArgument),
            (Some(_), Some(_)) | (None, Some(_)) => None,
            (Some(a), None) => {
                check_remote(self.family, &a, false)?;
                if !grants.allows(NetOp::UdpSend, a) {
                    return Err(ErrorCode::AccessDenied);
                }
                Some(a)
            }
            (None, None) => return Err(ErrorCode::InvalidArgument),
        };
        if data.len() > MAX_DATAGRAM {
            return Err(ErrorCode::DatagramTooLarge);
        }
        self.socket
            .send_to(data, dest.as_ref())
            .map_err(|e| datagram_error(&e))?;
        self.state = UdpState::Bound;
        Ok(())
    }

    /// Receives one datagram without blocking (WIT `receive`): its bytes
    /// and its sender. `scratch` is room for the largest datagram.
    ///
    /// # Errors
    ///
    /// `invalid-state` when not bound, `would-block` when none is there,
    /// `remote-unreachable`, `connection-refused`.
    pub fn receive(&self, scratch: &mut [MaybeUninit<u8>]) -> NetResult<(Vec<u8>, SocketAddr)> {
        if self.state != UdpState::Bound {
            return Err(ErrorCode::InvalidState);
        }
        let (n, from) = self
            .socket
            .recv_from(scratch)
            .map_err(|e| datagram_error(&e))?;
        // SAFETY: the OS filled the first `n` bytes.
        let bytes = unsafe { core::slice::from_raw_parts(scratch.as_ptr().cast::<u8>(), n) };
        Ok((bytes.to_vec(), from))
    }

    /// The bound address (WIT `local-address`).
    ///
    /// # Errors
    ///
    /// `invalid-state` when not bound.
    pub fn local_address(&self) -> NetResult<SocketAddr> {
        match self.state {
            UdpState::Bound => Ok(self.socket.local_addr()?),
            _ => Err(ErrorCode::InvalidState),
        }
    }

    /// The peer's address (WIT `remote-address`).
    ///
    /// # Errors
    ///
    /// `invalid-state` without a peer.
    pub fn remote_address(&self) -> NetResult<SocketAddr> {
        match self.remote {
            Some(_) => Ok(self.socket.peer_addr()?),
            None => Err(ErrorCode::InvalidState),
        }
    }

    fn get(&self, level: c_int, name: c_int) -> NetResult<c_int> {
        Ok(self.socket.get_int(level, name)?)
    }

    /// WIT `unicast-hop-limit`.
    pub fn unicast_hop_limit(&self) -> NetResult<u8> {
        let (level, name) = hop_limit_option(self.family);
        Ok(self.get(level, name)?.clamp(0, 255) as u8)
    }

    /// WIT `set-unicast-hop-limit`.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_unicast_hop_limit(&self, value: u8) -> NetResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let (level, name) = hop_limit_option(self.family);
        Ok(self.socket.set_int(level, name, c_int::from(value))?)
    }

    /// WIT `receive-buffer-size`.
    pub fn receive_buffer_size(&self) -> NetResult<u64> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_RCVBUF)?.max(0) as u64)
    }

    /// WIT `set-receive-buffer-size`.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_receive_buffer_size(&self, value: u64) -> NetResult<()> {
        let size = buffer_size(value)?;
        Ok(self
            .socket
            .set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, size)?)
    }

    /// WIT `send-buffer-size`.
    pub fn send_buffer_size(&self) -> NetResult<u64> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_SNDBUF)?.max(0) as u64)
    }

    /// WIT `set-send-buffer-size`.
    ///
    /// # Errors
    ///
    /// `invalid-argument` for 0.
    pub fn set_send_buffer_size(&self, value: u64) -> NetResult<()> {
        let size = buffer_size(value)?;
        Ok(self
            .socket
            .set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, size)?)
    }
}

/// Room for one datagram of any size, for [`UdpSocket::receive`].
pub fn scratch() -> Vec<MaybeUninit<u8>> {
    let mut v = Vec::with_capacity(MAX_DATAGRAM);
    v.resize(MAX_DATAGRAM, MaybeUninit::uninit());
    v
}
