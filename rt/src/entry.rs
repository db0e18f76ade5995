//! Process entry: what the runtime's `main` does with a program.

use std::io::Write;

use smelt_abi::component::TrampolineIndex;
use smelt_abi::program::ProgramDesc;

use crate::component::HostTable;
use crate::instance::{CallError, Instance};
use crate::{program, traps};

/// Exit status of a process whose guest trapped (as for `abort`).
pub const EXIT_TRAP: i32 = 134;

/// Exit status when the executable itself is broken (a runtime of another
/// ABI version, a malformed descriptor).
pub const EXIT_SOFTWARE: i32 = 70;

/// Exit status when the executable's environment sets a limit that does
/// not parse (`SMELT_TIMEOUT=soon`).
pub const EXIT_USAGE: i32 = 2;

/// Builds a slice from a descriptor's pointer and length (empty for null).
///
/// # Safety
///
/// `ptr` must point to `len` valid elements that live forever.
pub unsafe fn slice<T>(ptr: *const T, len: u64) -> &'static [T] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(ptr, len as usize) }
    }
}

/// What runs one kind of program, given its descriptor and the host, and
/// returns the process's exit status: [`ProgramDesc::run`] points to one
/// of [`run_core_command`], [`run_component`] and [`crate::wast::run`],
/// each exported under its kind's symbol
/// ([`smelt_abi::program::ProgramKind::run_symbol`]), so that an
/// executable links only the one its program needs.
pub type RunFn = unsafe fn(&'static ProgramDesc, &'static HostTable) -> i32;

/// Runs `program`, with `host` implementing its host imports, and returns
/// the process's exit status.
///
/// # Safety
///
/// `program` must be the descriptor the compiler emitted into this
/// executable.
pub unsafe fn start(program: &'static ProgramDesc, host: &'static HostTable) -> i32 {
    if program.abi_version != smelt_abi::ABI_VERSION {
        eprintln!(
            "smelt: this executable's code was compiled for runtime ABI {}, but its runtime has ABI {}",
            program.abi_version,
            smelt_abi::ABI_VERSION
        );
        return EXIT_SOFTWARE;
    }
    program::set(program);
    match crate::limits::of_program(program) {
        Ok(limits) => crate::limits::install(limits, program),
        Err(e) => {
            eprintln!("smelt: {e}");
            return EXIT_USAGE;
        }
    }
    traps::init();
    if program.run.is_null() {
        eprintln!("smelt: the program has no entry (kind {})", program.kind);
        return EXIT_SOFTWARE;
    }
    // SAFETY: the compiler points `run` at the `RunFn` of the program's
    // kind, by its symbol.
    let run = unsafe { core::mem::transmute::<*const u8, RunFn>(program.run) };
    // SAFETY: forwarded from the caller.
    let status = unsafe { run(program, host) };
    let _ = std::io::stdout().flush();
    status
}

/// Instantiates module 0 (which has no imports) and calls its entry export
/// ([`smelt_abi::program::ProgramKind::CoreCommand`]).
///
/// # Safety
///
/// See [`start`].
#[unsafe(export_name = "smelt_run_core_command")]
pub unsafe fn run_core_command(program: &'static ProgramDesc, _host: &'static HostTable) -> i32 {
    // SAFETY: the compiler emits `n_modules` descriptors.
    let Some(module) = (unsafe { slice(program.modules, program.n_modules) }).first() else {
        eprintln!("smelt: the program has no module");
        return EXIT_SOFTWARE;
    };
    // SAFETY: a command module has no imports.
    let instance = match unsafe { Instance::new(module, &[]) } {
        Ok(i) => i,
        Err(trap) => return report_trap(&trap),
    };
    if program.entry_export == u32::MAX {
        return 0;
    }
    // SAFETY: the compiler chose an entry export taking no parameters.
    match unsafe { instance.call(program.entry_export, &[]) } {
        Ok(_) => 0,
        Err(CallError::Trap(trap)) => report_trap(&trap),
        Err(e) => {
            eprintln!("smelt: cannot call the entry point: {e:?}");
            EXIT_SOFTWARE
        }
    }
}

/// Instantiates the component (runs its initializers), then calls its
/// `wasi:cli/run` export through the entry adapter with the host as the
/// caller ([`smelt_abi::program::ProgramKind::Component`]). Exit status:
/// 0 when `run` returns `ok`, 1 when it returns `err`, [`EXIT_TRAP`] after
/// a trap.
///
/// # Safety
///
/// See [`start`].
#[unsafe(export_name = "smelt_run_component")]
pub unsafe fn run_component(program: &'static ProgramDesc, host: &'static HostTable) -> i32 {
    // SAFETY: forwarded from the caller.
    let rt = match unsafe { crate::component::start(program, host) } {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("smelt: cannot start the component runtime: {e:?}");
            return EXIT_SOFTWARE;
        }
    };
    // SAFETY: the compiler emits the initializers with this length.
    let bytes = unsafe { slice(program.init, program.init_len) };
    let ops: Vec<smelt_abi::component::InitOp> = match smelt_abi::codec::from_bytes(bytes) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("smelt: malformed initializers in the executable: {e:?}");
            return EXIT_SOFTWARE;
        }
    };
    // SAFETY: the initializers of this program.
    if let Err(trap) = unsafe { rt.run(&ops) } {
        return report_trap(&trap);
    }
    // SAFETY: the entry adapter lifts `run: func() -> result`, which takes
    // no arguments.
    match unsafe { rt.call_from_host(TrampolineIndex::from_u32(program.entry_export), &[], &[]) } {
        Ok((results, _)) => i32::from(results[0] as u32 != 0),
        Err(trap) => report_trap(&trap),
    }
}

/// Prints a trap and its backtrace on stderr, after flushing stdout;
/// returns [`EXIT_TRAP`].
pub fn report_trap(trap: &traps::Trap) -> i32 {
    let _ = std::io::stdout().flush();
    eprintln!("{trap}");
    EXIT_TRAP
}
