//! Sorting: integers (unstable and stable sorts), floats by `total_cmp`,
//! strings, and records by a key.

use bench::{FNV_START, Rng, fnv1a};

fn main() {
    let size = bench::size();
    let n = size.pick(20_000, 2_000_000);
    let mut rng = Rng::new(7);
    let mut sum = FNV_START;

    let mut ints: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
    let mut copy = ints.clone();
    ints.sort_unstable();
    copy.sort();
    assert!(ints == copy);
    sum = fnv1a(sum, &ints[n / 2].to_le_bytes());

    let mut floats: Vec<f64> = (0..n).map(|_| rng.unit() * 1e6 - 5e5).collect();
    floats.sort_by(|a, b| a.total_cmp(b));
    sum = fnv1a(sum, &floats[n / 3].to_le_bytes());

    let words = bench::vocabulary(&mut rng, 5000);
    let mut strings: Vec<String> = (0..n / 4)
        .map(|i| format!("{}{}", words[rng.below(5000) as usize], i % 1000))
        .collect();
    strings.sort();
    sum = fnv1a(sum, strings[strings.len() / 2].as_bytes());

    let mut records: Vec<(u32, u16, u64)> = (0..n)
        .map(|i| (rng.below(1000) as u32, rng.below(50) as u16, i as u64))
        .collect();
    records.sort_by_key(|r| (r.1, r.0));
    for r in records.iter().step_by(1000) {
        sum = fnv1a(sum, &r.2.to_le_bytes());
    }
    println!("sort: {n} elements, checksum {sum:016x}");
}
