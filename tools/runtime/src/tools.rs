//! The tools on dbi's `Tool` API: `none`, `inscount` and `race` (with its
//! aliases `helgrind` and `drd`, in `race/`). Every tool answers the core
//! client requests (`client::Core`).

use dbi::{ExitStats, Interests, Log, StackId, ThreadNum, Tool};

use crate::client::{self, Core, Guest, Plain, Request};
use crate::options::Options;
use crate::race::{self, RaceConfig, RaceTool, ReportConfig};

/// Instrumentation off: the translator alone (and the core client requests).
pub(crate) struct NoneTool {
    core: Core,
    verbose: bool,
}

/// The core requests of a tool without requests of its own.
fn plain_request(core: &mut Core, args: &[u64; 6], pc: u64, stack: StackId) -> Option<u64> {
    let request = client::decode(args);
    let answer = core.handle(request, &Guest, pc, stack, &mut Plain);
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
        plain_request(&mut self.core, args, pc, stack)
    }
    fn on_exit(&mut self, _stats: &ExitStats, _log: &Log) {
        self.core.finish(self.verbose);
    }
}

/// Counts executed guest instructions and memory operands (like Valgrind's lackey).
pub(crate) struct InsCount {
    core: Core,
    verbose: bool,
}

impl Tool for InsCount {
    fn name(&self) -> &'static str {
        "inscount"
    }
    fn interests(&self) -> Interests {
        Interests {
            instruction_counts: true,
            memory_access_counts: true,
            client_requests: true,
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
        plain_request(&mut self.core, args, pc, stack)
    }
    fn on_exit(&mut self, stats: &ExitStats, log: &Log) {
        self.core.finish(self.verbose);
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
            verbose,
        }),
        "inscount" => Box::new(InsCount {
            core: Core::new(log),
            verbose,
        }),
        // "race", "helgrind", "drd": Options::parse admits nothing else.
        _ => {
            let suppressions =
                race::load_suppressions(&opts.suppressions, opts.default_suppressions)?;
            let xml_fd = opts.open_xml()?;
            let config = RaceConfig {
                report: ReportConfig {
                    log_fd: log.fd,
                    xml_fd,
                    num_callers: opts.num_callers,
                    gen_suppressions: opts.gen_suppressions,
                    verbose,
                    quiet: opts.quiet,
                    tool_args: opts.raw.clone(),
                },
                suppressions,
                error_exitcode: opts.error_exitcode,
            };
            Box::new(RaceTool::new(config, log))
        }
    })
}
