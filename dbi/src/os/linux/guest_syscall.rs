//! Running a guest's syscall on its behalf.
//!
//! A guest syscall that may block runs in `hbgrind_guest_syscall`, a small
//! asm stub whose addresses tell the real signal handler how far the call
//! got (papers/signals.md):
//! - from the stub's start up to and including its `syscall` instruction the
//!   call has not run, or the kernel has rewound it to be restarted
//!   (`-ERESTARTSYS` with `SA_RESTART`, `-ERESTARTNOINTR`): the handler sends
//!   the thread to the stub's `interrupted` exit, and the guest re-executes
//!   its `syscall` instruction after its handler ran, as the kernel would;
//! - after the `syscall` instruction the call has finished and `rax` holds
//!   its result (`-EINTR` when the kernel chose not to restart it): the
//!   handler lets the stub return it.
//!
//! A signal that arrives after the dispatcher last looked for pending
//! signals but before the stub reaches its `syscall` sets the thread's kick
//! word (`sigframe::kick_word`), which the stub checks first, so it is never
//! left pending while the thread sleeps in the kernel.

use super::raw::syscall6;

/// How a guest syscall run by `run_interruptible` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyscallOutcome {
    /// It ran; the kernel's result.
    Done(i64),
    /// A signal for the guest came first, or the kernel rewound the call to
    /// restart it: deliver the signal, then run the `syscall` instruction again.
    Interrupted,
}

/// The stub's two results, in rax and rdx (SysV: a struct of two integers).
#[repr(C)]
struct StubResult {
    ret: i64,
    interrupted: u64,
}

core::arch::global_asm!(
    ".pushsection .text.hbgrind_guest_syscall,\"ax\",@progbits",
    ".globl hbgrind_guest_syscall",
    ".hidden hbgrind_guest_syscall",
    ".type hbgrind_guest_syscall,@function",
    // rdi: [nr, a0..a5], rsi: the thread's kick word.
    "hbgrind_guest_syscall:",
    "mov rax, [rdi]",
    "mov rdx, [rdi + 24]",
    "mov r10, [rdi + 32]",
    "mov r8, [rdi + 40]",
    "mov r9, [rdi + 48]",
    "mov rcx, rsi",
    "mov rsi, [rdi + 16]",
    "mov rdi, [rdi + 8]",
    "cmp qword ptr [rcx], 0",
    "jne hbgrind_guest_syscall_interrupted",
    ".globl hbgrind_guest_syscall_insn",
    ".hidden hbgrind_guest_syscall_insn",
    "hbgrind_guest_syscall_insn:",
    "syscall",
    ".globl hbgrind_guest_syscall_done",
    ".hidden hbgrind_guest_syscall_done",
    "hbgrind_guest_syscall_done:",
    "xor edx, edx",
    "ret",
    ".globl hbgrind_guest_syscall_interrupted",
    ".hidden hbgrind_guest_syscall_interrupted",
    "hbgrind_guest_syscall_interrupted:",
    "mov edx, 1",
    "ret",
    ".globl hbgrind_guest_syscall_end",
    ".hidden hbgrind_guest_syscall_end",
    "hbgrind_guest_syscall_end:",
    ".size hbgrind_guest_syscall, . - hbgrind_guest_syscall",
    ".popsection",
);

extern "C" {
    fn hbgrind_guest_syscall(regs: *const [u64; 7], kick: *const u64) -> StubResult;
    fn hbgrind_guest_syscall_insn();
    fn hbgrind_guest_syscall_interrupted();
    fn hbgrind_guest_syscall_end();
}

/// Where in the stub an interrupted thread was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StubPosition {
    /// Not in the stub.
    Outside,
    /// At or before its `syscall` instruction: the call has not run, or is
    /// to be restarted.
    NotStarted,
    /// After it: the call has finished.
    Finished,
}

/// Where host pc `pc` lies in the stub (for the real signal handler).
pub(crate) fn stub_position(pc: u64) -> StubPosition {
    let start = hbgrind_guest_syscall as *const () as u64;
    let insn = hbgrind_guest_syscall_insn as *const () as u64;
    let end = hbgrind_guest_syscall_end as *const () as u64;
    if (start..=insn).contains(&pc) {
        StubPosition::NotStarted
    } else if (insn..end).contains(&pc) {
        StubPosition::Finished
    } else {
        StubPosition::Outside
    }
}

/// The stub's exit for a call that must not run now (see the module doc).
pub(crate) fn interrupted_exit() -> u64 {
    hbgrind_guest_syscall_interrupted as *const () as u64
}

/// Performs the guest's syscall `nr(args)` so that a signal for the guest
/// interrupts it as natively (see the module doc).
pub(crate) fn run_interruptible(nr: u64, args: [u64; 6]) -> SyscallOutcome {
    let regs = [nr, args[0], args[1], args[2], args[3], args[4], args[5]];
    let kick = super::sigframe::kick_word();
    // SAFETY:
    // - As in `run_guest_syscall`: the kernel touches only memory the guest
    //   named for its own request.
    // - The stub reads the 7 words of `regs` (a live local) and the kick
    //   word (a live word of this thread's block or a static), uses no stack
    //   beyond its return address and clobbers only caller-saved registers,
    //   as its `extern "C"` signature declares.
    let r = unsafe { hbgrind_guest_syscall(&regs, kick) };
    if r.interrupted != 0 {
        SyscallOutcome::Interrupted
    } else {
        SyscallOutcome::Done(r.ret)
    }
}

/// Performs the guest's syscall `nr(args)` and returns the kernel's result.
///
/// The syscall layer calls this with the guest's own registers, for a
/// syscall the guest itself issued; calls that would disturb the runtime
/// (threads, vfork, GS) were filtered or rewritten by `crate::syscall`.
pub(crate) fn run_guest_syscall(nr: u64, args: [u64; 6]) -> i64 {
    // SAFETY:
    // - The memory the kernel touches is named by the guest's arguments, for
    //   the guest's own request: the same effect as the native `syscall`.
    // - The runtime's own memory is not known to the guest; the calls that
    //   could still hurt it (clone of threads, vfork) never get here.
    unsafe { syscall6(nr, args) }
}

/// Reads a NUL-terminated array of pointers at `addr` in guest memory.
pub(crate) fn read_ptr_array(addr: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut a = addr;
    loop {
        let mut b = [0u8; 8];
        if super::mem::read_guest(a, &mut b) != 8 {
            break;
        }
        let p = u64::from_le_bytes(b);
        if p == 0 {
            break;
        }
        out.push(p);
        a += 8;
    }
    out
}

/// Reads a NUL-terminated string at `addr` in guest memory (without the NUL).
pub(crate) fn read_cstr(addr: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut a = addr;
    loop {
        let mut b = [0u8; 64];
        let n = super::mem::read_guest(a, &mut b);
        if let Some(z) = b[..n].iter().position(|&c| c == 0) {
            out.extend_from_slice(&b[..z]);
            return out;
        }
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[..n]);
        a += n as u64;
    }
}

/// The path behind descriptor `fd` (readlink of /proc/self/fd/N).
pub(crate) fn fd_path(fd: i32) -> Option<String> {
    let link = format!("/proc/self/fd/{fd}\0");
    let mut buf = [0u8; 512];
    // SAFETY:
    // - readlink(2) reads the NUL-terminated `link` and writes at most
    //   `buf.len()` bytes into `buf`, both alive for the call.
    let rc = unsafe {
        syscall6(
            89,
            [
                link.as_ptr() as u64,
                buf.as_mut_ptr() as u64,
                buf.len() as u64,
                0,
                0,
                0,
            ],
        )
    };
    if rc <= 0 {
        return None;
    }
    Some(String::from_utf8_lossy(&buf[..rc as usize]).into_owned())
}
