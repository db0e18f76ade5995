//! The command-line core: exit, terminals, and the arguments and
//! environment of [`WasiHost`].
//!
//! WASI 0.2's `wasi:cli` (`p2/cli.rs`), WASI 0.3's (`p3/cli.rs`) and
//! preview1's `proc_exit`, `args_*` and `environ_*` are faces over this.

use std::io::Write;

use smelt_rt::component::host::{HostResult, Own};

use crate::WasiHost;
use crate::table::Object;

/// Ends the process with `code`, after flushing what the runtime itself
/// buffered (guest output is never buffered in the host).
pub fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

/// `bytes` as a string, each invalid UTF-8 sequence replaced by U+FFFD:
/// arguments and environment as WASI 0.2 and 0.3 pass them (strings).
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl WasiHost {
    /// The arguments, as strings ([`lossy`]).
    pub fn arguments(&self) -> Vec<String> {
        self.args.iter().map(|a| lossy(a)).collect()
    }

    /// The environment, as strings ([`lossy`]).
    pub fn environment(&self) -> Vec<(String, String)> {
        self.env.iter().map(|(k, v)| (lossy(k), lossy(v))).collect()
    }
}

/// Whether descriptor `fd` is a terminal.
pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

impl WasiHost {
    /// A new terminal handle if `fd` is a terminal (WASI 0.2's and 0.3's
    /// `get-terminal-*`), else `None`.
    ///
    /// # Errors
    ///
    /// A trap when the table is full.
    pub fn terminal<R>(&mut self, fd: i32) -> HostResult<Option<Own<R>>> {
        if !is_terminal(fd) {
            return Ok(None);
        }
        Ok(Some(Own::new(self.table.push(Object::Terminal)?)))
    }
}
