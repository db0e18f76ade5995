//! The WASI host from 8 threads at once, in the directory named by
//! argument 1: each thread appends 500 lines to one shared file through
//! one shared descriptor, writes, reads back and deletes files of its own
//! (opening and closing descriptors while the others do), and lists the
//! directory. The main thread then checks that every line arrived whole
//! and every file read back as written.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

const THREADS: usize = 8;
const LINES: usize = 500;
const FILES: usize = 40;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("a directory"));
    let shared_path = dir.join("shared.log");
    let shared = Arc::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&shared_path)
            .expect("the shared file opens"),
    );
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (shared, dir) = (Arc::clone(&shared), dir.clone());
            thread::spawn(move || {
                let mut ok = 0;
                for k in 0..LINES {
                    // One write per line: appends do not interleave.
                    let line = format!("thread {t} line {k:03} {}\n", "x".repeat(t * 7 + k % 13));
                    (&*shared).write_all(line.as_bytes()).unwrap();
                    if k % (LINES / FILES) == 0 {
                        let path = dir.join(format!("t{t}-{k}.txt"));
                        let body = format!("{t}:{k}:").repeat(100 + k);
                        File::create(&path)
                            .unwrap()
                            .write_all(body.as_bytes())
                            .unwrap();
                        let mut back = String::new();
                        File::open(&path)
                            .unwrap()
                            .read_to_string(&mut back)
                            .unwrap();
                        let listed = fs::read_dir(&dir).unwrap().count() > 0;
                        fs::remove_file(&path).unwrap();
                        ok += usize::from(back == body && listed);
                    }
                }
                ok
            })
        })
        .collect();
    let files_ok: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    drop(shared);
    let log = fs::read_to_string(&shared_path).unwrap();
    let mut per_thread = [0usize; THREADS];
    let mut whole = 0;
    for line in log.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        if let [_, t, _, k, xs] = words[..]
            && let (Ok(t), Ok(k)) = (t.parse::<usize>(), k.parse::<usize>())
            && t < THREADS
            && xs.len() == t * 7 + k % 13
            && xs.bytes().all(|b| b == b'x')
        {
            per_thread[t] += 1;
            whole += 1;
        }
    }
    println!("lines: {} whole of {}", whole, log.lines().count());
    println!("per thread: {per_thread:?}");
    println!("files written, read back and deleted per thread: {files_ok:?}");
    let left: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    println!("left in the directory: {left:?}");
    fs::remove_file(&shared_path).unwrap();
}
