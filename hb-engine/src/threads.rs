//! The thread table: live threads, their clocks, and slot reuse.
//!
//! # Invariants
//! - Each live thread owns one `ThreadSlot`; no two live threads share one.
//! - A slot is reused only by a thread created (not a root thread) whose
//!   starting clock has seen the previous owner's last epoch: whatever is
//!   ordered after the new owner is then truly ordered after the previous
//!   one too, so reading an entry of the slot as "the new owner's, hence
//!   also everything of the old one's below it" never invents an order
//!   (Miri's `find_vector_index_reuse_candidate` asks more: that every live
//!   thread has seen it; a thread that has not keeps seeing the previous
//!   owner's entries, and the new owner's, as unordered, which they are).
//! - The new owner starts its own entry above the previous owner's last one.

use rustc_hash::FxHashMap;

use smallvec::SmallVec;

use crate::epoch::{ThreadId, ThreadSlot};
use crate::vector_clock::VectorClock;

/// A lock the thread holds, with where it took it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeldLock {
    pub(crate) addr: u64,
    /// Held exclusively (mutex, write-locked rwlock) rather than shared.
    pub(crate) write: bool,
    pub(crate) site: u32,
    /// Recursive acquisitions not yet released.
    pub(crate) depth: u32,
}

pub(crate) struct ThreadState {
    pub(crate) tid: ThreadId,
    pub(crate) slot: ThreadSlot,
    pub(crate) clock: VectorClock,
    /// The clock at the last release fence (empty before the first one):
    /// what a relaxed store of this thread publishes.
    pub(crate) fence_release: VectorClock,
    /// What relaxed loads have read since: an acquire fence joins it in.
    pub(crate) fence_acquire: VectorClock,
    pub(crate) held: SmallVec<[HeldLock; 4]>,
    /// Interned id of the set of held locks (see `Locksets`).
    pub(crate) lockset: u32,
    pub(crate) detached: bool,
    /// This thread's tag in the engine's same-epoch filter (filter.rs):
    /// 0 from each tick of its own clock until its next filtered access,
    /// which takes a fresh one.
    pub(crate) filter_tag: u64,
}

impl ThreadState {
    #[inline]
    pub(crate) fn now(&self) -> u32 {
        self.clock.get(self.slot)
    }

    /// Ends a release: later events of this thread are not covered by it.
    /// The thread's filter tag goes with its epoch (filter.rs, "Tags").
    pub(crate) fn tick(&mut self) {
        self.clock.increment(self.slot);
        self.filter_tag = 0;
    }
}

/// Why the engine could not take a thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// More threads alive (or not yet caught up with) than slots.
    TooManyThreads,
    /// `create` of a thread that is already alive.
    ThreadAlive(ThreadId),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::TooManyThreads => {
                write!(
                    f,
                    "more than {} threads alive at once",
                    u32::from(ThreadSlot::MAX) + 1
                )
            }
            EngineError::ThreadAlive(t) => write!(f, "thread {t} is created while it is alive"),
        }
    }
}

impl std::error::Error for EngineError {}

#[derive(Default)]
pub(crate) struct ThreadTable {
    pub(crate) live: Vec<ThreadState>,
    by_tid: FxHashMap<ThreadId, usize>,
    /// Final clocks of exited threads nobody has joined yet.
    exited: FxHashMap<ThreadId, VectorClock>,
    /// Slots of exited threads with their last own clock value.
    retired: Vec<(ThreadSlot, u32)>,
    next_slot: u16,
    /// For each slot, its owners so far: (first clock value, thread).
    owners: Vec<Vec<(u32, ThreadId)>>,
}

impl ThreadTable {
    #[inline]
    pub(crate) fn index_of(&self, tid: ThreadId) -> Option<usize> {
        self.by_tid.get(&tid).copied()
    }

    /// The live thread `tid`, started as a root thread (no happens-before
    /// with anyone) if it is unknown.
    pub(crate) fn get_or_start(&mut self, tid: ThreadId) -> Result<usize, EngineError> {
        if let Some(i) = self.index_of(tid) {
            return Ok(i);
        }
        self.exited.remove(&tid);
        let slot = self.fresh_slot()?;
        let mut clock = VectorClock::default();
        clock.set(slot, 1);
        Ok(self.insert(tid, slot, clock))
    }

    /// Starts `child` with everything `parent` has seen.
    pub(crate) fn create(&mut self, parent: usize, child: ThreadId) -> Result<usize, EngineError> {
        if self.index_of(child).is_some() {
            return Err(EngineError::ThreadAlive(child));
        }
        self.exited.remove(&child);
        let slot = match take_reusable_slot(&mut self.retired, &self.live[parent].clock) {
            Some((slot, _)) => slot,
            None => self.fresh_slot()?,
        };
        let mut clock = self.live[parent].clock.clone();
        clock.set(slot, clock.get(slot) + 1);
        let index = self.insert(child, slot, clock);
        self.live[parent].tick();
        Ok(index)
    }

    /// Starts `child` with `clock` (what it has seen; it need not come
    /// from a live thread). A reused slot's own entry starts above the
    /// previous owner's last one, which every live thread has seen.
    pub(crate) fn create_with(
        &mut self,
        mut clock: VectorClock,
        child: ThreadId,
    ) -> Result<usize, EngineError> {
        if self.index_of(child).is_some() {
            return Err(EngineError::ThreadAlive(child));
        }
        self.exited.remove(&child);
        let (slot, last) = match take_reusable_slot(&mut self.retired, &clock) {
            Some(reused) => reused,
            None => (self.fresh_slot()?, 0),
        };
        clock.set(slot, clock.get(slot).max(last) + 1);
        Ok(self.insert(child, slot, clock))
    }

    fn insert(&mut self, tid: ThreadId, slot: ThreadSlot, clock: VectorClock) -> usize {
        self.owners[slot.index()].push((clock.get(slot), tid));
        self.live.push(ThreadState {
            tid,
            slot,
            clock,
            fence_release: VectorClock::default(),
            fence_acquire: VectorClock::default(),
            held: SmallVec::new(),
            lockset: 0,
            detached: false,
            filter_tag: 0,
        });
        let index = self.live.len() - 1;
        self.by_tid.insert(tid, index);
        index
    }

    fn fresh_slot(&mut self) -> Result<ThreadSlot, EngineError> {
        if self.next_slot > ThreadSlot::MAX {
            return Err(EngineError::TooManyThreads);
        }
        let slot = ThreadSlot(self.next_slot);
        self.next_slot += 1;
        self.owners.push(Vec::new());
        Ok(slot)
    }

    /// Ends thread `index`; returns its state.
    pub(crate) fn exit(&mut self, index: usize) -> ThreadState {
        let state = self.live.swap_remove(index);
        self.by_tid.remove(&state.tid);
        if let Some(moved) = self.live.get(index) {
            self.by_tid.insert(moved.tid, index);
        }
        self.retired.push((state.slot, state.now()));
        if !state.detached {
            self.exited.insert(state.tid, state.clock.clone());
        }
        state
    }

    /// The final clock of exited `child`, once: a second join learns nothing.
    pub(crate) fn take_final_clock(&mut self, child: ThreadId) -> Option<VectorClock> {
        self.exited.remove(&child)
    }

    pub(crate) fn detach(&mut self, child: ThreadId) {
        match self.index_of(child) {
            Some(i) => self.live[i].detached = true,
            None => {
                self.exited.remove(&child);
            }
        }
    }

    /// The thread that owned `slot` when its clock was `clock`.
    pub(crate) fn owner_at(&self, slot: ThreadSlot, clock: u32) -> ThreadId {
        let owners = &self.owners[slot.index()];
        owners
            .iter()
            .rev()
            .find(|&&(start, _)| start <= clock)
            .or(owners.first())
            .map(|&(_, tid)| tid)
            .expect("a slot in a shadow entry has had an owner")
    }

    /// Slots handed out so far (the width of the widest vector clock).
    pub(crate) fn slots_used(&self) -> usize {
        usize::from(self.next_slot)
    }
}

/// Takes a retired slot whose last epoch `clock` has seen, with that
/// epoch's clock value (the most recently retired first: likeliest seen).
fn take_reusable_slot(
    retired: &mut Vec<(ThreadSlot, u32)>,
    clock: &VectorClock,
) -> Option<(ThreadSlot, u32)> {
    let pos = retired
        .iter()
        .rposition(|&(slot, last)| clock.get(slot) >= last)?;
    Some(retired.swap_remove(pos))
}
