//! dbi: the binary translator and the instrumentation API.
//!
//! The runtime (tools/runtime) calls [`take_over`] from its constructor; from
//! then on the calling thread runs only translated code (papers/takeover.md):
//! guest basic blocks are decoded with iced-x86, copied into a code cache
//! with control transfers rewritten (papers/mangling.md), linked block to
//! block, and indirect branches are looked up inline. Syscalls leave the
//! cache for the syscall layer; signals are delivered to translated guest
//! handlers by the signal layer. A [`Tool`] sees every block as it is
//! translated and declares, with [`Tool::interests`], which instrumentation
//! it needs, so the none tool pays for nothing.
//!
//! Code from memory the guest can write is checked before each run and
//! retranslated when it changed (decision 9, `all-non-file`).
//!
//! Guest threads take turns under a big lock (decision 10), preempted by a
//! per-thread CPU-time timer (dispatch.rs).
//!
//! `--smc-check` chooses which code is checked (`SmcCheck`).

mod all_blocked; // every thread waiting forever on a futex: a deadlock
mod arch; // the only cfg(target_arch): decode, emit, enter/leave, ThreadBlock
mod block_counters; // execution counters of translations, never freed
mod code_cache; // CodeCache, Block: translations in regions near the guest code
mod dispatch; // Dispatcher: the loop between the cache and the runtime
pub(crate) mod events; // event buffers: sites, records, replay into MemAccess
mod hooks; // function hooks by symbol
mod os; // the only cfg(target_os): raw syscalls, memory, GS base, signal frames
mod sched; // the big lock's turns: FIFO, seeded, PCT, replay
#[doc(hidden)]
pub mod selftest; // Machine: native vs translated runs, for the differential test
mod signal; // guest signal actions, delivery to translated handlers, sigreturn
mod stack_regions; // one shadow call stack per registered stack (coroutines)
mod stacks; // the call-stack tree behind StackId
mod syscall; // the syscall layer: what the guest's syscalls mean to us
mod thread_memory; // ThreadMemory: a thread's runtime mappings, reused after it is gone
mod tool_events; // flushes, hooked calls and returns, client requests
mod translate; // translate(): decode, show the tool, emit, place

pub use crate::all_blocked::BlockedThread;
pub use crate::events::{ProfileBatch, SyncHints};
pub use crate::os::linux::fds::reserve as reserve_fds;
pub use crate::os::linux::mem::{map_anon, unmap};
pub use crate::os::linux::owned::note_runtime_image as guard_runtime_image;
pub use crate::os::linux::owned::own_mappings_made_by;
pub use crate::os::linux::{
    close, dup_high, dup_onto, exit_group, file_offset, getpid, mapping_of, open, read,
    truncate_at, write_all, Errno,
};
pub use crate::sched::{
    create_record as create_schedule_record, RecordedPolicy, RecordedSchedule, ScheduleEvent,
    ScheduleFileError,
};
pub use crate::stack_regions::{deregister_stack, register_stack};
pub use iced_x86::{Instruction, Mnemonic, OpAccess, Register, UsedMemory};

/// What a tool wants the translator to do for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interests {
    /// Count executed guest instructions (inline, per block).
    pub instruction_counts: bool,
    /// Count executed memory operands (inline, per block).
    pub memory_access_counts: bool,
    /// Call [`Tool::on_block`] for every translated block.
    pub blocks: bool,
    /// Call [`Tool::on_syscall`] for every guest syscall.
    pub syscalls: bool,
    /// Call [`Tool::on_module_load`] / [`Tool::on_module_unload`].
    pub modules: bool,
    /// Deliver every guest load and store, in order, to [`Tool::on_accesses`]
    /// (buffered by translated code; implies `call_stacks`).
    pub memory_accesses: bool,
    /// Keep a shadow call stack per thread, so events carry a [`StackId`].
    pub call_stacks: bool,
    /// Call [`Tool::on_thread_create`] / [`Tool::on_thread_exit`].
    pub threads: bool,
    /// Hand client requests (`valgrind.h`) the translator does not answer
    /// itself to [`Tool::on_client_request`].
    pub client_requests: bool,
    /// With `memory_accesses`: the tool needs only the first of a thread's
    /// accesses with the same address, size and read/write between two
    /// exits from the code cache or atomic instructions of the thread, so
    /// translated code may skip the repeats inline (the repeat filter,
    /// `arch/x86_64/record.rs`; needs BMI2, else every access is delivered).
    pub repeat_filter: bool,
    /// With `memory_accesses`: loads at fixed (RIP-relative or absolute)
    /// addresses inside read-only file mappings are not delivered (no
    /// thread can write there, so they cannot race). A later `mprotect`,
    /// `munmap`, `mremap` or `MAP_FIXED` `mmap` over such a page drops the
    /// translations that relied on it.
    pub skip_readonly_reads: bool,
    /// Give every translation its own execution counter, bumped inline at
    /// the block's head ([`BlockView::executions`]): a profiler's
    /// per-instruction counts without a call per block or instruction.
    pub block_counts: bool,
    /// The profiler's event stream ([`Tool::on_profile`]); not together
    /// with `memory_accesses`.
    pub profile: Profile,
}

/// What a profiler's event stream ([`Tool::on_profile`]) holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// No stream.
    #[default]
    Off,
    /// Only the accesses of `rep` string instructions (whose element
    /// count a per-block counter cannot know).
    RepStrings,
    /// Every executed block's start, then every load and store, unmerged
    /// and in order, with the implicit stack accesses of push, pop, call,
    /// ret and leave. No call stacks are kept (`StackId(0)`).
    Full,
}

/// One event of a profiler's stream, in the order the thread made them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileEvent {
    /// The translation of the block at `pc` numbered `id`
    /// ([`BlockView::id`]) starts running ([`Profile::Full`]).
    Block { pc: u64, id: u32 },
    /// A load or store (`stack` is always `StackId(0)`). For a `rep`
    /// string operand, `size` is count × element size and `element` the
    /// element size; otherwise `element` is 0.
    Access {
        access: MemAccess,
        element: u8,
        /// Which memory operand of its instruction (0, 1).
        operand: u8,
        /// With [`Profile::Full`]: the instruction's index among the
        /// running block's [`BlockView::instructions`].
        index: u8,
        /// The operand's site: a number that stays the same for this
        /// operand (pc, operand, size, kind) for the process's life, dense
        /// from 0, so a tool may index its own per-operand table by it.
        site: u32,
    },
}

/// A tool's same-epoch access filter, laid out for translated code to read
/// in place (arch/x86_64/record.rs, "The inline filter"): `mask + 1` slots
/// of two words, `granule` (address / 8) and `tag << 16 | write mask << 8 |
/// read mask`, the slot of a granule being `granule & mask`. A plain access
/// of one to eight bytes inside one granule whose slot holds its granule,
/// the thread's current tag ([`Tool::inline_filter_tag`]) and its bytes in
/// the write mask (a write) or either mask (a read) is not delivered.
/// Translated code only reads the table; the tool writes it between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlineFilter {
    table: u64,
    mask: u32,
}

impl InlineFilter {
    /// The filter kept in `table`, or `None` when its length is not two
    /// words times a power of two of at most 2^28 slots. The slice must
    /// stay where it is, at least this long, for the life of the process
    /// (a tool's table allocated once and never dropped or resized).
    pub fn over(table: &[u64]) -> Option<InlineFilter> {
        let slots = table.len() / 2;
        (table.len() & 1 == 0 && slots.is_power_of_two() && slots <= 1 << 28).then(|| {
            InlineFilter {
                table: table.as_ptr() as u64,
                mask: (slots - 1) as u32,
            }
        })
    }

    pub(crate) fn table(self) -> u64 {
        self.table
    }

    pub(crate) fn mask(self) -> u32 {
        self.mask
    }
}

/// A guest thread as tools see it: 1 for the thread hbgrind took over, then
/// 2, 3, ... in creation order (Valgrind's thread numbers). Never reused.
pub type ThreadNum = u32;

/// A node of the translator's call-stack tree: the chain of return
/// addresses of a thread at some moment. [`call_stack`] expands it.
/// `StackId(0)` is the empty stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(pub u32);

/// What a memory access does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKind {
    Read,
    Write,
    /// A read-modify-write of the same bytes (`add [m], r`, `xchg`, `lock cmpxchg`).
    Update,
}

/// One executed guest memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemAccess {
    /// The real address (FS-relative operands include the FS base).
    pub addr: u64,
    /// Bytes accessed; a `rep` string instruction is one access of
    /// count × element size bytes (0 when the count was 0).
    pub size: u32,
    pub kind: AccessKind,
    /// LOCK-prefixed or `xchg` with memory: atomic by the instruction itself.
    pub atomic: bool,
    /// A load in a loop that only reads memory and branches back to itself
    /// (a spin wait on a flag another thread sets): on x86 such a load is
    /// how C11 acquire loads and hand-made locks wait, so the atomics model
    /// treats it as one.
    pub spin_read: bool,
    /// Guest address of the accessing instruction.
    pub pc: u64,
    /// The thread's call stack at the access (callers of `pc`'s function).
    pub stack: StackId,
}

/// A function the tool wants to hear about, by symbol name (every module's
/// definition of that name, any symbol version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRequest {
    pub symbol: String,
    /// Also call [`Tool::on_hook_exit`] when the call returns.
    pub exit: bool,
    /// Drop the memory accesses made inside the call (and in what it calls):
    /// they are the synchronisation itself.
    pub quiet: bool,
    /// Mark the plain accesses made inside the call (and in what it calls)
    /// as atomic ([`MemAccess::atomic`]), except those to the stack below
    /// its entry (its frames): its data are atomics that compile to plain
    /// `mov`s. Ignored with `quiet`.
    pub atomic: bool,
}

/// A guest syscall, as [`Tool::on_syscall`] and [`Tool::on_syscall_return`] see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall<'a> {
    pub thread: ThreadNum,
    pub nr: u64,
    /// The six argument registers (rdi, rsi, rdx, r10, r8, r9).
    pub args: &'a [u64; 6],
    /// Made inside a call of a hooked `quiet` function (whose accesses are
    /// dropped): its synchronisation is that function's own.
    pub in_quiet_call: bool,
}

/// A call of a hooked function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookCall {
    pub thread: ThreadNum,
    /// Index into the tool's [`Tool::hooks`] list.
    pub hook: usize,
    /// Address of the function's entry.
    pub function: u64,
    /// The six integer argument registers at entry (rdi, rsi, rdx, rcx, r8, r9).
    pub args: [u64; 6],
    /// The caller's stack (the call site is the innermost frame).
    pub stack: StackId,
    /// The stack pointer at entry: the return address is at `sp`, the
    /// seventh and later integer arguments at `sp + 8`, `sp + 16`...
    pub sp: u64,
}

/// One guest block as it is translated.
pub struct BlockView<'a> {
    /// Guest address of the first instruction.
    pub guest_pc: u64,
    /// The decoded guest instructions, in order (a final `syscall` is not among them).
    pub instructions: &'a [Instruction],
    /// For each instruction, the memory operands iced-x86's `InstructionInfoFactory` reports.
    pub memory: &'a [Vec<UsedMemory>],
    /// A `syscall` that ends the block (not among `instructions`): its pc.
    pub syscall_pc: Option<u64>,
    /// With [`Interests::block_counts`]: how many times this translation
    /// has run (translated code bumps it; it lives for the process's life).
    pub executions: Option<&'static core::sync::atomic::AtomicU64>,
    /// With [`Interests::block_counts`]: this translation's number, 0, 1,
    /// 2... in translation order ([`ProfileEvent::Block`] names it).
    pub id: u32,
}

/// A file mapped executable into the guest.
pub struct ModuleView<'a> {
    pub path: &'a str,
    pub start: u64,
    pub len: u64,
    /// What to add to an ELF virtual address of the file to get its run-time
    /// address (mapping start minus file offset; 0 for a non-PIE program).
    pub bias: u64,
}

/// Figures the translator gathered, given to [`Tool::on_exit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExitStats {
    /// Guest instructions executed (counted only if the tool asked).
    pub instructions: u64,
    /// Memory operands executed (counted only if the tool asked; a `rep`
    /// string instruction counts its operands once per execution).
    pub memory_accesses: u64,
    /// Blocks translated.
    pub blocks_translated: u64,
    /// The guest's exit status (128 + N when it dies of signal N).
    pub status: i32,
    /// The signal the process is about to die of, if it is one: the tool
    /// writes its report, then the process is killed with it.
    pub signal: Option<i32>,
    /// Where that signal was taken, when a guest thread took it (Valgrind's
    /// "Process terminating with default action of signal N" block).
    pub fatal: Option<FatalSignal>,
}

/// A signal whose default action ends the process, as the guest took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatalSignal {
    pub signal: i32,
    /// `si_code` (1 = `SEGV_MAPERR` for SIGSEGV; <= 0: sent by a process).
    pub code: i32,
    /// `si_addr`: the faulting address of SIGSEGV, SIGBUS, SIGILL, SIGFPE.
    pub addr: u64,
    /// The thread, the guest pc it was at and its call stack there.
    pub thread: ThreadNum,
    pub pc: u64,
    pub stack: StackId,
}

/// Where the runtime writes its messages: `==PID== ` lines on a file descriptor.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub fd: i32,
    pub quiet: bool,
    /// `--time-stamp=yes`: the start of the run; lines then begin
    /// `==DD:HH:MM:SS.mmm PID== ` (Valgrind's format).
    pub time_stamp: Option<std::time::Instant>,
}

impl Log {
    /// Writes `==PID== text` (one line per line of `text`).
    pub fn line(&self, text: &str) {
        let prefix = self.prefix();
        let mut out = String::with_capacity(text.len() + 16);
        for l in text.lines() {
            out.push_str(&format!("{prefix}{l}\n"));
        }
        let _ = write_all(self.fd, out.as_bytes());
    }

    /// `==PID== `, or `==DD:HH:MM:SS.mmm PID== ` with time stamps.
    pub fn prefix(&self) -> String {
        let pid = getpid();
        match self.time_stamp {
            None => format!("=={pid}== "),
            Some(start) => {
                let ms = start.elapsed().as_millis();
                let (s, ms) = (ms / 1000, ms % 1000);
                let (m, s) = (s / 60, s % 60);
                let (h, m) = (m / 60, m % 60);
                let (d, h) = (h / 24, h % 24);
                format!("=={d:02}:{h:02}:{m:02}:{s:02}.{ms:03} {pid}== ")
            }
        }
    }
}

/// An instrumentation tool: the translator calls it while translating and
/// at the events it declared in [`Tool::interests`].
pub trait Tool: Send {
    /// The tool's name, as given to `--tool`.
    fn name(&self) -> &'static str;
    /// What the tool needs; everything else costs nothing.
    fn interests(&self) -> Interests;
    /// A block is being translated.
    fn on_block(&mut self, _block: &BlockView<'_>) {}
    /// A thread is about to make a syscall.
    fn on_syscall(&mut self, _call: &Syscall<'_>) {}
    /// The syscall [`Tool::on_syscall`] saw returned `ret` (a negative
    /// errno on failure). Called with the big lock held again, before the
    /// thread runs on, for every syscall the kernel ran for the guest,
    /// including those that blocked; not for the ones the translator
    /// carries out itself (thread creation, exits, signal actions,
    /// `clone3`'s refusal).
    fn on_syscall_return(&mut self, _call: &Syscall<'_>, _ret: i64) {}
    /// A file was mapped executable.
    fn on_module_load(&mut self, _module: &ModuleView<'_>) {}
    /// An executable mapping of a file went away.
    fn on_module_unload(&mut self, _start: u64, _len: u64) {}
    /// The process is exiting; write the tool's report to `log`. Also
    /// called when a fatal signal is about to kill the process.
    fn on_exit(&mut self, _stats: &ExitStats, _log: &Log) {}
    /// In the child of a `fork` (or of a `clone` or `vfork` run as one),
    /// before it runs a guest instruction: a tool that writes report files
    /// gives the child its own (`%p` in their names, as Valgrind does).
    fn on_fork_child(&mut self) {}
    /// The guest is about to `execve` a program that runs without hbgrind
    /// (`--trace-children=no`): close what would otherwise stay open, such
    /// as an XML document. If the call fails, `on_exec_failed` follows.
    fn on_exec_untraced(&mut self) {}
    /// The `execve` announced by `on_exec_untraced` failed: the program
    /// goes on under hbgrind.
    fn on_exec_failed(&mut self) {}
    /// The functions to hook, asked once before the first block runs.
    fn hooks(&self) -> Vec<HookRequest> {
        Vec::new()
    }
    /// `thread` executed these accesses, in this order. Every event of a
    /// thread (hooks, client requests, thread events, syscalls) comes after
    /// the delivery of all accesses it made before it.
    fn on_accesses(&mut self, _thread: ThreadNum, _accesses: &[MemAccess]) {}
    /// `thread` made these profile events ([`Interests::profile`]), in
    /// this order, before any later event of the thread.
    fn on_profile(&mut self, _thread: ThreadNum, _events: ProfileBatch<'_>) {}
    /// Whether the last `on_accesses` made a synchronisation event of its
    /// thread (a plain access the tool treats as an acquire or a release)
    /// or changed what a repeat of those accesses would mean. While false,
    /// the repeat filter's epoch (`Interests::repeat_filter`) may go on
    /// across a full buffer. The default, true, is always safe.
    fn accesses_synchronised(&self) -> bool {
        true
    }
    /// The tool's same-epoch filter, for translated code to read inline
    /// (asked once, before the first block is translated; [`InlineFilter`]).
    fn inline_filter(&self) -> Option<InlineFilter> {
        None
    }
    /// The current tag of `thread` in the inline filter: a slot holding
    /// this tag speaks for accesses the tool would drop. Asked before every
    /// entry of the thread into the code cache, so it must be cheap; it may
    /// change in any tool call.
    fn inline_filter_tag(&self, _thread: ThreadNum) -> u64 {
        0
    }
    /// Whether the plain accesses of the instruction at `pc` may be left
    /// out when the inline filter covers them. Asked at translation, after
    /// [`Tool::on_block`] of its block; false for an instruction whose
    /// accesses the tool treats as more than plain ones (a store it takes
    /// for a release).
    fn inline_filter_applies(&self, _pc: u64) -> bool {
        true
    }
    /// Places where a plain access may synchronise: the flush merges no
    /// run of accesses across or into one ([`SyncHints`]).
    fn sync_hints(&self) -> Option<&SyncHints> {
        None
    }
    /// A hooked function was entered.
    fn on_hook_entry(&mut self, _call: &HookCall) {}
    /// A hooked function (with `exit: true`) returned `ret` (rax) to its caller.
    fn on_hook_exit(&mut self, _call: &HookCall, _ret: u64) {}
    /// Functions to hook from now on, by entry address, each with the
    /// index of the [`Tool::hooks`] request it stands for: code the tool
    /// learns about as the program runs (an OpenMP task's body, named by
    /// the `GOMP_task` call that creates it). Asked after every hook call.
    fn new_hooks(&mut self) -> Vec<(u64, usize)> {
        Vec::new()
    }
    /// `parent` created `child` (clone with CLONE_THREAD succeeded); called
    /// in the parent before the child runs its first instruction. `pc` is
    /// the `syscall` instruction, `stack` the parent's stack there.
    fn on_thread_create(
        &mut self,
        _parent: ThreadNum,
        _child: ThreadNum,
        _pc: u64,
        _stack: StackId,
    ) {
    }
    /// `thread` is exiting (its last event).
    fn on_thread_exit(&mut self, _thread: ThreadNum) {}
    /// Every guest thread has waited on a futex with no timeout, and nothing
    /// changed for a while: a deadlock (`all_blocked.rs`). Told once.
    fn on_all_threads_blocked(&mut self, _blocked: &[BlockedThread]) {}
    /// A client request (`VALGRIND_DO_CLIENT_REQUEST`): `args[0]` is the
    /// request code, `args[1..6]` its arguments. Return the value the guest
    /// gets, or `None` for "not mine" (the guest then gets the default it
    /// passed). `stack` is the caller's stack, `pc` the request's address.
    fn on_client_request(
        &mut self,
        _thread: ThreadNum,
        _args: &[u64; 6],
        _pc: u64,
        _stack: StackId,
    ) -> Option<u64> {
        None
    }
}

/// The return addresses of a call stack, innermost first (the caller of
/// the function running at the event comes first). Empty for an unknown id.
pub fn call_stack(id: StackId) -> Vec<u64> {
    stacks::frames(id)
}

/// Copies guest memory at `addr` into `buf` without risking a fault;
/// false if some of it is not readable.
pub fn read_guest(addr: u64, buf: &mut [u8]) -> bool {
    crate::os::linux::mem::read_guest(addr, buf) == buf.len()
}

/// Which guest code is checked for self-modification before each run
/// (`--smc-check`, decision 9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmcCheck {
    /// Never: code that changes without an munmap/mprotect runs stale.
    None,
    /// Code on a stack (the main stack, or near the running thread's stack
    /// pointer): trampolines GCC writes for nested functions.
    Stack,
    /// Code in memory that is not a read-only file mapping (JITs).
    #[default]
    AllNonFile,
    /// All code.
    All,
}

/// How guest threads take turns (decision 10; sched.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// `--fair-sched=yes|try`: the big lock is a FIFO ticket lock, so a
    /// thread that lets go queues behind the waiting ones; `no`: whoever
    /// asks first gets it (Valgrind's default; a spinning thread may then
    /// wait for the kernel to run the thread it waits for).
    pub fair: bool,
    /// `--sched-seed=N`: threads switch after a pseudo-random number of
    /// blocks drawn from this seed instead of after 10 ms of CPU time, and
    /// new threads queue in creation order, so a run without blocking
    /// system calls interleaves the same way every time.
    pub seed: Option<u64>,
    /// `--sched=random|pct`: how a seeded schedule chooses.
    pub policy: SchedulePolicy,
    /// `--sched-record=FILE`, opened: every grant and slice goes there.
    pub record_fd: Option<i32>,
    /// `--sched-replay=FILE`, read: the schedule to follow.
    pub replay: Option<RecordedSchedule>,
}

/// `--sched=`: the policy of a seeded schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchedulePolicy {
    /// FIFO turns; with a seed, timeslices of random lengths in blocks.
    #[default]
    Random,
    /// PCT: random priorities, `depth - 1` change points drawn from the
    /// first `steps` blocks (`--pct-depth`, `--pct-steps`).
    Pct { depth: u32, steps: u64 },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            fair: true,
            seed: None,
            policy: SchedulePolicy::Random,
            record_fd: None,
            replay: None,
        }
    }
}

/// Decides from an execve's path and argv that its program runs untraced.
pub type SkipChild = Box<dyn Fn(&[u8], &[Vec<u8>]) -> bool + Send>;

/// How the runtime configured the translator.
pub struct Config {
    pub tool: Box<dyn Tool>,
    pub log: Log,
    /// `--trace-children=yes`: keep LD_PRELOAD across execve.
    pub trace_children: bool,
    /// With `trace_children`: true for a program not to trace after all
    /// (`--trace-children-skip`), given the path passed to execve and argv.
    pub skip_child: Option<SkipChild>,
    /// The LD_PRELOAD entry naming the runtime (stripped on untraced execve).
    pub preload_path: Option<Vec<u8>>,
    /// `-v`: print the translator's own counts at exit.
    pub verbose: bool,
    pub schedule: Schedule,
    pub smc_check: SmcCheck,
    /// The embedding runtime's allocator lock, if it has one of its own.
    pub fork_lock: Option<ForkLock>,
}

/// A lock of the embedding runtime (its allocator's) that another thread
/// must not hold when the guest forks: the child would inherit it locked,
/// with no thread to unlock it. It is taken before each fork-like syscall,
/// after the scheduler's state, and given back after it in the parent and
/// in the child (fork-like calls never share memory with the child).
#[derive(Clone, Copy, Debug)]
pub struct ForkLock {
    pub acquire: fn(),
    pub release: fn(),
}

/// Takes over the calling thread: returns only by running translated code,
/// so everything the caller does afterwards runs under the translator.
/// On failure to set up (no memory, no xsave) it returns natively after
/// logging why.
pub fn take_over(config: Config) {
    dispatch::take_over(config);
}
