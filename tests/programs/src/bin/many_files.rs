//! 1000 files open at once under `/data` (or the directory given as the
//! first argument): creates them all and keeps every handle, writes a
//! different content to each, reads each back through the same handle,
//! then closes and removes them. Prints the counts and an FNV-1a checksum of
//! everything read back, which the test compares with the expected value.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

const FILES: usize = 1000;

fn content(i: usize) -> String {
    format!("file {i}: {}\n", "x".repeat(i % 37))
}

fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn fail(what: &str, i: usize, e: std::io::Error) -> ! {
    eprintln!("many_files: {what} file {i}: {e} ({:?})", e.kind());
    std::process::exit(1);
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "/data".into());
    let path = |i: usize| format!("{root}/f{i:04}.txt");

    let mut files: Vec<File> = Vec::with_capacity(FILES);
    for i in 0..FILES {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path(i))
            .unwrap_or_else(|e| fail("create", i, e));
        files.push(f);
    }
    println!("opened {} files", files.len());

    let mut written = 0;
    for (i, f) in files.iter_mut().enumerate() {
        let text = content(i);
        f.write_all(text.as_bytes())
            .unwrap_or_else(|e| fail("write", i, e));
        written += text.len();
    }
    println!("wrote {written} bytes");

    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut read = 0;
    let mut mismatches = 0;
    for (i, f) in files.iter_mut().enumerate() {
        f.seek(SeekFrom::Start(0))
            .unwrap_or_else(|e| fail("seek", i, e));
        let mut text = String::new();
        f.read_to_string(&mut text)
            .unwrap_or_else(|e| fail("read", i, e));
        if text != content(i) {
            mismatches += 1;
        }
        read += text.len();
        fnv1a(&mut hash, text.as_bytes());
    }
    println!("read {read} bytes, {mismatches} mismatches");
    println!("checksum: {hash:016x}");

    drop(files);
    for i in 0..FILES {
        std::fs::remove_file(path(i)).unwrap_or_else(|e| fail("remove", i, e));
    }
    let left = std::fs::read_dir(&root)
        .map(|d| d.count())
        .unwrap_or(usize::MAX);
    println!("removed {FILES} files, {left} entries left");
}
