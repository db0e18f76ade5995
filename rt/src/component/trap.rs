//! Traps the runtime raises while carrying out the canonical ABI.
//!
//! Messages follow the wording of the Component Model reference tests.
//! Some checks are reported differently when the host is one side of the
//! call (a directly invoked export) than between two components: the
//! `host` flags choose the wording.

use core::fmt;

/// Why a canonical ABI operation traps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentTrap {
    /// A component instance called out while it may not (during its own
    /// `realloc` or `post-return`).
    CannotLeave,
    /// A pointer is not aligned for the value it points to.
    UnalignedPointer,
    /// A variant's discriminant is not one of its cases.
    InvalidDiscriminant,
    /// A `char` is a surrogate or past U+10FFFF.
    InvalidChar,
    /// A UTF-8 string does not decode (the decoder's message).
    InvalidUtf8(String),
    /// A UTF-16 string has an unpaired surrogate.
    InvalidUtf16,
    /// A string's bytes lie outside its memory.
    StringOutOfBounds {
        /// Whether the host is lifting it.
        host: bool,
    },
    /// A list's elements lie outside its memory.
    ListOutOfBounds {
        /// Whether the host is lifting it.
        host: bool,
    },
    /// A string or list is larger than the canonical ABI allows.
    TooLarge,
    /// `realloc` returned a misaligned pointer while the host lowered a
    /// value.
    ReallocUnaligned,
    /// `realloc` returned a pointer past the end of memory while the host
    /// lowered a value.
    ReallocOutOfBounds,
    /// A handle index names no handle.
    UnknownHandle(u32),
    /// A handle names a resource of another type.
    WrongHandleType(u32),
    /// An `own` handle was expected but the handle is borrowed.
    NotOwned(u32),
    /// An owned handle was moved or dropped while lent to a call.
    OwnBorrowed,
    /// A call returned with borrowed handles still in its table.
    BorrowsRemain,
    /// A handle table is full.
    TooManyHandles,
    /// A synchronous task would block before returning.
    CannotBlockSync,
    /// A call would enter an instance that is poisoned by a trap or that
    /// might be on the call stack already.
    CannotEnter,
    /// The event loop has nothing left to run while the host waits.
    Deadlock,
    /// A task returned twice.
    AlreadyReturned,
    /// `task.cancel` without a cancellation delivered.
    NotCancelled,
    /// A task's thread ended before the task returned.
    NoResult,
    /// A callback returned an unknown code.
    CallbackCode,
    /// A handle names no waitable set.
    NotAWaitableSet(u32),
    /// A handle names no waitable.
    NotAWaitable(u32),
    /// A handle names no subtask.
    NotASubtask(u32),
    /// `subtask.drop` of a subtask that has not resolved.
    SubtaskNotResolved,
    /// `subtask.cancel` after cancellation was requested or the
    /// resolution delivered.
    SubtaskCancelTwice,
    /// `waitable-set.drop` of a set with waiters.
    SetHasWaiters,
    /// `task.return` whose type or options differ from the task's.
    TaskReturnMismatch,
    /// `task.return` or `task.cancel` of a task lifted without `async`.
    TaskNotAsync,
    /// Backpressure counted past its limits.
    BackpressureOverflow,
    /// No built-in task context (the current thread has no task).
    NoTask,
    /// A coroutine stack could not be allocated.
    OutOfStacks,
    /// Something smelt does not implement yet.
    Unsupported(&'static str),
    /// A trap a trampoline the runtime called raised, with its message.
    Pending(String),
    /// A stream or future copy between two ends in one instance, of
    /// elements that are not numbers.
    IntraComponent,
    /// A readable stream end passed on after its writer dropped.
    LiftStreamDone,
    /// A readable future end passed on after its value was read.
    LiftFutureDone,
    /// A stream or future end removed while it is copying.
    BusyRemove,
    /// A stream or future end dropped while it is copying.
    BusyDrop,
    /// A readable stream end passed on while in a waitable set.
    LiftStreamInSet,
    /// A readable future end passed on while in a waitable set.
    LiftFutureInSet,
    /// `stream.write` after the readable end dropped.
    StreamWriteDone,
    /// `stream.read` after the writable end dropped.
    StreamReadDone,
    /// `future.write` after the value was written or the reader dropped.
    FutureWriteDone,
    /// `future.read` after the value was read.
    FutureReadDone,
    /// A copy while another is active on the same end.
    Concurrent,
    /// A synchronous operation on a waitable that is in a waitable set.
    SyncInSet,
    /// `cancel-read`/`cancel-write` without an async copy in progress.
    NotCopying,
    /// A future's writable end dropped before a value was written.
    FutureNotWritten,
    /// A thread index names no thread of the instance.
    UnknownThread(u32),
    /// A thread to resume is not suspended.
    ThreadNotSuspended(u32),
}

impl fmt::Display for ComponentTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentTrap::CannotLeave => f.write_str("cannot leave component instance"),
            ComponentTrap::UnalignedPointer => f.write_str("unaligned pointer"),
            ComponentTrap::InvalidDiscriminant => f.write_str("invalid variant discriminant"),
            ComponentTrap::InvalidChar => f.write_str("invalid `char` bit pattern"),
            ComponentTrap::InvalidUtf8(m) => f.write_str(m),
            ComponentTrap::InvalidUtf16 => f.write_str("invalid utf-16: unpaired surrogate"),
            ComponentTrap::StringOutOfBounds { host: true } => {
                f.write_str("string pointer/length out of bounds of memory")
            }
            ComponentTrap::StringOutOfBounds { host: false } => {
                f.write_str("string content out-of-bounds")
            }
            ComponentTrap::ListOutOfBounds { host: true } => {
                f.write_str("list pointer/length out of bounds of memory")
            }
            ComponentTrap::ListOutOfBounds { host: false } => {
                f.write_str("list content out-of-bounds")
            }
            ComponentTrap::TooLarge => f.write_str("string or list too large"),
            ComponentTrap::ReallocUnaligned => f.write_str("realloc return: result not aligned"),
            ComponentTrap::ReallocOutOfBounds => {
                f.write_str("realloc return: beyond end of memory")
            }
            ComponentTrap::UnknownHandle(i) => write!(f, "unknown handle index {i}"),
            ComponentTrap::WrongHandleType(i) => write!(
                f,
                "handle index {i} used with the wrong type, expected guest-defined resource \
                 but found a different guest-defined resource"
            ),
            ComponentTrap::NotOwned(i) => write!(f, "handle index {i} is not an owned handle"),
            ComponentTrap::OwnBorrowed => {
                f.write_str("cannot remove owned resource while borrowed")
            }
            ComponentTrap::BorrowsRemain => {
                f.write_str("borrow handles still remain at the end of the call")
            }
            ComponentTrap::TooManyHandles => f.write_str("handle table is full"),
            ComponentTrap::CannotBlockSync => {
                f.write_str("cannot block a synchronous task before returning")
            }
            ComponentTrap::CannotEnter => f.write_str("cannot enter component instance"),
            ComponentTrap::Deadlock => {
                f.write_str("deadlock detected: event loop cannot make further progress")
            }
            ComponentTrap::AlreadyReturned => f.write_str("task already returned a value"),
            ComponentTrap::NotCancelled => {
                f.write_str("`task.cancel` called without a cancellation delivered")
            }
            ComponentTrap::NoResult => {
                f.write_str("async-lifted export failed to produce a result")
            }
            ComponentTrap::CallbackCode => f.write_str("unsupported callback code"),
            ComponentTrap::NotAWaitableSet(i) => {
                write!(f, "handle index {i} is not a waitable set")
            }
            ComponentTrap::NotAWaitable(i) => write!(f, "handle index {i} is not a waitable"),
            ComponentTrap::NotASubtask(i) => write!(f, "handle index {i} is not a subtask"),
            ComponentTrap::SubtaskNotResolved => {
                f.write_str("cannot drop a subtask which has not yet resolved")
            }
            ComponentTrap::SubtaskCancelTwice => {
                f.write_str("`subtask.cancel` of a subtask already cancelled or resolved")
            }
            ComponentTrap::SetHasWaiters => f.write_str("cannot drop waitable set with waiters"),
            ComponentTrap::TaskReturnMismatch => {
                f.write_str("invalid `task.return` signature and/or options for current task")
            }
            ComponentTrap::TaskNotAsync => {
                f.write_str("`task.return` or `task.cancel` in a task not lifted async")
            }
            ComponentTrap::BackpressureOverflow => {
                f.write_str("backpressure counter overflow or underflow")
            }
            ComponentTrap::NoTask => f.write_str("async built-in called outside of a task"),
            ComponentTrap::OutOfStacks => f.write_str("cannot allocate a coroutine stack"),
            ComponentTrap::Unsupported(what) => write!(f, "{what} is not supported by smelt yet"),
            ComponentTrap::Pending(m) => f.write_str(m),
            ComponentTrap::IntraComponent => {
                f.write_str("cannot read from and write to intra-component future")
            }
            ComponentTrap::LiftStreamDone => {
                f.write_str("cannot lift stream after being notified that the writable end dropped")
            }
            ComponentTrap::LiftFutureDone => {
                f.write_str("cannot lift future after previous read succeeded")
            }
            ComponentTrap::BusyRemove => f.write_str("cannot remove busy stream"),
            ComponentTrap::BusyDrop => f.write_str("cannot drop busy stream"),
            ComponentTrap::LiftStreamInSet => {
                f.write_str("cannot lift stream while it's in a waitable set")
            }
            ComponentTrap::LiftFutureInSet => {
                f.write_str("cannot lift future while it's in a waitable set")
            }
            ComponentTrap::StreamWriteDone => f.write_str(
                "cannot write to stream after being notified that the readable end dropped",
            ),
            ComponentTrap::StreamReadDone => f.write_str(
                "cannot read from stream after being notified that the writable end dropped",
            ),
            ComponentTrap::FutureWriteDone => f.write_str(
                "cannot write to future after previous write succeeded or readable end dropped",
            ),
            ComponentTrap::FutureReadDone => {
                f.write_str("cannot read from future after previous read succeeded")
            }
            ComponentTrap::Concurrent => {
                f.write_str("cannot have concurrent operations active on a future/stream")
            }
            ComponentTrap::SyncInSet => {
                f.write_str("waitable cannot be used synchronously while added to a waitable set")
            }
            ComponentTrap::NotCopying => {
                f.write_str("cannot cancel a stream or future copy that is not in progress")
            }
            ComponentTrap::UnknownThread(i) => write!(f, "unknown thread index {i}"),
            ComponentTrap::ThreadNotSuspended(i) => {
                write!(f, "thread index {i} is not a suspended thread")
            }
            ComponentTrap::FutureNotWritten => {
                f.write_str("cannot drop future write end without first writing a value")
            }
        }
    }
}
