//! `wasi:sockets`: not granted. A component may import it (Rust's
//! standard library does) and still run: creating a socket or resolving a
//! name returns `access-denied`, the error the interfaces define for a
//! network that is not granted. The methods of sockets, which a guest
//! cannot get hold of, keep the generated behaviour (a trap naming the
//! function). `wasi:http` is in `http.rs`.

use smelt_rt::component::host::{Borrow, Cx, HostResult, Own};

use crate::WasiHost;
use crate::bindings::*;
use crate::table::Object;

impl wasi_sockets_network::Host for WasiHost {}

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

impl wasi_sockets_tcp::Host for WasiHost {}

impl wasi_sockets_tcp_create_socket::Host for WasiHost {
    fn create_tcp_socket(
        &mut self,
        _: &mut Cx<'_>,
        _address_family: wasi_sockets_network::IpAddressFamily,
    ) -> HostResult<Result<Own<wasi_sockets_tcp::TcpSocket>, wasi_sockets_network::ErrorCode>> {
        Ok(Err(wasi_sockets_network::ErrorCode::AccessDenied))
    }
}

impl wasi_sockets_udp::Host for WasiHost {}

impl wasi_sockets_udp_create_socket::Host for WasiHost {
    fn create_udp_socket(
        &mut self,
        _: &mut Cx<'_>,
        _address_family: wasi_sockets_network::IpAddressFamily,
    ) -> HostResult<Result<Own<wasi_sockets_udp::UdpSocket>, wasi_sockets_network::ErrorCode>> {
        Ok(Err(wasi_sockets_network::ErrorCode::AccessDenied))
    }
}
