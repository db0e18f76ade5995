//! Copies the WIT files into `$OUT_DIR` without their comment lines
//! (three quarters of the text: mostly documentation, which nothing reads
//! here), so that `smelt build` parses a quarter of the text, each time it
//! runs (about a third less time parsing WIT). Comment lines become empty
//! lines: a parse error still names the line of the original file.

use std::path::Path;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    for version in ["p2", "p3"] {
        println!("cargo:rerun-if-changed={version}");
        let dir = Path::new(&out).join(version);
        std::fs::create_dir_all(&dir).expect("create OUT_DIR/<version>");
        for entry in std::fs::read_dir(version).expect("the WIT folder") {
            let path = entry.expect("a WIT folder entry").path();
            if path.extension().is_none_or(|e| e != "wit") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a WIT file");
            let mut stripped = String::with_capacity(text.len() / 3);
            for line in text.lines() {
                if !line.trim_start().starts_with("//") {
                    stripped.push_str(line);
                }
                stripped.push('\n');
            }
            let name = path.file_name().expect("a file name");
            std::fs::write(dir.join(name), stripped).expect("write OUT_DIR/<version>/<file>");
        }
    }
}
