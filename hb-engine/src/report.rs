//! What the user is told: races, lock-order violations and misuse of locks.
//!
//! These are plain data. Sites are the caller's opaque ids (a stack or a
//! trace line); the report layer turns them into stacks.

use crate::epoch::ThreadId;

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    Read,
    Write,
}

/// One side of a race.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub thread: ThreadId,
    pub kind: AccessKind,
    pub atomic: bool,
    pub site: u32,
    /// Addresses of the locks the thread held at this access, in
    /// acquisition order; `None` when the engine no longer knows.
    pub locks_held: Option<Vec<u64>>,
}

/// Two unordered accesses to overlapping bytes, at least one a write and
/// not both atomic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Race {
    /// The later access's own address and size.
    pub addr: u64,
    pub size: u64,
    /// The bytes both accesses touched (a contiguous run inside the access).
    pub racy_addr: u64,
    pub racy_len: u64,
    /// The access during which the race was found.
    pub current: Access,
    /// The earlier access it conflicts with.
    pub prior: Access,
}

/// One edge of the lock-order graph: `second` was acquired while `first`
/// was held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockOrderEdge {
    pub first: u64,
    pub first_site: u32,
    pub second: u64,
    pub second_site: u32,
}

/// Locks taken in an order that closes a cycle: a potential deadlock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockOrderViolation {
    pub thread: ThreadId,
    /// The acquisition that closed the cycle: `observed.second` taken while
    /// holding `observed.first`.
    pub observed: LockOrderEdge,
    /// The earlier order it contradicts: a path from `observed.second` to
    /// `observed.first`, edge by edge.
    pub required: Vec<LockOrderEdge>,
}

/// A lock used in a way its API forbids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MisuseKind {
    /// Unlock of a lock nobody holds.
    UnlockUnlocked,
    /// Unlock of a lock another thread holds.
    UnlockForeign { owner: ThreadId },
    /// Destroy of a lock that is still held.
    DestroyLocked,
    /// Wait on a barrier that was never initialised.
    BarrierUninitialised,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misuse {
    pub thread: ThreadId,
    pub kind: MisuseKind,
    pub object: u64,
    pub site: u32,
}

/// Everything the engine can report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    Race(Race),
    LockOrder(LockOrderViolation),
    Misuse(Misuse),
}
