//! hbgrind-triage: from the errors of one or more runs to an auditor's
//! work list (`hbgrind triage`, papers/triage.md).
//!
//! 1. `input::read_run` reads each run's `--xml-file` or `--json-file`.
//! 2. `group::build` groups their errors by data location, then by the
//!    pair of source lines (`location_fingerprint`), counting runs,
//!    contexts and occurrences, and proposes an action per group
//!    (`proposal`), with source excerpts (`source`).
//! 3. `decisions::Decisions` (the `--decisions` file) gives groups their
//!    status; `baseline::compare` marks groups new, changed or unchanged
//!    against `--baseline`, and lists the gone ones.
//! 4. `render` writes the result as one HTML page, Markdown, JSON (which
//!    a later triage reads back as its baseline) or SARIF.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod baseline; // new / changed / gone against an earlier triage or runs
pub mod decisions; // the --decisions file: FINGERPRINT STATUS REASON
pub mod group; // errors -> groups, with counts, sides, proposals
pub mod input; // Run: the errors of one XML or JSON file
mod proposal; // the action to take, as text to paste
pub mod render; // HTML, Markdown, JSON, SARIF
mod source; // source excerpts around the accesses

pub use crate::decisions::{Decision, Decisions, Status};
pub use crate::input::{read_input, read_run, Input, Run};

/// The `format` of a triage JSON document.
pub const TRIAGE_FORMAT: &str = "hbgrind-triage";
pub const TRIAGE_VERSION: u32 = 1;

/// Everything that can go wrong; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Format { path: PathBuf, what: String },
    #[error("{path}:{line}: {what}")]
    Syntax {
        path: PathBuf,
        line: usize,
        what: String,
    },
}

/// One run as the report lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub path: String,
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched_seed: Option<u64>,
    pub contexts: usize,
    pub finished: bool,
}

/// A few source lines around an access.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    pub path: String,
    pub first_line: u32,
    pub lines: Vec<String>,
    /// The access's own line.
    pub line: u32,
}

/// One side of a group: an access, where and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// `read`, `write`, `read/write` (over the group's contexts), `acquire`…
    pub access: String,
    /// `worker (mix.c:36)`.
    pub site: String,
    /// `mix.c:36`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_line: Option<String>,
    /// Names of the locks held (`"lock"`); `None`: unknown (XML input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locks: Option<Vec<String>>,
    /// `#2, created at main (mix.c:48)`, per thread seen on this side.
    pub threads: Vec<String>,
    /// The stack, innermost first.
    pub stack: Vec<hbgrind_report::FrameObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<Excerpt>,
}

/// What to do about a group, as text to apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `bug fix`, `annotation`, `suppression`.
    pub kind: String,
    pub text: String,
}

/// How a group compares with the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    New,
    Changed,
    Unchanged,
}

impl BaselineState {
    pub fn name(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Changed => "changed",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

/// One context of a group (an error as deduplication sees it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSummary {
    pub fingerprint: String,
    /// `write of size 4 by thread #3 / read of size 4 by thread #2`.
    pub what: String,
    pub runs: usize,
    pub occurrences: u64,
}

/// Errors with the same kind, data location and pair of source lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The `location_fingerprint` of its errors: decisions are keyed by it.
    pub fingerprint: String,
    pub kind: String,
    /// `Race on global var "hits": worker (mix.c:36) / worker (mix.c:36)`.
    pub title: String,
    /// `global`, `heap`, `stack`, `symbol`, `locks`, `unknown`.
    pub data_category: String,
    pub data_key: String,
    pub data_label: String,
    /// The object (ELF file name) of the first side's code.
    pub module: String,
    pub runs: usize,
    pub contexts: Vec<ContextSummary>,
    pub occurrences: u64,
    pub sides: Vec<Side>,
    pub proposal: Action,
    pub alternatives: Vec<Action>,
    /// A suppression entry for the group, ready to paste.
    pub suppression: String,
    /// What `changed` compares: access kinds and locks of each side.
    pub shape: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
    /// For `changed`: what differs from the baseline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl Group {
    /// `undecided` or the decision's status.
    pub fn status_name(&self) -> &'static str {
        self.status.map_or("undecided", Status::name)
    }
}

/// A group of the baseline that no run shows any more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoneGroup {
    pub fingerprint: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// The whole triage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageReport {
    pub format: String,
    pub version: u32,
    pub runs: Vec<RunSummary>,
    pub groups: Vec<Group>,
    /// Whether a baseline was given (then `gone` and `Group::baseline` mean something).
    pub has_baseline: bool,
    #[serde(default)]
    pub gone: Vec<GoneGroup>,
    /// Decisions about groups that no run shows.
    #[serde(default)]
    pub stale_decisions: Vec<Decision>,
}

impl TriageReport {
    /// Groups without a decision.
    pub fn undecided(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| g.status.is_none())
    }
}

/// Options of `build`.
#[derive(Clone, Debug, Default)]
pub struct TriageOptions {
    /// Where to look for source files named by a relative or missing path.
    pub source_dirs: Vec<PathBuf>,
    /// Lines shown before and after each access.
    pub context_lines: u32,
}

/// Groups `runs`, applies `decisions`, compares with `baseline`.
pub fn triage(
    runs: &[Run],
    decisions: &Decisions,
    baseline: Option<&[Group]>,
    options: &TriageOptions,
) -> TriageReport {
    let mut report = TriageReport {
        format: TRIAGE_FORMAT.to_string(),
        version: TRIAGE_VERSION,
        runs: runs
            .iter()
            .map(|r| RunSummary {
                path: r.path.display().to_string(),
                format: r.format.to_string(),
                pid: r.pid,
                sched_seed: r.sched_seed,
                contexts: r.errors.len(),
                finished: r.finished,
            })
            .collect(),
        groups: group::build(runs, options),
        has_baseline: baseline.is_some(),
        ..TriageReport::default()
    };
    decisions.apply(&mut report);
    if let Some(b) = baseline {
        baseline::compare(&mut report, b);
    }
    report
}
