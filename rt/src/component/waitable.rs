//! Waitables and waitable sets (CanonicalABI.md "Waitable State",
//! "Subtask State").
//!
//! A waitable (a subtask, or a stream or future end) is an entry of the
//! scheduler's slab; its owner's handle table refers to it by index
//! (`Slot::Subtask`, ...). It may hold one pending event, and may be
//! joined to one waitable set. Events are delivered in the order the
//! waitables joined their set, so runs are deterministic.

use core::cell::RefCell;

use super::stream::{Buffer, CopyState, Shared};
use super::task::{Event, Slab, TaskId, event};

/// A subtask's progress (CanonicalABI.md `Subtask.State`), with the
/// specification's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SubtaskState {
    /// Waiting to enter the callee (backpressure).
    Starting = 0,
    /// Running.
    Started = 1,
    /// Returned a value.
    Returned = 2,
    /// Cancelled before it started.
    CancelledBeforeStarted = 3,
    /// Cancelled after it started, before it returned.
    CancelledBeforeReturned = 4,
}

impl SubtaskState {
    /// Whether the subtask has resolved.
    pub fn resolved(self) -> bool {
        !matches!(self, SubtaskState::Starting | SubtaskState::Started)
    }
}

/// A call made by a component instance (CanonicalABI.md `Subtask`).
#[derive(Debug)]
pub struct Subtask {
    /// Its progress.
    pub state: SubtaskState,
    /// The callee's task, while it has not resolved.
    pub task: Option<TaskId>,
    /// The borrow scope of the call (its lenders).
    pub scope: u32,
    /// Whether its resolution was delivered to the caller (its lends
    /// ended).
    pub delivered: bool,
    /// Whether the caller asked to cancel it.
    pub cancel_requested: bool,
}

/// What kind of waitable an entry is.
#[derive(Debug)]
pub enum Kind {
    /// A subtask.
    Subtask(Subtask),
    /// The readable or writable end of a stream or future.
    End(End),
}

/// The readable or writable end of a stream or future (CanonicalABI.md
/// `CopyEnd`).
#[derive(Debug)]
pub struct End {
    /// The shared state both ends refer to.
    pub shared: u32,
    /// Whether this is the writable end.
    pub writable: bool,
    /// What it is doing.
    pub state: CopyState,
    /// The buffer of its copy in progress.
    pub buffer: Option<Buffer>,
}

/// A pending event of a waitable; computed when delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// A subtask made progress: the event reports its state then.
    Subtask,
    /// A fixed event.
    Event(Event),
    /// A stream or future copy ended with `result`; `reclaim`: the end's
    /// buffer stops being the stream's pending one when it is delivered.
    Copy {
        /// The copy result.
        result: u32,
        /// Whether the buffer is reclaimed on delivery.
        reclaim: bool,
    },
}

/// One waitable.
#[derive(Debug)]
pub struct Waitable {
    /// Its kind and state.
    pub kind: Kind,
    /// Its handle index in its owner's table (0 before it has one).
    pub index: u32,
    /// Its pending event.
    pub pending: Option<Pending>,
    /// The waitable set it joined.
    pub set: Option<u32>,
}

impl Waitable {
    /// The subtask this waitable is.
    pub fn subtask(&self) -> &Subtask {
        match &self.kind {
            Kind::Subtask(s) => s,
            Kind::End(_) => unreachable!("a subtask"),
        }
    }

    /// The subtask this waitable is, for changing it.
    pub fn subtask_mut(&mut self) -> &mut Subtask {
        match &mut self.kind {
            Kind::Subtask(s) => s,
            Kind::End(_) => unreachable!("a subtask"),
        }
    }
}

/// A waitable set (CanonicalABI.md `WaitableSet`).
#[derive(Debug, Default)]
pub struct WaitableSet {
    /// Its waitables, in the order they joined.
    pub elems: Vec<u32>,
    /// Threads waiting on it.
    pub num_waiting: u32,
}

/// The program's waitables and waitable sets.
#[derive(Default)]
pub struct Waitables {
    /// Waitables.
    pub items: RefCell<Slab<Waitable>>,
    /// Waitable sets.
    pub sets: RefCell<Slab<WaitableSet>>,
    /// The shared states of streams and futures.
    pub shared: RefCell<Slab<Shared>>,
    /// The debug messages of error contexts (CanonicalABI.md
    /// `ErrorContext`); never freed, since handles to one may be in many
    /// tables.
    pub error_contexts: RefCell<Vec<String>>,
}

impl Waitables {
    /// Runs `f` on the shared state `sid` of a stream or future, borrowed
    /// for the call only.
    pub fn with_shared<R>(&self, sid: u32, f: impl FnOnce(&mut Shared) -> R) -> R {
        f(self.shared.borrow_mut().get_mut(sid))
    }

    /// Adds a waitable; returns its index.
    pub fn add(&self, kind: Kind) -> u32 {
        self.items.borrow_mut().add(Waitable {
            kind,
            index: 0,
            pending: None,
            set: None,
        })
    }

    /// Moves waitable `w` into set `set` (or out of any).
    pub fn join(&self, w: u32, set: Option<u32>) {
        let mut items = self.items.borrow_mut();
        let item = items.get_mut(w);
        let mut sets = self.sets.borrow_mut();
        if let Some(old) = item.set.take() {
            sets.get_mut(old).elems.retain(|&e| e != w);
        }
        if let Some(s) = set {
            sets.get_mut(s).elems.push(w);
        }
        item.set = set;
    }

    /// Removes waitable `w` (leaving its set).
    pub fn remove(&self, w: u32) -> Waitable {
        self.join(w, None);
        self.items.borrow_mut().remove(w)
    }

    /// Whether waitable `w` has a pending event.
    pub fn has_pending(&self, w: u32) -> bool {
        self.items.borrow().get(w).pending.is_some()
    }

    /// Whether set `s` has a waitable with a pending event.
    pub fn set_has_pending(&self, s: u32) -> bool {
        let sets = self.sets.borrow();
        let items = self.items.borrow();
        sets.get(s)
            .elems
            .iter()
            .any(|&w| items.get(w).pending.is_some())
    }

    /// The first waitable of set `s` with a pending event.
    pub fn set_pending(&self, s: u32) -> Option<u32> {
        let sets = self.sets.borrow();
        let items = self.items.borrow();
        sets.get(s)
            .elems
            .iter()
            .copied()
            .find(|&w| items.get(w).pending.is_some())
    }

    /// Takes waitable `w`'s pending event and computes it: a subtask's
    /// reports its state (and, once resolved, marks the resolution
    /// delivered; its scope is returned so the caller can end its lends).
    pub fn take_event(&self, w: u32) -> (Event, Option<u32>) {
        let mut items = self.items.borrow_mut();
        let item = items.get_mut(w);
        let pending = item.pending.take().expect("a pending event");
        match (pending, &mut item.kind) {
            (Pending::Event(e), _) => (e, None),
            (Pending::Copy { result, reclaim }, _) => {
                drop(items);
                (
                    super::stream::take_end_event(super::runtime(), w, result, reclaim),
                    None,
                )
            }
            (Pending::Subtask, Kind::Subtask(s)) => {
                let mut ended = None;
                if s.state.resolved() && !s.delivered {
                    s.delivered = true;
                    ended = Some(s.scope);
                }
                ((event::SUBTASK, item.index, s.state as u32), ended)
            }
            (Pending::Subtask, Kind::End(_)) => unreachable!("ends have fixed events"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subtask(state: SubtaskState) -> Kind {
        Kind::Subtask(Subtask {
            state,
            task: None,
            scope: 7,
            delivered: false,
            cancel_requested: false,
        })
    }

    #[test]
    fn events_come_in_join_order_and_report_the_state_at_delivery() {
        let w = Waitables::default();
        let set = w.sets.borrow_mut().add(WaitableSet::default());
        let a = w.add(subtask(SubtaskState::Started));
        let b = w.add(subtask(SubtaskState::Started));
        w.items.borrow_mut().get_mut(a).index = 1;
        w.items.borrow_mut().get_mut(b).index = 2;
        w.join(b, Some(set));
        w.join(a, Some(set));
        assert!(!w.set_has_pending(set));
        for x in [a, b] {
            w.items.borrow_mut().get_mut(x).pending = Some(Pending::Subtask);
        }
        // `a` returns before its event is delivered: one event, RETURNED.
        w.items.borrow_mut().get_mut(a).subtask_mut().state = SubtaskState::Returned;
        assert_eq!(w.set_pending(set), Some(b));
        assert_eq!(w.take_event(b), ((event::SUBTASK, 2, 1), None));
        assert_eq!(w.set_pending(set), Some(a));
        assert_eq!(w.take_event(a), ((event::SUBTASK, 1, 2), Some(7)));
        assert!(w.items.borrow().get(a).subtask().delivered);
        assert!(!w.set_has_pending(set));
        // Leaving the set on removal.
        w.remove(a);
        assert_eq!(w.sets.borrow().get(set).elems, vec![b]);
    }
}
