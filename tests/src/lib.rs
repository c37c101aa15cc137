//! Shared helpers for the integration tests.
//!
//! The tests run after `cargo build --workspace --release` (or the same in
//! another profile): `hbgrind` and `libhbgrind_rt.so` sit in
//! `target/<profile>/`, next to the `deps/` directory that holds the test
//! executable, and `hbgrind()` finds them there.
//!
//! - `Program::build` compiles `tests/programs/NAME` (`.c`, `.S` with `cc`,
//!   `.cpp` with `c++`; always `-g -O1 -pthread`) into a cache directory
//!   keyed by a hash of the source, the flags and the compiler, so each
//!   program is compiled once however many tests and test binaries use it.
//! - `Run` describes one command (program, args, stdin, directory, extra
//!   environment); `Run::native` and `Run::under_hbgrind` run it and capture
//!   an `Output`, killing the whole process group after `timeout()` so a
//!   hung translation fails the test instead of hanging the suite.
//! - `assert_same` compares two `Output`s exactly and, on a mismatch, says
//!   which stream differs and shows its first differing line.
//! - `scratch_dir` and `cached_file` give each test its own directory and
//!   generate deterministic inputs (large files, databases) once.
//! - `labels` (what the race programs expect), `races` (their names and
//!   builds) and `helgrind` (Helgrind-format reports read back as findings)
//!   serve the race tests.

#![forbid(unsafe_code)]

pub mod helgrind;
pub mod labels;
pub mod races;
pub mod xml;
use std::collections::hash_map::DefaultHasher;
use std::ffi::{OsStr, OsString};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `target/<profile>/`: where cargo put hbgrind, the runtime and the tests.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/NAME-HASH
    let deps = exe.parent().expect("test executables live in deps/");
    deps.parent()
        .expect("deps/ lives in target/<profile>/")
        .to_path_buf()
}

/// The `hbgrind` executable of this build profile, or the one named by
/// `HBGRIND_TEST_LAUNCHER` (to test an installed copy, or a copy next to a
/// do-nothing runtime when checking the tests themselves).
pub fn hbgrind() -> PathBuf {
    let path = std::env::var_os("HBGRIND_TEST_LAUNCHER")
        .map_or_else(|| profile_dir().join("hbgrind"), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` in this profile before the tests",
        path.display()
    );
    path
}

/// The repository's `tests/` directory.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/programs/NAME`.
pub fn program_source(name: &str) -> PathBuf {
    tests_dir().join("programs").join(name)
}

/// Where generated files live: `target/<profile>/hbgrind-tests/`.
fn work_root() -> PathBuf {
    profile_dir().join("hbgrind-tests")
}

/// A fresh, empty directory for one test: `hbgrind-tests/scratch/NAME`.
/// Test names are unique within the crate, so tests never share one.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = work_root()
        .join("scratch")
        .join(format!("{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("scratch dir removable");
    }
    std::fs::create_dir_all(&dir).expect("scratch dir creatable");
    dir
}

/// Serialises generation of cached files within one test binary; across
/// test binaries, atomic renames keep readers from seeing partial files.
static CACHE_LOCK: Mutex<()> = Mutex::new(());

/// A file generated once per `key` into the cache: `make(tmp)` writes it at
/// `tmp`, which is then renamed into place. `key` must change whenever the
/// content would (include sizes, seeds, versions).
pub fn cached_file(key: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let dir = work_root().join("cache");
    let path = dir.join(key);
    // A key may name a subdirectory (`races/NAME-HASH`): create it too.
    let dir = path.parent().unwrap_or(&dir).to_path_buf();
    std::fs::create_dir_all(&dir).expect("cache dir creatable");
    let _guard = CACHE_LOCK
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    if !path.exists() {
        let file_name = path.file_name().map_or_else(
            || key.to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let tmp = dir.join(format!("{file_name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_dir_all(&tmp);
        make(&tmp);
        std::fs::rename(&tmp, &path).expect("cache rename");
    }
    path
}

/// Deterministic pseudo-random numbers (xorshift64*), for generated inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A test program from `tests/programs/`, compiled for this run.
pub struct Program {
    pub path: PathBuf,
}

impl Program {
    /// Compiles `tests/programs/NAME` with `-g -O1 -pthread`.
    pub fn build(name: &str) -> Program {
        Program::build_with(name, &[])
    }

    /// Compiles `tests/programs/NAME` with `-g -O1 -pthread` and `extra`
    /// flags, which come after the source so libraries (`-lm`) link.
    pub fn build_with(name: &str, extra: &[&str]) -> Program {
        let source = program_source(name);
        let text =
            std::fs::read(&source).unwrap_or_else(|err| panic!("{}: {err}", source.display()));
        let compiler = if name.ends_with(".cpp") { "c++" } else { "cc" };
        let mut flags = vec!["-g", "-O1", "-pthread"];
        flags.extend_from_slice(extra);
        let mut hasher = DefaultHasher::new();
        (&text, compiler, &flags, compiler_version(compiler)).hash(&mut hasher);
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        let key = format!("{stem}-{:016x}", hasher.finish());
        let path = cached_file(&key, |out| {
            let status = Command::new(compiler)
                .args(&flags[..3])
                .arg(&source)
                .arg("-o")
                .arg(out)
                .args(&flags[3..])
                .status()
                .unwrap_or_else(|err| panic!("cannot run {compiler}: {err}"));
            assert!(
                status.success(),
                "{compiler} failed on {}",
                source.display()
            );
        });
        Program { path }
    }

    /// A `Run` of this program without arguments.
    pub fn command(&self) -> Run {
        Run::new(&self.path)
    }

    /// A `Run` of this program with `args`.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::new(&self.path).args(args)
    }
}

fn compiler_version(compiler: &str) -> String {
    Command::new(compiler)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// How long one run may take before it is killed and the test fails:
/// `HBGRIND_TEST_TIMEOUT` seconds, 300 by default (the slowest workload
/// takes about 3 s natively on a loaded machine).
pub fn timeout() -> Duration {
    let secs = std::env::var("HBGRIND_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// One command to run natively and under hbgrind.
#[derive(Clone, Debug)]
pub struct Run {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub stdin: Option<Vec<u8>>,
    pub dir: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
    /// How long the run may take (else `timeout()`).
    pub time_limit: Option<Duration>,
}

impl Run {
    pub fn new(program: impl AsRef<OsStr>) -> Run {
        Run {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            stdin: None,
            dir: None,
            env: Vec::new(),
            time_limit: None,
        }
    }

    /// Kills the run and fails after `limit` instead of `timeout()` (for
    /// programs that hang when the translator gets them wrong).
    pub fn time_limit(mut self, limit: Duration) -> Run {
        self.time_limit = Some(limit);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Run {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Bytes fed to stdin (else stdin is empty, `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(bytes.into());
        self
    }

    /// The working directory.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Run {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Run {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Runs the program directly.
    pub fn native(&self) -> Output {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        self.execute(command)
    }

    /// Runs `hbgrind OPTIONS... PROGRAM ARGS...`.
    pub fn under_hbgrind(&self, options: &[&str]) -> Output {
        let mut command = Command::new(hbgrind());
        command.args(options).arg(&self.program).args(&self.args);
        self.execute(command)
    }

    fn execute(&self, mut command: Command) -> Output {
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills its children too.
            .process_group(0);
        let description = format!("{command:?}");
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {description}: {err}"));
        let stdin = child.stdin.take().zip(self.stdin.clone());
        let feeder = std::thread::spawn(move || {
            if let Some((mut pipe, bytes)) = stdin {
                // The program may exit without reading everything.
                let _ = pipe.write_all(&bytes);
            }
        });
        let mut stdout_pipe = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stdout_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout_pipe.read_to_end(&mut bytes);
            bytes
        });
        let stderr_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut bytes);
            bytes
        });
        let limit = self.time_limit.unwrap_or_else(timeout);
        let status = loop {
            match child.try_wait().expect("waitpid") {
                Some(status) => break status,
                None if started.elapsed() > limit => {
                    kill_group(child.id());
                    let _ = child.wait();
                    panic!("timed out after {limit:?}, killed: {description}");
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        // Children left behind (a daemon, a hung subshell) would keep the
        // pipes open; wait for them within the same limit.
        while !(stdout_reader.is_finished() && stderr_reader.is_finished()) {
            if started.elapsed() > limit {
                kill_group(child.id());
                panic!("timed out after {limit:?} waiting for children of: {description}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = feeder.join();
        Output {
            command: description,
            stdout: stdout_reader.join().expect("stdout reader"),
            stderr: stderr_reader.join().expect("stderr reader"),
            status,
            elapsed: started.elapsed(),
        }
    }
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

/// What a run printed and how it ended.
pub struct Output {
    pub command: String,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: ExitStatus,
    pub elapsed: Duration,
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// `exit N` or `killed by signal N`.
    pub fn status_text(&self) -> String {
        describe_status(self.status)
    }

    /// stderr without the tool's own `==PID==` lines.
    pub fn stderr_without_tool_lines(&self) -> Vec<u8> {
        let mut kept = Vec::new();
        for line in self.stderr.split_inclusive(|&b| b == b'\n') {
            if !is_tool_line(line) {
                kept.extend_from_slice(line);
            }
        }
        kept
    }

    /// The tool's own lines on stderr: `==PID== ...`.
    pub fn tool_lines(&self) -> Vec<String> {
        self.stderr
            .split(|&b| b == b'\n')
            .filter(|line| is_tool_line(line))
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect()
    }
}

/// `==1234==` at the start of a line: Valgrind's prefix for tool output.
fn is_tool_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"==") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b"==")
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => format!("{status:?}"),
    }
}

/// Where two byte streams first differ: line number and both lines.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let mut e = expected.split(|&b| b == b'\n');
    let mut a = actual.split(|&b| b == b'\n');
    let mut line = 1;
    loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (None, None) => return "no difference".into(),
            (x, y) => {
                let show = |l: Option<&[u8]>| {
                    l.map_or("<end of output>".into(), |l| {
                        let mut s = String::from_utf8_lossy(l).into_owned();
                        if s.len() > 300 {
                            s.truncate(300);
                            s.push_str("...");
                        }
                        format!("{s:?}")
                    })
                };
                return format!(
                    "first difference at line {line}:\n    native: {}\n    hbgrind: {}",
                    show(x),
                    show(y)
                );
            }
        }
    }
}

/// Which of stdout, stderr and status differ, with the first differing lines.
fn differences(native: &Output, hbgrind: &Output, compare_stderr: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if native.stdout != hbgrind.stdout {
        problems.push(format!(
            "stdout differs ({} bytes native, {} under hbgrind); {}",
            native.stdout.len(),
            hbgrind.stdout.len(),
            first_difference(&native.stdout, &hbgrind.stdout)
        ));
    }
    if compare_stderr && native.stderr != hbgrind.stderr {
        problems.push(format!(
            "stderr differs; {}",
            first_difference(&native.stderr, &hbgrind.stderr)
        ));
    }
    if native.status != hbgrind.status {
        problems.push(format!(
            "status differs: native {}, hbgrind {}",
            native.status_text(),
            hbgrind.status_text()
        ));
    }
    problems
}

fn fail(native: &Output, hbgrind: &Output, problems: &[String]) -> ! {
    let tail = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    panic!(
        "{}\nnative:  {}\nhbgrind: {}\nhbgrind stderr (last lines):\n{}",
        problems.join("\n"),
        native.command,
        hbgrind.command,
        tail(&hbgrind.stderr)
    );
}

/// Asserts that stdout, stderr and the exit status are identical.
pub fn assert_same(native: &Output, hbgrind: &Output) {
    let problems = differences(native, hbgrind, true);
    if !problems.is_empty() {
        fail(native, hbgrind, &problems);
    }
}

/// Asserts that stdout and the exit status are identical and that the tool
/// printed its `==PID==` lines on stderr (for tools that report, such as
/// inscount, whose stderr is the program's plus the tool's).
pub fn assert_same_stdout_and_status(native: &Output, hbgrind: &Output) {
    let mut problems = differences(native, hbgrind, false);
    if hbgrind.tool_lines().is_empty() {
        problems.push("the tool printed no ==PID== lines on stderr".into());
    }
    if !problems.is_empty() {
        fail(native, hbgrind, &problems);
    }
}

/// Runs `run` natively and under `hbgrind --tool=none`; asserts the same
/// stdout, stderr and status. Returns the native output for further checks.
pub fn check_none(run: &Run) -> Output {
    let native = run.native();
    let translated = run.under_hbgrind(&["--tool=none"]);
    assert_same(&native, &translated);
    native
}

/// Runs `run` natively and under `hbgrind --tool=inscount`; asserts the same
/// stdout and status, and that inscount reported.
pub fn check_inscount(run: &Run) -> Output {
    let native = run.native();
    let counted = run.under_hbgrind(&["--tool=inscount"]);
    assert_same_stdout_and_status(&native, &counted);
    native
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_lines_are_recognised() {
        assert!(is_tool_line(b"==123== instructions: 5"));
        assert!(!is_tool_line(b"== not a pid =="));
        assert!(!is_tool_line(b"====x"));
        assert!(!is_tool_line(b"hello ==1=="));
    }

    #[test]
    fn first_difference_names_the_line() {
        assert_eq!(
            first_difference(b"a\nb\nc\n", b"a\nx\nc\n"),
            "first difference at line 2:\n    native: \"b\"\n    hbgrind: \"x\""
        );
        assert_eq!(
            first_difference(b"a\n", b"a\nmore\n"),
            "first difference at line 2:\n    native: \"\"\n    hbgrind: \"more\""
        );
    }
}
