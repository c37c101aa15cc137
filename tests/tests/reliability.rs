//! Faults and hostile guests (issue 16, items 3 to 6): a guest that
//! touches hbgrind's descriptors or mappings, robust mutexes, programs the
//! launcher must run or refuse like a shell, bad `--log-file` names and
//! suppression files. Each test runs the guest natively and under hbgrind
//! and compares what a user sees. C programs: `tests/programs/reliability/`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use hbgrind_tests::{assert_same, hbgrind, scratch_dir, Output, Program, Run};

fn build(name: &str) -> Program {
    Program::build(&format!("reliability/{name}"))
}

/// Runs `hbgrind ARGS...`.
fn hbgrind_with(args: &[&str]) -> Output {
    let mut run = Run::new(hbgrind());
    run.args = args.iter().map(Into::into).collect();
    run.native()
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Same stdout and exit status as natively, and not one report line.
fn assert_clean(native: &Output, hbgrind: &Output) {
    assert_eq!(
        (hbgrind.stdout_text(), hbgrind.status_text()),
        (native.stdout_text(), native.status_text()),
        "{}\n{}",
        hbgrind.command,
        hbgrind.stderr_text()
    );
    assert_eq!(hbgrind.stderr_text(), "", "{}", hbgrind.command);
}

// ---- item 6: the smaller defects ----

/// EOWNERDEAD hands the mutex over: making it consistent and unlocking it
/// is no "unlocked a not-locked lock" (lockmodels/models/pthread.model).
#[test]
fn robust_mutex_after_owner_death_unlocks_cleanly() {
    let run = build("robust_mutex.c").command();
    let native = run.native();
    assert!(native.stdout_text().contains("lock: EOWNERDEAD"));
    assert_clean(&native, &run.under_hbgrind(&["-q"]));
}

/// A file with neither ELF header nor `#!` runs with /bin/sh, as bash,
/// execvp and Valgrind run it; an empty file is an empty script.
#[test]
fn script_without_shebang_runs_with_bin_sh() {
    let dir = scratch_dir("reliability-no-shebang");
    let script = dir.join("plain");
    write_file(&script, b"echo \"sh says $0 $1\"\nexit 3\n", 0o755);
    // What execvp(3) does on ENOEXEC (std's Command does not).
    let native = Run::new("/bin/sh").arg(&script).arg("one").native();
    assert_eq!(native.status.code(), Some(3));
    let under = Run::new(&script)
        .arg("one")
        .under_hbgrind(&["-q", "--tool=none"]);
    assert_same(&native, &under);
    let empty = dir.join("empty");
    write_file(&empty, b"", 0o755);
    let under = Run::new(&empty).under_hbgrind(&["-q", "--tool=none"]);
    assert_eq!(
        (under.status.code(), under.stderr_text()),
        (Some(0), String::new())
    );
}

/// 127 for a program that is not there, 126 for one that cannot run, as
/// bash and Valgrind exit; 1 stays for a bad command line.
#[test]
fn launch_failures_exit_126_or_127() {
    let dir = scratch_dir("reliability-exit-codes");
    let missing = dir.join("missing");
    let plain = dir.join("plain-file");
    write_file(&plain, b"echo hi\n", 0o644);
    let bad_interp = dir.join("bad-interp");
    write_file(&bad_interp, b"#!/nonexistent/sh\necho hi\n", 0o755);
    let cases: [(&str, i32); 6] = [
        (missing.to_str().unwrap(), 127),
        ("hbgrind-test-no-such-command", 127),
        (plain.to_str().unwrap(), 126),
        (dir.to_str().unwrap(), 126),
        (bad_interp.to_str().unwrap(), 126),
        ("--no-such-option", 1),
    ];
    for (prog, code) in cases {
        let out = hbgrind_with(&[prog]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{prog}: {}",
            out.stderr_text()
        );
        assert_eq!(
            out.stderr_text().lines().count(),
            1,
            "{}",
            out.stderr_text()
        );
    }
    let out = hbgrind_with(&[bad_interp.to_str().unwrap()]);
    assert_eq!(
        out.stderr_text(),
        format!(
            "hbgrind: {}: bad interpreter /nonexistent/sh: no such file\n",
            bad_interp.display()
        )
    );
}

/// `--log-file`/`--xml-file` names Valgrind calls a bad option: one line,
/// exit 1, nothing run.
#[test]
fn bad_log_file_names_are_refused() {
    let cases = [
        (
            "--log-file=x.%q{HBGRIND_TEST_UNSET_VAR}",
            "environment variable 'HBGRIND_TEST_UNSET_VAR' is not set",
        ),
        ("--log-file=x.%z", "expected 'p' or 'q' or '%' after '%'"),
        ("--log-file=x.%", "expected 'p' or 'q' or '%' after '%'"),
        ("--log-file=x.%q{HOME", "missing '}' in %q specifier"),
        ("--log-file=x.%qHOME", "expected '{' after '%q'"),
        ("--xml-file=x.%y", "expected 'p' or 'q' or '%' after '%'"),
    ];
    for (option, reason) in cases {
        let out = hbgrind_with(&[option, "--xml=yes", "/bin/true"]);
        assert_eq!(
            out.stderr_text(),
            format!("hbgrind: bad option '{option}': {reason}; see hbgrind --help\n")
        );
        assert_eq!(out.status.code(), Some(1));
    }
    let dir = scratch_dir("reliability-log-names");
    let ok = format!("--log-file={}/x.%p.%q{{RUN}}.%%", dir.display());
    let mut run = Run::new(hbgrind()).args([&ok, "--tool=none", "/bin/true"]);
    run = run.env("RUN", "r1");
    let out = run.native();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() == 1 && names[0].ends_with(".r1.%"), "{names:?}");
}

/// A 10 MB binary file given as suppressions is refused in one short line.
#[test]
fn binary_suppression_file_gets_a_short_error() {
    let dir = scratch_dir("reliability-binary-supp");
    let file = dir.join("binary.supp");
    let mut rng = hbgrind_tests::Rng::new(16);
    let bytes: Vec<u8> = (0..10_000_000)
        .map(|_| match rng.below(256) as u8 {
            b'\n' | b'\r' => 0,
            b => b,
        })
        .collect();
    std::fs::write(&file, bytes).unwrap();
    let out = hbgrind_with(&[&format!("--suppressions={}", file.display()), "/bin/true"]);
    let text = out.stderr_text();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text.lines().count(), 1);
    assert!(text.len() < 1000, "{} bytes: {}", text.len(), &text[..200]);
    assert!(text.contains("bytes in all"), "{text}");
}

/// A guest that sets the GS base is refused with one clear line (hbgrind
/// keeps its thread block behind GS: README, "Limits").
#[test]
fn guest_setting_gs_is_refused_clearly() {
    let run = build("set_gs.c").command();
    assert!(run.native().stdout_text().contains("arch_prctl: 0"));
    let out = run.under_hbgrind(&["-q", "--tool=none"]);
    assert_eq!(out.stdout_text(), "before\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr_text()
            .contains("sets or reads the GS base (arch_prctl at 0x"),
        "{}",
        out.stderr_text()
    );
}

// ---- item 3: hbgrind's descriptors ----

/// The guest closes everything, dup2s onto every number below its limit,
/// opens until EMFILE and lowers and restores its limit: it sees what it
/// sees natively, and the race tool's log and XML files still get the
/// whole report (both descriptors live above the limit the guest sees).
#[test]
fn guest_cannot_reach_hbgrinds_descriptors() {
    let run = build("fds.c").command();
    let native = run.native();
    assert_eq!(native.status.code(), Some(0), "{}", native.stdout_text());
    assert!(native
        .stdout_text()
        .contains("dup2 onto 3..soft-1: 0 failures"));
    let dir = scratch_dir("reliability-fds");
    let log = dir.join("race.log");
    let xml = dir.join("race.xml");
    let under = run.under_hbgrind(&["--tool=none"]);
    assert_same(&native, &under);
    let under = run.under_hbgrind(&[&format!("--log-file={}", log.display())]);
    assert_eq!(
        (under.stdout_text(), under.status_text()),
        (native.stdout_text(), native.status_text())
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Possible data race") && text.contains("ERROR SUMMARY: 2 errors"),
        "{text}"
    );
    let under = run.under_hbgrind(&["--xml=yes", &format!("--xml-file={}", xml.display())]);
    assert_eq!(
        (under.stdout_text(), under.status_text()),
        (native.stdout_text(), native.status_text())
    );
    let doc = hbgrind_tests::xml::parse_xml(&std::fs::read_to_string(&xml).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    assert_eq!(doc.all("error").count(), 2);
}

/// Descriptors received with SCM_RIGHTS land below the limit the guest
/// sees: with room for fewer than were sent, as many as fit are received,
/// the SCM_RIGHTS header counts them and MSG_CTRUNC is set, as natively
/// (before: all three received, two of them in hbgrind's range).
#[test]
fn descriptors_received_over_a_socket_stay_below_the_guests_limit() {
    let run = build("scm_rights.c").command();
    let native = run.native();
    assert!(
        native.stdout_text().contains(
            "room 1: table full with Too many open files; recvmsg 1, 1 received, all below the limit: yes, MSG_CTRUNC: yes"
        ),
        "{}",
        native.stdout_text()
    );
    for tool in ["--tool=none", "--tool=race"] {
        let under = run.under_hbgrind(&["-q", tool]);
        assert_eq!(
            (under.stdout_text(), under.status_text()),
            (native.stdout_text(), native.status_text()),
            "{tool}: {}",
            under.stderr_text()
        );
    }
}

// ---- item 4: hbgrind's mappings ----

/// munmap, mprotect, madvise(DONTNEED), mremap and mmap(MAP_FIXED) over the
/// runtime library and the code cache fail as under Valgrind and the
/// program goes on (before: "internal error: synchronous signal 11"). The
/// program's own /proc/self/maps, smaps and their thread-self and
/// relative-path forms do not show those mappings (it finds them through
/// its parent's maps as a forked child reads them), still show its stack
/// and itself, and refuse writes with EBADF: its stdout says so, the same
/// as natively.
#[test]
fn guest_cannot_unmap_or_reprotect_hbgrinds_memory() {
    let run = build("mappings.c").command();
    let native = run.native();
    assert_eq!(
        (
            native.stdout_text(),
            native.stderr_text(),
            native.status.code()
        ),
        (
            "maps: 0 of hbgrind's, stack yes, program yes\n\
             smaps: 0 of hbgrind's, stack yes, program yes\n\
             thread-self: 0 of hbgrind's, stack yes, program yes\n\
             relative: 0 of hbgrind's, stack yes, program yes\n\
             write to maps: Bad file descriptor\n\
             still running\n"
                .into(),
            String::new(),
            Some(0)
        )
    );
    for tool in ["--tool=none", "--tool=race"] {
        let under = run.under_hbgrind(&["-q", tool]);
        assert_eq!(
            (under.stdout_text(), under.status_text()),
            (native.stdout_text(), native.status_text()),
            "{}",
            under.stderr_text()
        );
        let refused = under.stderr_text();
        for what in ["runtime", "runtime bss", "code cache"] {
            for (call, errno) in [
                ("mprotect", "Cannot allocate memory"),
                ("madvise", "Cannot allocate memory"),
                ("munmap", "Invalid argument"),
                ("mremap", "Invalid argument"),
                ("mmap", "Invalid argument"),
            ] {
                let line = format!("{call} {what}: {errno}\n");
                assert!(refused.contains(&line), "{tool}: no {line:?} in\n{refused}");
            }
        }
        assert!(!refused.contains("SUCCEEDED"), "{refused}");
        assert!(
            refused.ends_with("munmap all: Invalid argument\n"),
            "{refused}"
        );
    }
    // After a report, the symbolizer's mappings of debug information
    // (libc's detached debug file, where installed) are hbgrind's too.
    let racy = build("mappings.c").run(["race"]);
    let native = racy.native();
    let under = racy.under_hbgrind(&["--tool=race"]);
    assert_eq!(
        (under.stdout_text(), under.status_text()),
        (native.stdout_text(), native.status_text()),
        "{}",
        under.stderr_text()
    );
    let text = under.stderr_text();
    assert!(text.contains("Possible data race"), "{text}");
    assert!(!text.contains("SUCCEEDED"), "{text}");
    if !text.contains("mprotect debug info: Cannot allocate memory") {
        eprintln!("no detached debug information was mapped (libc6-dbg not installed?)");
    }
}

// ---- item 5: `hbgrind analyze` within bounds ----

/// `hbgrind analyze ARGS...` under `/usr/bin/time -f %M` when it is there:
/// the output, and the peak resident memory in KiB if measured.
fn analyze(args: &[&str]) -> (Output, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        let mut all = vec!["analyze"];
        all.extend_from_slice(args);
        return (hbgrind_with(&all), None);
    }
    let mut run = Run::new(time).args(["-f", "peak-kib %M", "--"]);
    run = run.arg(hbgrind()).arg("analyze").args(args);
    let mut out = run.native();
    let stderr = out.stderr_text();
    let (rest, peak) = match stderr.trim_end().rsplit_once('\n') {
        Some((rest, last)) => (format!("{rest}\n"), last.to_string()),
        None => (String::new(), stderr.trim_end().to_string()),
    };
    let rest = rest.replace("Command exited with non-zero status 1\n", "");
    out.stderr = rest.into_bytes();
    let kib = peak.strip_prefix("peak-kib ").and_then(|k| k.parse().ok());
    (out, kib)
}

/// Peak memory of every bounded run: far below the 1 GiB cap.
const SMALL_PEAK_KIB: u64 = 64 << 10;

fn assert_refused_small(out: &Output, peak: Option<u64>, message: &str) {
    assert_eq!(out.stderr_text(), format!("{message}\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout_text(), "");
    if let Some(kib) = peak {
        assert!(kib < SMALL_PEAK_KIB, "peak {kib} KiB for {message}");
    }
}

#[test]
fn analyze_refuses_an_endless_line_without_echoing_it() {
    let (out, peak) = analyze(&["/dev/zero"]);
    assert_refused_small(
        &out,
        peak,
        "hbgrind: /dev/zero:1: line longer than 4096 bytes (not shown); is this an event trace?",
    );
    let dir = scratch_dir("reliability-analyze-long");
    let trace = dir.join("long.trace");
    let mut text = "T1 rd 0x10 4\n".to_string();
    text.push_str(&"T1 wr 0x10 4 ".repeat(1000));
    std::fs::write(&trace, text).unwrap();
    let (out, peak) = analyze(&[trace.to_str().unwrap()]);
    assert_refused_small(
        &out,
        peak,
        &format!(
            "hbgrind: {}:2: line longer than 4096 bytes (not shown); is this an event trace?",
            trace.display()
        ),
    );
}

/// Four 256 MiB writes in 100 bytes took 3.1 GB: the distinct memory a
/// trace touches is bounded (64 MiB for the default --max-memory=1024).
#[test]
fn analyze_bounds_the_memory_a_trace_touches() {
    let dir = scratch_dir("reliability-analyze-ranges");
    let trace = dir.join("ranges.trace");
    std::fs::write(
        &trace,
        "T1 create T2\nT1 wr 0x0 0x10000000\nT2 wr 0x10000000 0x10000000\n\
         T1 wr 0x20000000 0x10000000\nT2 wr 0x30000000 0x10000000\n",
    )
    .unwrap();
    let (out, peak) = analyze(&[trace.to_str().unwrap()]);
    assert_refused_small(
        &out,
        peak,
        &format!(
            "hbgrind: {}:2: the trace touches more than 64 MiB of distinct memory (the limit for --max-memory=1024)",
            trace.display()
        ),
    );
}

/// A valid trace of 3 million lines is streamed: its size costs nothing,
/// and what it makes the engine keep is capped by --max-memory.
#[test]
fn analyze_streams_a_large_trace_within_its_memory_cap() {
    let trace = hbgrind_tests::cached_file("reliability-large-v1.trace", |path| {
        let mut text = String::with_capacity(64 << 20);
        text.push_str("T1 create T2\n");
        for i in 0..1_000_000u64 {
            let t = 1 + (i & 1);
            let addr = 0x10000 + (i % 4096) * 8;
            text.push_str(&format!(
                "T{t} lock 0x5000\nT{t} wr {addr:#x} 8 s{}\nT{t} unlock 0x5000\n",
                i % 100
            ));
        }
        text.push_str("T1 wr 0x90000 4 s900\nT2 wr 0x90000 4 s901\n");
        std::fs::write(path, text).unwrap();
    });
    let (out, peak) = analyze(&[trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        out.stdout_text().ends_with("ERROR SUMMARY: 1 error\n"),
        "{}",
        out.stdout_text()
    );
    if let Some(kib) = peak {
        assert!(kib < SMALL_PEAK_KIB, "peak {kib} KiB");
    }
    // Two million distinct locks need more than 64 MiB: a clear error.
    let dir = scratch_dir("reliability-analyze-cap");
    let locks = dir.join("locks.trace");
    let mut text = String::new();
    for i in 0..2_000_000u64 {
        let addr = 0x100000 + i * 64;
        text.push_str(&format!("T1 lock {addr:#x}\nT1 unlock {addr:#x}\n"));
    }
    std::fs::write(&locks, text).unwrap();
    let (out, peak) = analyze(&["--max-memory=64", locks.to_str().unwrap()]);
    let err = out.stderr_text();
    assert!(
        err.starts_with(&format!("hbgrind: {}:", locks.display()))
            && err.ends_with(": the analysis needs more than --max-memory=64 MiB\n"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));
    if let Some(kib) = peak {
        assert!(kib < 96 << 10, "peak {kib} KiB over a 64 MiB cap");
    }
}
