//! Thread memory: the stack, static TLS and thread descriptor a new thread
//! gets are new memory (papers/lockmodels.md, "Thread memory").
//!
//! glibc keeps the stacks of finished threads in a cache and hands them to
//! new threads; the static TLS block and the descriptor (`struct pthread`,
//! which the `CLONE_SETTLS` value points at on x86-64) sit at the top of
//! the same mapping, the stack below them. Nothing the program can see
//! orders the dead thread's last accesses there (its exit path after it
//! queued its stack, a join by some other thread) with the new thread's
//! first ones, so the race tool forgets the whole range when the new thread
//! is created and again when a thread exits.
//!
//! The range comes from the arguments of the thread-creating call: glibc
//! first tries `clone3` (which the translator refuses, so glibc falls back
//! to `clone`), whose `clone_args` give the lowest stack address and the
//! stack's size; the descriptor ends `sizeof(struct pthread)` above the
//! TLS pointer (glibc says how big it is in `_thread_db_sizeof_pthread`).
//!
//! # Invariants
//! - A range is only taken from a `clone3` whose TLS value is the one the
//!   `clone` passes, so a raw `clone` of the program (no `clone3` first)
//!   forgets only `[child stack pointer, end of descriptor)`: hbgrind does
//!   not guess how far down such a stack goes.
//! - A range is never longer than `MAX_THREAD_MEMORY`: arguments that claim
//!   more are not a thread stack hbgrind understands, and forgetting a
//!   wrong range would lose the history of unrelated memory.

/// `sizeof(struct pthread)` when libc does not say (glibc 2.36: 0x940).
pub(crate) const DEFAULT_DESCRIPTOR_SIZE: u64 = 0x940;

/// The longest range forgotten for one thread (1 GiB).
const MAX_THREAD_MEMORY: u64 = 1 << 30;

/// What a `clone3` of a thread asked for (`struct clone_args`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Clone3Stack {
    /// Lowest address of the stack (the guard page included, for glibc).
    pub(crate) stack: u64,
    pub(crate) stack_size: u64,
    pub(crate) tls: u64,
}

/// The memory a thread created with `clone(…, child_sp, …, tls)` owns:
/// `[start, end)`, or `None` when the arguments name none.
pub(crate) fn thread_memory(
    clone3: Option<Clone3Stack>,
    child_sp: u64,
    tls: Option<u64>,
    descriptor_size: u64,
) -> Option<(u64, u64)> {
    let clone3 = clone3.filter(|c| c.stack != 0 && tls.is_none_or(|t| t == c.tls));
    let mut start = match clone3 {
        Some(c) => c.stack,
        None => child_sp,
    };
    let mut end = match clone3 {
        Some(c) => c.stack.checked_add(c.stack_size)?,
        None => child_sp,
    };
    if let Some(tls) = tls.filter(|&t| t != 0) {
        let descriptor_end = tls.checked_add(descriptor_size)?;
        // The descriptor lies at (or just above) the top of the stack.
        if tls >= start && descriptor_end - start <= MAX_THREAD_MEMORY {
            end = end.max(descriptor_end);
        }
    }
    start = start.min(end);
    (start < end && end - start <= MAX_THREAD_MEMORY).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_threads_own_stack_tls_and_descriptor() {
        // allocate_stack: an 8 MiB mapping, the descriptor at its top, the
        // static TLS below it, clone3's stack ending below the TLS.
        let mapping = 0x7f00_0000_0000u64;
        let size = 8 << 20;
        let tls = mapping + size - 0x940;
        let c = Clone3Stack {
            stack: mapping,
            stack_size: size - 0x940 - 0x1000,
            tls,
        };
        let sp = c.stack + c.stack_size;
        assert_eq!(
            thread_memory(Some(c), sp, Some(tls), 0x940),
            Some((mapping, mapping + size))
        );
    }

    #[test]
    fn a_raw_clone_owns_only_what_its_arguments_show() {
        let sp = 0x5000_0000;
        assert_eq!(
            thread_memory(None, sp, Some(sp + 0x800), 0x940),
            Some((sp, sp + 0x800 + 0x940))
        );
        assert_eq!(thread_memory(None, sp, None, 0x940), None);
        // A clone3 for some other TLS block is not this clone's.
        let other = Clone3Stack {
            stack: 0x1000,
            stack_size: 0x1000,
            tls: 0x9999,
        };
        assert_eq!(
            thread_memory(Some(other), sp, Some(sp + 0x800), 0x940),
            Some((sp, sp + 0x800 + 0x940))
        );
    }

    #[test]
    fn absurd_arguments_own_nothing() {
        let huge = Clone3Stack {
            stack: 0x1000,
            stack_size: 1 << 40,
            tls: 0x2000,
        };
        assert_eq!(thread_memory(Some(huge), 0, Some(0x2000), 0x940), None);
        let wrapping = Clone3Stack {
            stack: u64::MAX - 10,
            stack_size: 100,
            tls: 0,
        };
        assert_eq!(thread_memory(Some(wrapping), 0, None, 0x940), None);
        // A TLS block far above the stack is not part of it.
        assert_eq!(
            thread_memory(None, 0x1_0000, Some(0x7fff_0000_0000), 0x940),
            None
        );
    }
}
