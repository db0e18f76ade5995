//! Component value types, converted from wasmparser's into the runtime's
//! type table (`smelt_abi::component::TypeTable`).
//!
//! The runtime only needs the structure of types; the compiler also keeps
//! their labels (record fields, variant cases, enum and flags names) for
//! the test harness, which names values by label. Resource types become
//! runtime resource type numbers through the resource map of the
//! component instance the type is seen from: the same wasmparser resource
//! of a component instantiated twice is two runtime resource types.

use std::collections::HashMap;

use smelt_abi::component::{FuncType, FuncTypeIndex, ResourceIndex, TypeId, TypeTable, ValType};
use wasmparser::PrimitiveValType;
use wasmparser::component_types::{
    ComponentDefinedType, ComponentDefinedTypeId, ComponentFuncTypeId, ComponentValType, ResourceId,
};
use wasmparser::types::TypesRef;

use crate::error::{CompileError, Result};

/// Labels of a type's parts, where it has any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Labels {
    /// A record's field names.
    Record(Vec<String>),
    /// A tuple.
    Tuple,
    /// A variant's case names.
    Variant(Vec<String>),
    /// An enum's names.
    Enum(Vec<String>),
    /// An option.
    Option,
    /// A result.
    Result,
    /// A flags type's names.
    Flags(Vec<String>),
    /// No labels.
    None,
}

/// The program's component value types, with their labels.
#[derive(Debug, Default, Clone)]
pub struct TypeInterner {
    /// The runtime's view.
    pub table: TypeTable,
    /// Labels, by type id.
    pub labels: Vec<Labels>,
    ids: HashMap<(ValType, Labels), TypeId>,
    /// Function types, for the descriptor.
    pub funcs: Vec<FuncType>,
    func_ids: HashMap<FuncType, FuncTypeIndex>,
}

impl TypeInterner {
    fn intern(&mut self, ty: ValType, labels: Labels) -> TypeId {
        if let Some(&id) = self.ids.get(&(ty.clone(), labels.clone())) {
            return id;
        }
        let id = self.table.types.len() as TypeId;
        self.table.types.push(ty.clone());
        self.labels.push(labels.clone());
        self.ids.insert((ty, labels), id);
        id
    }

    /// Interns a type that has no labels (a primitive type, a list, a
    /// handle).
    pub fn unlabeled(&mut self, ty: ValType) -> TypeId {
        self.intern(ty, Labels::None)
    }

    /// Interns a function type; returns its index in
    /// `ComponentDesc::funcs`.
    pub fn func(&mut self, ty: FuncType) -> FuncTypeIndex {
        if let Some(&i) = self.func_ids.get(&ty) {
            return i;
        }
        let i = FuncTypeIndex::from_u32(self.funcs.len() as u32);
        self.funcs.push(ty.clone());
        self.func_ids.insert(ty, i);
        i
    }
}

/// Converts types seen from one component instance.
pub struct Converter<'a> {
    /// The types of the component the types are named in.
    pub types: TypesRef<'a>,
    /// That instance's resource map.
    pub resources: &'a HashMap<ResourceId, ResourceIndex>,
    /// Byte offset for errors.
    pub offset: u64,
}

impl Converter<'_> {
    fn resource(&self, id: ResourceId) -> Result<ResourceIndex> {
        self.resources.get(&id).copied().ok_or_else(|| {
            CompileError::unsupported(
                "a resource type that is not bound in this component instance",
                self.offset,
            )
        })
    }

    /// Converts a function type.
    pub fn func(
        &self,
        interner: &mut TypeInterner,
        id: ComponentFuncTypeId,
    ) -> Result<FuncTypeIndex> {
        let ty = &self.types[id];
        let params = ty
            .params
            .iter()
            .map(|(_, t)| self.val(interner, *t))
            .collect::<Result<Vec<_>>>()?;
        let result = ty.result.map(|t| self.val(interner, t)).transpose()?;
        Ok(interner.func(FuncType {
            params,
            result,
            async_: ty.async_,
        }))
    }

    /// Converts the type of a `defined` type index (a stream or future
    /// type named by a built-in).
    pub fn defined_at(&self, interner: &mut TypeInterner, index: u32) -> Result<TypeId> {
        match self.types.component_any_type_at(index) {
            wasmparser::component_types::ComponentAnyTypeId::Defined(id) => {
                self.defined(interner, id)
            }
            _ => Err(CompileError::unsupported(
                "a built-in whose type is not a defined type",
                self.offset,
            )),
        }
    }

    /// Converts a value type.
    pub fn val(&self, interner: &mut TypeInterner, ty: ComponentValType) -> Result<TypeId> {
        match ty {
            ComponentValType::Primitive(p) => {
                let ty = self.primitive(p)?;
                Ok(interner.intern(ty, Labels::None))
            }
            ComponentValType::Type(id) => self.defined(interner, id),
        }
    }

    fn defined(&self, interner: &mut TypeInterner, id: ComponentDefinedTypeId) -> Result<TypeId> {
        let (ty, labels) = match &self.types[id] {
            ComponentDefinedType::Primitive(p) => (self.primitive(*p)?, Labels::None),
            ComponentDefinedType::Record(r) => {
                let fields = r
                    .fields
                    .values()
                    .map(|t| self.val(interner, *t))
                    .collect::<Result<Vec<_>>>()?;
                let names = r.fields.keys().map(|k| k.to_string()).collect();
                (ValType::Record(fields), Labels::Record(names))
            }
            ComponentDefinedType::Tuple(t) => {
                let fields = t
                    .types
                    .iter()
                    .map(|t| self.val(interner, *t))
                    .collect::<Result<Vec<_>>>()?;
                (ValType::Record(fields), Labels::Tuple)
            }
            ComponentDefinedType::Variant(v) => {
                let cases = v
                    .cases
                    .values()
                    .map(|c| c.ty.map(|t| self.val(interner, t)).transpose())
                    .collect::<Result<Vec<_>>>()?;
                let names = v.cases.keys().map(|k| k.to_string()).collect();
                (ValType::Variant(cases), Labels::Variant(names))
            }
            ComponentDefinedType::Enum(names) => (
                ValType::Variant(vec![None; names.len()]),
                Labels::Enum(names.iter().map(|k| k.to_string()).collect()),
            ),
            ComponentDefinedType::Option { ty, .. } => {
                let t = self.val(interner, *ty)?;
                (ValType::Variant(vec![None, Some(t)]), Labels::Option)
            }
            ComponentDefinedType::Result { ok, err, .. } => {
                let ok = ok.map(|t| self.val(interner, t)).transpose()?;
                let err = err.map(|t| self.val(interner, t)).transpose()?;
                (ValType::Variant(vec![ok, err]), Labels::Result)
            }
            ComponentDefinedType::Flags(names) => (
                ValType::Flags(names.len() as u32),
                Labels::Flags(names.iter().map(|k| k.to_string()).collect()),
            ),
            ComponentDefinedType::List { element, .. } => {
                (ValType::List(self.val(interner, *element)?), Labels::None)
            }
            ComponentDefinedType::Own(r) => {
                (ValType::Own(self.resource(r.resource())?), Labels::None)
            }
            ComponentDefinedType::Borrow(r) => {
                (ValType::Borrow(self.resource(r.resource())?), Labels::None)
            }
            ComponentDefinedType::Future { ty, .. } => {
                let t = ty.map(|t| self.val(interner, t)).transpose()?;
                (ValType::Future(t), Labels::None)
            }
            ComponentDefinedType::Stream { ty, .. } => {
                let t = ty.map(|t| self.val(interner, t)).transpose()?;
                (ValType::Stream(t), Labels::None)
            }
            ComponentDefinedType::Map { key, value, .. } => {
                // A map is its despecialization, list<tuple<K, V>>.
                let k = self.val(interner, *key)?;
                let v = self.val(interner, *value)?;
                let pair = interner.intern(ValType::Record(vec![k, v]), Labels::Tuple);
                (ValType::List(pair), Labels::None)
            }
            ComponentDefinedType::FixedLengthList { .. } => {
                return Err(CompileError::unsupported(
                    "fixed-length list types",
                    self.offset,
                ));
            }
        };
        Ok(interner.intern(ty, labels))
    }
}

impl Converter<'_> {
    fn primitive(&self, p: PrimitiveValType) -> Result<ValType> {
        Ok(match p {
            PrimitiveValType::Bool => ValType::Bool,
            PrimitiveValType::S8 => ValType::S8,
            PrimitiveValType::U8 => ValType::U8,
            PrimitiveValType::S16 => ValType::S16,
            PrimitiveValType::U16 => ValType::U16,
            PrimitiveValType::S32 => ValType::S32,
            PrimitiveValType::U32 => ValType::U32,
            PrimitiveValType::S64 => ValType::S64,
            PrimitiveValType::U64 => ValType::U64,
            PrimitiveValType::F32 => ValType::F32,
            PrimitiveValType::F64 => ValType::F64,
            PrimitiveValType::Char => ValType::Char,
            PrimitiveValType::String => ValType::String,
            PrimitiveValType::ErrorContext => ValType::ErrorContext,
        })
    }
}
