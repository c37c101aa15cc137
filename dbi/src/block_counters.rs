//! Execution counters of translations (`Interests::block_counts`).
//!
//! Each translation of a block gets one `AtomicU64` that its translated
//! code bumps at the block's head (arch/x86_64/instrument.rs), and that the
//! tool reads through `BlockView::executions`. Counters are handed out from
//! chunks that are never freed: a tool may read a counter at exit, long
//! after its translation was flushed from the code cache.
//!
//! # Invariants
//! - A counter is handed out once and lives for the process's life.
//! - Only translated code of the thread holding the big lock writes a
//!   counter (a plain `add`, no lock prefix), so its count is exact.

use core::sync::atomic::AtomicU64;
use std::sync::Mutex;

/// Counters per chunk (32 KiB).
const CHUNK: usize = 4096;

/// The chunk being handed out, how many of it are used, and how many
/// counters were handed out before it.
static NEXT: Mutex<(&'static [AtomicU64], usize, u32)> = Mutex::new((&[], 0, 0));

/// A fresh counter, zero, and its number: 0, 1, 2... in allocation order
/// (`BlockView::id`).
pub(crate) fn allocate() -> (&'static AtomicU64, u32) {
    let mut next = NEXT.lock().unwrap_or_else(|e| e.into_inner());
    if next.1 == next.0.len() {
        let chunk: &'static [AtomicU64] = (0..CHUNK)
            .map(|_| AtomicU64::new(0))
            .collect::<Vec<_>>()
            .leak();
        let before = next.2 + next.1 as u32;
        *next = (chunk, 0, before);
    }
    let (chunk, used, before) = *next;
    next.1 += 1;
    (&chunk[used], before + used as u32)
}
