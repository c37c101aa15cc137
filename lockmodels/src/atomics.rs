//! The atomics model (ARCHITECTURE.md decision 12b): which plain x86
//! instructions are atomic operations in disguise (papers/lockmodels.md,
//! "Atomics").
//!
//! On x86-64 C11 atomic loads (any order) and release or relaxed stores are
//! plain `mov`s: nothing in the instruction says it is atomic. A location
//! the program also accesses with a LOCK-prefixed instruction or `xchg`, or
//! stores to with a `mov` followed by `mfence` (GCC's seq_cst store), is
//! evidently an atomic variable: it is *learned*, with the size of that
//! access, and from then on a plain load of it with that size is an acquire
//! load and a plain store a release store (x86 loads and stores have those
//! orders in hardware). A plain access of another size is not atomic
//! (mixed-size accesses race), and neither is a plain read-modify-write
//! (`add [m], 1` without LOCK: the race tool keeps those plain).
//!
//! A lock model may also *declare* a word atomic, whatever size it is
//! accessed with (`pthread_once_t`, a futex word), and so does a load in a
//! spin loop (dbi's `MemAccess::spin_read`: a block that only reads and
//! branches back to itself waits for another thread's store).
//!
//! What x86 cannot say: a relaxed load or store is taken as acquire or
//! release (the same `mov`), and a plain read of a word other code updates
//! with LOCK instructions is taken as an atomic load, not a racy read.
//! Accesses made before a location is learned were plain when the engine
//! saw them; the race tool withdraws the races between them and the first
//! atomic accesses (race/mod.rs, `withdrawn`). README lists the limits.
//!
//! # Invariants
//! - `learned` maps the start address of every atomic location seen since
//!   its bytes were last forgotten (freed or unmapped) to its size (0: any
//!   size, for declared words); `ordered` holds the same addresses, for
//!   forgetting a range, the hash map answers lookups.
//! - A bit of `filter` is set for every address in `learned` (bits are
//!   never cleared, so a forgotten location costs a map lookup, never a
//!   wrong answer): `is_atomic` answers from the filter alone for almost
//!   every plain access, which is the hot path.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

/// Bits of each filter (128 KiB): QEMU learns thousands of atomic words,
/// which filled a 64 Ki-bit filter (perf, 2026-11-25).
const FILTER_BITS: usize = 1 << 20;

type AddrMap = FxHashMap<u64, u32>;

/// The size `declare` records: any access size is atomic.
const ANY_SIZE: u32 = 0;

/// Locations known to be atomic variables.
pub struct AtomicLocations {
    filter: Vec<u64>,
    learned: AddrMap,
    /// Every learned address, in order, for `forget_range`.
    ordered: BTreeSet<u64>,
}

impl Default for AtomicLocations {
    fn default() -> Self {
        AtomicLocations {
            filter: vec![0; FILTER_BITS / 64],
            learned: AddrMap::default(),
            ordered: BTreeSet::new(),
        }
    }
}

/// The filter bit of `addr`: its 8-byte granule's, direct-mapped (an
/// 8 MiB window), so that neighbouring accesses read the same filter word.
/// (A multiplicative hash spread them over the whole 128 KiB, a cache miss
/// on most of pigz's plain accesses: a quarter of the race tool's
/// per-access loop in `perf`, 2026-12-03.)
#[inline]
fn bit(addr: u64) -> (usize, u64) {
    let h = (addr >> 3) as usize & (FILTER_BITS - 1);
    (h / 64, 1 << (h % 64))
}

impl AtomicLocations {
    /// An atomic access of `size` bytes started at `addr` (LOCK prefix,
    /// `xchg`, a store fenced by `mfence`). A location keeps the size it
    /// was first learned with. True if it was not known before.
    pub fn learn(&mut self, addr: u64, size: u32) -> bool {
        let (word, mask) = bit(addr);
        if self.filter[word] & mask == 0 || !self.learned.contains_key(&addr) {
            self.filter[word] |= mask;
            self.learned.insert(addr, size);
            self.ordered.insert(addr);
            return true;
        }
        false
    }

    /// A lock model says the word at `addr` is an atomic variable,
    /// whatever size its accesses have. True if it was not known before.
    pub fn declare(&mut self, addr: u64) -> bool {
        let (word, mask) = bit(addr);
        self.filter[word] |= mask;
        self.ordered.insert(addr);
        self.learned.insert(addr, ANY_SIZE).is_none()
    }

    /// Whether a plain load or store of `size` bytes at `addr` is an
    /// acquire load or release store of an atomic variable.
    #[inline]
    pub fn is_atomic(&self, addr: u64, size: u32) -> bool {
        let (word, mask) = bit(addr);
        self.filter[word] & mask != 0
            && self
                .learned
                .get(&addr)
                .is_some_and(|&s| s == ANY_SIZE || s == size)
    }

    /// The size the location at `addr` was learned with (`Some(0)` for a
    /// declared word), if it is one.
    #[inline]
    pub fn size_at(&self, addr: u64) -> Option<u32> {
        let (word, mask) = bit(addr);
        if self.filter[word] & mask == 0 {
            return None;
        }
        self.learned.get(&addr).copied()
    }

    /// The bytes `[start, start + len)` were freed or unmapped.
    pub fn forget_range(&mut self, start: u64, len: u64) {
        let end = start.saturating_add(len);
        let gone: Vec<u64> = self.ordered.range(start..end).copied().collect();
        for a in gone {
            self.ordered.remove(&a);
            self.learned.remove(&a);
        }
    }

    pub fn len(&self) -> usize {
        self.learned.len()
    }

    pub fn is_empty(&self) -> bool {
        self.learned.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::AtomicLocations;

    #[test]
    fn learns_locations_and_forgets_freed_ones() {
        let mut a = AtomicLocations::default();
        assert!(!a.is_atomic(0x1000, 4));
        a.learn(0x1000, 4);
        a.learn(0x1000, 4);
        a.learn(0x2008, 8);
        assert!(a.is_atomic(0x1000, 4) && a.is_atomic(0x2008, 8));
        assert!(!a.is_atomic(0x1004, 4), "only the start address is learned");
        assert!(
            !a.is_atomic(0x1000 + (8 << 20), 4),
            "a granule that shares the filter bit is looked up, not taken"
        );
        assert_eq!(a.len(), 2);
        a.forget_range(0x1000, 0x1000);
        assert!(!a.is_atomic(0x1000, 4));
        assert!(a.is_atomic(0x2008, 8));
        a.learn(0x1000, 4);
        assert!(a.is_atomic(0x1000, 4));
        a.declare(0x3000);
        assert!(a.is_atomic(0x3000, 4) && a.is_atomic(0x3000, 1));
        assert_eq!(a.size_at(0x3000), Some(0));
        a.forget_range(0x3000, 4);
        assert!(!a.is_atomic(0x3000, 4));
        assert_eq!(a.size_at(0x3000), None);
    }

    #[test]
    fn a_learned_location_is_atomic_only_at_its_size() {
        let mut a = AtomicLocations::default();
        a.learn(0x1000, 4);
        a.learn(0x1000, 8);
        assert!(a.is_atomic(0x1000, 4));
        assert!(!a.is_atomic(0x1000, 8), "mixed-size accesses stay plain");
        assert!(!a.is_atomic(0x1000, 1));
        assert_eq!(a.size_at(0x1000), Some(4));
    }

    #[test]
    fn filter_collisions_do_not_make_locations_atomic() {
        let mut a = AtomicLocations::default();
        for i in 0..100_000u64 {
            a.learn(i * 64, 8);
        }
        for i in 0..100_000u64 {
            assert!(!a.is_atomic(i * 64 + 8, 8));
        }
    }
}
