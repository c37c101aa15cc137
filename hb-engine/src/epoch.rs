//! Epochs and thread slots: one thread's logical time.
//!
//! A `ThreadSlot` is the engine's index of a thread in every `VectorClock`.
//! Slots are borrowed by threads and reused after a thread has exited and
//! every live thread has seen its last epoch (`ThreadTable::create`), so a
//! program that runs 10,000 short threads one after the other uses few slots.
//!
//! An `Epoch` is `clock@slot`: the time of one thread at one moment. An epoch
//! `c@s` happens before a thread whose clock `C` has `C[s] >= c`
//! (papers/fasttrack.md).

use std::fmt;

/// Index of a thread in vector clocks; at most `ThreadSlot::MAX + 1` exist at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadSlot(pub(crate) u16);

impl ThreadSlot {
    /// The largest slot a shadow entry can name (14 bits, see `shadow::Entry`).
    pub const MAX: u16 = (1 << 14) - 1;

    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The guest's (or the trace's) name for a thread, never reused by the engine
/// while the thread lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub u32);

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}", self.0)
    }
}

/// `clock@slot`: a point in one thread's logical time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Epoch {
    pub(crate) clock: u32,
    pub(crate) slot: ThreadSlot,
}
