//! Atomic memory instructions of the threads proposal: atomic loads and
//! stores, read-modify-write, compare-exchange, `atomic.fence`,
//! `memory.atomic.wait32`/`wait64` and `memory.atomic.notify`.
//!
//! # Ordering
//!
//! Every atomic instruction of the proposal is sequentially consistent.
//! Cranelift's `atomic_load`, `atomic_store`, `atomic_rmw`, `atomic_cas`
//! and `fence` are too (x86_64: `lock`-prefixed instructions, `xchg` or
//! `mov`+`mfence` stores; aarch64: `ldar`/`stlr` and `ldaxr`/`stlxr` loops,
//! or LSE's `ldaddal`/`casal`/`swpal` with `has_lse`; riscv64: the A
//! extension's `aqrl` AMOs and `lr`/`sc` loops, fenced loads and stores),
//! and Cranelift never moves a memory access across one of them. But for
//! riscv64's 8- and 16-bit compare-exchange, which Cranelift gets wrong
//! (it compares the value of one `lr.w` and stores after another), built
//! here from 32-bit ones ([`FuncTranslator::subword_cmpxchg`]).
//!
//! # Checks
//!
//! The effective address `ea = index + offset` is computed in 64 bits. An
//! atomic access traps with "unaligned atomic" unless `ea` is a multiple of
//! its size, before any bounds check, as the reference interpreter orders
//! them. The bounds are checked as for a plain access: nothing for a 32-bit
//! memory (the guard region faults, and every faulting atomic instruction
//! is in the trap table as out of bounds), an explicit check against the
//! current length otherwise. `wait` and `notify` touch no memory in
//! compiled code, so they always check bounds explicitly, then call the
//! runtime (`smelt_rt::atomics`) with the native address, which identifies
//! the location across every instance that imports the memory (a memory
//! never moves). A wait on a memory that is not shared traps ("expected
//! shared memory"); a notify there wakes nobody and returns 0.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I16, I32, I64};
use cranelift_codegen::ir::{self, AtomicRmwOp, InstBuilder, MemFlagsData, Value};
use smelt_abi::builtins::Builtin;
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{MEMORY_LENGTH, MEMORY32_RESERVATION};
use wasmparser::{MemArg, MemArgTarget, Operator};

use super::{FuncTranslator, trap};
use crate::core::types::*;
use crate::error::Result;

/// The width of an atomic access and the type of its wasm operand.
#[derive(Clone, Copy)]
struct Width {
    /// The wasm value type (`I32` or `I64`).
    ty: ir::Type,
    /// The type of the memory access (`I8` to `I64`).
    mem: ir::Type,
}

impl Width {
    const fn new(ty: ir::Type, mem: ir::Type) -> Width {
        Width { ty, mem }
    }

    /// Size of the access in bytes.
    fn bytes(self) -> u8 {
        self.mem.bytes() as u8
    }
}

impl FuncTranslator<'_, '_> {
    /// Whether memory `m` is shared.
    pub(super) fn is_shared(&self, m: MemoryIndex) -> bool {
        self.env.info.memories[m].shared
    }

    /// The current length of shared memory `m`, read atomically: another
    /// thread may grow it (`memory.size`).
    pub(super) fn shared_memory_length(&mut self, m: MemoryIndex) -> Value {
        let def = self.memory_def(m);
        let addr = self.builder.ins().iadd_imm_u(def, i64::from(MEMORY_LENGTH));
        self.builder
            .ins()
            .atomic_load(I64, MemFlagsData::trusted(), addr)
    }

    /// Pops an index and computes the native address of an atomic access
    /// of `size` bytes at `memarg`, trapping when the effective address is
    /// misaligned or (checked explicitly where `explicit_bounds`, or where
    /// no guard region covers it) out of bounds.
    fn atomic_address(
        &mut self,
        memarg: &MemArg,
        size: u8,
        explicit_bounds: bool,
    ) -> Result<(MemoryIndex, Value)> {
        let MemArgTarget::Memory(m) = memarg.target else {
            return self.unsupported("atomic array accesses (shared-everything threads)");
        };
        let m = MemoryIndex::from_u32(m);
        let index = self.pop();
        let index = self.extend_to_i64(index);
        let offset = memarg.offset;
        let memory64 = self.is_memory64(m);
        let mask = i64::from(size) - 1;

        // ea = index + offset; only a 64-bit memory can overflow it (a
        // memory32 offset is below 2^32).
        let (ea, overflow) = if offset == 0 {
            (index, None)
        } else if memory64 {
            let k = self.builder.ins().iconst(I64, offset as i64);
            let (sum, overflow) = self.builder.ins().uadd_overflow(index, k);
            (sum, Some(overflow))
        } else {
            (self.builder.ins().iadd_imm_u(index, offset as i64), None)
        };
        if mask != 0 {
            // ea mod size, from the low bits: the same for the wrapped sum.
            let low = if offset & mask as u64 == 0 {
                self.builder.ins().band_imm_u(index, mask)
            } else {
                self.builder.ins().band_imm_u(ea, mask)
            };
            self.trap_if(low, TrapCode::HeapMisaligned);
        }
        if let Some(overflow) = overflow {
            self.trap_if(overflow, TrapCode::MemoryOutOfBounds);
        }
        let covered_by_guard = !memory64
            && (u64::from(u32::MAX))
                .saturating_add(offset)
                .saturating_add(u64::from(size))
                <= MEMORY32_RESERVATION;
        if explicit_bounds || !covered_by_guard {
            let length = self.memory_length(m);
            let k = self.builder.ins().iconst(I64, i64::from(size));
            self.trap_unless_within(ea, k, length, true);
        }
        let base = self.memory_base(m);
        Ok((m, self.builder.ins().iadd(base, ea)))
    }

    /// Narrows a wasm operand to the access type (wraps).
    fn narrow_atomic(&mut self, v: Value, w: Width) -> Value {
        if w.mem == w.ty {
            v
        } else {
            self.builder.ins().ireduce(w.mem, v)
        }
    }

    /// Zero-extends an accessed value to the wasm type.
    fn widen_atomic(&mut self, v: Value, w: Width) -> Value {
        if w.mem == w.ty {
            v
        } else {
            self.builder.ins().uextend(w.ty, v)
        }
    }

    fn atomic_load(&mut self, memarg: &MemArg, w: Width) -> Result<()> {
        let (_, addr) = self.atomic_address(memarg, w.bytes(), false)?;
        let v = self
            .builder
            .ins()
            .atomic_load(w.mem, Self::heap_flags(), addr);
        let v = self.widen_atomic(v, w);
        self.push(v);
        Ok(())
    }

    fn atomic_store(&mut self, memarg: &MemArg, w: Width) -> Result<()> {
        let value = self.pop();
        let (_, addr) = self.atomic_address(memarg, w.bytes(), false)?;
        let value = self.narrow_atomic(value, w);
        self.builder
            .ins()
            .atomic_store(Self::heap_flags(), value, addr);
        Ok(())
    }

    fn atomic_rmw(&mut self, memarg: &MemArg, w: Width, op: AtomicRmwOp) -> Result<()> {
        let value = self.pop();
        let (_, addr) = self.atomic_address(memarg, w.bytes(), false)?;
        let value = self.narrow_atomic(value, w);
        let old = self
            .builder
            .ins()
            .atomic_rmw(w.mem, Self::heap_flags(), op, addr, value);
        let old = self.widen_atomic(old, w);
        self.push(old);
        Ok(())
    }

    fn atomic_cmpxchg(&mut self, memarg: &MemArg, w: Width) -> Result<()> {
        let (expected, replacement) = self.pop2();
        let (_, addr) = self.atomic_address(memarg, w.bytes(), false)?;
        if w.mem.bits() < 32 && self.env.subword_cas_loop {
            let loaded = self.subword_cmpxchg(addr, expected, replacement, w);
            self.push(loaded);
            return Ok(());
        }
        let expected = self.narrow_atomic(expected, w);
        let replacement = self.narrow_atomic(replacement, w);
        let loaded = self
            .builder
            .ins()
            .atomic_cas(Self::heap_flags(), addr, expected, replacement);
        let loaded = self.widen_atomic(loaded, w);
        self.push(loaded);
        Ok(())
    }

    /// An 8- or 16-bit compare-exchange at native address `addr` (aligned
    /// to its size) as a loop of 32-bit `atomic_cas` on the aligned word
    /// that holds it (little-endian):
    ///
    /// ```text
    /// old = atomic_load.i32 word
    /// loop(old):
    ///     part = (old >> shift) & mask
    ///     if part != expected: done(part)
    ///     new = old & !(mask << shift) | replacement << shift
    ///     seen = atomic_cas.i32 word, old, new
    ///     if seen == old: done(part) else loop(seen)
    /// ```
    ///
    /// Sequentially consistent as each `atomic_cas` is; a change of the
    /// other bytes of the word only costs another round.
    fn subword_cmpxchg(
        &mut self,
        addr: Value,
        expected: Value,
        replacement: Value,
        w: Width,
    ) -> Value {
        let b = &mut self.builder;
        let flags = Self::heap_flags();
        let mask = b.ins().iconst(I32, if w.mem == I8 { 0xff } else { 0xffff });
        let to_i32 = |b: &mut cranelift_frontend::FunctionBuilder<'_>, v: Value| {
            if w.ty == I64 {
                b.ins().ireduce(I32, v)
            } else {
                v
            }
        };
        let expected = to_i32(b, expected);
        let expected = b.ins().band(expected, mask);
        let replacement = to_i32(b, replacement);
        let replacement = b.ins().band(replacement, mask);
        let word = b.ins().band_imm_s(addr, -4);
        let byte = b.ins().band_imm_u(addr, 3);
        let shift = b.ins().ishl_imm_u(byte, 3);
        let shift = b.ins().ireduce(I32, shift);
        let field = b.ins().ishl(mask, shift);
        let keep = b.ins().bnot(field);
        let placed = b.ins().ishl(replacement, shift);
        let first = b.ins().atomic_load(I32, flags, word);
        let round = b.create_block();
        let old = b.append_block_param(round, I32);
        let attempt = b.create_block();
        let done = b.create_block();
        let result = b.append_block_param(done, I32);
        b.ins().jump(round, &super::block_args(&[first]));
        b.switch_to_block(round);
        let part = b.ins().ushr(old, shift);
        let part = b.ins().band(part, mask);
        let differs = b.ins().icmp(IntCC::NotEqual, part, expected);
        b.ins()
            .brif(differs, done, &super::block_args(&[part]), attempt, &[]);
        b.switch_to_block(attempt);
        b.seal_block(attempt);
        let others = b.ins().band(old, keep);
        let new = b.ins().bor(others, placed);
        let seen = b.ins().atomic_cas(flags, word, old, new);
        let stored = b.ins().icmp(IntCC::Equal, seen, old);
        b.ins().brif(
            stored,
            done,
            &super::block_args(&[part]),
            round,
            &super::block_args(&[seen]),
        );
        b.seal_block(round);
        b.switch_to_block(done);
        b.seal_block(done);
        if w.ty == I64 {
            b.ins().uextend(I64, result)
        } else {
            result
        }
    }

    /// `memory.atomic.wait32` (`size` 4) or `wait64` (`size` 8).
    fn atomic_wait(&mut self, memarg: &MemArg, size: u8) -> Result<()> {
        let (timeout, expected) = (self.pop(), self.pop());
        let (m, addr) = self.atomic_address(memarg, size, true)?;
        if !self.is_shared(m) {
            self.builder
                .ins()
                .trap(trap(TrapCode::AtomicWaitNonSharedMemory));
            self.reachable = false;
            return Ok(());
        }
        let builtin = if size == 4 {
            Builtin::memory_atomic_wait32
        } else {
            Builtin::memory_atomic_wait64
        };
        let v = self.call_builtin(builtin, &[addr, expected, timeout]);
        self.push(v);
        Ok(())
    }

    /// `memory.atomic.notify`.
    fn atomic_notify(&mut self, memarg: &MemArg) -> Result<()> {
        let count = self.pop();
        let (m, addr) = self.atomic_address(memarg, 4, true)?;
        let v = if self.is_shared(m) {
            self.call_builtin(Builtin::memory_atomic_notify, &[addr, count])
        } else {
            // Nobody can wait on a memory that is not shared.
            self.builder.ins().iconst(I32, 0)
        };
        self.push(v);
        Ok(())
    }

    /// Translates `op` if it is an instruction of the threads proposal;
    /// returns whether it was.
    pub(super) fn translate_atomic(&mut self, op: &Operator<'_>) -> Result<bool> {
        use AtomicRmwOp::{Add, And, Or, Sub, Xchg, Xor};
        use Operator::*;
        const W32: Width = Width::new(I32, I32);
        const W32_8: Width = Width::new(I32, I8);
        const W32_16: Width = Width::new(I32, I16);
        const W64: Width = Width::new(I64, I64);
        const W64_8: Width = Width::new(I64, I8);
        const W64_16: Width = Width::new(I64, I16);
        const W64_32: Width = Width::new(I64, I32);
        match *op {
            AtomicFence { .. } => {
                self.builder.ins().fence();
            }
            MemoryAtomicNotify { memarg } => self.atomic_notify(&memarg)?,
            MemoryAtomicWait32 { memarg } => self.atomic_wait(&memarg, 4)?,
            MemoryAtomicWait64 { memarg } => self.atomic_wait(&memarg, 8)?,

            I32AtomicLoad { memarg } => self.atomic_load(&memarg, W32)?,
            I64AtomicLoad { memarg } => self.atomic_load(&memarg, W64)?,
            I32AtomicLoad8U { memarg } => self.atomic_load(&memarg, W32_8)?,
            I32AtomicLoad16U { memarg } => self.atomic_load(&memarg, W32_16)?,
            I64AtomicLoad8U { memarg } => self.atomic_load(&memarg, W64_8)?,
            I64AtomicLoad16U { memarg } => self.atomic_load(&memarg, W64_16)?,
            I64AtomicLoad32U { memarg } => self.atomic_load(&memarg, W64_32)?,

            I32AtomicStore { memarg } => self.atomic_store(&memarg, W32)?,
            I64AtomicStore { memarg } => self.atomic_store(&memarg, W64)?,
            I32AtomicStore8 { memarg } => self.atomic_store(&memarg, W32_8)?,
            I32AtomicStore16 { memarg } => self.atomic_store(&memarg, W32_16)?,
            I64AtomicStore8 { memarg } => self.atomic_store(&memarg, W64_8)?,
            I64AtomicStore16 { memarg } => self.atomic_store(&memarg, W64_16)?,
            I64AtomicStore32 { memarg } => self.atomic_store(&memarg, W64_32)?,

            I32AtomicRmwAdd { memarg } => self.atomic_rmw(&memarg, W32, Add)?,
            I64AtomicRmwAdd { memarg } => self.atomic_rmw(&memarg, W64, Add)?,
            I32AtomicRmw8AddU { memarg } => self.atomic_rmw(&memarg, W32_8, Add)?,
            I32AtomicRmw16AddU { memarg } => self.atomic_rmw(&memarg, W32_16, Add)?,
            I64AtomicRmw8AddU { memarg } => self.atomic_rmw(&memarg, W64_8, Add)?,
            I64AtomicRmw16AddU { memarg } => self.atomic_rmw(&memarg, W64_16, Add)?,
            I64AtomicRmw32AddU { memarg } => self.atomic_rmw(&memarg, W64_32, Add)?,

            I32AtomicRmwSub { memarg } => self.atomic_rmw(&memarg, W32, Sub)?,
            I64AtomicRmwSub { memarg } => self.atomic_rmw(&memarg, W64, Sub)?,
            I32AtomicRmw8SubU { memarg } => self.atomic_rmw(&memarg, W32_8, Sub)?,
            I32AtomicRmw16SubU { memarg } => self.atomic_rmw(&memarg, W32_16, Sub)?,
            I64AtomicRmw8SubU { memarg } => self.atomic_rmw(&memarg, W64_8, Sub)?,
            I64AtomicRmw16SubU { memarg } => self.atomic_rmw(&memarg, W64_16, Sub)?,
            I64AtomicRmw32SubU { memarg } => self.atomic_rmw(&memarg, W64_32, Sub)?,

            I32AtomicRmwAnd { memarg } => self.atomic_rmw(&memarg, W32, And)?,
            I64AtomicRmwAnd { memarg } => self.atomic_rmw(&memarg, W64, And)?,
            I32AtomicRmw8AndU { memarg } => self.atomic_rmw(&memarg, W32_8, And)?,
            I32AtomicRmw16AndU { memarg } => self.atomic_rmw(&memarg, W32_16, And)?,
            I64AtomicRmw8AndU { memarg } => self.atomic_rmw(&memarg, W64_8, And)?,
            I64AtomicRmw16AndU { memarg } => self.atomic_rmw(&memarg, W64_16, And)?,
            I64AtomicRmw32AndU { memarg } => self.atomic_rmw(&memarg, W64_32, And)?,

            I32AtomicRmwOr { memarg } => self.atomic_rmw(&memarg, W32, Or)?,
            I64AtomicRmwOr { memarg } => self.atomic_rmw(&memarg, W64, Or)?,
            I32AtomicRmw8OrU { memarg } => self.atomic_rmw(&memarg, W32_8, Or)?,
            I32AtomicRmw16OrU { memarg } => self.atomic_rmw(&memarg, W32_16, Or)?,
            I64AtomicRmw8OrU { memarg } => self.atomic_rmw(&memarg, W64_8, Or)?,
            I64AtomicRmw16OrU { memarg } => self.atomic_rmw(&memarg, W64_16, Or)?,
            I64AtomicRmw32OrU { memarg } => self.atomic_rmw(&memarg, W64_32, Or)?,

            I32AtomicRmwXor { memarg } => self.atomic_rmw(&memarg, W32, Xor)?,
            I64AtomicRmwXor { memarg } => self.atomic_rmw(&memarg, W64, Xor)?,
            I32AtomicRmw8XorU { memarg } => self.atomic_rmw(&memarg, W32_8, Xor)?,
            I32AtomicRmw16XorU { memarg } => self.atomic_rmw(&memarg, W32_16, Xor)?,
            I64AtomicRmw8XorU { memarg } => self.atomic_rmw(&memarg, W64_8, Xor)?,
            I64AtomicRmw16XorU { memarg } => self.atomic_rmw(&memarg, W64_16, Xor)?,
            I64AtomicRmw32XorU { memarg } => self.atomic_rmw(&memarg, W64_32, Xor)?,

            I32AtomicRmwXchg { memarg } => self.atomic_rmw(&memarg, W32, Xchg)?,
            I64AtomicRmwXchg { memarg } => self.atomic_rmw(&memarg, W64, Xchg)?,
            I32AtomicRmw8XchgU { memarg } => self.atomic_rmw(&memarg, W32_8, Xchg)?,
            I32AtomicRmw16XchgU { memarg } => self.atomic_rmw(&memarg, W32_16, Xchg)?,
            I64AtomicRmw8XchgU { memarg } => self.atomic_rmw(&memarg, W64_8, Xchg)?,
            I64AtomicRmw16XchgU { memarg } => self.atomic_rmw(&memarg, W64_16, Xchg)?,
            I64AtomicRmw32XchgU { memarg } => self.atomic_rmw(&memarg, W64_32, Xchg)?,

            I32AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(&memarg, W32)?,
            I64AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(&memarg, W64)?,
            I32AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, W32_8)?,
            I32AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, W32_16)?,
            I64AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, W64_8)?,
            I64AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, W64_16)?,
            I64AtomicRmw32CmpxchgU { memarg } => self.atomic_cmpxchg(&memarg, W64_32)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}
