//! Signals delivered to threads blocked in syscalls (issue 16, item 1):
//! `tests/programs/signals_blocked.c` in each of its modes, natively and
//! under `hbgrind --tool=none` (same stdout, stderr and status) and the race
//! tool (same stdout and status). Every run has a short time limit: before
//! the fix these runs hung, as the handler of an `SA_RESTART` signal waited
//! for the blocked syscall to return by itself.

use std::time::Duration;

use hbgrind_tests::{assert_same, Output, Program, Run};

/// Generous for a program that sleeps only while it waits for a signal.
const LIMIT: Duration = Duration::from_secs(90);

fn run(mode: &[&str]) -> Run {
    Program::build("signals_blocked.c")
        .run(mode)
        .time_limit(LIMIT)
}

/// Runs `mode` natively, checks its stdout is `expected`, then compares the
/// runs under the none and race tools with it.
fn check(mode: &[&str], expected: &str) {
    let run = run(mode);
    let native = run.native();
    assert_eq!(
        (native.stdout_text().as_str(), native.status.code()),
        (expected, Some(0)),
        "native run of {}: {}",
        native.command,
        native.stderr_text()
    );
    let none = run.under_hbgrind(&["--tool=none"]);
    assert_same(&native, &none);
    let race = run.under_hbgrind(&["-q"]);
    same_stdout_and_status(&native, &race);
}

fn same_stdout_and_status(native: &Output, hbgrind: &Output) {
    assert_eq!(
        (hbgrind.stdout_text(), hbgrind.status_text()),
        (native.stdout_text(), native.status_text()),
        "{}: stderr:\n{}",
        hbgrind.command,
        hbgrind.stderr_text()
    );
}

#[test]
fn sa_restart_read_is_restarted_after_the_handler_and_a_second_signal_interrupts_it() {
    check(
        &["restart-thread"],
        "read returned -1 (Interrupted system call) after 1 SIGTERM and 1 SIGUSR1\n",
    );
}

#[test]
fn a_single_threaded_reader_gets_signals_from_another_process() {
    check(
        &["restart-fork"],
        "read returned -1 (Interrupted system call) after 1 SIGTERM and 1 SIGUSR1\n\
         sender exited 0\n",
    );
}

#[test]
fn without_sa_restart_a_blocked_read_fails_with_eintr() {
    check(
        &["eintr"],
        "read returned -1 (Interrupted system call) after 1 SIGUSR1\n",
    );
}

#[test]
fn pthread_cancel_ends_a_thread_in_pthread_cond_wait() {
    check(
        &["cancel-cond"],
        "cancel cond: pthread_cancel 0, joined PTHREAD_CANCELED, 1 cleanup handler(s) ran\n\
         mutex free\n",
    );
}

#[test]
fn pthread_cancel_ends_a_thread_in_read() {
    check(
        &["cancel-read"],
        "cancel read: pthread_cancel 0, joined PTHREAD_CANCELED, 1 cleanup handler(s) ran\n\
         mutex free\n",
    );
}

#[test]
fn asynchronous_cancellation_ends_a_busy_loop() {
    check(
        &["cancel-async"],
        "cancel async: pthread_cancel 0, joined PTHREAD_CANCELED, 1 cleanup handler(s) ran\n\
         mutex free\n",
    );
}

#[test]
fn pthread_kill_reaches_a_futex_wait_and_nanosleep_returns_the_remaining_time() {
    check(
        &["futex-sleep"],
        "handler ran 1 time(s) in the cond waiter, 1 in the sleeper\n\
         nanosleep returned -1 (Interrupted system call), remaining time between 20 and 30 s: yes\n",
    );
}

#[test]
fn a_thousand_signals_to_blocked_threads_are_all_handled() {
    check(
        &["stress", "1000"],
        "sent: read 167+167, futex 166+167, nanosleep 166+167 (SA_RESTART+not)\n\
         handled 1001, read failed with EINTR 167 times, nanosleep 334 times\n",
    );
}

#[test]
fn a_handler_that_ends_sigsuspend_or_ppoll_runs_with_their_mask() {
    check(
        &["sigsuspend"],
        "sigsuspend returned -1 (Interrupted system call); SIGUSR2 blocked in the handler: 0; \
         blocked after: SIGUSR1 1, SIGUSR2 1\n\
         ppoll returned -1 (Interrupted system call); SIGUSR2 blocked in the handler: 0; \
         blocked after: SIGUSR1 1, SIGUSR2 1\n\
         SIGCHLD handled in sigsuspend\n",
    );
}

#[test]
fn a_thread_that_blocks_every_signal_is_still_preempted_and_sees_its_mask() {
    // Before 2026-12-03 the spinner's mask blocked the runtime's
    // preemption signal too: it kept the big lock and the run hung; and a
    // signal sent to the process could run its handler on the spinner.
    check(
        &["masked-spinner"],
        "SIGTERM handled by the main thread; the spinner's mask blocks SIGRTMAX and SIGTERM: 1\n\
         SIGUSR1 handled 200 times, 0 of them on the spinner\n",
    );
}
