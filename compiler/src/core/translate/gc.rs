//! Garbage collection instructions: structs, arrays, `i31`, `ref.eq`,
//! casts and the extern/any conversions.
//!
//! Objects are laid out as `smelt_abi::gc` describes, references tagged as
//! it says. An access through a null reference traps by the fault of the
//! access itself when the field is within the first page (the access is a
//! trap site), and by an explicit test otherwise. Array accesses compare
//! the index with the length. Casts test the reference's tag bits, then the
//! object's header, then, only when the target type has subtypes in the
//! program, the subtype display of the object's type in the type table
//! (`smelt_abi::gc::VMTypeInfo`).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I32, I64};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlagsData, Value};
use smelt_abi::builtins::Builtin;
use smelt_abi::gc::{
    ARRAY_ELEMS, ARRAY_LENGTH, HEADER_KIND_SHIFT, ObjectKind, TYPE_DEPTH, TYPE_DISPLAY,
    TYPE_INFO_SIZE, header,
};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{SEGMENT_LEN, SEGMENT_PTR};
use wasmparser::{AbstractHeapType, HeapType, Operator, RefType};

use super::{FuncTranslator, block_args, trap};
use crate::core::env::POINTER;
use crate::core::gc_types::{Kind, Storage};
use crate::core::heap;
use crate::core::types::*;
use crate::error::Result;

/// Largest field offset whose access through a null reference is sure to
/// fault (in the unmapped page at address 0).
const NULL_PAGE: u32 = 4096;

/// The segment an `array.new_*` or `array.init_*` reads.
#[derive(Clone, Copy)]
enum Segment {
    /// A data segment, for an array of elements of this many bytes.
    Data(u32),
    /// An element segment (references, 8 bytes each).
    Elem,
}

impl FuncTranslator<'_, '_> {
    /// Translates `op` if it is a GC instruction; returns whether it was.
    pub(super) fn translate_gc(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator::*;
        match *op {
            StructNew { struct_type_index } => {
                let id = self.canonical(struct_type_index);
                let fields = self.env.registry.get(id).fields.clone();
                let values = self.popn(fields.len());
                let layout = self.env.registry.struct_layout(id);
                let obj = self.alloc_fixed(layout.size, header(id, ObjectKind::Struct));
                for ((&v, &storage), &offset) in values.iter().zip(&fields).zip(&layout.offsets) {
                    self.store_field(storage, v, obj, offset, None);
                }
                self.push(obj);
            }
            StructNewDefault { struct_type_index } => {
                let id = self.canonical(struct_type_index);
                let layout = self.env.registry.struct_layout(id);
                let obj = self.alloc_fixed(layout.size, header(id, ObjectKind::Struct));
                self.push(obj);
            }
            StructGet {
                struct_type_index,
                field_index,
            }
            | StructGetS {
                struct_type_index,
                field_index,
            }
            | StructGetU {
                struct_type_index,
                field_index,
            } => {
                let signed = matches!(op, StructGetS { .. });
                let id = self.canonical(struct_type_index);
                let storage = self.env.registry.get(id).fields[field_index as usize];
                let offset = self.env.registry.struct_layout(id).offsets[field_index as usize];
                let obj = self.pop();
                let code = self.null_check(obj, offset, TrapCode::NullStructReference);
                let v = self.load_field(storage, obj, offset, signed, code);
                self.push(v);
            }
            StructSet {
                struct_type_index,
                field_index,
            } => {
                let id = self.canonical(struct_type_index);
                let storage = self.env.registry.get(id).fields[field_index as usize];
                let offset = self.env.registry.struct_layout(id).offsets[field_index as usize];
                let (obj, v) = self.pop2();
                let code = self.null_check(obj, offset, TrapCode::NullStructReference);
                self.store_field(storage, v, obj, offset, code);
            }
            ArrayNew { array_type_index } => {
                let id = self.canonical(array_type_index);
                let (value, len) = self.pop2();
                let arr = self.alloc_array(id, len);
                let storage = self.env.registry.array_elem(id);
                let zero = self.builder.ins().iconst(I32, 0);
                heap::fill(&mut self.builder, arr, storage, zero, value, len);
                self.push(arr);
            }
            ArrayNewDefault { array_type_index } => {
                let id = self.canonical(array_type_index);
                let len = self.pop();
                let arr = self.alloc_array(id, len);
                self.push(arr);
            }
            ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let id = self.canonical(array_type_index);
                let values = self.popn(array_size as usize);
                let len = self.builder.ins().iconst(I32, i64::from(array_size));
                let arr = self.alloc_array(id, len);
                let storage = self.env.registry.array_elem(id);
                for (i, &v) in values.iter().enumerate() {
                    let offset = ARRAY_ELEMS + i as u32 * storage.size();
                    self.store_field(storage, v, arr, offset, None);
                }
                self.push(arr);
            }
            ArrayNewData {
                array_type_index,
                array_data_index,
            } => {
                let id = self.canonical(array_type_index);
                let (offset, len) = self.pop2();
                let at = self
                    .env
                    .offsets
                    .data_segment(DataIndex::from_u32(array_data_index));
                let esize = self.env.registry.array_elem(id).size();
                self.segment_check(at, offset, len, Segment::Data(esize));
                let arr = self.alloc_array(id, len);
                let zero = self.builder.ins().iconst(I32, 0);
                self.copy_from_segment(arr, zero, at, offset, len, Segment::Data(esize));
                self.push(arr);
            }
            ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => {
                let id = self.canonical(array_type_index);
                let (offset, len) = self.pop2();
                let at = self
                    .env
                    .offsets
                    .elem_segment(ElemIndex::from_u32(array_elem_index));
                self.segment_check(at, offset, len, Segment::Elem);
                let arr = self.alloc_array(id, len);
                let zero = self.builder.ins().iconst(I32, 0);
                self.copy_from_segment(arr, zero, at, offset, len, Segment::Elem);
                self.push(arr);
            }
            ArrayGet { array_type_index }
            | ArrayGetS { array_type_index }
            | ArrayGetU { array_type_index } => {
                let signed = matches!(op, ArrayGetS { .. });
                let id = self.canonical(array_type_index);
                let storage = self.env.registry.array_elem(id);
                let (arr, index) = self.pop2();
                let addr = self.element_addr(arr, index, storage.size());
                let v = self.load_field(storage, addr, ARRAY_ELEMS, signed, None);
                self.push(v);
            }
            ArraySet { array_type_index } => {
                let id = self.canonical(array_type_index);
                let storage = self.env.registry.array_elem(id);
                let (arr, index, v) = self.pop3();
                let addr = self.element_addr(arr, index, storage.size());
                self.store_field(storage, v, addr, ARRAY_ELEMS, None);
            }
            ArrayLen => {
                let arr = self.pop();
                let len = self.array_len(arr);
                self.push(len);
            }
            ArrayFill { array_type_index } => {
                let id = self.canonical(array_type_index);
                let storage = self.env.registry.array_elem(id);
                let n = self.pop();
                let (arr, offset, value) = self.pop3();
                self.range_check(arr, offset, n);
                heap::fill(&mut self.builder, arr, storage, offset, value, n);
            }
            ArrayCopy {
                array_type_index_dst,
                array_type_index_src: _,
            } => {
                let id = self.canonical(array_type_index_dst);
                let esize = self.env.registry.array_elem(id).size();
                let n = self.pop();
                let (src, src_offset) = self.pop2();
                let (dst, dst_offset) = self.pop2();
                self.range_check(dst, dst_offset, n);
                self.range_check(src, src_offset, n);
                let dst_addr = self.elements_at(dst, dst_offset, esize);
                let src_addr = self.elements_at(src, src_offset, esize);
                let bytes = self.scaled(n, esize);
                self.builder
                    .call_memmove(self.env.frontend_config, dst_addr, src_addr, bytes);
            }
            ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let id = self.canonical(array_type_index);
                let esize = self.env.registry.array_elem(id).size();
                let n = self.pop();
                let (arr, dst, src) = self.pop3();
                self.range_check(arr, dst, n);
                let at = self
                    .env
                    .offsets
                    .data_segment(DataIndex::from_u32(array_data_index));
                self.segment_check(at, src, n, Segment::Data(esize));
                self.copy_from_segment(arr, dst, at, src, n, Segment::Data(esize));
            }
            ArrayInitElem {
                array_type_index,
                array_elem_index,
            } => {
                let _ = self.canonical(array_type_index);
                let n = self.pop();
                let (arr, dst, src) = self.pop3();
                self.range_check(arr, dst, n);
                let at = self
                    .env
                    .offsets
                    .elem_segment(ElemIndex::from_u32(array_elem_index));
                self.segment_check(at, src, n, Segment::Elem);
                self.copy_from_segment(arr, dst, at, src, n, Segment::Elem);
            }
            RefI31 => {
                let v = self.pop();
                let shifted = self.builder.ins().ishl_imm_u(v, 1);
                let tagged = self.builder.ins().bor_imm_u(shifted, 1);
                let r = self.builder.ins().uextend(I64, tagged);
                self.push(r);
            }
            I31GetS | I31GetU => {
                let r = self.pop();
                self.builder
                    .ins()
                    .trapz(r, trap(TrapCode::NullI31Reference));
                let low = self.builder.ins().ireduce(I32, r);
                let v = if matches!(op, I31GetS) {
                    self.builder.ins().sshr_imm_u(low, 1)
                } else {
                    self.builder.ins().ushr_imm_u(low, 1)
                };
                self.push(v);
            }
            RefEq => {
                let (a, b) = self.pop2();
                let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
                let v = self.builder.ins().uextend(I32, eq);
                self.push(v);
            }
            AnyConvertExtern | ExternConvertAny => {}
            RefTestNonNull { hty } | RefTestNullable { hty } => {
                let nullable = matches!(op, RefTestNullable { .. });
                let r = self.pop();
                let ok = self.ref_test(r, hty, nullable);
                let v = self.builder.ins().uextend(I32, ok);
                self.push(v);
            }
            RefCastNonNull { hty } | RefCastNullable { hty } => {
                let nullable = matches!(op, RefCastNullable { .. });
                let r = *self.stack.last().expect("validated");
                let ok = self.ref_test(r, hty, nullable);
                self.builder.ins().trapz(ok, trap(TrapCode::CastFailure));
            }
            BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let on_fail = matches!(op, BrOnCastFail { .. });
                self.br_on_cast(relative_depth, to_ref_type, on_fail);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The canonical id of type `index` of the module.
    fn canonical(&self, index: u32) -> u32 {
        self.env.info.type_id(TypeIndex::from_u32(index))
    }

    /// Allocates an object of the constant size `size` with header
    /// `header`.
    pub(super) fn alloc_fixed(&mut self, size: u32, header: u64) -> Value {
        let size = self.builder.ins().iconst(I64, i64::from(size));
        self.alloc(size, header)
    }

    /// Allocates an object of `size` bytes (an `i64`, a multiple of 8).
    fn alloc(&mut self, size: Value, header: u64) -> Value {
        let header = self.builder.ins().iconst(I64, header as i64);
        let gc_alloc = self.builtin(Builtin::gc_alloc);
        heap::alloc(&mut self.builder, self.vmctx, gc_alloc, size, header)
    }

    /// Allocates an array of type `id` with `len` (an `i32`) zeroed
    /// elements.
    fn alloc_array(&mut self, id: u32, len: Value) -> Value {
        let gc_alloc = self.builtin(Builtin::gc_alloc);
        heap::alloc_array(
            &mut self.builder,
            self.vmctx,
            gc_alloc,
            self.env.registry,
            id,
            len,
        )
    }

    /// `n` (an `i32`) times `size`, as an `i64`.
    fn scaled(&mut self, n: Value, size: u32) -> Value {
        heap::scaled(&mut self.builder, n, size)
    }

    /// Makes sure that an access at `offset` through `obj` traps with `code`
    /// when `obj` is null: returns the trap code to give the access (it
    /// faults), or tests explicitly for a field past the first page.
    fn null_check(&mut self, obj: Value, offset: u32, code: TrapCode) -> Option<TrapCode> {
        if offset < NULL_PAGE {
            Some(code)
        } else {
            self.builder.ins().trapz(obj, trap(code));
            None
        }
    }

    /// Flags of an object access that traps with `code` when it faults.
    fn object_flags(code: Option<TrapCode>) -> MemFlagsData {
        match code {
            Some(code) => MemFlagsData::new().with_trap_code(Some(trap(code))),
            None => MemFlagsData::new().with_notrap(),
        }
    }

    /// Loads a field of storage type `storage` at `base + offset`.
    fn load_field(
        &mut self,
        storage: Storage,
        base: Value,
        offset: u32,
        signed: bool,
        code: Option<TrapCode>,
    ) -> Value {
        let flags = Self::object_flags(code);
        let ins = self.builder.ins();
        match (storage, signed) {
            (Storage::I8, true) => ins.sload8(I32, flags, base, offset as i32),
            (Storage::I8, false) => ins.uload8(I32, flags, base, offset as i32),
            (Storage::I16, true) => ins.sload16(I32, flags, base, offset as i32),
            (Storage::I16, false) => ins.uload16(I32, flags, base, offset as i32),
            (Storage::Val(t), _) => ins.load(ir_type(t), flags, base, offset as i32),
        }
    }

    /// Stores `v` into a field of storage type `storage` at `base + offset`.
    fn store_field(
        &mut self,
        storage: Storage,
        v: Value,
        base: Value,
        offset: u32,
        code: Option<TrapCode>,
    ) {
        let flags = Self::object_flags(code);
        heap::store_field(&mut self.builder, storage, v, base, offset, flags);
    }

    /// The length of array `arr` (an `i32`), trapping when `arr` is null.
    fn array_len(&mut self, arr: Value) -> Value {
        let flags = Self::object_flags(Some(TrapCode::NullArrayReference));
        self.builder
            .ins()
            .load(I32, flags, arr, ARRAY_LENGTH as i32)
    }

    /// The address of element `index` of `arr` minus [`ARRAY_ELEMS`],
    /// trapping when `arr` is null or `index` is out of bounds.
    fn element_addr(&mut self, arr: Value, index: Value, esize: u32) -> Value {
        let len = self.array_len(arr);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(oob, TrapCode::ArrayOutOfBounds);
        let scaled = self.scaled(index, esize);
        self.builder.ins().iadd(arr, scaled)
    }

    /// The address of element `index` (an `i32`) of `arr`.
    fn elements_at(&mut self, arr: Value, index: Value, esize: u32) -> Value {
        let scaled = self.scaled(index, esize);
        let addr = self.builder.ins().iadd(arr, scaled);
        self.builder.ins().iadd_imm_u(addr, i64::from(ARRAY_ELEMS))
    }

    /// Traps unless `offset + n` (`i32`s) is within the length of `arr`,
    /// and when `arr` is null.
    fn range_check(&mut self, arr: Value, offset: Value, n: Value) {
        let len = self.array_len(arr);
        let len = self.builder.ins().uextend(I64, len);
        let offset = self.builder.ins().uextend(I64, offset);
        let n = self.builder.ins().uextend(I64, n);
        let end = self.builder.ins().iadd(offset, n);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, len);
        self.trap_if(oob, TrapCode::ArrayOutOfBounds);
    }

    /// Traps unless `n` (an `i32`) array elements from item `offset` (an
    /// `i32`: a byte of a data segment, a reference of an element segment)
    /// are within the segment whose `VMSegment` is at `at` in the vmctx:
    /// "out of bounds memory access" for a data segment, "out of bounds
    /// table access" for an element segment.
    fn segment_check(&mut self, at: u32, offset: Value, n: Value, segment: Segment) {
        let seg_len =
            self.builder
                .ins()
                .load(I64, Self::trusted(), self.vmctx, (at + SEGMENT_LEN) as i32);
        let offset = self.builder.ins().uextend(I64, offset);
        let (count, code) = match segment {
            Segment::Data(esize) => (self.scaled(n, esize), TrapCode::MemoryOutOfBounds),
            Segment::Elem => (
                self.builder.ins().uextend(I64, n),
                TrapCode::TableOutOfBounds,
            ),
        };
        let end = self.builder.ins().iadd(offset, count);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, seg_len);
        self.trap_if(oob, code);
    }

    /// Copies `n` elements from the segment whose `VMSegment` is at `at`
    /// (from item `src`) into `arr` from element `dst` (`i32`s).
    fn copy_from_segment(
        &mut self,
        arr: Value,
        dst: Value,
        at: u32,
        src: Value,
        n: Value,
        segment: Segment,
    ) {
        let seg_ptr = self.builder.ins().load(
            POINTER,
            Self::trusted(),
            self.vmctx,
            (at + SEGMENT_PTR) as i32,
        );
        let (src, esize) = match segment {
            Segment::Data(esize) => (self.builder.ins().uextend(I64, src), esize),
            Segment::Elem => (self.scaled(src, 8), 8),
        };
        let src_addr = self.builder.ins().iadd(seg_ptr, src);
        let dst_addr = self.elements_at(arr, dst, esize);
        let bytes = self.scaled(n, esize);
        self.builder
            .call_memcpy(self.env.frontend_config, dst_addr, src_addr, bytes);
    }

    /// `br_on_cast` (or `br_on_cast_fail`) to `depth`.
    fn br_on_cast(&mut self, depth: u32, to: RefType, on_fail: bool) {
        let r = *self.stack.last().expect("validated");
        let ok = self.ref_test(r, to.heap_type(), to.is_nullable());
        let (target, n) = self.branch_to(depth);
        let args = block_args(self.peekn(n));
        let next = self.builder.create_block();
        if on_fail {
            self.builder.ins().brif(ok, next, &[], target, &args);
        } else {
            self.builder.ins().brif(ok, target, &args, next, &[]);
        }
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
    }

    /// Whether reference `r` is of type `(ref null? hty)`: an `i8`.
    pub(super) fn ref_test(&mut self, r: Value, hty: HeapType, nullable: bool) -> Value {
        let done = self.builder.create_block();
        self.builder.append_block_param(done, I8);
        let non_null = self.builder.create_block();
        let if_null = self.builder.ins().iconst(I8, i64::from(nullable));
        self.builder
            .ins()
            .brif(r, non_null, &[], done, &[BlockArg::Value(if_null)]);
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        let ok = self.test_non_null(r, hty);
        self.builder.ins().jump(done, &[BlockArg::Value(ok)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        self.builder.block_params(done)[0]
    }

    /// Whether non-null reference `r` is of heap type `hty`: an `i8`. May
    /// end in another block than it started.
    fn test_non_null(&mut self, r: Value, hty: HeapType) -> Value {
        use AbstractHeapType as A;
        let concrete = self.env.info.heap_type_id(hty);
        match hty {
            HeapType::Abstract { ty, .. } => match ty {
                A::Any | A::Extern | A::Func | A::Exn | A::Cont => self.const_bool(true),
                A::None | A::NoExtern | A::NoFunc | A::NoExn | A::NoCont => self.const_bool(false),
                A::Eq => {
                    // i31 or an object: not a host value (tag 0b10).
                    let tag = self.builder.ins().band_imm_u(r, 3);
                    self.builder.ins().icmp_imm_u(IntCC::NotEqual, tag, 2)
                }
                A::I31 => {
                    let bit = self.builder.ins().band_imm_u(r, 1);
                    self.builder.ins().icmp_imm_u(IntCC::NotEqual, bit, 0)
                }
                A::Struct => self.test_object(r, |t, h| t.test_kind(h, ObjectKind::Struct)),
                A::Array => self.test_object(r, |t, h| t.test_kind(h, ObjectKind::Array)),
            },
            _ => {
                let id = concrete.expect("validated: a concrete heap type of the module");
                match self.env.registry.get(id).kind {
                    Kind::Func => {
                        let actual = self.builder.ins().load(
                            I32,
                            Self::trusted().with_readonly(),
                            r,
                            smelt_abi::vm::FUNCREF_TYPE_ID as i32,
                        );
                        self.is_subtype(actual, id)
                    }
                    Kind::Struct | Kind::Array => self.test_object(r, move |t, h| {
                        let actual = t.builder.ins().ireduce(I32, h);
                        t.is_subtype(actual, id)
                    }),
                }
            }
        }
    }

    fn const_bool(&mut self, v: bool) -> Value {
        self.builder.ins().iconst(I8, i64::from(v))
    }

    /// Whether `r` (non-null, of the `any` hierarchy) is an object whose
    /// header passes `test`: an `i8`.
    fn test_object(&mut self, r: Value, test: impl FnOnce(&mut Self, Value) -> Value) -> Value {
        let done = self.builder.create_block();
        self.builder.append_block_param(done, I8);
        let object = self.builder.create_block();
        let tag = self.builder.ins().band_imm_u(r, 3);
        let no = self.const_bool(false);
        self.builder
            .ins()
            .brif(tag, done, &[BlockArg::Value(no)], object, &[]);
        self.builder.seal_block(object);
        self.builder.switch_to_block(object);
        let h = self
            .builder
            .ins()
            .load(I64, Self::trusted().with_readonly(), r, 0);
        let ok = test(self, h);
        self.builder.ins().jump(done, &[BlockArg::Value(ok)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        self.builder.block_params(done)[0]
    }

    /// Whether header `h` is of an object of kind `kind`: an `i8`.
    fn test_kind(&mut self, h: Value, kind: ObjectKind) -> Value {
        let k = self
            .builder
            .ins()
            .ushr_imm_u(h, i64::from(HEADER_KIND_SHIFT));
        let k = self.builder.ins().band_imm_u(k, 0xff);
        self.builder.ins().icmp_imm_u(IntCC::Equal, k, kind as i64)
    }

    /// Whether canonical type id `actual` (an `i32`) is `target` or one of
    /// its subtypes: an `i8`. A target without subtypes in the program is
    /// compared for equality; otherwise the object's type's display in the
    /// type table is read.
    pub(super) fn is_subtype(&mut self, actual: Value, target: u32) -> Value {
        let eq = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, actual, i64::from(target));
        if !self.env.registry.has_subtypes(target) {
            return eq;
        }
        let done = self.builder.create_block();
        self.builder.append_block_param(done, I8);
        let search = self.builder.create_block();
        self.builder
            .ins()
            .brif(eq, done, &[BlockArg::Value(eq)], search, &[]);
        self.builder.seal_block(search);
        self.builder.switch_to_block(search);
        let depth = self.env.registry.get(target).depth;
        let table = self.type_table();
        let index = self.builder.ins().uextend(I64, actual);
        let scaled = self
            .builder
            .ins()
            .imul_imm_u(index, i64::from(TYPE_INFO_SIZE));
        let info = self.builder.ins().iadd(table, scaled);
        let flags = Self::trusted().with_readonly();
        let actual_depth = self.builder.ins().load(I32, flags, info, TYPE_DEPTH as i32);
        let deep_enough = self.builder.ins().icmp_imm_u(
            IntCC::UnsignedGreaterThanOrEqual,
            actual_depth,
            i64::from(depth),
        );
        let check = self.builder.create_block();
        self.builder.ins().brif(
            deep_enough,
            check,
            &[],
            done,
            &[BlockArg::Value(deep_enough)],
        );
        self.builder.seal_block(check);
        self.builder.switch_to_block(check);
        let display = self
            .builder
            .ins()
            .load(POINTER, flags, info, TYPE_DISPLAY as i32);
        let entry = self
            .builder
            .ins()
            .load(I32, flags, display, (4 * depth) as i32);
        let ok = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, entry, i64::from(target));
        self.builder.ins().jump(done, &[BlockArg::Value(ok)]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        self.builder.block_params(done)[0]
    }

    /// The address of the program's type table.
    fn type_table(&mut self) -> Value {
        let name = self
            .builder
            .func
            .declare_imported_user_function(ir::UserExternalName::new(
                1,
                self.env.types_data.as_u32(),
            ));
        let gv = self
            .builder
            .create_global_value(ir::GlobalValueData::Symbol {
                name: ir::ExternalName::user(name),
                offset: 0.into(),
                colocated: true,
                tls: false,
            });
        self.builder.ins().symbol_value(POINTER, gv)
    }
}
