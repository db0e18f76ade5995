//! Handle tables (CanonicalABI.md "Table" and "Handles").
//!
//! Each component instance has one table. Index 0 is never used; a new
//! handle takes the most recently freed index (the free list is LIFO, as
//! the specification requires, so indices are predictable), or the next
//! new one. Every kind of handle is one [`Slot`] variant, so the async
//! kinds (streams, futures, waitable sets, subtasks) join the same table.

use smelt_abi::component::ResourceIndex;

use super::trap::ComponentTrap;

/// Most handles a table may hold (CanonicalABI.md `Table.MAX_LENGTH`).
pub const MAX_HANDLES: usize = (1 << 28) - 1;

/// One entry of a handle table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Unused (index 0, and freed entries).
    Free,
    /// An owned resource.
    Own {
        /// Runtime resource type.
        resource: ResourceIndex,
        /// The resource's representation.
        rep: u32,
        /// Borrows of this handle outstanding in calls (`num_lends`).
        lend_count: u32,
    },
    /// A borrowed resource, valid until the end of call `scope`.
    Borrow {
        /// Runtime resource type.
        resource: ResourceIndex,
        /// The resource's representation.
        rep: u32,
        /// The call (index in the runtime's borrow scopes) it is scoped
        /// to.
        scope: u32,
    },
    /// A subtask (its index in the scheduler's waitables).
    Subtask(u32),
    /// A waitable set (its index in the scheduler's waitable sets).
    WaitableSet(u32),
    /// A stream end (its index in the scheduler's waitables).
    Stream {
        /// The end.
        end: u32,
    },
    /// A future end (its index in the scheduler's waitables).
    Future {
        /// The end.
        end: u32,
    },
    /// An error context (its index in the scheduler's error contexts).
    ErrorContext(u32),
}

/// A component instance's handle table.
#[derive(Debug)]
pub struct HandleTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Default for HandleTable {
    fn default() -> Self {
        HandleTable {
            slots: vec![Slot::Free],
            free: Vec::new(),
        }
    }
}

impl HandleTable {
    /// Adds `slot`; returns its index.
    pub fn add(&mut self, slot: Slot) -> Result<u32, ComponentTrap> {
        debug_assert!(slot != Slot::Free);
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = slot;
            return Ok(i);
        }
        if self.slots.len() > MAX_HANDLES {
            return Err(ComponentTrap::TooManyHandles);
        }
        self.slots.push(slot);
        Ok((self.slots.len() - 1) as u32)
    }

    /// The entry at `index`.
    pub fn get(&self, index: u32) -> Result<Slot, ComponentTrap> {
        match self.slots.get(index as usize) {
            Some(Slot::Free) | None => Err(ComponentTrap::UnknownHandle(index)),
            Some(slot) => Ok(*slot),
        }
    }

    /// The entry at `index`, for changing it.
    pub fn get_mut(&mut self, index: u32) -> Result<&mut Slot, ComponentTrap> {
        match self.slots.get_mut(index as usize) {
            Some(Slot::Free) | None => Err(ComponentTrap::UnknownHandle(index)),
            Some(slot) => Ok(slot),
        }
    }

    /// Removes the entry at `index`; returns it.
    pub fn remove(&mut self, index: u32) -> Result<Slot, ComponentTrap> {
        let slot = self.get(index)?;
        self.slots[index as usize] = Slot::Free;
        self.free.push(index);
        Ok(slot)
    }

    /// The resource type and representation of a resource handle of type
    /// `resource`.
    pub fn resource(
        &self,
        index: u32,
        resource: ResourceIndex,
    ) -> Result<(Slot, u32), ComponentTrap> {
        let slot = self.get(index)?;
        match slot {
            Slot::Own {
                resource: r, rep, ..
            }
            | Slot::Borrow {
                resource: r, rep, ..
            } => {
                if r != resource {
                    return Err(ComponentTrap::WrongHandleType(index));
                }
                Ok((slot, rep))
            }
            Slot::Free => unreachable!("get never returns a free slot"),
            _ => Err(ComponentTrap::WrongHandleType(index)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(rep: u32) -> Slot {
        Slot::Own {
            resource: ResourceIndex::from_u32(0),
            rep,
            lend_count: 0,
        }
    }

    #[test]
    fn indices_start_at_one_and_reuse_lifo() {
        let mut t = HandleTable::default();
        assert_eq!(t.add(own(100)).unwrap(), 1);
        assert_eq!(t.add(own(200)).unwrap(), 2);
        assert_eq!(t.add(own(300)).unwrap(), 3);
        t.remove(2).unwrap();
        assert_eq!(t.add(own(400)).unwrap(), 2);
        t.remove(1).unwrap();
        t.remove(2).unwrap();
        t.remove(3).unwrap();
        assert_eq!(t.add(own(500)).unwrap(), 3);
        assert_eq!(t.add(own(600)).unwrap(), 2);
        assert_eq!(t.add(own(700)).unwrap(), 1);
        assert_eq!(t.add(own(800)).unwrap(), 4);
    }

    #[test]
    fn unknown_and_mistyped_handles_trap() {
        let mut t = HandleTable::default();
        assert_eq!(t.get(0), Err(ComponentTrap::UnknownHandle(0)));
        assert_eq!(t.get(u32::MAX), Err(ComponentTrap::UnknownHandle(u32::MAX)));
        let h = t.add(own(1)).unwrap();
        assert_eq!(
            t.resource(h, ResourceIndex::from_u32(1)),
            Err(ComponentTrap::WrongHandleType(h))
        );
        assert_eq!(t.resource(h, ResourceIndex::from_u32(0)).unwrap().1, 1);
        t.remove(h).unwrap();
        assert_eq!(t.get(h), Err(ComponentTrap::UnknownHandle(h)));
        assert_eq!(t.remove(h), Err(ComponentTrap::UnknownHandle(h)));
    }
}
