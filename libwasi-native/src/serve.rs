//! The entry of an HTTP server executable
//! ([`smelt_abi::program::ProgramKind::HttpServer`]).
//!
//! The executable's own command line:
//!
//! ```text
//! server [--addr HOST:PORT] [--workers N] [--max-body-size BYTES] [--header-timeout SECONDS]
//! ```
//!
//! `--addr` overrides the address given to `smelt build --addr` (port 0
//! picks a free port; the line `Serving HTTP on http://ADDR/` on stderr
//! says which), `--workers` the number of worker threads (default: what
//! `smelt build --workers` said, or one per CPU), `--max-body-size` the
//! largest request body (default 64 MiB), `--header-timeout` how long a
//! client may take to send a request head (default 10 s). Exit status: 0
//! after SIGINT or SIGTERM, 2 for bad arguments, 1 when it cannot listen.

use smelt_abi::component::InitOp;
use smelt_abi::program::ProgramDesc;
use smelt_rt::component::HostTable;

use crate::http::server::{self, Config, Limits};

/// A descriptor the workers share: the program's, read-only.
#[derive(Clone, Copy)]
struct Program(&'static ProgramDesc, &'static HostTable);

// SAFETY: the descriptor and the host table are immutable data the
// compiler and the runtime emit; every worker only reads them.
unsafe impl Send for Program {}
// SAFETY: as above.
unsafe impl Sync for Program {}

impl Program {
    fn parts(self) -> (&'static ProgramDesc, &'static HostTable) {
        (self.0, self.1)
    }
}

const USAGE: &str =
    "usage: [--addr HOST:PORT] [--workers N] [--max-body-size BYTES] [--header-timeout SECONDS]";

/// Reads the server's options from its command line.
fn options(args: &[String], mut config: Config) -> Result<Option<Config>, String> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
        };
        match flag {
            "--addr" => {
                let v = value()?;
                config.addr = v
                    .parse()
                    .map_err(|_| format!("--addr {v}: expected HOST:PORT"))?;
            }
            "--workers" => {
                let v = value()?;
                config.workers = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--workers {v}: expected a positive number"))?;
            }
            "--max-body-size" => {
                let v = value()?;
                config.limits.max_body = v
                    .parse()
                    .map_err(|_| format!("--max-body-size {v}: expected a number of bytes"))?;
            }
            "--header-timeout" => {
                let v = value()?;
                config.limits.head_timeout = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(std::time::Duration::from_secs_f64)
                    .ok_or_else(|| format!("--header-timeout {v}: expected seconds"))?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument `{other}`; {USAGE}")),
        }
    }
    Ok(Some(config))
}

/// Serves the program's HTTP handler until SIGINT or SIGTERM; returns the
/// exit status.
///
/// # Safety
///
/// `program` must be the running executable's descriptor, of kind
/// `HttpServer`, and [`crate::init`] must have run.
#[unsafe(export_name = "smelt_run_http_server")]
pub unsafe fn run_http_server(program: &'static ProgramDesc, host: &'static HostTable) -> i32 {
    let template = crate::template();
    let Some(serve) = template.serve.clone() else {
        eprintln!("smelt: the executable has no HTTP server configuration");
        return smelt_rt::entry::EXIT_SOFTWARE;
    };
    let default_addr = match serve.addr.parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!(
                "smelt: the executable's address `{}` is invalid",
                serve.addr
            );
            return smelt_rt::entry::EXIT_SOFTWARE;
        }
    };
    let workers = match serve.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n as usize,
    };
    let config = Config {
        addr: default_addr,
        workers,
        limits: Limits::default(),
    };
    let config = match options(&template.args, config) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("smelt: {e}");
            return 2;
        }
    };
    // SAFETY: the compiler emits the initializers with this length.
    let bytes = unsafe { smelt_rt::entry::slice(program.init, program.init_len) };
    let ops: Vec<InitOp> = match smelt_abi::codec::from_bytes(bytes) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("smelt: malformed initializers in the executable: {e:?}");
            return smelt_rt::entry::EXIT_SOFTWARE;
        }
    };
    let shared = Program(program, host);
    let result = match serve.wasi_minor {
        2 => server::run(config, move || {
            let (program, host) = shared.parts();
            Ok(crate::p2::http_serve::Serve::new(
                program,
                host,
                ops.clone(),
            ))
        }),
        3 => server::run(config, move || {
            let (program, host) = shared.parts();
            Ok(crate::p3::http_serve::Serve::new(
                program,
                host,
                ops.clone(),
            ))
        }),
        other => {
            eprintln!("smelt: serving a WASI 0.{other} handler is not supported");
            return smelt_rt::entry::EXIT_SOFTWARE;
        }
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            eprintln!("smelt: {e}");
            1
        }
    }
}
