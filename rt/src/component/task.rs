//! Tasks, threads and the scheduler of the async canonical ABI
//! (CanonicalABI.md "Thread State", "Task State", "Waitable State",
//! "Subtask State").
//!
//! In: calls between component instances whose function type is `async`
//! (and the host's calls of such exports). Out: every such call is a
//! [`Task`] whose code runs on its own [`Thread`], a stackful coroutine
//! (`corosensei`), so that it can block — in a synchronously lowered call,
//! in `waitable-set.wait`, waiting for backpressure — by suspending back to
//! whoever resumed it. Calls of functions whose type is not `async` cannot
//! block before they return, so they run inline on the caller's stack
//! with a thread record that has no coroutine.
//!
//! Invariants:
//!
//! - a thread is *running* (it, or a thread it resumed, is on the CPU),
//!   *waiting* (in [`Sched::waiting`] with a ready condition) or
//!   *suspended*; only waiting threads whose condition holds are resumed by
//!   the event loop ([`tick`]), in the order they started waiting, so runs
//!   are deterministic;
//! - no `RefCell` borrow of the scheduler is held across a resume or a
//!   call into guest code: a trap in guest code jumps straight back to the
//!   host's entry point, skipping every frame in between, and
//!   [`Sched::reset`] then forgets the abandoned coroutines;
//! - a coroutine is dropped only once it has finished; its stack is then
//!   kept for the next one.

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use corosensei::stack::{DefaultStack, Stack};
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::InstanceState;
use super::trap::ComponentTrap;
use super::waitable::Waitables;

/// Size of a coroutine's stack, in bytes (reserved, committed as used).
const STACK_SIZE: usize = 8 << 20;

/// Stack kept free at the bottom of a coroutine's stack for runtime code
/// that guest code calls, in bytes.
const STACK_RESERVE: usize = 256 << 10;

/// Every this many event loop steps, host waits that are over run even
/// when threads are ready ([`Sched::step`]).
const HOST_POLL_STEPS: u32 = 64;

/// Most stacks of finished coroutines kept for new ones.
const MAX_POOLED_STACKS: usize = 16;

/// Event codes (CanonicalABI.md `EventCode`).
pub mod event {
    /// No event.
    pub const NONE: u32 = 0;
    /// A subtask made progress.
    pub const SUBTASK: u32 = 1;
    /// A stream read finished.
    pub const STREAM_READ: u32 = 2;
    /// A stream write finished.
    pub const STREAM_WRITE: u32 = 3;
    /// A future read finished.
    pub const FUTURE_READ: u32 = 4;
    /// A future write finished.
    pub const FUTURE_WRITE: u32 = 5;
    /// The task was cancelled.
    pub const TASK_CANCELLED: u32 = 6;
}

/// An event: its code and two payload words.
pub type Event = (u32, u32, u32);

/// A thread's index in the scheduler.
pub type ThreadId = u32;
/// A task's index in the scheduler.
pub type TaskId = u32;

type Coro = Coroutine<(), (), Result<(), ComponentTrap>, DefaultStack>;

/// When a waiting thread may be resumed.
pub type ReadyFn = Rc<dyn Fn() -> bool>;

/// A thread of a task (CanonicalABI.md `Thread`).
pub struct Thread {
    /// Its task.
    pub task: TaskId,
    coro: *mut Coro,
    yielder: *const Yielder<(), ()>,
    stack_limit: usize,
    ready: Option<ReadyFn>,
    /// Whether it is waiting in [`Sched::waiting`].
    waiting: bool,
    /// Whether it is running (resumed and not suspended since).
    running: bool,
    cancellable: bool,
    cancelled: bool,
    /// `context.get`/`context.set` storage.
    pub context: [u32; 2],
}

/// A task's progress (CanonicalABI.md `Task.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Running, not cancelled.
    Initial,
    /// Cancellation was requested but not yet delivered.
    PendingCancel,
    /// Cancellation was delivered to the task.
    CancelDelivered,
    /// It returned a value or acknowledged cancellation.
    Resolved,
}

/// One call of a lifted function (CanonicalABI.md `Task`).
pub struct Task {
    /// The callee's component instance.
    pub inst: *const InstanceState,
    /// Whether the function type is `async`.
    pub async_ft: bool,
    /// Whether the lift has the `async` option.
    pub async_lift: bool,
    /// Whether the lift has a `callback`.
    pub callback: bool,
    /// Its progress.
    pub state: TaskState,
    /// Its borrow scope (an index in the runtime's scopes).
    pub scope: u32,
    /// The task of the caller, if the caller is a component.
    pub supertask: Option<TaskId>,
    /// Its first thread, while it runs.
    pub thread: Option<ThreadId>,
    /// Its threads (the first and those of `thread.new-indirect`).
    pub threads: u32,
    /// The thread waiting to enter the instance, if any.
    pub waiting_to_enter: Option<ThreadId>,
    /// The caller's subtask.
    pub subtask: u32,
    /// The call being carried out, to lift arguments and lower results.
    pub call: Option<Rc<super::canonical::Call>>,
}

impl Task {
    /// CanonicalABI.md `Task.needs_exclusive`.
    pub fn needs_exclusive(&self) -> bool {
        !self.async_lift || self.callback
    }

    /// CanonicalABI.md `Task.may_block`.
    pub fn may_block(&self) -> bool {
        self.async_ft || self.state == TaskState::Resolved
    }

    /// The callee's instance.
    pub fn instance(&self) -> &'static InstanceState {
        // SAFETY: instance states live as long as the program.
        unsafe { &*self.inst }
    }
}

/// A slab: entries addressed by index, freed indices reused.
pub struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Adds `v`; returns its index.
    pub fn add(&mut self, v: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self.entries[i as usize] = Some(v);
            return i;
        }
        self.entries.push(Some(v));
        (self.entries.len() - 1) as u32
    }

    /// The entry at `i`.
    pub fn get(&self, i: u32) -> &T {
        self.entries[i as usize].as_ref().expect("a live entry")
    }

    /// The entry at `i`, for changing it.
    pub fn get_mut(&mut self, i: u32) -> &mut T {
        self.entries[i as usize].as_mut().expect("a live entry")
    }

    /// Removes the entry at `i`.
    pub fn remove(&mut self, i: u32) -> T {
        let v = self.entries[i as usize].take().expect("a live entry");
        self.free.push(i);
        v
    }

    /// Every live entry with its index.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i as u32, e)))
    }
}

/// The scheduler (CanonicalABI.md `Store`).
#[derive(Default)]
pub struct Sched {
    /// Threads.
    pub threads: RefCell<Slab<Thread>>,
    /// Tasks.
    pub tasks: RefCell<Slab<Task>>,
    /// Waitables and waitable sets.
    pub waitables: Waitables,
    /// Threads waiting for their condition, in the order they started.
    waiting: RefCell<Vec<ThreadId>>,
    /// The running thread, if any.
    current: Cell<Option<ThreadId>>,
    /// Stacks of finished coroutines, for reuse.
    stacks: RefCell<Vec<DefaultStack>>,
    /// The thread a suspending thread asked to run in its place
    /// (`thread.suspend-then-resume`, `thread.yield-then-resume`).
    switch_to: Cell<Option<ThreadId>>,
    /// Host I/O and timers that host operations in progress wait for.
    pub host: super::hostio::HostWaits,
    /// Event loop steps taken ([`Sched::step`]).
    steps: Cell<u32>,
    /// The condition that always holds, shared ([`Sched::always_ready`]).
    always: std::cell::OnceCell<ReadyFn>,
    /// The subtasks of async host calls still waiting (by waitable), each
    /// with the flag that abandons the host's wait when the caller cancels
    /// the subtask.
    pub host_subtasks: RefCell<std::collections::HashMap<u32, Rc<Cell<bool>>>>,
}

impl Sched {
    /// The condition that always holds (a yield's), without allocating.
    pub fn always_ready(&self) -> ReadyFn {
        self.always.get_or_init(|| Rc::new(|| true)).clone()
    }

    /// The running thread.
    pub fn current(&self) -> Option<ThreadId> {
        self.current.get()
    }

    /// The running thread's task.
    pub fn current_task(&self) -> Option<TaskId> {
        self.current
            .get()
            .map(|t| self.threads.borrow().get(t).task)
    }

    /// Whether the running task may block (false outside any task: start
    /// functions run as synchronous tasks).
    pub fn may_block(&self) -> bool {
        match self.current_task() {
            Some(t) => self.tasks.borrow().get(t).may_block(),
            None => false,
        }
    }

    /// Adds a task.
    pub fn add_task(&self, task: Task) -> TaskId {
        self.tasks.borrow_mut().add(task)
    }

    /// Creates a thread of `task` without a coroutine, for a task that runs
    /// inline on its caller's stack.
    pub fn inline_thread(&self, task: TaskId) -> ThreadId {
        let t = self.threads.borrow_mut().add(Thread {
            task,
            coro: core::ptr::null_mut(),
            yielder: core::ptr::null(),
            stack_limit: 0,
            ready: None,
            waiting: false,
            running: true,
            cancellable: false,
            cancelled: false,
            context: [0; 2],
        });
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.get_mut(task);
        entry.thread = Some(t);
        entry.threads += 1;
        t
    }

    /// Makes `thread` the running one; returns the previous one.
    pub fn enter(&self, thread: Option<ThreadId>) -> Option<ThreadId> {
        self.current.replace(thread)
    }

    /// Creates a suspended thread of `task` that runs `body` on its own
    /// stack when first resumed; `first`: the task's first thread.
    pub fn spawn(
        &self,
        task: TaskId,
        first: bool,
        body: impl FnOnce(ThreadId) -> Result<(), ComponentTrap> + 'static,
    ) -> Result<ThreadId, ComponentTrap> {
        let pooled = self.stacks.borrow_mut().pop();
        let stack = match pooled {
            Some(stack) => stack,
            None => DefaultStack::new(STACK_SIZE).map_err(|_| ComponentTrap::OutOfStacks)?,
        };
        let stack_limit = stack.limit().get() + STACK_RESERVE;
        let t = self.threads.borrow_mut().add(Thread {
            task,
            coro: core::ptr::null_mut(),
            yielder: core::ptr::null(),
            stack_limit,
            ready: None,
            waiting: false,
            running: false,
            cancellable: false,
            cancelled: false,
            context: [0; 2],
        });
        let coro = Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
            let sched = &super::runtime().sched;
            sched.threads.borrow_mut().get_mut(t).yielder = yielder;
            body(t)
        });
        self.threads.borrow_mut().get_mut(t).coro = Box::into_raw(Box::new(coro));
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.get_mut(task);
        if first {
            entry.thread = Some(t);
        }
        entry.threads += 1;
        Ok(t)
    }

    /// Resumes suspended or waiting thread `t` (CanonicalABI.md
    /// `Thread.resume`) until it suspends again or finishes; a trap it
    /// raised outside guest code is returned.
    pub fn resume(&self, t: ThreadId, cancelled: bool) -> Result<(), ComponentTrap> {
        let mut t = t;
        let mut cancelled = cancelled;
        loop {
            let (coro, limit) = {
                let mut threads = self.threads.borrow_mut();
                let th = threads.get_mut(t);
                if th.waiting {
                    th.waiting = false;
                    self.waiting.borrow_mut().retain(|&w| w != t);
                }
                th.ready = None;
                th.cancelled = cancelled;
                th.running = true;
                (th.coro, th.stack_limit)
            };
            debug_assert!(!coro.is_null());
            let store = crate::traps::store_context();
            let prev = self.enter(Some(t));
            // SAFETY: the store context is this thread's; compiled code on
            // the coroutine's stack must stop before its reserve.
            // (An interrupted store keeps its interrupted limit.)
            let saved_limit = unsafe { crate::limits::replace_stack_limit(store, limit) };
            // SAFETY: `coro` is this thread's live coroutine; no borrow is
            // held.
            let result = unsafe { (*coro).resume(()) };
            // SAFETY: as above.
            unsafe { crate::limits::replace_stack_limit(store, saved_limit) };
            self.enter(prev);
            match result {
                CoroutineResult::Yield(()) => {
                    self.threads.borrow_mut().get_mut(t).running = false;
                    // A thread that switched to another one: that one runs
                    // in its place.
                    match self.switch_to.take() {
                        Some(next) => {
                            t = next;
                            cancelled = false;
                        }
                        None => return Ok(()),
                    }
                }
                CoroutineResult::Return(r) => {
                    self.finish_thread(t);
                    // SAFETY: finished, so it gives its stack back.
                    let stack = unsafe { Box::from_raw(coro) }.into_stack();
                    let mut stacks = self.stacks.borrow_mut();
                    if stacks.len() < MAX_POOLED_STACKS {
                        stacks.push(stack);
                    }
                    return r;
                }
            }
        }
    }

    /// Whether thread `t` runs on its own stack (and so may suspend).
    pub fn has_stack(&self, t: ThreadId) -> bool {
        !self.threads.borrow().get(t).coro.is_null()
    }

    /// Whether thread `t` is suspended: neither running nor waiting.
    pub fn suspended(&self, t: ThreadId) -> bool {
        let threads = self.threads.borrow();
        let th = threads.get(t);
        !th.running && !th.waiting && !th.coro.is_null()
    }

    /// Makes suspended thread `t` wait to be resumed by the event loop
    /// (CanonicalABI.md `Thread.resume_later`).
    pub fn resume_later(&self, t: ThreadId) {
        {
            let mut threads = self.threads.borrow_mut();
            let th = threads.get_mut(t);
            th.ready = Some(self.always_ready());
            th.waiting = true;
        }
        self.waiting.borrow_mut().push(t);
    }

    /// Suspends running thread `t` and runs suspended thread `other` in
    /// its place (CanonicalABI.md `Thread.switch_to`); with `yield_`, `t`
    /// waits to be resumed by the event loop, else it stays suspended.
    /// Returns whether `t` was resumed by a cancellation.
    pub fn switch_to(&self, t: ThreadId, other: ThreadId, yield_: bool) -> bool {
        if yield_ {
            self.resume_later(t);
        }
        self.switch_to.set(Some(other));
        self.suspend(t, false)
    }

    /// Suspends running thread `t` until another resumes it
    /// (`thread.suspend`); returns whether it was cancelled.
    pub fn suspend_thread(&self, t: ThreadId) -> bool {
        self.suspend(t, false)
    }

    /// Forgets finished thread `t`, and its task once that has resolved.
    pub fn finish_thread(&self, t: ThreadId) {
        let task = self.threads.borrow_mut().remove(t).task;
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.get_mut(task);
        if entry.thread == Some(t) {
            entry.thread = None;
        }
        entry.threads -= 1;
        if entry.threads == 0 && entry.state == TaskState::Resolved {
            tasks.remove(task);
        }
    }

    /// Suspends running thread `t` (CanonicalABI.md `Thread.suspend`);
    /// returns whether it was resumed because its task was cancelled.
    fn suspend(&self, t: ThreadId, cancellable: bool) -> bool {
        let yielder = {
            let mut threads = self.threads.borrow_mut();
            let th = threads.get_mut(t);
            th.cancellable = cancellable;
            th.yielder
        };
        debug_assert!(!yielder.is_null(), "only coroutine threads suspend");
        // SAFETY: the yielder of the running coroutine, which is `t`.
        unsafe { (*yielder).suspend(()) };
        let mut threads = self.threads.borrow_mut();
        let th = threads.get_mut(t);
        core::mem::take(&mut th.cancelled)
    }

    /// Delivers a pending cancellation to `t`'s task if `cancellable`
    /// (CanonicalABI.md `Task.deliver_pending_cancel`).
    fn deliver_pending_cancel(&self, t: ThreadId, cancellable: bool) -> bool {
        if !cancellable {
            return false;
        }
        let task = self.threads.borrow().get(t).task;
        let mut tasks = self.tasks.borrow_mut();
        let task = tasks.get_mut(task);
        if task.state == TaskState::PendingCancel {
            task.state = TaskState::CancelDelivered;
            return true;
        }
        false
    }

    /// Blocks running thread `t` until `ready` holds (CanonicalABI.md
    /// `Thread.wait_until`); returns whether it was cancelled instead.
    /// Without `always`, a condition that already holds returns at once.
    pub fn wait_until(&self, t: ThreadId, ready: ReadyFn, cancellable: bool, always: bool) -> bool {
        if self.deliver_pending_cancel(t, cancellable) {
            return true;
        }
        if !always && ready() {
            return false;
        }
        {
            let mut threads = self.threads.borrow_mut();
            let th = threads.get_mut(t);
            th.ready = Some(ready);
            th.waiting = true;
        }
        self.waiting.borrow_mut().push(t);
        self.suspend(t, cancellable)
    }

    /// Blocks running thread `t` in a synchronous built-in or call until
    /// `ready` holds. A callback task that has already returned its value
    /// gives up its instance's exclusive lock while it waits (so that
    /// other calls into the instance can start) and takes it back before
    /// it goes on; other tasks keep it (the reference tests expect both).
    pub fn block_until(&self, t: ThreadId, ready: ReadyFn) {
        let task = self.threads.borrow().get(t).task;
        let (inst, release) = {
            let tasks = self.tasks.borrow();
            let entry = tasks.get(task);
            (
                entry.instance(),
                entry.async_lift && entry.callback && entry.state == TaskState::Resolved,
            )
        };
        if !(release && inst.exclusive.get() == Some(task)) {
            self.wait_until(t, ready, false, false);
            return;
        }
        inst.exclusive.set(None);
        let ready = Rc::new(move || ready() && inst.exclusive.get().is_none());
        self.wait_until(t, ready, false, false);
        inst.exclusive.set(Some(task));
    }

    /// Lets other threads run (CanonicalABI.md `Thread.yield_until`): a
    /// task that may not block returns at once.
    pub fn yield_until(&self, t: ThreadId, ready: ReadyFn, cancellable: bool) -> bool {
        let task = self.threads.borrow().get(t).task;
        if self.tasks.borrow().get(task).may_block() && !self.threads.borrow().get(t).coro.is_null()
        {
            self.wait_until(t, ready, cancellable, true)
        } else {
            false
        }
    }

    /// Makes progress in the event loop: resumes a waiting thread whose
    /// condition holds ([`Sched::tick`]) or, when none does, blocks until
    /// host I/O or a timer some host operation waits for is ready and runs
    /// its continuation ([`super::hostio::HostWaits::poll`]). Returns
    /// whether anything happened (if not, nothing ever will: a deadlock).
    pub fn step(&self) -> Result<bool, ComponentTrap> {
        // Threads that keep running (yielding, say) must not starve host
        // I/O: every so many steps, the waits that are over anyway go on.
        let n = self.steps.get().wrapping_add(1);
        self.steps.set(n);
        if n.is_multiple_of(HOST_POLL_STEPS) && !self.host.is_empty() {
            self.host.poll_now()?;
        }
        if self.tick()? {
            return Ok(true);
        }
        self.host.poll()
    }

    /// Resumes one waiting thread whose condition holds (CanonicalABI.md
    /// `Store.tick`); returns whether there was one.
    pub fn tick(&self) -> Result<bool, ComponentTrap> {
        // By index, without a copy of the list: conditions only read state.
        for i in 0.. {
            let Some(t) = self.waiting.borrow().get(i).copied() else {
                break;
            };
            let ready = self.threads.borrow().get(t).ready.clone();
            if ready.is_some_and(|r| r()) {
                self.resume(t, false)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Resumes a waiting thread of `task` that waits cancellably, with
    /// cancellation; returns whether there was one.
    pub fn cancel_thread(&self, task: TaskId) -> Result<bool, ComponentTrap> {
        let thread = self.tasks.borrow().get(task).thread;
        let Some(t) = thread else { return Ok(false) };
        let cancellable = {
            let threads = self.threads.borrow();
            let th = threads.get(t);
            th.waiting && th.cancellable
        };
        if !cancellable {
            return Ok(false);
        }
        self.tasks.borrow_mut().get_mut(task).state = TaskState::CancelDelivered;
        self.resume(t, true)?;
        Ok(true)
    }

    /// Stops every thread after a trap: the coroutines the trap abandoned
    /// are leaked, never unwound, and no waiting thread is resumed again.
    /// Returns the instances of the tasks that were live, which the trap
    /// leaves unusable.
    pub fn reset(&self) -> Vec<*const InstanceState> {
        let live = self
            .tasks
            .borrow()
            .iter()
            .filter(|(_, t)| t.thread.is_some())
            .map(|(_, t)| t.inst)
            .collect();
        for t in self.waiting.borrow_mut().drain(..) {
            let mut threads = self.threads.borrow_mut();
            let th = threads.get_mut(t);
            th.waiting = false;
            th.ready = None;
        }
        self.current.set(None);
        self.host.clear();
        self.host_subtasks.borrow_mut().clear();
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_reuses_the_last_freed_index() {
        let mut s = Slab::default();
        assert_eq!((s.add('a'), s.add('b'), s.add('c')), (0, 1, 2));
        assert_eq!(s.remove(1), 'b');
        assert_eq!(s.add('d'), 1);
        assert_eq!(*s.get(1), 'd');
        let live: Vec<_> = s.iter().map(|(i, c)| (i, *c)).collect();
        assert_eq!(live, [(0, 'a'), (1, 'd'), (2, 'c')]);
    }
}
