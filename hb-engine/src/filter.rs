//! The same-epoch access filter: a per-thread direct-mapped cache of the
//! granules a thread already accessed since the engine's last
//! synchronisation event, so repeated accesses skip the shadow memory.
//!
//! An access is redundant when the same thread already made an access of
//! at least the same strength (a write covers reads and writes, a read
//! covers reads) to a superset of its bytes, and in between the thread made
//! no synchronisation event of its own and nobody made a range operation or
//! completed a barrier (the generation `gen` is unchanged: the engine's
//! global one in the high half, the thread's own in the low half). Other
//! threads' synchronisation cannot change this thread's clock or lockset. Such an access cannot reveal a race the earlier
//! one did not: any access of another thread that conflicts with it
//! conflicts with the earlier one on the same bytes, and is unordered with
//! it too, because the thread's clock and lockset have not changed
//! (FastTrack's "same epoch" rule, applied before the shadow lookup).
//! The shadow keeps the earlier access's site.
//!
//! # Invariants
//! - An entry is valid only while its `gen` equals the engine's.
//! - `read` and `write` masks only grow while an entry is valid.
//! - Only plain accesses inside one 8-byte granule go through the filter.

const ENTRIES: usize = 1024;

#[derive(Clone, Copy, Default)]
struct Slot {
    granule: u64,
    gen: u64,
    read: u8,
    write: u8,
}

/// One thread's filter.
pub(crate) struct AccessFilter {
    slots: Box<[Slot; ENTRIES]>,
}

impl Default for AccessFilter {
    fn default() -> Self {
        AccessFilter {
            slots: Box::new([Slot::default(); ENTRIES]),
        }
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

impl AccessFilter {
    /// Whether the access is redundant under generation `gen`.
    #[inline]
    pub(crate) fn covers(&self, granule: u64, mask: u8, write: bool, gen: u64) -> bool {
        let s = &self.slots[granule as usize % ENTRIES];
        if s.granule != granule || s.gen != gen {
            return false;
        }
        let have = if write { s.write } else { s.read | s.write };
        have & mask == mask
    }

    /// Remembers an access that went through the shadow memory.
    #[inline]
    pub(crate) fn insert(&mut self, granule: u64, mask: u8, write: bool, gen: u64) {
        let s = &mut self.slots[granule as usize % ENTRIES];
        if s.granule != granule || s.gen != gen {
            *s = Slot {
                granule,
                gen,
                read: 0,
                write: 0,
            };
        }
        if write {
            s.write |= mask;
        } else {
            s.read |= mask;
        }
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
    fn writes_cover_reads_not_the_reverse_and_generations_expire() {
        let mut f = AccessFilter::default();
        f.insert(0x200, 0x0f, false, 1);
        assert!(f.covers(0x200, 0x03, false, 1));
        assert!(!f.covers(0x200, 0x03, true, 1));
        assert!(!f.covers(0x200, 0x30, false, 1));
        f.insert(0x200, 0xff, true, 1);
        assert!(f.covers(0x200, 0xff, false, 1));
        assert!(f.covers(0x200, 0xff, true, 1));
        assert!(!f.covers(0x200, 0xff, true, 2));
        // A colliding granule evicts.
        f.insert(0x200 + ENTRIES as u64, 0x01, false, 1);
        assert!(!f.covers(0x200, 0x01, false, 1));
    }
}
