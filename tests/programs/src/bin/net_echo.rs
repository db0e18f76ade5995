//! A TCP echo server and client with `std::net`, to run as two processes
//! (the tests run it against a native peer, the benchmark against itself
//! and against its native build):
//!
//! - `net_echo server ADDRESS CONNECTIONS`: listens on ADDRESS (port 0: a
//!   free port), prints `listening on ADDRESS:PORT`, echoes each of
//!   CONNECTIONS connections, one after the other, until the client shuts
//!   its side down, then prints `served CONNECTIONS`.
//! - `net_echo server-copy ADDRESS CONNECTIONS`: the same, but each read
//!   goes into a second buffer first and is copied into the one written
//!   back, as wasi-libc's `recv` copies out of the list WASI 0.2's
//!   `input-stream.read` returns (the benchmark's reference for that copy,
//!   built natively).
//! - `net_echo client ADDRESS:PORT BYTES [CHUNK]`: sends BYTES bytes of a
//!   fixed pattern in CHUNK-byte writes (default 64 KiB) while reading the
//!   echo, checks it, and prints `echoed BYTES bytes`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;

fn serve(addr: &str, connections: usize, copy: bool) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let mut buf = vec![0u8; 256 << 10];
    let mut list = vec![0u8; if copy { 256 << 10 } else { 0 }];
    for _ in 0..connections {
        let (mut stream, _) = listener.accept()?;
        loop {
            let n = if copy {
                let n = stream.read(&mut list)?;
                buf[..n].copy_from_slice(&list[..n]);
                n
            } else {
                stream.read(&mut buf)?
            };
            if n == 0 {
                break;
            }
            stream.write_all(&buf[..n])?;
        }
    }
    println!("served {connections}");
    Ok(())
}

/// Whether `got`, echoed from offset `at` of the stream, is what was sent:
/// `data` over and over.
fn matches(data: &[u8], at: usize, got: &[u8]) -> bool {
    let start = at % data.len();
    let first = got.len().min(data.len() - start);
    got[..first] == data[start..start + first]
        && got[first..].chunks(data.len()).all(|c| c == &data[..c.len()])
}

fn client(addr: &str, total: usize, chunk: usize) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect(addr)?;
    let data: Vec<u8> = (0..chunk).map(|i| (i % 251) as u8).collect();
    let mut buf = vec![0u8; chunk];
    let (mut sent, mut received, mut intact) = (0, 0, true);
    // Writes one chunk, then reads back as much as was sent: never more
    // than a chunk in flight, so neither side's buffers fill up.
    while received < total {
        let n = chunk.min(total - sent);
        stream.write_all(&data[..n])?;
        sent += n;
        while received < sent {
            let n = stream.read(&mut buf[..sent - received])?;
            if n == 0 {
                return Ok(false);
            }
            intact &= matches(&data, received, &buf[..n]);
            received += n;
        }
    }
    stream.shutdown(Shutdown::Write)?;
    Ok(intact && stream.read(&mut buf)? == 0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["server", addr, n] => serve(addr, n.parse().unwrap(), false).map(|()| true),
        ["server-copy", addr, n] => serve(addr, n.parse().unwrap(), true).map(|()| true),
        ["client", addr, total] => client(addr, total.parse().unwrap(), 64 << 10),
        ["client", addr, total, chunk] => client(addr, total.parse().unwrap(), chunk.parse().unwrap()),
        _ => {
            eprintln!("usage: net_echo server|server-copy ADDRESS CONNECTIONS | client ADDRESS:PORT BYTES [CHUNK]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => {
            if args[0] == "client" {
                println!("echoed {} bytes", args[2]);
            }
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!("net_echo: the echo differs from what was sent");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("net_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
