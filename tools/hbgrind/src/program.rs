//! Which file the launcher really executes, and whether hbgrind can run it.
//!
//! `resolve` turns `PROG ARGS...` into the ELF executable to exec and its
//! argv, the way `execvp(3)` and the kernel would:
//! 1. PROG without a slash is looked up in `$PATH` (an empty entry is `.`);
//!    a file found without execute permission is remembered and reported
//!    only if nothing executable comes later, as `execvp` does.
//! 2. A `#!` script is replaced by its interpreter, as Valgrind does:
//!    `#!/bin/sh -e` makes `/bin/sh -e SCRIPT ARGS...`, the interpreter's
//!    argv[0] being the path from the `#!` line and SCRIPT the path that
//!    would have been exec'ed. The `#!` line is read as the kernel reads it
//!    (first 256 bytes, one optional argument that may contain spaces), and
//!    the interpreter is checked in turn, up to `MAX_INTERPRETER_DEPTH`
//!    levels (the kernel's limit).
//!    One exception: `#!/usr/bin/env NAME` (or `/bin/env`), with NAME one
//!    plain word, is resolved as env itself would, by looking NAME up in
//!    `$PATH`; argv becomes `NAME SCRIPT ARGS...`, exactly what env passes
//!    to `execvp`. Otherwise the analysed program would be env, and the
//!    interpreter the script is written for would run untraced.
//!    A file that is neither ELF nor `#!` (an empty file included) is a
//!    shell script: it runs as `/bin/sh SCRIPT ARGS...`, as `execvp(3)`,
//!    bash and Valgrind run it.
//! 3. A version-manager shim (see `Shim`) is followed to the program it
//!    would exec, so `hbgrind python3 x.py` analyses Python and not bash.
//! 4. A set-user-ID or set-group-ID file that would change our effective
//!    identity is refused: the kernel runs it in secure-execution mode,
//!    where ld.so ignores our `LD_PRELOAD`, so it would run unanalysed.
//! 5. The final file must be an x86-64 ELF executable (`ET_EXEC` or
//!    `ET_DYN`) with a `PT_INTERP` segment: the runtime is injected with
//!    `LD_PRELOAD`, which only the dynamic loader honours, so a static
//!    executable (static-pie included: it has no `PT_INTERP` either) and a
//!    32-bit or foreign one are refused before anything runs.
//!
//! # Version-manager shims (pyenv, rbenv, nodenv)
//! On these machines `python3` on `PATH` is `~/.pyenv/shims/python3`, a bash
//! script ending in `exec "/root/.pyenv/libexec/pyenv" exec "$program" "$@"`.
//! Run as a `#!` script (`#!/usr/bin/env bash`) it would make hbgrind
//! analyse bash running the shim, while pyenv's scripts and Python itself
//! run untraced (`--trace-children=no`), or, with `--trace-children=yes`,
//! analyse bash and pyenv's scripts before Python. Instead the launcher recognises that line and does what
//! `pyenv exec` does without running any shell under hbgrind: it asks the
//! manager (`MANAGER which NAME`, run natively with the shim's exported
//! `*_ROOT` variables) for the real program, prepends that program's
//! directory to `PATH` when it lies under the manager's root (as
//! `pyenv exec` does for non-system versions), exports the shim's variables,
//! and runs the real program with argv[0] set to its full path, as
//! `pyenv exec` does. If the manager cannot answer, the shim is run as an
//! ordinary `#!` script.
//! Differences from `pyenv exec` (documented, not hidden): `PYENV_VERSION`
//! is not exported and pyenv's `exec` hooks are not run.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::read::ReadCache;
use object::{Endianness, FileKind};

use crate::launch::LaunchError;

/// The kernel follows at most this many nested `#!` interpreters
/// (`BINPRM_MAX_RECURSION` is 4).
const MAX_INTERPRETER_DEPTH: usize = 4;

/// The shell that runs a script without a `#!` line (execvp's and Valgrind's).
const SHELL: &str = "/bin/sh";

/// The kernel reads the `#!` line from the first 256 bytes (`BINPRM_BUF_SIZE`).
const SHEBANG_BYTES: usize = 256;

/// What the launcher execs.
#[derive(Debug)]
pub(crate) struct Target {
    /// The ELF executable given to `execve`.
    pub(crate) path: PathBuf,
    /// Its full argv, argv[0] included.
    pub(crate) argv: Vec<OsString>,
    /// Environment changes made by a followed shim, applied before ours.
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// Resolves `program args...` to the ELF executable that runs it (module docs).
pub(crate) fn resolve(program: &OsStr, args: &[OsString]) -> Result<Target, LaunchError> {
    let path = locate(program)?;
    let mut target = Target {
        path,
        argv: std::iter::once(program.to_os_string())
            .chain(args.iter().cloned())
            .collect(),
        env: Vec::new(),
    };
    // The script whose interpreter `target.path` is, once there is one.
    let mut script_of: Option<PathBuf> = None;
    for _ in 0..=MAX_INTERPRETER_DEPTH {
        match (check_file(&target.path), script_of.take()) {
            (Err(LaunchError::NotFound(interpreter)), Some(script)) => {
                return Err(LaunchError::MissingInterpreter(script, interpreter))
            }
            (result, _) => result?,
        }
        let head = read_head(&target.path)?;
        if !head.starts_with(b"#!") {
            if head.starts_with(&elf::ELFMAG) {
                check_elf(&target.path)?;
                return Ok(target);
            }
            // Neither ELF nor `#!`: a shell script, as execvp(3), bash and
            // Valgrind run it (an empty file included), with `/bin/sh`.
            let script = std::mem::take(&mut target.path);
            target.argv = [OsString::from(SHELL), script.clone().into_os_string()]
                .into_iter()
                .chain(target.argv.into_iter().skip(1))
                .collect();
            target.path = PathBuf::from(SHELL);
            script_of = Some(script);
            continue;
        }
        if let Some(shim) = Shim::recognise(&target.path) {
            if let Some(real) = shim.follow(&target.path, &mut target.env) {
                target.argv[0] = real.clone().into_os_string();
                target.path = real;
                continue;
            }
        }
        let (interpreter, optional) = parse_shebang(&target.path, &head)?;
        // The script is passed on as the path that would have been exec'ed.
        let script = target.path.into_os_string();
        let rest = target.argv.into_iter().skip(1);
        if let Some(name) = env_shebang_command(&interpreter, optional.as_deref()) {
            // `#!/usr/bin/env NAME`: do env's execvp(NAME) here (module docs).
            target.path = locate(name)?;
            target.argv = [name.to_os_string(), script]
                .into_iter()
                .chain(rest)
                .collect();
            continue;
        }
        let mut argv = vec![interpreter.clone()];
        argv.extend(optional);
        argv.push(script.clone());
        argv.extend(rest);
        target.argv = argv;
        target.path = PathBuf::from(interpreter);
        script_of = Some(PathBuf::from(script));
    }
    Err(LaunchError::TooManyInterpreters(target.path))
}

/// Finds PROG: as given when it has a slash, else in `$PATH` like `execvp`.
fn locate(program: &OsStr) -> Result<PathBuf, LaunchError> {
    if program.is_empty() {
        return Err(LaunchError::NotFound(PathBuf::new()));
    }
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut not_executable = None;
    for dir in search.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() => {
                if is_executable(&candidate) {
                    return Ok(candidate);
                }
                not_executable.get_or_insert(candidate);
            }
            _ => {}
        }
    }
    match not_executable {
        Some(path) => Err(LaunchError::NotExecutable(path)),
        None => Err(LaunchError::NotInPath(program.to_os_string())),
    }
}

fn is_executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

/// The NAME of a `#!/usr/bin/env NAME` line, when env would do nothing but
/// `execvp(NAME, [NAME, SCRIPT, ARGS...])`: one word, no option, no
/// `VAR=value` assignment.
fn env_shebang_command<'a>(interpreter: &OsStr, optional: Option<&'a OsStr>) -> Option<&'a OsStr> {
    let name = optional?;
    let bytes = name.as_bytes();
    let is_env = interpreter == "/usr/bin/env" || interpreter == "/bin/env";
    let plain = !bytes.is_empty()
        && !bytes.starts_with(b"-")
        && !bytes.iter().any(|&b| b == b'=' || b == b' ' || b == b'\t');
    (is_env && plain).then_some(name)
}

/// Exists, is a regular file, and may be executed by us.
fn check_file(path: &Path) -> Result<(), LaunchError> {
    let meta = std::fs::metadata(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => LaunchError::NotFound(path.to_path_buf()),
        _ => LaunchError::Read(path.to_path_buf(), err),
    })?;
    if meta.is_dir() {
        return Err(LaunchError::Directory(path.to_path_buf()));
    }
    if !meta.is_file() {
        return Err(LaunchError::NotRegular(path.to_path_buf()));
    }
    // access(2) and not the mode bits: root may run anything with an x bit.
    if meta.permissions().mode() & 0o111 == 0 || !is_executable(path) {
        return Err(LaunchError::NotExecutable(path.to_path_buf()));
    }
    // A set-user-ID or set-group-ID program that changes our identity runs
    // in secure-execution mode, where ld.so ignores an LD_PRELOAD path with
    // a slash: it would run natively, unanalysed, without a word.
    let mode = meta.permissions().mode();
    let changes_user = mode & 0o4000 != 0 && meta.uid() != nix::unistd::getuid().as_raw();
    let changes_group = mode & 0o2000 != 0 && meta.gid() != nix::unistd::getgid().as_raw();
    if changes_user || changes_group {
        return Err(LaunchError::SetId(path.to_path_buf()));
    }
    Ok(())
}

fn read_head(path: &Path) -> Result<Vec<u8>, LaunchError> {
    let read_err = |err| LaunchError::Read(path.to_path_buf(), err);
    let mut head = Vec::with_capacity(SHEBANG_BYTES);
    File::open(path)
        .map_err(read_err)?
        .take(SHEBANG_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    Ok(head)
}

/// Splits a `#!` line as Linux does (fs/binfmt_script.c): the interpreter
/// ends at the first blank; the rest, trimmed, is one optional argument.
fn parse_shebang(path: &Path, head: &[u8]) -> Result<(OsString, Option<OsString>), LaunchError> {
    let line = &head[2..];
    let line = match line.iter().position(|&b| b == b'\n') {
        Some(end) => &line[..end],
        // The kernel accepts an unterminated line only if the interpreter
        // name is complete within the buffer; treat a full buffer as too long.
        None if head.len() == SHEBANG_BYTES => {
            return Err(LaunchError::BadInterpreterLine(path.to_path_buf()))
        }
        None => line,
    };
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let line = trim(line, is_blank);
    let end = line.iter().position(is_blank).unwrap_or(line.len());
    let (interpreter, rest) = line.split_at(end);
    if interpreter.is_empty() {
        return Err(LaunchError::BadInterpreterLine(path.to_path_buf()));
    }
    let rest = trim(rest, is_blank);
    let optional = (!rest.is_empty()).then(|| OsString::from_vec(rest.to_vec()));
    Ok((OsString::from_vec(interpreter.to_vec()), optional))
}

fn trim(mut bytes: &[u8], is_blank: impl Fn(&u8) -> bool) -> &[u8] {
    while let Some((first, rest)) = bytes.split_first() {
        if !is_blank(first) {
            break;
        }
        bytes = rest;
    }
    while let Some((last, rest)) = bytes.split_last() {
        if !is_blank(last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// Refuses anything but a dynamically linked x86-64 ELF executable.
fn check_elf(path: &Path) -> Result<(), LaunchError> {
    let file = File::open(path).map_err(|err| LaunchError::Read(path.to_path_buf(), err))?;
    let data = ReadCache::new(file);
    let corrupt = |_| LaunchError::CorruptElf(path.to_path_buf());
    match FileKind::parse(&data) {
        Ok(FileKind::Elf64) => {}
        Ok(FileKind::Elf32) => return Err(LaunchError::Not64Bit(path.to_path_buf())),
        _ if read_head(path)?.starts_with(&elf::ELFMAG) => {
            return Err(LaunchError::CorruptElf(path.to_path_buf()))
        }
        _ => return Err(LaunchError::NotElf(path.to_path_buf())),
    }
    let header = elf::FileHeader64::<Endianness>::parse(&data).map_err(corrupt)?;
    let endian = header.endian().map_err(corrupt)?;
    let machine = header.e_machine(endian);
    if machine != elf::EM_X86_64 {
        return Err(LaunchError::WrongMachine(
            path.to_path_buf(),
            machine_name(machine),
        ));
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC && kind != elf::ET_DYN {
        return Err(LaunchError::NotExecutableElf(path.to_path_buf()));
    }
    let segments = header.program_headers(endian, &data).map_err(corrupt)?;
    if !segments.iter().any(|s| s.p_type(endian) == elf::PT_INTERP) {
        return Err(LaunchError::Static(path.to_path_buf()));
    }
    Ok(())
}

fn machine_name(machine: u16) -> String {
    match machine {
        elf::EM_386 => "i386".into(),
        elf::EM_AARCH64 => "AArch64".into(),
        elf::EM_ARM => "ARM".into(),
        elf::EM_RISCV => "RISC-V".into(),
        elf::EM_PPC64 => "PowerPC64".into(),
        elf::EM_S390 => "s390x".into(),
        elf::EM_MIPS => "MIPS".into(),
        elf::EM_LOONGARCH => "LoongArch".into(),
        other => format!("machine {other}"),
    }
}

/// A version-manager shim: a small `#!` script whose last command is
/// `exec "MANAGER" exec "$program" "$@"` (pyenv, rbenv and nodenv all write
/// this form), with `export VAR="VALUE"` lines naming the manager's root.
struct Shim {
    manager: PathBuf,
    exports: Vec<(OsString, OsString)>,
}

impl Shim {
    /// Shims are a few hundred bytes; anything bigger is an ordinary script.
    const MAX_LEN: u64 = 4096;

    fn recognise(path: &Path) -> Option<Shim> {
        if std::fs::metadata(path).ok()?.len() > Self::MAX_LEN {
            return None;
        }
        let text = std::fs::read(path).ok()?;
        let text = std::str::from_utf8(&text).ok()?;
        let mut manager = None;
        let mut exports = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("exec \"") {
                let (path, tail) = rest.split_once('"')?;
                if tail.trim() == "exec \"$program\" \"$@\"" && path.starts_with('/') {
                    manager = Some(PathBuf::from(path));
                }
            } else if let Some(rest) = line.strip_prefix("export ") {
                // Only literal values: `export PYENV_ROOT="/root/.pyenv"`.
                if let Some((name, value)) = rest.split_once("=\"") {
                    if let Some(value) = value.strip_suffix('"') {
                        let literal = !value.contains(['$', '`', '\\', '"']);
                        let is_name = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                        if literal && is_name && !name.is_empty() {
                            exports.push((name.into(), value.into()));
                        }
                    }
                }
            }
        }
        Some(Shim {
            manager: manager?,
            exports,
        })
    }

    /// Asks the manager which program the shim at `path` runs; on success
    /// records the environment `MANAGER exec` would set in `env`.
    fn follow(&self, path: &Path, env: &mut Vec<(OsString, OsString)>) -> Option<PathBuf> {
        let name = path.file_name()?;
        let output = std::process::Command::new(&self.manager)
            .arg("which")
            .arg(name)
            .envs(self.exports.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let mut real = output.stdout;
        while real.last().is_some_and(|b| b.is_ascii_whitespace()) {
            real.pop();
        }
        let real = PathBuf::from(OsString::from_vec(real));
        if !real.is_absolute() || real == path {
            return None;
        }
        env.extend(self.exports.iter().cloned());
        let dir = real.parent()?;
        let under_root = self
            .exports
            .iter()
            .any(|(_, root)| !root.is_empty() && dir.starts_with(Path::new(root)));
        if under_root {
            let current = env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var_os("PATH"))
                .unwrap_or_default();
            let mut path_var = dir.as_os_str().to_os_string();
            if !current.is_empty() {
                path_var.push(":");
                path_var.push(current);
            }
            env.push(("PATH".into(), path_var));
        }
        Some(real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shebang(line: &str) -> (OsString, Option<OsString>) {
        parse_shebang(Path::new("s"), line.as_bytes()).unwrap()
    }

    #[test]
    fn shebang_lines_split_like_the_kernel() {
        assert_eq!(shebang("#!/bin/sh\necho"), ("/bin/sh".into(), None));
        assert_eq!(
            shebang("#! /bin/sh -e \necho"),
            ("/bin/sh".into(), Some("-e".into()))
        );
        assert_eq!(
            shebang("#!/usr/bin/env  python3 -u\t\n"),
            ("/usr/bin/env".into(), Some("python3 -u".into()))
        );
        assert_eq!(shebang("#!/bin/true"), ("/bin/true".into(), None));
        assert!(parse_shebang(Path::new("s"), b"#!  \n").is_err());
    }

    #[test]
    fn env_shebangs_resolved_only_when_env_would_just_exec() {
        let resolve = |interp: &str, arg: Option<&str>| {
            env_shebang_command(OsStr::new(interp), arg.map(OsStr::new))
                .map(|n| n.to_str().unwrap().to_string())
        };
        assert_eq!(
            resolve("/usr/bin/env", Some("python3")),
            Some("python3".into())
        );
        assert_eq!(resolve("/bin/env", Some("perl")), Some("perl".into()));
        assert_eq!(resolve("/usr/bin/env", Some("-S python3 -u")), None);
        assert_eq!(resolve("/usr/bin/env", Some("A=1")), None);
        assert_eq!(resolve("/usr/bin/env", Some("python3 -u")), None);
        assert_eq!(resolve("/usr/bin/env", None), None);
        assert_eq!(resolve("/opt/env", Some("python3")), None);
    }
}
