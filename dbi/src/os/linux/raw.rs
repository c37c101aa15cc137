//! Raw `syscall` instructions: the runtime's only way into the kernel.
//!
//! The runtime never calls glibc for its own I/O or memory (ARCHITECTURE.md,
//! decision 2): glibc may hold a lock the guest took, and its `errno` belongs
//! to the guest. Every wrapper returns the kernel's raw result: a negative
//! value is `-errno`.

use core::arch::asm;

/// Performs syscall `nr` with six arguments.
///
/// # Safety
/// The syscall and its arguments must be valid for this process: any memory
/// the kernel reads or writes through the arguments must be valid for that
/// access, and the call must not unmap or change memory the caller relies on.
#[inline]
pub(crate) unsafe fn syscall6(nr: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY:
    // - The caller guarantees the syscall's memory effects are valid.
    // - `syscall` clobbers only rcx and r11, declared below; the stack is untouched.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Syscall numbers the runtime itself uses (x86-64 Linux).
pub(crate) mod nr {
    pub(crate) const READ: u64 = 0;
    pub(crate) const WRITE: u64 = 1;
    pub(crate) const OPEN: u64 = 2;
    pub(crate) const CLOSE: u64 = 3;
    pub(crate) const MMAP: u64 = 9;
    pub(crate) const MPROTECT: u64 = 10;
    pub(crate) const MUNMAP: u64 = 11;
    pub(crate) const GETPID: u64 = 39;
    pub(crate) const EXIT_GROUP: u64 = 231;
    pub(crate) const FCNTL: u64 = 72;
    pub(crate) const ARCH_PRCTL: u64 = 158;
    pub(crate) const PRLIMIT64: u64 = 302;
    pub(crate) const PROCESS_VM_READV: u64 = 310;
    pub(crate) const PROCESS_VM_WRITEV: u64 = 311;
}
