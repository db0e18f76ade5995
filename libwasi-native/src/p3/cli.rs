//! `wasi:cli` of WASI 0.3: arguments, environment, exit, the standard
//! streams as `stream<u8>`s, terminals.

use smelt_rt::component::host::{self, Cx, FutureReader, HostResult, Own, StreamReader};

use super::stream::{FdSink, FdSource, OnEnd};
use crate::WasiHost;
use crate::bindings::p3::*;

use wasi_cli_types::ErrorCode;

/// A future for the outcome of a standard stream, and what resolves it.
fn outcome() -> (FutureReader<Result<(), ErrorCode>>, OnEnd) {
    let (reader, writer) = host::future::<Result<(), ErrorCode>>();
    let on_end: OnEnd = Box::new(move |error: Option<std::io::Error>| {
        writer.resolve(match error {
            None => Ok(()),
            Some(e) if e.raw_os_error() == Some(libc::EPIPE) => Err(ErrorCode::Pipe),
            Some(_) => Err(ErrorCode::Io),
        })
    });
    (reader, on_end)
}

/// Makes the host the reader of `data`, writing to `fd`.
fn write_via_stream(
    fd: i32,
    data: StreamReader<u8>,
) -> HostResult<FutureReader<Result<(), ErrorCode>>> {
    let (reader, on_end) = outcome();
    data.attach_sink(Box::new(FdSink {
        fd,
        offset: None,
        on_end: Some(on_end),
        owner: None,
    }))?;
    Ok(reader)
}

impl wasi_cli_environment::Host for WasiHost {
    fn get_environment(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<(String, String)>> {
        Ok(self.env.clone())
    }

    fn get_arguments(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<String>> {
        Ok(self.args.clone())
    }

    fn get_initial_cwd(&mut self, _: &mut Cx<'_>) -> HostResult<Option<String>> {
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

impl wasi_cli_types::Host for WasiHost {}

impl wasi_cli_stdin::Host for WasiHost {
    fn read_via_stream(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<(StreamReader<u8>, FutureReader<Result<(), ErrorCode>>)> {
        let (reader, on_end) = outcome();
        let stream = StreamReader::from_source(Box::new(FdSource {
            fd: 0,
            offset: None,
            on_end: Some(on_end),
            owner: None,
        }));
        Ok((stream, reader))
    }
}

impl wasi_cli_stdout::Host for WasiHost {
    fn write_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        data: StreamReader<u8>,
    ) -> HostResult<FutureReader<Result<(), ErrorCode>>> {
        write_via_stream(1, data)
    }
}

impl wasi_cli_stderr::Host for WasiHost {
    fn write_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        data: StreamReader<u8>,
    ) -> HostResult<FutureReader<Result<(), ErrorCode>>> {
        write_via_stream(2, data)
    }
}

impl wasi_cli_terminal_input::Host for WasiHost {}
impl wasi_cli_terminal_output::Host for WasiHost {}

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
