//! hb-engine: happens-before race detection over an abstract event stream.
//!
//! Pure and deterministic: no I/O, no x86, no OS, no wall clock. Callers
//! (the race tool, `hbgrind analyze`, tests) hand it accesses and
//! synchronisation events in one global order and take `Report`s out.
//! The algorithms are described in papers/fasttrack.md and the trace format
//! in `trace`.
#![forbid(unsafe_code)]

mod engine; // Engine: events in, reports out; the only entry point
mod epoch; // Epoch, ThreadSlot, ThreadId: one thread's logical time
mod filter; // AccessFilter: same-epoch accesses skip the shadow memory
mod lock_order; // LockOrderGraph: potential deadlocks
mod report; // Race, LockOrderViolation, Misuse: what the user is told
mod shadow; // ShadowCell, ShadowMemory: the accesses each byte remembers
mod threads; // ThreadTable: create, join, slot reuse
pub mod trace; // the text event-trace format, for tests and replays
mod vector_clock; // VectorClock: join, happens-before

pub use crate::engine::{AccessRecord, Engine, EngineConfig, EngineStats, MemoryOrder, Redundancy};
pub use crate::epoch::{ThreadId, ThreadSlot};
pub use crate::report::{
    Access, AccessKind, LockOrderEdge, LockOrderViolation, Misuse, MisuseKind, Race, Report,
};
pub use crate::threads::EngineError;
