//! Many small WASI calls: short lines written to stdout one at a time
//! (`println!` flushes each line, so each is one write on both targets),
//! then `stat` of every file of a directory, many times over. The
//! directory (the second argument) is made by `bench/run.py` and granted
//! to the component with `--dir`.

use bench::{FNV_START, fnv1a};
use std::io::Write;

fn main() {
    let size = bench::size();
    let dir = bench::arg(1, "DIR");
    let lines = size.pick(1_000, 1_000_000);
    let mut out = std::io::stdout();
    for i in 0..lines {
        writeln!(out, "line {i} {}", i % 7).unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut sum = FNV_START;
    let mut bytes = 0u64;
    let rounds = size.pick(2, 400);
    for _ in 0..rounds {
        for name in &names {
            let meta = std::fs::metadata(format!("{dir}/{name}")).unwrap();
            bytes += meta.len();
            sum = fnv1a(sum, &meta.len().to_le_bytes());
        }
    }
    println!(
        "wasi_calls: {lines} lines, {} stats of {} files, {bytes} bytes, checksum {sum:016x}",
        rounds * names.len(),
        names.len()
    );
}
