//! Tries to reach outside the preopened directory `/data` (or the
//! directory given as the first argument, to run natively) and prints, per
//! attempt, `denied (KIND)` or `ALLOWED`; then `escapes: N`. Under smelt
//! every attempt must be denied; run natively, every one is allowed, which
//! shows that the attempts are real.
//!
//! The test lays out on the host, in a temporary directory `T`:
//! - `T/data/` granted as `/data`, holding `inside.txt` (`inside\n`),
//!   `inside_link` -> `inside.txt`, `sub/` (empty), and the symlinks
//!   `link` -> `/etc`, `passwd_link` -> `/etc/passwd`,
//!   `up` -> `../../../../../../../../../..` (relative, past the root),
//!   `outside_link` -> `T/outside` (absolute);
//! - `T/outside/`, not granted, which must stay empty.
//!
//! Controls that stay inside the directory must succeed and print `ok`.

use std::fs;
use std::io::ErrorKind;

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "/data".into());
    let mut escapes = 0;

    let reads = [
        format!("{root}/../etc/passwd"),
        format!("{root}/../../../../../../../../../../etc/passwd"),
        "/etc/passwd".to_string(),
        format!("{root}/link/passwd"),
        format!("{root}/passwd_link"),
        format!("{root}/up/etc/passwd"),
        format!("{root}/sub/../../../../../../../../../../../etc/passwd"),
    ];
    for path in &reads {
        escapes += report(&format!("read {path}"), fs::read(path).map(drop));
    }
    let link_dir = format!("{root}/link");
    escapes += report(
        &format!("read_dir {link_dir}"),
        fs::read_dir(&link_dir).map(drop),
    );
    escapes += report(
        &format!("metadata {root}/link/passwd"),
        fs::metadata(format!("{root}/link/passwd")).map(drop),
    );
    let writes = [
        format!("{root}/outside_link/probe"),
        format!("{root}/../outside/probe"),
    ];
    for path in &writes {
        escapes += report(&format!("write {path}"), fs::write(path, "escaped\n"));
    }
    escapes += report(
        &format!("create_dir {root}/../outside/dir"),
        fs::create_dir(format!("{root}/../outside/dir")),
    );

    // Controls: paths that stay inside must work.
    for path in [
        format!("{root}/inside.txt"),
        format!("{root}/inside_link"),
        format!("{root}/sub/../inside.txt"),
    ] {
        match fs::read_to_string(&path) {
            Ok(text) => println!("read {path}: ok {text:?}"),
            Err(e) => println!("read {path}: FAILED ({:?})", e.kind()),
        }
    }
    match fs::symlink_metadata(format!("{root}/link")) {
        Ok(meta) => println!(
            "symlink_metadata {root}/link: ok, symlink {}",
            meta.file_type().is_symlink()
        ),
        Err(e) => println!("symlink_metadata {root}/link: FAILED ({:?})", e.kind()),
    }
    println!("escapes: {escapes}");
}

/// Prints the outcome of an attempt to escape; returns 1 if it succeeded.
fn report(what: &str, result: std::io::Result<()>) -> u32 {
    match result {
        Ok(()) => {
            println!("{what}: ALLOWED");
            1
        }
        Err(e) => {
            let kind: ErrorKind = e.kind();
            println!("{what}: denied ({kind:?})");
            0
        }
    }
}
