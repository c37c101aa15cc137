//! The `--decisions` file: the auditor's verdicts, plain and reviewable.
//!
//! ```text
//! # Race on global var "hits" (declared at mix.c:19): worker (mix.c:36) / worker (mix.c:36)
//! 3f2a9b1c0d4e5f67 bug hits++ without the lock; fixed in !42
//! ```
//!
//! One line per group: its fingerprint (`location_fingerprint`, 16 hex
//! digits), a status (`bug`, `benign`, `annotated`, `suppressed`) and a
//! reason (free text, required). `#` starts a comment line; blank lines
//! are ignored. A group keeps its fingerprint across runs, seeds and
//! rebuilds as long as its kind, data location and two source lines stay,
//! so a decision carries over until the code it is about moves.
//!
//! # Invariants
//! - A bad line is an error naming `file:line` and what is wrong; nothing
//!   is guessed. A fingerprint given twice is an error.
//! - `render_template` writes a file `parse` reads back to the same
//!   decisions (tested).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{TriageError, TriageReport};

/// What the auditor decided about a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A real race, to fix.
    Bug,
    /// Harmless as it is (said why).
    Benign,
    /// Annotated in the source (the annotation hides it from now on).
    Annotated,
    /// Hidden by a suppression entry.
    Suppressed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Bug,
        Status::Benign,
        Status::Annotated,
        Status::Suppressed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Bug => "bug",
            Status::Benign => "benign",
            Status::Annotated => "annotated",
            Status::Suppressed => "suppressed",
        }
    }

    pub fn parse(word: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == word)
    }
}

/// One decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub fingerprint: String,
    pub status: Status,
    pub reason: String,
    /// The line it was read from (0 when not from a file).
    #[serde(default)]
    pub line: usize,
}

/// Every decision, by fingerprint.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    by_fingerprint: BTreeMap<String, Decision>,
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl Decisions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a decisions file.
    pub fn read(path: &Path) -> Result<Decisions, TriageError> {
        let text = std::fs::read_to_string(path).map_err(|source| TriageError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Decisions::parse(path, &text)
    }

    /// Parses `text`; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Decisions, TriageError> {
        let mut d = Decisions::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: String| TriageError::Syntax {
                path: path.to_path_buf(),
                line: i + 1,
                what,
            };
            let mut words = line.splitn(3, char::is_whitespace);
            let fp = words.next().unwrap_or("");
            if !is_fingerprint(fp) {
                return Err(bad(format!(
                    "'{fp}' is not a group fingerprint (16 lower-case hex digits, as hbgrind triage prints)"
                )));
            }
            let word = words.next().unwrap_or("");
            let status = Status::parse(word).ok_or_else(|| {
                bad(format!(
                    "unknown status '{word}': expected bug, benign, annotated or suppressed"
                ))
            })?;
            let reason = words.next().unwrap_or("").trim();
            if reason.is_empty() {
                return Err(bad(format!("no reason given for {fp} ({word})")));
            }
            if let Some(earlier) = d.by_fingerprint.get(fp) {
                return Err(bad(format!(
                    "{fp} is decided twice (first at line {})",
                    earlier.line
                )));
            }
            d.by_fingerprint.insert(
                fp.to_string(),
                Decision {
                    fingerprint: fp.to_string(),
                    status,
                    reason: reason.to_string(),
                    line: i + 1,
                },
            );
        }
        Ok(d)
    }

    pub fn get(&self, fingerprint: &str) -> Option<&Decision> {
        self.by_fingerprint.get(fingerprint)
    }

    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }

    /// Gives each group its decision; lists decisions no group matches.
    pub fn apply(&self, report: &mut TriageReport) {
        for g in &mut report.groups {
            if let Some(d) = self.get(&g.fingerprint) {
                g.status = Some(d.status);
                g.reason = Some(d.reason.clone());
            }
        }
        report.stale_decisions = self
            .by_fingerprint
            .values()
            .filter(|d| !report.groups.iter().any(|g| g.fingerprint == d.fingerprint))
            .cloned()
            .collect();
    }
}

/// A decisions file for `report`: the decided groups with their
/// decisions, the undecided ones as commented-out lines to complete, and
/// the stale decisions kept (commented as such) so nothing is lost.
pub fn render_template(report: &TriageReport) -> String {
    let mut s = String::from(
        "# hbgrind triage decisions: one line per group, FINGERPRINT STATUS REASON.\n\
         # STATUS is bug, benign, annotated or suppressed; the reason is required.\n\
         # Undecided groups are commented out below: uncomment, choose, explain.\n",
    );
    for g in &report.groups {
        s.push('\n');
        s.push_str(&format!("# {}\n", g.title));
        match (&g.status, &g.reason) {
            (Some(status), Some(reason)) => {
                s.push_str(&format!("{} {} {}\n", g.fingerprint, status.name(), reason));
            }
            _ => s.push_str(&format!(
                "# {} bug|benign|annotated|suppressed REASON ({})\n",
                g.fingerprint, g.proposal.kind
            )),
        }
    }
    if !report.stale_decisions.is_empty() {
        s.push_str("\n# Decisions about groups no run shows now (fixed, or the code moved):\n");
        for d in &report.stale_decisions {
            s.push_str(&format!(
                "{} {} {}\n",
                d.fingerprint,
                d.status.name(),
                d.reason
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_with_file_and_line() {
        let p = Path::new("d.txt");
        let d = Decisions::parse(
            p,
            "# c\n\n0123456789abcdef benign   stats only, stale is fine\n",
        )
        .unwrap();
        let x = d.get("0123456789abcdef").unwrap();
        assert_eq!(
            (x.status, x.reason.as_str(), x.line),
            (Status::Benign, "stats only, stale is fine", 3)
        );
        let err = |t: &str| Decisions::parse(p, t).unwrap_err().to_string();
        assert_eq!(
            err("0123456789abcdef maybe x\n"),
            "d.txt:1: unknown status 'maybe': expected bug, benign, annotated or suppressed"
        );
        assert_eq!(
            err("\n0123456789abcdef bug\n"),
            "d.txt:2: no reason given for 0123456789abcdef (bug)"
        );
        assert!(err("xyz bug r\n").starts_with("d.txt:1: 'xyz' is not a group fingerprint"));
        assert_eq!(
            err("0123456789abcdef bug a\n0123456789abcdef benign b\n"),
            "d.txt:2: 0123456789abcdef is decided twice (first at line 1)"
        );
    }
}
