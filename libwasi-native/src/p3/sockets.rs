//! `wasi:sockets` of WASI 0.3: the face over the socket core
//! ([`crate::net`]) in the shape of the component model's async.
//!
//! A TCP connect is an `async` function whose subtask the event loop
//! resolves when the socket becomes writable; `listen` gives a
//! `stream<tcp-socket>` whose values are the connections the host accepts
//! as the guest reads it (a read with none pending waits for the socket to
//! become readable); `send` makes the host the reader of the guest's
//! `stream<u8>` (bytes go from the guest's memory to `send(2)`; a full
//! socket makes the guest's write wait for it to become writable) and
//! `receive` the writer of one (`recv(2)` into the guest's buffer). UDP
//! `send` and `receive` are `async` functions that try at once and else
//! wait for the descriptor. The OS socket lives as long as the last of the
//! handle, its streams and the operations in progress. Capabilities are
//! checked as for WASI 0.2; name lookup resolves synchronously.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use smelt_rt::component::host::{
    self, Async, Borrow, Cx, FutureReader, FutureWriter, HostResult, HostTrap, Lower, Own, Polled,
    StreamReader,
};
use smelt_rt::component::hostio::{Wait, after};
use smelt_rt::component::stream::{HostSink, HostSource, HostValues, SourceRead};
use smelt_rt::component::trap::ComponentTrap;

use super::stream::Ended;
use crate::WasiHost;
use crate::bindings::p3::wasi_sockets_ip_name_lookup::{
    self as name_lookup, ErrorCode as LookupCode,
};
use crate::bindings::p3::wasi_sockets_types::{
    self as types, Duration as WitDuration, ErrorCode as Code, IpAddressFamily, IpSocketAddress,
    TcpSocket as TcpRes, UdpSocket as UdpRes,
};
use crate::net::os::Socket;
use crate::net::tcp::{TcpSocket, TcpState};
use crate::net::udp::{UdpSocket, scratch};
use crate::net::{ErrorCode, NetResult, lookup};
use crate::table::Object;

crate::net::wit_addresses!(crate::bindings::p3::wasi_sockets_types);

/// A core error code as WASI 0.3's `error-code`, which has no codes for
/// WASI 0.2's two-phase operations (`concurrency-conflict` and
/// `not-in-progress` are `invalid-state` here) and says the others in
/// `other`.
fn code(e: ErrorCode) -> Code {
    match e {
        ErrorCode::AccessDenied => Code::AccessDenied,
        ErrorCode::NotSupported => Code::NotSupported,
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::OutOfMemory => Code::OutOfMemory,
        ErrorCode::Timeout => Code::Timeout,
        ErrorCode::ConcurrencyConflict | ErrorCode::NotInProgress | ErrorCode::InvalidState => {
            Code::InvalidState
        }
        ErrorCode::AddressNotBindable => Code::AddressNotBindable,
        ErrorCode::AddressInUse => Code::AddressInUse,
        ErrorCode::RemoteUnreachable => Code::RemoteUnreachable,
        ErrorCode::ConnectionRefused => Code::ConnectionRefused,
        ErrorCode::ConnectionBroken => Code::ConnectionBroken,
        ErrorCode::ConnectionReset => Code::ConnectionReset,
        ErrorCode::ConnectionAborted => Code::ConnectionAborted,
        ErrorCode::DatagramTooLarge => Code::DatagramTooLarge,
        other => Code::Other(Some(other.describe())),
    }
}

/// A core result as a WASI 0.3 one.
fn wit<T>(r: NetResult<T>) -> HostResult<Result<T, Code>> {
    Ok(r.map_err(code))
}

/// A host trap as the trap of a stream or future operation.
fn component_trap(e: HostTrap) -> ComponentTrap {
    match e {
        HostTrap::Abi(t) => t,
        HostTrap::Message(m) => ComponentTrap::Pending(m),
    }
}

/// The outcome of a socket's byte stream: how the stream ended.
type Outcome = FutureReader<Result<(), Code>>;

/// An outcome resolved at once.
fn resolved(r: Result<(), Code>) -> HostResult<Outcome> {
    let (reader, writer) = host::future::<Result<(), Code>>();
    writer.resolve(r)?;
    Ok(reader)
}

/// How long an accept that ran out of descriptors or memory waits before
/// it tries again (the listener stays readable meanwhile).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connections of a listening socket, as the values of the stream
/// `listen` returns.
struct Accepting {
    listener: Rc<RefCell<TcpSocket>>,
}

impl HostValues for Accepting {
    fn fill(&mut self, cx: &mut Cx<'_>, ptr: u32, n: u32) -> Result<SourceRead, ComponentTrap> {
        let listener = self.listener.borrow();
        let mut done = 0;
        while done < n {
            let socket = match listener.accept() {
                Ok(s) => s,
                Err(ErrorCode::WouldBlock) => break,
                // A connection the peer abandoned: the next one.
                Err(ErrorCode::ConnectionAborted) => continue,
                Err(_) if done > 0 => break,
                Err(ErrorCode::NewSocketLimit | ErrorCode::OutOfMemory) => {
                    return Ok(SourceRead::Wait(Wait::Until(after(ACCEPT_BACKOFF))));
                }
                Err(_) => return Ok(SourceRead::End),
            };
            let object = Object::TcpSocket(Rc::new(RefCell::new(socket)));
            let rep = crate::host().table.push(object).map_err(component_trap)?;
            let at = ptr + done * <Own<TcpRes> as host::Layout>::SIZE;
            Own::<TcpRes>::new(rep)
                .store(cx, at)
                .map_err(component_trap)?;
            done += 1;
        }
        Ok(if done == 0 {
            SourceRead::Wait(Wait::Readable(listener.socket().fd()))
        } else {
            SourceRead::Data(done as usize)
        })
    }
}

/// The host reading the guest's `stream<u8>` into a connected socket
/// (`send`); the outcome is resolved when the stream ends.
struct TcpSink {
    socket: Rc<Socket>,
    outcome: Option<FutureWriter<Result<(), Code>>>,
}

impl HostSink for TcpSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.socket.send(bytes)
    }

    fn writable(&self) -> Wait {
        Wait::Writable(self.socket.fd())
    }

    /// The guest closed its end (a FIN goes out: `shutdown(SHUT_WR)`), or
    /// a send failed.
    fn end(&mut self, error: Option<io::Error>) -> Result<(), ComponentTrap> {
        let r = match error {
            None => {
                let _ = self.socket.shutdown(libc::SHUT_WR);
                Ok(())
            }
            Some(e) => Err(code(ErrorCode::from_io(&e))),
        };
        match self.outcome.take() {
            Some(w) => w.resolve(r),
            None => Ok(()),
        }
    }
}

/// A sink that takes nothing: a `send` that is refused (its outcome says
/// why).
struct Refused;

impl HostSink for Refused {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }

    fn writable(&self) -> Wait {
        Wait::Until(after(Duration::ZERO))
    }

    fn end(&mut self, _: Option<io::Error>) -> Result<(), ComponentTrap> {
        Ok(())
    }
}

/// The host writing what a connected socket receives into a guest's
/// `stream<u8>` (`receive`).
struct TcpSource {
    socket: Rc<Socket>,
    outcome: Option<FutureWriter<Result<(), Code>>>,
}

impl TcpSource {
    fn end(&mut self, r: Result<(), Code>) -> SourceRead {
        if let Some(w) = self.outcome.take() {
            // A trap lowering the outcome into a reader cannot be raised
            // from a read; the guest then sees the future unresolved.
            let _ = w.resolve(r);
        }
        SourceRead::End
    }
}

impl HostSource for TcpSource {
    fn read(&mut self, buf: &mut [u8]) -> SourceRead {
        // SAFETY: initialized bytes are valid as maybe-uninitialized ones;
        // the OS only writes to them.
        let uninit = unsafe { core::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), buf.len()) };
        match self.socket.recv(uninit) {
            Ok(0) => self.end(Ok(())),
            Ok(n) => SourceRead::Data(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                SourceRead::Wait(Wait::Readable(self.socket.fd()))
            }
            Err(e) => self.end(Err(code(ErrorCode::from_io(&e)))),
        }
    }
}

impl Drop for TcpSource {
    /// The guest dropped the stream before its end: it receives no more
    /// (`shutdown(SHUT_RD)`).
    fn drop(&mut self) {
        if self.outcome.is_some() {
            let _ = self.socket.shutdown(libc::SHUT_RD);
            self.end(Ok(()));
        }
    }
}

impl WasiHost {
    fn tcp3(&mut self, rep: u32) -> HostResult<Rc<RefCell<TcpSocket>>> {
        Ok(self.table.tcp_socket(rep)?.clone())
    }

    fn udp3(&mut self, rep: u32) -> HostResult<Rc<RefCell<UdpSocket>>> {
        Ok(self.table.udp_socket(rep)?.clone())
    }
}

type Tcp = Borrow<TcpRes>;
type Udp = Borrow<UdpRes>;

impl types::Host for WasiHost {
    fn static_tcp_socket_create(
        &mut self,
        _: &mut Cx<'_>,
        address_family: IpAddressFamily,
    ) -> HostResult<Result<Own<TcpRes>, Code>> {
        match TcpSocket::new(family_from_wit(address_family)) {
            Ok(s) => {
                let object = Object::TcpSocket(Rc::new(RefCell::new(s)));
                Ok(Ok(Own::new(self.table.push(object)?)))
            }
            Err(e) => Ok(Err(code(e))),
        }
    }

    fn method_tcp_socket_bind(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        local_address: IpSocketAddress,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.tcp3(this.rep)?;
        let mut socket = socket.borrow_mut();
        wit(socket
            .start_bind(&self.network, to_std(local_address))
            .and_then(|()| socket.finish_bind()))
    }

    fn method_tcp_socket_connect(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        remote_address: IpSocketAddress,
    ) -> HostResult<Async<Result<(), Code>>> {
        let socket = self.tcp3(this.rep)?;
        let started = socket
            .borrow_mut()
            .start_connect(&self.network, to_std(remote_address));
        if let Err(e) = started {
            return Ok(Async::Ready(Err(code(e))));
        }
        let fd = socket.borrow().socket().fd();
        Ok(Async::Poll(Box::new(move || {
            match socket.borrow_mut().finish_connect() {
                Err(ErrorCode::WouldBlock) => Polled::Wait(Wait::Writable(fd)),
                r => Polled::Ready(r.map_err(code)),
            }
        })))
    }

    fn method_tcp_socket_listen(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<StreamReader<Own<TcpRes>>, Code>> {
        let socket = self.tcp3(this.rep)?;
        if let Err(e) = socket.borrow_mut().listen(&self.network) {
            return Ok(Err(code(e)));
        }
        Ok(Ok(StreamReader::from_host_values(Box::new(Accepting {
            listener: socket,
        }))))
    }

    fn method_tcp_socket_send(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        data: StreamReader<u8>,
    ) -> HostResult<Outcome> {
        let socket = self.tcp3(this.rep)?;
        let mut socket = socket.borrow_mut();
        if socket.state() != TcpState::Connected || socket.sending {
            drop(socket);
            data.attach_sink(Box::new(Refused))?;
            return resolved(Err(Code::InvalidState));
        }
        socket.sending = true;
        let (reader, writer) = host::future::<Result<(), Code>>();
        let sink = TcpSink {
            socket: socket.socket().clone(),
            outcome: Some(writer),
        };
        drop(socket);
        data.attach_sink(Box::new(sink))?;
        Ok(reader)
    }

    fn method_tcp_socket_receive(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<(StreamReader<u8>, Outcome)> {
        let socket = self.tcp3(this.rep)?;
        let mut socket = socket.borrow_mut();
        if socket.state() != TcpState::Connected || socket.receiving {
            let stream = StreamReader::from_source(Box::new(Ended));
            return Ok((stream, resolved(Err(Code::InvalidState))?));
        }
        socket.receiving = true;
        let (reader, writer) = host::future::<Result<(), Code>>();
        let source = TcpSource {
            socket: socket.socket().clone(),
            outcome: Some(writer),
        };
        Ok((StreamReader::from_source(Box::new(source)), reader))
    }

    fn method_tcp_socket_get_local_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.tcp3(this.rep)?.borrow().local_address().map(from_std))
    }

    fn method_tcp_socket_get_remote_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.tcp3(this.rep)?.borrow().remote_address().map(from_std))
    }

    fn method_tcp_socket_get_is_listening(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<bool> {
        Ok(self.tcp3(this.rep)?.borrow().is_listening())
    }

    fn method_tcp_socket_get_address_family(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<IpAddressFamily> {
        Ok(family_to_wit(self.tcp3(this.rep)?.borrow().family()))
    }

    fn method_tcp_socket_set_listen_backlog_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self
            .tcp3(this.rep)?
            .borrow_mut()
            .set_listen_backlog_size(value))
    }

    fn method_tcp_socket_get_keep_alive_enabled(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<bool, Code>> {
        wit(self.tcp3(this.rep)?.borrow().keep_alive_enabled())
    }

    fn method_tcp_socket_set_keep_alive_enabled(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: bool,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp3(this.rep)?.borrow().set_keep_alive_enabled(value))
    }

    fn method_tcp_socket_get_keep_alive_idle_time(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<WitDuration, Code>> {
        wit(self.tcp3(this.rep)?.borrow().keep_alive_idle_time())
    }

    fn method_tcp_socket_set_keep_alive_idle_time(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: WitDuration,
    ) -> HostResult<Result<(), Code>> {
        wit(self
            .tcp3(this.rep)?
            .borrow()
            .set_keep_alive_idle_time(value))
    }

    fn method_tcp_socket_get_keep_alive_interval(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<WitDuration, Code>> {
        wit(self.tcp3(this.rep)?.borrow().keep_alive_interval())
    }

    fn method_tcp_socket_set_keep_alive_interval(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: WitDuration,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp3(this.rep)?.borrow().set_keep_alive_interval(value))
    }

    fn method_tcp_socket_get_keep_alive_count(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<u32, Code>> {
        wit(self.tcp3(this.rep)?.borrow().keep_alive_count())
    }

    fn method_tcp_socket_set_keep_alive_count(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: u32,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp3(this.rep)?.borrow().set_keep_alive_count(value))
    }

    fn method_tcp_socket_get_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<u8, Code>> {
        wit(self.tcp3(this.rep)?.borrow().hop_limit())
    }

    fn method_tcp_socket_set_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: u8,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp3(this.rep)?.borrow().set_hop_limit(value))
    }

    fn method_tcp_socket_get_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.tcp3(this.rep)?.borrow().receive_buffer_size())
    }

    fn method_tcp_socket_set_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp3(this.rep)?.borrow().set_receive_buffer_size(value))
    }

    fn method_tcp_socket_get_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.tcp3(this.rep)?.borrow().send_buffer_size())
    }

    fn method_tcp_socket_set_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Tcp,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp3(this.rep)?.borrow().set_send_buffer_size(value))
    }

    fn static_udp_socket_create(
        &mut self,
        _: &mut Cx<'_>,
        address_family: IpAddressFamily,
    ) -> HostResult<Result<Own<UdpRes>, Code>> {
        match UdpSocket::new(family_from_wit(address_family)) {
            Ok(s) => {
                let object = Object::UdpSocket(Rc::new(RefCell::new(s)));
                Ok(Ok(Own::new(self.table.push(object)?)))
            }
            Err(e) => Ok(Err(code(e))),
        }
    }

    fn method_udp_socket_bind(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
        local_address: IpSocketAddress,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.udp3(this.rep)?;
        let mut socket = socket.borrow_mut();
        wit(socket
            .start_bind(&self.network, to_std(local_address))
            .and_then(|()| socket.finish_bind()))
    }

    fn method_udp_socket_connect(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
        remote_address: IpSocketAddress,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.udp3(this.rep)?;
        let r = socket
            .borrow_mut()
            .set_remote(&self.network, Some(to_std(remote_address)));
        wit(r)
    }

    fn method_udp_socket_disconnect(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.udp3(this.rep)?;
        let mut socket = socket.borrow_mut();
        if socket.remote().is_none() {
            return Ok(Err(Code::InvalidState));
        }
        wit(socket.set_remote(&self.network, None))
    }

    fn method_udp_socket_send(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
        data: Vec<u8>,
        remote_address: Option<IpSocketAddress>,
    ) -> HostResult<Async<Result<(), Code>>> {
        let socket = self.udp3(this.rep)?;
        let to = remote_address.map(to_std);
        match socket.borrow_mut().send(&self.network, &data, to) {
            Err(ErrorCode::WouldBlock) => {}
            r => return Ok(Async::Ready(r.map_err(code))),
        }
        let grants = self.network.clone();
        let fd = socket.borrow().socket().fd();
        Ok(Async::Poll(Box::new(move || {
            match socket.borrow_mut().send(&grants, &data, to) {
                Err(ErrorCode::WouldBlock) => Polled::Wait(Wait::Writable(fd)),
                r => Polled::Ready(r.map_err(code)),
            }
        })))
    }

    fn method_udp_socket_receive(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Async<Result<(Vec<u8>, IpSocketAddress), Code>>> {
        let socket = self.udp3(this.rep)?;
        let mut buf = scratch();
        let fd = socket.borrow().socket().fd();
        Ok(Async::Poll(Box::new(move || {
            match socket.borrow().receive(&mut buf) {
                Err(ErrorCode::WouldBlock) => Polled::Wait(Wait::Readable(fd)),
                r => Polled::Ready(r.map(|(d, a)| (d, from_std(a))).map_err(code)),
            }
        })))
    }

    fn method_udp_socket_get_local_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.udp3(this.rep)?.borrow().local_address().map(from_std))
    }

    fn method_udp_socket_get_remote_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.udp3(this.rep)?.borrow().remote_address().map(from_std))
    }

    fn method_udp_socket_get_address_family(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<IpAddressFamily> {
        Ok(family_to_wit(self.udp3(this.rep)?.borrow().family()))
    }

    fn method_udp_socket_get_unicast_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Result<u8, Code>> {
        wit(self.udp3(this.rep)?.borrow().unicast_hop_limit())
    }

    fn method_udp_socket_set_unicast_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
        value: u8,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp3(this.rep)?.borrow().set_unicast_hop_limit(value))
    }

    fn method_udp_socket_get_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.udp3(this.rep)?.borrow().receive_buffer_size())
    }

    fn method_udp_socket_set_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp3(this.rep)?.borrow().set_receive_buffer_size(value))
    }

    fn method_udp_socket_get_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.udp3(this.rep)?.borrow().send_buffer_size())
    }

    fn method_udp_socket_set_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Udp,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp3(this.rep)?.borrow().set_send_buffer_size(value))
    }
}

impl name_lookup::Host for WasiHost {
    fn resolve_addresses(
        &mut self,
        _: &mut Cx<'_>,
        name: String,
    ) -> HostResult<Async<Result<Vec<types::IpAddress>, LookupCode>>> {
        if !self.network.ip_name_lookup {
            return Ok(Async::Ready(Err(LookupCode::AccessDenied)));
        }
        let r = lookup::resolve(&name)
            .map(|ips| ips.into_iter().map(ip_from_std).collect())
            .map_err(|e| match e {
                ErrorCode::InvalidArgument => LookupCode::InvalidArgument,
                ErrorCode::NameUnresolvable => LookupCode::NameUnresolvable,
                ErrorCode::TemporaryResolverFailure => LookupCode::TemporaryResolverFailure,
                ErrorCode::PermanentResolverFailure => LookupCode::PermanentResolverFailure,
                ErrorCode::AccessDenied => LookupCode::AccessDenied,
                other => LookupCode::Other(Some(other.describe())),
            });
        Ok(Async::Ready(r))
    }
}
