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
//! Not yet (later issues): buffered memory-access events with per-site
//! metadata (decision 11) and function hooks by symbol (decision 12) are not
//! part of the API yet; `--fair-sched`, deterministic schedules, per-thread
//! pending signals; the other `--smc-check` modes.

mod arch; // the only cfg(target_arch): decode, emit, enter/leave, ThreadBlock
mod code_cache; // CodeCache, Block: translations in regions near the guest code
mod dispatch; // Dispatcher: the loop between the cache and the runtime
mod os; // the only cfg(target_os): raw syscalls, memory, GS base, signal frames
#[doc(hidden)]
pub mod selftest; // Machine: native vs translated runs, for the differential test
mod signal; // guest signal actions, delivery to translated handlers, sigreturn
mod syscall; // the syscall layer: what the guest's syscalls mean to us
mod translate; // translate(): decode, show the tool, emit, place

pub use crate::os::linux::mem::{map_anon, unmap};
pub use crate::os::linux::{close, dup_high, exit_group, getpid, open, read, write_all, Errno};
pub use iced_x86::{Instruction, UsedMemory};

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
}

/// One guest block as it is translated.
pub struct BlockView<'a> {
    /// Guest address of the first instruction.
    pub guest_pc: u64,
    /// The decoded guest instructions, in order (a final `syscall` is not among them).
    pub instructions: &'a [Instruction],
    /// For each instruction, the memory operands iced-x86's `InstructionInfoFactory` reports.
    pub memory: &'a [Vec<UsedMemory>],
}

/// A file mapped executable into the guest.
pub struct ModuleView<'a> {
    pub path: &'a str,
    pub start: u64,
    pub len: u64,
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
    /// The guest's exit status.
    pub status: i32,
}

/// Where the runtime writes its messages: `==PID== ` lines on a file descriptor.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub fd: i32,
    pub quiet: bool,
}

impl Log {
    /// Writes `==PID== text` (one line per line of `text`).
    pub fn line(&self, text: &str) {
        let pid = getpid();
        let mut out = String::with_capacity(text.len() + 16);
        for l in text.lines() {
            out.push_str(&format!("=={pid}== {l}\n"));
        }
        let _ = write_all(self.fd, out.as_bytes());
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
    /// The guest is about to make syscall `nr`.
    fn on_syscall(&mut self, _nr: u64, _args: &[u64; 6]) {}
    /// A file was mapped executable.
    fn on_module_load(&mut self, _module: &ModuleView<'_>) {}
    /// An executable mapping of a file went away.
    fn on_module_unload(&mut self, _start: u64, _len: u64) {}
    /// The process is exiting; write the tool's report to `log`.
    fn on_exit(&mut self, _stats: &ExitStats, _log: &Log) {}
}

/// How the runtime configured the translator.
pub struct Config {
    pub tool: Box<dyn Tool>,
    pub log: Log,
    /// `--trace-children=yes`: keep LD_PRELOAD across execve.
    pub trace_children: bool,
    /// The LD_PRELOAD entry naming the runtime (stripped on untraced execve).
    pub preload_path: Option<Vec<u8>>,
    /// `-v`: print the translator's own counts at exit.
    pub verbose: bool,
}

/// Takes over the calling thread: returns only by running translated code,
/// so everything the caller does afterwards runs under the translator.
/// On failure to set up (no memory, no xsave) it returns natively after
/// logging why.
pub fn take_over(config: Config) {
    dispatch::take_over(config);
}
