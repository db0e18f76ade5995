//! Fixed-width SIMD instructions (`v128`, core spec 2.0 §4.4.3 "Vector
//! Instructions").
//!
//! A `v128` is an `I8X16` everywhere it is stored or passed: on the
//! operand stack, in locals, globals, block parameters and signatures. An
//! instruction that works on other lanes bitcasts its operands to its lane
//! type and its result back to `I8X16`; the bitcasts cost nothing (the
//! register is the same) and Cranelift folds chains of them.
//!
//! Cranelift's vector instructions have wasm's semantics where wasm needs
//! them (`swizzle` gives 0 for an out-of-range index, `fmin`/`fmax`
//! propagate NaN and order -0 below +0, shifts take the amount modulo the
//! lane width, `*_sat` saturate), so most instructions are one Cranelift
//! instruction; the rest are short sequences, documented where they are.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{
    F32, F32X4, F64, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2,
};
use cranelift_codegen::ir::{self, ConstantData, Endianness, InstBuilder, MemFlagsData, Value};
use wasmparser::{MemArg, Operator};

use super::FuncTranslator;
use crate::error::Result;

/// How a `v128.loadN_*` instruction fills the vector from memory.
#[derive(Clone, Copy)]
enum LoadKind {
    /// `v128.loadN_splat`: one lane of `ty`, copied to every lane.
    Splat(ir::Type),
    /// `v128.loadN_zero`: lane 0 of `vector`, the other lanes zero.
    Zero(ir::Type),
    /// `v128.loadN_lane`: replaces one lane of the vector on the stack.
    Lane(ir::Type, u8),
}

impl FuncTranslator<'_, '_> {
    /// Flags of a bitcast between vector types: lanes in memory order
    /// (every smelt target is little-endian).
    fn vector_bitcast_flags() -> MemFlagsData {
        MemFlagsData::new().with_endianness(Endianness::Little)
    }

    /// `v` as a vector of type `ty` (a bitcast unless it is one already).
    fn as_vector(&mut self, v: Value, ty: ir::Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            self.builder
                .ins()
                .bitcast(ty, Self::vector_bitcast_flags(), v)
        }
    }

    /// Pops a `v128` as a vector of type `ty`.
    fn pop_vector(&mut self, ty: ir::Type) -> Value {
        let v = self.pop();
        self.as_vector(v, ty)
    }

    /// Pops two `v128`s as vectors of type `ty`.
    fn pop2_vector(&mut self, ty: ir::Type) -> (Value, Value) {
        let b = self.pop_vector(ty);
        let a = self.pop_vector(ty);
        (a, b)
    }

    /// Pushes the vector `v` as a `v128` (`I8X16`).
    fn push_vector(&mut self, v: Value) {
        let v = self.as_vector(v, I8X16);
        self.push(v);
    }

    /// A `v128` constant.
    pub(super) fn vector_const(&mut self, bytes: [u8; 16]) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes.to_vec()));
        self.builder.ins().vconst(I8X16, c)
    }

    fn load_vector(&mut self, memarg: &MemArg, kind: LoadKind) -> Result<()> {
        let flags = Self::heap_flags();
        match kind {
            LoadKind::Splat(ty) => {
                let (addr, imm) = self.effective_address(memarg, ty.bytes() as u8)?;
                let x = self.builder.ins().load(ty, flags, addr, imm);
                let v = self
                    .builder
                    .ins()
                    .splat(ty.by(128 / ty.bits()).expect("a vector type"), x);
                self.push_vector(v);
            }
            LoadKind::Zero(ty) => {
                let (addr, imm) = self.effective_address(memarg, ty.bytes() as u8)?;
                let x = self.builder.ins().load(ty, flags, addr, imm);
                let v = self
                    .builder
                    .ins()
                    .scalar_to_vector(ty.by(128 / ty.bits()).expect("a vector type"), x);
                self.push_vector(v);
            }
            LoadKind::Lane(ty, lane) => {
                let vty = ty.by(128 / ty.bits()).expect("a vector type");
                let vector = self.pop_vector(vty);
                let (addr, imm) = self.effective_address(memarg, ty.bytes() as u8)?;
                let x = self.builder.ins().load(ty, flags, addr, imm);
                let v = self.builder.ins().insertlane(vector, x, lane);
                self.push_vector(v);
            }
        }
        Ok(())
    }

    /// `v128.loadMxN_s/u`: N lanes of M bits, widened.
    fn load_extend(&mut self, memarg: &MemArg, signed: bool, lanes: u8) -> Result<()> {
        let (addr, imm) = self.effective_address(memarg, 8)?;
        let flags = Self::heap_flags();
        let ins = self.builder.ins();
        let v = match (lanes, signed) {
            (8, true) => ins.sload8x8(flags, addr, imm),
            (8, false) => ins.uload8x8(flags, addr, imm),
            (4, true) => ins.sload16x4(flags, addr, imm),
            (4, false) => ins.uload16x4(flags, addr, imm),
            (2, true) => ins.sload32x2(flags, addr, imm),
            _ => ins.uload32x2(flags, addr, imm),
        };
        self.push_vector(v);
        Ok(())
    }

    /// `v128.storeN_lane`.
    fn store_lane(&mut self, memarg: &MemArg, ty: ir::Type, lane: u8) -> Result<()> {
        let vty = ty.by(128 / ty.bits()).expect("a vector type");
        let vector = self.pop_vector(vty);
        let x = self.builder.ins().extractlane(vector, lane);
        let (addr, imm) = self.effective_address(memarg, ty.bytes() as u8)?;
        self.builder.ins().store(Self::heap_flags(), x, addr, imm);
        Ok(())
    }

    /// The low or high half of the lanes of `x`, sign- or zero-extended
    /// to lanes twice as wide.
    fn widen(&mut self, x: Value, signed: bool, high: bool) -> Value {
        let ins = self.builder.ins();
        match (signed, high) {
            (true, false) => ins.swiden_low(x),
            (true, true) => ins.swiden_high(x),
            (false, false) => ins.uwiden_low(x),
            (false, true) => ins.uwiden_high(x),
        }
    }

    /// The sums of adjacent pairs of lanes of `x`, widened (`extadd_pairwise`).
    fn add_pairs(&mut self, x: Value, signed: bool) -> Value {
        let (low, high) = (self.widen(x, signed, false), self.widen(x, signed, true));
        self.builder.ins().iadd_pairwise(low, high)
    }

    /// The sums of adjacent products of the signed lanes of `a` and `b`,
    /// in lanes twice as wide (`i32x4.dot_i16x8_s`; for i8 lanes,
    /// `relaxed_dot_i8x16_i7x16_s`, where the sums wrap, which only lanes
    /// of `b` above 127, whose result is the implementation's choice, can
    /// make them do).
    fn pairwise_dot(&mut self, a: Value, b: Value) -> Value {
        let (a_low, b_low) = (self.widen(a, true, false), self.widen(b, true, false));
        let (a_high, b_high) = (self.widen(a, true, true), self.widen(b, true, true));
        let low = self.builder.ins().imul(a_low, b_low);
        let high = self.builder.ins().imul(a_high, b_high);
        self.builder.ins().iadd_pairwise(low, high)
    }

    /// `extadd_pairwise`: each pair of adjacent lanes of `ty`, widened
    /// and added.
    fn extadd_pairwise(&mut self, ty: ir::Type, signed: bool) {
        let a = self.pop_vector(ty);
        let v = self.add_pairs(a, signed);
        self.push_vector(v);
    }

    /// `extmul_low/high`: the low or high halves of two vectors of `ty`,
    /// widened and multiplied.
    fn extmul(&mut self, ty: ir::Type, signed: bool, high: bool) {
        let (a, b) = self.pop2_vector(ty);
        let (a, b) = (self.widen(a, signed, high), self.widen(b, signed, high));
        let v = self.builder.ins().imul(a, b);
        self.push_vector(v);
    }

    /// `extend_low/high`: half of a vector of `ty`, widened.
    fn extend(&mut self, ty: ir::Type, signed: bool, high: bool) {
        let a = self.pop_vector(ty);
        let v = self.widen(a, signed, high);
        self.push_vector(v);
    }

    /// `pmin`/`pmax` (pseudo-minimum and -maximum: `b < a ? b : a` and
    /// `a < b ? b : a`, as C's `<` would have them, without NaN or signed
    /// zero rules).
    fn pseudo_min_max(&mut self, ty: ir::Type, max: bool) {
        let (a, b) = self.pop2_vector(ty);
        let ins = self.builder.ins();
        let take_b = if max {
            ins.fcmp(FloatCC::LessThan, a, b)
        } else {
            ins.fcmp(FloatCC::LessThan, b, a)
        };
        let take_b = self.as_vector(take_b, ty);
        let v = self.builder.ins().bitselect(take_b, b, a);
        self.push_vector(v);
    }

    /// `relaxed_madd`/`relaxed_nmadd`: `a * b + c` or `-(a * b) + c`,
    /// rounded twice (one of the two results the specification allows;
    /// the fused one would need FMA, which x86-64-v2 lacks).
    fn multiply_add(&mut self, ty: ir::Type, negate: bool) {
        let c = self.pop_vector(ty);
        let (a, b) = self.pop2_vector(ty);
        let mut product = self.builder.ins().fmul(a, b);
        if negate {
            product = self.builder.ins().fneg(product);
        }
        let v = self.builder.ins().fadd(product, c);
        self.push_vector(v);
    }

    /// The top of the stack, an `i32`, as a lane of `lane_ty` (the low bits
    /// of an `i8`/`i16` lane).
    fn pop_lane(&mut self, lane_ty: ir::Type) -> Value {
        let x = self.pop();
        if lane_ty == I8 || lane_ty == I16 {
            self.builder.ins().ireduce(lane_ty, x)
        } else {
            x
        }
    }

    /// Translates `op` if it is a SIMD instruction; returns whether it was.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator::*;
        macro_rules! unary {
            ($ty:expr, $method:ident) => {{
                let a = self.pop_vector($ty);
                let v = self.builder.ins().$method(a);
                self.push_vector(v);
            }};
        }
        macro_rules! binary {
            ($ty:expr, $method:ident) => {{
                let (a, b) = self.pop2_vector($ty);
                let v = self.builder.ins().$method(a, b);
                self.push_vector(v);
            }};
        }
        macro_rules! icmp {
            ($ty:expr, $cc:ident) => {{
                let (a, b) = self.pop2_vector($ty);
                let v = self.builder.ins().icmp(IntCC::$cc, a, b);
                self.push_vector(v);
            }};
        }
        macro_rules! fcmp {
            ($ty:expr, $cc:ident) => {{
                let (a, b) = self.pop2_vector($ty);
                let v = self.builder.ins().fcmp(FloatCC::$cc, a, b);
                self.push_vector(v);
            }};
        }
        macro_rules! shift {
            ($ty:expr, $method:ident) => {{
                let amount = self.pop();
                let a = self.pop_vector($ty);
                let v = self.builder.ins().$method(a, amount);
                self.push_vector(v);
            }};
        }
        macro_rules! splat {
            ($ty:expr, $lane:expr) => {{
                let x = self.pop_lane($lane);
                let v = self.builder.ins().splat($ty, x);
                self.push_vector(v);
            }};
        }
        macro_rules! all_true {
            ($ty:expr) => {{
                let a = self.pop_vector($ty);
                let t = self.builder.ins().vall_true(a);
                let v = self.builder.ins().uextend(I32, t);
                self.push(v);
            }};
        }
        macro_rules! bitmask {
            ($ty:expr) => {{
                let a = self.pop_vector($ty);
                let v = self.builder.ins().vhigh_bits(I32, a);
                self.push(v);
            }};
        }
        macro_rules! extract {
            ($ty:expr, $lane:expr, $extend:ident) => {{
                let a = self.pop_vector($ty);
                let x = self.builder.ins().extractlane(a, $lane);
                let v = self.builder.ins().$extend(I32, x);
                self.push(v);
            }};
            ($ty:expr, $lane:expr) => {{
                let a = self.pop_vector($ty);
                let v = self.builder.ins().extractlane(a, $lane);
                self.push(v);
            }};
        }
        macro_rules! replace {
            ($ty:expr, $lane_ty:expr, $lane:expr) => {{
                let x = self.pop_lane($lane_ty);
                let a = self.pop_vector($ty);
                let v = self.builder.ins().insertlane(a, x, $lane);
                self.push_vector(v);
            }};
        }
        macro_rules! convert {
            ($from:expr, $method:ident, $to:expr) => {{
                let a = self.pop_vector($from);
                let v = self.builder.ins().$method($to, a);
                self.push_vector(v);
            }};
        }
        match *op {
            // Memory.
            V128Load { memarg } => {
                let (addr, imm) = self.effective_address(&memarg, 16)?;
                let v = self
                    .builder
                    .ins()
                    .load(I8X16, Self::heap_flags(), addr, imm);
                self.push(v);
            }
            V128Store { memarg } => {
                let v = self.pop();
                let (addr, imm) = self.effective_address(&memarg, 16)?;
                self.builder.ins().store(Self::heap_flags(), v, addr, imm);
            }
            V128Load8x8S { memarg } => self.load_extend(&memarg, true, 8)?,
            V128Load8x8U { memarg } => self.load_extend(&memarg, false, 8)?,
            V128Load16x4S { memarg } => self.load_extend(&memarg, true, 4)?,
            V128Load16x4U { memarg } => self.load_extend(&memarg, false, 4)?,
            V128Load32x2S { memarg } => self.load_extend(&memarg, true, 2)?,
            V128Load32x2U { memarg } => self.load_extend(&memarg, false, 2)?,
            V128Load8Splat { memarg } => self.load_vector(&memarg, LoadKind::Splat(I8))?,
            V128Load16Splat { memarg } => self.load_vector(&memarg, LoadKind::Splat(I16))?,
            V128Load32Splat { memarg } => self.load_vector(&memarg, LoadKind::Splat(I32))?,
            V128Load64Splat { memarg } => self.load_vector(&memarg, LoadKind::Splat(I64))?,
            V128Load32Zero { memarg } => self.load_vector(&memarg, LoadKind::Zero(I32))?,
            V128Load64Zero { memarg } => self.load_vector(&memarg, LoadKind::Zero(I64))?,
            V128Load8Lane { memarg, lane } => {
                self.load_vector(&memarg, LoadKind::Lane(I8, lane))?
            }
            V128Load16Lane { memarg, lane } => {
                self.load_vector(&memarg, LoadKind::Lane(I16, lane))?
            }
            V128Load32Lane { memarg, lane } => {
                self.load_vector(&memarg, LoadKind::Lane(I32, lane))?
            }
            V128Load64Lane { memarg, lane } => {
                self.load_vector(&memarg, LoadKind::Lane(I64, lane))?
            }
            V128Store8Lane { memarg, lane } => self.store_lane(&memarg, I8, lane)?,
            V128Store16Lane { memarg, lane } => self.store_lane(&memarg, I16, lane)?,
            V128Store32Lane { memarg, lane } => self.store_lane(&memarg, I32, lane)?,
            V128Store64Lane { memarg, lane } => self.store_lane(&memarg, I64, lane)?,

            // Constants, lanes, shuffles.
            V128Const { value } => {
                let v = self.vector_const(*value.bytes());
                self.push(v);
            }
            I8x16Shuffle { lanes } => {
                let (a, b) = self.pop2_vector(I8X16);
                let mask = self
                    .builder
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(lanes.to_vec()));
                let v = self.builder.ins().shuffle(a, b, mask);
                self.push(v);
            }
            I8x16Swizzle => binary!(I8X16, swizzle),
            I8x16Splat => splat!(I8X16, I8),
            I16x8Splat => splat!(I16X8, I16),
            I32x4Splat => splat!(I32X4, I32),
            I64x2Splat => splat!(I64X2, I64),
            F32x4Splat => splat!(F32X4, F32),
            F64x2Splat => splat!(F64X2, F64),
            I8x16ExtractLaneS { lane } => extract!(I8X16, lane, sextend),
            I8x16ExtractLaneU { lane } => extract!(I8X16, lane, uextend),
            I16x8ExtractLaneS { lane } => extract!(I16X8, lane, sextend),
            I16x8ExtractLaneU { lane } => extract!(I16X8, lane, uextend),
            I32x4ExtractLane { lane } => extract!(I32X4, lane),
            I64x2ExtractLane { lane } => extract!(I64X2, lane),
            F32x4ExtractLane { lane } => extract!(F32X4, lane),
            F64x2ExtractLane { lane } => extract!(F64X2, lane),
            I8x16ReplaceLane { lane } => replace!(I8X16, I8, lane),
            I16x8ReplaceLane { lane } => replace!(I16X8, I16, lane),
            I32x4ReplaceLane { lane } => replace!(I32X4, I32, lane),
            I64x2ReplaceLane { lane } => replace!(I64X2, I64, lane),
            F32x4ReplaceLane { lane } => replace!(F32X4, F32, lane),
            F64x2ReplaceLane { lane } => replace!(F64X2, F64, lane),

            // Comparisons: all-ones lanes where true.
            I8x16Eq => icmp!(I8X16, Equal),
            I8x16Ne => icmp!(I8X16, NotEqual),
            I8x16LtS => icmp!(I8X16, SignedLessThan),
            I8x16LtU => icmp!(I8X16, UnsignedLessThan),
            I8x16GtS => icmp!(I8X16, SignedGreaterThan),
            I8x16GtU => icmp!(I8X16, UnsignedGreaterThan),
            I8x16LeS => icmp!(I8X16, SignedLessThanOrEqual),
            I8x16LeU => icmp!(I8X16, UnsignedLessThanOrEqual),
            I8x16GeS => icmp!(I8X16, SignedGreaterThanOrEqual),
            I8x16GeU => icmp!(I8X16, UnsignedGreaterThanOrEqual),
            I16x8Eq => icmp!(I16X8, Equal),
            I16x8Ne => icmp!(I16X8, NotEqual),
            I16x8LtS => icmp!(I16X8, SignedLessThan),
            I16x8LtU => icmp!(I16X8, UnsignedLessThan),
            I16x8GtS => icmp!(I16X8, SignedGreaterThan),
            I16x8GtU => icmp!(I16X8, UnsignedGreaterThan),
            I16x8LeS => icmp!(I16X8, SignedLessThanOrEqual),
            I16x8LeU => icmp!(I16X8, UnsignedLessThanOrEqual),
            I16x8GeS => icmp!(I16X8, SignedGreaterThanOrEqual),
            I16x8GeU => icmp!(I16X8, UnsignedGreaterThanOrEqual),
            I32x4Eq => icmp!(I32X4, Equal),
            I32x4Ne => icmp!(I32X4, NotEqual),
            I32x4LtS => icmp!(I32X4, SignedLessThan),
            I32x4LtU => icmp!(I32X4, UnsignedLessThan),
            I32x4GtS => icmp!(I32X4, SignedGreaterThan),
            I32x4GtU => icmp!(I32X4, UnsignedGreaterThan),
            I32x4LeS => icmp!(I32X4, SignedLessThanOrEqual),
            I32x4LeU => icmp!(I32X4, UnsignedLessThanOrEqual),
            I32x4GeS => icmp!(I32X4, SignedGreaterThanOrEqual),
            I32x4GeU => icmp!(I32X4, UnsignedGreaterThanOrEqual),
            I64x2Eq => icmp!(I64X2, Equal),
            I64x2Ne => icmp!(I64X2, NotEqual),
            I64x2LtS => icmp!(I64X2, SignedLessThan),
            I64x2GtS => icmp!(I64X2, SignedGreaterThan),
            I64x2LeS => icmp!(I64X2, SignedLessThanOrEqual),
            I64x2GeS => icmp!(I64X2, SignedGreaterThanOrEqual),
            F32x4Eq => fcmp!(F32X4, Equal),
            F32x4Ne => fcmp!(F32X4, NotEqual),
            F32x4Lt => fcmp!(F32X4, LessThan),
            F32x4Gt => fcmp!(F32X4, GreaterThan),
            F32x4Le => fcmp!(F32X4, LessThanOrEqual),
            F32x4Ge => fcmp!(F32X4, GreaterThanOrEqual),
            F64x2Eq => fcmp!(F64X2, Equal),
            F64x2Ne => fcmp!(F64X2, NotEqual),
            F64x2Lt => fcmp!(F64X2, LessThan),
            F64x2Gt => fcmp!(F64X2, GreaterThan),
            F64x2Le => fcmp!(F64X2, LessThanOrEqual),
            F64x2Ge => fcmp!(F64X2, GreaterThanOrEqual),

            // Bitwise.
            V128Not => unary!(I8X16, bnot),
            V128And => binary!(I8X16, band),
            V128AndNot => binary!(I8X16, band_not),
            V128Or => binary!(I8X16, bor),
            V128Xor => binary!(I8X16, bxor),
            V128Bitselect => {
                let mask = self.pop_vector(I8X16);
                let (a, b) = self.pop2_vector(I8X16);
                let v = self.builder.ins().bitselect(mask, a, b);
                self.push(v);
            }
            V128AnyTrue => {
                let a = self.pop_vector(I8X16);
                let t = self.builder.ins().vany_true(a);
                let v = self.builder.ins().uextend(I32, t);
                self.push(v);
            }

            // Integer lanes.
            I8x16Abs => unary!(I8X16, iabs),
            I8x16Neg => unary!(I8X16, ineg),
            I8x16Popcnt => unary!(I8X16, popcnt),
            I8x16AllTrue => all_true!(I8X16),
            I8x16Bitmask => bitmask!(I8X16),
            I8x16NarrowI16x8S => binary!(I16X8, snarrow),
            I8x16NarrowI16x8U => binary!(I16X8, unarrow),
            I8x16Shl => shift!(I8X16, ishl),
            I8x16ShrS => shift!(I8X16, sshr),
            I8x16ShrU => shift!(I8X16, ushr),
            I8x16Add => binary!(I8X16, iadd),
            I8x16AddSatS => binary!(I8X16, sadd_sat),
            I8x16AddSatU => binary!(I8X16, uadd_sat),
            I8x16Sub => binary!(I8X16, isub),
            I8x16SubSatS => binary!(I8X16, ssub_sat),
            I8x16SubSatU => binary!(I8X16, usub_sat),
            I8x16MinS => binary!(I8X16, smin),
            I8x16MinU => binary!(I8X16, umin),
            I8x16MaxS => binary!(I8X16, smax),
            I8x16MaxU => binary!(I8X16, umax),
            I8x16AvgrU => binary!(I8X16, avg_round),
            I16x8ExtAddPairwiseI8x16S => self.extadd_pairwise(I8X16, true),
            I16x8ExtAddPairwiseI8x16U => self.extadd_pairwise(I8X16, false),
            I16x8Abs => unary!(I16X8, iabs),
            I16x8Neg => unary!(I16X8, ineg),
            I16x8Q15MulrSatS => binary!(I16X8, sqmul_round_sat),
            I16x8AllTrue => all_true!(I16X8),
            I16x8Bitmask => bitmask!(I16X8),
            I16x8NarrowI32x4S => binary!(I32X4, snarrow),
            I16x8NarrowI32x4U => binary!(I32X4, unarrow),
            I16x8ExtendLowI8x16S => self.extend(I8X16, true, false),
            I16x8ExtendHighI8x16S => self.extend(I8X16, true, true),
            I16x8ExtendLowI8x16U => self.extend(I8X16, false, false),
            I16x8ExtendHighI8x16U => self.extend(I8X16, false, true),
            I16x8Shl => shift!(I16X8, ishl),
            I16x8ShrS => shift!(I16X8, sshr),
            I16x8ShrU => shift!(I16X8, ushr),
            I16x8Add => binary!(I16X8, iadd),
            I16x8AddSatS => binary!(I16X8, sadd_sat),
            I16x8AddSatU => binary!(I16X8, uadd_sat),
            I16x8Sub => binary!(I16X8, isub),
            I16x8SubSatS => binary!(I16X8, ssub_sat),
            I16x8SubSatU => binary!(I16X8, usub_sat),
            I16x8Mul => binary!(I16X8, imul),
            I16x8MinS => binary!(I16X8, smin),
            I16x8MinU => binary!(I16X8, umin),
            I16x8MaxS => binary!(I16X8, smax),
            I16x8MaxU => binary!(I16X8, umax),
            I16x8AvgrU => binary!(I16X8, avg_round),
            I16x8ExtMulLowI8x16S => self.extmul(I8X16, true, false),
            I16x8ExtMulHighI8x16S => self.extmul(I8X16, true, true),
            I16x8ExtMulLowI8x16U => self.extmul(I8X16, false, false),
            I16x8ExtMulHighI8x16U => self.extmul(I8X16, false, true),
            I32x4ExtAddPairwiseI16x8S => self.extadd_pairwise(I16X8, true),
            I32x4ExtAddPairwiseI16x8U => self.extadd_pairwise(I16X8, false),
            I32x4Abs => unary!(I32X4, iabs),
            I32x4Neg => unary!(I32X4, ineg),
            I32x4AllTrue => all_true!(I32X4),
            I32x4Bitmask => bitmask!(I32X4),
            I32x4ExtendLowI16x8S => self.extend(I16X8, true, false),
            I32x4ExtendHighI16x8S => self.extend(I16X8, true, true),
            I32x4ExtendLowI16x8U => self.extend(I16X8, false, false),
            I32x4ExtendHighI16x8U => self.extend(I16X8, false, true),
            I32x4Shl => shift!(I32X4, ishl),
            I32x4ShrS => shift!(I32X4, sshr),
            I32x4ShrU => shift!(I32X4, ushr),
            I32x4Add => binary!(I32X4, iadd),
            I32x4Sub => binary!(I32X4, isub),
            I32x4Mul => binary!(I32X4, imul),
            I32x4MinS => binary!(I32X4, smin),
            I32x4MinU => binary!(I32X4, umin),
            I32x4MaxS => binary!(I32X4, smax),
            I32x4MaxU => binary!(I32X4, umax),
            I32x4DotI16x8S => {
                let (a, b) = self.pop2_vector(I16X8);
                let v = self.pairwise_dot(a, b);
                self.push_vector(v);
            }
            I32x4ExtMulLowI16x8S => self.extmul(I16X8, true, false),
            I32x4ExtMulHighI16x8S => self.extmul(I16X8, true, true),
            I32x4ExtMulLowI16x8U => self.extmul(I16X8, false, false),
            I32x4ExtMulHighI16x8U => self.extmul(I16X8, false, true),
            I64x2Abs => unary!(I64X2, iabs),
            I64x2Neg => unary!(I64X2, ineg),
            I64x2AllTrue => all_true!(I64X2),
            I64x2Bitmask => bitmask!(I64X2),
            I64x2ExtendLowI32x4S => self.extend(I32X4, true, false),
            I64x2ExtendHighI32x4S => self.extend(I32X4, true, true),
            I64x2ExtendLowI32x4U => self.extend(I32X4, false, false),
            I64x2ExtendHighI32x4U => self.extend(I32X4, false, true),
            I64x2Shl => shift!(I64X2, ishl),
            I64x2ShrS => shift!(I64X2, sshr),
            I64x2ShrU => shift!(I64X2, ushr),
            I64x2Add => binary!(I64X2, iadd),
            I64x2Sub => binary!(I64X2, isub),
            I64x2Mul => binary!(I64X2, imul),
            I64x2ExtMulLowI32x4S => self.extmul(I32X4, true, false),
            I64x2ExtMulHighI32x4S => self.extmul(I32X4, true, true),
            I64x2ExtMulLowI32x4U => self.extmul(I32X4, false, false),
            I64x2ExtMulHighI32x4U => self.extmul(I32X4, false, true),

            // Floating-point lanes.
            F32x4Ceil => unary!(F32X4, ceil),
            F32x4Floor => unary!(F32X4, floor),
            F32x4Trunc => unary!(F32X4, trunc),
            F32x4Nearest => unary!(F32X4, nearest),
            F32x4Abs => unary!(F32X4, fabs),
            F32x4Neg => unary!(F32X4, fneg),
            F32x4Sqrt => unary!(F32X4, sqrt),
            F32x4Add => binary!(F32X4, fadd),
            F32x4Sub => binary!(F32X4, fsub),
            F32x4Mul => binary!(F32X4, fmul),
            F32x4Div => binary!(F32X4, fdiv),
            F32x4Min => binary!(F32X4, fmin),
            F32x4Max => binary!(F32X4, fmax),
            F32x4PMin => self.pseudo_min_max(F32X4, false),
            F32x4PMax => self.pseudo_min_max(F32X4, true),
            F64x2Ceil => unary!(F64X2, ceil),
            F64x2Floor => unary!(F64X2, floor),
            F64x2Trunc => unary!(F64X2, trunc),
            F64x2Nearest => unary!(F64X2, nearest),
            F64x2Abs => unary!(F64X2, fabs),
            F64x2Neg => unary!(F64X2, fneg),
            F64x2Sqrt => unary!(F64X2, sqrt),
            F64x2Add => binary!(F64X2, fadd),
            F64x2Sub => binary!(F64X2, fsub),
            F64x2Mul => binary!(F64X2, fmul),
            F64x2Div => binary!(F64X2, fdiv),
            F64x2Min => binary!(F64X2, fmin),
            F64x2Max => binary!(F64X2, fmax),
            F64x2PMin => self.pseudo_min_max(F64X2, false),
            F64x2PMax => self.pseudo_min_max(F64X2, true),

            // Conversions.
            I32x4TruncSatF32x4S => convert!(F32X4, fcvt_to_sint_sat, I32X4),
            I32x4TruncSatF32x4U => convert!(F32X4, fcvt_to_uint_sat, I32X4),
            F32x4ConvertI32x4S => convert!(I32X4, fcvt_from_sint, F32X4),
            F32x4ConvertI32x4U => convert!(I32X4, fcvt_from_uint, F32X4),
            I32x4TruncSatF64x2SZero | I32x4TruncSatF64x2UZero => {
                // Two saturated i64 lanes, narrowed with saturation (they
                // are in i32's range already) next to two zero lanes.
                let signed = matches!(op, I32x4TruncSatF64x2SZero);
                let a = self.pop_vector(F64X2);
                // A zero `vconst` of `I64X2` itself: the x64 backend
                // lowers `snarrow`/`uunarrow` of i64 lanes only in this
                // pattern (`cvttpd2dq`), not for any vector.
                let c = self
                    .builder
                    .func
                    .dfg
                    .constants
                    .insert(ConstantData::from(vec![0; 16]));
                let zero = self.builder.ins().vconst(I64X2, c);
                let v = if signed {
                    let wide = self.builder.ins().fcvt_to_sint_sat(I64X2, a);
                    self.builder.ins().snarrow(wide, zero)
                } else {
                    let wide = self.builder.ins().fcvt_to_uint_sat(I64X2, a);
                    self.builder.ins().uunarrow(wide, zero)
                };
                self.push_vector(v);
            }
            F64x2ConvertLowI32x4S => {
                let a = self.pop_vector(I32X4);
                let wide = self.builder.ins().swiden_low(a);
                let v = self.builder.ins().fcvt_from_sint(F64X2, wide);
                self.push_vector(v);
            }
            F64x2ConvertLowI32x4U => {
                let a = self.pop_vector(I32X4);
                let wide = self.builder.ins().uwiden_low(a);
                let v = self.builder.ins().fcvt_from_uint(F64X2, wide);
                self.push_vector(v);
            }
            F32x4DemoteF64x2Zero => unary!(F64X2, fvdemote),
            F64x2PromoteLowF32x4 => unary!(F32X4, fvpromote_low),

            // Relaxed SIMD: each instruction gives one of the results its
            // specification allows, the same on every target and CPU level
            // (the deterministic choice: the non-relaxed instruction's
            // result, multiply and add unfused).
            I8x16RelaxedSwizzle => binary!(I8X16, swizzle),
            I32x4RelaxedTruncF32x4S => return self.translate_simd(&I32x4TruncSatF32x4S),
            I32x4RelaxedTruncF32x4U => return self.translate_simd(&I32x4TruncSatF32x4U),
            I32x4RelaxedTruncF64x2SZero => return self.translate_simd(&I32x4TruncSatF64x2SZero),
            I32x4RelaxedTruncF64x2UZero => return self.translate_simd(&I32x4TruncSatF64x2UZero),
            F32x4RelaxedMadd => self.multiply_add(F32X4, false),
            F32x4RelaxedNmadd => self.multiply_add(F32X4, true),
            F64x2RelaxedMadd => self.multiply_add(F64X2, false),
            F64x2RelaxedNmadd => self.multiply_add(F64X2, true),
            I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect => {
                return self.translate_simd(&V128Bitselect);
            }
            F32x4RelaxedMin => binary!(F32X4, fmin),
            F32x4RelaxedMax => binary!(F32X4, fmax),
            F64x2RelaxedMin => binary!(F64X2, fmin),
            F64x2RelaxedMax => binary!(F64X2, fmax),
            I16x8RelaxedQ15mulrS => binary!(I16X8, sqmul_round_sat),
            I16x8RelaxedDotI8x16I7x16S => {
                let (a, b) = self.pop2_vector(I8X16);
                let v = self.pairwise_dot(a, b);
                self.push_vector(v);
            }
            I32x4RelaxedDotI8x16I7x16AddS => {
                let c = self.pop_vector(I32X4);
                let (a, b) = self.pop2_vector(I8X16);
                let dot = self.pairwise_dot(a, b);
                let sums = self.add_pairs(dot, true);
                let v = self.builder.ins().iadd(sums, c);
                self.push_vector(v);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
