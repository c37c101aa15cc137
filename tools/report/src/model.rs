//! What the race tool hands the report layer: an engine `Report` plus the
//! stacks of its sites, the threads it names and where its address lies.
//!
//! # Invariants
//! - A `Stack` lists frames innermost first. The frames that one code
//!   address expands to (a function and the calls inlined into it) are
//!   consecutive, innermost inlined call first, and share that `ip`.
//! - `Frame::ip` is what the user sees: for callers it is the return address,
//!   as in Valgrind; `Symbolizer::stack` looked it up at `ip - 1`.
//! - Thread numbers are the ones printed as `#N`, 1 being the root thread
//!   (Helgrind's numbering). The race tool maps its `ThreadId`s to them.
//! - An `ErrorRecord` without the stack of one of its sites prints that stack
//!   as empty; nothing here panics on a missing piece.

use std::collections::{BTreeMap, HashMap};

use hb_engine::{MisuseKind, Report, ThreadId};

/// One line of a stack: a code address and what is known about it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Frame {
    pub ip: u64,
    /// Demangled function name, as printed (`ns::Foo::bar(int)`).
    pub function: Option<String>,
    /// The name as in the symbol table or DWARF linkage name (`_ZN2ns3Foo3barEi`).
    /// Suppressions' `fun:` lines match this one, as in Valgrind.
    pub linkage_name: Option<String>,
    /// Directory of `file`, as the debug information gives it.
    pub dir: Option<String>,
    /// Source file name without its directory (`racy.c`).
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Path of the loaded module (ELF file) holding `ip`.
    pub object: Option<String>,
    /// Code that no module maps (a JIT's buffer): the mapping holding it,
    /// as `anonymous 0x7f00…-0x7f10…` or its name and range. Such frames
    /// print as `<generated code>`, and errors whose stacks differ only in
    /// them are one context (`ErrorRecord::key`).
    pub generated: Option<String>,
}

impl Frame {
    /// A frame about which nothing but the address is known.
    pub fn unknown(ip: u64) -> Self {
        Frame {
            ip,
            ..Frame::default()
        }
    }

    /// The name `fun:` patterns match: the mangled name when known, else the
    /// printed one, else `???` (Valgrind's name for "unknown").
    pub fn match_name(&self) -> &str {
        self.linkage_name
            .as_deref()
            .or(self.function.as_deref())
            .unwrap_or("???")
    }

    /// The name `obj:` patterns match: the object path or `???`.
    pub fn match_object(&self) -> &str {
        self.object.as_deref().unwrap_or("???")
    }
}

/// A call stack, innermost frame first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stack {
    pub frames: Vec<Frame>,
}

impl Stack {
    pub fn new(frames: Vec<Frame>) -> Self {
        Stack { frames }
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// The kinds of error the race tool reports, named as in Helgrind's XML
/// `<kind>` and suppression kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    Race,
    LockOrder,
    UnlockUnlocked,
    UnlockForeign,
    Misc,
}

impl ErrorKind {
    pub fn of(report: &Report) -> Self {
        match report {
            Report::Race(_) => ErrorKind::Race,
            Report::LockOrder(_) => ErrorKind::LockOrder,
            Report::Misuse(m) => match m.kind {
                MisuseKind::UnlockUnlocked => ErrorKind::UnlockUnlocked,
                MisuseKind::UnlockForeign { .. } => ErrorKind::UnlockForeign,
                MisuseKind::DestroyLocked | MisuseKind::BarrierUninitialised => ErrorKind::Misc,
            },
        }
    }

    /// Helgrind's name: `Race`, `LockOrder`, `UnlockUnlocked`, `UnlockForeign`, `Misc`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Race => "Race",
            ErrorKind::LockOrder => "LockOrder",
            ErrorKind::UnlockUnlocked => "UnlockUnlocked",
            ErrorKind::UnlockForeign => "UnlockForeign",
            ErrorKind::Misc => "Misc",
        }
    }
}

/// Where an address lies, printed after a race (and after a lock's
/// "first observed" stack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressDescription {
    /// `Address 0x… is N bytes inside a block of size S alloc'd`, the
    /// allocation stack, and `Block was alloc'd by thread #T` when known.
    HeapBlock {
        addr: u64,
        offset: u64,
        block_size: u64,
        alloc_stack: Stack,
        alloc_thread: Option<u32>,
    },
    /// `Location 0x… is N bytes inside global var "name"` and, when the
    /// debug information has it, `declared at file:line`.
    GlobalVar {
        addr: u64,
        offset: u64,
        name: String,
        declared_at: Option<(String, u32)>,
    },
    /// `Address 0x… is N bytes inside data symbol "name"` (no DWARF variable,
    /// only an ELF symbol).
    DataSymbol {
        addr: u64,
        offset: u64,
        name: String,
    },
    /// `Address 0x… is on thread #T's stack` and, when known,
    /// `in frame #F, created by main (racy.c:18)` (`frame` = (F, that text)).
    ThreadStack {
        addr: u64,
        thread: u32,
        frame: Option<(u32, String)>,
    },
}

/// What is known about a lock an error mentions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockInfo {
    /// Where the lock was first seen (printed as "Lock at 0x… was first observed").
    pub first_observed: Option<Stack>,
    pub description: Option<AddressDescription>,
}

/// How a thread came to be, printed once before the first error naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadAnnouncement {
    /// Thread #1: "is the program's root thread".
    Root,
    /// "was created", with the stack of its creation.
    Created(Stack),
}

/// Identity of an error for deduplication (`ErrorRecord::key`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErrorKey {
    kind: ErrorKind,
    detail: Option<&'static str>,
    stacks: [Vec<u64>; 2],
}

/// One error, everything needed to print it in text or XML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRecord {
    pub report: Report,
    /// Stacks of the report's sites (`Access::site`, `LockOrderEdge::first_site`
    /// and `second_site`, `Misuse::site`), resolved by the race tool.
    pub stacks: HashMap<u32, Stack>,
    /// Size of the earlier access of a race; `None` prints the racy length.
    pub prior_size: Option<u64>,
    /// Where the racy address (or, for misuse, the lock) lies.
    pub address: Option<AddressDescription>,
    /// Locks the error mentions, by guest address.
    pub locks: BTreeMap<u64, LockInfo>,
}

impl ErrorRecord {
    pub fn new(report: Report) -> Self {
        ErrorRecord {
            report,
            stacks: HashMap::new(),
            prior_size: None,
            address: None,
            locks: BTreeMap::new(),
        }
    }

    /// Adds the stack of `site`.
    pub fn with_stack(mut self, site: u32, stack: Stack) -> Self {
        self.stacks.insert(site, stack);
        self
    }

    /// Renumbers the report's threads (`ThreadId`s as the engine knows
    /// them, e.g. kernel thread ids) into the numbers printed as `#N`
    /// (1 = root thread, then in order of creation, as Helgrind numbers).
    pub fn renumber_threads(&mut self, number: impl Fn(ThreadId) -> u32) {
        let map = |t: &mut ThreadId| *t = ThreadId(number(*t));
        match &mut self.report {
            Report::Race(r) => {
                map(&mut r.current.thread);
                map(&mut r.prior.thread);
            }
            Report::LockOrder(l) => map(&mut l.thread),
            Report::Misuse(m) => {
                map(&mut m.thread);
                if let MisuseKind::UnlockForeign { owner } = &mut m.kind {
                    map(owner);
                }
            }
        }
    }

    pub fn kind(&self) -> ErrorKind {
        ErrorKind::of(&self.report)
    }

    /// The stack of `site`, empty when the race tool gave none.
    pub fn stack(&self, site: u32) -> &Stack {
        static EMPTY: Stack = Stack { frames: Vec::new() };
        self.stacks.get(&site).unwrap_or(&EMPTY)
    }

    /// The error's own stack (Valgrind's "where"): the later access of a race,
    /// the acquisition that closed a lock-order cycle, the misusing call.
    /// Suppressions match it, and deduplication keys on it.
    pub fn primary_stack(&self) -> &Stack {
        self.stack(self.primary_site())
    }

    pub(crate) fn primary_site(&self) -> u32 {
        match &self.report {
            Report::Race(r) => r.current.site,
            Report::LockOrder(l) => l.observed.second_site,
            Report::Misuse(m) => m.site,
        }
    }

    /// The thread the error happened in.
    pub fn thread(&self) -> ThreadId {
        match &self.report {
            Report::Race(r) => r.current.thread,
            Report::LockOrder(l) => l.thread,
            Report::Misuse(m) => m.thread,
        }
    }

    /// What makes two errors the same (decision 13 of ARCHITECTURE.md):
    /// the kind (with the misuse name) and the code addresses of both
    /// stacks, in either order, so A-vs-B and B-vs-A count as one race.
    pub fn key(&self) -> ErrorKey {
        let ips = |site: u32| -> Vec<u64> {
            // Generated code is rewritten and moved by its JIT: a run of
            // generated frames counts as one, wherever it lies.
            const GENERATED: u64 = u64::MAX;
            let mut v: Vec<u64> = self
                .stack(site)
                .frames
                .iter()
                .map(|f| {
                    if f.generated.is_some() {
                        GENERATED
                    } else {
                        f.ip
                    }
                })
                .collect();
            v.dedup(); // inlined frames share their ip
            v
        };
        let (a, b) = match &self.report {
            Report::Race(r) => (ips(r.current.site), ips(r.prior.site)),
            Report::LockOrder(l) => (ips(l.observed.second_site), ips(l.observed.first_site)),
            Report::Misuse(m) => (ips(m.site), Vec::new()),
        };
        // As Helgrind (`HG_(eq_Error)`), a race's identity includes
        // whether its access reads or writes: `x++` races twice.
        let detail = match &self.report {
            Report::Race(r) => Some(crate::text::access_word(r.current.kind)),
            _ => crate::suppressions::misc_detail(&self.report),
        };
        ErrorKey {
            kind: self.kind(),
            detail,
            stacks: if a <= b { [a, b] } else { [b, a] },
        }
    }

    /// Threads to announce before the error, in Helgrind's order.
    pub fn threads(&self) -> Vec<u32> {
        let mut out = vec![self.thread().0];
        match &self.report {
            Report::Race(r) => out.push(r.prior.thread.0),
            Report::Misuse(m) => {
                if let MisuseKind::UnlockForeign { owner } = m.kind {
                    out.push(owner.0);
                }
            }
            Report::LockOrder(_) => {}
        }
        if let Some(AddressDescription::HeapBlock {
            alloc_thread: Some(t),
            ..
        }) = &self.address
        {
            out.push(*t);
        }
        let mut seen = Vec::new();
        out.retain(|t| {
            let new = !seen.contains(t);
            seen.push(*t);
            new
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorRecord, Frame, Stack};
    use hb_engine::{Access, AccessKind, Race, Report, ThreadId};

    fn race(current_site: u32, prior_site: u32, current: u32, prior: u32) -> ErrorRecord {
        let access = |thread, site| Access {
            thread: ThreadId(thread),
            kind: AccessKind::Write,
            atomic: false,
            site,
            locks_held: None,
        };
        ErrorRecord::new(Report::Race(Race {
            addr: 0x10,
            size: 4,
            racy_addr: 0x10,
            racy_len: 4,
            current: access(current, current_site),
            prior: access(prior, prior_site),
        }))
        .with_stack(
            1,
            Stack::new(vec![Frame::unknown(0xa), Frame::unknown(0xb)]),
        )
        .with_stack(2, Stack::new(vec![Frame::unknown(0xc)]))
        .with_stack(
            3,
            Stack::new(vec![
                Frame::unknown(0xa),
                Frame::unknown(0xa),
                Frame::unknown(0xb),
            ]),
        )
    }

    #[test]
    fn threads_are_renumbered() {
        let mut e = race(1, 2, 4242, 4250);
        e.renumber_threads(|t| if t.0 == 4242 { 1 } else { 2 });
        assert_eq!(e.threads(), vec![1, 2]);
        assert_eq!(e.thread(), ThreadId(1));
    }

    #[test]
    fn key_ignores_the_order_of_the_two_stacks_and_inlined_frames() {
        assert_eq!(race(1, 2, 1, 2).key(), race(2, 1, 2, 1).key());
        assert_eq!(race(1, 2, 1, 2).key(), race(3, 2, 1, 2).key());
        assert_eq!(race(1, 2, 1, 2).key(), race(1, 2, 5, 6).key());
        assert_ne!(race(1, 2, 1, 2).key(), race(1, 1, 1, 2).key());
    }
}
