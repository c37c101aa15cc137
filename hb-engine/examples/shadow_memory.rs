//! Prints the shadow memory hb-engine uses per touched 8-byte granule for
//! common access patterns over a 4 MiB region (budget: 32 bytes).
//!
//! Run: `cargo run --release -p hb-engine --example shadow_memory`.

use hb_engine::{AccessKind, AccessRecord, Engine, ThreadId};

const REGION: u64 = 4 << 20;
const BASE: u64 = 0x7f00_0000_0000;

fn measure(name: &str, size: u32, readers: u32) {
    let mut engine = Engine::default();
    let writes: Vec<AccessRecord> = (0..REGION / u64::from(size))
        .map(|i| {
            AccessRecord::new(
                BASE + i * u64::from(size),
                size,
                AccessKind::Write,
                false,
                1,
            )
        })
        .collect();
    engine.access_batch(ThreadId(1), &writes).unwrap();
    for r in 0..readers {
        engine.thread_create(ThreadId(1), ThreadId(r + 2)).unwrap();
    }
    for r in 0..readers {
        let reads: Vec<AccessRecord> = writes
            .iter()
            .map(|w| AccessRecord::new(w.addr, size, AccessKind::Read, false, 2))
            .collect();
        engine.access_batch(ThreadId(r + 2), &reads).unwrap();
    }
    assert!(engine.take_reports().is_empty());
    let stats = engine.stats();
    let granules = REGION / 8;
    println!(
        "{name:<44} {:>6.1} bytes/granule  ({} pages, {} long access sets)",
        stats.shadow_bytes as f64 / granules as f64,
        stats.shadow_pages,
        stats.long_access_sets
    );
}

fn main() {
    measure("8-byte words, one thread", 8, 0);
    measure("8-byte words, written then read by 1 thread", 8, 1);
    measure("8-byte words, read-shared by 3 threads", 8, 3);
    measure("4-byte ints, one thread", 4, 0);
    measure("1-byte chars, one thread", 1, 0);
}
