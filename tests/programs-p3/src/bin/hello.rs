//! The WASI 0.3 twin of tests/programs' `hello`: one fixed line on stdout,
//! one on stderr, each through a `stream<u8>`, exit 0.

use smelt_test_programs_p3::{stderr, stdout};

wasip3::cli::command::export!(Hello);

struct Hello;

impl wasip3::exports::cli::run::Guest for Hello {
    async fn run() -> Result<(), ()> {
        stdout(b"hello from a smelt test program\n".to_vec())
            .await
            .map_err(drop)?;
        stderr(b"hello on stderr\n".to_vec()).await.map_err(drop)
    }
}

fn main() {}
