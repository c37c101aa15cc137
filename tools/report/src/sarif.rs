//! `--sarif-file`: SARIF 2.1.0 (OASIS), for code-scanning UIs
//! (papers/report-formats.md).
//!
//! One `result` per error context, with rule ids per error kind (`Race`,
//! `LockOrder`, `UnlockUnlocked`, `UnlockForeign`, `Misc`, as Helgrind's
//! kinds); the error's own access is `locations[0]`, the other access, the
//! variable's declaration or the block's allocation and the locks are
//! `relatedLocations`, and both whole stacks are the two `threadFlows` of
//! one `codeFlow`. `partialFingerprints` carry the two fingerprints of
//! `fingerprint.rs`, so a code-scanning UI follows one race over time.
//!
//! # Invariants
//! - A SARIF document cannot be streamed and stay valid, so `SarifWriter`
//!   keeps it valid between calls instead: each new result is written over
//!   the old trailer (`Rewritable::cut_at`) and followed by a new one; the
//!   trailer's invocation says `executionSuccessful: false` until `finish`
//!   (a run killed with SIGKILL leaves a valid document that says it was
//!   cut short). `finish` rewrites the document with the occurrence counts.
//! - Nothing written depends on the order of the results' fields or on a
//!   hash map's order.

use std::io;

use serde_json::{json, Map, Value};

use crate::fatal::FatalSignalInfo;
use crate::json::{
    AddressObject, ErrorObject, FatalSignalObject, FrameObject, RunObject, JSON_VERSION,
};
use crate::model::{ErrorRecord, ThreadAnnouncement};

/// The schema the documents name (OASIS's published 2.1.0 schema, errata 01).
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The rule of each error kind: (id, name, short description, level).
pub const RULES: [(&str, &str, &str, &str); 5] = [
    (
        "Race",
        "DataRace",
        "Two threads access the same memory, at least one writes, and nothing orders the accesses",
        "error",
    ),
    (
        "LockOrder",
        "LockOrderViolation",
        "Locks taken in an order that contradicts an earlier order: a potential deadlock",
        "warning",
    ),
    (
        "UnlockUnlocked",
        "UnlockOfUnlockedLock",
        "A lock nobody holds is unlocked",
        "error",
    ),
    (
        "UnlockForeign",
        "UnlockOfForeignLock",
        "A lock held by another thread is unlocked",
        "error",
    ),
    (
        "Misc",
        "LockMisuse",
        "A lock or barrier used against its API (destroyed while held, not initialised)",
        "warning",
    ),
];

/// The index of `kind` in `RULES` (`Misc` for anything unknown).
pub fn rule_index(kind: &str) -> usize {
    RULES.iter().position(|r| r.0 == kind).unwrap_or(4)
}

/// `tool.driver`, with every rule.
pub fn driver(version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, name, text, level)| {
            json!({
                "id": id,
                "name": name,
                "shortDescription": { "text": text },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    json!({
        "name": "hbgrind",
        "version": version,
        "rules": rules,
    })
}

/// `path` as a URI reference: `file:///…` for an absolute path, else a
/// relative reference; bytes outside RFC 3986's unreserved set (and `/`)
/// percent-encoded.
pub fn path_uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.trim_start_matches("./").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The source path of a frame: `dir/file` when the directory is known.
pub fn frame_path(f: &FrameObject) -> Option<String> {
    let file = f.file.as_ref()?;
    Some(match &f.dir {
        Some(dir) if !file.starts_with('/') => format!("{}/{file}", dir.trim_end_matches('/')),
        _ => file.clone(),
    })
}

/// A SARIF `location` for one frame, with `message`.
pub fn frame_location(f: &FrameObject, message: Option<&str>) -> Value {
    let mut loc = Map::new();
    if let (Some(path), Some(line)) = (frame_path(f), f.line) {
        loc.insert(
            "physicalLocation".into(),
            json!({
                "artifactLocation": { "uri": path_uri(&path) },
                "region": { "startLine": line.max(1) },
            }),
        );
    } else if let Some(obj) = &f.obj {
        loc.insert(
            "physicalLocation".into(),
            json!({ "artifactLocation": { "uri": path_uri(obj) } }),
        );
    }
    if let Some(name) = &f.function {
        loc.insert(
            "logicalLocations".into(),
            json!([{ "fullyQualifiedName": name, "kind": "function" }]),
        );
    }
    let text = message.map_or_else(|| f.describe(), str::to_string);
    loc.insert("message".into(), json!({ "text": text }));
    Value::Object(loc)
}

fn thread_flow(title: String, stack: &[FrameObject]) -> Value {
    // Outermost call first, as a flow reads.
    let depth = stack.len();
    let locations: Vec<Value> = stack
        .iter()
        .rev()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "location": frame_location(f, None),
                "nestingLevel": i,
                "properties": { "ip": f.ip, "innermost": i + 1 == depth },
            })
        })
        .collect();
    let locations = if locations.is_empty() {
        vec![json!({ "location": { "message": { "text": "no stack" } } })]
    } else {
        locations
    };
    json!({ "message": { "text": title }, "locations": locations })
}

/// The `result` for one error context; `occurrences` when known.
pub fn result(e: &ErrorObject, occurrences: Option<u64>) -> Value {
    let index = rule_index(&e.kind);
    let (rule, _, _, level) = RULES[index];
    let mut text = e.what.clone();
    for a in &e.aux {
        text.push_str(". ");
        text.push_str(a);
    }
    let own = crate::fingerprint::site_frame(&e.stack);
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(rule));
    r.insert("ruleIndex".into(), json!(index));
    r.insert("level".into(), json!(level));
    r.insert("message".into(), json!({ "text": text }));
    r.insert(
        "locations".into(),
        json!([own.map_or_else(
            || json!({ "message": { "text": "no stack" } }),
            |f| frame_location(f, Some(&e.what))
        )]),
    );
    let mut related = Vec::new();
    let mut add = |loc: Value| {
        let mut loc = loc;
        if let Value::Object(m) = &mut loc {
            m.insert("id".into(), json!(related.len() + 1));
        }
        related.push(loc);
    };
    let mut flows = Vec::new();
    if let Some(race) = &e.race {
        if let Some(f) = crate::fingerprint::site_frame(&race.prior.stack) {
            add(frame_location(f, e.aux.first().map(String::as_str)));
        }
        flows.push(thread_flow(
            format!(
                "{} of size {} by thread #{}",
                race.current.kind, race.current.size, race.current.thread
            ),
            &race.current.stack,
        ));
        flows.push(thread_flow(
            format!(
                "earlier {} of size {} by thread #{}",
                race.prior.kind, race.prior.size, race.prior.thread
            ),
            &race.prior.stack,
        ));
    } else if let Some(l) = &e.lock_order {
        flows.push(thread_flow("the acquisition".into(), &e.stack));
        if !l.required_first.is_empty() {
            flows.push(thread_flow(
                format!("required order: lock {} first", l.earlier),
                &l.required_first,
            ));
            flows.push(thread_flow(
                format!("then lock {}", l.later),
                &l.required_second,
            ));
        }
    }
    match &e.address {
        Some(AddressObject::GlobalVar {
            name,
            declared_file: Some(file),
            declared_line: Some(line),
            ..
        }) => add(json!({
            "physicalLocation": {
                "artifactLocation": { "uri": path_uri(file) },
                "region": { "startLine": (*line).max(1) },
            },
            "message": { "text": format!("global var \"{name}\" declared here") },
        })),
        Some(AddressObject::HeapBlock {
            alloc_stack,
            block_size,
            ..
        }) => {
            if let Some(f) = alloc_stack.iter().find(|f| {
                f.line.is_some()
                    && f.obj
                        .as_deref()
                        .is_some_and(|o| !crate::fingerprint::is_system_object(o))
            }) {
                add(frame_location(
                    f,
                    Some(&format!(
                        "the block of size {block_size} was allocated here"
                    )),
                ));
            }
        }
        _ => {}
    }
    for l in &e.locks {
        if let Some(f) = l
            .first_observed
            .as_deref()
            .and_then(crate::fingerprint::site_frame)
        {
            add(frame_location(
                f,
                Some(&format!("lock {} first taken here", l.addr)),
            ));
        }
    }
    if !related.is_empty() {
        r.insert("relatedLocations".into(), Value::Array(related));
    }
    if !flows.is_empty() {
        r.insert("codeFlows".into(), json!([{ "threadFlows": flows }]));
    }
    r.insert(
        "partialFingerprints".into(),
        json!({
            "hbgrindContext/v1": e.context_fingerprint,
            "hbgrindLocationPair/v1": e.location_fingerprint,
        }),
    );
    if let Some(n) = occurrences {
        r.insert("occurrenceCount".into(), json!(n.max(1)));
    }
    let location = crate::fingerprint::data_location(e);
    r.insert(
        "properties".into(),
        json!({
            "unique": e.unique,
            "tid": e.tid,
            "dataLocation": location.label,
            "threads": e.threads.iter().map(|t| t.number).collect::<Vec<_>>(),
        }),
    );
    Value::Object(r)
}

/// How the run ended, for the invocation object.
#[derive(Clone, Debug, Default)]
pub struct RunEnd {
    /// `finish` ran: the document is complete.
    pub finished: bool,
    pub fatal: Option<FatalSignalObject>,
}

fn invocation(run: &RunObject, end: &RunEnd) -> Value {
    let mut inv = Map::new();
    let args: Vec<&str> = run
        .tool_args
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(run.exe.as_str()))
        .chain(run.args.iter().map(String::as_str))
        .collect();
    inv.insert("arguments".into(), json!(args));
    inv.insert("executionSuccessful".into(), json!(end.finished));
    let mut notes = Vec::new();
    if !end.finished {
        notes.push(json!({
            "level": "warning",
            "message": { "text": "the run did not finish: this document holds the errors found before it was cut short" },
        }));
    }
    if let Some(f) = &end.fatal {
        inv.insert("exitSignalNumber".into(), json!(f.signo));
        inv.insert("exitSignalName".into(), json!(f.signame));
        let mut note = Map::new();
        note.insert("level".into(), json!("error"));
        let mut text = format!(
            "Process terminating with default action of signal {} ({})",
            f.signo, f.signame
        );
        if let Some(ev) = &f.event {
            text.push_str(&format!(": {ev}"));
            if let Some(a) = &f.siaddr {
                text.push_str(&format!(" at address {a}"));
            }
        }
        note.insert("message".into(), json!({ "text": text }));
        if let Some(frame) = crate::fingerprint::site_frame(&f.stack) {
            note.insert("locations".into(), json!([frame_location(frame, None)]));
        }
        notes.push(Value::Object(note));
    }
    if !notes.is_empty() {
        inv.insert("toolExecutionNotifications".into(), Value::Array(notes));
    }
    let mut props = Map::new();
    props.insert("pid".into(), json!(run.pid));
    props.insert("ppid".into(), json!(run.ppid));
    if let Some(seed) = run.sched_seed {
        props.insert("schedSeed".into(), json!(seed));
    }
    inv.insert("properties".into(), Value::Object(props));
    Value::Object(inv)
}

/// A whole SARIF log with one run holding `results`.
pub fn document(run: &RunObject, results: Vec<Value>, end: &RunEnd) -> Value {
    json!({
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver(env!("CARGO_PKG_VERSION")) },
            "invocations": [invocation(run, end)],
            "results": results,
            "properties": { "hbgrindJsonVersion": JSON_VERSION },
        }],
    })
}

/// An output that can be cut back, so a document can be kept valid
/// while it grows.
pub trait Rewritable: io::Write {
    /// Bytes written so far (the current end).
    fn position(&mut self) -> io::Result<u64>;
    /// Drops everything from `len` on; writing goes on there.
    fn cut_at(&mut self, len: u64) -> io::Result<()>;
}

impl Rewritable for Vec<u8> {
    fn position(&mut self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
    fn cut_at(&mut self, len: u64) -> io::Result<()> {
        self.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }
}

impl Rewritable for std::fs::File {
    fn position(&mut self) -> io::Result<u64> {
        io::Seek::stream_position(self)
    }
    fn cut_at(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)?;
        io::Seek::seek(self, io::SeekFrom::Start(len)).map(|_| ())
    }
}

/// Writes one SARIF document, valid after every call.
pub struct SarifWriter<W: Rewritable> {
    out: W,
    run: RunObject,
    threads: std::collections::HashMap<u32, ThreadAnnouncement>,
    results: Vec<(ErrorObject, u64)>,
    end: RunEnd,
    /// Where the trailer (after the last result) starts.
    trailer_at: u64,
}

impl<W: Rewritable> SarifWriter<W> {
    /// Writes an empty document.
    pub fn start(out: W, run: &RunObject) -> io::Result<Self> {
        let mut w = SarifWriter {
            out,
            run: run.clone(),
            threads: Default::default(),
            results: Vec::new(),
            end: RunEnd::default(),
            trailer_at: 0,
        };
        w.rewrite()?;
        Ok(w)
    }

    pub fn add_thread(&mut self, number: u32, announcement: ThreadAnnouncement) {
        self.threads.insert(number, announcement);
    }

    /// Adds `err` as a new result; returns its `unique`.
    pub fn error(&mut self, err: &ErrorRecord) -> io::Result<u64> {
        let unique = self.results.len() as u64;
        let object = ErrorObject::from_record(err, unique, &self.threads, None);
        let text = serde_json::to_string(&result(&object, None)).map_err(io::Error::other)?;
        self.results.push((object, 1));
        self.out.cut_at(self.trailer_at)?;
        if self.results.len() > 1 {
            self.out.write_all(b",\n")?;
        }
        self.out.write_all(text.as_bytes())?;
        self.trailer_at = self.out.position()?;
        self.out.write_all(self.trailer().as_bytes())?;
        self.out.flush()?;
        Ok(unique)
    }

    pub fn count_again(&mut self, unique: u64) {
        if let Some(r) = self.results.get_mut(unique as usize) {
            r.1 += 1;
        }
    }

    /// The process is dying of `fatal`: said in the invocation.
    pub fn fatal_signal(&mut self, fatal: &FatalSignalInfo) -> io::Result<()> {
        self.end.fatal = Some(FatalSignalObject::from_info(fatal));
        self.out.cut_at(self.trailer_at)?;
        self.out.write_all(self.trailer().as_bytes())?;
        self.out.flush()
    }

    /// Rewrites the whole document as complete, with the occurrence
    /// counts; the writer can go on (before an `execve` that may fail).
    pub fn write_final(&mut self) -> io::Result<()> {
        self.end.finished = true;
        self.rewrite()
    }

    /// Back to "not finished" after a failed `execve`.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.end.finished = false;
        self.out.cut_at(self.trailer_at)?;
        self.out.write_all(self.trailer().as_bytes())?;
        self.out.flush()
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.write_final()?;
        Ok(self.out)
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// The document up to its results: everything that does not change.
    fn head(&self) -> String {
        format!(
            "{{\"$schema\":{},\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{}}},\"results\":[\n",
            json!(SARIF_SCHEMA_URI),
            driver(env!("CARGO_PKG_VERSION"))
        )
    }

    /// The document after its results: the invocation, which changes as
    /// the run ends.
    fn trailer(&self) -> String {
        format!(
            "\n],\"invocations\":[{}],\"properties\":{{\"hbgrindJsonVersion\":{JSON_VERSION}}}}}]}}\n",
            invocation(&self.run, &self.end)
        )
    }

    fn rewrite(&mut self) -> io::Result<()> {
        let mut head = self.head();
        for (i, (o, n)) in self.results.iter().enumerate() {
            if i > 0 {
                head.push_str(",\n");
            }
            head.push_str(&serde_json::to_string(&result(o, Some(*n))).map_err(io::Error::other)?);
        }
        self.out.cut_at(0)?;
        self.out.write_all(head.as_bytes())?;
        self.trailer_at = self.out.position()?;
        self.out.write_all(self.trailer().as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Frame, Stack};
    use hb_engine::{Access, AccessKind, Race, Report, ThreadId};

    fn race(line: u32) -> ErrorRecord {
        let access = |thread, kind, site| Access {
            thread: ThreadId(thread),
            kind,
            atomic: false,
            site,
            locks_held: Some(vec![]),
        };
        let frame = |ip, name: &str, line| Frame {
            ip,
            function: Some(name.into()),
            file: Some("racy.c".into()),
            dir: Some("/src dir".into()),
            line: Some(line),
            ..Frame::default()
        };
        ErrorRecord::new(Report::Race(Race {
            addr: 0x10,
            size: 4,
            racy_addr: 0x10,
            racy_len: 4,
            current: access(1, AccessKind::Read, 7),
            prior: access(2, AccessKind::Write, 8),
        }))
        .with_stack(7, Stack::new(vec![frame(0x100, "main", line)]))
        .with_stack(8, Stack::new(vec![frame(0x200, "worker", 10)]))
    }

    fn parse(out: &[u8]) -> Value {
        serde_json::from_slice(out).expect("a whole JSON document after every call")
    }

    #[test]
    fn the_document_is_valid_after_every_write() {
        let run = RunObject {
            pid: 7,
            ..RunObject::default()
        };
        let mut w = SarifWriter::start(Vec::new(), &run).unwrap();
        let doc = parse(&w.out);
        assert_eq!(doc["runs"][0]["results"], json!([]));
        assert_eq!(
            doc["runs"][0]["invocations"][0]["executionSuccessful"],
            false
        );
        assert_eq!(w.error(&race(19)).unwrap(), 0);
        assert_eq!(w.error(&race(20)).unwrap(), 1);
        w.count_again(1);
        let doc = parse(&w.out);
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///src%20dir/racy.c"
        );
        let out = w.finish().unwrap();
        let doc = parse(&out);
        assert_eq!(doc["runs"][0]["results"][1]["occurrenceCount"], 2);
        assert_eq!(
            doc["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
        assert_eq!(
            doc["runs"][0]["results"][0]["partialFingerprints"]["hbgrindContext/v1"]
                .as_str()
                .map(str::len),
            Some(16)
        );
    }

    #[test]
    fn json_lines_survive_a_cut_last_line() {
        let mut w = crate::JsonWriter::start(Vec::new(), &RunObject::default()).unwrap();
        w.error(&race(19), None).unwrap();
        let mut out = w.into_inner();
        let whole = crate::read_json_lines(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(whole.len(), 2);
        out.extend_from_slice(b"{\"record\":\"error\",\"uni");
        let cut = crate::read_json_lines(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(cut, whole);
        let bad = "{\"record\":\"run\"}\n{}\n";
        assert_eq!(crate::read_json_lines(bad).unwrap_err().0, 1);
    }
}
