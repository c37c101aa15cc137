//! `--tool=cachegrind`: Valgrind's cache and branch-prediction profiler on
//! dbi's events (papers/cachegrind.md).
//!
//! Instruction counts (Ir) come from one execution counter per translated
//! block, bumped inline (`Interests::block_counts`): a block that ran N
//! times adds N to each of its instructions. `rep` string instructions,
//! which Valgrind counts once per iteration, add their element count less
//! one from their recorded accesses (`Profile::RepStrings`, or the full
//! stream). With `--cache-sim=yes` or `--branch-sim=yes` the tool reads
//! the full profile stream (`Profile::Full`): each block's start, then
//! every load and store, unmerged and in order. The instructions of the
//! running block are fetched into I1 in order up to each data access, the
//! rest when the next block starts, so I1, D1 and the unified LL see
//! references in execution order. A block ending in a conditional or an
//! indirect branch learns where it went from the start of the next block
//! of its thread.
//!
//! At exit the counts of each instruction are summed per source line and
//! written in Valgrind 3.19's `cachegrind.out` format
//! (`hbgrind_report::cachegrind`), and the summary is printed.
//!
//! # Invariants
//! - `translations[i].counter` is bumped once per execution of that
//!   translation; `by_id` maps each translation number to its entry.
//! - The first `Cursor::next` of a thread's current block's `fetches` have
//!   been simulated; the rest are before its next block starts.

mod sim;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dbi::{
    AccessKind, BlockView, ExitStats, Interests, Log, ModuleView, Profile, ProfileBatch,
    ProfileEvent, StackId, ThreadNum, Tool,
};
use hbgrind_report::cachegrind::{
    summary_text, write_out_file, CacheConfig, CodeLocation, Counts, Simulated,
};
use iced_x86::FlowControl;
use rustc_hash::FxHashMap;

use crate::client::Core;
use crate::options::{expand_log_name, Options, ReportFiles};
use crate::race::CodeSymbols;

use self::sim::{BranchPredictor, Hierarchy};

/// How a block ends, for the branch predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Falls through, a direct jump or call, a return, a syscall.
    Plain,
    /// A conditional branch at `pc` to `target`, else to `next`.
    Conditional { pc: u64, target: u64, next: u64 },
    /// An indirect jump or call at `pc` (returns are not predicted, as in Valgrind).
    Indirect { pc: u64 },
}

/// One instruction of a translation.
#[derive(Debug, Clone, Copy)]
struct Insn {
    pc: u64,
}

/// The data references of one operand site (`ProfileEvent::Access::site`)
/// and their D1 and LL misses. Kept per site, 24 bytes, in one table: the
/// hot part of the tool's state stays small.
type SiteCounts = [u64; 3];

/// One translation of a block.
struct Translation {
    /// Its instructions, a final `syscall` included.
    insns: Box<[Insn]>,
    /// The instructions whose fetch is simulated, (pc, length, index):
    /// the block's first, and each that starts in another I1 line than the
    /// one the instruction before it ended in, or spans two lines. The
    /// others hit the line fetched just before them, the most recently
    /// used of its set, which changes nothing (sim.rs).
    fetches: Box<[(u64, u8, u8)]>,
    counter: &'static AtomicU64,
    exit: Exit,
    /// Bc, Bcm, Bi, Bim of the block's last instruction.
    branches: [u64; 4],
    /// Code of the runtime itself (the end of its constructor runs
    /// translated): neither counted nor simulated.
    ours: bool,
}

/// What a block start needs of a translation, kept in one small table
/// (`Cachegrind::by_id`) so that it touches nothing else.
#[derive(Debug, Clone, Copy)]
struct Meta {
    /// The index into `translations`; `u32::MAX` for none.
    index: u32,
    len: u8,
    fetches: u8,
    ours: bool,
}

impl Meta {
    const NONE: Meta = Meta {
        index: u32::MAX,
        len: 0,
        fetches: 0,
        ours: false,
    };
}

/// Where a thread is in its current block.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    block: Option<u32>,
    /// How many of the block's `fetches` were simulated.
    next: usize,
    /// The instruction index of `fetches[next]` (`usize::MAX` when all
    /// are done): an access before it needs nothing of the translation.
    next_at: usize,
    /// The block's number of instructions.
    len: usize,
    /// The current block is the runtime's own: its accesses are dropped.
    ours: bool,
}

/// The profiler's settings.
pub(crate) struct Settings {
    pub(crate) caches: [CacheConfig; 3],
    pub(crate) simulated: Simulated,
    /// `--cachegrind-out-file=`, unexpanded (`%p` at exit, so a fork child
    /// writes its own file).
    pub(crate) out_file: String,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
}

impl Settings {
    /// The settings `opts` asks for: the given caches, else Valgrind's
    /// defaults for this CPU.
    pub(crate) fn from_options(opts: &Options) -> Settings {
        let detected = sim::default_caches();
        Settings {
            caches: [
                opts.cachegrind.i1.unwrap_or(detected[0]),
                opts.cachegrind.d1.unwrap_or(detected[1]),
                opts.cachegrind.ll.unwrap_or(detected[2]),
            ],
            simulated: Simulated {
                cache: opts.cachegrind.cache_sim,
                branch: opts.cachegrind.branch_sim,
            },
            out_file: opts
                .cachegrind
                .out_file
                .clone()
                .unwrap_or_else(|| "cachegrind.out.%p".into()),
            env: opts.env.clone(),
            quiet: opts.quiet,
            verbose: opts.verbose,
        }
    }
}

pub(crate) struct Cachegrind {
    core: Core,
    symbols: CodeSymbols,
    files: ReportFiles,
    settings: Settings,
    caches: Option<Hierarchy>,
    branches: Option<BranchPredictor>,
    translations: Vec<Translation>,
    /// Translation numbers (`BlockView::id`) to indices of `translations`.
    by_id: Vec<Meta>,
    threads: FxHashMap<ThreadNum, Cursor>,
    /// Per operand site: its references and misses (`SiteCounts`), and
    /// (pc, whether it writes), filled in when the site is first seen.
    site_counts: Vec<SiteCounts>,
    site_info: Vec<(u64, bool)>,
    /// The rarer costs, by pc: I1 and LL misses of fetches, `rep`
    /// iterations, accesses outside a known block.
    loose: FxHashMap<u64, Counts>,
    /// The runtime library's executable mapping (start, len).
    runtime: (u64, u64),
}

impl Cachegrind {
    pub(crate) fn new(
        core: Core,
        symbols: CodeSymbols,
        files: ReportFiles,
        settings: Settings,
        log: &Log,
    ) -> Cachegrind {
        if !settings.quiet {
            let (exe, args) = crate::race::command_line();
            let command = std::iter::once(exe)
                .chain(args)
                .collect::<Vec<_>>()
                .join(" ");
            let text = hbgrind_report::TextReporter::new(dbi::getpid() as u32);
            let lines = [
                format!(
                    "hbgrind-{}, a cache and branch-prediction profiler",
                    env!("CARGO_PKG_VERSION")
                ),
                format!("Command: {command}"),
            ];
            let _ = dbi::write_all(log.fd, text.preamble_text(&lines).as_bytes());
        }
        Cachegrind {
            core,
            symbols,
            files,
            caches: settings
                .simulated
                .cache
                .then(|| Hierarchy::new(settings.caches)),
            branches: settings.simulated.branch.then(BranchPredictor::new),
            settings,
            translations: Vec::new(),
            by_id: Vec::new(),
            threads: FxHashMap::default(),
            site_counts: Vec::new(),
            site_info: Vec::new(),
            loose: FxHashMap::default(),
            runtime: (0, 0),
        }
    }

    /// Simulates the fetches of translation `t` from the cursor's
    /// `fetches[next]` up to the instruction of index `upto` (included).
    #[inline(always)]
    fn fetch(
        caches: &mut Option<Hierarchy>,
        loose: &mut FxHashMap<u64, Counts>,
        t: &Translation,
        cursor: &mut Cursor,
        upto: usize,
    ) {
        let Some(h) = caches else { return };
        while cursor.next_at <= upto {
            let k = cursor.next_at;
            cursor.next += 1;
            let (pc, len, _) = t.fetches[cursor.next - 1];
            cursor.next_at = t
                .fetches
                .get(cursor.next)
                .map_or(usize::MAX, |f| usize::from(f.2));
            debug_assert_eq!(t.fetches[cursor.next - 1].2 as usize, k);
            let (m1, ml) = h.fetch(pc, u64::from(len));
            if m1 {
                let c = &mut loose.entry(pc).or_default().0;
                c[Counts::I1MR] += 1;
                c[Counts::ILMR] += u64::from(ml);
            }
        }
    }

    /// The thread's current block is over; the next one starts at `next_pc`
    /// (`None` at the thread's end).
    fn finish_block(&mut self, cursor: &mut Cursor, next_pc: Option<u64>) {
        let Some(b) = cursor.block.take() else { return };
        if cursor.next_at == usize::MAX && self.branches.is_none() {
            return;
        }
        let t = &mut self.translations[b as usize];
        Self::fetch(&mut self.caches, &mut self.loose, t, cursor, usize::MAX - 1);
        let (Some(p), Some(next_pc)) = (&mut self.branches, next_pc) else {
            return;
        };
        let c = &mut t.branches;
        match t.exit {
            Exit::Plain => {}
            Exit::Conditional { pc, target, next } => {
                // Anything else (a signal handler) says nothing of the branch.
                if next_pc == target || next_pc == next {
                    let miss = p.conditional(pc, next_pc == target);
                    c[0] += 1;
                    c[1] += u64::from(miss);
                }
            }
            Exit::Indirect { pc } => {
                let miss = p.indirect(pc, next_pc);
                c[2] += 1;
                c[3] += u64::from(miss);
            }
        }
    }

    /// A data reference (or a `rep` instruction's run of them) of the
    /// thread at `cursor`: the running block's instructions up to the
    /// accessing one are fetched first; the counts go to the operand's
    /// site (`site_counts`), those of `rep` runs and of accesses outside a
    /// known block to `loose`.
    #[inline]
    fn data(
        &mut self,
        cursor: &mut Cursor,
        access: &dbi::MemAccess,
        element: u8,
        operand: u8,
        index: u8,
        site: u32,
    ) {
        // The records of a block come from its own translation, after
        // its start: the index names the accessing instruction.
        let k = usize::from(index);
        let known = cursor.block.is_some() && k < cursor.len;
        if known && cursor.next_at <= k {
            if let Some(b) = cursor.block {
                let t = &self.translations[b as usize];
                Self::fetch(&mut self.caches, &mut self.loose, t, cursor, k);
            }
        }
        // A read-modify-write is one reference, a read (Valgrind's "modify").
        let write = access.kind == AccessKind::Write;
        if element == 0 && known {
            let Some(h) = &mut self.caches else { return };
            let s = site as usize;
            if s >= self.site_counts.len() {
                self.site_counts.resize(s + 1, [0; 3]);
                self.site_info.resize(s + 1, (0, false));
            }
            if self.site_counts[s][0] == 0 {
                self.site_info[s] = (access.pc, write);
            }
            let (m1, ml) = h.data(access.addr, u64::from(access.size));
            let c = &mut self.site_counts[s];
            c[0] += 1;
            c[1] += u64::from(m1);
            c[2] += u64::from(ml);
            return;
        }
        let c = &mut self.loose.entry(access.pc).or_default().0;
        let (refs, d1, dl) = if write {
            (Counts::DW, Counts::D1MW, Counts::DLMW)
        } else {
            (Counts::DR, Counts::D1MR, Counts::DLMR)
        };
        if element == 0 {
            if let Some(h) = &mut self.caches {
                c[refs] += 1;
                let (m1, ml) = h.data(access.addr, u64::from(access.size));
                c[d1] += u64::from(m1);
                c[dl] += u64::from(ml);
            }
            return;
        }
        // A `rep` string instruction: Valgrind runs it as one instruction
        // per iteration plus a last one that finds the count at zero, each
        // starting with a conditional exit, and one element reference per
        // iteration.
        let n = u64::from(access.size) / u64::from(element);
        if operand == 0 {
            c[Counts::IR] += n;
            if let Some(p) = &mut self.branches {
                let mut misses = 0;
                for i in 0..=n {
                    misses += u64::from(p.conditional(access.pc, i < n));
                }
                c[Counts::BC] += n + 1;
                c[Counts::BCM] += misses;
            }
        }
        if let Some(h) = &mut self.caches {
            c[refs] += n;
            // Iterations that stay in a line hit it: only each line's
            // first reference can miss.
            let line = h.d1.line();
            let end = access.addr + u64::from(access.size);
            let mut at = access.addr;
            while at < end {
                let (m1, ml) = h.data(at, 1);
                c[d1] += u64::from(m1);
                c[dl] += u64::from(ml);
                at = (at | (line - 1)) + 1;
            }
        }
    }

    /// Every instruction's counts, by pc.
    fn per_instruction(&self) -> FxHashMap<u64, Counts> {
        let mut all: FxHashMap<u64, Counts> = self.loose.clone();
        for t in &self.translations {
            if t.ours {
                continue;
            }
            let runs = t.counter.load(Ordering::Relaxed);
            if runs > 0 {
                for i in t.insns.iter() {
                    all.entry(i.pc).or_default().0[Counts::IR] += runs;
                }
            }
            if let Some(last) = t.insns.last().filter(|_| t.branches != [0; 4]) {
                let c = &mut all.entry(last.pc).or_default().0;
                for (k, n) in t.branches.iter().enumerate() {
                    c[Counts::BC + k] += n;
                }
            }
        }
        for (&(pc, write), counts) in self.site_info.iter().zip(&self.site_counts) {
            if counts[0] == 0 {
                continue;
            }
            let first = if write { Counts::DW } else { Counts::DR };
            let c = &mut all.entry(pc).or_default().0;
            for (k, n) in counts.iter().enumerate() {
                c[first + k] += n;
            }
        }
        all.retain(|_, c| *c != Counts::default());
        all
    }

    /// Where `pc` is, as Cachegrind names it: the file and line of the
    /// innermost (inlined) frame, the function of the outermost.
    fn location(&mut self, pc: u64) -> CodeLocation {
        let (line, function) = self.symbols.line_and_function(pc);
        let function = match function.as_deref() {
            None => "???".to_string(),
            Some("__libc_start_main" | "__libc_start_call_main" | "generic_start_main") => {
                "(below main)".to_string()
            }
            Some(name) => name.to_string(),
        };
        match line {
            Some(l) => CodeLocation {
                file: match l.dir {
                    Some(dir) => format!("{dir}/{}", l.file),
                    None => l.file,
                },
                function,
                line: l.line,
            },
            None => CodeLocation {
                file: "???".into(),
                function,
                line: 0,
            },
        }
    }

    /// Writes the out file and the summary.
    fn report(&mut self, log: &Log) {
        let mut threads: Vec<(ThreadNum, Cursor)> = self.threads.drain().collect();
        for (_, cursor) in &mut threads {
            self.finish_block(cursor, None);
        }
        let mut rows: BTreeMap<CodeLocation, Counts> = BTreeMap::new();
        for (pc, counts) in self.per_instruction() {
            let loc = self.location(pc);
            rows.entry(loc).or_default().add(&counts);
        }
        let (exe, args) = crate::race::command_line();
        let command = std::iter::once(exe)
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        let name = expand_log_name(&self.settings.out_file, dbi::getpid(), &self.settings.env);
        let mut text = Vec::new();
        let total = write_out_file(
            &mut text,
            self.settings.caches,
            &command,
            self.settings.simulated,
            &rows,
        )
        .unwrap_or_default();
        const FLAGS: u64 = 0o1 | 0o100 | 0o1000 | 0o2000000; // WRONLY|CREAT|TRUNC|CLOEXEC
        match dbi::open(name.as_bytes(), FLAGS, 0o600) {
            Ok(fd) => {
                let _ = dbi::write_all(fd, &text);
                dbi::close(fd);
            }
            Err(e) => {
                log.line(&format!(
                    "error: can't open output data file '{name}': {}",
                    dbi::Errno::open_error_text(e)
                ));
                log.line("       ... so detailed results will be missing.");
            }
        }
        if !self.settings.quiet {
            let _ = dbi::write_all(log.fd, format!("{}\n", log.prefix()).as_bytes());
            log.line(&summary_text(&total, self.settings.simulated));
        }
        if self.settings.verbose {
            let runs: u64 = self
                .translations
                .iter()
                .map(|t| t.counter.load(Ordering::Relaxed))
                .sum();
            log.line(&format!(
                "cachegrind: {} translations run {runs} times, {} source lines, out file {name}",
                self.translations.len(),
                rows.len()
            ));
        }
    }
}

impl Tool for Cachegrind {
    fn name(&self) -> &'static str {
        "cachegrind"
    }

    fn interests(&self) -> Interests {
        let s = self.settings.simulated;
        Interests {
            client_requests: true,
            modules: true,
            blocks: true,
            block_counts: true,
            threads: true,
            profile: if s.cache || s.branch {
                Profile::Full
            } else {
                Profile::RepStrings
            },
            ..Interests::default()
        }
    }

    fn on_block(&mut self, block: &BlockView<'_>) {
        let Some(counter) = block.executions else {
            return;
        };
        let mut spans: Vec<(u64, u8)> = block
            .instructions
            .iter()
            .map(|i| (i.ip(), i.len() as u8))
            .collect();
        if let Some(pc) = block.syscall_pc {
            spans.push((pc, 2));
        }
        let bits = self.settings.caches[0].line.trailing_zeros();
        let mut last_line = None;
        let mut fetches = Vec::new();
        for (k, &(pc, len)) in spans.iter().enumerate() {
            let first = pc >> bits;
            let last = (pc + u64::from(len).max(1) - 1) >> bits;
            if last_line != Some(first) || first != last {
                fetches.push((pc, len, k as u8));
            }
            last_line = Some(last);
        }
        let insns: Vec<Insn> = spans.iter().map(|&(pc, _)| Insn { pc }).collect();
        let exit = match block.instructions.last() {
            Some(last) if block.syscall_pc.is_none() => match last.flow_control() {
                FlowControl::ConditionalBranch => Exit::Conditional {
                    pc: last.ip(),
                    target: last.near_branch_target(),
                    next: last.next_ip(),
                },
                FlowControl::IndirectBranch | FlowControl::IndirectCall => {
                    Exit::Indirect { pc: last.ip() }
                }
                _ => Exit::Plain,
            },
            _ => Exit::Plain,
        };
        let ours = block.guest_pc.wrapping_sub(self.runtime.0) < self.runtime.1;
        let id = block.id as usize;
        if self.by_id.len() <= id {
            self.by_id.resize(id + 1, Meta::NONE);
        }
        self.by_id[id] = Meta {
            index: self.translations.len() as u32,
            len: insns.len() as u8,
            fetches: fetches.len() as u8,
            ours,
        };
        self.translations.push(Translation {
            insns: insns.into_boxed_slice(),
            fetches: fetches.into_boxed_slice(),
            counter,
            exit,
            branches: [0; 4],
            ours,
        });
    }

    fn on_profile(&mut self, thread: ThreadNum, events: ProfileBatch<'_>) {
        let mut cursor = self.threads.get(&thread).copied().unwrap_or_default();
        for e in events {
            match e {
                ProfileEvent::Block { pc, id } => {
                    let previous = cursor.block;
                    self.finish_block(&mut cursor, Some(pc));
                    let meta = self.by_id.get(id as usize).copied().unwrap_or(Meta::NONE);
                    let block = Some(meta.index).filter(|&b| b != u32::MAX);
                    let ours = meta.ours;
                    // A block run again right after itself (a loop) finds
                    // each of its lines the most recently used of its set
                    // (its lines are consecutive, so in as many sets when
                    // there are no more of them than sets): every fetch
                    // would hit and change nothing.
                    let n = usize::from(meta.fetches);
                    let again = block.is_some()
                        && block == previous
                        && n <= self.settings.caches[0].sets() as usize;
                    // The first fetch is always the block's first instruction.
                    let (next, next_at) = if again || n == 0 {
                        (n, usize::MAX)
                    } else {
                        (0, 0)
                    };
                    let len = usize::from(meta.len);
                    cursor = Cursor {
                        block: block.filter(|_| !ours),
                        next,
                        next_at,
                        len,
                        ours,
                    };
                }
                ProfileEvent::Access { .. } if cursor.ours => {}
                ProfileEvent::Access {
                    access,
                    element,
                    operand,
                    index,
                    site,
                } => {
                    if cursor.block.is_none()
                        && access.pc.wrapping_sub(self.runtime.0) < self.runtime.1
                    {
                        continue;
                    }
                    self.data(&mut cursor, &access, element, operand, index, site)
                }
            }
        }
        self.threads.insert(thread, cursor);
    }

    fn on_thread_exit(&mut self, thread: ThreadNum) {
        if let Some(mut cursor) = self.threads.remove(&thread) {
            self.finish_block(&mut cursor, None);
        }
    }

    fn on_client_request(
        &mut self,
        _thread: ThreadNum,
        args: &[u64; 6],
        pc: u64,
        stack: StackId,
    ) -> Option<u64> {
        crate::tools::plain_request(&mut self.core, &mut self.symbols, args, pc, stack)
    }

    fn on_module_load(&mut self, m: &ModuleView<'_>) {
        let here = Cachegrind::report as *const () as usize as u64;
        if here.wrapping_sub(m.start) < m.len {
            self.runtime = (m.start, m.len);
        }
        self.symbols.module_loaded(m.path, m.start, m.len, m.bias);
    }

    // Modules stay known after an unmap: their counts are named at exit.

    fn on_fork_child(&mut self) {
        self.files.after_fork();
    }

    fn on_exit(&mut self, _stats: &ExitStats, log: &Log) {
        self.core.finish(self.settings.verbose);
        self.report(log);
    }
}
