//! The async built-ins core instances import (CanonicalABI.md, the
//! `canon task.*`, `context.*`, `backpressure.*`, `thread.yield`,
//! `subtask.*`, `waitable-set.*` and `waitable.join` definitions).
//!
//! One trampoline function, [`builtin_trampoline`], serves them all: it
//! finds the built-in's [`Builtin`] descriptor and its references (the
//! calling instance, its memory) and acts for the running thread's task.
//! Handle indices are checked against the calling instance's table; every
//! misuse is a [`ComponentTrap`].

use std::rc::Rc;

use smelt_abi::component::{
    Builtin, BuiltinOp, MAX_FLAT_PARAMS, TrampolineKind, TrampolineRefs, TypeId, ValType,
};
use smelt_abi::vm::ValRaw;

use super::canonical::{end_lends, take_set_event, task_cancel, task_return, wait_on_set};
use super::handles::Slot;
use super::task::{TaskState, event};
use super::trap::ComponentTrap;
use super::waitable::WaitableSet;
use super::{InstanceState, Memory, Runtime, TrampolineState, runtime, status};

/// The trampoline function of async built-ins (see
/// `smelt_abi::vm::TrampolineFn`).
///
/// # Safety
///
/// `ctx` must be a built-in's trampoline state; `args` must hold its flat
/// arguments and `results` room for its flat results.
#[unsafe(export_name = "smelt_builtin_trampoline")] // smelt_abi::BUILTIN_TRAMPOLINE_SYMBOL
pub(super) unsafe extern "C" fn builtin_trampoline(
    ctx: *mut u8,
    args: *mut ValRaw,
    results: *mut ValRaw,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let state = unsafe { &*ctx.cast::<TrampolineState>() };
    let rt = runtime();
    let TrampolineKind::Builtin(b) = rt.desc.trampolines[state.index as usize] else {
        unreachable!("a built-in trampoline");
    };
    let TrampolineRefs::Builtin { caller, start } = state.refs else {
        unreachable!("a built-in's references");
    };
    let inst = caller.instance.instance();
    let memory = caller.memory.memory();
    let realloc = caller.realloc.func().map(super::Realloc::Core);
    let start = start.func();
    let arg = |i: usize| -> u32 {
        // SAFETY: the built-in's core type has at least `i + 1` params.
        unsafe { *args.add(i) as u32 }
    };
    let result = if switches_threads(b.op) {
        thread_op(rt, inst, b.op, start, &arg)
    } else if is_stream_op(b.op) {
        super::stream::Op {
            rt,
            inst,
            memory,
            realloc,
            b,
        }
        .run(&arg)
    } else {
        Cx {
            rt,
            inst,
            memory,
            realloc,
            b,
        }
        .run(&arg, args)
    };
    status(result.map(|r| {
        if let Some(v) = r {
            // SAFETY: built-ins with a result have room for it.
            unsafe { *results = v };
        }
    }))
}

/// Whether `op` is a `thread.*` built-in that creates or switches threads.
pub(super) fn switches_threads(op: BuiltinOp) -> bool {
    matches!(
        op,
        BuiltinOp::ThreadNewIndirect
            | BuiltinOp::ThreadSuspend
            | BuiltinOp::ThreadResumeLater
            | BuiltinOp::ThreadSuspendThenResume
            | BuiltinOp::ThreadYieldThenResume
    )
}

fn is_stream_op(op: BuiltinOp) -> bool {
    use BuiltinOp as B;
    matches!(
        op,
        B::StreamNew
            | B::StreamRead
            | B::StreamWrite
            | B::StreamCancelRead
            | B::StreamCancelWrite
            | B::StreamDropReadable
            | B::StreamDropWritable
            | B::FutureNew
            | B::FutureRead
            | B::FutureWrite
            | B::FutureCancelRead
            | B::FutureCancelWrite
            | B::FutureDropReadable
            | B::FutureDropWritable
    )
}

struct Cx<'a> {
    rt: &'a Runtime,
    inst: &'static InstanceState,
    memory: Option<Memory>,
    realloc: Option<super::Realloc>,
    b: Builtin,
}

impl Cx<'_> {
    /// The calling instance as one side of a canonical ABI copy.
    fn side(&self) -> super::canonical::Side<'static> {
        super::canonical::Side {
            instance: self.inst,
            memory: self.memory,
            realloc: self.realloc,
            encoding: self.b.options.string_encoding,
            host: false,
        }
    }

    fn leave(&self) -> Result<(), ComponentTrap> {
        if self.inst.may_leave.get() {
            Ok(())
        } else {
            Err(ComponentTrap::CannotLeave)
        }
    }

    fn set(&self, si: u32) -> Result<u32, ComponentTrap> {
        match self.inst.table.borrow().get(si)? {
            Slot::WaitableSet(s) => Ok(s),
            _ => Err(ComponentTrap::NotAWaitableSet(si)),
        }
    }

    fn store_event(&self, ptr: u32, p1: u32, p2: u32) -> Result<(), ComponentTrap> {
        let mem = self.memory.expect("validated: a memory option");
        if !ptr.is_multiple_of(4) {
            return Err(ComponentTrap::UnalignedPointer);
        }
        if !mem.contains(u64::from(ptr), 8) {
            return Err(ComponentTrap::ListOutOfBounds { host: false });
        }
        // SAFETY: checked above.
        let bytes = unsafe { mem.slice(ptr, 8) };
        bytes[..4].copy_from_slice(&p1.to_le_bytes());
        bytes[4..].copy_from_slice(&p2.to_le_bytes());
        Ok(())
    }

    fn run(
        &self,
        arg: &dyn Fn(usize) -> u32,
        args: *mut ValRaw,
    ) -> Result<Option<ValRaw>, ComponentTrap> {
        let rt = self.rt;
        let sched = &rt.sched;
        let inst = self.inst;
        let ok = |v: u32| Ok(Some(ValRaw::from(v)));
        match self.b.op {
            BuiltinOp::TaskReturn => {
                let task = sched.current_task().ok_or(ComponentTrap::NoTask)?;
                self.leave()?;
                let (async_lift, call) = {
                    let tasks = sched.tasks.borrow();
                    let t = tasks.get(task);
                    (t.async_lift, t.call.clone())
                };
                if !async_lift {
                    return Err(ComponentTrap::TaskNotAsync);
                }
                let call = call.expect("tasks of calls have their call");
                let want = call.result_type(rt);
                if !same_type(rt, self.b.ty, want) {
                    return Err(ComponentTrap::TaskReturnMismatch);
                }
                let flat = self.b.ty.map_or(0, |t| rt.desc.types.flat(t).len());
                let indirect = flat > MAX_FLAT_PARAMS;
                let n = if indirect { 1 } else { flat };
                // SAFETY: the built-in's core type has `n` params.
                let values = unsafe { core::slice::from_raw_parts(args, n) }.to_vec();
                task_return(rt, task, &values, indirect)?;
                Ok(None)
            }
            BuiltinOp::TaskCancel => {
                let task = sched.current_task().ok_or(ComponentTrap::NoTask)?;
                self.leave()?;
                if !sched.tasks.borrow().get(task).async_lift {
                    return Err(ComponentTrap::TaskNotAsync);
                }
                task_cancel(rt, task)?;
                Ok(None)
            }
            BuiltinOp::ContextGet => {
                let v = match sched.current() {
                    Some(t) => sched.threads.borrow().get(t).context[self.b.slot as usize],
                    None => 0,
                };
                ok(v)
            }
            BuiltinOp::ContextSet => {
                if let Some(t) = sched.current() {
                    sched.threads.borrow_mut().get_mut(t).context[self.b.slot as usize] = arg(0);
                }
                Ok(None)
            }
            BuiltinOp::BackpressureInc => {
                let n = inst.backpressure.get() + 1;
                if n >= 1 << 16 {
                    return Err(ComponentTrap::BackpressureOverflow);
                }
                inst.backpressure.set(n);
                Ok(None)
            }
            BuiltinOp::BackpressureDec => {
                let n = inst
                    .backpressure
                    .get()
                    .checked_sub(1)
                    .ok_or(ComponentTrap::BackpressureOverflow)?;
                inst.backpressure.set(n);
                Ok(None)
            }
            BuiltinOp::Yield => {
                self.leave()?;
                let cancelled = match sched.current() {
                    Some(t) => sched.yield_until(t, sched.always_ready(), false),
                    None => false,
                };
                ok(u32::from(cancelled))
            }
            BuiltinOp::WaitableSetNew => {
                self.leave()?;
                let s = sched
                    .waitables
                    .sets
                    .borrow_mut()
                    .add(WaitableSet::default());
                ok(inst.table.borrow_mut().add(Slot::WaitableSet(s))?)
            }
            BuiltinOp::WaitableSetWait => {
                self.leave()?;
                if !sched.may_block() {
                    return Err(ComponentTrap::CannotBlockSync);
                }
                let set = self.set(arg(0))?;
                let thread = sched.current().ok_or(ComponentTrap::NoTask)?;
                let (code, p1, p2) = wait_on_set(rt, thread, set, None, false);
                self.store_event(arg(1), p1, p2)?;
                ok(code)
            }
            BuiltinOp::WaitableSetPoll => {
                self.leave()?;
                let set = self.set(arg(0))?;
                let (code, p1, p2) = take_set_event(rt, set).unwrap_or((event::NONE, 0, 0));
                self.store_event(arg(1), p1, p2)?;
                ok(code)
            }
            BuiltinOp::WaitableSetDrop => {
                self.leave()?;
                let si = arg(0);
                let set = self.set(si)?;
                {
                    let sets = sched.waitables.sets.borrow();
                    if sets.get(set).num_waiting > 0 {
                        return Err(ComponentTrap::SetHasWaiters);
                    }
                }
                inst.table.borrow_mut().remove(si)?;
                let elems = sched.waitables.sets.borrow_mut().remove(set).elems;
                let mut items = sched.waitables.items.borrow_mut();
                for w in elems {
                    items.get_mut(w).set = None;
                }
                Ok(None)
            }
            BuiltinOp::WaitableJoin => {
                self.leave()?;
                let (wi, si) = (arg(0), arg(1));
                let w = match inst.table.borrow().get(wi)? {
                    Slot::Subtask(w) | Slot::Stream { end: w } | Slot::Future { end: w } => w,
                    _ => return Err(ComponentTrap::NotAWaitable(wi)),
                };
                let set = if si == 0 { None } else { Some(self.set(si)?) };
                if set.is_some() && super::stream::sync_copying(rt, w) {
                    return Err(ComponentTrap::SyncInSet);
                }
                sched.waitables.join(w, set);
                Ok(None)
            }
            BuiltinOp::SubtaskDrop => {
                self.leave()?;
                let i = arg(0);
                let w = match inst.table.borrow().get(i)? {
                    Slot::Subtask(w) => w,
                    _ => return Err(ComponentTrap::NotASubtask(i)),
                };
                let delivered = {
                    let items = sched.waitables.items.borrow();
                    let s = items.get(w).subtask();
                    s.delivered
                };
                if !delivered {
                    return Err(ComponentTrap::SubtaskNotResolved);
                }
                inst.table.borrow_mut().remove(i)?;
                let removed = sched.waitables.remove(w);
                rt.scopes.borrow_mut().remove(removed.subtask().scope);
                Ok(None)
            }
            BuiltinOp::SubtaskCancel => self.subtask_cancel(arg(0)),
            BuiltinOp::ErrorContextNew => {
                self.leave()?;
                let side = self.side();
                let cx = super::canonical::Cx {
                    rt,
                    from: &side,
                    to: &side,
                    scope: 0,
                };
                let text = cx.lift_string(arg(0), arg(1))?.text;
                let id = {
                    let mut all = sched.waitables.error_contexts.borrow_mut();
                    all.push(text);
                    (all.len() - 1) as u32
                };
                ok(inst.table.borrow_mut().add(Slot::ErrorContext(id))?)
            }
            BuiltinOp::ErrorContextDebugMessage => {
                self.leave()?;
                let i = arg(0);
                let id = match inst.table.borrow().get(i)? {
                    Slot::ErrorContext(id) => id,
                    _ => return Err(ComponentTrap::WrongHandleType(i)),
                };
                let text = sched.waitables.error_contexts.borrow()[id as usize].clone();
                let side = self.side();
                let cx = super::canonical::Cx {
                    rt,
                    from: &side,
                    to: &side,
                    scope: 0,
                };
                let (ptr, units) = cx.store_string(&super::canonical::SourceString::utf8(text))?;
                let ret = arg(1);
                self.store_event(ret, ptr, units)?;
                Ok(None)
            }
            BuiltinOp::ErrorContextDrop => {
                self.leave()?;
                let i = arg(0);
                match inst.table.borrow().get(i)? {
                    Slot::ErrorContext(_) => {}
                    _ => return Err(ComponentTrap::WrongHandleType(i)),
                }
                inst.table.borrow_mut().remove(i)?;
                Ok(None)
            }
            BuiltinOp::ThreadIndex => {
                self.leave()?;
                ok(sched.current().map_or(0, |t| t + 1))
            }
            op => {
                self.leave()?;
                Err(ComponentTrap::Unsupported(match op {
                    BuiltinOp::ErrorContextNew
                    | BuiltinOp::ErrorContextDebugMessage
                    | BuiltinOp::ErrorContextDrop => "error contexts",
                    _ => unreachable!("stream built-ins are handled apart"),
                }))
            }
        }
    }

    /// `canon subtask.cancel` (CanonicalABI.md `canon_subtask_cancel`).
    fn subtask_cancel(&self, i: u32) -> Result<Option<ValRaw>, ComponentTrap> {
        let rt = self.rt;
        let sched = &rt.sched;
        self.leave()?;
        if !self.b.async_ && !sched.may_block() {
            return Err(ComponentTrap::CannotBlockSync);
        }
        let w = match self.inst.table.borrow().get(i)? {
            Slot::Subtask(w) => w,
            _ => return Err(ComponentTrap::NotASubtask(i)),
        };
        let (state, task, delivered, requested) = {
            let items = sched.waitables.items.borrow();
            let s = items.get(w).subtask();
            (s.state, s.task, s.delivered, s.cancel_requested)
        };
        if delivered || requested {
            return Err(ComponentTrap::SubtaskCancelTwice);
        }
        if !self.b.async_ && sched.waitables.items.borrow().get(w).set.is_some() {
            return Err(ComponentTrap::SyncInSet);
        }
        let resolved = move || {
            let items = runtime().sched.waitables.items.borrow();
            let s = items.get(w).subtask();
            s.state.resolved()
        };
        if !state.resolved() {
            sched
                .waitables
                .items
                .borrow_mut()
                .get_mut(w)
                .subtask_mut()
                .cancel_requested = true;
            if let Some(task) = task {
                request_cancellation(rt, task)?;
            } else if let Some(abandon) = sched.host_subtasks.borrow_mut().remove(&w) {
                // A host call still waiting: it stops waiting, and the
                // subtask resolves as cancelled, with no result.
                abandon.set(true);
                let mut items = sched.waitables.items.borrow_mut();
                let item = items.get_mut(w);
                item.subtask_mut().state = super::waitable::SubtaskState::CancelledBeforeReturned;
                item.pending = Some(super::waitable::Pending::Subtask);
            }
            if !resolved() {
                if self.b.async_ {
                    return Ok(Some(ValRaw::from(BLOCKED)));
                }
                let thread = sched.current().ok_or(ComponentTrap::NoTask)?;
                sched.block_until(thread, Rc::new(resolved));
            }
        }
        // The resolution is delivered here rather than as an event.
        let (_, ended) = if sched.waitables.has_pending(w) {
            sched.waitables.take_event(w)
        } else {
            let mut items = sched.waitables.items.borrow_mut();
            let s = items.get_mut(w).subtask_mut();
            s.delivered = true;
            ((0, 0, 0), Some(s.scope))
        };
        if let Some(scope) = ended {
            end_lends(rt, scope);
        }
        let items = sched.waitables.items.borrow();
        let s = items.get(w).subtask();
        Ok(Some(ValRaw::from(s.state as u32)))
    }
}

/// The `thread.*` built-ins that create and switch threads
/// (CanonicalABI.md `canon thread.new-indirect`, `thread.suspend`,
/// `thread.resume-later`, `thread.suspend-then-resume`,
/// `thread.yield-then-resume`). Thread indices are the scheduler's, plus
/// one.
fn thread_op(
    rt: &Runtime,
    inst: &'static InstanceState,
    op: BuiltinOp,
    start: Option<super::CoreFunc>,
    arg: &dyn Fn(usize) -> u32,
) -> Result<Option<ValRaw>, ComponentTrap> {
    let sched = &rt.sched;
    if !inst.may_leave.get() {
        return Err(ComponentTrap::CannotLeave);
    }
    let me = sched.current().ok_or(ComponentTrap::NoTask)?;
    if op != BuiltinOp::ThreadNewIndirect
        && op != BuiltinOp::ThreadResumeLater
        && !sched.has_stack(me)
    {
        // Only a thread on its own stack can suspend.
        return Err(ComponentTrap::CannotBlockSync);
    }
    // Another suspended thread of the same instance, by index.
    let other = |i: u32| -> Result<u32, ComponentTrap> {
        let t = i.wrapping_sub(1);
        let same = {
            let threads = sched.threads.borrow();
            let tasks = sched.tasks.borrow();
            threads
                .iter()
                .find(|(id, _)| *id == t)
                .is_some_and(|(_, th)| core::ptr::eq(tasks.get(th.task).inst, inst))
        };
        if !same {
            return Err(ComponentTrap::UnknownThread(i));
        }
        if !sched.suspended(t) {
            return Err(ComponentTrap::ThreadNotSuspended(i));
        }
        Ok(t)
    };
    match op {
        BuiltinOp::ThreadNewIndirect => {
            let start = start.expect("thread.new-indirect refers to its helper");
            let (index, c) = (arg(0), arg(1));
            let task = sched.threads.borrow().get(me).task;
            let t = sched.spawn(task, false, move |t| {
                let mut values = [ValRaw::from(index), ValRaw::from(c)];
                // SAFETY: the helper has type (i32, i32) -> ().
                unsafe { start.call(&mut values) }?;
                let rt = runtime();
                let task = rt.sched.threads.borrow().get(t).task;
                let tasks = rt.sched.tasks.borrow();
                let task = tasks.get(task);
                if task.threads == 1 && task.state != TaskState::Resolved {
                    return Err(ComponentTrap::NoResult);
                }
                Ok(())
            })?;
            Ok(Some(ValRaw::from(t + 1)))
        }
        BuiltinOp::ThreadSuspend => {
            if !sched.may_block() {
                return Err(ComponentTrap::CannotBlockSync);
            }
            Ok(Some(ValRaw::from(u32::from(sched.suspend_thread(me)))))
        }
        BuiltinOp::ThreadResumeLater => {
            let t = other(arg(0))?;
            sched.resume_later(t);
            Ok(None)
        }
        BuiltinOp::ThreadSuspendThenResume | BuiltinOp::ThreadYieldThenResume => {
            let t = other(arg(0))?;
            let yield_ = op == BuiltinOp::ThreadYieldThenResume;
            Ok(Some(ValRaw::from(u32::from(
                sched.switch_to(me, t, yield_),
            ))))
        }
        _ => unreachable!("a thread built-in"),
    }
}

/// `BLOCKED`: the operation did not complete yet.
pub const BLOCKED: u32 = 0xffff_ffff;

/// CanonicalABI.md `Task.request_cancellation`.
fn request_cancellation(rt: &Runtime, task: u32) -> Result<(), ComponentTrap> {
    let sched = &rt.sched;
    let (waiting, inst, needs_exclusive) = {
        let tasks = sched.tasks.borrow();
        let t = tasks.get(task);
        (t.waiting_to_enter, t.instance(), t.needs_exclusive())
    };
    if let Some(thread) = waiting {
        sched.tasks.borrow_mut().get_mut(task).state = TaskState::CancelDelivered;
        return sched.resume(thread, true);
    }
    let exclusive = inst.exclusive.get();
    if (!needs_exclusive || exclusive.is_none() || exclusive == Some(task))
        && sched.cancel_thread(task)?
    {
        return Ok(());
    }
    sched.tasks.borrow_mut().get_mut(task).state = TaskState::PendingCancel;
    Ok(())
}

/// Whether `a` and `b` are the same type (or both absent).
pub(super) fn same_type(rt: &Runtime, a: Option<TypeId>, b: Option<TypeId>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => equal(rt, a, b),
        _ => false,
    }
}

fn equal(rt: &Runtime, a: TypeId, b: TypeId) -> bool {
    if a == b {
        return true;
    }
    let types = &rt.desc.types;
    let opt = |x: &Option<TypeId>, y: &Option<TypeId>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => equal(rt, *x, *y),
        _ => false,
    };
    match (types.get(a), types.get(b)) {
        (ValType::List(x), ValType::List(y)) => equal(rt, *x, *y),
        (ValType::Record(x), ValType::Record(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(rt, *x, *y))
        }
        (ValType::Variant(x), ValType::Variant(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| opt(x, y))
        }
        (ValType::Stream(x), ValType::Stream(y)) | (ValType::Future(x), ValType::Future(y)) => {
            opt(x, y)
        }
        (x, y) => x == y,
    }
}
