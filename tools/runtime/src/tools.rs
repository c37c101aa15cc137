//! The tools on dbi's `Tool` API: `none`, `inscount`, `cachegrind` (in
//! `cachegrind/`) and `race` (with its aliases `helgrind` and `drd`, in `race/`). Every tool answers the core
//! client requests (`client::Core`).

use dbi::{ExitStats, Interests, Log, ModuleView, StackId, ThreadNum, Tool};

use crate::client::{self, Core, CoreContext, Guest, Request};
use crate::options::{Options, ReportFiles};
use crate::race::{self, CodeSymbols, RaceConfig, RaceTool, ReportConfig};

/// Instrumentation off: the translator alone (and the core client requests).
pub(crate) struct NoneTool {
    core: Core,
    symbols: CodeSymbols,
    verbose: bool,
    files: ReportFiles,
}

/// What the core requests of a tool without requests of its own need: its
/// symbols. Such a tool keeps no call stacks (they cost the none tool up to
/// 6x on `sort`), so a `VALGRIND_PRINTF_BACKTRACE` shows the request's own
/// frame only.
struct Plain<'a>(&'a mut CodeSymbols);

impl CoreContext for Plain<'_> {
    fn backtrace(&mut self, pc: u64, stack: StackId) -> Vec<String> {
        self.0.backtrace_lines(pc, stack)
    }
}

/// The core requests of a tool without requests of its own.
pub(crate) fn plain_request(
    core: &mut Core,
    symbols: &mut CodeSymbols,
    args: &[u64; 6],
    pc: u64,
    stack: StackId,
) -> Option<u64> {
    let request = client::decode(args);
    let answer = core.handle(request, &Guest, pc, stack, &mut Plain(symbols));
    if let (None, Request::Unknown(code)) = (answer, request) {
        core.count_unknown(code);
    }
    answer
}

impl Tool for NoneTool {
    fn name(&self) -> &'static str {
        "none"
    }
    fn interests(&self) -> Interests {
        Interests {
            client_requests: true,
            modules: true,
            ..Interests::default()
        }
    }
    fn on_client_request(
        &mut self,
        _thread: ThreadNum,
        args: &[u64; 6],
        pc: u64,
        stack: StackId,
    ) -> Option<u64> {
        plain_request(&mut self.core, &mut self.symbols, args, pc, stack)
    }
    fn on_module_load(&mut self, m: &ModuleView<'_>) {
        self.symbols.module_loaded(m.path, m.start, m.len, m.bias);
    }
    fn on_module_unload(&mut self, start: u64, _len: u64) {
        self.symbols.module_unloaded(start);
    }
    fn on_exit(&mut self, stats: &ExitStats, log: &Log) {
        self.core.finish(self.verbose);
        if let Some(fatal) = &stats.fatal {
            // Valgrind prints this block whatever the tool.
            let mut text = hbgrind_report::TextReporter::new(dbi::getpid() as u32);
            if let Some(started) = log.time_stamp {
                text.set_time_stamp(started);
            }
            let info = hbgrind_report::FatalSignalInfo {
                signal: fatal.signal,
                code: fatal.code,
                addr: fatal.addr,
                thread: fatal.thread,
                stack: self.symbols.stack(fatal.pc, fatal.stack),
            };
            let _ = dbi::write_all(log.fd, text.fatal_signal_text(&info).as_bytes());
        }
    }
    fn on_fork_child(&mut self) {
        self.files.after_fork();
    }
}

/// Counts executed guest instructions and memory operands (like Valgrind's
/// lackey); otherwise the none tool.
pub(crate) struct InsCount {
    base: NoneTool,
}

impl Tool for InsCount {
    fn name(&self) -> &'static str {
        "inscount"
    }
    fn interests(&self) -> Interests {
        Interests {
            instruction_counts: true,
            memory_access_counts: true,
            ..self.base.interests()
        }
    }
    fn on_client_request(
        &mut self,
        thread: ThreadNum,
        args: &[u64; 6],
        pc: u64,
        stack: StackId,
    ) -> Option<u64> {
        self.base.on_client_request(thread, args, pc, stack)
    }
    fn on_module_load(&mut self, m: &ModuleView<'_>) {
        self.base.on_module_load(m);
    }
    fn on_module_unload(&mut self, start: u64, len: u64) {
        self.base.on_module_unload(start, len);
    }
    fn on_fork_child(&mut self) {
        self.base.on_fork_child();
    }
    fn on_exit(&mut self, stats: &ExitStats, log: &Log) {
        self.base.on_exit(stats, log);
        log.line(&format!("guest instructions: {}", stats.instructions));
        log.line(&format!("memory accesses: {}", stats.memory_accesses));
    }
}

/// The tool named by `--tool`; the error is the one line to print (a
/// suppression file that cannot be used, an XML sink that cannot be opened).
pub(crate) fn make(opts: &Options, log: Log) -> Result<Box<dyn Tool>, String> {
    let verbose = opts.verbose;
    Ok(match opts.tool.as_str() {
        "none" => Box::new(NoneTool {
            core: Core::new(log),
            symbols: CodeSymbols::new(opts.num_callers),
            verbose,
            files: ReportFiles::new(opts, log.fd, None),
        }),
        "inscount" => Box::new(InsCount {
            base: NoneTool {
                core: Core::new(log),
                symbols: CodeSymbols::new(opts.num_callers),
                verbose,
                files: ReportFiles::new(opts, log.fd, None),
            },
        }),
        "cachegrind" => Box::new(crate::cachegrind::Cachegrind::new(
            Core::new(log),
            CodeSymbols::new(opts.num_callers),
            ReportFiles::new(opts, log.fd, None),
            crate::cachegrind::Settings::from_options(opts),
            &log,
        )),
        // "race", "helgrind", "drd": Options::parse admits nothing else.
        _ => {
            let suppressions =
                race::load_suppressions(&opts.suppressions, opts.default_suppressions, &{
                    race::command_line().0
                })?;
            let lock_models = race::load_lock_models(&opts.lock_models)?;
            let xml_fd = opts.open_xml()?;
            let json_fd = opts.open_json()?;
            let sarif_fd = opts.open_sarif()?;
            let config = RaceConfig {
                report: ReportConfig {
                    log_fd: log.fd,
                    xml_fd,
                    json_fd,
                    sarif_fd,
                    num_callers: opts.num_callers,
                    gen_suppressions: opts.gen_suppressions,
                    verbose,
                    quiet: opts.quiet,
                    tool_args: opts.raw.clone(),
                    sched_seed: opts.schedule.seed,
                    sched_policy: opts.schedule.policy,
                    time_stamp: log.time_stamp,
                    show_error_list: opts.show_error_list,
                    error_limit: opts.error_limit,
                    child_silent_after_fork: opts.child_silent_after_fork,
                    exit_on_first_error: opts.exit_on_first_error.then_some(opts.error_exitcode),
                    track_lockorders: opts.track_lockorders,
                },
                suppressions,
                error_exitcode: opts.error_exitcode,
                futex_sync: opts.futex_sync,
                lock_models,
            };
            let files = ReportFiles::with_data_files(opts, log.fd, xml_fd, json_fd, sarif_fd);
            Box::new(RaceTool::new(config, log).with_files(files))
        }
    })
}
