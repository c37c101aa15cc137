//! The error list: deduplication, suppression and counting, with Valgrind's
//! arithmetic (`VG_(maybe_record_error)` in `m_errormgr.c`).
//!
//! Per error occurrence the race tool calls `ErrorLog::record` and acts on
//! the `Outcome`: print a `New` error (text, XML), count a `Duplicate` in
//! the XML (`XmlWriter::count_again(id)`), ignore a `Suppressed` one.
//!
//! # Invariants
//! - An error identity (`ErrorKey`) gets one decision, taken at its first
//!   occurrence: shown or suppressed by one suppression; later occurrences
//!   follow it (a suppressed error's duplicates also count as uses of its
//!   suppression, as in Valgrind).
//! - `New` ids are 0, 1, 2… in the order errors are first shown: the
//!   `<unique>` values `XmlWriter::error` gives them.
//! - `counts()` is `ERROR SUMMARY`: `errors`/`contexts` count shown errors
//!   (with/without duplicates), `suppressed`/`suppressed_contexts` hidden ones.

use std::collections::HashMap;

use crate::model::{ErrorKey, ErrorRecord};
use crate::suppressions::SuppressionSet;
use crate::text::ErrorCounts;

/// What to do with one occurrence of an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// First occurrence of an error to show; its id (= XML `<unique>`).
    New(u64),
    /// Another occurrence of shown error `id`: count it, print nothing.
    Duplicate(u64),
    /// Hidden by suppression number `index` of the `SuppressionSet`.
    Suppressed(usize),
}

#[derive(Clone, Copy, Debug)]
enum Decision {
    Shown(u64),
    Suppressed(usize),
}

/// Every error seen so far, by identity.
#[derive(Clone, Debug, Default)]
pub struct ErrorLog {
    seen: HashMap<ErrorKey, Decision>,
    counts: ErrorCounts,
    shown: u64,
}

impl ErrorLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one occurrence of `err`, consulting (and counting uses of)
    /// `suppressions` the first time its identity is seen.
    pub fn record(&mut self, err: &ErrorRecord, suppressions: &mut SuppressionSet) -> Outcome {
        let key = err.key();
        if let Some(decision) = self.seen.get(&key) {
            return match *decision {
                Decision::Shown(id) => {
                    self.counts.errors += 1;
                    Outcome::Duplicate(id)
                }
                Decision::Suppressed(i) => {
                    self.counts.suppressed += 1;
                    suppressions.count_use(i);
                    Outcome::Suppressed(i)
                }
            };
        }
        if let Some(i) = suppressions.find(err) {
            suppressions.count_use(i);
            self.counts.suppressed += 1;
            self.counts.suppressed_contexts += 1;
            self.seen.insert(key, Decision::Suppressed(i));
            return Outcome::Suppressed(i);
        }
        let id = self.shown;
        self.shown += 1;
        self.counts.errors += 1;
        self.counts.contexts += 1;
        self.seen.insert(key, Decision::Shown(id));
        Outcome::New(id)
    }

    /// The id of `err` if an error of its identity was shown.
    pub fn shown_id(&self, err: &ErrorRecord) -> Option<u64> {
        match self.seen.get(&err.key()) {
            Some(Decision::Shown(id)) => Some(*id),
            _ => None,
        }
    }

    /// The `ERROR SUMMARY` figures so far.
    pub fn counts(&self) -> ErrorCounts {
        self.counts
    }
}
