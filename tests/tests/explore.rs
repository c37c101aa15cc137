//! `hbgrind explore` (issue 12): many seeded schedules of one program, the
//! distinct findings with how many runs showed each, and a command that
//! reproduces one; PCT (`--sched=pct`) at a bug's depth and below it;
//! repeatable seeds; recorded schedules replayed switch for switch, and
//! replays that diverge. The programs (`tests/programs/explore/`, ten) have
//! bugs that only some schedules show and the default schedule never does:
//! order violations (a race only when the consumer's critical section
//! comes first; a use before initialisation, a crash or a race), atomicity
//! violations (check-then-act, lost update, torn pair, publication before
//! initialisation, a hand-off seen by a spin wait), interleavings of depth
//! 2 and 3, a lock-order deadlock and a missed wake-up.

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
        (
            &["--pct-depth=2", path],
            "explore: --pct-depth and --pct-steps need --sched=pct",
        ),
        (
            &["--sched-record=x", path],
            "explore: --sched-record is for one run",
        ),
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

/// A bug that only some schedules show (issue 12, "How we will know"):
/// the default schedule runs `program` cleanly; `explore -n 50` finds
/// exactly one finding, `finding`; its printed command shows it again.
/// Returns explore's output.
///
/// The default schedule is not a function of anything the test controls
/// (which child's kernel thread asks for the big lock first, and when a
/// 10 ms CPU-time slice ends, differ between runs): on a loaded machine a
/// switch can land in a bug's window. So "shows nothing" means two of at
/// most three default runs are clean (the full suite saw one such run in
/// about a hundred).
fn found_in_50_and_reproduced(program: &str, default_stdout: &str, finding: &str) -> String {
    let prog = Program::build(&format!("explore/{program}.c"));
    let path = prog.path.to_str().unwrap();
    let mut clean = 0;
    let mut shown = Vec::new();
    for _ in 0..3 {
        let default = prog.command().under_hbgrind(&[]);
        if (default.stdout_text().as_str(), default.status.code()) == (default_stdout, Some(0))
            && default
                .stderr_text()
                .contains("ERROR SUMMARY: 0 errors from 0 contexts")
        {
            clean += 1;
            if clean == 2 {
                break;
            }
        } else {
            shown.push(default.stderr_text());
        }
    }
    assert_eq!(
        clean,
        2,
        "the default schedule should show nothing:\n{}",
        shown.join("\n")
    );
    let out = explore(program, &["-n", "50", "--jobs", "2", path]);
    let text = out.stdout_text();
    assert_eq!(out.status.code(), Some(2), "{text}{}", out.stderr_text());
    assert!(text.contains("1 distinct finding:"), "{text}");
    assert!(text.contains(finding), "{text}");
    let k = runs_showing(&text, finding);
    assert!(0 < k && k < 50, "{k} of 50\n{text}");
    reproduces(&text, finding, path);
    text
}

/// The finding's `reproduce:` command shows it again: the same signal at
/// the same place, or (for a deadlock, whose run would wait forever) the
/// same deadlock found by a one-run explore with its seed.
fn reproduces(text: &str, finding: &str, path: &str) {
    let command = reproduce_command(text, finding);
    if finding.starts_with(DEADLOCK) {
        let seed = command[1].strip_prefix("--sched-seed=").unwrap();
        let mut args = vec!["-n", "1", "--first-seed", seed];
        args.extend(
            command[2..]
                .iter()
                .map(|a| a.as_str())
                .filter(|a| *a != path),
        );
        args.push(path);
        let again = explore("again", &args);
        assert!(
            again.stdout_text().contains(finding),
            "{}",
            again.stdout_text()
        );
        return;
    }
    let again = Run::new(hbgrind())
        .args(&command[1..command.len() - 1])
        .arg(path)
        .native();
    let (signal, place) = finding
        .strip_prefix("the program died of signal ")
        .and_then(|f| f.split_once(' '))
        .map(|(n, rest)| (n.parse::<i32>().unwrap(), rest.split("at ").nth(1).unwrap()))
        .expect("a signal finding");
    use std::os::unix::process::ExitStatusExt;
    let report = again.stderr_text();
    assert_eq!(again.status.signal(), Some(signal), "{command:?}\n{report}");
    assert!(
        report.contains(place),
        "{command:?} died elsewhere:\n{report}"
    );
}

const SIGABRT: &str = "the program died of signal 6 (SIGABRT)\n       at ";

#[test]
fn a_check_then_act_on_a_shared_flag_is_found() {
    found_in_50_and_reproduced(
        "check_then_act",
        "done\n",
        &format!("{SIGABRT}main (check_then_act.c:48)"),
    );
}

#[test]
fn a_lost_update_between_load_and_store_is_found() {
    found_in_50_and_reproduced(
        "lost_update",
        "done\n",
        &format!("{SIGABRT}main (lost_update.c:43)"),
    );
}

#[test]
fn a_torn_pair_is_found() {
    found_in_50_and_reproduced(
        "torn_pair",
        "done\n",
        &format!("{SIGABRT}check (torn_pair.c:41)"),
    );
}

#[test]
fn an_interleaving_of_depth_three_is_found() {
    found_in_50_and_reproduced("depth3", "done\n", &format!("{SIGABRT}main (depth3.c:57)"));
}

#[test]
fn an_object_published_before_its_initialisation_is_found() {
    found_in_50_and_reproduced(
        "publish_before_init",
        "100\n",
        "the program died of signal 8 (SIGFPE)\n       at user (publish_before_init.c:50)",
    );
}

#[test]
fn a_hand_off_seen_by_a_spin_wait_is_found() {
    found_in_50_and_reproduced(
        "spin_handoff",
        "done\n",
        &format!("{SIGABRT}consumer (spin_handoff.c:38)"),
    );
}

#[test]
fn a_missed_wake_up_is_found_as_a_deadlock() {
    found_in_50_and_reproduced("missed_wakeup", "done\n", DEADLOCK);
}

/// PCT (`--sched=pct`, papers/schedules.md): a bug that needs one forced
/// switch is never found with depth 1 (no change point: each thread runs
/// until it blocks) and is found with depth 2; one that needs two is
/// never found with depth 2 and is found with depth 3. Each found one's
/// command, which names the policy, reproduces it.
#[test]
fn pct_finds_a_bug_at_its_depth_and_not_below() {
    for (program, needs, finding) in [
        ("torn_pair", 2, format!("{SIGABRT}check (torn_pair.c:41)")),
        ("depth3", 3, format!("{SIGABRT}main (depth3.c:57)")),
    ] {
        let prog = Program::build(&format!("explore/{program}.c"));
        let path = prog.path.to_str().unwrap();
        let below = format!("--pct-depth={}", needs - 1);
        let out = explore(
            program,
            &["-n", "50", "-j", "2", "--sched=pct", &below, path],
        );
        assert_eq!(
            out.stdout_text().lines().nth(1),
            Some("no run found anything"),
            "{program} with {below}:\n{}",
            out.stdout_text()
        );
        let depth = format!("--pct-depth={needs}");
        let out = explore(
            program,
            &["-n", "50", "-j", "2", "--sched=pct", &depth, path],
        );
        let text = out.stdout_text();
        assert!(
            text.starts_with("hbgrind explore: 50 runs (--sched=pct, --sched-seed=1..50);"),
            "{text}"
        );
        assert!(text.contains(&finding), "{program} with {depth}:\n{text}");
        let command = reproduce_command(&text, &finding);
        assert_eq!(
            command[2..4],
            ["--sched=pct", depth.as_str()],
            "{command:?}"
        );
        reproduces(&text, &finding, path);
    }
}

/// A report with what changes from run to run taken out: pids and addresses.
fn normalised(report: &str) -> String {
    let mut out = String::new();
    for line in report.lines() {
        let line = match line.strip_prefix("==") {
            Some(rest) => rest.split_once("== ").map_or(rest, |(_, l)| l),
            None => line,
        };
        let mut words = Vec::new();
        for w in line.split(' ') {
            words.push(if w.starts_with("0x") { "0x…" } else { w });
        }
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

/// Same seed, same run: five runs of each program with one schedule give
/// the same report, output and status. (Not the same recorded schedule:
/// when main comes back from its join's futex wait depends on the kernel,
/// which a replay pins down; see the next test.)
#[test]
fn a_seed_repeats_its_run_five_times() {
    let mut firsts = Vec::new();
    for (program, options) in [
        ("order_violation", &["--sched-seed=3"][..]),
        ("order_violation", &["--sched-seed=5"][..]),
        ("lost_update", &["--sched-seed=4"][..]),
        (
            "torn_pair",
            &["--sched=pct", "--sched-seed=12", "--pct-depth=2"][..],
        ),
        (
            "depth3",
            &["--sched=pct", "--sched-seed=6", "--pct-depth=3"][..],
        ),
    ] {
        let prog = Program::build(&format!("explore/{program}.c"));
        let mut first: Option<(String, String, String)> = None;
        for i in 0..5 {
            let out = prog.command().under_hbgrind(options);
            let this = (
                normalised(&out.stderr_text()),
                out.stdout_text(),
                out.status_text(),
            );
            match &first {
                None => first = Some(this),
                Some(f) => assert_eq!(f, &this, "{program} {options:?}: run {i} differs"),
            }
        }
        firsts.push(first);
    }
    // Not one run five times: seed 3 has no race, seed 5 has.
    assert_ne!(firsts[0], firsts[1]);
}

/// A recorded schedule replays: the replay's own recording is the same
/// file (every switch and slice), and the run ends the same way. With
/// seeded slices and with PCT.
#[test]
fn a_recorded_schedule_replays_switch_for_switch() {
    for (program, options) in [
        ("order_violation", &["--sched-seed=5"][..]),
        ("use_before_init", &["--sched-seed=2"][..]),
        (
            "torn_pair",
            &["--sched=pct", "--sched-seed=12", "--pct-depth=2"][..],
        ),
    ] {
        let prog = Program::build(&format!("explore/{program}.c"));
        let dir = scratch_dir(&format!("replay-{program}"));
        let (recorded, replayed) = (dir.join("recorded"), dir.join("replayed"));
        let mut opts: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        opts.push(format!("--sched-record={}", recorded.display()));
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let original = prog.command().under_hbgrind(&opts);
        let replay = prog.command().under_hbgrind(&[
            &format!("--sched-replay={}", recorded.display()),
            &format!("--sched-record={}", replayed.display()),
        ]);
        let trace = std::fs::read_to_string(&recorded).unwrap();
        assert!(
            trace.lines().filter(|l| l.starts_with("g ")).count() > 2,
            "{trace}"
        );
        assert_eq!(
            trace,
            std::fs::read_to_string(&replayed).unwrap(),
            "{program}"
        );
        assert!(
            !replay.stderr_text().contains("diverged"),
            "{}",
            replay.stderr_text()
        );
        assert_eq!(
            (
                normalised(&original.stderr_text())
                    .lines()
                    .filter(|l| !l.starts_with("Schedule:"))
                    .collect::<Vec<_>>(),
                original.stdout_text(),
                original.status_text()
            ),
            (
                normalised(&replay.stderr_text())
                    .lines()
                    .filter(|l| !l.starts_with("Schedule:"))
                    .collect::<Vec<_>>(),
                replay.stdout_text(),
                replay.status_text()
            ),
            "{program}"
        );
    }
}

/// A replay that cannot be followed says where, in one line, and the run
/// goes on with the recording's seed (never a hang); a bad file is a
/// one-line error before the program runs.
#[test]
fn a_divergent_replay_warns_with_its_step_and_a_bad_file_is_one_line() {
    let prog = Program::build("explore/order_violation.c");
    let dir = scratch_dir("replay-diverge");
    let recorded = dir.join("recorded");
    let out = prog.command().under_hbgrind(&[
        "--sched-seed=5",
        &format!("--sched-record={}", recorded.display()),
    ]);
    assert_eq!(out.stdout_text(), "done\n");
    let trace = std::fs::read_to_string(&recorded).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    // A thread the program never has, at the third grant.
    let at = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("g "))
        .nth(2)
        .unwrap()
        .0;
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[at] = "g 9".into();
    let bad_thread = dir.join("bad-thread");
    std::fs::write(&bad_thread, edited.join("\n") + "\n").unwrap();
    // Main first when it sits in pthread_join until thread 2 ends: the
    // replay waits for it, then gives up rather than hang.
    let first_2 = lines.iter().position(|l| *l == "g 2").unwrap();
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[first_2] = "g 1".into();
    let main_first = dir.join("main-first");
    std::fs::write(&main_first, edited.join("\n") + "\n").unwrap();
    // The recording cut short.
    let short = dir.join("short");
    std::fs::write(&short, lines[..lines.len() / 2].join("\n") + "\n").unwrap();
    for (file, line, what) in [
        (
            &bad_thread,
            at + 1,
            "thread 9 runs next, but the program has no such thread".to_string(),
        ),
        (
            &short,
            lines.len() / 2 + 1,
            "the recording ends".to_string(),
        ),
        (
            &main_first,
            first_2 + 1,
            "thread 1 runs next, but it did not ask for its turn within 2 s".to_string(),
        ),
    ] {
        let out = prog
            .command()
            .under_hbgrind(&[&format!("--sched-replay={}", file.display())]);
        assert_eq!(out.stdout_text(), "done\n", "{}", out.stderr_text());
        let warnings: Vec<String> = out
            .stderr_text()
            .lines()
            .filter(|l| l.contains("warning: --sched-replay"))
            .map(|l| l.split_once("== ").unwrap().1.to_string())
            .collect();
        assert_eq!(
            warnings,
            [format!(
                "hbgrind: warning: --sched-replay={}: the run diverged from the recorded schedule at step {} (line {line}: {what}); going on with --sched-seed=5",
                file.display(),
                line - 1
            )]
        );
    }

    let junk = dir.join("junk");
    std::fs::write(&junk, "hbgrind-schedule 1 seeded seed=5\ng 1\ng two\n").unwrap();
    let missing = dir.join("missing");
    for (options, message) in [
        (
            vec![format!("--sched-replay={}", junk.display())],
            format!(
                "hbgrind: --sched-replay={}:3: 'g two' is not 'g THREAD' or 's THREAD BLOCKS'; the file must be one written by --sched-record",
                junk.display()
            ),
        ),
        (
            vec![format!("--sched-replay={}", missing.display())],
            format!(
                "hbgrind: --sched-replay={}: cannot read it (no such file)",
                missing.display()
            ),
        ),
        (
            vec![format!("--sched-record={}", dir.join("r").display())],
            "hbgrind: --sched-record needs --sched-seed=N or --sched-replay=FILE (switches made by a CPU-time timer cannot be replayed)".to_string(),
        ),
        (
            vec!["--sched-seed=1".to_string(), "--pct-depth=2".to_string()],
            "hbgrind: --pct-depth and --pct-steps need --sched=pct".to_string(),
        ),
        (
            vec!["--sched=pct".to_string()],
            "hbgrind: --sched=pct needs --sched-seed=N (the seed draws the priorities and change points)".to_string(),
        ),
    ] {
        let opts: Vec<&str> = options.iter().map(String::as_str).collect();
        let out = prog.command().under_hbgrind(&opts);
        assert_eq!(out.status.code(), Some(1), "{options:?}");
        assert_eq!(out.stdout_text(), "", "{options:?}");
        assert_eq!(out.stderr_text(), format!("{message}\n"), "{options:?}");
    }
}

/// Under PCT a thread that spins (no syscall, no yield) waiting for a
/// lower-priority one, or that blocks in a futex wait, still lets the
/// others run: every run ends (no run is killed at `--timeout`), the
/// spinning hand-off shows only its own bug, and a correct program with
/// condition variables finds nothing.
#[test]
fn pct_lets_spinning_and_blocked_threads_progress() {
    let spin = Program::build("explore/spin_handoff.c");
    let out = explore(
        "pct-spin",
        &[
            "-n",
            "20",
            "-j",
            "2",
            "--timeout",
            "120",
            "--sched=pct",
            spin.path.to_str().unwrap(),
        ],
    );
    let text = out.stdout_text();
    assert!(text.contains("1 distinct finding:"), "{text}");
    assert!(
        text.contains(&format!("{SIGABRT}consumer (spin_handoff.c:38)")),
        "{text}"
    );
    // Seed 1 gives the consumer the higher priority and depth 1 no change
    // point: only dropping the spinner below the producer ends the spin.
    let out = spin.command().under_hbgrind(&[
        "--tool=none",
        "--sched=pct",
        "--pct-depth=1",
        "--sched-seed=1",
        "--trace=dbi::sched=debug",
    ]);
    assert_eq!(
        (out.stdout_text().as_str(), out.status.code()),
        ("done\n", Some(0))
    );
    assert!(
        out.stderr_text()
            .contains("pct: starving the others thread=3 priority=-1"),
        "{}",
        out.stderr_text()
    );
    let pool = Program::build("races/work_queue_pool.c");
    let out = explore(
        "pct-pool",
        &[
            "-n",
            "10",
            "-j",
            "2",
            "--timeout",
            "120",
            "--sched=pct",
            pool.path.to_str().unwrap(),
        ],
    );
    assert!(
        out.stdout_text().ends_with("no run found anything\n"),
        "{}",
        out.stdout_text()
    );
}
