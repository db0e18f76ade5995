//! What WASI 0.3 says of the flags a descriptor reports, of advice on a
//! directory and of the insecure seed, checked against the host: prints one
//! line per question, the answer the WIT (and the WASI test suite) gives.
//!
//! `/data` holds `file.txt` and the directory `sub/`.

use smelt_test_programs_p3::stdout;
use wasip3::filesystem::types::{
    Advice, Descriptor, DescriptorFlags, ErrorCode, OpenFlags, PathFlags,
};

wasip3::cli::command::export!(Fidelity);

struct Fidelity;

/// The flags `get-flags` reports, by name.
fn names(flags: DescriptorFlags) -> String {
    let mut out = Vec::new();
    for (flag, name) in [
        (DescriptorFlags::READ, "read"),
        (DescriptorFlags::WRITE, "write"),
        (DescriptorFlags::MUTATE_DIRECTORY, "mutate-directory"),
    ] {
        if flags.contains(flag) {
            out.push(name);
        }
    }
    format!("[{}]", out.join(", "))
}

async fn flags_of(
    dir: &Descriptor,
    path: &str,
    open: OpenFlags,
    flags: DescriptorFlags,
) -> String {
    match dir.open_at(PathFlags::empty(), path.into(), open, flags).await {
        Ok(d) => match d.get_flags().await {
            Ok(f) => names(f),
            Err(e) => format!("get-flags: {e:?}"),
        },
        Err(e) => format!("{e:?}"),
    }
}

async fn run(out: &mut String) -> Result<(), ErrorCode> {
    let (data, _) = wasip3::filesystem::preopens::get_directories()
        .into_iter()
        .find(|(_, name)| name == "/data")
        .expect("/data is granted");
    let none = DescriptorFlags::empty();
    let (read, write) = (DescriptorFlags::READ, DescriptorFlags::WRITE);
    let create = OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
    out.push_str(&format!("preopen: {}\n", names(data.get_flags().await?)));
    let lines = [
        ("directory, no flags", ".", OpenFlags::empty(), none),
        ("directory, read", "sub", OpenFlags::DIRECTORY, read),
        (
            "directory, read and mutate",
            "sub",
            OpenFlags::empty(),
            read | DescriptorFlags::MUTATE_DIRECTORY,
        ),
        ("directory, write", ".", OpenFlags::empty(), write),
        ("file, read", "file.txt", OpenFlags::empty(), read),
        ("file, no flags", "file.txt", OpenFlags::empty(), none),
        ("file, write", "file.txt", OpenFlags::empty(), write),
        ("file, exclusive alone", "file.txt", OpenFlags::EXCLUSIVE, none),
        ("created, no flags", "c1.txt", create, none),
        ("created, read", "c2.txt", create, read),
        ("created, write", "c3.txt", create, write),
        ("truncated, read", "file.txt", OpenFlags::TRUNCATE, read),
    ];
    for (what, path, open, flags) in lines {
        out.push_str(&format!("{what}: {}\n", flags_of(&data, path, open, flags).await));
    }
    // A directory opened for reading beneath the preopen may still have
    // its entries changed (as POSIX programs expect).
    let sub = data
        .open_at(PathFlags::empty(), "sub".into(), OpenFlags::DIRECTORY, read)
        .await?;
    let made = sub.create_directory_at("made".into()).await;
    let removed = sub.remove_directory_at("made".into()).await;
    out.push_str(&format!("mkdir and rmdir in it: {made:?} {removed:?}\n"));
    out.push_str(&format!(
        "advise on the directory: {:?}\n",
        data.advise(0, 0, Advice::Normal).await
    ));
    let file = data
        .open_at(PathFlags::empty(), "file.txt".into(), OpenFlags::empty(), read)
        .await?;
    out.push_str(&format!(
        "advise on a file: {:?}\n",
        file.advise(0, 4096, Advice::Sequential).await
    ));
    let a = wasip3::random::insecure_seed::get_insecure_seed();
    let b = wasip3::random::insecure_seed::get_insecure_seed();
    out.push_str(&format!("insecure-seed the same twice: {}\n", a == b));
    out.push_str(&format!(
        "random bytes of max-len 0: {}\n",
        wasip3::random::random::get_random_bytes(0).len()
    ));
    Ok(())
}

impl wasip3::exports::cli::run::Guest for Fidelity {
    async fn run() -> Result<(), ()> {
        let mut out = String::new();
        let result = run(&mut out).await;
        if let Err(e) = &result {
            out.push_str(&format!("fidelity: {e:?}\n"));
        }
        stdout(out.into_bytes()).await.map_err(drop)?;
        result.map_err(drop)
    }
}

fn main() {}
