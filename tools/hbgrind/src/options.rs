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
    #[error("no program given; usage: hbgrind [OPTIONS] PROG [ARGS...], see hbgrind --help")]
    NoProgram,
    #[error("--xml=yes needs a destination: --xml-fd=N or --xml-file=FILE; see hbgrind --help")]
    NoXmlDestination,
}

/// Which analysis the runtime runs. `helgrind` and `drd` are spellings of
/// `race`, accepted so Valgrind command lines work unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    None,
    Inscount,
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
}

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
            Value::Text(what) => format!("{}={what}", self.name),
        }
    }
}

const YES_NO: Value = Value::OneOf(&["yes", "no"], "yes or no");

const SPECS: &[Spec] = &[
    Spec {
        name: "--tool",
        value: Value::OneOf(
            &["none", "inscount", "race", "helgrind", "drd"],
            "none, inscount, race, helgrind or drd",
        ),
        help: "the tool to run: none, inscount, race [race]; helgrind and drd mean race",
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
];

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
         `hbgrind analyze TRACE` replays a textual event trace into the race engine.\n",
    );
    text
}

/// Parses `args` (without `argv[0]`).
pub(crate) fn parse(args: &[OsString]) -> Result<Command, OptionError> {
    let mut raw = Vec::new();
    let mut tool = Tool::Race;
    let mut trace_children = false;
    let mut lock_models = Vec::new();
    let (mut xml, mut xml_destination) = (false, false);
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
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (text, None),
        };
        let spec = SPECS
            .iter()
            .find(|spec| spec.name == name)
            .ok_or_else(|| OptionError::Unknown(text.to_string()))?;
        let value = check_value(spec, text, value)?;
        match (spec.name, value) {
            ("--help" | "-h", _) => return Ok(Command::Help),
            ("--version", _) => return Ok(Command::Version),
            ("--tool", Some("none")) => tool = Tool::None,
            ("--tool", Some("inscount")) => tool = Tool::Inscount,
            ("--tool", Some(_)) => tool = Tool::Race,
            ("--trace-children", Some(value)) => trace_children = value == "yes",
            ("--xml", Some(value)) => xml = value == "yes",
            ("--xml-fd" | "--xml-file", Some(_)) => xml_destination = true,
            ("--lock-model", Some(file)) => lock_models.push(file.to_string()),
            _ => {}
        }
        raw.push(text.to_string());
    };
    if xml && !xml_destination {
        return Err(OptionError::NoXmlDestination);
    }
    Ok(Command::Run(Options {
        raw,
        tool,
        trace_children,
        lock_models,
        program,
        args: rest.cloned().collect(),
    }))
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
        (Value::Text(_), Some(value)) => Ok(Some(value)),
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
            "option '--tool' needs a value: --tool=none|inscount|race|helgrind|drd; see hbgrind --help"
        );
        assert_eq!(
            error(&["--tool=memcheck", "ls"]),
            "bad value in option '--tool=memcheck': expected none, inscount, race, helgrind or drd; see hbgrind --help"
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
    fn usage_lists_every_option() {
        let text = usage();
        for spec in SPECS {
            assert!(
                text.contains(spec.name),
                "{} missing from --help",
                spec.name
            );
        }
    }
}
