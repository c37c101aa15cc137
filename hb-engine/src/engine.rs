//! The engine: events in, reports out. The only entry point of the crate.
//!
//! Every method takes the thread that performs the event. A thread the
//! engine has not seen starts as a root thread, ordered after nothing.
//!
//! # Invariants
//! - A thread's clock changes only at its own synchronisation events, so a
//!   caller may buffer a thread's plain accesses and hand them over in
//!   program order (`access_batch`) any time before its next sync event.
//! - Every release ends with `ThreadState::tick`, so what the thread does
//!   afterwards is not covered by the release.
//! - Sync objects, atomic locations and barriers live in ordered maps keyed
//!   by address, so a freed range drops them and iteration is deterministic.

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

use smallvec::SmallVec;

use crate::epoch::ThreadId;
use crate::filter::AccessFilter;
use crate::lock_order::LockOrderGraph;
use crate::report::{Access, AccessKind, LockOrderViolation, Misuse, MisuseKind, Race, Report};
use crate::shadow::{AccessCtx, Conflict, Entry, ShadowMemory, LOCKSET_UNKNOWN};
use crate::threads::{EngineError, HeldLock, ThreadTable};
use crate::vector_clock::VectorClock;

/// How the engine reports.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Report every racing pair of byte runs instead of one race per pair
    /// of sites (for tests that compare racy bytes with an oracle).
    pub report_every_conflict: bool,
    /// The same-epoch filter's table has 2^this slots (filter.rs); 0 for
    /// the default.
    pub filter_slots_log2: u32,
}

/// C11 memory orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryOrder {
    Relaxed,
    Acquire,
    Release,
    AcqRel,
    SeqCst,
}

impl MemoryOrder {
    pub fn acquires(self) -> bool {
        matches!(
            self,
            MemoryOrder::Acquire | MemoryOrder::AcqRel | MemoryOrder::SeqCst
        )
    }
    pub fn releases(self) -> bool {
        matches!(
            self,
            MemoryOrder::Release | MemoryOrder::AcqRel | MemoryOrder::SeqCst
        )
    }
}

/// One buffered access: 16 bytes, as translated code writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct AccessRecord {
    pub addr: u64,
    pub site: u32,
    /// Size in bytes (low 28 bits) and kind (high 4 bits).
    size_kind: u32,
}

const RECORD_WRITE: u32 = 1 << 28;
const RECORD_ATOMIC: u32 = 1 << 29;
const RECORD_SIZE_MASK: u32 = (1 << 28) - 1;

impl AccessRecord {
    /// The largest size one record can carry; split longer ranges.
    pub const MAX_SIZE: u32 = RECORD_SIZE_MASK;

    /// A plain access, or a relaxed atomic one if `atomic`.
    /// Sizes above `MAX_SIZE` are cut to it.
    pub fn new(addr: u64, size: u32, kind: AccessKind, atomic: bool, site: u32) -> AccessRecord {
        let mut size_kind = size.min(RECORD_SIZE_MASK);
        if kind == AccessKind::Write {
            size_kind |= RECORD_WRITE;
        }
        if atomic {
            size_kind |= RECORD_ATOMIC;
        }
        AccessRecord {
            addr,
            site,
            size_kind,
        }
    }
    pub fn size(&self) -> u32 {
        self.size_kind & RECORD_SIZE_MASK
    }
    pub fn kind(&self) -> AccessKind {
        if self.size_kind & RECORD_WRITE != 0 {
            AccessKind::Write
        } else {
            AccessKind::Read
        }
    }
    pub fn is_atomic(&self) -> bool {
        self.size_kind & RECORD_ATOMIC != 0
    }
}

const _: () = assert!(std::mem::size_of::<AccessRecord>() == 16);

/// The clocks a lock, condition variable, semaphore or annotation carries.
#[derive(Default)]
struct SyncObject {
    /// Joined at every exclusive unlock and at `release`.
    clock: VectorClock,
    /// Joined at read-unlocks of an rwlock; only writers acquire it.
    read_clock: VectorClock,
}

struct Barrier {
    count: u32,
    arrived: Vec<ThreadId>,
    clock: VectorClock,
}

/// Interned sets of held locks, so a shadow entry names one in 14 bits.
#[derive(Default)]
struct Locksets {
    ids: FxHashMap<SmallVec<[u64; 4]>, u32>,
    sets: Vec<SmallVec<[u64; 4]>>,
}

impl Locksets {
    fn intern(&mut self, held: &[HeldLock]) -> u32 {
        let set: SmallVec<[u64; 4]> = held.iter().map(|h| h.addr).collect();
        if let Some(&id) = self.ids.get(&set) {
            return id;
        }
        if self.sets.len() as u32 >= LOCKSET_UNKNOWN {
            return LOCKSET_UNKNOWN;
        }
        let id = self.sets.len() as u32;
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    fn get(&self, id: u32) -> Option<Vec<u64>> {
        self.sets.get(id as usize).map(|s| s.to_vec())
    }
}

/// Counters for `-v` and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub accesses: u64,
    /// Accesses the same-epoch filter found redundant (counted in `accesses`).
    pub filtered: u64,
    pub sync_events: u64,
    pub races_found: u64,
    pub shadow_pages: usize,
    pub shadow_bytes: usize,
    pub long_access_sets: usize,
    pub thread_slots: usize,
}

/// Answers "would the engine ignore this plain access of the thread?"
/// (see [`Engine::redundancy`]).
pub struct Redundancy<'a> {
    filter: &'a AccessFilter,
    tag: u64,
}

impl Redundancy<'_> {
    /// True when a plain access of `size` bytes at `addr` repeats what the
    /// thread already did since its last synchronisation: dropping it loses
    /// no race.
    #[inline]
    pub fn covers(&self, addr: u64, size: u64, write: bool) -> bool {
        self.filter.covers(addr, size, write, self.tag)
    }
}

/// The happens-before race detector.
pub struct Engine {
    config: EngineConfig,
    threads: ThreadTable,
    shadow: ShadowMemory,
    syncs: BTreeMap<u64, SyncObject>,
    atomics: BTreeMap<u64, VectorClock>,
    barriers: BTreeMap<u64, Barrier>,
    lock_order: LockOrderGraph,
    locksets: Locksets,
    reports: Vec<Report>,
    reported_sites: FxHashSet<(u32, u32)>,
    stats: EngineStats,
    /// The same-epoch filter of all threads (filter.rs).
    filter: AccessFilter,
    /// The next filter tag to hand out (never 0).
    next_tag: u64,
}

type Result<T> = std::result::Result<T, EngineError>;

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        let mut locksets = Locksets::default();
        locksets.intern(&[]); // id 0: no locks
        let filter = match config.filter_slots_log2 {
            0 => AccessFilter::default(),
            log2 => AccessFilter::new(log2),
        };
        Engine {
            config,
            threads: ThreadTable::default(),
            shadow: ShadowMemory::default(),
            syncs: BTreeMap::new(),
            atomics: BTreeMap::new(),
            barriers: BTreeMap::new(),
            lock_order: LockOrderGraph::default(),
            locksets,
            reports: Vec::new(),
            reported_sites: FxHashSet::default(),
            stats: EngineStats::default(),
            filter,
            next_tag: 1,
        }
    }

    /// The reports found since the last call.
    pub fn take_reports(&mut self) -> Vec<Report> {
        std::mem::take(&mut self.reports)
    }

    /// Vector-clock slots handed out so far (the widest clock's width).
    pub fn thread_slots(&self) -> usize {
        self.threads.slots_used()
    }

    pub fn stats(&self) -> EngineStats {
        let (pages, exts) = self.shadow.stats();
        EngineStats {
            shadow_pages: pages,
            shadow_bytes: self.shadow.memory_bytes(),
            long_access_sets: exts,
            thread_slots: self.threads.slots_used(),
            ..self.stats.clone()
        }
    }

    // ---- accesses -------------------------------------------------------

    pub fn read(&mut self, tid: ThreadId, addr: u64, size: u64, site: u32) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.check(t, addr, size, false, false, site);
        Ok(())
    }

    pub fn write(&mut self, tid: ThreadId, addr: u64, size: u64, site: u32) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.check(t, addr, size, true, false, site);
        Ok(())
    }

    /// Checks one thread's buffered accesses, in program order.
    pub fn access_batch(&mut self, tid: ThreadId, records: &[AccessRecord]) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        for record in records {
            let write = record.kind() == AccessKind::Write;
            if record.is_atomic() {
                if write {
                    self.store_atomic(
                        t,
                        record.addr,
                        u64::from(record.size()),
                        MemoryOrder::Relaxed,
                        record.site,
                    );
                } else {
                    self.load_atomic(
                        t,
                        record.addr,
                        u64::from(record.size()),
                        MemoryOrder::Relaxed,
                        record.site,
                    );
                }
            } else {
                self.check(
                    t,
                    record.addr,
                    u64::from(record.size()),
                    write,
                    false,
                    record.site,
                );
            }
        }
        Ok(())
    }

    /// A view of `tid`'s same-epoch filter (filter.rs), for a caller that
    /// wants to drop redundant accesses before it builds records for them
    /// (interning their sites, say). `None` for a thread the engine does
    /// not know yet. Accesses it does not drop must then be handed to the
    /// engine, which remembers them.
    pub fn redundancy(&self, tid: ThreadId) -> Option<Redundancy<'_>> {
        let t = self.threads.index_of(tid)?;
        Some(Redundancy {
            filter: &self.filter,
            tag: self.threads.live[t].filter_tag,
        })
    }

    /// The same-epoch filter's table (filter.rs, "Layout"): two words per
    /// slot, `granule` and `tag << 16 | write mask << 8 | read mask`, slot
    /// `granule & (len / 2 - 1)`. It is allocated once, never moves and
    /// never changes length, so translated code may read it in place: an
    /// access it finds covered for the thread's [`Engine::filter_epoch`]
    /// is one [`Redundancy::covers`] would drop.
    pub fn filter_table(&self) -> &[u64] {
        self.filter.words()
    }

    /// Makes every thread's next access to `[addr, addr + len)` reach the
    /// shadow memory (for a tool whose later accesses there mean more than
    /// plain ones: a location it has just learned is atomic).
    pub fn unfilter(&mut self, addr: u64, len: u64) {
        self.forget_filtered(addr, len);
    }

    /// A value that changes whenever thread `tid`'s own epoch ends (its
    /// same-epoch filter's tag: 0 after a tick of its own clock, until its
    /// next checked access); `None` for a thread the engine does not know
    /// yet. Equal values around a batch of accesses mean that a repeat of
    /// the batch's accesses is still dropped: the thread released nothing
    /// (acquires keep the epoch: see filter.rs, "Tags").
    pub fn filter_epoch(&self, tid: ThreadId) -> Option<u64> {
        let t = self.threads.index_of(tid)?;
        Some(self.threads.live[t].filter_tag)
    }

    /// Gives live thread `t` a fresh filter tag (at its first checked
    /// access of an epoch, or when a range was forgotten wholesale).
    fn end_filter_gen(&mut self, t: usize) {
        debug_assert!(self.next_tag < 1 << crate::filter::TAG_BITS);
        self.threads.live[t].filter_tag = self.next_tag;
        self.next_tag += 1;
    }

    /// The filter forgets `[addr, addr + len)`: every thread's next access
    /// there reaches the shadow memory.
    fn forget_filtered(&mut self, addr: u64, len: u64) {
        if !self.filter.forget(addr, len) {
            for t in 0..self.threads.live.len() {
                self.end_filter_gen(t);
            }
        }
    }

    /// Whether the access is redundant (filter.rs); otherwise remembers it.
    #[inline]
    fn filtered(&mut self, t: usize, addr: u64, size: u64, write: bool) -> bool {
        if self.threads.live[t].filter_tag == 0 {
            self.end_filter_gen(t);
        }
        let tag = self.threads.live[t].filter_tag;
        if self.filter.covers(addr, size, write, tag) {
            self.stats.filtered += 1;
            return true;
        }
        self.filter.insert(addr, size, write, tag);
        false
    }

    #[inline]
    fn check(&mut self, t: usize, addr: u64, size: u64, write: bool, atomic: bool, site: u32) {
        self.stats.accesses += 1;
        if !atomic && self.filtered(t, addr, size, write) {
            return;
        }
        let thread = &self.threads.live[t];
        let x = AccessCtx {
            clock: &thread.clock,
            slot: thread.slot,
            now: thread.now(),
            write,
            atomic,
            site,
            lockset: thread.lockset,
        };
        let mut conflicts: SmallVec<[Conflict; 2]> = SmallVec::new();
        self.shadow
            .access(addr, size, &x, &mut |c| conflicts.push(c));
        if !conflicts.is_empty() {
            self.record_races(t, addr, size, write, atomic, site, &conflicts);
        }
    }

    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn record_races(
        &mut self,
        t: usize,
        addr: u64,
        size: u64,
        write: bool,
        atomic: bool,
        site: u32,
        conflicts: &[Conflict],
    ) {
        let thread = &self.threads.live[t];
        let current = Access {
            thread: thread.tid,
            kind: if write {
                AccessKind::Write
            } else {
                AccessKind::Read
            },
            atomic,
            site,
            locks_held: Some(thread.held.iter().map(|h| h.addr).collect()),
        };
        for conflict in conflicts {
            self.stats.races_found += 1;
            let prior = self.describe(conflict.prior);
            for (racy_addr, racy_len) in byte_runs(conflict.granule_addr, conflict.mask) {
                if !self.config.report_every_conflict {
                    let key = (site.min(prior.site), site.max(prior.site));
                    if !self.reported_sites.insert(key) {
                        continue;
                    }
                }
                self.reports.push(Report::Race(Race {
                    addr,
                    size,
                    racy_addr,
                    racy_len,
                    current: current.clone(),
                    prior: prior.clone(),
                }));
            }
        }
    }

    fn describe(&self, entry: Entry) -> Access {
        Access {
            thread: self.threads.owner_at(entry.slot(), entry.epoch().clock),
            kind: if entry.is_write() {
                AccessKind::Write
            } else {
                AccessKind::Read
            },
            atomic: entry.is_atomic(),
            site: entry.site(),
            locks_held: self.locksets.get(entry.lockset()),
        }
    }

    // ---- atomics and fences ---------------------------------------------

    pub fn atomic_load(
        &mut self,
        tid: ThreadId,
        addr: u64,
        size: u64,
        order: MemoryOrder,
        site: u32,
    ) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.load_atomic(t, addr, size, order, site);
        Ok(())
    }

    pub fn atomic_store(
        &mut self,
        tid: ThreadId,
        addr: u64,
        size: u64,
        order: MemoryOrder,
        site: u32,
    ) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.store_atomic(t, addr, size, order, site);
        Ok(())
    }

    /// A read-modify-write (LOCK-prefixed instruction, CAS, fetch_add, xchg).
    pub fn atomic_rmw(
        &mut self,
        tid: ThreadId,
        addr: u64,
        size: u64,
        order: MemoryOrder,
        site: u32,
    ) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        let location = self.atomics.entry(addr).or_default();
        let thread = &mut self.threads.live[t];
        if order.acquires() {
            thread.clock.join(location);
        } else {
            thread.fence_acquire.join(location);
        }
        self.check(t, addr, size, true, true, site);
        let thread = &mut self.threads.live[t];
        let location = self.atomics.entry(addr).or_default();
        if order.releases() {
            location.join(&thread.clock);
            thread.tick();
        } else {
            location.join(&thread.fence_release);
        }
        Ok(())
    }

    fn load_atomic(&mut self, t: usize, addr: u64, size: u64, order: MemoryOrder, site: u32) {
        self.stats.sync_events += 1;
        if let Some(location) = self.atomics.get(&addr) {
            let thread = &mut self.threads.live[t];
            if order.acquires() {
                thread.clock.join(location);
            } else {
                thread.fence_acquire.join(location);
            }
        }
        self.check(t, addr, size, false, true, site);
    }

    fn store_atomic(&mut self, t: usize, addr: u64, size: u64, order: MemoryOrder, site: u32) {
        self.stats.sync_events += 1;
        self.check(t, addr, size, true, true, site);
        let thread = &mut self.threads.live[t];
        // A store starts a new release sequence: what it publishes replaces
        // what the location carried (C++20 release sequences).
        if order.releases() {
            self.atomics.insert(addr, thread.clock.clone());
            thread.tick();
        } else {
            self.atomics.insert(addr, thread.fence_release.clone());
        }
    }

    /// The `len` bytes at `addr` turn out to be an atomic location (the
    /// caller has just seen the first atomic access of it): the plain
    /// stores made there before, at the sites `is_store_of_it` accepts
    /// (stores of that size, not read-modify-writes: the caller knows the
    /// instructions), were release stores, so the location carries their
    /// writers' epochs for later acquires. What those writers had acquired
    /// from others before their stores is not known any more (the shadow
    /// keeps epochs, not clocks): an acquire of such a store orders only
    /// its writer's own earlier accesses.
    pub fn adopt_atomic(
        &mut self,
        addr: u64,
        len: u64,
        mut is_store_of_it: impl FnMut(u32) -> bool,
    ) {
        let writes = self.shadow.plain_writes(addr, len);
        if writes.is_empty() {
            return;
        }
        let location = self.atomics.entry(addr).or_default();
        for (epoch, site) in writes {
            if is_store_of_it(site) && location.get(epoch.slot) < epoch.clock {
                location.set(epoch.slot, epoch.clock);
            }
        }
    }

    pub fn fence(&mut self, tid: ThreadId, order: MemoryOrder) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        let thread = &mut self.threads.live[t];
        if order.acquires() {
            let pending = std::mem::take(&mut thread.fence_acquire);
            thread.clock.join(&pending);
            thread.fence_acquire = pending;
        }
        if order.releases() {
            thread.fence_release = thread.clock.clone();
            thread.tick();
        }
        Ok(())
    }

    // ---- locks ----------------------------------------------------------

    /// A mutex acquired (`trylock` true for a successful trylock, which
    /// cannot deadlock and so adds no lock-order edge).
    pub fn mutex_lock(
        &mut self,
        tid: ThreadId,
        mutex: u64,
        trylock: bool,
        site: u32,
    ) -> Result<()> {
        self.lock(tid, mutex, true, trylock, site)
    }

    pub fn mutex_unlock(&mut self, tid: ThreadId, mutex: u64, site: u32) -> Result<()> {
        self.unlock(tid, mutex, site)
    }

    /// An rwlock acquired for writing (`write`) or reading.
    pub fn rwlock_lock(
        &mut self,
        tid: ThreadId,
        lock: u64,
        write: bool,
        trylock: bool,
        site: u32,
    ) -> Result<()> {
        self.lock(tid, lock, write, trylock, site)
    }

    pub fn rwlock_unlock(&mut self, tid: ThreadId, lock: u64, site: u32) -> Result<()> {
        self.unlock(tid, lock, site)
    }

    fn lock(
        &mut self,
        tid: ThreadId,
        addr: u64,
        write: bool,
        trylock: bool,
        site: u32,
    ) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        let sync = self.syncs.entry(addr).or_default();
        let thread = &mut self.threads.live[t];
        thread.clock.join(&sync.clock);
        if write {
            thread.clock.join(&sync.read_clock);
        }
        if !trylock {
            let held = thread.held.iter().map(|h| (h.addr, h.site));
            for (observed, required) in self.lock_order.acquire(held, addr, site) {
                self.reports.push(Report::LockOrder(LockOrderViolation {
                    thread: tid,
                    observed,
                    required,
                }));
            }
        }
        let thread = &mut self.threads.live[t];
        match thread.held.iter_mut().find(|h| h.addr == addr) {
            Some(h) => h.depth += 1,
            None => thread.held.push(HeldLock {
                addr,
                write,
                site,
                depth: 1,
            }),
        }
        thread.lockset = self.locksets.intern(&thread.held);
        Ok(())
    }

    fn unlock(&mut self, tid: ThreadId, addr: u64, site: u32) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        let thread = &mut self.threads.live[t];
        let mut write = true;
        match thread.held.iter().position(|h| h.addr == addr) {
            Some(i) => {
                write = thread.held[i].write;
                thread.held[i].depth -= 1;
                if thread.held[i].depth == 0 {
                    thread.held.remove(i);
                }
                thread.lockset = self.locksets.intern(&thread.held);
            }
            None => {
                let owner = self
                    .threads
                    .live
                    .iter()
                    .find(|th| th.held.iter().any(|h| h.addr == addr));
                let kind = match owner {
                    Some(owner) => MisuseKind::UnlockForeign { owner: owner.tid },
                    None => MisuseKind::UnlockUnlocked,
                };
                self.reports.push(Report::Misuse(Misuse {
                    thread: tid,
                    kind,
                    object: addr,
                    site,
                }));
            }
        }
        let thread = &mut self.threads.live[t];
        let sync = self.syncs.entry(addr).or_default();
        if write {
            sync.clock.join(&thread.clock);
        } else {
            sync.read_clock.join(&thread.clock);
        }
        thread.tick();
        Ok(())
    }

    /// The lock (or any sync object) at `addr` is destroyed.
    pub fn sync_destroy(&mut self, tid: ThreadId, addr: u64, site: u32) -> Result<()> {
        self.threads.get_or_start(tid)?;
        if self
            .threads
            .live
            .iter()
            .any(|th| th.held.iter().any(|h| h.addr == addr))
        {
            let kind = MisuseKind::DestroyLocked;
            self.reports.push(Report::Misuse(Misuse {
                thread: tid,
                kind,
                object: addr,
                site,
            }));
        }
        self.forget_sync_objects(addr, addr.saturating_add(1));
        Ok(())
    }

    /// Forgets the sync object at `addr` (one of a tool's own, which no
    /// thread holds; [`Engine::sync_destroy`] is the program's destroy).
    pub fn sync_forget(&mut self, addr: u64) {
        self.forget_sync_objects(addr, addr.saturating_add(1));
    }

    // ---- release/acquire on any address ----------------------------------

    /// Publishes everything `tid` did so far at `addr` (condvar signal,
    /// semaphore post, `ANNOTATE_HAPPENS_BEFORE`, pthread_once completion).
    pub fn release(&mut self, tid: ThreadId, addr: u64) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        let thread = &mut self.threads.live[t];
        self.syncs
            .entry(addr)
            .or_default()
            .clock
            .join(&thread.clock);
        thread.tick();
        Ok(())
    }

    /// Learns everything released at `addr` so far (condvar wakeup,
    /// semaphore wait, `ANNOTATE_HAPPENS_AFTER`).
    pub fn acquire(&mut self, tid: ThreadId, addr: u64) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        if let Some(sync) = self.syncs.get(&addr) {
            let thread = &mut self.threads.live[t];
            thread.clock.join(&sync.clock);
            thread.clock.join(&sync.read_clock);
        }
        Ok(())
    }

    // ---- barriers -------------------------------------------------------

    pub fn barrier_init(&mut self, tid: ThreadId, addr: u64, count: u32) -> Result<()> {
        self.threads.get_or_start(tid)?;
        self.barriers.insert(
            addr,
            Barrier {
                count: count.max(1),
                arrived: Vec::new(),
                clock: VectorClock::default(),
            },
        );
        Ok(())
    }

    /// `tid` arrives at the barrier; when the last one arrives, every
    /// arrival happens before every departure.
    pub fn barrier_wait(&mut self, tid: ThreadId, addr: u64, site: u32) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        let Some(barrier) = self.barriers.get_mut(&addr) else {
            let kind = MisuseKind::BarrierUninitialised;
            self.reports.push(Report::Misuse(Misuse {
                thread: tid,
                kind,
                object: addr,
                site,
            }));
            return Ok(());
        };
        let thread = &mut self.threads.live[t];
        barrier.clock.join(&thread.clock);
        thread.tick();
        barrier.arrived.push(tid);
        if barrier.arrived.len() as u32 >= barrier.count {
            let clock = std::mem::take(&mut barrier.clock);
            for waiter in std::mem::take(&mut barrier.arrived) {
                if let Some(w) = self.threads.index_of(waiter) {
                    self.threads.live[w].clock.join(&clock);
                }
            }
        }
        Ok(())
    }

    // ---- threads --------------------------------------------------------

    /// `parent` starts `child`: everything `parent` did so far happens
    /// before everything `child` does.
    pub fn thread_create(&mut self, parent: ThreadId, child: ThreadId) -> Result<()> {
        let p = self.threads.get_or_start(parent)?;
        self.stats.sync_events += 1;
        self.threads.create(p, child)?;
        Ok(())
    }

    /// `joiner` learns that `child` has ended: everything `child` did
    /// happens before what `joiner` does next. A child still alive ends now.
    pub fn thread_join(&mut self, joiner: ThreadId, child: ThreadId) -> Result<()> {
        let j = self.threads.get_or_start(joiner)?;
        self.stats.sync_events += 1;
        if let Some(c) = self.threads.index_of(child) {
            if c != j {
                self.threads.exit(c);
            }
        }
        if let Some(clock) = self.threads.take_final_clock(child) {
            let j = self.threads.index_of(joiner).expect("the joiner is alive");
            self.threads.live[j].clock.join(&clock);
        }
        Ok(())
    }

    /// `child` starts with what was released at each of `after` and
    /// nothing else: a logical thread that no thread's program order
    /// covers, such as an OpenMP task, which starts from its creation and
    /// the tasks it depends on, whichever thread runs it.
    pub fn thread_start_after(&mut self, child: ThreadId, after: &[u64]) -> Result<()> {
        self.stats.sync_events += 1;
        let mut clock = VectorClock::default();
        for addr in after {
            if let Some(sync) = self.syncs.get(addr) {
                clock.join(&sync.clock);
                clock.join(&sync.read_clock);
            }
        }
        self.threads.create_with(clock, child)?;
        Ok(())
    }

    /// `tid` ends after releasing everything it did at each of `into`;
    /// nobody joins it (see [`Engine::thread_start_after`]).
    /// No tick follows its last epoch, so whoever acquires one of `into`
    /// has seen all of it and its slot can be reused.
    pub fn thread_end_into(&mut self, tid: ThreadId, into: &[u64]) -> Result<()> {
        let t = self.threads.get_or_start(tid)?;
        self.stats.sync_events += 1;
        for &addr in into {
            self.syncs
                .entry(addr)
                .or_default()
                .clock
                .join(&self.threads.live[t].clock);
        }
        self.threads.live[t].detached = true;
        self.threads.exit(t);
        Ok(())
    }

    /// `tid` ends. Its slot is reused once every live thread has seen its end.
    pub fn thread_exit(&mut self, tid: ThreadId) {
        if let Some(t) = self.threads.index_of(tid) {
            self.threads.exit(t);
        }
    }

    /// Nobody will join `child`: its final clock need not be kept.
    pub fn thread_detach(&mut self, child: ThreadId) {
        self.threads.detach(child);
    }

    // ---- ranges ---------------------------------------------------------

    /// Memory newly allocated or freed: its history is forgotten, so a
    /// reused block never races with its previous life, and sync objects
    /// inside it are destroyed.
    pub fn reset_range(&mut self, addr: u64, len: u64) {
        self.forget_filtered(addr, len);
        self.shadow.reset(addr, len);
        self.forget_sync_objects(addr, addr.saturating_add(len));
    }

    /// Forgets the access history of a range, keeping its sync objects
    /// (`VALGRIND_HG_CLEAN_MEMORY`).
    pub fn clean_range(&mut self, addr: u64, len: u64) {
        self.forget_filtered(addr, len);
        self.shadow.reset(addr, len);
    }

    /// Stops checking a range (`VALGRIND_HG_DISABLE_CHECKING`,
    /// `ANNOTATE_BENIGN_RACE_SIZED`).
    pub fn ignore_range(&mut self, addr: u64, len: u64) {
        self.forget_filtered(addr, len);
        self.shadow.ignore(addr, len);
    }

    /// Checks a range again, starting from a clean history
    /// (`VALGRIND_HG_ENABLE_CHECKING`).
    pub fn unignore_range(&mut self, addr: u64, len: u64) {
        self.forget_filtered(addr, len);
        self.shadow.reset(addr, len);
    }

    fn forget_sync_objects(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let syncs: Vec<u64> = self.syncs.range(start..end).map(|(&k, _)| k).collect();
        for k in syncs {
            self.syncs.remove(&k);
        }
        let atomics: Vec<u64> = self.atomics.range(start..end).map(|(&k, _)| k).collect();
        for k in atomics {
            self.atomics.remove(&k);
        }
        let barriers: Vec<u64> = self.barriers.range(start..end).map(|(&k, _)| k).collect();
        for k in barriers {
            self.barriers.remove(&k);
        }
        self.lock_order.remove_range(start, end);
    }
}

/// The contiguous runs of set bits of `mask`, as (address, length) from `base`.
fn byte_runs(base: u64, mask: u8) -> SmallVec<[(u64, u64); 2]> {
    let mut runs = SmallVec::new();
    let mut bit = 0u32;
    while bit < 8 {
        if mask & (1 << bit) == 0 {
            bit += 1;
            continue;
        }
        let start = bit;
        while bit < 8 && mask & (1 << bit) != 0 {
            bit += 1;
        }
        runs.push((base + u64::from(start), u64::from(bit - start)));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::byte_runs;

    #[test]
    fn byte_runs_split_a_mask() {
        assert_eq!(byte_runs(0x100, 0xff).as_slice(), &[(0x100, 8)]);
        assert_eq!(
            byte_runs(0x100, 0b1011_0001).as_slice(),
            &[(0x100, 1), (0x104, 2), (0x107, 1)]
        );
        assert!(byte_runs(0, 0).is_empty());
    }
}
