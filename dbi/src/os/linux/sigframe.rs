//! Signals on Linux x86-64: the runtime's own handler, and guest signal
//! frames (ARCHITECTURE.md, decision 8).
//!
//! The runtime owns every real handler of a signal the guest handles. The
//! real handler (`host_handler`) only records the signal. When the thread was
//! in translated code at a *safe point* (a cache address where the guest's
//! registers are exactly the machine's, see `emit::SafePoint`) it also
//! redirects the interrupted context to the cache-exit path, so the thread
//! returns to the dispatcher at once with the guest state saved; the
//! dispatcher then builds the guest's signal frame on the guest stack and runs
//! the guest handler translated. In the cache but off a safe point (a stub,
//! the indirect-branch lookup, a counter bump) it sets the trap flag and
//! single-steps to the next safe point. In the dispatcher the signal stays
//! pending until the next entry. Signals sent to one thread (tgkill, CPU
//! faults) are kept in that thread's block, the others process-wide.
//!
//! In a guest syscall (the stub of guest_syscall.rs) the handler sees from
//! the interrupted pc how far the call got: before or at its `syscall`
//! instruction (not run yet, or rewound by the kernel for `SA_RESTART`) it
//! sends the stub to its `interrupted` exit; after it, the stub returns the
//! kernel's result. Either way the signal is kept for this thread (the
//! kernel chose it) and the dispatcher delivers it before the guest goes on.
//!
//! Frames follow the kernel's `rt_sigframe` layout (return address, `ucontext`
//! with `sigcontext`, `siginfo`, then an `xsave` image), so handlers that read
//! their `ucontext` see the guest's registers; `rt_sigreturn` reads it back.
// Not yet: a synchronous fault at a cache address that is no safe point is reported as
// an internal error.

use super::raw::syscall6;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const NSIG: usize = 65;
const SIGINFO_LEN: usize = 128;
/// Bytes of the kernel's `struct ucontext` (flags, link, stack, sigcontext, mask).
pub(crate) const UCONTEXT_LEN: usize = 304;
const MCONTEXT_OFFSET: usize = 40;
const SIGMASK_OFFSET: usize = 296;

const SA_SIGINFO: u64 = 4;
const SA_RESTORER: u64 = 0x0400_0000;
pub(crate) const SA_RESTART: u64 = 0x1000_0000;
pub(crate) const SA_NODEFER: u64 = 0x4000_0000;
pub(crate) const SA_RESETHAND: u64 = 0x8000_0000;

/// A `struct sigaction` as the kernel's rt_sigaction takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct KernelSigaction {
    pub(crate) handler: u64,
    pub(crate) flags: u64,
    pub(crate) restorer: u64,
    pub(crate) mask: u64,
}

struct Slots {
    pending: [AtomicBool; NSIG],
    info: [[AtomicU64; SIGINFO_LEN / 8]; NSIG],
}

static SLOTS: Slots = Slots {
    pending: [const { AtomicBool::new(false) }; NSIG],
    info: [const { [const { AtomicU64::new(0) }; SIGINFO_LEN / 8] }; NSIG],
};

/// Looks a host pc up for the real handler: `Err` if the pc is not in the
/// code cache, else the safe point there (guest pc, rcx spilled) if any.
pub(crate) type SafePointLookup = fn(u64) -> Result<Option<(u64, bool)>, ()>;

/// What the real handler needs to know about the translator, registered by
/// the dispatcher (`register`). Offsets are into the calling thread's
/// `ThreadBlock`, found through its GS base, so every thread has its own.
pub(crate) struct SignalView {
    pub(crate) lookup: SafePointLookup,
    pub(crate) exit_common: u64,
    pub(crate) spill_rax_off: u64,
    pub(crate) spill_rcx_off: u64,
    pub(crate) in_guest_off: u64,
    pub(crate) native_pc_off: u64,
    pub(crate) redirect_pc_off: u64,
    /// Start of the thread's own pending-signal slots (65 × (flag, siginfo)).
    pub(crate) thread_signals_off: u64,
    /// The thread's single-stepping flag.
    pub(crate) stepping_off: u64,
}

static VIEW_LOOKUP: AtomicU64 = AtomicU64::new(0);
static VIEW: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
const V_EXIT_COMMON: usize = 0;
const V_SPILL_RAX: usize = 1;
const V_SPILL_RCX: usize = 2;
const V_IN_GUEST: usize = 3;
const V_NATIVE_PC: usize = 4;
const V_REDIRECT_PC: usize = 5;
const V_THREAD_SIGNALS: usize = 6;
const V_STEPPING: usize = 7;
const THREAD_SLOT: usize = 8 + SIGINFO_LEN;

/// Registers the translator's view for the real handler.
pub(crate) fn register(view: SignalView) {
    for (i, v) in [
        view.exit_common,
        view.spill_rax_off,
        view.spill_rcx_off,
        view.in_guest_off,
        view.native_pc_off,
        view.redirect_pc_off,
        view.thread_signals_off,
        view.stepping_off,
    ]
    .into_iter()
    .enumerate()
    {
        VIEW[i].store(v, Ordering::Release);
    }
    VIEW_LOOKUP.store(view.lookup as *const () as u64, Ordering::Release);
}

/// Address of field `which` (a `V_*` offset) of the calling thread's
/// ThreadBlock, or None before the thread has one.
fn tb_field(which: usize) -> Option<*mut u64> {
    let tb = super::gs_base::gs_base();
    let off = VIEW[which].load(Ordering::Acquire);
    (tb != 0 && VIEW_LOOKUP.load(Ordering::Acquire) != 0).then_some((tb + off) as *mut u64)
}

fn tb_load(which: usize) -> u64 {
    match tb_field(which) {
        // SAFETY:
        // - The GS base is this thread's ThreadBlock mapping (never unmapped);
        //   the offset is one of its u64 fields (registered from thread_block.rs).
        Some(p) => unsafe { core::ptr::read_volatile(p) },
        None => 0,
    }
}

fn tb_store(which: usize, v: u64) {
    if let Some(p) = tb_field(which) {
        // SAFETY:
        // - As in `tb_load`; only this thread writes these fields.
        unsafe { core::ptr::write_volatile(p, v) }
    }
}

/// Marks the calling thread as running guest code (`native_pc`: a guest pc
/// run natively, or 0).
pub(crate) fn set_in_guest(on: bool, native_pc: u64) {
    tb_store(V_NATIVE_PC, native_pc);
    tb_store(V_IN_GUEST, u64::from(on));
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
}

/// The guest pc at which the calling thread's last redirected context stopped.
pub(crate) fn redirect_pc() -> u64 {
    tb_load(V_REDIRECT_PC)
}

/// A word that is never set, the kick word of a thread without a block.
static NO_KICK: AtomicU64 = AtomicU64::new(0);

/// The calling thread's kick word: set by the real handler whenever it
/// records a signal for the guest, cleared by the dispatcher just before it
/// looks for pending signals, and checked by the guest-syscall stub before
/// its `syscall` instruction (guest_syscall.rs). It is the unused slot 0 of
/// the thread's pending-signal slots (signal numbers start at 1).
pub(crate) fn kick_word() -> *const u64 {
    match thread_slots() {
        Some(base) => thread_flag(base, 0).as_ptr(),
        None => NO_KICK.as_ptr(),
    }
}

/// Clears the calling thread's kick word (see `kick_word`); the dispatcher
/// then looks for pending signals, so none recorded before is missed.
pub(crate) fn clear_kick() {
    if let Some(base) = thread_slots() {
        thread_flag(base, 0).store(0, Ordering::SeqCst);
    }
}

/// Signals recorded in `SLOTS` (bit `sig - 1`), set by the real handler
/// after the slot, cleared by `take_pending` before it takes the slot: a
/// set bit may be stale (its slot already taken), a recorded signal always
/// has its bit. The thread's own slots have the same summary in the unused
/// siginfo of their slot 0 (`thread_summary`).
static PROCESS_SUMMARY: AtomicU64 = AtomicU64::new(0);

/// Whether any signal waits for delivery (every exit from the code cache
/// asks: two loads, where scanning 128 slots touched 70 cache lines).
pub(crate) fn any_pending(blocked: u64) -> bool {
    PROCESS_SUMMARY.load(Ordering::Acquire) & !blocked != 0
        || thread_slots()
            .is_some_and(|base| thread_summary(base).load(Ordering::Acquire) & !blocked != 0)
}

/// The summary word of the thread's slots at `base` (see `PROCESS_SUMMARY`).
fn thread_summary(base: u64) -> &'static AtomicU64 {
    thread_info(base, 0, 0)
}

/// Takes the first signal of `summary` whose slot `take(sig)` says was
/// set, clearing each bit before its slot is looked at.
fn take_summarised(
    summary: &AtomicU64,
    blocked: u64,
    mut take: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let mut bits = summary.load(Ordering::Acquire) & !blocked;
    while bits != 0 {
        let sig = bits.trailing_zeros() as usize + 1;
        let bit = 1u64 << (sig - 1);
        bits &= !bit;
        summary.fetch_and(!bit, Ordering::AcqRel);
        if take(sig) {
            return Some(sig);
        }
    }
    None
}

/// The calling thread's pending-signal slots (in its ThreadBlock), if any.
fn thread_slots() -> Option<u64> {
    let tb = super::gs_base::gs_base();
    let off = VIEW[V_THREAD_SIGNALS].load(Ordering::Acquire);
    (tb != 0 && off != 0).then_some(tb + off)
}

fn thread_flag(base: u64, sig: usize) -> &'static AtomicU64 {
    // SAFETY:
    // - `base` is this thread's slot area inside its ThreadBlock mapping,
    //   which is never unmapped; each slot starts 8-aligned with its flag.
    unsafe { AtomicU64::from_ptr((base + (sig * THREAD_SLOT) as u64) as *mut u64) }
}

fn thread_info(base: u64, sig: usize, i: usize) -> &'static AtomicU64 {
    // SAFETY:
    // - As in `thread_flag`; word `i` < 16 of the slot's siginfo.
    unsafe { AtomicU64::from_ptr((base + (sig * THREAD_SLOT + 8 + i * 8) as u64) as *mut u64) }
}

/// Whether a signal was sent to this thread rather than to the process:
/// raised by the CPU, or sent with tgkill/pthread_kill (SI_TKILL).
fn is_thread_directed(sig: i32, words: &[u64; SIGINFO_LEN / 8]) -> bool {
    const SI_TKILL: i32 = -6;
    let code = (words[1] & 0xffff_ffff) as i32;
    code == SI_TKILL || is_synchronous(sig, words)
}

/// Takes one pending signal not in `blocked` (the thread's guest mask):
/// its number and `siginfo` bytes. A blocked one stays pending, for a
/// thread that does not block it or for after the mask changes.
pub(crate) fn take_pending(blocked: u64) -> Option<(usize, [u8; SIGINFO_LEN])> {
    if let Some(base) = thread_slots() {
        let taken = take_summarised(thread_summary(base), blocked, |sig| {
            thread_flag(base, sig).swap(0, Ordering::AcqRel) != 0
        });
        if let Some(sig) = taken {
            let mut info = [0u8; SIGINFO_LEN];
            for i in 0..SIGINFO_LEN / 8 {
                let w = thread_info(base, sig, i).load(Ordering::Relaxed);
                info[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
            }
            return Some((sig, info));
        }
    }
    let sig = take_summarised(&PROCESS_SUMMARY, blocked, |sig| {
        SLOTS.pending[sig].swap(false, Ordering::AcqRel)
    })?;
    let mut info = [0u8; SIGINFO_LEN];
    for (i, w) in SLOTS.info[sig].iter().enumerate() {
        info[i * 8..i * 8 + 8].copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    Some((sig, info))
}

fn is_synchronous(sig: i32, info: &[u64; SIGINFO_LEN / 8]) -> bool {
    // SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP raised by the CPU (si_code > 0).
    let code = (info[1] & 0xffff_ffff) as i32;
    matches!(sig, 4 | 5 | 7 | 8 | 11) && code > 0
}

extern "C" fn host_handler(sig: i32, info: *const u64, uc: *mut u64) {
    let sig_us = sig as usize;
    if sig_us == 0 || sig_us >= NSIG {
        return;
    }
    let mut words = [0u64; SIGINFO_LEN / 8];
    for (i, w) in words.iter_mut().enumerate() {
        // SAFETY:
        // - The kernel passes a valid 128-byte siginfo to an SA_SIGINFO handler.
        *w = unsafe { info.add(i).read() };
    }
    // A trace trap we asked for (single-stepping towards a safe point) is
    // ours, not the guest's.
    const TRAP_TRACE: u64 = 2;
    let our_step = sig == 5 && words[1] & 0xffff_ffff == TRAP_TRACE && tb_load(V_STEPPING) != 0;
    // uc_mcontext: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip (u64 words).
    let mc = MCONTEXT_OFFSET / 8;
    let (rax_i, rcx_i, rip_i, flags_i) = (mc + 13, mc + 14, mc + 16, mc + 17);
    // SAFETY:
    // - The kernel passes a valid ucontext; rip is inside its sigcontext.
    let pc = unsafe { uc.add(rip_i).read() };
    // In a guest syscall (guest_syscall.rs): the kernel chose this thread
    // for the signal while it ran the guest's call, so it is this thread's
    // to deliver. The runtime's timeslice signal is no guest signal.
    let in_syscall = super::guest_syscall::stub_position(pc);
    let ours = sig as u64 == PREEMPT_SIG && crate::dispatch::preemption_on();
    let for_guest = !our_step && !ours;
    let mine = is_thread_directed(sig, &words)
        || (for_guest && in_syscall != super::guest_syscall::StubPosition::Outside);
    match thread_slots().filter(|_| mine) {
        _ if our_step => {}
        // For this thread only (pthread_kill, a fault): only it may take it.
        Some(base) => {
            for (i, w) in words.iter().enumerate() {
                thread_info(base, sig_us, i).store(*w, Ordering::Relaxed);
            }
            thread_flag(base, sig_us).store(1, Ordering::Release);
            thread_summary(base).fetch_or(1 << (sig_us - 1), Ordering::AcqRel);
        }
        None => {
            for (slot, w) in SLOTS.info[sig_us].iter().zip(words) {
                slot.store(w, Ordering::Relaxed);
            }
            SLOTS.pending[sig_us].store(true, Ordering::Release);
            PROCESS_SUMMARY.fetch_or(1 << (sig_us - 1), Ordering::AcqRel);
        }
    }
    if for_guest {
        if let Some(base) = thread_slots() {
            thread_flag(base, 0).store(1, Ordering::SeqCst);
        }
    }
    if in_syscall == super::guest_syscall::StubPosition::NotStarted && for_guest {
        // The call has not run, or the kernel rewound it to restart: leave
        // the stub instead, so the guest's handler runs first and the guest
        // then issues the call again (as the kernel restarts it natively).
        // SAFETY:
        // - `uc` is the kernel's ucontext; rip is a word of its sigcontext.
        unsafe {
            uc.add(rip_i)
                .write(super::guest_syscall::interrupted_exit())
        };
        return;
    }
    let sync = is_synchronous(sig, &words) && !our_step;
    const TF: u64 = 0x100;
    if tb_load(V_IN_GUEST) == 0 {
        if our_step {
            tb_store(V_STEPPING, 0);
            // SAFETY:
            // - `uc` is the kernel's ucontext; eflags is a word of its sigcontext.
            unsafe { uc.add(flags_i).write(uc.add(flags_i).read() & !TF) };
        }
        if sync {
            fatal(sig, pc, "in the runtime");
        }
        return;
    }
    let lookup_addr = VIEW_LOOKUP.load(Ordering::Acquire);
    if lookup_addr == 0 {
        return;
    }
    // SAFETY:
    // - `lookup_addr` was stored from a `fn(u64) -> Result<Option<(u64, bool)>, ()>` in `register`.
    let lookup: SafePointLookup = unsafe { core::mem::transmute(lookup_addr as usize) };
    let native = tb_load(V_NATIVE_PC);
    let in_cache = lookup(pc);
    let point = match in_cache {
        Ok(p) => p,
        // Not in the cache: a guest instruction run natively (int3, ud2...)
        // stopped at its own pc or just after it; the registers are the guest's.
        Err(()) if native != 0 && pc >= native && pc < native + 16 => Some((pc, false)),
        Err(()) => None,
    };
    match point {
        Some((guest_pc, rcx_spilled)) => {
            let exit_common = VIEW[V_EXIT_COMMON].load(Ordering::Acquire);
            // SAFETY:
            // - `uc` is the kernel's ucontext (valid words at these indexes).
            unsafe {
                if rcx_spilled {
                    uc.add(rcx_i).write(tb_load(V_SPILL_RCX));
                }
                tb_store(V_SPILL_RAX, uc.add(rax_i).read());
                uc.add(rax_i).write(0);
                uc.add(rip_i).write(exit_common);
                if our_step {
                    uc.add(flags_i).write(uc.add(flags_i).read() & !TF);
                }
            }
            tb_store(V_STEPPING, 0);
            tb_store(V_REDIRECT_PC, guest_pc);
        }
        None if sync => fatal(
            sig,
            pc,
            "at a code-cache address that maps to no guest instruction",
        ),
        // In the cache but not at a safe point (a stub, a lookup, a counter
        // bump): single-step (the trap flag) until one is reached; a few
        // instructions at most. (Emptying the indirect-branch table instead
        // would race with a lookup in progress.)
        None if matches!(in_cache, Ok(None)) => {
            tb_store(V_STEPPING, 1);
            // SAFETY:
            // - `uc` is the kernel's ucontext; eflags is a word of its sigcontext.
            unsafe { uc.add(flags_i).write(uc.add(flags_i).read() | TF) };
        }
        // Elsewhere (entering or leaving the cache): the signal stays pending
        // until the next dispatcher entry; a step that left the cache stops
        // stepping before anything saves the flags.
        None => {
            if our_step {
                tb_store(V_STEPPING, 0);
                // SAFETY:
                // - `uc` is the kernel's ucontext; eflags is a word of its sigcontext.
                unsafe { uc.add(flags_i).write(uc.add(flags_i).read() & !TF) };
            }
        }
    }
}

fn fatal(sig: i32, pc: u64, where_: &str) {
    let mut msg = *b"hbgrind: internal error: synchronous signal ?? at pc 0x????????????????                                                   \n";
    msg[44] = b'0' + (sig / 10) as u8;
    msg[45] = b'0' + (sig % 10) as u8;
    for i in 0..16 {
        let d = ((pc >> (60 - 4 * i)) & 0xf) as u8;
        msg[55 + i] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
    }
    let w = where_.as_bytes();
    let n = w.len().min(msg.len() - 73);
    msg[72..72 + n].copy_from_slice(&w[..n]);
    let _ = super::write_all(2, &msg);
    // Die of the signal: default action, then re-raise on return.
    let dfl = KernelSigaction::default();
    // SAFETY:
    // - rt_sigaction reads `dfl`, a live local; it only changes this signal's disposition.
    let _ = unsafe { syscall6(13, [sig as u64, &dfl as *const _ as u64, 0, 8, 0, 0]) };
}

core::arch::global_asm!(
    ".pushsection .text.hbgrind_sigreturn,\"ax\",@progbits",
    ".globl hbgrind_sigreturn",
    ".hidden hbgrind_sigreturn",
    "hbgrind_sigreturn:",
    "mov eax, 15",
    "syscall",
    "ud2",
    ".popsection",
);

extern "C" {
    fn hbgrind_sigreturn();
}

/// Installs the runtime's real handler for `sig` (the guest asked for a
/// handler with `guest_flags`).
pub(crate) fn install_host_handler(sig: u64, guest_flags: u64) -> i64 {
    let act = KernelSigaction {
        handler: host_handler as *const () as u64,
        flags: SA_SIGINFO | SA_RESTORER | SA_ONSTACK | (guest_flags & SA_RESTART),
        restorer: hbgrind_sigreturn as *const () as u64,
        mask: u64::MAX,
    };
    // SAFETY:
    // - rt_sigaction reads `act`, a live local, and changes only `sig`'s disposition.
    unsafe { syscall6(13, [sig, &act as *const _ as u64, 0, 8, 0, 0]) }
}

/// Sets the kernel's action for `sig` to `act` (SIG_DFL or SIG_IGN from the guest).
pub(crate) fn set_kernel_action(sig: u64, act: &KernelSigaction) -> i64 {
    // SAFETY:
    // - rt_sigaction reads `act`, a live reference, and changes only `sig`'s disposition.
    unsafe { syscall6(13, [sig, act as *const _ as u64, 0, 8, 0, 0]) }
}

/// The kernel's current action for `sig`.
pub(crate) fn kernel_action(sig: u64) -> KernelSigaction {
    let mut old = KernelSigaction::default();
    // SAFETY:
    // - rt_sigaction writes one sigaction into `old`, a live local.
    let _ = unsafe { syscall6(13, [sig, 0, &mut old as *mut _ as u64, 8, 0, 0]) };
    old
}

/// rt_sigprocmask(how, set) for the calling thread; returns the old mask.
pub(crate) fn sigprocmask(how: u64, set: Option<u64>) -> u64 {
    let mut old = 0u64;
    let set_ptr = set.as_ref().map_or(0, |s| s as *const u64 as u64);
    // SAFETY:
    // - The kernel reads 8 bytes at `set_ptr` (a live local or null) and writes 8 into `old`.
    let _ = unsafe { syscall6(14, [how, set_ptr, &mut old as *mut u64 as u64, 8, 0, 0]) };
    old
}

/// The calling thread's alternate signal stack in the kernel: (ss_sp, ss_flags, ss_size).
pub(crate) fn altstack() -> (u64, u32, u64) {
    let mut ss = [0u64; 3];
    // SAFETY:
    // - sigaltstack with a null new stack writes one stack_t (24 bytes) into `ss`, a live local.
    let _ = unsafe { syscall6(131, [0, ss.as_mut_ptr() as u64, 0, 0, 0, 0]) };
    (ss[0], ss[1] as u32, ss[2])
}

/// The size of the runtime's own signal stack, per thread.
pub(crate) const RUNTIME_ALTSTACK_LEN: usize = 64 * 1024;

/// Gives the runtime's real handler a private alternate stack, so that it
/// runs even when the guest's stack is exhausted. The guest's own
/// sigaltstack is emulated (signal.rs).
pub(crate) fn install_runtime_altstack(stack: *mut u8) -> Result<(), super::Errno> {
    let ss = [stack as u64, 0u64, RUNTIME_ALTSTACK_LEN as u64];
    // SAFETY:
    // - sigaltstack reads one stack_t from `ss`; the stack is a private
    //   mapping of RUNTIME_ALTSTACK_LEN bytes that is never unmapped and
    //   that only this thread uses (thread_memory.rs).
    let rc = unsafe { syscall6(131, [ss.as_ptr() as u64, 0, 0, 0, 0, 0]) };
    super::check(rc).map(|_| ())
}

/// `SA_ONSTACK`: run the handler on the alternate signal stack.
pub(crate) const SA_ONSTACK: u64 = 0x0800_0000;

/// The signal the runtime keeps for itself: each thread's CPU-time timer
/// sends it, so a thread that runs guest code for a whole timeslice leaves
/// the cache and lets another thread have the big lock (dispatch.rs).
pub(crate) const PREEMPT_SIG: u64 = 64;

/// Arms a timer that sends `PREEMPT_SIG` to the calling thread every
/// `period_ns` of its CPU time (so a thread blocked in a syscall gets none).
/// Returns the timer's id, for `delete_preemption_timer` when the thread exits.
pub(crate) fn arm_preemption_timer(period_ns: u64) -> Result<i32, super::Errno> {
    const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
    const SIGEV_THREAD_ID: u32 = 4;
    let tid = super::gettid() as u32;
    // struct sigevent: value (8), signo (4), notify (4), tid (4), padding to 64.
    let mut sev = [0u8; 64];
    sev[8..12].copy_from_slice(&(PREEMPT_SIG as u32).to_le_bytes());
    sev[12..16].copy_from_slice(&SIGEV_THREAD_ID.to_le_bytes());
    sev[16..20].copy_from_slice(&tid.to_le_bytes());
    let mut timer: i32 = 0;
    // SAFETY:
    // - timer_create reads the 64-byte sigevent `sev` and writes the timer id into `timer`, both live locals.
    let rc = unsafe {
        syscall6(
            222,
            [
                CLOCK_THREAD_CPUTIME_ID,
                sev.as_ptr() as u64,
                &mut timer as *mut i32 as u64,
                0,
                0,
                0,
            ],
        )
    };
    super::check(rc)?;
    let secs = period_ns / 1_000_000_000;
    let nsecs = period_ns % 1_000_000_000;
    let spec = [secs, nsecs, secs, nsecs]; // it_interval, it_value
                                           // SAFETY:
                                           // - timer_settime reads the itimerspec `spec`, a live local.
    let rc = unsafe { syscall6(223, [timer as u64, 0, spec.as_ptr() as u64, 0, 0, 0]) };
    if let Err(e) = super::check(rc) {
        delete_preemption_timer(timer);
        return Err(e);
    }
    Ok(timer)
}

/// Deletes a timer made by `arm_preemption_timer` (its thread is exiting:
/// timers belong to the process and would outlive it).
pub(crate) fn delete_preemption_timer(timer: i32) {
    // SAFETY:
    // - timer_delete touches no memory of ours.
    let _ = unsafe { syscall6(226, [timer as u64, 0, 0, 0, 0, 0]) };
}

/// Sends `sig` to the calling thread.
pub(crate) fn raise(sig: u64) {
    let (pid, tid) = (super::getpid() as u64, super::gettid() as u64);
    // SAFETY:
    // - tgkill touches no memory of ours.
    unsafe {
        syscall6(234, [pid, tid, sig, 0, 0, 0]);
    }
}

/// Writes `bytes` into guest memory at `addr`; false if it is not writable.
pub(crate) fn write_guest(addr: u64, bytes: &[u8]) -> bool {
    let l = [bytes.as_ptr() as u64, bytes.len() as u64];
    let r = [addr, bytes.len() as u64];
    // SAFETY:
    // - The kernel reads `bytes` (live) and writes the guest range, failing with
    //   EFAULT instead of faulting when it is not writable.
    let rc = unsafe {
        syscall6(
            311,
            [
                super::getpid() as u64,
                l.as_ptr() as u64,
                1,
                r.as_ptr() as u64,
                1,
                0,
            ],
        )
    };
    rc == bytes.len() as i64
}

/// Reads `len` bytes of guest memory at `addr`, if readable.
pub(crate) fn read_guest_exact(addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut v = vec![0u8; len];
    (super::mem::read_guest(addr, &mut v) == len).then_some(v)
}

/// Offsets inside a frame, for the signal layer.
pub(crate) mod frame {
    /// `ucontext` starts after the return address.
    pub(crate) const UC: u64 = 8;
    /// `siginfo` follows the `ucontext`.
    pub(crate) const INFO: u64 = 8 + super::UCONTEXT_LEN as u64;
    /// Bytes of return address + ucontext + siginfo.
    pub(crate) const LEN: u64 = INFO + super::SIGINFO_LEN as u64;
    /// Offset of the sigcontext in the ucontext.
    pub(crate) const MCONTEXT: usize = super::MCONTEXT_OFFSET;
    /// Offset of the signal mask in the ucontext.
    pub(crate) const SIGMASK: usize = super::SIGMASK_OFFSET;
}
