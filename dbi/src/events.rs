//! Event buffers: what translated code records, and how it reaches a tool.
//!
//! Translated code appends 16-byte `RawRecord`s to its thread's buffer
//! (decision 11): every memory access, call and return, each naming a
//! *site*, an entry of the `Sites` table made when the block was
//! translated (guest pc, size, kind). The dispatcher flushes the buffer
//! (`ThreadEvents::flush`) every time the thread leaves the code cache, so
//! a tool sees a thread's accesses before any other event of that thread,
//! and before any other thread runs.
//!
//! Flushing replays calls and returns against the thread's shadow call
//! stack, so each `MemAccess` carries the `StackId` it was made under.
//!
//! # Buffer layout and room check
//! A thread's buffer is `BUF_LEN` bytes at an address aligned to
//! `BUF_ALIGN`, followed by a guard page. Each block that records anything
//! first checks that its worst case fits: `ptr + need` still has bits
//! 16..23 clear (so `need` ≤ `BUF_LEN`). Otherwise the block leaves with a
//! `BUF_FULL` exit before recording anything, and is rerun after the flush.
//! No check runs per record; the guard page turns a bug into a fault
//! rather than corrupted memory.
//!
//! # Invariants
//! - Site 0 is the return site; call sites carry their return address.
//! - A site id, once handed out, keeps its meaning for the process's life
//!   (retranslations of the same instruction get the same id back).
//! - Records of a thread are delivered in the order they were written.

use rustc_hash::FxHashMap;

use crate::os::linux::{mem, Errno};
use crate::{AccessKind, HookCall, MemAccess, ProfileEvent, StackId, ThreadNum, Tool};

/// Sites remembered for merging runs of accesses in one flush.
const MERGE_SLOTS: usize = 64;
/// The largest access a merge makes.
const MERGE_MAX: u32 = 1 << 16;

impl MemAccess {
    /// Grows `self` to cover `next` when both are plain accesses of the same
    /// instruction and stack, and `next` continues `self` up or down.
    fn extends(&mut self, next: &MemAccess) -> bool {
        if self.pc != next.pc
            || self.stack != next.stack
            || self.kind != next.kind
            || self.atomic
            || self.spin_read
            || self.size + next.size > MERGE_MAX
        {
            return false;
        }
        if self.addr + u64::from(self.size) == next.addr {
            self.size += next.size;
            true
        } else if next.addr + u64::from(next.size) == self.addr {
            self.addr = next.addr;
            self.size += next.size;
            true
        } else {
            // Already covered (the same bytes again) is a merge too.
            next.addr >= self.addr
                && next.addr + u64::from(next.size) <= self.addr + u64::from(self.size)
        }
    }
}

/// Bytes of a thread's event buffer.
pub(crate) const BUF_LEN: usize = 1 << 16;
/// Alignment of a buffer: bits 16..23 of every address in it are clear.
pub(crate) const BUF_ALIGN: usize = 1 << 24;

/// One record as translated code writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct RawRecord {
    /// The accessed address; for calls and returns, the stack pointer
    /// before the instruction.
    pub(crate) value: u64,
    pub(crate) site: u32,
    /// For `rep` string sites: the byte count (count × element size).
    pub(crate) extra: u32,
}

const _: () = assert!(core::mem::size_of::<RawRecord>() == 16);

/// What a site records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Site {
    /// A `ret` (site 0).
    Return,
    /// A `call` whose return address is `ret`.
    Call { ret: u64 },
    /// A memory operand of the instruction at `pc`.
    Access {
        pc: u64,
        size: u32,
        kind: AccessKind,
        atomic: bool,
        /// A `rep` string operand: the record carries the byte count.
        rep: bool,
        /// Which memory operand of the instruction (0, 1...).
        operand: u8,
        /// A load of a spin loop (`MemAccess::spin_read`).
        spin: bool,
        /// A profiler's stream: the instruction's index in its block.
        index: u8,
    },
    /// The block at `pc` starts (a profiler's stream, `Profile::Full`);
    /// the record's value is the translation's number.
    BlockStart { pc: u64 },
}

/// The sites of all translated code.
pub(crate) struct Sites {
    all: Vec<Site>,
    ids: FxHashMap<Site, u32>,
}

impl Sites {
    pub(crate) fn new() -> Sites {
        Sites {
            all: vec![Site::Return],
            ids: FxHashMap::from_iter([(Site::Return, 0)]),
        }
    }

    /// The id of `site`, made on first use.
    pub(crate) fn id(&mut self, site: Site) -> u32 {
        let next = self.all.len() as u32;
        let id = *self.ids.entry(site).or_insert(next);
        if id == next {
            self.all.push(site);
        }
        id
    }

    #[inline]
    fn get(&self, id: u32) -> Option<&Site> {
        self.all.get(id as usize)
    }
}

/// A thread's profile stream since its last delivery (`Interests::profile`),
/// decoded as it is read: an iterator of `ProfileEvent`s, in order.
pub struct ProfileBatch<'a> {
    records: core::slice::Iter<'a, RawRecord>,
    sites: &'a Sites,
}

impl Iterator for ProfileBatch<'_> {
    type Item = ProfileEvent;

    // Inlined into the tool's loop (another crate): no event is stored.
    #[inline]
    fn next(&mut self) -> Option<ProfileEvent> {
        loop {
            let r = self.records.next()?;
            match self.sites.get(r.site) {
                Some(&Site::BlockStart { pc }) => {
                    return Some(ProfileEvent::Block {
                        pc,
                        id: r.value as u32,
                    })
                }
                Some(&Site::Access {
                    pc,
                    size,
                    kind,
                    atomic,
                    rep,
                    operand,
                    index,
                    ..
                }) => {
                    let bytes = if rep { r.extra } else { size };
                    if bytes == 0 {
                        continue;
                    }
                    return Some(ProfileEvent::Access {
                        access: MemAccess {
                            addr: r.value,
                            size: bytes,
                            kind,
                            atomic,
                            spin_read: false,
                            pc,
                            stack: StackId(0),
                        },
                        element: if rep { size as u8 } else { 0 },
                        operand,
                        index,
                        site: r.site,
                    });
                }
                Some(Site::Return | Site::Call { .. }) | None => {}
            }
        }
    }
}

/// A hooked call waiting for its return.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingReturn {
    pub(crate) call: HookCall,
    /// Where the call returns to.
    pub(crate) ret_addr: u64,
    /// The stack pointer after the return (entry rsp + 8).
    pub(crate) rsp_after: u64,
    pub(crate) quiet: bool,
    /// Whether the call's plain accesses are atomic ones (`HookRequest::atomic`).
    pub(crate) atomic: bool,
    /// Whether the tool wants the exit.
    pub(crate) exit: bool,
}

/// One thread's event state, kept by the dispatcher.
pub(crate) struct ThreadEvents {
    pub(crate) num: ThreadNum,
    /// The buffer mapping (start of the records), or 0 when off.
    buf: u64,
    /// The shadow call stack: (node, stack pointer before the call).
    stack: Vec<(StackId, u64)>,
    /// The shadow stacks of the other stacks this thread ran on.
    regions: crate::stack_regions::RegionTracker,
    /// Hooked calls not yet returned, innermost last.
    pub(crate) pending: Vec<PendingReturn>,
    /// Timeslices this thread used up (deterministic schedules).
    pub(crate) slices: u64,
    out: Vec<MemAccess>,
}

impl ThreadEvents {
    pub(crate) fn new(num: ThreadNum) -> ThreadEvents {
        ThreadEvents {
            num,
            buf: 0,
            stack: Vec::new(),
            regions: Default::default(),
            pending: Vec::new(),
            slices: 0,
            out: Vec::new(),
        }
    }

    /// Maps the thread's buffer; returns its start (the first `buf_ptr`).
    pub(crate) fn map_buffer(&mut self) -> Result<u64, Errno> {
        if self.buf == 0 {
            self.buf = mem::map_aligned_with_guard(BUF_LEN, BUF_ALIGN)?;
        }
        Ok(self.buf)
    }

    /// Uses `buf`, a buffer an earlier thread mapped with `map_buffer` and
    /// no longer uses (thread_memory.rs), instead of mapping a new one.
    pub(crate) fn reuse_buffer(&mut self, buf: u64) {
        if self.buf == 0 {
            self.buf = buf;
        }
    }

    /// The start of the thread's buffer (0 when it has none).
    pub(crate) fn buffer_start(&self) -> u64 {
        self.buf
    }

    /// The thread's stack now.
    pub(crate) fn stack_id(&self) -> StackId {
        self.stack.last().map_or(StackId(0), |&(id, _)| id)
    }

    /// Inside a hooked `atomic` function: the stack pointer after its
    /// outermost call returns (its frames lie below).
    pub(crate) fn atomic_call(&self) -> Option<u64> {
        self.pending.iter().find(|p| p.atomic).map(|p| p.rsp_after)
    }

    /// Whether the thread runs inside a quiet hooked function.
    pub(crate) fn quiet(&self) -> bool {
        self.pending.iter().any(|p| p.quiet)
    }

    /// Forgets hooked calls whose frames are gone (left by longjmp,
    /// cancellation or an exception): the stack pointer is above them.
    pub(crate) fn drop_stale_pending(&mut self, rsp: u64) {
        while self.pending.last().is_some_and(|p| rsp > p.rsp_after) {
            self.pending.pop();
        }
    }

    /// The records of the buffer at `buf` up to `end`, as a slice (the
    /// buffer is never unmapped; the slice is read before the thread runs
    /// translated code again).
    fn records(buf: u64, end: u64) -> &'static [RawRecord] {
        let n = ((end - buf) as usize / 16).min(BUF_LEN / 16);
        // SAFETY:
        // - `[buf, buf + 16n)` lies in this thread's buffer mapping (never
        //   unmapped), written by its translated code, which is not running:
        //   the dispatcher of this thread holds the big lock.
        // - RawRecord is plain old data with the layout translated code writes.
        unsafe { core::slice::from_raw_parts(buf as *const RawRecord, n) }
    }

    /// A profiler's flush (`Interests::profile`): the records go to the
    /// tool as a `ProfileBatch`, nothing merged, no call stacks. Returns
    /// the new `buf_ptr` (the buffer start).
    pub(crate) fn flush_profile(&mut self, end: u64, sites: &Sites, tool: &mut dyn Tool) -> u64 {
        if self.buf == 0 || end <= self.buf {
            return self.buf;
        }
        tool.on_profile(
            self.num,
            ProfileBatch {
                records: Self::records(self.buf, end).iter(),
                sites,
            },
        );
        self.buf
    }

    /// Replays the records from the buffer start to `end` (the thread's
    /// `buf_ptr`) and hands the accesses to `tool`. Returns the new
    /// `buf_ptr` (the buffer start).
    pub(crate) fn flush(&mut self, end: u64, sites: &Sites, tool: &mut dyn Tool) -> u64 {
        if self.buf == 0 || end <= self.buf {
            return self.buf;
        }
        let records = Self::records(self.buf, end);
        let quiet = self.quiet();
        let atomic_call = self.atomic_call();
        let hints = tool.sync_hints();
        self.out.clear();
        let mut merge = [0u32; MERGE_SLOTS];
        for r in records {
            match sites.get(r.site) {
                Some(Site::Return) => {
                    self.regions.at(r.value, &mut self.stack);
                    // The frame whose call left rsp at r.value + 8, and deeper ones.
                    let after = r.value.wrapping_add(8);
                    while self.stack.last().is_some_and(|&(_, sp)| sp <= after) {
                        self.stack.pop();
                    }
                }
                Some(&Site::Call { ret }) => {
                    self.regions.at(r.value, &mut self.stack);
                    while self.stack.last().is_some_and(|&(_, sp)| sp <= r.value) {
                        self.stack.pop();
                    }
                    let id = crate::stacks::child(self.stack_id(), ret);
                    self.stack.push((id, r.value));
                }
                Some(&Site::Access {
                    pc,
                    size,
                    kind,
                    atomic,
                    rep,
                    spin,
                    ..
                }) => {
                    if quiet {
                        continue;
                    }
                    let size = if rep { r.extra } else { size };
                    if size == 0 {
                        continue;
                    }
                    // An `atomic` hooked call's own data, not its frames
                    // (within 1 MiB below its entry).
                    let atomic = atomic
                        || atomic_call
                            .is_some_and(|sp| sp.wrapping_sub(r.value).wrapping_sub(1) >= 1 << 20);
                    let access = MemAccess {
                        addr: r.value,
                        size,
                        kind,
                        atomic,
                        spin_read: spin,
                        pc,
                        stack: self.stack_id(),
                    };
                    // Runs of one instruction over adjacent bytes (a loop
                    // walking a buffer) become one access: between two
                    // accesses that may synchronise (atomic instructions,
                    // and plain ones to places the tool says may be atomic
                    // variables) a batch holds no synchronisation of this
                    // thread, so its accesses are in one epoch and their
                    // order does not matter. Nothing merges across such an
                    // access, nor into it.
                    let hinted = hints.is_some_and(|h| h.may_synchronise(r.value, size));
                    if atomic || hinted {
                        merge = [0; MERGE_SLOTS];
                    }
                    if hinted {
                        self.out.push(access);
                        continue;
                    }
                    let slot = &mut merge[r.site as usize % MERGE_SLOTS];
                    if let Some(prev) = (*slot as usize)
                        .checked_sub(1)
                        .and_then(|i| self.out.get_mut(i))
                    {
                        if !atomic && prev.extends(&access) {
                            continue;
                        }
                    }
                    self.out.push(access);
                    *slot = self.out.len() as u32;
                }
                Some(Site::BlockStart { .. }) | None => {}
            }
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            for a in &self.out {
                tracing::trace!(
                    thread = self.num,
                    addr = format_args!("{:#x}", a.addr),
                    size = a.size,
                    kind = ?a.kind,
                    atomic = a.atomic,
                    pc = format_args!("{:#x}", a.pc),
                    stack = ?crate::stacks::frames(a.stack),
                    "access"
                );
            }
        }
        if !self.out.is_empty() {
            tool.on_accesses(self.num, &self.out);
        }
        self.buf
    }
}

/// Places a tool says may be synchronisation variables (the race tool's
/// atomic locations), so that the flush never merges a run of accesses
/// across or into an access there: one bit per hashed 8-byte granule, set
/// only, so a collision merely stops a merge.
pub struct SyncHints {
    bits: Vec<u64>,
}

/// Bits of a `SyncHints` table (128 KiB).
const HINT_BITS: u32 = 16;

impl Default for SyncHints {
    fn default() -> Self {
        SyncHints {
            bits: vec![0; (1 << HINT_BITS) / 64],
        }
    }
}

impl SyncHints {
    #[inline]
    fn bit(granule: u64) -> (usize, u64) {
        let h = (granule.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HINT_BITS)) as usize;
        (h / 64, 1 << (h % 64))
    }

    /// The access of `size` bytes at `addr` may synchronise.
    pub fn insert(&mut self, addr: u64, size: u32) {
        let last = addr.saturating_add(u64::from(size.max(1)) - 1) >> 3;
        for g in addr >> 3..=last.min((addr >> 3) + 1) {
            let (w, m) = SyncHints::bit(g);
            self.bits[w] |= m;
        }
    }

    /// Whether an access of `size` bytes at `addr` touches a granule
    /// named by `insert` (or one that shares its bit).
    #[inline]
    pub fn may_synchronise(&self, addr: u64, size: u32) -> bool {
        let first = addr >> 3;
        let last = addr.saturating_add(u64::from(size.max(1)) - 1) >> 3;
        (first..=last.min(first + 1)).any(|g| {
            let (w, m) = SyncHints::bit(g);
            self.bits[w] & m != 0
        })
    }
}

#[cfg(test)]
mod hint_tests {
    use super::SyncHints;

    #[test]
    fn hints_cover_the_granules_of_the_access() {
        let mut h = SyncHints::default();
        assert!(!h.may_synchronise(0x1000, 4));
        h.insert(0x1004, 4);
        assert!(h.may_synchronise(0x1000, 8));
        assert!(h.may_synchronise(0x1006, 1));
        assert!(h.may_synchronise(0xffe, 4)); // straddles into the granule
        assert!(!h.may_synchronise(0x1008, 8));
    }
}
