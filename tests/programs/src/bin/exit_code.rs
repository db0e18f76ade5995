//! Exits with the status given as the first argument, through
//! `std::process::exit`, after writing a line to each stream (which must not
//! be lost on the way out).
//!
//! WASI 0.2's `wasi:cli/exit.exit` carries only success or failure, so a
//! non-zero status reaches the host as 1 unless the runtime offers
//! `exit-with-code`; the test states which it expects.

fn main() {
    let code: i32 = match std::env::args().nth(1).map(|s| s.parse()) {
        Some(Ok(code)) => code,
        _ => {
            eprintln!("usage: exit_code STATUS");
            std::process::exit(2);
        }
    };
    println!("exiting with {code}");
    eprintln!("stderr before exit");
    std::process::exit(code);
}
