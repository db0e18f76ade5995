//! What every benchmark program shares: the size argument, a deterministic
//! random number generator, generated input text, and the checksum each
//! program prints so that the native, smelt and wasmtime runs can be checked
//! against each other.
//!
//! Every input is generated from a fixed seed, so a program's output depends
//! on its size argument alone.

use std::hint::black_box;

/// The size argument every program takes as its first argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Size {
    /// A few milliseconds: what CI runs, untimed, to keep the suite building.
    Tiny,
    /// About 0.5 to 2 seconds natively: what `bench/run.py` measures.
    Full,
}

impl Size {
    /// The value for this size.
    pub fn pick<T>(self, tiny: T, full: T) -> T {
        match self {
            Size::Tiny => tiny,
            Size::Full => full,
        }
    }
}

/// Reads the size from the first argument (`tiny` or `full`), exiting with
/// status 2 and a usage line otherwise.
pub fn size() -> Size {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("tiny") => Size::Tiny,
        Some("full") => Size::Full,
        _ => {
            let name = args.first().map(String::as_str).unwrap_or("bench");
            eprintln!("usage: {name} tiny|full [ARGS...]");
            std::process::exit(2);
        }
    }
}

/// The `n`th argument after the size, or exit with status 2.
pub fn arg(n: usize, what: &str) -> String {
    match std::env::args().nth(n + 1) {
        Some(a) => a,
        None => {
            eprintln!("missing argument: {what}");
            std::process::exit(2);
        }
    }
}

/// SplitMix64: small, fast, and the same on every target.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0 < n < 2^32`). Multiply-shift on 32 bits:
    /// a 128-bit product would be one instruction natively but a call to
    /// `__multi3` on wasm32, making input generation cost more than the
    /// work measured.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0 && n <= u32::MAX as u64);
        ((self.next_u64() >> 32) * n) >> 32
    }

    /// A number in `0..n`, small numbers much more likely than large ones
    /// (roughly Zipf-like, as word frequencies are).
    pub fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        self.below(a + 1)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A vocabulary of `n` pseudo-words, lower case, 2 to 10 letters.
pub fn vocabulary(rng: &mut Rng, n: usize) -> Vec<String> {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "an", "el", "in", "or", "th", "st", "qu",
        "ex", "pro", "con", "ing", "ed", "er", "al", "ly", "ment", "tion", "re", "de", "un",
    ];
    (0..n)
        .map(|_| {
            let parts = 1 + rng.below(3);
            (0..parts)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// About `len` bytes of English-like text: sentences of words from a skewed
/// vocabulary, with punctuation, numbers and line breaks.
pub fn text(seed: u64, len: usize) -> String {
    let mut rng = Rng::new(seed);
    let words = vocabulary(&mut rng, 4000);
    let mut out = String::with_capacity(len + 64);
    let mut line = 0;
    while out.len() < len {
        let n = 4 + rng.below(14);
        for i in 0..n {
            let w = &words[rng.skewed(words.len() as u64) as usize];
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(c.as_str());
                }
            } else {
                out.push_str(w);
            }
            if rng.below(20) == 0 {
                out.push_str(&format!(" {}", rng.below(10_000)));
            }
            if i + 1 < n {
                out.push(if rng.below(12) == 0 { ',' } else { ' ' });
                if out.as_bytes()[out.len() - 1] == b',' {
                    out.push(' ');
                }
            }
        }
        out.push_str(". ");
        line += 1;
        if line % 4 == 0 {
            out.push('\n');
        }
    }
    out
}

/// FNV-1a over `bytes`, continuing from `h` (start from [`FNV_START`]).
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The FNV-1a offset basis.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Keeps the optimiser from deleting a computation whose result is unused.
pub fn keep<T>(x: T) -> T {
    black_box(x)
}
