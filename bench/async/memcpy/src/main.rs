//! The native baseline of the async benchmark, `memcpy tiny|full`:
//!
//! - copies one 64 KiB block into another over and over (the block size
//!   of the benchmark's streams, so both stay in cache as the streams'
//!   buffers do);
//! - writes as many bytes to stdout in 64 KiB `write`s, as the app does
//!   through its stdout stream.
//!
//! It prints, on stderr like the app, `async-bench: memcpy_bps=… stdout_bps=…`
//! (bytes per second).

use std::hint::black_box;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::time::Instant;

/// Bytes per copy and per write.
const BLOCK: usize = 64 << 10;

/// Bytes per second for `bytes` bytes in `start.elapsed()`.
fn rate(bytes: u64, start: Instant) -> f64 {
    bytes as f64 * 1e9 / start.elapsed().as_nanos().max(1) as f64
}

fn main() {
    let (copied, written): (u64, u64) = match std::env::args().nth(1).as_deref() {
        Some("tiny") => (1 << 20, 1 << 20),
        Some("full") => (16 << 30, 1 << 30),
        _ => {
            eprintln!("usage: memcpy tiny|full");
            std::process::exit(2);
        }
    };
    let src = vec![b'x'; BLOCK];
    let mut dst = vec![0u8; BLOCK];
    let start = Instant::now();
    for _ in 0..copied / BLOCK as u64 {
        // black_box keeps each copy: the compiler may not merge or drop them.
        black_box(&mut dst).copy_from_slice(black_box(&src));
    }
    let memcpy_bps = rate(copied, start);
    assert_eq!(dst, src);
    // A File on (a duplicate of) stdout, unbuffered: one `write` per block.
    let mut out = File::from(std::io::stdout().as_fd().try_clone_to_owned().expect("dup stdout"));
    let start = Instant::now();
    for _ in 0..written / BLOCK as u64 {
        out.write_all(&src).expect("writing stdout");
    }
    let stdout_bps = rate(written, start);
    eprintln!("async-bench: memcpy_bps={memcpy_bps:.0} stdout_bps={stdout_bps:.0}");
}
