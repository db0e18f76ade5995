//! What a WASI preview1 program tells the runtime besides its module: the
//! preview1 host (`libwasi-native`'s `p1`) binds the module's imports to
//! the compiled trampolines of [`crate::program::ProgramDesc::trampolines`]
//! (one per import, in import order, each calling its function's shim),
//! and reads the guest's memory through the export [`Preview1Desc`] names.

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// The start-up data of a [`crate::program::ProgramKind::Preview1`]
/// program, encoded into [`crate::program::ProgramDesc::init`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview1Desc {
    /// The index, among module 0's exports, of its memory export named
    /// `memory` (the memory preview1 functions read and write), if it has
    /// one.
    pub memory: Option<u32>,
}

impl Encode for Preview1Desc {
    fn encode(&self, w: &mut Writer) {
        w.option(&self.memory);
    }
}

impl Decode for Preview1Desc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Preview1Desc {
            memory: r.option()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for d in [Preview1Desc { memory: Some(3) }, Preview1Desc::default()] {
            let bytes = crate::codec::to_bytes(&d);
            assert_eq!(crate::codec::from_bytes::<Preview1Desc>(&bytes), Ok(d));
        }
    }
}
