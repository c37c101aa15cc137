//! Fingerprints that name an error across runs (papers/report-formats.md).
//!
//! A run's addresses, pids, thread numbers and schedule change from run to
//! run; what the user means by "the same race" does not: the kind, the
//! functions and source lines of both accesses, and the variable or heap
//! object they touch. Two fingerprints, both 16 hex digits (64-bit FNV-1a
//! of a canonical text, stable across Rust versions, unlike `std`'s hasher):
//!
//! - `context_fingerprint`: one error context as deduplication sees it
//!   (the kind, each side's access kind and whole stack), with the two
//!   sides in a canonical order, as which one is found first depends on the
//!   schedule. SARIF's `partialFingerprints["hbgrindContext/v1"]`.
//! - `location_fingerprint`: the triage group: the kind, the data location
//!   (`DataLocation::key`) and the source line of each side (its first
//!   frame outside system libraries). All the contexts that reach the same
//!   two lines through different callers, or as read and write of one
//!   `x++`, share it. `triage` decisions are keyed by it.
//!
//! # Invariants
//! - Only names, file names (without directories) and line numbers enter
//!   a fingerprint: never an address, pid, thread number or size of a
//!   heap block that depends on input (the offset inside it does enter).
//! - Readers that rebuild an `ErrorObject` from XML get the same
//!   fingerprints as the JSON written by the run (tested in `tests/`).

use crate::json::{basename, AddressObject, ErrorObject, FrameObject};

/// 64-bit FNV-1a, as 16 hex digits.
pub fn fnv1a_hex(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// One frame as it enters a fingerprint: `function@file:line`, or
/// `function@object` without line information. The printed (demangled)
/// name, which XML has too.
pub fn frame_token(f: &FrameObject) -> String {
    let name = f
        .function
        .as_deref()
        .or(f.linkage_name.as_deref())
        .unwrap_or("???");
    match (&f.file, f.line, &f.obj) {
        (Some(file), Some(line), _) => format!("{name}@{}:{line}", basename(file)),
        (_, _, Some(obj)) => format!("{name}@{}", basename(obj)),
        _ => format!("{name}@?"),
    }
}

/// Code of the system's libraries (libc's `memcpy`, `start_thread`): a
/// race is located at the first frame of the stack outside them.
pub fn is_system_object(obj: &str) -> bool {
    [
        "/lib/",
        "/lib64/",
        "/usr/lib/",
        "/usr/lib64/",
        "/usr/libexec/",
    ]
    .iter()
    .any(|p| obj.starts_with(p))
}

/// The frame that locates an access: the first one with a source line
/// outside system libraries, else the first frame.
pub fn site_frame(stack: &[FrameObject]) -> Option<&FrameObject> {
    stack
        .iter()
        .find(|f| f.line.is_some() && !f.obj.as_deref().is_some_and(is_system_object))
        .or_else(|| stack.first())
}

/// What an error is about: a global, a field of a heap object, a stack
/// variable, a lock. `key` is stable across runs; `label` is for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataLocation {
    /// `global`, `heap`, `stack`, `symbol`, `locks` or `unknown`.
    pub category: &'static str,
    pub key: String,
    pub label: String,
}

/// Allocation functions, skipped to name the code that allocated a block.
fn is_allocator(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "malloc",
        "calloc",
        "realloc",
        "reallocarray",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "valloc",
        "pvalloc",
        "strdup",
        "strndup",
        "operator new",
        "_Znwm",
        "_Znam",
        "_ZnwmSt11align_val_t",
        "g_malloc",
        "g_malloc0",
        "g_new",
    ];
    let base = name.split('(').next().unwrap_or(name).trim();
    NAMES.contains(&base) || base.starts_with("operator new") || base.starts_with("__libc_")
}

fn offset_text(offset: u64) -> String {
    if offset == 0 {
        String::new()
    } else {
        format!(", offset {offset}")
    }
}

/// The data location of `e`: for a race, from its address description;
/// for lock errors, from the locks (by where they were first taken, which
/// the XML gives too: it does not describe a lock's address).
pub fn data_location(e: &ErrorObject) -> DataLocation {
    if e.kind == "LockOrder" {
        let mut keys: Vec<String> = e
            .locks
            .iter()
            .map(|l| {
                l.first_observed
                    .as_deref()
                    .and_then(site_frame)
                    .map_or_else(|| "?".to_string(), frame_token)
            })
            .collect();
        keys.sort();
        let mut names: Vec<String> = e.locks.iter().map(lock_name).collect();
        names.sort();
        return DataLocation {
            category: "locks",
            key: format!("locks:{}", keys.join(",")),
            label: if names.is_empty() {
                "two locks".to_string()
            } else {
                format!("locks {}", names.join(" and "))
            },
        };
    }
    if e.kind != "Race" {
        let label = match e.address.as_ref().map(address_location) {
            Some(d) => format!("the lock in {}", d.label),
            None => "a lock".to_string(),
        };
        return DataLocation {
            category: "locks",
            key: "lock".to_string(),
            label,
        };
    }
    match &e.address {
        Some(a) => address_location(a),
        None => DataLocation {
            category: "unknown",
            key: "unknown".to_string(),
            label: "an address hbgrind could not describe".to_string(),
        },
    }
}

/// The data location of an address description.
pub fn address_location(a: &AddressObject) -> DataLocation {
    match a {
        AddressObject::GlobalVar {
            offset,
            name,
            declared_file,
            declared_line,
            ..
        } => {
            let declared = match (declared_file, declared_line) {
                (Some(f), Some(l)) => format!(" (declared at {f}:{l})"),
                _ => String::new(),
            };
            DataLocation {
                category: "global",
                key: format!("global:{name}+{offset}"),
                label: format!("global var \"{name}\"{}{declared}", offset_text(*offset)),
            }
        }
        AddressObject::DataSymbol { offset, name, .. } => DataLocation {
            category: "symbol",
            key: format!("symbol:{name}+{offset}"),
            label: format!("data symbol \"{name}\"{}", offset_text(*offset)),
        },
        AddressObject::HeapBlock {
            offset,
            alloc_stack,
            ..
        } => {
            let (token, text) = match allocation_site(alloc_stack) {
                Some(f) => (frame_token(f), f.describe()),
                None => ("?".to_string(), "an unknown place".to_string()),
            };
            DataLocation {
                category: "heap",
                key: format!("heap:{token}+{offset}"),
                label: format!("heap block allocated in {text}{}", offset_text(*offset)),
            }
        }
        AddressObject::ThreadStack { created_by, .. } => DataLocation {
            category: "stack",
            key: format!("stack:{}", created_by.as_deref().unwrap_or("")),
            label: match created_by {
                Some(c) => format!("a thread's stack, in a frame created by {c}"),
                None => "a thread's stack".to_string(),
            },
        },
    }
}

/// The code that allocated a block: the first frame of its allocation
/// stack outside the allocator, preferring one with a source line.
pub fn allocation_site(alloc_stack: &[FrameObject]) -> Option<&FrameObject> {
    let outside = |f: &&FrameObject| !f.match_name().is_some_and(is_allocator);
    alloc_stack
        .iter()
        .filter(outside)
        .find(|f| f.line.is_some())
        .or_else(|| alloc_stack.iter().find(outside))
}

/// A lock by what is stable about it: its variable, or where it was first
/// taken.
pub fn lock_name(l: &crate::json::LockObject) -> String {
    match &l.address {
        Some(AddressObject::GlobalVar { name, .. }) => format!("\"{name}\""),
        Some(a @ AddressObject::HeapBlock { .. }) => address_location(a).label,
        _ => match l
            .first_observed
            .as_deref()
            .and_then(site_frame)
            .map(FrameObject::describe)
        {
            Some(at) => format!("the lock first taken in {at}"),
            None => format!("the lock at {}", l.addr),
        },
    }
}

/// The error's sides: (access kind, stack), one per stack it names.
pub fn sides(e: &ErrorObject) -> Vec<(&str, &[FrameObject])> {
    match (&e.race, &e.lock_order) {
        (Some(r), _) => vec![
            (r.current.kind.as_str(), r.current.stack.as_slice()),
            (r.prior.kind.as_str(), r.prior.stack.as_slice()),
        ],
        (None, Some(l)) => vec![
            ("acquire", e.stack.as_slice()),
            ("acquire", l.required_second.as_slice()),
        ],
        _ => vec![("", e.stack.as_slice())],
    }
}

pub(crate) fn context_fingerprint(e: &ErrorObject) -> String {
    let mut sides: Vec<String> = sides(e)
        .into_iter()
        .map(|(kind, stack)| {
            let frames: Vec<String> = stack.iter().map(frame_token).collect();
            format!("{kind};{}", frames.join(","))
        })
        .collect();
    sides.sort();
    let detail = e.misuse.as_ref().map_or("", |m| m.what.as_str());
    fnv1a_hex(&format!("ctx1|{}|{detail}|{}", e.kind, sides.join("|")))
}

pub(crate) fn location_fingerprint(e: &ErrorObject) -> String {
    let mut sites: Vec<String> = sides(e)
        .into_iter()
        .map(|(_, stack)| site_frame(stack).map(frame_token).unwrap_or_default())
        .collect();
    sites.sort();
    fnv1a_hex(&format!(
        "loc1|{}|{}|{}",
        e.kind,
        data_location(e).key,
        sites.join("|")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{AccessObject, RaceObject};

    fn frame(ip: &str, f: &str, file: &str, line: u32) -> FrameObject {
        FrameObject {
            ip: ip.into(),
            function: Some(f.into()),
            file: Some(file.into()),
            dir: Some("/src".into()),
            line: Some(line),
            obj: Some("/home/u/prog".into()),
            ..FrameObject::default()
        }
    }

    fn race(a: (&str, u32), b: (&str, u32), ip: &str) -> ErrorObject {
        let side = |kind: &str, (f, l): (&str, u32), thread| AccessObject {
            kind: kind.into(),
            size: 4,
            thread,
            stack: vec![frame(ip, f, "racy.c", l)],
            ..AccessObject::default()
        };
        let mut e = ErrorObject {
            kind: "Race".into(),
            race: Some(RaceObject {
                addr: ip.into(),
                current: side("write", a, 2),
                prior: side("read", b, 1),
            }),
            address: Some(AddressObject::GlobalVar {
                addr: ip.into(),
                offset: 0,
                name: "counter".into(),
                declared_file: Some("racy.c".into()),
                declared_line: Some(3),
            }),
            ..ErrorObject::default()
        };
        e.set_fingerprints();
        e
    }

    #[test]
    fn fingerprints_ignore_addresses_threads_and_side_order() {
        let a = race(("worker", 10), ("main", 20), "0x1000");
        let mut b = race(("worker", 10), ("main", 20), "0x7fff0000");
        assert_eq!(a.context_fingerprint, b.context_fingerprint);
        assert_eq!(a.location_fingerprint, b.location_fingerprint);
        // The same pair found from the other side.
        let r = b.race.as_mut().unwrap();
        std::mem::swap(&mut r.current, &mut r.prior);
        b.set_fingerprints();
        assert_eq!(a.context_fingerprint, b.context_fingerprint);
        assert_eq!(a.location_fingerprint, b.location_fingerprint);
        // Another line is another group.
        let c = race(("worker", 11), ("main", 20), "0x1000");
        assert_ne!(a.location_fingerprint, c.location_fingerprint);
        assert_eq!(a.location_fingerprint.len(), 16);
    }

    #[test]
    fn heap_blocks_are_named_by_their_allocating_code() {
        let mut e = race(("worker", 10), ("main", 20), "0x1000");
        let mut malloc = frame("0x1", "malloc", "malloc.c", 3300);
        malloc.obj = Some("/usr/lib/x86_64-linux-gnu/libc.so.6".into());
        e.address = Some(AddressObject::HeapBlock {
            addr: "0x5000".into(),
            offset: 8,
            block_size: 16,
            alloc_stack: vec![malloc, frame("0x2", "make_node", "list.c", 12)],
            alloc_thread: Some(1),
        });
        let d = data_location(&e);
        assert_eq!(d.key, "heap:make_node@list.c:12+8");
        assert_eq!(
            d.label,
            "heap block allocated in make_node (list.c:12), offset 8"
        );
    }
}
