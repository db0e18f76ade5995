//! Running a compiled `.wast` script (see [`smelt_abi::script`]).
//!
//! Each command's outcome is printed, and flushed, as one line on stdout
//! before the next command runs, so that `smelt wast` sees every outcome up
//! to a crash of the process itself.
//!
//! A [`Command::Thread`] runs its commands on a guest thread
//! ([`crate::threads::spawn`]) with an instance table of its own that holds
//! only the instances it shares with its parent; the instances it creates
//! are its own (their code runs on it, with its stack limit). The compiler
//! lets a thread import only memories and globals from instances of
//! another thread, so no code of another thread's instance runs on it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use smelt_abi::program::{ModuleDesc, ProgramDesc};
use smelt_abi::script::{self, Command, ImportCheck, Outcome, RefKind};
use smelt_abi::vm::ValRaw;

use crate::component::{HostTable, Runtime};
use crate::instance::{self, CallError, Instance};
use crate::threads::{self, ThreadHandle};

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
    let mut context = Context {
        modules,
        component,
        instances: Vec::new(),
        threads: HashMap::new(),
    };
    // SAFETY: the compiler built the script against these modules.
    if unsafe { context.run(&commands, 0) } {
        0
    } else {
        2
    }
}

/// What the commands of one thread (the main one too) work with.
struct Context {
    modules: &'static [ModuleDesc],
    component: Option<&'static Runtime>,
    /// Instances by slot (shared with the threads this one starts).
    instances: Vec<Option<Arc<Instance>>>,
    /// Threads started and not waited for yet.
    threads: HashMap<u32, ThreadHandle<bool>>,
}

/// A new thread's context, moved to it.
struct ThreadStart {
    context: Context,
    commands: Vec<Command>,
    first: usize,
}

// SAFETY: the module descriptors are immutable program data; of the shared
// instances, the thread only reads exports (memories and globals are what
// it may import from them, see the module docs), and shared memories are
// made for concurrent use.
unsafe impl Send for ThreadStart {}

impl Context {
    /// Runs `commands`, numbered from `first`, then waits for the threads
    /// they started and did not wait for. Returns false when stdout
    /// failed.
    ///
    /// # Safety
    ///
    /// See [`run`].
    unsafe fn run(&mut self, commands: &[Command], first: usize) -> bool {
        let mut index = first;
        let mut ok = true;
        for command in commands {
            let outcome = match command {
                Command::Thread {
                    thread,
                    shared,
                    commands,
                } => self.start_thread(*thread, shared, commands, index + 1),
                Command::Wait { thread } => match self.threads.remove(thread) {
                    Some(handle) => {
                        ok &= handle.join();
                        Outcome::Ok(Vec::new())
                    }
                    None => bad_script("wait for a thread that is not running"),
                },
                // SAFETY: forwarded from the caller.
                _ => unsafe {
                    run_command(command, self.modules, &mut self.instances, self.component)
                },
            };
            ok &= print_line(&outcome.line(index));
            if !ok {
                break;
            }
            index += command.count();
        }
        for (_, handle) in self.threads.drain() {
            ok &= handle.join();
        }
        ok
    }

    /// Starts thread `thread` running `commands` (numbered from `first`)
    /// with the instances of `shared`.
    fn start_thread(
        &mut self,
        thread: u32,
        shared: &[u32],
        commands: &[Command],
        first: usize,
    ) -> Outcome {
        let mut instances = vec![None; self.instances.len()];
        for &slot in shared {
            let Some(instance) = self.instances.get(slot as usize).cloned().flatten() else {
                return bad_script("a thread shares a missing instance");
            };
            instances[slot as usize] = Some(instance);
        }
        let start = ThreadStart {
            context: Context {
                modules: self.modules,
                component: None,
                instances,
                threads: HashMap::new(),
            },
            commands: commands.to_vec(),
            first,
        };
        let spawned = threads::spawn("wast thread", threads::DEFAULT_STACK_SIZE, move || {
            let mut start = start;
            // SAFETY: the compiler built the thread's commands against
            // these modules and shared instances.
            unsafe { start.context.run(&start.commands, start.first) }
        });
        match spawned {
            Ok(handle) => {
                self.threads.insert(thread, handle);
                Outcome::Ok(Vec::new())
            }
            Err(e) => Outcome::Trap(format!("cannot start a thread: {e}")),
        }
    }
}

/// Prints one outcome line and flushes it, whole even when other threads
/// print theirs; false when stdout failed.
fn print_line(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// A reference result with its [`RefKind`] in bits 64..72 (see
/// `smelt_abi::gc` for what the tag bits and object headers say).
///
/// # Safety
///
/// `v` must be a reference of the `any`, `extern` or `exn` hierarchy.
unsafe fn classified(v: ValRaw) -> ValRaw {
    use smelt_abi::gc::{HEADER_KIND_SHIFT, ObjectKind};
    let r = v as u64;
    let kind = if r == 0 {
        RefKind::Null
    } else if r & 1 != 0 {
        RefKind::I31
    } else if r & 3 == 2 {
        RefKind::Host
    } else {
        // SAFETY: any other reference is an object, which starts with its
        // header.
        let header = unsafe { *(r as *const u64) };
        match (header >> HEADER_KIND_SHIFT) as u8 {
            k if k == ObjectKind::Struct as u8 => RefKind::Struct,
            k if k == ObjectKind::Array as u8 => RefKind::Array,
            _ => RefKind::Exception,
        }
    };
    ValRaw::from(r) | (ValRaw::from(kind as u8) << 64)
}

/// The outcome of a command that trapped: an exception that no handler
/// caught is reported as such (`assert_exception`), any other trap with
/// its message.
fn trapped(trap: &crate::traps::Trap) -> Outcome {
    match trap.code {
        smelt_abi::trap::TrapCode::UncaughtException => Outcome::Exception,
        _ => Outcome::Trap(trap.message().into()),
    }
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
    instances: &mut Vec<Option<Arc<Instance>>>,
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
                    #[expect(
                        clippy::arc_with_non_send_sync,
                        reason = "a thread of the script shares the instance (ThreadStart's Send)"
                    )]
                    let new = Arc::new(new);
                    instances[slot] = Some(new);
                    Outcome::Ok(Vec::new())
                }
                Err(trap) => trapped(&trap),
            }
        }
        Command::Invoke {
            instance,
            export,
            args,
            classify,
        } => {
            let Some(target) = instances.get(*instance as usize).and_then(Option::as_ref) else {
                return bad_script("invoke on a missing instance");
            };
            // SAFETY: the compiler encoded the arguments for this export.
            match unsafe { target.call(*export, args) } {
                Ok(mut results) => {
                    for (i, v) in results.iter_mut().enumerate() {
                        if i < 64 && classify & (1 << i) != 0 {
                            // SAFETY: the compiler flagged references.
                            *v = unsafe { classified(*v) };
                        }
                    }
                    Outcome::Ok(results)
                }
                Err(CallError::Trap(trap)) => trapped(&trap),
                Err(e) => bad_script(&format!("{e:?}")),
            }
        }
        Command::Thread { .. } | Command::Wait { .. } => {
            bad_script("a thread command out of place")
        }
        Command::InstantiateComponent { ops } => {
            let Some(rt) = component else {
                return bad_script("component command without a component runtime");
            };
            // SAFETY: the compiler built the initializers for this program.
            match unsafe { rt.run(ops) } {
                Ok(()) => Outcome::Ok(Vec::new()),
                Err(trap) => trapped(&trap),
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
                Err(trap) => trapped(&trap),
            }
        }
        Command::Get {
            instance,
            export,
            classify,
        } => {
            match instances
                .get(*instance as usize)
                .and_then(Option::as_ref)
                .and_then(|i| i.global(*export))
            {
                Some(value) if *classify & 1 != 0 => {
                    // SAFETY: the compiler flagged a reference.
                    Outcome::Ok(vec![unsafe { classified(value) }])
                }
                Some(value) => Outcome::Ok(vec![value]),
                None => bad_script("get of a missing global"),
            }
        }
    }
}
