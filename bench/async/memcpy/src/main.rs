//! `memcpy tiny|full`: copies one 64 KiB block into another over and over
//! (the block size of the async benchmark's streams, so both stay in
//! cache as the streams' buffers do) and prints, on stderr like the async
//! benchmark's app, `async-bench: memcpy_bps=…` (bytes copied per second).

use std::hint::black_box;
use std::time::Instant;

/// Bytes per copy.
const BLOCK: usize = 64 << 10;

fn main() {
    let bytes: u64 = match std::env::args().nth(1).as_deref() {
        Some("tiny") => 1 << 20,
        Some("full") => 16 << 30,
        _ => {
            eprintln!("usage: memcpy tiny|full");
            std::process::exit(2);
        }
    };
    let src = vec![b'x'; BLOCK];
    let mut dst = vec![0u8; BLOCK];
    let copies = bytes / BLOCK as u64;
    let start = Instant::now();
    for _ in 0..copies {
        // black_box keeps each copy: the compiler may not merge or drop them.
        black_box(&mut dst).copy_from_slice(black_box(&src));
    }
    let ns = start.elapsed().as_nanos().max(1) as f64;
    assert_eq!(dst, src);
    eprintln!("async-bench: memcpy_bps={:.0}", (copies * BLOCK as u64) as f64 * 1e9 / ns);
}
