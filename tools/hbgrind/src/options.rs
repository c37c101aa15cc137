//! The launcher's command line: `hbgrind [OPTIONS] PROG [ARGS...]`.
//!
//! Options follow Valgrind's style: `--name=value` (never `--name value`),
//! a few short flags (`-q`, `-v`), and option parsing stops at the first
//! argument that does not start with `-`: that is PROG, and everything after
//! it belongs to PROG even when it looks like an option. `--` also ends the
//! options (and is not passed on).
//!
//! # Why a hand parser and not clap
//! clap would accept `--tool none` and `--tool=none` alike, reorders and
//! merges repeated options, and reports errors over several lines with its
//! own wording. The launcher must instead (1) stop at PROG, (2) hand every
//! option to the runtime exactly as the user spelled it (`--log-file=x.%p`,
//! `%q{VAR}` unexpanded, repeated `--suppressions=`), and (3) answer a bad
//! option with one line, `unknown option '--foo'; see hbgrind --help`. A
//! table of option specs does that in less code than bending clap to it.
//!
//! # Invariants
//! - `Options::raw` holds every option argument in the user's order and
//!   spelling, minus `--`; it is what `HBGRIND_OPTIONS` carries.
//! - An option is in `raw` only if its value was validated here, so the
//!   runtime may treat a malformed value as an internal error.

use std::ffi::OsString;

/// A bad command line. Each message is one line and names the option.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum OptionError {
    #[error("unknown option '{0}'; see hbgrind --help")]
    Unknown(String),
    #[error("option '{option}' needs a value: {form}; see hbgrind --help")]
    MissingValue { option: String, form: String },
    #[error("bad value in option '{arg}': expected {expected}; see hbgrind --help")]
    BadValue { arg: String, expected: &'static str },
    /// A --log-file or --xml-file name that Valgrind would not expand.
    #[error("bad option '{arg}': {reason}; see hbgrind --help")]
    BadFileName { arg: String, reason: String },
    /// A malformed `--I1=`, `--D1=` or `--LL=` value.
    #[error("bad value in option '{arg}': {reason}; see hbgrind --help")]
    BadCache { arg: String, reason: String },
    #[error("no program given; usage: hbgrind [OPTIONS] PROG [ARGS...], see hbgrind --help")]
    NoProgram,
    #[error("--xml=yes needs a destination: --xml-fd=N or --xml-file=FILE; see hbgrind --help")]
    NoXmlDestination,
    /// An option file or variable holds something other than options.
    #[error("'{0}' is not an option (only options may be given there; the program goes on the command line)")]
    NotAnOption(String),
    /// A bad option read from an rc file or an environment variable.
    #[error("{origin}: {error}")]
    In {
        origin: String,
        error: Box<OptionError>,
    },
}

/// Which analysis the runtime runs. `helgrind` and `drd` are spellings of
/// `race`, accepted so Valgrind command lines work unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    None,
    Inscount,
    Cachegrind,
    Race,
}

/// What to do after parsing the command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Help,
    Version,
    Run(Options),
}

/// A parsed command line that runs a program.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// The option arguments, verbatim and in order (see module invariants).
    pub(crate) raw: Vec<String>,
    pub(crate) tool: Tool,
    pub(crate) trace_children: bool,
    /// `--lock-model=FILE` values, in order (checked before the program runs).
    pub(crate) lock_models: Vec<String>,
    /// PROG as the user typed it.
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
}

/// The kind of value an option takes, and how it is checked.
#[derive(Clone, Copy)]
enum Value {
    /// No value: `-q`, `--help`.
    Flag,
    /// One of the listed words.
    OneOf(&'static [&'static str], &'static str),
    /// An integer in `min..=max`.
    Int(u32, u32, &'static str),
    /// Any non-empty text (file names, patterns, filters).
    Text(&'static str),
    /// Any text, also empty (`--fullpath-after=`).
    AnyText(&'static str),
    /// A simulated cache: `<size>,<assoc>,<line_size>`, checked as Valgrind checks it.
    Cache,
}

#[derive(Clone, Copy)]
struct Spec {
    name: &'static str,
    value: Value,
    /// One line for `--help`; empty for a second spelling described elsewhere.
    help: &'static str,
}

impl Spec {
    /// How the option is written: `--tool=none|inscount|...`, `--num-callers=N`.
    fn form(&self) -> String {
        match self.value {
            Value::Flag => self.name.to_string(),
            Value::OneOf(words, _) => format!("{}={}", self.name, words.join("|")),
            Value::Int(..) => format!("{}=N", self.name),
            Value::Text(what) | Value::AnyText(what) => format!("{}={what}", self.name),
            Value::Cache => format!("{}=<size>,<assoc>,<line_size>", self.name),
        }
    }
}

const YES_NO: Value = Value::OneOf(&["yes", "no"], "yes or no");

const SPECS: &[Spec] = &[
    Spec {
        name: "--tool",
        value: Value::OneOf(
            &["none", "inscount", "cachegrind", "race", "helgrind", "drd"],
            "none, inscount, cachegrind, race, helgrind or drd",
        ),
        help: "the tool to run: none, inscount, cachegrind, race [race]; helgrind and drd mean race",
    },
    Spec {
        name: "--cache-sim",
        value: YES_NO,
        help: "cachegrind: simulate the I1, D1 and LL caches? [yes]",
    },
    Spec {
        name: "--branch-sim",
        value: YES_NO,
        help: "cachegrind: simulate the branch predictor? [no]",
    },
    Spec {
        name: "--I1",
        value: Value::Cache,
        help: "cachegrind: the I1 cache, in bytes [from cpuid, as Valgrind]",
    },
    Spec {
        name: "--D1",
        value: Value::Cache,
        help: "cachegrind: the D1 cache, in bytes [from cpuid, as Valgrind]",
    },
    Spec {
        name: "--LL",
        value: Value::Cache,
        help: "cachegrind: the last-level cache, in bytes [from cpuid, as Valgrind]",
    },
    Spec {
        name: "--L2",
        value: Value::Cache,
        help: "the same as --LL (its older name)",
    },
    Spec {
        name: "--cachegrind-out-file",
        value: Value::Text("FILE"),
        help: "cachegrind: write the profile to FILE (%p and %q{VAR} as in --log-file) [cachegrind.out.%p]",
    },
    Spec {
        name: "--log-file",
        value: Value::Text("FILE"),
        help: "write messages to FILE instead of stderr; %p is the pid, %q{VAR} the value of $VAR",
    },
    Spec {
        name: "--trace-children",
        value: YES_NO,
        help: "run programs started with execve under hbgrind too? [no]",
    },
    Spec {
        name: "--trace-children-skip",
        value: Value::Text("PATTERNS"),
        help: "comma-separated glob patterns of programs not to trace",
    },
    Spec {
        name: "--fair-sched",
        value: Value::OneOf(&["no", "yes", "try"], "no, yes or try"),
        help: "hand the big lock over in FIFO order? [yes]",
    },
    Spec {
        name: "--sched-seed",
        value: Value::Int(0, u32::MAX, "an integer from 0 to 4294967295"),
        help: "switch threads after pseudo-random numbers of blocks drawn from N, so runs repeat [off: every 10 ms of CPU time]",
    },
    Spec {
        name: "--sched",
        value: Value::OneOf(&["random", "pct"], "random or pct"),
        help: "with --sched-seed: random timeslices, or PCT priorities with change points [random]",
    },
    Spec {
        name: "--pct-depth",
        value: Value::Int(1, 100, "an integer from 1 to 100"),
        help: "--sched=pct: find bugs that need up to N-1 forced switches [3]",
    },
    Spec {
        name: "--pct-steps",
        value: Value::Int(1, u32::MAX, "an integer from 1 to 4294967295"),
        help: "--sched=pct: the change points fall in the first N blocks run [50000]",
    },
    Spec {
        name: "--sched-record",
        value: Value::Text("FILE"),
        help: "write the schedule's decisions (who runs, for how many blocks) to FILE",
    },
    Spec {
        name: "--sched-replay",
        value: Value::Text("FILE"),
        help: "follow the schedule recorded in FILE (a divergence is a warning, then --sched-seed)",
    },
    Spec {
        name: "--smc-check",
        value: Value::OneOf(
            &["none", "stack", "all-non-file", "all"],
            "none, stack, all-non-file or all",
        ),
        help: "which code to check for self-modification [all-non-file]",
    },
    Spec {
        name: "--error-exitcode",
        value: Value::Int(0, 255, "an integer from 0 to 255"),
        help: "exit with status N if errors were found [0: the program's own status]",
    },
    Spec {
        name: "--num-callers",
        value: Value::Int(1, 500, "an integer from 1 to 500"),
        help: "frames shown in each stack trace [12]",
    },
    Spec {
        name: "--xml",
        value: YES_NO,
        help: "write reports in Valgrind's XML format (protocol 4)? [no]",
    },
    Spec {
        name: "--xml-fd",
        value: Value::Int(0, 1023, "a file descriptor from 0 to 1023"),
        help: "write the XML output to file descriptor N",
    },
    Spec {
        name: "--xml-file",
        value: Value::Text("FILE"),
        help: "write the XML output to FILE (%p and %q{VAR} as in --log-file)",
    },
    Spec {
        name: "--json-file",
        value: Value::Text("FILE"),
        help: "also write the errors to FILE as JSON Lines, one object per error (%p as in --log-file)",
    },
    Spec {
        name: "--sarif-file",
        value: Value::Text("FILE"),
        help: "also write the errors to FILE as SARIF 2.1.0, one result per context (%p as in --log-file)",
    },
    Spec {
        name: "--suppressions",
        value: Value::Text("FILE"),
        help: "read suppressions from FILE (Valgrind's format); may be repeated",
    },
    Spec {
        name: "--gen-suppressions",
        value: Value::OneOf(&["no", "yes", "all"], "no, yes or all"),
        help: "print a suppression for each error? [no]",
    },
    Spec {
        name: "--default-suppressions",
        value: YES_NO,
        help: "use the built-in suppressions for glibc, ld.so, libstdc++, QEMU? [yes]",
    },
    Spec {
        name: "--futex-sync",
        value: YES_NO,
        help: "race tool: a futex wake releases the word, a woken wait acquires it? [yes]",
    },
    Spec {
        name: "--log-fd",
        value: Value::Int(0, 1023, "a file descriptor from 0 to 1023"),
        help: "write messages to file descriptor N [2: stderr]",
    },
    Spec {
        name: "--time-stamp",
        value: YES_NO,
        help: "prefix each message line with the time since start-up? [no]",
    },
    Spec {
        name: "--trace-children-skip-by-arg",
        value: Value::Text("PATTERNS"),
        help: "as --trace-children-skip, matched against each argument of the new program",
    },
    Spec {
        name: "--child-silent-after-fork",
        value: YES_NO,
        help: "a forked child writes nothing until it execs? [no]",
    },
    Spec {
        name: "--error-limit",
        value: YES_NO,
        help: "stop showing new errors after 1000 different ones? [yes]",
    },
    Spec {
        name: "--show-error-list",
        value: YES_NO,
        help: "at exit, list each error with its count and the used suppressions? [no] (also -s)",
    },
    Spec {
        name: "-s",
        value: Value::Flag,
        help: "",
    },
    Spec {
        name: "--exit-on-first-error",
        value: YES_NO,
        help: "exit with --error-exitcode's status at the first error? [no]",
    },
    Spec {
        name: "--track-lockorders",
        value: YES_NO,
        help: "report lock-order inversions? [yes]",
    },
    Spec {
        name: "--lock-model",
        value: Value::Text("FILE"),
        help: "race tool: also read lock models from FILE (papers/lockmodels.md); may be repeated",
    },
    Spec {
        name: "--trace",
        value: Value::Text("FILTER"),
        help: "debug logging of hbgrind itself, e.g. dbi::syscall=debug [off]",
    },
    Spec {
        name: "-q",
        value: Value::Flag,
        help: "quiet: print only errors (also --quiet)",
    },
    Spec {
        name: "--quiet",
        value: Value::Flag,
        help: "",
    },
    Spec {
        name: "-v",
        value: Value::Flag,
        help: "more verbose; may be repeated (also --verbose)",
    },
    Spec {
        name: "--verbose",
        value: Value::Flag,
        help: "",
    },
    Spec {
        name: "--version",
        value: Value::Flag,
        help: "print the version and exit",
    },
    Spec {
        name: "--help",
        value: Value::Flag,
        help: "print this text and exit (also -h)",
    },
    Spec {
        name: "-h",
        value: Value::Flag,
        help: "",
    },
    Spec {
        name: "--help-debug",
        value: Value::Flag,
        help: "the same as --help",
    },
    Spec {
        name: "--help-dyn-options",
        value: Value::Flag,
        help: "the same as --help",
    },
];

/// Valgrind 3.19's options (`valgrind --help`, `valgrind --tool=helgrind
/// --help`, `valgrind --tool=drd --help`) that mean nothing to hbgrind: accepted, checked like
/// Valgrind checks them, passed to the runtime, and listed under `-v` as
/// having no effect, so scripts written for Valgrind run unchanged.
const NO_EFFECT: &[(&str, Value)] = &[
    (
        "--vgdb",
        Value::OneOf(&["no", "yes", "full"], "no, yes or full"),
    ),
    ("--vgdb-error", NUMBER),
    ("--vgdb-stop-at", Value::Text("EVENTS")),
    ("--vgdb-poll", NUMBER),
    ("--vgdb-shadow-registers", YES_NO),
    ("--vgdb-prefix", Value::Text("PREFIX")),
    (
        "--track-fds",
        Value::OneOf(&["no", "yes", "all"], "no, yes or all"),
    ),
    ("--log-socket", Value::Text("ADDR:PORT")),
    ("--xml-socket", Value::Text("ADDR:PORT")),
    ("--xml-user-comment", Value::AnyText("TEXT")),
    ("--demangle", YES_NO),
    ("--error-markers", Value::AnyText("BEGIN,END")),
    ("--keep-debuginfo", YES_NO),
    ("--show-below-main", YES_NO),
    ("--input-fd", NUMBER),
    ("--dsymutil", YES_NO),
    ("--max-stackframe", NUMBER),
    ("--main-stacksize", NUMBER),
    ("--alignment", NUMBER),
    ("--redzone-size", NUMBER),
    (
        "--xtree-memory",
        Value::OneOf(&["none", "allocs", "full"], "none, allocs or full"),
    ),
    ("--xtree-memory-file", Value::Text("FILE")),
    ("--fullpath-after", Value::AnyText("PREFIX")),
    ("--extra-debuginfo-path", Value::Text("PATH")),
    ("--debuginfo-server", Value::Text("ADDR:PORT")),
    ("--allow-mismatched-debuginfo", YES_NO),
    ("--read-inline-info", YES_NO),
    ("--read-var-info", YES_NO),
    ("--run-libc-freeres", YES_NO),
    ("--run-cxx-freeres", YES_NO),
    ("--sim-hints", Value::Text("HINTS")),
    ("--kernel-variant", Value::Text("VARIANTS")),
    ("--merge-recursive-frames", NUMBER),
    ("--num-transtab-sectors", NUMBER),
    ("--avg-transtab-entry-size", NUMBER),
    ("--aspace-minaddr", Value::Text("0xPP")),
    ("--valgrind-stacksize", NUMBER),
    ("--show-emwarns", YES_NO),
    ("--require-text-symbol", Value::Text(":SONAME:SYMBOL")),
    ("--soname-synonyms", Value::Text("SYN=PATTERN,...")),
    ("--sigill-diagnostics", YES_NO),
    ("--unw-stack-scan-thresh", NUMBER),
    ("--unw-stack-scan-frames", NUMBER),
    (
        "--resync-filter",
        Value::OneOf(&["no", "yes", "verbose"], "no, yes or verbose"),
    ),
    ("--max-threads", NUMBER),
    // Helgrind's own.
    ("--free-is-write", YES_NO),
    (
        "--history-level",
        Value::OneOf(&["none", "approx", "full"], "none, approx or full"),
    ),
    ("--delta-stacktrace", YES_NO),
    ("--conflict-cache-size", NUMBER),
    ("--check-stack-refs", YES_NO),
    ("--ignore-thread-creation", YES_NO),
    // DRD's (`valgrind --tool=drd --help`; `--free-is-write` and
    // `--ignore-thread-creation` are above): hbgrind checks stack variables
    // and reports every racing pair, as DRD does with
    // `--check-stack-var=yes --first-race-only=no`.
    ("--check-stack-var", YES_NO),
    ("--exclusive-threshold", NUMBER),
    ("--shared-threshold", NUMBER),
    ("--first-race-only", YES_NO),
    ("--join-list-vol", NUMBER),
    ("--report-signal-unlocked", YES_NO),
    ("--segment-merging", YES_NO),
    ("--segment-merging-interval", NUMBER),
    ("--show-confl-seg", YES_NO),
    ("--show-stack-usage", YES_NO),
    ("--ptrace-addr", Value::Text("ADDR[+LEN]")),
    ("--trace-addr", Value::Text("ADDR")),
    ("--trace-alloc", YES_NO),
    ("--trace-barrier", YES_NO),
    ("--trace-cond", YES_NO),
    ("--trace-fork-join", YES_NO),
    ("--trace-hb", YES_NO),
    ("--trace-mutex", YES_NO),
    ("--trace-rwlock", YES_NO),
    ("--trace-semaphore", YES_NO),
    // Memcheck's (the default tool of `valgrind --help`).
    (
        "--leak-check",
        Value::OneOf(&["no", "summary", "full", "yes"], "no, summary or full"),
    ),
    (
        "--leak-resolution",
        Value::OneOf(&["low", "med", "high"], "low, med or high"),
    ),
    ("--show-leak-kinds", Value::Text("KINDS")),
    ("--errors-for-leak-kinds", Value::Text("KINDS")),
    ("--leak-check-heuristics", Value::Text("HEURISTICS")),
    ("--show-reachable", YES_NO),
    ("--show-possibly-lost", YES_NO),
    ("--xtree-leak", YES_NO),
    ("--xtree-leak-file", Value::Text("FILE")),
    ("--undef-value-errors", YES_NO),
    ("--track-origins", YES_NO),
    ("--partial-loads-ok", YES_NO),
    (
        "--expensive-definedness-checks",
        Value::OneOf(&["no", "auto", "yes"], "no, auto or yes"),
    ),
    ("--freelist-vol", NUMBER),
    ("--freelist-big-blocks", NUMBER),
    ("--workaround-gcc296-bugs", YES_NO),
    ("--ignore-ranges", Value::Text("0xPP-0xQQ,...")),
    ("--ignore-range-below-sp", Value::Text("N-M")),
    ("--malloc-fill", Value::Text("HEX")),
    ("--free-fill", Value::Text("HEX")),
    (
        "--keep-stacktraces",
        Value::OneOf(
            &["alloc", "free", "alloc-and-free", "alloc-then-free", "none"],
            "alloc, free, alloc-and-free, alloc-then-free or none",
        ),
    ),
    ("--show-mismatched-frees", YES_NO),
];

const NUMBER: Value = Value::Int(0, u32::MAX, "a number");

/// Where options come from, in the order they are read (each overrides the
/// ones before): Valgrind's three sources as Valgrind reads them, then
/// hbgrind's own in the same order, then the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An rc file (`~/.valgrindrc`, `./.hbgrindrc`...).
    File(std::path::PathBuf),
    /// An environment variable (`VALGRIND_OPTS`, `HBGRIND_OPTS`).
    Env(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(name) => write!(f, "${name}"),
        }
    }
}

/// Options read before the command line: from where, and the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Preset {
    pub(crate) origin: Origin,
    pub(crate) words: Vec<String>,
}

/// `hbgrind --version`.
pub(crate) const VERSION: &str = concat!("hbgrind-", env!("CARGO_PKG_VERSION"));

/// The `--help` text: every option in `SPECS`, with its value and default.
pub(crate) fn usage() -> String {
    let mut text = String::from(
        "usage: hbgrind [OPTIONS] PROG [ARGS...]\n\
         \n\
         Runs PROG under dynamic binary instrumentation; the default tool finds data races.\n\
         Options end at PROG: everything after it is passed to PROG.\n\
         \n\
         options:\n",
    );
    for spec in SPECS.iter().filter(|spec| !spec.help.is_empty()) {
        text.push_str(&format!("  {:<44} {}\n", spec.form(), spec.help));
    }
    text.push_str(
        "\n\
         accepted for Valgrind compatibility, no effect (listed under -v when given):\n",
    );
    let mut line = String::from(" ");
    for (name, _) in NO_EFFECT {
        if line.len() + name.len() > 78 {
            text.push_str(&line);
            text.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(name);
    }
    text.push_str(&line);
    text.push_str(
        "\n\n\
         Options are read from ~/.valgrindrc, $VALGRIND_OPTS, ./.valgrindrc, ~/.hbgrindrc,\n\
         $HBGRIND_OPTS, ./.hbgrindrc, then the command line; a later one wins.\n\
         \n\
         `hbgrind analyze TRACE` replays a textual event trace into the race engine.\n\
         `hbgrind triage RUN...` groups the errors of runs (XML or JSON) for review; see hbgrind triage --help.\n\
         `hbgrind explore [-n RUNS] PROG...` runs a program with many schedules and lists what each finds; see hbgrind explore --help.\n",
    );
    text
}

/// Parses `args` (without `argv[0]`), with no options read before them.
#[cfg(test)]
pub(crate) fn parse(args: &[OsString]) -> Result<Command, OptionError> {
    parse_with(&[], args)
}

/// What one option did to the parse.
enum Effect {
    Help,
    Version,
    Next,
}

/// The state built up while reading options from every source.
struct Parsed {
    raw: Vec<String>,
    tool: Tool,
    trace_children: bool,
    xml: bool,
    xml_destination: bool,
    lock_models: Vec<String>,
}

impl Parsed {
    /// Checks one option argument and records it.
    fn option(&mut self, text: &str) -> Result<Effect, OptionError> {
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (text, None),
        };
        let spec = find_spec(name).ok_or_else(|| OptionError::Unknown(text.to_string()))?;
        let value = check_value(&spec, text, value)?;
        match (spec.name, value) {
            ("--help" | "-h" | "--help-debug" | "--help-dyn-options", _) => {
                return Ok(Effect::Help)
            }
            ("--version", _) => return Ok(Effect::Version),
            ("--tool", Some("none")) => self.tool = Tool::None,
            ("--tool", Some("inscount")) => self.tool = Tool::Inscount,
            ("--tool", Some("cachegrind")) => self.tool = Tool::Cachegrind,
            ("--cachegrind-out-file", Some(name)) => check_file_name(text, name)?,
            ("--tool", Some(_)) => self.tool = Tool::Race,
            ("--trace-children", Some(value)) => self.trace_children = value == "yes",
            ("--xml", Some(value)) => self.xml = value == "yes",
            ("--xml-fd", Some(_)) => self.xml_destination = true,
            ("--xml-file", Some(name)) => {
                check_file_name(text, name)?;
                self.xml_destination = true;
            }
            ("--log-file", Some(name)) => check_file_name(text, name)?,
            ("--lock-model", Some(file)) => self.lock_models.push(file.to_string()),
            _ => {}
        }
        self.raw.push(text.to_string());
        Ok(Effect::Next)
    }
}

/// The spec of option `name`: one of ours, or one of Valgrind's that has
/// no effect here.
fn find_spec(name: &str) -> Option<Spec> {
    if let Some(spec) = SPECS.iter().find(|spec| spec.name == name) {
        return Some(*spec);
    }
    NO_EFFECT
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(name, value)| Spec {
            name,
            value,
            help: "",
        })
}

/// True if `name` is one of Valgrind's options that hbgrind accepts
/// without effect.
#[cfg(test)]
pub(crate) fn has_no_effect(name: &str) -> bool {
    NO_EFFECT.iter().any(|(n, _)| *n == name)
}

/// Parses `args` (without `argv[0]`) after the options of `presets`, in
/// order; an error in a preset names where it came from.
pub(crate) fn parse_with(presets: &[Preset], args: &[OsString]) -> Result<Command, OptionError> {
    let mut parsed = Parsed {
        raw: Vec::new(),
        tool: Tool::Race,
        trace_children: false,
        xml: false,
        xml_destination: false,
        lock_models: Vec::new(),
    };
    for preset in presets {
        for word in &preset.words {
            let result = if word.starts_with('-') && word != "-" && word != "--" {
                parsed.option(word)
            } else {
                Err(OptionError::NotAnOption(word.clone()))
            };
            match result {
                Ok(Effect::Next) => {}
                Ok(Effect::Help) => return Ok(Command::Help),
                Ok(Effect::Version) => return Ok(Command::Version),
                Err(error) => {
                    return Err(OptionError::In {
                        origin: preset.origin.to_string(),
                        error: Box::new(error),
                    })
                }
            }
        }
    }
    let mut rest = args.iter();
    let program = loop {
        let Some(arg) = rest.next() else {
            return Err(OptionError::NoProgram);
        };
        if arg == "--" {
            break rest.next().ok_or(OptionError::NoProgram)?.clone();
        }
        if !arg.as_encoded_bytes().starts_with(b"-") || arg == "-" {
            break arg.clone();
        }
        let text = arg
            .to_str()
            .ok_or_else(|| OptionError::Unknown(arg.to_string_lossy().into_owned()))?;
        match parsed.option(text)? {
            Effect::Next => {}
            Effect::Help => return Ok(Command::Help),
            Effect::Version => return Ok(Command::Version),
        }
    };
    if parsed.xml && !parsed.xml_destination {
        return Err(OptionError::NoXmlDestination);
    }
    Ok(Command::Run(Options {
        raw: parsed.raw,
        tool: parsed.tool,
        trace_children: parsed.trace_children,
        lock_models: parsed.lock_models,
        program,
        args: rest.cloned().collect(),
    }))
}

/// Checks a `--log-file`/`--xml-file` name as Valgrind expands it: after
/// `%` comes `p`, `%` or `q{VAR}` with VAR set in the environment (the
/// program's environment is ours); anything else is a bad option.
fn check_file_name(arg: &str, name: &str) -> Result<(), OptionError> {
    let bad = |reason: String| OptionError::BadFileName {
        arg: arg.to_string(),
        reason,
    };
    let mut rest = name;
    while let Some(i) = rest.find('%') {
        let tail = &rest[i + 1..];
        rest = if let Some(t) = tail.strip_prefix(['p', '%']) {
            t
        } else if let Some(t) = tail.strip_prefix('q') {
            let t = t
                .strip_prefix('{')
                .ok_or_else(|| bad("expected '{' after '%q'".into()))?;
            let (var, t) = t
                .split_once('}')
                .ok_or_else(|| bad("missing '}' in %q specifier".into()))?;
            if std::env::var_os(var).is_none() {
                return Err(bad(format!("environment variable '{var}' is not set")));
            }
            t
        } else {
            return Err(bad("expected 'p' or 'q' or '%' after '%'".into()));
        };
    }
    Ok(())
}

/// Splits the text of an rc file or variable into option words, as
/// Valgrind does: at white space (no quoting). Lines whose first
/// non-blank character is `#` are comments.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect()
}

/// Checks `value` against `spec`; returns it (None for a flag).
fn check_value<'a>(
    spec: &Spec,
    arg: &str,
    value: Option<&'a str>,
) -> Result<Option<&'a str>, OptionError> {
    let bad = |expected| OptionError::BadValue {
        arg: arg.to_string(),
        expected,
    };
    let missing = || OptionError::MissingValue {
        option: spec.name.to_string(),
        form: spec.form(),
    };
    match (spec.value, value) {
        (Value::Flag, None) => Ok(None),
        (Value::Flag, Some(_)) => Err(OptionError::Unknown(arg.to_string())),
        (_, None) => Err(missing()),
        (Value::OneOf(words, expected), Some(value)) => {
            if words.contains(&value) {
                Ok(Some(value))
            } else {
                Err(bad(expected))
            }
        }
        (Value::Int(min, max, expected), Some(value)) => match value.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(value)),
            _ => Err(bad(expected)),
        },
        (Value::Text(_), Some("")) => Err(bad("a non-empty value")),
        (Value::Text(_) | Value::AnyText(_), Some(value)) => Ok(Some(value)),
        (Value::Cache, Some(value)) => hbgrind_report::cachegrind::CacheConfig::parse(value)
            .map(|_| Some(value))
            .map_err(|reason| OptionError::BadCache {
                arg: arg.to_string(),
                reason,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str]) -> Options {
        match parse(&os(args)) {
            Ok(Command::Run(options)) => options,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        parse(&os(args)).unwrap_err().to_string()
    }

    #[test]
    fn cache_options_are_checked_here() {
        let o = run(&[
            "--tool=cachegrind",
            "--D1=32768,8,64",
            "--LL=8388608,16,64",
            "p",
        ]);
        assert_eq!(
            o.raw,
            ["--tool=cachegrind", "--D1=32768,8,64", "--LL=8388608,16,64"]
        );
        assert_eq!(
            error(&["--D1=32768,8", "p"]),
            "bad value in option '--D1=32768,8': expected <size>,<assoc>,<line_size> in bytes (e.g. 32768,8,64); see hbgrind --help"
        );
        assert_eq!(
            error(&["--I1=24576,8,64", "p"]),
            "bad value in option '--I1=24576,8,64': the number of sets (size / (assoc * line size)) is not a power of two; see hbgrind --help"
        );
        assert_eq!(
            error(&["--LL", "p"]),
            "option '--LL' needs a value: --LL=<size>,<assoc>,<line_size>; see hbgrind --help"
        );
        assert!(error(&["--cache-sim=maybe", "p"])
            .starts_with("bad value in option '--cache-sim=maybe'"));
    }

    #[test]
    fn options_stop_at_the_program() {
        let o = run(&["--tool=none", "-q", "ls", "--tool=race", "-q"]);
        assert_eq!(o.raw, ["--tool=none", "-q"]);
        assert_eq!(o.tool, Tool::None);
        assert_eq!(o.program, "ls");
        assert_eq!(o.args, os(&["--tool=race", "-q"]));
    }

    #[test]
    fn double_dash_ends_options_and_is_not_passed_on() {
        let o = run(&["-v", "--", "-weird-name", "a"]);
        assert_eq!(o.raw, ["-v"]);
        assert_eq!(o.program, "-weird-name");
        assert_eq!(o.args, os(&["a"]));
    }

    #[test]
    fn values_are_kept_verbatim_and_repeats_in_order() {
        let o = run(&[
            "--log-file=x.%p.%q{HOME}",
            "--suppressions=a.supp",
            "--suppressions=b.supp",
            "--tool=helgrind",
            "--trace-children=yes",
            "prog",
        ]);
        assert_eq!(
            o.raw,
            [
                "--log-file=x.%p.%q{HOME}",
                "--suppressions=a.supp",
                "--suppressions=b.supp",
                "--tool=helgrind"
            ]
            .into_iter()
            .chain(["--trace-children=yes"])
            .collect::<Vec<_>>()
        );
        assert_eq!(o.tool, Tool::Race);
        assert!(o.trace_children);
    }

    #[test]
    fn default_tool_is_race() {
        assert_eq!(run(&["prog"]).tool, Tool::Race);
        assert_eq!(run(&["--tool=drd", "prog"]).tool, Tool::Race);
        assert_eq!(run(&["--tool=inscount", "prog"]).tool, Tool::Inscount);
        assert_eq!(run(&["--tool=cachegrind", "prog"]).tool, Tool::Cachegrind);
    }

    #[test]
    fn help_and_version_win_when_before_the_program() {
        assert_eq!(parse(&os(&["--help", "ls"])), Ok(Command::Help));
        assert_eq!(parse(&os(&["-q", "--version"])), Ok(Command::Version));
        assert_eq!(run(&["ls", "--help"]).args, os(&["--help"]));
    }

    #[test]
    fn bad_command_lines() {
        assert_eq!(
            error(&["--foo", "ls"]),
            "unknown option '--foo'; see hbgrind --help"
        );
        assert_eq!(
            error(&["--tool", "none", "ls"]),
            "option '--tool' needs a value: --tool=none|inscount|cachegrind|race|helgrind|drd; see hbgrind --help"
        );
        assert_eq!(
            error(&["--tool=memcheck", "ls"]),
            "bad value in option '--tool=memcheck': expected none, inscount, cachegrind, race, helgrind or drd; see hbgrind --help"
        );
        assert_eq!(
            error(&["--num-callers=0", "ls"]),
            "bad value in option '--num-callers=0': expected an integer from 1 to 500; see hbgrind --help"
        );
        assert_eq!(
            error(&["--error-exitcode=x", "ls"]),
            "bad value in option '--error-exitcode=x': expected an integer from 0 to 255; see hbgrind --help"
        );
        assert_eq!(
            error(&["--log-file=", "ls"]),
            "bad value in option '--log-file=': expected a non-empty value; see hbgrind --help"
        );
        assert_eq!(
            error(&["-q=3", "ls"]),
            "unknown option '-q=3'; see hbgrind --help"
        );
        assert_eq!(
            error(&["--xml-fd=-1", "ls"]),
            "bad value in option '--xml-fd=-1': expected a file descriptor from 0 to 1023; see hbgrind --help"
        );
        assert_eq!(
            error(&["--xml=yes", "ls"]),
            "--xml=yes needs a destination: --xml-fd=N or --xml-file=FILE; see hbgrind --help"
        );
        assert_eq!(
            run(&["--xml=yes", "--xml-fd=3", "ls"]).raw,
            ["--xml=yes", "--xml-fd=3"]
        );
        assert_eq!(
            error(&["-q"]),
            "no program given; usage: hbgrind [OPTIONS] PROG [ARGS...], see hbgrind --help"
        );
    }

    #[test]
    fn valgrind_options_without_effect_are_accepted_and_checked() {
        let o = run(&[
            "--vgdb=no",
            "-s",
            "--error-limit=no",
            "--fullpath-after=",
            "ls",
        ]);
        assert_eq!(
            o.raw,
            ["--vgdb=no", "-s", "--error-limit=no", "--fullpath-after="]
        );
        assert!(has_no_effect("--vgdb") && !has_no_effect("--error-limit"));
        assert_eq!(
            error(&["--history-level=some", "ls"]),
            "bad value in option '--history-level=some': expected none, approx or full; see hbgrind --help"
        );
        assert_eq!(
            error(&["--max-stackframe=x", "ls"]),
            "bad value in option '--max-stackframe=x': expected a number; see hbgrind --help"
        );
    }

    #[test]
    fn presets_come_first_and_errors_name_them() {
        let presets = [
            Preset {
                origin: Origin::File("/h/.valgrindrc".into()),
                words: split_words("# comment\n--error-exitcode=3  -q\n"),
            },
            Preset {
                origin: Origin::Env("VALGRIND_OPTS"),
                words: split_words("--xml=yes --xml-fd=2"),
            },
        ];
        match parse_with(&presets, &os(&["--error-exitcode=4", "ls"])) {
            Ok(Command::Run(o)) => assert_eq!(
                o.raw,
                [
                    "--error-exitcode=3",
                    "-q",
                    "--xml=yes",
                    "--xml-fd=2",
                    "--error-exitcode=4"
                ]
            ),
            other => panic!("{other:?}"),
        }
        let bad = [Preset {
            origin: Origin::Env("VALGRIND_OPTS"),
            words: split_words("--foo"),
        }];
        assert_eq!(
            parse_with(&bad, &os(&["ls"])).unwrap_err().to_string(),
            "$VALGRIND_OPTS: unknown option '--foo'; see hbgrind --help"
        );
        let prog = [Preset {
            origin: Origin::File("./.hbgrindrc".into()),
            words: split_words("ls"),
        }];
        assert_eq!(
            parse_with(&prog, &os(&["ls"])).unwrap_err().to_string(),
            "./.hbgrindrc: 'ls' is not an option (only options may be given there; the program goes on the command line)"
        );
    }

    #[test]
    fn usage_lists_every_option() {
        let text = usage();
        for (name, _) in NO_EFFECT {
            assert!(text.contains(name), "{name} missing from --help");
        }
        for spec in SPECS {
            assert!(
                text.contains(spec.name),
                "{} missing from --help",
                spec.name
            );
        }
    }
}
