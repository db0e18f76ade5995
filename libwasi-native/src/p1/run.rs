//! Running a preview1 command: binding the module's imports to the
//! preview1 host (and its imported memory to a shared memory the runtime
//! makes), instantiating it, calling `_start`.

use std::sync::Arc;

use smelt_abi::preview1::Preview1Desc;
use smelt_abi::program::{ExportKind, ProgramDesc, TrampolineCode};
use smelt_abi::vm::{TrampolineFn, VMFuncRef};
use smelt_rt::component::HostTable;
use smelt_rt::entry::{EXIT_SOFTWARE, report_trap};
use smelt_rt::instance::{CallError, Instance};
use smelt_rt::threads::{SharedMemory, exit_after_trap};

use super::Preview1Host;
use super::table::{Entry, FdTable, Handle};

/// The context of one import's trampoline: the shim it calls.
///
/// # Layout
///
/// `call` first (`smelt_abi::vm::TRAMPOLINE_CALL`), as every trampoline
/// context has it.
#[repr(C)]
struct ImportContext {
    call: TrampolineFn,
}

/// A slice of a descriptor's table (empty for null).
///
/// # Safety
///
/// `ptr` must point to `len` elements that live forever.
unsafe fn slice<T>(ptr: *const T, len: u64) -> &'static [T] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(ptr, len as usize) }
    }
}

/// The preview1 host of this process: the arguments and environment of
/// the WASI host, the standard streams at 0, 1 and 2, and the preopened
/// directories from 3 on.
fn start_host() -> Result<Preview1Host, String> {
    let host = crate::host();
    let mut fds = FdTable::default();
    for fd in 0..3 {
        let entry = Entry::new(Handle::Stdio(fd), None);
        // SAFETY: `F_GETFL` only reads the descriptor's flags.
        let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        entry.append.store(
            fl >= 0 && fl & libc::O_APPEND != 0,
            std::sync::atomic::Ordering::Relaxed,
        );
        fds.insert(entry).map_err(|e| format!("{e:?}"))?;
    }
    let preopened = crate::fs::preopens::preopened()
        .map_err(|e| format!("cannot duplicate a preopened directory: {e}"))?;
    for (d, name) in preopened {
        fds.insert(Entry::new(Handle::Open(d), Some(name)))
            .map_err(|e| format!("{e:?}"))?;
    }
    let env = host
        .env
        .iter()
        .map(|(k, v)| [k.as_slice(), b"=", v.as_slice()].concat())
        .collect();
    Ok(Preview1Host::new(host.args.clone(), env, fds))
}

/// Runs a preview1 command ([`smelt_abi::program::ProgramKind::Preview1`]):
/// binds module 0's imports to the trampolines of the program (each
/// calling its function's shim), instantiates it, points the preview1
/// host at its memory, and calls `_start`. Exit status: the one given to
/// `proc_exit` (which ends the process from inside the call), 0 when
/// `_start` returns, 134 after a trap. A module that imports a shared
/// memory gets one made from the import's limits; one that imports
/// `thread-spawn` can start threads ([`super::threads`]), and the
/// process ends when `_start` returns or traps, whatever they are doing.
///
/// # Safety
///
/// `program` must be the descriptor the compiler emitted into this
/// executable, of a preview1 program.
#[unsafe(export_name = "smelt_run_preview1")]
pub unsafe fn run(program: &'static ProgramDesc, _host: &'static HostTable) -> i32 {
    // SAFETY: the compiler emits `n_modules` descriptors.
    let Some(module) = (unsafe { slice(program.modules, program.n_modules) }).first() else {
        eprintln!("smelt: the program has no module");
        return EXIT_SOFTWARE;
    };
    // SAFETY: the compiler emits `init_len` bytes at `init`.
    let init = unsafe { slice(program.init, program.init_len) };
    let desc: Preview1Desc = match smelt_abi::codec::from_bytes(init) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("smelt: malformed preview1 descriptor in the executable: {e:?}");
            return EXIT_SOFTWARE;
        }
    };
    let host = match start_host() {
        Ok(h) => Arc::new(h),
        Err(e) => {
            eprintln!("smelt: cannot start the WASI preview1 host: {e}");
            return EXIT_SOFTWARE;
        }
    };
    crate::host().preview1 = Some(host.clone());
    // One function reference per import, each with its own context (the
    // shim it calls), living as long as the program.
    // SAFETY: the compiler emits `n_trampolines` entries.
    let trampolines: &[TrampolineCode] =
        unsafe { slice(program.trampolines, program.n_trampolines) };
    let mut imports: Vec<*mut u8> = Vec::with_capacity(trampolines.len() + 1);
    let memory = match &desc.memory_import {
        Some(m) => match SharedMemory::new(m.min_pages, m.max_pages, m.memory64) {
            Ok(mem) => Some((m.import as usize, mem)),
            Err(e) => {
                eprintln!(
                    "smelt: cannot make the imported shared memory ({} to {} pages): {e:?}",
                    m.min_pages, m.max_pages
                );
                return EXIT_SOFTWARE;
            }
        },
        None => None,
    };
    for t in trampolines {
        if let Some((at, mem)) = memory
            && at == imports.len()
        {
            imports.push(mem.definition().cast());
        }
        if t.callee.is_null() || t.code.is_null() {
            eprintln!("smelt: a preview1 import has no shim");
            return EXIT_SOFTWARE;
        }
        // SAFETY: the compiler points `callee` at a `TrampolineFn` shim.
        let call = unsafe { core::mem::transmute::<*const u8, TrampolineFn>(t.callee) };
        let context = Box::leak(Box::new(ImportContext { call }));
        let func = Box::leak(Box::new(VMFuncRef {
            wasm_call: t.code,
            vmctx: (context as *mut ImportContext).cast(),
            type_id: t.type_id,
            padding: 0,
        }));
        imports.push((func as *mut VMFuncRef).cast());
    }
    if let Some((at, mem)) = memory
        && at == imports.len()
    {
        imports.push(mem.definition().cast());
    }
    if let Some((_, mem)) = memory {
        host.set_memory(mem.definition());
    }
    let threaded = desc.threads.is_some();
    if let Some(t) = &desc.threads {
        // SAFETY: the imports live as long as the process: leaked
        // trampoline contexts and function references, and a shared
        // memory, which is never freed.
        unsafe {
            super::threads::enable(
                module,
                &imports,
                t.thread_start,
                t.max_threads,
                host.clone(),
            )
        };
    }
    // SAFETY: each import is a function reference of the type the module
    // declares (the compiler built each trampoline from it).
    let instance = match unsafe { Instance::new(module, &imports) } {
        Ok(i) => i,
        Err(trap) if threaded => exit_after_trap(&trap),
        Err(trap) => return report_trap(&trap),
    };
    if let Some(index) = desc.memory.filter(|_| memory.is_none()) {
        match instance.export(index) {
            Some(e) if e.kind == ExportKind::Memory => host.set_memory(e.ptr.cast()),
            _ => {
                eprintln!("smelt: export {index} of the preview1 module is not its memory");
                return EXIT_SOFTWARE;
            }
        }
    }
    if program.entry_export == u32::MAX {
        return 0;
    }
    // SAFETY: the compiler chose `_start`, which takes no parameters.
    match unsafe { instance.call(program.entry_export, &[]) } {
        // Other threads may still run guest code and host calls: the
        // process ends at once.
        Ok(_) if threaded => super::threads::exit(0),
        Ok(_) => 0,
        Err(CallError::Trap(trap)) if threaded => exit_after_trap(&trap),
        Err(CallError::Trap(trap)) => report_trap(&trap),
        Err(e) => {
            eprintln!("smelt: cannot call `_start`: {e:?}");
            EXIT_SOFTWARE
        }
    }
}
