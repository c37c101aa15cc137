//! The `ThreadBlock`: per-thread runtime state at the GS base.
//!
//! Translated code reaches every field as `gs:[offset]` with an absolute
//! 32-bit displacement, so the offsets below are part of the code we emit and
//! of the assembly in `enter.rs`; `const` assertions tie them to the struct
//! (after DynamoRIO's `asm_offsets.c`).
//!
//! # Layout
//! One mapping per thread: the `ThreadBlock` header (one page), the guest's
//! extended-state save area (`XSAVE_OFFSET`, 64-byte aligned), then the
//! indirect-branch table (`IBL_TABLE_OFFSET`, `IBL_ENTRIES` entries of 16
//! bytes: the negated guest pc, then the code-cache address). An all-zero
//! entry is empty: it matches only guest pc 0 and sends it to host address 0,
//! which faults at pc 0 exactly as a native jump to 0 would; so the table
//! needs no initialisation and its pages are touched only when used.
//!
//! # Invariants
//! - `self_addr` is the block's own linear address (the GS base).
//! - Between `enter` and the matching exit, `host_rsp` is the dispatcher's
//!   stack pointer; nothing else in Rust touches the block meanwhile.

use core::mem::offset_of;

/// Per-thread state at the GS base. Guest registers live in `gprs` (in
/// hardware encoding order: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15)
/// whenever the thread is outside the code cache.
#[repr(C, align(64))]
pub(crate) struct ThreadBlock {
    pub(crate) self_addr: u64,
    pub(crate) host_rsp: u64,
    pub(crate) spill_rax: u64,
    pub(crate) spill_rcx: u64,
    pub(crate) spill_rdx: u64,
    pub(crate) ind_target: u64,
    pub(crate) ibl_jump: u64,
    pub(crate) exit_common: u64,
    pub(crate) exit_info: u64,
    pub(crate) enter_target: u64,
    pub(crate) xsave_addr: u64,
    pub(crate) xcr0: u64,
    pub(crate) insn_count: u64,
    pub(crate) mem_count: u64,
    /// Nonzero when the CPU has `xsaveopt` (cpuid 0xD.1 eax bit 0).
    pub(crate) use_xsaveopt: u64,
    pub(crate) reserved: u64,
    pub(crate) gprs: [u64; 16],
    pub(crate) rip: u64,
    pub(crate) rflags: u64,
    /// Nonzero while this thread runs guest code (read by the signal handler).
    pub(crate) in_guest: u64,
    /// The guest pc this thread runs natively (a NATIVE exit), or 0.
    pub(crate) native_pc: u64,
    /// Where the signal handler stopped this thread's guest code.
    pub(crate) redirect_pc: u64,
    /// Nonzero while the signal handler single-steps this thread's cache
    /// code towards a safe point (os/linux/sigframe.rs).
    pub(crate) stepping: u64,
    /// Where translated code writes the next event record (events.rs).
    pub(crate) buf_ptr: u64,
    /// Free (the block-head room check's scratch word until 2026-12-03:
    /// its store and narrower reload stalled store forwarding).
    pub(crate) free_0x138: u64,
    /// Blocks left in this thread's timeslice (deterministic schedules).
    pub(crate) slice: u64,
    /// The repeat filter's key base: the thread's current filter tag << 50
    /// (record.rs, "The repeat filter").
    pub(crate) memo_kb: u64,
    /// One tag step (1 << 50), for translated code's `lea`.
    pub(crate) memo_inc: u64,
    /// The tool's inline filter table (record.rs, "The inline filter"), or 0.
    pub(crate) filter_table: u64,
    /// The thread's current inline-filter tag << 16, set before every
    /// entry into the code cache.
    pub(crate) filter_tagw: u64,
    /// The guest's status flags while an inline filter check runs where
    /// they are live (`lahf` in bits 8..15, `seto` in bit 0).
    pub(crate) flags_save: u64,
}

pub(crate) const SELF_ADDR: i32 = 0x00;
pub(crate) const HOST_RSP: i32 = 0x08;
pub(crate) const SPILL_RAX: i32 = 0x10;
pub(crate) const SPILL_RCX: i32 = 0x18;
pub(crate) const SPILL_RDX: i32 = 0x20;
pub(crate) const IND_TARGET: i32 = 0x28;
pub(crate) const IBL_JUMP: i32 = 0x30;
pub(crate) const EXIT_COMMON: i32 = 0x38;
pub(crate) const EXIT_INFO: i32 = 0x40;
pub(crate) const ENTER_TARGET: i32 = 0x48;
pub(crate) const XSAVE_ADDR: i32 = 0x50;
pub(crate) const XCR0: i32 = 0x58;
pub(crate) const INSN_COUNT: i32 = 0x60;
pub(crate) const MEM_COUNT: i32 = 0x68;
pub(crate) const USE_XSAVEOPT: i32 = 0x70;
pub(crate) const GPRS: i32 = 0x80;
pub(crate) const RIP: i32 = 0x100;
pub(crate) const RFLAGS: i32 = 0x108;
pub(crate) const IN_GUEST: i32 = 0x110;
pub(crate) const NATIVE_PC: i32 = 0x118;
pub(crate) const REDIRECT_PC: i32 = 0x120;
pub(crate) const STEPPING: i32 = 0x128;
pub(crate) const BUF_PTR: i32 = 0x130;
pub(crate) const SLICE: i32 = 0x140;
pub(crate) const MEMO_KB: i32 = 0x148;
pub(crate) const MEMO_INC: i32 = 0x150;
pub(crate) const FILTER_TABLE: i32 = 0x158;
pub(crate) const FILTER_TAGW: i32 = 0x160;
pub(crate) const FLAGS_SAVE: i32 = 0x168;

const _: () = assert!(offset_of!(ThreadBlock, self_addr) == SELF_ADDR as usize);
const _: () = assert!(offset_of!(ThreadBlock, host_rsp) == HOST_RSP as usize);
const _: () = assert!(offset_of!(ThreadBlock, spill_rax) == SPILL_RAX as usize);
const _: () = assert!(offset_of!(ThreadBlock, spill_rcx) == SPILL_RCX as usize);
const _: () = assert!(offset_of!(ThreadBlock, spill_rdx) == SPILL_RDX as usize);
const _: () = assert!(offset_of!(ThreadBlock, ind_target) == IND_TARGET as usize);
const _: () = assert!(offset_of!(ThreadBlock, ibl_jump) == IBL_JUMP as usize);
const _: () = assert!(offset_of!(ThreadBlock, exit_common) == EXIT_COMMON as usize);
const _: () = assert!(offset_of!(ThreadBlock, exit_info) == EXIT_INFO as usize);
const _: () = assert!(offset_of!(ThreadBlock, enter_target) == ENTER_TARGET as usize);
const _: () = assert!(offset_of!(ThreadBlock, xsave_addr) == XSAVE_ADDR as usize);
const _: () = assert!(offset_of!(ThreadBlock, xcr0) == XCR0 as usize);
const _: () = assert!(offset_of!(ThreadBlock, insn_count) == INSN_COUNT as usize);
const _: () = assert!(offset_of!(ThreadBlock, mem_count) == MEM_COUNT as usize);
const _: () = assert!(offset_of!(ThreadBlock, use_xsaveopt) == USE_XSAVEOPT as usize);
const _: () = assert!(offset_of!(ThreadBlock, gprs) == GPRS as usize);
const _: () = assert!(offset_of!(ThreadBlock, rip) == RIP as usize);
const _: () = assert!(offset_of!(ThreadBlock, rflags) == RFLAGS as usize);
const _: () = assert!(offset_of!(ThreadBlock, in_guest) == IN_GUEST as usize);
const _: () = assert!(offset_of!(ThreadBlock, native_pc) == NATIVE_PC as usize);
const _: () = assert!(offset_of!(ThreadBlock, redirect_pc) == REDIRECT_PC as usize);
const _: () = assert!(offset_of!(ThreadBlock, stepping) == STEPPING as usize);
const _: () = assert!(offset_of!(ThreadBlock, buf_ptr) == BUF_PTR as usize);
const _: () = assert!(offset_of!(ThreadBlock, free_0x138) == 0x138);
const _: () = assert!(offset_of!(ThreadBlock, slice) == SLICE as usize);
const _: () = assert!(offset_of!(ThreadBlock, memo_kb) == MEMO_KB as usize);
const _: () = assert!(offset_of!(ThreadBlock, memo_inc) == MEMO_INC as usize);
const _: () = assert!(offset_of!(ThreadBlock, filter_table) == FILTER_TABLE as usize);
const _: () = assert!(offset_of!(ThreadBlock, filter_tagw) == FILTER_TAGW as usize);
const _: () = assert!(offset_of!(ThreadBlock, flags_save) == FLAGS_SAVE as usize);
const _: () = assert!(core::mem::size_of::<ThreadBlock>() <= 4096);

/// Where the extended-state area starts in the thread-block mapping.
pub(crate) const XSAVE_OFFSET: usize = 4096;
/// Room for the extended state (cpuid leaf 0xD says how much is used).
pub(crate) const XSAVE_MAX: usize = 3 * 4096;
/// Where the indirect-branch table starts.
pub(crate) const IBL_TABLE_OFFSET: usize = XSAVE_OFFSET + XSAVE_MAX;
/// Entries in the indirect-branch table (indexed by the pc's low 16 bits).
pub(crate) const IBL_ENTRIES: usize = 1 << 16;
/// Where the thread's own pending signals start: for each signal number a
/// u64 flag and the 128-byte siginfo (os/linux/sigframe.rs).
pub(crate) const THREAD_SIGNALS_OFFSET: usize = IBL_TABLE_OFFSET + IBL_ENTRIES * 16;
/// Bytes of the thread's pending-signal slots (65 signals × 136 bytes, page-rounded).
pub(crate) const THREAD_SIGNALS_LEN: usize = (65 * 136 + 4095) & !4095;
/// Where the repeat filter's table starts: `MEMO_ENTRIES` keys of 8 bytes,
/// indexed by the low 16 bits of `address * 2 + write`; 0 is empty
/// (record.rs).
pub(crate) const MEMO_TABLE_OFFSET: usize = THREAD_SIGNALS_OFFSET + THREAD_SIGNALS_LEN;
/// Entries of the repeat filter's table (512 KiB, touched as used): the
/// write bit and address bits 0..14 index it (the bytes of a 32 KiB
/// window, reads and writes apart, so the fields of one granule do not
/// evict each other).
pub(crate) const MEMO_ENTRIES: usize = 1 << 16;
/// Where a key's tag starts: keys are `tag << 50 | address << 3 | kind`.
pub(crate) const MEMO_TAG_SHIFT: u32 = 50;
/// Bytes of the whole thread-block mapping.
pub(crate) const MAPPING_LEN: usize = MEMO_TABLE_OFFSET + MEMO_ENTRIES * 8;

/// Register numbers in `ThreadBlock::gprs`.
pub(crate) mod reg {
    pub(crate) const RAX: usize = 0;
    pub(crate) const RCX: usize = 1;
    pub(crate) const RDX: usize = 2;
    pub(crate) const RSP: usize = 4;
    pub(crate) const RSI: usize = 6;
    pub(crate) const RDI: usize = 7;
    pub(crate) const R8: usize = 8;
    pub(crate) const R9: usize = 9;
    pub(crate) const R10: usize = 10;
    pub(crate) const R11: usize = 11;
}
