//! Every guest thread waiting forever: a deadlock, told to the tool
//! (papers/scheduling.md, "All threads blocked").
//!
//! A thread that makes a futex wait with no timeout (`FUTEX_WAIT`,
//! `FUTEX_WAIT_BITSET`: how glibc's mutexes, condition variables, joins,
//! semaphores and barriers sleep) is listed here, with where it waits,
//! while it waits. When the last running thread joins the list, no thread
//! of the process is left to wake the others: only a signal handler,
//! another process sharing the futex, or a wake already on its way can.
//! That thread then waits with a timeout of `GRACE` first; if it times out
//! and nothing changed in the list meanwhile, the tool hears of it once
//! (`Tool::on_all_threads_blocked`, with each thread's stack), and the
//! thread goes on waiting as the program asked. Nothing changes for the
//! program: a wait that times out under us is issued again as it was.
//!
//! # Invariants
//! - `WAITING` holds one entry per thread inside such a wait, added before
//!   the wait and removed after it, by that thread; `CHANGES` counts every
//!   addition and removal.
//! - The report is made at most once per process (`REPORTED`; a fork child
//!   starts afresh).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::os::linux::guest_syscall::{run_interruptible, SyscallOutcome};
use crate::{StackId, ThreadNum};

const FUTEX: u64 = 202;
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_CMD_MASK: u64 = 0x7f;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const ETIMEDOUT: i64 = 110;
const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
/// How long the last thread waits before the tool is told.
const GRACE_SECONDS: u64 = 2;

/// A thread waiting forever, as the tool is told of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockedThread {
    pub thread: ThreadNum,
    /// The guest `syscall` instruction it waits in.
    pub pc: u64,
    pub stack: StackId,
    /// The futex word.
    pub futex: u64,
}

static WAITING: Mutex<Vec<BlockedThread>> = Mutex::new(Vec::new());
static CHANGES: AtomicU64 = AtomicU64::new(0);
static REPORTED: AtomicBool = AtomicBool::new(false);

fn waiting() -> std::sync::MutexGuard<'static, Vec<BlockedThread>> {
    WAITING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `nr(args)` is a futex wait with no timeout.
pub(crate) fn waits_forever(nr: u64, args: &[u64; 6]) -> bool {
    nr == FUTEX
        && matches!(args[1] & FUTEX_CMD_MASK, FUTEX_WAIT | FUTEX_WAIT_BITSET)
        && args[3] == 0
}

/// In a fork child only the forking thread exists, and it runs.
pub(crate) fn reset_after_fork() {
    waiting().clear();
    REPORTED.store(false, Ordering::Release);
}

/// Runs the futex wait `args` (`waits_forever`) for `me` without the big
/// lock; `threads` says how many guest threads exist, `report` tells the
/// tool (taking the big lock) when all of them wait.
pub(crate) fn wait(
    me: BlockedThread,
    args: [u64; 6],
    threads: impl Fn() -> usize,
    report: impl FnOnce(&[BlockedThread]),
) -> SyscallOutcome {
    let all = {
        let mut w = waiting();
        w.push(me);
        CHANGES.fetch_add(1, Ordering::AcqRel);
        w.len() >= threads()
    };
    let outcome = if all && !REPORTED.load(Ordering::Acquire) {
        wait_with_grace(me, args, threads, report)
    } else {
        run_interruptible(FUTEX, args)
    };
    let mut w = waiting();
    if let Some(i) = w.iter().position(|b| b.thread == me.thread) {
        w.swap_remove(i);
    }
    CHANGES.fetch_add(1, Ordering::AcqRel);
    outcome
}

fn wait_with_grace(
    me: BlockedThread,
    args: [u64; 6],
    threads: impl Fn() -> usize,
    report: impl FnOnce(&[BlockedThread]),
) -> SyscallOutcome {
    let before = CHANGES.load(Ordering::Acquire);
    let mut timed = args;
    // FUTEX_WAIT takes a relative timeout, FUTEX_WAIT_BITSET an absolute
    // one on the clock its flags name.
    let mut timeout = [GRACE_SECONDS, 0u64];
    if args[1] & FUTEX_CMD_MASK == FUTEX_WAIT_BITSET {
        let clock = if args[1] & FUTEX_CLOCK_REALTIME != 0 {
            CLOCK_REALTIME
        } else {
            CLOCK_MONOTONIC
        };
        let now = crate::os::linux::clock_now(clock);
        timeout = [now[0] + GRACE_SECONDS, now[1]];
    }
    timed[3] = timeout.as_ptr() as u64;
    let outcome = run_interruptible(FUTEX, timed);
    if outcome != SyscallOutcome::Done(-ETIMEDOUT) {
        return outcome;
    }
    let still = {
        let w = waiting();
        (CHANGES.load(Ordering::Acquire) == before && w.len() >= threads()).then(|| w.clone())
    };
    if let Some(blocked) = still {
        if !REPORTED.swap(true, Ordering::AcqRel) {
            tracing::debug!(
                threads = blocked.len(),
                thread = me.thread,
                "all threads blocked"
            );
            report(&blocked);
        }
    }
    // The program asked for no timeout: wait again as it asked.
    run_interruptible(FUTEX, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_futex_waits_without_a_timeout_wait_forever() {
        let wait = |op: u64, timeout: u64| [0x1000, op, 0, timeout, 0, 0];
        assert!(waits_forever(FUTEX, &wait(0, 0)));
        assert!(waits_forever(FUTEX, &wait(128, 0))); // FUTEX_WAIT_PRIVATE
        assert!(waits_forever(FUTEX, &wait(9 | 128, 0))); // WAIT_BITSET_PRIVATE
        assert!(!waits_forever(FUTEX, &wait(0, 0x7000))); // a timeout
        assert!(!waits_forever(FUTEX, &wait(1, 0))); // FUTEX_WAKE
        assert!(!waits_forever(0, &wait(0, 0))); // read
    }
}
