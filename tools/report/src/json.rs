//! `--json-file`: the errors of a run as JSON Lines, one object per line
//! (papers/report-formats.md; schema: tools/report/schema/hbgrind-errors.schema.json).
//!
//! ```text
//! {"record":"run", …}            first: who ran what, with which seed
//! {"record":"error", …}          one per error context, when first found
//! {"record":"fatal_signal", …}   the process dies of a signal
//! {"record":"summary", …}        last: ERROR SUMMARY, per-error counts, used suppressions
//! ```
//!
//! The same data as the XML (`xml.rs`), structured instead of phrased:
//! each error carries both accesses of a race with their locks held, where
//! its address lies, the threads it names (with their creation stacks)
//! and two fingerprints (`fingerprint.rs`) that stay the same across runs.
//!
//! # Invariants
//! - Each record is one line written with one `write_all`, so a run killed
//!   at any point leaves whole lines (plus at most one cut line, which
//!   readers skip: `triage` does).
//! - An error object is self-contained: nothing in it refers to an earlier
//!   line (unlike XML's thread announcements).
//! - Addresses are strings `0x…` (hex, lower case), as JSON numbers lose
//!   precision above 2^53 in many readers.

use std::collections::HashMap;
use std::io;

use serde::{Deserialize, Serialize};

use hb_engine::{AccessKind, MisuseKind, Report};

use crate::fatal::FatalSignalInfo;
use crate::model::{AddressDescription, ErrorRecord, Frame, Stack, ThreadAnnouncement};
use crate::suppressions::{GeneratedSuppression, SuppressionSet};
use crate::text::{
    describe, lock_order_locks, lock_order_what, misuse_what, race_prior_what, race_what,
    required_sites, DescLine, ErrorCounts,
};

/// The `format` of the run record; readers check it.
pub const JSON_FORMAT: &str = "hbgrind-errors";
/// The `version` of the run record: bumped when a field changes meaning.
pub const JSON_VERSION: u32 = 1;

/// One line of a `--json-file`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum JsonRecord {
    Run(RunObject),
    Error(Box<ErrorObject>),
    FatalSignal(FatalSignalObject),
    Summary(SummaryObject),
}

/// The first line: the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunObject {
    /// Always `hbgrind-errors`.
    pub format: String,
    /// `JSON_VERSION`.
    pub version: u32,
    pub tool: String,
    pub pid: u32,
    pub ppid: u32,
    /// Our options as given.
    pub tool_args: Vec<String>,
    pub exe: String,
    pub args: Vec<String>,
    /// `--sched-seed=N`, so the run can be repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched_seed: Option<u64>,
}

/// One frame of a stack, innermost first (as `Frame`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameObject {
    pub ip: String,
    #[serde(rename = "fn", default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkage_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obj: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl FrameObject {
    pub fn from_frame(f: &Frame) -> Self {
        FrameObject {
            ip: hex(f.ip),
            function: f.function.clone(),
            linkage_name: f
                .linkage_name
                .clone()
                .filter(|l| Some(l) != f.function.as_ref()),
            obj: f.object.clone(),
            dir: f.dir.clone(),
            file: f.file.clone(),
            line: f.line,
        }
    }

    /// `worker (racy.c:10)`, `memcpy (in libc.so.6)` or `0x…`.
    pub fn describe(&self) -> String {
        let name = self.function.as_deref().unwrap_or("???");
        match (&self.file, self.line, &self.obj) {
            (Some(file), Some(line), _) => format!("{name} ({file}:{line})"),
            (_, _, Some(obj)) => format!("{name} (in {})", basename(obj)),
            _ => format!("{name} at {}", self.ip),
        }
    }

    /// `racy.c:10`, when known.
    pub fn file_line(&self) -> Option<String> {
        Some(format!("{}:{}", self.file.as_ref()?, self.line?))
    }

    /// The name suppressions' `fun:` lines match.
    pub fn match_name(&self) -> Option<&str> {
        self.linkage_name.as_deref().or(self.function.as_deref())
    }
}

pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn hex(v: u64) -> String {
    format!("0x{v:x}")
}

fn stack_object(s: &Stack) -> Vec<FrameObject> {
    s.frames.iter().map(FrameObject::from_frame).collect()
}

/// One side of a race.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessObject {
    /// `read` or `write`.
    pub kind: String,
    pub size: u64,
    pub thread: u32,
    #[serde(default)]
    pub atomic: bool,
    /// Addresses of the locks held, in acquisition order; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locks_held: Option<Vec<String>>,
    pub stack: Vec<FrameObject>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceObject {
    /// The later access's address.
    pub addr: String,
    /// The access during which the race was found (the error's own stack).
    pub current: AccessObject,
    /// The earlier access it conflicts with.
    pub prior: AccessObject,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOrderObject {
    /// The lock the required order takes first, and the one after it.
    pub earlier: String,
    pub later: String,
    /// Where the required order was established (both acquisitions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_first: Vec<FrameObject>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_second: Vec<FrameObject>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MisuseObject {
    /// `UnlockUnlocked`, `UnlockForeign`, `DestroyLocked`, `BarrierUninitialised`.
    pub what: String,
    pub object: String,
}

/// Where an address lies (`AddressDescription`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AddressObject {
    HeapBlock {
        addr: String,
        offset: u64,
        block_size: u64,
        alloc_stack: Vec<FrameObject>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alloc_thread: Option<u32>,
    },
    GlobalVar {
        addr: String,
        offset: u64,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        declared_file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        declared_line: Option<u32>,
    },
    DataSymbol {
        addr: String,
        offset: u64,
        name: String,
    },
    ThreadStack {
        addr: String,
        thread: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_by: Option<String>,
    },
}

impl AddressObject {
    pub fn from_description(d: &AddressDescription) -> Self {
        match d {
            AddressDescription::HeapBlock {
                addr,
                offset,
                block_size,
                alloc_stack,
                alloc_thread,
            } => AddressObject::HeapBlock {
                addr: hex(*addr),
                offset: *offset,
                block_size: *block_size,
                alloc_stack: stack_object(alloc_stack),
                alloc_thread: *alloc_thread,
            },
            AddressDescription::GlobalVar {
                addr,
                offset,
                name,
                declared_at,
            } => AddressObject::GlobalVar {
                addr: hex(*addr),
                offset: *offset,
                name: name.clone(),
                declared_file: declared_at.as_ref().map(|(f, _)| f.clone()),
                declared_line: declared_at.as_ref().map(|(_, l)| *l),
            },
            AddressDescription::DataSymbol { addr, offset, name } => AddressObject::DataSymbol {
                addr: hex(*addr),
                offset: *offset,
                name: name.clone(),
            },
            AddressDescription::ThreadStack {
                addr,
                thread,
                frame,
            } => AddressObject::ThreadStack {
                addr: hex(*addr),
                thread: *thread,
                frame: frame.as_ref().map(|(n, _)| *n),
                created_by: frame.as_ref().map(|(_, t)| t.clone()),
            },
        }
    }
}

/// A lock the error mentions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockObject {
    pub addr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_observed: Option<Vec<FrameObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressObject>,
}

/// A thread the error names, and how it came to be.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadObject {
    pub number: u32,
    /// The program's root thread (then `created` is empty).
    pub root: bool,
    /// The stack of the call that created it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<FrameObject>,
}

/// `--gen-suppressions`: the entry that hides the error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionObject {
    pub kind: String,
    pub frames: Vec<String>,
    /// The ready-to-paste entry.
    pub text: String,
}

/// One error context.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// As XML's `<unique>`: 0, 1, 2… per process.
    pub unique: u64,
    /// The thread the error happened in.
    pub tid: u32,
    /// `Race`, `LockOrder`, `UnlockUnlocked`, `UnlockForeign`, `Misc`.
    pub kind: String,
    /// The first line, as in the text report.
    pub what: String,
    /// The further lines (the earlier access, where the address lies).
    #[serde(default)]
    pub aux: Vec<String>,
    /// The error's own stack.
    pub stack: Vec<FrameObject>,
    /// Same for the same error in any run: kind and both stacks
    /// (function, file:line), never addresses (`fingerprint.rs`).
    #[serde(default)]
    pub context_fingerprint: String,
    /// Same for every context of one triage group: kind, data location and
    /// the source lines of both sides.
    #[serde(default)]
    pub location_fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race: Option<RaceObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_order: Option<LockOrderObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misuse: Option<MisuseObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressObject>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<LockObject>,
    #[serde(default)]
    pub threads: Vec<ThreadObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<SuppressionObject>,
}

fn access_kind(k: AccessKind) -> String {
    crate::text::access_word(k).to_string()
}

impl ErrorObject {
    /// The object for `err`, first shown as `unique`; `threads` says how
    /// the threads it names came to be.
    pub fn from_record(
        err: &ErrorRecord,
        unique: u64,
        threads: &HashMap<u32, ThreadAnnouncement>,
        suppression: Option<&GeneratedSuppression>,
    ) -> Self {
        let mut o = ErrorObject {
            unique,
            tid: err.thread().0,
            kind: err.kind().name().to_string(),
            stack: stack_object(err.primary_stack()),
            address: err.address.as_ref().map(AddressObject::from_description),
            ..ErrorObject::default()
        };
        match &err.report {
            Report::Race(r) => {
                o.what = race_what(r);
                o.aux.push(race_prior_what(err, r));
                let side = |a: &hb_engine::Access, size: u64| AccessObject {
                    kind: access_kind(a.kind),
                    size,
                    thread: a.thread.0,
                    atomic: a.atomic,
                    locks_held: a
                        .locks_held
                        .as_ref()
                        .map(|l| l.iter().map(|x| hex(*x)).collect()),
                    stack: stack_object(err.stack(a.site)),
                };
                o.race = Some(RaceObject {
                    addr: hex(r.addr),
                    current: side(&r.current, r.size),
                    prior: side(&r.prior, err.prior_size.unwrap_or(r.racy_len)),
                });
            }
            Report::LockOrder(l) => {
                o.what = lock_order_what(l);
                let (earlier, later) = lock_order_locks(l);
                let (first, second) = match required_sites(l) {
                    Some((a, b)) => (stack_object(err.stack(a)), stack_object(err.stack(b))),
                    None => (Vec::new(), Vec::new()),
                };
                o.lock_order = Some(LockOrderObject {
                    earlier: hex(earlier),
                    later: hex(later),
                    required_first: first,
                    required_second: second,
                });
            }
            Report::Misuse(m) => {
                o.what = misuse_what(m);
                let what = match m.kind {
                    MisuseKind::UnlockUnlocked => "UnlockUnlocked",
                    MisuseKind::UnlockForeign { .. } => "UnlockForeign",
                    MisuseKind::DestroyLocked => "DestroyLocked",
                    MisuseKind::BarrierUninitialised => "BarrierUninitialised",
                };
                o.misuse = Some(MisuseObject {
                    what: what.to_string(),
                    object: hex(m.object),
                });
            }
        }
        if let Some(desc) = &err.address {
            for l in describe(desc) {
                match l {
                    DescLine::Text(t) | DescLine::Declared { text: t, .. } => o.aux.push(t),
                    DescLine::Stack(_) => {}
                }
            }
        }
        o.locks = err
            .locks
            .iter()
            .map(|(addr, info)| LockObject {
                addr: hex(*addr),
                first_observed: info.first_observed.as_ref().map(stack_object),
                address: info
                    .description
                    .as_ref()
                    .map(AddressObject::from_description),
            })
            .collect();
        o.threads = err
            .threads()
            .into_iter()
            .map(|t| match threads.get(&t) {
                Some(ThreadAnnouncement::Created(s)) => ThreadObject {
                    number: t,
                    root: false,
                    created: stack_object(s),
                },
                _ => ThreadObject {
                    number: t,
                    root: t == 1,
                    created: Vec::new(),
                },
            })
            .collect();
        o.suppression = suppression.map(|g| SuppressionObject {
            kind: g.kind_line.clone(),
            frames: g.frames.iter().map(|f| f.to_line()).collect(),
            text: g.to_text(),
        });
        o.set_fingerprints();
        o
    }

    /// Computes `context_fingerprint` and `location_fingerprint` from the
    /// rest (readers of XML call it on what they rebuilt).
    pub fn set_fingerprints(&mut self) {
        self.context_fingerprint = crate::fingerprint::context_fingerprint(self);
        self.location_fingerprint = crate::fingerprint::location_fingerprint(self);
    }
}

/// `<fatal_signal>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FatalSignalObject {
    pub tid: u32,
    pub signo: i32,
    pub signame: String,
    pub sicode: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siaddr: Option<String>,
    pub stack: Vec<FrameObject>,
}

impl FatalSignalObject {
    pub fn from_info(fatal: &FatalSignalInfo) -> Self {
        FatalSignalObject {
            tid: fatal.thread,
            signo: fatal.signal,
            signame: crate::fatal::signal_name(fatal.signal),
            sicode: fatal.code,
            event: crate::fatal::event(fatal).map(str::to_string),
            siaddr: crate::fatal::has_address(fatal).then(|| hex(fatal.addr)),
            stack: stack_object(&fatal.stack),
        }
    }
}

/// How often error `unique` occurred.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCountObject {
    pub unique: u64,
    pub count: u64,
}

/// How often suppression `name` was used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionCountObject {
    pub name: String,
    pub count: u64,
}

/// The last line: `ERROR SUMMARY` and XML's `<errorcounts>`, `<suppcounts>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryObject {
    pub errors: u64,
    pub contexts: u64,
    pub suppressed: u64,
    pub suppressed_contexts: u64,
    pub error_counts: Vec<ErrorCountObject>,
    pub suppression_counts: Vec<SuppressionCountObject>,
}

/// Streams one JSON Lines file.
pub struct JsonWriter<W: io::Write> {
    out: W,
    threads: HashMap<u32, ThreadAnnouncement>,
    /// (unique, occurrences) per error written, in order.
    counts: Vec<(u64, u64)>,
}

impl<W: io::Write> JsonWriter<W> {
    /// Writes the run record.
    pub fn start(mut out: W, run: &RunObject) -> io::Result<Self> {
        let mut run = run.clone();
        run.format = JSON_FORMAT.to_string();
        run.version = JSON_VERSION;
        write_line(&mut out, &JsonRecord::Run(run))?;
        Ok(JsonWriter {
            out,
            threads: HashMap::new(),
            counts: Vec::new(),
        })
    }

    /// Records how thread `number` came to be.
    pub fn add_thread(&mut self, number: u32, announcement: ThreadAnnouncement) {
        self.threads.insert(number, announcement);
    }

    /// Writes `err` as a new error context; returns its `unique`.
    pub fn error(
        &mut self,
        err: &ErrorRecord,
        suppression: Option<&GeneratedSuppression>,
    ) -> io::Result<u64> {
        let unique = self.counts.len() as u64;
        let object = ErrorObject::from_record(err, unique, &self.threads, suppression);
        self.counts.push((unique, 1));
        write_line(&mut self.out, &JsonRecord::Error(Box::new(object)))?;
        Ok(unique)
    }

    /// Counts one more occurrence of error `unique`.
    pub fn count_again(&mut self, unique: u64) {
        if let Some(c) = self.counts.iter_mut().find(|(u, _)| *u == unique) {
            c.1 += 1;
        }
    }

    pub fn fatal_signal(&mut self, fatal: &FatalSignalInfo) -> io::Result<()> {
        write_line(
            &mut self.out,
            &JsonRecord::FatalSignal(FatalSignalObject::from_info(fatal)),
        )
    }

    /// Writes the summary record, keeping the writer (see
    /// `XmlWriter::write_trailer`).
    pub fn write_summary(
        &mut self,
        counts: ErrorCounts,
        suppressions: &SuppressionSet,
    ) -> io::Result<()> {
        let summary = SummaryObject {
            errors: counts.errors,
            contexts: counts.contexts,
            suppressed: counts.suppressed,
            suppressed_contexts: counts.suppressed_contexts,
            error_counts: self
                .counts
                .iter()
                .map(|&(unique, count)| ErrorCountObject { unique, count })
                .collect(),
            suppression_counts: suppressions
                .used()
                .map(|(count, s)| SuppressionCountObject {
                    name: s.name.clone(),
                    count,
                })
                .collect(),
        };
        write_line(&mut self.out, &JsonRecord::Summary(summary))
    }

    /// Writes the summary and returns the output.
    pub fn finish(mut self, counts: ErrorCounts, suppressions: &SuppressionSet) -> io::Result<W> {
        self.write_summary(counts, suppressions)?;
        Ok(self.out)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn write_line(out: &mut impl io::Write, record: &JsonRecord) -> io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Reads a JSON Lines file into records. A last line cut short (a killed
/// run) is skipped; any other bad line is an error naming its number.
pub fn read_json_lines(text: &str) -> Result<Vec<JsonRecord>, (usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JsonRecord>(line) {
            Ok(r) => out.push(r),
            Err(e) if i + 1 == lines.len() && !text.ends_with('\n') && e.is_eof() => break,
            Err(e) => return Err((i + 1, e.to_string())),
        }
    }
    Ok(out)
}
