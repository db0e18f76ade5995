//! Linear memory instructions: loads, stores, `memory.*`, `data.drop`.
//!
//! # Bounds checks
//!
//! A memory's base address never changes (see `smelt_abi::vm::
//! VMMemoryDefinition`), so it is loaded with a read-only, movable load
//! that Cranelift shares across a function and hoists out of loops.
//!
//! For a 32-bit memory, the runtime reserves
//! `MEMORY32_RESERVATION` bytes (8 GiB) with everything past the current
//! length inaccessible. `zext(index) + offset + size` is below
//! 2^32 + 2^32 for every memory32 access, so it always lands inside the
//! reservation: an out-of-bounds access faults on a guard page and no
//! instruction checks bounds. For a 64-bit memory the end of the access is
//! computed with an overflow check and compared with the current length.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I32, I64};
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value};
use smelt_abi::builtins::Builtin;
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{MEMORY_BASE, MEMORY_LENGTH, MEMORY32_RESERVATION, SEGMENT_LEN};
use wasmparser::{MemArg, MemArgTarget, Operator};

use super::{FuncTranslator, trap};
use crate::core::env::POINTER;
use crate::core::offsets::Place;
use crate::core::types::*;
use crate::core::vmctx;
use crate::error::Result;

/// The kind of a load or store.
#[derive(Clone, Copy)]
enum Access {
    /// A load of `ty` from `size` bytes, sign- or zero-extended.
    Load {
        ty: ir::Type,
        size: u8,
        signed: bool,
    },
    /// A store of the low `size` bytes.
    Store { size: u8 },
}

impl FuncTranslator<'_, '_> {
    /// The address of memory `m`'s `VMMemoryDefinition`.
    pub(super) fn memory_def(&mut self, m: MemoryIndex) -> Value {
        vmctx::memory_def(&mut self.builder, self.env, self.vmctx, m)
    }

    /// The base address of memory `m` (never changes).
    pub(super) fn memory_base(&mut self, m: MemoryIndex) -> Value {
        let flags = Self::trusted().with_readonly().with_can_move();
        match self.env.offsets.memory(m) {
            Place::Inline(o) => self.load_vmctx_readonly(POINTER, o + MEMORY_BASE),
            Place::Indirect(o) => {
                let def = self.load_vmctx_readonly(POINTER, o);
                self.builder
                    .ins()
                    .load(POINTER, flags, def, MEMORY_BASE as i32)
            }
        }
    }

    /// The current length of memory `m` in bytes.
    pub(super) fn memory_length(&mut self, m: MemoryIndex) -> Value {
        let def = self.memory_def(m);
        self.builder
            .ins()
            .load(I64, Self::trusted(), def, MEMORY_LENGTH as i32)
    }

    /// The native address of the `len` bytes at `index` in memory `m`
    /// (both `i64`, zero-extended for a 32-bit memory), trapping with
    /// `MemoryOutOfBounds` unless all of them are accessible: the bounds
    /// check of `memory.copy` and `memory.fill`, done before any byte is
    /// written, as the spec requires.
    fn checked_range(&mut self, m: MemoryIndex, index: Value, len: Value) -> Value {
        let length = if self.is_shared(m) {
            self.shared_memory_length(m)
        } else {
            self.memory_length(m)
        };
        // Two zero-extended 32-bit values cannot overflow 64 bits.
        let may_overflow = self.is_memory64(m);
        self.trap_unless_within(index, len, length, may_overflow);
        let base = self.memory_base(m);
        self.builder.ins().iadd(base, index)
    }

    /// Traps with `MemoryOutOfBounds` unless `start + len` (`i64`s) is at
    /// most `length` (the memory's length in bytes, `i64`): the explicit
    /// bounds check of every access. Where `may_overflow`, a sum that
    /// overflows 64 bits traps too; otherwise the caller knows it cannot.
    pub(super) fn trap_unless_within(
        &mut self,
        start: Value,
        len: Value,
        length: Value,
        may_overflow: bool,
    ) {
        let end = if may_overflow {
            self.builder
                .ins()
                .uadd_overflow_trap(start, len, trap(TrapCode::MemoryOutOfBounds))
        } else {
            self.builder.ins().iadd(start, len)
        };
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, length);
        self.trap_if(oob, TrapCode::MemoryOutOfBounds);
    }

    pub(super) fn is_memory64(&self, m: MemoryIndex) -> bool {
        self.env.info.memories[m].memory64
    }

    /// Pops an index and computes the native address of an access of
    /// `size` bytes at `memarg`, with the bounds check the memory needs.
    /// Returns the address and the immediate offset to add to it.
    pub(super) fn effective_address(&mut self, memarg: &MemArg, size: u8) -> Result<(Value, i32)> {
        let MemArgTarget::Memory(m) = memarg.target else {
            return self.unsupported("array accesses (GC proposal)");
        };
        let m = MemoryIndex::from_u32(m);
        let index = self.pop();
        let index = self.extend_to_i64(index);
        let offset = memarg.offset;
        let end_offset = offset.checked_add(u64::from(size));
        let covered_by_guard = !self.is_memory64(m)
            && end_offset.is_some_and(|end| {
                (u64::from(u32::MAX)).saturating_add(end) <= MEMORY32_RESERVATION
            });
        if !covered_by_guard {
            let length = self.memory_length(m);
            match end_offset {
                Some(end_offset) => {
                    let k = self.builder.ins().iconst(I64, end_offset as i64);
                    self.trap_unless_within(index, k, length, true);
                }
                None => {
                    self.builder.ins().trap(trap(TrapCode::MemoryOutOfBounds));
                }
            }
        }
        let base = self.memory_base(m);
        let mut addr = self.builder.ins().iadd(base, index);
        let imm = match i32::try_from(offset) {
            Ok(imm) => imm,
            Err(_) => {
                addr = self.builder.ins().iadd_imm_u(addr, offset as i64);
                0
            }
        };
        Ok((addr, imm))
    }

    /// Flags of a wasm heap access: may trap (out of bounds), little-endian
    /// (every smelt target is), possibly unaligned.
    pub(super) fn heap_flags() -> MemFlagsData {
        MemFlagsData::new()
    }

    fn access(&mut self, memarg: &MemArg, access: Access) -> Result<()> {
        match access {
            Access::Load { ty, size, signed } => {
                let (addr, imm) = self.effective_address(memarg, size)?;
                let flags = Self::heap_flags();
                let ins = self.builder.ins();
                let v = match (size, signed) {
                    (1, true) => ins.sload8(ty, flags, addr, imm),
                    (1, false) => ins.uload8(ty, flags, addr, imm),
                    (2, true) => ins.sload16(ty, flags, addr, imm),
                    (2, false) => ins.uload16(ty, flags, addr, imm),
                    (4, true) if ty == I64 => ins.sload32(flags, addr, imm),
                    (4, false) if ty == I64 => ins.uload32(flags, addr, imm),
                    _ => ins.load(ty, flags, addr, imm),
                };
                self.push(v);
            }
            Access::Store { size } => {
                let value = self.pop();
                let (addr, imm) = self.effective_address(memarg, size)?;
                let flags = Self::heap_flags();
                let ty = self.builder.func.dfg.value_type(value);
                let ins = self.builder.ins();
                match size {
                    1 => ins.istore8(flags, value, addr, imm),
                    2 => ins.istore16(flags, value, addr, imm),
                    4 if ty == I64 => ins.istore32(flags, value, addr, imm),
                    _ => ins.store(flags, value, addr, imm),
                };
            }
        }
        Ok(())
    }

    /// Converts an i64 result of a memory or table built-in to the index
    /// type (`-1` stays all ones).
    pub(super) fn index_result(&mut self, v: Value, index64: bool) -> Value {
        if index64 {
            v
        } else {
            self.builder.ins().ireduce(I32, v)
        }
    }

    /// Translates `op` if it is a memory instruction; returns whether it
    /// was.
    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator::*;
        let load = |ty, size, signed| Access::Load { ty, size, signed };
        let store = |size| Access::Store { size };
        match *op {
            I32Load { memarg } => self.access(&memarg, load(I32, 4, false))?,
            I64Load { memarg } => self.access(&memarg, load(I64, 8, false))?,
            F32Load { memarg } => self.access(&memarg, load(F32, 4, false))?,
            F64Load { memarg } => self.access(&memarg, load(F64, 8, false))?,
            I32Load8S { memarg } => self.access(&memarg, load(I32, 1, true))?,
            I32Load8U { memarg } => self.access(&memarg, load(I32, 1, false))?,
            I32Load16S { memarg } => self.access(&memarg, load(I32, 2, true))?,
            I32Load16U { memarg } => self.access(&memarg, load(I32, 2, false))?,
            I64Load8S { memarg } => self.access(&memarg, load(I64, 1, true))?,
            I64Load8U { memarg } => self.access(&memarg, load(I64, 1, false))?,
            I64Load16S { memarg } => self.access(&memarg, load(I64, 2, true))?,
            I64Load16U { memarg } => self.access(&memarg, load(I64, 2, false))?,
            I64Load32S { memarg } => self.access(&memarg, load(I64, 4, true))?,
            I64Load32U { memarg } => self.access(&memarg, load(I64, 4, false))?,
            I32Store { memarg } | F32Store { memarg } => self.access(&memarg, store(4))?,
            I64Store { memarg } | F64Store { memarg } => self.access(&memarg, store(8))?,
            I32Store8 { memarg } | I64Store8 { memarg } => self.access(&memarg, store(1))?,
            I32Store16 { memarg } | I64Store16 { memarg } => self.access(&memarg, store(2))?,
            I64Store32 { memarg } => self.access(&memarg, store(4))?,
            MemorySize { mem } => {
                let m = MemoryIndex::from_u32(mem);
                let length = if self.is_shared(m) {
                    self.shared_memory_length(m)
                } else {
                    self.memory_length(m)
                };
                let pages = self.builder.ins().ushr_imm_u(length, 16);
                let v = self.index_result(pages, self.is_memory64(m));
                self.push(v);
            }
            MemoryGrow { mem } => {
                let m = MemoryIndex::from_u32(mem);
                let delta = self.pop();
                let delta = self.extend_to_i64(delta);
                let def = self.memory_def(m);
                let old = self.call_builtin(Builtin::memory_grow, &[def, delta]);
                let v = self.index_result(old, self.is_memory64(m));
                self.push(v);
            }
            MemoryFill { mem } => {
                let m = MemoryIndex::from_u32(mem);
                let (dst, value, len) = self.pop3();
                let dst = self.extend_to_i64(dst);
                let len = self.extend_to_i64(len);
                let dst = self.checked_range(m, dst, len);
                self.call_builtin(Builtin::memset, &[dst, value, len]);
            }
            MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.extend_to_i64(dst);
                let src = self.extend_to_i64(src);
                let len = self.extend_to_i64(len);
                let dst = self.checked_range(MemoryIndex::from_u32(dst_mem), dst, len);
                let src = self.checked_range(MemoryIndex::from_u32(src_mem), src, len);
                self.call_builtin(Builtin::memmove, &[dst, src, len]);
            }
            MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let dst = self.extend_to_i64(dst);
                let src = self.extend_to_i64(src);
                let len = self.extend_to_i64(len);
                let def = self.memory_def(MemoryIndex::from_u32(mem));
                let seg_offset = self
                    .env
                    .offsets
                    .data_segment(DataIndex::from_u32(data_index));
                let segment = self
                    .builder
                    .ins()
                    .iadd_imm_u(self.vmctx, i64::from(seg_offset));
                self.call_builtin_checked(
                    Builtin::memory_init,
                    &[def, dst, segment, src, len],
                    TrapCode::MemoryOutOfBounds,
                );
            }
            DataDrop { data_index } => {
                let seg_offset = self
                    .env
                    .offsets
                    .data_segment(DataIndex::from_u32(data_index));
                let zero = self.builder.ins().iconst(I64, 0);
                self.builder.ins().store(
                    Self::trusted(),
                    zero,
                    self.vmctx,
                    (seg_offset + SEGMENT_LEN) as i32,
                );
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
