//! `wasi:sockets/tcp` of WASI 0.2: `tcp-socket`'s methods on the core's
//! [`TcpSocket`]; a connected socket's streams are `wasi:io` streams on
//! its descriptor ([`crate::net::stream`]).

use std::cell::RefCell;
use std::rc::Rc;

use smelt_rt::component::host::{Borrow, Cx, HostResult, Own};

use super::{Code, family_to_wit, from_std, to_std, wit};
use crate::WasiHost;
use crate::bindings::wasi_io_poll::Pollable as PollableRes;
use crate::bindings::wasi_io_streams::{InputStream as InputRes, OutputStream as OutputRes};
use crate::bindings::wasi_sockets_network::{IpAddressFamily, IpSocketAddress, Network};
use crate::bindings::wasi_sockets_tcp::{self as tcp, ShutdownType, TcpSocket as TcpRes};
use crate::net::stream::{TcpInput, TcpOutput};
use crate::net::tcp::TcpSocket;
use crate::p2::io::{InputStream, OutputStream, Pollable};
use crate::table::Object;

type Socket = Borrow<TcpRes>;

impl WasiHost {
    /// TCP socket `rep`.
    fn tcp(&mut self, rep: u32) -> HostResult<Rc<RefCell<TcpSocket>>> {
        Ok(self.table.tcp_socket(rep)?.clone())
    }

    /// The input and output streams of connected socket `socket`.
    fn tcp_streams(&mut self, socket: &TcpSocket) -> HostResult<(Own<InputRes>, Own<OutputRes>)> {
        let input = InputStream::Tcp(TcpInput::new(socket.socket().clone()));
        let output = OutputStream::Tcp(TcpOutput::new(socket.socket().clone()));
        Ok((
            Own::new(self.table.push(Object::InputStream(input))?),
            Own::new(self.table.push(Object::OutputStream(output))?),
        ))
    }
}

impl tcp::Host for WasiHost {
    fn method_tcp_socket_start_bind(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        _network: Borrow<Network>,
        local_address: IpSocketAddress,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.tcp(this.rep)?;
        let r = socket
            .borrow_mut()
            .start_bind(&self.network, to_std(local_address));
        wit(r)
    }

    fn method_tcp_socket_finish_bind(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow_mut().finish_bind())
    }

    fn method_tcp_socket_start_connect(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        _network: Borrow<Network>,
        remote_address: IpSocketAddress,
    ) -> HostResult<Result<(), Code>> {
        let socket = self.tcp(this.rep)?;
        let r = socket
            .borrow_mut()
            .start_connect(&self.network, to_std(remote_address));
        wit(r)
    }

    fn method_tcp_socket_finish_connect(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<(Own<InputRes>, Own<OutputRes>), Code>> {
        let socket = self.tcp(this.rep)?;
        let mut socket = socket.borrow_mut();
        if let Err(e) = socket.finish_connect() {
            return Ok(Err(super::code(e)));
        }
        Ok(Ok(self.tcp_streams(&socket)?))
    }

    fn method_tcp_socket_start_listen(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow_mut().start_listen())
    }

    fn method_tcp_socket_finish_listen(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow_mut().finish_listen())
    }

    fn method_tcp_socket_accept(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<(Own<TcpRes>, Own<InputRes>, Own<OutputRes>), Code>> {
        let accepted = match self.tcp(this.rep)?.borrow().accept() {
            Ok(s) => s,
            Err(e) => return Ok(Err(super::code(e))),
        };
        let (input, output) = self.tcp_streams(&accepted)?;
        let socket = Own::new(self.push_tcp(accepted)?);
        Ok(Ok((socket, input, output)))
    }

    fn method_tcp_socket_local_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.tcp(this.rep)?.borrow().local_address().map(from_std))
    }

    fn method_tcp_socket_remote_address(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<IpSocketAddress, Code>> {
        wit(self.tcp(this.rep)?.borrow().remote_address().map(from_std))
    }

    fn method_tcp_socket_is_listening(&mut self, _: &mut Cx<'_>, this: Socket) -> HostResult<bool> {
        Ok(self.tcp(this.rep)?.borrow().is_listening())
    }

    fn method_tcp_socket_address_family(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<IpAddressFamily> {
        Ok(family_to_wit(self.tcp(this.rep)?.borrow().family()))
    }

    fn method_tcp_socket_set_listen_backlog_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self
            .tcp(this.rep)?
            .borrow_mut()
            .set_listen_backlog_size(value))
    }

    fn method_tcp_socket_keep_alive_enabled(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<bool, Code>> {
        wit(self.tcp(this.rep)?.borrow().keep_alive_enabled())
    }

    fn method_tcp_socket_set_keep_alive_enabled(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: bool,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_keep_alive_enabled(value))
    }

    fn method_tcp_socket_keep_alive_idle_time(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.tcp(this.rep)?.borrow().keep_alive_idle_time())
    }

    fn method_tcp_socket_set_keep_alive_idle_time(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_keep_alive_idle_time(value))
    }

    fn method_tcp_socket_keep_alive_interval(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.tcp(this.rep)?.borrow().keep_alive_interval())
    }

    fn method_tcp_socket_set_keep_alive_interval(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_keep_alive_interval(value))
    }

    fn method_tcp_socket_keep_alive_count(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u32, Code>> {
        wit(self.tcp(this.rep)?.borrow().keep_alive_count())
    }

    fn method_tcp_socket_set_keep_alive_count(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u32,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_keep_alive_count(value))
    }

    fn method_tcp_socket_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u8, Code>> {
        wit(self.tcp(this.rep)?.borrow().hop_limit())
    }

    fn method_tcp_socket_set_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u8,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_hop_limit(value))
    }

    fn method_tcp_socket_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.tcp(this.rep)?.borrow().receive_buffer_size())
    }

    fn method_tcp_socket_set_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_receive_buffer_size(value))
    }

    fn method_tcp_socket_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Result<u64, Code>> {
        wit(self.tcp(this.rep)?.borrow().send_buffer_size())
    }

    fn method_tcp_socket_set_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        value: u64,
    ) -> HostResult<Result<(), Code>> {
        wit(self.tcp(this.rep)?.borrow().set_send_buffer_size(value))
    }

    fn method_tcp_socket_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
    ) -> HostResult<Own<PollableRes>> {
        self.table.tcp_socket(this.rep)?;
        self.pollable(Pollable::TcpSocket(this.rep))
    }

    fn method_tcp_socket_shutdown(
        &mut self,
        _: &mut Cx<'_>,
        this: Socket,
        shutdown_type: ShutdownType,
    ) -> HostResult<Result<(), Code>> {
        let how = match shutdown_type {
            ShutdownType::Receive => libc::SHUT_RD,
            ShutdownType::Send => libc::SHUT_WR,
            ShutdownType::Both => libc::SHUT_RDWR,
        };
        wit(self.tcp(this.rep)?.borrow().shutdown(how))
    }
}
