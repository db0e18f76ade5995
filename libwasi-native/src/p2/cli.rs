//! `wasi:cli`: arguments, environment, exit, the standard streams and
//! terminals.

use std::io::Write;

use smelt_rt::component::host::{Cx, HostResult, Own};

use crate::WasiHost;
use crate::bindings::*;
use crate::p2::io::{InputStream, OutputStream};
use crate::table::Object;

/// Ends the process with `code`, after flushing what the runtime itself
/// buffered (guest output is never buffered in the host).
pub fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code)
}

impl wasi_cli_environment::Host for WasiHost {
    fn get_environment(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<(String, String)>> {
        Ok(self.env.clone())
    }

    fn get_arguments(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<String>> {
        Ok(self.args.clone())
    }

    fn initial_cwd(&mut self, _: &mut Cx<'_>) -> HostResult<Option<String>> {
        Ok(None)
    }
}

impl wasi_cli_exit::Host for WasiHost {
    fn exit(&mut self, _: &mut Cx<'_>, status: Result<(), ()>) -> HostResult<()> {
        crate::guest_exit(if status.is_ok() { 0 } else { 1 })
    }

    fn exit_with_code(&mut self, _: &mut Cx<'_>, status_code: u8) -> HostResult<()> {
        crate::guest_exit(i32::from(status_code))
    }
}

impl wasi_cli_stdin::Host for WasiHost {
    fn get_stdin(&mut self, _: &mut Cx<'_>) -> HostResult<Own<wasi_io_streams::InputStream>> {
        Ok(Own::new(
            self.table.push(Object::InputStream(InputStream::Stdin))?,
        ))
    }
}

impl wasi_cli_stdout::Host for WasiHost {
    fn get_stdout(&mut self, _: &mut Cx<'_>) -> HostResult<Own<wasi_io_streams::OutputStream>> {
        Ok(Own::new(
            self.table.push(Object::OutputStream(OutputStream::Fd(1)))?,
        ))
    }
}

impl wasi_cli_stderr::Host for WasiHost {
    fn get_stderr(&mut self, _: &mut Cx<'_>) -> HostResult<Own<wasi_io_streams::OutputStream>> {
        Ok(Own::new(
            self.table.push(Object::OutputStream(OutputStream::Fd(2)))?,
        ))
    }
}

impl wasi_cli_terminal_input::Host for WasiHost {}
impl wasi_cli_terminal_output::Host for WasiHost {}

/// Whether descriptor `fd` is a terminal.
pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

impl WasiHost {
    /// A new terminal handle if `fd` is a terminal (WASI 0.2's and 0.3's
    /// `get-terminal-*`), else `None`.
    pub(crate) fn terminal<R>(&mut self, fd: i32) -> HostResult<Option<Own<R>>> {
        if !is_terminal(fd) {
            return Ok(None);
        }
        Ok(Some(Own::new(self.table.push(Object::Terminal)?)))
    }
}

impl wasi_cli_terminal_stdin::Host for WasiHost {
    fn get_terminal_stdin(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<Option<Own<wasi_cli_terminal_input::TerminalInput>>> {
        self.terminal(0)
    }
}

impl wasi_cli_terminal_stdout::Host for WasiHost {
    fn get_terminal_stdout(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<Option<Own<wasi_cli_terminal_output::TerminalOutput>>> {
        self.terminal(1)
    }
}

impl wasi_cli_terminal_stderr::Host for WasiHost {
    fn get_terminal_stderr(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<Option<Own<wasi_cli_terminal_output::TerminalOutput>>> {
        self.terminal(2)
    }
}
