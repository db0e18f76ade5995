//! The `vmctx` layout of one module (see `smelt_abi::vm` for the picture).
//!
//! In: a [`ModuleInfo`]. Out: the byte offset of every field of the
//! module's `vmctx`. Offsets only depend on how many entities of each kind
//! the module has, so every instance of the module shares them.

use cranelift_entity::{EntityRef, SecondaryMap};
use smelt_abi::vm::{
    FUNCREF_SIZE, GLOBAL_SIZE, MEMORY_SIZE, SEGMENT_SIZE, TABLE_SIZE, TAG_SIZE, VMCTX_HEADER_SIZE,
};

use super::module::ModuleInfo;
use super::types::*;

/// Where an entity lives in a `vmctx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The definition itself is at this offset.
    Inline(u32),
    /// A pointer to the definition (in another instance) is at this offset.
    Indirect(u32),
}

/// Byte offsets of a module's `vmctx` fields.
#[derive(Debug, Clone)]
pub struct VMOffsets {
    num_imported_funcs: u32,
    num_imported_tables: u32,
    num_imported_memories: u32,
    num_imported_globals: u32,
    num_imported_tags: u32,
    imported_funcs: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    imported_tags: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    funcrefs: u32,
    defined_tags: u32,
    data_segments: u32,
    elem_segments: u32,
    funcref_slots: SecondaryMap<DefinedFuncIndex, Option<u32>>,
    elem_storage: Vec<u32>,
    size: u32,
}

impl VMOffsets {
    /// Lays out the `vmctx` of `module`.
    pub fn new(module: &ModuleInfo<'_>) -> VMOffsets {
        let count = |n: usize| u32::try_from(n).expect("validated sizes fit in u32");
        let num_imported_funcs = count(module.num_imported_funcs);
        let num_imported_tables = count(module.num_imported_tables);
        let num_imported_memories = count(module.num_imported_memories);
        let num_imported_globals = count(module.num_imported_globals);
        let num_imported_tags = count(module.num_imported_tags);
        let defined_tags_n = count(module.tags.len()) - num_imported_tags;
        let defined_tables_n = count(module.tables.len()) - num_imported_tables;
        let defined_memories_n = count(module.memories.len()) - num_imported_memories;
        let defined_globals_n = count(module.globals.len()) - num_imported_globals;

        let mut at = VMCTX_HEADER_SIZE;
        let mut take = |bytes: u32, align: u32| {
            let start = at.next_multiple_of(align);
            at = start + bytes;
            start
        };
        let imported_funcs = take(8 * num_imported_funcs, 8);
        let imported_tables = take(8 * num_imported_tables, 8);
        let imported_memories = take(8 * num_imported_memories, 8);
        let imported_globals = take(8 * num_imported_globals, 8);
        let imported_tags = take(8 * num_imported_tags, 8);
        let defined_tables = take(TABLE_SIZE * defined_tables_n, 8);
        let defined_memories = take(MEMORY_SIZE * defined_memories_n, 8);
        // Globals are 16-aligned (v128).
        let defined_globals = take(GLOBAL_SIZE * defined_globals_n, 16);
        let mut funcref_slots = SecondaryMap::new();
        for (slot, &f) in module.escaping.iter().enumerate() {
            funcref_slots[f] = Some(slot as u32);
        }
        let funcrefs = take(FUNCREF_SIZE * count(module.escaping.len()), 8);
        let defined_tags = take(TAG_SIZE * defined_tags_n, 8);
        let data_segments = take(SEGMENT_SIZE * count(module.data.len()), 8);
        let elem_segments = take(SEGMENT_SIZE * count(module.elems.len()), 8);
        let elem_storage = module
            .elems
            .values()
            .map(|e| take(8 * count(e.items.len()), 8))
            .collect();
        let size = take(0, 16);
        VMOffsets {
            num_imported_funcs,
            num_imported_tables,
            num_imported_memories,
            num_imported_globals,
            num_imported_tags,
            imported_funcs,
            imported_tables,
            imported_memories,
            imported_globals,
            imported_tags,
            defined_tables,
            defined_memories,
            defined_globals,
            funcrefs,
            defined_tags,
            data_segments,
            elem_segments,
            funcref_slots,
            elem_storage,
            size,
        }
    }

    /// Total size of the `vmctx`, in bytes (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of the pointer to imported function `f`'s `VMFuncRef`.
    pub fn imported_func(&self, f: FuncIndex) -> u32 {
        debug_assert!(f.as_u32() < self.num_imported_funcs);
        self.imported_funcs + 8 * f.as_u32()
    }

    /// Offset of defined function `f`'s `VMFuncRef`, when it has one (only
    /// escaping functions do).
    pub fn funcref(&self, f: DefinedFuncIndex) -> Option<u32> {
        self.funcref_slots[f].map(|slot| self.funcrefs + FUNCREF_SIZE * slot)
    }

    /// Where table `t`'s `VMTableDefinition` is.
    pub fn table(&self, t: TableIndex) -> Place {
        let i = t.as_u32();
        if i < self.num_imported_tables {
            Place::Indirect(self.imported_tables + 8 * i)
        } else {
            Place::Inline(self.defined_tables + TABLE_SIZE * (i - self.num_imported_tables))
        }
    }

    /// Where memory `m`'s `VMMemoryDefinition` is.
    pub fn memory(&self, m: MemoryIndex) -> Place {
        let i = m.as_u32();
        if i < self.num_imported_memories {
            Place::Indirect(self.imported_memories + 8 * i)
        } else {
            Place::Inline(self.defined_memories + MEMORY_SIZE * (i - self.num_imported_memories))
        }
    }

    /// Where global `g`'s storage is.
    pub fn global(&self, g: GlobalIndex) -> Place {
        let i = g.as_u32();
        if i < self.num_imported_globals {
            Place::Indirect(self.imported_globals + 8 * i)
        } else {
            Place::Inline(self.defined_globals + GLOBAL_SIZE * (i - self.num_imported_globals))
        }
    }

    /// Where tag `t`'s `VMTag` is.
    pub fn tag(&self, t: TagIndex) -> Place {
        let i = t.as_u32();
        if i < self.num_imported_tags {
            Place::Indirect(self.imported_tags + 8 * i)
        } else {
            Place::Inline(self.defined_tags + TAG_SIZE * (i - self.num_imported_tags))
        }
    }

    /// Offset of data segment `d`'s `VMSegment`.
    pub fn data_segment(&self, d: DataIndex) -> u32 {
        self.data_segments + SEGMENT_SIZE * d.as_u32()
    }

    /// Offset of element segment `e`'s `VMSegment`.
    pub fn elem_segment(&self, e: ElemIndex) -> u32 {
        self.elem_segments + SEGMENT_SIZE * e.as_u32()
    }

    /// Offset of the evaluated references of element segment `e`.
    pub fn elem_storage(&self, e: ElemIndex) -> u32 {
        self.elem_storage[e.index()]
    }

    /// Where the import slot of entity `index` is (imports only).
    pub fn import_slot(&self, index: EntityIndex) -> u32 {
        match index {
            EntityIndex::Func(f) => self.imported_func(f),
            EntityIndex::Table(t) => match self.table(t) {
                Place::Indirect(o) => o,
                Place::Inline(_) => unreachable!("not an imported table"),
            },
            EntityIndex::Memory(m) => match self.memory(m) {
                Place::Indirect(o) => o,
                Place::Inline(_) => unreachable!("not an imported memory"),
            },
            EntityIndex::Global(g) => match self.global(g) {
                Place::Indirect(o) => o,
                Place::Inline(_) => unreachable!("not an imported global"),
            },
            EntityIndex::Tag(t) => match self.tag(t) {
                Place::Indirect(o) => o,
                Place::Inline(_) => unreachable!("not an imported tag"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_the_documented_order() {
        let wasm = wat::parse_str(
            r#"(module
                (import "m" "f" (func))
                (import "m" "mem" (memory 1))
                (memory 1)
                (global i32 (i32.const 0))
                (global i64 (i64.const 0))
                (table 1 funcref)
                (func $g (export "g"))
                (data "x")
                (elem func $g $g))"#,
        )
        .unwrap();
        let mut validator = wasmparser::Validator::new_with_features(crate::core::features());
        let (info, _) = crate::core::module::parse(&mut validator, &wasm).unwrap();
        let o = VMOffsets::new(&info);
        assert_eq!(o.imported_func(FuncIndex::new(0)), 16);
        assert_eq!(o.memory(MemoryIndex::new(0)), Place::Indirect(24));
        assert_eq!(o.table(TableIndex::new(0)), Place::Inline(32));
        assert_eq!(o.memory(MemoryIndex::new(1)), Place::Inline(64));
        // Globals start 16-aligned after the memory (64 + 32 = 96).
        assert_eq!(o.global(GlobalIndex::new(0)), Place::Inline(96));
        assert_eq!(o.global(GlobalIndex::new(1)), Place::Inline(112));
        assert_eq!(o.funcref(DefinedFuncIndex::new(0)), Some(128));
        assert_eq!(o.data_segment(DataIndex::new(0)), 152);
        assert_eq!(o.elem_segment(ElemIndex::new(0)), 168);
        assert_eq!(o.elem_storage(ElemIndex::new(0)), 184);
        assert_eq!(o.size(), 208);
    }
}
