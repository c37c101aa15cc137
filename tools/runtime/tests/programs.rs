//! Hand-written programs for the hard parts of the translator (RIP-relative
//! data, jump tables, tail calls, indirect calls, deep recursion,
//! setjmp/longjmp, C++ exceptions, the red zone, rep movs/stos with DF set,
//! cpuid/rdtsc/xgetbv, AVX2, AVX-512, fork and system(), int3/ud2/hlt) and a
//! few real programs, each run natively and under the runtime with stdout
//! and exit status compared.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn runtime() -> PathBuf {
    // target/<profile>/deps/programs-HASH -> target/<profile>/libhbgrind_rt.so
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let so = dir.join("libhbgrind_rt.so");
    assert!(
        so.exists(),
        "{} is missing: cargo builds it with the crate's tests",
        so.display()
    );
    so
}

fn build(src: &str, out: &str) -> PathBuf {
    build_with(src, out, &[])
}

fn build_with(src: &str, out: &str, flags: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hbgrind-rt-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let exe = dir.join(out);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(src);
    let cc = if src.extension().is_some_and(|e| e == "cpp") {
        "c++"
    } else {
        "cc"
    };
    let st = Command::new(cc)
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(flags)
        .status()
        .expect("run cc");
    assert!(st.success(), "{cc} failed on {}", src.display());
    exe
}

fn run(prog: &Path, args: &[&str], tool: Option<&str>) -> Output {
    let mut c = Command::new(prog);
    c.args(args);
    if let Some(tool) = tool {
        c.env("LD_PRELOAD", runtime())
            .env("HBGRIND_OPTIONS", format!("--tool={tool}"));
    }
    c.output().expect("run program")
}

fn status(o: &Output) -> (Option<i32>, Option<i32>) {
    (o.status.code(), o.status.signal())
}

/// Runs natively and under `tool`; stdout and exit status must match.
fn check_same(prog: &Path, args: &[&str], tool: &str) -> Output {
    let native = run(prog, args, None);
    let under = run(prog, args, Some(tool));
    assert_eq!(
        (String::from_utf8_lossy(&under.stdout), status(&under)),
        (String::from_utf8_lossy(&native.stdout), status(&native)),
        "{} {args:?} under --tool={tool}; stderr: {}",
        prog.display(),
        String::from_utf8_lossy(&under.stderr)
    );
    under
}

const CASES: &[&str] = &[
    "control",
    "setjmp",
    "strings",
    "cpu",
    "avx2",
    "avx512",
    "fork",
    "segv",
    "backtrace",
    "int3",
    "ud2",
    "hlt",
    "exit3",
];

#[test]
fn hard_cases_run_as_natively() {
    let hard = build("hard.c", "hard");
    for case in CASES {
        check_same(&hard, &[case], "none");
        check_same(&hard, &[case], "inscount");
    }
}

#[test]
fn cxx_exceptions_unwind_through_translated_frames() {
    let exc = build("exceptions.cpp", "exceptions");
    check_same(&exc, &[], "none");
}

#[test]
fn threads_run_under_the_big_lock() {
    let thr = build_with("threads.c", "threads", &["-pthread"]);
    check_same(&thr, &[], "none");
    let under = check_same(&thr, &[], "inscount");
    let err = String::from_utf8_lossy(&under.stderr);
    assert!(
        !err.contains("warning"),
        "no rseq or other warning for glibc's own threads: {err}"
    );
    let hard = build("hard.c", "hard-thread");
    check_same(&hard, &["thread"], "none");
}

#[test]
fn inscount_reports_counts() {
    let under = check_same(Path::new("/bin/ls"), &["-la", "/usr/bin"], "inscount");
    let err = String::from_utf8_lossy(&under.stderr);
    let count = |what: &str| -> u64 {
        err.lines()
            .find_map(|l| {
                l.split_once(&format!("== {what}: "))
                    .map(|(_, n)| n.trim().parse().expect("a count"))
            })
            .unwrap_or_else(|| panic!("no '{what}' line in: {err}"))
    };
    assert!(count("guest instructions") > 1_000_000);
    assert!(count("memory accesses") > 100_000);
}

#[test]
fn real_programs_run_as_natively() {
    let data = std::env::temp_dir().join(format!("hbgrind-rt-data-{}", std::process::id()));
    let bytes: Vec<u8> = (0..4_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&data, bytes).expect("write data");
    let d = data.to_str().expect("utf-8 path");
    check_same(Path::new("/usr/bin/sha256sum"), &[d], "none");
    check_same(
        Path::new("/usr/bin/sort"),
        &["--parallel=1", "/etc/services"],
        "none",
    );
    check_same(
        Path::new("/bin/sh"),
        &["-c", "for i in 1 2 3; do (echo $i); done | wc -l"],
        "none",
    );
    if Path::new("/usr/bin/python3").exists() {
        let script = "import json, re, hashlib\nclass A:\n  def f(s, x): return x * 2\n\
                      d = {str(i): A().f(i) for i in range(2000)}\ns = json.dumps(d)\n\
                      try:\n  raise KeyError(1)\nexcept KeyError:\n  pass\n\
                      print(hashlib.sha256(s.encode()).hexdigest(), len(re.findall('1', s)))";
        check_same(Path::new("/usr/bin/python3"), &["-c", script], "none");
    }
    let _ = std::fs::remove_file(&data);
}

#[test]
fn inscount_is_exact() {
    let hard = build("hard.c", "hard-loop");
    let count = |n: &str| -> u64 {
        let o = run(&hard, &["loop", n], Some("inscount"));
        let err = String::from_utf8_lossy(&o.stderr);
        err.lines()
            .find_map(|l| {
                l.split_once("== guest instructions: ")
                    .map(|(_, n)| n.trim().parse().expect("a count"))
            })
            .unwrap_or_else(|| panic!("no count in: {err}"))
    };
    // Same program, same path; only the loop trip count differs (3 instructions per trip).
    assert_eq!(count("2000") - count("1000"), 3000);
}

#[test]
fn a_guest_using_gs_is_refused() {
    let hard = build("hard.c", "hard-gs");
    let native = run(&hard, &["gs"], None);
    assert_eq!(String::from_utf8_lossy(&native.stdout), "gs 42\n");
    let under = run(&hard, &["gs"], Some("none"));
    assert_eq!(status(&under), (Some(1), None));
    let err = String::from_utf8_lossy(&under.stderr);
    assert!(err.contains("hbgrind needs GS for itself"), "stderr: {err}");
}

#[test]
fn untraced_children_lose_the_runtime_and_traced_ones_keep_it() {
    let sh = Path::new("/bin/sh");
    let script = "echo $LD_PRELOAD | grep -c libhbgrind_rt";
    // Untraced (the default): the child shell's environment no longer names us.
    let o = run(sh, &["-c", &format!("sh -c '{script}'")], Some("none"));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "0\n");
    let mut c = Command::new(sh);
    c.args(["-c", &format!("sh -c '{script}'")])
        .env("LD_PRELOAD", runtime())
        .env("HBGRIND_OPTIONS", "--tool=none\x1f--trace-children=yes");
    let o = c.output().expect("run sh");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "1\n");
}

#[test]
fn signal_handlers_run_translated_and_return() {
    // Timer signals ending a spin loop, SA_SIGINFO, masks, deferred delivery,
    // SIGSEGV/SIGFPE left with siglongjmp, SIGCHLD, SA_RESETHAND.
    let sig = build("signals.c", "signals");
    check_same(&sig, &[], "none");
    check_same(&sig, &[], "inscount");
}

#[test]
fn a_fatal_fault_still_writes_the_report_and_kills_with_the_same_signal() {
    let hard = build("hard.c", "hard-fatal");
    for (case, sig) in [("hlt", 11), ("ud2", 4), ("int3", 5)] {
        let under = check_same(&hard, &[case], "inscount");
        assert_eq!(status(&under), (None, Some(sig)));
        let err = String::from_utf8_lossy(&under.stderr);
        assert!(
            err.contains("guest instructions: "),
            "{case}: stderr: {err}"
        );
    }
}

#[test]
fn self_modifying_code_is_retranslated() {
    let smc = build("smc.c", "smc");
    check_same(&smc, &[], "none");
    check_same(&smc, &[], "inscount");
}

#[test]
fn smc_check_chooses_which_code_is_checked() {
    let smc = build("smc.c", "smc-modes");
    let native = String::from_utf8_lossy(&run(&smc, &[], None).stdout).into_owned();
    let with = |mode: &str| {
        let o = Command::new(&smc)
            .env("LD_PRELOAD", runtime())
            .env(
                "HBGRIND_OPTIONS",
                format!("--tool=none\x1f--smc-check={mode}"),
            )
            .output()
            .expect("run program");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(with("all"), native);
    assert_eq!(with("all-non-file"), native);
    // The code rewritten in place in an RWX page (not a stack) runs stale
    // without checks; the W^X dual mapping is remapped, which we see.
    for unchecked in ["none", "stack"] {
        let out = with(unchecked);
        assert_ne!(out, native, "--smc-check={unchecked} runs the stale code");
        assert_eq!(
            out.lines().nth(1),
            native.lines().nth(1),
            "--smc-check={unchecked}"
        );
    }
}

#[test]
fn the_report_survives_a_guest_closing_all_descriptors() {
    let hard = build("hard.c", "hard-closeall");
    let under = check_same(&hard, &["closeall"], "inscount");
    let err = String::from_utf8_lossy(&under.stderr);
    assert!(err.contains("guest instructions: "), "stderr: {err}");
}

#[test]
fn a_stack_overflow_is_caught_on_the_guests_alternate_stack() {
    let prog = build("overflow.c", "overflow");
    let under = check_same(&prog, &[], "none");
    assert_eq!(
        String::from_utf8_lossy(&under.stdout),
        "caught 11 on the alternate stack: 1\n"
    );
}

#[test]
fn a_thread_spinning_on_memory_is_preempted() {
    let spin = build_with("spin.c", "spin", &["-pthread"]);
    check_same(&spin, &[], "none");
    check_same(&spin, &[], "inscount");
}

#[test]
fn fork_and_system_from_a_threaded_program() {
    let prog = build_with("thread_fork.c", "thread_fork", &["-pthread"]);
    check_same(&prog, &[], "none");
}

#[test]
fn forks_while_threads_start_and_end() {
    let prog = build_with("fork_storm.c", "fork_storm", &["-pthread"]);
    let under = check_same(&prog, &[], "none");
    assert_eq!(String::from_utf8_lossy(&under.stdout), "children 200\n");
}

#[test]
fn threads_that_ended_give_their_memory_back() {
    let prog = build_with("thread_churn.c", "thread_churn", &["-pthread"]);
    for tool in ["none", "race"] {
        let under = check_same(&prog, &[], tool);
        assert_eq!(
            String::from_utf8_lossy(&under.stdout),
            "3000 threads: mappings and memory bounded\n",
            "{tool}"
        );
    }
}

#[test]
fn a_signal_sent_to_one_thread_runs_in_that_thread() {
    let prog = build_with("thread_signals.c", "thread_signals", &["-pthread"]);
    let under = check_same(&prog, &[], "none");
    assert_eq!(
        String::from_utf8_lossy(&under.stdout),
        "got 0 0 1\ncancelled 1\n"
    );
}

#[test]
fn a_seeded_schedule_repeats_and_another_seed_changes_it() {
    let prog = build_with("interleave.c", "interleave", &["-pthread"]);
    let log = |seed: &str| {
        let o = Command::new(&prog)
            .env("LD_PRELOAD", runtime())
            .env(
                "HBGRIND_OPTIONS",
                format!("--tool=none\x1f--sched-seed={seed}"),
            )
            .output()
            .expect("run program");
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let first = log("7");
    let switches: u32 = first
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a switch count");
    assert!(
        switches > 10,
        "threads switch every few thousand blocks: {first}"
    );
    for _ in 0..3 {
        assert_eq!(log("7"), first, "seed 7 again");
    }
    assert_ne!(log("8"), first, "seed 8 switches elsewhere");
}

#[test]
fn thread_storms_and_a_timer_storm() {
    let prog = build_with("thread_storm.c", "thread_storm", &["-pthread"]);
    let out = check_same(&prog, &[], "none");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("created 6400 threads, total 201600, joined 201600"),
        "{text}"
    );
    assert!(text.contains("alarms many"), "{text}");
}
