//! File I/O in `/data` (granted with `--dir`): creates, appends to, reads
//! back and stats a file, makes a directory, lists `/data`, reads a file
//! the host put there, copies a binary file in chunks, and checks that a
//! missing file and a path out of the sandbox fail. Its WASI 0.3 twin in
//! tests/programs-p3 does the same through `wasi:filesystem@0.3` streams.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};

fn main() {
    fs::write("/data/out.txt", "written by the guest\n").expect("write out.txt");
    let mut f = OpenOptions::new()
        .append(true)
        .open("/data/out.txt")
        .expect("open out.txt to append");
    f.write_all(b"appended\n").expect("append");
    drop(f);
    let text = fs::read_to_string("/data/out.txt").expect("read out.txt");
    println!("out.txt: {text:?}");
    println!("size: {}", fs::metadata("/data/out.txt").expect("stat").len());
    fs::create_dir("/data/sub").expect("create sub");
    let mut names: Vec<String> = fs::read_dir("/data")
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            let dir = e.file_type().expect("type").is_dir();
            let name = e.file_name().to_string_lossy().into_owned();
            if dir { format!("{name}/") } else { name }
        })
        .collect();
    names.sort();
    println!("listing: [{}]", names.join(", "));
    println!(
        "input.txt: {:?}",
        fs::read_to_string("/data/input.txt").expect("read input.txt")
    );
    let mut input = fs::File::open("/data/input.bin").expect("open input.bin");
    let mut output = fs::File::create("/data/copy.bin").expect("create copy.bin");
    let mut buf = vec![0u8; 65521];
    let mut copied = 0;
    loop {
        let n = input.read(&mut buf).expect("read input.bin");
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).expect("write copy.bin");
        copied += n;
    }
    println!("copied input.bin: {copied} bytes");
    match fs::read("/data/missing.txt") {
        Err(e) if e.kind() == ErrorKind::NotFound => println!("missing.txt: not found"),
        other => println!("missing.txt: {other:?}"),
    }
    match fs::read("/data/../etc/passwd") {
        Err(_) => println!("../etc/passwd: denied"),
        Ok(_) => println!("../etc/passwd: read!"),
    }
}
