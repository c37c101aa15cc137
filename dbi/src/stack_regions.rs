//! Shadow call stacks across stack switches: coroutines, `swapcontext`,
//! user-level threads (papers/events.md, "Stack switches").
//!
//! A thread's shadow call stack (`events::ThreadEvents`) pops every frame
//! whose stack pointer a call or return passes, which is right on one
//! stack and wrong across a switch: moving to a coroutine stack above the
//! current one popped the whole stack, moving below it chained the
//! coroutine's frames onto the other stack's. So the stacks the program
//! registers (`VALGRIND_STACK_REGISTER`, as QEMU's coroutines and Valgrind
//! users do) divide the address space into *regions*: each registered stack
//! is one, and each gap between them belongs to the thread's own stack. A
//! thread keeps one shadow stack per region it has run on; when a call or
//! return record's stack pointer lies outside the current region, the
//! current shadow stack is put aside under its region and the one of the
//! new region (empty the first time) comes back, so switching back and
//! forth keeps both intact.
//!
//! # Invariants
//! - `GENERATION` is 0 until a stack is first registered: until then the
//!   check costs one relaxed load per call or return.
//! - A tracker's `[lo, hi)` is the region holding the last stack pointer
//!   it saw, computed under `generation`; a change of the registered
//!   stacks bumps `GENERATION`, so the next record recomputes it.
//! - `saved` holds at most one stack per region key (a registered stack's
//!   start, 0 for the thread's own stack), never the current one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::StackId;

/// Registered stacks, `[start, end)`.
static REGISTERED: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
/// Bumped at every change of `REGISTERED`; 0 while nothing was registered.
static GENERATION: AtomicU64 = AtomicU64::new(0);

fn with_registered<R>(f: impl FnOnce(&mut Vec<(u64, u64)>) -> R) -> R {
    let mut g = REGISTERED.lock().unwrap_or_else(|p| p.into_inner());
    let r = f(&mut g);
    GENERATION.fetch_add(1, Ordering::Release);
    r
}

/// The program registered `[lowest, highest]` as a stack
/// (`VALGRIND_STACK_REGISTER`; QEMU passes one past the end as `highest`,
/// which this tolerates).
pub fn register_stack(lowest: u64, highest: u64) {
    let end = highest.saturating_add(1);
    if lowest < end {
        tracing::debug!(lowest, end, "stack registered");
        with_registered(|r| r.push((lowest, end)));
    }
}

/// The stack registered as `[lowest, highest]` is gone.
pub fn deregister_stack(lowest: u64, highest: u64) {
    let end = highest.saturating_add(1);
    with_registered(|r| {
        if let Some(i) = r.iter().position(|&s| s == (lowest, end)) {
            r.swap_remove(i);
        }
    });
}

/// The region holding `sp`: `(lo, hi, key)`.
fn region_of(sp: u64, registered: &[(u64, u64)]) -> (u64, u64, u64) {
    if let Some(&(lo, hi)) = registered.iter().find(|(lo, hi)| (*lo..*hi).contains(&sp)) {
        return (lo, hi, lo);
    }
    // The gap between the registered stacks around `sp`: the thread's own.
    let lo = registered
        .iter()
        .map(|r| r.1)
        .filter(|&e| e <= sp)
        .max()
        .unwrap_or(0);
    let hi = registered
        .iter()
        .map(|r| r.0)
        .filter(|&s| s > sp)
        .min()
        .unwrap_or(u64::MAX);
    (lo, hi, 0)
}

/// One thread's regions (module docs).
#[derive(Default)]
pub(crate) struct RegionTracker {
    lo: u64,
    hi: u64,
    key: u64,
    generation: u64,
    saved: Vec<(u64, Vec<(StackId, u64)>)>,
}

impl RegionTracker {
    /// Before a call or return record with stack pointer `sp` is applied to
    /// `stack`: switches `stack` when `sp` is in another region.
    #[inline]
    pub(crate) fn at(&mut self, sp: u64, stack: &mut Vec<(StackId, u64)>) {
        let g = GENERATION.load(Ordering::Acquire);
        if g == 0 || (g == self.generation && (self.lo..self.hi).contains(&sp)) {
            return;
        }
        self.switch(sp, g, stack);
    }

    #[inline(never)]
    fn switch(&mut self, sp: u64, generation: u64, stack: &mut Vec<(StackId, u64)>) {
        let registered = REGISTERED.lock().unwrap_or_else(|p| p.into_inner());
        let (lo, hi, key) = region_of(sp, &registered);
        // Stacks of regions no longer registered are dropped.
        self.saved
            .retain(|(k, _)| *k == 0 || registered.iter().any(|r| r.0 == *k));
        drop(registered);
        (self.lo, self.hi, self.generation) = (lo, hi, generation);
        tracing::trace!(sp, lo, hi, key, from = self.key, "stack switch");
        if key == self.key {
            return;
        }
        let incoming = match self.saved.iter().position(|(k, _)| *k == key) {
            Some(i) => self.saved.swap_remove(i).1,
            None => Vec::new(),
        };
        let outgoing = std::mem::replace(stack, incoming);
        self.saved.push((self.key, outgoing));
        self.key = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_the_registered_stacks_and_the_gaps_between() {
        let reg = [(0x1000, 0x2000), (0x5000, 0x6000)];
        assert_eq!(region_of(0x1800, &reg), (0x1000, 0x2000, 0x1000));
        assert_eq!(region_of(0x3000, &reg), (0x2000, 0x5000, 0));
        assert_eq!(region_of(0x800, &reg), (0, 0x1000, 0));
        assert_eq!(region_of(0x9000, &reg), (0x6000, u64::MAX, 0));
    }
}
