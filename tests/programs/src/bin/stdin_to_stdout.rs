//! Copies stdin to stdout unchanged, then prints `N bytes` on stderr.
//!
//! Reads in chunks of odd sizes so that short reads and partial writes on
//! both streams are exercised, not only one big transfer.

use std::io::{Read, Write};

fn main() {
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut buf = vec![0u8; 4093];
    let mut total: u64 = 0;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("stdin_to_stdout: read failed: {e}");
                std::process::exit(1);
            }
        };
        if let Err(e) = stdout.write_all(&buf[..n]) {
            eprintln!("stdin_to_stdout: write failed: {e}");
            std::process::exit(1);
        }
        total += n as u64;
    }
    if let Err(e) = stdout.flush() {
        eprintln!("stdin_to_stdout: flush failed: {e}");
        std::process::exit(1);
    }
    eprintln!("{total} bytes");
}
