//! Running a compiled `.wast` script (see [`smelt_abi::script`]).
//!
//! Each command's outcome is printed, and flushed, as one line on stdout
//! before the next command runs, so that `smelt wast` sees every outcome up
//! to a crash of the process itself.

use std::io::Write;

use smelt_abi::program::{ModuleDesc, ProgramDesc};
use smelt_abi::script::{self, Command, ImportCheck, Outcome};

use crate::component::{HostTable, Runtime};
use crate::instance::{self, CallError, Instance};

/// Runs the script of `program` ([`smelt_abi::program::ProgramKind::WastScript`]);
/// returns the process exit status (0, or 2 when the script cannot be
/// decoded or stdout fails).
///
/// # Safety
///
/// `program` must be the descriptor of the running executable, registered
/// and with trap handling initialized.
#[unsafe(export_name = "smelt_run_wast_script")]
pub unsafe fn run(program: &'static ProgramDesc, host: &'static HostTable) -> i32 {
    // SAFETY: the compiler emits the script with this length.
    let bytes = unsafe { crate::entry::slice(program.script, program.script_len) };
    let commands = match script::decode(bytes) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smelt: {e}");
            return 2;
        }
    };
    // SAFETY: the compiler emits `n_modules` descriptors.
    let modules = unsafe { crate::entry::slice(program.modules, program.n_modules) };
    let mut instances: Vec<Option<Instance>> = Vec::new();
    let component = if program.component_len == 0 {
        None
    } else {
        // SAFETY: the program descriptor of this executable.
        match unsafe { crate::component::start(program, host) } {
            Ok(rt) => Some(rt),
            Err(e) => {
                eprintln!("smelt: cannot start the component runtime: {e:?}");
                return 2;
            }
        }
    };
    let mut out = std::io::stdout().lock();
    for (index, command) in commands.iter().enumerate() {
        // SAFETY: the compiler built the script against these modules.
        let outcome = unsafe { run_command(command, modules, &mut instances, component) };
        if writeln!(out, "{}", outcome.line(index))
            .and_then(|()| out.flush())
            .is_err()
        {
            return 2;
        }
    }
    0
}

fn bad_script(what: &str) -> Outcome {
    Outcome::Trap(format!("smelt: bad script: {what}"))
}

/// # Safety
///
/// See [`run`].
unsafe fn run_command(
    command: &Command,
    modules: &'static [ModuleDesc],
    instances: &mut Vec<Option<Instance>>,
    component: Option<&'static Runtime>,
) -> Outcome {
    match command {
        Command::Instantiate {
            module,
            instance,
            imports,
        } => {
            let Some(desc) = modules.get(*module as usize) else {
                return bad_script("no such module");
            };
            let mut pointers = Vec::with_capacity(imports.len());
            for import in imports {
                let Some(export) = instances
                    .get(import.instance as usize)
                    .and_then(Option::as_ref)
                    .and_then(|i| i.export(import.export))
                else {
                    return bad_script("import from a missing instance or export");
                };
                // SAFETY: the checks name the export's kind.
                let fits = unsafe {
                    match import.check {
                        ImportCheck::None => true,
                        ImportCheck::MemoryMinPages(pages) => {
                            instance::memory_length(export.ptr)
                                >= pages.saturating_mul(smelt_abi::vm::WASM_PAGE_SIZE)
                        }
                        ImportCheck::TableMinElements(n) => instance::table_length(export.ptr) >= n,
                    }
                };
                if !fits {
                    return Outcome::Unlinkable("incompatible import type".into());
                }
                pointers.push(export.ptr);
            }
            // SAFETY: the compiler checked the import types statically and
            // the sizes were checked above.
            match unsafe { Instance::new(desc, &pointers) } {
                Ok(new) => {
                    let slot = *instance as usize;
                    if instances.len() <= slot {
                        instances.resize_with(slot + 1, || None);
                    }
                    instances[slot] = Some(new);
                    Outcome::Ok(Vec::new())
                }
                Err(trap) => Outcome::Trap(trap.message().into()),
            }
        }
        Command::Invoke {
            instance,
            export,
            args,
        } => {
            let Some(target) = instances.get(*instance as usize).and_then(Option::as_ref) else {
                return bad_script("invoke on a missing instance");
            };
            // SAFETY: the compiler encoded the arguments for this export.
            match unsafe { target.call(*export, args) } {
                Ok(results) => Outcome::Ok(results),
                Err(CallError::Trap(trap)) => Outcome::Trap(trap.message().into()),
                Err(e) => bad_script(&format!("{e:?}")),
            }
        }
        Command::InstantiateComponent { ops } => {
            let Some(rt) = component else {
                return bad_script("component command without a component runtime");
            };
            // SAFETY: the compiler built the initializers for this program.
            match unsafe { rt.run(ops) } {
                Ok(()) => Outcome::Ok(Vec::new()),
                Err(trap) => Outcome::Trap(trap.message().into()),
            }
        }
        Command::CallComponent {
            trampoline,
            args,
            memory,
        } => {
            let Some(rt) = component else {
                return bad_script("component command without a component runtime");
            };
            // SAFETY: the compiler encoded the arguments for this adapter.
            match unsafe { rt.call_from_host(*trampoline, args, memory) } {
                Ok((results, memory)) => Outcome::Component(results, memory),
                Err(trap) => Outcome::Trap(trap.message().into()),
            }
        }
        Command::Get { instance, export } => {
            match instances
                .get(*instance as usize)
                .and_then(Option::as_ref)
                .and_then(|i| i.global(*export))
            {
                Some(value) => Outcome::Ok(vec![value]),
                None => bad_script("get of a missing global"),
            }
        }
    }
}
