//! Table instructions: `table.*` and `elem.drop`.
//!
//! A table's elements are 64-bit references in an array the runtime may
//! reallocate when the table grows, so `table.get`, `table.set` and
//! `call_indirect` reload the base and length from the
//! `VMTableDefinition` and check the index explicitly.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, Value};
use smelt_abi::builtins::Builtin;
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{SEGMENT_LEN, TABLE_BASE, TABLE_LENGTH};
use wasmparser::Operator;

use super::FuncTranslator;
use crate::core::env::POINTER;
use crate::core::types::*;
use crate::core::vmctx;
use crate::error::Result;

impl FuncTranslator<'_, '_> {
    /// The address of table `t`'s `VMTableDefinition`.
    fn table_def(&mut self, t: TableIndex) -> Value {
        vmctx::table_def(&mut self.builder, self.env, self.vmctx, t)
    }

    fn is_table64(&self, t: TableIndex) -> bool {
        self.env.info.tables[t].ty.table64
    }

    /// The address of element `index` (an index of `t`'s index type) of
    /// table `t`, trapping with `code` when it is out of bounds.
    pub(super) fn table_element_addr(
        &mut self,
        t: TableIndex,
        index: Value,
        code: TrapCode,
    ) -> Value {
        let index = self.extend_to_i64(index);
        let def = self.table_def(t);
        let length = self
            .builder
            .ins()
            .load(I64, Self::trusted(), def, TABLE_LENGTH as i32);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.trap_if(oob, code);
        let base = self
            .builder
            .ins()
            .load(POINTER, Self::trusted(), def, TABLE_BASE as i32);
        let scaled = self.builder.ins().ishl_imm_u(index, 3);
        self.builder.ins().iadd(base, scaled)
    }

    /// Translates `op` if it is a table instruction; returns whether it
    /// was.
    pub(super) fn translate_table(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator::*;
        match *op {
            TableGet { table } => {
                let t = TableIndex::from_u32(table);
                let index = self.pop();
                let addr = self.table_element_addr(t, index, TrapCode::TableOutOfBounds);
                let v = self.builder.ins().load(POINTER, Self::trusted(), addr, 0);
                self.push(v);
            }
            TableSet { table } => {
                let t = TableIndex::from_u32(table);
                let value = self.pop();
                let index = self.pop();
                let addr = self.table_element_addr(t, index, TrapCode::TableOutOfBounds);
                self.builder.ins().store(Self::trusted(), value, addr, 0);
            }
            TableSize { table } => {
                let t = TableIndex::from_u32(table);
                let def = self.table_def(t);
                let length =
                    self.builder
                        .ins()
                        .load(I64, Self::trusted(), def, TABLE_LENGTH as i32);
                let v = self.index_result(length, self.is_table64(t));
                self.push(v);
            }
            TableGrow { table } => {
                let t = TableIndex::from_u32(table);
                let delta = self.pop();
                let init = self.pop();
                let delta = self.extend_to_i64(delta);
                let def = self.table_def(t);
                let old = self.call_builtin(Builtin::table_grow, &[def, delta, init]);
                let v = self.index_result(old, self.is_table64(t));
                self.push(v);
            }
            TableFill { table } => {
                let t = TableIndex::from_u32(table);
                let (dst, value, len) = self.pop3();
                let dst = self.extend_to_i64(dst);
                let len = self.extend_to_i64(len);
                let def = self.table_def(t);
                self.call_builtin_checked(
                    Builtin::table_fill,
                    &[def, dst, value, len],
                    TrapCode::TableOutOfBounds,
                );
            }
            TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst = self.extend_to_i64(dst);
                let src = self.extend_to_i64(src);
                let len = self.extend_to_i64(len);
                let dst_def = self.table_def(TableIndex::from_u32(dst_table));
                let src_def = self.table_def(TableIndex::from_u32(src_table));
                self.call_builtin_checked(
                    Builtin::table_copy,
                    &[dst_def, dst, src_def, src, len],
                    TrapCode::TableOutOfBounds,
                );
            }
            TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let dst = self.extend_to_i64(dst);
                let src = self.extend_to_i64(src);
                let len = self.extend_to_i64(len);
                let def = self.table_def(TableIndex::from_u32(table));
                let seg = self
                    .env
                    .offsets
                    .elem_segment(ElemIndex::from_u32(elem_index));
                let segment = self.builder.ins().iadd_imm_u(self.vmctx, i64::from(seg));
                self.call_builtin_checked(
                    Builtin::table_init,
                    &[def, dst, segment, src, len],
                    TrapCode::TableOutOfBounds,
                );
            }
            ElemDrop { elem_index } => {
                let seg = self
                    .env
                    .offsets
                    .elem_segment(ElemIndex::from_u32(elem_index));
                let zero = self.builder.ins().iconst(I64, 0);
                self.builder.ins().store(
                    Self::trusted(),
                    zero,
                    self.vmctx,
                    (seg + SEGMENT_LEN) as i32,
                );
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
