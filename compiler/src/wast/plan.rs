//! Planning a script: which modules to compile, the commands of the test
//! executable, and what to check of each command's outcome.
//!
//! Everything that can be decided without running code is decided here
//! and recorded in the [`Report`] directly: modules that must be rejected
//! (`assert_malformed`, `assert_invalid`) are validated on their own, and
//! imports are resolved by name and type at compile time. The only link
//! check left to run time is an import's minimum size against the current
//! size of a memory or table, which growth can change.

use std::collections::HashMap;

use anyhow::{Context, Result};
use cranelift_entity::EntityRef;
use smelt_abi::component::{FuncTypeIndex, TrampolineIndex};
use smelt_abi::script::{self, Command, ImportCheck, ImportSource, Outcome};
use wasmparser::Validator;

use std::rc::Rc;

use super::Report;
use super::cvalue::{self, CVal};
use super::script::{Action, Arg, Expect, Step, StepKind};
use super::values;
use crate::component::flatten::{InstanceDef, ItemDef};
use crate::component::types::TypeInterner;
use crate::core::gc_types::{Kind, TypeRegistry};
use crate::core::module::ModuleInfo;
use crate::core::types::{EntityIndex, ModuleIndex};
use crate::error::CompileError;
use crate::program::{Entry, ProgramBuilder};
use crate::target::Target;

/// A check of one command's outcome.
#[derive(Debug)]
pub struct Check {
    /// Line of the assertion.
    pub line: usize,
    /// Index of the command.
    pub command: usize,
    /// What the outcome must be.
    pub expect: Expect,
    /// For a component call: its function type and flat arguments, to lift
    /// the result.
    pub call: Option<(FuncTypeIndex, Vec<u128>)>,
}

/// A planned script.
pub struct Planned {
    /// The compiled object of the test executable.
    pub object: Vec<u8>,
    /// The checks of the commands' outcomes.
    pub checks: Vec<Check>,
    /// The program's component types, to lift component results.
    pub types: TypeInterner,
}

impl Check {
    /// Checks an outcome against this check's expectation.
    pub fn verify(&self, outcome: &Outcome, types: &TypeInterner) -> Result<(), String> {
        let (Some((func, args)), Outcome::Component(values, memory)) = (&self.call, outcome) else {
            return self.expect.check(outcome);
        };
        let expected = match &self.expect {
            Expect::Success => return Ok(()),
            Expect::Return(patterns) => patterns,
            other => return Err(format!("the call completed (expected {other:?})")),
        };
        let ty = &types.funcs[func.index()];
        match (ty.result, &expected[..]) {
            (None, []) => Ok(()),
            (Some(r), [values::Pattern::Component(want)]) => {
                let got = cvalue::lift_result(types, r, args, values, memory)?;
                if want.matches(&got) {
                    Ok(())
                } else {
                    Err(format!("expected {want:?}, got {got:?}"))
                }
            }
            _ => Err(format!(
                "expected results {expected:?} for a function of type {ty:?}"
            )),
        }
    }
}

impl Expect {
    /// Checks a core outcome against this expectation.
    pub fn check(&self, outcome: &Outcome) -> Result<(), String> {
        match (self, outcome) {
            (Expect::Success, Outcome::Ok(_))
            | (Expect::Unlinkable, Outcome::Unlinkable(_))
            | (Expect::Exception, Outcome::Exception) => Ok(()),
            (Expect::Return(patterns), Outcome::Ok(values)) => {
                if patterns.len() != values.len() {
                    return Err(format!(
                        "expected {} results, got {}",
                        patterns.len(),
                        values.len()
                    ));
                }
                for (i, (p, &v)) in patterns.iter().zip(values).enumerate() {
                    if !values::matches(p, v)? {
                        return Err(format!("result {i}: expected {p:?}, got {v:#x}"));
                    }
                }
                Ok(())
            }
            (Expect::Trap(expected), Outcome::Trap(actual)) => {
                // Scripts give messages with or without `wasm trap: `, and
                // the reference interpreter's may add detail (`uninitialized
                // element 2`) to the specification's wording.
                // The Component Model scripts word core traps as wasmtime
                // does.
                let bare = |m: &str| {
                    let m = m.strip_prefix("wasm trap: ").unwrap_or(m);
                    match m {
                        "wasm `unreachable` instruction executed" => "unreachable",
                        m => m,
                    }
                    .to_string()
                };
                let (e, a) = (bare(expected), bare(actual));
                if a.contains(e.as_str()) || e.starts_with(a.as_str()) {
                    Ok(())
                } else {
                    Err(format!("expected trap `{expected}`, got trap `{actual}`"))
                }
            }
            (expect, Outcome::Trap(actual)) => {
                Err(format!("unexpected trap `{actual}` (expected {expect:?})"))
            }
            (expect, Outcome::Exception) => Err(format!(
                "threw an exception no handler caught (expected {expect:?})"
            )),
            (expect, Outcome::Unlinkable(why)) => {
                Err(format!("failed to link: {why} (expected {expect:?})"))
            }
            (expect, Outcome::Ok(values)) => {
                Err(format!("completed with {values:x?} (expected {expect:?})"))
            }
            (expect, Outcome::Component(values, _)) => Err(format!(
                "a component call completed with {values:x?} (expected {expect:?})"
            )),
        }
    }
}

/// Resolved imports: the script's sources, and each import's (slot,
/// export index).
type ResolvedImports = (Vec<ImportSource>, Vec<(usize, u32)>);

/// A core instance slot of the test executable.
struct CoreSlot {
    module: ModuleIndex,
    /// Where each of its imports came from: (slot, export index).
    imports: Vec<(usize, u32)>,
    /// The script thread that made it (0: the main one); its code runs
    /// only there.
    thread: u32,
}

/// Why an instantiation's imports cannot be resolved.
enum LinkError {
    /// As the specification says: the script may expect it.
    Unlinkable(String),
    /// Something smelt does not do.
    Unsupported(String),
}

/// A component instance of the script.
struct ComponentSlot {
    instance: Rc<InstanceDef>,
    /// The host entries made for its exports: (adapter, function type).
    entries: HashMap<String, (TrampolineIndex, FuncTypeIndex)>,
}

/// An instance of the script.
enum Slot {
    Core(CoreSlot),
    Component(ComponentSlot),
}

/// A module or component definition of the script.
#[derive(Debug, Clone, Copy)]
enum Definition {
    Module(ModuleIndex),
    Component(usize),
}

struct Planner<'a, 'data> {
    program: ProgramBuilder<'data>,
    /// What `assert_invalid` judges modules by.
    rejection_features: wasmparser::WasmFeatures,
    report: &'a mut Report,
    slots: Vec<Slot>,
    named_slots: HashMap<String, usize>,
    last_slot: Option<usize>,
    registered: HashMap<String, usize>,
    definitions: HashMap<String, Definition>,
    last_definition: Option<Definition>,
    /// The commands of the thread being planned.
    commands: Vec<Command>,
    /// Commands so far, of every thread (the number of the next one).
    command_count: usize,
    checks: Vec<Check>,
    /// The script thread being planned (0: the main one).
    thread: u32,
    /// Script threads by name.
    threads: HashMap<String, u32>,
    /// Script threads planned so far (each one's number is the count then).
    thread_count: u32,
    /// The `spectest` module, which each thread instantiates for itself.
    spectest: ModuleIndex,
}

/// What a script thread does not inherit from the one that starts it.
struct Scope {
    registered: HashMap<String, usize>,
    named_slots: HashMap<String, usize>,
    last_slot: Option<usize>,
    definitions: HashMap<String, Definition>,
    last_definition: Option<Definition>,
    commands: Vec<Command>,
    thread: u32,
}

impl<'data> Planner<'_, 'data> {
    /// Adds a command to the current thread's list.
    fn emit(&mut self, command: Command) {
        self.command_count += 1;
        self.commands.push(command);
    }

    /// Takes the current thread's scope, leaving an empty one for `thread`.
    fn enter_thread(&mut self, thread: u32) -> Scope {
        Scope {
            registered: std::mem::take(&mut self.registered),
            named_slots: std::mem::take(&mut self.named_slots),
            last_slot: self.last_slot.take(),
            definitions: std::mem::take(&mut self.definitions),
            last_definition: self.last_definition.take(),
            commands: std::mem::take(&mut self.commands),
            thread: std::mem::replace(&mut self.thread, thread),
        }
    }

    /// Restores `scope`; returns the commands of the thread left.
    fn leave_thread(&mut self, scope: Scope) -> Vec<Command> {
        self.registered = scope.registered;
        self.named_slots = scope.named_slots;
        self.last_slot = scope.last_slot;
        self.definitions = scope.definitions;
        self.last_definition = scope.last_definition;
        self.thread = scope.thread;
        std::mem::replace(&mut self.commands, scope.commands)
    }

    /// Plans `(thread $name (shared (module $shared)) steps...)`: the
    /// thread starts with only the instance and module definition named
    /// `shared` and its own `spectest`.
    fn plan_thread(
        &mut self,
        line: usize,
        name: &str,
        shared: &Option<String>,
        steps: &'data [Step],
    ) {
        let index = self.command_count;
        self.command_count += 1;
        self.thread_count += 1;
        let id = self.thread_count;
        let scope = self.enter_thread(id);
        let mut shared_slots = Vec::new();
        if let Some(shared) = shared {
            let slot = scope.named_slots.get(shared).copied();
            let definition = scope.definitions.get(shared).copied();
            if slot.is_none() && definition.is_none() {
                self.fail(
                    line,
                    format!("the thread shares `{shared}`, which is not defined"),
                );
            }
            if let Some(slot) = slot {
                self.named_slots.insert(shared.clone(), slot);
                shared_slots.push(slot as u32);
            }
            if let Some(d) = definition {
                self.definitions.insert(shared.clone(), d);
            }
        }
        if let Some(slot) = self.instantiate(line, self.spectest, Expect::Success) {
            self.registered.insert("spectest".to_string(), slot);
        }
        for step in steps {
            self.step(step);
        }
        let commands = self.leave_thread(scope);
        self.commands.push(Command::Thread {
            thread: id,
            shared: shared_slots,
            commands,
        });
        self.checks.push(Check {
            line,
            command: index,
            expect: Expect::Success,
            call: None,
        });
        self.threads.insert(name.to_string(), id);
    }

    /// Whether `slot`'s code runs on another script thread than the one
    /// being planned.
    fn of_another_thread(&self, slot: usize) -> bool {
        match &self.slots[slot] {
            Slot::Core(c) => c.thread != self.thread,
            Slot::Component(_) => self.thread != 0,
        }
    }
    fn fail(&mut self, line: usize, message: impl Into<String>) {
        self.report.check(line, Err(message.into()));
    }

    fn add_module(
        &mut self,
        line: usize,
        bytes: &'data super::script::ModuleBytes,
    ) -> Option<ModuleIndex> {
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                self.fail(line, format!("the module does not parse: {e}"));
                return None;
            }
        };
        match self.program.add_module(bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                self.fail(line, format!("the module does not compile: {e}"));
                None
            }
        }
    }

    fn slot_named(&self, name: &Option<String>) -> Option<usize> {
        match name {
            Some(n) => self.named_slots.get(n).copied(),
            None => self.last_slot,
        }
    }

    fn core(&self, slot: usize) -> &CoreSlot {
        match &self.slots[slot] {
            Slot::Core(c) => c,
            Slot::Component(_) => unreachable!("a core instance slot"),
        }
    }

    fn info(&self, slot: usize) -> &ModuleInfo<'data> {
        self.program.module(self.core(slot).module)
    }

    fn check(&mut self, line: usize, expect: Expect, call: Option<(FuncTypeIndex, Vec<u128>)>) {
        self.checks.push(Check {
            line,
            command: self.command_count - 1,
            expect,
            call,
        });
    }

    fn export_index(&self, slot: usize, name: &str) -> Option<(u32, EntityIndex)> {
        self.info(slot)
            .exports
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == name)
            .map(|(i, e)| (i as u32, e.index))
    }

    /// Follows re-exported imports to the instance that defines an entity;
    /// returns that slot and the entity's index in its module.
    fn origin(&self, mut slot: usize, mut entity: EntityIndex) -> (usize, EntityIndex) {
        loop {
            let info = self.info(slot);
            let Some(i) = info.imports.iter().position(|im| im.index == entity) else {
                return (slot, entity);
            };
            let (from_slot, export) = self.core(slot).imports[i];
            slot = from_slot;
            entity = self.info(slot).exports[export as usize].index;
        }
    }

    /// Resolves the imports of module `m` against registered instances.
    fn resolve_imports(&self, m: ModuleIndex) -> Result<ResolvedImports, LinkError> {
        let resolved = self
            .resolve_imports_here(m)
            .map_err(LinkError::Unlinkable)?;
        // Instances are per thread: another thread's code must not run
        // here, so only what no code reaches crosses threads.
        let info = self.program.module(m);
        for (import, &(slot, export)) in info.imports.iter().zip(&resolved.1) {
            let (oslot, oentity) =
                self.origin(slot, self.info(slot).exports[export as usize].index);
            if !self.of_another_thread(oslot) {
                continue;
            }
            let exporter = self.info(oslot);
            let crosses = match oentity {
                EntityIndex::Memory(em) => exporter.memories[em].shared,
                EntityIndex::Global(eg) => !exporter.globals[eg].ty.mutable,
                _ => false,
            };
            if !crosses {
                return Err(LinkError::Unsupported(format!(
                    "`{}::{}` comes from an instance of another thread: only shared memories and \
                     immutable globals cross threads (instances are per thread)",
                    import.module, import.name
                )));
            }
        }
        Ok(resolved)
    }

    /// Resolves the imports of module `m` by name and type.
    fn resolve_imports_here(&self, m: ModuleIndex) -> Result<ResolvedImports, String> {
        let info = self.program.module(m);
        let registry = self.program.registry();
        let mut sources = Vec::new();
        let mut origins = Vec::new();
        for import in &info.imports {
            let what = format!("`{}::{}`", import.module, import.name);
            let slot = *self.registered.get(&import.module).ok_or_else(|| {
                format!(
                    "unknown import {what}: no module registered as `{}`",
                    import.module
                )
            })?;
            if let Slot::Component(_) = self.slots[slot] {
                return Err(format!(
                    "unknown import {what}: `{}` is a component",
                    import.module
                ));
            }
            let (export, exported) = self
                .export_index(slot, &import.name)
                .ok_or_else(|| format!("unknown import {what}"))?;
            let (oslot, oentity) = self.origin(slot, exported);
            let exporter = self.info(oslot);
            let incompatible = || format!("incompatible import type for {what}");
            let check = match (import.index, oentity) {
                (EntityIndex::Func(f), EntityIndex::Func(ef)) => {
                    // A function of a subtype of the imported type fits.
                    if !registry.is_subtype(exporter.func_type_id(ef), info.func_type_id(f)) {
                        return Err(incompatible());
                    }
                    ImportCheck::None
                }
                (EntityIndex::Table(t), EntityIndex::Table(et)) => {
                    let (want, have) = (&info.tables[t].ty, &exporter.tables[et].ty);
                    let elem = wasmparser::ValType::Ref;
                    if !valtype_eq(
                        registry,
                        info,
                        elem(want.element_type),
                        exporter,
                        elem(have.element_type),
                    ) || want.table64 != have.table64
                        || !max_fits(want.maximum, have.maximum)
                    {
                        return Err(incompatible());
                    }
                    ImportCheck::TableMinElements(want.initial)
                }
                (EntityIndex::Memory(mi), EntityIndex::Memory(em)) => {
                    let (want, have) = (&info.memories[mi], &exporter.memories[em]);
                    if want.memory64 != have.memory64
                        || want.shared != have.shared
                        || !max_fits(want.maximum, have.maximum)
                    {
                        return Err(incompatible());
                    }
                    ImportCheck::MemoryMinPages(want.initial)
                }
                (EntityIndex::Global(g), EntityIndex::Global(eg)) => {
                    let (want, have) = (&info.globals[g].ty, &exporter.globals[eg].ty);
                    // Mutable globals are invariant, immutable ones
                    // covariant.
                    let fits = if want.mutable {
                        have.mutable
                            && valtype_eq(
                                registry,
                                info,
                                want.content_type,
                                exporter,
                                have.content_type,
                            )
                    } else {
                        !have.mutable
                            && valtype_sub(
                                registry,
                                exporter,
                                have.content_type,
                                info,
                                want.content_type,
                            )
                    };
                    if !fits {
                        return Err(incompatible());
                    }
                    ImportCheck::None
                }
                (EntityIndex::Tag(t), EntityIndex::Tag(et)) => {
                    let (want, have) = (info.tags[t], exporter.tags[et]);
                    if info.types[want].type_id != exporter.types[have].type_id {
                        return Err(incompatible());
                    }
                    ImportCheck::None
                }
                _ => return Err(incompatible()),
            };
            sources.push(ImportSource {
                instance: slot as u32,
                export,
                check,
            });
            origins.push((slot, export));
        }
        Ok((sources, origins))
    }

    /// Instantiates module `m` into a new slot, checking `expect`; returns
    /// the slot when the instantiation command was emitted.
    fn instantiate(&mut self, line: usize, m: ModuleIndex, expect: Expect) -> Option<usize> {
        let (imports, origins) = match self.resolve_imports(m) {
            Ok(r) => r,
            Err(why) => {
                let result = match (expect, why) {
                    (Expect::Unlinkable, LinkError::Unlinkable(_)) => Ok(()),
                    (_, LinkError::Unlinkable(why)) => Err(format!("cannot link: {why}")),
                    (_, LinkError::Unsupported(why)) => Err(format!("unsupported: {why}")),
                };
                self.report.check(line, result);
                return None;
            }
        };
        let slot = self.slots.len();
        self.slots.push(Slot::Core(CoreSlot {
            module: m,
            imports: origins,
            thread: self.thread,
        }));
        self.emit(Command::Instantiate {
            module: m.index() as u32,
            instance: slot as u32,
            imports,
        });
        self.check(line, expect, None);
        Some(slot)
    }

    fn add_component(
        &mut self,
        line: usize,
        bytes: &'data super::script::ModuleBytes,
    ) -> Option<usize> {
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                self.fail(line, format!("the component does not parse: {e}"));
                return None;
            }
        };
        match self.program.add_component(bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                self.fail(line, format!("the component does not compile: {e}"));
                None
            }
        }
    }

    /// Instantiates component `c` into a new slot, checking `expect`.
    fn instantiate_component(&mut self, line: usize, c: usize, expect: Expect) -> Option<usize> {
        if self.thread != 0 {
            self.fail(line, "unsupported: components in script threads");
            return None;
        }
        let instantiation = match self.program.instantiate_component(c, HashMap::new()) {
            Ok(i) => i,
            Err(e) => {
                let result = match (&expect, &e) {
                    (Expect::Unlinkable, CompileError::Link { .. }) => Ok(()),
                    _ => Err(format!("the component cannot be instantiated: {e}")),
                };
                self.report.check(line, result);
                return None;
            }
        };
        self.emit(Command::InstantiateComponent {
            ops: instantiation.ops,
        });
        self.check(line, expect, None);
        let slot = self.slots.len();
        self.slots.push(Slot::Component(ComponentSlot {
            instance: instantiation.instance,
            entries: HashMap::new(),
        }));
        Some(slot)
    }

    fn instantiate_definition(
        &mut self,
        line: usize,
        d: Definition,
        expect: Expect,
    ) -> Option<usize> {
        match d {
            Definition::Module(m) => self.instantiate(line, m, expect),
            Definition::Component(c) => self.instantiate_component(line, c, expect),
        }
    }

    /// A call of export `export` of component slot `slot`.
    fn component_action(&mut self, line: usize, slot: usize, action: &Action, expect: &Expect) {
        let Action::Invoke { export, args, .. } = action else {
            self.fail(line, "`get` on a component instance");
            return;
        };
        let args: Vec<CVal> = match args {
            Ok(args) => match args
                .iter()
                .map(|a| match a {
                    Arg::Component(v) => Ok(v.clone()),
                    Arg::Core(_) => Err(()),
                })
                .collect::<Result<_, _>>()
            {
                Ok(a) => a,
                Err(()) => {
                    self.fail(line, "a core argument to a component function");
                    return;
                }
            },
            Err(e) => {
                self.fail(line, format!("unsupported argument: {e}"));
                return;
            }
        };
        let Slot::Component(c) = &self.slots[slot] else {
            unreachable!("a component slot");
        };
        let entry = match c.entries.get(export) {
            Some(&e) => e,
            None => {
                let Some(ItemDef::Func(f)) = c.instance.get(export).cloned() else {
                    self.fail(
                        line,
                        format!("the instance has no function export `{export}`"),
                    );
                    return;
                };
                let (trampoline, ty, ops) = match self.program.host_entry(&f, false) {
                    Ok(e) => e,
                    Err(e) => {
                        self.fail(line, format!("cannot call `{export}`: {e}"));
                        return;
                    }
                };
                self.emit(Command::InstantiateComponent { ops });
                self.check(line, Expect::Success, None);
                if let Slot::Component(c) = &mut self.slots[slot] {
                    c.entries.insert(export.clone(), (trampoline, ty));
                }
                (trampoline, ty)
            }
        };
        let (trampoline, func) = entry;
        let types = &self.program.component_state().types;
        let ty = types.funcs[func.index()].clone();
        let (flat, memory) = match cvalue::lower_call(types, &ty.params, ty.result, &args) {
            Ok(l) => l,
            Err(e) => {
                self.fail(line, format!("cannot pass the arguments: {e}"));
                return;
            }
        };
        self.emit(Command::CallComponent {
            trampoline,
            args: flat.clone(),
            memory,
        });
        self.check(line, expect.clone(), Some((func, flat)));
    }

    fn action(&mut self, line: usize, action: &Action, expect: &Expect) {
        let (instance, export) = match action {
            Action::Invoke {
                instance, export, ..
            }
            | Action::Get { instance, export } => (instance, export),
        };
        let Some(slot) = self.slot_named(instance) else {
            self.fail(line, "no such module instance");
            return;
        };
        if self.of_another_thread(slot) && matches!(action, Action::Invoke { .. }) {
            self.fail(
                line,
                "unsupported: a call into an instance of another thread (instances are per thread)",
            );
            return;
        }
        if let Slot::Component(_) = self.slots[slot] {
            return self.component_action(line, slot, action, expect);
        }
        let Some((index, entity)) = self.export_index(slot, export) else {
            self.fail(line, format!("the instance has no export `{export}`"));
            return;
        };
        let command = match (action, entity) {
            (Action::Invoke { args, .. }, EntityIndex::Func(f)) => {
                let args: Vec<u128> = match args {
                    Ok(a) => match a
                        .iter()
                        .map(|a| match a {
                            Arg::Core(v) => Ok(*v),
                            Arg::Component(_) => Err(()),
                        })
                        .collect::<Result<_, _>>()
                    {
                        Ok(a) => a,
                        Err(()) => {
                            self.fail(line, "a component argument to a core function");
                            return;
                        }
                    },
                    Err(e) => {
                        self.fail(line, format!("unsupported argument: {e}"));
                        return;
                    }
                };
                if args.len() != self.info(slot).func_type(f).params.len() {
                    self.fail(line, format!("wrong number of arguments for `{export}`"));
                    return;
                }
                let info = self.info(slot);
                let classify = info
                    .func_type(f)
                    .results
                    .iter()
                    .enumerate()
                    .filter(|&(i, &t)| i < 64 && classifiable(info, t))
                    .fold(0u64, |mask, (i, _)| mask | 1 << i);
                Command::Invoke {
                    instance: slot as u32,
                    export: index,
                    args,
                    classify,
                }
            }
            (Action::Get { .. }, EntityIndex::Global(g)) => {
                let (oslot, oentity) = self.origin(slot, EntityIndex::Global(g));
                let EntityIndex::Global(og) = oentity else {
                    unreachable!("a global's origin is a global")
                };
                let info = self.info(oslot);
                Command::Get {
                    instance: slot as u32,
                    export: index,
                    classify: u64::from(classifiable(info, info.globals[og].ty.content_type)),
                }
            }
            _ => {
                self.fail(line, format!("export `{export}` has the wrong kind"));
                return;
            }
        };
        self.emit(command);
        self.check(line, expect.clone(), None);
    }

    fn step(&mut self, step: &'data Step) {
        let line = step.line;
        match &step.kind {
            StepKind::Module {
                module,
                name,
                instantiate,
                component,
            } => {
                let definition = if *component {
                    self.add_component(line, module).map(Definition::Component)
                } else {
                    self.add_module(line, module).map(Definition::Module)
                };
                let Some(d) = definition else {
                    // Later actions on "the last instance" must not reach an
                    // older one.
                    self.last_slot = None;
                    return;
                };
                if let Some(name) = name {
                    self.definitions.insert(name.clone(), d);
                }
                self.last_definition = Some(d);
                if *instantiate {
                    self.last_slot = self.instantiate_definition(line, d, Expect::Success);
                    if let (Some(slot), Some(name)) = (self.last_slot, name) {
                        self.named_slots.insert(name.clone(), slot);
                    }
                }
            }
            StepKind::Instance { instance, module } => {
                let d = match module {
                    Some(name) => self.definitions.get(name).copied(),
                    None => self.last_definition,
                };
                let Some(d) = d else {
                    self.fail(line, "no such module definition");
                    return;
                };
                self.last_slot = self.instantiate_definition(line, d, Expect::Success);
                if let (Some(slot), Some(name)) = (self.last_slot, instance) {
                    self.named_slots.insert(name.clone(), slot);
                }
            }
            StepKind::Register { name, instance } => match self.slot_named(instance) {
                Some(slot) => {
                    self.registered.insert(name.clone(), slot);
                }
                None => self.fail(line, "register: no such module instance"),
            },
            StepKind::Action { action, expect } => self.action(line, action, expect),
            StepKind::AssertInstantiate {
                module,
                expect,
                component: false,
            } => {
                if let Some(m) = self.add_module(line, module) {
                    self.instantiate(line, m, expect.clone());
                }
            }
            StepKind::AssertInstantiate {
                module,
                expect,
                component: true,
            } => {
                if let Some(c) = self.add_component(line, module) {
                    self.instantiate_component(line, c, expect.clone());
                }
            }
            StepKind::AssertRejected { module, message } => {
                let result = match module {
                    Err(_) => Ok(()),
                    Ok(bytes) => {
                        let mut validator = Validator::new_with_features(self.rejection_features);
                        match validator.validate_all(bytes) {
                            Err(_) => Ok(()),
                            Ok(_) => Err(format!(
                                "the module is valid, but should be rejected ({message})"
                            )),
                        }
                    }
                };
                self.report.check(line, result);
            }
            StepKind::Thread {
                name,
                shared,
                steps,
            } => self.plan_thread(line, name, shared, steps),
            StepKind::Wait { thread } => match self.threads.get(thread) {
                Some(&id) => {
                    self.emit(Command::Wait { thread: id });
                    self.check(line, Expect::Success, None);
                }
                None => self.fail(line, format!("wait: no thread named `{thread}`")),
            },
            StepKind::Unsupported(what) => self.fail(line, format!("unsupported: {what}")),
        }
    }
}

/// Whether a value of type `ty` (of module `m`) is a reference the test
/// executable can classify: one of the `any`, `extern` or `exn`
/// hierarchies (a `funcref` points to no object header).
fn classifiable(m: &ModuleInfo<'_>, ty: wasmparser::ValType) -> bool {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let wasmparser::ValType::Ref(r) = ty else {
        return false;
    };
    match r.heap_type() {
        H::Abstract { ty, .. } => !matches!(ty, A::Func | A::NoFunc | A::Cont | A::NoCont),
        h => m
            .heap_type_id(h)
            .is_some_and(|id| m.types.values().any(|t| t.type_id == id && t.is_gc)),
    }
}

/// Whether reference type `a` (of module `am`) is a subtype of `b` (of
/// module `bm`): the heap types' hierarchies of the GC proposal, concrete
/// types compared by canonical id through their declared supertypes.
fn reftype_sub(
    registry: &TypeRegistry,
    am: &ModuleInfo<'_>,
    a: wasmparser::RefType,
    bm: &ModuleInfo<'_>,
    b: wasmparser::RefType,
) -> bool {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    if a.is_nullable() && !b.is_nullable() {
        return false;
    }
    let kind = |m: &ModuleInfo<'_>, h| m.heap_type_id(h).map(|id| registry.get(id).kind);
    match (a.heap_type(), b.heap_type()) {
        (H::Abstract { shared: s1, ty: x }, H::Abstract { shared: s2, ty: y }) => {
            s1 == s2
                && (x == y
                    || matches!(
                        (x, y),
                        (A::None, A::Any | A::Eq | A::Struct | A::Array | A::I31)
                            | (A::I31 | A::Struct | A::Array, A::Eq | A::Any)
                            | (A::Eq, A::Any)
                            | (A::NoFunc, A::Func)
                            | (A::NoExtern, A::Extern)
                            | (A::NoExn, A::Exn)
                            | (A::NoCont, A::Cont)
                    ))
        }
        (ha, H::Abstract { ty: y, .. }) => match kind(am, ha) {
            Some(Kind::Func) => y == A::Func,
            Some(Kind::Struct) => matches!(y, A::Struct | A::Eq | A::Any),
            Some(Kind::Array) => matches!(y, A::Array | A::Eq | A::Any),
            None => false,
        },
        (H::Abstract { ty: x, .. }, hb) => match kind(bm, hb) {
            Some(Kind::Func) => x == A::NoFunc,
            Some(Kind::Struct | Kind::Array) => x == A::None,
            None => false,
        },
        (ha, hb) => match (am.heap_type_id(ha), bm.heap_type_id(hb)) {
            (Some(x), Some(y)) => registry.is_subtype(x, y),
            _ => false,
        },
    }
}

/// Whether value type `a` of module `am` is a subtype of `b` of `bm`.
fn valtype_sub(
    registry: &TypeRegistry,
    am: &ModuleInfo<'_>,
    a: wasmparser::ValType,
    bm: &ModuleInfo<'_>,
    b: wasmparser::ValType,
) -> bool {
    match (a, b) {
        (wasmparser::ValType::Ref(x), wasmparser::ValType::Ref(y)) => {
            reftype_sub(registry, am, x, bm, y)
        }
        (x, y) => x == y,
    }
}

/// Whether value types `a` of `am` and `b` of `bm` are equal.
fn valtype_eq(
    registry: &TypeRegistry,
    am: &ModuleInfo<'_>,
    a: wasmparser::ValType,
    bm: &ModuleInfo<'_>,
    b: wasmparser::ValType,
) -> bool {
    valtype_sub(registry, am, a, bm, b) && valtype_sub(registry, bm, b, am, a)
}

/// Whether an export's maximum satisfies an import's.
fn max_fits(wanted: Option<u64>, have: Option<u64>) -> bool {
    match (wanted, have) {
        (None, _) => true,
        (Some(w), Some(h)) => h <= w,
        (Some(_), None) => false,
    }
}

/// Plans `steps` and compiles the test executable's object for `target`.
/// Decided assertions are recorded in `report`.
/// `rejection_features` are the features `assert_invalid` judges by
/// ([`super::rejection_features`]).
pub fn plan(
    steps: &[Step],
    target: &Target,
    rejection_features: wasmparser::WasmFeatures,
    report: &mut Report,
) -> Result<Planned> {
    let spectest = wat::parse_str(include_str!("spectest.wat")).context("the spectest module")?;
    let mut program = ProgramBuilder::new();
    let spectest_module = program
        .add_module(&spectest)
        .context("the spectest module")?;
    let mut planner = Planner {
        program,
        rejection_features,
        report,
        slots: Vec::new(),
        named_slots: HashMap::new(),
        last_slot: None,
        registered: HashMap::new(),
        definitions: HashMap::new(),
        last_definition: None,
        commands: Vec::new(),
        command_count: 0,
        checks: Vec::new(),
        thread: 0,
        threads: HashMap::new(),
        thread_count: 0,
        spectest: spectest_module,
    };
    let spectest_slot = planner
        .instantiate(0, spectest_module, Expect::Success)
        .expect("spectest has no imports");
    planner
        .registered
        .insert("spectest".to_string(), spectest_slot);
    for step in steps {
        planner.step(step);
    }
    let Planner {
        program,
        commands,
        checks,
        ..
    } = planner;
    let types = program.component_state().types.clone();
    let object = program.compile(target, Entry::WastScript(script::encode(&commands)))?;
    Ok(Planned {
        object,
        checks,
        types,
    })
}
