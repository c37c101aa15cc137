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
//!    format or in its XML protocol 4.
#![forbid(unsafe_code)]

mod errors; // ErrorLog: deduplication, suppression, ERROR SUMMARY counts
mod glob; // glob_match: Valgrind's `*`/`?` wildcards
mod model; // Frame, Stack, ErrorRecord, AddressDescription: what the race tool hands over
mod suppressions; // SuppressionSet: Valgrind's suppression files, matching, generation
mod symbols; // Symbolizer: address -> function, file, line (addr2line + object)
mod text; // Helgrind's text format
mod xml; // Valgrind's XML output protocol 4

pub use crate::errors::{ErrorLog, Outcome};
pub use crate::glob::glob_match;
pub use crate::model::{
    AddressDescription, ErrorKey, ErrorKind, ErrorRecord, Frame, LockInfo, Stack,
    ThreadAnnouncement,
};
pub use crate::suppressions::{
    generate_suppression, FramePattern, GeneratedSuppression, Suppression, SuppressionError,
    SuppressionKind, SuppressionSet,
};
pub use crate::symbols::{demangle, LoadedModule, SymbolError, Symbolizer};
pub use crate::text::{ErrorCounts, TextReporter};
pub use crate::xml::{format_elapsed, repair, Preamble, XmlWriter};
