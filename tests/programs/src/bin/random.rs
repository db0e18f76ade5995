//! Randomness from the host, without crates: `RandomState` seeds its keys
//! from the host's random source (`wasi:random`), once per thread.
//!
//! Checks that hashes under a `RandomState` differ from those under the
//! fixed zero keys of `DefaultHasher::new()` (what an all-zero random source
//! would give), and that two `RandomState`s hash the same values differently.
//! Prints `ok` on stdout, or what failed on stderr with status 1; prints the
//! hash of a fixed value as `fingerprint: HEX` on stderr, so the test can
//! check that two runs get different randomness.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, Hash, Hasher};

fn hash_with(build: &impl BuildHasher, value: u64) -> u64 {
    build.hash_one(value)
}

fn zero_key_hash(value: u64) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn main() {
    let a = RandomState::new();
    let b = RandomState::new();
    let values = 0..64u64;
    let same_as_zero_keys = values
        .clone()
        .filter(|&v| hash_with(&a, v) == zero_key_hash(v))
        .count();
    let same_between_states = values
        .clone()
        .filter(|&v| hash_with(&a, v) == hash_with(&b, v))
        .count();
    // A 64-bit collision on one of 64 values is a 1 in 2^58 event.
    let mut failed = false;
    if same_as_zero_keys > 0 {
        eprintln!("random: {same_as_zero_keys} of 64 hashes equal the zero-key hashes");
        failed = true;
    }
    if same_between_states > 0 {
        eprintln!("random: {same_between_states} of 64 hashes equal between two RandomStates");
        failed = true;
    }
    eprintln!("fingerprint: {:016x}", hash_with(&a, 0x5eed));
    if failed {
        std::process::exit(1);
    }
    println!("ok");
}
