//! SHA-256 (`sha2`, software implementation on both targets): one long
//! message fed in 8 KiB pieces, then a chain of many short messages.

use sha2::{Digest, Sha256};

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let size = bench::size();
    let mut rng = bench::Rng::new(2);
    let data: Vec<u8> = (0..size.pick(256 << 10, 64 << 20))
        .map(|_| rng.next_u64() as u8)
        .collect();
    let mut h = Sha256::new();
    for piece in data.chunks(8192) {
        h.update(piece);
    }
    let long = h.finalize();
    let mut chain = [0u8; 32];
    for i in 0..size.pick(10_000u32, 2_000_000) {
        let mut h = Sha256::new();
        h.update(chain);
        h.update(i.to_le_bytes());
        chain = h.finalize().into();
    }
    println!("sha256: long {} chain {}", hex(&long), hex(&chain));
}
