//! `wasi:sockets@0.2` through its WIT interface (the `wasip2` crate), for
//! IPv4 and IPv6: the TCP state machine with the error each WIT function
//! documents for each wrong state or argument, every socket option set and
//! read back (0 refused as `invalid-argument`), connect and accept driven
//! by `subscribe` pollables and `wasi:io/poll`, the connection's streams
//! and `shutdown`, a connection refused by a port bound but not listening,
//! and UDP's options, peers and datagram streams. Prints one line per check:
//! `ok`, the error code, or the value read.

use std::fmt::Debug;

use wasip2::io::poll::{Pollable, poll};
use wasip2::io::streams::StreamError;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, Network,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wasip2::sockets::udp::OutgoingDatagram;
use wasip2::sockets::udp_create_socket::create_udp_socket;

const SECOND: u64 = 1_000_000_000;

fn show<T>(what: &str, r: Result<T, ErrorCode>) -> Option<T> {
    match r {
        Ok(v) => {
            println!("{what}: ok");
            Some(v)
        }
        Err(e) => {
            println!("{what}: {}", e.name());
            None
        }
    }
}

fn value<T: Debug>(what: &str, r: Result<T, ErrorCode>) {
    match r {
        Ok(v) => println!("{what}: {v:?}"),
        Err(e) => println!("{what}: {}", e.name()),
    }
}

/// The loopback address of `family` with `port`.
fn loopback(family: IpAddressFamily, port: u16) -> IpSocketAddress {
    match family {
        IpAddressFamily::Ipv4 => IpSocketAddress::Ipv4(Ipv4SocketAddress {
            port,
            address: (127, 0, 0, 1),
        }),
        IpAddressFamily::Ipv6 => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            flow_info: 0,
            address: (0, 0, 0, 0, 0, 0, 0, 1),
            scope_id: 0,
        }),
    }
}

/// The unspecified address of `family` with `port`.
fn unspecified(family: IpAddressFamily, port: u16) -> IpSocketAddress {
    match family {
        IpAddressFamily::Ipv4 => IpSocketAddress::Ipv4(Ipv4SocketAddress {
            port,
            address: (0, 0, 0, 0),
        }),
        IpAddressFamily::Ipv6 => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            flow_info: 0,
            address: (0, 0, 0, 0, 0, 0, 0, 0),
            scope_id: 0,
        }),
    }
}

fn port(a: &IpSocketAddress) -> u16 {
    match a {
        IpSocketAddress::Ipv4(a) => a.port,
        IpSocketAddress::Ipv6(a) => a.port,
    }
}

fn same(a: &IpSocketAddress, b: &IpSocketAddress) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn other(family: IpAddressFamily) -> IpAddressFamily {
    match family {
        IpAddressFamily::Ipv4 => IpAddressFamily::Ipv6,
        IpAddressFamily::Ipv6 => IpAddressFamily::Ipv4,
    }
}

/// Binds `s` to a free loopback port.
fn bind(net: &Network, s: &TcpSocket, family: IpAddressFamily) {
    s.start_bind(net, loopback(family, 0)).unwrap();
    s.finish_bind().unwrap();
}

/// Calls `f` until it stops answering `would-block`, waiting on `p` in
/// between.
fn until_ready<T>(p: &Pollable, mut f: impl FnMut() -> Result<T, ErrorCode>) -> Result<T, ErrorCode> {
    loop {
        match f() {
            Err(ErrorCode::WouldBlock) => {
                poll(&[p]);
            }
            r => return r,
        }
    }
}

fn tcp_options(s: &TcpSocket) {
    show("set keep-alive-enabled true", s.set_keep_alive_enabled(true));
    value("keep-alive-enabled", s.keep_alive_enabled());
    show("set keep-alive-enabled false", s.set_keep_alive_enabled(false));
    value("keep-alive-enabled", s.keep_alive_enabled());
    show("set keep-alive-idle-time 0", s.set_keep_alive_idle_time(0));
    show("set keep-alive-idle-time 10s", s.set_keep_alive_idle_time(10 * SECOND));
    value("keep-alive-idle-time (s)", s.keep_alive_idle_time().map(|d| d / SECOND));
    show("set keep-alive-idle-time 1.5s", s.set_keep_alive_idle_time(3 * SECOND / 2));
    value("keep-alive-idle-time (s), rounded up", s.keep_alive_idle_time().map(|d| d / SECOND));
    show("set keep-alive-interval 0", s.set_keep_alive_interval(0));
    show("set keep-alive-interval 7s", s.set_keep_alive_interval(7 * SECOND));
    value("keep-alive-interval (s)", s.keep_alive_interval().map(|d| d / SECOND));
    show("set keep-alive-count 0", s.set_keep_alive_count(0));
    show("set keep-alive-count 5", s.set_keep_alive_count(5));
    value("keep-alive-count", s.keep_alive_count());
    show("set hop-limit 0", s.set_hop_limit(0));
    show("set hop-limit 42", s.set_hop_limit(42));
    value("hop-limit", s.hop_limit());
    show("set receive-buffer-size 0", s.set_receive_buffer_size(0));
    show("set receive-buffer-size 64 KiB", s.set_receive_buffer_size(65536));
    value("receive-buffer-size >= 64 KiB", s.receive_buffer_size().map(|n| n >= 65536));
    show("set send-buffer-size 0", s.set_send_buffer_size(0));
    show("set send-buffer-size 64 KiB", s.set_send_buffer_size(65536));
    value("send-buffer-size >= 64 KiB", s.send_buffer_size().map(|n| n >= 65536));
}

fn tcp(net: &Network, family: IpAddressFamily) {
    let s = create_tcp_socket(family).unwrap();
    println!("address-family is the socket's: {}", s.address_family() == family);
    value("is-listening", Ok(s.is_listening()));
    show("local-address before bind", s.local_address());
    show("finish-bind without start-bind", s.finish_bind());
    show("start-listen unbound", s.start_listen());
    show("start-bind to the other family", s.start_bind(net, loopback(other(family), 0)));
    if family == IpAddressFamily::Ipv6 {
        let mapped = IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port: 0,
            flow_info: 0,
            address: (0, 0, 0, 0, 0, 0xffff, 0x7f00, 1),
            scope_id: 0,
        });
        show("start-bind to an IPv4-mapped address", s.start_bind(net, mapped));
    }
    show("start-bind", s.start_bind(net, loopback(family, 0)));
    show("start-bind while binding", s.start_bind(net, loopback(family, 0)));
    show("local-address while binding", s.local_address());
    show("finish-bind", s.finish_bind());
    show("finish-bind again", s.finish_bind());
    show("start-bind once bound", s.start_bind(net, loopback(family, 0)));
    let addr = s.local_address().unwrap();
    println!("bound to a free port: {}", port(&addr) != 0);
    show("remote-address unconnected", s.remote_address());
    show("shutdown unconnected", s.shutdown(ShutdownType::Both));
    tcp_options(&s);
    show("set-listen-backlog-size 0", s.set_listen_backlog_size(0));
    show("set-listen-backlog-size 16", s.set_listen_backlog_size(16));
    // One pollable for the whole life of the socket, as wasi-libc keeps.
    let listener_ready = s.subscribe();
    show("start-listen", s.start_listen());
    show("accept before finish-listen", s.accept());
    show("finish-listen", s.finish_listen());
    value("is-listening", Ok(s.is_listening()));
    show("start-listen again", s.start_listen());
    show("set-listen-backlog-size while listening", s.set_listen_backlog_size(32));
    show("accept with nothing pending", s.accept());
    show("start-connect while listening", s.start_connect(net, addr));

    let c = create_tcp_socket(family).unwrap();
    show("start-connect to port 0", c.start_connect(net, loopback(family, 0)));
    show("start-connect to the unspecified address", c.start_connect(net, unspecified(family, port(&addr))));
    show("start-connect to the other family", c.start_connect(net, loopback(other(family), port(&addr))));
    show("finish-connect without start-connect", c.finish_connect().map(drop));
    let connect_ready = c.subscribe();
    show("start-connect", c.start_connect(net, addr));
    show("start-connect while connecting", c.start_connect(net, addr));
    show("start-listen while connecting", c.start_listen());
    let (c_in, c_out) = show("finish-connect", until_ready(&connect_ready, || c.finish_connect())).unwrap();
    let (a, a_in, a_out) = show("accept", until_ready(&listener_ready, || s.accept())).unwrap();
    println!("accepted the client's address: {}", same(&a.remote_address().unwrap(), &c.local_address().unwrap()));
    println!("the client's peer is the listener: {}", same(&c.remote_address().unwrap(), &addr));
    value("accepted is-listening", Ok(a.is_listening()));
    value("accepted keep-alive-count (the listener's)", a.keep_alive_count());
    value("accepted hop-limit (the listener's)", a.hop_limit());
    show("start-connect once connected", c.start_connect(net, addr));
    show("start-listen once connected", c.start_listen());
    show("set-listen-backlog-size once connected", c.set_listen_backlog_size(8));
    // The connection's streams.
    c_out.blocking_write_and_flush(b"ping").unwrap();
    let got = a_in.blocking_read(4).unwrap();
    println!("server read {:?}", String::from_utf8_lossy(&got));
    a_out.blocking_write_and_flush(b"pong").unwrap();
    let got = c_in.blocking_read(4).unwrap();
    println!("client read {:?}", String::from_utf8_lossy(&got));
    println!("nothing more to read now: {}", c_in.read(10).unwrap().is_empty());
    show("shutdown send", c.shutdown(ShutdownType::Send));
    show("shutdown send again", c.shutdown(ShutdownType::Send));
    match a_in.blocking_read(10) {
        Err(StreamError::Closed) => println!("server reads the end of the stream"),
        other => println!("server reads {other:?}"),
    }
    match c_out.blocking_write_and_flush(b"late") {
        Err(StreamError::Closed) => println!("client writes after shutdown: closed"),
        Err(StreamError::LastOperationFailed(e)) => {
            println!("client writes after shutdown: failed ({})", e.to_debug_string())
        }
        Ok(()) => println!("client writes after shutdown: ok"),
    }
    show("shutdown both", a.shutdown(ShutdownType::Both));
    drop((c_in, c_out, a_in, a_out, a, c));

    // A port bound but not listening refuses connections.
    let bound = create_tcp_socket(family).unwrap();
    bind(net, &bound, family);
    let refused = create_tcp_socket(family).unwrap();
    let ready = refused.subscribe();
    show("start-connect to a port nobody listens on", refused.start_connect(net, bound.local_address().unwrap()));
    show("finish-connect", until_ready(&ready, || refused.finish_connect()).map(drop));
    show("start-connect after a failed connect", refused.start_connect(net, addr));
}

fn udp(net: &Network, family: IpAddressFamily) {
    let u = create_udp_socket(family).unwrap();
    println!("address-family is the socket's: {}", u.address_family() == family);
    show("stream before bind", u.stream(None).map(drop));
    show("local-address before bind", u.local_address());
    show("finish-bind without start-bind", u.finish_bind());
    show("set unicast-hop-limit 0", u.set_unicast_hop_limit(0));
    show("set unicast-hop-limit 9", u.set_unicast_hop_limit(9));
    value("unicast-hop-limit", u.unicast_hop_limit());
    show("set receive-buffer-size 0", u.set_receive_buffer_size(0));
    show("set receive-buffer-size 64 KiB", u.set_receive_buffer_size(65536));
    value("receive-buffer-size >= 64 KiB", u.receive_buffer_size().map(|n| n >= 65536));
    show("set send-buffer-size 0", u.set_send_buffer_size(0));
    show("set send-buffer-size 64 KiB", u.set_send_buffer_size(65536));
    value("send-buffer-size >= 64 KiB", u.send_buffer_size().map(|n| n >= 65536));
    show("start-bind to the other family", u.start_bind(net, loopback(other(family), 0)));
    show("start-bind", u.start_bind(net, loopback(family, 0)));
    show("start-bind while binding", u.start_bind(net, loopback(family, 0)));
    show("finish-bind", u.finish_bind());
    show("start-bind once bound", u.start_bind(net, loopback(family, 0)));
    show("remote-address without a peer", u.remote_address());
    let u_addr = u.local_address().unwrap();
    let v = create_udp_socket(family).unwrap();
    v.start_bind(net, loopback(family, 0)).unwrap();
    v.finish_bind().unwrap();
    let v_addr = v.local_address().unwrap();
    show("stream with a peer on port 0", v.stream(Some(loopback(family, 0))).map(drop));
    let (u_in, u_out) = u.stream(None).unwrap();
    let (v_in, v_out) = v.stream(Some(u_addr)).unwrap();
    println!("peer set: {}", same(&v.remote_address().unwrap(), &u_addr));
    let send = |out: &wasip2::sockets::udp::OutgoingDatagramStream, data: &[u8], to: Option<IpSocketAddress>| {
        let ready = out.subscribe();
        let permit = until_ready(&ready, || match out.check_send() {
            Ok(0) => Err(ErrorCode::WouldBlock),
            r => r,
        });
        permit.and_then(|_| out.send(&[OutgoingDatagram { data: data.to_vec(), remote_address: to }]))
    };
    let receive = |input: &wasip2::sockets::udp::IncomingDatagramStream| {
        let ready = input.subscribe();
        until_ready(&ready, || match input.receive(10) {
            Ok(d) if d.is_empty() => Err(ErrorCode::WouldBlock),
            r => r,
        })
    };
    value("receive with nothing there", u_in.receive(10).map(|d| d.len()));
    value("send to the peer", send(&v_out, b"one", None));
    let got = receive(&u_in).unwrap();
    println!("received {:?} from the sender: {}", String::from_utf8_lossy(&got[0].data), same(&got[0].remote_address, &v_addr));
    value("send to an address", send(&u_out, b"two", Some(v_addr)));
    let got = receive(&v_in).unwrap();
    println!("received {:?} from the peer: {}", String::from_utf8_lossy(&got[0].data), same(&got[0].remote_address, &u_addr));
    value("send without an address and no peer", send(&u_out, b"x", None));
    value("send to another address than the peer", send(&v_out, b"x", Some(loopback(family, port(&v_addr)))));
    value("send an empty datagram", send(&u_out, b"", Some(v_addr)));
    let got = receive(&v_in).unwrap();
    println!("received an empty datagram: {}", got[0].data.is_empty());
    value("send 3 datagrams at once", {
        let ready = u_out.subscribe();
        until_ready(&ready, || match u_out.check_send() {
            Ok(n) if n < 3 => Err(ErrorCode::WouldBlock),
            r => r,
        })
        .and_then(|_| {
            let d = |b: u8| OutgoingDatagram { data: vec![b], remote_address: Some(v_addr) };
            u_out.send(&[d(1), d(2), d(3)])
        })
    });
    let mut order = Vec::new();
    while order.len() < 3 {
        order.extend(receive(&v_in).unwrap().into_iter().map(|d| d.data[0]));
    }
    println!("received them in order: {order:?}");
    // A second `stream` call replaces the first's streams.
    let (_v_in2, v_out2) = v.stream(None).unwrap();
    show("check-send of a replaced stream", v_out.check_send());
    show("receive of a replaced stream", v_in.receive(1).map(drop));
    show("remote-address after stream without a peer", v.remote_address());
    value("send on the new stream", send(&v_out2, b"three", Some(u_addr)));
    let got = receive(&u_in).unwrap();
    println!("received {:?}", String::from_utf8_lossy(&got[0].data));
}

fn main() {
    let net = instance_network();
    for (name, family) in [("ipv4", IpAddressFamily::Ipv4), ("ipv6", IpAddressFamily::Ipv6)] {
        println!("== tcp {name}");
        tcp(&net, family);
        println!("== udp {name}");
        udp(&net, family);
    }
}
