//! Parsing and validating a core module into a [`ModuleInfo`].
//!
//! In: the module's bytes and a [`wasmparser::Validator`] shared by every
//! module of a program (so that function types are canonicalized across
//! modules: two structurally equal types get the same id). Out: the
//! module's declarations with typed indices, and its function bodies, each
//! with the validator that the translation runs operator by operator.
//! Everything but the function bodies is validated here; the bodies are
//! validated while they are translated, in parallel.

use std::collections::{HashMap, HashSet};

use cranelift_entity::{EntityRef, PrimaryMap};
use wasmparser::types::TypeIdentifier;
use wasmparser::{
    Encoding, FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser, Payload,
    ValidPayload, Validator, ValidatorResources,
};

use super::types::*;
use crate::error::{CompileError, Result};

/// One type of the type section.
#[derive(Debug, Clone)]
pub struct ModuleType {
    /// The function type, when it is one (GC struct and array types are
    /// `None`); once the module is parsed, with canonical type references.
    pub func: Option<FuncType>,
    /// Program-wide canonical id: equal ids mean equal types.
    pub type_id: u32,
    /// Whether it is a struct or array type.
    pub is_gc: bool,
}

/// A table declaration.
#[derive(Debug, Clone)]
pub struct TableDecl {
    /// Its type.
    pub ty: wasmparser::TableType,
    /// Initial value of its elements (defined tables; `None`: null).
    pub init: Option<ConstExpr>,
}

/// A global declaration.
#[derive(Debug, Clone)]
pub struct GlobalDecl {
    /// Its type.
    pub ty: wasmparser::GlobalType,
    /// Its initializer (defined globals only).
    pub init: Option<ConstExpr>,
}

/// One import.
#[derive(Debug, Clone)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// The entity it defines in the module's index spaces.
    pub index: EntityIndex,
    /// Byte offset of the import in the input.
    pub offset: u64,
}

/// One export.
#[derive(Debug, Clone)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// The exported entity.
    pub index: EntityIndex,
}

/// One operator of a constant expression (extended-const included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstOp {
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as bits.
    F32Const(u32),
    /// `f64.const`, as bits.
    F64Const(u64),
    /// `v128.const`.
    V128Const(u128),
    /// `ref.null` of any type.
    RefNull,
    /// `ref.func`.
    RefFunc(FuncIndex),
    /// `global.get`.
    GlobalGet(GlobalIndex),
    /// `i32.add`.
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
    /// `struct.new` of a type of the module.
    StructNew(TypeIndex),
    /// `struct.new_default`.
    StructNewDefault(TypeIndex),
    /// `array.new`.
    ArrayNew(TypeIndex),
    /// `array.new_default`.
    ArrayNewDefault(TypeIndex),
    /// `array.new_fixed` with this many elements.
    ArrayNewFixed(TypeIndex, u32),
    /// `ref.i31`.
    RefI31,
    /// `any.convert_extern` or `extern.convert_any` (the identity).
    Convert,
}

/// A constant expression: operators of a stack machine yielding one
/// value.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstExpr {
    /// The operators, in order (without the final `end`).
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    fn parse(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let offset = reader.original_position();
            let op = match reader.read()? {
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => {
                    ConstOp::RefFunc(FuncIndex::from_u32(function_index))
                }
                Operator::GlobalGet { global_index } => {
                    ConstOp::GlobalGet(GlobalIndex::from_u32(global_index))
                }
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::StructNew { struct_type_index } => {
                    ConstOp::StructNew(TypeIndex::from_u32(struct_type_index))
                }
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(TypeIndex::from_u32(struct_type_index))
                }
                Operator::ArrayNew { array_type_index } => {
                    ConstOp::ArrayNew(TypeIndex::from_u32(array_type_index))
                }
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(TypeIndex::from_u32(array_type_index))
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(TypeIndex::from_u32(array_type_index), array_size),
                Operator::RefI31 => ConstOp::RefI31,
                Operator::AnyConvertExtern | Operator::ExternConvertAny => ConstOp::Convert,
                Operator::End => break,
                other => {
                    return Err(CompileError::unsupported(
                        format!("constant expression operator {other:?}"),
                        offset,
                    ));
                }
            };
            ops.push(op);
        }
        Ok(ConstExpr { ops })
    }

    /// The functions this expression takes references to.
    fn referenced_funcs(&self) -> impl Iterator<Item = FuncIndex> + '_ {
        self.ops.iter().filter_map(|op| match op {
            ConstOp::RefFunc(f) => Some(*f),
            _ => None,
        })
    }
}

/// How an element segment is used.
#[derive(Debug, Clone)]
pub enum ElemMode {
    /// Copied into `table` at `offset` during instantiation.
    Active {
        /// Destination table.
        table: TableIndex,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `table.init`.
    Passive,
    /// Only declares references (dropped at instantiation).
    Declared,
}

/// An element segment.
#[derive(Debug, Clone)]
pub struct ElemSegment {
    /// How it is used.
    pub mode: ElemMode,
    /// The type of its elements.
    pub ty: wasmparser::ValType,
    /// One expression per element.
    pub items: Vec<ConstExpr>,
}

/// How a data segment is used.
#[derive(Debug, Clone)]
pub enum DataMode {
    /// Copied into `memory` at `offset` during instantiation.
    Active {
        /// Destination memory.
        memory: MemoryIndex,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Used by `memory.init`.
    Passive,
}

/// A data segment.
#[derive(Debug, Clone)]
pub struct DataSegment<'data> {
    /// How it is used.
    pub mode: DataMode,
    /// Its bytes.
    pub bytes: &'data [u8],
}

/// A function body to translate, with the validator that checks it.
pub struct FunctionInput<'data> {
    /// The body.
    pub body: FunctionBody<'data>,
    /// Its validator.
    pub validator: FuncToValidate<ValidatorResources>,
}

/// Everything about a core module but its function bodies.
#[derive(Debug, Default)]
pub struct ModuleInfo<'data> {
    /// Name from the name section.
    pub name: Option<String>,
    /// The type section.
    pub types: PrimaryMap<TypeIndex, ModuleType>,
    /// Type of every function, imports first.
    pub funcs: PrimaryMap<FuncIndex, TypeIndex>,
    /// How many of `funcs` are imported.
    pub num_imported_funcs: usize,
    /// Every table, imports first.
    pub tables: PrimaryMap<TableIndex, TableDecl>,
    /// How many of `tables` are imported.
    pub num_imported_tables: usize,
    /// Every memory, imports first.
    pub memories: PrimaryMap<MemoryIndex, wasmparser::MemoryType>,
    /// How many of `memories` are imported.
    pub num_imported_memories: usize,
    /// Every global, imports first.
    pub globals: PrimaryMap<GlobalIndex, GlobalDecl>,
    /// How many of `globals` are imported.
    pub num_imported_globals: usize,
    /// Every tag (its function type), imports first. Tags can be declared,
    /// imported and exported; the instructions that throw and catch are not
    /// supported yet.
    pub tags: PrimaryMap<TagIndex, TypeIndex>,
    /// How many of `tags` are imported.
    pub num_imported_tags: usize,
    /// The imports, in order.
    pub imports: Vec<Import>,
    /// The exports, in order.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Element segments.
    pub elems: PrimaryMap<ElemIndex, ElemSegment>,
    /// Data segments.
    pub data: PrimaryMap<DataIndex, DataSegment<'data>>,
    /// Function names from the name section.
    pub func_names: HashMap<FuncIndex, String>,
    /// Defined functions whose reference can be taken (by `ref.func`, an
    /// element segment, an export or a global): each needs a `VMFuncRef`.
    pub escaping: Vec<DefinedFuncIndex>,
    /// Byte offset of the first section whose types or globals name
    /// `v128`, for targets that cannot compile it (locals and
    /// instructions are checked as functions are translated).
    pub first_v128: Option<u64>,
    /// The canonical id and definition of each type of the type section,
    /// for the program's [`super::gc_types::TypeRegistry`].
    pub canonical_types: Vec<(u32, wasmparser::SubType)>,
}

impl ModuleInfo<'_> {
    /// The defined-function index of `f`, if the module defines it.
    pub fn defined_func(&self, f: FuncIndex) -> Option<DefinedFuncIndex> {
        f.index()
            .checked_sub(self.num_imported_funcs)
            .map(DefinedFuncIndex::new)
    }

    /// The function index of defined function `f`.
    pub fn func_index(&self, f: DefinedFuncIndex) -> FuncIndex {
        FuncIndex::new(self.num_imported_funcs + f.index())
    }

    /// The defined-table index of `t`, if the module defines it.
    pub fn defined_table(&self, t: TableIndex) -> Option<DefinedTableIndex> {
        t.index()
            .checked_sub(self.num_imported_tables)
            .map(DefinedTableIndex::new)
    }

    /// The defined-memory index of `m`, if the module defines it.
    pub fn defined_memory(&self, m: MemoryIndex) -> Option<DefinedMemoryIndex> {
        m.index()
            .checked_sub(self.num_imported_memories)
            .map(DefinedMemoryIndex::new)
    }

    /// The defined-global index of `g`, if the module defines it.
    pub fn defined_global(&self, g: GlobalIndex) -> Option<DefinedGlobalIndex> {
        g.index()
            .checked_sub(self.num_imported_globals)
            .map(DefinedGlobalIndex::new)
    }

    /// The type of function `f`.
    pub fn func_type(&self, f: FuncIndex) -> &FuncType {
        self.types[self.funcs[f]]
            .func
            .as_ref()
            .expect("validated: functions have function types")
    }

    /// The type of function-type `t`.
    pub fn type_func(&self, t: TypeIndex) -> &FuncType {
        self.types[t]
            .func
            .as_ref()
            .expect("validated: a function type")
    }

    /// Canonical type id of function `f`'s type.
    pub fn func_type_id(&self, f: FuncIndex) -> u32 {
        self.types[self.funcs[f]].type_id
    }

    /// The name of function `f` from the name section.
    pub fn func_name(&self, f: FuncIndex) -> Option<&str> {
        self.func_names.get(&f).map(String::as_str)
    }

    /// Canonical id of type `t` of the type section.
    pub fn type_id(&self, t: TypeIndex) -> u32 {
        self.types[t].type_id
    }

    /// Whether values of type `ty` (as the module's sections or the
    /// validator name it: type references are module indices or canonical
    /// ids) may point into the GC heap (see
    /// [`super::gc_types::TypeRegistry::is_gc_ref`]).
    pub fn is_gc_ref(
        &self,
        registry: &super::gc_types::TypeRegistry,
        ty: wasmparser::ValType,
    ) -> bool {
        if let wasmparser::ValType::Ref(r) = ty
            && let wasmparser::HeapType::Concrete(i) | wasmparser::HeapType::Exact(i) =
                r.heap_type()
            && let wasmparser::UnpackedIndex::Module(m) = i
        {
            return self.types[TypeIndex::from_u32(m)].is_gc;
        }
        registry.is_gc_ref(ty)
    }

    /// The canonical id of a concrete heap type as the module's sections or
    /// the validator name it.
    pub fn heap_type_id(&self, h: wasmparser::HeapType) -> Option<u32> {
        match h {
            wasmparser::HeapType::Concrete(i) | wasmparser::HeapType::Exact(i) => match i {
                wasmparser::UnpackedIndex::Module(m) => {
                    Some(self.types[TypeIndex::from_u32(m)].type_id)
                }
                wasmparser::UnpackedIndex::Id(id) => Some(id.index() as u32),
                wasmparser::UnpackedIndex::RecGroup(_) => None,
            },
            wasmparser::HeapType::Abstract { .. } => None,
        }
    }
}

/// Parses and validates a core module.
///
/// `validator` is shared by every module (and component) of a program, so
/// that function types get program-wide canonical ids; it must be reset
/// (or new), and is reset again after the module. wasmparser cannot reset
/// a validator after a failed validation, so the module is first validated
/// with a scratch validator (all but the function bodies, which are
/// validated during translation), and only a module that passes reaches
/// the shared one.
pub fn parse<'data>(
    validator: &mut Validator,
    bytes: &'data [u8],
) -> Result<(ModuleInfo<'data>, Vec<FunctionInput<'data>>)> {
    prevalidate(bytes)?;
    let mut builder = ModuleBuilder::default();
    let mut error = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let valid = validator.payload(&payload)?;
        let end = matches!(valid, ValidPayload::End(_));
        if error.is_none()
            && let Err(e) = builder.payload(&payload, valid)
        {
            // Keep feeding the validator to the module's end so that it can
            // be reset.
            error = Some(e);
        }
        if end {
            break;
        }
    }
    validator.reset();
    match error {
        Some(e) => Err(e),
        None => Ok(builder.finish()),
    }
}

/// Validates everything but the function bodies with a scratch validator.
fn prevalidate(bytes: &[u8]) -> Result<()> {
    let mut validator = Validator::new_with_features(super::features());
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let Payload::Version {
            encoding: Encoding::Component,
            range,
            ..
        } = &payload
        {
            return Err(CompileError::unsupported(
                "a component where a core module is expected",
                range.start,
            ));
        }
        if let ValidPayload::End(_) = validator.payload(&payload)? {
            break;
        }
    }
    Ok(())
}

/// Builds a [`ModuleInfo`] from a module's payloads as the validator
/// accepts them (for a standalone module, or one nested in a component).
#[derive(Default)]
pub struct ModuleBuilder<'data> {
    info: ModuleInfo<'data>,
    bodies: Vec<FunctionInput<'data>>,
    escaping: HashSet<FuncIndex>,
}

impl<'data> ModuleBuilder<'data> {
    /// The module's declarations and function bodies.
    pub fn finish(self) -> (ModuleInfo<'data>, Vec<FunctionInput<'data>>) {
        let ModuleBuilder {
            mut info,
            bodies,
            escaping,
        } = self;
        let mut escaping: Vec<DefinedFuncIndex> = escaping
            .into_iter()
            .filter_map(|f| info.defined_func(f))
            .collect();
        escaping.sort();
        info.escaping = escaping;
        (info, bodies)
    }

    /// Takes one payload of the module and what the validator made of it.
    pub fn payload(&mut self, payload: &Payload<'data>, valid: ValidPayload<'data>) -> Result<()> {
        let info = &mut self.info;
        let escaping = &mut self.escaping;
        match valid {
            ValidPayload::Func(validator, body) => {
                self.bodies.push(FunctionInput { body, validator });
            }
            ValidPayload::End(types) => {
                let types = types.as_ref();
                for (i, ty) in info.types.values_mut().enumerate() {
                    let id = types.core_type_at_in_module(i as u32);
                    ty.type_id = id.index() as u32;
                    let sub = types.get(id).expect("the validator has the module's types");
                    if let wasmparser::CompositeInnerType::Func(f) = &sub.composite_type.inner {
                        ty.func = Some(FuncType::from_wasmparser(f));
                    }
                    info.canonical_types.push((ty.type_id, sub.clone()));
                }
                return Ok(());
            }
            ValidPayload::Ok | ValidPayload::Parser(_) => {}
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group?.into_types() {
                        let func = match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                let func = FuncType::from_wasmparser(f);
                                if func.params.iter().chain(func.results.iter()).any(is_v128) {
                                    info.first_v128.get_or_insert(reader.range().start);
                                }
                                Some(func)
                            }
                            _ => None,
                        };
                        let is_gc = matches!(
                            sub.composite_type.inner,
                            wasmparser::CompositeInnerType::Struct(_)
                                | wasmparser::CompositeInnerType::Array(_)
                        );
                        let v128_field = |f: &wasmparser::FieldType| matches!(f.element_type, wasmparser::StorageType::Val(t) if is_v128(&t));
                        let has_v128_field = match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Struct(st) => {
                                st.fields.iter().any(v128_field)
                            }
                            wasmparser::CompositeInnerType::Array(a) => v128_field(&a.0),
                            _ => false,
                        };
                        if has_v128_field {
                            info.first_v128.get_or_insert(reader.range().start);
                        }
                        info.types.push(ModuleType {
                            func,
                            type_id: 0,
                            is_gc,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports_with_offsets() {
                    let (offset, import) = import?;
                    let index = match import.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            info.num_imported_funcs += 1;
                            EntityIndex::Func(info.funcs.push(TypeIndex::from_u32(t)))
                        }
                        wasmparser::TypeRef::Table(ty) => {
                            info.num_imported_tables += 1;
                            EntityIndex::Table(info.tables.push(TableDecl { ty, init: None }))
                        }
                        wasmparser::TypeRef::Memory(ty) => {
                            info.num_imported_memories += 1;
                            EntityIndex::Memory(info.memories.push(ty))
                        }
                        wasmparser::TypeRef::Global(ty) => {
                            if is_v128(&ty.content_type) {
                                info.first_v128.get_or_insert(offset);
                            }
                            info.num_imported_globals += 1;
                            EntityIndex::Global(info.globals.push(GlobalDecl { ty, init: None }))
                        }
                        wasmparser::TypeRef::Tag(ty) => {
                            info.num_imported_tags += 1;
                            EntityIndex::Tag(info.tags.push(TypeIndex::from_u32(ty.func_type_idx)))
                        }
                    };
                    info.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        index,
                        offset,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    info.funcs.push(TypeIndex::from_u32(ty?));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.clone() {
                    let table = table?;
                    let init = match &table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(ConstExpr::parse(e)?),
                    };
                    if let Some(init) = &init {
                        escaping.extend(init.referenced_funcs());
                    }
                    info.tables.push(TableDecl { ty: table.ty, init });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.clone().into_iter_with_offsets() {
                    let (offset, memory) = memory?;
                    if memory.page_size_log2.is_some() {
                        return Err(CompileError::unsupported(
                            "custom page sizes (custom-page-sizes proposal)",
                            offset,
                        ));
                    }
                    info.memories.push(memory);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader.clone() {
                    info.tags.push(TypeIndex::from_u32(tag?.func_type_idx));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader.clone() {
                    let global = global?;
                    if is_v128(&global.ty.content_type) {
                        info.first_v128.get_or_insert(reader.range().start);
                    }
                    let init = ConstExpr::parse(&global.init_expr)?;
                    escaping.extend(init.referenced_funcs());
                    info.globals.push(GlobalDecl {
                        ty: global.ty,
                        init: Some(init),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export?;
                    let index = match export.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            let f = FuncIndex::from_u32(export.index);
                            escaping.insert(f);
                            EntityIndex::Func(f)
                        }
                        wasmparser::ExternalKind::Table => {
                            EntityIndex::Table(TableIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Memory => {
                            EntityIndex::Memory(MemoryIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Global => {
                            EntityIndex::Global(GlobalIndex::from_u32(export.index))
                        }
                        wasmparser::ExternalKind::Tag => {
                            EntityIndex::Tag(TagIndex::from_u32(export.index))
                        }
                    };
                    info.exports.push(Export {
                        name: export.name.to_string(),
                        index,
                    });
                }
            }
            Payload::StartSection { func, .. } => {
                info.start = Some(FuncIndex::from_u32(*func));
            }
            Payload::ElementSection(reader) => {
                for elem in reader.clone() {
                    let elem = elem?;
                    let mode = match elem.kind {
                        wasmparser::ElementKind::Passive => ElemMode::Passive,
                        wasmparser::ElementKind::Declared => ElemMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: TableIndex::from_u32(table_index.unwrap_or(0)),
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let ty = match &elem.items {
                        wasmparser::ElementItems::Functions(_) => wasmparser::ValType::FUNCREF,
                        wasmparser::ElementItems::Expressions(t, _) => wasmparser::ValType::Ref(*t),
                    };
                    let items = match elem.items {
                        wasmparser::ElementItems::Functions(funcs) => funcs
                            .into_iter()
                            .map(|f| {
                                Ok(ConstExpr {
                                    ops: vec![ConstOp::RefFunc(FuncIndex::from_u32(f?))],
                                })
                            })
                            .collect::<Result<Vec<_>>>()?,
                        wasmparser::ElementItems::Expressions(_, exprs) => exprs
                            .into_iter()
                            .map(|e| ConstExpr::parse(&e?))
                            .collect::<Result<Vec<_>>>()?,
                    };
                    for item in &items {
                        escaping.extend(item.referenced_funcs());
                    }
                    info.elems.push(ElemSegment { mode, ty, items });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader.clone() {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: MemoryIndex::from_u32(memory_index),
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    info.data.push(DataSegment {
                        mode,
                        bytes: data.data,
                    });
                }
            }
            Payload::CustomSection(section) => {
                // Custom sections never make a module invalid: a malformed
                // name section is ignored.
                if let KnownCustom::Name(names) = section.as_known() {
                    for name in names.into_iter().flatten() {
                        match name {
                            Name::Module { name, .. } => info.name = Some(name.to_string()),
                            Name::Function(map) => {
                                for naming in map.into_iter().flatten() {
                                    info.func_names.insert(
                                        FuncIndex::from_u32(naming.index),
                                        naming.name.to_string(),
                                    );
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether `ty` is `v128`.
fn is_v128(ty: &wasmparser::ValType) -> bool {
    matches!(ty, wasmparser::ValType::V128)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> wasmparser::WasmFeatures {
        crate::core::features()
    }

    #[test]
    fn parses_declarations_with_typed_indices() {
        let wasm = wat::parse_str(
            r#"(module $m
                (import "env" "f" (func $imp (param i32)))
                (import "env" "g" (global i64))
                (memory 1 2)
                (table 3 funcref)
                (global $c (mut i32) (i32.add (i32.const 1) (i32.const 2)))
                (func $a (export "a") (result i32) i32.const 7)
                (func $b)
                (elem (i32.const 0) $b)
                (data (i32.const 4) "hi")
                (start $b))"#,
        )
        .unwrap();
        let mut validator = Validator::new_with_features(features());
        let (info, bodies) = parse(&mut validator, &wasm).unwrap();
        assert_eq!(info.name.as_deref(), Some("m"));
        assert_eq!(info.num_imported_funcs, 1);
        assert_eq!(info.funcs.len(), 3);
        assert_eq!(bodies.len(), 2);
        assert_eq!(info.num_imported_globals, 1);
        assert_eq!(info.globals.len(), 2);
        assert_eq!(
            info.globals[GlobalIndex::new(1)].init.as_ref().unwrap().ops,
            [ConstOp::I32Const(1), ConstOp::I32Const(2), ConstOp::I32Add]
        );
        assert_eq!(info.start, Some(FuncIndex::new(2)));
        assert_eq!(info.func_name(FuncIndex::new(1)), Some("a"));
        // `a` is exported and `b` is in an element segment.
        assert_eq!(
            info.escaping,
            [DefinedFuncIndex::new(0), DefinedFuncIndex::new(1)]
        );
        assert_eq!(info.data[DataIndex::new(0)].bytes, b"hi");
    }

    #[test]
    fn equal_types_share_a_canonical_id_across_modules() {
        let a = wat::parse_str("(module (type (func (param i32))) (type (func)))").unwrap();
        let b = wat::parse_str("(module (type (func)) (type (func (param i32))))").unwrap();
        let mut validator = Validator::new_with_features(features());
        let (a, _) = parse(&mut validator, &a).unwrap();
        let (b, _) = parse(&mut validator, &b).unwrap();
        let id = |m: &ModuleInfo, i| m.types[TypeIndex::new(i)].type_id;
        assert_eq!(id(&a, 0), id(&b, 1));
        assert_eq!(id(&a, 1), id(&b, 0));
        assert_ne!(id(&a, 0), id(&a, 1));
    }

    #[test]
    fn invalid_declaration_reports_offset() {
        let wasm = wat::parse_str(r#"(module (export "x" (func 5)))"#).unwrap();
        let mut validator = Validator::new_with_features(features());
        match parse(&mut validator, &wasm) {
            Err(CompileError::Invalid { message, offset }) => {
                assert!(
                    message.contains("function index out of bounds"),
                    "{message}"
                );
                assert!(offset > 8 && offset < wasm.len() as u64, "{offset}");
            }
            other => panic!("expected an invalid-module error, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_component_is_not_a_core_module() {
        let wasm = wat::parse_str("(component)").unwrap();
        let mut validator = Validator::new_with_features(features());
        let err = parse(&mut validator, &wasm).err().unwrap();
        assert!(err.to_string().contains("a component"), "{err}");
    }
}
