//! The same-epoch access filter: one direct-mapped table, shared by all
//! threads, of the granules each thread already accessed since its last
//! synchronisation event, so repeated accesses skip the shadow memory.
//!
//! An access is redundant when the same thread already made an access of
//! at least the same strength (a write covers reads and writes, a read
//! covers reads) to a superset of its bytes, and in between the thread made
//! no synchronisation event of its own and nobody reset, cleaned or
//! ignored those bytes. Other threads' synchronisation cannot change this
//! thread's clock or lockset. Such an access cannot reveal a race the
//! earlier one did not: any access of another thread that conflicts with
//! it conflicts with the earlier one on the same bytes, and is unordered
//! with it too, because the thread's clock and lockset have not changed
//! (FastTrack's "same epoch" rule, applied before the shadow lookup). The
//! shadow keeps the earlier access's site.
//!
//! # Layout
//! A slot is two words: the granule number (address / 8) and
//! `tag << 16 | write mask << 8 | read mask`. A slot answers only for its
//! own granule, so two granules that map to one slot evict each other and
//! a hit is never wrong. The table is `2^k` slots, indexed by the low bits
//! of the granule number; it is allocated zeroed, so untouched parts cost
//! no memory (the runtime's allocator maps large blocks fresh).
//!
//! # Tags
//! A tag names one thread in one epoch of its own clock: the engine hands
//! out tags from one counter; a tick of the thread's own clock (a release,
//! a thread create, a barrier: `ThreadState::tick`) sets its tag to 0, and
//! its next checked access takes a fresh one. A tag is never handed out
//! twice (48 bits), and tag 0 is never handed out, so an empty slot, or a
//! thread between a tick and its next access, matches nothing.
//!
//! An acquire (a lock, a join, an acquire load) keeps the tag, although it
//! grows the thread's clock and may change its lockset: a repeat after it
//! is still dropped. That is FastTrack's same-epoch rule, and what the
//! shadow itself does (`AccessCtx::is_duplicate_of` compares only the
//! thread's own epoch): anything unordered with the repeat is unordered
//! with the access it repeats, whose entry (same thread, same epoch, at
//! least as strong) is still in the shadow, because no other thread can be
//! ordered after an epoch the thread has not released yet. Until
//! 2026-12-03 every synchronisation event took a fresh tag, which ended
//! the filter's epochs about twice as often as needed (a lock acquire and
//! its release each ended one).
//!
//! # Invariants
//! - A slot's masks only grow while its granule and tag stay the same.
//! - Range operations clear the slots of their granules (`forget`), or, for
//!   ranges larger than a quarter of the table, every live thread takes a
//!   fresh tag, which is the same as clearing the table.

/// Bits of a tag: the word's other 16 bits are the masks.
pub(crate) const TAG_BITS: u32 = 48;

/// The default table: 2^16 slots (1 MiB; 512 KiB of address space
/// without collisions).
pub(crate) const DEFAULT_SLOTS_LOG2: u32 = 16;

/// The shared filter table.
pub(crate) struct AccessFilter {
    /// Two words per slot: granule, tagged masks. Allocated once: it never
    /// moves (translated code reads it in place, `Engine::filter_table`).
    words: Box<[u64]>,
    mask: u64,
}

impl Default for AccessFilter {
    fn default() -> Self {
        AccessFilter::new(DEFAULT_SLOTS_LOG2)
    }
}

/// The granule and byte mask of an access inside one granule.
#[inline]
pub(crate) fn granule_mask(addr: u64, size: u64) -> Option<(u64, u8)> {
    let off = addr & 7;
    if size == 0 || off + size > 8 {
        return None;
    }
    let mask = (((1u16 << size) - 1) << off) as u8;
    Some((addr >> 3, mask))
}

/// The granules of `[addr, addr + size)` with the byte mask of each.
#[inline]
pub(crate) fn granules(addr: u64, size: u64) -> impl Iterator<Item = (u64, u8)> {
    let end = addr.saturating_add(size);
    let first = addr >> 3;
    let last = if size == 0 { first } else { (end - 1) >> 3 };
    let count = if size == 0 { 0 } else { last - first + 1 };
    (first..first + count).map(move |g| {
        let lo = if g == first { addr & 7 } else { 0 };
        let hi = if g == last { ((end - 1) & 7) + 1 } else { 8 };
        let mask = ((0xffu16 << lo) & (0xffu16 >> (8 - hi))) as u8;
        (g, mask)
    })
}

impl AccessFilter {
    /// A table of `2^slots_log2` slots (clamped to 4..=28).
    pub(crate) fn new(slots_log2: u32) -> AccessFilter {
        let log2 = slots_log2.clamp(4, 28);
        let slots = 1usize << log2;
        AccessFilter {
            words: vec![0; 2 * slots].into_boxed_slice(),
            mask: slots as u64 - 1,
        }
    }

    /// The table, two words per slot (see "Layout").
    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Slots in the table.
    pub(crate) fn slots(&self) -> u64 {
        self.mask + 1
    }

    #[inline]
    fn index(&self, granule: u64) -> usize {
        2 * (granule & self.mask) as usize
    }

    /// Whether the thread with `tag` already covered `mask` of `granule`.
    #[inline]
    pub(crate) fn covers_granule(&self, granule: u64, mask: u8, write: bool, tag: u64) -> bool {
        let i = self.index(granule);
        let word = self.words[i + 1];
        if self.words[i] != granule || word >> 16 != tag {
            return false;
        }
        let have = if write {
            (word >> 8) as u8
        } else {
            (word >> 8) as u8 | word as u8
        };
        have & mask == mask
    }

    /// Whether the thread with `tag` already covered every byte of the
    /// access.
    #[inline]
    pub(crate) fn covers(&self, addr: u64, size: u64, write: bool, tag: u64) -> bool {
        if let Some((granule, mask)) = granule_mask(addr, size) {
            return self.covers_granule(granule, mask, write, tag);
        }
        size != 0 && granules(addr, size).all(|(g, m)| self.covers_granule(g, m, write, tag))
    }

    /// Remembers an access of the thread with `tag` that went through the
    /// shadow memory.
    #[inline]
    pub(crate) fn insert(&mut self, addr: u64, size: u64, write: bool, tag: u64) {
        if let Some((granule, mask)) = granule_mask(addr, size) {
            self.insert_granule(granule, mask, write, tag);
        } else {
            for (g, m) in granules(addr, size) {
                self.insert_granule(g, m, write, tag);
            }
        }
    }

    #[inline]
    fn insert_granule(&mut self, granule: u64, mask: u8, write: bool, tag: u64) {
        let i = self.index(granule);
        let mut word = self.words[i + 1];
        if self.words[i] != granule || word >> 16 != tag {
            self.words[i] = granule;
            word = tag << 16;
        }
        word |= if write {
            u64::from(mask) << 8
        } else {
            u64::from(mask)
        };
        self.words[i + 1] = word;
    }

    /// Clears the slots of `[addr, addr + len)`. Returns false, clearing
    /// nothing, when the range is more than a quarter of the table: the
    /// caller then gives every live thread a fresh tag instead.
    pub(crate) fn forget(&mut self, addr: u64, len: u64) -> bool {
        if len == 0 {
            return true;
        }
        let first = addr >> 3;
        let last = (addr.saturating_add(len) - 1) >> 3;
        if last - first >= self.slots() / 4 {
            return false;
        }
        for g in first..=last {
            let i = self.index(g);
            if self.words[i] == g {
                self.words[i + 1] = 0;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_of_accesses_inside_a_granule() {
        assert_eq!(granule_mask(0x1000, 8), Some((0x200, 0xff)));
        assert_eq!(granule_mask(0x1003, 1), Some((0x200, 0x08)));
        assert_eq!(granule_mask(0x1006, 2), Some((0x200, 0xc0)));
        assert_eq!(granule_mask(0x1006, 4), None);
        assert_eq!(granule_mask(0x1000, 16), None);
        assert_eq!(granule_mask(0x1000, 0), None);
    }

    #[test]
    fn ranges_split_into_granules_with_partial_ends() {
        let all: Vec<_> = granules(0x1006, 12).collect();
        assert_eq!(all, vec![(0x200, 0xc0), (0x201, 0xff), (0x202, 0x03)]);
        assert_eq!(granules(0x1000, 8).collect::<Vec<_>>(), vec![(0x200, 0xff)]);
        assert_eq!(granules(0x1000, 0).count(), 0);
    }

    #[test]
    fn writes_cover_reads_not_the_reverse_and_tags_expire() {
        let mut f = AccessFilter::new(8);
        f.insert(0x1000, 4, false, 1);
        assert!(f.covers(0x1000, 2, false, 1));
        assert!(!f.covers(0x1000, 2, true, 1));
        assert!(!f.covers(0x1004, 2, false, 1));
        f.insert(0x1000, 8, true, 1);
        assert!(f.covers(0x1000, 8, false, 1));
        assert!(f.covers(0x1000, 8, true, 1));
        // Another thread's tag (or this thread's next epoch) sees nothing.
        assert!(!f.covers(0x1000, 8, true, 2));
        // A colliding granule evicts.
        f.insert(0x1000 + 8 * f.slots(), 1, false, 1);
        assert!(!f.covers(0x1000, 1, false, 1));
    }

    #[test]
    fn ranges_are_covered_granule_by_granule() {
        let mut f = AccessFilter::new(8);
        f.insert(0x2003, 30, true, 7);
        assert!(f.covers(0x2003, 30, false, 7));
        assert!(f.covers(0x2008, 16, true, 7));
        assert!(!f.covers(0x2002, 4, false, 7));
        assert!(!f.covers(0x2003, 31, false, 7));
        // A 64-bit tag's top bits do not leak into the masks.
        f.insert(0x3000, 8, false, (1 << TAG_BITS) - 1);
        assert!(f.covers(0x3000, 8, false, (1 << TAG_BITS) - 1));
    }

    #[test]
    fn forget_clears_a_range_and_refuses_huge_ones() {
        let mut f = AccessFilter::new(8);
        f.insert(0x4000, 64, true, 3);
        assert!(f.forget(0x4010, 16));
        assert!(f.covers(0x4000, 16, true, 3));
        assert!(!f.covers(0x4010, 8, false, 3));
        assert!(!f.covers(0x4018, 8, false, 3));
        assert!(f.covers(0x4020, 32, true, 3));
        assert!(!f.forget(0, 8 * f.slots()));
    }
}
