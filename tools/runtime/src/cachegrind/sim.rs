//! The simulated caches and branch predictor of `--tool=cachegrind`
//! (papers/cachegrind.md), with Valgrind's semantics so that the counts
//! agree with its Cachegrind on the same accesses:
//!
//! - a cache is set-associative with LRU replacement and write-allocate
//!   (a write that misses loads the line, like a read); the set of a line
//!   is its line number modulo the number of sets, its tag the whole line
//!   number;
//! - an access that straddles two lines is one reference, a miss when
//!   either line misses, and both lines are brought in;
//! - I1 and D1 misses go to one unified LL, with the same address and size;
//! - conditional branches: 16384 two-bit counters indexed by seven bits of
//!   global history and seven bits of the branch's address; indirect
//!   branches: 512 last-target entries indexed by the branch's address.
//!
//! # Invariants
//! - Each set holds `assoc` tags, most recently used first; a tag is a
//!   line number, 0 for "empty" (as in Valgrind: line 0 is never accessed).
//! - `Level::last` is a line that is most recently used in its set: only
//!   this level's own references touch it, so a reference to that line
//!   again is a hit that changes nothing and may be skipped.

use hbgrind_report::cachegrind::CacheConfig;

/// One level: tags of `sets` sets of `assoc` ways.
pub(crate) struct Level {
    tags: Vec<u64>,
    assoc: usize,
    set_mask: u64,
    line_bits: u32,
    /// The line referenced last (see the module invariants), or `u64::MAX`.
    last: u64,
}

impl Level {
    pub(crate) fn new(c: CacheConfig) -> Level {
        Level {
            tags: vec![0; (c.sets() * c.assoc) as usize],
            assoc: c.assoc as usize,
            set_mask: u64::from(c.sets() - 1),
            line_bits: c.line.trailing_zeros(),
            last: u64::MAX,
        }
    }

    /// References line `line`; true on a miss. LRU: the line becomes the
    /// first of its set, the others move down, the last falls out on a miss.
    #[inline(always)]
    fn touch(&mut self, line: u64) -> bool {
        let base = (line & self.set_mask) as usize * self.assoc;
        let set = &mut self.tags[base..base + self.assoc];
        if set[0] == line {
            return false;
        }
        match set.iter().position(|&t| t == line) {
            Some(i) => {
                set[..=i].rotate_right(1);
                false
            }
            None => {
                set.rotate_right(1);
                set[0] = line;
                true
            }
        }
    }

    /// References `size` bytes at `addr` (at most two lines); true on a miss.
    #[inline(always)]
    pub(crate) fn access(&mut self, addr: u64, size: u64) -> bool {
        let first = addr >> self.line_bits;
        let last = (addr + size.max(1) - 1) >> self.line_bits;
        if first == last {
            if first == self.last {
                return false;
            }
            self.last = first;
            return self.touch(first);
        }
        // Both lines are brought in whatever the first does.
        let a = self.touch(first);
        let b = self.touch(last);
        self.last = last;
        a | b
    }

    /// The line size in bytes.
    pub(crate) fn line(&self) -> u64 {
        1 << self.line_bits
    }
}

/// I1, D1 and the LL both miss into.
pub(crate) struct Hierarchy {
    pub(crate) i1: Level,
    pub(crate) d1: Level,
    pub(crate) ll: Level,
    /// The largest data reference simulated as one (Valgrind's smallest
    /// line size): bigger ones (`xsave`, `fxsave`) are cut to it.
    pub(crate) max_data: u64,
}

/// Misses of one reference: (first level, last level).
pub(crate) type Misses = (bool, bool);

impl Hierarchy {
    pub(crate) fn new(caches: [CacheConfig; 3]) -> Hierarchy {
        let [i1, d1, ll] = caches;
        Hierarchy {
            i1: Level::new(i1),
            d1: Level::new(d1),
            ll: Level::new(ll),
            max_data: u64::from(i1.line.min(d1.line).min(ll.line)),
        }
    }

    #[inline(always)]
    pub(crate) fn fetch(&mut self, pc: u64, len: u64) -> Misses {
        if !self.i1.access(pc, len) {
            return (false, false);
        }
        (true, self.ll.access(pc, len))
    }

    #[inline(always)]
    pub(crate) fn data(&mut self, addr: u64, size: u64) -> Misses {
        let size = size.min(self.max_data);
        if !self.d1.access(addr, size) {
            return (false, false);
        }
        (true, self.ll.access(addr, size))
    }
}

/// Valgrind's branch predictor (see the module docs).
pub(crate) struct BranchPredictor {
    counters: Vec<u8>,
    history: u64,
    targets: Vec<u64>,
}

const HISTORY_BITS: u32 = 7;
const ADDRESS_BITS: u32 = 7;
const TARGET_BITS: u32 = 9;

impl BranchPredictor {
    pub(crate) fn new() -> BranchPredictor {
        BranchPredictor {
            counters: vec![0; 1 << (HISTORY_BITS + ADDRESS_BITS)],
            history: 0,
            targets: vec![0; 1 << TARGET_BITS],
        }
    }

    /// The conditional branch at `pc` went `taken` or not: true if mispredicted.
    pub(crate) fn conditional(&mut self, pc: u64, taken: bool) -> bool {
        let hist = self.history & ((1 << HISTORY_BITS) - 1);
        let index = (hist << ADDRESS_BITS | (pc & ((1 << ADDRESS_BITS) - 1))) as usize;
        let counter = &mut self.counters[index];
        let mispredicted = (*counter >= 2) != taken;
        self.history = self.history << 1 | u64::from(taken);
        if taken {
            *counter = (*counter + 1).min(3);
        } else {
            *counter = counter.saturating_sub(1);
        }
        mispredicted
    }

    /// The indirect branch at `pc` went to `target`: true if mispredicted.
    pub(crate) fn indirect(&mut self, pc: u64, target: u64) -> bool {
        let slot = &mut self.targets[(pc & ((1 << TARGET_BITS) - 1)) as usize];
        let mispredicted = *slot != target;
        *slot = target;
        mispredicted
    }
}

/// The caches Valgrind 3.19 simulates on this CPU when no `--I1`, `--D1`
/// or `--LL` is given: its reading of `cpuid` (AMD: leaves 0x80000005 and
/// 0x80000006, the L3 for LL when there is one; Intel: the deterministic
/// leaf 4), then its adjustment of an LL whose number of sets is not a
/// power of two (more ways, fewer sets, about the same size).
pub(crate) fn default_caches() -> [CacheConfig; 3] {
    let fallback = [
        CacheConfig {
            size: 65536,
            assoc: 2,
            line: 64,
        },
        CacheConfig {
            size: 65536,
            assoc: 2,
            line: 64,
        },
        CacheConfig {
            size: 262144,
            assoc: 8,
            line: 64,
        },
    ];
    let Some([i1, d1, mut ll]) = detect() else {
        return fallback;
    };
    tweak_ll(&mut ll);
    if [i1, d1, ll].iter().all(|c| c.check().is_ok()) {
        [i1, d1, ll]
    } else {
        fallback
    }
}

fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    // A safe function (cpuid exists on every x86-64 CPU), as in dbi's enter.rs.
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// (I1, D1, LL) as `cpuid` describes them, or `None` for another vendor.
fn detect() -> Option<[CacheConfig; 3]> {
    let [max, b, c, d] = cpuid(0, 0);
    let vendor: Vec<u8> = [b, d, c].iter().flat_map(|r| r.to_le_bytes()).collect();
    match &vendor[..] {
        b"AuthenticAMD" => {
            let [ext, ..] = cpuid(0x8000_0000, 0);
            if ext < 0x8000_0006 {
                return None;
            }
            let [_, _, d1i, i1i] = cpuid(0x8000_0005, 0);
            let [_, _, l2i, l3i] = cpuid(0x8000_0006, 0);
            let l1 = |r: u32| CacheConfig {
                size: (r >> 24) * 1024,
                assoc: (r >> 16) & 0xff,
                line: r & 0xff,
            };
            let assoc = |bits: u32| match bits & 0xf {
                2 => 2,
                4 => 4,
                6 => 8,
                8 => 16,
                0xa => 32,
                0xb => 48,
                0xc => 64,
                0xd => 96,
                0xe => 128,
                _ => 1,
            };
            let l3_size = (l3i >> 18) & 0x3fff;
            let ll = if l3_size > 0 {
                CacheConfig {
                    size: l3_size * 512 * 1024,
                    assoc: assoc(l3i >> 12),
                    line: l3i & 0xff,
                }
            } else {
                CacheConfig {
                    size: (l2i >> 16) * 1024,
                    assoc: assoc(l2i >> 12),
                    line: l2i & 0xff,
                }
            };
            Some([l1(i1i), l1(d1i), ll])
        }
        b"GenuineIntel" if max >= 4 => {
            let (mut i1, mut d1, mut ll) = (None, None, None);
            let mut level_ll = 0;
            for sub in 0..16 {
                let [a, b, c, _] = cpuid(4, sub);
                let kind = a & 0x1f;
                if kind == 0 {
                    break;
                }
                let level = (a >> 5) & 7;
                let line = (b & 0xfff) + 1;
                let parts = ((b >> 12) & 0x3ff) + 1;
                let ways = (b >> 22) + 1;
                let sets = c + 1;
                let config = CacheConfig {
                    size: ways * parts * line * sets,
                    assoc: ways,
                    line,
                };
                match (kind, level) {
                    (1, 1) => d1 = Some(config),
                    (2, 1) => i1 = Some(config),
                    (3, l) if l >= level_ll => {
                        level_ll = l;
                        ll = Some(config);
                    }
                    _ => {}
                }
            }
            Some([i1?, d1?, ll?])
        }
        _ => None,
    }
}

/// Valgrind's `maybe_tweak_LLc`: a number of sets that is not a power of
/// two goes down to the power of two below, the ways up by the same factor.
fn tweak_ll(ll: &mut CacheConfig) {
    if ll.size == 0 || ll.assoc == 0 || ll.line == 0 {
        return;
    }
    let sets = ll.size / (ll.assoc * ll.line);
    if sets == 0 {
        return;
    }
    if sets.is_power_of_two() {
        ll.size = ll.line * ll.assoc * sets;
        return;
    }
    let new_sets = 1 << (31 - sets.leading_zeros());
    let factor = f64::from(sets) / f64::from(new_sets);
    ll.assoc = (0.5 + factor * f64::from(ll.assoc)) as u32;
    ll.size = ll.line * ll.assoc * new_sets;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(size: u32, assoc: u32, line: u32) -> Level {
        Level::new(CacheConfig { size, assoc, line })
    }

    #[test]
    fn lru_evicts_the_least_recently_used_way() {
        // 2 sets of 2 ways, 64-byte lines: lines 0, 2, 4 share set 0.
        let mut c = level(256, 2, 64);
        assert!(c.access(64 * 2, 4)); // miss, set 0: [2, 0]
        assert!(c.access(64 * 4, 4)); // miss, set 0: [4, 2]
        assert!(!c.access(64 * 2, 4)); // hit, set 0: [2, 4]
        assert!(c.access(64 * 6, 4)); // miss, evicts 4: [6, 2]
        assert!(!c.access(64 * 2 + 8, 8)); // hit
        assert!(c.access(64 * 4, 1)); // 4 was evicted
        assert!(c.access(64 * 3, 1)); // set 1 is separate
        assert!(!c.access(64 * 4 + 63, 1));
    }

    #[test]
    fn a_straddling_access_is_one_reference_that_misses_if_either_line_does() {
        let mut c = level(1024, 2, 64);
        assert!(c.access(64 * 3, 4)); // line 3 in
        assert!(c.access(64 * 3 + 60, 8)); // lines 3 (hit) and 4 (miss): one miss
        assert!(!c.access(64 * 4, 8)); // line 4 came in with it
        assert!(!c.access(64 * 3 + 62, 4)); // both hit
    }

    #[test]
    fn misses_go_to_the_last_level() {
        let c = |size| CacheConfig {
            size,
            assoc: 1,
            line: 64,
        };
        let mut h = Hierarchy::new([c(1024), c(1024), c(8192)]);
        assert_eq!(h.data(0x10000, 8), (true, true));
        assert_eq!(h.data(0x10000 + 1024, 8), (true, true)); // evicts 0x10000 from D1
        assert_eq!(h.data(0x10000, 8), (true, false)); // still in LL
        assert_eq!(h.fetch(0x10000, 4), (true, false)); // LL is unified
        assert_eq!(h.fetch(0x10002, 4), (false, false));
        // A 512-byte reference is cut to one line.
        assert_eq!(h.data(0x20000, 512), (true, true));
        assert_eq!(h.data(0x20040, 8), (true, true));
    }

    #[test]
    fn the_predictors_learn() {
        let mut p = BranchPredictor::new();
        let misses: u32 = (0..100).map(|_| u32::from(p.conditional(0x40, true))).sum();
        // Taken every time: wrong once for each history from none taken to
        // six taken (a fresh counter says "not taken"), then twice for the
        // all-taken history while its counter climbs to 2.
        assert_eq!(misses, 9);
        assert!(p.indirect(0x50, 0x1000));
        assert!(!p.indirect(0x50, 0x1000));
        assert!(p.indirect(0x50 + 512, 0x2000)); // shares the slot
        assert!(p.indirect(0x50, 0x1000));
    }

    #[test]
    fn an_ll_with_odd_sets_gets_more_ways() {
        // 12 MiB, 16 ways, 64-byte lines: 12288 sets become 8192 of 24 ways.
        let mut ll = CacheConfig {
            size: 12 << 20,
            assoc: 16,
            line: 64,
        };
        tweak_ll(&mut ll);
        assert_eq!((ll.size, ll.assoc, ll.line), (12 << 20, 24, 64));
        assert!(ll.check().is_ok());
    }
}
