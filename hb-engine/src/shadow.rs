//! Shadow memory: the accesses each byte of guest memory remembers.
//!
//! Guest memory is shadowed per 8-byte granule by one `ShadowCell` of 32
//! bytes (two entries, so a cell never straddles a cache line), kept in
//! pages of 512 cells (4 KiB of guest memory) allocated on first touch (a
//! sparse table keyed by page number), so memory is proportional to what
//! was touched.
//!
//! A cell holds a set of `Entry`s, each one earlier access (epoch, write or
//! read, atomic or plain, site, locks held) *and the bytes of the granule
//! it still speaks for* (a byte mask, as ThreadSanitizer's shadow slots
//! carry an offset and size). The FastTrack state (one write epoch, one
//! read epoch or a read vector clock) is the common special case of that
//! set; generalising it keeps the engine exact when atomic and plain
//! accesses mix (papers/fasttrack.md, "Where we differ"). Seen byte by
//! byte, the entries whose mask holds a byte are that byte's history.
//!
//! Until 2026-12-02 a granule whose bytes had different histories was
//! *split* into parts kept out of line; with masks in the entries, the
//! common case of one thread's epoch boundary moving through a granule of
//! `u16`s (two histories) stays inline: the older entry's mask shrinks as
//! the newer one's grows (papers/fasttrack.md, "Byte masks").
//!
//! # Invariants
//! - An inline cell holds at most two live entries, `a` before `b`; a cell
//!   with more lives in `exts` (always more than two entries there).
//! - No entry has an empty mask; no two entries are equal but for their
//!   masks (they are merged).
//! - For each byte, no entry holding it is subsumed by another one
//!   holding it (`subsumes`): a new access takes the bytes it makes
//!   redundant out of older entries' masks, so sets stay small.
//! - An *ignore entry* (no access, `IGNORE_MARK` set) marks its bytes as
//!   unchecked; no access entry holds those bytes. A cell whose eight bytes
//!   are ignored is the `IGNORED` cell.
//! - Absent pages and empty cells mean "never accessed".

use rustc_hash::FxHashMap;

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

/// In `Entry::bytes`, above the mask: an ignore entry.
const IGNORE_MARK: u32 = 1 << 8;

const TAG_EXT: u32 = 1;
const TAG_IGNORED: u32 = 3;

/// One remembered access and the bytes it speaks for: 16 bytes.
///
/// `meta` packs the slot (14 bits), VALID, WRITE, ATOMIC, INDIRECT and the
/// lockset id (14 bits); `bytes` holds the byte mask (bits 0..8) and
/// `IGNORE_MARK`. In the first entry of an indirect cell, `clock` is the
/// tag and `site` the index into `exts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    meta: u32,
    clock: u32,
    site: u32,
    bytes: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 16);

impl Entry {
    const EMPTY: Entry = Entry {
        meta: 0,
        clock: 0,
        site: 0,
        bytes: 0,
    };

    fn ignore(mask: u8) -> Entry {
        Entry {
            bytes: IGNORE_MARK | u32::from(mask),
            ..Entry::EMPTY
        }
    }

    #[inline]
    fn is_valid(self) -> bool {
        self.meta & VALID != 0
    }
    #[inline]
    fn is_ignore(self) -> bool {
        self.bytes & IGNORE_MARK != 0
    }
    /// An access entry or an ignore entry, with bytes left.
    #[inline]
    fn is_live(self) -> bool {
        (self.is_valid() || self.is_ignore()) && self.mask() != 0
    }
    #[inline]
    pub(crate) fn mask(self) -> u8 {
        self.bytes as u8
    }
    #[inline]
    fn with_mask(self, mask: u8) -> Entry {
        Entry {
            bytes: (self.bytes & !0xff) | u32::from(mask),
            ..self
        }
    }
    #[inline]
    fn same_but_mask(self, other: Entry) -> bool {
        self.meta == other.meta
            && self.clock == other.clock
            && self.site == other.site
            && (self.bytes ^ other.bytes) & IGNORE_MARK == 0
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
    fn entry(&self, mask: u8) -> Entry {
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
            bytes: u32::from(mask),
        }
    }

    /// `x` adds nothing to `e` on `e`'s bytes: same epoch, and whatever
    /// could conflict with `x` conflicts with `e` (a write covers a read,
    /// plain covers atomic).
    #[inline]
    fn is_duplicate_of(&self, e: Entry) -> bool {
        e.is_valid()
            && e.meta & SLOT_MASK == u32::from(self.slot.0)
            && e.clock == self.now
            && (!self.write || e.is_write())
            && (self.atomic || !e.is_atomic())
    }

    /// The bytes of `e` on which `x` needs no check: `e` repeats it or
    /// ignores them.
    #[inline]
    fn covered_by(&self, e: Entry) -> u8 {
        if e.is_ignore() || self.is_duplicate_of(e) {
            e.mask()
        } else {
            0
        }
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

/// Applies access `x` to the bytes `mask` of the access set `list`: tells
/// `conflict` of the first earlier access each byte races with, takes the
/// bytes it subsumes out of older entries, and adds `x`. An entry that
/// raced keeps its bytes (it is unordered with `x`, so never subsumed), so
/// later accesses can be reported against it too.
fn apply_to_list(
    list: &mut EntryList,
    mask: u8,
    x: &AccessCtx,
    conflict: &mut impl FnMut(u8, Entry),
) {
    let covered = list.iter().fold(0, |c, &e| c | x.covered_by(e));
    let m = mask & !covered;
    if m == 0 {
        return;
    }
    let mut reported = 0u8;
    list.retain(|e| {
        let inter = e.mask() & m;
        if inter == 0 || !e.is_valid() {
            return true;
        }
        let ordered = x.clock.has_seen(e.epoch());
        if !ordered && x.conflicts_with(*e) && inter & !reported != 0 {
            conflict(inter & !reported, *e);
            reported |= inter;
        }
        if x.subsumes(*e, ordered) {
            *e = e.with_mask(e.mask() & !m);
            return e.mask() != 0;
        }
        true
    });
    add(list, x.entry(m));
}

/// Adds `new` to `list`, merged into an entry equal to it but for the mask.
fn add(list: &mut EntryList, new: Entry) {
    match list.iter_mut().find(|e| e.same_but_mask(new)) {
        Some(e) => *e = e.with_mask(e.mask() | new.mask()),
        None => list.push(new),
    }
}

/// Takes the bytes `mask` out of every entry of `list`.
fn forget_bytes(list: &mut EntryList, mask: u8) {
    list.retain(|e| {
        *e = e.with_mask(e.mask() & !mask);
        e.mask() != 0
    });
}

/// The shadow of one 8-byte granule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(32))]
pub(crate) struct ShadowCell {
    a: Entry,
    b: Entry,
}

const _: () = assert!(std::mem::size_of::<ShadowCell>() == 32);

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
                bytes: 0,
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

impl Default for ShadowCell {
    fn default() -> Self {
        ShadowCell::EMPTY
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

/// Out-of-line storage shared by all cells: access sets of more than two.
struct Side {
    exts: Slab<EntryList>,
}

/// What to do to the bytes of a granule.
enum Op<'a, 'b> {
    Access(&'a AccessCtx<'b>),
    /// Forget the bytes' history.
    Reset,
    /// Forget the bytes' history and check no access to them.
    Ignore,
}

impl Side {
    /// Calls `f` with each live entry of a cell.
    fn entries(&self, cell: &ShadowCell, f: &mut impl FnMut(Entry)) {
        match cell.tag() {
            None => [cell.a, cell.b]
                .into_iter()
                .filter(|e| e.is_live())
                .for_each(f),
            Some(TAG_EXT) => self.exts.items[cell.index() as usize]
                .iter()
                .for_each(|&e| f(e)),
            Some(_) => f(Entry::ignore(0xff)),
        }
    }

    /// Takes a cell's entries out of it (the cell is left empty).
    fn take(&mut self, cell: &mut ShadowCell) -> EntryList {
        let old = std::mem::replace(cell, ShadowCell::EMPTY);
        match old.tag() {
            None => [old.a, old.b].into_iter().filter(|e| e.is_live()).collect(),
            Some(TAG_EXT) => self.exts.remove(old.index()),
            Some(_) => [Entry::ignore(0xff)].into_iter().collect(),
        }
    }

    /// Stores `list` into the empty `cell`.
    fn store(&mut self, cell: &mut ShadowCell, list: EntryList) {
        *cell = match list.len() {
            0 => ShadowCell::EMPTY,
            1 if list[0].is_ignore() && list[0].mask() == 0xff => ShadowCell::IGNORED,
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

    fn free_cell(&mut self, cell: ShadowCell) {
        if cell.tag() == Some(TAG_EXT) {
            self.exts.remove(cell.index());
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
        match op {
            Op::Access(x) => match cell.tag() {
                None => {
                    // Fast path: the thread already made this access (or a
                    // stronger one) in this epoch to these bytes.
                    if mask & !(x.covered_by(cell.a) | x.covered_by(cell.b)) == 0 {
                        return;
                    }
                    let mut list = self.take(cell);
                    apply_to_list(&mut list, mask, x, conflict);
                    self.store(cell, list);
                }
                Some(TAG_EXT) => {
                    let index = cell.index();
                    let list = &mut self.exts.items[index as usize];
                    apply_to_list(list, mask, x, conflict);
                    if list.len() <= 2 {
                        let list = self.exts.remove(index);
                        self.store(cell, list);
                    }
                }
                Some(_) => {} // ignored
            },
            Op::Reset | Op::Ignore if mask == 0xff => {
                let old = std::mem::replace(
                    cell,
                    if matches!(op, Op::Ignore) {
                        ShadowCell::IGNORED
                    } else {
                        ShadowCell::EMPTY
                    },
                );
                self.free_cell(old);
            }
            Op::Reset | Op::Ignore => {
                if *cell == ShadowCell::EMPTY && matches!(op, Op::Reset) {
                    return;
                }
                let mut list = self.take(cell);
                forget_bytes(&mut list, mask);
                if matches!(op, Op::Ignore) {
                    add(&mut list, Entry::ignore(mask));
                }
                self.store(cell, list);
            }
        }
    }
}

type Page = Box<[ShadowCell; GRANULES_PER_PAGE]>;

/// The shadow of the whole address space.
pub(crate) struct ShadowMemory {
    pages: Vec<Page>,
    index: FxHashMap<u64, u32>,
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
            index: FxHashMap::default(),
            free_pages: Vec::new(),
            last: (u64::MAX, 0),
            side: Side { exts: Slab::new() },
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
        // Fast path: an access inside one granule, already made.
        if let Some((granule, mask)) = crate::filter::granule_mask(addr, len) {
            let g = granule << GRANULE_BITS;
            let page = self.page_for(g >> PAGE_BITS);
            let cell = &self.pages[page as usize][granule_in_page(g)];
            if cell.tag().is_none() && mask & !(x.covered_by(cell.a) | x.covered_by(cell.b)) == 0 {
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
            let g = granule << GRANULE_BITS;
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
                self.for_each_granule(lo, hi - lo, &Op::Reset, &mut |_| {});
            }
        }
    }

    /// The epochs and sites of the plain writes remembered for any byte of
    /// `[addr, addr + len)` (for `Engine::adopt_atomic`).
    pub(crate) fn plain_writes(&self, addr: u64, len: u64) -> SmallVec<[(Epoch, u32); 2]> {
        let mut found: SmallVec<[(Epoch, u32); 2]> = SmallVec::new();
        for (granule, mask) in granules(addr, len) {
            let g = granule << GRANULE_BITS;
            if let Some(&page) = self.index.get(&(g >> PAGE_BITS)) {
                let cell = &self.pages[page as usize][granule_in_page(g)];
                self.side.entries(cell, &mut |e: Entry| {
                    let write = (e.epoch(), e.site());
                    if e.is_valid()
                        && e.is_write()
                        && !e.is_atomic()
                        && e.mask() & mask != 0
                        && !found.contains(&write)
                    {
                        found.push(write);
                    }
                });
            }
        }
        found
    }

    /// Makes accesses to `[addr, addr + len)` unchecked until `reset`.
    pub(crate) fn ignore(&mut self, addr: u64, len: u64) {
        self.for_each_granule(addr, len, &Op::Ignore, &mut |_| {});
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

    /// Bytes of host memory the shadow uses (pages, long access sets).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.pages.len() * std::mem::size_of::<[ShadowCell; GRANULES_PER_PAGE]>()
            + self.index.capacity() * 16
            + self.side.exts.items.capacity() * std::mem::size_of::<EntryList>()
    }

    /// Pages currently holding shadow, and out-of-line access sets in use.
    pub(crate) fn stats(&self) -> (usize, usize) {
        (self.index.len(), self.side.exts.live())
    }
}

#[inline]
fn granule_in_page(addr: u64) -> usize {
    ((addr >> GRANULE_BITS) as usize) & (GRANULES_PER_PAGE - 1)
}
