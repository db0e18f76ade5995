//! `wasi:sockets@0.3` through its WIT interface, for IPv4 and IPv6 (the
//! WASI 0.3 counterpart of tests/programs' `net_options`): the TCP state
//! machine with the error each WIT function documents for each wrong state
//! or argument, every socket option set and read back, connect and the
//! `listen` stream, `send` and `receive` allowed once each, a listen whose
//! implicit bind is not granted, a connection refused by a port bound but
//! not listening, and UDP's options, peers, `async` `send` and `receive`
//! (two receives waiting at once). Prints one line per check.

use std::fmt::Debug;

use futures::join;
use smelt_test_programs_p3::net::{Out, loopback, name, std_addr};
use wasip3::sockets::types::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv6SocketAddress, TcpSocket, UdpSocket,
};
use wasip3::wit_bindgen::StreamResult;
use wasip3::wit_stream;

wasip3::cli::command::export!(NetOptions);

struct NetOptions;

const SECOND: u64 = 1_000_000_000;

fn show<T>(out: &mut Out, what: &str, r: Result<T, ErrorCode>) -> Option<T> {
    match r {
        Ok(v) => {
            out.line(format!("{what}: ok"));
            Some(v)
        }
        Err(e) => {
            out.line(format!("{what}: {}", name(&e)));
            None
        }
    }
}

fn value<T: Debug>(out: &mut Out, what: &str, r: Result<T, ErrorCode>) {
    match r {
        Ok(v) => out.line(format!("{what}: {v:?}")),
        Err(e) => out.line(format!("{what}: {}", name(&e))),
    }
}

fn unspecified(family: IpAddressFamily, port: u16) -> IpSocketAddress {
    match loopback(family, port) {
        IpSocketAddress::Ipv4(mut a) => {
            a.address = (0, 0, 0, 0);
            IpSocketAddress::Ipv4(a)
        }
        IpSocketAddress::Ipv6(mut a) => {
            a.address = (0, 0, 0, 0, 0, 0, 0, 0);
            IpSocketAddress::Ipv6(a)
        }
    }
}

fn other(family: IpAddressFamily) -> IpAddressFamily {
    match family {
        IpAddressFamily::Ipv4 => IpAddressFamily::Ipv6,
        IpAddressFamily::Ipv6 => IpAddressFamily::Ipv4,
    }
}

fn same(a: &IpSocketAddress, b: &IpSocketAddress) -> bool {
    std_addr(a) == std_addr(b)
}

fn tcp_options(out: &mut Out, s: &TcpSocket) {
    show(out, "set keep-alive-enabled true", s.set_keep_alive_enabled(true));
    value(out, "keep-alive-enabled", s.get_keep_alive_enabled());
    show(out, "set keep-alive-enabled false", s.set_keep_alive_enabled(false));
    value(out, "keep-alive-enabled", s.get_keep_alive_enabled());
    show(out, "set keep-alive-idle-time 0", s.set_keep_alive_idle_time(0));
    show(out, "set keep-alive-idle-time 10s", s.set_keep_alive_idle_time(10 * SECOND));
    value(out, "keep-alive-idle-time (s)", s.get_keep_alive_idle_time().map(|d| d / SECOND));
    show(out, "set keep-alive-idle-time 1.5s", s.set_keep_alive_idle_time(3 * SECOND / 2));
    value(out, "keep-alive-idle-time (s), rounded up", s.get_keep_alive_idle_time().map(|d| d / SECOND));
    show(out, "set keep-alive-interval 0", s.set_keep_alive_interval(0));
    show(out, "set keep-alive-interval 7s", s.set_keep_alive_interval(7 * SECOND));
    value(out, "keep-alive-interval (s)", s.get_keep_alive_interval().map(|d| d / SECOND));
    show(out, "set keep-alive-count 0", s.set_keep_alive_count(0));
    show(out, "set keep-alive-count 5", s.set_keep_alive_count(5));
    value(out, "keep-alive-count", s.get_keep_alive_count());
    show(out, "set hop-limit 0", s.set_hop_limit(0));
    show(out, "set hop-limit 42", s.set_hop_limit(42));
    value(out, "hop-limit", s.get_hop_limit());
    show(out, "set receive-buffer-size 0", s.set_receive_buffer_size(0));
    show(out, "set receive-buffer-size 64 KiB", s.set_receive_buffer_size(65536));
    value(out, "receive-buffer-size >= 64 KiB", s.get_receive_buffer_size().map(|n| n >= 65536));
    show(out, "set send-buffer-size 0", s.set_send_buffer_size(0));
    show(out, "set send-buffer-size 64 KiB", s.set_send_buffer_size(65536));
    value(out, "send-buffer-size >= 64 KiB", s.get_send_buffer_size().map(|n| n >= 65536));
}

/// Reads `n` bytes from `rx`.
async fn read_n(rx: &mut wasip3::wit_bindgen::StreamReader<u8>, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let (result, buf) = rx.read(Vec::with_capacity(n - got.len())).await;
        got.extend_from_slice(&buf);
        if let StreamResult::Dropped = result {
            break;
        }
    }
    got
}

async fn tcp(out: &mut Out, family: IpAddressFamily) {
    let s = TcpSocket::create(family).unwrap();
    out.line(format!("address-family is the socket's: {}", s.get_address_family() == family));
    value(out, "is-listening", Ok::<_, ErrorCode>(s.get_is_listening()));
    show(out, "local-address before bind", s.get_local_address());
    show(out, "bind to the other family", s.bind(loopback(other(family), 0)));
    if family == IpAddressFamily::Ipv6 {
        let mapped = IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port: 0,
            flow_info: 0,
            address: (0, 0, 0, 0, 0, 0xffff, 0x7f00, 1),
            scope_id: 0,
        });
        show(out, "bind to an IPv4-mapped address", s.bind(mapped));
    }
    show(out, "bind", s.bind(loopback(family, 0)));
    show(out, "bind once bound", s.bind(loopback(family, 0)));
    let addr = s.get_local_address().unwrap();
    out.line(format!("bound to a free port: {}", std_addr(&addr).port() != 0));
    show(out, "remote-address unconnected", s.get_remote_address());
    tcp_options(out, &s);
    show(out, "set-listen-backlog-size 0", s.set_listen_backlog_size(0));
    show(out, "set-listen-backlog-size 16", s.set_listen_backlog_size(16));
    let mut incoming = show(out, "listen", s.listen()).unwrap();
    value(out, "is-listening", Ok::<_, ErrorCode>(s.get_is_listening()));
    show(out, "listen again", s.listen().map(drop));
    show(out, "set-listen-backlog-size while listening", s.set_listen_backlog_size(32));
    show(out, "connect while listening", s.connect(addr).await);

    let c = TcpSocket::create(family).unwrap();
    show(out, "connect to port 0", c.connect(loopback(family, 0)).await);
    show(out, "connect to the unspecified address", c.connect(unspecified(family, std_addr(&addr).port())).await);
    show(out, "connect to the other family", c.connect(loopback(other(family), std_addr(&addr).port())).await);
    let (early_tx, early_data) = wit_stream::new::<u8>();
    drop(early_tx);
    show(out, "send before connect", c.send(early_data).await);
    let (_, early) = c.receive();
    show(out, "receive before connect", early.await);
    let (connected, accepted) = join!(c.connect(addr), incoming.next());
    show(out, "connect", connected);
    let a = accepted.expect("the listener's stream ended");
    out.line(format!(
        "accepted the client's address: {}",
        same(&a.get_remote_address().unwrap(), &c.get_local_address().unwrap())
    ));
    out.line(format!("the client's peer is the listener: {}", same(&c.get_remote_address().unwrap(), &addr)));
    value(out, "accepted is-listening", Ok::<_, ErrorCode>(a.get_is_listening()));
    value(out, "accepted keep-alive-count (the listener's)", a.get_keep_alive_count());
    value(out, "accepted hop-limit (the listener's)", a.get_hop_limit());
    show(out, "connect once connected", c.connect(addr).await);
    show(out, "listen once connected", c.listen().map(drop));
    show(out, "set-listen-backlog-size once connected", c.set_listen_backlog_size(8));
    // The connection's streams: once each.
    let (mut c_tx, c_data) = wit_stream::new();
    let c_sent = c.send(c_data);
    let (mut a_rx, a_received) = a.receive();
    assert!(c_tx.write_all(b"ping".to_vec()).await.is_empty());
    out.line(format!("server read {:?}", String::from_utf8_lossy(&read_n(&mut a_rx, 4).await)));
    let (again_tx, again_data) = wit_stream::new::<u8>();
    drop(again_tx);
    show(out, "send again", c.send(again_data).await);
    let (_, again) = a.receive();
    show(out, "receive again", again.await);
    drop(c_tx);
    show(out, "send's outcome after the stream is dropped", c_sent.await);
    let rest = read_n(&mut a_rx, 1).await;
    out.line(format!("server reads the end of the stream: {}", rest.is_empty()));
    show(out, "receive's outcome at the end", a_received.await);
    drop((a, c));

    // A listen with no bind binds implicitly to the unspecified address,
    // which `--allow-tcp-listen localhost:0` does not grant.
    let unbound = TcpSocket::create(family).unwrap();
    show(out, "listen unbound (implicit bind not granted)", unbound.listen().map(drop));

    // A port bound but not listening refuses connections.
    let bound = TcpSocket::create(family).unwrap();
    bound.bind(loopback(family, 0)).unwrap();
    let refused = TcpSocket::create(family).unwrap();
    show(out, "connect to a port nobody listens on", refused.connect(bound.get_local_address().unwrap()).await);
    show(out, "connect after a failed connect", refused.connect(addr).await);
}

async fn udp(out: &mut Out, family: IpAddressFamily) {
    let u = UdpSocket::create(family).unwrap();
    out.line(format!("address-family is the socket's: {}", u.get_address_family() == family));
    show(out, "local-address before bind", u.get_local_address());
    show(out, "receive before bind", u.receive().await.map(drop));
    show(out, "disconnect without a peer", u.disconnect());
    show(out, "set unicast-hop-limit 0", u.set_unicast_hop_limit(0));
    show(out, "set unicast-hop-limit 9", u.set_unicast_hop_limit(9));
    value(out, "unicast-hop-limit", u.get_unicast_hop_limit());
    show(out, "set receive-buffer-size 0", u.set_receive_buffer_size(0));
    show(out, "set receive-buffer-size 64 KiB", u.set_receive_buffer_size(65536));
    value(out, "receive-buffer-size >= 64 KiB", u.get_receive_buffer_size().map(|n| n >= 65536));
    show(out, "set send-buffer-size 0", u.set_send_buffer_size(0));
    show(out, "set send-buffer-size 64 KiB", u.set_send_buffer_size(65536));
    value(out, "send-buffer-size >= 64 KiB", u.get_send_buffer_size().map(|n| n >= 65536));
    show(out, "bind to the other family", u.bind(loopback(other(family), 0)));
    show(out, "bind", u.bind(loopback(family, 0)));
    show(out, "bind once bound", u.bind(loopback(family, 0)));
    show(out, "remote-address without a peer", u.get_remote_address());
    let u_addr = u.get_local_address().unwrap();
    let v = UdpSocket::create(family).unwrap();
    v.bind(loopback(family, 0)).unwrap();
    let v_addr = v.get_local_address().unwrap();
    show(out, "connect to port 0", v.connect(loopback(family, 0)));
    show(out, "connect", v.connect(u_addr));
    out.line(format!("peer set: {}", same(&v.get_remote_address().unwrap(), &u_addr)));
    show(out, "send to the peer", v.send(b"one".to_vec(), None).await);
    let (data, from) = u.receive().await.unwrap();
    out.line(format!("received {:?} from the sender: {}", String::from_utf8_lossy(&data), same(&from, &v_addr)));
    show(out, "send to an address", u.send(b"two".to_vec(), Some(v_addr)).await);
    let (data, from) = v.receive().await.unwrap();
    out.line(format!("received {:?} from the peer: {}", String::from_utf8_lossy(&data), same(&from, &u_addr)));
    show(out, "send without an address and no peer", u.send(b"x".to_vec(), None).await);
    show(out, "send to another address than the peer", v.send(b"x".to_vec(), Some(v_addr)).await);
    show(out, "send the peer's address", v.send(b"three".to_vec(), Some(u_addr)).await);
    let (data, _) = u.receive().await.unwrap();
    out.line(format!("received {:?}", String::from_utf8_lossy(&data)));
    show(out, "send 70000 bytes", u.send(vec![0; 70000], Some(v_addr)).await);
    // Two receives wait at once; each gets one of the two datagrams.
    let (first, second, ()) = join!(u.receive(), u.receive(), async {
        v.send(b"a".to_vec(), None).await.unwrap();
        v.send(b"b".to_vec(), None).await.unwrap();
    });
    let mut got = vec![first.unwrap().0, second.unwrap().0];
    got.sort();
    out.line(format!("two waiting receives got {:?}", got.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect::<Vec<_>>()));
    show(out, "disconnect", v.disconnect());
    show(out, "remote-address after disconnect", v.get_remote_address());
    show(out, "disconnect again", v.disconnect());
}

impl wasip3::exports::cli::run::Guest for NetOptions {
    async fn run() -> Result<(), ()> {
        let mut out = Out::default();
        for (n, family) in [("ipv4", IpAddressFamily::Ipv4), ("ipv6", IpAddressFamily::Ipv6)] {
            out.line(format!("== tcp {n}"));
            tcp(&mut out, family).await;
            out.line(format!("== udp {n}"));
            udp(&mut out, family).await;
            out.flush().await;
        }
        Ok(())
    }
}

fn main() {}
