//! What each syscall means to the runtime, as data (after Valgrind's
//! `syscall_table[]`): one row per syscall the syscall layer treats
//! specially. Every syscall not listed runs as it is.

/// How the syscall layer treats one syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyscallKind {
    /// Ends the process: flush tool output first.
    ExitGroup,
    /// Ends the calling thread (the process, while threads are unsupported).
    Exit,
    /// `clone`: threads are refused for now, fork-like clones followed.
    Clone,
    /// `clone3`: same as `Clone`, arguments in a struct.
    Clone3,
    /// `fork`: the child continues in its copy of the dispatcher.
    Fork,
    /// `vfork`: run as `fork` (a child sharing our memory would corrupt it).
    Vfork,
    /// `execve`/`execveat`: LD_PRELOAD kept or stripped per --trace-children.
    Execve,
    /// Unmapping or reprotecting memory may invalidate translations.
    UnmapOrProtect,
    /// `arch_prctl`: a guest taking GS is refused.
    ArchPrctl,
    /// `rt_sigaction`: the runtime keeps the guest's action and owns the real handler.
    SigAction,
    /// `rt_sigreturn`: the guest state comes back from the guest's frame.
    SigReturn,
    /// `rt_sigprocmask`: emulated for the runtime's preemption signal,
    /// which the kernel never blocks once threads take turns.
    SigProcMask,
    /// `sigaltstack`: emulated; the kernel's belongs to the runtime.
    SigAltStack,
    /// `rseq`: a guest registering restartable sequences itself is warned about.
    Rseq,
    /// close, close_range, dup2, dup3, fcntl, getrlimit, setrlimit,
    /// prlimit64: the runtime's descriptors are not the guest's (os/linux/fds.rs).
    FdChange,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyscallRow {
    pub(crate) nr: u64,
    pub(crate) name: &'static str,
    pub(crate) kind: SyscallKind,
}

const fn row(nr: u64, name: &'static str, kind: SyscallKind) -> SyscallRow {
    SyscallRow { nr, name, kind }
}

use SyscallKind::*;

/// The special syscalls of x86-64 Linux.
pub(crate) const SYSCALL_TABLE: &[SyscallRow] = &[
    row(3, "close", FdChange),
    row(10, "mprotect", UnmapOrProtect),
    row(11, "munmap", UnmapOrProtect),
    row(13, "rt_sigaction", SigAction),
    row(14, "rt_sigprocmask", SigProcMask),
    row(15, "rt_sigreturn", SigReturn),
    row(25, "mremap", UnmapOrProtect),
    row(33, "dup2", FdChange),
    row(56, "clone", Clone),
    row(57, "fork", Fork),
    row(58, "vfork", Vfork),
    row(59, "execve", Execve),
    row(60, "exit", Exit),
    row(72, "fcntl", FdChange),
    row(97, "getrlimit", FdChange),
    row(131, "sigaltstack", SigAltStack),
    row(158, "arch_prctl", ArchPrctl),
    row(160, "setrlimit", FdChange),
    row(231, "exit_group", ExitGroup),
    row(292, "dup3", FdChange),
    row(302, "prlimit64", FdChange),
    row(322, "execveat", Execve),
    row(334, "rseq", Rseq),
    row(435, "clone3", Clone3),
    row(436, "close_range", FdChange),
];

/// The row for syscall `nr`, if it is special.
pub(crate) fn lookup(nr: u64) -> Option<&'static SyscallRow> {
    SYSCALL_TABLE.iter().find(|r| r.nr == nr)
}

/// The raw numbers the syscall layer needs to rewrite calls.
pub(crate) const NR_FORK: u64 = 57;
