//! Allocating GC objects from generated code (guest functions and
//! instantiation functions alike).
//!
//! The fast path bumps the store's `gc_next` up to `gc_limit`
//! (`smelt_abi::vm::VMStoreContext`): the allocation area is zeroed, so a
//! new object only needs its header. When the area is full, the cold path
//! calls the `gc_alloc` built-in through its exit stub, which may collect
//! (moving objects: every reference live across the call is in a stack map
//! and reloaded after it) and returns zeroed memory, or 0 when the heap
//! cannot grow.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{STORE_GC_LIMIT, STORE_GC_NEXT, VMCTX_STORE};

use smelt_abi::gc::{self, ARRAY_ELEMS, ARRAY_LENGTH, ObjectKind};

use super::env::POINTER;
use super::gc_types::{Storage, TypeRegistry};
use super::translate::trap;

/// Allocates an object of `size` bytes (an `i64`, a multiple of 8) with
/// header `header` (an `i64`); `gc_alloc` is the imported exit stub of the
/// `gc_alloc` built-in. Returns the object's address.
pub fn alloc(
    b: &mut FunctionBuilder<'_>,
    vmctx: Value,
    gc_alloc: ir::FuncRef,
    size: Value,
    header: Value,
) -> Value {
    let flags = MemFlagsData::trusted();
    let store = b.ins().load(
        POINTER,
        flags.with_readonly().with_can_move(),
        vmctx,
        VMCTX_STORE as i32,
    );
    let next = b.ins().load(POINTER, flags, store, STORE_GC_NEXT as i32);
    let limit = b.ins().load(POINTER, flags, store, STORE_GC_LIMIT as i32);
    let end = b.ins().iadd(next, size);
    // `end` cannot wrap: sizes are below 2^40 and addresses below 2^48.
    let full = b.ins().icmp(IntCC::UnsignedGreaterThan, end, limit);
    let fast = b.create_block();
    let slow = b.create_block();
    let done = b.create_block();
    b.append_block_param(done, POINTER);
    b.ins().brif(full, slow, &[], fast, &[]);
    b.seal_block(fast);
    b.seal_block(slow);
    b.set_cold_block(slow);

    b.switch_to_block(fast);
    b.ins().store(flags, end, store, STORE_GC_NEXT as i32);
    b.ins().jump(done, &[ir::BlockArg::Value(next)]);

    b.switch_to_block(slow);
    let call = b.ins().call(gc_alloc, &[size]);
    let obj = b.inst_results(call)[0];
    b.ins().trapz(obj, trap(TrapCode::GcHeapExhausted));
    b.ins().jump(done, &[ir::BlockArg::Value(obj)]);

    b.seal_block(done);
    b.switch_to_block(done);
    let obj = b.block_params(done)[0];
    b.ins().store(flags, header, obj, 0);
    obj
}

/// Stores `v` as a field of storage type `storage` at `base + offset`
/// (`flags` say how the access may trap).
pub fn store_field(
    b: &mut FunctionBuilder<'_>,
    storage: Storage,
    v: Value,
    base: Value,
    offset: u32,
    flags: MemFlagsData,
) {
    match storage {
        Storage::I8 => b.ins().istore8(flags, v, base, offset as i32),
        Storage::I16 => b.ins().istore16(flags, v, base, offset as i32),
        Storage::Val(_) => b.ins().store(flags, v, base, offset as i32),
    };
}

/// `n` (an `i32`) times `size` (a power of two), as an `i64`.
pub fn scaled(b: &mut FunctionBuilder<'_>, n: Value, size: u32) -> Value {
    let n = b.ins().uextend(I64, n);
    b.ins().ishl_imm_u(n, i64::from(size.trailing_zeros()))
}

/// Allocates an array of type `id` with `len` (an `i32`) zeroed
/// elements.
pub fn alloc_array(
    b: &mut FunctionBuilder<'_>,
    vmctx: Value,
    gc_alloc: ir::FuncRef,
    registry: &TypeRegistry,
    id: u32,
    len: Value,
) -> Value {
    let esize = registry.array_elem(id).size();
    let bytes = scaled(b, len, esize);
    let size = b.ins().iadd_imm_u(bytes, i64::from(ARRAY_ELEMS + 7));
    let size = b.ins().band_imm_s(size, -8);
    let header = b
        .ins()
        .iconst(I64, gc::header(id, ObjectKind::Array) as i64);
    let arr = alloc(b, vmctx, gc_alloc, size, header);
    b.ins()
        .store(MemFlagsData::trusted(), len, arr, ARRAY_LENGTH as i32);
    arr
}

/// Stores `value` into the `n` (an `i32`) elements of `storage` type of
/// array `arr` from element `offset` (an `i32`), in a loop.
pub fn fill(
    b: &mut FunctionBuilder<'_>,
    arr: Value,
    storage: Storage,
    offset: Value,
    value: Value,
    n: Value,
) {
    let esize = storage.size();
    let skip = scaled(b, offset, esize);
    let start = b.ins().iadd(arr, skip);
    let start = b.ins().iadd_imm_u(start, i64::from(ARRAY_ELEMS));
    let bytes = scaled(b, n, esize);
    let end = b.ins().iadd(start, bytes);
    let header = b.create_block();
    let body = b.create_block();
    let done = b.create_block();
    b.append_block_param(header, POINTER);
    b.ins().jump(header, &[ir::BlockArg::Value(start)]);
    b.switch_to_block(header);
    let at = b.block_params(header)[0];
    let more = b.ins().icmp(IntCC::UnsignedLessThan, at, end);
    b.ins().brif(more, body, &[], done, &[]);
    b.switch_to_block(body);
    b.seal_block(body);
    store_field(b, storage, value, at, 0, MemFlagsData::new().with_notrap());
    let next = b.ins().iadd_imm_u(at, i64::from(esize));
    b.ins().jump(header, &[ir::BlockArg::Value(next)]);
    b.seal_block(header);
    b.switch_to_block(done);
    b.seal_block(done);
}
