//! Vector clocks: the happens-before order of the engine.
//!
//! A `VectorClock` maps each `ThreadSlot` to the last clock value of that
//! slot known to happen before the clock's owner. Most checks compare one
//! `Epoch` with one entry (`has_seen`) instead of two whole clocks
//! (papers/fasttrack.md).
//!
//! # Invariants
//! - `entries` never ends in zero, so the all-zero clock is the empty vector
//!   and the derived `PartialEq` is clock equality (restored by `trim`).
//! - A thread's own entry only grows, and only at its release operations.

use smallvec::SmallVec;

use crate::epoch::{Epoch, ThreadSlot};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VectorClock {
    entries: SmallVec<[u32; 8]>,
}

impl VectorClock {
    #[inline]
    pub(crate) fn get(&self, slot: ThreadSlot) -> u32 {
        self.entries.get(slot.index()).copied().unwrap_or(0)
    }

    pub(crate) fn set(&mut self, slot: ThreadSlot, clock: u32) {
        let i = slot.index();
        if i >= self.entries.len() {
            if clock == 0 {
                return;
            }
            self.entries.resize(i + 1, 0);
        }
        self.entries[i] = clock;
        self.trim();
    }

    /// Advances `slot`'s entry by one (a release by the owner of `slot`).
    pub(crate) fn increment(&mut self, slot: ThreadSlot) {
        let next = self.get(slot).saturating_add(1);
        self.set(slot, next);
    }

    /// Pointwise maximum: afterwards everything `other` has seen, `self` has seen.
    pub(crate) fn join(&mut self, other: &VectorClock) {
        if other.entries.len() > self.entries.len() {
            self.entries.resize(other.entries.len(), 0);
        }
        for (mine, theirs) in self.entries.iter_mut().zip(other.entries.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Whether `epoch` happens before (or is) the owner of this clock.
    #[inline]
    pub(crate) fn has_seen(&self, epoch: Epoch) -> bool {
        epoch.clock <= self.get(epoch.slot)
    }

    /// Whether every entry of `self` is at most the same entry of `other`.
    #[cfg(test)]
    pub(crate) fn le(&self, other: &VectorClock) -> bool {
        self.entries
            .iter()
            .enumerate()
            .all(|(i, &c)| c <= other.entries.get(i).copied().unwrap_or(0))
    }

    fn trim(&mut self) {
        while self.entries.last() == Some(&0) {
            self.entries.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vc(entries: &[u32]) -> VectorClock {
        let mut clock = VectorClock::default();
        for (i, &c) in entries.iter().enumerate() {
            clock.set(ThreadSlot(i as u16), c);
        }
        clock
    }

    #[test]
    fn join_is_pointwise_max_and_idempotent() {
        let mut a = vc(&[1, 5, 0, 2]);
        let b = vc(&[3, 2, 7]);
        a.join(&b);
        assert_eq!(a, vc(&[3, 5, 7, 2]));
        let before = a.clone();
        a.join(&b);
        assert_eq!(a, before);
    }

    #[test]
    fn trailing_zeros_do_not_change_equality() {
        let mut a = vc(&[1, 2]);
        a.set(ThreadSlot(5), 0);
        assert_eq!(a, vc(&[1, 2]));
        a.set(ThreadSlot(1), 0);
        assert_eq!(a, vc(&[1]));
    }

    #[test]
    fn has_seen_compares_one_entry() {
        let a = vc(&[4, 1]);
        assert!(a.has_seen(Epoch {
            clock: 4,
            slot: ThreadSlot(0)
        }));
        assert!(!a.has_seen(Epoch {
            clock: 5,
            slot: ThreadSlot(0)
        }));
        assert!(!a.has_seen(Epoch {
            clock: 1,
            slot: ThreadSlot(3)
        }));
    }

    #[test]
    fn le_is_a_partial_order() {
        let a = vc(&[1, 2]);
        let b = vc(&[2, 2, 1]);
        let c = vc(&[0, 3]);
        assert!(a.le(&b));
        assert!(!b.le(&a));
        assert!(!a.le(&c) && !c.le(&a));
        assert!(a.le(&a));
    }

    #[test]
    fn increment_advances_own_entry() {
        let mut a = VectorClock::default();
        a.increment(ThreadSlot(2));
        a.increment(ThreadSlot(2));
        assert_eq!(a.get(ThreadSlot(2)), 2);
        assert_eq!(a.get(ThreadSlot(0)), 0);
    }
}
