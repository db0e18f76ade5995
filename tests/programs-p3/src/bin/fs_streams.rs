//! The WASI 0.3 twin of tests/programs' `fs_streams`: the same file I/O in
//! `/data`, through `wasi:filesystem@0.3` — `async` descriptor operations,
//! file contents as `stream<u8>`s, the listing as a
//! `stream<directory-entry>`.

use smelt_test_programs_p3::stdout;
use wasip3::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};
use wasip3::wit_bindgen::StreamResult;
use wasip3::wit_stream;

wasip3::cli::command::export!(FsStreams);

struct FsStreams;

/// Writes `bytes` through a stream to `file` at `offset` (appending when
/// `None`).
async fn write(file: &Descriptor, bytes: Vec<u8>, offset: Option<u64>) -> Result<(), ErrorCode> {
    let (mut tx, rx) = wit_stream::new();
    let done = match offset {
        Some(at) => file.write_via_stream(rx, at),
        None => file.append_via_stream(rx),
    };
    let ((), result) = futures::join!(
        async {
            let rest = tx.write_all(bytes).await;
            assert!(rest.is_empty(), "the file's stream closed early");
            drop(tx);
        },
        async { done.await }
    );
    result
}

/// Reads all of `file` through a stream.
async fn read(file: &Descriptor) -> Result<Vec<u8>, ErrorCode> {
    let (rx, done) = file.read_via_stream(0);
    let bytes = rx.collect().await;
    done.await?;
    Ok(bytes)
}

async fn open(
    dir: &Descriptor,
    path: &str,
    open: OpenFlags,
    flags: DescriptorFlags,
) -> Result<Descriptor, ErrorCode> {
    dir.open_at(PathFlags::SYMLINK_FOLLOW, path.into(), open, flags)
        .await
}

async fn run(out: &mut String) -> Result<(), ErrorCode> {
    let (data, _) = wasip3::filesystem::preopens::get_directories()
        .into_iter()
        .find(|(_, name)| name == "/data")
        .expect("/data is granted");
    let rw = DescriptorFlags::READ | DescriptorFlags::WRITE;
    let file = open(&data, "out.txt", OpenFlags::CREATE | OpenFlags::TRUNCATE, rw).await?;
    write(&file, b"written by the guest\n".to_vec(), Some(0)).await?;
    write(&file, b"appended\n".to_vec(), None).await?;
    let text = String::from_utf8(read(&file).await?).expect("UTF-8");
    out.push_str(&format!("out.txt: {text:?}\n"));
    out.push_str(&format!("size: {}\n", file.stat().await?.size));
    data.create_directory_at("sub".into()).await?;
    let (mut entries, done) = data.read_directory();
    let mut names = Vec::new();
    while let Some(e) = entries.next().await {
        names.push(match e.type_ {
            DescriptorType::Directory => format!("{}/", e.name),
            _ => e.name,
        });
    }
    done.await?;
    names.sort();
    out.push_str(&format!("listing: [{}]\n", names.join(", ")));
    let input = open(&data, "input.txt", OpenFlags::empty(), DescriptorFlags::READ).await?;
    let text = String::from_utf8(read(&input).await?).expect("UTF-8");
    out.push_str(&format!("input.txt: {text:?}\n"));
    let input = open(&data, "input.bin", OpenFlags::empty(), DescriptorFlags::READ).await?;
    let output = open(&data, "copy.bin", OpenFlags::CREATE | OpenFlags::TRUNCATE, rw).await?;
    let (mut rx, read_done) = input.read_via_stream(0);
    let (mut tx, tx_rx) = wit_stream::new();
    let write_done = output.write_via_stream(tx_rx, 0);
    let copy = async {
        let mut copied = 0;
        loop {
            let (result, buf) = rx.read(Vec::with_capacity(65521)).await;
            if !matches!(result, StreamResult::Complete(_)) {
                break;
            }
            copied += buf.len();
            let rest = tx.write_all(buf).await;
            assert!(rest.is_empty(), "copy.bin's stream closed early");
        }
        drop(tx);
        copied
    };
    let (copied, written) = futures::join!(copy, async { write_done.await });
    read_done.await?;
    written?;
    out.push_str(&format!("copied input.bin: {copied} bytes\n"));
    match open(&data, "missing.txt", OpenFlags::empty(), DescriptorFlags::READ).await {
        Err(ErrorCode::NoEntry) => out.push_str("missing.txt: not found\n"),
        other => out.push_str(&format!("missing.txt: {:?}\n", other.map(drop))),
    }
    match open(&data, "../etc/passwd", OpenFlags::empty(), DescriptorFlags::READ).await {
        Err(_) => out.push_str("../etc/passwd: denied\n"),
        Ok(_) => out.push_str("../etc/passwd: read!\n"),
    }
    Ok(())
}

impl wasip3::exports::cli::run::Guest for FsStreams {
    async fn run() -> Result<(), ()> {
        let mut out = String::new();
        let result = run(&mut out).await;
        if let Err(e) = &result {
            out.push_str(&format!("fs_streams: {e:?}\n"));
        }
        stdout(out.into_bytes()).await.map_err(drop)?;
        result.map_err(drop)
    }
}

fn main() {}
