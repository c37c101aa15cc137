//! hbgrind as a drop-in for `valgrind --tool=helgrind` in scripts and CI
//! (issue 13, item 1): Valgrind's options, rc files and environment
//! variables, the XML stream on stderr, children skipped by pattern, the
//! fatal-signal block, an uncreatable log file, Helgrind's suppression
//! files and its count of a read-modify-write. Each test runs real C
//! programs natively and under hbgrind and compares what must agree;
//! where Valgrind is installed, with what Helgrind prints.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use hbgrind_tests::xml::parse_xml;
use hbgrind_tests::{hbgrind, profile_dir, scratch_dir, Output, Program, Run};

fn program(name: &str) -> Program {
    // The build cache keeps the `dropin/` prefix as a directory.
    let cache = profile_dir().join("hbgrind-tests/cache/dropin");
    std::fs::create_dir_all(cache).expect("cache dir creatable");
    Program::build(&format!("dropin/{name}"))
}

/// Whether `valgrind --tool=helgrind` can be run for comparison.
fn valgrind_installed() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs `valgrind --tool=helgrind OPTIONS... run`.
fn under_helgrind(run: &Run, options: &[&str]) -> Output {
    let mut r = Run::new("valgrind").arg("--tool=helgrind").args(options);
    r.args.push(run.program.clone());
    r.args.extend(run.args.iter().cloned());
    r.dir = run.dir.clone();
    r.env = run.env.clone();
    r.native()
}

/// The race reports' first lines: `Possible data race during read of size 4`.
fn race_lines(out: &Output) -> Vec<String> {
    out.tool_lines()
        .iter()
        .filter_map(|l| l.split_once("== ").map(|(_, rest)| rest.to_string()))
        .filter(|l| l.starts_with("Possible data race"))
        .map(|l| l.split(" at 0x").next().unwrap_or(&l).to_string())
        .collect()
}

fn summary_line(out: &Output) -> String {
    out.tool_lines()
        .into_iter()
        .rev()
        .find(|l| l.contains("ERROR SUMMARY"))
        .and_then(|l| l.split_once("== ").map(|(_, rest)| rest.to_string()))
        .unwrap_or_default()
}

/// The `x++` races, also with the options Valgrind users habitually pass
/// (each of them stopped the run with `unknown option` before).
#[test]
fn habitual_valgrind_options_are_accepted() {
    let prog = program("racy_counter.c");
    let native = prog.command().native();
    for options in [
        &["--error-limit=no"][..],
        &["--vgdb=no"],
        &["-s"],
        &["--history-level=full"],
        &["--read-var-info=yes"],
        &["--max-stackframe=4000000"],
        &["--log-fd=2"],
        &["--time-stamp=yes"],
        &["--child-silent-after-fork=yes"],
        &["--error-exitcode=1", "--error-limit=no"],
        &[
            "--leak-check=full",
            "--show-leak-kinds=all",
            "--track-origins=yes",
        ],
        &["--fullpath-after=", "--demangle=no", "--show-below-main=no"],
        &[
            "--tool=drd",
            "--check-stack-var=yes",
            "--first-race-only=no",
            "--exclusive-threshold=10",
            "--trace-mutex=no",
        ],
    ] {
        let out = prog.command().under_hbgrind(options);
        assert_eq!(out.stdout, native.stdout, "{options:?}");
        let expected = if options.contains(&"--error-exitcode=1") {
            Some(1)
        } else {
            Some(0)
        };
        assert_eq!(
            out.status.code(),
            expected,
            "{options:?}: {}",
            out.stderr_text()
        );
        assert!(
            out.stderr_text().contains("Possible data race"),
            "{options:?}: {}",
            out.stderr_text()
        );
    }
}

/// Every option `valgrind --help`, `valgrind --tool=helgrind --help` and
/// `valgrind --tool=drd --help` name is in `hbgrind --help` (and so
/// accepted), and `-v` lists the ones that have no effect.
#[test]
fn every_valgrind_option_is_accepted() {
    let help = Run::new(hbgrind()).arg("--help").native().stdout_text();
    if valgrind_installed() {
        for tool in ["--tool=memcheck", "--tool=helgrind", "--tool=drd"] {
            let text = Run::new("valgrind").args([tool, "--help"]).native();
            let text = text.stdout_text() + &text.stderr_text();
            for line in text.lines() {
                let word = line.trim_start().split([' ', '=']).next().unwrap_or("");
                if word.starts_with("--") && word.len() > 2 {
                    assert!(
                        help.contains(word),
                        "valgrind's {word} is missing from hbgrind --help"
                    );
                }
            }
        }
    }
    let out = Run::new("/bin/true").under_hbgrind(&[
        "-v",
        "--vgdb=no",
        "--history-level=approx",
        "--tool=none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let text = out.stderr_text();
    for option in ["--vgdb=no", "--history-level=approx"] {
        assert!(
            text.contains(&format!("option {option} has no effect")),
            "{text}"
        );
    }
}

/// `VALGRIND_OPTS=--error-exitcode=9` makes a racy program fail, and the
/// six sources apply in Valgrind's order, hbgrind's after Valgrind's, the
/// command line last.
#[test]
fn rc_files_and_environment_variables_in_valgrinds_order() {
    let prog = program("racy_counter.c");
    let home = scratch_dir("dropin-rc-home");
    let cwd = scratch_dir("dropin-rc-cwd");
    let base = prog.command().dir(&cwd).env("HOME", &home);
    let status = |run: &Run, options: &[&str]| run.under_hbgrind(options).status.code();
    assert_eq!(status(&base, &[]), Some(0));
    let with_env = base.clone().env("VALGRIND_OPTS", "--error-exitcode=9");
    assert_eq!(status(&with_env, &[]), Some(9));
    std::fs::write(home.join(".valgrindrc"), "--error-exitcode=3\n").unwrap();
    assert_eq!(status(&base, &[]), Some(3), "~/.valgrindrc");
    assert_eq!(
        status(&with_env, &[]),
        Some(9),
        "$VALGRIND_OPTS after ~/.valgrindrc"
    );
    std::fs::write(cwd.join(".valgrindrc"), "# ours\n--error-exitcode=5 -q\n").unwrap();
    assert_eq!(
        status(&with_env, &[]),
        Some(5),
        "./.valgrindrc after $VALGRIND_OPTS"
    );
    std::fs::write(home.join(".hbgrindrc"), "--error-exitcode=6").unwrap();
    assert_eq!(
        status(&with_env, &[]),
        Some(6),
        "~/.hbgrindrc after Valgrind's"
    );
    let hb_env = with_env.clone().env("HBGRIND_OPTS", "--error-exitcode=7");
    assert_eq!(status(&hb_env, &[]), Some(7), "$HBGRIND_OPTS");
    std::fs::write(cwd.join(".hbgrindrc"), "--error-exitcode=8").unwrap();
    assert_eq!(status(&hb_env, &[]), Some(8), "./.hbgrindrc");
    assert_eq!(
        status(&hb_env, &["--error-exitcode=10"]),
        Some(10),
        "the command line last"
    );
    // A world-writable ./.valgrindrc is not read, as in Valgrind.
    std::fs::remove_file(cwd.join(".hbgrindrc")).unwrap();
    std::fs::remove_file(home.join(".hbgrindrc")).unwrap();
    let rc = cwd.join(".valgrindrc");
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = with_env.under_hbgrind(&[]);
    assert_eq!(out.status.code(), Some(9), "{}", out.stderr_text());
    assert!(out.stderr_text().starts_with(
        "hbgrind: warning: ./.valgrindrc was not read as it is either not a regular file, or is world writeable, or is not owned by the current user\n"
    ));
}

/// A malformed option in an rc file or variable: one line naming it.
#[test]
fn malformed_options_name_their_source() {
    let home = scratch_dir("dropin-bad-rc");
    let run = Run::new("/bin/true").dir(&home).env("HOME", &home);
    let refused = |run: &Run, line: &str| {
        let out = run.under_hbgrind(&[]);
        assert_eq!(out.stderr_text(), format!("{line}\n"));
        assert_eq!(out.stdout_text(), "");
        assert_eq!(out.status.code(), Some(1));
    };
    refused(
        &run.clone().env("VALGRIND_OPTS", "--error-limit=no --foo"),
        "hbgrind: $VALGRIND_OPTS: unknown option '--foo'; see hbgrind --help",
    );
    refused(
        &run.clone().env("HBGRIND_OPTS", "--num-callers=0"),
        "hbgrind: $HBGRIND_OPTS: bad value in option '--num-callers=0': expected an integer from 1 to 500; see hbgrind --help",
    );
    std::fs::write(home.join(".valgrindrc"), "--vgdb=sometimes\n").unwrap();
    refused(
        &run,
        &format!(
            "hbgrind: {}: bad value in option '--vgdb=sometimes': expected no, yes or full; see hbgrind --help",
            home.join(".valgrindrc").display()
        ),
    );
    std::fs::write(home.join(".valgrindrc"), "ls\n").unwrap();
    refused(
        &run,
        &format!(
            "hbgrind: {}: 'ls' is not an option (only options may be given there; the program goes on the command line)",
            home.join(".valgrindrc").display()
        ),
    );
}

/// `--xml=yes --xml-fd=2`: stderr is one well-formed document (the text
/// preamble went into it before).
#[test]
fn xml_on_stderr_is_well_formed() {
    let prog = program("racy_counter.c");
    let native = prog.command().native();
    let out = prog.command().under_hbgrind(&["--xml=yes", "--xml-fd=2"]);
    assert_eq!(out.stdout, native.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr_text().starts_with("<?xml version=\"1.0\"?>"),
        "{}",
        out.stderr_text()
    );
    let root = parse_xml(&out.stderr_text())
        .unwrap_or_else(|err| panic!("not well formed: {err}\n{}", out.stderr_text()));
    assert_eq!(root.name, "valgrindoutput");
    let kinds: Vec<&str> = root
        .children
        .iter()
        .filter(|c| c.name == "error")
        .filter_map(|e| e.text_of("kind"))
        .collect();
    assert_eq!(kinds, ["Race", "Race"]);
}

/// `--trace-children-skip=PATTERNS`: a child whose path matches runs
/// untraced (no runtime in its LD_PRELOAD); others are traced.
#[test]
fn trace_children_skip_patterns() {
    let prog = program("exec_child.c");
    let run = prog.run(["/bin/cat", "/proc/self/environ"]);
    let preload = |out: &Output| {
        out.stdout
            .split(|&b| b == 0)
            .find_map(|e| e.strip_prefix(b"LD_PRELOAD="))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let traced = run.under_hbgrind(&["--tool=none", "--trace-children=yes"]);
    assert_eq!(traced.status.code(), Some(0), "{}", traced.stderr_text());
    assert!(preload(&traced).contains("libhbgrind_rt.so"));
    for skip in ["*/cat", "/usr/bin/*,/bin/c?t", "*cat*"] {
        let out = run.under_hbgrind(&[
            "--tool=none",
            "--trace-children=yes",
            &format!("--trace-children-skip={skip}"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
        assert!(!preload(&out).contains("libhbgrind_rt.so"), "{skip}");
    }
    let other = run.under_hbgrind(&[
        "--tool=none",
        "--trace-children=yes",
        "--trace-children-skip=*/ls",
    ]);
    assert!(preload(&other).contains("libhbgrind_rt.so"));
    let by_arg = run.under_hbgrind(&[
        "--tool=none",
        "--trace-children=yes",
        "--trace-children-skip-by-arg=/proc/*",
    ]);
    assert!(!preload(&by_arg).contains("libhbgrind_rt.so"));
}

/// The lines after `Process terminating with default action of signal`.
fn fatal_block(out: &Output) -> Vec<String> {
    let lines: Vec<String> = out
        .tool_lines()
        .iter()
        .filter_map(|l| l.split_once("== ").map(|(_, rest)| rest.to_string()))
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("Process terminating"))
        .unwrap_or(lines.len());
    lines[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .cloned()
        .collect()
}

/// The shape of a block: the lines before its stack, then each frame's
/// function and file:line without addresses (Valgrind's hint about
/// `--main-stacksize` after the stack is left out: hbgrind has no such
/// option).
fn block_shape(block: &[String]) -> Vec<String> {
    let is_frame = |l: &String| l.starts_with("   at 0x") || l.starts_with("   by 0x");
    let head = block.iter().take_while(|l| !is_frame(l)).cloned();
    let frames = block
        .iter()
        .skip_while(|l| !is_frame(l))
        .take_while(|l| is_frame(l))
        .map(|l| {
            let (lead, rest) = l.trim_start().split_once(": ").unwrap_or(("", l));
            format!("{} {rest}", &lead[..2])
        });
    head.chain(frames).collect()
}

/// A program dying of SIGSEGV: the same death as natively, and Valgrind's
/// `Process terminating with default action of signal 11 (SIGSEGV)` block
/// with the faulting address and the stack (also with -q).
#[test]
fn fatal_signal_block() {
    let prog = program("segv.c");
    let native = prog.command().native();
    assert_eq!(native.status.signal(), Some(11));
    let out = prog.command().under_hbgrind(&["-q"]);
    assert_eq!(out.status.signal(), Some(11), "{}", out.stderr_text());
    assert_eq!(out.stdout, native.stdout);
    let block = fatal_block(&out);
    let shape = block_shape(&block);
    assert_eq!(
        shape,
        [
            "Process terminating with default action of signal 11 (SIGSEGV)",
            " Access not within mapped region at address 0x10",
            "at crash (segv.c:6)",
            "by main (segv.c:12)",
        ],
        "{}",
        out.stderr_text()
    );
    if valgrind_installed() {
        let helgrind = under_helgrind(&prog.command(), &["-q"]);
        assert_eq!(helgrind.status.signal(), Some(11));
        assert_eq!(block_shape(&fatal_block(&helgrind)), shape);
    }
}

/// The XML of a program dying of a signal has `<fatal_signal>`.
#[test]
fn fatal_signal_in_xml() {
    let prog = program("segv.c");
    let dir = scratch_dir("dropin-fatal-xml");
    let path = dir.join("out.xml");
    let out = prog
        .command()
        .under_hbgrind(&["--xml=yes", &format!("--xml-file={}", path.display())]);
    assert_eq!(out.status.signal(), Some(11));
    let text = std::fs::read_to_string(&path).unwrap();
    let root = parse_xml(&text).unwrap_or_else(|err| panic!("not well formed: {err}\n{text}"));
    let fatal = root.child("fatal_signal").expect("<fatal_signal>");
    assert_eq!(fatal.text_of("signo"), Some("11"));
    assert_eq!(fatal.text_of("signame"), Some("SIGSEGV"));
    assert_eq!(fatal.text_of("tid"), Some("1"));
    assert_eq!(fatal.text_of("siaddr"), Some("0x10"));
    assert_eq!(
        fatal.text_of("event"),
        Some("Access not within mapped region")
    );
    let functions: Vec<&str> = fatal
        .child("stack")
        .expect("<stack>")
        .children
        .iter()
        .filter_map(|f| f.text_of("fn"))
        .collect();
    assert_eq!(functions, ["crash", "main"]);
}

/// `--log-file` in a directory that does not exist: refused before the
/// program runs, with Valgrind's message and status 1.
#[test]
fn log_file_that_cannot_be_created() {
    let prog = program("racy_counter.c");
    let out = prog
        .command()
        .under_hbgrind(&["--log-file=/nonexistent-dir/log.%p"]);
    let line = out.stderr_text();
    assert!(
        line.starts_with("hbgrind: cannot create log file '/nonexistent-dir/log.")
            && line.ends_with("': No such file or directory\n")
            && line.lines().count() == 1,
        "{line}"
    );
    assert_eq!(out.stdout_text(), "");
    assert_eq!(out.status.code(), Some(1));
    let out = prog
        .command()
        .under_hbgrind(&["--xml=yes", "--xml-file=/nonexistent-dir/x.xml"]);
    assert_eq!(
        out.stderr_text(),
        "hbgrind: cannot create XML file '/nonexistent-dir/x.xml': No such file or directory\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// What `valgrind --tool=helgrind --gen-suppressions=all` prints for the
/// racy counter (3.19, this machine), kept so the test runs without it.
const HELGRIND_SUPPRESSIONS: &str = "\
{
   <insert_a_suppression_name_here>
   Helgrind:Race
   fun:worker
   obj:/usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so
   fun:start_thread
   fun:clone
}
";

/// The suppressions `--gen-suppressions=all` wrote into `log`.
fn generated_suppressions(log: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in log.lines() {
        if line == "{" {
            inside = true;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
        if line == "}" {
            inside = false;
        }
    }
    out
}

/// A suppression file Helgrind generated works unchanged: its frames name
/// Helgrind's preload object, where hbgrind's stacks have no frame.
#[test]
fn helgrind_suppression_files_work_unchanged() {
    let prog = program("racy_counter.c");
    let dir = scratch_dir("dropin-helgrind-supp");
    let mut files = vec![("kept", HELGRIND_SUPPRESSIONS.to_string())];
    if valgrind_installed() {
        let helgrind = under_helgrind(&prog.command(), &["--gen-suppressions=all"]);
        let generated = generated_suppressions(&helgrind.stderr_text());
        assert!(generated.contains("vgpreload_helgrind"), "{generated}");
        files.push(("generated", generated));
    }
    for (name, text) in files {
        let path = dir.join(format!("{name}.supp"));
        std::fs::write(&path, text).unwrap();
        let out = prog.command().under_hbgrind(&[
            "--default-suppressions=no",
            &format!("--suppressions={}", path.display()),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let summary = summary_line(&out);
        assert!(
            summary.starts_with("ERROR SUMMARY: 0 errors from 0 contexts (suppressed: ")
                && !summary.contains("(suppressed: 0 "),
            "{name}: {}",
            out.stderr_text()
        );
    }
}

/// `counter++` (one `add [mem], 1`) races as a read and as a write, two
/// errors, as Helgrind reports it.
#[test]
fn read_modify_write_races_as_read_and_write() {
    let prog = program("racy_counter.c");
    let out = prog.command().under_hbgrind(&[]);
    let mut races = race_lines(&out);
    races.sort();
    assert_eq!(
        races,
        [
            "Possible data race during read of size 4",
            "Possible data race during write of size 4",
        ],
        "{}",
        out.stderr_text()
    );
    assert_eq!(
        summary_line(&out),
        "ERROR SUMMARY: 2 errors from 2 contexts (suppressed: 0 from 0)"
    );
    if valgrind_installed() {
        let helgrind = under_helgrind(&prog.command(), &[]);
        let mut theirs = race_lines(&helgrind);
        theirs.sort();
        assert_eq!(theirs, races);
        assert_eq!(summary_line(&helgrind), summary_line(&out));
    }
}

/// `--time-stamp=yes`: every line starts `==DD:HH:MM:SS.mmm PID== `.
#[test]
fn time_stamps_as_valgrinds() {
    let prog = program("racy_counter.c");
    let out = prog.command().under_hbgrind(&["--time-stamp=yes"]);
    let text = out.stderr_text();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("==")).collect();
    assert!(lines.len() > 10, "{text}");
    for line in lines {
        let stamp = &line[2..];
        let ok = stamp.len() > 16
            && stamp.as_bytes()[..15]
                .iter()
                .enumerate()
                .all(|(i, &b)| match i {
                    2 | 5 | 8 => b == b':',
                    11 => b == b'.',
                    _ => b.is_ascii_digit(),
                })
            && stamp.as_bytes()[15] == b' ';
        assert!(ok, "{line}");
    }
}

/// `-s`: after the summary, each error again with its count.
#[test]
fn show_error_list() {
    let prog = program("racy_counter.c");
    let out = prog.command().under_hbgrind(&["-s"]);
    let text = out.stderr_text();
    assert!(text.contains("== 1 errors in context 1 of 2:\n"), "{text}");
    assert!(text.contains("== 1 errors in context 2 of 2:\n"), "{text}");
    assert_eq!(
        text.matches("ERROR SUMMARY: 2 errors from 2 contexts")
            .count(),
        2
    );
}

/// `--log-fd=N`: the report goes to descriptor N, stderr stays the
/// program's.
#[test]
fn log_fd() {
    let prog = program("racy_counter.c");
    let dir = scratch_dir("dropin-log-fd");
    let log = dir.join("log");
    let script = format!(
        "exec '{}' --log-fd=9 '{}' 9>'{}'",
        hbgrind().display(),
        prog.path.display(),
        log.display()
    );
    let out = Run::new("/bin/sh").args(["-c", &script]).native();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stderr_text(), "");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Possible data race"), "{text}");
}

/// `--child-silent-after-fork=yes`: the forked child's races are not shown.
#[test]
fn child_silent_after_fork() {
    let prog = program("fork_race.c");
    let native = prog.command().native();
    let loud = prog.command().under_hbgrind(&[]);
    assert_eq!(loud.stdout, native.stdout);
    assert!(loud.stderr_text().contains("Possible data race"));
    let silent = prog
        .command()
        .under_hbgrind(&["--child-silent-after-fork=yes"]);
    assert_eq!(silent.stdout, native.stdout);
    assert_eq!(silent.status.code(), Some(0));
    assert!(
        !silent.stderr_text().contains("Possible data race"),
        "{}",
        silent.stderr_text()
    );
    assert_eq!(
        summary_line(&silent),
        "ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)"
    );
}

#[test]
fn runtime_is_built() {
    assert!(profile_dir().join("libhbgrind_rt.so").is_file());
    assert!(Path::new(&hbgrind()).is_file());
}

/// `--exit-on-first-error=yes`: the run ends at the first error with
/// `--error-exitcode`'s status, before the program prints its result.
#[test]
fn exit_on_first_error() {
    let prog = program("racy_counter.c");
    let out =
        prog.command()
            .under_hbgrind(&["-q", "--exit-on-first-error=yes", "--error-exitcode=4"]);
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_text());
    assert_eq!(out.stdout_text(), "");
    assert!(out
        .stderr_text()
        .contains("== Exit program on first error (--exit-on-first-error=yes)\n"));
}

/// `--track-lockorders=no` hides lock-order inversions, as in Helgrind.
#[test]
fn track_lockorders_no() {
    let prog = Program::build("races/lockorder_two_locks.c");
    let on = prog.command().under_hbgrind(&[]);
    assert!(
        on.stderr_text().contains("lock order"),
        "{}",
        on.stderr_text()
    );
    let off = prog.command().under_hbgrind(&["--track-lockorders=no"]);
    assert!(
        !off.stderr_text().contains("lock order"),
        "{}",
        off.stderr_text()
    );
    assert_eq!(
        summary_line(&off),
        "ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)"
    );
}

/// `examples/hbgrind-emulator-wrapper`, the libvirt-style wrapper of the
/// README's QEMU workflow: the program's output as natively, one text log
/// and one JSON Lines file per process in `HBGRIND_LOG_DIR`, with the race
/// and the schedule seed given through `HBGRIND_OPTS`.
#[test]
fn the_emulator_wrapper_writes_one_log_per_process() {
    let prog = program("racy_counter.c");
    let native = prog.command().native();
    let dir = scratch_dir("emulator-wrapper");
    let wrapper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hbgrind-emulator-wrapper");
    let out = Run::new(&wrapper)
        .env("HBGRIND", hbgrind())
        .env("HBGRIND_TARGET", &prog.path)
        .env("HBGRIND_LOG_DIR", &dir)
        .env("HBGRIND_OPTS", "--sched-seed=3")
        .native();
    assert_eq!(out.stdout, native.stdout, "{}", out.stderr_text());
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("log dir readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    let (json, log) = (&names[1], &names[0]);
    assert!(
        log.starts_with("hblog.") && json == &format!("{log}.json"),
        "{names:?}"
    );
    let text = std::fs::read_to_string(dir.join(log)).expect("log readable");
    assert!(text.contains("Schedule: --sched-seed=3"), "{text}");
    assert!(text.contains("Possible data race"), "{text}");
    assert!(
        text.contains("ERROR SUMMARY: 2 errors from 2 contexts"),
        "{text}"
    );
    let lines = std::fs::read_to_string(dir.join(json)).expect("json readable");
    let first = lines.lines().next().unwrap_or_default();
    assert!(
        first.contains(r#""record":"run""#) && first.contains(r#""sched_seed":3"#),
        "{first}"
    );
    let errors = lines
        .lines()
        .filter(|l| l.contains(r#""record":"error""#))
        .count();
    assert_eq!(errors, 2, "{lines}");
}

/// A PCT run's preamble gives every option that repeats it, not the seed
/// alone (which would repeat a different, random-slice schedule).
#[test]
fn a_pct_run_prints_the_options_that_repeat_it() {
    let prog = program("racy_counter.c");
    let out = prog
        .command()
        .under_hbgrind(&["--sched=pct", "--pct-depth=2", "--sched-seed=5"]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains(
            "Schedule: --sched=pct --pct-depth=2 --pct-steps=50000 --sched-seed=5 (the same options repeat this run's thread switches)"
        ),
        "{}",
        out.stderr_text()
    );
}
