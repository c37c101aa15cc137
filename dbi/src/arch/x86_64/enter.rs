//! Entering and leaving the code cache, and taking over a thread.
//!
//! `hbgrind_enter` loads the guest state from the `ThreadBlock` (extended
//! state with `xrstor`, flags, general registers) and jumps into the cache;
//! `hbgrind_exit_common`, reached from exit stubs with rax pointing at an
//! `ExitInfo` and guest rax in `SPILL_RAX`, stores it all back and returns
//! from `hbgrind_enter` on the dispatcher's stack. The dispatcher's Rust code
//! therefore always runs with its own stack, MXCSR at its default and DF clear,
//! and the guest's vector state is saved with the `xgetbv(0)` mask
//! (ARCHITECTURE.md, "Extended state").
//!
//! `hbgrind_capture` is the takeover (after DynamoRIO's `dr_app_start`): it
//! saves its caller's complete state, then calls a Rust continuation that
//! never returns; the dispatcher later "returns" from `hbgrind_capture` by
//! entering translated code at the saved return address with the saved
//! state, so everything after the call, including the constructor's return
//! into ld.so, runs translated (papers/takeover.md).

use super::thread_block::{
    ENTER_TARGET, EXIT_INFO, GPRS, HOST_RSP, RFLAGS, SPILL_RAX, XCR0, XSAVE_ADDR,
};
use core::arch::global_asm;

/// Offset of the extended-state area in a `CapturedState`.
pub(crate) const CAPTURE_XSAVE: usize = 192;

/// The registers `hbgrind_capture` saw: gprs, the return address, flags,
/// then (64-byte aligned) an `xsave` image.
#[repr(C, align(64))]
pub(crate) struct CapturedState {
    pub(crate) gprs: [u64; 16],
    pub(crate) rip: u64,
    pub(crate) rflags: u64,
    /// The `Config` box handed to the continuation (`take_over_with`).
    config: u64,
    /// The continuation (`take_over_with`).
    cont: u64,
    pub(crate) pad: [u64; 4],
    pub(crate) xsave: [u8; super::thread_block::XSAVE_MAX],
}
const _: () = assert!(core::mem::offset_of!(CapturedState, xsave) == CAPTURE_XSAVE);

impl CapturedState {
    /// A zeroed state, with the calling thread's current extended state.
    pub(crate) fn blank() -> Box<CapturedState> {
        let mut s = Box::new(CapturedState {
            gprs: [0; 16],
            rip: 0,
            rflags: 0x202,
            config: 0,
            cont: 0,
            pad: [0; 4],
            xsave: [0; super::thread_block::XSAVE_MAX],
        });
        let x = current_xsave();
        s.xsave[..x.len()].copy_from_slice(&x);
        s
    }
}

global_asm!(
    ".pushsection .text.hbgrind_enter,\"ax\",@progbits",
    ".globl hbgrind_enter",
    ".hidden hbgrind_enter",
    ".type hbgrind_enter,@function",
    "hbgrind_enter:",
    "push rbp", "push rbx", "push r12", "push r13", "push r14", "push r15",
    "mov qword ptr gs:[{host_rsp}], rsp",
    "mov qword ptr gs:[{enter_target}], rdi",
    "mov rcx, qword ptr gs:[{xsave_addr}]",
    "mov eax, dword ptr gs:[{xcr0}]",
    "mov edx, dword ptr gs:[{xcr0} + 4]",
    "xrstor64 [rcx]",
    "push qword ptr gs:[{rflags}]",
    "popfq",
    "mov rax, qword ptr gs:[{gprs} + 0]",
    "mov rcx, qword ptr gs:[{gprs} + 8]",
    "mov rdx, qword ptr gs:[{gprs} + 16]",
    "mov rbx, qword ptr gs:[{gprs} + 24]",
    "mov rbp, qword ptr gs:[{gprs} + 40]",
    "mov rsi, qword ptr gs:[{gprs} + 48]",
    "mov rdi, qword ptr gs:[{gprs} + 56]",
    "mov r8, qword ptr gs:[{gprs} + 64]",
    "mov r9, qword ptr gs:[{gprs} + 72]",
    "mov r10, qword ptr gs:[{gprs} + 80]",
    "mov r11, qword ptr gs:[{gprs} + 88]",
    "mov r12, qword ptr gs:[{gprs} + 96]",
    "mov r13, qword ptr gs:[{gprs} + 104]",
    "mov r14, qword ptr gs:[{gprs} + 112]",
    "mov r15, qword ptr gs:[{gprs} + 120]",
    "mov rsp, qword ptr gs:[{gprs} + 32]",
    "jmp qword ptr gs:[{enter_target}]",
    ".size hbgrind_enter, . - hbgrind_enter",
    "",
    ".globl hbgrind_exit_common",
    ".hidden hbgrind_exit_common",
    ".type hbgrind_exit_common,@function",
    "hbgrind_exit_common:",
    "mov qword ptr gs:[{gprs} + 8], rcx",
    "mov qword ptr gs:[{gprs} + 16], rdx",
    "mov qword ptr gs:[{gprs} + 24], rbx",
    "mov qword ptr gs:[{gprs} + 32], rsp",
    "mov qword ptr gs:[{gprs} + 40], rbp",
    "mov qword ptr gs:[{gprs} + 48], rsi",
    "mov qword ptr gs:[{gprs} + 56], rdi",
    "mov qword ptr gs:[{gprs} + 64], r8",
    "mov qword ptr gs:[{gprs} + 72], r9",
    "mov qword ptr gs:[{gprs} + 80], r10",
    "mov qword ptr gs:[{gprs} + 88], r11",
    "mov qword ptr gs:[{gprs} + 96], r12",
    "mov qword ptr gs:[{gprs} + 104], r13",
    "mov qword ptr gs:[{gprs} + 112], r14",
    "mov qword ptr gs:[{gprs} + 120], r15",
    "mov rcx, qword ptr gs:[{spill_rax}]",
    "mov qword ptr gs:[{gprs} + 0], rcx",
    "mov qword ptr gs:[{exit_info}], rax",
    "mov rsp, qword ptr gs:[{host_rsp}]",
    "pushfq",
    "pop qword ptr gs:[{rflags}]",
    "cld",
    "mov rcx, qword ptr gs:[{xsave_addr}]",
    "mov eax, dword ptr gs:[{xcr0}]",
    "mov edx, dword ptr gs:[{xcr0} + 4]",
    "cmp qword ptr gs:[{use_xsaveopt}], 0",
    "je 2f",
    "xsaveopt64 [rcx]",
    "jmp 3f",
    "2:",
    "xsave64 [rcx]",
    "3:",
    "ldmxcsr dword ptr [rip + hbgrind_default_mxcsr]",
    "fninit",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop rbx", "pop rbp",
    "ret",
    ".size hbgrind_exit_common, . - hbgrind_exit_common",
    "",
    ".globl hbgrind_capture",
    ".hidden hbgrind_capture",
    ".type hbgrind_capture,@function",
    "hbgrind_capture:",
    "mov qword ptr [rdi + 0], rax",
    "mov qword ptr [rdi + 8], rcx",
    "mov qword ptr [rdi + 16], rdx",
    "mov qword ptr [rdi + 24], rbx",
    "lea rax, [rsp + 8]",
    "mov qword ptr [rdi + 32], rax",
    "mov qword ptr [rdi + 40], rbp",
    "mov qword ptr [rdi + 48], rsi",
    "mov qword ptr [rdi + 56], rdi",
    "mov qword ptr [rdi + 64], r8",
    "mov qword ptr [rdi + 72], r9",
    "mov qword ptr [rdi + 80], r10",
    "mov qword ptr [rdi + 88], r11",
    "mov qword ptr [rdi + 96], r12",
    "mov qword ptr [rdi + 104], r13",
    "mov qword ptr [rdi + 112], r14",
    "mov qword ptr [rdi + 120], r15",
    "mov rax, qword ptr [rsp]",
    "mov qword ptr [rdi + 128], rax",
    "pushfq",
    "pop qword ptr [rdi + 136]",
    "mov rbx, rdi",
    "mov r12, rsi",
    "mov eax, -1",
    "mov edx, -1",
    "xsave64 [rbx + {capture_xsave}]",
    "cld",
    "mov rdi, rbx",
    "and rsp, -16",
    "call r12",
    "ud2",
    ".size hbgrind_capture, . - hbgrind_capture",
    "",
    ".globl hbgrind_clone_thread",
    ".hidden hbgrind_clone_thread",
    ".type hbgrind_clone_thread,@function",
    "hbgrind_clone_thread:",
    // (flags rdi, stack rsi, ptid rdx, ctid rcx, tls r8, entry r9, arg [rsp+8])
    "push r12",
    "push r13",
    "mov r12, r9",
    "mov r13, qword ptr [rsp + 24]",
    "mov r10, rcx",
    "mov eax, 56",
    "syscall",
    "test rax, rax",
    "jz 2f",
    "pop r13",
    "pop r12",
    "ret",
    "2:",
    "xor ebp, ebp",
    "and rsp, -16",
    "mov rdi, r13",
    "call r12",
    "ud2",
    ".size hbgrind_clone_thread, . - hbgrind_clone_thread",
    "",
    ".globl hbgrind_switch_stack",
    ".hidden hbgrind_switch_stack",
    ".type hbgrind_switch_stack,@function",
    "hbgrind_switch_stack:",
    "mov rsp, rdi",
    "mov rdi, rdx",
    "call rsi",
    "ud2",
    ".size hbgrind_switch_stack, . - hbgrind_switch_stack",
    ".popsection",
    ".pushsection .rodata.hbgrind_default_mxcsr,\"a\",@progbits",
    ".p2align 2",
    "hbgrind_default_mxcsr: .long 0x1f80",
    ".popsection",
    host_rsp = const HOST_RSP,
    enter_target = const ENTER_TARGET,
    xsave_addr = const XSAVE_ADDR,
    xcr0 = const XCR0,
    rflags = const RFLAGS,
    gprs = const GPRS,
    spill_rax = const SPILL_RAX,
    exit_info = const EXIT_INFO,
    capture_xsave = const CAPTURE_XSAVE,
    use_xsaveopt = const super::thread_block::USE_XSAVEOPT,
);

extern "C" {
    fn hbgrind_enter(target: u64);
    fn hbgrind_exit_common();
    fn hbgrind_capture(state: *mut CapturedState, cont: extern "C" fn(*mut CapturedState) -> !);
    fn hbgrind_switch_stack(sp: u64, f: extern "C" fn(u64) -> !, arg: u64) -> !;
    fn hbgrind_clone_thread(
        flags: u64,
        stack: u64,
        ptid: u64,
        ctid: u64,
        tls: u64,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
    ) -> i64;
}

/// The address exit stubs jump to (stored in `ThreadBlock::exit_common`).
pub(crate) fn exit_common_addr() -> u64 {
    hbgrind_exit_common as *const () as u64
}

/// Runs guest code at `target` (a code-cache address, or a guest pc to run
/// natively) with the guest state in the calling thread's `ThreadBlock`,
/// until an exit stub returns here.
///
/// # Safety
/// - GS must point at this thread's initialised `ThreadBlock`, whose
///   `xsave_addr`, `xcr0`, `exit_common` and guest registers are valid.
/// - `target` must be translated code of this thread's cache (or guest code
///   that never returns here); the guest state must be the one it expects.
pub(crate) unsafe fn enter(target: u64) {
    // SAFETY:
    // - GS and the thread block are valid (caller), so the asm's gs: accesses are.
    // - The asm saves and restores every callee-saved register and the host
    //   stack pointer, so to Rust this is an ordinary C call.
    unsafe { hbgrind_enter(target) }
}

/// The continuation of a takeover: runs on the dispatcher's stack with the
/// captured guest state and the configuration; never returns.
pub(crate) type Continuation = fn(&CapturedState, Box<crate::Config>) -> !;

/// The size of each thread's dispatcher stack (its lowest page a guard).
pub(crate) const DISPATCH_STACK_LEN: usize = 8 << 20;

/// Saves the caller's complete state, switches to a fresh 8 MiB stack and
/// runs `cont(state, config)` there. The caller continues after this call
/// only when something enters `state.rip` with that state; if memory for
/// the state cannot be mapped, returns at once, natively.
pub(crate) fn take_over_with(
    config: Box<crate::Config>,
    cont: Continuation,
) -> Result<(), crate::Errno> {
    let state = crate::os::linux::mem::map_anon(core::mem::size_of::<CapturedState>())?
        as *mut CapturedState;
    let raw = Box::into_raw(config);
    // SAFETY:
    // - `state` is a fresh, page-aligned, zeroed mapping large enough for a CapturedState.
    unsafe {
        (*state).config = raw as u64;
        (*state).cont = cont as *const () as u64;
    }
    // SAFETY:
    // - `state` is writable and 64-byte aligned (page-aligned mapping) and is
    //   never unmapped, so it outlives the continuation's use of it.
    // - The asm uses only the stack below its return address, which this call owns.
    unsafe { hbgrind_capture(state, after_capture) };
    Ok(())
}

extern "C" fn after_capture(state: *mut CapturedState) -> ! {
    let Ok(stack) = crate::os::linux::mem::map_anon(DISPATCH_STACK_LEN) else {
        crate::exit_group(125)
    };
    let _ = crate::os::linux::mem::protect_none(stack, 4096);
    let top = (stack as u64 + DISPATCH_STACK_LEN as u64 - 64) & !15;
    // SAFETY:
    // - `top` is the aligned top of the fresh private stack just mapped.
    // - `on_dispatch_stack` never returns, so abandoning this stack is fine.
    unsafe { hbgrind_switch_stack(top, on_dispatch_stack, state as u64) }
}

extern "C" fn on_dispatch_stack(state: u64) -> ! {
    let state = state as *const CapturedState;
    // SAFETY:
    // - `state` is the CapturedState mapped in `take_over_with`, filled by
    //   `hbgrind_capture`, never unmapped and no longer written.
    let state = unsafe { &*state };
    // SAFETY:
    // - `config` came from Box::into_raw in `take_over_with` and is taken back once, here.
    let config = unsafe { Box::from_raw(state.config as *mut crate::Config) };
    // SAFETY:
    // - `cont` was stored from a `Continuation` fn pointer in `take_over_with`.
    let cont: Continuation =
        unsafe { core::mem::transmute::<usize, Continuation>(state.cont as usize) };
    cont(state, config)
}

/// `xgetbv(0)`: the extended-state components the OS enabled.
pub(crate) fn xcr0() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY:
    // - xgetbv with ecx=0 is valid whenever OSXSAVE is set, which Linux x86-64 always sets on CPUs with AVX;
    //   the runtime requires it (checked by `has_osxsave` before use).
    unsafe {
        core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Bytes of the `xsave` image for the components in XCR0 (cpuid 0xD.0 ebx).
pub(crate) fn xsave_size() -> usize {
    let r = core::arch::x86_64::__cpuid_count(0xd, 0);
    r.ebx as usize
}

/// Whether the CPU has `xsaveopt` (cpuid 0xD.1 eax bit 0), which skips
/// state components the guest did not change since the last `xrstor`.
pub(crate) fn has_xsaveopt() -> bool {
    core::arch::x86_64::__cpuid_count(0xd, 1).eax & 1 != 0
}

/// Whether the CPU has `lahf`/`sahf` in 64-bit mode (cpuid 0x8000_0001
/// ecx bit 0; every x86-64 since 2006).
pub(crate) fn has_lahf() -> bool {
    core::arch::x86_64::__cpuid(0x8000_0000).eax >= 0x8000_0001
        && core::arch::x86_64::__cpuid(0x8000_0001).ecx & 1 != 0
}

/// Whether the CPU and OS support `xsave` (cpuid 1 ecx bit 27, OSXSAVE).
pub(crate) fn has_osxsave() -> bool {
    let r = core::arch::x86_64::__cpuid(1);
    r.ecx & (1 << 27) != 0
}

/// An `xsave` image (standard format) of the calling thread's extended
/// state, `xsave_size()` bytes long.
pub(crate) fn current_xsave() -> Vec<u8> {
    #[repr(C, align(64))]
    struct Area([u8; super::thread_block::XSAVE_MAX]);
    let mut area = Box::new(Area([0; super::thread_block::XSAVE_MAX]));
    let p = area.0.as_mut_ptr();
    // SAFETY:
    // - `p` is 64-byte aligned and XSAVE_MAX bytes long, at least `xsave_size()`
    //   (checked below), and the header bytes start zeroed as xsave requires.
    // - xsave only stores into that area; eax/edx are declared as inputs.
    unsafe {
        core::arch::asm!("xsave64 [{}]", in(reg) p, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack, preserves_flags));
    }
    assert!(
        xsave_size() <= area.0.len(),
        "xsave image larger than XSAVE_MAX"
    );
    area.0[..xsave_size()].to_vec()
}

/// Offset of state component `i` in the standard `xsave` format (cpuid 0xD.i ebx).
pub(crate) fn xsave_component_offset(i: u32) -> usize {
    core::arch::x86_64::__cpuid_count(0xd, i).ebx as usize
}

/// Creates a thread with `clone(flags | CLONE_VM..., ptid, ctid, tls)` that
/// starts on `stack` (a runtime stack of `DISPATCH_STACK_LEN` bytes that
/// nothing else uses) and runs `entry(arg)` there. Nothing of the start
/// outlives that call but `arg` itself, which `entry` owns (a thread's end
/// is an `exit`, so nothing held across it is ever dropped). Returns the
/// kernel's result (the child's tid, or -errno; `arg` is dropped then).
pub(crate) fn spawn_thread<T: Send>(
    flags: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
    stack: *mut u8,
    entry: fn(T) -> !,
    arg: T,
) -> i64 {
    let top = (stack as u64 + DISPATCH_STACK_LEN as u64 - 64) & !15;
    let raw = Box::into_raw(Box::new((entry, arg))) as u64;
    // SAFETY:
    // - `top` is the aligned top of a private stack no one else uses; the child starts
    //   there and calls `thread_trampoline::<T>(raw)`, which never returns.
    // - The parent returns normally; registers the asm uses are saved.
    let ret =
        unsafe { hbgrind_clone_thread(flags, top, ptid, ctid, tls, thread_trampoline::<T>, raw) };
    if ret < 0 {
        // SAFETY:
        // - No child exists, so `raw` (from Box::into_raw above) is still ours.
        drop(unsafe { Box::from_raw(raw as *mut (fn(T) -> !, T)) });
    }
    ret
}

extern "C" fn thread_trampoline<T>(raw: u64) -> ! {
    // SAFETY:
    // - `raw` came from Box::into_raw in `spawn_thread::<T>` and is taken
    //   back once, here; the box is freed before `entry` runs.
    let (entry, arg) = *unsafe { Box::from_raw(raw as *mut (fn(T) -> !, T)) };
    entry(arg)
}
