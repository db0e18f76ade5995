//! The WASI 0.3 twin of tests/programs' `exit_code`: exits with the status
//! given as the first argument through `wasi:cli/exit@0.3.x#exit` (success
//! for 0, failure otherwise), after writing a line to each stream.

use smelt_test_programs_p3::{stderr, stdout};

wasip3::cli::command::export!(ExitCode);

struct ExitCode;

impl wasip3::exports::cli::run::Guest for ExitCode {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let Some(Ok(code)) = args.get(1).map(|s| s.parse::<i32>()) else {
            stderr(b"usage: exit_code STATUS\n".to_vec())
                .await
                .map_err(drop)?;
            wasip3::cli::exit::exit(Err(()));
            unreachable!("exit returns not");
        };
        stdout(format!("exiting with {code}\n").into_bytes())
            .await
            .map_err(drop)?;
        stderr(b"stderr before exit\n".to_vec()).await.map_err(drop)?;
        wasip3::cli::exit::exit(if code == 0 { Ok(()) } else { Err(()) });
        unreachable!("exit returns not")
    }
}

fn main() {}
