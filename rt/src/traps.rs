//! Traps: from a hardware fault in compiled code to a [`Trap`] value.
//!
//! Guest code is always entered through [`catch`], which records a jump
//! buffer (in assembly, `traps/unwind.rs`) and the stack pointer at entry. Compiled code
//! traps by executing a trap instruction, by dividing by zero, or by
//! touching a guard page; the kernel raises SIGILL, SIGFPE, SIGSEGV or
//! SIGBUS. The handler here ([`on_signal`]):
//!
//! 1. reads the faulting program counter and frame pointer from the signal
//!    context;
//! 2. looks the program counter up in the trap table the compiler emitted
//!    ([`crate::program::CodeTables::trap_code_at`]) — a fault anywhere else
//!    is not a trap and goes to the previous handler (or the default
//!    action);
//! 3. walks the frame-pointer chain of compiled frames (every compiled
//!    function keeps a frame pointer) to capture the wasm backtrace, without
//!    allocating;
//! 4. jumps back to the innermost [`catch`], which returns the trap.
//!
//! Handlers are installed with `SA_ONSTACK` (on a dedicated alternate
//! stack, so a fault with the stack exhausted can still be handled) and
//! `SA_NODEFER` (so leaving a handler by a jump does not leave the signal
//! blocked).
//!
//! Stack overflow in guest code is caught before it happens: every compiled
//! function's prologue compares the stack pointer with
//! [`smelt_abi::vm::VMStoreContext::stack_limit`], which the outermost
//! [`catch`] sets below the current stack pointer, leaving
//! [`HOST_STACK_RESERVE`] bytes for runtime and host code called from the
//! guest.

use core::cell::{Cell, UnsafeCell};
use core::ffi::{c_int, c_void};
use core::fmt;
use core::mem::MaybeUninit;
use std::sync::Once;

use smelt_abi::program::{FuncInfo, FuncKind};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::VMStoreContext;

use crate::program::CodeTables;

mod unwind;

use unwind::{smelt_catch, smelt_unwind};

/// Frames of a backtrace kept for printing; deeper frames are only counted.
pub const MAX_FRAMES: usize = 64;

/// Stack left below the guest's stack limit for runtime and host code that
/// guest code calls, and above the entry point for what called it, in
/// bytes.
pub const HOST_STACK_RESERVE: usize = 256 << 10;

/// Largest stack guest code may use, in bytes, whatever the stack rlimit.
pub const MAX_WASM_STACK: usize = 1 << 30;

/// A trap raised by guest code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// Why.
    pub code: TrapCode,
    /// The message of a [`TrapCode::Runtime`] trap (see [`set_pending`]).
    pub detail: Option<String>,
    /// Program counters of the innermost [`MAX_FRAMES`] wasm frames,
    /// innermost first (the trapping instruction, then call sites).
    pub frames: Vec<usize>,
    /// Number of wasm frames on the stack at the trap.
    pub total_frames: usize,
}

impl Trap {
    /// The trap's message.
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or(self.code.message())
    }

    /// The function names of the captured guest frames, innermost first
    /// (frames of code smelt generated around them are left out). A frame
    /// whose program counter is in code inlined into its function shows
    /// the inlined function first, as the frame it would have had.
    pub fn frame_names(&self) -> Vec<String> {
        let tables = CodeTables::current();
        let mut names = Vec::with_capacity(self.frames.len());
        for (i, &pc) in self.frames.iter().enumerate() {
            let (index, f) = match tables.func_at(pc) {
                Some((_, f)) if f.kind != FuncKind::Wasm as u32 => continue,
                Some(found) => found,
                None => {
                    names.push(format!("<unknown code at {pc:#x}>"));
                    continue;
                }
            };
            // The trapping instruction itself, or (a return address) the
            // call before it.
            let faulting = i == 0 && tables.trap_code_at(pc) == Some(self.code);
            let offset = (pc - f.addr as usize).saturating_sub(usize::from(!faulting)) as u32;
            if let Some((callee_index, callee)) = tables.inlined_at(f, offset) {
                names.push(display_name(&tables, callee, callee_index));
            }
            names.push(display_name(&tables, f, index));
        }
        names
    }
}

/// How function `f`, number `index` in the function table, is named in a
/// backtrace.
fn display_name(tables: &CodeTables, f: &FuncInfo, index: usize) -> String {
    match tables.name(f) {
        "" => format!("<wasm function {index}>"),
        name => name.to_string(),
    }
}

impl fmt::Display for Trap {
    /// `wasm trap: <message>`, then `wasm backtrace:` and one line per
    /// frame.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "wasm trap: {}", self.message())?;
        write!(f, "wasm backtrace:")?;
        let names = self.frame_names();
        for (i, name) in names.iter().enumerate() {
            write!(f, "\n  {i:>4}: {name}")?;
        }
        if self.total_frames > self.frames.len() {
            write!(
                f,
                "\n        ... {} more frames",
                self.total_frames - self.frames.len()
            )?;
        }
        Ok(())
    }
}

/// What the signal handler writes for [`catch`], in place, without
/// allocating.
///
/// `repr(C)` with `pcs` last: the initialized fields come first, so that
/// making a record stores them alone (in Rust's order the compiler
/// cleared the whole record, `pcs` included, with one `memset`).
#[repr(C)]
struct TrapRecord {
    code: Option<TrapCode>,
    captured: usize,
    total: usize,
    /// The first `captured` are set: left uninitialized until a trap, as
    /// every entry into the guest makes a record (512 bytes to clear).
    pcs: [MaybeUninit<usize>; MAX_FRAMES],
}

impl TrapRecord {
    fn push(&mut self, pc: usize) {
        if self.captured < MAX_FRAMES {
            self.pcs[self.captured] = MaybeUninit::new(pc);
            self.captured += 1;
        }
        self.total += 1;
    }

    /// Records a trap at `regs`, walking the frame-pointer chain of
    /// compiled frames up to `entry_sp`.
    ///
    /// # Safety
    ///
    /// `regs` must be the registers of compiled code interrupted by a
    /// fault, on a stack that extends up to `entry_sp`.
    unsafe fn capture(&mut self, code: TrapCode, regs: Regs, entry_sp: usize, tables: &CodeTables) {
        self.code = Some(code);
        self.captured = 0;
        self.total = 0;
        self.push(regs.pc);
        let mut fp = regs.fp;
        while fp >= regs.sp && fp < entry_sp && fp.is_multiple_of(8) {
            // SAFETY: `fp` lies between the interrupted stack pointer and the
            // entry's, so it points into live stack; every compiled frame
            // stores (caller's frame pointer, return address) at fp.
            let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            let call_site = ret.wrapping_sub(1);
            if tables.func_at(call_site).is_none() {
                break;
            }
            self.push(call_site);
            if next <= fp {
                break;
            }
            fp = next;
        }
    }

    fn take(&self) -> Trap {
        let code = self.code.unwrap_or(TrapCode::UnreachableCodeReached);
        let detail = match code {
            // A memory, table or GC heap over the program's limits says
            // which (`crate::limits`).
            TrapCode::Runtime | TrapCode::AllocationFailed | TrapCode::GcHeapExhausted => {
                PENDING.with(|p| p.borrow_mut().take())
            }
            _ => None,
        };
        Trap {
            code,
            detail,
            frames: self.pcs[..self.captured]
                .iter()
                // SAFETY: `push` set the first `captured`.
                .map(|pc| unsafe { pc.assume_init() })
                .collect(),
            total_frames: self.total,
        }
    }
}

/// One active [`catch`]: where to jump on a trap and where to record it.
struct CallState {
    jmp_buf: *mut c_void,
    record: TrapRecord,
    entry_sp: usize,
}

thread_local! {
    static CURRENT: Cell<*mut CallState> = const { Cell::new(core::ptr::null_mut()) };
    static PENDING: core::cell::RefCell<Option<String>> = const { core::cell::RefCell::new(None) };
}

/// Takes the message recorded by [`set_pending`], if any.
pub fn take_pending() -> Option<String> {
    PENDING.with(|p| p.borrow_mut().take())
}

/// Records the message of the trap that compiled code is about to raise
/// with [`TrapCode::Runtime`]: runtime functions called by compiled code
/// call this, then return a non-zero status, and the caller traps.
pub fn set_pending(message: String) {
    PENDING.with(|p| *p.borrow_mut() = Some(message));
}

thread_local! {
    /// The store context of the instances created on this thread: each OS
    /// thread that runs guest code has its own stack limit (see
    /// [`store_context`]).
    static STORE: UnsafeCell<VMStoreContext> = const {
        UnsafeCell::new(VMStoreContext {
            stack_limit: 0,
            gc_next: 0,
            gc_limit: 0,
            entries: 0,
            interrupt: 0,
        })
    };
    /// The size of this thread's stack when the runtime started the thread
    /// ([`set_thread_stack_size`]); 0 on the main thread, whose stack is
    /// as large as `RLIMIT_STACK` says.
    static STACK_SIZE: Cell<usize> = const { Cell::new(0) };
}

/// The calling thread's store context, to put in the `vmctx` header of
/// every instance created on this thread.
///
/// Every thread that runs guest code has its own, so that each has its own
/// stack limit: instances are per thread, and an instance's code runs only
/// on the thread that created it (wasi-threads gives each thread its own
/// instance; only shared memories are reached from several threads). The
/// context lives as long as its thread.
pub fn store_context() -> *mut VMStoreContext {
    STORE.with(UnsafeCell::get)
}

/// Records that the calling thread, started by the runtime, has a stack of
/// `size` bytes, from which [`catch`] sets its guest stack limit.
pub fn set_thread_stack_size(size: usize) {
    STACK_SIZE.set(size);
}

/// How much stack guest code may use on this thread, in bytes: worked out
/// once per thread ([`compute_stack_budget`]), as the outermost [`catch`]
/// of every call into the guest needs it (a library's caller makes one
/// per call).
fn stack_budget() -> usize {
    thread_local! {
        static BUDGET: Cell<usize> = const { Cell::new(0) };
    }
    let budget = BUDGET.get();
    if budget != 0 {
        return budget;
    }
    let budget = compute_stack_budget();
    BUDGET.set(budget);
    budget
}

/// [`stack_budget`], from the size the runtime gave the thread, else from
/// `RLIMIT_STACK` (the main thread's stack size).
fn compute_stack_budget() -> usize {
    let thread_stack = STACK_SIZE.get();
    if thread_stack != 0 {
        return thread_stack.saturating_sub(2 * HOST_STACK_RESERVE);
    }
    let mut limit = MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: getrlimit writes the struct it is given.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_STACK, limit.as_mut_ptr()) };
    let size = if rc == 0 {
        // SAFETY: initialized by the successful call.
        let cur = unsafe { limit.assume_init() }.rlim_cur;
        if cur == libc::RLIM_INFINITY {
            MAX_WASM_STACK
        } else {
            cur as usize
        }
    } else {
        8 << 20
    };
    size.saturating_sub(2 * HOST_STACK_RESERVE)
        .clamp(HOST_STACK_RESERVE, MAX_WASM_STACK)
}

/// The stack size, in bytes, of an OS thread that is to run guest code
/// with the same budget as the main thread (a server's workers): the
/// budget plus room for the host frames above and below it.
pub fn thread_stack_size() -> usize {
    stack_budget() + 4 * HOST_STACK_RESERVE
}

/// Runs `f`, which calls guest code, and returns the trap if one
/// happened.
///
/// The outermost `catch` on a thread sets the guest stack limit. Values
/// owned by frames that a trap skips (inside `f`) are leaked, not
/// dropped; `f` must not rely on destructors running.
///
/// # Safety
///
/// [`init`] must have run, and the program whose code `f` runs must be
/// registered with [`crate::program::set`].
pub unsafe fn catch<F: FnOnce()>(f: F) -> Result<(), Trap> {
    unsafe extern "C" fn call<F: FnOnce()>(payload: *mut c_void) {
        // SAFETY: `payload` is the `Option<F>` below, alive for the call.
        let f = unsafe { &mut *payload.cast::<Option<F>>() };
        let f = f.take().expect("called once");
        // A panic must not unwind through C and compiled frames.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
            std::process::abort();
        }
    }

    let marker = 0u8;
    let entry_sp = &marker as *const u8 as usize;
    let prev = CURRENT.get();
    if prev.is_null() {
        // SAFETY: the store context is this thread's own.
        // (A plain store: the time limit, if any, is watched from
        // `limits::enter` below, which clears the interrupt word; no
        // interrupt of this call can come before.)
        unsafe { (*store_context()).stack_limit = entry_sp - stack_budget() };
    }
    // The time limit, if any, runs from the outermost call.
    let _deadline = if prev.is_null() {
        // SAFETY: the store context is this thread's own, and lives as long
        // as the thread, beyond this call.
        unsafe { crate::limits::enter(store_context()) }
    } else {
        None
    };
    let mut state = CallState {
        jmp_buf: core::ptr::null_mut(),
        record: TrapRecord {
            code: None,
            captured: 0,
            total: 0,
            pcs: [MaybeUninit::uninit(); MAX_FRAMES],
        },
        entry_sp,
    };
    let state: *mut CallState = &mut state;
    CURRENT.set(state);
    let mut f = Some(f);
    // A trap skips the array-call trampolines that count themselves in
    // `entries` on the way out; put the count back.
    // SAFETY: the store context of this thread, which runs the guest.
    let entries = unsafe { (*store_context()).entries };
    // SAFETY: `state` outlives the call; `call::<F>` matches the payload.
    let completed = unsafe {
        smelt_catch(
            call::<F>,
            (&mut f as *mut Option<F>).cast(),
            &raw mut (*state).jmp_buf,
        )
    };
    // SAFETY: as above.
    unsafe { (*store_context()).entries = entries };
    CURRENT.set(prev);
    if completed != 0 {
        Ok(())
    } else {
        unblock_trap_signals();
        // SAFETY: the handler filled the record before jumping back.
        Err(unsafe { (*state).record.take() })
    }
}

/// The stack pointer at the innermost [`catch`] of this thread: the
/// frames of the guest code it runs are below it. `None` outside guest
/// code.
pub(crate) fn entry_sp() -> Option<usize> {
    let state = CURRENT.get();
    // SAFETY: a non-null `CURRENT` is the live state of the innermost catch.
    (!state.is_null()).then(|| unsafe { (*state).entry_sp })
}

/// Ends the innermost [`catch`] with a trap of `code`, raised from guest
/// code that called an exit stub (see
/// `smelt_abi::builtins::Builtin::takes_exit_frame`) whose frame pointer is
/// `exit_fp`; the backtrace starts at the stub's call site.
///
/// # Safety
///
/// Must be called on the thread running the guest code, from a runtime
/// function called by the exit stub whose frame pointer is `exit_fp`, and
/// the frames between the catch and here must need no cleanup.
pub(crate) unsafe fn raise_at_exit(code: TrapCode, exit_fp: usize) -> ! {
    let state = CURRENT.get();
    assert!(!state.is_null(), "a trap raised outside guest code");
    // SAFETY: the exit stub's frame record holds the guest's frame pointer
    // and the return address into it; `state` is the innermost catch.
    unsafe {
        let regs = Regs {
            pc: (*((exit_fp + 8) as *const usize)).wrapping_sub(1),
            fp: *(exit_fp as *const usize),
            sp: exit_fp,
        };
        let state = &mut *state;
        let tables = CodeTables::current();
        state.record.capture(code, regs, state.entry_sp, &tables);
        smelt_unwind(state.jmp_buf)
    }
}

/// Unblocks the trap signals after a jump out of the handler.
///
/// The handlers are installed with `SA_NODEFER`, so the kernel does not
/// block the signal while its handler runs. Under qemu-user that is not
/// always enough: on riscv64 with musl, after a trap in a misaligned store
/// that crosses into a guard page, the next fault killed the process
/// without reaching the handler, and unblocking here prevents it.
fn unblock_trap_signals() {
    // SAFETY: plain signal-mask calls on an initialized set.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        for signo in TRAP_SIGNALS {
            libc::sigaddset(set.as_mut_ptr(), signo);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, set.as_ptr(), core::ptr::null_mut());
    }
}

/// Registers at the fault.
#[derive(Clone, Copy)]
struct Regs {
    pc: usize,
    fp: usize,
    sp: usize,
}

impl Regs {
    /// # Safety
    ///
    /// `context` must be the `ucontext_t` a signal handler received.
    #[cfg(target_arch = "x86_64")]
    unsafe fn read(context: *mut c_void) -> Regs {
        // SAFETY: guaranteed by the caller.
        let gregs = unsafe { &(*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
        Regs {
            pc: gregs[libc::REG_RIP as usize] as usize,
            fp: gregs[libc::REG_RBP as usize] as usize,
            sp: gregs[libc::REG_RSP as usize] as usize,
        }
    }

    /// # Safety
    ///
    /// `context` must be the `ucontext_t` a signal handler received.
    #[cfg(target_arch = "aarch64")]
    unsafe fn read(context: *mut c_void) -> Regs {
        // SAFETY: guaranteed by the caller.
        let mc = unsafe { &(*context.cast::<libc::ucontext_t>()).uc_mcontext };
        Regs {
            pc: mc.pc as usize,
            fp: mc.regs[29] as usize,
            sp: mc.sp as usize,
        }
    }

    /// # Safety
    ///
    /// `context` must be the `ucontext_t` a signal handler received.
    #[cfg(target_arch = "riscv64")]
    unsafe fn read(context: *mut c_void) -> Regs {
        // SAFETY: guaranteed by the caller.
        let gregs = unsafe { &(*context.cast::<libc::ucontext_t>()).uc_mcontext.__gregs };
        Regs {
            pc: gregs[0] as usize,
            fp: gregs[8] as usize,
            sp: gregs[2] as usize,
        }
    }
}

/// The signals a trap can raise.
const TRAP_SIGNALS: [c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
];

/// The handlers that were installed before ours, by index in
/// [`TRAP_SIGNALS`].
struct PreviousActions(UnsafeCell<[MaybeUninit<libc::sigaction>; TRAP_SIGNALS.len()]>);

// SAFETY: written once under `Once` before any handler can read it.
unsafe impl Sync for PreviousActions {}

static PREVIOUS: PreviousActions =
    PreviousActions(UnsafeCell::new([MaybeUninit::uninit(); TRAP_SIGNALS.len()]));

/// Size of the alternate signal stack, in bytes.
pub(crate) const ALT_STACK_SIZE: usize = 64 << 10;

/// Installs the trap handlers (once per process) and an alternate signal
/// stack for the calling thread: every OS thread that runs guest code
/// calls it first.
pub fn init() {
    static ONCE: Once = Once::new();
    install_alt_stack();
    ONCE.call_once(|| {
        for (i, &signo) in TRAP_SIGNALS.iter().enumerate() {
            // SAFETY: plain sigaction calls with initialized structures;
            // PREVIOUS is written before the handler can run.
            unsafe {
                let mut action: libc::sigaction = core::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                let prev = (*PREVIOUS.0.get())[i].as_mut_ptr();
                if libc::sigaction(signo, &action, prev) != 0 {
                    panic!("failed to install the handler for signal {signo}");
                }
            }
        }
    });
}

/// Gives the calling thread an alternate signal stack (with a guard page
/// below it), unless it has one.
fn install_alt_stack() {
    // SAFETY: querying and setting the alternate stack with valid
    // structures; the mapping is leaked and stays valid for the thread.
    unsafe {
        let mut old: libc::stack_t = core::mem::zeroed();
        if libc::sigaltstack(core::ptr::null(), &mut old) == 0
            && old.ss_flags & libc::SS_DISABLE == 0
            && old.ss_size >= ALT_STACK_SIZE
        {
            return;
        }
        let page = crate::memory::host_page_size() as usize;
        let map = libc::mmap(
            core::ptr::null_mut(),
            ALT_STACK_SIZE + page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if map == libc::MAP_FAILED {
            return;
        }
        libc::mprotect(map, page, libc::PROT_NONE);
        let stack = libc::stack_t {
            ss_sp: map.cast::<u8>().add(page).cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        libc::sigaltstack(&stack, core::ptr::null_mut());
    }
}

/// The trap signal handler.
unsafe extern "C" fn on_signal(signo: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let state = CURRENT.get();
    if !state.is_null() {
        // SAFETY: we are in a signal handler with its context.
        let regs = unsafe { Regs::read(context) };
        let tables = CodeTables::current();
        if let Some(mut code) = tables.trap_code_at(regs.pc) {
            // A prologue's stack check also fails when the store is
            // interrupted (its limit raised: `limits::raise`).
            if code == TrapCode::StackOverflow {
                // SAFETY: the store context is this thread's own.
                if unsafe { crate::limits::interrupted(store_context()) } {
                    code = TrapCode::Interrupted;
                }
            }
            // SAFETY: `state` is the innermost active catch on this thread,
            // whose frame encloses the interrupted compiled code.
            unsafe {
                let state = &mut *state;
                state.record.capture(code, regs, state.entry_sp, &tables);
                smelt_unwind(state.jmp_buf);
            }
        }
    }
    // SAFETY: forwarding the handler's own arguments.
    unsafe { forward(signo, info, context) };
}

/// Passes a signal that is not a trap to the handler installed before ours,
/// or restores the default action so that returning re-raises it.
unsafe fn forward(signo: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let Some(i) = TRAP_SIGNALS.iter().position(|&s| s == signo) else {
        return;
    };
    // SAFETY: initialized by `init` before our handler was installed.
    let prev = unsafe { (*PREVIOUS.0.get())[i].assume_init_ref() };
    let handler = prev.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        write_stderr(b"smelt: fatal signal in the runtime or host code (not a wasm trap)\n");
        // SAFETY: resetting to the default action; returning re-executes the
        // faulting instruction, which now terminates the process.
        unsafe { libc::signal(signo, libc::SIG_DFL) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: a handler installed with SA_SIGINFO takes these arguments.
        unsafe {
            let f: unsafe extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                core::mem::transmute(handler);
            f(signo, info, context);
        }
    } else {
        // SAFETY: a plain handler takes the signal number.
        unsafe {
            let f: unsafe extern "C" fn(c_int) = core::mem::transmute(handler);
            f(signo);
        }
    }
}

/// Writes to stderr with a plain system call (async-signal-safe).
fn write_stderr(bytes: &[u8]) {
    // SAFETY: writing a valid buffer to fd 2.
    unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}
