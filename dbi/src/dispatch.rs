//! The `Dispatcher`: the loop that picks the next block, translates on a
//! miss, links direct branches, and hands syscalls to the syscall layer.
//!
//! It runs on its own stack (mapped here, never the guest's), entered from
//! the takeover. Each `ThreadState::run` executes translated code until an
//! exit stub returns; the stub's `ExitInfo` says why (`arch::exit_kind`).
//!
//! # Threads and the big lock
//! One guest thread runs at a time (decision 10): the `Dispatcher` (code
//! cache, tool, signal actions...) lives behind the big lock, whose turns
//! the scheduler hands out (sched.rs: FIFO, seeded, PCT, replay). The
//! running thread's `ThreadState` is swapped into `Dispatcher::ts` when it
//! takes the lock and out when it lets go, so the single-threaded code
//! paths are unchanged. A thread lets go only around syscalls that may
//! block (every syscall without a row in the syscall table, once a second
//! thread exists), when it exits, and when its timeslice is over: once a
//! second thread exists, every thread has a timer that sends the runtime's
//! signal 64 after 10 ms of its CPU time (or, in a deterministic schedule,
//! a countdown of blocks ends the slice); at a safe point the real handler
//! stops its guest code, and the thread yields the lock (so a spin wait on
//! another thread's store ends).
// Signals sent to one thread (pthread_kill, faults) wait in that thread's
// block; signals for the process go to whichever thread enters the
// dispatcher next. A preemption tick that lands off a safe point
// single-steps to the next one (os/linux/sigframe.rs).
// Not yet: thread blocks and runtime stacks of exited threads are not reused.

use crate::arch::{self, exit_kind, CapturedState, ThreadState};
use crate::code_cache::{CacheError, CodeCache};
use crate::events::Sites;
use crate::hooks::Hooks;
use crate::os::linux::code_mem::read_u64_in;
use crate::os::linux::guest_syscall::SyscallOutcome;
use crate::os::linux::sigframe;
use crate::sched::{self, BigGuard};
use crate::thread_memory::ThreadMemory;
use crate::translate::TranslateError;
use crate::{Config, ExitStats, Interests, ThreadNum};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Guest threads under the translator.
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Set once a second thread exists: threads then take turns, driven by
/// `PREEMPT_SIG`, which from then on is the runtime's.
static PREEMPTION: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `PREEMPT_SIG` belongs to the runtime (see `PREEMPTION`).
pub(crate) fn preemption_on() -> bool {
    PREEMPTION.load(Ordering::Acquire)
}

/// How many guest threads run under the translator.
pub(crate) fn threads() -> usize {
    THREADS.load(Ordering::Acquire)
}

/// In a fork child only the forking thread exists.
pub(crate) fn reset_threads_after_fork() {
    THREADS.store(1, Ordering::Release);
    crate::all_blocked::reset_after_fork();
    sched::reset_after_fork();
}

/// CPU time a thread runs guest code before it lets others have the lock.
const TIMESLICE_NS: u64 = 10_000_000;
const SA_RESTART: u64 = 0x1000_0000;

/// Why a thread's dispatcher loop let go of the big lock.
enum Step {
    /// Run this syscall without the lock, then continue at `next`.
    Blocking { nr: u64, args: [u64; 6], next: u64 },
    /// The thread exits with this status.
    ExitThread(i32),
    /// The timeslice is over: let others run, then continue at this pc.
    Yield(u64),
}

/// The translator's state shared by all guest threads, behind the big lock.
pub(crate) struct Dispatcher {
    /// The state of the thread holding the big lock.
    pub(crate) ts: ThreadState,
    /// Thread-block addresses of all threads (to empty their indirect-branch tables).
    pub(crate) thread_blocks: Vec<u64>,
    /// Set by the syscall layer: a syscall to run without the big lock.
    pub(crate) blocking: Option<(u64, [u64; 6], u64)>,
    /// Set by the syscall layer: the calling thread exits with this status.
    pub(crate) exit_thread: Option<i32>,
    /// Set when the running thread's timeslice is over (signal.rs).
    pub(crate) yield_requested: bool,
    /// The signal mask a guest call that a signal just interrupted had put
    /// in place (`sigsuspend`, `ppoll`...): the first handler delivered
    /// runs with it, as natively (signal.rs, `deliver`).
    pub(crate) call_mask: Option<u64>,
    /// Counts of threads that have exited (instructions, memory accesses).
    pub(crate) exited_counts: (u64, u64),
    pub(crate) cache: CodeCache,
    pub(crate) config: Config,
    pub(crate) interests: Interests,
    pub(crate) modules: Vec<(u64, u64)>,
    /// The guest's signal actions (signal.rs).
    pub(crate) sigacts: [Option<crate::os::linux::sigframe::KernelSigaction>; 65],
    /// Exits from the code cache, by `exit_kind`.
    pub(crate) exits: [u64; exit_kind::COUNT],
    /// Event-buffer flushes and the records they replayed (for `-v`).
    pub(crate) flushed: (u64, u64),
    /// The sites translated code records events at (events.rs).
    pub(crate) sites: Sites,
    /// The tool's function hooks (hooks.rs).
    pub(crate) hooks: Hooks,
    /// Whether user code may run `rdfsbase` (FS-relative access records).
    rdfsbase: bool,
    /// Pages of read-only file memory some translation skips loads of.
    pub(crate) readonly_pages: std::collections::BTreeSet<u64>,
    /// The next thread number to hand out.
    next_thread: ThreadNum,
    /// The tool's inline filter, when translated code reads one.
    pub(crate) inline_filter: Option<crate::InlineFilter>,
    /// A function hooked at run time had a translation: drop them all
    /// before the next block runs (`add_new_hooks`).
    pub(crate) flush_pending: bool,
}

pub(crate) fn take_over(config: Config) {
    if !arch::has_osxsave() {
        config
            .log
            .line("hbgrind: this CPU or kernel lacks xsave; running natively");
        return;
    }
    let log = config.log;
    if let Err(e) = arch::take_over_with(Box::new(config), dispatcher_main) {
        log.line(&format!(
            "hbgrind: cannot take over ({e}); running natively"
        ));
    }
}

#[allow(clippy::boxed_local)] // the box crossed the stack switch as a raw pointer
fn dispatcher_main(captured: &CapturedState, config: Box<Config>) -> ! {
    let config = *config;
    let ts = match ThreadState::new(captured, arch::exit_common_addr()) {
        Ok(ts) => ts,
        Err(e) => {
            config.log.line(&format!(
                "hbgrind: internal error: cannot set up the thread block: {e}"
            ));
            crate::exit_group(125);
        }
    };
    let pc = captured.rip;
    let interests = config.tool.interests();
    tracing::debug!(
        pc = format_args!("{pc:#x}"),
        tool = config.tool.name(),
        "took over"
    );
    let threads = crate::os::linux::thread_count();
    if threads > 1 {
        config.log.line(&format!(
            "hbgrind: warning: {} thread(s) started before hbgrind took over; they run natively and are not analysed",
            threads - 1
        ));
    }
    sched::configure(&config.schedule, config.log);
    if let Some(lock) = config.fork_lock {
        sched::set_fork_lock(lock);
    }
    let hooks = Hooks::new(config.tool.hooks());
    let inline_filter = (interests.memory_accesses && interests.repeat_filter)
        .then(|| config.tool.inline_filter())
        .flatten();
    let mut d = Dispatcher {
        inline_filter,
        ts,
        sites: Sites::new(),
        hooks,
        rdfsbase: crate::os::linux::hwcap2() & 2 != 0,
        readonly_pages: std::collections::BTreeSet::new(),
        next_thread: 2,
        cache: CodeCache::new(),
        config,
        interests,
        modules: Vec::new(),
        exits: [0; exit_kind::COUNT],
        flushed: (0, 0),
        sigacts: [None; 65],
        thread_blocks: Vec::new(),
        blocking: None,
        exit_thread: None,
        exited_counts: (0, 0),
        yield_requested: false,
        call_mask: None,
        flush_pending: false,
    };
    d.thread_blocks.push(d.ts.base_addr());
    let mut main_ts = std::mem::replace(&mut d.ts, ThreadState::placeholder());
    d.adopt_thread(&mut main_ts, 1);
    d.ts = main_ts;
    d.report_initial_modules();
    crate::signal::watch_fatal_signals(&mut d);
    // The running thread's state is swapped in by `thread_loop`.
    let main_thread = std::mem::replace(&mut d.ts, ThreadState::placeholder());
    {
        let mut guard = sched::lock(1);
        guard.install(d);
        arch::register_signal_view(&guard.dispatcher().cache);
        sched::thread_starts(&main_thread);
    }
    thread_loop(main_thread, pc, None)
}

/// A thread's life under the translator: take the big lock, run guest code
/// until a blocking syscall or the thread's exit, let go, repeat.
fn thread_loop(mut mine: ThreadState, mut pc: u64, first: Option<BigGuard>) -> ! {
    let mut finished: Option<(u64, [u64; 6], SyscallOutcome, u64)> = None;
    let mut first = first;
    loop {
        let step = {
            let num = mine.events.num;
            let mut guard = first.take().unwrap_or_else(|| sched::lock(num));
            let d = guard.dispatcher();
            std::mem::swap(&mut d.ts, &mut mine);
            sched::runs(&d.ts);
            if let Some((nr, args, outcome, next)) = finished.take() {
                pc = crate::syscall::complete(d, nr, &args, outcome, next);
            }
            let step = d.run_until(pc);
            sched::stops(&d.ts);
            if let Step::ExitThread(_) = step {
                if d.interests.threads {
                    let num = d.ts.events.num;
                    d.config.tool.on_thread_exit(num);
                }
                let me = d.ts.base_addr();
                d.thread_blocks.retain(|&b| b != me);
                let (i, m) = ThreadState::counts_of(me);
                d.exited_counts.0 += i;
                d.exited_counts.1 += m;
                THREADS.fetch_sub(1, Ordering::AcqRel);
                sched::thread_exits(num);
            }
            std::mem::swap(&mut d.ts, &mut mine);
            // A thread whose timeslice is over queues again before it lets
            // go, so the queue's order does not depend on how fast the
            // kernel runs it afterwards (FIFO, and repeatable with a seed).
            let requeue =
                (matches!(step, Step::Yield(_)) && sched::fair()).then(|| sched::enqueue(num));
            (step, requeue)
        };
        let (step, requeue) = step;
        match step {
            Step::Blocking { nr, args, next } => {
                let outcome = if crate::all_blocked::waits_forever(nr, &args) {
                    let me = crate::all_blocked::BlockedThread {
                        thread: mine.events.num,
                        pc: next - 2,
                        stack: mine.events.stack_id(),
                        futex: args[0],
                    };
                    crate::all_blocked::wait(me, args, threads, |blocked| {
                        let mut guard = sched::lock(me.thread);
                        guard
                            .dispatcher()
                            .config
                            .tool
                            .on_all_threads_blocked(blocked);
                    })
                } else {
                    crate::os::linux::guest_syscall::run_interruptible(nr, args)
                };
                finished = Some((nr, args, outcome, next));
                pc = next;
            }
            Step::ExitThread(status) => {
                // The thread's timer, heap and mappings outlive it unless
                // given back; the mappings wait until the kernel thread is
                // gone (thread_memory.rs), which is after this call.
                if let Some(timer) = mine.timer.take() {
                    sigframe::delete_preemption_timer(timer);
                }
                let memory = mine.memory.take().map(|m| ThreadMemory {
                    events_buffer: mine.events.buffer_start(),
                    ..m
                });
                drop(mine);
                if let Some(memory) = memory {
                    memory.retire();
                }
                crate::os::linux::exit_thread(status)
            }
            Step::Yield(next) => {
                pc = next;
                match requeue {
                    Some(ticket) => first = Some(sched::lock_with(ticket)),
                    None => crate::os::linux::sched_yield(),
                }
            }
        }
    }
}

/// The guest's `clone` with CLONE_THREAD: a new thread with its own thread
/// block and runtime stack that starts, like the kernel's child, after the
/// `syscall` with rax = 0 and the given stack. Returns the kernel's result.
pub(crate) fn spawn_thread(d: &mut Dispatcher, args: &[u64; 6], next: u64) -> i64 {
    let (mut gprs, rflags, xsave) = d.ts.snapshot(arch::xsave_size());
    gprs[0] = 0; // rax: the child's clone returns 0
    gprs[1] = next; // rcx and r11 as after `syscall`
    gprs[11] = rflags;
    if args[1] != 0 {
        gprs[4] = args[1];
    }
    let Ok(memory) = ThreadMemory::get() else {
        return -12; // ENOMEM
    };
    THREADS.fetch_add(1, Ordering::AcqRel);
    if !PREEMPTION.swap(true, Ordering::AcqRel) {
        // The first extra thread: from now on threads take turns.
        let _ = sigframe::install_host_handler(sigframe::PREEMPT_SIG, SA_RESTART);
        crate::signal::withhold_runtime_signals(d, false);
    }
    let seeded = sched::deterministic();
    if d.ts.timer.is_none() && !seeded {
        d.ts.timer = sigframe::arm_preemption_timer(TIMESLICE_NS).ok();
    }
    let num = d.next_thread;
    // In a deterministic schedule the child queues now, behind its creator's
    // current turn, whenever its kernel thread gets to run.
    let ticket = seeded.then(|| sched::enqueue(num));
    let start = NewThread {
        signal_mask: d.ts.signal_mask,
        gprs,
        rflags,
        xsave,
        memory,
        ticket,
        num,
        seeded,
        next,
    };
    let ret = arch::spawn_thread(
        args[0],
        args[2],
        args[3],
        args[4],
        memory.stack,
        NewThread::run,
        start,
    );
    if ret < 0 {
        THREADS.fetch_sub(1, Ordering::AcqRel);
        memory.give_back_unused();
    } else {
        // The child waits for the big lock we hold: it has not run yet.
        d.next_thread += 1;
        if d.interests.threads {
            let parent = d.ts.events.num;
            let stack = d.ts.events.stack_id();
            d.config.tool.on_thread_create(parent, num, next - 2, stack);
        }
    }
    ret
}

/// What a thread started by `spawn_thread` needs to set itself up.
struct NewThread {
    /// The creator's guest signal mask (signal.rs): the child inherits it.
    signal_mask: u64,
    gprs: [u64; 16],
    rflags: u64,
    xsave: Vec<u8>,
    memory: ThreadMemory,
    ticket: Option<sched::Ticket>,
    num: ThreadNum,
    seeded: bool,
    next: u64,
}

impl NewThread {
    /// The new thread's first code, on its own runtime stack.
    fn run(self) -> ! {
        let next = self.next;
        let (ts, guard) = self.start();
        thread_loop(ts, next, Some(guard))
    }

    /// Sets up the thread's state and takes the big lock for its first
    /// turn; everything of the start is dropped before the thread runs.
    fn start(self) -> (ThreadState, BigGuard) {
        let captured = CapturedState::blank();
        let Ok(mut ts) =
            ThreadState::new_in(self.memory.block, &captured, arch::exit_common_addr())
        else {
            crate::exit_group(125)
        };
        ts.memory = Some(self.memory);
        ts.set_guest(&self.gprs, self.rflags, &self.xsave);
        let _ = sigframe::install_runtime_altstack(self.memory.altstack);
        ts.altstack = (0, 2, 0);
        ts.signal_mask = self.signal_mask;
        if !self.seeded {
            ts.timer = sigframe::arm_preemption_timer(TIMESLICE_NS).ok();
        }
        let mut guard = match self.ticket {
            Some(t) => sched::lock_with(t),
            None => sched::lock(self.num),
        };
        let d = guard.dispatcher();
        d.thread_blocks.push(ts.base_addr());
        d.adopt_thread(&mut ts, self.num);
        sched::thread_starts(&ts);
        tracing::debug!(pc = format_args!("{:#x}", self.next), "thread starts");
        (ts, guard)
    }
}

impl Dispatcher {
    /// Runs the thread whose state is in `ts` from guest `pc` until it must
    /// let go of the big lock.
    fn run_until(&mut self, mut pc: u64) -> Step {
        let mut link_from: Option<u64> = None;
        // A HOOK or VSIB exit continues inside its block, at this host address.
        let mut resume: Option<u64> = None;
        loop {
            let host = match resume.take() {
                Some(host) => host,
                None => {
                    // A signal recorded from here on kicks a guest syscall
                    // out before it sleeps (guest_syscall.rs).
                    sigframe::clear_kick();
                    if sigframe::any_pending(crate::signal::blocked_for_delivery(self)) {
                        pc = crate::signal::deliver_pending(self, pc);
                        link_from = None;
                        // The tool may have seen the delivery (record.rs,
                        // "The repeat filter").
                        self.ts.end_memo_epoch();
                    }
                    // Only for the handler of the signal that ended the call.
                    self.call_mask = None;
                    if std::mem::take(&mut self.flush_pending) {
                        self.flush_all();
                        link_from = None;
                    }
                    if std::mem::take(&mut self.yield_requested) {
                        tracing::debug!(thread = self.ts.events.num, "preempted");
                        return Step::Yield(pc);
                    }
                    let host = self.host_of(pc, &mut link_from);
                    if let Some(info) = link_from.take() {
                        arch::link_branch(self.cache.regions(), info, host);
                    }
                    host
                }
            };
            if let Some(filter) = self.inline_filter {
                let tag = self.config.tool.inline_filter_tag(self.ts.events.num);
                self.ts.set_inline_filter(filter.table(), tag);
            }
            sigframe::set_in_guest(true, 0);
            self.ts.run(host);
            sigframe::set_in_guest(false, 0);
            self.flush_events();
            if let Some(step) = self.after_exit(&mut pc, &mut link_from, &mut resume) {
                return step;
            }
        }
    }

    /// The translation of the block at `pc`, made on a miss (a full cache
    /// is flushed once, which also forgets the branch to link).
    fn host_of(&mut self, pc: u64, link_from: &mut Option<u64>) -> u64 {
        if let Some(b) = self.cache.lookup(pc) {
            return b.host;
        }
        let mut result = self.translate_at(pc);
        if let Err(TranslateError::Cache(CacheError::Full | CacheError::NoRegion)) = result {
            // Evict everything, as an unmap of guest code does, and try
            // once more in the emptied regions.
            self.flush_all();
            *link_from = None;
            result = self.translate_at(pc);
        }
        let b = match result {
            Ok(b) => b,
            Err(e) => self.internal_error(pc, &e.to_string()),
        };
        if !self.return_watched(pc) {
            self.ts.ibl_insert(pc, b.host);
        }
        tracing::trace!(
            pc = format_args!("{pc:#x}"),
            host = format_args!("{:#x}", b.host),
            "translated"
        );
        b.host
    }

    /// The kind of the exit the running thread just took (`exit_kind`),
    /// `None` when a signal stopped it instead.
    pub(crate) fn exit_kind(&self) -> Option<u64> {
        let info = self.ts.exit_info();
        (info != 0).then(|| read_u64_in(self.cache.regions(), info + arch::INFO_KIND))
    }

    /// Acts on the exit the running thread just took: sets the next `pc`
    /// (or `resume` host address, or a branch to link); `Some` when the
    /// thread must let go of the big lock.
    fn after_exit(
        &mut self,
        pc: &mut u64,
        link_from: &mut Option<u64>,
        resume: &mut Option<u64>,
    ) -> Option<Step> {
        let info = self.ts.exit_info();
        if info == 0 {
            // A signal stopped the guest at a safe point (sigframe.rs).
            *pc = sigframe::redirect_pc();
            return None;
        }
        let regions = self.cache.regions();
        let kind = read_u64_in(regions, info + arch::INFO_KIND);
        let target = read_u64_in(regions, info + arch::INFO_TARGET_PC);
        tracing::trace!(
            kind,
            target = format_args!("{target:#x}"),
            ind = format_args!("{:#x}", self.ts.ind_target()),
            "exit"
        );
        if let Some(n) = self.exits.get_mut(kind as usize) {
            *n += 1;
        }
        match kind {
            exit_kind::DIRECT => {
                *pc = target;
                if read_u64_in(regions, info + arch::INFO_PATCH_SITE) != 0 {
                    *link_from = Some(info);
                }
            }
            exit_kind::INDIRECT => {
                // A miss: the target may be translated but evicted from
                // the direct-mapped table; put it back.
                *pc = self.ts.ind_target();
                self.check_hooked_return(*pc);
                if !self.return_watched(*pc) {
                    if let Some(b) = self.cache.lookup(*pc) {
                        self.ts.ibl_insert(*pc, b.host);
                    }
                }
            }
            exit_kind::SYSCALL => {
                *pc = crate::syscall::handle(self, target - 2, target);
                if let Some((nr, args, next)) = self.blocking.take() {
                    return Some(Step::Blocking { nr, args, next });
                }
                if let Some(status) = self.exit_thread.take() {
                    return Some(Step::ExitThread(status));
                }
            }
            exit_kind::BUF_FULL => *pc = target,
            exit_kind::YIELD => {
                sched::slice_over(&mut self.ts);
                tracing::debug!(thread = self.ts.events.num, "timeslice over");
                *pc = target;
                if threads() > 1 {
                    return Some(Step::Yield(target));
                }
            }
            exit_kind::HOOK => {
                *resume = Some(read_u64_in(regions, info + arch::INFO_RESUME));
                *pc = target;
                self.enter_hook(target);
            }
            exit_kind::VSIB => {
                *resume = Some(read_u64_in(regions, info + arch::INFO_RESUME));
                *pc = target;
                self.vsib_accesses(target);
            }
            exit_kind::CLIENT_REQUEST => {
                // Continue after the request's `xchg rbx, rbx` (3 bytes)
                // through the cache: the request may flush it.
                *pc = target + 3;
                self.client_request(target);
            }
            exit_kind::NATIVE => {
                tracing::debug!(pc = format_args!("{target:#x}"), "running natively");
                // The instruction raises a signal: run it at its guest pc
                // so the kernel reports it there. Not yet: a guest handler
                // for it then runs natively (signals issue).
                sigframe::set_in_guest(true, target);
                self.ts.run(target);
                sigframe::set_in_guest(false, 0);
                if self.ts.exit_info() == 0 {
                    // The instruction raised a signal the guest handles.
                    *pc = sigframe::redirect_pc();
                    return None;
                }
                self.internal_error(target, "returned from native execution");
            }
            exit_kind::CODE_CHANGED => {
                tracing::debug!(pc = format_args!("{target:#x}"), "guest code changed");
                self.cache.forget(target);
                *pc = target;
            }
            exit_kind::USES_GS => {
                self.config.log.line(&format!(
                        "hbgrind: the program uses the GS segment register (instruction at {target:#x}); \
                         hbgrind needs GS for itself and cannot run this program"
                    ));
                crate::exit_group(1);
            }
            _ => self.internal_error(*pc, &format!("unknown exit kind {kind}")),
        }
        None
    }

    /// Translates the block at `pc` into the cache.
    fn translate_at(&mut self, pc: u64) -> Result<crate::code_cache::Block, TranslateError> {
        let hooks = &self.hooks;
        let hooked = |p: u64| hooks.at(p).is_some();
        let mut cx = crate::translate::TranslateContext {
            sites: &mut self.sites,
            hooked: &hooked,
            rdfsbase: self.rdfsbase,
            readonly_pages: &mut self.readonly_pages,
            smc_check: self.config.smc_check,
            guest_rsp: self.ts.gpr(crate::arch::reg::RSP),
        };
        crate::translate::translate(
            pc,
            &mut self.cache,
            &mut *self.config.tool,
            &self.interests,
            self.inline_filter,
            &mut cx,
        )
    }

    /// Modules mapped before the takeover (the program, ld.so, libc...).
    fn report_initial_modules(&mut self) {
        for (start, len, path, bias) in crate::os::linux::executable_mappings() {
            self.hooks.scan_module(&path, bias);
            if self.interests.modules {
                self.config.tool.on_module_load(&crate::ModuleView {
                    path: &path,
                    start,
                    len,
                    bias,
                });
            }
            self.modules.push((start, len));
        }
    }

    /// The figures for the tool's exit report.
    pub(crate) fn exit_stats(&self, status: i32) -> ExitStats {
        let (mut instructions, mut memory_accesses) = self.exited_counts;
        for &tb in &self.thread_blocks {
            let (i, m) = ThreadState::counts_of(tb);
            instructions += i;
            memory_accesses += m;
        }
        ExitStats {
            instructions,
            memory_accesses,
            blocks_translated: self.cache.len() as u64,
            status,
            signal: None,
            fatal: None,
        }
    }

    /// Drops translations of `[start, end)` if there are any.
    pub(crate) fn invalidate(&mut self, start: u64, end: u64) {
        if self.cache.overlaps(start, end) {
            self.flush_all();
        }
    }

    /// Drops every translation that skipped loads of a page of `[start,
    /// end)` as read-only file memory: the pages may be writable now.
    pub(crate) fn forget_readonly(&mut self, start: u64, end: u64) {
        if end <= start {
            return;
        }
        let (first, last) = (start >> 12, (end - 1) >> 12);
        if self.readonly_pages.range(first..=last).next().is_some() {
            self.readonly_pages.clear();
            self.flush_all();
        }
    }

    /// Drops every translation and every thread's indirect-branch entries.
    fn flush_all(&mut self) {
        self.cache.flush();
        for &tb in &self.thread_blocks {
            ThreadState::clear_ibl_of(tb);
        }
    }

    pub(crate) fn internal_error(&mut self, pc: u64, what: &str) -> ! {
        self.config.log.line(&format!(
            "hbgrind: internal error at guest pc {pc:#x}: {what}"
        ));
        let stats = self.exit_stats(125);
        self.config.tool.on_exit(&stats, &self.config.log);
        crate::exit_group(125)
    }
}
