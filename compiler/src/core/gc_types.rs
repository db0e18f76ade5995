//! The program's canonical types: function, struct and array types with
//! their supertypes, and the layouts of GC objects.
//!
//! In: each module's types, canonicalized by the validator that every
//! module of a program shares (iso-recursive canonicalization: equal rec
//! groups get equal ids, in every module). Out: a [`TypeRegistry`] keyed by
//! canonical id, which answers subtyping questions (`ref.test`,
//! `call_indirect`, import matching) and gives object layouts
//! (`smelt_abi::gc`). Concrete types inside a registered type are
//! canonical ids (`UnpackedIndex::Id`), so two modules' types compare by
//! id.

use std::collections::{BTreeMap, HashSet};

use smelt_abi::gc::{OBJECT_ALIGN, STRUCT_FIELDS};
use wasmparser::{
    AbstractHeapType, CompositeInnerType, HeapType, StorageType, SubType, UnpackedIndex, ValType,
};

use wasmparser::types::TypeIdentifier;

use super::types::{FuncType, ir_type};

/// What a type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

/// How a field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `i8`, packed.
    I8,
    /// `i16`, packed.
    I16,
    /// A value type.
    Val(ValType),
}

impl Storage {
    /// Size of the field in bytes.
    pub fn size(self) -> u32 {
        match self {
            Storage::I8 => 1,
            Storage::I16 => 2,
            Storage::Val(t) => ir_type(t).bytes(),
        }
    }

    /// The value type an access loads or stores (`i32` for packed fields).
    pub fn unpacked(self) -> ValType {
        match self {
            Storage::I8 | Storage::I16 => ValType::I32,
            Storage::Val(t) => t,
        }
    }
}

/// A canonical type.
#[derive(Debug, Clone)]
pub struct CanonType {
    /// What it is.
    pub kind: Kind,
    /// Its declared supertype, if any.
    pub supertype: Option<u32>,
    /// Whether it is `final` (no type may declare it as supertype).
    pub is_final: bool,
    /// Number of its strict supertypes.
    pub depth: u32,
    /// Struct fields; the element of an array; none for a function.
    pub fields: Vec<Storage>,
    /// The function type of a function type.
    pub func: Option<FuncType>,
}

/// The canonical types of a program.
#[derive(Debug, Default, Clone)]
pub struct TypeRegistry {
    types: BTreeMap<u32, CanonType>,
    /// Ids that are the declared supertype of another type.
    has_subtypes: HashSet<u32>,
}

/// Where a struct's fields are and how large its objects are.
#[derive(Debug, Clone)]
pub struct StructLayout {
    /// Offset of each field.
    pub offsets: Vec<u32>,
    /// Object size, a multiple of 8.
    pub size: u32,
}

impl TypeRegistry {
    /// Registers the canonical type `id`, `sub` as the validator has it
    /// (its type references are canonical ids). A type registered before
    /// (the same rec group in another module) is kept.
    pub fn add(&mut self, id: u32, sub: &SubType) {
        if self.types.contains_key(&id) {
            return;
        }
        let supertype = sub
            .supertype_idxs
            .first()
            .and_then(|p| p.as_core_type_id())
            .map(|c| c.index() as u32);
        let depth = supertype.map_or(0, |s| self.types.get(&s).map_or(0, |t| t.depth + 1));
        let field = |f: &wasmparser::FieldType| match f.element_type {
            StorageType::I8 => Storage::I8,
            StorageType::I16 => Storage::I16,
            StorageType::Val(t) => Storage::Val(t),
        };
        let (kind, fields, func) = match &sub.composite_type.inner {
            CompositeInnerType::Func(f) => {
                (Kind::Func, Vec::new(), Some(FuncType::from_wasmparser(f)))
            }
            CompositeInnerType::Struct(s) => {
                (Kind::Struct, s.fields.iter().map(field).collect(), None)
            }
            CompositeInnerType::Array(a) => (Kind::Array, vec![field(&a.0)], None),
            CompositeInnerType::Cont(_) => (Kind::Func, Vec::new(), None),
        };
        if let Some(s) = supertype {
            self.has_subtypes.insert(s);
        }
        self.types.insert(
            id,
            CanonType {
                kind,
                supertype,
                is_final: sub.is_final,
                depth,
                fields,
                func,
            },
        );
    }

    /// The type with canonical id `id`.
    ///
    /// # Panics
    ///
    /// When no module registered it (a compiler bug: every type a module
    /// can name is registered with it).
    pub fn get(&self, id: u32) -> &CanonType {
        self.types
            .get(&id)
            .unwrap_or_else(|| panic!("canonical type {id} is not registered"))
    }

    /// Every registered type, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &CanonType)> {
        self.types.iter().map(|(&id, t)| (id, t))
    }

    /// The largest registered id, if any.
    pub fn max_id(&self) -> Option<u32> {
        self.types.keys().next_back().copied()
    }

    /// Whether some registered type declares `id` as its supertype.
    pub fn has_subtypes(&self, id: u32) -> bool {
        self.has_subtypes.contains(&id)
    }

    /// The supertypes of `id` from the root down to `id` itself.
    pub fn display(&self, id: u32) -> Vec<u32> {
        let mut chain = vec![id];
        let mut t = id;
        while let Some(s) = self.get(t).supertype {
            chain.push(s);
            t = s;
        }
        chain.reverse();
        chain
    }

    /// Whether `a` is `b` or one of its subtypes.
    pub fn is_subtype(&self, a: u32, b: u32) -> bool {
        let mut t = Some(a);
        while let Some(x) = t {
            if x == b {
                return true;
            }
            t = self.get(x).supertype;
        }
        false
    }

    /// The kind of the type a heap type names, for a concrete one.
    pub fn concrete_kind(&self, h: HeapType) -> Option<Kind> {
        concrete_id(h).map(|id| self.get(id).kind)
    }

    /// Whether values of type `ty` may point into the GC heap, so that the
    /// collector must see them: references of the `any`, `extern` and
    /// `exn` hierarchies other than `i31` and the bottom types.
    pub fn is_gc_ref(&self, ty: ValType) -> bool {
        let ValType::Ref(r) = ty else {
            return false;
        };
        match r.heap_type() {
            HeapType::Abstract { ty, .. } => matches!(
                ty,
                AbstractHeapType::Any
                    | AbstractHeapType::Eq
                    | AbstractHeapType::Struct
                    | AbstractHeapType::Array
                    | AbstractHeapType::Extern
                    | AbstractHeapType::Exn
            ),
            h => self.concrete_kind(h) != Some(Kind::Func),
        }
    }

    /// The layout of struct type `id`.
    pub fn struct_layout(&self, id: u32) -> StructLayout {
        let mut at = STRUCT_FIELDS;
        let offsets = self
            .get(id)
            .fields
            .iter()
            .map(|f| {
                let size = f.size();
                let offset = at.next_multiple_of(size.min(8));
                at = offset + size;
                offset
            })
            .collect();
        StructLayout {
            offsets,
            size: at.next_multiple_of(OBJECT_ALIGN),
        }
    }

    /// The element storage of array type `id`.
    pub fn array_elem(&self, id: u32) -> Storage {
        self.get(id).fields[0]
    }
}

/// The canonical id of a concrete heap type in canonical form.
pub fn concrete_id(h: HeapType) -> Option<u32> {
    match h {
        HeapType::Concrete(i) | HeapType::Exact(i) => match i {
            UnpackedIndex::Id(id) => Some(id.index() as u32),
            _ => None,
        },
        HeapType::Abstract { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use cranelift_entity::EntityRef;

    use super::*;
    use crate::core::types::TypeIndex;

    fn parse(wat: &str) -> (crate::core::module::ModuleInfo<'static>, TypeRegistry) {
        let wasm: &'static [u8] = Box::leak(wat::parse_str(wat).unwrap().into_boxed_slice());
        let mut validator = wasmparser::Validator::new_with_features(crate::core::features());
        let (info, _) = crate::core::module::parse(&mut validator, wasm).unwrap();
        let mut registry = TypeRegistry::default();
        for (id, sub) in &info.canonical_types {
            registry.add(*id, sub);
        }
        (info, registry)
    }

    #[test]
    fn struct_fields_are_naturally_aligned_after_the_header() {
        let (info, registry) =
            parse("(module (type (struct (field i8) (field i64) (field i16) (field anyref))))");
        let id = info.type_id(TypeIndex::new(0));
        let layout = registry.struct_layout(id);
        assert_eq!(layout.offsets, [8, 16, 24, 32]);
        assert_eq!(layout.size, 40);
        assert!(registry.is_gc_ref(registry.get(id).fields[3].unpacked()));
    }

    #[test]
    fn subtypes_have_deeper_displays_and_share_prefix_layouts() {
        let (info, registry) = parse(
            "(module
               (type $a (sub (struct (field i32))))
               (type $b (sub $a (struct (field i32) (field f64))))
               (type $c (sub final $b (struct (field i32) (field f64) (field i8)))))",
        );
        let id = |i| info.type_id(TypeIndex::new(i));
        let (a, b, c) = (id(0), id(1), id(2));
        assert_eq!(registry.get(c).depth, 2);
        assert_eq!(registry.display(c), [a, b, c]);
        assert!(registry.is_subtype(c, a) && registry.is_subtype(b, a));
        assert!(!registry.is_subtype(a, b));
        assert!(registry.has_subtypes(a) && !registry.has_subtypes(c));
        assert_eq!(
            registry.struct_layout(b).offsets,
            registry.struct_layout(c).offsets[..2]
        );
    }
}
