//! `ThreadMemory`: the runtime's mappings of one guest thread (its thread
//! block, the dispatcher stack it runs on, its signal stack), and their
//! reuse once the thread is gone. Its event buffer, once mapped, goes
//! with the set.
//!
//! Without reuse every thread that ever ran would keep its mappings: a
//! program that starts a thread per request runs out of mappings
//! (`vm.max_map_count`) after some ten thousand threads.
//!
//! Invariants:
//! - None of these mappings is ever unmapped (the safety arguments of the
//!   thread block and the stacks rely on it); they go back to a pool.
//! - A retired set is handed to a new thread only when the kernel thread
//!   that used it is gone (`tgkill(pid, tid, 0)` fails with `ESRCH`), so
//!   nothing runs on its stacks or has GS pointing at its block any more.
//!   A reused tid only delays reuse.
//! - At reuse the thread block is zeroed (`MADV_DONTNEED` on private
//!   anonymous memory), as a fresh mapping would be; the stacks' pages are
//!   given back too, so a dead thread's memory does not stay resident.

use std::sync::Mutex;

use crate::os::linux::{mem, Errno};

/// The runtime mappings of one guest thread other than the first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadMemory {
    /// The thread block (`arch::THREAD_BLOCK_LEN` bytes), the thread's GS base.
    pub(crate) block: *mut u8,
    /// The dispatcher stack (`arch::DISPATCH_STACK_LEN` bytes, its lowest
    /// page inaccessible).
    pub(crate) stack: *mut u8,
    /// The runtime's signal stack (`sigframe::RUNTIME_ALTSTACK_LEN` bytes).
    pub(crate) altstack: *mut u8,
    /// The event buffer (`events::BUF_LEN` bytes), or 0: mapped when the
    /// thread first needed one (events.rs).
    pub(crate) events_buffer: u64,
}

// SAFETY:
// - The pointers name mappings of ours that no other Rust value owns; a
//   set is used by one thread at a time (handed out from the pool once).
unsafe impl Send for ThreadMemory {}

/// Retired sets, with the kernel thread that used each last (`None`: never
/// started, free at once).
static RETIRED: Mutex<Vec<(Option<i32>, ThreadMemory)>> = Mutex::new(Vec::new());

impl ThreadMemory {
    /// A set for a new thread: a retired one whose thread is gone, else
    /// fresh mappings.
    pub(crate) fn get() -> Result<ThreadMemory, Errno> {
        if let Some(reused) = take_retired() {
            return Ok(reused);
        }
        let block = mem::map_anon(crate::arch::THREAD_BLOCK_LEN)?;
        let stack = mem::map_anon(crate::arch::DISPATCH_STACK_LEN)?;
        mem::protect_none(stack, 4096)?;
        let altstack = mem::map_anon(crate::os::linux::sigframe::RUNTIME_ALTSTACK_LEN)?;
        Ok(ThreadMemory {
            block,
            stack,
            altstack,
            events_buffer: 0,
        })
    }

    /// The calling thread is about to exit and is done with this set (it
    /// still runs on the stack, so the set waits for the thread to be gone).
    pub(crate) fn retire(self) {
        let tid = crate::os::linux::gettid();
        lock().push((Some(tid), self));
    }

    /// No thread ever ran on this set (`clone` failed): free at once.
    pub(crate) fn give_back_unused(self) {
        lock().push((None, self));
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(Option<i32>, ThreadMemory)>> {
    RETIRED.lock().unwrap_or_else(|p| p.into_inner())
}

fn take_retired() -> Option<ThreadMemory> {
    let mut retired = lock();
    let i = retired
        .iter()
        .position(|(tid, _)| tid.is_none_or(crate::os::linux::thread_is_gone))?;
    let (_, m) = retired.swap_remove(i);
    drop(retired);
    // SAFETY:
    // - The set's thread is gone (or never ran): nothing uses the block or
    //   the stacks, whose contents are dead; all are private anonymous
    //   mappings of ours (the stack's guard page is left as it is: it has
    //   no pages to give back).
    unsafe {
        mem::discard(m.block, crate::arch::THREAD_BLOCK_LEN);
        mem::discard(m.stack.add(4096), crate::arch::DISPATCH_STACK_LEN - 4096);
        mem::discard(m.altstack, crate::os::linux::sigframe::RUNTIME_ALTSTACK_LEN);
        if m.events_buffer != 0 {
            mem::discard(m.events_buffer as *mut u8, crate::events::BUF_LEN);
        }
    }
    Some(m)
}
