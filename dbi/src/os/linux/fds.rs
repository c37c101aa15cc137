//! hbgrind's own file descriptors, out of the guest's reach (after
//! Valgrind's `setup_file_descriptors` and `ML_(fd_allowed)`;
//! papers/reliability.md).
//!
//! At start-up `reserve` puts a range of `RESERVED` descriptor numbers
//! `[base, top)` at the top of what the process may use, raising the real
//! soft `RLIMIT_NOFILE` to `top` when the hard limit allows. The guest sees
//! a soft limit of at most `base` and a hard limit of `base` (through
//! `getrlimit`, `setrlimit` and `prlimit64`, emulated here), so every number
//! below its limit is free for it, and the runtime's log, XML and
//! transient descriptors (`open`, `dup_high`) live in the range.
//!
//! # Invariants
//! - Every descriptor the runtime keeps is in `[base, top)` once `reserve`
//!   ran; the guest never holds one there: a new guest descriptor at or
//!   above the guest's soft limit is closed again and the call fails with
//!   `EMFILE`, as the kernel would fail it at that limit.
//! - The guest's soft limit never exceeds its hard limit, which never
//!   exceeds `base`.
//! - Guest `close`, `dup2`/`dup3` onto, `close_range` over and
//!   `fcntl(F_DUPFD)` into the range fail or are clipped as in Valgrind:
//!   `EBADF`, `EBADF`, clipped below `base`, `EINVAL`.

use core::sync::atomic::{AtomicU64, Ordering};

use super::raw::{nr, syscall6};

/// How many descriptor numbers the runtime keeps (Valgrind keeps 12; we
/// also need transient ones for /proc reads and fork children's files).
const RESERVED: u64 = 32;

/// Below this many descriptors the process is too constrained to give up
/// `RESERVED` of them: nothing is reserved.
const MIN_LIMIT: u64 = 128;

/// The reserved range is put no higher than this: a descriptor at number n
/// makes the kernel's descriptor table n entries long (8 bytes each, copied
/// at every fork), so near a hard limit of 1048576 it would cost 8 MiB a
/// process.
const MAX_TOP: u64 = 65536;

const RLIMIT_NOFILE: u64 = 7;
const EBADF: i64 = 9;
const EFAULT: i64 = 14;
const EINVAL: i64 = 22;
const EMFILE: i64 = 24;
const EPERM: i64 = 1;
const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;

/// The first reserved number (0: nothing reserved yet).
static BASE: AtomicU64 = AtomicU64::new(0);
/// One past the last reserved number.
static TOP: AtomicU64 = AtomicU64::new(0);
/// `RLIMIT_NOFILE` as the guest sees it.
static GUEST_SOFT: AtomicU64 = AtomicU64::new(u64::MAX);
static GUEST_HARD: AtomicU64 = AtomicU64::new(u64::MAX);

/// `(soft, hard)` of `RLIMIT_NOFILE`, or `None`.
fn real_limit() -> Option<(u64, u64)> {
    let mut lim = [0u64; 2];
    // SAFETY:
    // - prlimit64(0, NOFILE, NULL, &lim) writes 16 bytes into `lim`, a live local.
    let rc = unsafe {
        syscall6(
            nr::PRLIMIT64,
            [0, RLIMIT_NOFILE, 0, lim.as_mut_ptr() as u64, 0, 0],
        )
    };
    (rc == 0).then_some((lim[0], lim[1]))
}

fn set_real_soft(soft: u64, hard: u64) -> bool {
    let lim = [soft, hard];
    // SAFETY:
    // - prlimit64(0, NOFILE, &lim, NULL) only reads `lim`, a live local.
    let rc = unsafe {
        syscall6(
            nr::PRLIMIT64,
            [0, RLIMIT_NOFILE, lim.as_ptr() as u64, 0, 0, 0],
        )
    };
    rc == 0
}

/// Reserves the runtime's descriptor range and lowers the guest's view of
/// the limit (module docs). Call once, before the runtime opens anything.
pub fn reserve() {
    let Some((soft, hard)) = real_limit() else {
        return;
    };
    let top = hard.min(MAX_TOP.max(soft));
    if top < MIN_LIMIT {
        return;
    }
    if top > soft && !set_real_soft(top, hard) {
        return;
    }
    let base = top - RESERVED;
    GUEST_SOFT.store(soft.min(base), Ordering::Relaxed);
    GUEST_HARD.store(base, Ordering::Relaxed);
    TOP.store(top, Ordering::Relaxed);
    BASE.store(base, Ordering::Relaxed);
    tracing::debug!(base, top, "reserved descriptors");
}

/// The lowest number a runtime descriptor is moved to: the reserved range,
/// or 1000 when nothing could be reserved (out of most programs' way).
pub(crate) fn runtime_fd_floor() -> u64 {
    match BASE.load(Ordering::Relaxed) {
        0 => 1000,
        base => base,
    }
}

/// Whether `fd` is in the reserved range.
fn is_reserved(fd: u64) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    base != 0 && (base..TOP.load(Ordering::Relaxed)).contains(&fd)
}

/// The guest's soft limit (`u64::MAX` when nothing is reserved).
fn guest_soft() -> u64 {
    GUEST_SOFT.load(Ordering::Relaxed)
}

/// Before the real soft limit goes to a program run by execve: the guest's
/// own, so an untraced child sees what it set (a traced child reserves
/// again from there). `after_failed_exec` undoes it.
pub(crate) fn before_exec() {
    if BASE.load(Ordering::Relaxed) != 0 {
        if let Some((_, hard)) = real_limit() {
            set_real_soft(guest_soft(), hard);
        }
    }
}

/// The execve failed: the runtime's range is usable again.
pub(crate) fn after_failed_exec() {
    if BASE.load(Ordering::Relaxed) != 0 {
        if let Some((_, hard)) = real_limit() {
            set_real_soft(TOP.load(Ordering::Relaxed), hard);
        }
    }
}

/// A guest descriptor call that touches the reserved range or the limit,
/// decided here without running it (`Some(result)`), or `None` to run it.
/// `run` runs a syscall on the guest's behalf.
pub(crate) fn before(nr: u64, args: &[u64; 6], run: impl Fn(u64, [u64; 6]) -> i64) -> Option<i64> {
    if BASE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let soft = guest_soft();
    match nr {
        // close
        3 if is_reserved(args[0]) => Some(-EBADF),
        // dup2, dup3: onto a number at or above the limit (ours included).
        33 | 292 if args[1] >= soft && args[1] != args[0] => {
            // dup2(fd, fd) is a validity check of fd; dup3 refuses it.
            Some(-EBADF)
        }
        // fcntl(F_DUPFD[_CLOEXEC], min): min at or above the limit.
        72 if matches!(args[1], F_DUPFD | F_DUPFD_CLOEXEC) && args[2] >= soft => Some(-EINVAL),
        // close_range(first, last, flags): clipped below the range.
        436 => {
            let base = BASE.load(Ordering::Relaxed);
            if args[0] > args[1] || args[0] < base && args[1] < base {
                return None;
            }
            if args[0] >= base {
                // Only ours (and numbers above them, which are free): nothing to do.
                return Some(if args[0] > args[1] { -EINVAL } else { 0 });
            }
            Some(run(436, [args[0], base - 1, args[2], 0, 0, 0]))
        }
        // getrlimit(NOFILE, &lim)
        97 if args[0] == RLIMIT_NOFILE => Some(get_limit(args[1])),
        // setrlimit(NOFILE, &lim)
        160 if args[0] == RLIMIT_NOFILE => Some(set_limit(args[1])),
        // prlimit64(pid, NOFILE, new, old), on ourselves.
        302 if args[1] == RLIMIT_NOFILE && (args[0] == 0 || args[0] == super::getpid() as u64) => {
            let (new, old) = (args[2], args[3]);
            let (soft, hard) = (guest_soft(), GUEST_HARD.load(Ordering::Relaxed));
            if old != 0 && !super::mem::write_guest(old, &limit_bytes(soft, hard)) {
                return Some(-EFAULT);
            }
            if new != 0 {
                return Some(set_limit(new));
            }
            Some(0)
        }
        _ => None,
    }
}

fn limit_bytes(soft: u64, hard: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&soft.to_le_bytes());
    b[8..].copy_from_slice(&hard.to_le_bytes());
    b
}

fn get_limit(at: u64) -> i64 {
    let bytes = limit_bytes(guest_soft(), GUEST_HARD.load(Ordering::Relaxed));
    if super::mem::write_guest(at, &bytes) {
        0
    } else {
        -EFAULT
    }
}

/// The guest sets its limit: within its hard limit, as an unprivileged
/// process may (a raise of the hard limit is refused with `EPERM`, as
/// Valgrind refuses it: the range above belongs to the runtime).
fn set_limit(at: u64) -> i64 {
    let mut b = [0u8; 16];
    if super::mem::read_guest(at, &mut b) != 16 {
        return -EFAULT;
    }
    let soft = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let hard = u64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
    if soft > hard {
        return -EINVAL;
    }
    if hard > GUEST_HARD.load(Ordering::Relaxed) {
        return -EPERM;
    }
    GUEST_HARD.store(hard, Ordering::Relaxed);
    GUEST_SOFT.store(soft, Ordering::Relaxed);
    0
}

/// After a guest call that made a descriptor: one at or above the guest's
/// soft limit is closed again and the call fails with `EMFILE`, as the
/// kernel fails it natively at that limit. Returns the guest's result.
pub(crate) fn after(nr: u64, args: &[u64; 6], ret: i64) -> i64 {
    let soft = guest_soft();
    if ret < 0 || soft == u64::MAX {
        return ret;
    }
    let makes_fd = match nr {
        // open, dup, socket, accept, creat, epoll_create, inotify_init,
        // timerfd_create, eventfd, signalfd(4), accept4, eventfd2,
        // epoll_create1, dup3, inotify_init1, perf_event_open,
        // fanotify_init, open_by_handle_at, memfd_create, userfaultfd,
        // io_uring_setup, fsopen, fsmount, fspick, open_tree,
        // pidfd_open, openat2, pidfd_getfd, openat, mq_open.
        2 | 32 | 41 | 43 | 85 | 213 | 253 | 283 | 284 | 282 | 289 | 288 | 290 | 291 | 294 | 298
        | 300 | 304 | 319 | 323 | 425 | 428 | 430 | 432 | 433 | 434 | 437 | 438 | 257 | 240 => true,
        72 => matches!(args[1], F_DUPFD | F_DUPFD_CLOEXEC),
        // pipe, pipe2, socketpair: two descriptors in guest memory.
        22 | 293 | 53 => return after_pair(if nr == 53 { args[3] } else { args[0] }, ret, soft),
        // recvmsg, recvmmsg: descriptors received with SCM_RIGHTS.
        47 => {
            after_received(args[1], soft);
            return ret;
        }
        299 => {
            for i in 0..ret as u64 {
                after_received(args[1] + i * MMSGHDR_SIZE, soft);
            }
            return ret;
        }
        _ => false,
    };
    if makes_fd && ret as u64 >= soft {
        super::close(ret as i32);
        return -EMFILE;
    }
    ret
}

/// `struct mmsghdr`: a `msghdr` and the received length, padded.
const MMSGHDR_SIZE: u64 = 64;
const SOL_SOCKET: u32 = 1;
const SCM_RIGHTS: u32 = 1;
const MSG_CTRUNC: u32 = 8;

/// After a guest `recvmsg` into the `msghdr` at `msg`: the descriptors the
/// kernel installed at or above the guest's soft limit (it only stops at
/// the real one) are closed, and the message reads as the kernel makes it
/// at that limit: the `SCM_RIGHTS` header counts the descriptors below it,
/// is left out when there are none, and `MSG_CTRUNC` is set. (The kernel
/// puts `SCM_RIGHTS` last, so cutting it moves no later header.)
fn after_received(msg: u64, soft: u64) {
    let mut hdr = [0u8; 56];
    if super::mem::read_guest(msg, &mut hdr) != hdr.len() {
        return;
    }
    let word = |at: usize| u64::from_le_bytes(hdr[at..at + 8].try_into().expect("8 bytes"));
    let (control, control_len) = (word(32), word(40));
    let mut at = 0u64;
    while at + 16 <= control_len {
        let mut cmsg = [0u8; 16];
        if super::mem::read_guest(control + at, &mut cmsg) != 16 {
            return;
        }
        let len = u64::from_le_bytes(cmsg[..8].try_into().expect("8 bytes"));
        let level = u32::from_le_bytes(cmsg[8..12].try_into().expect("4 bytes"));
        let kind = u32::from_le_bytes(cmsg[12..].try_into().expect("4 bytes"));
        if len < 16 || at + len > control_len {
            return;
        }
        if level == SOL_SOCKET && kind == SCM_RIGHTS {
            let mut data = vec![0u8; (len - 16) as usize];
            if super::mem::read_guest(control + at + 16, &mut data) != data.len() {
                return;
            }
            let fds: Vec<u64> = data
                .chunks_exact(4)
                .map(|c| u64::from(u32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect();
            let Some(first_over) = fds.iter().position(|&fd| fd >= soft) else {
                return;
            };
            for &fd in &fds[first_over..] {
                super::close(fd as i32);
            }
            let (new_len, new_control_len) = if first_over == 0 {
                (len, at)
            } else {
                let l = 16 + 4 * first_over as u64;
                (l, at + ((l + 7) & !7))
            };
            let flags = u32::from_le_bytes(hdr[48..52].try_into().expect("4 bytes")) | MSG_CTRUNC;
            super::mem::write_guest(control + at, &new_len.to_le_bytes());
            super::mem::write_guest(msg + 40, &new_control_len.to_le_bytes());
            super::mem::write_guest(msg + 48, &flags.to_le_bytes());
            return;
        }
        at += (len + 7) & !7;
    }
}

fn after_pair(at: u64, ret: i64, soft: u64) -> i64 {
    let mut b = [0u8; 8];
    if super::mem::read_guest(at, &mut b) != 8 {
        return ret;
    }
    let a = u64::from(u32::from_le_bytes(b[..4].try_into().expect("4 bytes")));
    let c = u64::from(u32::from_le_bytes(b[4..].try_into().expect("4 bytes")));
    if a >= soft || c >= soft {
        super::close(a as i32);
        super::close(c as i32);
        return -EMFILE;
    }
    ret
}
