//! `hbgrind explore` (issue 12, item 3): many seeded schedules of one
//! program, the distinct findings with how many runs showed each, and a
//! command that reproduces one. The programs (`tests/programs/explore/`)
//! have bugs that only some schedules show: an order violation (a race
//! only when the consumer's critical section comes first) and a use before
//! initialisation (a crash in some schedules, a race in the others).

use hbgrind_tests::{hbgrind, scratch_dir, Output, Program, Run};

/// `hbgrind explore ARGS...`, its runs' files in a fresh scratch directory
/// (`explore_in` gives the directory back).
fn explore(name: &str, args: &[&str]) -> Output {
    explore_in(name, args).0
}

fn explore_in(name: &str, args: &[&str]) -> (Output, std::path::PathBuf) {
    let dir = scratch_dir(&format!("explore-{name}"));
    let mut run = Run::new(hbgrind()).arg("explore").arg("-o").arg(&dir);
    run = run.args(args);
    (run.native(), dir)
}

/// The `reproduce:` command of the finding whose text contains `what`.
fn reproduce_command(out: &str, what: &str) -> Vec<String> {
    let at = out
        .find(what)
        .unwrap_or_else(|| panic!("no {what:?} in\n{out}"));
    let line = out[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .expect("a reproduce line");
    line.split(' ').map(String::from).collect()
}

/// "#1 in K of N runs": K.
fn runs_showing(out: &str, what: &str) -> u32 {
    let at = out.find(what).expect("the finding");
    let header = out[..at]
        .lines()
        .rev()
        .find(|l| l.contains(" runs (seed"))
        .unwrap();
    let k = header
        .split(" in ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    k.parse().unwrap()
}

/// Runs a `reproduce:` command (`hbgrind --sched-seed=N PROG`).
fn rerun(command: &[String]) -> Output {
    assert_eq!(command[0], "hbgrind", "{command:?}");
    Run::new(hbgrind()).args(&command[1..]).native()
}

const ORDER_RACE: &str = "Possible data race during write of size 4
       at producer (order_violation.c:29)
       conflicts with a read of size 4 by thread #3 at consumer (order_violation.c:42)";

/// The race shows in some schedules and not in others; its command
/// reproduces it, every time, with both source lines.
#[test]
fn an_order_violation_is_found_in_some_schedules_and_reproduced() {
    let prog = Program::build("explore/order_violation.c");
    let out = explore("order", &["-n", "20", prog.path.to_str().unwrap()]);
    let text = out.stdout_text();
    assert_eq!(out.status.code(), Some(2), "{text}{}", out.stderr_text());
    assert!(
        text.contains("hbgrind explore: 20 runs (--sched-seed=1..20)"),
        "{text}"
    );
    assert!(text.contains(ORDER_RACE), "{text}");
    let k = runs_showing(&text, ORDER_RACE);
    assert!(
        0 < k && k < 20,
        "the race should depend on the schedule: {k} of 20\n{text}"
    );
    let command = reproduce_command(&text, ORDER_RACE);
    for _ in 0..3 {
        let again = rerun(&command);
        assert_eq!(again.stdout_text(), "done\n");
        let report = again.stderr_text();
        assert!(
            report.contains("Possible data race during write of size 4")
                && report.contains("producer (order_violation.c:29)")
                && report.contains("consumer (order_violation.c:42)"),
            "{command:?} did not reproduce the race:\n{report}"
        );
    }
}

/// A crash that only some schedules show is a finding with where it
/// happened; its command dies the same way; the other schedules' race is
/// a finding of its own.
#[test]
fn a_crash_in_some_schedules_is_a_finding_with_its_place() {
    let prog = Program::build("explore/use_before_init.c");
    let out = explore(
        "crash",
        &["-n", "12", "--jobs", "2", prog.path.to_str().unwrap()],
    );
    let text = out.stdout_text();
    assert_eq!(out.status.code(), Some(2), "{text}{}", out.stderr_text());
    let crash = "the program died of signal 11 (SIGSEGV)\n       at user (use_before_init.c:37)";
    assert!(text.contains(crash), "{text}");
    assert!(
        text.contains(
            "Possible data race during read of size 8\n       at user (use_before_init.c:37)\n       \
             conflicts with a write of size 8 by thread #2 at initialiser (use_before_init.c:30)"
        ),
        "{text}"
    );
    let crashes = runs_showing(&text, crash);
    assert!(0 < crashes && crashes < 12, "{text}");
    let again = rerun(&reproduce_command(&text, crash));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(again.status.signal(), Some(11), "{}", again.stderr_text());
}

/// A race-free program: nothing found in any schedule, exit status 0;
/// `--until-found` and bad usage.
#[test]
fn correct_programs_find_nothing_and_bad_usage_is_one_line() {
    let prog = Program::build("races/work_queue_pool.c");
    let path = prog.path.to_str().unwrap();
    let out = explore("pool", &["-n", "4", "--jobs", "2", path]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stdout_text());
    assert!(
        out.stdout_text().ends_with("no run found anything\n"),
        "{}",
        out.stdout_text()
    );

    let racy = Program::build("explore/use_before_init.c");
    let out = explore(
        "until",
        &["-n", "50", "--until-found", racy.path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let runs: u32 = out.stdout_text()["hbgrind explore: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        runs < 50,
        "--until-found ran {runs} runs:\n{}",
        out.stdout_text()
    );

    for (args, message) in [
        (
            &["-n", "3", "--sched-seed=4", path][..],
            "--sched-seed is chosen per run",
        ),
        (&["-n", "0", path], "-n and --jobs must be at least 1"),
        (&["--bogus", path], "explore: unknown option '--bogus'"),
    ] {
        let out = explore("usage", args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = out.stderr_text();
        assert!(
            err.contains(message) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}

const DEADLOCK: &str = "every thread waited forever on a futex (a deadlock)";

/// A deadlock that only some schedules reach is a finding (hbgrind saw
/// every thread wait forever, and the run was ended then); its seed
/// deadlocks again; the other schedules show the lock-order violation.
#[test]
fn a_deadlock_in_some_schedules_is_found_and_reproduced() {
    let prog = Program::build("explore/lock_order_deadlock.c");
    let path = prog.path.to_str().unwrap();
    let out = explore("deadlock", &["-n", "12", "--jobs", "2", path]);
    let text = out.stdout_text();
    assert_eq!(out.status.code(), Some(2), "{text}{}", out.stderr_text());
    let k = runs_showing(&text, DEADLOCK);
    assert!(0 < k && k < 12, "{text}");
    assert!(
        text.contains("lock order") && text.contains("at b_then_a (lock_order_deadlock.c:37)"),
        "{text}"
    );
    // The seed of the deadlock, from its reproduce line.
    let seed = reproduce_command(&text, DEADLOCK)[1]
        .strip_prefix("--sched-seed=")
        .unwrap()
        .to_string();
    let (again, dir) = explore_in("deadlock-again", &["-n", "1", "--first-seed", &seed, path]);
    assert!(
        again.stdout_text().contains(DEADLOCK),
        "{}",
        again.stdout_text()
    );
    // The run's report names every thread and where it waits.
    let log = dir.join(format!("seed-{seed}.log"));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("All 3 threads wait on futexes with no timeout, and none was woken for 2 s"),
        "{log}"
    );
    for (thread, function) in [(1, "main"), (2, "a_then_b"), (3, "b_then_a")] {
        let at = log
            .find(&format!("Thread #{thread} waits on the futex at 0x"))
            .unwrap_or_else(|| panic!("thread {thread} in\n{log}"));
        let block: Vec<&str> = log[at..]
            .lines()
            .skip(1)
            .take_while(|l| l.contains(" 0x"))
            .collect();
        let block = block.join("\n");
        assert!(
            block.contains(&format!("{function} (lock_order_deadlock.c:")),
            "{block}"
        );
    }
}
