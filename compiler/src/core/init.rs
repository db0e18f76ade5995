//! The instantiation function of a module.
//!
//! In: a module and where its data segment bytes are in the object. Out:
//! an `ir::Function` with the signature of
//! `smelt_abi::program::InstantiateFn`, `(vmctx, imports)`, that
//! initializes one instance in the order the core specification gives
//! ("Instantiation"):
//!
//! 1. import slots, from the `imports` array, and the instance's GC roots
//!    (globals, tables and element segments of reference types), which
//!    the collector must see from then on;
//! 2. a `VMFuncRef` for every escaping function, and the defined tags;
//! 3. defined globals, evaluating their constant expressions in order;
//! 4. defined tables and memories (through runtime built-ins);
//! 5. element segments (evaluated into the `vmctx`) and data segments;
//! 6. active element segments copied into their tables, then active data
//!    segments into their memories, each dropped afterwards, in order,
//!    trapping at the first out-of-bounds one; declarative segments dropped;
//! 7. the start function.
//!
//! Constant expressions become straight-line IR, so extended constant
//! expressions need nothing special; GC objects they create are allocated
//! as guest code allocates them (`super::heap`), the references kept in
//! stack maps while they are live across an allocation.

use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::types::{I8X16, I32, I64};
use cranelift_codegen::ir::{
    self, AbiParam, Function, GlobalValueData, InstBuilder, MemFlagsData, UserExternalName,
    UserFuncName, Value,
};
use cranelift_entity::EntityRef;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::DataId;
use smelt_abi::builtins::Builtin;
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{
    FUNCREF_TYPE_ID, FUNCREF_VMCTX, FUNCREF_WASM_CALL, MEMORY_FLAG_64, MEMORY_FLAG_SHARED,
    SEGMENT_LEN, SEGMENT_PTR,
};

use smelt_abi::gc::{self, ObjectKind};

use super::env::{ModuleEnv, POINTER};
use super::heap;
use super::module::{ConstExpr, ConstOp, DataMode, ElemMode};
use super::translate::trap;
use super::vmctx;

/// Where a module's data segment bytes are: one read-only object holding
/// them all, and each segment's offset in it.
pub struct DataBlob {
    /// The object.
    pub id: DataId,
    /// Offset of each data segment's bytes in it.
    pub offsets: Vec<u32>,
}

struct InitBuilder<'a, 'b> {
    env: &'a ModuleEnv<'a>,
    b: FunctionBuilder<'b>,
    vmctx: Value,
    gc_alloc: Option<ir::FuncRef>,
}

impl InitBuilder<'_, '_> {
    fn store(&mut self, value: Value, base: Value, offset: u32) {
        self.b
            .ins()
            .store(MemFlagsData::trusted(), value, base, offset as i32);
    }

    fn iconst(&mut self, ty: ir::Type, v: i64) -> Value {
        self.b.ins().iconst(ty, v)
    }

    /// Evaluates a constant expression.
    fn eval(&mut self, expr: &ConstExpr) -> Value {
        let mut stack: Vec<Value> = Vec::new();
        for op in &expr.ops {
            let v = match *op {
                ConstOp::I32Const(v) => self.iconst(I32, i64::from(v)),
                ConstOp::I64Const(v) => self.iconst(I64, v),
                ConstOp::F32Const(bits) => self.b.ins().f32const(Ieee32::with_bits(bits)),
                ConstOp::F64Const(bits) => self.b.ins().f64const(Ieee64::with_bits(bits)),
                ConstOp::V128Const(bits) => {
                    let c = self
                        .b
                        .func
                        .dfg
                        .constants
                        .insert(bits.to_le_bytes().to_vec().into());
                    self.b.ins().vconst(I8X16, c)
                }
                ConstOp::RefNull => self.iconst(POINTER, 0),
                ConstOp::RefFunc(f) => vmctx::func_ref(&mut self.b, self.env, self.vmctx, f),
                ConstOp::GlobalGet(g) => {
                    let v = vmctx::global_get(&mut self.b, self.env, self.vmctx, g);
                    let ty = self.env.info.globals[g].ty.content_type;
                    if self.env.stack_maps && self.env.info.is_gc_ref(self.env.registry, ty) {
                        self.b.declare_value_needs_stack_map(v);
                    }
                    v
                }
                ConstOp::StructNew(t) | ConstOp::StructNewDefault(t) => {
                    let id = self.env.info.type_id(t);
                    let fields = self.env.registry.get(id).fields.clone();
                    let values = match op {
                        ConstOp::StructNew(_) => stack.split_off(stack.len() - fields.len()),
                        _ => Vec::new(),
                    };
                    let layout = self.env.registry.struct_layout(id);
                    let size = self.iconst(I64, i64::from(layout.size));
                    let header = self.iconst(I64, gc::header(id, ObjectKind::Struct) as i64);
                    let gc_alloc = self.gc_alloc();
                    let obj = heap::alloc(&mut self.b, self.vmctx, gc_alloc, size, header);
                    for ((&v, &storage), &offset) in values.iter().zip(&fields).zip(&layout.offsets)
                    {
                        heap::store_field(
                            &mut self.b,
                            storage,
                            v,
                            obj,
                            offset,
                            MemFlagsData::trusted(),
                        );
                    }
                    self.b.declare_value_needs_stack_map(obj);
                    obj
                }
                ConstOp::ArrayNew(t) | ConstOp::ArrayNewDefault(t) => {
                    let id = self.env.info.type_id(t);
                    let len = stack.pop().expect("validated");
                    let value = match op {
                        ConstOp::ArrayNew(_) => stack.pop(),
                        _ => None,
                    };
                    let gc_alloc = self.gc_alloc();
                    let arr = heap::alloc_array(
                        &mut self.b,
                        self.vmctx,
                        gc_alloc,
                        self.env.registry,
                        id,
                        len,
                    );
                    if let Some(value) = value {
                        let storage = self.env.registry.array_elem(id);
                        let zero = self.iconst(I32, 0);
                        heap::fill(&mut self.b, arr, storage, zero, value, len);
                    }
                    self.b.declare_value_needs_stack_map(arr);
                    arr
                }
                ConstOp::ArrayNewFixed(t, n) => {
                    let id = self.env.info.type_id(t);
                    let values = stack.split_off(stack.len() - n as usize);
                    let len = self.iconst(I32, i64::from(n));
                    let gc_alloc = self.gc_alloc();
                    let arr = heap::alloc_array(
                        &mut self.b,
                        self.vmctx,
                        gc_alloc,
                        self.env.registry,
                        id,
                        len,
                    );
                    let storage = self.env.registry.array_elem(id);
                    for (i, &v) in values.iter().enumerate() {
                        let offset = gc::ARRAY_ELEMS + i as u32 * storage.size();
                        heap::store_field(
                            &mut self.b,
                            storage,
                            v,
                            arr,
                            offset,
                            MemFlagsData::trusted(),
                        );
                    }
                    self.b.declare_value_needs_stack_map(arr);
                    arr
                }
                ConstOp::RefI31 => {
                    let v = stack.pop().expect("validated");
                    let shifted = self.b.ins().ishl_imm_u(v, 1);
                    let tagged = self.b.ins().bor_imm_u(shifted, 1);
                    self.b.ins().uextend(I64, tagged)
                }
                ConstOp::Convert => stack.pop().expect("validated"),
                ConstOp::I32Add | ConstOp::I64Add => {
                    let (x, y) = pop2(&mut stack);
                    self.b.ins().iadd(x, y)
                }
                ConstOp::I32Sub | ConstOp::I64Sub => {
                    let (x, y) = pop2(&mut stack);
                    self.b.ins().isub(x, y)
                }
                ConstOp::I32Mul | ConstOp::I64Mul => {
                    let (x, y) = pop2(&mut stack);
                    self.b.ins().imul(x, y)
                }
            };
            stack.push(v);
        }
        stack
            .pop()
            .expect("validated: a constant expression yields a value")
    }

    /// Evaluates an offset expression as an i64.
    fn eval_offset(&mut self, expr: &ConstExpr) -> Value {
        let v = self.eval(expr);
        if self.b.func.dfg.value_type(v) == I64 {
            v
        } else {
            self.b.ins().uextend(I64, v)
        }
    }

    fn call_builtin_checked(&mut self, builtin: Builtin, args: &[Value], code: TrapCode) {
        let sig = self.b.import_signature(self.env.builtin_signature(builtin));
        let name = self
            .b
            .func
            .declare_imported_user_function(ModuleEnv::func_name(self.env.builtins[&builtin]));
        let f = self.b.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature: sig,
            colocated: false,
            patchable: false,
        });
        let call = self.b.ins().call(f, args);
        let status = self.b.inst_results(call)[0];
        self.b.ins().trapnz(status, trap(code));
    }
}

impl InitBuilder<'_, '_> {
    /// The exit stub of the `gc_alloc` built-in, imported once.
    fn gc_alloc(&mut self) -> ir::FuncRef {
        if let Some(f) = self.gc_alloc {
            return f;
        }
        let builtin = Builtin::gc_alloc;
        let sig = self.b.import_signature(self.env.builtin_signature(builtin));
        let name = self
            .b
            .func
            .declare_imported_user_function(ModuleEnv::func_name(self.env.builtins[&builtin]));
        let f = self.b.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature: sig,
            colocated: false,
            patchable: false,
        });
        self.gc_alloc = Some(f);
        f
    }
}

fn pop2(stack: &mut Vec<Value>) -> (Value, Value) {
    let y = stack.pop().expect("validated");
    let x = stack.pop().expect("validated");
    (x, y)
}

/// Builds the instantiation function of the module in `env`.
pub fn build(
    env: &ModuleEnv<'_>,
    name: UserFuncName,
    data: Option<&DataBlob>,
    gc_roots: Option<DataId>,
    ctx: &mut FunctionBuilderContext,
) -> Function {
    let mut sig = ir::Signature::new(env.system_call_conv);
    sig.params.push(AbiParam::new(POINTER));
    sig.params.push(AbiParam::new(POINTER));
    let mut func = Function::with_name_signature(name, sig);
    let mut b = FunctionBuilder::new(&mut func, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (vmctx, imports) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let mut t = InitBuilder {
        env,
        b,
        vmctx,
        gc_alloc: None,
    };
    let info = env.info;

    // 1. Import slots, and the GC roots.
    for (i, import) in info.imports.iter().enumerate() {
        let p =
            t.b.ins()
                .load(POINTER, MemFlagsData::trusted(), imports, (8 * i) as i32);
        let slot = env.offsets.import_slot(import.index);
        t.store(p, vmctx, slot);
    }
    if let Some(roots) = gc_roots {
        let name =
            t.b.func
                .declare_imported_user_function(UserExternalName::new(1, roots.as_u32()));
        let gv = t.b.create_global_value(GlobalValueData::Symbol {
            name: ir::ExternalName::user(name),
            offset: 0.into(),
            colocated: true,
            tls: false,
        });
        let roots = t.b.ins().symbol_value(POINTER, gv);
        t.call_builtin_checked(
            Builtin::gc_register_roots,
            &[vmctx, roots],
            TrapCode::AllocationFailed,
        );
    }

    // 2. Function references of escaping functions.
    for &def in &info.escaping {
        let offset = env.offsets.funcref(def).expect("escaping");
        let callee = vmctx::import_defined_func(&mut t.b, env, def);
        let code = t.b.ins().func_addr(POINTER, callee);
        t.store(code, vmctx, offset + FUNCREF_WASM_CALL);
        t.store(vmctx, vmctx, offset + FUNCREF_VMCTX);
        let type_id = info.func_type_id(info.func_index(def));
        let type_id = t.iconst(I32, i64::from(type_id));
        t.store(type_id, vmctx, offset + FUNCREF_TYPE_ID);
    }

    // Tags: their identity is their address; they hold their type.
    for (tag, &ty) in info.tags.iter().skip(info.num_imported_tags) {
        if let super::offsets::Place::Inline(at) = env.offsets.tag(tag) {
            let type_id = t.iconst(I32, i64::from(info.types[ty].type_id));
            t.store(type_id, vmctx, at);
        }
    }

    // 3. Globals.
    for (g, decl) in info.globals.iter().skip(info.num_imported_globals) {
        let value = t.eval(
            decl.init
                .as_ref()
                .expect("defined globals have initializers"),
        );
        let (base, offset) = vmctx::global_addr(&mut t.b, env, vmctx, g);
        t.b.ins()
            .store(MemFlagsData::trusted(), value, base, offset);
    }

    // 4. Tables and memories.
    for (i, decl) in info.tables.iter().skip(info.num_imported_tables) {
        let init = match &decl.init {
            Some(expr) => t.eval(expr),
            None => t.iconst(POINTER, 0),
        };
        let def = vmctx::table_def(&mut t.b, env, vmctx, i);
        let min = t.iconst(I64, decl.ty.initial as i64);
        let max = t.iconst(I64, decl.ty.maximum.map_or(-1, |m| m as i64));
        t.call_builtin_checked(
            Builtin::table_new,
            &[def, min, max, init],
            TrapCode::AllocationFailed,
        );
    }
    for (i, ty) in info.memories.iter().skip(info.num_imported_memories) {
        let def = vmctx::memory_def(&mut t.b, env, vmctx, i);
        let min = t.iconst(I64, ty.initial as i64);
        let max = t.iconst(I64, ty.maximum.map_or(-1, |m| m as i64));
        let reservation = t.iconst(I64, 0);
        let mut flags = if ty.memory64 { MEMORY_FLAG_64 } else { 0 };
        if ty.shared {
            flags |= MEMORY_FLAG_SHARED;
        }
        let flags = t.iconst(I32, i64::from(flags));
        t.call_builtin_checked(
            Builtin::memory_new,
            &[def, min, max, reservation, flags],
            TrapCode::AllocationFailed,
        );
    }

    // 5. Segments.
    for (e, seg) in info.elems.iter() {
        let storage = env.offsets.elem_storage(e);
        for (k, item) in seg.items.iter().enumerate() {
            let v = t.eval(item);
            t.store(v, vmctx, storage + 8 * k as u32);
        }
        let ptr = t.b.ins().iadd_imm_u(vmctx, i64::from(storage));
        let len = t.iconst(I64, seg.items.len() as i64);
        let at = env.offsets.elem_segment(e);
        t.store(ptr, vmctx, at + SEGMENT_PTR);
        t.store(len, vmctx, at + SEGMENT_LEN);
    }
    if let Some(blob) = data {
        let name =
            t.b.func
                .declare_imported_user_function(UserExternalName::new(1, blob.id.as_u32()));
        let gv = t.b.create_global_value(GlobalValueData::Symbol {
            name: ir::ExternalName::user(name),
            offset: 0.into(),
            colocated: true,
            tls: false,
        });
        let base = t.b.ins().symbol_value(POINTER, gv);
        for (d, seg) in info.data.iter() {
            let ptr =
                t.b.ins()
                    .iadd_imm_u(base, i64::from(blob.offsets[d.index()]));
            let len = t.iconst(I64, seg.bytes.len() as i64);
            let at = env.offsets.data_segment(d);
            t.store(ptr, vmctx, at + SEGMENT_PTR);
            t.store(len, vmctx, at + SEGMENT_LEN);
        }
    }

    // 6. Active and declarative segments.
    let zero = t.iconst(I64, 0);
    for (e, seg) in info.elems.iter() {
        let at = env.offsets.elem_segment(e);
        match &seg.mode {
            ElemMode::Active { table, offset } => {
                let dst = t.eval_offset(offset);
                let def = vmctx::table_def(&mut t.b, env, vmctx, *table);
                let segment = t.b.ins().iadd_imm_u(vmctx, i64::from(at));
                let len = t.iconst(I64, seg.items.len() as i64);
                t.call_builtin_checked(
                    Builtin::table_init,
                    &[def, dst, segment, zero, len],
                    TrapCode::TableOutOfBounds,
                );
                t.store(zero, vmctx, at + SEGMENT_LEN);
            }
            ElemMode::Declared => t.store(zero, vmctx, at + SEGMENT_LEN),
            ElemMode::Passive => {}
        }
    }
    for (d, seg) in info.data.iter() {
        if let DataMode::Active { memory, offset } = &seg.mode {
            let at = env.offsets.data_segment(d);
            let dst = t.eval_offset(offset);
            let def = vmctx::memory_def(&mut t.b, env, vmctx, *memory);
            let segment = t.b.ins().iadd_imm_u(vmctx, i64::from(at));
            let len = t.iconst(I64, seg.bytes.len() as i64);
            t.call_builtin_checked(
                Builtin::memory_init,
                &[def, dst, segment, zero, len],
                TrapCode::MemoryOutOfBounds,
            );
            t.store(zero, vmctx, at + SEGMENT_LEN);
        }
    }

    // 7. The start function.
    if let Some(start) = info.start {
        vmctx::call_func(&mut t.b, env, vmctx, start, &[]);
    }
    t.b.ins().return_(&[]);
    t.b.finalize(env.frontend_config);
    func
}
