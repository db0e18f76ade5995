//! What the collector and casts read, emitted as data: the type table
//! (`smelt_abi::gc::VMTypeInfo`, indexed by canonical type id), each
//! instance's roots (`smelt_abi::gc::GcRootsDesc`) and the stack maps of
//! compiled functions (`smelt_abi::gc::StackMapSite`).

use core::mem::{offset_of, size_of};

use cranelift_entity::EntityRef;
use cranelift_module::DataId;
use cranelift_object::ObjectModule;
use smelt_abi::gc::{GcRootsDesc, StackMapSite, TypeKind, VMTypeInfo};

use crate::core::gc_types::{Kind, Storage, TypeRegistry};
use crate::core::module::ModuleInfo;
use crate::core::offsets::{Place, VMOffsets};
use crate::core::translate::exception_layout;
use crate::core::types::*;
use crate::emit::{DataWriter, define_local};
use crate::error::Result;

/// One call site's stack map: (return address offset, frame size, offsets
/// of reference slots from the stack pointer).
pub(crate) type StackMap = (u32, u32, Vec<u32>);

/// The words of an instance's `vmctx` that hold references into the GC
/// heap, and the definitions of its tables of such references: offsets.
pub(crate) struct GcRoots {
    pub slots: Vec<u32>,
    pub tables: Vec<u32>,
}

/// The roots of an instance of `info`, or `None` when it has none.
pub(crate) fn gc_roots(
    info: &ModuleInfo<'_>,
    offsets: &VMOffsets,
    registry: &TypeRegistry,
) -> Option<GcRoots> {
    let mut slots = Vec::new();
    let mut tables = Vec::new();
    for (g, decl) in info.globals.iter().skip(info.num_imported_globals) {
        if info.is_gc_ref(registry, decl.ty.content_type)
            && let Place::Inline(o) = offsets.global(g)
        {
            slots.push(o);
        }
    }
    for (e, seg) in info.elems.iter() {
        if info.is_gc_ref(registry, seg.ty) {
            let at = offsets.elem_storage(e);
            slots.extend((0..seg.items.len() as u32).map(|k| at + 8 * k));
        }
    }
    for (t, decl) in info.tables.iter().skip(info.num_imported_tables) {
        if info.is_gc_ref(registry, wasmparser::ValType::Ref(decl.ty.element_type))
            && let Place::Inline(o) = offsets.table(t)
        {
            tables.push(o);
        }
    }
    (!slots.is_empty() || !tables.is_empty()).then_some(GcRoots { slots, tables })
}

/// Defines the `GcRootsDesc` data object `id` for `roots`.
pub(crate) fn emit_gc_roots(
    obj: &mut ObjectModule,
    module: ModuleIndex,
    id: DataId,
    roots: &GcRoots,
) -> Result<()> {
    let words = |name: &str, values: &[u32], obj: &mut ObjectModule| {
        let mut w = DataWriter::default();
        for &v in values {
            let at = w.element(4);
            w.u32(at, v);
        }
        define_local(
            obj,
            &format!("wasm[{}]::gc_roots::{name}", module.index()),
            w,
        )
    };
    let slots = words("slots", &roots.slots, obj)?;
    let tables = words("tables", &roots.tables, obj)?;
    let mut w = DataWriter::default();
    let at = w.element(size_of::<GcRootsDesc>());
    if let Some(slots) = slots {
        w.data_at(at + offset_of!(GcRootsDesc, slots), slots, 0);
    }
    w.u32(
        at + offset_of!(GcRootsDesc, n_slots),
        roots.slots.len() as u32,
    );
    if let Some(tables) = tables {
        w.data_at(at + offset_of!(GcRootsDesc, tables), tables, 0);
    }
    w.u32(
        at + offset_of!(GcRootsDesc, n_tables),
        roots.tables.len() as u32,
    );
    w.define(obj, id)
}

/// Defines the type table `id`; returns its number of entries.
pub(crate) fn emit_type_table(
    obj: &mut ObjectModule,
    id: DataId,
    registry: &TypeRegistry,
) -> Result<u64> {
    // The reference offsets and displays of every type, in one object.
    let mut extra = DataWriter::default();
    let mut words = |values: &[u32]| {
        let at = extra.element(4 * values.len());
        for (i, &v) in values.iter().enumerate() {
            extra.u32(at + 4 * i, v);
        }
        at
    };
    let n = registry.max_id().map_or(0, |m| m as usize + 1);
    let mut entries = Vec::with_capacity(n);
    for (type_id, ty) in registry.iter() {
        let display = registry.display(type_id);
        let (kind, size, refs, elem) = match ty.kind {
            Kind::Struct => {
                let layout = registry.struct_layout(type_id);
                let refs: Vec<u32> = ty
                    .fields
                    .iter()
                    .zip(&layout.offsets)
                    .filter(|(f, _)| is_ref(registry, **f))
                    .map(|(_, &o)| o)
                    .collect();
                (TypeKind::Struct, layout.size, refs, None)
            }
            Kind::Array => {
                let e = ty.fields[0];
                (
                    TypeKind::Array,
                    smelt_abi::gc::ARRAY_ELEMS,
                    Vec::new(),
                    Some(e),
                )
            }
            Kind::Func => {
                // The layout of an exception of a tag of this type.
                let params = ty.func.as_ref().map_or(&[][..], |f| &f.params[..]);
                let (offsets, size) = exception_layout(params);
                let refs = params
                    .iter()
                    .zip(offsets)
                    .filter(|(t, _)| registry.is_gc_ref(**t))
                    .map(|(_, o)| o)
                    .collect();
                (TypeKind::Func, size, refs, None)
            }
        };
        let refs_at = words(&refs);
        let display_at = words(&display);
        entries.push((
            type_id, kind, size, refs, refs_at, display_at, ty.depth, elem,
        ));
    }
    let extra_len = extra.bytes.len();
    let extra_id = define_local(obj, "smelt::type_data", extra)?;
    let mut table = DataWriter::default();
    table.element(n.max(1) * size_of::<VMTypeInfo>());
    for (type_id, kind, size, refs, refs_at, display_at, depth, elem) in entries {
        let at = type_id as usize * size_of::<VMTypeInfo>();
        table.put(at + offset_of!(VMTypeInfo, kind), &[kind as u8]);
        if let Some(e) = elem {
            table.put(
                at + offset_of!(VMTypeInfo, elem_size_log2),
                &[e.size().trailing_zeros() as u8],
            );
            table.put(
                at + offset_of!(VMTypeInfo, elem_is_ref),
                &[u8::from(is_ref(registry, e))],
            );
        }
        table.u32(at + offset_of!(VMTypeInfo, depth), depth);
        table.u32(at + offset_of!(VMTypeInfo, size), size);
        table.u32(at + offset_of!(VMTypeInfo, n_refs), refs.len() as u32);
        if let Some(extra) = extra_id
            && extra_len > 0
        {
            if !refs.is_empty() {
                table.data_at(at + offset_of!(VMTypeInfo, refs), extra, refs_at);
            }
            table.data_at(at + offset_of!(VMTypeInfo, display), extra, display_at);
        }
    }
    table.define(obj, id)?;
    Ok(n as u64)
}

/// Whether a field of storage `s` holds a reference the collector follows.
fn is_ref(registry: &TypeRegistry, s: Storage) -> bool {
    matches!(s, Storage::Val(t) if registry.is_gc_ref(t))
}

/// Appends the stack maps of one function to the program's tables.
pub(crate) fn push_stack_maps(
    sites: &mut DataWriter,
    slots: &mut DataWriter,
    n_slots: &mut u32,
    maps: &[StackMap],
) {
    for (ret, frame_size, offsets) in maps {
        let at = sites.element(size_of::<StackMapSite>());
        sites.u32(at + offset_of!(StackMapSite, ret_offset), *ret);
        sites.u32(at + offset_of!(StackMapSite, frame_size), *frame_size);
        sites.u32(at + offset_of!(StackMapSite, start), *n_slots);
        sites.u32(at + offset_of!(StackMapSite, len), offsets.len() as u32);
        for &o in offsets {
            let at = slots.element(4);
            slots.u32(at, o);
        }
        *n_slots += offsets.len() as u32;
    }
}
