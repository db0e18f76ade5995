//! Hands the stream `wasi:cli/stdin#read-via-stream` returns straight to
//! `wasi:cli/stdout#write-via-stream`: both ends of it are then the
//! host's, which moves the bytes itself. Exits 1 if either side reports
//! an error.

wasip3::cli::command::export!(Spliced);

struct Spliced;

impl wasip3::exports::cli::run::Guest for Spliced {
    async fn run() -> Result<(), ()> {
        let (input, read) = wasip3::cli::stdin::read_via_stream();
        let written = wasip3::cli::stdout::write_via_stream(input).await;
        read.await.map_err(drop)?;
        written.map_err(drop)
    }
}

fn main() {}
