//! Regular expressions with `regex`: several patterns (literals, classes,
//! captures, case folding, alternations) searched over generated text, and a
//! replace-all.

use bench::{FNV_START, Rng, fnv1a};
use regex::Regex;

fn main() {
    let size = bench::size();
    let mut rng = Rng::new(5);
    let base = bench::text(5, size.pick(64 << 10, 2 << 20));
    // Sprinkle in things for the patterns to find.
    let mut text = String::with_capacity(base.len() + base.len() / 8);
    for (i, piece) in base.split(". ").enumerate() {
        text.push_str(piece);
        match rng.below(8) {
            0 => text.push_str(&format!(
                " mail {}{}@host{}.example.org",
                piece.len(),
                i % 97,
                i % 13
            )),
            1 => text.push_str(&format!(
                " on 20{:02}-{:02}-{:02}",
                rng.below(30),
                1 + rng.below(12),
                1 + rng.below(28)
            )),
            2 => text.push_str(&format!(" call +1-555-{:04}", rng.below(10000))),
            _ => {}
        }
        text.push_str(". ");
    }
    let patterns = [
        r"[\w.+-]+@[\w-]+\.[\w.]+",
        r"(\d{4})-(\d{2})-(\d{2})",
        r"(?i)\bthe\w*\s+\w+",
        r"\b[A-Z][a-z]+(?:ing|ed|tion)\b",
        r"\+1-555-\d{4}",
        r"(?:kalo|mine|sate|vost)\w*",
        r"\w+ment\b",
    ];
    let mut sum = FNV_START;
    for _ in 0..size.pick(1, 16) {
        for p in patterns {
            let re = Regex::new(p).unwrap();
            let mut count = 0u64;
            for m in re.find_iter(&text) {
                count += 1;
                sum = fnv1a(sum, m.as_str().as_bytes());
            }
            sum = fnv1a(sum, &count.to_le_bytes());
        }
        let dates = Regex::new(r"(\d{4})-(\d{2})-(\d{2})").unwrap();
        let mut years = 0u64;
        for c in dates.captures_iter(&text) {
            years += c[1].parse::<u64>().unwrap() + c[2].parse::<u64>().unwrap();
        }
        let swapped = dates.replace_all(&text, "$3/$2/$1");
        sum = fnv1a(sum, swapped.as_bytes());
        sum = fnv1a(sum, &years.to_le_bytes());
    }
    println!("regex: {} bytes, checksum {sum:016x}", text.len());
}
