//! The race tool (`--tool=race`, also `helgrind` and `drd`): dbi's events
//! into hb-engine, the engine's reports out through hbgrind-report
//! (papers/race-tool.md).
//!
//! - Accesses: each `MemAccess` becomes an `AccessRecord` for
//!   `Engine::access_batch` (an `Update` is a read then a write, sizes above
//!   `AccessRecord::MAX_SIZE` are split, size 0 is skipped); a LOCK-prefixed
//!   or `xchg` access is an `atomic_rmw` with `SeqCst`, handed over in
//!   order between the plain ones. Sites are interned (stack, pc) pairs
//!   (`SiteTable`). The atomics model (`lockmodels::AtomicLocations`) turns
//!   plain loads and stores of atomic locations into acquire loads and
//!   release stores, for the whole run: a location first seen atomic adopts
//!   its earlier plain stores as releases, and races of its earlier plain
//!   loads and stores with atomic accesses are withdrawn (`withdrawn`).
//!   Not checked: the dynamic linker's own accesses, and glibc's thread
//!   counter (`UNSYNCHRONISING_WORDS`).
//! - Synchronisation: hooks on the symbols of the lock models (the shipped
//!   files and `--lock-model`, `load_lock_models`) go through
//!   `lockmodels::apply`; `pthread_create`'s exit maps the `pthread_t` it
//!   stored to the thread the translator saw it create; client requests
//!   (`client.rs`) add annotations.
//! - Threads: the translator's `clone` and exit events create and end
//!   engine threads (`ThreadId(thread_num)`); the new thread's stack,
//!   static TLS and descriptor are reset then and at its exit
//!   (thread_memory.rs).
//! - Futexes: wakes release and woken waits acquire the futex word
//!   (`lockmodels::futex`, `--futex-sync`).
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
mod openmp; // OpenMpTasks: OpenMP task runs as logical threads
mod output; // Reporter: symbolised stacks, descriptions, text and XML
mod sites; // SiteTable: (stack, pc) -> site id
mod thread_memory; // thread_memory(): the stack, TLS and descriptor a thread owns

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

use dbi::{
    AccessKind as DbiAccessKind, BlockView, ExitStats, HookCall, HookRequest, Interests, Log,
    MemAccess, Mnemonic, ModuleView, OpAccess, StackId, Syscall, ThreadNum, Tool,
};
use hb_engine::{AccessKind, AccessRecord, Engine, EngineError, MemoryOrder, ThreadId};
use hbgrind_report::SuppressionSet;
use lockmodels::{
    builtin_models, futex, held_changes, AtomicLocations, Call, Effect, LockModel, LockModelError,
    ModelledFunction, ThreadLookup, UNSYNCHRONISING_WORDS,
};

use crate::client::{self, CoreContext, Guest, GuestMemory, Request};

use self::heap::{Block, Heap, HeapFn, HEAP_FUNCTIONS};
use self::openmp::{OmpFn, OpenMpTasks, OMP_FUNCTIONS};
use self::output::read_file;
pub(crate) use self::output::{command_line, CodeSymbols, ReportConfig};
use self::output::{Reporter, ThreadInfo};
use self::sites::SiteTable;
use self::thread_memory::{thread_memory, Clone3Stack, DEFAULT_DESCRIPTOR_SIZE};

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

/// QEMU's documented lock-free schemes, built in for QEMU binaries
/// (`is_qemu_program`) unless `--default-suppressions=no`; others name it
/// with `--suppressions=`.
const QEMU_SUPPRESSIONS: (&str, &str) = (
    "suppressions/qemu.supp",
    include_str!("../../../../suppressions/qemu.supp"),
);

/// Whether `program` (argv[0]) is a QEMU binary: `qemu-system-*`,
/// `qemu-*` (user mode, tools), or Debian's `qemu-system-*-static`...
pub(crate) fn is_qemu_program(program: &str) -> bool {
    program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .starts_with("qemu-")
}

/// Syscall numbers the tool acts on.
const SYS_MUNMAP: u64 = 11;
const SYS_CLONE: u64 = 56;
const SYS_CLONE3: u64 = 435;

const CLONE_THREAD: u64 = 0x10000;
const CLONE_SETTLS: u64 = 0x80000;

/// Records handed to the engine at once (16 bytes each: 4 KiB).
const BATCH_RECORDS: usize = 256;

/// glibc's default thread stack size, for a `clone` that gives only the top.
const DEFAULT_STACK: u64 = 8 << 20;

/// What a hook stands for.
#[derive(Clone, Debug)]
enum Hook {
    Model(std::sync::Arc<ModelledFunction>),
    Heap(HeapFn),
    OpenMp(OmpFn),
    /// Returns a handle to an object libc allocated and keeps to itself.
    LibcHandle,
}

/// libc functions that return a pointer to a heap object only libc's own
/// code looks inside (`FILE`, `DIR`): libc's plain accesses to it are its
/// own data's, like those to its `.data` and `.bss` (papers/lockmodels.md,
/// "libc's own data are its own"). Its lock words still synchronise.
const LIBC_HANDLE_FUNCTIONS: &[&str] = &[
    "fopen",
    "fopen64",
    "fdopen",
    "freopen",
    "freopen64",
    "fmemopen",
    "fopencookie",
    "open_memstream",
    "open_wmemstream",
    "popen",
    "opendir",
    "fdopendir",
];

/// What the lock model asks of the tool: `pthread_t` values (glibc: the
/// thread's descriptor address) to threads, and the locks held now.
#[derive(Default)]
struct Pthreads {
    threads: FxHashMap<u64, ThreadNum>,
    held: FxHashSet<u64>,
    /// Run-time addresses of the global symbols the models name (`&name`).
    symbols: FxHashMap<String, u64>,
}

impl ThreadLookup for Pthreads {
    fn thread_of(&self, pthread: u64) -> Option<ThreadId> {
        self.threads.get(&pthread).map(|&t| ThreadId(t))
    }
    fn is_held(&self, lock: u64) -> bool {
        self.held.contains(&lock)
    }
    fn read_word(&self, addr: u64) -> Option<u64> {
        Guest.read_u64(addr)
    }
    fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).copied()
    }
}

/// A set of instruction addresses; `contains` is a bit test for almost
/// every pc (it is asked for every plain store).
struct PcSet {
    filter: Vec<u64>,
    pcs: FxHashSet<u64>,
}

const PC_FILTER_BITS: usize = 1 << 16;

impl Default for PcSet {
    fn default() -> Self {
        PcSet {
            filter: vec![0; PC_FILTER_BITS / 64],
            pcs: FxHashSet::default(),
        }
    }
}

impl PcSet {
    #[inline]
    fn bit(pc: u64) -> (usize, u64) {
        let h = (pc.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize;
        (h / 64, 1 << (h % 64))
    }

    fn insert(&mut self, pc: u64) {
        let (w, m) = Self::bit(pc);
        self.filter[w] |= m;
        self.pcs.insert(pc);
    }

    #[inline]
    fn contains(&self, pc: u64) -> bool {
        let (w, m) = Self::bit(pc);
        self.filter[w] & m != 0 && self.pcs.contains(&pc)
    }
}

/// A set of site ids (dense, so one bit each).
#[derive(Default)]
struct SiteSet(Vec<u64>);

impl SiteSet {
    #[inline]
    fn insert(&mut self, site: u32) {
        let (w, m) = (site as usize / 64, 1u64 << (site % 64));
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= m;
    }

    fn contains(&self, site: u32) -> bool {
        let (w, m) = (site as usize / 64, 1u64 << (site % 64));
        self.0.get(w).is_some_and(|&b| b & m != 0)
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
    /// OpenMP task runs as logical threads (openmp.rs).
    openmp: OpenMpTasks,
    /// The index of the hook request task bodies are hooked under.
    task_body_hook: usize,
    pthreads: Pthreads,
    threads: BTreeMap<ThreadNum, ThreadInfo>,
    /// The last thread each thread created (`pthread_create`'s exit
    /// maps its handle to it).
    last_created: FxHashMap<ThreadNum, ThreadNum>,
    /// The stack of the thread a pending `clone` creates.
    pending_stack: Option<(u64, u64)>,
    /// The last `clone3` of a thread, refused by the translator: glibc
    /// repeats it as a `clone` (thread_memory.rs).
    pending_clone3: Option<Clone3Stack>,
    /// The memory (stack, TLS, descriptor) of the thread a pending `clone`
    /// creates, forgotten when it is created.
    pending_memory: Option<(u64, u64)>,
    /// Each live thread's memory, forgotten again when it exits.
    thread_memory: FxHashMap<ThreadNum, (u64, u64)>,
    /// Where libc says how big its thread descriptor is
    /// (`_thread_db_sizeof_pthread`), read at the first thread creation.
    descriptor_size_at: Option<u64>,
    descriptor_size: Option<u64>,
    /// `--futex-sync=yes`: futex wakes release and woken waits acquire
    /// the futex word (lockmodels::futex).
    futex_sync: bool,
    /// The global symbols the lock models name (`&name`), looked up in
    /// each module as it is loaded (`Pthreads::symbols`).
    model_symbols: Vec<String>,
    /// Waiters of the first word were requeued to these (`FUTEX_CMP_REQUEUE`).
    requeued: FxHashMap<u64, Vec<u64>>,
    /// Where each lock was first taken, for "Lock at 0x… was first observed".
    lock_sites: FxHashMap<u64, u32>,
    /// Atomic locations: plain loads there are acquires, stores releases.
    atomics: AtomicLocations,
    /// The atomic locations, for dbi's flush (no merging across them).
    sync_hints: dbi::SyncHints,
    /// The last `on_accesses` made a synchronisation event of its thread
    /// (`Tool::accesses_synchronised`).
    batch_synchronised: bool,
    /// Per access of the current batch: the engine would ignore it
    /// (`Engine::redundancy`), so it is dropped before its site is interned.
    redundant: Vec<bool>,
    /// Instructions whose plain stores are atomic stores, by pc: a store
    /// right before a full fence (GCC's seq_cst store, `mov` then `mfence`,
    /// and a relaxed store then `atomic_thread_fence`), and every `mov`
    /// store of a threading runtime (`on_block`; papers/lockmodels.md,
    /// "Atomics", "OpenMP"). Only stores: loads need no lookup.
    seq_cst_stores: PcSet,
    /// Sites of plain (not LOCK-prefixed) read-modify-writes.
    plain_updates: SiteSet,
    /// Races taken back by the atomics model (`withdrawn`), for `-v`.
    withdrawn_races: u64,
    /// Memory operand sizes of decoded instructions, by pc (0: none).
    operand_sizes: FxHashMap<u64, u32>,
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
    /// glibc's code and its writable data (`.data`, `.bss`, RELRO), each
    /// `(start, len)`: libc's accesses to its own data are not checked
    /// (papers/lockmodels.md, "libc's own data are its own").
    libc_text: (u64, u64),
    libc_data: (u64, u64),
    /// Heap objects libc handed out as handles (`LIBC_HANDLE_FUNCTIONS`),
    /// `start -> end`, until freed: libc's own data too.
    libc_objects: BTreeMap<u64, u64>,
    /// Threading runtimes (libgomp) mapped: (start, len). Their plain
    /// accesses are not checked, but their `mov` stores are release stores
    /// and so their loads of those words acquire loads (papers/lockmodels.md,
    /// "OpenMP").
    runtime_libs: Vec<(u64, u64)>,
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
    pub(crate) futex_sync: bool,
    /// The shipped lock models and the user's `--lock-model` files, merged.
    pub(crate) lock_models: LockModel,
}

/// The shipped lock models, then each `--lock-model` file in order (a
/// later function of the same symbol replaces an earlier one); the error
/// is the one line to print. The launcher refused malformed files before
/// the program started, so an error here means the file changed since.
pub(crate) fn load_lock_models(files: &[String]) -> Result<LockModel, String> {
    let mut all = LockModel::default();
    for model in builtin_models() {
        all.merge(model.clone());
    }
    for file in files {
        let text = read_file(file.as_bytes()).map_err(|e| {
            LockModelError::Read {
                file: file.clone(),
                reason: e.open_error_text(),
            }
            .to_string()
        })?;
        let model =
            LockModel::parse(file, &String::from_utf8_lossy(&text)).map_err(|e| e.to_string())?;
        all.merge(model);
    }
    Ok(all)
}

/// Reads the suppression files (the built-in ones first, unless
/// `--default-suppressions=no`, with QEMU's for a QEMU `program`); the
/// error is the one line to print.
pub(crate) fn load_suppressions(
    files: &[String],
    defaults: bool,
    program: &str,
) -> Result<SuppressionSet, String> {
    let mut set = SuppressionSet::new();
    if defaults {
        let qemu = is_qemu_program(program).then_some(&QEMU_SUPPRESSIONS);
        for (name, text) in DEFAULT_SUPPRESSIONS.iter().chain(qemu) {
            set.add_str(name, text).map_err(|e| e.to_string())?;
        }
    }
    for file in files {
        let text = read_file(file.as_bytes()).map_err(|e| {
            format!(
                "{file}: cannot read suppression file: {}",
                e.open_error_text()
            )
        })?;
        set.add_str(file, &String::from_utf8_lossy(&text))
            .map_err(|e| e.to_string())?;
    }
    Ok(set)
}

/// True for the dynamic linker (`ld-linux-x86-64.so.2`, `ld-2.31.so`).
fn is_dynamic_linker(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("ld-") && name.contains(".so")
}

/// The memory operand size of the guest instruction at `pc`, decoded once
/// into `cache` (0 there: none, or unreadable).
fn operand_size_cached(cache: &mut FxHashMap<u64, u32>, pc: u64) -> Option<u32> {
    if let Some(&size) = cache.get(&pc) {
        return (size != 0).then_some(size);
    }
    let mut code = [0u8; 15];
    let mut len = code.len();
    while len > 0 && !dbi::read_guest(pc, &mut code[..len]) {
        len -= 1;
    }
    let mut decoder = iced_x86::Decoder::with_ip(64, &code[..len], pc, 0);
    let size = if len == 0 {
        0
    } else {
        decoder.decode().memory_size().size() as u32
    };
    cache.insert(pc, size);
    (size != 0).then_some(size)
}

/// True for an OpenMP runtime whose internal data are its own business
/// (GCC's `libgomp.so`, LLVM's `libomp.so`).
fn is_threading_runtime(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("libgomp.so") || name.starts_with("libomp.so")
}

/// True for glibc's C library (`libc.so.6`).
/// Whether `addr` lies in one of the disjoint ranges `start -> end`.
fn in_ranges(ranges: &BTreeMap<u64, u64>, addr: u64) -> bool {
    !ranges.is_empty()
        && ranges
            .range(..=addr)
            .next_back()
            .is_some_and(|(_, &end)| addr < end)
}

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

/// The run-time span `(start, len)` covering the writable loadable
/// segments of the ELF file at `path` (its `.data`, `.bss` and RELRO
/// data), `(0, 0)` when it has none or cannot be read.
fn writable_span(path: &str, bias: u64) -> (u64, u64) {
    use object::{Object, ObjectSegment, SegmentFlags};
    const PF_W: u32 = 2;
    let Ok(data) = read_file(path.as_bytes()) else {
        return (0, 0);
    };
    let Ok(file) = object::File::parse(&*data) else {
        return (0, 0);
    };
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for seg in file.segments() {
        if matches!(seg.flags(), SegmentFlags::Elf { p_flags } if p_flags & PF_W != 0) {
            lo = lo.min(seg.address());
            hi = hi.max(seg.address().saturating_add(seg.size()));
        }
    }
    if lo >= hi {
        return (0, 0);
    }
    (lo.wrapping_add(bias), hi - lo)
}

/// The run-time addresses of the named symbols defined in the ELF file at
/// `path`, from its dynamic and its full symbol table (a program's own
/// globals are often only in `.symtab`); none if it cannot be read.
fn find_any_symbols(path: &str, bias: u64, names: &[String]) -> Vec<(String, u64)> {
    use object::{Object, ObjectSymbol};
    let Ok(data) = read_file(path.as_bytes()) else {
        return Vec::new();
    };
    let Ok(file) = object::File::parse(&*data) else {
        return Vec::new();
    };
    file.dynamic_symbols()
        .chain(file.symbols())
        .filter(|s| s.is_definition() && s.address() != 0)
        .filter(|s| s.kind() != object::SymbolKind::Tls)
        .filter_map(|s| {
            let name = s.name().ok()?;
            let base = name.split('@').next().unwrap_or(name);
            names
                .iter()
                .any(|n| n == base)
                .then(|| (base.to_string(), s.address().wrapping_add(bias)))
        })
        .collect()
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
        let mut model_symbols = Vec::new();
        for f in config.lock_models.functions {
            let request = HookRequest {
                symbol: f.symbol.clone(),
                exit: f.has_exit_effects(),
                quiet: f.quiet,
                atomic: f.atomic,
            };
            model_symbols.extend(f.symbols().map(str::to_string));
            hooks.push((request, Hook::Model(std::sync::Arc::new(f))));
        }
        for &(symbol, heap_fn) in HEAP_FUNCTIONS {
            let request = HookRequest {
                symbol: symbol.to_string(),
                exit: heap_fn != HeapFn::Free,
                quiet: true,
                atomic: false,
            };
            hooks.push((request, Hook::Heap(heap_fn)));
        }
        for symbol in LIBC_HANDLE_FUNCTIONS {
            let request = HookRequest {
                symbol: symbol.to_string(),
                exit: true,
                quiet: false,
                atomic: false,
            };
            hooks.push((request, Hook::LibcHandle));
        }
        let mut task_body_hook = usize::MAX;
        for &(symbol, f) in OMP_FUNCTIONS {
            if f == OmpFn::Body {
                task_body_hook = hooks.len();
            }
            let request = HookRequest {
                symbol: symbol.to_string(),
                exit: true,
                quiet: false,
                atomic: false,
            };
            hooks.push((request, Hook::OpenMp(f)));
        }
        let verbose = config.report.verbose;
        let mut threads = BTreeMap::new();
        threads.insert(1, ThreadInfo::default());
        RaceTool {
            files: None,
            engine: Engine::default(),
            sites: SiteTable::default(),
            hooks,
            openmp: OpenMpTasks::default(),
            task_body_hook,
            heap: Heap::default(),
            pthreads: Pthreads::default(),
            threads,
            last_created: FxHashMap::default(),
            pending_stack: None,
            pending_clone3: None,
            pending_memory: None,
            thread_memory: FxHashMap::default(),
            descriptor_size_at: None,
            descriptor_size: None,
            futex_sync: config.futex_sync,
            model_symbols,
            requeued: FxHashMap::default(),
            lock_sites: FxHashMap::default(),
            atomics: AtomicLocations::default(),
            sync_hints: dbi::SyncHints::default(),
            batch_synchronised: true,
            redundant: Vec::new(),
            seq_cst_stores: PcSet::default(),
            plain_updates: SiteSet::default(),
            withdrawn_races: 0,
            operand_sizes: FxHashMap::default(),
            untracked: BTreeMap::new(),
            ignore: Vec::new(),
            unsynchronising: Vec::new(),
            ld_so: (0, 0),
            libc_text: (0, 0),
            libc_data: (0, 0),
            libc_objects: BTreeMap::new(),
            runtime_libs: Vec::new(),
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
            if let hb_engine::Report::Race(race) = &r {
                if self.withdrawn(race) {
                    self.withdrawn_races += 1;
                    continue;
                }
            }
            self.reporter
                .report(r, &self.sites, &self.heap, &self.threads, &self.lock_sites);
        }
    }

    /// Whether a race is one the atomics model takes back: its bytes are
    /// one atomic location, and each plain side is a load or store whose
    /// instruction accesses that location's size, made before the location
    /// was known to be atomic (so the engine saw it plain). Under the
    /// whole-run rule it was an atomic access too. Plain read-modify-writes
    /// and accesses of another size stay races.
    fn withdrawn(&mut self, race: &hb_engine::Race) -> bool {
        let Some(learned) = self.atomics.size_at(race.racy_addr) else {
            return false;
        };
        if learned != 0 && race.racy_len != u64::from(learned) {
            return false;
        }
        for side in [&race.current, &race.prior] {
            if side.atomic {
                continue;
            }
            if self.plain_updates.contains(side.site) {
                return false;
            }
            if learned != 0 {
                let pc = self.sites.get(side.site).map(|s| s.pc);
                if pc.and_then(|pc| self.operand_size(pc)) != Some(learned) {
                    return false;
                }
            }
        }
        true
    }

    /// `on_accesses_of` for a process with a threading runtime mapped: the
    /// runtime's plain read-modify-writes (`sub [m], 1` on libgomp's
    /// `team->task_count`, under its task lock, which a thread arriving
    /// last at a barrier reads without the lock) are atomic ones, as its
    /// `mov` stores are release stores (`on_block`): on x86-64 each of them
    /// publishes what its thread did before (papers/lockmodels.md,
    /// "OpenMP"). The batch is handed over in order around them.
    fn on_accesses_with_runtime(
        &mut self,
        tid: ThreadId,
        thread: ThreadNum,
        accesses: &[MemAccess],
    ) {
        let mut start = 0;
        for (i, a) in accesses.iter().enumerate() {
            if a.kind == DbiAccessKind::Update && !a.atomic && self.is_runtime_code(a.pc) {
                self.on_accesses_of(tid, thread, &accesses[start..i]);
                start = i + 1;
                if a.size == 0 || self.ignore_flags(thread) != 0 {
                    continue;
                }
                let site = self.sites.intern_access(a.stack, a.pc, a.size);
                // Atomic at any size: the runtime also stores the word as
                // part of a wider one (`gomp_new_team` clears `task_count`
                // with the next field in one 8-byte `mov`).
                self.declare(a.addr);
                let result = self.engine.atomic_rmw(
                    tid,
                    a.addr,
                    u64::from(a.size),
                    MemoryOrder::SeqCst,
                    site,
                );
                self.check(result);
                self.drain();
            }
        }
        self.on_accesses_of(tid, thread, &accesses[start..]);
    }

    /// Whether `pc` lies in a threading runtime (libgomp, libomp).
    fn is_runtime_code(&self, pc: u64) -> bool {
        self.runtime_libs
            .iter()
            .any(|&(start, len)| pc.wrapping_sub(start) < len)
    }

    /// The memory operand size of the guest instruction at `pc` (decoded
    /// once; `None` if it cannot be read or has none).
    fn operand_size(&mut self, pc: u64) -> Option<u32> {
        operand_size_cached(&mut self.operand_sizes, pc)
    }

    /// Whether a plain access longer than the atomic location it starts at
    /// is a run of accesses of that location's size (dbi merges one
    /// instruction's accesses to adjacent bytes: a loop over an array of
    /// atomic words) rather than one wider access (a mixed-size race).
    fn is_run_of(&mut self, a: &MemAccess, element: u32) -> bool {
        a.size.is_multiple_of(element) && self.operand_size(a.pc) == Some(element)
    }

    /// A merged run of `element`-sized loads or stores: each element that
    /// is an atomic location is an acquire load or release store, the
    /// others plain accesses.
    fn atomic_run(&mut self, tid: ThreadId, a: &MemAccess, element: u32, site: u32) {
        let write = a.kind != DbiAccessKind::Read;
        let end = a.addr.saturating_add(u64::from(a.size));
        let mut addr = a.addr;
        while addr < end {
            if self.atomics.is_atomic(addr, element) {
                self.flush_batch(tid);
                let size = u64::from(element);
                let result = if write {
                    self.engine
                        .atomic_store(tid, addr, size, MemoryOrder::Release, site)
                } else {
                    self.engine
                        .atomic_load(tid, addr, size, MemoryOrder::Acquire, site)
                };
                self.check(result);
            } else {
                let kind = if write {
                    AccessKind::Write
                } else {
                    AccessKind::Read
                };
                self.batch
                    .push(AccessRecord::new(addr, element, kind, false, site));
            }
            addr = addr.saturating_add(u64::from(element));
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

    /// Whether `addr` lies in a heap object libc keeps to itself.
    fn is_libc_object(&self, addr: u64) -> bool {
        in_ranges(&self.libc_objects, addr)
    }

    /// Whether `addr` lies in a range declared a benign race.
    fn is_untracked(&self, addr: u64) -> bool {
        in_ranges(&self.untracked, addr)
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
    fn apply_model(&mut self, f: &ModelledFunction, call: &HookCall, ret: Option<u64>) {
        let site = self.sites.intern(call.stack, call.function);
        if ret.is_some() {
            for (_, effect) in &f.effects {
                if let Effect::Lock { lock, .. } | Effect::RwLock { lock, .. } = effect {
                    if let Some(lock) = lock.resolve(&call.args, &self.pthreads) {
                        self.lock_sites.entry(lock).or_insert(site);
                    }
                }
            }
        }
        let c = Call {
            thread: self.openmp.current(call.thread),
            args: &call.args,
            ret,
            site,
        };
        let result = lockmodels::apply(&mut self.engine, f, &c, &self.pthreads);
        self.check(result);
        if let Some(word) = f
            .atomic_word(ret)
            .and_then(|w| w.resolve(&call.args, &self.pthreads))
        {
            self.declare(word);
        }
        let changes: Vec<(u64, bool)> = held_changes(f, &c, &self.pthreads).collect();
        for (lock, held) in changes {
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
                    handle
                        .resolve(&call.args, &self.pthreads)
                        .and_then(|h| Guest.read_u64(h)),
                ) {
                    self.pthreads.threads.insert(pthread, child);
                }
            }
        }
        self.drain();
    }

    fn heap_entry(&mut self, heap_fn: HeapFn, call: &HookCall) {
        if heap_fn == HeapFn::Free {
            self.openmp.freed(call.args[0], &mut self.engine);
            self.free_block(call.args[0]);
        }
    }

    /// What an event of the OpenMP task model asks for: a task run that
    /// began is named in reports by its creating call; stack that a task
    /// run owns has no history from before (or after) it.
    fn openmp_effects(&mut self, effects: Result<openmp::Effects, EngineError>) {
        match effects {
            Ok(e) => {
                if e.saturated {
                    self.log.line(&format!(
                        "hbgrind: warning: OpenMP tasks hold {} vector-clock slots; later task runs are checked as their threads' accesses (races between those tasks may be missed)",
                        openmp::TASK_SLOT_BUDGET
                    ));
                }
                if let Some((tid, site)) = e.started {
                    self.threads.insert(
                        tid.0,
                        ThreadInfo {
                            created_at: Some(site),
                            stack: None,
                        },
                    );
                }
                for (start, len) in e.forget {
                    self.forget(start, len);
                }
            }
            Err(e) => self.check(Err(e)),
        }
        self.drain();
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
        self.openmp.allocated(call.thread, start, size);
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
        if !self.libc_objects.is_empty() {
            let end = start.saturating_add(len);
            self.libc_objects.retain(|&s, _| s < start || s >= end);
        }
        self.engine.reset_range(start, len);
        self.atomics.forget_range(start, len);
        if !self.pthreads.held.is_empty() {
            let end = start.saturating_add(len);
            self.pthreads.held.retain(|&l| !(start..end).contains(&l));
        }
    }

    /// An atomic access of `size` bytes at `addr` (the batch before it
    /// flushed): a location seen atomic for the first time adopts the plain
    /// stores made to it before as release stores (the whole-run rule).
    fn learn(&mut self, addr: u64, size: u32) {
        if self.atomics.learn(addr, size) {
            self.sync_hints.insert(addr, size);
            self.adopt(addr, size);
            // Plain accesses there are acquire loads and release stores
            // from now on: none may be left out as a repeat of an earlier
            // plain one (`Tool::inline_filter`).
            self.engine.unfilter(addr, u64::from(size));
        }
    }

    /// A word a model or a futex call names is atomic, whatever its size
    /// (4 bytes for what it adopts: futex words and `pthread_once_t`).
    fn declare(&mut self, addr: u64) {
        if self.atomics.declare(addr) {
            self.sync_hints.insert(addr, 4);
            self.adopt(addr, 4);
            self.engine.unfilter(addr, 4);
        }
    }

    /// The plain stores of `size` bytes made to a new atomic location were
    /// release stores (`Engine::adopt_atomic`); wider or narrower stores
    /// and plain read-modify-writes were not atomic accesses of it.
    fn adopt(&mut self, addr: u64, size: u32) {
        let mut accepted: Vec<(u32, bool)> = Vec::new();
        let (sites, plain_updates, operand_sizes) =
            (&self.sites, &self.plain_updates, &mut self.operand_sizes);
        self.engine.adopt_atomic(addr, u64::from(size), |site| {
            if let Some(&(_, ok)) = accepted.iter().find(|(s, _)| *s == site) {
                return ok;
            }
            let pc = sites.get(site).map(|s| s.pc);
            let ok = !plain_updates.contains(site)
                && pc.and_then(|pc| operand_size_cached(operand_sizes, pc)) == Some(size);
            accepted.push((site, ok));
            ok
        });
    }

    /// libc's `sizeof(struct pthread)`, read once it is mapped.
    fn descriptor_size(&mut self) -> u64 {
        if self.descriptor_size.is_none() {
            if let Some(at) = self.descriptor_size_at {
                self.descriptor_size = Guest
                    .read_u32(at)
                    .map(u64::from)
                    .filter(|&n| (64..=1 << 16).contains(&n));
            }
        }
        self.descriptor_size.unwrap_or(DEFAULT_DESCRIPTOR_SIZE)
    }

    /// A futex call starts: a wake releases its words; every word it names
    /// is an atomic variable from now on (lockmodels::futex).
    fn futex_call(&mut self, thread: ThreadNum, nr: u64, args: &[u64; 6]) {
        let Some(op) = futex::decode(nr, args) else {
            return;
        };
        for word in op.words() {
            self.declare(word);
        }
        if let Some((from, to)) = op.requeue {
            if from != to {
                let targets = self.requeued.entry(from).or_default();
                if !targets.contains(&to) {
                    targets.push(to);
                }
            }
        }
        let t = self.openmp.current(thread);
        if let Some(word) = op.rmw {
            // The kernel's atomic update, made for this thread (the
            // syscall is its site: dbi gives syscalls no call stack).
            let site = self.sites.intern(StackId(0), 0);
            let result = self
                .engine
                .atomic_rmw(t, word, 4, MemoryOrder::SeqCst, site);
            self.check(result);
        }
        for word in op.releases.into_iter().filter(|&w| w != 0) {
            let result = self.engine.release(t, word);
            self.check(result);
        }
        self.drain();
    }

    /// A futex call returned: a woken wait acquires its words (and those
    /// its waiters were requeued to).
    fn futex_return(&mut self, thread: ThreadNum, nr: u64, args: &[u64; 6], ret: i64) {
        let mut words: Vec<u64> = Vec::new();
        if nr == futex::SYS_FUTEX_WAITV {
            // ret is the index of the woken entry of struct futex_waitv
            // { u64 val; u64 uaddr; u32 flags; u32 reserved; }[n].
            if ret >= 0 && (ret as u64) < args[1] {
                let at = (ret as u64)
                    .checked_mul(24)
                    .and_then(|o| o.checked_add(8))
                    .and_then(|o| args[0].checked_add(o));
                if let Some(word) = at.and_then(|a| Guest.read_u64(a)) {
                    self.declare(word);
                    words.push(word);
                }
            }
        } else if ret == 0 {
            match futex::decode(nr, args) {
                Some(op) => words.extend(op.acquires_on_success.iter().filter(|&&w| w != 0)),
                None => return,
            }
        }
        if words.is_empty() {
            return;
        }
        let t = self.openmp.current(thread);
        let requeued: Vec<u64> = words
            .iter()
            .filter_map(|w| self.requeued.get(w))
            .flatten()
            .copied()
            .collect();
        for word in words.into_iter().chain(requeued) {
            let result = self.engine.acquire(t, word);
            self.check(result);
        }
        self.drain();
    }

    /// The race tool's own client requests (after the core ones).
    fn request(&mut self, thread: ThreadNum, request: Request, site: u32) -> Option<u64> {
        let t = self.openmp.current(thread);
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
            // Same-epoch repeats change nothing in the engine (filter.rs).
            repeat_filter: true,
            // No thread writes read-only file memory.
            skip_readonly_reads: true,
            call_stacks: true,
            threads: true,
            client_requests: true,
            modules: true,
            syscalls: true,
            blocks: true,
            ..Interests::default()
        }
    }

    fn hooks(&self) -> Vec<HookRequest> {
        self.hooks.iter().map(|(r, _)| r.clone()).collect()
    }

    fn on_block(&mut self, block: &BlockView<'_>) {
        if self.is_runtime_code(block.guest_pc) {
            // A threading runtime publishes with plain `mov`s: on x86-64
            // its C11 release stores and acquire loads are `mov`s that
            // nothing tells apart from its other accesses (libgomp's
            // barrier generation, a task's `children` cleared for
            // `taskwait`). So every `mov` store of it is a release store,
            // its location atomic from then on, and the runtime's later
            // loads there acquire loads, whatever shape its spin waits have.
            for (insn, memory) in block.instructions.iter().zip(block.memory) {
                if insn.mnemonic() == Mnemonic::Mov
                    && memory.iter().any(|u| u.access() == OpAccess::Write)
                {
                    self.seq_cst_stores.insert(insn.ip());
                }
            }
        }
        // Around a full fence (papers/lockmodels.md, "Atomics"): a `mov`
        // store right before it is a seq_cst store (GCC's seq_cst store is
        // `mov` then `mfence`; a relaxed store followed by
        // `atomic_thread_fence(seq_cst)` is `mov` then `lock or [rsp], 0`,
        // QEMU's `smp_mb()`). Its location is an atomic variable from then
        // on, so in a store-fence-load handshake (Dekker's) whose other
        // side stores before a fence too, both loads are acquire loads.
        let memory = |i: usize| block.memory.get(i).map_or(&[][..], |m| &m[..]);
        for i in 1..block.instructions.len() {
            let store = &block.instructions[i - 1];
            if is_full_fence(&block.instructions[i], memory(i)) && plain_store(store, memory(i - 1))
            {
                self.seq_cst_stores.insert(store.ip());
            }
        }
    }

    fn inline_filter(&self) -> Option<dbi::InlineFilter> {
        dbi::InlineFilter::over(self.engine.filter_table())
    }

    fn inline_filter_tag(&self, thread: ThreadNum) -> u64 {
        self.engine
            .filter_epoch(self.openmp.current(thread))
            .unwrap_or(0)
    }

    fn inline_filter_applies(&self, pc: u64) -> bool {
        // Stores this tool takes for releases (and a runtime's plain
        // read-modify-writes, atomic to it) must reach it even when an
        // earlier plain access covers their bytes.
        !self.seq_cst_stores.contains(pc) && !self.is_runtime_code(pc)
    }

    fn sync_hints(&self) -> Option<&dbi::SyncHints> {
        Some(&self.sync_hints)
    }

    fn accesses_synchronised(&self) -> bool {
        self.batch_synchronised
    }

    fn on_accesses(&mut self, thread: ThreadNum, accesses: &[MemAccess]) {
        let tid = self.openmp.current(thread);
        let epoch_before = self.engine.filter_epoch(tid);
        if self.runtime_libs.is_empty() {
            self.on_accesses_of(tid, thread, accesses);
        } else {
            self.on_accesses_with_runtime(tid, thread, accesses);
        }
        self.batch_synchronised =
            epoch_before.is_none() || self.engine.filter_epoch(tid) != epoch_before;
    }

    fn on_hook_entry(&mut self, call: &HookCall) {
        match self.hooks.get(call.hook).map(|(_, h)| h.clone()) {
            Some(Hook::Model(f)) => self.apply_model(&f, call, None),
            Some(Hook::Heap(h)) => self.heap_entry(h, call),
            Some(Hook::OpenMp(f)) => {
                let effects = self.openmp.entry(f, call, &mut self.engine, &Guest);
                self.openmp_effects(effects);
            }
            Some(Hook::LibcHandle) | None => {}
        }
    }

    fn new_hooks(&mut self) -> Vec<(u64, usize)> {
        let hook = self.task_body_hook;
        self.openmp
            .take_new_bodies()
            .into_iter()
            .map(|body| (body, hook))
            .collect()
    }

    fn on_hook_exit(&mut self, call: &HookCall, ret: u64) {
        match self.hooks.get(call.hook).map(|(_, h)| h.clone()) {
            Some(Hook::Model(f)) => self.apply_model(&f, call, Some(ret)),
            Some(Hook::Heap(h)) => self.heap_exit(h, call, ret),
            Some(Hook::OpenMp(f)) => {
                let effects = self.openmp.exit(f, call, &mut self.engine);
                self.openmp_effects(effects);
            }
            Some(Hook::LibcHandle) => {
                if let Some(b) = self.heap.find(ret) {
                    self.libc_objects
                        .insert(b.start, b.start.saturating_add(b.size));
                }
            }
            None => {}
        }
    }

    fn on_thread_create(&mut self, parent: ThreadNum, child: ThreadNum, pc: u64, stack: StackId) {
        let result = self.engine.thread_create(ThreadId(parent), ThreadId(child));
        self.check(result);
        if let Some((start, end)) = self.pending_memory.take() {
            // A reused stack: nothing of its earlier life orders with the
            // new thread's (thread_memory.rs).
            self.forget(start, end - start);
            self.thread_memory.insert(child, (start, end));
        }
        self.threads.insert(
            child,
            ThreadInfo {
                created_at: Some((pc, stack)),
                stack: self.pending_stack.take(),
            },
        );
        self.last_created.insert(parent, child);
    }

    fn on_all_threads_blocked(&mut self, blocked: &[dbi::BlockedThread]) {
        self.reporter.all_threads_blocked(blocked);
    }

    fn on_thread_exit(&mut self, thread: ThreadNum) {
        self.engine.thread_exit(ThreadId(thread));
        if let Some((start, end)) = self.thread_memory.remove(&thread) {
            self.forget(start, end - start);
        }
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
        if is_threading_runtime(module.path) {
            self.runtime_libs.push((module.start, module.len));
        }
        if !self.model_symbols.is_empty() {
            for (name, addr) in find_any_symbols(module.path, module.bias, &self.model_symbols) {
                self.pthreads.symbols.insert(name, addr);
            }
        }
        if is_libc(module.path) {
            self.libc_text = (module.start, module.len);
            self.libc_data = writable_span(module.path, module.bias);
            self.descriptor_size_at =
                find_symbols(module.path, module.bias, &["_thread_db_sizeof_pthread"])
                    .first()
                    .copied();
            self.descriptor_size = None;
            for addr in find_symbols(module.path, module.bias, UNSYNCHRONISING_WORDS) {
                if !self.unsynchronising.contains(&addr) {
                    self.unsynchronising.push(addr);
                }
            }
        }
        self.reporter
            .module_loaded(module.path, module.start, module.len, module.bias);
        // Variables the program declared atomic (C11 `_Atomic`, C++
        // `std::atomic`, from the module's DWARF) are atomic from their
        // first access on, not only once a LOCK instruction or a spin loop
        // shows it: their plain loads are acquires and stores releases.
        // (Not in the runtime's own library: it holds no guest data.)
        let atomics = if module.path.contains("libhbgrind_rt") {
            Vec::new()
        } else {
            self.reporter.atomic_variables(module.path, module.bias)
        };
        for (addr, size, element) in atomics {
            if !matches!(element, 1 | 2 | 4 | 8) {
                continue; // lock-based std::atomic<big struct>
            }
            for k in 0..(size / element).min(MAX_DECLARED_ATOMIC_ELEMENTS) {
                self.learn(addr + k * element, element as u32);
            }
        }
    }

    fn on_module_unload(&mut self, start: u64, _len: u64) {
        if start == self.ld_so.0 {
            self.ld_so = (0, 0);
        }
        if start == self.libc_text.0 {
            (self.libc_text, self.libc_data) = ((0, 0), (0, 0));
        }
        self.runtime_libs.retain(|&(s, _)| s != start);
        self.reporter.module_unloaded(start);
    }

    fn on_syscall(&mut self, call: &Syscall<'_>) {
        let (thread, nr, args) = (call.thread, call.nr, call.args);
        match nr {
            SYS_MUNMAP => {
                self.forget(args[0], args[1]);
                self.heap.forget_range(args[0], args[1]);
            }
            SYS_CLONE if args[0] & CLONE_THREAD != 0 => {
                let (flags, child_sp, tls) = (args[0], args[1], args[4]);
                let clone3 = self.pending_clone3.take();
                // A clone after clone3 keeps clone3's exact stack range
                // (for "on thread #N's stack"); a raw one has only its top.
                if clone3.is_none() && child_sp != 0 {
                    self.pending_stack = Some((child_sp.saturating_sub(DEFAULT_STACK), child_sp));
                }
                let tls = (flags & CLONE_SETTLS != 0).then_some(tls);
                let size = self.descriptor_size();
                self.pending_memory = thread_memory(clone3, child_sp, tls, size);
            }
            SYS_CLONE3 => {
                // struct clone_args: flags at +0, stack at +40, stack_size
                // at +48, tls at +56.
                let field =
                    |offset: u64| args[0].checked_add(offset).and_then(|a| Guest.read_u64(a));
                let (flags, stack, size, tls) = (field(0), field(40), field(48), field(56));
                self.pending_stack = match (stack, size) {
                    (Some(low), Some(size)) if low != 0 => Some((low, low.saturating_add(size))),
                    _ => None,
                };
                self.pending_clone3 = match (flags, stack, size, tls) {
                    (Some(f), Some(stack), Some(stack_size), Some(tls))
                        if f & CLONE_THREAD != 0 =>
                    {
                        Some(Clone3Stack {
                            stack,
                            stack_size,
                            tls,
                        })
                    }
                    _ => None,
                };
            }
            // Futex calls inside quiet functions (malloc's arena locks,
            // the modelled pthread calls) are those functions' own
            // synchronisation, as their LOCK instructions are.
            _ if self.futex_sync && !call.in_quiet_call => self.futex_call(thread, nr, args),
            _ => {}
        }
    }

    fn on_syscall_return(&mut self, call: &Syscall<'_>, ret: i64) {
        if self.futex_sync && !call.in_quiet_call {
            self.futex_return(call.thread, call.nr, call.args, ret);
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
                "hbgrind: race: {} accesses checked ({} of them same-epoch repeats), {} sync events, {} sites, {} live heap blocks, {} bytes of shadow memory, {} races on atomic locations withdrawn",
                s.accesses,
                s.filtered,
                s.sync_events,
                self.sites.len(),
                self.heap.len(),
                s.shadow_bytes,
                self.withdrawn_races
            ));
        }
        if let Some(fatal) = &stats.fatal {
            self.reporter.fatal_signal(fatal);
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

/// Elements of one atomic array variable learned at module load (a larger
/// array's further elements are learned as the program uses them).
const MAX_DECLARED_ATOMIC_ELEMENTS: u64 = 4096;

impl RaceTool {
    /// `Tool::on_accesses` of one batch: the atomics model, the engine.
    fn on_accesses_of(&mut self, tid: ThreadId, thread: ThreadNum, accesses: &[MemAccess]) {
        let ignore = self.ignore_flags(thread);
        // Repeats of what this thread already did since its last
        // synchronisation change nothing in the engine: drop them first.
        // Only up to the batch's first access that may synchronise (after
        // it the thread's epoch may differ from the view's).
        let mut redundant = std::mem::take(&mut self.redundant);
        redundant.clear();
        let mut unfilter: Vec<(u64, u64)> = Vec::new();
        if let Some(view) = self.engine.redundancy(tid) {
            for a in accesses {
                let write = a.kind != DbiAccessKind::Read;
                if a.atomic
                    || a.spin_read
                    || self.atomics.size_at(a.addr).is_some()
                    || (write && self.seq_cst_stores.contains(a.pc))
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
                // libc's plain accesses to its own data; its LOCK and xchg
                // instructions there (its internal locks: tzset_lock, the
                // stdio locks) still synchronise.
                || (!a.atomic
                    && a.pc.wrapping_sub(self.libc_text.0) < self.libc_text.1
                    && (a.addr.wrapping_sub(self.libc_data.0) < self.libc_data.1
                        || self.is_libc_object(a.addr)))
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
                // load of an atomic variable is an acquire load, a plain
                // store a release store; a store fenced by `mfence` and a
                // load in a spin loop make their location atomic.
                let size = u64::from(a.size);
                let seq_cst = write && self.seq_cst_stores.contains(a.pc);
                let learned = self.atomics.size_at(a.addr);
                if a.kind == DbiAccessKind::Update {
                    // `add [m], r` without LOCK: a plain read-modify-write,
                    // racy even on an atomic variable.
                    self.plain_updates.insert(site);
                } else if seq_cst
                    || learned.is_some_and(|s| s == 0 || s == a.size)
                    || (a.spin_read && !self.is_untracked(a.addr))
                {
                    self.flush_batch(tid);
                    self.learn(a.addr, a.size);
                    let result = if write {
                        let order = if seq_cst {
                            MemoryOrder::SeqCst
                        } else {
                            MemoryOrder::Release
                        };
                        self.engine.atomic_store(tid, a.addr, size, order, site)
                    } else {
                        self.engine
                            .atomic_load(tid, a.addr, size, MemoryOrder::Acquire, site)
                    };
                    self.check(result);
                    continue;
                } else if let Some(element) = learned.filter(|&s| s != 0 && s < a.size) {
                    if self.is_run_of(a, element) {
                        self.atomic_run(tid, a, element, site);
                        continue;
                    }
                }
            }
            if a.atomic {
                if self.unsynchronising.contains(&a.addr) {
                    continue;
                }
                self.flush_batch(tid);
                self.learn(a.addr, a.size);
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
            // A threading runtime's plain accesses to its own data are not
            // checked; its synchronisation (above) still counts.
            if self.is_runtime_code(a.pc) {
                continue;
            }
            // A plain read-modify-write (`add [mem], 1` for `x++`) reads,
            // then writes: Helgrind reports a race on it as a read and a
            // write, two errors, and so do we.
            // The read gets a site of its own: the engine reports a pair
            // of sites once.
            let halves = match a.kind {
                DbiAccessKind::Update => [
                    Some((AccessKind::Read, self.sites.read_half(site))),
                    Some((AccessKind::Write, site)),
                ],
                DbiAccessKind::Write => [Some((AccessKind::Write, site)), None],
                DbiAccessKind::Read => [Some((AccessKind::Read, site)), None],
            };
            if self.sync_hints.may_synchronise(a.addr, a.size) {
                // Bytes of an atomic location: a later plain access there
                // may be an acquire or release, so this one must not cover
                // it in the inline filter.
                unfilter.push((a.addr, u64::from(a.size)));
            }
            for (kind, site) in halves.into_iter().flatten() {
                let (mut addr, mut left) = (a.addr, a.size);
                while left > 0 {
                    let n = left.min(AccessRecord::MAX_SIZE);
                    self.batch
                        .push(AccessRecord::new(addr, n, kind, false, site));
                    addr = addr.wrapping_add(u64::from(n));
                    left -= n;
                }
            }
            if self.batch.len() >= BATCH_RECORDS {
                // Small batches stay in the L1 cache between our writes
                // and the engine's reads (perf: 2/3 of this function's
                // time went to store misses with unbounded batches).
                self.flush_batch(tid);
            }
        }
        self.flush_batch(tid);
        for (addr, len) in unfilter {
            self.engine.unfilter(addr, len);
        }
        self.drain();
        self.redundant = redundant;
    }
}

/// A full fence: `mfence`, or a LOCK-prefixed read-modify-write of the
/// thread's own stack (`lock or qword [rsp], 0`), which GCC emits for
/// `atomic_thread_fence(memory_order_seq_cst)` as a cheaper `mfence`.
fn is_full_fence(insn: &dbi::Instruction, memory: &[dbi::UsedMemory]) -> bool {
    insn.mnemonic() == Mnemonic::Mfence
        || (insn.has_lock_prefix()
            && matches!(memory, [m] if m.base() == dbi::Register::RSP
                && m.index() == dbi::Register::None))
}

/// A plain `mov` store to memory that is not the stack.
fn plain_store(insn: &dbi::Instruction, memory: &[dbi::UsedMemory]) -> bool {
    insn.mnemonic() == Mnemonic::Mov
        && matches!(memory, [m] if m.access() == OpAccess::Write && m.base() != dbi::Register::RSP)
}
