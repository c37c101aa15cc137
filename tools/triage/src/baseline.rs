//! `--baseline`: how the groups compare with an earlier triage (its JSON)
//! or earlier runs, by fingerprint.
//!
//! - `new`: no baseline group has the fingerprint;
//! - `changed`: one has, but its shape differs: the access kinds or the
//!   locks held on a side (when both sides of the comparison know them);
//!   the number of contexts or occurrences does not count, as it varies
//!   with the schedule;
//! - `unchanged`: otherwise;
//! - gone: a baseline group no run shows now (`TriageReport::gone`).

use crate::{BaselineState, GoneGroup, Group, TriageReport};

/// Marks `report`'s groups against `baseline`.
pub fn compare(report: &mut TriageReport, baseline: &[Group]) {
    for g in &mut report.groups {
        match baseline.iter().find(|b| b.fingerprint == g.fingerprint) {
            None => g.baseline = Some(BaselineState::New),
            Some(b) => {
                let mut changes = Vec::new();
                for (now, then) in g.sides.iter().zip(&b.sides) {
                    let place = now.file_line.as_deref().unwrap_or(&now.site);
                    if now.access != then.access {
                        changes.push(format!("{place}: {} (was {})", now.access, then.access));
                    }
                    if let (Some(l_now), Some(l_then)) = (&now.locks, &then.locks) {
                        if l_now != l_then {
                            let show = |l: &Vec<String>| {
                                if l.is_empty() {
                                    "no lock".to_string()
                                } else {
                                    l.join(" and ")
                                }
                            };
                            changes.push(format!(
                                "{place}: holds {} (held {})",
                                show(l_now),
                                show(l_then)
                            ));
                        }
                    }
                }
                g.baseline = Some(if changes.is_empty() {
                    BaselineState::Unchanged
                } else {
                    BaselineState::Changed
                });
                g.changes = changes;
            }
        }
    }
    report.gone = baseline
        .iter()
        .filter(|b| !report.groups.iter().any(|g| g.fingerprint == b.fingerprint))
        .map(|b| GoneGroup {
            fingerprint: b.fingerprint.clone(),
            title: b.title.clone(),
            status: b.status,
        })
        .collect();
}
