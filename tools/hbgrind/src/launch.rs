//! Launching a program under the runtime: `hbgrind [OPTIONS] PROG [ARGS...]`.
//!
//! The launcher parses the options (`options`), finds and checks the program
//! (`program`), then replaces itself with the program by `execve`, so the
//! exit status, and death by a signal, are the program's own. Nothing of
//! hbgrind's runs natively after that: the runtime's constructor takes over.
//!
//! # The contract with the runtime (tools/runtime, dbi)
//! The program is exec'ed with its own environment plus:
//! - `LD_PRELOAD`: the absolute path of `libhbgrind_rt.so` in the directory
//!   of the running `hbgrind` executable, put first; an existing value is
//!   kept after it, separated by `:`.
//! - `HBGRIND_OPTIONS`: every option the user gave before PROG, verbatim and
//!   in order (`--` excluded), joined by the ASCII unit separator 0x1f, e.g.
//!   `--tool=none\x1f--log-file=x.%p`. Empty if there were none. Values are
//!   already validated (`options`), `%p` and `%q{VAR}` are left for the
//!   runtime to expand, aliases are not rewritten (`--tool=helgrind` stays),
//!   and a repeated option appears as often as it was given (for
//!   `--suppressions=` each counts; for the others the last one wins).
//! - `HBGRIND_LAUNCHER`: the absolute path of the `hbgrind` executable, for
//!   re-launching traced children (`--trace-children=yes`).
//!
//! argv is what a shell would pass: argv[0] is PROG as typed (or, for a
//! `#!` script, the interpreter as written on the `#!` line, followed by its
//! optional argument and the script's path; see `program`).
//!
//! `std::process::Command::exec` resets the signal mask and `SIGPIPE` to
//! their defaults before `execve`; the latter undoes the `SIG_IGN` that
//! Rust's runtime sets at start-up, so `hbgrind prog | head` ends `prog` by
//! `SIGPIPE` as a native run would.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::options::{self, Command};
use crate::program;

/// The runtime, built by `cargo build` next to the `hbgrind` binary.
const RUNTIME_FILE: &str = "libhbgrind_rt.so";

/// Separates options in `HBGRIND_OPTIONS` (ASCII unit separator).
const OPTION_SEPARATOR: char = '\x1f';

/// Why the program could not be started. One line each, naming the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    #[error(transparent)]
    Option(#[from] options::OptionError),
    #[error(transparent)]
    LockModel(#[from] lockmodels::LockModelError),
    #[error("{}: no such file", .0.display())]
    NotFound(PathBuf),
    #[error("{}: command not found in PATH", .0.to_string_lossy())]
    NotInPath(OsString),
    #[error("{}: is a directory", .0.display())]
    Directory(PathBuf),
    #[error("{}: not a regular file", .0.display())]
    NotRegular(PathBuf),
    #[error("{}: permission denied (not executable)", .0.display())]
    NotExecutable(PathBuf),
    #[error("{}: cannot read: {}", .0.display(), .1)]
    Read(PathBuf, std::io::Error),
    #[error("{}: not an ELF executable and no #! script", .0.display())]
    NotElf(PathBuf),
    #[error("{}: bad interpreter {}: no such file", .0.display(), .1.display())]
    MissingInterpreter(PathBuf, PathBuf),
    #[error("{}: malformed #! line", .0.display())]
    BadInterpreterLine(PathBuf),
    #[error("{}: too many levels of #! interpreters", .0.display())]
    TooManyInterpreters(PathBuf),
    #[error("{}: set-user-ID or set-group-ID program; the dynamic loader would ignore hbgrind's runtime (run hbgrind as that user instead)", .0.display())]
    SetId(PathBuf),
    #[error("{}: malformed ELF file", .0.display())]
    CorruptElf(PathBuf),
    #[error("{}: 32-bit program; hbgrind runs x86-64 programs only", .0.display())]
    Not64Bit(PathBuf),
    #[error("{}: {} program; hbgrind runs x86-64 programs only", .0.display(), .1)]
    WrongMachine(PathBuf, String),
    #[error("{}: ELF file is not an executable (relocatable object or core dump?)", .0.display())]
    NotExecutableElf(PathBuf),
    #[error("{}: statically linked; hbgrind needs a dynamically linked program", .0.display())]
    Static(PathBuf),
    #[error("cannot find the hbgrind executable: {0}")]
    SelfPath(std::io::Error),
    #[error("runtime library not found at {}; build it with cargo build --workspace", .0.display())]
    RuntimeMissing(PathBuf),
    #[error("{}: cannot execute: {}", .0.display(), .1)]
    Exec(PathBuf, std::io::Error),
}

impl LaunchError {
    /// The exit status a shell (and Valgrind) gives this failure: 127 for a
    /// program that is not there, 126 for one found but not runnable, 1
    /// for a bad command line or a broken hbgrind installation.
    pub(crate) fn exit_status(&self) -> u8 {
        match self {
            LaunchError::NotFound(_) | LaunchError::NotInPath(_) => 127,
            LaunchError::Option(_)
            | LaunchError::LockModel(_)
            | LaunchError::SelfPath(_)
            | LaunchError::RuntimeMissing(_) => 1,
            _ => 126,
        }
    }
}

/// `hbgrind [OPTIONS] PROG [ARGS...]`; `args` includes argv[0].
/// Returns only for `--help`, `--version` and errors: otherwise it execs.
pub(crate) fn main(args: &[OsString]) -> anyhow::Result<ExitCode> {
    let presets = presets();
    let command = options::parse_with(&presets, args.get(1..).unwrap_or_default())
        .map_err(LaunchError::Option)?;
    match command {
        Command::Help => {
            print!("{}", options::usage());
            Ok(ExitCode::SUCCESS)
        }
        Command::Version => {
            println!("{}", options::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(options) => Err(launch(&options).into()),
    }
}

/// Checks the program and execs it under the runtime; returns only on error.
fn launch(options: &options::Options) -> LaunchError {
    if let Err(err) = check_lock_models(&options.lock_models) {
        return err.into();
    }
    let target = match program::resolve(&options.program, &options.args) {
        Ok(target) => target,
        Err(err) => return err,
    };
    let launcher = match std::env::current_exe() {
        Ok(path) => path,
        Err(err) => return LaunchError::SelfPath(err),
    };
    let runtime = launcher.with_file_name(RUNTIME_FILE);
    if !runtime.is_file() {
        return LaunchError::RuntimeMissing(runtime);
    }
    let mut command = std::process::Command::new(&target.path);
    command
        .arg0(&target.argv[0])
        .args(&target.argv[1..])
        .envs(target.env.iter().map(|(k, v)| (k, v)))
        .env("LD_PRELOAD", ld_preload(&runtime))
        .env(
            "HBGRIND_OPTIONS",
            options.raw.join(&OPTION_SEPARATOR.to_string()),
        )
        .env("HBGRIND_LAUNCHER", &launcher);
    LaunchError::Exec(target.path, command.exec())
}

/// The options given before the command line, in the order they apply:
/// `~/.valgrindrc`, `$VALGRIND_OPTS`, `./.valgrindrc`, then hbgrind's own
/// `~/.hbgrindrc`, `$HBGRIND_OPTS`, `./.hbgrindrc` (Valgrind's order,
/// hbgrind's after Valgrind's so they win). As Valgrind does, an rc file
/// that is world-writable or not owned by the user is not read (with a
/// warning), and `./` is not read again when it is the home directory.
fn presets() -> Vec<options::Preset> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let cwd_is_home = match (&home, std::env::current_dir()) {
        (Some(home), Ok(cwd)) => {
            std::fs::canonicalize(home).ok() == std::fs::canonicalize(cwd).ok()
        }
        _ => false,
    };
    let mut presets = Vec::new();
    for (rc, var) in [
        (".valgrindrc", "VALGRIND_OPTS"),
        (".hbgrindrc", "HBGRIND_OPTS"),
    ] {
        if let Some(home) = &home {
            presets.extend(rc_file(home.join(rc), home.join(rc)));
        }
        if let Some(text) = std::env::var_os(var) {
            presets.push(options::Preset {
                origin: options::Origin::Env(var),
                words: options::split_words(&text.to_string_lossy()),
            });
        }
        if !cwd_is_home {
            presets.extend(rc_file(PathBuf::from(rc), PathBuf::from(".").join(rc)));
        }
    }
    presets.retain(|p| !p.words.is_empty());
    presets
}

/// The options in rc file `path` (shown as `shown`), if it may be read.
fn rc_file(path: PathBuf, shown: PathBuf) -> Option<options::Preset> {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    // Our effective uid: the owner of /proc/self.
    let euid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if !meta.is_file() || Some(meta.uid()) != euid || meta.mode() & 0o002 != 0 {
        eprintln!(
            "hbgrind: warning: {} was not read as it is either not a regular file, or is world writeable, or is not owned by the current user",
            shown.display()
        );
        return None;
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut &file, &mut text).ok()?;
    Some(options::Preset {
        origin: options::Origin::File(shown),
        words: options::split_words(&text),
    })
}

/// Parses each `--lock-model` file, so a malformed one is refused with its
/// `file:line` before anything runs (the runtime reads them again).
fn check_lock_models(files: &[String]) -> Result<(), lockmodels::LockModelError> {
    for file in files {
        let text = std::fs::read(file).map_err(|err| lockmodels::LockModelError::Read {
            file: file.clone(),
            reason: io_reason(&err),
        })?;
        lockmodels::LockModel::parse(file, &String::from_utf8_lossy(&text))?;
    }
    Ok(())
}

/// The same words the runtime uses for a file it cannot read.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => err.to_string(),
    }
}

/// Our runtime first, then whatever the user preloads.
fn ld_preload(runtime: &std::path::Path) -> OsString {
    let mut value = runtime.as_os_str().to_os_string();
    match std::env::var_os("LD_PRELOAD") {
        Some(existing) if !trim_separators(&existing).is_empty() => {
            value.push(":");
            value.push(existing);
        }
        _ => {}
    }
    value
}

fn trim_separators(value: &OsStr) -> &[u8] {
    let bytes = value.as_bytes();
    let start = bytes.iter().position(|b| !b" :".contains(b));
    start.map_or(&[], |start| &bytes[start..])
}
