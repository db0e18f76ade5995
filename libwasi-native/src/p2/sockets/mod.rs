//! `wasi:sockets` of WASI 0.2: the face over the socket core
//! ([`crate::net`]). This module has the network, name lookup, socket
//! creation and what the interfaces share (addresses, error codes); `tcp.rs`
//! and `udp.rs` the sockets' methods.
//!
//! Sockets are non-blocking; what WASI 0.2 waits for goes through
//! `wasi:io/poll`: a socket's `subscribe` pollable follows its state (a
//! connect in progress waits for the descriptor to become writable, a
//! listener for it to become readable), a stream's waits for its
//! descriptor. Every address the guest binds, connects or sends to is
//! checked against the network capabilities the executable was built
//! with; what they do not grant is `access-denied`. Name lookup resolves
//! synchronously (see [`crate::net::lookup`]).

mod tcp;
mod udp;

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use smelt_rt::component::host::{Borrow, Cx, HostResult, Own};

use crate::WasiHost;
use crate::bindings::wasi_io_streams::StreamError;
use crate::bindings::*;
use crate::net::stream::StreamFail;
use crate::net::tcp::{Readiness, TcpSocket};
use crate::net::udp::UdpSocket;
use crate::net::{ErrorCode, lookup};
use crate::p2::io::Pollable;
use crate::table::Object;

use wasi_sockets_network::ErrorCode as Code;

crate::net::wit_addresses!(crate::bindings::wasi_sockets_network);

/// A core error code as WASI 0.2's `error-code` (which has no
/// `connection-broken`: a broken connection is `connection-reset`).
pub(crate) fn code(e: ErrorCode) -> Code {
    match e {
        ErrorCode::AccessDenied => Code::AccessDenied,
        ErrorCode::NotSupported => Code::NotSupported,
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::OutOfMemory => Code::OutOfMemory,
        ErrorCode::Timeout => Code::Timeout,
        ErrorCode::ConcurrencyConflict => Code::ConcurrencyConflict,
        ErrorCode::NotInProgress => Code::NotInProgress,
        ErrorCode::WouldBlock => Code::WouldBlock,
        ErrorCode::InvalidState => Code::InvalidState,
        ErrorCode::NewSocketLimit => Code::NewSocketLimit,
        ErrorCode::AddressNotBindable => Code::AddressNotBindable,
        ErrorCode::AddressInUse => Code::AddressInUse,
        ErrorCode::RemoteUnreachable => Code::RemoteUnreachable,
        ErrorCode::ConnectionRefused => Code::ConnectionRefused,
        ErrorCode::ConnectionBroken | ErrorCode::ConnectionReset => Code::ConnectionReset,
        ErrorCode::ConnectionAborted => Code::ConnectionAborted,
        ErrorCode::DatagramTooLarge => Code::DatagramTooLarge,
        ErrorCode::NameUnresolvable => Code::NameUnresolvable,
        ErrorCode::TemporaryResolverFailure => Code::TemporaryResolverFailure,
        ErrorCode::PermanentResolverFailure => Code::PermanentResolverFailure,
        ErrorCode::Other(_) => Code::Unknown,
    }
}

/// A core result as a WASI 0.2 one.
pub(crate) fn wit<T>(r: crate::net::NetResult<T>) -> HostResult<Result<T, Code>> {
    Ok(r.map_err(code))
}

/// The answers of a name lookup (`resolve-address-stream`), handed out
/// one by one; a failed lookup reports its error once.
#[derive(Debug)]
pub struct ResolvedAddresses {
    addresses: std::vec::IntoIter<IpAddr>,
    error: Option<ErrorCode>,
}

/// A UDP socket's `incoming-datagram-stream`.
#[derive(Debug)]
pub struct IncomingDatagrams {
    socket: Rc<RefCell<UdpSocket>>,
    /// The socket's `stream` call that made it.
    generation: u64,
}

/// A UDP socket's `outgoing-datagram-stream`.
#[derive(Debug)]
pub struct OutgoingDatagrams {
    socket: Rc<RefCell<UdpSocket>>,
    /// The socket's `stream` call that made it.
    generation: u64,
    /// How many datagrams the last `check-send` permitted.
    permit: u64,
}

/// What TCP socket `rep`'s pollable waits for now: a connect in progress
/// for the socket to become writable, a listener for a connection; ready
/// otherwise (also when the socket is gone).
pub fn tcp_readiness(host: &mut WasiHost, rep: u32) -> Pollable {
    match host.table.get(rep) {
        Ok(Object::TcpSocket(socket)) => match socket.borrow().readiness() {
            Readiness::Now => Pollable::Ready,
            Readiness::Readable(fd) => Pollable::Readable(fd),
            Readiness::Writable(fd) => Pollable::Writable(fd),
        },
        _ => Pollable::Ready,
    }
}

impl WasiHost {
    /// A TCP stream operation's result as WASI 0.2's: a failure becomes
    /// an `error` resource that `network-error-code` reads.
    pub fn tcp_stream_result<T>(
        &mut self,
        r: Result<T, StreamFail>,
    ) -> HostResult<Result<T, StreamError>> {
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(StreamFail::Closed) => Ok(Err(StreamError::Closed)),
            Err(StreamFail::Failed(e)) => {
                let rep = self.table.push(Object::Error {
                    message: e.describe(),
                    code: None,
                    net: Some(e),
                    http: None,
                })?;
                Ok(Err(StreamError::LastOperationFailed(Own::new(rep))))
            }
        }
    }

    /// A new TCP socket object.
    fn push_tcp(&mut self, socket: TcpSocket) -> HostResult<u32> {
        self.table
            .push(Object::TcpSocket(Rc::new(RefCell::new(socket))))
    }
}

impl wasi_sockets_network::Host for WasiHost {
    fn network_error_code(
        &mut self,
        _: &mut Cx<'_>,
        err: Borrow<wasi_io_error::Error>,
    ) -> HostResult<Option<Code>> {
        match self.table.get(err.rep)? {
            Object::Error { net, .. } => Ok(net.map(code)),
            _ => Err(crate::table::wrong_type(err.rep, "error")),
        }
    }
}

impl wasi_sockets_instance_network::Host for WasiHost {
    fn instance_network(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<Own<wasi_sockets_network::Network>> {
        Ok(Own::new(self.table.push(Object::Network)?))
    }
}

impl wasi_sockets_ip_name_lookup::Host for WasiHost {
    fn resolve_addresses(
        &mut self,
        _: &mut Cx<'_>,
        _network: Borrow<wasi_sockets_network::Network>,
        name: String,
    ) -> HostResult<Result<Own<wasi_sockets_ip_name_lookup::ResolveAddressStream>, Code>> {
        if !self.network.ip_name_lookup {
            return Ok(Err(Code::AccessDenied));
        }
        let (addresses, error) = match lookup::resolve(&name) {
            Ok(addresses) => (addresses, None),
            Err(ErrorCode::InvalidArgument) => return Ok(Err(Code::InvalidArgument)),
            Err(e) => (Vec::new(), Some(e)),
        };
        let stream = ResolvedAddresses {
            addresses: addresses.into_iter(),
            error,
        };
        Ok(Ok(Own::new(
            self.table.push(Object::ResolvedAddresses(stream))?,
        )))
    }

    fn method_resolve_address_stream_resolve_next_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<wasi_sockets_ip_name_lookup::ResolveAddressStream>,
    ) -> HostResult<Result<Option<wasi_sockets_network::IpAddress>, Code>> {
        let stream = self.table.resolved_addresses(this.rep)?;
        if let Some(e) = stream.error.take() {
            return Ok(Err(code(e)));
        }
        Ok(Ok(stream.addresses.next().map(ip_from_std)))
    }

    fn method_resolve_address_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<wasi_sockets_ip_name_lookup::ResolveAddressStream>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        self.table.resolved_addresses(this.rep)?;
        self.pollable(Pollable::Ready)
    }
}

impl wasi_sockets_tcp_create_socket::Host for WasiHost {
    fn create_tcp_socket(
        &mut self,
        _: &mut Cx<'_>,
        address_family: wasi_sockets_network::IpAddressFamily,
    ) -> HostResult<Result<Own<wasi_sockets_tcp::TcpSocket>, Code>> {
        match TcpSocket::new(family_from_wit(address_family)) {
            Ok(socket) => Ok(Ok(Own::new(self.push_tcp(socket)?))),
            Err(e) => Ok(Err(code(e))),
        }
    }
}

impl wasi_sockets_udp_create_socket::Host for WasiHost {
    fn create_udp_socket(
        &mut self,
        _: &mut Cx<'_>,
        address_family: wasi_sockets_network::IpAddressFamily,
    ) -> HostResult<Result<Own<wasi_sockets_udp::UdpSocket>, Code>> {
        match UdpSocket::new(family_from_wit(address_family)) {
            Ok(socket) => {
                let object = Object::UdpSocket(Rc::new(RefCell::new(socket)));
                Ok(Ok(Own::new(self.table.push(object)?)))
            }
            Err(e) => Ok(Err(code(e))),
        }
    }
}
