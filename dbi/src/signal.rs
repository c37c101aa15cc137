//! The signal layer: guest signal actions, delivery of pending signals to
//! translated guest handlers, and `rt_sigreturn` (ARCHITECTURE.md, decision 8;
//! the real handler and frame layout are in os/linux/sigframe.rs).
//!
//! Signals are delivered only from the dispatcher, at a block boundary or at
//! the safe point where the real handler stopped translated code: the guest
//! handler then runs translated like any other guest code, with a kernel-like
//! frame on the guest stack, the guest's signal mask applied, and
//! `rt_sigreturn` read back from that frame.
//!
//! # Invariants
//! - `Dispatcher::sigacts[s]` is the guest's action for signal `s` whenever the
//!   guest has set one; the kernel then has the runtime's handler for it, or
//!   the guest's own SIG_DFL/SIG_IGN, with the guest's `SA_RESTART`, so
//!   that the kernel decides whether a syscall the signal interrupts is to
//!   be restarted exactly as it would natively (papers/signals.md).
//! - A signal for a thread blocked in a guest syscall is delivered at once:
//!   the syscall stub (os/linux/guest_syscall.rs) returns to the dispatcher,
//!   which runs the guest handler here and then either gives the guest the
//!   kernel's result (`-EINTR`) or resumes it at its `syscall` instruction.

use crate::dispatch::Dispatcher;
use crate::os::linux::sigframe::{
    self, frame, KernelSigaction, SA_NODEFER, SA_ONSTACK, SA_RESETHAND,
};

const SIGTRAP: u64 = 5;
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;
/// With no set, any `how` only reads the mask.
const SIG_SETMASK_QUERY: u64 = SIG_SETMASK;
const EINVAL: i64 = 22;
const EFAULT: i64 = 14;
/// Registers in `ThreadBlock::gprs` order.
const RAX: usize = 0;
const RCX: usize = 1;
const RDX: usize = 2;
const RBX: usize = 3;
const RSP: usize = 4;
const RBP: usize = 5;
const RSI: usize = 6;
const RDI: usize = 7;

fn sig_bit(sig: u64) -> u64 {
    1u64 << (sig - 1)
}

/// Signals the kernel must never block for a guest thread, whatever the
/// guest's mask says: the runtime's own. `PREEMPT_SIG` while threads take
/// turns (a thread that blocked it would never be preempted: a guest that
/// blocks every signal in its worker threads, as QEMU's
/// `qemu_thread_create` does with `sigfillset`, and spins in one of them
/// would keep the big lock forever), and `SIGTRAP`, which the runtime's
/// single steps towards a safe point raise (a blocked trap kills the
/// process).
fn runtime_signals() -> u64 {
    let trap = sig_bit(SIGTRAP);
    if crate::dispatch::preemption_on() {
        trap | sig_bit(sigframe::PREEMPT_SIG)
    } else {
        trap
    }
}

/// Sets the calling thread's mask to `mask`, as the guest sees it (the
/// kernel gets all of it but `runtime_signals`); returns the guest's view
/// of the mask before.
fn set_guest_mask(d: &mut Dispatcher, mask: u64) -> u64 {
    // The kernel never blocks SIGKILL and SIGSTOP.
    let mask = mask & !(sig_bit(9) | sig_bit(19));
    sigframe::sigprocmask(SIG_SETMASK, Some(mask & !runtime_signals()));
    std::mem::replace(&mut d.ts.signal_mask, mask)
}

/// Reads the calling thread's mask from the kernel as the guest's (at the
/// takeover) and takes `runtime_signals` out of the kernel's; again when
/// the first extra thread starts (dispatch.rs), so that the new thread
/// inherits a kernel mask without them.
pub(crate) fn withhold_runtime_signals(d: &mut Dispatcher, first: bool) {
    let mask = if first {
        sigframe::sigprocmask(SIG_SETMASK_QUERY, None)
    } else {
        d.ts.signal_mask
    };
    set_guest_mask(d, mask);
}

/// The signals the calling thread's guest mask keeps pending: the mask of
/// the guest call a signal just ended, if any (`sigsuspend`, `ppoll`), else
/// the thread's. The runtime's own never wait: `deliver_pending` takes them.
pub(crate) fn blocked_for_delivery(d: &Dispatcher) -> u64 {
    d.call_mask.unwrap_or(d.ts.signal_mask) & !runtime_signals()
}

/// The guest's `rt_sigprocmask(how, set, oldset, sigsetsize)`: the kernel
/// gets the mask without `runtime_signals`; the guest reads back the mask
/// it set.
pub(crate) fn sigprocmask(d: &mut Dispatcher, args: &[u64; 6]) -> i64 {
    let (how, set_ptr, old_ptr) = (args[0], args[1], args[2]);
    if args[3] != 8 {
        return -EINVAL;
    }
    let current = d.ts.signal_mask;
    let mut old = current;
    if set_ptr != 0 {
        let Some(raw) = sigframe::read_guest_exact(set_ptr, 8) else {
            return -EFAULT;
        };
        let set = u64::from_le_bytes(raw.try_into().expect("8 bytes"));
        let new = match how {
            SIG_BLOCK => current | set,
            SIG_UNBLOCK => current & !set,
            SIG_SETMASK => set,
            _ => return -EINVAL,
        };
        old = set_guest_mask(d, new);
    }
    if old_ptr != 0 && !sigframe::write_guest(old_ptr, &old.to_le_bytes()) {
        return -EFAULT;
    }
    0
}

/// The guest's `rt_sigaction(sig, act, oldact, sigsetsize)`; returns its result.
fn act_ptr_sets(args: &[u64; 6]) -> bool {
    args[1] != 0
}

pub(crate) fn sigaction(d: &mut Dispatcher, args: &[u64; 6]) -> i64 {
    let (sig, act_ptr, old_ptr) = (args[0], args[1], args[2]);
    if sig == 0 || sig >= 65 || args[3] != 8 {
        return -EINVAL;
    }
    if sig == sigframe::PREEMPT_SIG && act_ptr_sets(args) && crate::dispatch::preemption_on() {
        // Ours while threads run (as Valgrind keeps SIGRTMAX-ish signals).
        return -EINVAL;
    }
    let previous = d.sigacts[sig as usize].unwrap_or_else(|| sigframe::kernel_action(sig));
    if act_ptr != 0 {
        let Some(raw) = sigframe::read_guest_exact(act_ptr, 32) else {
            return -EFAULT;
        };
        let word =
            |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let act = KernelSigaction {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3),
        };
        let rc = if act.handler == SIG_DFL || act.handler == SIG_IGN {
            sigframe::set_kernel_action(sig, &act)
        } else {
            sigframe::install_host_handler(sig, act.flags)
        };
        if rc < 0 {
            return rc;
        }
        d.sigacts[sig as usize] = Some(act);
    }
    if old_ptr != 0 {
        let mut b = Vec::with_capacity(32);
        for w in [
            previous.handler,
            previous.flags,
            previous.restorer,
            previous.mask,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        if !sigframe::write_guest(old_ptr, &b) {
            return -EFAULT;
        }
    }
    0
}

/// Takes the real handler of every signal whose default action ends the
/// process (the faults SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, and
/// SIGABRT, SIGTERM, SIGINT, SIGPIPE, ...) that the guest left at its
/// default, so that a fatal signal first lets the tool write its report,
/// then kills the process with the same signal (decision 8). The guest
/// still sees SIG_DFL. SIGKILL cannot be caught: a program killed by it
/// leaves what the tool wrote so far.
pub(crate) fn watch_fatal_signals(d: &mut Dispatcher) {
    withhold_runtime_signals(d, true);
    d.ts.altstack = sigframe::altstack();
    let altstack = crate::os::linux::mem::map_anon(sigframe::RUNTIME_ALTSTACK_LEN);
    if let Err(e) = altstack.and_then(sigframe::install_runtime_altstack) {
        d.config.log.line(&format!(
            "hbgrind: warning: no signal stack for the runtime ({e})"
        ));
    }
    const FATAL_BY_DEFAULT: [u64; 22] = [
        1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29, 30, 31,
    ];
    for sig in FATAL_BY_DEFAULT {
        let now = sigframe::kernel_action(sig);
        if now.handler == SIG_DFL && sigframe::install_host_handler(sig, 0) >= 0 {
            d.sigacts[sig as usize] = Some(now);
        }
    }
}

/// The guest's `sigaltstack(ss, old_ss)`, emulated: the kernel's alternate
/// stack belongs to the runtime's real handler.
pub(crate) fn sigaltstack(d: &mut Dispatcher, args: &[u64; 6]) -> i64 {
    const SS_ONSTACK: u64 = 1;
    const SS_DISABLE: u64 = 2;
    const EPERM: i64 = 1;
    let (sp, flags, size) = d.ts.altstack;
    let rsp = d.ts.snapshot(0).0[RSP];
    let on = size != 0 && u64::from(flags) & SS_DISABLE == 0 && rsp.wrapping_sub(sp) < size;
    if args[1] != 0 {
        let f = if size == 0 {
            SS_DISABLE
        } else {
            u64::from(flags) | if on { SS_ONSTACK } else { 0 }
        };
        let mut b = sp.to_le_bytes().to_vec();
        b.extend_from_slice(&f.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        if !sigframe::write_guest(args[1], &b) {
            return -EFAULT;
        }
    }
    if args[0] != 0 {
        if on {
            return -EPERM;
        }
        let Some(raw) = sigframe::read_guest_exact(args[0], 24) else {
            return -EFAULT;
        };
        let w = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        d.ts.altstack = if w(1) & SS_DISABLE != 0 {
            (0, SS_DISABLE as u32, 0)
        } else {
            (w(0), 0, w(2))
        };
    }
    0
}

/// Delivers every pending signal; returns the pc the guest continues at.
pub(crate) fn deliver_pending(d: &mut Dispatcher, mut pc: u64) -> u64 {
    while let Some((sig, info)) = sigframe::take_pending(blocked_for_delivery(d)) {
        if sig as u64 == sigframe::PREEMPT_SIG && crate::dispatch::preemption_on() {
            // The timeslice is over: let another thread have the big lock.
            d.yield_requested = true;
            continue;
        }
        pc = deliver(d, pc, sig as u64, &info);
    }
    pc
}

fn deliver(d: &mut Dispatcher, pc: u64, sig: u64, info: &[u8; 128]) -> u64 {
    let act = d.sigacts[sig as usize].unwrap_or_default();
    let code = i32::from_le_bytes(info[8..12].try_into().expect("4 bytes"));
    if sig == SIGTRAP && d.ts.signal_mask & sig_bit(sig) != 0 && code > 0 {
        // A trap the guest's own code raised while the guest blocks
        // SIGTRAP: the kernel kills the process with it.
        die_at(d, sig, pc, info);
    }
    let _span = tracing::debug_span!("signal", sig, pc = format_args!("{pc:#x}")).entered();
    match act.handler {
        SIG_IGN => return pc,
        SIG_DFL => {
            // Ignored by default: SIGCHLD, SIGCONT, SIGURG, SIGWINCH.
            if matches!(sig, 17 | 18 | 23 | 28) {
                return pc;
            }
            die_at(d, sig, pc, info);
        }
        _ => {}
    }
    let (mut gprs, rflags, xsave) = d.ts.snapshot(crate::arch::xsave_size());
    const SS_DISABLE: u32 = 2;
    let (ss_sp, ss_flags, ss_size) = d.ts.altstack;
    let on_alt = gprs[RSP].wrapping_sub(ss_sp) < ss_size;
    let mut sp = if act.flags & SA_ONSTACK != 0 && ss_flags & SS_DISABLE == 0 && !on_alt {
        ss_sp + ss_size
    } else {
        gprs[RSP].wrapping_sub(128) // below the red zone
    };
    sp = sp.wrapping_sub(xsave.len() as u64) & !63;
    let fpstate = sp;
    let frame_at = (sp.wrapping_sub(frame::LEN) & !15).wrapping_sub(8);
    let blocked = act.mask
        | if act.flags & SA_NODEFER != 0 {
            0
        } else {
            sig_bit(sig)
        };
    // The handler of a signal that ended a call with a mask of its own
    // (sigsuspend...) runs with that mask plus its own; its frame keeps the
    // mask from before the call, which the kernel has put back already.
    let old_mask = d.ts.signal_mask;
    let during = d.call_mask.take().unwrap_or(old_mask);
    set_guest_mask(d, during | blocked);
    let mut uc = vec![0u8; sigframe::UCONTEXT_LEN];
    let si_addr = u64::from_le_bytes(info[16..24].try_into().expect("8 bytes"));
    let mcontext: [u64; 24] = [
        gprs[8],
        gprs[9],
        gprs[10],
        gprs[11],
        gprs[12],
        gprs[13],
        gprs[14],
        gprs[15],
        gprs[RDI],
        gprs[RSI],
        gprs[RBP],
        gprs[RBX],
        gprs[RDX],
        gprs[RAX],
        gprs[RCX],
        gprs[RSP],
        pc,
        rflags,
        0x2b_0000_0000_0033, // cs = 0x33, gs = fs = 0, ss = 0x2b
        0,
        0,
        old_mask,
        si_addr,
        fpstate,
    ];
    for (i, w) in mcontext.iter().enumerate() {
        let at = frame::MCONTEXT + i * 8;
        uc[at..at + 8].copy_from_slice(&w.to_le_bytes());
    }
    uc[frame::SIGMASK..frame::SIGMASK + 8].copy_from_slice(&old_mask.to_le_bytes());
    // uc_stack: the alternate stack as the kernel reports it (SS_ONSTACK = 1 when on it).
    let on_it = u64::from(sp.wrapping_sub(ss_sp) <= ss_size && ss_size != 0);
    uc[16..24].copy_from_slice(&ss_sp.to_le_bytes());
    uc[24..32].copy_from_slice(&(u64::from(ss_flags) | on_it).to_le_bytes());
    uc[32..40].copy_from_slice(&ss_size.to_le_bytes());
    let mut bytes = act.restorer.to_le_bytes().to_vec();
    bytes.extend_from_slice(&uc);
    bytes.extend_from_slice(info);
    if !sigframe::write_guest(fpstate, &xsave) || !sigframe::write_guest(frame_at, &bytes) {
        // As the kernel does when the stack cannot take the frame.
        d.config.log.line(&format!(
            "hbgrind: cannot write the frame for signal {sig} on the guest stack"
        ));
        die_of(d, 11);
    }
    gprs[RDI] = sig;
    gprs[RSI] = frame_at + frame::INFO;
    gprs[RDX] = frame_at + frame::UC;
    gprs[RAX] = 0;
    gprs[RSP] = frame_at;
    d.ts.set_guest(&gprs, rflags & !0x500, &xsave); // DF and TF clear in handlers
    if act.flags & SA_RESETHAND != 0 {
        d.sigacts[sig as usize] = Some(KernelSigaction::default());
        sigframe::set_kernel_action(sig, &KernelSigaction::default());
    }
    act.handler
}

/// Notes the mask a guest call that failed with `EINTR` had in place
/// while it waited (`mask_at`: the guest address of its sigset, 0 for
/// none), for the handler about to run (`deliver`).
pub(crate) fn note_call_mask(d: &mut Dispatcher, mask_at: u64) {
    if mask_at == 0 {
        return;
    }
    if let Some(raw) = sigframe::read_guest_exact(mask_at, 8) {
        d.call_mask = Some(u64::from_le_bytes(raw.try_into().expect("8 bytes")));
    }
}

/// The guest's `rt_sigreturn`: restores the state saved in its frame;
/// returns the pc to continue at.
pub(crate) fn sigreturn(d: &mut Dispatcher) -> u64 {
    let (gprs, rflags, _) = d.ts.snapshot(0);
    let uc_at = gprs[RSP];
    let Some(uc) = sigframe::read_guest_exact(uc_at, sigframe::UCONTEXT_LEN) else {
        d.config
            .log
            .line("hbgrind: rt_sigreturn with an unreadable frame");
        die_of(d, 11);
    };
    let word = |i: usize| {
        let at = frame::MCONTEXT + i * 8;
        u64::from_le_bytes(uc[at..at + 8].try_into().expect("8 bytes"))
    };
    let mut g = [0u64; 16];
    for (i, r) in (8..16).enumerate() {
        g[r] = word(i);
    }
    g[RDI] = word(8);
    g[RSI] = word(9);
    g[RBP] = word(10);
    g[RBX] = word(11);
    g[RDX] = word(12);
    g[RAX] = word(13);
    g[RCX] = word(14);
    g[RSP] = word(15);
    let pc = word(16);
    const USER_FLAGS: u64 = 0x0025_4dd5;
    let flags = (rflags & !USER_FLAGS) | (word(17) & USER_FLAGS);
    let fpstate = word(23);
    let len = crate::arch::xsave_size();
    let xsave = if fpstate != 0 {
        sigframe::read_guest_exact(fpstate, len)
    } else {
        None
    };
    let xsave = xsave.unwrap_or_else(|| d.ts.snapshot(len).2);
    let mask = u64::from_le_bytes(
        uc[frame::SIGMASK..frame::SIGMASK + 8]
            .try_into()
            .expect("8 bytes"),
    );
    d.ts.set_guest(&g, flags, &xsave);
    set_guest_mask(d, mask);
    pc
}

/// Ends the process as `sig` taken at guest `pc` (with siginfo `info`)
/// would, after the tool's report, which shows where it was taken.
fn die_at(d: &mut Dispatcher, sig: u64, pc: u64, info: &[u8; 128]) -> ! {
    d.flush_events();
    let word = |at: usize| u64::from_le_bytes(info[at..at + 8].try_into().expect("8 bytes"));
    let fatal = crate::FatalSignal {
        signal: sig as i32,
        code: (word(8) & 0xffff_ffff) as i32,
        addr: word(16),
        thread: d.ts.events.num,
        pc,
        stack: d.ts.events.stack_id(),
    };
    finish_dying(d, sig, Some(fatal))
}

/// Ends the process as `sig` would, after the tool's report.
fn die_of(d: &mut Dispatcher, sig: u64) -> ! {
    finish_dying(d, sig, None)
}

fn finish_dying(d: &mut Dispatcher, sig: u64, fatal: Option<crate::FatalSignal>) -> ! {
    let stats = crate::ExitStats {
        signal: Some(sig as i32),
        fatal,
        ..d.exit_stats(128 + sig as i32)
    };
    d.config.tool.on_exit(&stats, &d.config.log);
    sigframe::set_kernel_action(sig, &KernelSigaction::default());
    sigframe::sigprocmask(SIG_UNBLOCK, Some(sig_bit(sig)));
    sigframe::raise(sig);
    crate::exit_group(128 + sig as i32)
}
