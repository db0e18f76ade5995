//! BLAKE3 (`blake3` with `pure` and its `no_*` SIMD features: the portable
//! Rust code on both targets): one long message, then a chain of many short
//! ones.

fn main() {
    let size = bench::size();
    let mut rng = bench::Rng::new(3);
    let data: Vec<u8> = (0..size.pick(256 << 10, 128 << 20))
        .map(|_| rng.next_u64() as u8)
        .collect();
    let mut h = blake3::Hasher::new();
    for piece in data.chunks(16384) {
        h.update(piece);
    }
    let long = h.finalize();
    let mut chain = [0u8; 32];
    for i in 0..size.pick(10_000u32, 2_000_000) {
        let mut h = blake3::Hasher::new();
        h.update(&chain);
        h.update(&i.to_le_bytes());
        chain = *h.finalize().as_bytes();
    }
    println!(
        "blake3: long {} chain {}",
        long.to_hex(),
        blake3::Hash::from(chain).to_hex()
    );
}
