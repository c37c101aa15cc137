//! `Options`: the runtime's options, decoded from `HBGRIND_OPTIONS` (the
//! user's hbgrind options joined by byte 0x1f, set by the launcher).
//! Absent (a plain LD_PRELOAD), the defaults apply: `--tool=race`.

/// `--pct-depth` when not given: finds bugs that need up to two switches.
const DEFAULT_PCT_DEPTH: u32 = 3;
/// `--pct-steps` when not given: blocks in which the change points fall.
const DEFAULT_PCT_STEPS: u64 = 50_000;

/// The runtime's options.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) tool: String,
    pub(crate) log_file: Option<String>,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
    pub(crate) trace: Option<String>,
    pub(crate) trace_children: bool,
    /// Our own LD_PRELOAD entry (to strip it from untraced children).
    pub(crate) preload_path: Option<Vec<u8>>,
    /// The environment (NAME=value entries), for `%q{NAME}` in --log-file.
    pub(crate) env: Vec<(String, String)>,
    /// `--xml=yes`: errors also go to `xml_fd` or `xml_file` as XML protocol 4.
    pub(crate) xml: bool,
    pub(crate) xml_fd: Option<i32>,
    pub(crate) xml_file: Option<String>,
    /// `--json-file=F`, `--sarif-file=F`: the errors also as JSON Lines and
    /// SARIF 2.1.0 (race tool; `%p` and `%q{VAR}` as in --log-file).
    pub(crate) json_file: Option<String>,
    pub(crate) sarif_file: Option<String>,
    /// `--error-exitcode=N`: the exit status when errors were shown (0: off).
    pub(crate) error_exitcode: u8,
    /// `--num-callers=N`: frames per stack.
    pub(crate) num_callers: usize,
    /// `--suppressions=FILE`, in order.
    pub(crate) suppressions: Vec<String>,
    /// `--gen-suppressions=yes|all` (yes behaves as all: no prompt).
    pub(crate) gen_suppressions: bool,
    /// `--default-suppressions=no` turns the built-in files off.
    pub(crate) default_suppressions: bool,
    /// `--futex-sync=no`: futex wakes and waits order nothing (race tool).
    pub(crate) futex_sync: bool,
    /// `--lock-model=FILE`, in order (race tool; after the shipped models).
    pub(crate) lock_models: Vec<String>,
    /// `--fair-sched=yes|try|no` and `--sched-seed=N`: how threads take turns.
    pub(crate) schedule: dbi::Schedule,
    /// `--sched=random|pct`, `--pct-depth=D`, `--pct-steps=K` (with `schedule`).
    pub(crate) pct: bool,
    pub(crate) pct_depth: u32,
    pub(crate) pct_steps: u64,
    /// Whether `--pct-depth` or `--pct-steps` was given.
    pub(crate) pct_options: bool,
    /// `--sched-record=FILE`, `--sched-replay=FILE` (opened and read in `setup`).
    pub(crate) sched_record: Option<String>,
    pub(crate) sched_replay: Option<String>,
    /// `--smc-check=none|stack|all-non-file|all`.
    pub(crate) smc_check: dbi::SmcCheck,
    /// The command line as the user typed it (for XML's `<args>`), when
    /// the launcher passed it: HBGRIND_OPTIONS holds only the options.
    pub(crate) raw: Vec<String>,
    /// `--log-fd=N`: messages go to descriptor N (unless --log-file).
    pub(crate) log_fd: Option<i32>,
    /// `--time-stamp=yes`: message lines start `==DD:HH:MM:SS.mmm PID==`.
    pub(crate) time_stamp: bool,
    /// `-s`, `--show-error-list=yes`: each error again at exit, with its count.
    pub(crate) show_error_list: bool,
    /// `--error-limit=yes`: no new errors shown after 1000 different ones.
    pub(crate) error_limit: bool,
    /// `--child-silent-after-fork=yes`: a fork child writes nothing.
    pub(crate) child_silent_after_fork: bool,
    /// `--trace-children-skip=P,...` and `--trace-children-skip-by-arg=P,...`.
    pub(crate) trace_children_skip: Vec<String>,
    pub(crate) trace_children_skip_by_arg: Vec<String>,
    /// `--exit-on-first-error=yes`.
    pub(crate) exit_on_first_error: bool,
    /// `--track-lockorders=no` hides lock-order reports.
    pub(crate) track_lockorders: bool,
    /// Valgrind options accepted without effect, as given (listed under -v).
    pub(crate) no_effect: Vec<String>,
    /// `--tool=cachegrind`'s own options.
    pub(crate) cachegrind: CachegrindOptions,
}

/// `--cache-sim`, `--branch-sim`, `--I1`, `--D1`, `--LL`,
/// `--cachegrind-out-file` (Valgrind 3.19's Cachegrind options and defaults).
#[derive(Debug, Clone)]
pub(crate) struct CachegrindOptions {
    /// `--cache-sim=yes` (the default in 3.19): simulate I1, D1 and LL.
    pub(crate) cache_sim: bool,
    /// `--branch-sim=yes`: simulate the branch predictor.
    pub(crate) branch_sim: bool,
    pub(crate) i1: Option<hbgrind_report::cachegrind::CacheConfig>,
    pub(crate) d1: Option<hbgrind_report::cachegrind::CacheConfig>,
    pub(crate) ll: Option<hbgrind_report::cachegrind::CacheConfig>,
    /// `--cachegrind-out-file=F` (`%p` and `%q{VAR}` as in --log-file).
    pub(crate) out_file: Option<String>,
}

const TOOLS: &[&str] = &["none", "inscount", "cachegrind", "race", "helgrind", "drd"];

impl Options {
    /// Reads /proc/self/environ (raw syscalls; glibc's getenv is the guest's).
    pub(crate) fn from_environment() -> Result<Options, String> {
        let env = read_environ();
        let get = |name: &[u8]| -> Option<Vec<u8>> {
            env.split(|&c| c == 0)
                .find(|v| v.len() > name.len() && v.starts_with(name) && v[name.len()] == b'=')
                .map(|v| v[name.len() + 1..].to_vec())
        };
        let raw = get(b"HBGRIND_OPTIONS").unwrap_or_default();
        let mut opts = Options::parse(&String::from_utf8_lossy(&raw))?;
        if opts.trace.is_none() {
            opts.trace = get(b"HBGRIND_LOG").map(|v| String::from_utf8_lossy(&v).into_owned());
        }
        opts.env = env
            .split(|&c| c == 0)
            .filter_map(|v| {
                let v = String::from_utf8_lossy(v);
                v.split_once('=')
                    .map(|(k, x)| (k.to_string(), x.to_string()))
            })
            .collect();
        opts.preload_path = get(b"LD_PRELOAD").and_then(|list| {
            list.split(|&c| c == b':' || c == b' ')
                .find(|e| e.ends_with(b"libhbgrind_rt.so"))
                .map(<[u8]>::to_vec)
        });
        Ok(opts)
    }

    /// Decodes options joined by 0x1f.
    pub(crate) fn parse(raw: &str) -> Result<Options, String> {
        let mut o = Options {
            tool: "race".into(),
            log_file: None,
            quiet: false,
            verbose: false,
            trace: None,
            trace_children: false,
            preload_path: None,
            env: Vec::new(),
            xml: false,
            xml_fd: None,
            xml_file: None,
            json_file: None,
            sarif_file: None,
            error_exitcode: 0,
            num_callers: 12,
            suppressions: Vec::new(),
            gen_suppressions: false,
            default_suppressions: true,
            futex_sync: true,
            lock_models: Vec::new(),
            schedule: dbi::Schedule::default(),
            pct: false,
            pct_depth: DEFAULT_PCT_DEPTH,
            pct_steps: DEFAULT_PCT_STEPS,
            pct_options: false,
            sched_record: None,
            sched_replay: None,
            smc_check: dbi::SmcCheck::default(),
            raw: Vec::new(),
            log_fd: None,
            time_stamp: false,
            show_error_list: false,
            error_limit: true,
            child_silent_after_fork: false,
            trace_children_skip: Vec::new(),
            trace_children_skip_by_arg: Vec::new(),
            exit_on_first_error: false,
            track_lockorders: true,
            no_effect: Vec::new(),
            cachegrind: CachegrindOptions {
                cache_sim: true,
                branch_sim: false,
                i1: None,
                d1: None,
                ll: None,
                out_file: None,
            },
        };
        for arg in raw.split('\x1f').filter(|a| !a.is_empty()) {
            o.raw.push(arg.to_string());
            // The launcher validated every value; a bad one here means
            // HBGRIND_OPTIONS was written by hand: refuse it, naming it.
            let bad = |what: &str| format!("bad value in option '{arg}': expected {what}");
            let yes_no = |v: &str| match v {
                "yes" => Ok(true),
                "no" => Ok(false),
                _ => Err(bad("yes or no")),
            };
            if let Some(v) = arg.strip_prefix("--xml=") {
                o.xml = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--xml-fd=") {
                o.xml_fd = Some(v.parse().map_err(|_| bad("a file descriptor"))?);
            } else if let Some(v) = arg.strip_prefix("--xml-file=") {
                o.xml_file = Some(v.into());
            } else if let Some(v) = arg.strip_prefix("--json-file=") {
                o.json_file = Some(v.into());
            } else if let Some(v) = arg.strip_prefix("--sarif-file=") {
                o.sarif_file = Some(v.into());
            } else if let Some(v) = arg.strip_prefix("--error-exitcode=") {
                o.error_exitcode = v.parse().map_err(|_| bad("an integer from 0 to 255"))?;
            } else if let Some(v) = arg.strip_prefix("--num-callers=") {
                o.num_callers = match v.parse() {
                    Ok(n) if (1..=500).contains(&n) => n,
                    _ => return Err(bad("an integer from 1 to 500")),
                };
            } else if let Some(v) = arg.strip_prefix("--suppressions=") {
                o.suppressions.push(v.into());
            } else if let Some(v) = arg.strip_prefix("--gen-suppressions=") {
                o.gen_suppressions = match v {
                    "no" => false,
                    "yes" | "all" => true,
                    _ => return Err(bad("no, yes or all")),
                };
            } else if let Some(v) = arg.strip_prefix("--default-suppressions=") {
                o.default_suppressions = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--futex-sync=") {
                o.futex_sync = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--cache-sim=") {
                o.cachegrind.cache_sim = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--branch-sim=") {
                o.cachegrind.branch_sim = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--cachegrind-out-file=") {
                o.cachegrind.out_file = Some(v.into());
            } else if let Some((name, v)) = ["--I1=", "--D1=", "--LL=", "--L2="]
                .iter()
                .find_map(|p| arg.strip_prefix(p).map(|v| (*p, v)))
            {
                let c = hbgrind_report::cachegrind::CacheConfig::parse(v)
                    .map_err(|e| format!("bad value in option '{arg}': {e}"))?;
                match name {
                    "--I1=" => o.cachegrind.i1 = Some(c),
                    "--D1=" => o.cachegrind.d1 = Some(c),
                    _ => o.cachegrind.ll = Some(c),
                }
            } else if let Some(v) = arg.strip_prefix("--lock-model=") {
                o.lock_models.push(v.into());
            } else if let Some(t) = arg.strip_prefix("--tool=") {
                if !TOOLS.contains(&t) {
                    return Err(format!(
                        "unknown tool '{t}' in --tool (known: none, inscount, cachegrind, race)"
                    ));
                }
                o.tool = t.into();
            } else if let Some(f) = arg.strip_prefix("--log-file=") {
                o.log_file = Some(f.into());
            } else if let Some(f) = arg.strip_prefix("--trace=") {
                o.trace = Some(f.into());
            } else if let Some(v) = arg.strip_prefix("--trace-children=") {
                o.trace_children = v == "yes";
            } else if let Some(v) = arg.strip_prefix("--fair-sched=") {
                o.schedule.fair = match v {
                    "yes" | "try" => true,
                    "no" => false,
                    _ => return Err(bad("no, yes or try")),
                };
            } else if let Some(v) = arg.strip_prefix("--smc-check=") {
                o.smc_check = match v {
                    "none" => dbi::SmcCheck::None,
                    "stack" => dbi::SmcCheck::Stack,
                    "all-non-file" => dbi::SmcCheck::AllNonFile,
                    "all" => dbi::SmcCheck::All,
                    _ => return Err(bad("none, stack, all-non-file or all")),
                };
            } else if let Some(v) = arg.strip_prefix("--sched-seed=") {
                o.schedule.seed = Some(v.parse().map_err(|_| bad("an integer"))?);
            } else if let Some(v) = arg.strip_prefix("--sched=") {
                o.pct = match v {
                    "random" => false,
                    "pct" => true,
                    _ => return Err(bad("random or pct")),
                };
            } else if let Some(v) = arg.strip_prefix("--pct-depth=") {
                o.pct_options = true;
                o.pct_depth = match v.parse() {
                    Ok(n) if (1..=100).contains(&n) => n,
                    _ => return Err(bad("an integer from 1 to 100")),
                };
            } else if let Some(v) = arg.strip_prefix("--pct-steps=") {
                o.pct_options = true;
                o.pct_steps = match v.parse() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(bad("a positive integer")),
                };
            } else if let Some(v) = arg.strip_prefix("--sched-record=") {
                o.sched_record = Some(v.into());
            } else if let Some(v) = arg.strip_prefix("--sched-replay=") {
                o.sched_replay = Some(v.into());
            } else if let Some(v) = arg.strip_prefix("--log-fd=") {
                o.log_fd = Some(v.parse().map_err(|_| bad("a file descriptor"))?);
            } else if let Some(v) = arg.strip_prefix("--time-stamp=") {
                o.time_stamp = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--show-error-list=") {
                o.show_error_list = yes_no(v)?;
            } else if arg == "-s" {
                o.show_error_list = true;
            } else if let Some(v) = arg.strip_prefix("--error-limit=") {
                o.error_limit = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--child-silent-after-fork=") {
                o.child_silent_after_fork = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--trace-children-skip=") {
                o.trace_children_skip = split_patterns(v);
            } else if let Some(v) = arg.strip_prefix("--trace-children-skip-by-arg=") {
                o.trace_children_skip_by_arg = split_patterns(v);
            } else if let Some(v) = arg.strip_prefix("--exit-on-first-error=") {
                o.exit_on_first_error = yes_no(v)?;
            } else if let Some(v) = arg.strip_prefix("--track-lockorders=") {
                o.track_lockorders = yes_no(v)?;
            } else if arg == "-q" || arg == "--quiet" {
                o.quiet = true;
            } else if arg == "-v" || arg == "--verbose" {
                o.verbose = true;
            } else {
                // One of Valgrind's options that mean nothing here (the
                // launcher checked it): accepted, listed under -v.
                o.no_effect.push(arg.to_string());
            }
        }
        o.check_schedule()?;
        Ok(o)
    }

    /// The scheduling options that only make sense together.
    fn check_schedule(&mut self) -> Result<(), String> {
        if self.pct {
            if self.schedule.seed.is_none() {
                return Err("--sched=pct needs --sched-seed=N (the seed draws the priorities and change points)".into());
            }
            self.schedule.policy = dbi::SchedulePolicy::Pct {
                depth: self.pct_depth,
                steps: self.pct_steps,
            };
        }
        if self.pct_options && !self.pct {
            return Err("--pct-depth and --pct-steps need --sched=pct".into());
        }
        let deterministic = self.schedule.seed.is_some() || self.sched_replay.is_some();
        if self.sched_record.is_some() && !deterministic {
            return Err("--sched-record needs --sched-seed=N or --sched-replay=FILE (switches made by a CPU-time timer cannot be replayed)".into());
        }
        Ok(())
    }

    /// The XML sink, when `--xml=yes`: `--xml-fd` (duplicated high, so the
    /// guest closing its copy does not cut us off) or `--xml-file`.
    pub(crate) fn open_xml(&self) -> Result<Option<i32>, String> {
        if !self.xml {
            return Ok(None);
        }
        if let Some(f) = &self.xml_file {
            let path = expand_log_name(f, dbi::getpid(), &self.env);
            const FLAGS: u64 = 0o1 | 0o100 | 0o1000 | 0o2000000; // WRONLY|CREAT|TRUNC|CLOEXEC
            return dbi::open(path.as_bytes(), FLAGS, 0o666)
                .map(Some)
                .map_err(|e| {
                    format!(
                        "cannot create XML file '{path}': {}",
                        errno_text(e.0 as i32)
                    )
                });
        }
        match self.xml_fd {
            Some(fd) => dbi::dup_high(fd)
                .map(Some)
                .map_err(|e| format!("--xml-fd={fd}: {}", errno_text(e.0 as i32))),
            None => Err("--xml=yes needs --xml-fd=N or --xml-file=FILE".into()),
        }
    }

    /// The `--json-file` sink, created (truncated) now.
    pub(crate) fn open_json(&self) -> Result<Option<i32>, String> {
        self.json_file
            .as_ref()
            .map(|f| self.create_report_file(f, "JSON file"))
            .transpose()
    }

    /// The `--sarif-file` sink, created (truncated) now.
    pub(crate) fn open_sarif(&self) -> Result<Option<i32>, String> {
        self.sarif_file
            .as_ref()
            .map(|f| self.create_report_file(f, "SARIF file"))
            .transpose()
    }

    fn create_report_file(&self, pattern: &str, what: &str) -> Result<i32, String> {
        let path = expand_log_name(pattern, dbi::getpid(), &self.env);
        const FLAGS: u64 = 0o2 | 0o100 | 0o1000 | 0o2000000; // RDWR|CREAT|TRUNC|CLOEXEC
        dbi::open(path.as_bytes(), FLAGS, 0o666)
            .map_err(|e| format!("cannot create {what} '{path}': {}", errno_text(e.0 as i32)))
    }

    /// The log sink: --log-file (with %p as the pid), --log-fd or stderr.
    /// A log file that cannot be created stops the run, as in Valgrind:
    /// the report would otherwise be lost or mixed into the program's
    /// stderr.
    pub(crate) fn open_log(&self) -> Result<dbi::Log, String> {
        let fd = match (&self.log_file, self.log_fd) {
            (Some(f), _) => {
                let path = expand_log_name(f, dbi::getpid(), &self.env);
                const FLAGS: u64 = 0o1 | 0o100 | 0o1000 | 0o2000000; // WRONLY|CREAT|TRUNC|CLOEXEC
                dbi::open(path.as_bytes(), FLAGS, 0o666).map_err(|e| {
                    format!(
                        "cannot create log file '{path}': {}",
                        errno_text(e.0 as i32)
                    )
                })?
            }
            (None, Some(fd)) => dbi::dup_high(fd)
                .map_err(|e| format!("--log-fd={fd}: {}", errno_text(e.0 as i32)))?,
            (None, None) => dbi::dup_high(2).unwrap_or(2),
        };
        Ok(dbi::Log {
            fd,
            quiet: self.quiet,
            time_stamp: self.time_stamp.then(std::time::Instant::now),
        })
    }
}

/// Splits `--trace-children-skip=` patterns at commas (empty ones dropped).
fn split_patterns(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// The C library's text for the errors opening a log file may give
/// (strerror itself is the guest's: we do not call it).
pub(crate) fn errno_text(errno: i32) -> String {
    let text = match errno {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        9 => "Bad file descriptor",
        12 => "Cannot allocate memory",
        13 => "Permission denied",
        17 => "File exists",
        20 => "Not a directory",
        21 => "Is a directory",
        23 => "Too many open files in system",
        24 => "Too many open files",
        26 => "Text file busy",
        27 => "File too large",
        28 => "No space left on device",
        30 => "Read-only file system",
        36 => "File name too long",
        40 => "Too many levels of symbolic links",
        122 => "Disk quota exceeded",
        _ => return format!("errno {errno}"),
    };
    text.to_string()
}

/// What a fork child does with its XML sink (`ReportFiles::after_fork`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildXml {
    /// No XML output.
    Off,
    /// Its own file (`--xml-file` names another file for the child's pid),
    /// now behind the same descriptor number, empty: it needs a whole document.
    Reopened,
    /// The parent's file or descriptor: the child must not write into the
    /// parent's document.
    Shared,
}

/// What became of each report sink in a fork child (`ReportFiles::after_fork`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildSinks {
    pub(crate) xml: ChildXml,
    pub(crate) json: ChildXml,
    pub(crate) sarif: ChildXml,
}

/// The report files of this process, by name pattern, so that a fork
/// child can open its own (`%p` re-expanded, as Valgrind does). The new
/// file takes the descriptor number of the old one (`dbi::dup_onto`), so
/// every copy of the log sink follows; the parent's file is never touched.
#[derive(Debug, Clone)]
pub(crate) struct ReportFiles {
    env: Vec<(String, String)>,
    /// --log-file: (pattern, the name it expanded to, descriptor).
    log: Option<(String, String, i32)>,
    /// --xml-file: (pattern, the name it expanded to, descriptor).
    xml_file: Option<(String, String, i32)>,
    /// --xml=yes on another descriptor (--xml-fd).
    xml_fd: bool,
    /// --json-file and --sarif-file: (pattern, the name it expanded to, descriptor).
    json_file: Option<(String, String, i32)>,
    sarif_file: Option<(String, String, i32)>,
}

impl ReportFiles {
    /// The files `opts` opened: the log at `log_fd`, the XML sink at `xml_fd`.
    pub(crate) fn new(opts: &Options, log_fd: i32, xml_fd: Option<i32>) -> Self {
        Self::with_data_files(opts, log_fd, xml_fd, None, None)
    }

    /// As `new`, with the `--json-file` and `--sarif-file` descriptors.
    pub(crate) fn with_data_files(
        opts: &Options,
        log_fd: i32,
        xml_fd: Option<i32>,
        json_fd: Option<i32>,
        sarif_fd: Option<i32>,
    ) -> Self {
        let pid = dbi::getpid();
        let named = |pattern: &Option<String>, fd: i32| {
            pattern
                .as_ref()
                .map(|p| (p.clone(), expand_log_name(p, pid, &opts.env), fd))
        };
        let xml_file = xml_fd.and_then(|fd| named(&opts.xml_file, fd));
        ReportFiles {
            env: opts.env.clone(),
            log: named(&opts.log_file, log_fd),
            xml_fd: xml_fd.is_some() && xml_file.is_none(),
            xml_file,
            json_file: json_fd.and_then(|fd| named(&opts.json_file, fd)),
            sarif_file: sarif_fd.and_then(|fd| named(&opts.sarif_file, fd)),
        }
    }

    /// In a fork child: opens the child's own log and XML files where their
    /// names differ for its pid. Returns whether the log now is a new file,
    /// and what became of the XML, JSON and SARIF sinks.
    pub(crate) fn after_fork(&mut self) -> (bool, ChildSinks) {
        let pid = dbi::getpid();
        let env = &self.env;
        let reopen = |sink: &mut (String, String, i32), what: &str| -> Option<bool> {
            let name = expand_log_name(&sink.0, pid, env);
            if name == sink.1 {
                return None;
            }
            const FLAGS: u64 = 0o1 | 0o100 | 0o1000 | 0o2000000; // WRONLY|CREAT|TRUNC|CLOEXEC
            let opened = dbi::open(name.as_bytes(), FLAGS, 0o666)
                .and_then(|fd| dbi::dup_onto(fd, sink.2).map(|()| dbi::close(fd)));
            if let Err(e) = opened {
                // Out of the parent's file all the same: stderr takes it.
                let _ = dbi::write_all(
                    2,
                    format!("hbgrind: cannot open {what} {name} in the child {pid}: {e}; writing to stderr instead\n")
                        .as_bytes(),
                );
                let _ = dbi::dup_onto(2, sink.2);
                sink.1 = name;
                return Some(false);
            }
            sink.1 = name;
            Some(true)
        };
        let log = self
            .log
            .as_mut()
            .and_then(|l| reopen(l, "log file"))
            .unwrap_or(false);
        let xml = match self.xml_file.as_mut() {
            Some(x) => match reopen(x, "XML file") {
                Some(true) => ChildXml::Reopened,
                _ => ChildXml::Shared,
            },
            None if self.xml_fd => ChildXml::Shared,
            None => ChildXml::Off,
        };
        let data = |sink: &mut Option<(String, String, i32)>, what: &str| match sink.as_mut() {
            Some(x) => match reopen(x, what) {
                Some(true) => ChildXml::Reopened,
                _ => ChildXml::Shared,
            },
            None => ChildXml::Off,
        };
        let json = data(&mut self.json_file, "JSON file");
        let sarif = data(&mut self.sarif_file, "SARIF file");
        (log, ChildSinks { xml, json, sarif })
    }
}

/// Expands a --log-file name as Valgrind does: `%p` is the pid, `%q{NAME}`
/// the value of environment variable NAME (empty if unset), `%%` is `%`.
pub(crate) fn expand_log_name(name: &str, pid: i32, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        if let Some(t) = tail.strip_prefix('p') {
            out.push_str(&pid.to_string());
            rest = t;
        } else if let Some(t) = tail.strip_prefix('%') {
            out.push('%');
            rest = t;
        } else if let Some((var, t)) = tail.strip_prefix("q{").and_then(|t| t.split_once('}')) {
            if let Some((_, v)) = env.iter().find(|(k, _)| k == var) {
                out.push_str(v);
            }
            rest = t;
        } else {
            out.push('%');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn read_environ() -> Vec<u8> {
    let Ok(fd) = dbi::open(b"/proc/self/environ", 0, 0) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = dbi::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    dbi::close(fd);
    out
}

#[cfg(test)]
mod tests {
    use super::Options;

    #[test]
    fn decodes_joined_options() {
        let o = Options::parse("--tool=inscount\x1f--log-file=x.%p\x1f-q\x1f--trace=dbi=debug")
            .unwrap();
        assert_eq!(o.tool, "inscount");
        assert_eq!(o.log_file.as_deref(), Some("x.%p"));
        assert!(o.quiet);
        assert_eq!(o.trace.as_deref(), Some("dbi=debug"));
        assert_eq!(Options::parse("").unwrap().tool, "race");
        assert!(Options::parse("--tool=nope").is_err());
        let o = Options::parse("--json-file=r.%p.jsonl\x1f--sarif-file=r.sarif").unwrap();
        assert_eq!(o.json_file.as_deref(), Some("r.%p.jsonl"));
        assert_eq!(o.sarif_file.as_deref(), Some("r.sarif"));
        assert!(o.no_effect.is_empty(), "both have an effect");
    }

    #[test]
    fn decodes_report_options() {
        let o = Options::parse(
            "--xml=yes\x1f--xml-fd=3\x1f--error-exitcode=7\x1f--num-callers=4\x1f\
             --suppressions=a.supp\x1f--suppressions=b.supp\x1f--gen-suppressions=yes\x1f\
             --default-suppressions=no\x1f--futex-sync=no",
        )
        .unwrap();
        assert!(o.xml && o.gen_suppressions && !o.default_suppressions && !o.futex_sync);
        assert_eq!(o.xml_fd, Some(3));
        assert_eq!(o.error_exitcode, 7);
        assert_eq!(o.num_callers, 4);
        assert_eq!(o.suppressions, ["a.supp", "b.supp"]);
        let d = Options::parse("").unwrap();
        assert_eq!((d.num_callers, d.default_suppressions), (12, true));
        assert!(d.futex_sync);
        assert_eq!(
            Options::parse("--num-callers=0").unwrap_err(),
            "bad value in option '--num-callers=0': expected an integer from 1 to 500"
        );
        assert!(Options::parse("--xml=maybe").is_err());
        assert!(Options::parse("--error-exitcode=300").is_err());
    }

    #[test]
    fn expands_log_file_names() {
        let env = vec![("RUN".to_string(), "r1".to_string())];
        assert_eq!(
            super::expand_log_name("x.%p.%q{RUN}.%%.%q{NONE}", 42, &env),
            "x.42.r1.%."
        );
    }
}
