//! The GS base: each guest thread's `ThreadBlock` (ARCHITECTURE.md, decision 3).

use super::raw::{nr, syscall6};
use super::{check, Errno};
use core::arch::asm;
use core::sync::atomic::{AtomicU8, Ordering};

/// 1 when `wrgsbase`/`rdgsbase` may be used, 2 when not, 0 before the first `set_gs_base`.
static FSGSBASE: AtomicU8 = AtomicU8::new(0);

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
    let mode = FSGSBASE.load(Ordering::Relaxed);
    let mode = if mode == 0 {
        let m = if super::hwcap2() & HWCAP2_FSGSBASE != 0 {
            1
        } else {
            2
        };
        FSGSBASE.store(m, Ordering::Relaxed);
        m
    } else {
        mode
    };
    if mode == 1 {
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

/// The calling thread's GS base (0 if never set). Async-signal-safe.
pub(crate) fn gs_base() -> u64 {
    match FSGSBASE.load(Ordering::Relaxed) {
        1 => {
            let v: u64;
            // SAFETY:
            // - FSGSBASE == 1 only after AT_HWCAP2 said user-space rdgsbase is enabled.
            unsafe { asm!("rdgsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
            v
        }
        2 => {
            const ARCH_GET_GS: u64 = 0x1004;
            let mut v = 0u64;
            // SAFETY:
            // - ARCH_GET_GS writes 8 bytes into `v`, a live local.
            let _ = unsafe {
                syscall6(
                    nr::ARCH_PRCTL,
                    [ARCH_GET_GS, &mut v as *mut u64 as u64, 0, 0, 0, 0],
                )
            };
            v
        }
        _ => 0,
    }
}
