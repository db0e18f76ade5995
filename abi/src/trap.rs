//! Trap codes: why guest execution stopped, and the message printed for it.
//!
//! The compiler records, for every instruction that may trap, the code
//! offset and one of these codes (the trap table of
//! [`crate::program::ProgramDesc`]); the runtime's signal handler finds the
//! faulting instruction's code there. Messages use the wording of the core
//! specification's test suite (`assert_trap` strings).

/// Why a trap happened.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapCode {
    /// The wasm stack reached its limit (`assert_exhaustion`).
    StackOverflow = 1,
    /// A load, store or bulk memory operation outside a linear memory.
    MemoryOutOfBounds = 2,
    /// A table access or bulk table operation outside a table.
    TableOutOfBounds = 3,
    /// `call_indirect` through a null table element.
    IndirectCallToNull = 4,
    /// `call_indirect` to a function of another type.
    BadSignature = 5,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow = 6,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 7,
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger = 8,
    /// The `unreachable` instruction.
    UnreachableCodeReached = 9,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement = 10,
    /// A null reference where a non-null one is required.
    NullReference = 11,
    /// A memory or table could not be allocated at instantiation.
    AllocationFailed = 12,
    /// The runtime found a reason to trap during a call into it (a
    /// canonical ABI or handle check); the runtime knows the message.
    Runtime = 13,
    /// `call_ref` or `return_call_ref` of a null function reference.
    NullFunctionReference = 14,
    /// An exception no handler caught reached the host (the command, the
    /// component boundary, or a script's `invoke`).
    UncaughtException = 15,
    /// `throw_ref` of a null exception reference.
    NullExceptionReference = 16,
    /// A struct access through a null reference.
    NullStructReference = 17,
    /// An array access through a null reference.
    NullArrayReference = 18,
    /// `i31.get_s` or `i31.get_u` of a null reference.
    NullI31Reference = 19,
    /// `ref.cast` of a reference that is not of the type.
    CastFailure = 20,
    /// An array access past the array's length.
    ArrayOutOfBounds = 21,
    /// A GC object could not be allocated: the heap cannot grow.
    GcHeapExhausted = 22,
    /// An atomic access, `memory.atomic.wait` or `memory.atomic.notify` at
    /// an effective address that is not a multiple of its size (threads
    /// proposal).
    HeapMisaligned = 23,
    /// `memory.atomic.wait32`/`wait64` on a memory that is not shared
    /// (threads proposal).
    AtomicWaitNonSharedMemory = 24,
    /// The guest ran past its time limit (`--timeout`, `SMELT_TIMEOUT`):
    /// a function entry or loop header found the store's interrupt flag
    /// set.
    Interrupted = 25,
}

impl TrapCode {
    /// Every trap code, in numeric order.
    pub const ALL: &'static [TrapCode] = &[
        TrapCode::StackOverflow,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::UnreachableCodeReached,
        TrapCode::UndefinedElement,
        TrapCode::NullReference,
        TrapCode::AllocationFailed,
        TrapCode::Runtime,
        TrapCode::NullFunctionReference,
        TrapCode::UncaughtException,
        TrapCode::NullExceptionReference,
        TrapCode::NullStructReference,
        TrapCode::NullArrayReference,
        TrapCode::NullI31Reference,
        TrapCode::CastFailure,
        TrapCode::ArrayOutOfBounds,
        TrapCode::GcHeapExhausted,
        TrapCode::HeapMisaligned,
        TrapCode::AtomicWaitNonSharedMemory,
        TrapCode::Interrupted,
    ];

    /// The message printed after `wasm trap: `, in the specification's
    /// wording.
    pub const fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::NullReference => "null reference",
            TrapCode::AllocationFailed => "failed to allocate a memory or table",
            TrapCode::Runtime => "trap raised by the runtime",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::UncaughtException => "uncaught exception",
            TrapCode::NullExceptionReference => "null exception reference",
            TrapCode::NullStructReference => "null structure reference",
            TrapCode::NullArrayReference => "null array reference",
            TrapCode::NullI31Reference => "null i31 reference",
            TrapCode::CastFailure => "cast failure",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::GcHeapExhausted => "out of memory: the GC heap cannot grow",
            TrapCode::HeapMisaligned => "unaligned atomic",
            TrapCode::AtomicWaitNonSharedMemory => "expected shared memory",
            TrapCode::Interrupted => "interrupt: the time limit passed",
        }
    }

    /// The code with numeric value `raw`, if there is one.
    pub fn from_u8(raw: u8) -> Option<TrapCode> {
        TrapCode::ALL.iter().copied().find(|c| *c as u8 == raw)
    }
}

impl core::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for (i, code) in TrapCode::ALL.iter().enumerate() {
            assert_eq!(*code as u8 as usize, i + 1);
            assert_eq!(TrapCode::from_u8(*code as u8), Some(*code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
        assert_eq!(TrapCode::from_u8(200), None);
    }
}
