//! The WASI 0.3 twin of tests/programs' `net_tcp`: the same TCP checks
//! over loopback, through `wasi:sockets@0.3` — an `async` connect, the
//! `stream<tcp-socket>` of `listen`, data as `stream<u8>`s whose ends the
//! host holds, a half-close by dropping the sending stream — printing the
//! same lines (errors by the name Rust's `std::io::ErrorKind` gives them).

use futures::join;
use smelt_test_programs_p3::net::{Out, kind, loopback, std_addr};
use wasip3::sockets::ip_name_lookup::resolve_addresses;
use wasip3::sockets::types::{IpAddress, IpAddressFamily, IpSocketAddress, TcpSocket};
use wasip3::wit_bindgen::StreamResult;
use wasip3::wit_stream;

wasip3::cli::command::export!(NetTcp);

struct NetTcp;

const TOTAL: usize = 256 << 10;
const CHUNK: usize = 16 << 10;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// Reads `stream` to its end.
async fn read_all(stream: &mut wasip3::wit_bindgen::StreamReader<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let (result, buf) = stream.read(Vec::with_capacity(CHUNK)).await;
        out.extend_from_slice(&buf);
        if let StreamResult::Dropped = result {
            return out;
        }
    }
}

async fn run(out: &mut Out, name: &str, family: IpAddressFamily) {
    let listener = TcpSocket::create(family).unwrap();
    listener.bind(loopback(family, 0)).unwrap();
    let mut incoming = listener.listen().unwrap();
    let addr = listener.get_local_address().unwrap();
    out.line(format!("{name}: listening on a free port: {}", std_addr(&addr).port() != 0));
    let client = TcpSocket::create(family).unwrap();
    let (connected, server) = join!(client.connect(addr), incoming.next());
    connected.unwrap();
    let server = server.expect("the listener's stream ended");
    out.line(format!(
        "{name}: accepted the client's address: {}",
        std_addr(&server.get_remote_address().unwrap()) == std_addr(&client.get_local_address().unwrap())
    ));
    out.line(format!(
        "{name}: client's peer is the listener: {}",
        std_addr(&client.get_remote_address().unwrap()) == std_addr(&addr)
    ));

    // The client sends through one stream and reads the echo from
    // another; the server echoes what it reads, chunk by chunk.
    let (mut c_tx, c_data) = wit_stream::new();
    let c_sent = client.send(c_data);
    let (mut c_rx, c_received) = client.receive();
    let (mut s_rx, s_received) = server.receive();
    let (mut s_tx, s_data) = wit_stream::new();
    let s_sent = server.send(s_data);
    let data = pattern(TOTAL);
    let (back, (), ()) = join!(
        async {
            let mut back = Vec::new();
            while back.len() < TOTAL {
                let (result, buf) = c_rx.read(Vec::with_capacity(CHUNK)).await;
                back.extend_from_slice(&buf);
                assert!(!matches!(result, StreamResult::Dropped), "the client's stream ended early");
            }
            back
        },
        async {
            for chunk in data.chunks(CHUNK) {
                assert!(c_tx.write_all(chunk.to_vec()).await.is_empty(), "the client's sending stream closed");
            }
        },
        async {
            let mut echoed = 0;
            while echoed < TOTAL {
                let (_, buf) = s_rx.read(Vec::with_capacity(CHUNK)).await;
                echoed += buf.len();
                assert!(s_tx.write_all(buf).await.is_empty(), "the server's sending stream closed");
            }
        },
    );
    out.line(format!("{name}: echoed {} bytes intact: {}", back.len(), back == data));
    // The client is done sending: dropping its stream shuts its side down.
    drop(c_tx);
    c_sent.await.unwrap();
    let rest = read_all(&mut s_rx).await;
    s_received.await.unwrap();
    out.line(format!("{name}: server reads the end after the client's shutdown: {}", rest.is_empty()));
    assert!(s_tx.write_all(b"bye".to_vec()).await.is_empty());
    drop(s_tx);
    s_sent.await.unwrap();
    drop(server);
    let bye = read_all(&mut c_rx).await;
    c_received.await.unwrap();
    out.line(format!("{name}: client reads the last bytes, then the end: {}", bye == b"bye"));

    let resolved = resolve_addresses("localhost".into()).await.unwrap();
    let listener_ip = std_addr(&addr).ip();
    let by_name = resolved.iter().any(|ip| match (ip, listener_ip) {
        (IpAddress::Ipv4((a, b, c, d)), std::net::IpAddr::V4(l)) => l.octets() == [*a, *b, *c, *d],
        (IpAddress::Ipv6(s), std::net::IpAddr::V6(l)) => {
            l.segments() == [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7]
        }
        _ => false,
    });
    out.line(format!("{name}: localhost resolves to the listener's address: {by_name}"));
    if family == IpAddressFamily::Ipv4 {
        // The first address of `localhost` is 127.0.0.1.
        let named = TcpSocket::create(family).unwrap();
        let target = match resolved[0] {
            IpAddress::Ipv4(a) => IpSocketAddress::Ipv4(wasip3::sockets::types::Ipv4SocketAddress {
                port: std_addr(&addr).port(),
                address: a,
            }),
            IpAddress::Ipv6(_) => panic!("localhost's first address is IPv6"),
        };
        let (connected, accepted) = join!(named.connect(target), incoming.next());
        connected.unwrap();
        let accepted = accepted.unwrap();
        out.line(format!(
            "{name}: connected by name: {}",
            std_addr(&accepted.get_remote_address().unwrap()) == std_addr(&named.get_local_address().unwrap())
        ));
    }
    // Nothing listens on the port once the socket and its stream are gone.
    drop(incoming);
    drop(listener);
    let late = TcpSocket::create(family).unwrap();
    match late.connect(addr).await {
        Err(e) => out.line(format!("{name}: connect to a closed port: {}", kind(&e))),
        Ok(()) => out.line(format!("{name}: connect to a closed port: connected")),
    }
}

impl wasip3::exports::cli::run::Guest for NetTcp {
    async fn run() -> Result<(), ()> {
        let mut out = Out::default();
        run(&mut out, "ipv4", IpAddressFamily::Ipv4).await;
        run(&mut out, "ipv6", IpAddressFamily::Ipv6).await;
        let s = TcpSocket::create(IpAddressFamily::Ipv4).unwrap();
        let any = IpSocketAddress::Ipv4(wasip3::sockets::types::Ipv4SocketAddress {
            port: 80,
            address: (0, 0, 0, 0),
        });
        match s.connect(any).await {
            Err(e) => out.line(format!("connect to 0.0.0.0:80: {}", kind(&e))),
            Ok(()) => out.line("connect to 0.0.0.0:80: connected"),
        }
        out.flush().await;
        Ok(())
    }
}

fn main() {}
