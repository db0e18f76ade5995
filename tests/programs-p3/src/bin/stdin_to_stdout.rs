//! The WASI 0.3 twin of tests/programs' `stdin_to_stdout`: copies stdin to
//! stdout unchanged through streams (reads of an odd size, each written
//! before the next read), then prints `N bytes` on stderr.

use smelt_test_programs_p3::stderr;
use wasip3::wit_stream;

wasip3::cli::command::export!(Copy);

struct Copy;

impl wasip3::exports::cli::run::Guest for Copy {
    async fn run() -> Result<(), ()> {
        let (mut input, input_done) = wasip3::cli::stdin::read_via_stream();
        let (mut tx, rx) = wit_stream::new();
        let copy = async {
            let mut total: u64 = 0;
            loop {
                let (result, buf) = input.read(Vec::with_capacity(4093)).await;
                match result {
                    wasip3::wit_bindgen::StreamResult::Complete(_) => {}
                    _ => break,
                }
                total += buf.len() as u64;
                let rest = tx.write_all(buf).await;
                assert!(rest.is_empty(), "stdout closed early");
            }
            drop(tx);
            total
        };
        let (written, total) =
            futures::join!(async { wasip3::cli::stdout::write_via_stream(rx).await }, copy);
        if let Err(e) = input_done.await {
            stderr(format!("stdin_to_stdout: read failed: {e:?}\n").into_bytes())
                .await
                .map_err(drop)?;
            return Err(());
        }
        if let Err(e) = written {
            stderr(format!("stdin_to_stdout: write failed: {e:?}\n").into_bytes())
                .await
                .map_err(drop)?;
            return Err(());
        }
        stderr(format!("{total} bytes\n").into_bytes())
            .await
            .map_err(drop)
    }
}

fn main() {}
