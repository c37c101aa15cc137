//! `SiteTable`: the engine's opaque `site: u32` ids, one per distinct
//! (call stack, pc) pair the race tool hands the engine.
//!
//! Every access goes through `intern`, so it is the hot path: a direct-mapped
//! cache of recent pairs answers most lookups with one compare, and misses
//! fall back to a hash map with a multiply-rotate hash (no SipHash).
//!
//! # Invariants
//! - Ids are dense, `0..len()`, and never reused: `sites[id]` is the pair
//!   that id stands for, so a report's site always resolves.
//! - `sizes[id]` is the size of an access seen at that site when it was
//!   last looked up past the cache (0: none yet, or a hook's site). An
//!   instruction accesses the same size each time except `rep` string and
//!   masked vector instructions, so this is the "previous access of size N"
//!   a report shows for the earlier side, which the engine does not keep.
//! - A cache slot whose `pc` is 0 is empty (no guest instruction lives at
//!   address 0); a filled slot always agrees with `ids`.

use rustc_hash::FxHashMap;

use dbi::StackId;

/// Slots of the direct-mapped cache (a power of two).
const CACHE_SLOTS: usize = 1 << 16;

#[derive(Clone, Copy, Default)]
struct Slot {
    pc: u64,
    stack: u32,
    site: u32,
}

/// What a site id stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Site {
    /// The callers (`dbi::call_stack`).
    pub(crate) stack: StackId,
    /// The accessing instruction, or the called function for a hook.
    pub(crate) pc: u64,
}

/// Interned sites.
pub(crate) struct SiteTable {
    ids: FxHashMap<Site, u32>,
    sites: Vec<Site>,
    sizes: Vec<u32>,
    cache: Box<[Slot]>,
    /// The read half of a read-modify-write site: a second id for the
    /// same (stack, pc), so the engine, which reports a pair of sites
    /// once, reports its read and its write as Helgrind does.
    read_halves: FxHashMap<u32, u32>,
}

impl Default for SiteTable {
    fn default() -> Self {
        SiteTable {
            ids: FxHashMap::default(),
            sites: Vec::new(),
            sizes: Vec::new(),
            cache: vec![Slot::default(); CACHE_SLOTS].into_boxed_slice(),
            read_halves: FxHashMap::default(),
        }
    }
}

impl SiteTable {
    /// The id of (`stack`, `pc`), made on first sight (a hook's or a
    /// request's site: no access size).
    #[inline]
    pub(crate) fn intern(&mut self, stack: StackId, pc: u64) -> u32 {
        self.intern_access(stack, pc, 0)
    }

    /// The id of the access of `size` bytes by instruction `pc` called
    /// from `stack`.
    #[inline]
    pub(crate) fn intern_access(&mut self, stack: StackId, pc: u64, size: u32) -> u32 {
        let slot = slot_of(stack, pc);
        let cached = self.cache[slot];
        if cached.pc == pc && cached.stack == stack.0 && pc != 0 {
            return cached.site;
        }
        self.intern_slow(stack, pc, size, slot)
    }

    #[inline(never)]
    fn intern_slow(&mut self, stack: StackId, pc: u64, size: u32, slot: usize) -> u32 {
        let key = Site { stack, pc };
        let next = self.sites.len() as u32;
        let site = *self.ids.entry(key).or_insert(next);
        if site == next {
            self.sites.push(key);
            self.sizes.push(size);
        } else if size != 0 {
            self.sizes[site as usize] = size;
        }
        self.cache[slot] = Slot {
            pc,
            stack: stack.0,
            site,
        };
        site
    }

    /// The id of the read half of read-modify-write `site` (same stack,
    /// pc and size, another id).
    pub(crate) fn read_half(&mut self, site: u32) -> u32 {
        if let Some(&id) = self.read_halves.get(&site) {
            return id;
        }
        let id = self.sites.len() as u32;
        let (key, size) = (self.sites[site as usize], self.sizes[site as usize]);
        self.sites.push(key);
        self.sizes.push(size);
        self.read_halves.insert(site, id);
        id
    }

    /// What `site` stands for; `None` for an id this table never gave.
    pub(crate) fn get(&self, site: u32) -> Option<Site> {
        self.sites.get(site as usize).copied()
    }

    /// The size of an access seen at `site`, if any.
    pub(crate) fn size(&self, site: u32) -> Option<u32> {
        self.sizes.get(site as usize).copied().filter(|&s| s != 0)
    }

    pub(crate) fn len(&self) -> usize {
        self.sites.len()
    }
}

#[inline]
fn slot_of(stack: StackId, pc: u64) -> usize {
    let h = (pc ^ (u64::from(stack.0) << 20)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - CACHE_SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_stable_and_resolve() {
        let mut t = SiteTable::default();
        let a = t.intern(StackId(1), 0x400000);
        let b = t.intern(StackId(2), 0x400000);
        let c = t.intern(StackId(1), 0x400004);
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(t.intern(StackId(1), 0x400000), a);
        assert_eq!(t.intern(StackId(2), 0x400000), b);
        assert_eq!(
            t.get(b),
            Some(Site {
                stack: StackId(2),
                pc: 0x400000
            })
        );
        assert_eq!(t.get(99), None);
        assert_eq!(t.len(), 3);
        assert_eq!(t.size(a), None);
        let d = t.intern_access(StackId(3), 0x400008, 4);
        assert_eq!(t.size(d), Some(4));
        assert_eq!(t.intern_access(StackId(3), 0x400008, 8), d);
        assert_eq!(t.size(d), Some(4), "a cache hit changes nothing");
    }

    #[test]
    fn cache_collisions_do_not_confuse_sites() {
        let mut t = SiteTable::default();
        let mut ids = Vec::new();
        for i in 0..20_000u64 {
            ids.push(t.intern(StackId((i % 7) as u32), 0x1000 + i * 3));
        }
        for i in 0..20_000u64 {
            let id = t.intern(StackId((i % 7) as u32), 0x1000 + i * 3);
            assert_eq!(id, ids[i as usize]);
            assert_eq!(t.get(id).unwrap().pc, 0x1000 + i * 3);
        }
    }
}
