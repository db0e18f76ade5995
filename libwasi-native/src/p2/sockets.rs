//! `wasi:sockets`: not granted. A component may import it (Rust's
//! standard library does) and still run: creating a socket or resolving a
//! name returns `access-denied`, the error the interfaces define for a
//! network that is not granted. A guest can hold no socket, so the methods
//! of sockets are never called; each still says what it does (every
//! function of the WIT is implemented, or the host does not build): one
//! with an `error-code` returns `not-supported`, one without traps naming
//! the function, and `network-error-code` finds no network error in the
//! host's I/O errors. `wasi:http` is in `http.rs`.

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::*;
use crate::table::Object;

impl wasi_sockets_network::Host for WasiHost {
    fn network_error_code(
        &mut self,
        _: &mut Cx<'_>,
        _err: Borrow<wasi_io_error::Error>,
    ) -> HostResult<Option<wasi_sockets_network::ErrorCode>> {
        Ok(None)
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
    fn method_resolve_address_stream_resolve_next_address(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_ip_name_lookup::ResolveAddressStream>,
    ) -> HostResult<
        Result<
            Option<wasi_sockets_ip_name_lookup::IpAddress>,
            wasi_sockets_ip_name_lookup::ErrorCode,
        >,
    > {
        Ok(Err(wasi_sockets_ip_name_lookup::ErrorCode::NotSupported))
    }

    fn method_resolve_address_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_ip_name_lookup::ResolveAddressStream>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        Err(HostTrap::unsupported(
            "wasi:sockets/ip-name-lookup#[method]resolve-address-stream.subscribe",
        ))
    }

    fn resolve_addresses(
        &mut self,
        _: &mut Cx<'_>,
        _network: Borrow<wasi_sockets_network::Network>,
        _name: String,
    ) -> HostResult<
        Result<
            Own<wasi_sockets_ip_name_lookup::ResolveAddressStream>,
            wasi_sockets_network::ErrorCode,
        >,
    > {
        Ok(Err(wasi_sockets_network::ErrorCode::AccessDenied))
    }
}

impl wasi_sockets_tcp::Host for WasiHost {
    fn method_tcp_socket_start_bind(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _network: Borrow<wasi_sockets_network::Network>,
        _local_address: wasi_sockets_tcp::IpSocketAddress,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_finish_bind(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_start_connect(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _network: Borrow<wasi_sockets_network::Network>,
        _remote_address: wasi_sockets_tcp::IpSocketAddress,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_finish_connect(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<
        Result<
            (
                Own<wasi_io_streams::InputStream>,
                Own<wasi_io_streams::OutputStream>,
            ),
            wasi_sockets_tcp::ErrorCode,
        >,
    > {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_start_listen(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_finish_listen(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_accept(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<
        Result<
            (
                Own<wasi_sockets_tcp::TcpSocket>,
                Own<wasi_io_streams::InputStream>,
                Own<wasi_io_streams::OutputStream>,
            ),
            wasi_sockets_tcp::ErrorCode,
        >,
    > {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_local_address(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<wasi_sockets_tcp::IpSocketAddress, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_remote_address(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<wasi_sockets_tcp::IpSocketAddress, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_is_listening(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<bool> {
        Err(HostTrap::unsupported(
            "wasi:sockets/tcp#method_tcp_socket_is_listening",
        ))
    }

    fn method_tcp_socket_address_family(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<wasi_sockets_tcp::IpAddressFamily> {
        Err(HostTrap::unsupported(
            "wasi:sockets/tcp#method_tcp_socket_address_family",
        ))
    }

    fn method_tcp_socket_set_listen_backlog_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: u64,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_keep_alive_enabled(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<bool, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_keep_alive_enabled(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: bool,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_keep_alive_idle_time(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<wasi_sockets_tcp::Duration, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_keep_alive_idle_time(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: wasi_sockets_tcp::Duration,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_keep_alive_interval(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<wasi_sockets_tcp::Duration, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_keep_alive_interval(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: wasi_sockets_tcp::Duration,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_keep_alive_count(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<u32, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_keep_alive_count(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: u32,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<u8, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: u8,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<u64, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: u64,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Result<u64, wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_set_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _value: u64,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }

    fn method_tcp_socket_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        Err(HostTrap::unsupported(
            "wasi:sockets/tcp#method_tcp_socket_subscribe",
        ))
    }

    fn method_tcp_socket_shutdown(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_tcp::TcpSocket>,
        _shutdown_type: wasi_sockets_tcp::ShutdownType,
    ) -> HostResult<Result<(), wasi_sockets_tcp::ErrorCode>> {
        Ok(Err(wasi_sockets_tcp::ErrorCode::NotSupported))
    }
}

impl wasi_sockets_tcp_create_socket::Host for WasiHost {
    fn create_tcp_socket(
        &mut self,
        _: &mut Cx<'_>,
        _address_family: wasi_sockets_network::IpAddressFamily,
    ) -> HostResult<Result<Own<wasi_sockets_tcp::TcpSocket>, wasi_sockets_network::ErrorCode>> {
        Ok(Err(wasi_sockets_network::ErrorCode::AccessDenied))
    }
}

impl wasi_sockets_udp::Host for WasiHost {
    fn method_udp_socket_start_bind(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
        _network: Borrow<wasi_sockets_network::Network>,
        _local_address: wasi_sockets_udp::IpSocketAddress,
    ) -> HostResult<Result<(), wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_finish_bind(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Result<(), wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_stream(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
        _remote_address: Option<wasi_sockets_udp::IpSocketAddress>,
    ) -> HostResult<
        Result<
            (
                Own<wasi_sockets_udp::IncomingDatagramStream>,
                Own<wasi_sockets_udp::OutgoingDatagramStream>,
            ),
            wasi_sockets_udp::ErrorCode,
        >,
    > {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_local_address(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Result<wasi_sockets_udp::IpSocketAddress, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_remote_address(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Result<wasi_sockets_udp::IpSocketAddress, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_address_family(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<wasi_sockets_udp::IpAddressFamily> {
        Err(HostTrap::unsupported(
            "wasi:sockets/udp#method_udp_socket_address_family",
        ))
    }

    fn method_udp_socket_unicast_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Result<u8, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_set_unicast_hop_limit(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
        _value: u8,
    ) -> HostResult<Result<(), wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Result<u64, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_set_receive_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
        _value: u64,
    ) -> HostResult<Result<(), wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Result<u64, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_set_send_buffer_size(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
        _value: u64,
    ) -> HostResult<Result<(), wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_udp_socket_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::UdpSocket>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        Err(HostTrap::unsupported(
            "wasi:sockets/udp#method_udp_socket_subscribe",
        ))
    }

    fn method_incoming_datagram_stream_receive(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::IncomingDatagramStream>,
        _max_results: u64,
    ) -> HostResult<Result<Vec<wasi_sockets_udp::IncomingDatagram>, wasi_sockets_udp::ErrorCode>>
    {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_incoming_datagram_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::IncomingDatagramStream>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        Err(HostTrap::unsupported(
            "wasi:sockets/udp#method_incoming_datagram_stream_subscribe",
        ))
    }

    fn method_outgoing_datagram_stream_check_send(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::OutgoingDatagramStream>,
    ) -> HostResult<Result<u64, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_outgoing_datagram_stream_send(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::OutgoingDatagramStream>,
        _datagrams: Vec<wasi_sockets_udp::OutgoingDatagram>,
    ) -> HostResult<Result<u64, wasi_sockets_udp::ErrorCode>> {
        Ok(Err(wasi_sockets_udp::ErrorCode::NotSupported))
    }

    fn method_outgoing_datagram_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        _self_: Borrow<wasi_sockets_udp::OutgoingDatagramStream>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        Err(HostTrap::unsupported(
            "wasi:sockets/udp#method_outgoing_datagram_stream_subscribe",
        ))
    }
}

impl wasi_sockets_udp_create_socket::Host for WasiHost {
    fn create_udp_socket(
        &mut self,
        _: &mut Cx<'_>,
        _address_family: wasi_sockets_network::IpAddressFamily,
    ) -> HostResult<Result<Own<wasi_sockets_udp::UdpSocket>, wasi_sockets_network::ErrorCode>> {
        Ok(Err(wasi_sockets_network::ErrorCode::AccessDenied))
    }
}
