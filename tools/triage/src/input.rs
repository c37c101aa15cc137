//! Reading runs: a `--json-file` (JSON Lines) or a Valgrind XML protocol 4
//! file (`--xml-file`, also Helgrind's own) becomes a `Run`: its errors as
//! `ErrorObject`s with their fingerprints, and their occurrence counts.
//!
//! # Invariants
//! - XML and JSON of the same run give the same fingerprints: the XML
//!   reader rebuilds the structured fields from Valgrind's sentences (the
//!   ones `hbgrind-report`'s text module writes) and calls
//!   `ErrorObject::set_fingerprints`. What the XML does not carry (locks
//!   held) stays `None`: unknown, never "no lock".
//! - A file cut short (a killed run) is read up to its last whole error:
//!   XML through `hbgrind_report::repair`, JSON by skipping a cut last line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hbgrind_report::xml_tree::{parse_xml, Element};
use hbgrind_report::{
    read_json_lines, repair, AccessObject, AddressObject, ErrorObject, FrameObject, JsonRecord,
    LockObject, LockOrderObject, MisuseObject, RaceObject, ThreadObject,
};

use crate::TriageError;

/// One run's errors.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub path: PathBuf,
    /// `xml` or `json`.
    pub format: &'static str,
    pub pid: Option<u32>,
    pub sched_seed: Option<u64>,
    pub errors: Vec<ErrorObject>,
    /// Occurrences by `unique`, when the run finished.
    pub counts: HashMap<u64, u64>,
    /// The run ended (summary record, `<errorcounts>`).
    pub finished: bool,
}

impl Run {
    pub fn occurrences(&self, unique: u64) -> u64 {
        self.counts.get(&unique).copied().unwrap_or(1)
    }
}

/// What a file holds.
pub enum Input {
    Run(Run),
    /// An earlier `hbgrind triage --format json`: usable as a baseline.
    Triage(Box<crate::TriageReport>),
}

/// Reads `path` as a run or a triage report, by its content.
pub fn read_input(path: &Path) -> Result<Input, TriageError> {
    let bytes = std::fs::read(path).map_err(|source| TriageError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let start = text.trim_start();
    if start.starts_with('<') {
        return read_xml(path, &text).map(Input::Run);
    }
    if start.starts_with('{') {
        let first = start.lines().next().unwrap_or("");
        if first.contains("\"record\"") {
            return read_json(path, &text).map(Input::Run);
        }
        if let Ok(report) = serde_json::from_str::<crate::TriageReport>(&text) {
            if report.format == crate::TRIAGE_FORMAT {
                return Ok(Input::Triage(Box::new(report)));
            }
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            if v.get("runs").is_some() && v.get("version").is_some() {
                return Err(TriageError::Format {
                    path: path.to_path_buf(),
                    what: "a SARIF log; triage reads the --xml-file or --json-file of a run".into(),
                });
            }
        }
        return read_json(path, &text).map(Input::Run);
    }
    Err(TriageError::Format {
        path: path.to_path_buf(),
        what: "neither Valgrind XML nor hbgrind JSON (--xml-file or --json-file of a run)".into(),
    })
}

/// Reads `path` as a run; a triage report is refused.
pub fn read_run(path: &Path) -> Result<Run, TriageError> {
    match read_input(path)? {
        Input::Run(r) => Ok(r),
        Input::Triage(_) => Err(TriageError::Format {
            path: path.to_path_buf(),
            what: "a triage report, not a run; give it as --baseline".into(),
        }),
    }
}

fn read_json(path: &Path, text: &str) -> Result<Run, TriageError> {
    let records = read_json_lines(text).map_err(|(line, what)| TriageError::Syntax {
        path: path.to_path_buf(),
        line,
        what,
    })?;
    let mut run = Run {
        path: path.to_path_buf(),
        format: "json",
        ..Run::default()
    };
    let mut saw_run = false;
    for r in records {
        match r {
            JsonRecord::Run(r) => {
                if r.format != hbgrind_report::JSON_FORMAT {
                    return Err(TriageError::Format {
                        path: path.to_path_buf(),
                        what: format!(
                            "format '{}', not '{}'",
                            r.format,
                            hbgrind_report::JSON_FORMAT
                        ),
                    });
                }
                saw_run = true;
                run.pid = Some(r.pid);
                run.sched_seed = r.sched_seed;
            }
            JsonRecord::Error(mut e) => {
                if e.context_fingerprint.is_empty() || e.location_fingerprint.is_empty() {
                    e.set_fingerprints();
                }
                run.errors.push(*e);
            }
            JsonRecord::FatalSignal(_) => {}
            JsonRecord::Summary(s) => {
                run.finished = true;
                for c in s.error_counts {
                    run.counts.insert(c.unique, c.count);
                }
            }
        }
    }
    if !saw_run {
        return Err(TriageError::Format {
            path: path.to_path_buf(),
            what: "no run record: not an hbgrind --json-file".into(),
        });
    }
    Ok(run)
}

fn read_xml(path: &Path, text: &str) -> Result<Run, TriageError> {
    let bad = |what: String| TriageError::Format {
        path: path.to_path_buf(),
        what,
    };
    let repaired = repair(text);
    let root = parse_xml(&repaired).map_err(|e| bad(format!("malformed XML: {e}")))?;
    if root.name != "valgrindoutput" {
        return Err(bad(format!(
            "root element <{}>, not <valgrindoutput>",
            root.name
        )));
    }
    let mut run = Run {
        path: path.to_path_buf(),
        format: "xml",
        pid: root.text_of("pid").and_then(|p| p.parse().ok()),
        ..Run::default()
    };
    // --sched-seed=N among our own arguments.
    if let Some(vargv) = root.child("args").and_then(|a| a.child("vargv")) {
        for a in vargv.children.iter().filter(|c| c.name == "arg") {
            if let Some(seed) = a.text.trim().strip_prefix("--sched-seed=") {
                run.sched_seed = seed.parse().ok();
            }
        }
    }
    let mut threads: HashMap<u32, ThreadObject> = HashMap::new();
    for c in &root.children {
        match c.name.as_str() {
            "announcethread" => {
                let Some(n) = c.text_of("hthreadid").and_then(|t| t.parse().ok()) else {
                    continue;
                };
                threads.insert(
                    n,
                    ThreadObject {
                        number: n,
                        root: c.child("isrootthread").is_some(),
                        created: c.child("stack").map(stack_of).unwrap_or_default(),
                    },
                );
            }
            "error" => {
                let mut e = error_of(c).map_err(|what| bad(format!("<error>: {what}")))?;
                e.threads = thread_numbers(&e)
                    .into_iter()
                    .map(|n| {
                        threads.get(&n).cloned().unwrap_or(ThreadObject {
                            number: n,
                            root: n == 1,
                            created: Vec::new(),
                        })
                    })
                    .collect();
                e.set_fingerprints();
                run.errors.push(e);
            }
            "errorcounts" => {
                run.finished = true;
                for pair in c.children.iter().filter(|p| p.name == "pair") {
                    if let (Some(count), Some(unique)) = (
                        pair.text_of("count").and_then(|n| n.parse().ok()),
                        pair.text_of("unique").and_then(parse_hex),
                    ) {
                        run.counts.insert(unique, count);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(run)
}

fn thread_numbers(e: &ErrorObject) -> Vec<u32> {
    let mut v = vec![e.tid];
    if let Some(r) = &e.race {
        v.push(r.prior.thread);
    }
    if let Some(AddressObject::HeapBlock {
        alloc_thread: Some(t),
        ..
    }) = &e.address
    {
        v.push(*t);
    }
    let mut seen = Vec::new();
    v.retain(|t| {
        let new = !seen.contains(t);
        seen.push(*t);
        new
    });
    v
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(
        s.trim().trim_start_matches("0x").trim_start_matches("0X"),
        16,
    )
    .ok()
}

fn hex_text(s: &str) -> String {
    format!("0x{:x}", parse_hex(s).unwrap_or(0))
}

fn stack_of(stack: &Element) -> Vec<FrameObject> {
    stack
        .children
        .iter()
        .filter(|f| f.name == "frame")
        .map(|f| FrameObject {
            ip: hex_text(f.text_of("ip").unwrap_or("0")),
            function: f.text_of("fn").map(str::to_string),
            linkage_name: None,
            obj: f.text_of("obj").map(str::to_string),
            dir: f.text_of("dir").map(str::to_string),
            file: f.text_of("file").map(str::to_string),
            line: f.text_of("line").and_then(|l| l.parse().ok()),
        })
        .collect()
}

/// The number after `word` in `text` (`size 4`, `thread #2`), commas allowed.
fn number_after(text: &str, word: &str) -> Option<u64> {
    let rest = &text[text.find(word)? + word.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn hex_after(text: &str, word: &str) -> Option<String> {
    let rest = &text[text.find(word)? + word.len()..];
    let token: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == 'x' || *c == 'X')
        .collect();
    Some(hex_text(&token))
}

fn quoted(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let end = text[start..].rfind('"')? + start;
    Some(text[start..end].to_string())
}

fn access_of(text: &str) -> AccessObject {
    AccessObject {
        kind: if text.contains(" write ") || text.contains("during write") {
            "write"
        } else {
            "read"
        }
        .to_string(),
        size: number_after(text, "of size").unwrap_or(0),
        thread: number_after(text, "thread #").unwrap_or(0) as u32,
        atomic: false,
        locks_held: None,
        stack: Vec::new(),
    }
}

/// Rebuilds an error from its XML (Valgrind's sentences, in order).
fn error_of(x: &Element) -> Result<ErrorObject, String> {
    let mut e = ErrorObject {
        unique: x
            .text_of("unique")
            .and_then(parse_hex)
            .ok_or("no <unique>")?,
        tid: x
            .text_of("tid")
            .and_then(|t| t.parse().ok())
            .ok_or("no <tid>")?,
        kind: x.text_of("kind").ok_or("no <kind>")?.to_string(),
        ..ErrorObject::default()
    };
    // Which part of the error the next <stack> belongs to.
    enum Next {
        Own,
        Prior,
        Alloc,
        Lock(String),
        RequiredFirst,
        RequiredSecond,
        Nothing,
    }
    let mut next = Next::Nothing;
    let mut stacks_seen = 0;
    let mut lock_order = LockOrderObject::default();
    for c in &x.children {
        match c.name.as_str() {
            "what" => e.what = c.text.trim().to_string(),
            "xwhat" => {
                e.what = c.text_of("text").unwrap_or("").to_string();
                next = Next::Own;
            }
            "stack" => {
                let stack = stack_of(c);
                match std::mem::replace(&mut next, Next::Nothing) {
                    Next::Own => e.stack = stack,
                    Next::Prior => {
                        if let Some(r) = &mut e.race {
                            r.prior.stack = stack;
                        }
                    }
                    Next::Alloc => {
                        if let Some(AddressObject::HeapBlock { alloc_stack, .. }) = &mut e.address {
                            *alloc_stack = stack;
                        }
                    }
                    Next::Lock(addr) => e.locks.push(LockObject {
                        addr,
                        first_observed: Some(stack),
                        address: None,
                    }),
                    Next::RequiredFirst => lock_order.required_first = stack,
                    Next::RequiredSecond => lock_order.required_second = stack,
                    Next::Nothing if stacks_seen == 0 => e.stack = stack,
                    Next::Nothing => {}
                }
                stacks_seen += 1;
            }
            "xauxwhat" | "auxwhat" => {
                let text = if c.name == "xauxwhat" {
                    c.text_of("text").unwrap_or("").to_string()
                } else {
                    c.text.trim().to_string()
                };
                if text.starts_with("This conflicts with a previous") {
                    e.aux.push(text.clone());
                    if let Some(r) = &mut e.race {
                        r.prior = access_of(&text);
                    }
                    next = Next::Prior;
                } else if text.contains("inside global var") {
                    e.aux.push(text.clone());
                    e.address = Some(AddressObject::GlobalVar {
                        addr: hex_after(&text, "Location").unwrap_or_default(),
                        offset: number_after(&text, " is ").unwrap_or(0),
                        name: quoted(&text).unwrap_or_default(),
                        declared_file: None,
                        declared_line: None,
                    });
                } else if text.starts_with("declared at") {
                    e.aux.push(text.clone());
                    if let Some(AddressObject::GlobalVar {
                        declared_file,
                        declared_line,
                        ..
                    }) = &mut e.address
                    {
                        *declared_file = c.text_of("file").map(str::to_string);
                        *declared_line = c.text_of("line").and_then(|l| l.parse().ok());
                    }
                } else if text.contains("inside a block of size") {
                    e.aux.push(text.clone());
                    e.address = Some(AddressObject::HeapBlock {
                        addr: hex_after(&text, "Address").unwrap_or_default(),
                        offset: number_after(&text, " is ").unwrap_or(0),
                        block_size: number_after(&text, "block of size").unwrap_or(0),
                        alloc_stack: Vec::new(),
                        alloc_thread: None,
                    });
                    next = Next::Alloc;
                } else if text.starts_with("Block was alloc'd by thread #") {
                    e.aux.push(text.clone());
                    if let Some(AddressObject::HeapBlock { alloc_thread, .. }) = &mut e.address {
                        *alloc_thread = number_after(&text, "thread #").map(|t| t as u32);
                    }
                } else if text.contains("inside data symbol") {
                    e.aux.push(text.clone());
                    e.address = Some(AddressObject::DataSymbol {
                        addr: hex_after(&text, "Address").unwrap_or_default(),
                        offset: number_after(&text, " is ").unwrap_or(0),
                        name: quoted(&text).unwrap_or_default(),
                    });
                } else if text.contains("'s stack") {
                    e.aux.push(text.clone());
                    e.address = Some(AddressObject::ThreadStack {
                        addr: hex_after(&text, "Address").unwrap_or_default(),
                        thread: number_after(&text, "thread #").unwrap_or(0) as u32,
                        frame: None,
                        created_by: None,
                    });
                } else if let Some(rest) = text.strip_prefix("in frame #") {
                    e.aux.push(text.clone());
                    if let Some(AddressObject::ThreadStack {
                        frame, created_by, ..
                    }) = &mut e.address
                    {
                        *frame = number_after(&text, "frame #").map(|f| f as u32);
                        *created_by = rest.split_once("created by ").map(|(_, c)| c.to_string());
                    }
                } else if text.starts_with("Lock at ") && text.ends_with("was first observed") {
                    next = Next::Lock(hex_after(&text, "Lock at").unwrap_or_default());
                } else if text.starts_with("Required order was established") {
                    lock_order.earlier = hex_after(&text, "lock at").unwrap_or_default();
                    next = Next::RequiredFirst;
                } else if text.starts_with("followed by a later acquisition") {
                    lock_order.later = hex_after(&text, "lock at").unwrap_or_default();
                    next = Next::RequiredSecond;
                } else {
                    e.aux.push(text);
                }
            }
            _ => {}
        }
        if c.name == "xwhat" && e.kind == "Race" {
            let current = access_of(&e.what);
            e.race = Some(RaceObject {
                addr: hex_after(&e.what, " at ").unwrap_or_default(),
                current,
                prior: AccessObject::default(),
            });
        }
    }
    if let Some(r) = &mut e.race {
        r.current.stack = e.stack.clone();
    }
    match e.kind.as_str() {
        "LockOrder" => {
            if lock_order.earlier.is_empty() {
                if let Some(q) = quoted(&e.what) {
                    let mut words = q.split(" before ");
                    lock_order.earlier = hex_text(words.next().unwrap_or(""));
                    lock_order.later = hex_text(words.next().unwrap_or(""));
                }
            }
            e.lock_order = Some(lock_order);
        }
        "UnlockUnlocked" | "UnlockForeign" | "Misc" => {
            let what = if e.what.contains("not-locked") {
                "UnlockUnlocked"
            } else if e.what.contains("currently held by") {
                "UnlockForeign"
            } else if e.what.contains("destroy of a locked") {
                "DestroyLocked"
            } else {
                "BarrierUninitialised"
            };
            e.misuse = Some(MisuseObject {
                what: what.to_string(),
                object: hex_after(&e.what, "lock at").unwrap_or_default(),
            });
        }
        _ => {}
    }
    Ok(e)
}
