//! The preview1 host used from several threads at once, as the threads of
//! a wasi-threads program use it: one [`Preview1Host`] (its descriptor
//! table behind one lock, entries shared as `Arc`s) reached from eight OS
//! threads that open, write, renumber, read and close descriptors of
//! their own concurrently, so that descriptor numbers freed by one thread
//! are taken by another. Also the test to run under ThreadSanitizer
//! (docs/threads.md says how).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use super::bindings::{Preview1Fd, Preview1Path, oflags, rights};
use super::memory::Memory;
use super::table::{Entry, FdTable, Handle};
use super::{Fault, P1Result, Preview1Host};
use crate::fs::Descriptor;
use crate::fs::preopens::PREOPEN_FLAGS;

/// Threads, and writes per thread.
const THREADS: usize = 8;
const ROUNDS: usize = 200;

/// The preopened directory's descriptor number.
const DIR: u32 = 3;

/// Where things are in each thread's guest memory.
const PATH: u32 = 0;
const IOVEC: u32 = 64;
const DATA: u32 = 128;
const MEMORY: usize = 4096;

/// A host with the standard streams and `dir` preopened at [`DIR`].
fn host_with(dir: &Path) -> Arc<Preview1Host> {
    let mut fds = FdTable::default();
    for fd in 0..3 {
        fds.insert(Entry::new(Handle::Stdio(fd), None))
            .expect("room for the standard streams");
    }
    let file = File::open(dir).expect("the directory opens");
    let preopen = Descriptor::new(file, PREOPEN_FLAGS, true);
    let fd = fds
        .insert(Entry::new(Handle::Open(preopen), Some("/".into())))
        .expect("room for the directory");
    assert_eq!(fd, DIR);
    Arc::new(Preview1Host::new(Vec::new(), Vec::new(), fds))
}

/// Opens `name` beneath [`DIR`] for reading and writing (created, and
/// truncated when `truncate`).
fn open(host: &Preview1Host, mem: &Memory, name: &str, truncate: bool) -> P1Result<u32> {
    mem.write_bytes(PATH, name.as_bytes())?;
    let flags = oflags::CREAT | if truncate { oflags::TRUNC } else { 0 };
    host.path_open(
        mem,
        DIR,
        0,
        PATH,
        name.len() as u32,
        flags,
        rights::ALL,
        rights::ALL,
        0,
    )
}

/// Writes `bytes` to `fd` with one `fd_write`.
fn write(host: &Preview1Host, mem: &Memory, fd: u32, bytes: &[u8]) -> P1Result<u32> {
    mem.write_bytes(DATA, bytes)?;
    mem.write::<u32>(IOVEC, DATA)?;
    mem.write::<u32>(IOVEC + 4, bytes.len() as u32)?;
    host.fd_write(mem, fd, IOVEC, 1)
}

/// Reads up to `len` bytes of `fd` with one `fd_read`.
fn read(host: &Preview1Host, mem: &Memory, fd: u32, len: u32) -> P1Result<Vec<u8>> {
    mem.write::<u32>(IOVEC, DATA)?;
    mem.write::<u32>(IOVEC + 4, len)?;
    let n = host.fd_read(mem, fd, IOVEC, 1)?;
    Ok(mem.slice(DATA, n)?.to_vec())
}

/// The lines thread `t` writes.
fn line(t: usize, round: usize) -> String {
    format!("thread {t} round {round}\n")
}

/// What one thread does: writes its file through a descriptor it
/// renumbers onto another of its own halfway, closes it, and reads the
/// file back (the first line) through a new one.
fn thread_work(host: &Preview1Host, t: usize) -> P1Result<Vec<u8>> {
    let mut buffer = vec![0u8; MEMORY];
    // SAFETY: `buffer` has MEMORY bytes and outlives `mem`.
    let mem = unsafe { Memory::new(buffer.as_mut_ptr(), MEMORY) };
    let name = format!("file{t}");
    let mut fd = open(host, &mem, &name, true)?;
    for round in 0..ROUNDS {
        if round == ROUNDS / 2 {
            let other = open(host, &mem, &name, false)?;
            host.fd_renumber(&mem, fd, other)?;
            fd = other;
        }
        let text = line(t, round);
        let n = write(host, &mem, fd, text.as_bytes())?;
        if n as usize != text.len() {
            return Err(Fault::Trap(format!("a short write: {n} of {}", text.len())));
        }
    }
    host.fd_close(&mem, fd)?;
    let fd = open(host, &mem, &name, false)?;
    let first = read(host, &mem, fd, line(t, 0).len() as u32)?;
    host.fd_close(&mem, fd)?;
    Ok(first)
}

#[test]
fn eight_threads_share_the_descriptor_table() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let host = host_with(dir.path());
    let results: Vec<P1Result<Vec<u8>>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let host = &host;
                s.spawn(move || thread_work(host, t))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("no thread panics"))
            .collect()
    });
    for (t, result) in results.into_iter().enumerate() {
        assert_eq!(result, Ok(line(t, 0).into_bytes()), "thread {t}");
        let written =
            std::fs::read_to_string(dir.path().join(format!("file{t}"))).expect("the file exists");
        let want: String = (0..ROUNDS).map(|r| line(t, r)).collect();
        assert_eq!(written, want, "file{t}");
    }
    // Every descriptor the threads opened is closed: the next one takes
    // the number after the directory.
    let mut buffer = vec![0u8; MEMORY];
    // SAFETY: `buffer` has MEMORY bytes and outlives `mem`.
    let mem = unsafe { Memory::new(buffer.as_mut_ptr(), MEMORY) };
    assert_eq!(open(&host, &mem, "last", true), Ok(DIR + 1));
}
