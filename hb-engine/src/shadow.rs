//! Shadow memory: the accesses each byte of guest memory remembers.
//!
//! Guest memory is shadowed per 8-byte granule by one `ShadowCell` of 24
//! bytes, kept in 4 KiB pages allocated on first touch (a sparse table keyed
//! by page number), so memory is proportional to what was touched.
//!
//! A cell holds an antichain of `Entry`s, each one earlier access (epoch,
//! write or read, atomic or plain, site, locks held). The FastTrack state
//! (one write epoch, one read epoch or a read vector clock) is the common
//! special case of that set; generalising it keeps the engine exact when
//! atomic and plain accesses mix (papers/fasttrack.md, "Where we differ").
//!
//! # Invariants
//! - An inline cell holds at most two entries, `a` before `b`; a cell with
//!   more lives in `exts` (always more than two entries there).
//! - A granule whose bytes have different histories is split: its cell
//!   points to `splits`, whose parts partition the eight bytes by `mask`,
//!   and no two parts are equal (they are merged in `merge_parts`).
//! - No entry in a cell is subsumed by another one (`subsumes`): a new access
//!   removes the entries it makes redundant, so sets stay small.
//! - Absent pages and empty cells mean "never accessed".

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

use crate::epoch::{Epoch, ThreadSlot};
use crate::filter::granules;
use crate::vector_clock::VectorClock;

const GRANULE_BITS: u32 = 3;
const PAGE_BITS: u32 = 12;
const GRANULES_PER_PAGE: usize = 1 << (PAGE_BITS - GRANULE_BITS);

const SLOT_MASK: u32 = ThreadSlot::MAX as u32;
const VALID: u32 = 1 << 14;
const WRITE: u32 = 1 << 15;
const ATOMIC: u32 = 1 << 16;
const INDIRECT: u32 = 1 << 17;
const LOCKSET_SHIFT: u32 = 18;
/// The lockset id stored when the real one does not fit in 14 bits.
pub(crate) const LOCKSET_UNKNOWN: u32 = (1 << 14) - 1;

const TAG_EXT: u32 = 1;
const TAG_SPLIT: u32 = 2;
const TAG_IGNORED: u32 = 3;

/// One remembered access: 12 bytes.
///
/// `meta` packs the slot (14 bits), VALID, WRITE, ATOMIC, INDIRECT and the
/// lockset id (14 bits). In the first entry of an indirect cell, `clock` is
/// the tag and `site` the index into `exts` or `splits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    meta: u32,
    clock: u32,
    site: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 12);

impl Entry {
    const EMPTY: Entry = Entry {
        meta: 0,
        clock: 0,
        site: 0,
    };

    #[inline]
    fn is_valid(self) -> bool {
        self.meta & VALID != 0
    }
    #[inline]
    pub(crate) fn is_write(self) -> bool {
        self.meta & WRITE != 0
    }
    #[inline]
    pub(crate) fn is_atomic(self) -> bool {
        self.meta & ATOMIC != 0
    }
    #[inline]
    pub(crate) fn slot(self) -> ThreadSlot {
        ThreadSlot((self.meta & SLOT_MASK) as u16)
    }
    #[inline]
    pub(crate) fn epoch(self) -> Epoch {
        Epoch {
            clock: self.clock,
            slot: self.slot(),
        }
    }
    pub(crate) fn site(self) -> u32 {
        self.site
    }
    pub(crate) fn lockset(self) -> u32 {
        self.meta >> LOCKSET_SHIFT
    }
}

/// The thread side of one access being checked: who, when, and what kind.
pub(crate) struct AccessCtx<'a> {
    pub(crate) clock: &'a VectorClock,
    pub(crate) slot: ThreadSlot,
    /// `clock[slot]`, the accessing thread's current epoch.
    pub(crate) now: u32,
    pub(crate) write: bool,
    pub(crate) atomic: bool,
    pub(crate) site: u32,
    pub(crate) lockset: u32,
}

impl AccessCtx<'_> {
    fn entry(&self) -> Entry {
        let mut meta =
            u32::from(self.slot.0) | VALID | (self.lockset.min(LOCKSET_UNKNOWN) << LOCKSET_SHIFT);
        if self.write {
            meta |= WRITE;
        }
        if self.atomic {
            meta |= ATOMIC;
        }
        Entry {
            meta,
            clock: self.now,
            site: self.site,
        }
    }

    /// `x` adds nothing to `e`: same epoch, and whatever could conflict with
    /// `x` conflicts with `e` (a write covers a read, plain covers atomic).
    #[inline]
    fn is_duplicate_of(&self, e: Entry) -> bool {
        e.is_valid()
            && e.meta & SLOT_MASK == u32::from(self.slot.0)
            && e.clock == self.now
            && (!self.write || e.is_write())
            && (self.atomic || !e.is_atomic())
    }

    fn conflicts_with(&self, e: Entry) -> bool {
        (e.is_write() || self.write) && !(e.is_atomic() && self.atomic)
    }

    /// Every later access that conflicts with `e` and is unordered with it
    /// also conflicts with, and is unordered with, this access.
    fn subsumes(&self, e: Entry, ordered: bool) -> bool {
        ordered && (!e.is_write() || self.write) && (e.is_atomic() || !self.atomic)
    }
}

type EntryList = SmallVec<[Entry; 4]>;

/// Applies access `x` to the access set `list`: returns the first earlier
/// access it races with, drops what it subsumes, and adds `x`. An entry
/// that raced stays (it is unordered with `x`, so never subsumed), so later
/// accesses can be reported against it too.
fn apply_to_list(list: &mut EntryList, x: &AccessCtx) -> Option<Entry> {
    if list.iter().any(|&e| x.is_duplicate_of(e)) {
        return None;
    }
    let mut conflict = None;
    list.retain(|e| {
        let ordered = x.clock.has_seen(e.epoch());
        if !ordered && x.conflicts_with(*e) {
            conflict.get_or_insert(*e);
        }
        !x.subsumes(*e, ordered)
    });
    list.push(x.entry());
    conflict
}

/// The shadow of one 8-byte granule (or of one part of a split granule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShadowCell {
    a: Entry,
    b: Entry,
}

const _: () = assert!(std::mem::size_of::<ShadowCell>() == 24);

impl ShadowCell {
    const EMPTY: ShadowCell = ShadowCell {
        a: Entry::EMPTY,
        b: Entry::EMPTY,
    };
    const IGNORED: ShadowCell = ShadowCell::indirect(TAG_IGNORED, 0);

    const fn indirect(tag: u32, index: u32) -> ShadowCell {
        ShadowCell {
            a: Entry {
                meta: INDIRECT,
                clock: tag,
                site: index,
            },
            b: Entry::EMPTY,
        }
    }

    #[inline]
    fn tag(&self) -> Option<u32> {
        (self.a.meta & INDIRECT != 0).then_some(self.a.clock)
    }

    fn index(&self) -> u32 {
        self.a.site
    }
}

/// A simple slab: indices stay valid until removed; freed ones are reused.
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T: Default> Slab<T> {
    fn new() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
    fn insert(&mut self, item: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self.items[i as usize] = item;
            i
        } else {
            self.items.push(item);
            (self.items.len() - 1) as u32
        }
    }
    fn remove(&mut self, i: u32) -> T {
        self.free.push(i);
        std::mem::take(&mut self.items[i as usize])
    }
    fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

/// One part of a split granule: the bytes in `mask` share `cell`.
#[derive(Clone, Copy, Debug, Default)]
struct Part {
    mask: u8,
    cell: ShadowCell,
}

impl Default for ShadowCell {
    fn default() -> Self {
        ShadowCell::EMPTY
    }
}

type SplitGranule = SmallVec<[Part; 2]>;

/// Out-of-line storage shared by all cells: long access sets and split granules.
struct Side {
    exts: Slab<EntryList>,
    splits: Slab<SplitGranule>,
}

/// What to do to the bytes of a granule.
enum Op<'a, 'b> {
    Access(&'a AccessCtx<'b>),
    Fill(ShadowCell),
}

impl Side {
    /// Calls `f` with each entry of a cell that is not split.
    fn entries(&self, cell: &ShadowCell, f: &mut impl FnMut(Entry)) {
        match cell.tag() {
            None => {
                f(cell.a);
                f(cell.b);
            }
            Some(TAG_EXT) => self.exts.items[cell.index() as usize]
                .iter()
                .for_each(|&e| f(e)),
            Some(_) => {}
        }
    }

    /// Applies an access to a cell that is not split; returns the conflict.
    fn access_cell(&mut self, cell: &mut ShadowCell, x: &AccessCtx) -> Option<Entry> {
        match cell.tag() {
            None => {
                if x.is_duplicate_of(cell.a) || x.is_duplicate_of(cell.b) {
                    return None;
                }
                // `apply_to_list` on the two inline entries, without a list.
                let mut kept = [Entry::EMPTY; 2];
                let mut n = 0;
                let mut conflict = None;
                for e in [cell.a, cell.b] {
                    if !e.is_valid() {
                        continue;
                    }
                    let ordered = x.clock.has_seen(e.epoch());
                    if !ordered && x.conflicts_with(e) {
                        conflict.get_or_insert(e);
                    }
                    if !x.subsumes(e, ordered) {
                        kept[n] = e;
                        n += 1;
                    }
                }
                *cell = match n {
                    0 => ShadowCell {
                        a: x.entry(),
                        b: Entry::EMPTY,
                    },
                    1 => ShadowCell {
                        a: kept[0],
                        b: x.entry(),
                    },
                    _ => {
                        let list: EntryList = [kept[0], kept[1], x.entry()].into_iter().collect();
                        ShadowCell::indirect(TAG_EXT, self.exts.insert(list))
                    }
                };
                conflict
            }
            Some(TAG_EXT) => {
                let index = cell.index();
                let list = &mut self.exts.items[index as usize];
                let conflict = apply_to_list(list, x);
                if list.len() <= 2 {
                    let list = self.exts.remove(index);
                    self.store(cell, list);
                }
                conflict
            }
            _ => None, // ignored
        }
    }

    fn store(&mut self, cell: &mut ShadowCell, list: EntryList) {
        *cell = match list.len() {
            0 => ShadowCell::EMPTY,
            1 => ShadowCell {
                a: list[0],
                b: Entry::EMPTY,
            },
            2 => ShadowCell {
                a: list[0],
                b: list[1],
            },
            _ => ShadowCell::indirect(TAG_EXT, self.exts.insert(list)),
        };
    }

    fn clone_cell(&mut self, cell: &ShadowCell) -> ShadowCell {
        match cell.tag() {
            Some(TAG_EXT) => {
                let list = self.exts.items[cell.index() as usize].clone();
                ShadowCell::indirect(TAG_EXT, self.exts.insert(list))
            }
            _ => *cell,
        }
    }

    fn free_cell(&mut self, cell: ShadowCell) {
        match cell.tag() {
            Some(TAG_EXT) => {
                self.exts.remove(cell.index());
            }
            Some(TAG_SPLIT) => {
                for part in self.splits.remove(cell.index()) {
                    self.free_cell(part.cell);
                }
            }
            _ => {}
        }
    }

    fn cells_equal(&self, x: &ShadowCell, y: &ShadowCell) -> bool {
        match (x.tag(), y.tag()) {
            (Some(TAG_EXT), Some(TAG_EXT)) => {
                self.exts.items[x.index() as usize] == self.exts.items[y.index() as usize]
            }
            _ => x == y,
        }
    }

    /// Applies `op` to the bytes `mask` of the granule whose cell is `cell`.
    /// `conflict(mask, prior)` is told of each race.
    fn apply(
        &mut self,
        cell: &mut ShadowCell,
        mask: u8,
        op: &Op,
        conflict: &mut impl FnMut(u8, Entry),
    ) {
        if let Op::Access(x) = op {
            // Fast paths: the same thread already made this access (or a
            // stronger one) in this epoch to these bytes, so nothing would
            // change and nothing can conflict; no split is made or rebuilt.
            match cell.tag() {
                None if x.is_duplicate_of(cell.a) || x.is_duplicate_of(cell.b) => return,
                Some(TAG_SPLIT) => {
                    let parts = &self.splits.items[cell.index() as usize];
                    let duplicate = parts.iter().all(|p| {
                        p.mask & mask == 0
                            || (p.cell.tag().is_none()
                                && (x.is_duplicate_of(p.cell.a) || x.is_duplicate_of(p.cell.b)))
                    });
                    if duplicate {
                        return;
                    }
                    // The access covers exactly one part (a field of a
                    // granule of small fields): update it in place. Only
                    // that part changed, so only it can now equal another.
                    if let Some(k) = parts.iter().position(|p| p.mask == mask) {
                        self.access_one_part(cell, k, x, conflict);
                        return;
                    }
                }
                _ => {}
            }
        }
        if cell.tag() != Some(TAG_SPLIT) {
            if mask == 0xff {
                match op {
                    Op::Access(x) => {
                        if let Some(prior) = self.access_cell(cell, x) {
                            conflict(mask, prior);
                        }
                    }
                    Op::Fill(state) => {
                        let old = std::mem::replace(cell, *state);
                        self.free_cell(old);
                    }
                }
                return;
            }
            if let Op::Fill(state) = op {
                if self.cells_equal(cell, state) {
                    return;
                }
            }
            if cell.tag() == Some(TAG_IGNORED) && matches!(op, Op::Access(_)) {
                return;
            }
            let whole = *cell;
            let parts: SplitGranule = [Part {
                mask: 0xff,
                cell: whole,
            }]
            .into_iter()
            .collect();
            *cell = ShadowCell::indirect(TAG_SPLIT, self.splits.insert(parts));
        }
        let index = cell.index();
        let mut parts = std::mem::take(&mut self.splits.items[index as usize]);
        let mut refined = SplitGranule::new();
        for mut part in parts.drain(..) {
            let inter = part.mask & mask;
            if inter == 0 {
                refined.push(part);
                continue;
            }
            let mut target = if inter == part.mask {
                part
            } else {
                let copy = Part {
                    mask: inter,
                    cell: self.clone_cell(&part.cell),
                };
                part.mask &= !mask;
                refined.push(part);
                copy
            };
            match op {
                Op::Access(x) => {
                    if let Some(prior) = self.access_cell(&mut target.cell, x) {
                        conflict(target.mask, prior);
                    }
                }
                Op::Fill(state) => {
                    let old = std::mem::replace(&mut target.cell, *state);
                    self.free_cell(old);
                }
            }
            refined.push(target);
        }
        self.merge_parts(&mut refined);
        if refined.len() == 1 {
            self.splits.remove(index);
            *cell = refined[0].cell;
        } else {
            self.splits.items[index as usize] = refined;
        }
    }

    /// `apply` of an access to exactly the bytes of part `k` of the split
    /// granule `cell`, without rebuilding the parts.
    fn access_one_part(
        &mut self,
        cell: &mut ShadowCell,
        k: usize,
        x: &AccessCtx,
        conflict: &mut impl FnMut(u8, Entry),
    ) {
        let index = cell.index() as usize;
        let Part {
            mask,
            cell: mut target,
        } = self.splits.items[index][k];
        if let Some(prior) = self.access_cell(&mut target, x) {
            conflict(mask, prior);
        }
        self.splits.items[index][k].cell = target;
        let parts = &self.splits.items[index];
        let merges = parts
            .iter()
            .enumerate()
            .any(|(j, p)| j != k && self.cells_equal(&p.cell, &target));
        if merges {
            let mut parts = std::mem::take(&mut self.splits.items[index]);
            self.merge_parts(&mut parts);
            if parts.len() == 1 {
                self.splits.remove(index as u32);
                *cell = parts[0].cell;
            } else {
                self.splits.items[index] = parts;
            }
        }
    }

    fn merge_parts(&mut self, parts: &mut SplitGranule) {
        let mut i = 0;
        while i < parts.len() {
            let mut j = i + 1;
            while j < parts.len() {
                if self.cells_equal(&parts[i].cell, &parts[j].cell) {
                    let gone = parts.remove(j);
                    parts[i].mask |= gone.mask;
                    self.free_cell(gone.cell);
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
    }
}

/// Hashes page numbers by one multiplication; they are already well spread
/// in their low bits, which is what the table uses.
#[derive(Default)]
pub(crate) struct PageHasher(u64);

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Page = Box<[ShadowCell; GRANULES_PER_PAGE]>;

/// The shadow of the whole address space.
pub(crate) struct ShadowMemory {
    pages: Vec<Page>,
    index: HashMap<u64, u32, BuildHasherDefault<PageHasher>>,
    free_pages: Vec<u32>,
    /// The last page looked up: (page number, index into `pages`).
    last: (u64, u32),
    side: Side,
}

/// A race found by `ShadowMemory::access`: the bytes `mask` of the granule
/// at `granule_addr` were last accessed by `prior`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conflict {
    pub(crate) granule_addr: u64,
    pub(crate) mask: u8,
    pub(crate) prior: Entry,
}

impl Default for ShadowMemory {
    fn default() -> Self {
        ShadowMemory {
            pages: Vec::new(),
            index: HashMap::default(),
            free_pages: Vec::new(),
            last: (u64::MAX, 0),
            side: Side {
                exts: Slab::new(),
                splits: Slab::new(),
            },
        }
    }
}

impl ShadowMemory {
    #[inline]
    fn page_for(&mut self, page_no: u64) -> u32 {
        if self.last.0 == page_no {
            return self.last.1;
        }
        self.page_for_slow(page_no)
    }

    #[inline(never)]
    fn page_for_slow(&mut self, page_no: u64) -> u32 {
        let index = match self.index.get(&page_no) {
            Some(&i) => i,
            None => {
                let i = match self.free_pages.pop() {
                    Some(i) => i,
                    None => {
                        let page: Page = vec![ShadowCell::EMPTY; GRANULES_PER_PAGE]
                            .into_boxed_slice()
                            .try_into()
                            .expect("a vector of GRANULES_PER_PAGE cells converts to a page");
                        self.pages.push(page);
                        (self.pages.len() - 1) as u32
                    }
                };
                self.index.insert(page_no, i);
                i
            }
        };
        self.last = (page_no, index);
        index
    }

    /// Checks and records an access to `[addr, addr + len)`.
    #[inline]
    pub(crate) fn access(
        &mut self,
        addr: u64,
        len: u64,
        x: &AccessCtx,
        conflicts: &mut impl FnMut(Conflict),
    ) {
        // Fast path: one aligned whole granule, already holding this access.
        if len == 8 && addr & 7 == 0 {
            let page = self.page_for(addr >> PAGE_BITS);
            let cell = &mut self.pages[page as usize][granule_in_page(addr)];
            if cell.tag().is_none() && (x.is_duplicate_of(cell.a) || x.is_duplicate_of(cell.b)) {
                return;
            }
        }
        self.for_each_granule(addr, len, &Op::Access(x), conflicts);
    }

    fn for_each_granule(
        &mut self,
        addr: u64,
        len: u64,
        op: &Op,
        conflicts: &mut impl FnMut(Conflict),
    ) {
        for (granule, mask) in granules(addr, len) {
            let g = granule << 3;
            let page = self.page_for(g >> PAGE_BITS);
            let cell = &mut self.pages[page as usize][granule_in_page(g)];
            self.side.apply(cell, mask, op, &mut |mask, prior| {
                conflicts(Conflict {
                    granule_addr: g,
                    mask,
                    prior,
                });
            });
        }
    }

    /// Forgets every access to `[addr, addr + len)`.
    pub(crate) fn reset(&mut self, addr: u64, len: u64) {
        let end = addr.saturating_add(len);
        if end <= addr {
            return;
        }
        let first_page = addr >> PAGE_BITS;
        let last_page = (end - 1) >> PAGE_BITS;
        let mut pages: Vec<u64> = if last_page - first_page < self.index.len() as u64 {
            (first_page..=last_page)
                .filter(|p| self.index.contains_key(p))
                .collect()
        } else {
            self.index
                .keys()
                .copied()
                .filter(|p| (first_page..=last_page).contains(p))
                .collect()
        };
        pages.sort_unstable();
        for page_no in pages {
            let page_start = page_no << PAGE_BITS;
            let page_end = page_start.saturating_add(1 << PAGE_BITS);
            if addr <= page_start && end >= page_end {
                self.drop_page(page_no);
            } else {
                let lo = addr.max(page_start);
                let hi = end.min(page_end);
                self.for_each_granule(lo, hi - lo, &Op::Fill(ShadowCell::EMPTY), &mut |_| {});
            }
        }
    }

    /// The epochs and sites of the plain writes remembered for any byte of
    /// `[addr, addr + len)` (for `Engine::adopt_atomic`).
    pub(crate) fn plain_writes(&self, addr: u64, len: u64) -> SmallVec<[(Epoch, u32); 2]> {
        let mut found: SmallVec<[(Epoch, u32); 2]> = SmallVec::new();
        let mut keep = |e: Entry| {
            let write = (e.epoch(), e.site());
            if e.is_valid() && e.is_write() && !e.is_atomic() && !found.contains(&write) {
                found.push(write);
            }
        };
        for (granule, mask) in granules(addr, len) {
            let g = granule << 3;
            if let Some(&page) = self.index.get(&(g >> PAGE_BITS)) {
                let cell = &self.pages[page as usize][granule_in_page(g)];
                match cell.tag() {
                    Some(TAG_SPLIT) => {
                        for part in &self.side.splits.items[cell.index() as usize] {
                            if part.mask & mask != 0 {
                                self.side.entries(&part.cell, &mut keep);
                            }
                        }
                    }
                    _ => self.side.entries(cell, &mut keep),
                }
            }
        }
        found
    }

    /// Makes accesses to `[addr, addr + len)` unchecked until `reset`.
    pub(crate) fn ignore(&mut self, addr: u64, len: u64) {
        self.for_each_granule(addr, len, &Op::Fill(ShadowCell::IGNORED), &mut |_| {});
    }

    fn drop_page(&mut self, page_no: u64) {
        let Some(index) = self.index.remove(&page_no) else {
            return;
        };
        for i in 0..GRANULES_PER_PAGE {
            let old = std::mem::replace(&mut self.pages[index as usize][i], ShadowCell::EMPTY);
            self.side.free_cell(old);
        }
        self.free_pages.push(index);
        if self.last.0 == page_no {
            self.last = (u64::MAX, 0);
        }
    }

    /// Bytes of host memory the shadow uses (pages, long access sets, splits).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.pages.len() * std::mem::size_of::<[ShadowCell; GRANULES_PER_PAGE]>()
            + self.index.capacity() * 16
            + self.side.exts.items.capacity() * std::mem::size_of::<EntryList>()
            + self.side.splits.items.capacity() * std::mem::size_of::<SplitGranule>()
    }

    /// Pages currently holding shadow, and out-of-line cells in use.
    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        (
            self.index.len(),
            self.side.exts.live(),
            self.side.splits.live(),
        )
    }
}

#[inline]
fn granule_in_page(addr: u64) -> usize {
    ((addr >> GRANULE_BITS) as usize) & (GRANULES_PER_PAGE - 1)
}
