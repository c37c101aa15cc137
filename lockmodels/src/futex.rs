//! The futex model: which futex operations are releases and which acquires
//! (papers/lockmodels.md, "Futexes").
//!
//! A futex wake makes the kernel hand a waiter back to user space; the
//! waker's earlier stores are visible to the woken thread (the kernel takes
//! the futex hash bucket's lock on both sides). So a wake is a *release* on
//! the futex word's address, announced before the syscall runs, and a wait
//! that returns 0 (woken, not timed out, not `EAGAIN`) is an *acquire* of
//! it, announced after the syscall returned. Anything else (a timeout, a
//! changed word, a signal) learns nothing.
//!
//! `FUTEX_REQUEUE` and `FUTEX_CMP_REQUEUE` move waiters of one word to a
//! second word; a moved waiter returns from its wait on the first word when
//! the second is woken, so the caller should remember the pair
//! (`FutexOp::requeue`) and acquire both when such a wait returns.
//!
//! # Invariants
//! - `decode` looks only at the syscall's arguments, never at memory, so it
//!   is pure; reading `futex_waitv`'s array is the caller's job.

/// Syscall numbers of the futex calls (x86-64).
pub const SYS_FUTEX: u64 = 202;
pub const SYS_FUTEX_WAITV: u64 = 449;
pub const SYS_FUTEX_WAKE: u64 = 454;
pub const SYS_FUTEX_WAIT: u64 = 455;

/// `futex(2)` commands (the operation without `FUTEX_PRIVATE_FLAG` and
/// `FUTEX_CLOCK_REALTIME`).
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_UNLOCK_PI: u64 = 7;
const FUTEX_TRYLOCK_PI: u64 = 8;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
const FUTEX_CMP_REQUEUE_PI: u64 = 12;
const FUTEX_LOCK_PI2: u64 = 13;
const FUTEX_CMD_MASK: u64 = 0x7f;

/// What one futex syscall means for happens-before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FutexOp {
    /// Words released before the call (wakes, PI unlocks); 0 = none.
    pub releases: [u64; 2],
    /// Words acquired if the call returns 0 (woken waits, PI locks); 0 = none.
    pub acquires_on_success: [u64; 2],
    /// `(from, to)`: waiters of `from` now wait on `to`.
    pub requeue: Option<(u64, u64)>,
    /// A 4-byte word the kernel reads, changes and writes atomically on the
    /// caller's behalf (`FUTEX_WAKE_OP`'s second word).
    pub rmw: Option<u64>,
}

impl FutexOp {
    /// Every futex word the call names: the words the atomics model
    /// should take as atomic variables.
    pub fn words(&self) -> impl Iterator<Item = u64> + '_ {
        self.releases
            .iter()
            .chain(self.acquires_on_success.iter())
            .copied()
            .filter(|&w| w != 0)
    }
}

/// The meaning of syscall `nr` with `args`, if it is a futex call the
/// model knows; `None` for other syscalls and unknown commands.
pub fn decode(nr: u64, args: &[u64; 6]) -> Option<FutexOp> {
    let mut op = FutexOp::default();
    match nr {
        SYS_FUTEX => {
            let (word, word2) = (args[0], args[4]);
            match args[1] & FUTEX_CMD_MASK {
                FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_LOCK_PI | FUTEX_LOCK_PI2
                | FUTEX_TRYLOCK_PI => op.acquires_on_success[0] = word,
                // Woken through the PI word it was requeued to, the waiter
                // has also taken that lock.
                FUTEX_WAIT_REQUEUE_PI => op.acquires_on_success = [word, word2],
                FUTEX_WAKE | FUTEX_WAKE_BITSET | FUTEX_UNLOCK_PI => op.releases[0] = word,
                // Wakes waiters of both words (the second conditionally:
                // announcing it always only adds an edge nobody may take).
                FUTEX_WAKE_OP => {
                    op.releases = [word, word2];
                    op.rmw = Some(word2);
                }
                FUTEX_REQUEUE | FUTEX_CMP_REQUEUE | FUTEX_CMP_REQUEUE_PI => {
                    op.releases[0] = word;
                    op.requeue = Some((word, word2));
                }
                _ => return None,
            }
        }
        // futex_waitv(waiters, n, flags, timeout, clock): the word woken is
        // the returned index's; the caller reads it from the array.
        SYS_FUTEX_WAITV => {}
        // futex_wake(uaddr, mask, nr, flags), futex_wait(uaddr, val, mask, ...).
        SYS_FUTEX_WAKE => op.releases[0] = args[0],
        SYS_FUTEX_WAIT => op.acquires_on_success[0] = args[0],
        _ => return None,
    }
    Some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: u64 = 128;
    const CLOCK_REALTIME: u64 = 256;

    fn futex(op: u64, word: u64, word2: u64) -> Option<FutexOp> {
        decode(SYS_FUTEX, &[word, op, 1, 0, word2, 0])
    }

    #[test]
    fn wakes_release_and_waits_acquire_whatever_the_flags() {
        for flags in [0, PRIVATE, PRIVATE | CLOCK_REALTIME] {
            let wake = futex(FUTEX_WAKE | flags, 0x1000, 0).unwrap();
            assert_eq!(wake.releases, [0x1000, 0]);
            assert_eq!(wake.acquires_on_success, [0, 0]);
            let wait = futex(FUTEX_WAIT_BITSET | flags, 0x1000, 0).unwrap();
            assert_eq!(wait.releases, [0, 0]);
            assert_eq!(wait.acquires_on_success, [0x1000, 0]);
            assert_eq!(wait.words().collect::<Vec<_>>(), [0x1000]);
        }
    }

    #[test]
    fn wake_op_releases_both_words_and_requeue_moves_waiters() {
        let op = futex(FUTEX_WAKE_OP | PRIVATE, 0x10, 0x20).unwrap();
        assert_eq!(op.releases, [0x10, 0x20]);
        assert_eq!(op.rmw, Some(0x20), "the kernel updates the second word");
        let rq = futex(FUTEX_CMP_REQUEUE, 0x10, 0x20).unwrap();
        assert_eq!(rq.releases, [0x10, 0]);
        assert_eq!(rq.requeue, Some((0x10, 0x20)));
    }

    #[test]
    fn futex2_calls_and_other_syscalls() {
        assert_eq!(
            decode(SYS_FUTEX_WAKE, &[0x40, 0, 0, 0, 0, 0])
                .unwrap()
                .releases,
            [0x40, 0]
        );
        assert_eq!(
            decode(SYS_FUTEX_WAIT, &[0x40, 0, 0, 0, 0, 0])
                .unwrap()
                .acquires_on_success,
            [0x40, 0]
        );
        assert_eq!(decode(0, &[0; 6]), None, "read(2) is no futex call");
        assert_eq!(futex(99, 0x10, 0), None, "an unknown command");
    }
}
