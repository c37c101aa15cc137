//! The launcher's command line and program checks: each bad input gives one
//! exact line on stderr, nothing on stdout, and exit status 1 (a bad command
//! line), 127 (no such program) or 126 (found but cannot run), as bash and
//! Valgrind exit; good input reaches the program with the runtime
//! contract's environment.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hbgrind_tests::{hbgrind, profile_dir, scratch_dir, Output, Program, Run};

/// Runs `hbgrind ARGS...` and returns its output.
fn hbgrind_with(args: &[&str]) -> Output {
    let mut run = Run::new(hbgrind());
    run.args = args.iter().map(Into::into).collect();
    run.native()
}

/// Asserts the launcher refused with exactly `message` (one line) and status 1.
fn assert_refused(output: &Output, message: &str) {
    assert_refused_with(output, message, 1);
}

/// Asserts the launcher refused with exactly `message` and status `code`.
fn assert_refused_with(output: &Output, message: &str, code: i32) {
    assert_eq!(
        output.stderr_text(),
        format!("{message}\n"),
        "{}",
        output.command
    );
    assert_eq!(output.stdout_text(), "", "{}", output.command);
    assert_eq!(output.status.code(), Some(code), "{}", output.command);
}

/// hbgrind refuses to run `prog`, naming it: `hbgrind: PROG: REASON`, 126.
fn assert_file_refused(prog: &Path, reason: &str) {
    let shown = show(prog);
    assert_refused_with(
        &hbgrind_with(&[&shown]),
        &format!("hbgrind: {shown}: {reason}"),
        126,
    );
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// A minimal ELF header: class, machine, type; nothing else is needed for
/// the launcher to tell what the file is.
fn elf_header(class64: bool, machine: u16, kind: u16) -> Vec<u8> {
    let mut h = vec![0x7f, b'E', b'L', b'F'];
    h.push(if class64 { 2 } else { 1 }); // EI_CLASS
    h.push(1); // EI_DATA: little endian
    h.push(1); // EI_VERSION
    h.resize(16, 0);
    h.extend_from_slice(&kind.to_le_bytes()); // e_type
    h.extend_from_slice(&machine.to_le_bytes()); // e_machine
    h.extend_from_slice(&1u32.to_le_bytes()); // e_version
    if class64 {
        h.extend_from_slice(&0x40_1000u64.to_le_bytes()); // e_entry
        h.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        h.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        h.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        h.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
        h.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
        h.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        h.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    } else {
        h.extend_from_slice(&0x0804_8000u32.to_le_bytes()); // e_entry
        h.extend_from_slice(&52u32.to_le_bytes()); // e_phoff
        h.extend_from_slice(&0u32.to_le_bytes()); // e_shoff
        h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        h.extend_from_slice(&52u16.to_le_bytes()); // e_ehsize
        h.extend_from_slice(&32u16.to_le_bytes()); // e_phentsize
        h.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
        h.extend_from_slice(&40u16.to_le_bytes()); // e_shentsize
        h.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        h.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    }
    h
}

const EM_386: u16 = 3;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const ET_EXEC: u16 = 2;
const ET_REL: u16 = 1;

#[test]
fn version() {
    let out = hbgrind_with(&["--version"]);
    assert_eq!(out.stdout_text(), "hbgrind-0.1.0\n");
    assert_eq!(out.stderr_text(), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn help_lists_every_option() {
    let out = hbgrind_with(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stderr_text(), "");
    let text = out.stdout_text();
    assert!(text.starts_with("usage: hbgrind [OPTIONS] PROG [ARGS...]\n"));
    for option in [
        "--tool=none|inscount|cachegrind|race|helgrind|drd",
        "--log-file=FILE",
        "--trace-children=yes|no",
        "--trace-children-skip=PATTERNS",
        "--fair-sched=no|yes|try",
        "--sched-seed=N",
        "--sched=random|pct",
        "--pct-depth=N",
        "--pct-steps=N",
        "--sched-record=FILE",
        "--sched-replay=FILE",
        "--smc-check=none|stack|all-non-file|all",
        "--error-exitcode=N",
        "--num-callers=N",
        "--xml=yes|no",
        "--xml-fd=N",
        "--xml-file=FILE",
        "--suppressions=FILE",
        "--gen-suppressions=no|yes|all",
        "--default-suppressions=yes|no",
        "--futex-sync=yes|no",
        "--trace=FILTER",
        "-q ",
        "-v ",
        "--version",
        "--help",
    ] {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("  {option}"))),
            "--help does not list {option}:\n{text}"
        );
    }
}

#[test]
fn help_after_the_program_belongs_to_the_program() {
    // `hbgrind --tool=none /bin/echo --help` runs echo; the launcher's own
    // checks come first, so a missing program shows it is not --help.
    let out = hbgrind_with(&["/nonexistent-dir/prog", "--help"]);
    assert_refused_with(&out, "hbgrind: /nonexistent-dir/prog: no such file", 127);
}

#[test]
fn unknown_option() {
    assert_refused(
        &hbgrind_with(&["--foo", "/bin/true"]),
        "hbgrind: unknown option '--foo'; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--tool=none", "-x", "/bin/true"]),
        "hbgrind: unknown option '-x'; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--tool-none", "/bin/true"]),
        "hbgrind: unknown option '--tool-none'; see hbgrind --help",
    );
}

#[test]
fn malformed_option_values() {
    assert_refused(
        &hbgrind_with(&["--tool=memcheck", "/bin/true"]),
        "hbgrind: bad value in option '--tool=memcheck': expected none, inscount, cachegrind, race, helgrind or drd; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--trace-children=maybe", "/bin/true"]),
        "hbgrind: bad value in option '--trace-children=maybe': expected yes or no; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--fair-sched=always", "/bin/true"]),
        "hbgrind: bad value in option '--fair-sched=always': expected no, yes or try; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--sched-seed=-1", "/bin/true"]),
        "hbgrind: bad value in option '--sched-seed=-1': expected an integer from 0 to 4294967295; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--smc-check=some", "/bin/true"]),
        "hbgrind: bad value in option '--smc-check=some': expected none, stack, all-non-file or all; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--error-exitcode=256", "/bin/true"]),
        "hbgrind: bad value in option '--error-exitcode=256': expected an integer from 0 to 255; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--num-callers=lots", "/bin/true"]),
        "hbgrind: bad value in option '--num-callers=lots': expected an integer from 1 to 500; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--gen-suppressions=some", "/bin/true"]),
        "hbgrind: bad value in option '--gen-suppressions=some': expected no, yes or all; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--log-file=", "/bin/true"]),
        "hbgrind: bad value in option '--log-file=': expected a non-empty value; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--log-file", "x", "/bin/true"]),
        "hbgrind: option '--log-file' needs a value: --log-file=FILE; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--xml", "/bin/true"]),
        "hbgrind: option '--xml' needs a value: --xml=yes|no; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--xml-fd=x", "/bin/true"]),
        "hbgrind: bad value in option '--xml-fd=x': expected a file descriptor from 0 to 1023; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--xml-file=", "/bin/true"]),
        "hbgrind: bad value in option '--xml-file=': expected a non-empty value; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--xml=yes", "/bin/true"]),
        "hbgrind: --xml=yes needs a destination: --xml-fd=N or --xml-file=FILE; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--suppressions=", "/bin/true"]),
        "hbgrind: bad value in option '--suppressions=': expected a non-empty value; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--default-suppressions=maybe", "/bin/true"]),
        "hbgrind: bad value in option '--default-suppressions=maybe': expected yes or no; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["--num-callers=501", "/bin/true"]),
        "hbgrind: bad value in option '--num-callers=501': expected an integer from 1 to 500; see hbgrind --help",
    );
    assert_refused(
        &hbgrind_with(&["-q=1", "/bin/true"]),
        "hbgrind: unknown option '-q=1'; see hbgrind --help",
    );
}

#[test]
fn no_program() {
    let message =
        "hbgrind: no program given; usage: hbgrind [OPTIONS] PROG [ARGS...], see hbgrind --help";
    assert_refused(&hbgrind_with(&[]), message);
    assert_refused(&hbgrind_with(&["--tool=none", "-q"]), message);
    assert_refused(&hbgrind_with(&["--"]), message);
}

#[test]
fn missing_file() {
    let dir = scratch_dir("launcher-missing");
    let prog = dir.join("no-such-program");
    assert_refused_with(
        &hbgrind_with(&["--tool=none", &show(&prog), "arg"]),
        &format!("hbgrind: {}: no such file", show(&prog)),
        127,
    );
}

#[test]
fn command_not_in_path() {
    assert_refused_with(
        &hbgrind_with(&["hbgrind-test-no-such-command"]),
        "hbgrind: hbgrind-test-no-such-command: command not found in PATH",
        127,
    );
}

#[test]
fn not_executable() {
    let dir = scratch_dir("launcher-not-executable");
    let prog = dir.join("script.sh");
    write_file(&prog, b"#!/bin/sh\necho hello\n", 0o644);
    assert_file_refused(&prog, "permission denied (not executable)");
}

#[test]
fn not_executable_in_path() {
    // execvp reports a non-executable file found in PATH as EACCES.
    let dir = scratch_dir("launcher-not-executable-in-path");
    let prog = dir.join("hbgrind-test-plain-file");
    write_file(&prog, b"#!/bin/sh\necho hello\n", 0o644);
    let out = Run::new(hbgrind())
        .arg("hbgrind-test-plain-file")
        .env("PATH", &dir)
        .native();
    assert_refused_with(
        &out,
        &format!(
            "hbgrind: {}: permission denied (not executable)",
            show(&prog)
        ),
        126,
    );
}

#[test]
fn directory() {
    let dir = scratch_dir("launcher-directory");
    assert_file_refused(&dir, "is a directory");
}

#[test]
fn text_file_without_shebang_runs_with_sh() {
    // As execvp(3), bash and Valgrind do (tests/tests/reliability.rs runs
    // it and compares with a native run).
    let dir = scratch_dir("launcher-text");
    let prog = dir.join("notes.txt");
    write_file(&prog, b"echo this is a script for sh\n", 0o755);
    let out = hbgrind_with(&["--tool=none", "-q", &show(&prog)]);
    assert_eq!(out.stdout_text(), "this is a script for sh\n");
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
}

#[test]
fn elf32() {
    // No multilib on these machines (gcc -m32 cannot link), so a
    // hand-made ELF32 header stands in for an i386 executable.
    let dir = scratch_dir("launcher-elf32");
    let prog = dir.join("prog32");
    write_file(&prog, &elf_header(false, EM_386, ET_EXEC), 0o755);
    assert_file_refused(&prog, "32-bit program; hbgrind runs x86-64 programs only");
}

#[test]
fn elf64_for_another_machine() {
    let dir = scratch_dir("launcher-aarch64");
    let prog = dir.join("prog-arm");
    write_file(&prog, &elf_header(true, EM_AARCH64, ET_EXEC), 0o755);
    assert_file_refused(&prog, "AArch64 program; hbgrind runs x86-64 programs only");
}

#[test]
fn elf_object_file() {
    let dir = scratch_dir("launcher-object");
    let prog = dir.join("thing.o");
    write_file(&prog, &elf_header(true, EM_X86_64, ET_REL), 0o755);
    assert_file_refused(
        &prog,
        "ELF file is not an executable (relocatable object or core dump?)",
    );
}

#[test]
fn truncated_elf() {
    let dir = scratch_dir("launcher-truncated");
    let prog = dir.join("truncated");
    write_file(&prog, &elf_header(true, EM_X86_64, ET_EXEC)[..20], 0o755);
    assert_file_refused(&prog, "malformed ELF file");
}

#[test]
fn static_executable() {
    assert!(
        Path::new("/usr/lib/x86_64-linux-gnu/libc.a").exists(),
        "libc.a is needed to build a static test program (apt-get install libc6-dev)"
    );
    let prog = Program::build_with("exit_status.c", &["-static"]);
    assert_refused_with(
        &hbgrind_with(&[&show(&prog.path), "3"]),
        &format!(
            "hbgrind: {}: statically linked; hbgrind needs a dynamically linked program",
            show(&prog.path)
        ),
        126,
    );
}

#[test]
fn static_pie_executable() {
    // static-pie is ET_DYN like a PIE, but has no PT_INTERP either.
    let prog = Program::build_with("exit_status.c", &["-static-pie"]);
    assert_refused_with(
        &hbgrind_with(&[&show(&prog.path), "3"]),
        &format!(
            "hbgrind: {}: statically linked; hbgrind needs a dynamically linked program",
            show(&prog.path)
        ),
        126,
    );
}

#[test]
fn script_with_missing_interpreter() {
    let dir = scratch_dir("launcher-missing-interpreter");
    let prog = dir.join("script");
    write_file(&prog, b"#!/nonexistent/bin/interp -x\necho hi\n", 0o755);
    assert_refused_with(
        &hbgrind_with(&[&show(&prog)]),
        &format!(
            "hbgrind: {}: bad interpreter /nonexistent/bin/interp: no such file",
            show(&prog)
        ),
        126,
    );
}

#[test]
fn script_with_static_interpreter() {
    // The interpreter is checked like PROG itself.
    let interp = Program::build_with("exit_status.c", &["-static"]);
    let dir = scratch_dir("launcher-static-interpreter");
    let prog = dir.join("script");
    write_file(
        &prog,
        format!("#!{}\n", show(&interp.path)).as_bytes(),
        0o755,
    );
    assert_refused_with(
        &hbgrind_with(&[&show(&prog)]),
        &format!(
            "hbgrind: {}: statically linked; hbgrind needs a dynamically linked program",
            show(&interp.path)
        ),
        126,
    );
}

#[test]
fn script_with_empty_shebang() {
    let dir = scratch_dir("launcher-empty-shebang");
    let prog = dir.join("script");
    write_file(&prog, b"#!   \necho hi\n", 0o755);
    assert_file_refused(&prog, "malformed #! line");
}

#[test]
fn script_interpreter_loop() {
    let dir = scratch_dir("launcher-interpreter-loop");
    let prog = dir.join("script");
    write_file(&prog, format!("#!{}\n", show(&prog)).as_bytes(), 0o755);
    assert_file_refused(&prog, "too many levels of #! interpreters");
}

/// A copy of hbgrind in a directory without the runtime next to it.
fn lonely_hbgrind(dir: &Path) -> PathBuf {
    let copy = dir.join("hbgrind");
    std::fs::copy(hbgrind(), &copy).unwrap();
    copy
}

#[test]
fn runtime_missing() {
    let dir = scratch_dir("launcher-runtime-missing");
    let launcher = lonely_hbgrind(&dir);
    let out = Run::new(&launcher)
        .args(["--tool=none", "/bin/true"])
        .native();
    assert_refused(
        &out,
        &format!(
            "hbgrind: runtime library not found at {}; build it with cargo build --workspace",
            show(&dir.join("libhbgrind_rt.so"))
        ),
    );
}

#[test]
fn runtime_is_built_next_to_hbgrind() {
    assert!(profile_dir().join("libhbgrind_rt.so").is_file());
}

/// The environment the program starts with, as the kernel gave it
/// (`/proc/self/environ`, so nothing the runtime does later can hide it).
fn initial_environment(out: &Output) -> Vec<(String, String)> {
    out.stdout
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (k, v) = text.split_once('=').unwrap_or((&text, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A suppression file the race tool cannot use stops hbgrind before the
/// program runs, with one `FILE:LINE: message` line.
#[test]
fn malformed_or_missing_suppression_file() {
    let dir = scratch_dir("launcher-suppressions");
    let bad = dir.join("bad.supp");
    std::fs::write(&bad, "{\n   name\n   Helgrind:Race\n   fun:main\n").unwrap();
    let out = hbgrind_with(&[&format!("--suppressions={}", show(&bad)), "/bin/true"]);
    let line = out.stderr_text();
    assert!(
        line.starts_with(&format!("hbgrind: {}:", show(&bad))) && line.lines().count() == 1,
        "{line}"
    );
    assert_eq!(out.status.code(), Some(1), "{line}");
    let missing = dir.join("missing.supp");
    assert_refused(
        &hbgrind_with(&[&format!("--suppressions={}", show(&missing)), "/bin/true"]),
        &format!(
            "hbgrind: {}: cannot read suppression file: no such file",
            show(&missing)
        ),
    );
}

fn lookup<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn runtime_contract_environment() {
    let dir = scratch_dir("launcher-environment");
    let out = Run::new("cat")
        .arg("/proc/self/environ")
        .dir(&dir)
        .env("LD_PRELOAD", "libexample.so")
        .env("RUN_NAME", "r1")
        .under_hbgrind(&[
            "--tool=none",
            // Expanded by the runtime to a file it can create (one it
            // cannot stops the run: tests/tests/dropin.rs).
            "--log-file=log.%p.%q{RUN_NAME}",
            "--suppressions=a.supp",
            "--suppressions=b.supp",
            "-q",
        ]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let env = initial_environment(&out);
    let runtime = profile_dir().join("libhbgrind_rt.so");
    assert_eq!(
        lookup(&env, "LD_PRELOAD"),
        Some(format!("{}:libexample.so", show(&runtime)).as_str())
    );
    assert_eq!(
        lookup(&env, "HBGRIND_OPTIONS"),
        Some("--tool=none\x1f--log-file=log.%p.%q{RUN_NAME}\x1f--suppressions=a.supp\x1f--suppressions=b.supp\x1f-q")
    );
    assert_eq!(
        lookup(&env, "HBGRIND_LAUNCHER"),
        Some(show(&hbgrind()).as_str())
    );
}

#[test]
fn exit_status_is_the_programs() {
    let prog = Program::build("exit_status.c");
    for code in ["0", "3", "42", "255"] {
        let out = prog.run([code]).under_hbgrind(&["--tool=none"]);
        assert_eq!(
            out.status_text(),
            format!("exit {code}"),
            "{}",
            out.stderr_text()
        );
        assert_eq!(out.stdout_text(), format!("exiting with {code}\n"));
    }
}

#[test]
fn death_by_signal_is_the_programs() {
    use std::os::unix::process::ExitStatusExt;
    let prog = Program::build("exit_status.c");
    for (arg, signal) in [("abort", 6), ("segv", 11), ("term", 15)] {
        let native = prog.run([arg]).native();
        assert_eq!(native.status.signal(), Some(signal));
        let out = prog.run([arg]).under_hbgrind(&["--tool=none"]);
        assert_eq!(out.status.signal(), Some(signal), "{}", out.stderr_text());
    }
}

#[test]
fn shebang_script_runs_its_interpreter_with_its_argument() {
    // `#!/bin/sh -e`: PROG becomes /bin/sh with `-e SCRIPT ARGS...`; `-e`
    // makes the failing `false` end the script with status 1.
    let dir = scratch_dir("launcher-shebang");
    let prog = dir.join("script.sh");
    write_file(
        &prog,
        b"#!/bin/sh -e\necho \"0=$0 args=$*\"\nfalse\necho not reached\n",
        0o755,
    );
    let run = Run::new(&prog).args(["a b", "c"]);
    let native = run.native();
    assert_eq!(
        native.stdout_text(),
        format!("0={} args=a b c\n", show(&prog))
    );
    assert_eq!(native.status.code(), Some(1));
    hbgrind_tests::assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
}

#[test]
fn shebang_script_found_in_path() {
    let dir = scratch_dir("launcher-shebang-path");
    let prog = dir.join("hbgrind-test-script");
    write_file(&prog, b"#!/bin/sh\necho \"0=$0 1=$1\"\nexit 5\n", 0o755);
    let path = format!("{}:{}", show(&dir), std::env::var("PATH").unwrap());
    let run = Run::new("hbgrind-test-script").arg("x").env("PATH", &path);
    let native = run.native();
    assert_eq!(native.stdout_text(), format!("0={} 1=x\n", show(&prog)));
    assert_eq!(native.status.code(), Some(5));
    hbgrind_tests::assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
}

#[test]
fn python3_in_path_is_python_itself_under_the_runtime() {
    // `python3` on PATH may be a pyenv shim (a bash script that execs
    // `pyenv exec python3`). The launcher follows such shims, so the process
    // started under the runtime is Python itself, not env or bash.
    let script = "import os, sys\n\
        env = dict(e.split(b'=', 1) for e in open('/proc/self/environ', 'rb').read().split(b'\\0') if b'=' in e)\n\
        print(os.path.basename(os.readlink('/proc/self/exe')).startswith('python'))\n\
        print(b'libhbgrind_rt.so' in env.get(b'LD_PRELOAD', b''))\n\
        print(b'HBGRIND_LAUNCHER' in env)\n";
    let out = Run::new("python3")
        .args(["-c", script])
        .under_hbgrind(&["--tool=none"]);
    assert_eq!(
        out.stdout_text(),
        "True\nTrue\nTrue\n",
        "{}",
        out.stderr_text()
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn python3_shim_resolution_matches_native() {
    // Same interpreter, same sys.executable and argv as the shim gives.
    let run = Run::new("python3").args([
        "-c",
        "import sys; print(sys.executable, sys.version_info[:2], sys.argv)",
    ]);
    hbgrind_tests::assert_same(&run.native(), &run.under_hbgrind(&["--tool=none"]));
}

#[test]
fn program_arguments_that_look_like_options() {
    let run = Run::new("/bin/echo").args(["--tool=race", "-q", "--help", "--"]);
    let native = run.native();
    assert_eq!(native.stdout_text(), "--tool=race -q --help --\n");
    hbgrind_tests::assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
}

#[test]
fn double_dash_ends_hbgrind_options() {
    let out = Run::new("--")
        .args(["/bin/echo", "-n", "x"])
        .under_hbgrind(&["--tool=none"]);
    assert_eq!(out.stdout_text(), "x");
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
}

#[test]
fn argv0_is_prog_as_typed() {
    // A shell passes the name as typed; programs print it in messages.
    let out = Run::new("sh")
        .args(["-c", "echo \"$0\""])
        .under_hbgrind(&["--tool=none"]);
    assert_eq!(out.stdout_text(), "sh\n", "{}", out.stderr_text());
    let native = Command::new("sh")
        .args(["-c", "echo \"$0\""])
        .output()
        .unwrap();
    assert_eq!(native.stdout, b"sh\n");
}

#[test]
fn env_shebang_runs_the_named_interpreter_under_the_runtime() {
    // `#!/usr/bin/env python3`: the launcher does env's PATH lookup itself,
    // so Python (not env, whose child would run untraced) is analysed, and
    // Python sees the argv env would have given it.
    let dir = scratch_dir("launcher-env-shebang");
    let prog = dir.join("script.py");
    write_file(
        &prog,
        b"#!/usr/bin/env python3\n\
          import sys\n\
          env = open('/proc/self/environ', 'rb').read()\n\
          print(sys.argv[1:], b'libhbgrind_rt.so' in env)\n\
          sys.exit(6)\n",
        0o755,
    );
    let run = Run::new(&prog).args(["x", "--y"]);
    let native = run.native();
    assert_eq!(native.stdout_text(), "['x', '--y'] False\n");
    let out = run.under_hbgrind(&["--tool=none"]);
    assert_eq!(
        out.stdout_text(),
        "['x', '--y'] True\n",
        "{}",
        out.stderr_text()
    );
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn env_shebang_with_missing_command() {
    let dir = scratch_dir("launcher-env-shebang-missing");
    let prog = dir.join("script");
    write_file(
        &prog,
        b"#!/usr/bin/env hbgrind-test-no-such-interpreter\n",
        0o755,
    );
    assert_refused_with(
        &hbgrind_with(&[&show(&prog)]),
        "hbgrind: hbgrind-test-no-such-interpreter: command not found in PATH",
        127,
    );
}

#[test]
fn setuid_program_of_another_user() {
    // ld.so ignores LD_PRELOAD in secure-execution mode, so such a program
    // would run unanalysed: refused. As root, a copy handed to nobody is
    // such a program; for anyone else, the system's set-user-ID-root passwd.
    let is_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let prog = if is_root {
        let dir = scratch_dir("launcher-setuid");
        let prog = dir.join("setuid-prog");
        std::fs::copy(Program::build("exit_status.c").path, &prog).unwrap();
        let chown = Command::new("chown")
            .arg("65534")
            .arg(&prog)
            .status()
            .unwrap();
        assert!(chown.success(), "chown 65534 {} failed", show(&prog));
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o4755)).unwrap();
        prog
    } else {
        PathBuf::from("/usr/bin/passwd")
    };
    assert_refused_with(
        &hbgrind_with(&[&show(&prog), "0"]),
        &format!(
            "hbgrind: {}: set-user-ID or set-group-ID program; the dynamic loader would ignore hbgrind's runtime (run hbgrind as that user instead)",
            show(&prog)
        ), 126);
}

#[test]
fn log_file_takes_the_tool_output() {
    // --log-file=F: the tool's ==PID== lines go to F (%p is the pid of the
    // process writing), the program's own output stays on stdout/stderr.
    let dir = scratch_dir("launcher-log-file");
    let out = Run::new("/bin/sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .dir(&dir)
        .under_hbgrind(&["--tool=inscount", "--log-file=log.%p"]);
    assert_eq!(out.stdout_text(), "out\n");
    assert_eq!(out.stderr_text(), "err\n");
    assert_eq!(out.status.code(), Some(3));
    let logs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(logs.len(), 1, "expected one log file, found {logs:?}");
    let pid = logs[0].strip_prefix("log.").expect("log.PID");
    assert!(pid.parse::<u32>().is_ok(), "{} is not log.PID", logs[0]);
    let log = std::fs::read_to_string(dir.join(&logs[0])).unwrap();
    assert!(!log.is_empty());
    for line in log.lines() {
        assert!(
            line.starts_with(&format!("=={pid}==")),
            "{line:?} in {}",
            logs[0]
        );
    }
}

#[test]
fn log_file_expands_environment_variables() {
    // %q{VAR} is the value of $VAR, as in Valgrind; the launcher passes it
    // on unexpanded and the runtime expands it.
    let dir = scratch_dir("launcher-log-file-q");
    let out = Run::new("/bin/true")
        .dir(&dir)
        .env("HBGRIND_TEST_RUN", "run42")
        .under_hbgrind(&["--tool=inscount", "--log-file=log.%q{HBGRIND_TEST_RUN}"]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        dir.join("log.run42").is_file(),
        "no log.run42 in {}: {:?}",
        dir.display(),
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
}

/// The race tool is the default, `helgrind` and `drd` name it too: a
/// Valgrind-style preamble and the `ERROR SUMMARY`, nothing with `-q`.
#[test]
fn the_race_tool_is_the_default_and_helgrind_and_drd_name_it() {
    let run = Run::new("/bin/true");
    for tool in [
        None,
        Some("--tool=race"),
        Some("--tool=helgrind"),
        Some("--tool=drd"),
    ] {
        let options: Vec<&str> = tool.into_iter().collect();
        let out = run.under_hbgrind(&options);
        let lines: Vec<String> = out
            .tool_lines()
            .iter()
            .map(|l| {
                l.split_once("== ")
                    .map(|(_, text)| text.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            lines,
            [
                format!(
                    "hbgrind-{}, a data race detector",
                    env!("CARGO_PKG_VERSION")
                ),
                "Command: /bin/true".to_string(),
                String::new(),
                String::new(),
                "ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)".to_string(),
            ],
            "{tool:?}"
        );
        assert_eq!(out.status.code(), Some(0));
    }
    let quiet = run.under_hbgrind(&["-q"]);
    assert!(quiet.tool_lines().is_empty());
    assert!(run.under_hbgrind(&["--tool=none"]).tool_lines().is_empty());
}

/// A malformed `--lock-model` file is refused with its `file:line` before
/// anything runs; a missing one names itself; a good one lets the program run.
#[test]
fn a_malformed_lock_model_is_refused_before_the_program_runs() {
    let dir = scratch_dir("launcher_lock_model");
    let marker = dir.join("ran");
    let _ = std::fs::remove_file(&marker);
    let script = format!("touch {}", show(&marker));
    let bad = dir.join("bad.model");
    std::fs::write(
        &bad,
        "# my locks\nmy_lock: lock arg0 at exit\nmy_unlock: unlock arg0 at entrance\n",
    )
    .unwrap();
    let option = format!("--lock-model={}", show(&bad));
    assert_refused(
        &hbgrind_with(&[&option, "/bin/sh", "-c", &script]),
        &format!(
            "hbgrind: {}:3: expected `at entry` or `at exit`, found `entrance`",
            show(&bad)
        ),
    );
    assert!(!marker.exists(), "the program ran");
    let missing = dir.join("missing.model");
    assert_refused(
        &hbgrind_with(&[
            &format!("--lock-model={}", show(&missing)),
            "/bin/sh",
            "-c",
            &script,
        ]),
        &format!(
            "hbgrind: {}: cannot read lock model: no such file",
            show(&missing)
        ),
    );
    assert!(!marker.exists(), "the program ran");
    let good = dir.join("good.model");
    std::fs::write(&good, "my_lock: lock arg0 at exit\n").unwrap();
    let out = hbgrind_with(&[
        "--tool=none",
        &format!("--lock-model={}", show(&good)),
        "/bin/sh",
        "-c",
        &script,
    ]);
    assert!(out.status.success(), "{}", out.stderr_text());
    assert!(marker.exists(), "the program did not run");
}
