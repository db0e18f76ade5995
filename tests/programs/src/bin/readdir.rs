//! Lists the directory given as the first argument: one line per entry,
//! sorted by name, as `dir NAME`, `file NAME (N bytes)`, `symlink NAME`
//! (the link itself, not followed) or `other NAME`; then `N entries`.

use std::fs;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: readdir DIR");
        std::process::exit(2);
    };
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("readdir: {dir}: {e}");
            std::process::exit(1);
        }
    };
    let mut lines = Vec::new();
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| {
            eprintln!("readdir: {dir}: {e}");
            std::process::exit(1)
        });
        let name = entry.file_name().to_string_lossy().into_owned();
        let ty = entry.file_type().unwrap_or_else(|e| {
            eprintln!("readdir: {name}: {e}");
            std::process::exit(1)
        });
        let line = if ty.is_dir() {
            format!("dir {name}")
        } else if ty.is_symlink() {
            format!("symlink {name}")
        } else if ty.is_file() {
            let len = entry.metadata().map(|m| m.len()).unwrap_or_else(|e| {
                eprintln!("readdir: {name}: {e}");
                std::process::exit(1)
            });
            format!("file {name} ({len} bytes)")
        } else {
            format!("other {name}")
        };
        lines.push((name, line));
    }
    lines.sort();
    for (_, line) in &lines {
        println!("{line}");
    }
    println!("{} entries", lines.len());
}
