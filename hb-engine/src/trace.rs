//! The textual event trace: one event per line, for tests, bug reports and
//! `hbgrind analyze`.
//!
//! ```text
//! # a comment; blank lines are ignored
//! T1 create T2              T1 starts thread T2
//! T2 wr 0x7f0010 4 s17      plain write of 4 bytes at site 17
//! T1 rd 0x7f0010 4          plain read; without `sN` the site is the line number
//! T1 ald 0x10 8 acq         atomic load  (orders: rlx acq rel acq_rel seq_cst)
//! T1 ast 0x10 8 rel         atomic store
//! T1 armw 0x10 8 seq_cst    atomic read-modify-write
//! T1 fence acq_rel
//! T1 lock 0x5000            also trylock (succeeded), unlock
//! T1 rdlock 0x6000          also wrlock, tryrdlock, trywrlock, rwunlock
//! T1 release 0x7000         condvar signal, sem_post, ANNOTATE_HAPPENS_BEFORE
//! T2 acquire 0x7000         condvar wakeup, sem_wait, ANNOTATE_HAPPENS_AFTER
//! T1 barrier_init 0x8000 2
//! T1 barrier_wait 0x8000
//! T1 destroy 0x5000         a lock or other sync object is destroyed
//! T1 alloc 0x9000 64        also free, clean, ignore, unignore: address ranges
//! T2 exit
//! T1 join T2                also detach T2
//! ```
//!
//! Numbers are decimal or `0x` hexadecimal. `parse` rejects a bad line with
//! its number; `Display` prints an event so that it parses back to itself.
//! `replay` feeds events into an `Engine`, rejecting impossible thread
//! histories (an event of an exited thread, a join of an unknown one).

use rustc_hash::FxHashMap;
use std::fmt;

use crate::engine::{Engine, MemoryOrder};
use crate::epoch::ThreadId;
use crate::report::AccessKind;
use crate::threads::EngineError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicOp {
    Load,
    Store,
    Rmw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOp {
    Lock,
    TryLock,
    Unlock,
    RdLock,
    WrLock,
    TryRdLock,
    TryWrLock,
    RwUnlock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeOp {
    Alloc,
    Free,
    Clean,
    Ignore,
    Unignore,
}

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Access {
        thread: ThreadId,
        kind: AccessKind,
        addr: u64,
        size: u64,
        site: Option<u32>,
    },
    Atomic {
        thread: ThreadId,
        op: AtomicOp,
        addr: u64,
        size: u64,
        order: MemoryOrder,
        site: Option<u32>,
    },
    Fence {
        thread: ThreadId,
        order: MemoryOrder,
    },
    Lock {
        thread: ThreadId,
        op: LockOp,
        addr: u64,
        site: Option<u32>,
    },
    Release {
        thread: ThreadId,
        addr: u64,
    },
    Acquire {
        thread: ThreadId,
        addr: u64,
    },
    BarrierInit {
        thread: ThreadId,
        addr: u64,
        count: u32,
    },
    BarrierWait {
        thread: ThreadId,
        addr: u64,
        site: Option<u32>,
    },
    Destroy {
        thread: ThreadId,
        addr: u64,
        site: Option<u32>,
    },
    Range {
        thread: ThreadId,
        op: RangeOp,
        addr: u64,
        len: u64,
    },
    Create {
        thread: ThreadId,
        child: ThreadId,
    },
    Join {
        thread: ThreadId,
        child: ThreadId,
    },
    Detach {
        thread: ThreadId,
        child: ThreadId,
    },
    Exit {
        thread: ThreadId,
    },
}

impl Event {
    pub fn thread(&self) -> ThreadId {
        match *self {
            Event::Access { thread, .. }
            | Event::Atomic { thread, .. }
            | Event::Fence { thread, .. }
            | Event::Lock { thread, .. }
            | Event::Release { thread, .. }
            | Event::Acquire { thread, .. }
            | Event::BarrierInit { thread, .. }
            | Event::BarrierWait { thread, .. }
            | Event::Destroy { thread, .. }
            | Event::Range { thread, .. }
            | Event::Create { thread, .. }
            | Event::Join { thread, .. }
            | Event::Detach { thread, .. }
            | Event::Exit { thread } => thread,
        }
    }
}

/// A line that is not an event, or an event that cannot happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

impl std::error::Error for TraceError {}

/// Parses a whole trace into (line number, event) pairs.
pub fn parse(text: &str) -> Result<Vec<(usize, Event)>, TraceError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if let Some(event) = parse_line(line).map_err(|message| TraceError {
            line: line_no,
            message,
        })? {
            events.push((line_no, event));
        }
    }
    Ok(events)
}

/// Parses one line: `Ok(None)` for a blank or comment line.
pub fn parse_line(line: &str) -> Result<Option<Event>, String> {
    let line = line.split('#').next().unwrap_or("");
    let mut words = Words {
        words: line.split_whitespace().collect(),
        next: 0,
    };
    let Some(first) = words.next_word() else {
        return Ok(None);
    };
    let thread = parse_thread(first)?;
    let op = words
        .next_word()
        .ok_or("missing the event after the thread")?;
    let event = match op {
        "rd" | "wr" => {
            let kind = if op == "rd" {
                AccessKind::Read
            } else {
                AccessKind::Write
            };
            let (addr, size) = words.range("access", true)?;
            Event::Access {
                thread,
                kind,
                addr,
                size,
                site: words.site()?,
            }
        }
        "ald" | "ast" | "armw" => {
            let op = match op {
                "ald" => AtomicOp::Load,
                "ast" => AtomicOp::Store,
                _ => AtomicOp::Rmw,
            };
            let (addr, size) = words.range("atomic access", true)?;
            let order = parse_order(
                words
                    .next_word()
                    .ok_or("missing the memory order (rlx, acq, rel, acq_rel, seq_cst)")?,
            )?;
            Event::Atomic {
                thread,
                op,
                addr,
                size,
                order,
                site: words.site()?,
            }
        }
        "fence" => {
            let order = parse_order(
                words
                    .next_word()
                    .ok_or("missing the memory order (rlx, acq, rel, acq_rel, seq_cst)")?,
            )?;
            Event::Fence { thread, order }
        }
        "lock" | "trylock" | "unlock" | "rdlock" | "wrlock" | "tryrdlock" | "trywrlock"
        | "rwunlock" => {
            let op = match op {
                "lock" => LockOp::Lock,
                "trylock" => LockOp::TryLock,
                "unlock" => LockOp::Unlock,
                "rdlock" => LockOp::RdLock,
                "wrlock" => LockOp::WrLock,
                "tryrdlock" => LockOp::TryRdLock,
                "trywrlock" => LockOp::TryWrLock,
                _ => LockOp::RwUnlock,
            };
            let addr = words.number("lock address")?;
            Event::Lock {
                thread,
                op,
                addr,
                site: words.site()?,
            }
        }
        "release" => Event::Release {
            thread,
            addr: words.number("address")?,
        },
        "acquire" => Event::Acquire {
            thread,
            addr: words.number("address")?,
        },
        "barrier_init" => {
            let addr = words.number("barrier address")?;
            let count = words.number("thread count")?;
            let count = u32::try_from(count)
                .ok()
                .filter(|&c| c > 0)
                .ok_or("the thread count must be between 1 and 4294967295")?;
            Event::BarrierInit {
                thread,
                addr,
                count,
            }
        }
        "barrier_wait" => {
            let addr = words.number("barrier address")?;
            Event::BarrierWait {
                thread,
                addr,
                site: words.site()?,
            }
        }
        "destroy" => {
            let addr = words.number("address")?;
            Event::Destroy {
                thread,
                addr,
                site: words.site()?,
            }
        }
        "alloc" | "free" | "clean" | "ignore" | "unignore" => {
            let op = match op {
                "alloc" => RangeOp::Alloc,
                "free" => RangeOp::Free,
                "clean" => RangeOp::Clean,
                "ignore" => RangeOp::Ignore,
                _ => RangeOp::Unignore,
            };
            let (addr, len) = if op == RangeOp::Ignore {
                words.range("range", true)?
            } else {
                words.range("range", false)?
            };
            Event::Range {
                thread,
                op,
                addr,
                len,
            }
        }
        "create" | "join" | "detach" => {
            let child = parse_thread(
                words
                    .next_word()
                    .ok_or("missing the other thread, e.g. T2")?,
            )?;
            match op {
                "create" => Event::Create { thread, child },
                "join" => Event::Join { thread, child },
                _ => Event::Detach { thread, child },
            }
        }
        "exit" => Event::Exit { thread },
        other => return Err(format!("unknown event '{other}'")),
    };
    if let Some(extra) = words.next_word() {
        return Err(format!("unexpected '{extra}' at the end of the line"));
    }
    Ok(Some(event))
}

/// The largest access or ignored range one line may name (256 MiB, the
/// size one `AccessRecord` can carry).
pub const MAX_CHECKED_SIZE: u64 = 1 << 28;

struct Words<'a> {
    words: Vec<&'a str>,
    next: usize,
}

impl<'a> Words<'a> {
    fn next_word(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.next).copied();
        self.next += 1;
        word
    }

    fn number(&mut self, what: &str) -> Result<u64, String> {
        let word = self
            .next_word()
            .ok_or_else(|| format!("missing the {what}"))?;
        parse_number(word).ok_or_else(|| {
            format!("bad {what} '{word}': expected a decimal or 0x-hexadecimal number")
        })
    }

    /// An address and a size; `checked` ranges (accesses, ignore) create
    /// shadow for every byte, so they are limited to `MAX_CHECKED_SIZE`.
    fn range(&mut self, what: &str, checked: bool) -> Result<(u64, u64), String> {
        let addr = self.number(&format!("{what} address"))?;
        let size = self.number(&format!("{what} size"))?;
        if checked && size == 0 {
            return Err(format!("{what} size must be at least 1"));
        }
        if checked && size > MAX_CHECKED_SIZE {
            return Err(format!(
                "{what} size {size} is larger than the limit of {MAX_CHECKED_SIZE} bytes"
            ));
        }
        if addr.checked_add(size).is_none() {
            return Err(format!(
                "{what} at {addr:#x} of size {size} wraps past the end of the address space"
            ));
        }
        Ok((addr, size))
    }

    fn site(&mut self) -> Result<Option<u32>, String> {
        let Some(word) = self.words.get(self.next) else {
            return Ok(None);
        };
        let Some(digits) = word.strip_prefix('s') else {
            return Ok(None);
        };
        self.next += 1;
        digits
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("bad site '{word}': expected s followed by a number"))
    }
}

fn parse_number(word: &str) -> Option<u64> {
    match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => word.parse().ok(),
    }
}

fn parse_thread(word: &str) -> Result<ThreadId, String> {
    word.strip_prefix('T')
        .and_then(|n| n.parse::<u32>().ok())
        .map(ThreadId)
        .ok_or_else(|| format!("bad thread '{word}': expected T followed by a number, e.g. T1"))
}

fn parse_order(word: &str) -> Result<MemoryOrder, String> {
    Ok(match word {
        "rlx" => MemoryOrder::Relaxed,
        "acq" => MemoryOrder::Acquire,
        "rel" => MemoryOrder::Release,
        "acq_rel" => MemoryOrder::AcqRel,
        "seq_cst" => MemoryOrder::SeqCst,
        _ => {
            return Err(format!(
                "bad memory order '{word}': expected rlx, acq, rel, acq_rel or seq_cst"
            ))
        }
    })
}

fn order_name(order: MemoryOrder) -> &'static str {
    match order {
        MemoryOrder::Relaxed => "rlx",
        MemoryOrder::Acquire => "acq",
        MemoryOrder::Release => "rel",
        MemoryOrder::AcqRel => "acq_rel",
        MemoryOrder::SeqCst => "seq_cst",
    }
}

struct Site(Option<u32>);

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(site) => write!(f, " s{site}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.thread())?;
        match *self {
            Event::Access {
                kind,
                addr,
                size,
                site,
                ..
            } => {
                let op = if kind == AccessKind::Read { "rd" } else { "wr" };
                write!(f, "{op} {addr:#x} {size}{}", Site(site))
            }
            Event::Atomic {
                op,
                addr,
                size,
                order,
                site,
                ..
            } => {
                let op = match op {
                    AtomicOp::Load => "ald",
                    AtomicOp::Store => "ast",
                    AtomicOp::Rmw => "armw",
                };
                write!(
                    f,
                    "{op} {addr:#x} {size} {}{}",
                    order_name(order),
                    Site(site)
                )
            }
            Event::Fence { order, .. } => write!(f, "fence {}", order_name(order)),
            Event::Lock { op, addr, site, .. } => {
                let op = match op {
                    LockOp::Lock => "lock",
                    LockOp::TryLock => "trylock",
                    LockOp::Unlock => "unlock",
                    LockOp::RdLock => "rdlock",
                    LockOp::WrLock => "wrlock",
                    LockOp::TryRdLock => "tryrdlock",
                    LockOp::TryWrLock => "trywrlock",
                    LockOp::RwUnlock => "rwunlock",
                };
                write!(f, "{op} {addr:#x}{}", Site(site))
            }
            Event::Release { addr, .. } => write!(f, "release {addr:#x}"),
            Event::Acquire { addr, .. } => write!(f, "acquire {addr:#x}"),
            Event::BarrierInit { addr, count, .. } => write!(f, "barrier_init {addr:#x} {count}"),
            Event::BarrierWait { addr, site, .. } => {
                write!(f, "barrier_wait {addr:#x}{}", Site(site))
            }
            Event::Destroy { addr, site, .. } => write!(f, "destroy {addr:#x}{}", Site(site)),
            Event::Range { op, addr, len, .. } => {
                let op = match op {
                    RangeOp::Alloc => "alloc",
                    RangeOp::Free => "free",
                    RangeOp::Clean => "clean",
                    RangeOp::Ignore => "ignore",
                    RangeOp::Unignore => "unignore",
                };
                write!(f, "{op} {addr:#x} {len}")
            }
            Event::Create { child, .. } => write!(f, "create {child}"),
            Event::Join { child, .. } => write!(f, "join {child}"),
            Event::Detach { child, .. } => write!(f, "detach {child}"),
            Event::Exit { .. } => write!(f, "exit"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Life {
    Alive,
    Exited,
}

/// Feeds `events` into `engine` in order. A missing site is the line number.
pub fn replay(engine: &mut Engine, events: &[(usize, Event)]) -> Result<(), TraceError> {
    let mut replayer = Replayer::default();
    for (line, event) in events {
        replayer.event(engine, *line, event)?;
    }
    Ok(())
}

/// `replay` one event at a time, for a trace read as a stream: it keeps
/// which threads exist and which have exited.
#[derive(Default)]
pub struct Replayer {
    lives: FxHashMap<ThreadId, Life>,
}

impl Replayer {
    /// Feeds `event`, read from line `line`, into `engine`.
    pub fn event(
        &mut self,
        engine: &mut Engine,
        line: usize,
        event: &Event,
    ) -> Result<(), TraceError> {
        let err = |message: String| TraceError { line, message };
        let thread = event.thread();
        if self.lives.get(&thread) == Some(&Life::Exited) {
            return Err(err(format!("{thread} has exited")));
        }
        self.lives.insert(thread, Life::Alive);
        let site = |s: Option<u32>| s.unwrap_or(u32::try_from(line).unwrap_or(u32::MAX));
        let result: Result<(), EngineError> = match *event {
            Event::Access {
                kind: AccessKind::Read,
                addr,
                size,
                site: s,
                ..
            } => engine.read(thread, addr, size, site(s)),
            Event::Access {
                kind: AccessKind::Write,
                addr,
                size,
                site: s,
                ..
            } => engine.write(thread, addr, size, site(s)),
            Event::Atomic {
                op,
                addr,
                size,
                order,
                site: s,
                ..
            } => match op {
                AtomicOp::Load => engine.atomic_load(thread, addr, size, order, site(s)),
                AtomicOp::Store => engine.atomic_store(thread, addr, size, order, site(s)),
                AtomicOp::Rmw => engine.atomic_rmw(thread, addr, size, order, site(s)),
            },
            Event::Fence { order, .. } => engine.fence(thread, order),
            Event::Lock {
                op, addr, site: s, ..
            } => match op {
                LockOp::Lock => engine.mutex_lock(thread, addr, false, site(s)),
                LockOp::TryLock => engine.mutex_lock(thread, addr, true, site(s)),
                LockOp::Unlock => engine.mutex_unlock(thread, addr, site(s)),
                LockOp::RdLock => engine.rwlock_lock(thread, addr, false, false, site(s)),
                LockOp::WrLock => engine.rwlock_lock(thread, addr, true, false, site(s)),
                LockOp::TryRdLock => engine.rwlock_lock(thread, addr, false, true, site(s)),
                LockOp::TryWrLock => engine.rwlock_lock(thread, addr, true, true, site(s)),
                LockOp::RwUnlock => engine.rwlock_unlock(thread, addr, site(s)),
            },
            Event::Release { addr, .. } => engine.release(thread, addr),
            Event::Acquire { addr, .. } => engine.acquire(thread, addr),
            Event::BarrierInit { addr, count, .. } => engine.barrier_init(thread, addr, count),
            Event::BarrierWait { addr, site: s, .. } => engine.barrier_wait(thread, addr, site(s)),
            Event::Destroy { addr, site: s, .. } => engine.sync_destroy(thread, addr, site(s)),
            Event::Range { op, addr, len, .. } => {
                match op {
                    RangeOp::Alloc | RangeOp::Free => engine.reset_range(addr, len),
                    RangeOp::Clean => engine.clean_range(addr, len),
                    RangeOp::Ignore => engine.ignore_range(addr, len),
                    RangeOp::Unignore => engine.unignore_range(addr, len),
                }
                Ok(())
            }
            Event::Create { child, .. } => {
                if self.lives.contains_key(&child) {
                    return Err(err(format!("{child} already exists")));
                }
                self.lives.insert(child, Life::Alive);
                engine.thread_create(thread, child)
            }
            Event::Join { child, .. } | Event::Detach { child, .. } if child == thread => {
                return Err(err(format!("{thread} cannot join or detach itself")));
            }
            Event::Join { child, .. } => {
                if !self.lives.contains_key(&child) {
                    return Err(err(format!("{child} was never created")));
                }
                self.lives.insert(child, Life::Exited);
                engine.thread_join(thread, child)
            }
            Event::Detach { child, .. } => {
                if !self.lives.contains_key(&child) {
                    return Err(err(format!("{child} was never created")));
                }
                engine.thread_detach(child);
                Ok(())
            }
            Event::Exit { .. } => {
                self.lives.insert(thread, Life::Exited);
                engine.thread_exit(thread);
                Ok(())
            }
        };
        result.map_err(|e| err(e.to_string()))?;
        Ok(())
    }
}
