//! hbgrind-report: everything between an engine `Report` and what the user
//! reads. Pure library: it reads ELF/DWARF files and suppression files, and
//! writes to any `io::Write`; it never starts, stops or signals a process.
//!
//! The race tool's path through it, per error:
//! 1. `Symbolizer::stack` turns the guest's instruction pointers into a
//!    `Stack` of `Frame`s (function, file, line, object; inlined frames too).
//! 2. `ErrorLog::record` deduplicates it (`ErrorRecord::key`) and asks the
//!    `SuppressionSet` whether a suppression hides it, counting uses;
//!    `generate_suppression` builds the `--gen-suppressions` entry.
//! 3. `TextReporter` or `XmlWriter` writes it in Valgrind's text
//!    format or in its XML protocol 4; `JsonWriter` (`--json-file`) and
//!    `sarif::SarifWriter` (`--sarif-file`) as JSON Lines and SARIF 2.1.0,
//!    with the fingerprints of `fingerprint` that `hbgrind triage` groups by.
//!
//! ```
//! use hb_engine::{Access, AccessKind, Race, Report, ThreadId};
//! use hbgrind_report::{
//!     generate_suppression, ErrorLog, ErrorRecord, Frame, Outcome, Stack, SuppressionSet,
//!     TextReporter,
//! };
//!
//! let access = |thread, kind, site| Access {
//!     thread: ThreadId(thread),
//!     kind,
//!     atomic: false,
//!     site,
//!     locks_held: Some(vec![]),
//! };
//! let report = Report::Race(Race {
//!     addr: 0x10c060,
//!     size: 4,
//!     racy_addr: 0x10c060,
//!     racy_len: 4,
//!     current: access(1, AccessKind::Read, 7),
//!     prior: access(2, AccessKind::Write, 8),
//! });
//! // The race tool resolves each site to a stack with `Symbolizer::stack`.
//! let frame = |ip, name: &str, line| Frame {
//!     ip,
//!     function: Some(name.into()),
//!     linkage_name: Some(name.into()),
//!     file: Some("racy.c".into()),
//!     line: Some(line),
//!     ..Frame::default()
//! };
//! let err = ErrorRecord::new(report)
//!     .with_stack(7, Stack::new(vec![frame(0x109210, "main", 19)]))
//!     .with_stack(8, Stack::new(vec![frame(0x1091ad, "worker", 10)]));
//!
//! let mut suppressions = SuppressionSet::new();
//! suppressions.add_str("my.supp", "{\n  quiet\n  Helgrind:Race\n  fun:worker\n}\n")?;
//! let mut log = ErrorLog::new();
//! let mut text = TextReporter::new(4242);
//! let mut stderr = Vec::new();
//! if let Outcome::New(_) = log.record(&err, &mut suppressions) {
//!     text.error(&mut stderr, &err)?;
//!     text.suppression(&mut stderr, &generate_suppression(&err))?; // --gen-suppressions=all
//! }
//! text.summary(&mut stderr, log.counts(), None)?;
//! let stderr = String::from_utf8(stderr)?;
//! assert!(stderr.contains(
//!     "==4242== Possible data race during read of size 4 at 0x10C060 by thread #1\n\
//!      ==4242== Locks held: none\n\
//!      ==4242==    at 0x109210: main (racy.c:19)\n"
//! ));
//! assert!(stderr.contains("{\n   <insert_a_suppression_name_here>\n   Helgrind:Race\n   fun:main\n}\n"));
//! assert!(stderr.ends_with("ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 0 from 0)\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod cachegrind; // --tool=cachegrind: cache options, cachegrind.out, the exit summary
mod errors; // ErrorLog: deduplication, suppression, ERROR SUMMARY counts
mod fatal; // FatalSignalInfo: a process dying of a signal, Valgrind's block
pub mod fingerprint; // stable names of errors across runs: context, triage group
mod glob; // glob_match: Valgrind's `*`/`?` wildcards
mod json; // --json-file: JSON Lines, one object per error (ErrorObject)
mod model; // Frame, Stack, ErrorRecord, AddressDescription: what the race tool hands over
pub mod sarif; // --sarif-file: SARIF 2.1.0, one result per context
mod suppressions; // SuppressionSet: Valgrind's suppression files, matching, generation
mod symbols; // Symbolizer: address -> function, file, line (addr2line + object)
mod text; // Helgrind's text format
mod variables; // VariableIndex: global variables from DWARF, for address descriptions
mod xml; // Valgrind's XML output protocol 4
pub mod xml_tree; // Element, parse_xml: reading XML documents back (triage, tests)

pub use crate::errors::{ErrorLog, Outcome};
pub use crate::fatal::{signal_name, FatalSignalInfo};
pub use crate::glob::glob_match;
pub use crate::json::{
    read_json_lines, AccessObject, AddressObject, ErrorCountObject, ErrorObject, FatalSignalObject,
    FrameObject, JsonRecord, JsonWriter, LockObject, LockOrderObject, MisuseObject, RaceObject,
    RunObject, SummaryObject, SuppressionCountObject, SuppressionObject, ThreadObject, JSON_FORMAT,
    JSON_VERSION,
};
pub use crate::model::{
    AddressDescription, ErrorKey, ErrorKind, ErrorRecord, Frame, LockInfo, Stack,
    ThreadAnnouncement,
};
pub use crate::suppressions::{
    generate_suppression, FramePattern, GeneratedSuppression, Suppression, SuppressionError,
    SuppressionKind, SuppressionSet,
};
pub use crate::symbols::{demangle, LoadedModule, SourceLine, SymbolError, Symbolizer};
pub use crate::text::{frame_line, ErrorCounts, TextReporter};
pub use crate::xml::{format_elapsed, repair, Preamble, XmlWriter};
