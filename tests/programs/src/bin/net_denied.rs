//! What a guest sees of the network capabilities it was not granted: each
//! operation fails with `access-denied` (Rust's `PermissionDenied`), and
//! the program goes on. Run without grants, everything is refused; run
//! with `--allow-tcp-listen 127.0.0.1:0 --allow-tcp-connect 127.0.0.1:1-1023`,
//! the listener binds but a connect to its port (above 1023) is refused,
//! and so is binding to IPv6 or to a fixed port.

use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

fn show<T>(what: &str, r: std::io::Result<T>) {
    match r {
        Ok(_) => println!("{what}: ok"),
        Err(e) => println!("{what}: {:?}", e.kind()),
    }
}

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0");
    let port = listener.as_ref().map_or(9, |l| l.local_addr().unwrap().port());
    show("tcp bind 127.0.0.1:0", listener);
    show("tcp bind 127.0.0.1:8", TcpListener::bind("127.0.0.1:8"));
    show("tcp bind [::1]:0", TcpListener::bind("[::1]:0"));
    show("tcp connect 127.0.0.1:<listener>", TcpStream::connect(("127.0.0.1", port)));
    show("udp bind 127.0.0.1:0", UdpSocket::bind("127.0.0.1:0"));
    show("lookup localhost", ("localhost", 80).to_socket_addrs());
    println!("still running");
}
