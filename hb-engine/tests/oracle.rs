//! The engine against a brute-force oracle on random traces.
//!
//! The oracle builds the happens-before graph of a trace explicitly (program
//! order, create, join, lock and rwlock hand-offs, release/acquire
//! annotations, C11 atomics with release sequences and fences), takes its
//! transitive closure, and calls a byte racy when two accesses to it in the
//! same life of the memory (no free, alloc, clean, ignore in between),
//! at least one a write and not both atomic, are unordered. The engine must
//! find exactly the same racy bytes: FastTrack promises the first race on
//! every byte, so the sets match although later races may go unreported.
//!
//! Traces are made by interpreting random bytes against a model of thread
//! and lock state, so every trace is well formed (locks released by their
//! holder, no event after exit), and proptest shrinks them as byte strings.

use std::collections::{BTreeSet, HashMap};

use hb_engine::trace::{replay, AtomicOp, Event, LockOp, RangeOp};
use hb_engine::{AccessKind, Engine, EngineConfig, MemoryOrder, Report, ThreadId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const DATA: u64 = 0x1000; // accesses and atomics live in [DATA, DATA + 24)
const DATA_LEN: u64 = 24;
const MUTEXES: [u64; 2] = [0x5000, 0x5008];
const RWLOCK: u64 = 0x6000;
const ANNOTATIONS: [u64; 2] = [0x7000, 0x7008];
const BARRIERS: [u64; 2] = [0x8000, 0x8008];
const MAX_EVENTS: usize = 120;
const MAX_THREADS: u32 = 8;

#[derive(Clone, Copy, PartialEq)]
enum Life {
    Alive,
    Exited,
    Joined,
}

/// Turns random bytes into a well-formed trace.
fn generate(choices: &[(u8, u8, u8, u8)]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut lives: Vec<Life> = vec![Life::Alive]; // T1 = index 0
    let mut mutex_owner: [Option<usize>; 2] = [None, None];
    let mut rw_writer: Option<usize> = None;
    let mut rw_readers: Vec<usize> = Vec::new();
    let orders = [
        MemoryOrder::Relaxed,
        MemoryOrder::Acquire,
        MemoryOrder::Release,
        MemoryOrder::AcqRel,
        MemoryOrder::SeqCst,
    ];
    let sizes = [1u64, 2, 4, 8, 8, 16];
    let tid = |i: usize| ThreadId(i as u32 + 1);
    for &(what, a, b, c) in choices {
        if events.len() >= MAX_EVENTS {
            break;
        }
        let alive: Vec<usize> = (0..lives.len())
            .filter(|&i| lives[i] == Life::Alive)
            .collect();
        let t = alive[a as usize % alive.len()];
        let thread = tid(t);
        let size = sizes[b as usize % sizes.len()];
        let addr = DATA + u64::from(c) % (DATA_LEN - size + 1);
        let atomic_addr = DATA + 8 * (u64::from(c) % 3);
        let atomic_size = if b % 2 == 0 { 4 } else { 8 };
        let order = orders[b as usize % orders.len()];
        let site = Some(u32::from(what) << 8 | u32::from(b));
        if what % 20 == 19 && b % 4 == 0 {
            // A barrier round: every live thread arrives, one after the
            // other, before any of them does anything else.
            if events.len() + alive.len() + 1 > MAX_EVENTS {
                continue;
            }
            let addr = BARRIERS[c as usize % 2];
            let count = alive.len() as u32;
            events.push(Event::BarrierInit {
                thread,
                addr,
                count,
            });
            for k in 0..alive.len() {
                let waiter = tid(alive[(k + a as usize) % alive.len()]);
                events.push(Event::BarrierWait {
                    thread: waiter,
                    addr,
                    site,
                });
            }
            continue;
        }
        let event = match what % 20 {
            0..=4 => Event::Access {
                thread,
                kind: AccessKind::Read,
                addr,
                size,
                site,
            },
            5..=8 => Event::Access {
                thread,
                kind: AccessKind::Write,
                addr,
                size,
                site,
            },
            9 => {
                let op = [AtomicOp::Load, AtomicOp::Store, AtomicOp::Rmw][c as usize % 3];
                Event::Atomic {
                    thread,
                    op,
                    addr: atomic_addr,
                    size: atomic_size,
                    order,
                    site,
                }
            }
            10 => Event::Fence { thread, order },
            11 => {
                let m = b as usize % 2;
                match mutex_owner[m] {
                    None => {
                        mutex_owner[m] = Some(t);
                        let op = if c % 4 == 0 {
                            LockOp::TryLock
                        } else {
                            LockOp::Lock
                        };
                        Event::Lock {
                            thread,
                            op,
                            addr: MUTEXES[m],
                            site,
                        }
                    }
                    Some(owner) if owner == t => {
                        mutex_owner[m] = None;
                        Event::Lock {
                            thread,
                            op: LockOp::Unlock,
                            addr: MUTEXES[m],
                            site,
                        }
                    }
                    Some(_) => continue,
                }
            }
            12 => {
                if rw_writer == Some(t) {
                    rw_writer = None;
                    Event::Lock {
                        thread,
                        op: LockOp::RwUnlock,
                        addr: RWLOCK,
                        site,
                    }
                } else if let Some(pos) = rw_readers.iter().position(|&r| r == t) {
                    rw_readers.remove(pos);
                    Event::Lock {
                        thread,
                        op: LockOp::RwUnlock,
                        addr: RWLOCK,
                        site,
                    }
                } else if rw_writer.is_none() && b % 2 == 0 {
                    rw_readers.push(t);
                    let op = if c % 3 == 0 {
                        LockOp::TryRdLock
                    } else {
                        LockOp::RdLock
                    };
                    Event::Lock {
                        thread,
                        op,
                        addr: RWLOCK,
                        site,
                    }
                } else if rw_writer.is_none() && rw_readers.is_empty() {
                    rw_writer = Some(t);
                    let op = if c % 3 == 0 {
                        LockOp::TryWrLock
                    } else {
                        LockOp::WrLock
                    };
                    Event::Lock {
                        thread,
                        op,
                        addr: RWLOCK,
                        site,
                    }
                } else {
                    continue;
                }
            }
            13 => Event::Release {
                thread,
                addr: ANNOTATIONS[b as usize % 2],
            },
            14 => Event::Acquire {
                thread,
                addr: ANNOTATIONS[b as usize % 2],
            },
            15 | 16 => {
                if lives.len() as u32 >= MAX_THREADS || alive.len() >= 6 {
                    continue;
                }
                lives.push(Life::Alive);
                Event::Create {
                    thread,
                    child: tid(lives.len() - 1),
                }
            }
            17 => {
                let holds = mutex_owner.contains(&Some(t))
                    || rw_writer == Some(t)
                    || rw_readers.contains(&t);
                if t == 0 || holds {
                    continue;
                }
                lives[t] = Life::Exited;
                Event::Exit { thread }
            }
            18 => {
                let exited: Vec<usize> = (0..lives.len())
                    .filter(|&i| lives[i] == Life::Exited)
                    .collect();
                if exited.is_empty() {
                    continue;
                }
                let child = exited[b as usize % exited.len()];
                lives[child] = Life::Joined;
                Event::Join {
                    thread,
                    child: tid(child),
                }
            }
            _ => {
                let op = [
                    RangeOp::Free,
                    RangeOp::Alloc,
                    RangeOp::Clean,
                    RangeOp::Ignore,
                    RangeOp::Unignore,
                ][b as usize % 5];
                let len = u64::from(c % 12) + 1;
                let start = DATA + u64::from(a) % (DATA_LEN - len + 1);
                Event::Range {
                    thread,
                    op,
                    addr: start,
                    len,
                }
            }
        };
        events.push(event);
    }
    events
}

/// Bytes with a race according to the explicit happens-before graph.
fn oracle_racy_bytes(events: &[Event]) -> BTreeSet<u64> {
    let n = events.len();
    assert!(n <= 128, "u128 bitsets hold at most 128 events");
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut last_of: HashMap<ThreadId, usize> = HashMap::new();
    let mut created_at: HashMap<ThreadId, usize> = HashMap::new();
    // Sync objects: nodes that released into `clock` / `read_clock`.
    let mut releases: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut read_releases: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut held_mode: HashMap<(ThreadId, u64), bool> = HashMap::new(); // true = exclusive
                                                                        // Atomics: the nodes whose clocks the location carries.
    let mut location: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut last_release_fence: HashMap<ThreadId, usize> = HashMap::new();
    let mut pending_acquire: HashMap<ThreadId, Vec<usize>> = HashMap::new();
    // Barriers: (count, arrivals of the current round); and for each
    // thread, the arrivals its next event must come after.
    let mut barriers: HashMap<u64, (u32, Vec<usize>)> = HashMap::new();
    let mut after_barrier: HashMap<ThreadId, Vec<usize>> = HashMap::new();

    for (i, event) in events.iter().enumerate() {
        let t = event.thread();
        match last_of.get(&t) {
            Some(&p) => preds[i].push(p),
            None => {
                if let Some(&c) = created_at.get(&t) {
                    preds[i].push(c);
                }
            }
        }
        last_of.insert(t, i);
        if let Some(arrivals) = after_barrier.remove(&t) {
            preds[i].extend(arrivals);
        }
        match *event {
            Event::BarrierInit { addr, count, .. } => {
                barriers.insert(addr, (count, Vec::new()));
            }
            Event::BarrierWait { addr, .. } => {
                let (count, arrivals) = barriers
                    .get_mut(&addr)
                    .expect("generated barriers are initialised");
                arrivals.push(i);
                if arrivals.len() as u32 == *count {
                    let round = std::mem::take(arrivals);
                    for &a in &round {
                        after_barrier
                            .entry(events[a].thread())
                            .or_default()
                            .extend(&round);
                    }
                }
            }
            Event::Create { child, .. } => {
                created_at.insert(child, i);
            }
            Event::Join { child, .. } => {
                if let Some(&l) = last_of.get(&child) {
                    preds[i].push(l);
                }
            }
            Event::Lock { op, addr, .. } => match op {
                LockOp::Lock | LockOp::TryLock | LockOp::WrLock | LockOp::TryWrLock => {
                    preds[i].extend(releases.get(&addr).into_iter().flatten());
                    preds[i].extend(read_releases.get(&addr).into_iter().flatten());
                    held_mode.insert((t, addr), true);
                }
                LockOp::RdLock | LockOp::TryRdLock => {
                    preds[i].extend(releases.get(&addr).into_iter().flatten());
                    held_mode.insert((t, addr), false);
                }
                LockOp::Unlock | LockOp::RwUnlock => {
                    let exclusive = held_mode.remove(&(t, addr)).unwrap_or(true);
                    let target = if exclusive {
                        &mut releases
                    } else {
                        &mut read_releases
                    };
                    target.entry(addr).or_default().push(i);
                }
            },
            Event::Release { addr, .. } => releases.entry(addr).or_default().push(i),
            Event::Acquire { addr, .. } => {
                preds[i].extend(releases.get(&addr).into_iter().flatten());
                preds[i].extend(read_releases.get(&addr).into_iter().flatten());
            }
            Event::Atomic {
                op, addr, order, ..
            } => {
                let published = location.get(&addr).cloned().unwrap_or_default();
                if op != AtomicOp::Store {
                    if order.acquires() {
                        preds[i].extend(&published);
                    } else {
                        pending_acquire.entry(t).or_default().extend(&published);
                    }
                }
                if op != AtomicOp::Load {
                    let mine: Vec<usize> = if order.releases() {
                        vec![i]
                    } else {
                        last_release_fence.get(&t).copied().into_iter().collect()
                    };
                    let carried = location.entry(addr).or_default();
                    if op == AtomicOp::Store {
                        carried.clear();
                    }
                    carried.extend(mine);
                }
            }
            Event::Fence { order, .. } => {
                if order.acquires() {
                    preds[i].extend(pending_acquire.get(&t).into_iter().flatten());
                }
                if order.releases() {
                    last_release_fence.insert(t, i);
                }
            }
            Event::Range {
                op: RangeOp::Free | RangeOp::Alloc,
                addr,
                len,
                ..
            } => {
                location.retain(|&k, _| !(addr..addr + len).contains(&k));
            }
            _ => {}
        }
    }

    // reach[i]: the events that happen before event i.
    let mut reach = vec![0u128; n];
    for i in 0..n {
        let mut r = 0u128;
        for &p in &preds[i] {
            assert!(p < i, "edges go forward in the trace");
            r |= reach[p] | (1u128 << p);
        }
        reach[i] = r;
    }

    // Per byte: the accesses of its current life, as (event, write, atomic).
    let mut history: HashMap<u64, Vec<(usize, bool, bool)>> = HashMap::new();
    let mut ignored: BTreeSet<u64> = BTreeSet::new();
    let mut racy = BTreeSet::new();
    for (j, event) in events.iter().enumerate() {
        let (addr, size, write, atomic) = match *event {
            Event::Access {
                kind, addr, size, ..
            } => (addr, size, kind == AccessKind::Write, false),
            Event::Atomic { op, addr, size, .. } => (addr, size, op != AtomicOp::Load, true),
            Event::Range { op, addr, len, .. } => {
                for b in addr..addr + len {
                    history.remove(&b);
                    match op {
                        RangeOp::Ignore => {
                            ignored.insert(b);
                        }
                        // Clean makes memory new, as Helgrind's CLEAN_MEMORY does.
                        RangeOp::Unignore | RangeOp::Free | RangeOp::Alloc | RangeOp::Clean => {
                            ignored.remove(&b);
                        }
                    }
                }
                continue;
            }
            _ => continue,
        };
        for b in addr..addr + size {
            if ignored.contains(&b) {
                continue;
            }
            let past = history.entry(b).or_default();
            for &(i, w, a) in past.iter() {
                let conflict = (w || write) && !(a && atomic);
                if conflict && reach[j] & (1u128 << i) == 0 {
                    racy.insert(b);
                }
            }
            past.push((j, write, atomic));
        }
    }
    racy
}

fn engine_racy_bytes(events: &[Event]) -> BTreeSet<u64> {
    let numbered: Vec<(usize, Event)> = events
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .collect();
    let mut engine = Engine::new(EngineConfig {
        report_every_conflict: true,
        // A small table, so that granules collide and big ranges
        // take the fresh-tags path (filter.rs).
        filter_slots_log2: 6,
    });
    replay(&mut engine, &numbered).expect("generated traces are well formed");
    let mut racy = BTreeSet::new();
    for report in engine.take_reports() {
        if let Report::Race(race) = report {
            racy.extend(race.racy_addr..race.racy_addr + race.racy_len);
        }
    }
    racy
}

/// What translated code's inline check (dbi's `InlineFilter`, record.rs)
/// answers for a plain access, reading the engine's table as it does:
/// the granule's slot holds the granule and the thread's tag, and the
/// bytes are in the write mask (a write) or either mask (a read); accesses
/// other than 1, 2, 4 or 8 bytes inside one granule never hit.
fn inline_hit(engine: &Engine, tid: ThreadId, addr: u64, size: u64, write: bool) -> bool {
    let off = addr & 7;
    if !matches!(size, 1 | 2 | 4 | 8) || off + size > 8 {
        return false;
    }
    let table = engine.filter_table();
    let slots = (table.len() / 2) as u64;
    let granule = addr >> 3;
    let i = 2 * (granule & (slots - 1)) as usize;
    let tag = engine.filter_epoch(tid).unwrap_or(0);
    let word = table[i + 1] ^ (tag << 16);
    if table[i] != granule || word > 0xffff {
        return false;
    }
    let have = if write { word >> 8 } else { word | word >> 8 } as u8;
    let need = (((1u16 << size) - 1) << off) as u8;
    have & need == need
}

/// The reports of `events` replayed with every plain access the inline
/// check covers left out, as translated code leaves it out.
fn reports_with_inline_check(events: &[Event], config: EngineConfig) -> (Vec<Report>, usize) {
    let mut engine = Engine::new(config);
    let mut replayer = hb_engine::trace::Replayer::default();
    let mut hits = 0;
    for (i, e) in events.iter().enumerate() {
        if let Event::Access {
            thread,
            kind,
            addr,
            size,
            ..
        } = *e
        {
            let write = kind == AccessKind::Write;
            if inline_hit(&engine, thread, addr, size, write) {
                let covered = engine
                    .redundancy(thread)
                    .is_some_and(|r| r.covers(addr, size, write));
                assert!(covered, "an inline hit the engine would check: {e}");
                hits += 1;
                continue;
            }
        }
        replayer
            .event(&mut engine, i + 1, e)
            .expect("generated traces are well formed");
    }
    (engine.take_reports(), hits)
}

fn reports_of(events: &[Event], config: EngineConfig) -> Vec<Report> {
    let mut engine = Engine::new(config);
    let numbered: Vec<(usize, Event)> = events
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .collect();
    replay(&mut engine, &numbered).expect("generated traces are well formed");
    engine.take_reports()
}

fn trace_text(events: &[Event]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn engine_finds_exactly_the_racy_bytes_of_the_oracle(
        choices in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..200)
    ) {
        let events = generate(&choices);
        let expected = oracle_racy_bytes(&events);
        let found = engine_racy_bytes(&events);
        prop_assert_eq!(found, expected, "trace:\n{}", trace_text(&events));
    }

    /// The fast path (translated code's inline check, leaving out what it
    /// covers) and the slow path (every access to the engine) report the
    /// same races, in the same order, with both default deduplication and
    /// every conflict reported.
    #[test]
    fn the_inline_check_leaves_the_reports_unchanged(
        choices in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..200),
        every in any::<bool>(),
    ) {
        let events = generate(&choices);
        let config = || EngineConfig {
            report_every_conflict: every,
            filter_slots_log2: 6,
        };
        let slow = reports_of(&events, config());
        let (fast, _) = reports_with_inline_check(&events, config());
        prop_assert_eq!(fast, slow, "trace:\n{}", trace_text(&events));
    }

    #[test]
    fn printed_traces_parse_back_to_themselves(
        choices in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..100)
    ) {
        let events = generate(&choices);
        let text = trace_text(&events);
        let parsed: Vec<Event> = hb_engine::trace::parse(&text).unwrap().into_iter().map(|(_, e)| e).collect();
        prop_assert_eq!(parsed, events);
    }
}

/// The inline check leaves out some of the generated accesses (about 3%:
/// they are mostly unaligned, of up to 16 bytes, by up to 8 threads), so
/// the property above compares something.
#[test]
fn the_inline_check_hits_in_generated_traces() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..200);
    let (mut hits, mut accesses) = (0, 0);
    for _ in 0..300 {
        let events = generate(&strategy.new_tree(&mut runner).unwrap().current());
        accesses += events
            .iter()
            .filter(|e| matches!(e, Event::Access { .. }))
            .count();
        hits += reports_with_inline_check(&events, EngineConfig::default()).1;
    }
    assert!(hits * 100 > accesses, "{hits} hits of {accesses} accesses");
}

/// Random traces race often enough to test both answers.
#[test]
fn generated_traces_have_races_and_race_free_cases() {
    let mut with = 0;
    let mut without = 0;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 1..200);
    for _ in 0..300 {
        let choices = strategy.new_tree(&mut runner).unwrap().current();
        if oracle_racy_bytes(&generate(&choices)).is_empty() {
            without += 1;
        } else {
            with += 1;
        }
    }
    assert!(
        with > 30 && without > 15,
        "with races: {with}, without: {without}"
    );
}
