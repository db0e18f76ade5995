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
        }
    }
}
