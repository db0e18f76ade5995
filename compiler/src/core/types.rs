//! Typed indices of a core module's index spaces, and value types.
//!
//! After parsing, nothing refers to an entity by a bare `u32`: each index
//! space has its own type, and "defined" spaces (entities the module
//! defines, after its imports) are distinct from the full spaces.

use cranelift_codegen::ir;
use cranelift_entity::entity_impl;

macro_rules! index_types {
    ($($(#[$attr:meta])* $name:ident;)*) => {
        $(
            $(#[$attr])*
            #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
            pub struct $name(u32);
            entity_impl!($name);
        )*
    };
}

index_types! {
    /// A type in a module's type section.
    TypeIndex;
    /// A function: imports first, then the module's own.
    FuncIndex;
    /// A function the module defines.
    DefinedFuncIndex;
    /// A table: imports first.
    TableIndex;
    /// A table the module defines.
    DefinedTableIndex;
    /// A linear memory: imports first.
    MemoryIndex;
    /// A memory the module defines.
    DefinedMemoryIndex;
    /// A global: imports first.
    GlobalIndex;
    /// A global the module defines.
    DefinedGlobalIndex;
    /// A tag (exception handling): imports first.
    TagIndex;
    /// An element segment.
    ElemIndex;
    /// A data segment.
    DataIndex;
    /// A module within a program.
    ModuleIndex;
}

/// An entity of any kind, as named by an import or an export.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum EntityIndex {
    /// A function.
    Func(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
    /// A tag.
    Tag(TagIndex),
}

/// The Cranelift type that holds a value of wasm type `ty`: references are
/// pointer-sized integers (null is 0).
pub fn ir_type(ty: wasmparser::ValType) -> ir::Type {
    match ty {
        wasmparser::ValType::I32 => ir::types::I32,
        wasmparser::ValType::I64 => ir::types::I64,
        wasmparser::ValType::F32 => ir::types::F32,
        wasmparser::ValType::F64 => ir::types::F64,
        wasmparser::ValType::V128 => ir::types::I8X16,
        wasmparser::ValType::Ref(_) => ir::types::I64,
    }
}

/// A function type: parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[wasmparser::ValType]>,
    /// Result types.
    pub results: Box<[wasmparser::ValType]>,
}

impl FuncType {
    /// Converts wasmparser's function type.
    pub fn from_wasmparser(ty: &wasmparser::FuncType) -> FuncType {
        FuncType {
            params: ty.params().into(),
            results: ty.results().into(),
        }
    }
}
