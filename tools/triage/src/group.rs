//! Errors to groups: one `Group` per `location_fingerprint` (kind, data
//! location, the two source lines), over every run.
//!
//! # Invariants
//! - The output is the same whatever the order of the runs and of their
//!   errors: groups are sorted by data location, then title; each group's
//!   representative context is the one with the smallest context
//!   fingerprint among those that know their locks (JSON input) if any.
//! - A group's two sides are in a canonical order (by source location,
//!   then access kind), so the same race found from either side, in any
//!   run, reads the same.

use std::collections::{BTreeMap, BTreeSet};

use hbgrind_report::fingerprint::{data_location, frame_token, lock_name, site_frame};
use hbgrind_report::{AccessObject, ErrorObject, FrameObject};

use crate::input::Run;
use crate::source::SourceCache;
use crate::{ContextSummary, Group, Side, TriageOptions};

/// One side of one error, before aggregation.
struct RawSide<'a> {
    kind: &'a str,
    size: u64,
    thread: Option<u32>,
    /// Lock addresses; `None` unknown.
    locks: Option<&'a [String]>,
    stack: &'a [FrameObject],
}

fn raw_side(a: &AccessObject) -> RawSide<'_> {
    RawSide {
        kind: &a.kind,
        size: a.size,
        thread: Some(a.thread),
        locks: a.locks_held.as_deref(),
        stack: &a.stack,
    }
}

fn site_token(stack: &[FrameObject]) -> String {
    site_frame(stack).map(frame_token).unwrap_or_default()
}

/// The sides of `e` in canonical order.
fn sides_of(e: &ErrorObject) -> Vec<RawSide<'_>> {
    let mut v = match (&e.race, &e.lock_order) {
        (Some(r), _) => vec![raw_side(&r.current), raw_side(&r.prior)],
        (None, Some(l)) => vec![
            RawSide {
                kind: "acquire",
                size: 0,
                thread: Some(e.tid),
                locks: None,
                stack: &e.stack,
            },
            RawSide {
                kind: "acquire (required order)",
                size: 0,
                thread: None,
                locks: None,
                stack: &l.required_second,
            },
        ],
        _ => vec![RawSide {
            kind: e.misuse.as_ref().map_or("call", |m| m.what.as_str()),
            size: 0,
            thread: Some(e.tid),
            locks: None,
            stack: &e.stack,
        }],
    };
    if e.lock_order.is_none() {
        v.sort_by_key(|s| (site_token(s.stack), s.kind.to_string()));
    }
    v
}

/// The kind as a title word.
pub(crate) fn kind_title(kind: &str) -> &str {
    match kind {
        "Race" => "Race",
        "LockOrder" => "Lock order",
        "UnlockUnlocked" => "Unlock of an unlocked lock",
        "UnlockForeign" => "Unlock of another thread's lock",
        _ => "Lock misuse",
    }
}

fn lock_names(e: &ErrorObject, addrs: &[String]) -> Vec<String> {
    addrs
        .iter()
        .map(|a| match e.locks.iter().find(|l| &l.addr == a) {
            Some(l) => lock_name(l),
            None => format!("the lock at {a}"),
        })
        .collect()
}

/// How many callers of the creating frame a thread's description names.
const CREATION_CALLERS: usize = 3;

/// `#2, created at start_pool (pool.c:40) by main (pool.c:88)`: the first
/// frame of the creation stack in the program's own code, then up to
/// `CREATION_CALLERS` of its callers that have a source line.
fn thread_text(e: &ErrorObject, number: u32) -> String {
    match e.threads.iter().find(|t| t.number == number) {
        Some(t) if t.root => format!("#{number}, the root thread"),
        Some(t) => match site_frame(&t.created) {
            Some(f) => {
                let mut text = format!("#{number}, created at {}", f.describe());
                let at = t
                    .created
                    .iter()
                    .position(|g| std::ptr::eq(g, f))
                    .unwrap_or(0);
                for caller in t.created[at + 1..]
                    .iter()
                    .filter(|g| g.line.is_some())
                    .take(CREATION_CALLERS)
                {
                    text.push_str(" by ");
                    text.push_str(&caller.describe());
                }
                text
            }
            None => format!("#{number}"),
        },
        None => format!("#{number}"),
    }
}

/// Groups the errors of `runs`.
pub fn build(runs: &[Run], options: &TriageOptions) -> Vec<Group> {
    // fingerprint -> (run index, error)
    let mut by_group: BTreeMap<&str, Vec<(usize, &ErrorObject)>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for e in &run.errors {
            by_group
                .entry(e.location_fingerprint.as_str())
                .or_default()
                .push((i, e));
        }
    }
    let mut sources = SourceCache::new(options);
    let mut groups: Vec<Group> = by_group
        .into_iter()
        .map(|(fp, members)| group_of(fp, &members, runs, &mut sources))
        .collect();
    groups.sort_by(|a, b| {
        (&a.data_category, &a.data_label, &a.title, &a.fingerprint).cmp(&(
            &b.data_category,
            &b.data_label,
            &b.title,
            &b.fingerprint,
        ))
    });
    groups
}

fn knows_locks(e: &ErrorObject) -> bool {
    e.race
        .as_ref()
        .is_some_and(|r| r.current.locks_held.is_some() && r.prior.locks_held.is_some())
}

fn group_of(
    fp: &str,
    members: &[(usize, &ErrorObject)],
    runs: &[Run],
    sources: &mut SourceCache,
) -> Group {
    let rep = members
        .iter()
        .map(|(_, e)| *e)
        .min_by_key(|e| (!knows_locks(e), e.context_fingerprint.clone()))
        .expect("a group has at least one member");
    let location = data_location(rep);
    let rep_sides = sides_of(rep);

    // Over every member: access kinds and threads per side position.
    let n = rep_sides.len();
    let mut kinds: Vec<BTreeSet<String>> = vec![BTreeSet::new(); n];
    let mut threads: Vec<BTreeSet<String>> = vec![BTreeSet::new(); n];
    let mut contexts: BTreeMap<&str, (String, BTreeSet<usize>, u64)> = BTreeMap::new();
    let mut run_set = BTreeSet::new();
    let mut occurrences = 0;
    for &(run, e) in members {
        let sides = sides_of(e);
        for (i, s) in sides.iter().enumerate().take(n) {
            kinds[i].insert(s.kind.to_string());
            if let Some(t) = s.thread {
                threads[i].insert(thread_text(e, t));
            }
        }
        let what = sides
            .iter()
            .map(|s| match (s.size, s.thread) {
                (0, _) => s.kind.to_string(),
                (size, Some(t)) => format!("{} of size {size} by thread #{t}", s.kind),
                (size, None) => format!("{} of size {size}", s.kind),
            })
            .collect::<Vec<_>>()
            .join(" / ");
        let count = runs[run].occurrences(e.unique);
        let c = contexts
            .entry(e.context_fingerprint.as_str())
            .or_insert_with(|| (what, BTreeSet::new(), 0));
        c.1.insert(run);
        c.2 += count;
        run_set.insert(run);
        occurrences += count;
    }

    let sides: Vec<Side> = rep_sides
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let frame = site_frame(s.stack);
            Side {
                access: kinds[i].iter().cloned().collect::<Vec<_>>().join("/"),
                site: frame.map_or_else(|| "(no stack)".to_string(), FrameObject::describe),
                file_line: frame.and_then(FrameObject::file_line),
                locks: s.locks.map(|l| lock_names(rep, l)),
                threads: threads[i].iter().cloned().collect(),
                stack: s.stack.to_vec(),
                excerpt: frame.and_then(|f| sources.excerpt(f)),
            }
        })
        .collect();
    let module = rep_sides
        .first()
        .and_then(|s| site_frame(s.stack))
        .and_then(|f| f.obj.as_deref())
        .map_or_else(
            || "?".to_string(),
            |o| o.rsplit('/').next().unwrap_or(o).to_string(),
        );
    let title = format!(
        "{} on {}: {}",
        kind_title(&rep.kind),
        location.label,
        sides
            .iter()
            .map(|s| s.site.as_str())
            .collect::<Vec<_>>()
            .join(" / ")
    );
    let shape = sides
        .iter()
        .map(|s| {
            let locks = match &s.locks {
                Some(l) if l.is_empty() => "no lock".to_string(),
                Some(l) => l.join("+"),
                None => "locks unknown".to_string(),
            };
            format!(
                "{} at {} holding {locks}",
                s.access,
                s.file_line.as_deref().unwrap_or(&s.site)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let (proposal, alternatives, suppression) = crate::proposal::propose(rep, &location, &sides);
    let mut context_list: Vec<ContextSummary> = contexts
        .into_iter()
        .map(|(fp, (what, runs, occurrences))| ContextSummary {
            fingerprint: fp.to_string(),
            what,
            runs: runs.len(),
            occurrences,
        })
        .collect();
    context_list.sort_by(|a, b| (&a.what, &a.fingerprint).cmp(&(&b.what, &b.fingerprint)));
    Group {
        fingerprint: fp.to_string(),
        kind: rep.kind.clone(),
        title,
        data_category: location.category.to_string(),
        data_key: location.key.clone(),
        data_label: location.label.clone(),
        module,
        runs: run_set.len(),
        contexts: context_list,
        occurrences,
        sides,
        proposal,
        alternatives,
        suppression,
        shape,
        ..Group::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hbgrind_report::ThreadObject;

    fn frame(function: &str, obj: &str, line: Option<u32>) -> FrameObject {
        FrameObject {
            ip: "0x1".into(),
            function: Some(function.into()),
            obj: Some(obj.into()),
            file: line.map(|_| "pool.c".into()),
            line,
            ..FrameObject::default()
        }
    }

    #[test]
    fn a_thread_is_described_by_its_creation_stack() {
        let created = vec![
            frame(
                "pthread_create@@GLIBC_2.34",
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                None,
            ),
            frame("start_pool", "/tmp/pool", Some(40)),
            frame("helper_without_lines", "/tmp/pool", None),
            frame("setup", "/tmp/pool", Some(70)),
            frame("main", "/tmp/pool", Some(88)),
        ];
        let e = ErrorObject {
            threads: vec![
                ThreadObject {
                    number: 2,
                    created,
                    ..ThreadObject::default()
                },
                ThreadObject {
                    number: 1,
                    root: true,
                    ..ThreadObject::default()
                },
            ],
            ..ErrorObject::default()
        };
        assert_eq!(
            thread_text(&e, 2),
            "#2, created at start_pool (pool.c:40) by setup (pool.c:70) by main (pool.c:88)"
        );
        assert_eq!(thread_text(&e, 1), "#1, the root thread");
        assert_eq!(thread_text(&e, 3), "#3");
    }
}
