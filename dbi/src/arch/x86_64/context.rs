//! The guest's register state and the calling thread's `ThreadBlock`.
//!
//! `ThreadState` owns one thread-block mapping (see `thread_block.rs` for its
//! layout) and is the only way Rust code touches it. Between two `enter`
//! calls the thread is in the dispatcher and Rust owns the block; during one,
//! translated code does (through `gs:`), and no Rust reference is alive.

use super::enter::{self, CapturedState};
use super::thread_block::{
    reg, ThreadBlock, IBL_ENTRIES, IBL_TABLE_OFFSET, MAPPING_LEN, MEMO_ENTRIES, MEMO_TABLE_OFFSET,
    MEMO_TAG_SHIFT, XSAVE_MAX, XSAVE_OFFSET,
};
use crate::os::linux::{gs_base, mem, Errno};

/// One thread's runtime state: its `ThreadBlock` mapping, installed as GS base.
pub(crate) struct ThreadState {
    base: *mut u8,
    /// The guest's alternate signal stack (emulated): (ss_sp, ss_flags, ss_size).
    pub(crate) altstack: (u64, u32, u64),
    /// This thread's preemption timer, once armed (dispatch.rs).
    pub(crate) timer: Option<i32>,
    /// The thread's signal mask as the guest set it; the kernel's is the
    /// same but for the runtime's own signals (signal.rs, `runtime_signals`).
    pub(crate) signal_mask: u64,
    /// The runtime mappings this thread retires when it exits (every
    /// thread's but the first's).
    pub(crate) memory: Option<crate::thread_memory::ThreadMemory>,
    /// The thread's event buffer, shadow stack and pending hooked calls.
    pub(crate) events: crate::events::ThreadEvents,
}

// SAFETY:
// - The thread block is plain memory; a ThreadState moves between threads only
//   while parked in the dispatcher (dispatch.rs swaps the running thread's in
//   under the big lock), and only the thread whose GS base it is runs guest
//   code with it.
unsafe impl Send for ThreadState {}

impl ThreadState {
    /// Maps a thread block, fills it from `captured`, and points GS at it.
    pub(crate) fn new(captured: &CapturedState, exit_common: u64) -> Result<ThreadState, Errno> {
        let base = mem::map_anon(MAPPING_LEN)?;
        Self::new_in(base, captured, exit_common)
    }

    /// As `new`, in `base`: a zeroed, page-aligned mapping of `MAPPING_LEN`
    /// bytes that is never unmapped and that no other thread uses.
    pub(crate) fn new_in(
        base: *mut u8,
        captured: &CapturedState,
        exit_common: u64,
    ) -> Result<ThreadState, Errno> {
        let st = ThreadState {
            base,
            altstack: (0, 2, 0),
            timer: None,
            signal_mask: 0,
            memory: None,
            events: crate::events::ThreadEvents::new(0),
        };
        let xcr0 = enter::xcr0();
        let size = enter::xsave_size().min(XSAVE_MAX);
        {
            let tb = st.tb_mut();
            tb.self_addr = base as u64;
            tb.exit_common = exit_common;
            tb.xsave_addr = base as u64 + XSAVE_OFFSET as u64;
            tb.xcr0 = xcr0;
            tb.use_xsaveopt = u64::from(enter::has_xsaveopt());
            tb.memo_kb = 1 << MEMO_TAG_SHIFT;
            tb.memo_inc = 1 << MEMO_TAG_SHIFT;
            tb.gprs = captured.gprs;
            tb.rip = captured.rip;
            tb.rflags = captured.rflags;
        }
        // SAFETY:
        // - The xsave area lies inside the mapping (XSAVE_OFFSET + XSAVE_MAX <= MAPPING_LEN).
        // - `captured.xsave` holds at least `size` bytes; the two do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(captured.xsave.as_ptr(), base.add(XSAVE_OFFSET), size);
        }
        // SAFETY:
        // - The mapping is never unmapped, so the block stays valid while GS points at it.
        // - Nothing else uses GS in this process (glibc uses FS; GS users are refused).
        unsafe { gs_base::set_gs_base(base as u64)? };
        Ok(st)
    }

    #[allow(clippy::mut_from_ref)] // the block is not Rust-owned memory; see the SAFETY bullets
    fn tb_mut(&self) -> &mut ThreadBlock {
        // SAFETY:
        // - `base` is a live, page-aligned mapping at least size_of::<ThreadBlock>() long.
        // - Only the dispatcher of this thread calls this, outside `enter`, and
        //   every caller drops the reference before the next `enter`.
        unsafe { &mut *(self.base as *mut ThreadBlock) }
    }

    pub(crate) fn set_gpr(&self, i: usize, v: u64) {
        self.tb_mut().gprs[i] = v;
    }
    /// Guest register `i` (hardware encoding order) while in the dispatcher.
    pub(crate) fn gpr(&self, i: usize) -> u64 {
        self.tb_mut().gprs[i]
    }
    /// The 64 bytes of vector register `n` (zmm/ymm/xmm; 0..32) from the
    /// guest's saved extended state (standard `xsave` format: components in
    /// their init state, per XSTATE_BV, read as zero). Read in place; the
    /// component offsets are asked of cpuid once per process.
    pub(crate) fn vector_register(&self, n: usize) -> [u8; 64] {
        static OFFSETS: std::sync::OnceLock<[usize; 3]> = std::sync::OnceLock::new();
        let [ymm_hi, zmm_hi, hi16_zmm] =
            *OFFSETS.get_or_init(|| [2, 6, 7].map(enter::xsave_component_offset));
        // SAFETY:
        // - The xsave area is XSAVE_MAX bytes inside the live mapping; the
        //   dispatcher alone touches it outside `enter`, and no mutable
        //   reference into it is alive while this shared one is.
        let x = unsafe { core::slice::from_raw_parts(self.base.add(XSAVE_OFFSET), XSAVE_MAX) };
        let bv = u64::from_le_bytes(x[512..520].try_into().expect("8 bytes"));
        let mut v = [0u8; 64];
        let mut copy = |comp: u32, from: usize, to: usize, len: usize| {
            if bv & (1 << comp) != 0 {
                if let Some(src) = x.get(from..from + len) {
                    v[to..to + len].copy_from_slice(src);
                }
            }
        };
        if n < 16 {
            copy(1, 160 + 16 * n, 0, 16);
            copy(2, ymm_hi + 16 * n, 16, 16);
            copy(6, zmm_hi + 32 * n, 32, 32);
        } else if n < 32 {
            copy(7, hi16_zmm + 64 * (n - 16), 0, 64);
        }
        v
    }
    /// Where translated code writes the next event record.
    pub(crate) fn buf_ptr(&self) -> u64 {
        self.tb_mut().buf_ptr
    }
    pub(crate) fn set_buf_ptr(&self, v: u64) {
        self.tb_mut().buf_ptr = v;
    }
    /// Ends the thread's repeat-filter epoch (record.rs, "The repeat
    /// filter"): keys written so far match nothing any more. Called at
    /// exits from the code cache, after the flush.
    pub(crate) fn end_memo_epoch(&self) {
        let tb = self.tb_mut();
        tb.memo_kb = tb.memo_kb.wrapping_add(tb.memo_inc);
        self.keep_memo_epoch();
    }

    /// Goes on with the thread's repeat-filter epoch across an exit at
    /// which nothing ended it (a full buffer whose flush made no
    /// synchronisation): only starts the table over when the tag could
    /// wrap before the next exit.
    pub(crate) fn keep_memo_epoch(&self) {
        let tb = self.tb_mut();
        // Translated code adds at most one step per record between two
        // exits (4096 per buffer), so a tag below 2^13 here never wraps
        // before the next exit; past it, the table starts over.
        if tb.memo_kb >> MEMO_TAG_SHIFT >= 1 << 13 {
            // SAFETY:
            // - The table is the page-aligned tail of our own anonymous mapping,
            //   no reference into it is alive, and its thread is outside the
            //   code cache; zero pages are empty entries.
            unsafe { mem::discard(self.base.add(MEMO_TABLE_OFFSET), MEMO_ENTRIES * 8) };
            tb.memo_kb = 1 << MEMO_TAG_SHIFT;
        }
    }

    /// Points translated code at the tool's inline filter and the
    /// thread's current tag in it (record.rs, "The inline filter"). Called
    /// before every entry into the code cache.
    pub(crate) fn set_inline_filter(&self, table: u64, tag: u64) {
        let tb = self.tb_mut();
        tb.filter_table = table;
        tb.filter_tagw = tag << 16;
    }

    /// Sets the blocks left in the thread's timeslice (deterministic schedules).
    pub(crate) fn set_slice(&self, blocks: u64) {
        self.tb_mut().slice = blocks;
    }
    /// The blocks left in the thread's timeslice.
    pub(crate) fn slice(&self) -> u64 {
        self.tb_mut().slice
    }
    pub(crate) fn ind_target(&self) -> u64 {
        self.tb_mut().ind_target
    }
    pub(crate) fn exit_info(&self) -> u64 {
        self.tb_mut().exit_info
    }
    /// The syscall the guest asked for: number and six arguments.
    pub(crate) fn syscall_args(&self) -> (u64, [u64; 6]) {
        let g = &self.tb_mut().gprs;
        (
            g[reg::RAX],
            [
                g[reg::RDI],
                g[reg::RSI],
                g[reg::RDX],
                g[reg::R10],
                g[reg::R8],
                g[reg::R9],
            ],
        )
    }
    /// Completes a syscall as the `syscall` instruction would: rax = result,
    /// rcx = return pc, r11 = rflags.
    pub(crate) fn finish_syscall(&self, ret: i64, next_pc: u64) {
        let tb = self.tb_mut();
        tb.gprs[reg::RAX] = ret as u64;
        tb.gprs[reg::RCX] = next_pc;
        tb.gprs[reg::R11] = tb.rflags;
    }

    #[allow(clippy::mut_from_ref)] // as for `tb_mut`
    fn ibl_table(&self) -> &mut [[u64; 2]] {
        // SAFETY:
        // - The table lies inside the mapping (IBL_TABLE_OFFSET + 16 * IBL_ENTRIES == MAPPING_LEN),
        //   is 16-byte aligned, and only the dispatcher touches it outside `enter`.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.base.add(IBL_TABLE_OFFSET) as *mut [u64; 2],
                IBL_ENTRIES,
            )
        }
    }

    /// Makes the indirect-branch table send `guest_pc` to `host`.
    pub(crate) fn ibl_insert(&self, guest_pc: u64, host: u64) {
        let e = &mut self.ibl_table()[(guest_pc & 0xffff) as usize];
        e[0] = guest_pc.wrapping_neg();
        e[1] = host;
    }

    /// Takes `guest_pc` out of the indirect-branch table, so the next
    /// indirect branch to it leaves for the dispatcher.
    pub(crate) fn ibl_remove(&self, guest_pc: u64) {
        let e = &mut self.ibl_table()[(guest_pc & 0xffff) as usize];
        if e[0] == guest_pc.wrapping_neg() {
            *e = [0, 0];
        }
    }

    /// Empties the indirect-branch table (zero entries are empty, see
    /// `thread_block.rs`), letting the kernel drop its pages.
    pub(crate) fn clear_ibl(&self) {
        // SAFETY:
        // - The table is the page-aligned tail of our own anonymous mapping,
        //   and no reference into it is alive (the dispatcher is not in `enter`).
        unsafe { mem::discard(self.base.add(IBL_TABLE_OFFSET), IBL_ENTRIES * 16) };
    }

    /// A stand-in that is never used, parked in the dispatcher while no
    /// thread of the translator holds the big lock (dispatch.rs).
    pub(crate) fn placeholder() -> ThreadState {
        ThreadState {
            base: core::ptr::null_mut(),
            altstack: (0, 2, 0),
            timer: None,
            signal_mask: 0,
            memory: None,
            events: crate::events::ThreadEvents::new(0),
        }
    }

    /// The thread block's address (the thread's GS base).
    pub(crate) fn base_addr(&self) -> u64 {
        self.base as u64
    }

    /// The instruction and memory-access counters of the thread block at `base`.
    pub(crate) fn counts_of(base: u64) -> (u64, u64) {
        if base == 0 {
            return (0, 0);
        }
        // SAFETY:
        // - `base` is a live thread-block mapping (never unmapped); its thread
        //   is not running guest code while we hold the big lock, so the
        //   counters are not being written.
        let tb = unsafe { &*(base as *const ThreadBlock) };
        (tb.insn_count, tb.mem_count)
    }

    /// Empties the indirect-branch table of the thread block at `base`
    /// (another thread's, when the code cache is flushed).
    pub(crate) fn clear_ibl_of(base: u64) {
        if base == 0 {
            return;
        }
        // SAFETY:
        // - `base` is a live thread-block mapping (they are never unmapped); the
        //   table is page-aligned anonymous memory whose zero entries are empty,
        //   and its thread is not running guest code (we hold the big lock).
        unsafe { mem::discard((base as *mut u8).add(IBL_TABLE_OFFSET), IBL_ENTRIES * 16) };
    }

    /// Replaces the guest state: registers, flags and the `xsave` image
    /// (standard format, at most `XSAVE_MAX` bytes).
    pub(crate) fn set_guest(&self, gprs: &[u64; 16], rflags: u64, xsave: &[u8]) {
        let tb = self.tb_mut();
        tb.gprs = *gprs;
        tb.rflags = rflags;
        let n = xsave.len().min(XSAVE_MAX);
        // SAFETY:
        // - The xsave area is XSAVE_MAX bytes inside the mapping; `n` <= XSAVE_MAX.
        // - `xsave` is a live slice of at least `n` bytes, not inside the mapping.
        unsafe { core::ptr::copy_nonoverlapping(xsave.as_ptr(), self.base.add(XSAVE_OFFSET), n) };
    }

    /// The guest state: registers, flags and `len` bytes of the `xsave` image.
    pub(crate) fn snapshot(&self, len: usize) -> ([u64; 16], u64, Vec<u8>) {
        let tb = self.tb_mut();
        let mut x = vec![0u8; len.min(XSAVE_MAX)];
        // SAFETY:
        // - The xsave area is XSAVE_MAX bytes inside the mapping; `x.len()` <= XSAVE_MAX.
        unsafe {
            core::ptr::copy_nonoverlapping(self.base.add(XSAVE_OFFSET), x.as_mut_ptr(), x.len())
        };
        (tb.gprs, tb.rflags, x)
    }

    /// Runs translated code at `host` until the next exit.
    pub(crate) fn run(&self, host: u64) {
        // SAFETY:
        // - GS points at this block (set in `new`), initialised there.
        // - `host` is a code-cache entry or a guest pc (dispatcher's contract).
        unsafe { enter::enter(host) }
    }
}

/// The code cache the real signal handler consults (`register_signal_view`).
static SIGNAL_CACHE: core::sync::atomic::AtomicPtr<crate::code_cache::CodeCache> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Tells the real signal handler where the cache is and where its fields
/// are in every thread's block. `cache` must not move for the rest of the
/// process (the dispatcher's never does).
pub(crate) fn register_signal_view(cache: &crate::code_cache::CodeCache) {
    use super::thread_block::{
        IN_GUEST, NATIVE_PC, REDIRECT_PC, SPILL_RAX, SPILL_RCX, STEPPING, THREAD_SIGNALS_OFFSET,
    };
    SIGNAL_CACHE.store(
        cache as *const _ as *mut _,
        core::sync::atomic::Ordering::Release,
    );
    crate::os::linux::sigframe::register(crate::os::linux::sigframe::SignalView {
        lookup: signal_lookup,
        exit_common: super::enter::exit_common_addr(),
        spill_rax_off: SPILL_RAX as u64,
        spill_rcx_off: SPILL_RCX as u64,
        in_guest_off: IN_GUEST as u64,
        native_pc_off: NATIVE_PC as u64,
        redirect_pc_off: REDIRECT_PC as u64,
        thread_signals_off: THREAD_SIGNALS_OFFSET as u64,
        stepping_off: STEPPING as u64,
    });
}

/// For the real signal handler: the safe point at host pc `pc`, if the pc is
/// in the cache (`Err` if not).
fn signal_lookup(pc: u64) -> Result<Option<(u64, bool)>, ()> {
    let cache = SIGNAL_CACHE.load(core::sync::atomic::Ordering::Acquire);
    if cache.is_null() {
        return Err(());
    }
    // SAFETY:
    // - `cache` is the dispatcher's CodeCache, registered once and never moved
    //   or dropped (`Dispatcher::run` never returns).
    // - The handler calls this only while guest code runs (IN_GUEST), when
    //   the single dispatcher thread is not changing the cache.
    let cache = unsafe { &*cache };
    if !cache.contains_host(pc) {
        return Err(());
    }
    Ok(cache.safe_point_at(pc).map(|p| (p.guest_pc, p.rcx_spilled)))
}
