//! Access-checking throughput of hb-engine, one core.
//!
//! - `same_epoch`: one thread re-touching 4096 words it already touched in
//!   this epoch: the fast path (target >= 100 M accesses/s).
//! - `mixed`: 8 threads interleaved in batches of 256 accesses; each batch
//!   mixes private words, read-shared words and words guarded by one of 4
//!   mutexes (target >= 25 M accesses/s).
//! - `slow_path_words` / `slow_path_u16`: the engine's slow path alone: one
//!   thread re-touching 4096 words (or 16384 `u16`s) after a release, so
//!   every access is the first of its epoch and reaches the shadow memory
//!   (what a compressor does with its tables after each job hand-off).
//! - `inline_check`: the check translated code makes before recording an
//!   access (dbi's `InlineFilter`, in its Rust equivalent: a lookup of the
//!   engine's same-epoch table for the thread's tag, as `same_epoch`'s
//!   records would meet it): what a covered access costs when nothing
//!   reaches the engine.
//!
//! Run: `cargo bench -p hb-engine --bench access`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hb_engine::{AccessKind, AccessRecord, Engine, ThreadId};

const WORDS: u64 = 4096;

fn same_epoch(c: &mut Criterion) {
    let records: Vec<AccessRecord> = (0..WORDS)
        .map(|i| {
            let kind = if i % 4 == 0 {
                AccessKind::Write
            } else {
                AccessKind::Read
            };
            AccessRecord::new(0x10_0000 + 8 * i, 8, kind, false, i as u32)
        })
        .collect();
    let mut engine = Engine::default();
    let t = ThreadId(1);
    // First pass: writes first, so later reads and writes are same-epoch duplicates.
    let writes: Vec<AccessRecord> = records
        .iter()
        .map(|r| AccessRecord::new(r.addr, 8, AccessKind::Write, false, r.site))
        .collect();
    engine.access_batch(t, &writes).unwrap();
    let mut group = c.benchmark_group("access");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("same_epoch", |b| {
        b.iter(|| engine.access_batch(t, black_box(&records)).unwrap())
    });
    group.finish();
}

/// The inline check over `same_epoch`'s records: every one is covered.
fn inline_check(c: &mut Criterion) {
    let mut engine = Engine::default();
    let t = ThreadId(1);
    let writes: Vec<AccessRecord> = (0..WORDS)
        .map(|i| AccessRecord::new(0x10_0000 + 8 * i, 8, AccessKind::Write, false, i as u32))
        .collect();
    engine.access_batch(t, &writes).unwrap();
    let accesses: Vec<(u64, bool)> = (0..WORDS)
        .map(|i| (0x10_0000 + 8 * i, i % 4 == 0))
        .collect();
    let mut group = c.benchmark_group("access");
    group.throughput(Throughput::Elements(WORDS));
    group.bench_function("inline_check", |b| {
        b.iter(|| {
            let view = engine.redundancy(t).expect("a known thread");
            let covered = black_box(&accesses)
                .iter()
                .filter(|&&(addr, write)| view.covers(addr, 8, write))
                .count();
            assert_eq!(covered as u64, WORDS);
        })
    });
    group.finish();
}

/// One round: each of 8 threads runs one batch, then a lock hand-off.
struct Mixed {
    engine: Engine,
    batches: Vec<Vec<AccessRecord>>,
}

const THREADS: u32 = 8;
const BATCH: usize = 256;

impl Mixed {
    fn new() -> Mixed {
        let mut engine = Engine::default();
        // Initialise the shared read-only words before the threads start.
        let init: Vec<AccessRecord> = (0..128)
            .map(|i| AccessRecord::new(0x20_0000 + 4 * i, 4, AccessKind::Write, false, 1))
            .collect();
        engine.access_batch(ThreadId(1), &init).unwrap();
        for t in 2..=THREADS + 1 {
            engine.thread_create(ThreadId(1), ThreadId(t)).unwrap();
        }
        let mut batches = Vec::new();
        for t in 0..u64::from(THREADS) {
            let mut batch = Vec::with_capacity(BATCH);
            for i in 0..BATCH as u64 {
                let site = (t * 1000 + i) as u32;
                let record = match i % 8 {
                    // private words, read and written
                    0..=3 => {
                        let kind = if i % 2 == 0 {
                            AccessKind::Write
                        } else {
                            AccessKind::Read
                        };
                        AccessRecord::new(
                            0x100_0000 * (t + 1) + 8 * (i * 7 % 512),
                            8,
                            kind,
                            false,
                            site,
                        )
                    }
                    // read-shared 4-byte words (an int array)
                    4 | 5 => AccessRecord::new(
                        0x20_0000 + 4 * (i % 128),
                        4,
                        AccessKind::Read,
                        false,
                        site,
                    ),
                    // lock-protected words (the lock is taken around the batch)
                    _ => {
                        let kind = if i % 3 == 0 {
                            AccessKind::Write
                        } else {
                            AccessKind::Read
                        };
                        AccessRecord::new(
                            0x30_0000 + 0x1000 * (t % 4) + 8 * (i % 64),
                            8,
                            kind,
                            false,
                            site,
                        )
                    }
                };
                batch.push(record);
            }
            batches.push(batch);
        }
        Mixed { engine, batches }
    }

    fn round(&mut self) {
        for t in 0..THREADS {
            let tid = ThreadId(t + 2);
            let lock = 0x40_0000 + u64::from(t % 4) * 64;
            self.engine.mutex_lock(tid, lock, false, 1).unwrap();
            self.engine
                .access_batch(tid, &self.batches[t as usize])
                .unwrap();
            self.engine.mutex_unlock(tid, lock, 2).unwrap();
        }
    }
}

fn mixed(c: &mut Criterion) {
    let mut mixed = Mixed::new();
    mixed.round();
    assert!(
        mixed.engine.take_reports().is_empty(),
        "the mixed workload is race free"
    );
    let mut group = c.benchmark_group("access");
    group.throughput(Throughput::Elements(u64::from(THREADS) * BATCH as u64));
    group.bench_function("mixed", |b| b.iter(|| mixed.round()));
    group.finish();
    assert!(
        mixed.engine.take_reports().is_empty(),
        "the mixed workload is race free"
    );
}

/// One thread writes `count` accesses of `size` bytes, then releases (a new
/// epoch): every access of the next round misses the same-epoch filter.
fn slow_path(c: &mut Criterion, name: &str, size: u32, count: u64) {
    let records: Vec<AccessRecord> = (0..count)
        .map(|i| {
            AccessRecord::new(
                0x10_0000 + u64::from(size) * i,
                size,
                AccessKind::Write,
                false,
                i as u32,
            )
        })
        .collect();
    let mut engine = Engine::default();
    let t = ThreadId(1);
    let mut round = || {
        engine.access_batch(t, black_box(&records)).unwrap();
        engine.release(t, 0x90_0000).unwrap();
    };
    round();
    let mut group = c.benchmark_group("access");
    group.throughput(Throughput::Elements(count));
    group.bench_function(name, |b| b.iter(&mut round));
    group.finish();
}

fn slow_path_words(c: &mut Criterion) {
    slow_path(c, "slow_path_words", 8, WORDS);
}

fn slow_path_u16(c: &mut Criterion) {
    slow_path(c, "slow_path_u16", 2, 4 * WORDS);
}

criterion_group!(
    benches,
    same_epoch,
    inline_check,
    mixed,
    slow_path_words,
    slow_path_u16
);
criterion_main!(benches);
