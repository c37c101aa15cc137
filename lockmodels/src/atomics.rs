//! The atomics model, first rule (ARCHITECTURE.md decision 12b): which
//! plain x86 instructions are atomic operations in disguise.
//!
//! On x86-64 a C11 `memory_order_release` store (and a relaxed one) is a
//! plain `mov`: nothing in the instruction says it publishes. A location
//! the program has also accessed with a LOCK-prefixed instruction or `xchg`
//! is evidently an atomic variable, and a plain *store* to it is taken as a
//! release store: the unlock of a hand-written spin lock
//! (`__atomic_store_n(&lock, 0, __ATOMIC_RELEASE)` after a CAS acquire).
//!
//! A lock model may also *declare* a word atomic (`pthread_once_t`), and so
//! does a load in a spin loop (dbi's `MemAccess::spin_read`: a block that
//! only reads and branches back to itself waits for another thread's
//! store): then its plain loads are acquire loads too (`is_acquire_load`).
//! A flag stored before anyone spun on it was a plain store, so such a
//! handoff is ordered only when the waiter starts first.
//!
//! Plain *loads* of merely learned locations stay plain: `atomic_load_explicit(.., acquire)` and a racy
//! plain read of an atomically updated counter are the same `mov`, and
//! calling both an acquire would hide the second kind of race. Locations
//! never touched by a LOCK instruction (flags written and read only with
//! `mov`) are not learned either. papers/race-tool.md lists what this
//! misses.
//!
//! # Invariants
//! - `learned` holds the start addresses of every LOCK/xchg access seen
//!   since the bytes were last forgotten (freed or unmapped); `ordered`
//!   holds the same addresses (and `declared` a subset) for forgetting a
//!   range, the hash sets answer lookups.
//! - A bit of `filter` is set for every address in `learned` (bits are
//!   never cleared, so a forgotten location costs a set lookup, never a
//!   wrong answer): `is_atomic` answers from the filter alone for almost
//!   every plain store, which is the hot path.

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Bits of each filter (128 KiB): QEMU learns thousands of atomic words,
/// which filled a 64 Ki-bit filter (perf, 2026-11-25).
const FILTER_BITS: usize = 1 << 20;
const FILTER_SHIFT: u32 = 64 - FILTER_BITS.trailing_zeros();

/// splitmix64's finaliser: addresses in, well-spread bits out.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

type AddrSet = HashSet<u64, BuildHasherDefault<AddrHasher>>;

/// Locations known to be atomic variables.
pub struct AtomicLocations {
    filter: Vec<u64>,
    learned: AddrSet,
    /// Every learned address, in order, for `forget_range`.
    ordered: BTreeSet<u64>,
    /// Filter and set of the declared words (loads acquire too).
    declared_filter: Vec<u64>,
    declared: AddrSet,
}

impl Default for AtomicLocations {
    fn default() -> Self {
        AtomicLocations {
            filter: vec![0; FILTER_BITS / 64],
            learned: AddrSet::default(),
            ordered: BTreeSet::new(),
            declared_filter: vec![0; FILTER_BITS / 64],
            declared: AddrSet::default(),
        }
    }
}

#[inline]
fn bit(addr: u64) -> (usize, u64) {
    let h = (addr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> FILTER_SHIFT) as usize;
    (h / 64, 1 << (h % 64))
}

impl AtomicLocations {
    /// A LOCK-prefixed or `xchg` access started at `addr`.
    pub fn learn(&mut self, addr: u64) {
        let (word, mask) = bit(addr);
        if self.filter[word] & mask == 0 || !self.learned.contains(&addr) {
            self.filter[word] |= mask;
            self.learned.insert(addr);
            self.ordered.insert(addr);
        }
    }

    /// A lock model says the word at `addr` is an atomic variable.
    pub fn declare(&mut self, addr: u64) {
        let (word, mask) = bit(addr);
        self.declared_filter[word] |= mask;
        self.filter[word] |= mask;
        self.learned.insert(addr);
        self.ordered.insert(addr);
        self.declared.insert(addr);
    }

    /// Whether a plain store at `addr` is a release store to an atomic variable.
    #[inline]
    pub fn is_atomic(&self, addr: u64) -> bool {
        let (word, mask) = bit(addr);
        self.filter[word] & mask != 0 && self.learned.contains(&addr)
    }

    /// Whether a plain load at `addr` is an acquire load (a declared word).
    #[inline]
    pub fn is_acquire_load(&self, addr: u64) -> bool {
        let (word, mask) = bit(addr);
        self.declared_filter[word] & mask != 0 && self.declared.contains(&addr)
    }

    /// The bytes `[start, start + len)` were freed or unmapped.
    pub fn forget_range(&mut self, start: u64, len: u64) {
        let end = start.saturating_add(len);
        let gone: Vec<u64> = self.ordered.range(start..end).copied().collect();
        for a in gone {
            self.ordered.remove(&a);
            self.learned.remove(&a);
            self.declared.remove(&a);
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
        assert!(!a.is_atomic(0x1000));
        a.learn(0x1000);
        a.learn(0x1000);
        a.learn(0x2008);
        assert!(a.is_atomic(0x1000) && a.is_atomic(0x2008));
        assert!(!a.is_atomic(0x1004), "only the start address is learned");
        assert_eq!(a.len(), 2);
        a.forget_range(0x1000, 0x1000);
        assert!(!a.is_atomic(0x1000));
        assert!(a.is_atomic(0x2008));
        a.learn(0x1000);
        assert!(a.is_atomic(0x1000));
        assert!(!a.is_acquire_load(0x1000), "learned words load plainly");
        a.declare(0x3000);
        assert!(a.is_atomic(0x3000) && a.is_acquire_load(0x3000));
        a.forget_range(0x3000, 4);
        assert!(!a.is_atomic(0x3000) && !a.is_acquire_load(0x3000));
    }

    #[test]
    fn filter_collisions_do_not_make_locations_atomic() {
        let mut a = AtomicLocations::default();
        for i in 0..100_000u64 {
            a.learn(i * 64);
        }
        for i in 0..100_000u64 {
            assert!(!a.is_atomic(i * 64 + 8));
        }
    }
}
