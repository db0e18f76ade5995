//! Emitting a program's data: segment bytes, the code tables the runtime
//! searches on a trap (functions, trap sites, names), the module and export
//! descriptors, and the program descriptor.
//!
//! Each structure is written at the offsets `core::mem::offset_of!` gives
//! for the `#[repr(C)]` definitions in `smelt_abi::program`, with a
//! relocation for each pointer field, so the layout cannot drift from the
//! runtime's.

use core::mem::{offset_of, size_of};
use std::collections::HashMap;

use cranelift_entity::{EntityRef, PrimaryMap};
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::ObjectModule;
use smelt_abi::component::TrampolineKind;
use smelt_abi::program::{
    ExportDesc, ExportKind, FuncInfo, HandlerSite, InlineSite, ModuleDesc, ProgramDesc,
    ProgramKind, TrampolineCode, TrapSite,
};

use crate::component::flatten::ComponentState;
use crate::core::env::ModuleEnv;
use crate::core::module::ModuleInfo;
use crate::core::offsets::Place;
use crate::core::types::*;
use crate::error::{CompileError, Result};
use crate::program::{CompiledFunction, Entry, ModuleIds};

/// Bytes of a data object under construction, with its relocations.
#[derive(Default)]
pub(crate) struct DataWriter {
    pub(crate) bytes: Vec<u8>,
    funcs: Vec<(u32, FuncId)>,
    data: Vec<(u32, DataId, i64)>,
}

impl DataWriter {
    /// Appends a zeroed element of `size` bytes; returns its offset.
    pub(crate) fn element(&mut self, size: usize) -> usize {
        let at = self.bytes.len();
        self.bytes.resize(at + size, 0);
        at
    }

    pub(crate) fn put(&mut self, at: usize, bytes: &[u8]) {
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
    }

    pub(crate) fn u32(&mut self, at: usize, v: u32) {
        self.put(at, &v.to_le_bytes());
    }

    fn u64(&mut self, at: usize, v: u64) {
        self.put(at, &v.to_le_bytes());
    }

    fn func(&mut self, at: usize, id: FuncId) {
        self.funcs.push((at as u32, id));
    }

    /// A pointer to `target`, or null.
    fn data(&mut self, at: usize, target: Option<DataId>) {
        if let Some(id) = target {
            self.data.push((at as u32, id, 0));
        }
    }

    /// A pointer to byte `offset` of `target`.
    pub(crate) fn data_at(&mut self, at: usize, target: DataId, offset: usize) {
        self.data.push((at as u32, target, offset as i64));
    }

    pub(crate) fn define(self, obj: &mut ObjectModule, id: DataId) -> Result<()> {
        let mut desc = DataDescription::new();
        desc.define(self.bytes.into_boxed_slice());
        desc.set_align(16);
        for (at, f) in self.funcs {
            let r = obj.declare_func_in_data(f, &mut desc);
            desc.write_function_addr(at, r);
        }
        for (at, d, offset) in self.data {
            let gv = obj.declare_data_in_data(d, &mut desc);
            desc.write_data_addr(at, gv, offset);
        }
        obj.define_data(id, &desc)
            .map_err(|e| CompileError::Object(e.to_string()))
    }
}

/// Declares a local read-only data object and defines it from `writer`;
/// returns `None` (a null pointer) when it would be empty.
pub(crate) fn define_local(
    obj: &mut ObjectModule,
    name: &str,
    writer: DataWriter,
) -> Result<Option<DataId>> {
    if writer.bytes.is_empty() {
        return Ok(None);
    }
    let id = obj
        .declare_data(name, Linkage::Local, false, false)
        .map_err(|e| CompileError::Object(e.to_string()))?;
    writer.define(obj, id)?;
    Ok(Some(id))
}

/// Emits everything but the code.
#[expect(
    clippy::too_many_arguments,
    reason = "the program's parts, each built by a different stage of compile"
)]
pub(crate) fn emit_program(
    obj: &mut ObjectModule,
    modules: &PrimaryMap<ModuleIndex, ModuleInfo<'_>>,
    envs: &PrimaryMap<ModuleIndex, ModuleEnv<'_>>,
    ids: &PrimaryMap<ModuleIndex, ModuleIds>,
    compiled: &[CompiledFunction],
    entry: &Entry,
    (components, trampoline_ids): (&ComponentState, &[Option<FuncId>]),
    host_import_ids: &[FuncId],
    (types, n_types): (DataId, u64),
) -> Result<()> {
    // Data segment bytes.
    for (m, info) in modules.iter() {
        if let Some(blob) = &ids[m].data {
            let mut w = DataWriter::default();
            for seg in info.data.values() {
                w.bytes.extend_from_slice(seg.bytes);
            }
            // A data object may not be empty; segments can all be.
            if w.bytes.is_empty() {
                w.bytes.push(0);
            }
            w.define(obj, blob.id)?;
        }
    }

    // Code tables.
    let mut names = DataWriter::default();
    let mut sites = DataWriter::default();
    let mut funcs = DataWriter::default();
    let mut handlers = DataWriter::default();
    let mut map_sites = DataWriter::default();
    let mut map_slots = DataWriter::default();
    let mut n_sites = 0u32;
    let mut n_handlers = 0u32;
    let mut n_maps = 0u32;
    let mut n_map_slots = 0u32;
    let mut inlines = DataWriter::default();
    let mut n_inlines = 0u32;
    let func_index: HashMap<FuncId, u32> = compiled
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id, i as u32))
        .collect();
    for f in compiled {
        let name_start = names.bytes.len() as u32;
        names.bytes.extend_from_slice(f.display_name.as_bytes());
        for &(offset, code) in &f.traps {
            let at = sites.element(size_of::<TrapSite>());
            sites.u32(at + offset_of!(TrapSite, offset), offset);
            sites.put(at + offset_of!(TrapSite, code), &[code as u8]);
        }
        let at = funcs.element(size_of::<FuncInfo>());
        funcs.func(at + offset_of!(FuncInfo, addr), f.id);
        funcs.u32(at + offset_of!(FuncInfo, len), f.bytes.len() as u32);
        funcs.u32(at + offset_of!(FuncInfo, name_start), name_start);
        funcs.u32(
            at + offset_of!(FuncInfo, name_len),
            f.display_name.len() as u32,
        );
        funcs.u32(at + offset_of!(FuncInfo, traps_start), n_sites);
        funcs.u32(at + offset_of!(FuncInfo, traps_len), f.traps.len() as u32);
        funcs.u32(at + offset_of!(FuncInfo, kind), f.kind as u32);
        n_sites += f.traps.len() as u32;
        for h in &f.handlers {
            let at = handlers.element(size_of::<HandlerSite>());
            handlers.u32(at + offset_of!(HandlerSite, ret_offset), h.ret_offset);
            handlers.u32(
                at + offset_of!(HandlerSite, handler_offset),
                h.handler_offset,
            );
            handlers.u32(at + offset_of!(HandlerSite, frame_offset), h.frame_offset);
        }
        funcs.u32(at + offset_of!(FuncInfo, handlers_start), n_handlers);
        funcs.u32(
            at + offset_of!(FuncInfo, handlers_len),
            f.handlers.len() as u32,
        );
        n_handlers += f.handlers.len() as u32;
        funcs.u32(at + offset_of!(FuncInfo, stack_maps_start), n_maps);
        funcs.u32(
            at + offset_of!(FuncInfo, stack_maps_len),
            f.stack_maps.len() as u32,
        );
        n_maps += f.stack_maps.len() as u32;
        for site in &f.inlined {
            let at = inlines.element(size_of::<InlineSite>());
            inlines.u32(at + offset_of!(InlineSite, start), site.start);
            inlines.u32(at + offset_of!(InlineSite, end), site.end);
            inlines.u32(
                at + offset_of!(InlineSite, callee),
                func_index[&site.callee],
            );
        }
        funcs.u32(at + offset_of!(FuncInfo, inlines_start), n_inlines);
        funcs.u32(
            at + offset_of!(FuncInfo, inlines_len),
            f.inlined.len() as u32,
        );
        n_inlines += f.inlined.len() as u32;
        crate::gc_emit::push_stack_maps(
            &mut map_sites,
            &mut map_slots,
            &mut n_map_slots,
            &f.stack_maps,
        );
    }
    let names_len = names.bytes.len() as u64;
    let names = define_local(obj, "smelt::names", names)?;
    let sites = define_local(obj, "smelt::trap_sites", sites)?;
    let funcs = define_local(obj, "smelt::functions", funcs)?;
    let handlers = define_local(obj, "smelt::handler_sites", handlers)?;
    let inlines = define_local(obj, "smelt::inline_sites", inlines)?;
    let map_sites = define_local(obj, "smelt::stack_map_sites", map_sites)?;
    let map_slots = define_local(obj, "smelt::stack_map_slots", map_slots)?;

    // Modules and their exports.
    let mut module_descs = DataWriter::default();
    let mut max_values = 1u32;
    for (m, info) in modules.iter() {
        let env = &envs[m];
        let mut exports = DataWriter::default();
        for export in &info.exports {
            let at = exports.element(size_of::<ExportDesc>());
            let (kind, place) = match export.index {
                EntityIndex::Func(f) => {
                    exports.func(
                        at + offset_of!(ExportDesc, array_call),
                        ids[m].trampolines[&f],
                    );
                    let ty = info.func_type(f);
                    exports.u32(at + offset_of!(ExportDesc, params), ty.params.len() as u32);
                    exports.u32(
                        at + offset_of!(ExportDesc, results),
                        ty.results.len() as u32,
                    );
                    max_values = max_values
                        .max(ty.params.len() as u32)
                        .max(ty.results.len() as u32);
                    let place = match info.defined_func(f) {
                        None => Place::Indirect(env.offsets.imported_func(f)),
                        Some(def) => Place::Inline(
                            env.offsets.funcref(def).expect("exported functions escape"),
                        ),
                    };
                    (ExportKind::Func, place)
                }
                EntityIndex::Table(t) => (ExportKind::Table, env.offsets.table(t)),
                EntityIndex::Memory(mem) => (ExportKind::Memory, env.offsets.memory(mem)),
                EntityIndex::Global(g) => (ExportKind::Global, env.offsets.global(g)),
                EntityIndex::Tag(t) => (ExportKind::Tag, env.offsets.tag(t)),
            };
            let (offset, indirect) = match place {
                Place::Inline(o) => (o, 0),
                Place::Indirect(o) => (o, 1),
            };
            exports.bytes[at + offset_of!(ExportDesc, kind)] = kind as u8;
            exports.bytes[at + offset_of!(ExportDesc, indirect)] = indirect;
            exports.u32(at + offset_of!(ExportDesc, vmctx_offset), offset);
        }
        let exports = define_local(obj, &format!("wasm[{}]::exports", m.index()), exports)?;
        let at = module_descs.element(size_of::<ModuleDesc>());
        module_descs.func(at + offset_of!(ModuleDesc, instantiate), ids[m].instantiate);
        module_descs.data(at + offset_of!(ModuleDesc, exports), exports);
        module_descs.u32(
            at + offset_of!(ModuleDesc, n_exports),
            info.exports.len() as u32,
        );
        module_descs.u32(at + offset_of!(ModuleDesc, vmctx_size), env.offsets.size());
    }
    let n_modules = modules.len() as u64;
    let module_descs = define_local(obj, "smelt::modules", module_descs)?;

    // The component descriptor and trampolines.
    let (component_bytes, trampolines_table) =
        if components.trampolines.is_empty() && components.component_instances == 0 {
            (Vec::new(), None)
        } else {
            let desc = smelt_abi::component::ComponentDesc {
                types: components.types.table.clone(),
                funcs: components.types.funcs.clone(),
                trampolines: components
                    .trampolines
                    .iter()
                    .map(|t| t.kind.clone())
                    .collect(),
            };
            let mut table = DataWriter::default();
            for (t, def) in components.trampolines.iter().enumerate() {
                let at = table.element(size_of::<TrampolineCode>());
                if let Some(id) = trampoline_ids[t] {
                    table.func(at + offset_of!(TrampolineCode, code), id);
                }
                table.u32(at + offset_of!(TrampolineCode, type_id), def.type_id);
                // By symbol: the linker keeps only the host functions a
                // program imports, and the built-ins if it uses one.
                let callee = match &def.kind {
                    TrampolineKind::Host { func, .. } => Some(smelt_wit::function(*func).symbol()),
                    TrampolineKind::Builtin(_) => {
                        Some(smelt_abi::BUILTIN_TRAMPOLINE_SYMBOL.to_string())
                    }
                    // The glue the library's header defines, calling the
                    // user's implementation: a missing one is a link error.
                    TrampolineKind::Native { key, .. } => {
                        Some(smelt_abi::component::native_import_symbol(key))
                    }
                    _ => None,
                };
                if let Some(symbol) = callee {
                    let signature = obj.make_signature();
                    let id = obj
                        .declare_function(&symbol, Linkage::Import, &signature)
                        .map_err(|e| CompileError::Object(e.to_string()))?;
                    table.func(at + offset_of!(TrampolineCode, callee), id);
                }
            }
            (
                smelt_abi::codec::to_bytes(&desc),
                define_local(obj, "smelt::trampolines", table)?,
            )
        };
    // A preview1 program's trampolines: its imports, in order, each
    // calling its host shim (by symbol).
    let mut n_trampolines = components.trampolines.len() as u64;
    let trampolines_table = match entry {
        Entry::Preview1 { imports, .. } if !imports.is_empty() => {
            let mut table = DataWriter::default();
            for (import, &id) in imports.iter().zip(host_import_ids) {
                let at = table.element(size_of::<TrampolineCode>());
                table.func(at + offset_of!(TrampolineCode, code), id);
                table.u32(at + offset_of!(TrampolineCode, type_id), import.type_id);
                let signature = obj.make_signature();
                let callee = obj
                    .declare_function(&import.symbol, Linkage::Import, &signature)
                    .map_err(|e| CompileError::Object(e.to_string()))?;
                table.func(at + offset_of!(TrampolineCode, callee), callee);
            }
            n_trampolines = imports.len() as u64;
            define_local(obj, "smelt::trampolines", table)?
        }
        _ => trampolines_table,
    };
    let component_len = component_bytes.len() as u64;
    let component = define_local(
        obj,
        "smelt::component",
        DataWriter {
            bytes: component_bytes,
            ..DataWriter::default()
        },
    )?;

    // The script or initializers, if any.
    let init_bytes;
    let mut wasi_bytes = Vec::new();
    let (kind, script, init, entry_export) = match entry {
        Entry::WastScript(bytes) => (ProgramKind::WastScript, bytes.as_slice(), &[][..], u32::MAX),
        Entry::CoreCommand { export, limits } => {
            // Only limits: the configuration is left out when there are none.
            if *limits != smelt_abi::wasi::Limits::default() {
                wasi_bytes = smelt_abi::codec::to_bytes(&smelt_abi::wasi::WasiConfig {
                    limits: *limits,
                    ..Default::default()
                });
            }
            (
                ProgramKind::CoreCommand,
                &[][..],
                &[][..],
                export.unwrap_or(u32::MAX),
            )
        }
        Entry::Preview1 {
            start, desc, wasi, ..
        } => {
            init_bytes = smelt_abi::codec::to_bytes(desc);
            wasi_bytes = smelt_abi::codec::to_bytes(wasi);
            (
                ProgramKind::Preview1,
                &[][..],
                init_bytes.as_slice(),
                *start,
            )
        }
        Entry::Library { desc, wasi } => {
            init_bytes = smelt_abi::codec::to_bytes(desc);
            wasi_bytes = smelt_abi::codec::to_bytes(wasi);
            (
                ProgramKind::Library,
                &[][..],
                init_bytes.as_slice(),
                u32::MAX,
            )
        }
        Entry::Component { init, entry, wasi } => {
            init_bytes = smelt_abi::codec::to_bytes(init);
            wasi_bytes = smelt_abi::codec::to_bytes(wasi);
            let kind = if wasi.serve.is_some() {
                ProgramKind::HttpServer
            } else {
                ProgramKind::Component
            };
            (kind, &[][..], init_bytes.as_slice(), entry.as_u32())
        }
    };
    let init_len = init.len() as u64;
    let init = define_local(
        obj,
        "smelt::init",
        DataWriter {
            bytes: init.to_vec(),
            ..DataWriter::default()
        },
    )?;
    let wasi_len = wasi_bytes.len() as u64;
    let wasi = define_local(
        obj,
        "smelt::wasi",
        DataWriter {
            bytes: wasi_bytes,
            ..DataWriter::default()
        },
    )?;
    let script_len = script.len() as u64;
    let script = define_local(
        obj,
        "smelt::script",
        DataWriter {
            bytes: script.to_vec(),
            ..DataWriter::default()
        },
    )?;

    // The program descriptor.
    let mut p = DataWriter::default();
    let at = p.element(size_of::<ProgramDesc>());
    p.u32(
        at + offset_of!(ProgramDesc, abi_version),
        smelt_abi::ABI_VERSION,
    );
    p.u32(at + offset_of!(ProgramDesc, kind), kind as u32);
    p.data(at + offset_of!(ProgramDesc, funcs), funcs);
    p.u64(at + offset_of!(ProgramDesc, n_funcs), compiled.len() as u64);
    p.data(at + offset_of!(ProgramDesc, trap_sites), sites);
    p.u64(
        at + offset_of!(ProgramDesc, n_trap_sites),
        u64::from(n_sites),
    );
    p.data(at + offset_of!(ProgramDesc, handler_sites), handlers);
    p.u64(
        at + offset_of!(ProgramDesc, n_handler_sites),
        u64::from(n_handlers),
    );
    p.data(at + offset_of!(ProgramDesc, inline_sites), inlines);
    p.u64(
        at + offset_of!(ProgramDesc, n_inline_sites),
        u64::from(n_inlines),
    );
    p.data(at + offset_of!(ProgramDesc, stack_map_sites), map_sites);
    p.u64(
        at + offset_of!(ProgramDesc, n_stack_map_sites),
        u64::from(n_maps),
    );
    p.data(at + offset_of!(ProgramDesc, stack_map_slots), map_slots);
    p.u64(
        at + offset_of!(ProgramDesc, n_stack_map_slots),
        u64::from(n_map_slots),
    );
    p.data(at + offset_of!(ProgramDesc, types), Some(types));
    p.u64(at + offset_of!(ProgramDesc, n_types), n_types);
    p.data(at + offset_of!(ProgramDesc, names), names);
    p.u64(at + offset_of!(ProgramDesc, names_len), names_len);
    p.data(at + offset_of!(ProgramDesc, modules), module_descs);
    p.u64(at + offset_of!(ProgramDesc, n_modules), n_modules);
    p.data(at + offset_of!(ProgramDesc, script), script);
    p.u64(at + offset_of!(ProgramDesc, script_len), script_len);
    p.u32(at + offset_of!(ProgramDesc, entry_export), entry_export);
    p.u32(at + offset_of!(ProgramDesc, max_values), max_values);
    p.data(at + offset_of!(ProgramDesc, component), component);
    p.u64(at + offset_of!(ProgramDesc, component_len), component_len);
    p.data(at + offset_of!(ProgramDesc, init), init);
    p.u64(at + offset_of!(ProgramDesc, init_len), init_len);
    p.data(at + offset_of!(ProgramDesc, trampolines), trampolines_table);
    p.u64(at + offset_of!(ProgramDesc, n_trampolines), n_trampolines);
    p.data(at + offset_of!(ProgramDesc, wasi), wasi);
    p.u64(at + offset_of!(ProgramDesc, wasi_len), wasi_len);
    // By symbol: the linker keeps only the runtime this kind of program
    // needs.
    let signature = obj.make_signature();
    let run = obj
        .declare_function(kind.run_symbol(), Linkage::Import, &signature)
        .map_err(|e| CompileError::Object(e.to_string()))?;
    p.func(at + offset_of!(ProgramDesc, run), run);
    let id = obj
        .declare_data(smelt_abi::PROGRAM_SYMBOL, Linkage::Export, false, false)
        .map_err(|e| CompileError::Object(e.to_string()))?;
    p.define(obj, id)
}
