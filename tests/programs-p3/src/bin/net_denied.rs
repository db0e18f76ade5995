//! The WASI 0.3 twin of tests/programs' `net_denied`: the operations the
//! network capabilities do not grant fail with `access-denied`, and the
//! program goes on; printing the same lines.

use smelt_test_programs_p3::net::{Out, kind, loopback, std_addr};
use wasip3::sockets::ip_name_lookup::{ErrorCode as LookupError, resolve_addresses};
use wasip3::sockets::types::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket, UdpSocket};

wasip3::cli::command::export!(NetDenied);

struct NetDenied;

fn v4(port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (127, 0, 0, 1),
    })
}

fn show(out: &mut Out, what: &str, r: Result<(), wasip3::sockets::types::ErrorCode>) {
    match r {
        Ok(()) => out.line(format!("{what}: ok")),
        Err(e) => out.line(format!("{what}: {}", kind(&e))),
    }
}

impl wasip3::exports::cli::run::Guest for NetDenied {
    async fn run() -> Result<(), ()> {
        let mut out = Out::default();
        let listener = TcpSocket::create(IpAddressFamily::Ipv4).unwrap();
        let bound = listener.bind(v4(0)).and_then(|()| listener.listen().map(drop));
        let port = listener.get_local_address().map_or(9, |a| std_addr(&a).port());
        show(&mut out, "tcp bind 127.0.0.1:0", bound);
        let s = TcpSocket::create(IpAddressFamily::Ipv4).unwrap();
        show(&mut out, "tcp bind 127.0.0.1:8", s.bind(v4(8)));
        let s = TcpSocket::create(IpAddressFamily::Ipv6).unwrap();
        show(&mut out, "tcp bind [::1]:0", s.bind(loopback(IpAddressFamily::Ipv6, 0)));
        let s = TcpSocket::create(IpAddressFamily::Ipv4).unwrap();
        show(&mut out, "tcp connect 127.0.0.1:<listener>", s.connect(v4(port)).await);
        let u = UdpSocket::create(IpAddressFamily::Ipv4).unwrap();
        show(&mut out, "udp bind 127.0.0.1:0", u.bind(v4(0)));
        match resolve_addresses("localhost".into()).await {
            Ok(_) => out.line("lookup localhost: ok"),
            Err(LookupError::AccessDenied) => out.line("lookup localhost: PermissionDenied"),
            Err(e) => out.line(format!("lookup localhost: {e:?}")),
        }
        out.line("still running");
        out.flush().await;
        Ok(())
    }
}

fn main() {}
