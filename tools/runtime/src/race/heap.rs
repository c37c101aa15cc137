//! Heap tracking: which allocation functions are hooked, what each call
//! means, and the live blocks, so a reused block starts with a clean
//! history and a report can say "Address 0x… is 8 bytes inside a block of
//! size 64 alloc'd" with the allocation stack.
//!
//! # Invariants
//! - `Heap::blocks` holds disjoint blocks keyed by start address: an
//!   allocation replaces whatever it overlaps (the allocator handed those
//!   bytes out again, so the old blocks are gone whatever we missed).
//! - A block enters at the *exit* of its allocation call (the address is
//!   the return value) and leaves at the *entry* of `free`/`delete` or the
//!   exit of `realloc`; the caller resets the engine's shadow for the bytes
//!   of a block that leaves.
//! - Allocation functions are hooked `quiet`: the allocator's own accesses
//!   to its free lists are its business, not the program's races.

use std::collections::BTreeMap;

/// What a hooked heap function does, and where its arguments are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeapFn {
    /// Returns a block of `args[size]` bytes (`malloc`, `valloc`, `new`,
    /// and `memalign`/`aligned_alloc`, whose size is their second argument).
    Alloc { size: usize },
    /// `calloc(n, size)`: `n * size` bytes.
    Calloc,
    /// `realloc(p, size)`.
    Realloc,
    /// `posix_memalign(&p, align, size)`: returns 0 and stores the block at `*p`.
    PosixMemalign,
    /// `free(p)`, `delete p`: the block at `args[0]` goes away.
    Free,
    /// The allocator's housekeeping (`malloc_trim`, `malloc_usable_size`,
    /// `mallinfo`...): no block changes hands, but it walks the allocator's
    /// own chunk headers (QEMU's RCU thread calls `malloc_trim`), so it is
    /// hooked quiet like the rest.
    Internal,
}

/// The heap functions the race tool hooks: glibc's and libstdc++'s (the
/// Itanium ABI mangled names of `operator new`/`delete`, with their
/// `nothrow`, sized and aligned variants).
pub(crate) const HEAP_FUNCTIONS: &[(&str, HeapFn)] = &[
    ("malloc", HeapFn::Alloc { size: 0 }),
    ("calloc", HeapFn::Calloc),
    ("realloc", HeapFn::Realloc),
    ("free", HeapFn::Free),
    ("cfree", HeapFn::Free),
    ("posix_memalign", HeapFn::PosixMemalign),
    ("aligned_alloc", HeapFn::Alloc { size: 1 }),
    ("memalign", HeapFn::Alloc { size: 1 }),
    ("valloc", HeapFn::Alloc { size: 0 }),
    ("pvalloc", HeapFn::Alloc { size: 0 }),
    ("_Znwm", HeapFn::Alloc { size: 0 }),
    ("_Znam", HeapFn::Alloc { size: 0 }),
    ("_ZnwmRKSt9nothrow_t", HeapFn::Alloc { size: 0 }),
    ("_ZnamRKSt9nothrow_t", HeapFn::Alloc { size: 0 }),
    ("_ZnwmSt11align_val_t", HeapFn::Alloc { size: 0 }),
    ("_ZnamSt11align_val_t", HeapFn::Alloc { size: 0 }),
    (
        "_ZnwmSt11align_val_tRKSt9nothrow_t",
        HeapFn::Alloc { size: 0 },
    ),
    (
        "_ZnamSt11align_val_tRKSt9nothrow_t",
        HeapFn::Alloc { size: 0 },
    ),
    ("_ZdlPv", HeapFn::Free),
    ("_ZdaPv", HeapFn::Free),
    ("_ZdlPvm", HeapFn::Free),
    ("_ZdaPvm", HeapFn::Free),
    ("_ZdlPvRKSt9nothrow_t", HeapFn::Free),
    ("_ZdaPvRKSt9nothrow_t", HeapFn::Free),
    ("_ZdlPvSt11align_val_t", HeapFn::Free),
    ("_ZdaPvSt11align_val_t", HeapFn::Free),
    ("_ZdlPvmSt11align_val_t", HeapFn::Free),
    ("_ZdaPvmSt11align_val_t", HeapFn::Free),
    ("_ZdlPvSt11align_val_tRKSt9nothrow_t", HeapFn::Free),
    ("_ZdaPvSt11align_val_tRKSt9nothrow_t", HeapFn::Free),
    ("malloc_trim", HeapFn::Internal),
    ("malloc_usable_size", HeapFn::Internal),
    ("mallinfo", HeapFn::Internal),
    ("mallinfo2", HeapFn::Internal),
    ("malloc_stats", HeapFn::Internal),
    ("malloc_info", HeapFn::Internal),
    ("mallopt", HeapFn::Internal),
];

impl HeapFn {
    /// The size a successful call allocated, from its arguments.
    pub(crate) fn size(self, args: &[u64; 6]) -> u64 {
        match self {
            HeapFn::Alloc { size } => args[size],
            HeapFn::Calloc => args[0].saturating_mul(args[1]),
            HeapFn::Realloc => args[1],
            HeapFn::PosixMemalign => args[2],
            HeapFn::Free | HeapFn::Internal => 0,
        }
    }
}

/// One live heap block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) start: u64,
    pub(crate) size: u64,
    /// The allocation's site (the allocation function and its callers).
    pub(crate) site: u32,
    pub(crate) thread: u32,
}

impl Block {
    fn end(&self) -> u64 {
        self.start.saturating_add(self.size.max(1))
    }
}

/// The live heap blocks.
#[derive(Default)]
pub(crate) struct Heap {
    blocks: BTreeMap<u64, Block>,
}

impl Heap {
    /// Records a new block; returns the blocks it displaced (their bytes
    /// were handed out again, so their history must go too).
    pub(crate) fn alloc(&mut self, block: Block) -> Vec<Block> {
        let mut gone = Vec::new();
        while let Some(old) = self.find(block.start).or_else(|| {
            self.blocks
                .range(block.start..block.end())
                .next()
                .map(|(_, b)| *b)
        }) {
            self.blocks.remove(&old.start);
            gone.push(old);
        }
        self.blocks.insert(block.start, block);
        gone
    }

    /// Removes the block starting at `start`.
    pub(crate) fn free(&mut self, start: u64) -> Option<Block> {
        self.blocks.remove(&start)
    }

    /// The block holding `addr`.
    pub(crate) fn find(&self, addr: u64) -> Option<Block> {
        let (_, b) = self.blocks.range(..=addr).next_back()?;
        (addr < b.end()).then_some(*b)
    }

    /// Forgets the blocks inside `[start, start + len)` (an unmapped range).
    pub(crate) fn forget_range(&mut self, start: u64, len: u64) {
        let end = start.saturating_add(len);
        let inside: Vec<u64> = self.blocks.range(start..end).map(|(&k, _)| k).collect();
        for k in inside {
            self.blocks.remove(&k);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: u64, size: u64) -> Block {
        Block {
            start,
            size,
            site: 0,
            thread: 1,
        }
    }

    #[test]
    fn finds_the_block_holding_an_address() {
        let mut h = Heap::default();
        h.alloc(block(0x1000, 64));
        h.alloc(block(0x2000, 0));
        assert_eq!(h.find(0x1000).map(|b| b.start), Some(0x1000));
        assert_eq!(h.find(0x103f).map(|b| b.start), Some(0x1000));
        assert_eq!(h.find(0x1040), None);
        assert_eq!(h.find(0xfff), None);
        assert_eq!(h.find(0x2000).map(|b| b.size), Some(0));
        assert_eq!(h.free(0x1000).map(|b| b.size), Some(64));
        assert_eq!(h.find(0x1010), None);
        assert_eq!(h.free(0x1000), None);
    }

    #[test]
    fn an_allocation_displaces_overlapping_blocks() {
        let mut h = Heap::default();
        h.alloc(block(0x1000, 64));
        h.alloc(block(0x1040, 64));
        let gone = h.alloc(block(0x1020, 64));
        assert_eq!(gone.len(), 2);
        assert_eq!(h.len(), 1);
        h.forget_range(0x1000, 0x100);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn sizes_come_from_the_right_argument() {
        let args = [3, 5, 7, 0, 0, 0];
        assert_eq!(HeapFn::Alloc { size: 0 }.size(&args), 3);
        assert_eq!(HeapFn::Alloc { size: 1 }.size(&args), 5);
        assert_eq!(HeapFn::Calloc.size(&args), 15);
        assert_eq!(HeapFn::Calloc.size(&[u64::MAX, 2, 0, 0, 0, 0]), u64::MAX);
        assert_eq!(HeapFn::Realloc.size(&args), 5);
        assert_eq!(HeapFn::PosixMemalign.size(&args), 7);
    }
}
