//! JSON with `serde_json`: records serialized to text, parsed back both into
//! typed structures and into `serde_json::Value`, and serialized again.

use bench::{FNV_START, Rng, fnv1a};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Record {
    id: u64,
    name: String,
    email: String,
    active: bool,
    score: f64,
    tags: Vec<String>,
    position: Position,
    parent: Option<u64>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Position {
    x: f64,
    y: f64,
    label: String,
}

fn records(rng: &mut Rng, n: usize) -> Vec<Record> {
    let words = bench::vocabulary(rng, 500);
    let word = |rng: &mut Rng| words[rng.skewed(words.len() as u64) as usize].clone();
    (0..n as u64)
        .map(|id| Record {
            id,
            name: format!("{} {}", word(rng), word(rng)),
            email: format!("{}.{}@example.com", word(rng), id),
            active: rng.below(3) != 0,
            score: (rng.unit() * 1e6).round() / 1e3,
            tags: (0..rng.below(6)).map(|_| word(rng)).collect(),
            position: Position {
                x: rng.unit() * 360.0 - 180.0,
                y: rng.unit() * 180.0 - 90.0,
                label: format!("\"{}\"\t\\ {}", word(rng), "\u{e9}\u{4e2d}"),
            },
            parent: if id > 0 && rng.below(2) == 0 {
                Some(rng.below(id))
            } else {
                None
            },
        })
        .collect()
}

fn main() {
    let size = bench::size();
    let mut rng = Rng::new(4);
    let data = records(&mut rng, size.pick(500, 40_000));
    let mut sum = FNV_START;
    for _ in 0..size.pick(1, 2) {
        let text = serde_json::to_string(&data).unwrap();
        let typed: Vec<Record> = serde_json::from_str(&text).unwrap();
        assert!(typed == data, "typed round trip changed the records");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let again: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        assert!(again == value, "value round trip changed the document");
        let active = value
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["active"] == true)
            .count();
        sum = fnv1a(sum, text.as_bytes());
        sum = fnv1a(sum, pretty.as_bytes());
        sum = fnv1a(sum, &(active as u64).to_le_bytes());
    }
    println!("json: {} records, checksum {sum:016x}", data.len());
}
