//! The race tool (`--tool=race`, also `helgrind` and `drd`): dbi's events
//! into hb-engine, the engine's reports out through hbgrind-report
//! (papers/race-tool.md).
//!
//! - Accesses: each `MemAccess` becomes an `AccessRecord` for
//!   `Engine::access_batch` (an `Update` is a write, sizes above
//!   `AccessRecord::MAX_SIZE` are split, size 0 is skipped); a LOCK-prefixed
//!   or `xchg` access is an `atomic_rmw` with `SeqCst`, handed over in
//!   order between the plain ones. Sites are interned (stack, pc) pairs
//!   (`SiteTable`). The atomics model (`lockmodels::AtomicLocations`) turns
//!   plain stores to atomic words into release stores and spin-loop loads
//!   into acquire loads. Not checked: the dynamic linker's own accesses,
//!   and glibc's thread counter (`UNSYNCHRONISING_WORDS`).
//! - Synchronisation: hooks on the pthread model's symbols go through
//!   `lockmodels::apply`; `pthread_create`'s exit maps the `pthread_t` it
//!   stored to the thread the translator saw it create; client requests
//!   (`client.rs`) add annotations.
//! - Threads: the translator's `clone` and exit events create and end
//!   engine threads (`ThreadId(thread_num)`).
//! - Heap: allocation hooks keep the live blocks (`heap.rs`); a freed or
//!   unmapped range is reset in the engine.
//!
//! # Invariants
//! - Every event of a thread reaches the engine after the accesses that
//!   thread made before it (dbi delivers them in that order, and
//!   `on_accesses` hands over its whole batch before returning), so
//!   happens-before is exact (ARCHITECTURE.md decision 11).
//! - Reports are taken from the engine after each batch and each
//!   synchronisation event and written at once (`drain`): a killed program
//!   loses no report found before.
//! - Engine errors (too many threads) are counted and reported once; they
//!   never stop the program.

mod heap; // Heap, HeapFn: live blocks, the hooked allocation functions
mod output; // Reporter: symbolised stacks, descriptions, text and XML
mod sites; // SiteTable: (stack, pc) -> site id

use std::collections::{BTreeMap, HashMap, HashSet};

use dbi::{
    AccessKind as DbiAccessKind, ExitStats, HookCall, HookRequest, Interests, Log, MemAccess,
    ModuleView, StackId, ThreadNum, Tool,
};
use hb_engine::{AccessKind, AccessRecord, Engine, EngineError, MemoryOrder, ThreadId};
use hbgrind_report::SuppressionSet;
use lockmodels::{
    held_changes, AtomicLocations, Call, Effect, ModelledFunction, ThreadLookup, PTHREAD,
    UNSYNCHRONISING_WORDS,
};

use crate::client::{self, CoreContext, Guest, GuestMemory, Request};

use self::heap::{Block, Heap, HeapFn, HEAP_FUNCTIONS};
use self::output::read_file;
pub(crate) use self::output::{CodeSymbols, ReportConfig};
use self::output::{Reporter, ThreadInfo};
use self::sites::SiteTable;

/// The default suppression files, built in (`--default-suppressions=yes`).
/// Every file listed here must parse (the unit tests load them all).
const DEFAULT_SUPPRESSIONS: &[(&str, &str)] = &[
    (
        "suppressions/default.supp",
        include_str!("../../../../suppressions/default.supp"),
    ),
    (
        "suppressions/glibc.supp",
        include_str!("../../../../suppressions/glibc.supp"),
    ),
    (
        "suppressions/ld.so.supp",
        include_str!("../../../../suppressions/ld.so.supp"),
    ),
];

/// Syscall numbers the tool acts on.
const SYS_MUNMAP: u64 = 11;
const SYS_CLONE: u64 = 56;
const SYS_CLONE3: u64 = 435;

/// Records handed to the engine at once (16 bytes each: 4 KiB).
const BATCH_RECORDS: usize = 256;

/// glibc's default thread stack size, for a `clone` that gives only the top.
const DEFAULT_STACK: u64 = 8 << 20;

/// What a hook stands for.
#[derive(Clone, Copy, Debug)]
enum Hook {
    Model(&'static ModelledFunction),
    Heap(HeapFn),
}

/// What the lock model asks of the tool: `pthread_t` values (glibc: the
/// thread's descriptor address) to threads, and the locks held now.
#[derive(Default)]
struct Pthreads {
    threads: HashMap<u64, ThreadNum>,
    held: HashSet<u64>,
}

impl ThreadLookup for Pthreads {
    fn thread_of(&self, pthread: u64) -> Option<ThreadId> {
        self.threads.get(&pthread).map(|&t| ThreadId(t))
    }
    fn is_held(&self, lock: u64) -> bool {
        self.held.contains(&lock)
    }
}

/// Per-thread filters set by DRD's `ANNOTATE_IGNORE_READS/WRITES_BEGIN`.
const IGNORE_READS: u8 = 1;
const IGNORE_WRITES: u8 = 2;

/// The race tool.
pub(crate) struct RaceTool {
    /// The report files by name, for a fork child's own (options.rs).
    files: Option<crate::options::ReportFiles>,
    engine: Engine,
    sites: SiteTable,
    hooks: Vec<(HookRequest, Hook)>,
    heap: Heap,
    pthreads: Pthreads,
    threads: BTreeMap<ThreadNum, ThreadInfo>,
    /// The last thread each thread created (`pthread_create`'s exit
    /// maps its handle to it).
    last_created: HashMap<ThreadNum, ThreadNum>,
    /// The stack of the thread a pending `clone` creates.
    pending_stack: Option<(u64, u64)>,
    /// Where each lock was first taken, for "Lock at 0x… was first observed".
    lock_sites: HashMap<u64, u32>,
    /// Locations seen under LOCK/xchg: a plain store there is a release.
    atomics: AtomicLocations,
    /// Per access of the current batch: the engine would ignore it
    /// (`Engine::redundancy`), so it is dropped before its site is interned.
    redundant: Vec<bool>,
    /// Ranges the program declared benign races (`start -> end`): a spin
    /// wait on a word there orders nothing, as in Helgrind.
    untracked: BTreeMap<u64, u64>,
    /// `IGNORE_READS | IGNORE_WRITES` by thread number.
    ignore: Vec<u8>,
    /// Addresses of glibc counters whose atomic updates order nothing
    /// (`lockmodels::UNSYNCHRONISING_WORDS`): their accesses are dropped.
    unsynchronising: Vec<u64>,
    /// The dynamic linker's code, `(start, len)`: its accesses are not
    /// checked (lazy binding writes GOT slots that PLT stubs in every
    /// thread read; Helgrind does not instrument ld.so either).
    ld_so: (u64, u64),
    batch: Vec<AccessRecord>,
    reporter: Reporter,
    core: client::Core,
    log: Log,
    error_exitcode: u8,
    verbose: bool,
    engine_errors: u64,
}

/// How to build the tool, from the options.
pub(crate) struct RaceConfig {
    pub(crate) report: ReportConfig,
    pub(crate) suppressions: SuppressionSet,
    pub(crate) error_exitcode: u8,
}

/// Reads the suppression files (the built-in ones first, unless
/// `--default-suppressions=no`); the error is the one line to print.
pub(crate) fn load_suppressions(
    files: &[String],
    defaults: bool,
) -> Result<SuppressionSet, String> {
    let mut set = SuppressionSet::new();
    if defaults {
        for (name, text) in DEFAULT_SUPPRESSIONS {
            set.add_str(name, text).map_err(|e| e.to_string())?;
        }
    }
    for file in files {
        let text = read_file(file.as_bytes())
            .map_err(|e| format!("{file}: cannot read suppression file: {}", errno_text(e)))?;
        set.add_str(file, &String::from_utf8_lossy(&text))
            .map_err(|e| e.to_string())?;
    }
    Ok(set)
}

/// Argument `i` of a hooked call; 0 past the six integer registers (a
/// model naming a stack argument would be a bug in the model, not a crash).
fn arg(call: &HookCall, i: usize) -> u64 {
    call.args.get(i).copied().unwrap_or(0)
}

/// True for the dynamic linker (`ld-linux-x86-64.so.2`, `ld-2.31.so`).
fn is_dynamic_linker(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("ld-") && name.contains(".so")
}

/// True for glibc's C library (`libc.so.6`).
fn is_libc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("libc.so") || name.starts_with("libc-2.")
}

/// The run-time addresses of the named symbols in the dynamic symbol table
/// of the ELF file at `path` (any version); none if it cannot be read.
fn find_symbols(path: &str, bias: u64, names: &[&str]) -> Vec<u64> {
    use object::{Object, ObjectSymbol};
    let Ok(data) = read_file(path.as_bytes()) else {
        return Vec::new();
    };
    let Ok(file) = object::File::parse(&*data) else {
        return Vec::new();
    };
    file.dynamic_symbols()
        .filter(|s| s.is_definition())
        .filter(|s| {
            s.name().is_ok_and(|n| {
                let base = n.split('@').next().unwrap_or(n);
                names.contains(&base)
            })
        })
        .map(|s| s.address().wrapping_add(bias))
        .collect()
}

/// The words for the errors opening a file can give.
fn errno_text(e: dbi::Errno) -> String {
    match e.0 {
        2 => "no such file".into(),
        13 => "permission denied".into(),
        20 => "a component of the path is not a directory".into(),
        21 => "is a directory".into(),
        _ => e.to_string(),
    }
}

impl RaceTool {
    /// Gives the tool its report files by name, so that a fork child
    /// writes its own (`Tool::on_fork_child`).
    pub(crate) fn with_files(mut self, files: crate::options::ReportFiles) -> Self {
        self.files = Some(files);
        self
    }

    pub(crate) fn new(config: RaceConfig, log: Log) -> Self {
        let mut hooks = Vec::new();
        for f in PTHREAD.functions {
            let request = HookRequest {
                symbol: f.symbol.to_string(),
                exit: f.has_exit_effects(),
                quiet: f.quiet,
            };
            hooks.push((request, Hook::Model(f)));
        }
        for &(symbol, heap_fn) in HEAP_FUNCTIONS {
            let request = HookRequest {
                symbol: symbol.to_string(),
                exit: heap_fn != HeapFn::Free,
                quiet: true,
            };
            hooks.push((request, Hook::Heap(heap_fn)));
        }
        let verbose = config.report.verbose;
        let mut threads = BTreeMap::new();
        threads.insert(1, ThreadInfo::default());
        RaceTool {
            files: None,
            engine: Engine::default(),
            sites: SiteTable::default(),
            hooks,
            heap: Heap::default(),
            pthreads: Pthreads::default(),
            threads,
            last_created: HashMap::new(),
            pending_stack: None,
            lock_sites: HashMap::new(),
            atomics: AtomicLocations::default(),
            redundant: Vec::new(),
            untracked: BTreeMap::new(),
            ignore: Vec::new(),
            unsynchronising: Vec::new(),
            ld_so: (0, 0),
            batch: Vec::with_capacity(BATCH_RECORDS + 8),
            reporter: Reporter::new(config.report, config.suppressions),
            core: client::Core::new(log),
            log,
            error_exitcode: config.error_exitcode,
            verbose,
            engine_errors: 0,
        }
    }

    /// Writes the reports the engine found since the last call.
    #[inline]
    fn drain(&mut self) {
        let reports = self.engine.take_reports();
        if reports.is_empty() {
            return;
        }
        self.report(reports);
    }

    #[cold]
    #[inline(never)]
    fn report(&mut self, reports: Vec<hb_engine::Report>) {
        for r in reports {
            self.reporter
                .report(r, &self.sites, &self.heap, &self.threads, &self.lock_sites);
        }
    }

    /// Counts an engine error; says so the first time.
    fn check(&mut self, result: Result<(), EngineError>) {
        if let Err(e) = result {
            self.engine_errors += 1;
            if self.engine_errors == 1 {
                self.log.line(&format!(
                    "hbgrind: warning: {e}; later events of such threads are not checked"
                ));
            }
        }
    }

    fn flush_batch(&mut self, tid: ThreadId) {
        if !self.batch.is_empty() {
            let result = self.engine.access_batch(tid, &self.batch);
            self.batch.clear();
            self.check(result);
        }
    }

    /// Whether `addr` lies in a range declared a benign race.
    fn is_untracked(&self, addr: u64) -> bool {
        !self.untracked.is_empty()
            && self
                .untracked
                .range(..=addr)
                .next_back()
                .is_some_and(|(_, &end)| addr < end)
    }

    fn ignore_flags(&self, thread: ThreadNum) -> u8 {
        self.ignore.get(thread as usize).copied().unwrap_or(0)
    }

    fn set_ignore(&mut self, thread: ThreadNum, flag: u8, on: bool) {
        let i = thread as usize;
        if self.ignore.len() <= i {
            self.ignore.resize(i + 1, 0);
        }
        if on {
            self.ignore[i] |= flag;
        } else {
            self.ignore[i] &= !flag;
        }
    }

    /// Applies a modelled function's effects at entry (`ret` None) or exit.
    fn apply_model(&mut self, f: &'static ModelledFunction, call: &HookCall, ret: Option<u64>) {
        let site = self.sites.intern(call.stack, call.function);
        if ret.is_some() {
            for (_, effect) in f.effects {
                if let Effect::Lock { lock, .. } | Effect::RwLock { lock, .. } = *effect {
                    self.lock_sites.entry(arg(call, lock)).or_insert(site);
                }
            }
        }
        let c = Call {
            thread: ThreadId(call.thread),
            args: &call.args,
            ret,
            site,
        };
        let result = lockmodels::apply(&mut self.engine, f, &c, &self.pthreads);
        self.check(result);
        if let Some(word) = f.atomic_word(ret) {
            self.atomics.declare(arg(call, word));
        }
        for (lock, held) in held_changes(f, &c) {
            if held {
                self.pthreads.held.insert(lock);
            } else {
                self.pthreads.held.remove(&lock);
            }
        }
        if let (Some(handle), Some(ret)) = (f.spawned_handle(), ret) {
            if ret as u32 == 0 {
                if let (Some(child), Some(pthread)) = (
                    self.last_created.remove(&call.thread),
                    Guest.read_u64(arg(call, handle)),
                ) {
                    self.pthreads.threads.insert(pthread, child);
                }
            }
        }
        self.drain();
    }

    fn heap_entry(&mut self, heap_fn: HeapFn, call: &HookCall) {
        if heap_fn == HeapFn::Free {
            self.free_block(call.args[0]);
        }
    }

    fn heap_exit(&mut self, heap_fn: HeapFn, call: &HookCall, ret: u64) {
        let start = match heap_fn {
            HeapFn::Free | HeapFn::Internal => return,
            HeapFn::PosixMemalign => {
                if ret as u32 != 0 {
                    return;
                }
                match Guest.read_u64(call.args[0]) {
                    Some(p) => p,
                    None => return,
                }
            }
            _ => ret,
        };
        if heap_fn == HeapFn::Realloc && call.args[0] != 0 && (start != 0 || call.args[1] == 0) {
            self.free_block(call.args[0]);
        }
        if start == 0 {
            return;
        }
        let size = heap_fn.size(&call.args);
        let site = self.sites.intern(call.stack, call.function);
        let block = Block {
            start,
            size,
            site,
            thread: call.thread,
        };
        for old in self.heap.alloc(block) {
            self.forget(old.start, old.size);
        }
        self.forget(start, size);
    }

    fn free_block(&mut self, start: u64) {
        if let Some(b) = self.heap.free(start) {
            self.forget(b.start, b.size);
        }
    }

    /// The bytes went away (freed, unmapped, reallocated): no history, no
    /// sync objects, no atomic locations, no held locks.
    fn forget(&mut self, start: u64, len: u64) {
        self.engine.reset_range(start, len);
        self.atomics.forget_range(start, len);
        if !self.pthreads.held.is_empty() {
            let end = start.saturating_add(len);
            self.pthreads.held.retain(|&l| !(start..end).contains(&l));
        }
    }

    /// The race tool's own client requests (after the core ones).
    fn request(&mut self, thread: ThreadNum, request: Request, site: u32) -> Option<u64> {
        let t = ThreadId(thread);
        let result = match request {
            Request::CleanMemory { addr, len } => {
                self.engine.clean_range(addr, len);
                Ok(())
            }
            Request::CleanHeapBlock { addr } => {
                return Some(match self.heap.find(addr) {
                    Some(b) => {
                        self.engine.clean_range(b.start, b.size);
                        b.size
                    }
                    None => u64::MAX, // -1: not a heap block
                });
            }
            Request::Untrack { addr, len } => {
                self.engine.ignore_range(addr, len);
                self.atomics.forget_range(addr, len);
                self.untracked.insert(addr, addr.saturating_add(len));
                Ok(())
            }
            Request::Track { addr, len } => {
                self.engine.unignore_range(addr, len);
                let end = addr.saturating_add(len);
                self.untracked.retain(|&s, &mut e| e <= addr || s >= end);
                Ok(())
            }
            Request::HappensBefore { object } | Request::SemPost { sem: object } => {
                self.engine.release(t, object)
            }
            Request::HappensAfter { object } | Request::SemWaited { sem: object } => {
                self.engine.acquire(t, object)
            }
            Request::ForgetAll { object }
            | Request::SyncCreate { object }
            | Request::SyncDestroy { object } => self.engine.sync_destroy(t, object, site),
            Request::LockAcquired { lock, write } => {
                self.lock_sites.entry(lock).or_insert(site);
                self.engine.rwlock_lock(t, lock, write, false, site)
            }
            Request::LockReleased { lock } => self.engine.rwlock_unlock(t, lock, site),
            Request::BarrierInit { barrier, count } => {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                self.engine.barrier_init(t, barrier, count)
            }
            Request::BarrierWait { barrier } => self.engine.barrier_wait(t, barrier, site),
            Request::RecordLoads { record } => {
                self.set_ignore(thread, IGNORE_READS, !record);
                Ok(())
            }
            Request::RecordStores { record } => {
                self.set_ignore(thread, IGNORE_WRITES, !record);
                Ok(())
            }
            Request::ThreadNumber => return Some(u64::from(thread)),
            Request::Accepted => return None,
            Request::Unknown(code) => {
                self.core.count_unknown(code);
                return None;
            }
            // Core requests were answered before.
            Request::Printf { .. }
            | Request::StackRegister { .. }
            | Request::StackDeregister { .. }
            | Request::StackChange { .. }
            | Request::CountErrors => return None,
        };
        self.check(result);
        self.drain();
        Some(0)
    }
}

/// What the core requests ask of the race tool.
struct RaceContext<'a>(&'a mut Reporter);

impl CoreContext for RaceContext<'_> {
    fn errors(&self) -> u64 {
        self.0.error_count()
    }
    fn backtrace(&mut self, pc: u64, stack: StackId) -> Vec<String> {
        self.0.backtrace_lines(pc, stack)
    }
}

impl Tool for RaceTool {
    fn name(&self) -> &'static str {
        "race"
    }

    fn interests(&self) -> Interests {
        Interests {
            memory_accesses: true,
            call_stacks: true,
            threads: true,
            client_requests: true,
            modules: true,
            syscalls: true,
            ..Interests::default()
        }
    }

    fn hooks(&self) -> Vec<HookRequest> {
        self.hooks.iter().map(|(r, _)| r.clone()).collect()
    }

    fn on_accesses(&mut self, thread: ThreadNum, accesses: &[MemAccess]) {
        let tid = ThreadId(thread);
        let ignore = self.ignore_flags(thread);
        // Repeats of what this thread already did since its last
        // synchronisation change nothing in the engine: drop them first.
        // Only up to the batch's first access that may synchronise (after
        // it the thread's epoch may differ from the view's).
        let mut redundant = std::mem::take(&mut self.redundant);
        redundant.clear();
        if let Some(view) = self.engine.redundancy(tid) {
            for a in accesses {
                let write = a.kind != DbiAccessKind::Read;
                if a.atomic
                    || a.spin_read
                    || (write && self.atomics.is_atomic(a.addr))
                    || (!write && self.atomics.is_acquire_load(a.addr))
                {
                    break;
                }
                redundant.push(view.covers(a.addr, u64::from(a.size), write));
            }
        }
        for (i, a) in accesses.iter().enumerate() {
            if redundant.get(i) == Some(&true)
                || a.size == 0
                || a.pc.wrapping_sub(self.ld_so.0) < self.ld_so.1
            {
                continue;
            }
            let write = a.kind != DbiAccessKind::Read;
            if ignore != 0 {
                let flag = if write { IGNORE_WRITES } else { IGNORE_READS };
                if ignore & flag != 0 {
                    continue;
                }
            }
            let site = self.sites.intern_access(a.stack, a.pc, a.size);
            if !a.atomic {
                // The atomics model (lockmodels/src/atomics.rs): a plain
                // store to an atomic variable is a release store; a plain
                // load of a declared one, or in a spin loop, an acquire.
                let size = u64::from(a.size);
                if a.kind == DbiAccessKind::Write && self.atomics.is_atomic(a.addr) {
                    self.flush_batch(tid);
                    let result =
                        self.engine
                            .atomic_store(tid, a.addr, size, MemoryOrder::Release, site);
                    self.check(result);
                    continue;
                }
                if a.kind == DbiAccessKind::Read
                    && ((a.spin_read && !self.is_untracked(a.addr))
                        || self.atomics.is_acquire_load(a.addr))
                {
                    if a.spin_read {
                        // A spin wait: the word is a flag another thread
                        // sets, its stores releases from now on.
                        self.atomics.declare(a.addr);
                    }
                    self.flush_batch(tid);
                    let result =
                        self.engine
                            .atomic_load(tid, a.addr, size, MemoryOrder::Acquire, site);
                    self.check(result);
                    continue;
                }
            }
            if a.atomic {
                if self.unsynchronising.contains(&a.addr) {
                    continue;
                }
                self.atomics.learn(a.addr);
                self.flush_batch(tid);
                let size = u64::from(a.size);
                let result = match a.kind {
                    DbiAccessKind::Update => {
                        self.engine
                            .atomic_rmw(tid, a.addr, size, MemoryOrder::SeqCst, site)
                    }
                    DbiAccessKind::Write => {
                        self.engine
                            .atomic_store(tid, a.addr, size, MemoryOrder::SeqCst, site)
                    }
                    DbiAccessKind::Read => {
                        self.engine
                            .atomic_load(tid, a.addr, size, MemoryOrder::SeqCst, site)
                    }
                };
                self.check(result);
                continue;
            }
            let kind = if write {
                AccessKind::Write
            } else {
                AccessKind::Read
            };
            let (mut addr, mut left) = (a.addr, a.size);
            while left > 0 {
                let n = left.min(AccessRecord::MAX_SIZE);
                self.batch
                    .push(AccessRecord::new(addr, n, kind, false, site));
                addr = addr.wrapping_add(u64::from(n));
                left -= n;
            }
            if self.batch.len() >= BATCH_RECORDS {
                // Small batches stay in the L1 cache between our writes
                // and the engine's reads (perf: 2/3 of this function's
                // time went to store misses with unbounded batches).
                self.flush_batch(tid);
            }
        }
        self.flush_batch(tid);
        self.drain();
        self.redundant = redundant;
    }

    fn on_hook_entry(&mut self, call: &HookCall) {
        match self.hooks.get(call.hook).map(|(_, h)| *h) {
            Some(Hook::Model(f)) => self.apply_model(f, call, None),
            Some(Hook::Heap(h)) => self.heap_entry(h, call),
            None => {}
        }
    }

    fn on_hook_exit(&mut self, call: &HookCall, ret: u64) {
        match self.hooks.get(call.hook).map(|(_, h)| *h) {
            Some(Hook::Model(f)) => self.apply_model(f, call, Some(ret)),
            Some(Hook::Heap(h)) => self.heap_exit(h, call, ret),
            None => {}
        }
    }

    fn on_thread_create(&mut self, parent: ThreadNum, child: ThreadNum, pc: u64, stack: StackId) {
        let result = self.engine.thread_create(ThreadId(parent), ThreadId(child));
        self.check(result);
        self.threads.insert(
            child,
            ThreadInfo {
                created_at: Some((pc, stack)),
                stack: self.pending_stack.take(),
            },
        );
        self.last_created.insert(parent, child);
    }

    fn on_thread_exit(&mut self, thread: ThreadNum) {
        self.engine.thread_exit(ThreadId(thread));
        // Its stack may be reused by a later thread: stop naming it.
        if let Some(info) = self.threads.get_mut(&thread) {
            info.stack = None;
        }
    }

    fn on_client_request(
        &mut self,
        thread: ThreadNum,
        args: &[u64; 6],
        pc: u64,
        stack: StackId,
    ) -> Option<u64> {
        let request = client::decode(args);
        let mut ctx = RaceContext(&mut self.reporter);
        if let Some(v) = self.core.handle(request, &Guest, pc, stack, &mut ctx) {
            return Some(v);
        }
        let site = self.sites.intern(stack, pc);
        self.request(thread, request, site)
    }

    fn on_module_load(&mut self, module: &ModuleView<'_>) {
        if is_dynamic_linker(module.path) {
            self.ld_so = (module.start, module.len);
        }
        if is_libc(module.path) {
            for addr in find_symbols(module.path, module.bias, UNSYNCHRONISING_WORDS) {
                if !self.unsynchronising.contains(&addr) {
                    self.unsynchronising.push(addr);
                }
            }
        }
        self.reporter
            .module_loaded(module.path, module.start, module.len, module.bias);
    }

    fn on_module_unload(&mut self, start: u64, _len: u64) {
        if start == self.ld_so.0 {
            self.ld_so = (0, 0);
        }
        self.reporter.module_unloaded(start);
    }

    fn on_syscall(&mut self, nr: u64, args: &[u64; 6]) {
        match nr {
            SYS_MUNMAP => {
                self.forget(args[0], args[1]);
                self.heap.forget_range(args[0], args[1]);
            }
            SYS_CLONE if args[1] != 0 => {
                let top = args[1];
                self.pending_stack = Some((top.saturating_sub(DEFAULT_STACK), top));
            }
            SYS_CLONE3 => {
                // struct clone_args: stack at +40, stack_size at +48.
                let stack = args[0].checked_add(40).and_then(|a| Guest.read_u64(a));
                let size = args[0].checked_add(48).and_then(|a| Guest.read_u64(a));
                self.pending_stack = match (stack, size) {
                    (Some(low), Some(size)) if low != 0 => Some((low, low.saturating_add(size))),
                    _ => None,
                };
            }
            _ => {}
        }
    }

    fn on_fork_child(&mut self) {
        if let Some(files) = &mut self.files {
            let (new_log, xml) = files.after_fork();
            self.reporter.restart_in_child(new_log, xml);
        }
    }
    fn on_exec_untraced(&mut self) {
        self.reporter.close_before_exec();
    }
    fn on_exec_failed(&mut self) {
        self.reporter.reopen_after_failed_exec();
    }
    fn on_exit(&mut self, stats: &ExitStats, _log: &Log) {
        self.core.finish(self.verbose);
        if self.verbose {
            let s = self.engine.stats();
            self.log.line(&format!(
                "hbgrind: race: {} accesses checked, {} sync events, {} sites, {} live heap blocks, {} bytes of shadow memory",
                s.accesses,
                s.sync_events,
                self.sites.len(),
                self.heap.len(),
                s.shadow_bytes
            ));
        }
        let errors = self.reporter.finish();
        // dbi reports a death by signal N as status 128 + N and kills the
        // process with N after this call; --error-exitcode must not turn
        // that into an exit (Valgrind applies it to exits only). Not yet:
        // ExitStats cannot tell exit(130) from SIGINT, so such an exit
        // keeps its own status.
        // A process dying of a signal dies of it (dbi kills it after us).
        if errors > 0 && self.error_exitcode != 0 && stats.signal.is_none() {
            dbi::exit_group(i32::from(self.error_exitcode));
        }
    }
}

#[cfg(test)]
mod tests;
