//! UDP over loopback with `std::net` (WASI 0.2 `wasi:sockets/udp` through
//! wasi-libc), for IPv4 and IPv6: datagrams between two sockets bound to
//! free ports, with and without a peer set by `connect`, an empty one and
//! a large one. Prints what it checked.

use std::net::UdpSocket;

fn run(name: &str, bind: &str) {
    let a = UdpSocket::bind(bind).unwrap();
    let b = UdpSocket::bind(bind).unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    println!("{name}: bound to free ports: {}", a_addr.port() != 0 && b_addr.port() != 0);
    let mut buf = vec![0u8; 65536];
    a.send_to(b"hello", b_addr).unwrap();
    let (n, from) = b.recv_from(&mut buf).unwrap();
    println!("{name}: received {:?} from the sender: {}", String::from_utf8_lossy(&buf[..n]), from == a_addr);
    // A peer: `send` without an address, and only its datagrams received.
    b.connect(a_addr).unwrap();
    println!("{name}: peer set: {}", b.peer_addr().unwrap() == a_addr);
    b.send(b"reply").unwrap();
    let (n, from) = a.recv_from(&mut buf).unwrap();
    println!("{name}: received {:?} from the peer: {}", String::from_utf8_lossy(&buf[..n]), from == b_addr);
    a.send_to(&[], b_addr).unwrap();
    let n = b.recv(&mut buf).unwrap();
    println!("{name}: received an empty datagram: {}", n == 0);
    let big: Vec<u8> = (0..60000).map(|i| (i % 253) as u8).collect();
    a.send_to(&big, b_addr).unwrap();
    let n = b.recv(&mut buf).unwrap();
    println!("{name}: received 60000 bytes intact: {}", buf[..n] == big[..]);
    // Several datagrams queue up, in order.
    for i in 0..5u8 {
        a.send_to(&[i], b_addr).unwrap();
    }
    let order: Vec<u8> = (0..5).map(|_| { b.recv(&mut buf).unwrap(); buf[0] }).collect();
    println!("{name}: five datagrams in order: {order:?}");
}

fn main() {
    run("ipv4", "127.0.0.1:0");
    run("ipv6", "[::1]:0");
}
