//! The filesystem, step by step, under a preopened directory: `/data`, or
//! the directory given as the first argument (to run the program natively).
//!
//! Expects the directory to hold `input.txt` (written by the test on the
//! host) and nothing else; leaves `result.txt` behind for the test to read
//! on the host. Prints one line per observation; any unexpected error ends
//! the program with status 1 and the step that failed on stderr.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::ffi::{CString, c_char, c_int};
use std::os::fd::AsRawFd;

// The C library's `stat` and `fstat` (wasi-libc's in wasm; `st_ino` is
// not stable in Rust's WASI `MetadataExt`). `struct stat` starts with
// `st_dev` and `st_ino`, 64 bits each, in wasi-libc as in glibc.
unsafe extern "C" {
    fn stat(path: *const c_char, buf: *mut u64) -> c_int;
    fn fstat(fd: c_int, buf: *mut u64) -> c_int;
}

/// `st_ino` of `path`, by `stat`.
fn ino_by_path(path: &Path) -> Result<u64, String> {
    let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = [0u64; 32];
    // SAFETY: `buf` (256 bytes) holds a `struct stat`.
    match unsafe { stat(c.as_ptr(), buf.as_mut_ptr()) } {
        0 => Ok(buf[1]),
        _ => Err(format!("stat {}: {}", path.display(), io::Error::last_os_error())),
    }
}

/// `st_ino` of `file`, by `fstat`.
fn ino_by_fd(file: &File) -> Result<u64, String> {
    let mut buf = [0u64; 32];
    // SAFETY: as in `ino_by_path`.
    match unsafe { fstat(file.as_raw_fd(), buf.as_mut_ptr()) } {
        0 => Ok(buf[1]),
        _ => Err(format!("fstat: {}", io::Error::last_os_error())),
    }
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/data".into()));
    if let Err(e) = run(&root) {
        eprintln!("files: {e}");
        std::process::exit(1);
    }
}

/// Adds the step that failed to an I/O error.
fn step<T>(what: &str, r: io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e} ({:?})", e.kind()))
}

fn run(root: &Path) -> Result<(), String> {
    // A file the host wrote.
    let input = step("read input.txt", fs::read_to_string(root.join("input.txt")))?;
    println!("input.txt: {input:?}");

    // Create and write.
    let notes = root.join("notes.txt");
    let mut f = step("create notes.txt", File::create(&notes))?;
    step("write notes.txt", f.write_all(b"line 1\nline 2\n"))?;
    drop(f);
    println!("created notes.txt");

    // Append.
    let mut f = step(
        "open notes.txt to append",
        OpenOptions::new().append(true).open(&notes),
    )?;
    step("append to notes.txt", f.write_all(b"line 3\n"))?;
    drop(f);
    let text = step("read notes.txt", fs::read_to_string(&notes))?;
    println!("after append: {text:?}");

    // Seek and read.
    let mut f = step("open notes.txt", File::open(&notes))?;
    let mut buf = [0u8; 6];
    step("seek to 7", f.seek(SeekFrom::Start(7)))?;
    step("read at 7", f.read_exact(&mut buf))?;
    println!("at 7: {:?}", String::from_utf8_lossy(&buf));
    let pos = step("seek from end", f.seek(SeekFrom::End(-7)))?;
    let mut tail = String::new();
    step("read the tail", f.read_to_string(&mut tail))?;
    println!("from end -7 (offset {pos}): {tail:?}");
    let pos = step("seek back", f.seek(SeekFrom::Current(-14)))?;
    println!("current -14: offset {pos}");
    drop(f);

    // Overwrite in place and truncate.
    let mut f = step(
        "open notes.txt read-write",
        OpenOptions::new().read(true).write(true).open(&notes),
    )?;
    step("seek to 5", f.seek(SeekFrom::Start(5)))?;
    step("overwrite", f.write_all(b"A"))?;
    step("set_len", f.set_len(14))?;
    step("rewind", f.rewind())?;
    let mut text = String::new();
    step("read back", f.read_to_string(&mut text))?;
    println!("overwritten and truncated: {text:?}");
    drop(f);

    // Metadata.
    let meta = step("metadata notes.txt", fs::metadata(&notes))?;
    println!(
        "metadata: len {}, file {}, dir {}",
        meta.len(),
        meta.is_file(),
        meta.is_dir()
    );
    let modified = step("modified time", meta.modified())?;
    let age = std::time::SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    println!("modified within the last hour: {}", age.as_secs() < 3600);
    let meta = step("metadata of the directory", fs::metadata(root))?;
    println!("root is a directory: {}", meta.is_dir());

    // Identity (`st_ino`: wasi-libc's `stat` takes it from
    // `metadata-hash-at`, `fstat` from `metadata-hash`): the same file by
    // path, again, and by descriptor; another file differs, whichever is
    // stated first.
    let input_txt = root.join("input.txt");
    let (first, other) = (ino_by_path(&notes)?, ino_by_path(&input_txt)?);
    let again = ino_by_path(&notes)?;
    let open = step("open notes.txt for fstat", File::open(&notes))?;
    let by_fd = ino_by_fd(&open)?;
    println!(
        "identity: same by path {}, by descriptor {}, input.txt differs {}",
        first == again,
        first == by_fd,
        first != other
    );

    // Errors.
    let missing = File::open(root.join("missing.txt"));
    println!(
        "open missing.txt: {:?}",
        missing.map(|_| ()).map_err(|e| e.kind())
    );
    let new = OpenOptions::new().write(true).create_new(true).open(&notes);
    println!(
        "create_new notes.txt: {:?}",
        new.map(|_| ()).map_err(|e| e.kind())
    );

    // Rename.
    let renamed = root.join("renamed.txt");
    step("rename", fs::rename(&notes, &renamed))?;
    println!(
        "renamed: notes.txt exists {}, renamed.txt exists {}",
        notes.exists(),
        renamed.exists()
    );

    // A subdirectory.
    let sub = root.join("sub");
    step("create_dir sub", fs::create_dir(&sub))?;
    step(
        "write sub/inner.txt",
        fs::write(sub.join("inner.txt"), "inner\n"),
    )?;
    let again = fs::create_dir(&sub);
    println!("create_dir sub again: {:?}", again.map_err(|e| e.kind()));
    step(
        "create_dir_all sub/a/b",
        fs::create_dir_all(sub.join("a/b")),
    )?;
    println!("listing: {}", list(root)?);
    println!("listing sub: {}", list(&sub)?);
    let non_empty = fs::remove_dir(&sub);
    // The kind varies (DirectoryNotEmpty natively, Uncategorized through
    // wasi-libc), so only the failure is printed.
    println!(
        "remove_dir non-empty sub is an error: {}",
        non_empty.is_err()
    );

    // Remove.
    step(
        "remove sub/inner.txt",
        fs::remove_file(sub.join("inner.txt")),
    )?;
    step("remove_dir_all sub", fs::remove_dir_all(&sub))?;
    step("remove renamed.txt", fs::remove_file(&renamed))?;
    println!("after removing: {}", list(root)?);

    // A file for the test to find on the host.
    step(
        "write result.txt",
        fs::write(root.join("result.txt"), "written by the guest\n"),
    )?;
    println!("done");
    Ok(())
}

/// The sorted names in `dir`, directories with a trailing `/`.
fn list(dir: &Path) -> Result<String, String> {
    let mut names = Vec::new();
    for entry in step("read_dir", fs::read_dir(dir))? {
        let entry = step("directory entry", entry)?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if step("file type", entry.file_type())?.is_dir() {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    Ok(format!("[{}]", names.join(", ")))
}
