//! Compression and decompression with `miniz_oxide` (the pure-Rust deflate
//! behind `flate2`'s default backend): English-like text compressed at three
//! levels, each result inflated again and checked against the input.

use bench::{FNV_START, fnv1a};
use miniz_oxide::{deflate::compress_to_vec, inflate::decompress_to_vec};

fn main() {
    let size = bench::size();
    let data = bench::text(1, size.pick(32 << 10, 3 << 20)).into_bytes();
    let rounds = size.pick(1, 2);
    let mut sum = FNV_START;
    let mut total = 0;
    for _ in 0..rounds {
        for level in [1, 6, 9] {
            let packed = compress_to_vec(&data, level);
            let unpacked = decompress_to_vec(&packed).expect("inflate failed");
            assert!(
                unpacked == data,
                "round trip at level {level} changed the data"
            );
            sum = fnv1a(sum, &packed);
            total += packed.len();
        }
    }
    println!(
        "deflate: {} bytes in, {} bytes out, checksum {sum:016x}",
        data.len(),
        total
    );
}
