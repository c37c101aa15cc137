//! The syscall layer: the guest's syscalls, run from the dispatcher.
//!
//! Most syscalls run as they are (`os::linux::guest_syscall`). The rows of
//! `SyscallTable` (os/linux/syscall_table.rs) name the ones that matter to
//! the runtime; this module decides what to do with them, in OS-neutral
//! terms where it can.

use crate::dispatch::Dispatcher;
use crate::os::linux::guest_syscall::{
    fd_path, read_cstr, read_ptr_array, run_guest_syscall, run_interruptible, SyscallOutcome,
};
use crate::os::linux::syscall_table::{self, SyscallKind, NR_FORK};
use crate::os::linux::{fds, proc_view};
use crate::{ModuleView, Syscall, Tool};

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const ENOSYS: i64 = 38;
const PROT_WRITE: u64 = 2;
const PROT_EXEC: u64 = 4;
const MMAP: u64 = 9;
const FCNTL: u64 = 72;

/// Runs the guest syscall that stopped at `pc`; returns where the guest resumes.
pub(crate) fn handle(d: &mut Dispatcher, pc: u64, next: u64) -> u64 {
    let (nr, mut args) = d.ts.syscall_args();
    if d.interests.syscalls {
        d.config.tool.on_syscall(&Syscall {
            thread: d.ts.events.num,
            nr,
            args: &args,
            in_quiet_call: d.ts.events.quiet(),
        });
    }
    // A guest call that would unmap, reprotect or replace the runtime's
    // memory fails as under Valgrind (os/linux/owned.rs).
    if let Some(ret) = crate::os::linux::owned::refuse(nr, &args) {
        d.ts.finish_syscall(ret, next);
        return next;
    }
    let row = syscall_table::lookup(nr);
    let _span = tracing::trace_span!("syscall", nr, name = row.map_or("", |r| r.name)).entered();
    let mut nr_run = nr;
    let mut child_stack = 0;
    match row.map(|r| r.kind) {
        Some(SyscallKind::Exit) if crate::dispatch::threads() > 1 => {
            // One thread of several ends: the dispatcher releases the big
            // lock and makes the exit syscall for it.
            d.exit_thread = Some(args[0] as i32);
            return next;
        }
        Some(SyscallKind::ExitGroup | SyscallKind::Exit) => {
            let status = args[0] as i32;
            let stats = d.exit_stats(status);
            d.config.tool.on_exit(&stats, &d.config.log);
            if d.config.verbose {
                let inline = crate::arch::inline_filter_coverage();
                d.config.log.line(&format!(
                    "hbgrind: {} blocks translated; cache exits: {} direct, {} indirect, {} syscall, {} buffer full; {} event records in {} flushes; inline filter checks at {} of {} filterable operands translated",
                    stats.blocks_translated,
                    d.exits[0],
                    d.exits[1],
                    d.exits[2],
                    d.exits[6],
                    d.flushed.1,
                    d.flushed.0,
                    inline.0,
                    inline.1
                ));
            }
            crate::exit_group(status);
        }
        Some(SyscallKind::Clone) => {
            let flags = args[0];
            if flags & CLONE_THREAD != 0 {
                if flags & CLONE_VM == 0 {
                    refuse_threads(d, pc);
                }
                let ret = crate::dispatch::spawn_thread(d, &args, next);
                d.ts.finish_syscall(ret, next);
                return next;
            }
            if flags & CLONE_VM != 0 {
                // A child sharing our memory would run the runtime on it
                // concurrently: run it as a fork (after Valgrind).
                args[0] &= !(CLONE_VM | CLONE_VFORK);
            }
            // The kernel would start the child on the new stack, but the
            // syscall returns into the dispatcher, which needs its own copy
            // of the runtime's stack: give the guest its stack afterwards.
            child_stack = args[1];
            args[1] = 0;
        }
        Some(SyscallKind::SigAction) => {
            let ret = crate::signal::sigaction(d, &args);
            d.ts.finish_syscall(ret, next);
            return next;
        }
        Some(SyscallKind::SigReturn) => return crate::signal::sigreturn(d),
        Some(SyscallKind::SigProcMask) => {
            let ret = crate::signal::sigprocmask(d, &args);
            d.ts.finish_syscall(ret, next);
            return next;
        }
        // (glibc registers each new thread's rseq itself: only the first
        // thread's registration is someone else's.)
        Some(SyscallKind::Rseq) if args[2] & 1 == 0 && crate::dispatch::threads() == 1 => {
            // glibc registers rseq before the takeover; a guest doing it itself
            // (tcmalloc) has critical sections the kernel cannot restart
            // while they run from the code cache.
            d.config.log.line(&format!(
                "hbgrind: warning: the program registers restartable sequences (rseq at guest pc {pc:#x}); \
                 their critical sections run translated and are not restarted (not yet supported)"
            ));
        }
        Some(SyscallKind::SigAltStack) => {
            let ret = crate::signal::sigaltstack(d, &args);
            d.ts.finish_syscall(ret, next);
            return next;
        }
        Some(SyscallKind::FdChange) => {
            if let Some(ret) = fds::before(nr, &args, run_guest_syscall) {
                d.ts.finish_syscall(ret, next);
                return next;
            }
            // fcntl(F_SETLKW/F_OFD_SETLKW) waits for a lock: without the big lock.
            if nr == FCNTL && matches!(args[1], 7 | 38) && crate::dispatch::threads() > 1 {
                d.blocking = Some((nr, args, next));
                return next;
            }
        }
        Some(SyscallKind::Clone3) => {
            // glibc falls back to clone, whose flags we can check and rewrite.
            d.ts.finish_syscall(-ENOSYS, next);
            return next;
        }
        Some(SyscallKind::Vfork) => nr_run = NR_FORK,
        Some(SyscallKind::Execve) if !d.config.trace_children || skips_child(d, nr, &args) => {
            d.config.tool.on_exec_untraced();
            fds::before_exec();
            let ret = execve_untraced(d, nr, &args).unwrap_or_else(|| run_guest_syscall(nr, args));
            fds::after_failed_exec();
            // Still here: the call failed.
            d.config.tool.on_exec_failed();
            d.ts.finish_syscall(ret, next);
            return next;
        }
        Some(SyscallKind::ArchPrctl) if matches!(args[0], 0x1001 | 0x1004) => {
            d.config.log.line(&format!(
                "hbgrind: the program sets or reads the GS base (arch_prctl at {pc:#x}); \
                 hbgrind needs GS for itself and cannot run this program"
            ));
            crate::exit_group(1);
        }
        None if crate::dispatch::threads() > 1
            && (!crate::sched::deterministic() || may_block(nr)) =>
        {
            // May block: the dispatcher runs it without the big lock.
            d.blocking = Some((nr, args, next));
            return next;
        }
        _ => {}
    }
    let execs = matches!(row.map(|r| r.kind), Some(SyscallKind::Execve));
    if execs {
        fds::before_exec();
    }
    let fork_like = matches!(
        row.map(|r| r.kind),
        Some(SyscallKind::Clone | SyscallKind::Fork | SyscallKind::Vfork)
    );
    let outcome = if fork_like {
        crate::sched::around_fork(|| run_interruptible(nr_run, args))
    } else {
        run_interruptible(nr_run, args)
    };
    if execs {
        fds::after_failed_exec();
    }
    let ret = match outcome {
        SyscallOutcome::Done(ret) => ret,
        // A signal came first: the dispatcher delivers it, then the guest
        // issues the call again from its `syscall` instruction.
        SyscallOutcome::Interrupted => return pc,
    };
    let ret = fds::after(nr, &args, proc_view::after_open(nr, &args, ret));
    note_result(d, nr, &args, ret);
    d.ts.finish_syscall(ret, next);
    if d.interests.syscalls {
        d.config.tool.on_syscall_return(
            &Syscall {
                thread: d.ts.events.num,
                nr,
                args: &args,
                in_quiet_call: d.ts.events.quiet(),
            },
            ret,
        );
    }
    let forks = matches!(
        row.map(|r| r.kind),
        Some(SyscallKind::Clone | SyscallKind::Fork | SyscallKind::Vfork)
    );
    if ret == 0 && forks {
        crate::os::linux::mem::forget_pid();
        crate::dispatch::reset_threads_after_fork();
        d.config.tool.on_fork_child();
    }
    if ret == 0 && child_stack != 0 && matches!(row.map(|r| r.kind), Some(SyscallKind::Clone)) {
        // The fork-like child starts on the stack it was given.
        d.ts.set_gpr(4, child_stack);
    }
    if ret >= 0 {
        after_success(d, nr, &args, ret as u64);
    }
    next
}

/// Where the guest's syscall `nr(args)` keeps the signal mask it waits
/// with, if it has one: `rt_sigsuspend`, `ppoll`, `pselect6` (through its
/// sixth argument), `epoll_pwait`, `epoll_pwait2`.
fn call_mask_at(nr: u64, args: &[u64; 6]) -> u64 {
    match nr {
        130 => args[0],
        271 => args[3],
        281 | 441 => args[4],
        270 if args[5] != 0 => {
            let mut b = [0u8; 8];
            if crate::os::linux::mem::read_guest(args[5], &mut b) == 8 {
                u64::from_le_bytes(b)
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// The result of a guest call: the bookkeeping every call shares.
fn note_result(d: &mut Dispatcher, nr: u64, args: &[u64; 6], ret: i64) {
    const EINTR: i64 = 4;
    if ret == -EINTR {
        crate::signal::note_call_mask(d, call_mask_at(nr, args));
    }
}

/// Completes a syscall that ran without the big lock (see `handle`);
/// returns where the guest resumes: after the call, or at its `syscall`
/// instruction (`next - 2`) when a signal interrupted it before it ran or
/// the kernel rewound it for a restart.
pub(crate) fn complete(
    d: &mut Dispatcher,
    nr: u64,
    args: &[u64; 6],
    outcome: SyscallOutcome,
    next: u64,
) -> u64 {
    let SyscallOutcome::Done(ret) = outcome else {
        return next - 2;
    };
    let ret = fds::after(nr, args, proc_view::after_open(nr, args, ret));
    note_result(d, nr, args, ret);
    d.ts.finish_syscall(ret, next);
    if d.interests.syscalls {
        d.config.tool.on_syscall_return(
            &Syscall {
                thread: d.ts.events.num,
                nr,
                args,
                in_quiet_call: d.ts.events.quiet(),
            },
            ret,
        );
    }
    if ret >= 0 {
        after_success(d, nr, args, ret as u64);
    }
    next
}

fn refuse_threads(d: &mut Dispatcher, pc: u64) -> ! {
    d.config.log.line(&format!(
        "hbgrind: the program creates a thread without CLONE_VM (clone at guest pc {pc:#x}); \
         such threads are not supported under the translator"
    ));
    let stats = d.exit_stats(1);
    d.config.tool.on_exit(&stats, &d.config.log);
    crate::exit_group(1)
}

/// Whether syscall `nr` can wait for another thread or the outside world
/// (I/O on pipes and sockets, futexes, sleeps, waits). In a deterministic
/// schedule (`--sched-seed`) only these let go of the big lock, so that the
/// others (mmap, mprotect, clone, getpid...) do not reorder the threads.
fn may_block(nr: u64) -> bool {
    const MAY_BLOCK: &[u64] = &[
        0, 1, 2, 7, 16, 17, 18, 19, 20, 23, 24, 34, 35, 42, 43, 44, 45, 46, 47, 61, 65, 69, 70, 72,
        73, 128, 130, 202, 208, 230, 232, 247, 257, 270, 271, 281, 288, 295, 296, 299, 307, 441,
    ];
    MAY_BLOCK.contains(&nr)
}

/// Memory and module bookkeeping after a successful syscall.
fn after_success(d: &mut Dispatcher, nr: u64, args: &[u64; 6], ret: u64) {
    match syscall_table::lookup(nr).map(|r| r.kind) {
        Some(SyscallKind::UnmapOrProtect) => {
            crate::os::linux::mem::forget_readable();
            let (start, len) = (args[0], args[1]);
            if nr != 10 || args[2] & PROT_WRITE != 0 {
                d.forget_readonly(start, start.saturating_add(len));
            }
            let gone = nr != 10 || args[2] & PROT_EXEC == 0;
            if gone {
                d.invalidate(start, start.saturating_add(len));
                if nr != 10 {
                    unload_modules(d, start, len);
                }
            }
        }
        None if nr == MMAP && args[2] & PROT_EXEC != 0 && (args[4] as i64) >= 0 => {
            // A file mapped executable: a module (ld.so's dlopen does this).
            crate::os::linux::mem::forget_readable();
            d.invalidate(ret, ret.saturating_add(args[1]));
            d.forget_readonly(ret, ret.saturating_add(args[1]));
            let path = fd_path(args[4] as i32).unwrap_or_default();
            d.hooks.scan_module(&path, ret.wrapping_sub(args[5]));
            if d.interests.modules {
                d.config.tool.on_module_load(&ModuleView {
                    path: &path,
                    start: ret,
                    len: args[1],
                    bias: ret.wrapping_sub(args[5]),
                });
            }
            d.modules.push((ret, args[1]));
        }
        None if nr == MMAP => {
            // Not executable: no block can come from it before an mprotect,
            // which refreshes what we know about memory.
            d.invalidate(ret, ret.saturating_add(args[1]));
            d.forget_readonly(ret, ret.saturating_add(args[1]));
        }
        _ => {}
    }
}

fn unload_modules(d: &mut Dispatcher, start: u64, len: u64) {
    let end = start.saturating_add(len);
    d.hooks.forget_range(start, len);
    let tool: &mut dyn Tool = &mut *d.config.tool;
    let wants = d.interests.modules;
    d.modules.retain(|&(s, l)| {
        let overlaps = s < end && s + l > start;
        if overlaps && wants {
            tool.on_module_unload(s, l);
        }
        !overlaps
    });
}

/// execve with our LD_PRELOAD entry taken out of the environment, so an
/// untraced child runs natively. Returns the result if it ran the call.
/// Whether `--trace-children-skip` says not to trace this execve's program.
fn skips_child(d: &Dispatcher, nr: u64, args: &[u64; 6]) -> bool {
    let Some(skip) = &d.config.skip_child else {
        return false;
    };
    // execve(path, argv, envp); execveat(dirfd, path, argv, envp, flags).
    let (path_arg, argv_arg) = if nr == 59 { (0, 1) } else { (1, 2) };
    let path = read_cstr(args[path_arg]);
    let argv: Vec<Vec<u8>> = read_ptr_array(args[argv_arg])
        .into_iter()
        .map(read_cstr)
        .collect();
    skip(&path, &argv)
}

fn execve_untraced(d: &Dispatcher, nr: u64, args: &[u64; 6]) -> Option<i64> {
    let ours = d.config.preload_path.as_deref()?;
    let envp_arg = if nr == 59 { 2 } else { 3 };
    let env: Vec<Vec<u8>> = read_ptr_array(args[envp_arg])
        .into_iter()
        .map(read_cstr)
        .collect();
    let mut changed = false;
    let mut new_env: Vec<Vec<u8>> = Vec::with_capacity(env.len());
    for var in env {
        if let Some(list) = var.strip_prefix(b"LD_PRELOAD=") {
            let kept: Vec<&[u8]> = list
                .split(|&c| c == b':' || c == b' ')
                .filter(|e| !e.is_empty() && *e != ours)
                .collect();
            changed = true;
            if !kept.is_empty() {
                let mut v = b"LD_PRELOAD=".to_vec();
                v.extend_from_slice(&kept.join(&b':'));
                new_env.push(v);
            }
            continue;
        }
        new_env.push(var);
    }
    if !changed {
        return None;
    }
    for v in &mut new_env {
        v.push(0);
    }
    let mut ptrs: Vec<u64> = new_env.iter().map(|v| v.as_ptr() as u64).collect();
    ptrs.push(0);
    let mut a = *args;
    a[envp_arg] = ptrs.as_ptr() as u64;
    Some(run_guest_syscall(nr, a))
}
