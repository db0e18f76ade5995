//! The WASI 0.3 twin of tests/programs' `net_echo`: the same TCP echo
//! server and client, with the same arguments and output, through
//! `wasi:sockets@0.3` streams. The client sends and reads concurrently.
//! `server-splice ADDRESS CONNECTIONS` echoes by handing each connection's
//! `receive` stream straight to its `send`: the host then moves the bytes
//! itself.

use futures::join;
use smelt_test_programs_p3::net::Out;
use wasip3::sockets::types::{
    IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, TcpSocket,
};
use wasip3::wit_bindgen::StreamResult;
use wasip3::wit_stream;

wasip3::cli::command::export!(NetEcho);

struct NetEcho;

fn wit_addr(a: std::net::SocketAddr) -> IpSocketAddress {
    match a {
        std::net::SocketAddr::V4(a) => {
            let [x, y, z, w] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port: a.port(), address: (x, y, z, w) })
        }
        std::net::SocketAddr::V6(a) => {
            let s = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: 0,
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: 0,
            })
        }
    }
}

fn family(a: &std::net::SocketAddr) -> IpAddressFamily {
    if a.is_ipv4() { IpAddressFamily::Ipv4 } else { IpAddressFamily::Ipv6 }
}

async fn serve(addr: std::net::SocketAddr, connections: usize, splice: bool) -> Result<(), String> {
    let listener = TcpSocket::create(family(&addr)).map_err(|e| format!("{e:?}"))?;
    listener.bind(wit_addr(addr)).map_err(|e| format!("bind: {e:?}"))?;
    let mut incoming = listener.listen().map_err(|e| format!("listen: {e:?}"))?;
    let local = smelt_test_programs_p3::net::std_addr(&listener.get_local_address().unwrap());
    let mut out = Out::default();
    out.line(format!("listening on {local}"));
    out.flush().await;
    for _ in 0..connections {
        let conn = incoming.next().await.ok_or("the listener's stream ended")?;
        let (mut rx, received) = conn.receive();
        if splice {
            conn.send(rx).await.map_err(|e| format!("send: {e:?}"))?;
        } else {
            let (mut tx, data) = wit_stream::new();
            let sent = conn.send(data);
            loop {
                let (result, buf) = rx.read(Vec::with_capacity(256 << 10)).await;
                if !buf.is_empty() && !tx.write_all(buf).await.is_empty() {
                    return Err("the connection stopped taking data".into());
                }
                if let StreamResult::Dropped = result {
                    break;
                }
            }
            drop(tx);
            sent.await.map_err(|e| format!("send: {e:?}"))?;
        }
        received.await.map_err(|e| format!("receive: {e:?}"))?;
    }
    out.line(format!("served {connections}"));
    out.flush().await;
    Ok(())
}

async fn client(addr: std::net::SocketAddr, total: usize, chunk: usize) -> Result<bool, String> {
    let socket = TcpSocket::create(family(&addr)).map_err(|e| format!("{e:?}"))?;
    socket.connect(wit_addr(addr)).await.map_err(|e| format!("connect: {e:?}"))?;
    let data: Vec<u8> = (0..chunk).map(|i| (i % 251) as u8).collect();
    let (mut tx, stream) = wit_stream::new();
    let sent = socket.send(stream);
    let (mut rx, received) = socket.receive();
    let (intact, ()) = join!(
        async {
            let (mut got, mut intact) = (0usize, true);
            loop {
                let (result, buf) = rx.read(Vec::with_capacity(chunk)).await;
                for (i, b) in buf.iter().enumerate() {
                    intact &= *b == data[(got + i) % chunk];
                }
                got += buf.len();
                if let StreamResult::Dropped = result {
                    return intact && got == total;
                }
            }
        },
        async {
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk);
                assert!(tx.write_all(data[..n].to_vec()).await.is_empty(), "the connection closed");
                left -= n;
            }
            drop(tx);
        }
    );
    sent.await.map_err(|e| format!("send: {e:?}"))?;
    received.await.map_err(|e| format!("receive: {e:?}"))?;
    Ok(intact)
}

impl wasip3::exports::cli::run::Guest for NetEcho {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let args: Vec<&str> = args.iter().map(String::as_str).skip(1).collect();
        let parse = |a: &str| a.parse::<std::net::SocketAddr>().map_err(|e| format!("{a}: {e}"));
        let result = match args.as_slice() {
            ["server", addr, n] => match parse(addr) {
                Ok(a) => serve(a, n.parse().unwrap(), false).await.map(|()| true),
                Err(e) => Err(e),
            },
            ["server-splice", addr, n] => match parse(addr) {
                Ok(a) => serve(a, n.parse().unwrap(), true).await.map(|()| true),
                Err(e) => Err(e),
            },
            ["client", addr, total] | ["client", addr, total, _] => {
                let chunk = args.get(3).map_or(64 << 10, |c| c.parse().unwrap());
                match parse(addr) {
                    Ok(a) => client(a, total.parse().unwrap(), chunk).await,
                    Err(e) => Err(e),
                }
            }
            _ => Err("usage: net_echo server ADDRESS CONNECTIONS | client ADDRESS:PORT BYTES [CHUNK]".into()),
        };
        match result {
            Ok(true) => {
                if args[0] == "client" {
                    let mut out = Out::default();
                    out.line(format!("echoed {} bytes", args[2]));
                    out.flush().await;
                }
                Ok(())
            }
            Ok(false) => {
                let _ = smelt_test_programs_p3::stderr(b"net_echo: the echo differs from what was sent\n".to_vec()).await;
                Err(())
            }
            Err(e) => {
                let _ = smelt_test_programs_p3::stderr(format!("net_echo: {e}\n").into_bytes()).await;
                Err(())
            }
        }
    }
}

fn main() {}
