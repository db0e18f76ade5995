//! The preview1 descriptor table: descriptor numbers to [`Entry`]s.
//!
//! Numbers 0, 1 and 2 are the process's standard streams, the preopened
//! directories follow from 3 in the order they were granted, and a new
//! descriptor takes the lowest free number, as POSIX's do. The table
//! grows as needed: the only limit is the process's own (`EMFILE` from
//! the kernel when it opens one too many).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::bindings::rights;
use super::{Fault, P1Result, errno};
use crate::fs::{Descriptor, FileType};

/// What a descriptor number names.
#[derive(Debug)]
pub enum Handle {
    /// A standard stream of the process: 0, 1 or 2.
    Stdio(RawFd),
    /// An open file or directory.
    Open(Descriptor),
}

/// Where `fd_readdir` is in a directory: the last batch the kernel gave
/// and the cookie it resumes at, so that a call continuing where the one
/// before stopped (the guest's buffer was full) does not read the
/// directory again.
#[derive(Debug, Default)]
pub struct DirCursor {
    /// The last `getdents64` batch.
    pub batch: Vec<u8>,
    /// The cookie of the batch's first entry (the position it was read
    /// from).
    pub start: u64,
    /// Whether the batch is valid: it was read for the cookie the last
    /// call ended at, [`DirCursor::resume`].
    pub valid: bool,
    /// The cookie the last call ended at.
    pub resume: u64,
    /// The kernel's position in the directory after the batch (`d_off` of
    /// its last entry), when known.
    pub kernel_at: Option<u64>,
}

/// One descriptor.
#[derive(Debug)]
pub struct Entry {
    /// What it names.
    pub handle: Handle,
    /// The guest name of a preopened directory.
    pub preopen: Option<String>,
    /// Its rights (`fd_fdstat_set_rights` may only remove some): the
    /// base ones.
    pub rights_base: AtomicU64,
    /// The rights descriptors opened from it may have.
    pub rights_inheriting: AtomicU64,
    /// Whether the guest made it non-blocking (`fdflags::nonblock`): only
    /// then does a read or write that would block return `again` rather
    /// than wait.
    pub nonblock: AtomicBool,
    /// Whether it appends (`fdflags::append`, `O_APPEND`), as the guest
    /// set it: what `fd_fdstat_get` reports without asking the kernel.
    pub append: AtomicBool,
    /// Its file type, once asked for (a descriptor's never changes):
    /// wasi-libc asks for the directory's before each `path_open`.
    pub file_type: OnceLock<FileType>,
    /// Where `fd_readdir` is.
    pub dir: Mutex<DirCursor>,
}

impl Entry {
    /// A descriptor for `handle`, with every right.
    pub fn new(handle: Handle, preopen: Option<String>) -> Self {
        Entry {
            handle,
            preopen,
            rights_base: AtomicU64::new(rights::ALL),
            rights_inheriting: AtomicU64::new(rights::ALL),
            nonblock: AtomicBool::new(false),
            append: AtomicBool::new(false),
            file_type: OnceLock::new(),
            // A new descriptor is at the start of its directory.
            dir: Mutex::new(DirCursor {
                kernel_at: Some(0),
                ..DirCursor::default()
            }),
        }
    }

    /// The OS descriptor.
    pub fn raw(&self) -> RawFd {
        match &self.handle {
            Handle::Stdio(fd) => *fd,
            Handle::Open(d) => d.file.as_raw_fd(),
        }
    }

    /// The open file or directory (`badf` for a standard stream).
    ///
    /// # Errors
    ///
    /// `badf` for a standard stream, which names no file beneath a
    /// preopened directory.
    pub fn descriptor(&self) -> P1Result<&Descriptor> {
        match &self.handle {
            Handle::Open(d) => Ok(d),
            Handle::Stdio(_) => Err(Fault::Errno(errno::BADF)),
        }
    }

    /// The base rights.
    pub fn rights(&self) -> (u64, u64) {
        (
            self.rights_base.load(Ordering::Relaxed),
            self.rights_inheriting.load(Ordering::Relaxed),
        )
    }
}

/// The descriptors, by number.
#[derive(Debug, Default)]
pub struct FdTable {
    slots: Vec<Option<Arc<Entry>>>,
    free: BinaryHeap<Reverse<u32>>,
}

/// The largest descriptor number, plus one (the witx: "less than 2**31").
const LIMIT: usize = 1 << 31;

impl FdTable {
    /// The entry of `fd`.
    ///
    /// # Errors
    ///
    /// `badf` when `fd` is not open.
    pub fn get(&self, fd: u32) -> P1Result<Arc<Entry>> {
        self.slots
            .get(fd as usize)
            .and_then(Option::clone)
            .ok_or(Fault::Errno(errno::BADF))
    }

    /// Adds `entry` at the lowest free number; returns the number.
    ///
    /// # Errors
    ///
    /// `nfile` past 2³¹ descriptors.
    pub fn insert(&mut self, entry: Entry) -> P1Result<u32> {
        let entry = Some(Arc::new(entry));
        while let Some(Reverse(fd)) = self.free.pop() {
            let slot = &mut self.slots[fd as usize];
            if slot.is_none() {
                *slot = entry;
                return Ok(fd);
            }
        }
        if self.slots.len() >= LIMIT {
            return Err(Fault::Errno(errno::NFILE));
        }
        self.slots.push(entry);
        Ok(self.slots.len() as u32 - 1)
    }

    /// Removes `fd`; returns its entry (the file closes when the last
    /// call using it is done).
    ///
    /// # Errors
    ///
    /// `badf` when `fd` is not open.
    pub fn remove(&mut self, fd: u32) -> P1Result<Arc<Entry>> {
        let entry = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Fault::Errno(errno::BADF))?;
        self.free.push(Reverse(fd));
        Ok(entry)
    }

    /// `fd_renumber`: moves `from` to `to`, closing what `to` was.
    ///
    /// # Errors
    ///
    /// `badf` when either is not open.
    pub fn renumber(&mut self, from: u32, to: u32) -> P1Result<()> {
        self.get(from)?;
        self.get(to)?;
        if from != to {
            let entry = self.remove(from)?;
            self.slots[to as usize] = Some(entry);
        }
        Ok(())
    }

    /// Replaces the entry of `fd` (an entry with other rights).
    pub fn replace(&mut self, fd: u32, entry: Arc<Entry>) {
        if let Some(slot) = self.slots.get_mut(fd as usize) {
            *slot = Some(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_descriptors_take_the_lowest_free_number() {
        let mut t = FdTable::default();
        for fd in 0..3 {
            assert_eq!(t.insert(Entry::new(Handle::Stdio(fd), None)), Ok(fd as u32));
        }
        t.remove(1).unwrap();
        assert_eq!(t.remove(1).err(), Some(Fault::Errno(errno::BADF)));
        assert_eq!(t.insert(Entry::new(Handle::Stdio(1), None)), Ok(1));
        assert_eq!(t.insert(Entry::new(Handle::Stdio(1), None)), Ok(3));
        t.renumber(3, 0).unwrap();
        assert_eq!(t.get(3).err(), Some(Fault::Errno(errno::BADF)));
        assert_eq!(t.get(0).unwrap().raw(), 1);
        assert_eq!(t.insert(Entry::new(Handle::Stdio(2), None)), Ok(3));
        assert_eq!(t.renumber(9, 0).err(), Some(Fault::Errno(errno::BADF)));
    }
}
