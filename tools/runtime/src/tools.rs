//! The tools on dbi's `Tool` API: `none` and `inscount`.
//! `race` (and its aliases) run as `none` until the race tool exists.

use dbi::{ExitStats, Interests, Log, Tool};

/// Instrumentation off: the translator alone.
pub(crate) struct NoneTool;

impl Tool for NoneTool {
    fn name(&self) -> &'static str {
        "none"
    }
    fn interests(&self) -> Interests {
        Interests::default()
    }
}

/// Counts executed guest instructions and memory operands (like Valgrind's lackey).
pub(crate) struct InsCount;

impl Tool for InsCount {
    fn name(&self) -> &'static str {
        "inscount"
    }
    fn interests(&self) -> Interests {
        Interests {
            instruction_counts: true,
            memory_access_counts: true,
            ..Interests::default()
        }
    }
    fn on_exit(&mut self, stats: &ExitStats, log: &Log) {
        log.line(&format!("guest instructions: {}", stats.instructions));
        log.line(&format!("memory accesses: {}", stats.memory_accesses));
    }
}

/// The tool named by `--tool`.
pub(crate) fn make(name: &str) -> Box<dyn Tool> {
    match name {
        "inscount" => Box::new(InsCount),
        // Not yet: the race tool (hb-engine) is wired in a later issue.
        _ => Box::new(NoneTool),
    }
}
