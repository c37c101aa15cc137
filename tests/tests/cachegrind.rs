//! `--tool=cachegrind` (issue 15, part 1): small C programs with known
//! instruction counts and access patterns (tests/programs/cachegrind/),
//! run natively, under hbgrind and, where it is installed, under
//! `valgrind --tool=cachegrind` with the same cache configuration.
//!
//! What is compared with Valgrind, for the functions of the test
//! program's own source file (hbgrind sees nothing that runs before its
//! runtime's constructor, so ld.so's start-up and whole-program totals
//! differ, and with them the first misses of shared lines):
//! - Ir, Dr, Dw, Bc and Bi per source line: exactly;
//! - D1mr, D1mw per source line of the strided walk: within 1% (equal
//!   when measured, 2026-12-03); DLmr within 5% (the LL holds start-up
//!   lines Valgrind saw and hbgrind did not);
//! - Bcm: within 2% plus 2 per line (the predictor's global history
//!   differs by the branches run before hbgrind takes over);
//! - `cg_annotate` lists the program's functions in the same order.
//!
//! Without Valgrind the comparisons are skipped with a note, and the
//! figures the programs' comments state are still asserted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hbgrind_tests::{profile_dir, scratch_dir, Output, Program, Run};

/// The configuration both tools simulate, so runs are deterministic.
const CACHES: [&str; 3] = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64"];

fn program(name: &str) -> Program {
    let cache = profile_dir().join("hbgrind-tests/cache/cachegrind");
    std::fs::create_dir_all(cache).expect("cache dir creatable");
    Program::build(&format!("cachegrind/{name}"))
}

fn installed(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !ok {
        println!("skipped: {tool} is not installed (apt-get install valgrind); Valgrind's figures are not compared");
    }
    ok
}

/// A cachegrind.out file read back: its `events:` and the counts of each
/// (file, function, line).
struct Profile {
    events: Vec<String>,
    rows: BTreeMap<(String, String, u32), Vec<u64>>,
    summary: Vec<u64>,
}

impl Profile {
    fn read(path: &Path) -> Profile {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut p = Profile {
            events: Vec::new(),
            rows: BTreeMap::new(),
            summary: Vec::new(),
        };
        let (mut file, mut function) = (String::new(), String::new());
        for line in text.lines() {
            if let Some(e) = line.strip_prefix("events: ") {
                p.events = e.split_whitespace().map(String::from).collect();
            } else if let Some(f) = line.strip_prefix("fl=") {
                file = f.to_string();
            } else if let Some(f) = line.strip_prefix("fn=") {
                function = f.to_string();
            } else if let Some(s) = line.strip_prefix("summary: ") {
                p.summary = s.split_whitespace().map(|n| n.parse().unwrap()).collect();
            } else if line.starts_with(|c: char| c.is_ascii_digit()) {
                let mut words = line.split_whitespace().map(|n| n.parse::<u64>().unwrap());
                let number = words.next().unwrap() as u32;
                let counts: Vec<u64> = words.collect();
                assert_eq!(counts.len(), p.events.len(), "{line}");
                let row = p
                    .rows
                    .entry((file.clone(), function.clone(), number))
                    .or_insert_with(|| vec![0; counts.len()]);
                for (a, b) in row.iter_mut().zip(counts) {
                    *a += b;
                }
            } else {
                assert!(
                    line.starts_with("desc: ") || line.starts_with("cmd: "),
                    "{}: unexpected line {line:?}",
                    path.display()
                );
            }
        }
        p
    }

    /// Rows of source files whose name ends with `file`: (function, line) -> counts.
    fn of_file(&self, file: &str) -> BTreeMap<(String, u32), Vec<u64>> {
        self.rows
            .iter()
            .filter(|((f, _, _), _)| f.ends_with(file))
            .map(|((_, func, line), c)| ((func.clone(), *line), c.clone()))
            .collect()
    }

    /// The count of `event` in each row of `file`.
    fn column(&self, file: &str, event: &str) -> BTreeMap<(String, u32), u64> {
        let i = self.index(event);
        self.of_file(file)
            .into_iter()
            .map(|(k, c)| (k, c[i]))
            .collect()
    }

    fn index(&self, event: &str) -> usize {
        self.events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no {event} in {:?}", self.events))
    }

    /// The sum of `event` over the lines of `function` in `file`.
    fn function_total(&self, file: &str, function: &str, event: &str) -> u64 {
        self.column(file, event)
            .iter()
            .filter(|((f, _), _)| f == function)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Runs `run` under hbgrind's cachegrind with `options`; returns the output
/// and the profile it wrote.
fn under_hbgrind(run: &Run, dir: &Path, options: &[&str]) -> (Output, Profile) {
    let out_file = dir.join("hb.cachegrind.out");
    let arg = format!("--cachegrind-out-file={}", out_file.display());
    let mut all = vec!["--tool=cachegrind", arg.as_str()];
    all.extend_from_slice(options);
    let out = run.under_hbgrind(&all);
    assert!(
        !out.stderr_text().contains("internal error") && !out.stderr_text().contains("panicked"),
        "{}",
        out.stderr_text()
    );
    let profile = Profile::read(&out_file);
    (out, profile)
}

/// Runs `run` under `valgrind --tool=cachegrind` with `options`.
fn under_valgrind(run: &Run, dir: &Path, options: &[&str]) -> (Output, PathBuf) {
    let out_file = dir.join("vg.cachegrind.out");
    let mut r = Run::new("valgrind")
        .arg("--tool=cachegrind")
        .arg(format!("--cachegrind-out-file={}", out_file.display()))
        .args(options);
    r.args.push(run.program.clone());
    r.args.extend(run.args.iter().cloned());
    (r.native(), out_file)
}

/// The program's stdout and exit status are its own under the tool.
fn assert_transparent(native: &Output, profiled: &Output) {
    assert_eq!(profiled.stdout_text(), native.stdout_text());
    assert_eq!(profiled.status_text(), native.status_text());
}

/// `a` and `b` agree within `percent` % plus `slack`, row by row.
fn assert_close(
    what: &str,
    a: &BTreeMap<(String, u32), u64>,
    b: &BTreeMap<(String, u32), u64>,
    percent: f64,
    slack: u64,
) {
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = (
            a.get(k).copied().unwrap_or(0),
            b.get(k).copied().unwrap_or(0),
        );
        let allowed = (x.max(y) as f64 * percent / 100.0) as u64 + slack;
        assert!(
            x.abs_diff(y) <= allowed,
            "{what} at {k:?}: hbgrind {x}, valgrind {y} (allowed difference {allowed})"
        );
    }
}

#[test]
fn instruction_counts_are_exact() {
    let dir = scratch_dir("cachegrind_instruction_counts");
    let loop_ = program("loop.c");
    let run = loop_.command();
    let native = run.native();
    for sim in ["--cache-sim=no", "--cache-sim=yes"] {
        let (out, hb) = under_hbgrind(&run, &dir, &[sim]);
        assert_transparent(&native, &out);
        // The asm loop of counted(): 1 + 3 * 1000000 instructions, and at
        // most the two around it that the compiler puts on the same line.
        let asm_line = hb
            .column("loop.c", "Ir")
            .iter()
            .filter(|((f, _), _)| f == "counted")
            .map(|(_, &n)| n)
            .max()
            .unwrap_or(0);
        assert!(
            (3_000_001..=3_000_003).contains(&asm_line),
            "{sim}: counted()'s asm line ran {asm_line} instructions"
        );
        // The summary on stderr is the file's.
        let ir = hb.summary[0];
        let shown = out
            .tool_lines()
            .into_iter()
            .find_map(|l| {
                l.split_once("I   refs:")
                    .map(|(_, n)| n.trim().replace(',', ""))
            })
            .expect("an `I   refs:` line");
        assert_eq!(shown, ir.to_string());
        if sim == "--cache-sim=no" {
            assert_eq!(hb.events, ["Ir"]);
        } else {
            assert_eq!(hb.events.len(), 9);
        }
        if installed("valgrind") {
            let (vg_out, vg_file) = under_valgrind(&run, &dir, &[sim]);
            assert_transparent(&native, &vg_out);
            let vg = Profile::read(&vg_file);
            assert_eq!(
                hb.column("loop.c", "Ir"),
                vg.column("loop.c", "Ir"),
                "{sim}"
            );
        }
    }
}

#[test]
fn strided_d1_misses_match_valgrinds_simulation() {
    let dir = scratch_dir("cachegrind_strided");
    let strided = program("strided.c");
    let run = strided.command();
    let native = run.native();
    assert_eq!(native.status_text(), "exit 3");
    let (out, hb) = under_hbgrind(&run, &dir, &CACHES);
    assert_transparent(&native, &out);
    // walk(): 4 passes of 16384 lines, one 4-byte read and one write each;
    // the 1 MiB array never fits the 32 KiB D1.
    let walk = |event| hb.function_total("strided.c", "walk", event);
    assert_eq!(walk("Dr"), 4 * 16384 + 1); // and the return's pop
    assert_eq!(walk("Dw"), 4 * 16384);
    assert!(walk("D1mr") >= 4 * 16384 * 99 / 100, "{}", walk("D1mr"));
    // cycle(): 8 lines of one set stay after their first misses, each of
    // 9 is lost just before it is needed again. Counted at the array read
    // only: the return's pop misses too when the stack's line happens to
    // fall into the same set (one run in 64, by address randomisation).
    let array_read = ("cycle".to_string(), 33);
    assert_eq!(
        hb.column("strided.c", "D1mr").get(&array_read).copied(),
        Some(8 + 9 * 1000),
        "{:?}",
        hb.column("strided.c", "D1mr")
    );
    assert_eq!(hb.function_total("strided.c", "cycle", "Dr"), 17 * 1000 + 2);
    // protect(): LRU keeps the line read every round (FIFO would not).
    let protect = hb.function_total("strided.c", "protect", "D1mr");
    assert!((255..=256).contains(&protect), "{protect}");
    // fill(): `rep stosb` of 4096 bytes is 4096 writes and 4097
    // instructions to Valgrind (the last finds the count at zero).
    assert_eq!(hb.function_total("strided.c", "fill", "Dw"), 4096);
    assert_eq!(hb.function_total("strided.c", "fill", "D1mw"), 4096 / 64);
    if !installed("valgrind") {
        return;
    }
    let (vg_out, vg_file) = under_valgrind(&run, &dir, &CACHES);
    assert_transparent(&native, &vg_out);
    let vg = Profile::read(&vg_file);
    for event in ["Ir", "Dr", "Dw"] {
        assert_eq!(
            hb.column("strided.c", event),
            vg.column("strided.c", event),
            "{event}"
        );
    }
    let walk_rows = |p: &Profile, event| -> BTreeMap<(String, u32), u64> {
        p.column("strided.c", event)
            .into_iter()
            .filter(|((f, _), _)| f == "walk")
            .collect()
    };
    for event in ["D1mr", "D1mw"] {
        assert_close(
            event,
            &walk_rows(&hb, event),
            &walk_rows(&vg, event),
            1.0,
            0,
        );
    }
    assert_close(
        "DLmr",
        &walk_rows(&hb, "DLmr"),
        &walk_rows(&vg, "DLmr"),
        5.0,
        0,
    );
}

#[test]
fn branch_counts_match_valgrinds_predictor() {
    let dir = scratch_dir("cachegrind_branches");
    let loop_ = program("loop.c");
    let run = loop_.command();
    let native = run.native();
    let (out, hb) = under_hbgrind(&run, &dir, &["--cache-sim=no", "--branch-sim=yes"]);
    assert_transparent(&native, &out);
    assert_eq!(hb.events, ["Ir", "Bc", "Bcm", "Bi", "Bim"]);
    // counted()'s jnz: 1000000 conditional branches, taken all but once.
    assert_eq!(hb.function_total("loop.c", "counted", "Bc"), 1_000_000);
    assert!(hb.function_total("loop.c", "counted", "Bcm") < 20);
    // branchy()'s `if` on a pseudo-random bit mispredicts about half the time.
    let bcm = hb.function_total("loop.c", "branchy", "Bcm");
    assert!((40_000..60_000).contains(&bcm), "{bcm}");
    if !installed("valgrind") {
        return;
    }
    let (_, vg_file) = under_valgrind(&run, &dir, &["--cache-sim=no", "--branch-sim=yes"]);
    let vg = Profile::read(&vg_file);
    for event in ["Ir", "Bc", "Bi"] {
        assert_eq!(
            hb.column("loop.c", event),
            vg.column("loop.c", event),
            "{event}"
        );
    }
    assert_close(
        "Bcm",
        &hb.column("loop.c", "Bcm"),
        &vg.column("loop.c", "Bcm"),
        2.0,
        2,
    );
}

/// The `file:function` lines `cg_annotate` prints for `file`, in order.
fn annotated_functions(out_file: &Path, file: &str) -> Vec<String> {
    let out = Command::new("cg_annotate")
        .arg(out_file)
        .output()
        .expect("cg_annotate runs");
    assert!(
        out.status.success(),
        "cg_annotate {}: {}",
        out_file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|w| w.contains(&format!("{file}:")))
        .map(String::from)
        .collect()
}

#[test]
fn cg_annotate_and_cg_diff_read_our_files() {
    if !installed("valgrind") {
        return;
    }
    let dir = scratch_dir("cachegrind_annotate");
    let loop_ = program("loop.c");
    let run = loop_.command();
    for options in [&[][..], &["--branch-sim=yes"], &["--cache-sim=no"]] {
        let mut both = CACHES.to_vec();
        both.extend_from_slice(options);
        let (_, _) = under_hbgrind(&run, &dir, &both);
        let hb_file = dir.join("hb.cachegrind.out");
        let (_, vg_file) = under_valgrind(&run, &dir, &both);
        let ours = annotated_functions(&hb_file, "loop.c");
        assert_eq!(ours.len(), 3, "{ours:?}");
        assert_eq!(ours, annotated_functions(&vg_file, "loop.c"), "{options:?}");
    }
    // cg_diff of two runs of ours.
    let first = dir.join("first.out");
    std::fs::copy(dir.join("hb.cachegrind.out"), &first).unwrap();
    under_hbgrind(&run, &dir, &["--cache-sim=no"]);
    let diff = Command::new("cg_diff")
        .arg(&first)
        .arg(dir.join("hb.cachegrind.out"))
        .output()
        .expect("cg_diff runs");
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    // Two runs of a deterministic program: the same counts everywhere.
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(text.contains("\nevents:  Ir\n"), "{text}");
    assert!(text.contains("\nsummary: 0\n"), "{text}");
}

#[test]
fn the_out_file_is_named_by_pid() {
    let dir = scratch_dir("cachegrind_out_file");
    let loop_ = program("loop.c");
    let out = loop_
        .command()
        .dir(&dir)
        .under_hbgrind(&["--tool=cachegrind", "--cache-sim=no"]);
    assert_eq!(out.status_text(), "exit 0");
    let pid = out.tool_lines()[0]
        .trim_start_matches("==")
        .split("==")
        .next()
        .unwrap()
        .to_string();
    assert!(dir.join(format!("cachegrind.out.{pid}")).is_file(), "{pid}");
    let out = loop_
        .command()
        .dir(&dir)
        .under_hbgrind(&["--tool=cachegrind", "--cachegrind-out-file=cg.%p.x"]);
    assert_eq!(out.status_text(), "exit 0");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cg.") && n.ends_with(".x"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn bad_cache_options_get_one_line() {
    let loop_ = program("loop.c");
    for (option, says) in [
        ("--D1=32768,8", "expected <size>,<assoc>,<line_size>"),
        ("--I1=24576,8,64", "not a power of two"),
        ("--LL=65536,2,8", "line size is less than 16"),
        ("--D1=x,8,64", "not a positive integer"),
        ("--cache-sim=maybe", "expected yes or no"),
    ] {
        let out = loop_
            .command()
            .under_hbgrind(&["--tool=cachegrind", option]);
        let err = out.stderr_text();
        assert_eq!(out.status_text(), "exit 1", "{option}: {err}");
        assert_eq!(err.lines().count(), 1, "{option}: {err}");
        assert!(
            err.starts_with(&format!("hbgrind: bad value in option '{option}'"))
                && err.contains(says),
            "{option}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn each_traced_process_writes_its_own_file() {
    let dir = scratch_dir("cachegrind_children");
    let out = Run::new("/bin/sh")
        .args(["-c", "/bin/echo hi; /bin/true"])
        .dir(&dir)
        .under_hbgrind(&[
            "--tool=cachegrind",
            "--cache-sim=no",
            "--trace-children=yes",
        ]);
    assert_eq!(out.stdout_text(), "hi\n");
    assert_eq!(out.status_text(), "exit 0");
    let mut commands: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("cachegrind.out."))
        })
        .map(|p| {
            let profile = Profile::read(&p);
            assert!(profile.summary[0] > 0, "{}", p.display());
            std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("cmd: ").map(String::from))
                .unwrap()
        })
        .collect();
    commands.sort();
    // The shell, and the two programs it forks and execs.
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert!(
        commands.contains(&"/bin/echo hi".to_string()),
        "{commands:?}"
    );
    assert!(commands.contains(&"/bin/true".to_string()), "{commands:?}");
}
