//! `wasi:sockets/udp` of WASI 0.2: `udp-socket`'s methods on the core's
//! [`UdpSocket`], and its datagram streams. Each `stream` call makes a new
//! pair of streams; those of an earlier call answer `invalid-state`.

use std::cell::RefCell;
use std::rc::Rc;

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use super::{Code, IncomingDatagrams, OutgoingDatagrams, family_to_wit, from_std, to_std, wit};
use crate::WasiHost;
use crate::bindings::wasi_io_poll::Pollable as PollableRes;
use crate::bindings::wasi_sockets_network::{IpAddressFamily, IpSocketAddress, Network};
use crate::bindings::wasi_sockets_udp::{
    self as udp, IncomingDatagram, IncomingDatagramStream, OutgoingDatagram,
    OutgoingDatagramStream, UdpSocket as UdpRes,
};
use crate::net::ErrorCode;
use crate::net::os::ready_now;
use crate::net::udp::{UdpSocket, UdpState, scratch};
use crate::p2::io::Pollable;
use crate::table::Object;

type Socket = Borrow<UdpRes>;

/// Most datagrams one `check-send` permits.
const SEND_PERMIT: u64 = 64;

/// Most datagrams one `receive` returns.
const RECEIVE_BATCH: u64 = 64;

impl WasiHost {
    /// UDP socket `rep`.
    fn udp(&mut self, rep: u32) -> HostResult<Rc<RefCell<UdpSocket>>> {
        Ok(self.table.udp_socket(rep)?.clone())
    }
}

/// `invalid-state` for a stream that a later `stream` call replaced.
fn current(socket: &UdpSocket, generation: u64) -> Result<(), Code> {
    if socket.generation == generation {
        Ok(())
    } else {
        Err(Code::InvalidState)
    }
}

impl udp::Host for WasiHost {
    fn method_udp_socket_start_bind(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        _network: Borrow<Network>,
        local_address: IpSocketAddress,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.udp(this.rep)?;
        let r = socket
            .borrow_mut()
            .start_bind(&self.network, to_std(local_address));
        wit(r)
    }

    fn method_udp_socket_finish_bind(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp(this.rep)?.borrow_mut().finish_bind())
    }

    fn method_udp_socket_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        remote_address: Option<IpSocketAddress>,
    ) -> HostResult<Result<(Own<IncomingDatagramStream>, Own<OutgoingDatagramStream>), Code>> {
        let rc = self.udp(this.rep)?;
        let generation = {
            let mut socket = rc.borrow_mut();
            if socket.state() != UdpState::Bound {
                return Ok(Err(Code::InvalidState));
            }
            if let Err(e) = socket.set_remote(&self.network, remote_address.map(to_std)) {
                return Ok(Err(super::code(e)));
            }
            socket.generation += 1;
            socket.generation
        };
        let incoming = IncomingDatagrams {
            socket: rc.clone(),
            generation,
        };
        let outgoing = OutgoingDatagrams {
            socket: rc,
            generation,
            permit: 0,
        };
        Ok(Ok((
            Own::new(self.table.push(Object::IncomingDatagrams(incoming))?),
            Own::new(self.table.push(Object::OutgoingDatagrams(outgoing))?),
        )))
    }

    fn method_udp_socket_local_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.udp(this.rep)?.borrow().local_address().map(from_std))
    }

    fn method_udp_socket_remote_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.udp(this.rep)?.borrow().remote_address().map(from_std))
    }

    fn method_udp_socket_address_family(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<IpAddressFamily> {
        Ok(family_to_wit(self.udp(this.rep)?.borrow().family()))
    }

    fn method_udp_socket_unicast_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u8, Code>> {
        wit(self.udp(this.rep)?.borrow().unicast_hop_limit())
    }

    fn method_udp_socket_set_unicast_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u8,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp(this.rep)?.borrow().set_unicast_hop_limit(value))
    }

    fn method_udp_socket_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.udp(this.rep)?.borrow().receive_buffer_size())
    }

    fn method_udp_socket_set_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp(this.rep)?.borrow().set_receive_buffer_size(value))
    }

    fn method_udp_socket_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.udp(this.rep)?.borrow().send_buffer_size())
    }

    fn method_udp_socket_set_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.udp(this.rep)?.borrow().set_send_buffer_size(value))
    }

    fn method_udp_socket_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Own<PollableRes>> {
        self.table.udp_socket(this.rep)?;
        self.pollable(Pollable::Ready)
    }

    fn method_incoming_datagram_stream_receive(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingDatagramStream>,
        max_results: u64,
    ) -> HostResult<Result<Vec<IncomingDatagram>, Code>> {
        let stream = self.table.incoming_datagrams(this.rep)?;
        let socket = stream.socket.borrow();
        if let Err(e) = current(&socket, stream.generation) {
            return Ok(Err(e));
        }
        let mut out = Vec::new();
        if max_results == 0 {
            return Ok(Ok(out));
        }
        let mut buf = scratch();
        while (out.len() as u64) < max_results.min(RECEIVE_BATCH) {
            match socket.receive(&mut buf) {
                Ok((data, from)) => out.push(IncomingDatagram {
                    data,
                    remote_address: from_std(from),
                }),
                Err(ErrorCode::WouldBlock) => break,
                Err(_) if !out.is_empty() => break,
                Err(e) => return Ok(Err(super::code(e))),
            }
        }
        Ok(Ok(out))
    }

    fn method_incoming_datagram_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingDatagramStream>,
    ) -> HostResult<Own<PollableRes>> {
        let fd = self
            .table
            .incoming_datagrams(this.rep)?
            .socket
            .borrow()
            .socket()
            .fd();
        self.pollable(Pollable::Readable(fd))
    }

    fn method_outgoing_datagram_stream_check_send(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingDatagramStream>,
    ) -> HostResult<Result<u64, Code>> {
        let stream = self.table.outgoing_datagrams(this.rep)?;
        let socket = stream.socket.borrow();
        if let Err(e) = current(&socket, stream.generation) {
            return Ok(Err(e));
        }
        let permit = if ready_now(socket.socket().fd(), libc::POLLOUT) {
            SEND_PERMIT
        } else {
            0
        };
        drop(socket);
        stream.permit = permit;
        Ok(Ok(permit))
    }

    fn method_outgoing_datagram_stream_send(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingDatagramStream>,
        datagrams: Vec<OutgoingDatagram>,
    ) -> HostResult<Result<u64, Code>> {
        let stream = self.table.outgoing_datagrams(this.rep)?;
        if datagrams.len() as u64 > stream.permit {
            return Err(HostTrap::Message(format!(
                "wasi:sockets/udp#[method]outgoing-datagram-stream.send: {} datagrams, but \
                 check-send permitted {}",
                datagrams.len(),
                stream.permit
            )));
        }
        stream.permit = 0;
        let mut socket = stream.socket.borrow_mut();
        if let Err(e) = current(&socket, stream.generation) {
            return Ok(Err(e));
        }
        let mut sent = 0u64;
        for d in datagrams {
            match socket.send(&self.network, &d.data, d.remote_address.map(to_std)) {
                Ok(()) => sent += 1,
                Err(ErrorCode::WouldBlock) => break,
                Err(_) if sent > 0 => break,
                Err(e) => return Ok(Err(super::code(e))),
            }
        }
        Ok(Ok(sent))
    }

    fn method_outgoing_datagram_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingDatagramStream>,
    ) -> HostResult<Own<PollableRes>> {
        let fd = self
            .table
            .outgoing_datagrams(this.rep)?
            .socket
            .borrow()
            .socket()
            .fd();
        self.pollable(Pollable::Writable(fd))
    }
}
