//! The proposed action for a group, as text to apply: a bug fix named by
//! its lines and locks, an annotation at a named line, a suppression entry
//! ready to paste. The rules (papers/triage.md):
//!
//! 1. One side holds a lock, the other none (or no lock in common):
//!    `bug fix: the write at F:L holds no lock, the read at F:L holds M`.
//! 2. Neither holds a lock and both sides write (two writes, or the read
//!    and write of one `x++`): a bug fix, protect or make atomic.
//! 3. Neither holds a lock, a read against a write: the auditor must say
//!    whether the read may see a stale value. Proposed: an annotation
//!    (`ANNOTATE_BENIGN_RACE_SIZED`), with `ANNOTATE_HAPPENS_BEFORE/AFTER`
//!    (when the write publishes data the reader uses), and
//!    `VALGRIND_HG_DISABLE_CHECKING` as alternatives.
//! 4. Always an alternative: the suppression entry.
//!
//! Locks unknown (XML input) count as rule 2 or 3, and the text says so.

use hbgrind_report::fingerprint::{allocation_site, lock_name, site_frame, DataLocation};
use hbgrind_report::{AddressObject, ErrorObject, FrameObject};

use crate::{Action, Side};

fn action(kind: &str, text: String) -> Action {
    Action {
        kind: kind.to_string(),
        text,
    }
}

fn where_of(s: &Side) -> &str {
    s.file_line.as_deref().unwrap_or(&s.site)
}

fn lock_list(locks: &[String]) -> String {
    locks.join(" and ")
}

/// A suppression entry for `e`: its own stack, innermost frame through the
/// frame that locates it, that one as `src:file:line` (the rest of the
/// stack need not match; `src:` lines: papers/suppressions.md).
pub(crate) fn suppression(e: &ErrorObject, name: &str) -> String {
    let stop = site_frame(&e.stack)
        .and_then(|f| e.stack.iter().position(|g| std::ptr::eq(f, g)))
        .unwrap_or(e.stack.len().saturating_sub(1));
    let mut s = format!("{{\n   {name}\n   Helgrind:{}\n", e.kind);
    for (i, f) in e.stack.iter().take(stop + 1).enumerate() {
        // The frame that locates the access by its line, so the entry
        // hides this race and not every race in the function.
        if let (true, Some(file), Some(line)) = (i == stop, &f.file, f.line) {
            s.push_str(&format!("   src:{file}:{line}\n"));
            continue;
        }
        match (f.match_name(), &f.obj) {
            (Some(n), _) => s.push_str(&format!("   fun:{n}\n")),
            (None, Some(o)) => s.push_str(&format!("   obj:{o}\n")),
            (None, None) => s.push_str("   obj:*\n"),
        }
    }
    s.push_str("}\n");
    s
}

/// (address expression, size expression, where to put a one-time
/// annotation) for the data of `e`.
fn target(e: &ErrorObject, size: u64) -> (String, String, String) {
    match &e.address {
        Some(AddressObject::GlobalVar {
            name,
            offset,
            declared_file,
            declared_line,
            ..
        }) => {
            let declared = match (declared_file, declared_line) {
                (Some(f), Some(l)) => format!(" ({name} is declared at {f}:{l})"),
                _ => String::new(),
            };
            let place = format!("once, before the threads start, e.g. first in main{declared}");
            if *offset == 0 {
                (format!("&{name}"), format!("sizeof({name})"), place)
            } else {
                (
                    format!("(char *)&{name} + {offset}"),
                    size.to_string(),
                    place,
                )
            }
        }
        Some(AddressObject::HeapBlock {
            offset,
            alloc_stack,
            ..
        }) => {
            let at = allocation_site(alloc_stack)
                .map_or_else(|| "the allocation".to_string(), FrameObject::describe);
            (
                format!("(char *)p + {offset}"),
                size.to_string(),
                format!("right after the allocation in {at}, p being the pointer it returns"),
            )
        }
        _ => (
            "ADDRESS".to_string(),
            size.to_string(),
            "before the threads start".to_string(),
        ),
    }
}

/// (proposal, alternatives, suppression entry).
pub(crate) fn propose(
    e: &ErrorObject,
    location: &DataLocation,
    sides: &[Side],
) -> (Action, Vec<Action>, String) {
    let supp = suppression(e, &format!("triage:{}", e.location_fingerprint));
    let mut alternatives = Vec::new();
    let primary = match (e.kind.as_str(), sides) {
        ("Race", [a, b]) => {
            let size = e.race.as_ref().map_or(0, |r| r.current.size);
            let (addr, len, place) = target(e, size);
            let data = &location.label;
            let annotate_benign = action(
                "annotation",
                format!(
                    "#include <valgrind/helgrind.h>\nANNOTATE_BENIGN_RACE_SIZED({addr}, {len}, \"why this race is benign\");\n/* {place} */"
                ),
            );
            let disable = action(
                "annotation",
                format!(
                    "#include <valgrind/helgrind.h>\nVALGRIND_HG_DISABLE_CHECKING({addr}, {len});\n/* {place}; no access to it is checked any more */"
                ),
            );
            let (writer, reader) = if b.access.contains("write") && !a.access.contains("write") {
                (b, a)
            } else {
                (a, b)
            };
            let happens = action(
                "annotation",
                format!(
                    "#include <valgrind/helgrind.h>\n/* at {}, after the {}: */\nANNOTATE_HAPPENS_BEFORE({addr});\n/* at {}, before the {}: */\nANNOTATE_HAPPENS_AFTER({addr});\n/* only if real synchronisation (a flag, an atomic) orders them that hbgrind does not see */",
                    where_of(writer),
                    writer.access,
                    where_of(reader),
                    reader.access
                ),
            );
            let unknown = a.locks.is_none() || b.locks.is_none();
            let both_write = a.access.contains("write") && b.access.contains("write");
            let primary = match (&a.locks, &b.locks) {
                (Some(la), Some(lb)) if la.is_empty() != lb.is_empty() => {
                    let (bare, held, locks) = if la.is_empty() { (a, b, lb) } else { (b, a, la) };
                    action(
                        "bug fix",
                        format!(
                            "bug fix: the {} at {} holds no lock, the {} at {} holds {}; take {} around the {} at {}",
                            bare.access,
                            where_of(bare),
                            held.access,
                            where_of(held),
                            lock_list(locks),
                            lock_list(locks),
                            bare.access,
                            where_of(bare)
                        ),
                    )
                }
                (Some(la), Some(lb)) if !la.is_empty() && !lb.iter().any(|l| la.contains(l)) => {
                    action(
                        "bug fix",
                        format!(
                            "bug fix: the {} at {} holds {}, the {} at {} holds {}: no lock in common; guard {data} with one lock",
                            a.access,
                            where_of(a),
                            lock_list(la),
                            b.access,
                            where_of(b),
                            lock_list(lb)
                        ),
                    )
                }
                _ if both_write => action(
                    "bug fix",
                    format!(
                        "bug fix: neither the {} at {} nor the {} at {} holds a lock{}: guard {data} with one lock, or make it atomic",
                        a.access,
                        where_of(a),
                        b.access,
                        where_of(b),
                        if unknown { " (as far as the XML says: run with --json-file to see the locks held)" } else { "" }
                    ),
                ),
                _ => {
                    alternatives.push(happens.clone());
                    alternatives.push(disable.clone());
                    alternatives.push(action(
                        "bug fix",
                        format!(
                            "bug fix: if the {} at {} must see the {} at {}, guard {data} with one lock on both sides or make it atomic",
                            reader.access,
                            where_of(reader),
                            writer.access,
                            where_of(writer)
                        ),
                    ));
                    alternatives.push(action("suppression", supp.clone()));
                    return (annotate_benign, alternatives, supp);
                }
            };
            alternatives.push(annotate_benign);
            alternatives.push(happens);
            primary
        }
        ("LockOrder", [a, b]) => {
            let names: Vec<String> = e.locks.iter().map(lock_name).collect();
            action(
                "bug fix",
                format!(
                    "bug fix: the acquisition at {} takes {} in the opposite order to the one at {}; take them in one order everywhere",
                    where_of(a),
                    if names.is_empty() { "two locks".to_string() } else { names.join(" and ") },
                    where_of(b)
                ),
            )
        }
        (_, [a, ..]) => action(
            "bug fix",
            format!("bug fix: {} (at {})", e.what, where_of(a)),
        ),
        _ => action("bug fix", format!("bug fix: {}", e.what)),
    };
    alternatives.push(action("suppression", supp.clone()));
    (primary, alternatives, supp)
}
