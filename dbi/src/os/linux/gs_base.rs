//! The GS base: each guest thread's `ThreadBlock` (ARCHITECTURE.md, decision 3).

use super::raw::{nr, syscall6};
use super::{check, Errno};
use core::arch::asm;

const ARCH_SET_GS: u64 = 0x1001;
/// `AT_HWCAP2` bit saying the kernel allows `wrgsbase` in user space.
const HWCAP2_FSGSBASE: u64 = 1 << 1;

/// Points the calling thread's GS base at `block`, so translated code reaches
/// its spill slots and counters as `gs:[offset]`.
///
/// # Safety
/// `block` must stay valid and unmoved for as long as code of this thread
/// uses `gs:`, and nothing else of this thread may use GS.
pub(crate) unsafe fn set_gs_base(block: u64) -> Result<(), Errno> {
    if super::hwcap2() & HWCAP2_FSGSBASE != 0 {
        // SAFETY:
        // - AT_HWCAP2 says the kernel enabled CR4.FSGSBASE, so wrgsbase does not fault.
        // - It changes only this thread's GS base; the caller guarantees nobody else uses GS.
        unsafe { asm!("wrgsbase {}", in(reg) block, options(nostack, preserves_flags)) };
        return Ok(());
    }
    // SAFETY:
    // - ARCH_SET_GS changes only this thread's GS base and touches no memory.
    let rc = unsafe { syscall6(nr::ARCH_PRCTL, [ARCH_SET_GS, block, 0, 0, 0, 0]) };
    check(rc).map(|_| ())
}
