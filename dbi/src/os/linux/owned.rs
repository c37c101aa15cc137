//! The address ranges hbgrind owns, out of the guest's reach (after
//! Valgrind's address-space manager refusing client calls on its segments;
//! papers/reliability.md).
//!
//! Every mapping the runtime makes goes through `mem` (`map_anon`,
//! `map_aligned_with_guard`, `map_code_near`), which records it here, and
//! `mem::unmap` forgets it; `note_runtime_image` adds the runtime library's
//! own mappings. A guest `munmap`, `mprotect`, `pkey_mprotect`, `mremap`,
//! destructive `madvise` or `mmap(MAP_FIXED)` touching any of them fails
//! (`refuse`) with the error Valgrind gives: `EINVAL` for `munmap`,
//! `mremap` and `mmap`, `ENOMEM` for `mprotect` and `madvise` (as for
//! memory that is not mapped).
//!
//! # Invariants
//! - `RangeSet::ranges[..len]` is sorted by start, each range non-empty,
//!   and no two overlap or touch (touching ranges are merged by `insert`).
//! - The set never allocates: it is a fixed array in the library's `.bss`,
//!   so the allocator may record its chunks while holding its own lock.

use std::sync::Mutex;

/// Room for this many separate ranges (16 bytes each: 1 MiB of `.bss`,
/// touched only as far as used). Adjacent mappings merge, so a long run
/// needs a few hundred; beyond the room a new mapping is left unguarded
/// (warned once).
const CAPACITY: usize = 1 << 16;

/// Sorted, disjoint, non-touching `[start, end)` ranges in a fixed array.
pub(crate) struct RangeSet<const N: usize> {
    ranges: [(u64, u64); N],
    len: usize,
    /// An insert found no room (warned once).
    full: bool,
}

impl<const N: usize> RangeSet<N> {
    pub(crate) const fn new() -> Self {
        RangeSet {
            ranges: [(0, 0); N],
            len: 0,
            full: false,
        }
    }

    fn live(&self) -> &[(u64, u64)] {
        &self.ranges[..self.len]
    }

    /// Replaces `ranges[from..to]` with `with`; false when there is no room.
    fn splice(&mut self, from: usize, to: usize, with: &[(u64, u64)]) -> bool {
        let new_len = self.len - (to - from) + with.len();
        if new_len > N {
            return false;
        }
        self.ranges.copy_within(to..self.len, from + with.len());
        self.ranges[from..from + with.len()].copy_from_slice(with);
        self.len = new_len;
        true
    }

    /// Adds `[start, end)`, merged with the ranges it overlaps or touches.
    pub(crate) fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let from = self.live().partition_point(|r| r.1 < start);
        let to = self.live().partition_point(|r| r.0 <= end);
        let (mut s, mut e) = (start, end);
        if from < to {
            s = s.min(self.ranges[from].0);
            e = e.max(self.ranges[to - 1].1);
        }
        if !self.splice(from, to, &[(s, e)]) && !self.full {
            self.full = true;
            tracing::warn!(
                start,
                end,
                "too many runtime mappings to guard; newer ones are not protected"
            );
        }
    }

    /// Takes `[start, end)` out, splitting a range it cuts in two.
    pub(crate) fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let from = self.live().partition_point(|r| r.1 <= start);
        let to = self.live().partition_point(|r| r.0 < end);
        if from >= to {
            return;
        }
        let mut keep = [(0, 0); 2];
        let mut n = 0;
        if self.ranges[from].0 < start {
            keep[n] = (self.ranges[from].0, start);
            n += 1;
        }
        if self.ranges[to - 1].1 > end {
            keep[n] = (end, self.ranges[to - 1].1);
            n += 1;
        }
        // Removing never needs more room than it frees, except when it
        // splits one range in two: then drop the right piece if full.
        if !self.splice(from, to, &keep[..n]) {
            self.splice(from, to, &keep[..1]);
        }
    }

    /// Whether any of `[start, end)` is in the set.
    pub(crate) fn overlaps(&self, start: u64, end: u64) -> bool {
        let i = self.live().partition_point(|r| r.1 <= start);
        start < end && i < self.len && self.ranges[i].0 < end
    }

    /// The parts of `[start, end)` outside the set, in order.
    pub(crate) fn outside(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = start;
        let from = self.live().partition_point(|r| r.1 <= start);
        for &(s, e) in &self.live()[from..] {
            if s >= end {
                break;
            }
            if s > at {
                out.push((at, s));
            }
            at = at.max(e);
        }
        if at < end {
            out.push((at, end));
        }
        out
    }
}

static OWNED: Mutex<RangeSet<CAPACITY>> = Mutex::new(RangeSet::new());

fn with_set<R>(f: impl FnOnce(&mut RangeSet<CAPACITY>) -> R) -> R {
    let mut g = OWNED.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut g)
}

/// Records `[start, start + len)` as the runtime's.
pub(crate) fn add(start: u64, len: u64) {
    with_set(|s| s.insert(start, start.saturating_add(len)));
}

/// Forgets `[start, start + len)` (the runtime unmapped it).
pub(crate) fn forget(start: u64, len: u64) {
    with_set(|s| s.remove(start, start.saturating_add(len)));
}

/// Whether any page of `[start, start + len)` is the runtime's.
fn is_owned(start: u64, len: u64) -> bool {
    let page = |a: u64| a & !0xfff;
    let end = start.saturating_add(len).saturating_add(0xfff) & !0xfff;
    with_set(|s| s.overlaps(page(start), end))
}

/// The parts of `[start, end)` that are not the runtime's.
pub(crate) fn guest_parts(start: u64, end: u64) -> Vec<(u64, u64)> {
    with_set(|s| s.outside(start, end))
}

/// Runs `f`, then records as the runtime's every mapping that appeared
/// meanwhile (a library of the runtime's that maps files itself: the
/// symbolizer's debug-information loader). Only for code that runs while
/// no guest code does (under the big lock), so nothing new is the guest's.
pub fn own_mappings_made_by<R>(f: impl FnOnce() -> R) -> R {
    let before = mapping_ranges();
    let r = f();
    for range in mapping_ranges() {
        if before.binary_search(&range).is_err() {
            add(range.0, range.1 - range.0);
        }
    }
    r
}

/// The `[start, end)` of every mapping, sorted.
fn mapping_ranges() -> Vec<(u64, u64)> {
    let text = super::read_maps();
    let mut out: Vec<(u64, u64)> = super::maps_lines(&text).map(|m| (m.start, m.end)).collect();
    out.sort_unstable();
    out
}

/// Records the mappings of the file that holds this code (the runtime
/// library, or the test binary), and the anonymous `.bss` tail right after
/// them, as the runtime's.
pub fn note_runtime_image() {
    let here = note_runtime_image as *const () as u64;
    let text = super::read_maps();
    let maps: Vec<super::MapsLine> = super::maps_lines(&text).collect();
    let Some(path) = maps
        .iter()
        .find(|m| m.start <= here && here < m.end && m.name.starts_with('/'))
        .map(|m| m.name)
    else {
        return;
    };
    // The end of our last writable file mapping (the data segment), which
    // ld.so follows with the anonymous rest of `.bss`.
    let mut data_end = None;
    for m in &maps {
        let writable = m.perms.contains('w');
        if m.name == path {
            add(m.start, m.end - m.start);
            data_end = writable.then_some(m.end);
        } else if m.name.is_empty() && writable && data_end == Some(m.start) {
            add(m.start, m.end - m.start);
            data_end = None;
        }
    }
}

const EINVAL: i64 = 22;
const ENOMEM: i64 = 12;
const MAP_FIXED: u64 = 0x10;
const MREMAP_FIXED: u64 = 2;

/// The error a guest memory call gets when it would touch the runtime's
/// memory (module docs), or `None` to run it.
pub(crate) fn refuse(nr: u64, args: &[u64; 6]) -> Option<i64> {
    let (hit, err) = match nr {
        // mmap(addr, len, prot, flags, ...) with MAP_FIXED.
        9 if args[3] & MAP_FIXED != 0 => (is_owned(args[0], args[1]), EINVAL),
        // mprotect, pkey_mprotect
        10 | 329 => (is_owned(args[0], args[1]), ENOMEM),
        // munmap
        11 => (is_owned(args[0], args[1]), EINVAL),
        // mremap(old, old_len, new_len, flags, new)
        25 => {
            let fixed = args[3] & MREMAP_FIXED != 0 && is_owned(args[4], args[2]);
            (fixed || is_owned(args[0], args[1].max(1)), EINVAL)
        }
        // madvise: the advice that drops or hides contents (DONTNEED, FREE,
        // REMOVE, DONTFORK, WIPEONFORK, GUARD_INSTALL).
        28 if matches!(args[2], 4 | 8 | 9 | 10 | 18 | 102) => (is_owned(args[0], args[1]), ENOMEM),
        _ => return None,
    };
    hit.then_some(-err)
}

#[cfg(test)]
mod tests {
    use super::RangeSet;

    fn ranges<const N: usize>(s: &RangeSet<N>) -> Vec<(u64, u64)> {
        s.live().to_vec()
    }

    #[test]
    fn inserts_merge_and_removes_split() {
        let mut s = RangeSet::<8>::new();
        s.insert(0x3000, 0x4000);
        s.insert(0x1000, 0x2000);
        s.insert(0x2000, 0x3000); // touches both: one range
        assert_eq!(ranges(&s), [(0x1000, 0x4000)]);
        s.insert(0x8000, 0x9000);
        assert!(s.overlaps(0x3fff, 0x5000));
        assert!(!s.overlaps(0x4000, 0x8000));
        assert!(s.overlaps(0, u64::MAX));
        s.remove(0x2000, 0x3000);
        assert_eq!(
            ranges(&s),
            [(0x1000, 0x2000), (0x3000, 0x4000), (0x8000, 0x9000)]
        );
        s.remove(0x1800, 0x8800);
        assert_eq!(ranges(&s), [(0x1000, 0x1800), (0x8800, 0x9000)]);
        s.remove(0, u64::MAX);
        assert_eq!(ranges(&s), []);
        assert!(!s.overlaps(0, u64::MAX));
    }

    #[test]
    fn runtime_mappings_are_refused_to_the_guest() {
        let len = 3 * 4096;
        let p = crate::os::linux::mem::map_anon(len).expect("mmap") as u64;
        let l = len as u64;
        assert_eq!(super::refuse(11, &[p + 4096, 1, 0, 0, 0, 0]), Some(-22));
        assert_eq!(super::refuse(10, &[p, l, 0, 0, 0, 0]), Some(-12));
        assert_eq!(super::refuse(28, &[p, l, 4, 0, 0, 0]), Some(-12));
        assert_eq!(super::refuse(28, &[p, l, 3, 0, 0, 0]), None); // WILLNEED
        assert_eq!(
            super::refuse(9, &[p - 4096, 8192, 3, 0x32, 0, 0]),
            Some(-22)
        );
        assert_eq!(super::refuse(9, &[p, l, 3, 0x22, 0, 0]), None); // a hint only
        assert_eq!(super::refuse(25, &[p, l, 2 * l, 1, 0, 0]), Some(-22));
        assert_eq!(super::refuse(11, &[p + l, 4096, 0, 0, 0, 0]), None);
        // SAFETY:
        // - `p` is the mapping made above; nothing uses it.
        unsafe { crate::os::linux::mem::unmap(p as *mut u8, len) };
        assert_eq!(super::refuse(11, &[p, l, 0, 0, 0, 0]), None);
    }

    #[test]
    fn outside_gives_the_gaps_in_order() {
        let mut s = RangeSet::<8>::new();
        s.insert(0x2000, 0x3000);
        s.insert(0x5000, 0x6000);
        assert_eq!(
            s.outside(0x1000, 0x7000),
            [(0x1000, 0x2000), (0x3000, 0x5000), (0x6000, 0x7000)]
        );
        assert_eq!(s.outside(0x2000, 0x3000), []);
        assert_eq!(s.outside(0x2800, 0x5800), [(0x3000, 0x5000)]);
        assert_eq!(s.outside(0x8000, 0x9000), [(0x8000, 0x9000)]);
    }

    #[test]
    fn a_full_set_keeps_what_it_has() {
        let mut s = RangeSet::<2>::new();
        s.insert(0x1000, 0x2000);
        s.insert(0x5000, 0x6000);
        s.insert(0x9000, 0xa000); // no room: not guarded
        assert_eq!(ranges(&s), [(0x1000, 0x2000), (0x5000, 0x6000)]);
        s.remove(0x1400, 0x1800); // a split with no room drops the right piece
        assert_eq!(ranges(&s), [(0x1000, 0x1400), (0x5000, 0x6000)]);
    }
}
