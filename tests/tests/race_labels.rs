//! The labelled race programs of `tests/programs/races/`, checked against a
//! peer before hbgrind's race tool exists: every program is compiled with
//! `-fsanitize=thread`, run natively and under ThreadSanitizer, and TSan's
//! findings must equal the program's labels exactly (or its `tsan-expect`
//! override); extra and missing findings both fail. See `labels.rs` for the
//! label syntax and conventions.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hbgrind_tests::labels::{
    describe_difference, parse_labels, parse_tsan, Access, AccessKind, Finding, Findings, Loc,
    Misuse,
};
use hbgrind_tests::races::{build_flags, labels_of, race_programs};
use hbgrind_tests::{profile_dir, program_source, scratch_dir, Output, Program, Run};

/// The options the labels are validated with: keep going after the first
/// report, exit 0 whatever was reported, and print both stacks of each
/// lock-order edge (so the held lock's acquisition is known).
const TSAN_OPTIONS: &str =
    "halt_on_error=0 report_signal_unsafe=0 history_size=7 exitcode=0 second_deadlock_stack=1";

/// Compiles `races/NAME` through `Program::build_with`, whose cache key
/// keeps the `races/` prefix: the cache needs that subdirectory.
fn build(name: &str, extra: &[&str]) -> Program {
    let cache = profile_dir()
        .join("hbgrind-tests")
        .join("cache")
        .join("races");
    std::fs::create_dir_all(&cache).expect("cache dir creatable");
    Program::build_with(&format!("races/{name}"), extra)
}

/// Why TSan cannot be used on this machine, if it cannot: a program built
/// with `cc -fsanitize=thread` must link and run.
fn tsan_unavailable() -> Option<String> {
    let dir = scratch_dir("race_labels_tsan_probe");
    let source = dir.join("probe.c");
    std::fs::write(
        &source,
        "#include <pthread.h>\nstatic void *f(void *a) { return a; }\n\
         int main(void) { pthread_t t; pthread_create(&t, 0, f, 0); \
         return pthread_join(t, 0); }\n",
    )
    .expect("probe source writable");
    let binary: PathBuf = dir.join("probe");
    let compiled = std::process::Command::new("cc")
        .args(["-g", "-O1", "-pthread", "-fsanitize=thread"])
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output();
    match compiled {
        Err(err) => return Some(format!("cannot run cc: {err}")),
        Ok(out) if !out.status.success() => {
            return Some(format!(
                "cc -fsanitize=thread cannot build a program here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
        Ok(_) => {}
    }
    let ran = Run::new(&binary).env("TSAN_OPTIONS", TSAN_OPTIONS).native();
    if !ran.status.success() {
        return Some(format!(
            "a -fsanitize=thread program does not run here ({}): {}",
            ran.status_text(),
            ran.stderr_text().trim()
        ));
    }
    None
}

/// Everything wrong with one program, empty when it agrees with TSan.
fn check_program(name: &str) -> Vec<String> {
    let labels = labels_of(name);
    let flags = build_flags(name);
    let mut flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let native_run = Run::new(build(name, &flags).path).native();
    flags.push("-fsanitize=thread");
    let tsan_run = Run::new(build(name, &flags).path)
        .env("TSAN_OPTIONS", TSAN_OPTIONS)
        .native();
    let mut problems = Vec::new();
    if !native_run.status.success() {
        problems.push(format!("native run: {}", native_run.status_text()));
    }
    if !tsan_run.status.success() {
        problems.push(format!("TSan run: {}", tsan_run.status_text()));
    }
    if tsan_run.stdout != native_run.stdout {
        problems.push(format!(
            "stdout differs: native {:?}, TSan {:?}",
            native_run.stdout_text(),
            tsan_run.stdout_text()
        ));
    }
    match parse_tsan(name, &tsan_run.stderr_text()) {
        Err(err) => problems.push(format!("{err}\n{}", tsan_run.stderr_text())),
        Ok(found) => {
            let difference = describe_difference(labels.for_tsan(), &found);
            if !difference.is_empty() {
                problems.push(format!(
                    "TSan disagrees with the labels:\n{difference}{}",
                    tail(&tsan_run)
                ));
            }
        }
    }
    problems
}

fn tail(output: &Output) -> String {
    let text = output.stderr_text();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

#[test]
fn tsan_agrees_with_every_label() {
    if let Some(reason) = tsan_unavailable() {
        println!("skipped: {reason}");
        return;
    }
    let names = race_programs();
    // Two workers: the machine is shared, and each run is short.
    let (left, right) = names.split_at(names.len() / 2);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = [left, right]
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .flat_map(|name| {
                            // TSan misses some races through relaxed atomics
                            // in some interleavings (annotate_*.c, about one
                            // run in five here): a program gets three runs,
                            // and must agree in one of them.
                            let mut problems = check_program(name);
                            for _ in 0..2 {
                                if problems.is_empty() {
                                    break;
                                }
                                problems = check_program(name);
                            }
                            problems
                                .into_iter()
                                .map(move |problem| format!("{name}: {problem}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} problems:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_suite_is_large_and_mixed() {
    let names = race_programs();
    let mut racy = 0;
    let mut lock_orders = 0;
    let mut misuses = 0;
    let mut clean = 0;
    for name in &names {
        let path = program_source(&format!("races/{name}"));
        let source = std::fs::read_to_string(&path).expect("readable program");
        assert!(
            source.starts_with(&format!("/* {name}: ")),
            "{name} must open with a comment `/* {name}: what it tests`"
        );
        let lines = source.lines().count();
        assert!(
            (15..=80).contains(&lines),
            "{name} has {lines} lines; programs are small (at most 80)"
        );
        let labels = labels_of(name);
        let races = labels
            .expected
            .iter()
            .filter(|f| matches!(f, Finding::Race { .. }))
            .count();
        racy += usize::from(races > 0);
        lock_orders += labels
            .expected
            .iter()
            .filter(|f| matches!(f, Finding::LockOrder { .. }))
            .count();
        misuses += labels
            .expected
            .iter()
            .filter(|f| matches!(f, Finding::Misuse { .. }))
            .count();
        clean += usize::from(labels.expected.is_empty());
    }
    assert!(names.len() >= 50, "only {} programs", names.len());
    assert!(racy >= 20, "only {racy} racy programs");
    assert!(clean >= 25, "only {clean} race-free programs");
    assert!(lock_orders >= 3, "only {lock_orders} lock-order inversions");
    assert!(misuses >= 1, "no misuse program");
}

fn loc(line: u32) -> Loc {
    Loc {
        file: "p.c".into(),
        line,
    }
}

fn access(kind: AccessKind, size: u32, line: u32) -> Access {
    Access {
        kind,
        size,
        at: loc(line),
    }
}

const PROGRAM: &str = "/* p.c: test.\n * expect-race: write 4 p.c:5 / read 8 p.c:4 */\n\
                       int a;\nint b;\nint c;\nint main(void) { return 0; }\n";

#[test]
fn labels_parse_into_unordered_findings() {
    let labels = parse_labels("p.c", PROGRAM).unwrap();
    let expected = Findings::from([Finding::race(
        access(AccessKind::Read, 8, 4),
        access(AccessKind::Write, 4, 5),
    )]);
    assert_eq!(labels.expected, expected);
    assert_eq!(labels.tsan_override, None);
    assert_eq!(labels.for_tsan(), &expected);
    // The same race written the other way round is the same finding.
    let swapped = PROGRAM.replace(
        "write 4 p.c:5 / read 8 p.c:4",
        "read 8 p.c:4 / write 4 p.c:5",
    );
    assert_eq!(parse_labels("p.c", &swapped).unwrap(), labels);
}

#[test]
fn every_label_kind_and_the_tsan_override_parse() {
    let source = "/* p.c: all kinds.\n\
                  * expect-lockorder: p.c:7 / p.c:8\n\
                  * expect-misuse: unlock-unlocked p.c:9\n\
                  * tsan-expect: race write 1 p.c:7 / write 2 p.c:8\n\
                  * tsan-expect: misuse unlock-unlocked p.c:9 */\n\
                  w;\nx;\ny;\nz;\n";
    let labels = parse_labels("p.c", source).unwrap();
    assert_eq!(
        labels.expected,
        Findings::from([
            Finding::LockOrder {
                held: loc(7),
                closing: loc(8)
            },
            Finding::Misuse {
                what: Misuse::UnlockUnlocked,
                at: loc(9)
            },
        ])
    );
    assert_eq!(
        labels.for_tsan(),
        &Findings::from([
            Finding::race(
                access(AccessKind::Write, 1, 7),
                access(AccessKind::Write, 2, 8)
            ),
            Finding::Misuse {
                what: Misuse::UnlockUnlocked,
                at: loc(9)
            },
        ])
    );
    let built = parse_labels(
        "p.c",
        "/* p.c: x\n * hbgrind-options: --lock-model=a.model --futex-sync=no\n \
         * hbgrind-options: --lock-model=b.model\n * build-with: glib-2.0 */\nint a;\n",
    )
    .unwrap();
    assert_eq!(
        built.hbgrind_options,
        [
            "--lock-model=a.model",
            "--futex-sync=no",
            "--lock-model=b.model"
        ]
    );
    assert_eq!(built.build_with, ["glib-2.0"]);
    assert!(built.expected.is_empty() && built.tsan_override.is_none());
    let none = parse_labels("p.c", "/* p.c: x\n * tsan-expect: none */\nint a;\n").unwrap();
    assert_eq!(none.expected, Findings::new());
    assert_eq!(none.tsan_override, Some(Findings::new()));
    let known = parse_labels(
        "p.c",
        "/* p.c: x\n * expect-race: write 4 p.c:4 / write 4 p.c:4\n \
         * hbgrind-expect: none */\nint a;\n",
    )
    .unwrap();
    assert_eq!(known.hbgrind_override, Some(Findings::new()));
    assert_eq!(known.for_hbgrind(), &Findings::new());
    assert_eq!(known.for_tsan(), &known.expected);
    let twice = parse_labels(
        "p.c",
        "/* p.c: x\n * hbgrind-expect: none\n * hbgrind-expect: race write 4 p.c:4 / \
         write 4 p.c:4 */\nint a;\n",
    )
    .unwrap_err();
    assert_eq!(
        twice.to_string(),
        "p.c:2: `hbgrind-expect: none` must be the only hbgrind-expect"
    );
}

#[test]
fn malformed_labels_are_refused_with_their_line() {
    let cases = [
        (
            "expect-race: write 4 p.c:5",
            "expected `KIND SIZE FILE:LINE / KIND SIZE FILE:LINE`, found \"write 4 p.c:5\"",
        ),
        (
            "expect-race: modify 4 p.c:5 / read 4 p.c:4",
            "access kind must be read or write, not \"modify\"",
        ),
        (
            "expect-race: write four p.c:5 / read 4 p.c:4",
            "access size must be 1 to 64 bytes, not \"four\"",
        ),
        (
            "expect-race: write 4 q.c:5 / read 4 p.c:4",
            "\"q.c:5\" names file \"q.c\"; labels name the program's own file \"p.c\"",
        ),
        (
            "expect-race: write 4 p.c:99 / read 4 p.c:4",
            "\"p.c:99\" is not a line of code (p.c has 6 lines)",
        ),
        (
            "expect-race: write 4 p.c:1 / read 4 p.c:4",
            "\"p.c:1\" is not a line of code (p.c has 6 lines)",
        ),
        (
            "expect-race: write 4 p.c:x / read 4 p.c:4",
            "line number \"x\" in \"p.c:x\" is not a number",
        ),
        (
            "expect-lockorder: p.c:4",
            "expected `FILE:LINE / FILE:LINE`, found \"p.c:4\"",
        ),
        (
            "expect-misuse: double-unlock p.c:4",
            "unknown misuse \"double-unlock\"; known: unlock-unlocked",
        ),
        (
            "expect-races: write 4 p.c:5 / read 4 p.c:4",
            "unknown label \"expect-races:\"; labels are \
             expect-race: expect-lockorder: expect-misuse: tsan-expect: hbgrind-expect: \
             hbgrind-options: build-with:",
        ),
        (
            "hbgrind-options: lock-model=x.model",
            "hbgrind-options wants options like `--lock-model=FILE`, not \"lock-model=x.model\"",
        ),
        ("hbgrind-options:", "hbgrind-options names no option"),
        ("build-with:", "build-with names no pkg-config package"),
        (
            "tsan-expect: data race",
            "tsan-expect wants `race ...`, `lockorder ...`, `misuse ...` or `none`, \
             not \"data race\"",
        ),
    ];
    for (label, message) in cases {
        let source = PROGRAM.replace("expect-race: write 4 p.c:5 / read 8 p.c:4", label);
        let err = parse_labels("p.c", &source).unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, message),
            "label {label:?}"
        );
        assert_eq!(err.to_string(), format!("p.c:2: {message}"));
    }
    let twice = PROGRAM.replace(" */", "\n * expect-race: read 8 p.c:4 / write 4 p.c:5 */");
    let err = parse_labels("p.c", &twice).unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.c:3: duplicate label: race read 8 p.c:4 / write 4 p.c:5"
    );
}

/// Real TSan output (gcc 12, abridged addresses) for a race, a lock-order
/// inversion with second_deadlock_stack=1, and an unlock of an unlocked
/// mutex.
const TSAN_OUTPUT: &str = "\
==================
WARNING: ThreadSanitizer: data race (pid=17144)
  Write of size 8 at 0x55a89934f200 by thread T1:
    #0 memset ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:799 (libtsan.so.2+0x5cbc4)
    #1 memset ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:797 (libtsan.so.2+0x5cbc4)
    #2 f /tmp/exp/p.c:7 (p+0x11fa)

  Previous write of size 1 at 0x55a89934f204 by main thread:
    #0 main /tmp/exp/p.c:11 (p+0x1285)

  Location is global 'buf' of size 256 at 0x55a89934f1a0 (p+0x4200)

  Thread T1 (tid=17146, running) created by main thread at:
    #0 pthread_create ../../../../src/libsanitizer/tsan/tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)
    #1 main /tmp/exp/p.c:10 (p+0x1279)

SUMMARY: ThreadSanitizer: data race /tmp/exp/p.c:7 in f
==================
==================
WARNING: ThreadSanitizer: lock-order-inversion (potential deadlock) (pid=17034)
  Cycle in lock order graph: M0 (0x5651d60e4100) => M1 (0x5651d60e40c0) => M0

  Mutex M1 acquired here while holding mutex M0 in main thread:
    #0 pthread_mutex_lock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4324 (libtsan.so.2+0x558e1)
    #1 main /tmp/exp/p.c:9 (p+0x1209)

  Mutex M0 previously acquired by the same thread here:
    #0 pthread_mutex_lock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4324 (libtsan.so.2+0x558e1)
    #1 main /tmp/exp/p.c:8 (p+0x11f9)

  Mutex M0 acquired here while holding mutex M1 in main thread:
    #0 pthread_mutex_lock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4324 (libtsan.so.2+0x558e1)
    #1 main /tmp/exp/p.c:13 (p+0x1229)

  Mutex M1 previously acquired by the same thread here:
    #0 pthread_mutex_lock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4324 (libtsan.so.2+0x558e1)
    #1 main /tmp/exp/p.c:12 (p+0x1219)

SUMMARY: ThreadSanitizer: lock-order-inversion (potential deadlock) /tmp/exp/p.c:9 in main
==================
==================
WARNING: ThreadSanitizer: unlock of an unlocked mutex (or by a wrong thread) (pid=17034)
    #0 pthread_mutex_unlock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4338 (libtsan.so.2+0x439f1)
    #1 main /tmp/exp/p.c:16 (p+0x1241)

  Location is global 'b' of size 40 at 0x5651d60e40c0 (p+0x40c0)

  Mutex M1 (0x5651d60e40c0) created at:
    #0 pthread_mutex_lock ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:4324 (libtsan.so.2+0x558e1)
    #1 main /tmp/exp/p.c:9 (p+0x1209)

SUMMARY: ThreadSanitizer: unlock of an unlocked mutex (or by a wrong thread) /tmp/exp/p.c:16 in main
==================
ThreadSanitizer: reported 3 warnings
";

#[test]
fn tsan_reports_parse_into_findings() {
    let found = parse_tsan("p.c", TSAN_OUTPUT).unwrap();
    let expected = BTreeSet::from([
        Finding::race(
            access(AccessKind::Write, 8, 7),
            access(AccessKind::Write, 1, 11),
        ),
        Finding::LockOrder {
            held: loc(12),
            closing: loc(13),
        },
        Finding::Misuse {
            what: Misuse::UnlockUnlocked,
            at: loc(16),
        },
    ]);
    assert_eq!(
        found,
        expected,
        "{}",
        describe_difference(&expected, &found)
    );
    assert_eq!(parse_tsan("p.c", "hello\n").unwrap(), Findings::new());
}

#[test]
fn unknown_or_inconsistent_tsan_output_is_not_ignored() {
    let leak = "WARNING: ThreadSanitizer: thread leak (pid=5)\n  Thread T1 (tid=6, finished) created by main thread at:\n    #0 pthread_create x.cpp:1 (libtsan.so.2+0x1)\n    #1 main /src/p.c:20 (p+0x2)\n==================\nThreadSanitizer: reported 1 warnings\n";
    assert_eq!(
        parse_tsan("p.c", leak).unwrap(),
        Findings::from([Finding::Other {
            what: "thread leak".into(),
            at: Some(loc(20)),
        }])
    );
    let miscounted = TSAN_OUTPUT.replace("reported 3 warnings", "reported 4 warnings");
    assert_eq!(
        parse_tsan("p.c", &miscounted).unwrap_err(),
        "TSan announced 4 reports, 3 found in its output"
    );
    let one_stack = TSAN_OUTPUT.replace("previously acquired by the same thread", "(elided)");
    assert_eq!(
        parse_tsan("p.c", &one_stack).unwrap_err(),
        "TSan report 2 (lock-order-inversion (potential deadlock)): no `previously acquired` \
         stack: run TSan with second_deadlock_stack=1"
    );
    // A race inside a library only: no frame of the program.
    let foreign = TSAN_OUTPUT.replace("/tmp/exp/p.c:11", "/lib/other.c:11");
    assert!(parse_tsan("p.c", &foreign)
        .unwrap()
        .iter()
        .any(|f| f.to_string() == "race write 1 ?:0 / write 8 p.c:7"));
}
