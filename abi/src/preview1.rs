//! What a WASI preview1 program tells the runtime besides its module: the
//! preview1 host (`libwasi-native`'s `p1`) binds the module's imports to
//! the compiled trampolines of [`crate::program::ProgramDesc::trampolines`]
//! (one per import, in import order, each calling its function's shim),
//! and reads the guest's memory through the export [`Preview1Desc`] names.
//! A module that imports its memory (a shared one: wasi-threads) gets one
//! the runtime makes ([`MemoryImport`]); a module that imports `wasi`
//! `thread-spawn` runs each spawned thread in an instance of its own
//! ([`ThreadsDesc`]).

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// The start-up data of a [`crate::program::ProgramKind::Preview1`]
/// program, encoded into [`crate::program::ProgramDesc::init`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview1Desc {
    /// The index, among module 0's exports, of its memory export named
    /// `memory` (the memory preview1 functions read and write), if it has
    /// one.
    pub memory: Option<u32>,
    /// The shared memory module 0 imports, if it imports one.
    pub memory_import: Option<MemoryImport>,
    /// How threads are spawned, if module 0 imports `wasi` `thread-spawn`.
    pub threads: Option<ThreadsDesc>,
}

/// A shared memory a preview1 module imports (wasi-threads' `env`
/// `memory`), which the runtime makes from the import's limits and gives
/// to the instance of every thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryImport {
    /// Its index among module 0's imports (of every kind).
    pub import: u32,
    /// Its minimum size, in 64 KiB pages.
    pub min_pages: u64,
    /// Its maximum size, in 64 KiB pages (a shared memory has one).
    pub max_pages: u64,
    /// Whether it is 64-bit indexed.
    pub memory64: bool,
}

/// What the `thread-spawn` of wasi-threads needs besides the module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadsDesc {
    /// The index, among module 0's exports, of `wasi_thread_start`
    /// `(func (param i32 i32))`, which each spawned thread calls with its
    /// thread id and the start argument.
    pub thread_start: u32,
    /// The most threads that run guest code at once, the main one
    /// included (at least 1): a `thread-spawn` past it returns -1.
    pub max_threads: u32,
}

impl Encode for MemoryImport {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.import);
        w.u64(self.min_pages);
        w.u64(self.max_pages);
        w.u8(u8::from(self.memory64));
    }
}

impl Decode for MemoryImport {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MemoryImport {
            import: r.u32()?,
            min_pages: r.u64()?,
            max_pages: r.u64()?,
            memory64: r.u8()? != 0,
        })
    }
}

impl Encode for ThreadsDesc {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.thread_start);
        w.u32(self.max_threads);
    }
}

impl Decode for ThreadsDesc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ThreadsDesc {
            thread_start: r.u32()?,
            max_threads: r.u32()?,
        })
    }
}

impl Encode for Preview1Desc {
    fn encode(&self, w: &mut Writer) {
        w.option(&self.memory);
        w.option(&self.memory_import);
        w.option(&self.threads);
    }
}

impl Decode for Preview1Desc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Preview1Desc {
            memory: r.option()?,
            memory_import: r.option()?,
            threads: r.option()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let threaded = Preview1Desc {
            memory: Some(3),
            memory_import: Some(MemoryImport {
                import: 1,
                min_pages: 17,
                max_pages: 16384,
                memory64: false,
            }),
            threads: Some(ThreadsDesc {
                thread_start: 4,
                max_threads: 512,
            }),
        };
        let plain = Preview1Desc {
            memory: Some(3),
            ..Preview1Desc::default()
        };
        for d in [threaded, plain, Preview1Desc::default()] {
            let bytes = crate::codec::to_bytes(&d);
            assert_eq!(crate::codec::from_bytes::<Preview1Desc>(&bytes), Ok(d));
        }
    }
}
