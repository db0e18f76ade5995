//! Compiling a program: a set of core modules and how to run them, into
//! one relocatable object.
//!
//! In: modules added with [`ProgramBuilder::add_module`] and an [`Entry`].
//! Out: the bytes of an ELF object that defines every compiled function,
//! the data the runtime needs, and the program descriptor
//! (`smelt_abi::program::ProgramDesc`) under `smelt_abi::PROGRAM_SYMBOL`.
//!
//! The steps:
//!
//! 1. declare every function of the object: the runtime built-ins
//!    (imported), each module's functions, array-call trampolines for its
//!    exported functions, and its instantiation function;
//! 2. translate and compile all of them in parallel (`rayon`), each
//!    function body validated as it is translated;
//! 3. define the compiled code in declaration order, so that the text
//!    section is laid out in the order of the function table;
//! 4. emit the descriptor tables (functions, trap sites, names, modules,
//!    exports) and the program descriptor ([`crate::emit`]).

use std::collections::{HashMap, HashSet};

use cranelift_codegen::FinalizedMachExceptionHandler;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, AbiParam, UserFuncName};
use cranelift_entity::{EntityRef, PrimaryMap};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{DataId, FuncId, Linkage, Module, ModuleReloc};
use cranelift_object::{ObjectBuilder, ObjectModule};
use rayon::prelude::*;
use smelt_abi::builtins::Builtin;
use smelt_abi::program::{FuncKind, HandlerSite};
use smelt_abi::trap::TrapCode;
use wasmparser::Validator;

use crate::component::flatten::{ComponentState, Flattener, FuncDef, Instantiation, ItemDef};
use crate::component::parse::StaticComponent;
use crate::core::env::{
    BuiltinIds, ModuleEnv, POINTER, builtin_signature, exit_stub_signature, wasm_signature,
};
use crate::core::forward::{self, Forward};
use crate::core::gc_types::TypeRegistry;
use crate::core::init::DataBlob;
use crate::core::module::{self, FunctionInput, ModuleInfo};
use crate::core::offsets::VMOffsets;
use crate::core::translate::{self, TranslatorContext};
use crate::core::types::*;
use crate::core::{self as core_wasm, init, trampoline};
use crate::emit;
use crate::error::{CompileError, Result};
use crate::gc_emit;
use crate::target::Target;

/// How the runtime runs the program.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Run a component: its initializers, then the adapter `entry` (its
    /// `run` export) with the host as the caller.
    Component {
        /// The initializers.
        init: Vec<smelt_abi::component::InitOp>,
        /// The entry adapter.
        entry: smelt_abi::component::TrampolineIndex,
        /// The capabilities (`smelt_abi::wasi::WasiConfig`).
        wasi: smelt_abi::wasi::WasiConfig,
    },
    /// A component built as a static library: its initializers and
    /// exported functions, called by the embedding program through the
    /// runtime's C API.
    Library {
        /// The initializers and the export adapters.
        desc: smelt_abi::component::LibraryDesc,
        /// The capabilities built in (network grants, limits); arguments,
        /// environment and directories come from the embedding program.
        wasi: smelt_abi::wasi::WasiConfig,
    },
    /// A `.wast` test executable with this encoded script
    /// (`smelt_abi::script`).
    WastScript(Vec<u8>),
    /// Run module 0 (which has no imports) and call its export with this
    /// index, if any.
    CoreCommand {
        /// Index of the export to call.
        export: Option<u32>,
        /// The resource limits (a core command has no other capability).
        limits: smelt_abi::wasi::Limits,
    },
    /// Run module 0, a WASI preview1 command, with its imports bound to
    /// the preview1 host (`crate::preview1`).
    Preview1 {
        /// Index of its `_start` export.
        start: u32,
        /// Its `memory` export, imported memory and threads, for the
        /// runtime.
        desc: smelt_abi::preview1::Preview1Desc,
        /// Its function imports, in order: each a trampoline calling a
        /// host shim.
        imports: Vec<HostImport>,
        /// The capabilities (`smelt_abi::wasi::WasiConfig`).
        wasi: smelt_abi::wasi::WasiConfig,
    },
}

/// A function import bound to a host function: a compiled trampoline of
/// the import's signature calling the shim `symbol` (the shape of every
/// trampoline, `smelt_abi::component`).
#[derive(Debug, Clone)]
pub struct HostImport {
    /// The import's core signature.
    pub signature: smelt_abi::component::CoreSignature,
    /// The canonical id of its function type.
    pub type_id: u32,
    /// The symbol of the shim it calls.
    pub symbol: String,
}

/// Collects the modules and components of a program.
pub struct ProgramBuilder<'data> {
    pub(crate) validator: Validator,
    /// The canonical types of every module added.
    pub(crate) registry: TypeRegistry,
    modules: PrimaryMap<ModuleIndex, ModuleInfo<'data>>,
    bodies: PrimaryMap<ModuleIndex, Vec<FunctionInput<'data>>>,
    pub(crate) components: Vec<StaticComponent<'data>>,
    pub(crate) component_state: ComponentState,
}

impl Default for ProgramBuilder<'_> {
    fn default() -> Self {
        ProgramBuilder {
            validator: Validator::new_with_features(core_wasm::features()),
            registry: TypeRegistry::default(),
            modules: PrimaryMap::new(),
            bodies: PrimaryMap::new(),
            components: Vec::new(),
            component_state: ComponentState::default(),
        }
    }
}

/// One compiled function, ready to be defined in the object.
pub(crate) struct CompiledFunction {
    pub id: FuncId,
    /// Whether it is a guest function or generated code.
    pub kind: FuncKind,
    /// Name shown in backtraces.
    pub display_name: String,
    pub bytes: Vec<u8>,
    pub alignment: u64,
    pub relocs: Vec<ModuleReloc>,
    /// (code offset, trap code), sorted by offset.
    pub traps: Vec<(u32, TrapCode)>,
    /// Call sites with an exception handler, sorted by return address.
    pub handlers: Vec<HandlerSite>,
    /// Call sites with references in the frame, sorted by return address.
    pub stack_maps: Vec<gc_emit::StackMap>,
    /// Code that came from inlined functions, sorted by offset.
    pub inlined: Vec<InlinedRange>,
}

/// A range of a compiled function's code that came from an inlined
/// function (see `core::inline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InlinedRange {
    /// Offset of the first byte from the function's start.
    pub start: u32,
    /// Offset of the byte after the range.
    pub end: u32,
    /// The inlined function.
    pub callee: FuncId,
}

/// What to compile, in object order.
enum Job<'data> {
    Wasm {
        module: ModuleIndex,
        def: DefinedFuncIndex,
        input: FunctionInput<'data>,
    },
    /// A wasm function translated before the others, to be inlined.
    Translated {
        module: ModuleIndex,
        def: DefinedFuncIndex,
        func: Box<ir::Function>,
    },
    Trampoline {
        module: ModuleIndex,
        func: FuncIndex,
    },
    Instantiate {
        module: ModuleIndex,
    },
    ComponentTrampoline {
        index: u32,
    },
    HostImport {
        index: usize,
    },
    ExitStub {
        builtin: Builtin,
        stub: FuncId,
        callee: FuncId,
    },
}

impl Job<'_> {
    /// A guess at the job's compile time, to start the longest first: a
    /// function body's size in bytes; generated functions are small.
    fn cost(&self) -> usize {
        match self {
            Job::Wasm { input, .. } => {
                let r = input.body.range();
                (r.end - r.start) as usize
            }
            _ => 64,
        }
    }
}

/// The object-level ids of one module's functions and data.
pub(crate) struct ModuleIds {
    pub funcs: PrimaryMap<DefinedFuncIndex, FuncId>,
    pub trampolines: HashMap<FuncIndex, FuncId>,
    pub instantiate: FuncId,
    pub data: Option<DataBlob>,
}

impl<'data> ProgramBuilder<'data> {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses and validates a core module and adds it to the program.
    pub fn add_module(&mut self, bytes: &'data [u8]) -> Result<ModuleIndex> {
        let (info, bodies) = module::parse(&mut self.validator, bytes)?;
        Ok(self.push_module(info, bodies))
    }

    /// The canonical types of the modules added so far.
    pub fn registry(&self) -> &TypeRegistry {
        &self.registry
    }

    /// A module added before.
    pub fn module(&self, m: ModuleIndex) -> &ModuleInfo<'data> {
        &self.modules[m]
    }

    /// Adds a parsed module (from a component).
    pub(crate) fn push_module(
        &mut self,
        info: ModuleInfo<'data>,
        bodies: Vec<FunctionInput<'data>>,
    ) -> ModuleIndex {
        for (id, sub) in &info.canonical_types {
            self.registry.add(*id, sub);
        }
        self.bodies.push(bodies);
        self.modules.push(info)
    }

    /// Parses and validates a component; returns its index for
    /// [`ProgramBuilder::instantiate_component`].
    pub fn add_component(&mut self, bytes: &'data [u8]) -> Result<usize> {
        crate::component::parse::parse(self, bytes)
    }

    /// Instantiates component `root` (at compile time) with `args` bound to
    /// its imports. On error the program is left as it was: no instance,
    /// resource type or trampoline of the failed instantiation remains.
    pub fn instantiate_component(
        &mut self,
        root: usize,
        args: HashMap<String, ItemDef>,
    ) -> Result<Instantiation> {
        let before = self.component_state.counts();
        let result = Flattener::new(&self.modules, &self.components, &mut self.component_state)
            .instantiate_root(root, args);
        if result.is_err() {
            self.component_state.restore(before);
        }
        result
    }

    /// Creates the adapter through which the host calls `func`; returns the
    /// trampoline, its function type and the initializers that create it.
    ///
    /// # Errors
    ///
    /// When `func` is a host function.
    pub fn host_entry(
        &mut self,
        func: &FuncDef,
        async_lower: bool,
    ) -> Result<(
        smelt_abi::component::TrampolineIndex,
        smelt_abi::component::FuncTypeIndex,
        Vec<smelt_abi::component::InitOp>,
    )> {
        let mut f = Flattener::new(&self.modules, &self.components, &mut self.component_state);
        let (trampoline, ty) = f.host_entry(func, async_lower)?;
        Ok((trampoline, ty, f.take_ops()))
    }

    /// Instantiates component `root` (at compile time) with its imports
    /// bound to the WASI host.
    ///
    /// # Errors
    ///
    /// An import the host does not provide, or any error of
    /// [`ProgramBuilder::instantiate_component`].
    pub fn instantiate_with_host(&mut self, root: usize) -> Result<Instantiation> {
        Flattener::new(&self.modules, &self.components, &mut self.component_state)
            .with_host()
            .instantiate_root(root, HashMap::new())
    }

    /// As [`ProgramBuilder::instantiate_with_host`], with the root's
    /// imports that are not WASI interfaces bound to native functions of
    /// the user's (`Flattener::with_native_imports`): a component library,
    /// or an executable linked with the user's objects.
    pub fn instantiate_with_native_imports(&mut self, root: usize) -> Result<Instantiation> {
        Flattener::new(&self.modules, &self.components, &mut self.component_state)
            .with_host()
            .with_native_imports()
            .instantiate_root(root, HashMap::new())
    }

    /// The program's component types and trampolines.
    pub fn component_state(&self) -> &ComponentState {
        &self.component_state
    }

    /// Compiles the program for `target`; returns the object's bytes.
    pub fn compile(self, target: &Target, entry: Entry) -> Result<Vec<u8>> {
        let ProgramBuilder {
            modules,
            bodies,
            component_state,
            registry,
            ..
        } = self;
        if !target.has_simd()
            && let Some(offset) = modules.values().find_map(|info| info.first_v128)
        {
            return Err(CompileError::unsupported(
                format!("v128 values ({})", crate::core::translate::NO_SIMD_HERE),
                offset,
            ));
        }
        let isa = target.isa();
        let object = ObjectBuilder::new(
            isa.clone(),
            "smelt",
            cranelift_module::default_libcall_names(),
        )
        .map_err(|e| CompileError::Object(e.to_string()))?;
        let mut obj = ObjectModule::new(object);
        let system_call_conv = isa.default_call_conv();
        let obj_err = |e: cranelift_module::ModuleError| CompileError::Object(e.to_string());

        // 1. Declarations. Generated code calls a built-in that takes an
        //    exit frame through its exit stub.
        let mut builtins = BuiltinIds::new();
        let mut symbols = SymbolNames::new();
        let mut stub_jobs = Vec::new();
        for &b in Builtin::ALL {
            let sig = builtin_signature(system_call_conv, b);
            let id = obj
                .declare_function(&b.symbol(), Linkage::Import, &sig)
                .map_err(obj_err)?;
            if b.takes_exit_frame() {
                let name = symbols.unique(None, || format!("smelt_exit::{}", b.name()));
                let stub = obj
                    .declare_function(&name, Linkage::Local, &exit_stub_signature(b))
                    .map_err(obj_err)?;
                builtins.insert(b, stub);
                stub_jobs.push(Job::ExitStub {
                    builtin: b,
                    stub,
                    callee: id,
                });
            } else {
                builtins.insert(b, id);
            }
        }
        let mut ids: PrimaryMap<ModuleIndex, ModuleIds> = PrimaryMap::new();
        let mut array_sig = ir::Signature::new(system_call_conv);
        array_sig.params.push(AbiParam::new(POINTER));
        array_sig.params.push(AbiParam::new(POINTER));
        for (m, info) in modules.iter() {
            let mut funcs = PrimaryMap::new();
            for (f, _) in info.funcs.iter().skip(info.num_imported_funcs) {
                let name = symbols.unique(info.func_name(f), || {
                    format!("wasm[{}]::function[{}]", m.index(), f.index())
                });
                let sig = wasm_signature(info.func_type(f));
                funcs.push(
                    obj.declare_function(&name, Linkage::Local, &sig)
                        .map_err(obj_err)?,
                );
            }
            let mut trampolines = HashMap::new();
            for export in &info.exports {
                if let EntityIndex::Func(f) = export.index {
                    if trampolines.contains_key(&f) {
                        continue;
                    }
                    let name = symbols.unique(None, || {
                        format!("wasm[{}]::array_call[{}]", m.index(), f.index())
                    });
                    let id = obj
                        .declare_function(&name, Linkage::Local, &array_sig)
                        .map_err(obj_err)?;
                    trampolines.insert(f, id);
                }
            }
            let name = symbols.unique(None, || format!("wasm[{}]::instantiate", m.index()));
            let instantiate = obj
                .declare_function(&name, Linkage::Local, &array_sig)
                .map_err(obj_err)?;
            let data = if info.data.is_empty() {
                None
            } else {
                let name = format!("wasm[{}]::data", m.index());
                let id = obj
                    .declare_data(&name, Linkage::Local, false, false)
                    .map_err(obj_err)?;
                let mut offsets = Vec::new();
                let mut at = 0u32;
                for seg in info.data.values() {
                    offsets.push(at);
                    at += seg.bytes.len() as u32;
                }
                Some(DataBlob { id, offsets })
            };
            ids.push(ModuleIds {
                funcs,
                trampolines,
                instantiate,
                data,
            });
        }

        // The type table, and each module's GC roots.
        let types_data = obj
            .declare_data("smelt::types", Linkage::Local, false, false)
            .map_err(obj_err)?;
        let offsets: PrimaryMap<ModuleIndex, VMOffsets> =
            modules.values().map(VMOffsets::new).collect();
        let mut gc_roots = HashMap::new();
        for (m, info) in modules.iter() {
            if let Some(roots) = gc_emit::gc_roots(info, &offsets[m], &registry) {
                let name = format!("wasm[{}]::gc_roots", m.index());
                let id = obj
                    .declare_data(&name, Linkage::Local, false, false)
                    .map_err(obj_err)?;
                gc_roots.insert(m, (id, roots));
            }
        }
        let stack_maps = modules
            .values()
            .any(|info| info.types.values().any(|t| t.is_gc) || !info.tags.is_empty());

        let mut trampoline_ids = Vec::new();
        for (t, def) in component_state.trampolines.iter().enumerate() {
            trampoline_ids.push(match &def.signature {
                Some(sig) => {
                    let name = symbols.unique(None, || format!("wasm-component::trampoline[{t}]"));
                    Some(
                        obj.declare_function(
                            &name,
                            Linkage::Local,
                            &crate::component::trampoline::signature(sig),
                        )
                        .map_err(obj_err)?,
                    )
                }
                None => None,
            });
        }

        let host_imports: &[HostImport] = match &entry {
            Entry::Preview1 { imports, .. } => imports,
            _ => &[],
        };
        let mut host_import_ids = Vec::with_capacity(host_imports.len());
        for (i, import) in host_imports.iter().enumerate() {
            let name = symbols.unique(None, || format!("wasm-host-import[{i}]"));
            host_import_ids.push(
                obj.declare_function(
                    &name,
                    Linkage::Local,
                    &crate::component::trampoline::signature(&import.signature),
                )
                .map_err(obj_err)?,
            );
        }

        // Which functions check for an interruption on entry (a first
        // pass over every body, in parallel).
        let checks = translate::interrupt::checks_enabled();
        let entry_checks: PrimaryMap<
            ModuleIndex,
            Option<PrimaryMap<DefinedFuncIndex, translate::interrupt::EntryCheck>>,
        > = bodies
            .iter()
            .map(|(m, module_bodies)| {
                checks.then(|| {
                    let calls: Vec<bool> = module_bodies
                        .par_iter()
                        .map(|input| translate::interrupt::has_calls(&input.body))
                        .collect();
                    translate::interrupt::entry_checks(&modules[m], calls)
                })
            })
            .collect();
        // Forwarding functions, whose direct calls go to the end of their
        // chain (see `core::forward`).
        let mut forwards: PrimaryMap<ModuleIndex, HashMap<FuncIndex, Forward>> = bodies
            .iter()
            .map(|(m, module_bodies)| forward::forwarders(&modules[m], module_bodies))
            .collect();
        let envs: PrimaryMap<ModuleIndex, ModuleEnv<'_>> = modules
            .iter()
            .map(|(m, info)| ModuleEnv {
                info,
                offsets: offsets[m].clone(),
                func_ids: ids[m].funcs.clone(),
                builtins: &builtins,
                system_call_conv,
                frontend_config: isa.frontend_config(),
                simd: target.has_simd(),
                subword_cas_loop: matches!(
                    target.triple().architecture,
                    target_lexicon::Architecture::Riscv64(_)
                ),
                registry: &registry,
                types_data,
                stack_maps,
                entry_checks: entry_checks[m].clone(),
                forwards: std::mem::take(&mut forwards[m]),
            })
            .collect();
        let roots_ids: HashMap<ModuleIndex, DataId> =
            gc_roots.iter().map(|(&m, (id, _))| (m, *id)).collect();

        // 2. Parallel translation and compilation; the results in object
        //    order.
        let mut jobs = Vec::new();
        for (m, module_bodies) in bodies.into_iter() {
            for (i, input) in module_bodies.into_iter().enumerate() {
                jobs.push(Job::Wasm {
                    module: m,
                    def: DefinedFuncIndex::new(i),
                    input,
                });
            }
            let mut trampolines: Vec<_> = ids[m].trampolines.keys().copied().collect();
            trampolines.sort();
            for func in trampolines {
                jobs.push(Job::Trampoline { module: m, func });
            }
            jobs.push(Job::Instantiate { module: m });
        }
        for (t, id) in trampoline_ids.iter().enumerate() {
            if id.is_some() {
                jobs.push(Job::ComponentTrampoline { index: t as u32 });
            }
        }
        for index in 0..host_imports.len() {
            jobs.push(Job::HostImport { index });
        }
        jobs.extend(stub_jobs);
        // Small leaf functions are translated first, so that their direct
        // callers can inline them (see `core::inline`).
        let inline = core_wasm::inline::enabled();
        let jobs = jobs
            .into_par_iter()
            .with_max_len(1)
            .map_init(TranslatorContext::default, |tctx, job| match job {
                Job::Wasm { module, def, input }
                    if inline && core_wasm::inline::candidate(&input) =>
                {
                    let func = translate::translate_function(&envs[module], def, input, tctx)?;
                    Ok(Job::Translated {
                        module,
                        def,
                        func: Box::new(func),
                    })
                }
                job => Ok(job),
            })
            .collect::<Result<Vec<_>>>()?;
        let inline_bodies: HashMap<FuncId, ir::Function> = jobs
            .iter()
            .filter_map(|job| match job {
                Job::Translated { module, def, func } if core_wasm::inline::small_enough(func) => {
                    Some((ids[*module].funcs[*def], (**func).clone()))
                }
                _ => None,
            })
            .collect();
        // Longest first, so that no thread is left compiling one large
        // function after the others have finished (1 ms of sha256's 31).
        let mut jobs: Vec<(usize, Job<'_>)> = jobs.into_iter().enumerate().collect();
        jobs.sort_by_key(|(_, job)| std::cmp::Reverse(job.cost()));
        let mut compiled = jobs
            .into_par_iter()
            .with_max_len(1)
            .map_init(
                || (TranslatorContext::default(), FunctionBuilderContext::new()),
                |(tctx, fctx), (at, job)| {
                    compile_job(
                        target,
                        &envs,
                        (&ids, &roots_ids),
                        (&component_state, &trampoline_ids),
                        (host_imports, &host_import_ids),
                        &inline_bodies,
                        job,
                        tctx,
                        fctx,
                    )
                    .map(|f| (at, f))
                },
            )
            .collect::<Result<Vec<_>>>()?;
        compiled.sort_unstable_by_key(|(at, _)| *at);
        let compiled: Vec<CompiledFunction> = compiled.into_iter().map(|(_, f)| f).collect();

        // 3. Code, in order.
        for f in &compiled {
            obj.define_function_bytes(f.id, f.alignment, &f.bytes, &f.relocs)
                .map_err(obj_err)?;
        }

        // 4. Data and descriptors.
        for (&m, (id, roots)) in &gc_roots {
            gc_emit::emit_gc_roots(&mut obj, m, *id, roots)?;
        }
        let n_types = gc_emit::emit_type_table(&mut obj, types_data, &registry)?;
        emit::emit_program(
            &mut obj,
            &modules,
            &envs,
            &ids,
            &compiled,
            &entry,
            (&component_state, &trampoline_ids),
            &host_import_ids,
            (types_data, n_types),
        )?;
        obj.finish()
            .emit()
            .map_err(|e| CompileError::Object(e.to_string()))
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "what every job of a compile shares, then the job and its thread's contexts"
)]
fn compile_job(
    target: &Target,
    envs: &PrimaryMap<ModuleIndex, ModuleEnv<'_>>,
    (ids, roots_ids): (
        &PrimaryMap<ModuleIndex, ModuleIds>,
        &HashMap<ModuleIndex, DataId>,
    ),
    (components, trampoline_ids): (&ComponentState, &[Option<FuncId>]),
    (host_imports, host_import_ids): (&[HostImport], &[FuncId]),
    inline_bodies: &HashMap<FuncId, ir::Function>,
    job: Job<'_>,
    tctx: &mut TranslatorContext,
    fctx: &mut FunctionBuilderContext,
) -> Result<CompiledFunction> {
    // Whether the function's entry check is its prologue's stack check.
    let mut prologue_check = false;
    let (func, id, display_name, kind) = match job {
        Job::Wasm { module, def, input } => {
            let env = &envs[module];
            prologue_check = env
                .entry_checks
                .as_ref()
                .is_some_and(|c| c[def] == translate::interrupt::EntryCheck::Prologue);
            let func = translate::translate_function(env, def, input, tctx)?;
            (
                func,
                ids[module].funcs[def],
                wasm_display_name(env, def),
                FuncKind::Wasm,
            )
        }
        // A leaf, whose entry check is never its prologue's.
        Job::Translated { module, def, func } => (
            *func,
            ids[module].funcs[def],
            wasm_display_name(&envs[module], def),
            FuncKind::Wasm,
        ),
        Job::Trampoline { module, func } => {
            let id = ids[module].trampolines[&func];
            let name = UserFuncName::user(0, id.as_u32());
            let f = trampoline::build_array_call(&envs[module], func, name, fctx);
            (
                f,
                id,
                "<host-to-wasm trampoline>".to_string(),
                FuncKind::Generated,
            )
        }
        Job::Instantiate { module } => {
            let id = ids[module].instantiate;
            let name = UserFuncName::user(0, id.as_u32());
            let f = init::build(
                &envs[module],
                name,
                ids[module].data.as_ref(),
                roots_ids.get(&module).copied(),
                fctx,
            );
            (
                f,
                id,
                format!("<instantiation of module {}>", module.index()),
                FuncKind::Generated,
            )
        }
        Job::ComponentTrampoline { index } => {
            let id = trampoline_ids[index as usize].expect("compiled trampolines are declared");
            let sig = components.trampolines[index as usize]
                .signature
                .as_ref()
                .expect("compiled trampolines have signatures");
            let f = crate::component::trampoline::build(
                sig,
                UserFuncName::user(0, id.as_u32()),
                target.isa().default_call_conv(),
                target.isa().frontend_config(),
                fctx,
            );
            (
                f,
                id,
                format!("<component trampoline {index}>"),
                FuncKind::Generated,
            )
        }
        Job::HostImport { index } => {
            let id = host_import_ids[index];
            let f = crate::component::trampoline::build(
                &host_imports[index].signature,
                UserFuncName::user(0, id.as_u32()),
                target.isa().default_call_conv(),
                target.isa().frontend_config(),
                fctx,
            );
            (f, id, format!("<host import {index}>"), FuncKind::Generated)
        }
        Job::ExitStub {
            builtin,
            stub,
            callee,
        } => {
            let f = crate::core::exit::build(
                builtin,
                callee,
                UserFuncName::user(0, stub.as_u32()),
                target.isa().default_call_conv(),
                target.isa().frontend_config(),
                fctx,
            );
            (
                f,
                stub,
                format!("<exit stub of {}>", builtin.name()),
                FuncKind::Generated,
            )
        }
    };
    let codegen_error = |e: cranelift_codegen::CompileError<'_>| CompileError::Codegen {
        func: display_name.clone(),
        message: format!("{:?}", e.inner),
    };
    let mut ctx = cranelift_codegen::Context::for_function(func);
    let mut inlined_callees = Vec::new();
    if kind == FuncKind::Wasm && !inline_bodies.is_empty() {
        let mut inliner = core_wasm::inline::Inliner {
            bodies: inline_bodies,
            inlined: Vec::new(),
        };
        ctx.inline(&mut inliner)
            .map_err(|e| CompileError::Codegen {
                func: display_name.clone(),
                message: format!("inlining: {e:?}"),
            })?;
        inlined_callees = inliner.mark(&mut ctx.func);
    }
    ctx.compile(target.isa().as_ref(), &mut ControlPlane::default())
        .map_err(codegen_error)?;
    if prologue_check && translate::interrupt::entry_check_if_no_calls(&mut ctx.func) {
        let func = ctx.func.clone();
        ctx = cranelift_codegen::Context::for_function(func);
        ctx.compile(target.isa().as_ref(), &mut ControlPlane::default())
            .map_err(codegen_error)?;
    }
    let code = ctx.compiled_code().expect("just compiled");
    let relocs = code
        .buffer
        .relocs()
        .iter()
        .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
        .collect();
    let mut traps: Vec<(u32, TrapCode)> = code
        .buffer
        .traps()
        .iter()
        .map(|t| {
            let code = translate::trap_code(t.code).unwrap_or(TrapCode::UnreachableCodeReached);
            (t.offset, code)
        })
        .collect();
    traps.sort_by_key(|t| t.0);
    // Every handler is a catch-all (`Default`): the landing pad compares
    // tags itself.
    let handlers = code
        .buffer
        .call_sites()
        .filter_map(|site| {
            site.exception_handlers.iter().find_map(|h| match *h {
                FinalizedMachExceptionHandler::Default(offset) => Some(HandlerSite {
                    ret_offset: site.ret_addr,
                    handler_offset: offset,
                    frame_offset: site
                        .frame_offset
                        .expect("Cranelift records the frame offset of a try_call"),
                }),
                _ => None,
            })
        })
        .collect();
    let stack_maps = code
        .buffer
        .user_stack_maps()
        .iter()
        .map(|(ret, frame_size, map)| {
            let mut slots: Vec<u32> = map.entries().map(|(_, offset)| offset).collect();
            slots.sort_unstable();
            (*ret, *frame_size, slots)
        })
        .collect();
    // Ranges marked by `Inliner::mark`: location `k + 1` is
    // `inlined_callees[k]`; adjacent ranges of one callee are merged.
    let mut inlined: Vec<InlinedRange> = Vec::new();
    for range in code.buffer.get_srclocs_sorted() {
        let Some(&callee) = (range.loc.bits() as usize)
            .checked_sub(1)
            .and_then(|k| inlined_callees.get(k))
        else {
            continue;
        };
        match inlined.last_mut() {
            Some(last) if last.callee == callee && last.end == range.start => {
                last.end = range.end;
            }
            _ => inlined.push(InlinedRange {
                start: range.start,
                end: range.end,
                callee,
            }),
        }
    }
    Ok(CompiledFunction {
        id,
        kind,
        display_name,
        bytes: code.code_buffer().to_vec(),
        alignment: u64::from(code.buffer.alignment),
        relocs,
        traps,
        handlers,
        stack_maps,
        inlined,
    })
}

/// The name of defined function `def` in messages: its name-section name,
/// demangled, or `wasm-function[N]`.
fn wasm_display_name(env: &ModuleEnv<'_>, def: DefinedFuncIndex) -> String {
    let f = env.info.func_index(def);
    match env.info.func_name(f) {
        Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
        None => format!("wasm-function[{}]", f.index()),
    }
}

/// Hands out unique symbol names.
///
/// A function keeps its name-section name as its symbol when that name is
/// unique in the object and cannot be confused with a symbol the object
/// links against (the runtime's, libm's); otherwise the name gets a
/// `.wasm.N` suffix.
struct SymbolNames {
    used: HashSet<String>,
}

impl SymbolNames {
    fn new() -> Self {
        let libcalls = cranelift_module::default_libcall_names();
        let mut used: HashSet<String> = ir::LibCall::all_libcalls()
            .iter()
            .map(|&l| libcalls(l))
            .collect();
        used.extend(Builtin::ALL.iter().map(|b| b.symbol()));
        used.insert(smelt_abi::PROGRAM_SYMBOL.to_string());
        used.insert("main".to_string());
        SymbolNames { used }
    }

    fn unique(&mut self, wanted: Option<&str>, fallback: impl FnOnce() -> String) -> String {
        let base = match wanted {
            Some(name) if !name.is_empty() => name.replace('\0', "?"),
            _ => fallback(),
        };
        let mut name = base.clone();
        let mut n = 0;
        while !self.used.insert(name.clone()) {
            n += 1;
            name = format!("{base}.wasm.{n}");
        }
        name
    }
}
