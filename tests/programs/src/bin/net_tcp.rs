//! TCP over loopback with `std::net` (WASI 0.2 `wasi:sockets/tcp` through
//! wasi-libc), for IPv4 and IPv6: a listener on a free port, a client that
//! connects to it (by address, and by `localhost`, which needs name
//! lookup), 256 KiB echoed through the accepted connection in chunks,
//! half-closes in both directions, and a connection refused by a port
//! nothing listens on. Prints what it checked.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};

const TOTAL: usize = 256 << 10;
const CHUNK: usize = 16 << 10;

/// `n` bytes of a fixed pattern.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// Echoes `data` from `client` through `server` back to `client`, chunk by
/// chunk; returns what came back.
fn echo(client: &mut TcpStream, server: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    let mut back = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; CHUNK];
    for chunk in data.chunks(CHUNK) {
        client.write_all(chunk).unwrap();
        let mut got = 0;
        while got < chunk.len() {
            let n = server.read(&mut buf[..chunk.len() - got]).unwrap();
            assert!(n > 0, "the server saw the end of the stream early");
            server.write_all(&buf[..n]).unwrap();
            got += n;
        }
        let mut echoed = 0;
        while echoed < chunk.len() {
            let n = client.read(&mut buf[..chunk.len() - echoed]).unwrap();
            assert!(n > 0, "the client saw the end of the stream early");
            back.extend_from_slice(&buf[..n]);
            echoed += n;
        }
    }
    back
}

fn run(name: &str, bind: &str) {
    let listener = TcpListener::bind(bind).unwrap();
    let addr = listener.local_addr().unwrap();
    println!("{name}: listening on a free port: {}", addr.port() != 0);
    let mut client = TcpStream::connect(addr).unwrap();
    let (mut server, peer) = listener.accept().unwrap();
    println!("{name}: accepted the client's address: {}", peer == client.local_addr().unwrap());
    println!("{name}: client's peer is the listener: {}", client.peer_addr().unwrap() == addr);
    let data = pattern(TOTAL);
    let back = echo(&mut client, &mut server, &data);
    println!("{name}: echoed {} bytes intact: {}", back.len(), back == data);
    // The client is done sending: the server reads the end of the stream,
    // and can still answer.
    client.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).unwrap();
    println!("{name}: server reads the end after the client's shutdown: {}", rest.is_empty());
    server.write_all(b"bye").unwrap();
    drop(server);
    let mut bye = Vec::new();
    client.read_to_end(&mut bye).unwrap();
    println!("{name}: client reads the last bytes, then the end: {}", bye == b"bye");
    // By name: `localhost` resolves to both loopback addresses, 127.0.0.1
    // first (for IPv6, something else may listen on 127.0.0.1 at the
    // listener's port number: no connect by name there).
    let port = addr.port();
    let by_name = ("localhost", port).to_socket_addrs().unwrap().collect::<Vec<_>>();
    println!("{name}: localhost resolves to the listener's address: {}", by_name.contains(&addr));
    if addr.is_ipv4() {
        let named = TcpStream::connect(("localhost", port)).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        println!(
            "{name}: connected by name: {}",
            accepted.peer_addr().unwrap() == named.local_addr().unwrap()
        );
    }
    // A port nothing listens on any more.
    drop(listener);
    match TcpStream::connect(addr) {
        Err(e) => println!("{name}: connect to a closed port: {:?}", e.kind()),
        Ok(_) => println!("{name}: connect to a closed port: connected"),
    }
}

fn main() {
    run("ipv4", "127.0.0.1:0");
    run("ipv6", "[::1]:0");
    // A refused connection is an error, not a trap; so is a bad address.
    match TcpStream::connect("0.0.0.0:80") {
        Err(e) => println!("connect to 0.0.0.0:80: {:?}", e.kind()),
        Ok(_) => println!("connect to 0.0.0.0:80: connected"),
    }
}
