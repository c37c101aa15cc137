//! The pthread model drives the engine as the real calls would.

use std::collections::HashMap;

use hb_engine::{Engine, Report, ThreadId};
use lockmodels::{apply, Call, ThreadLookup, PTHREAD};

struct Threads(HashMap<u64, ThreadId>);

impl ThreadLookup for Threads {
    fn thread_of(&self, pthread: u64) -> Option<ThreadId> {
        self.0.get(&pthread).copied()
    }
}

/// Replays hooked calls: `(thread, symbol, args, ret)`; `ret` None = entry.
struct Sim {
    engine: Engine,
    threads: Threads,
}

const T1: ThreadId = ThreadId(1);
const T2: ThreadId = ThreadId(2);
const T3: ThreadId = ThreadId(3);

impl Sim {
    fn new() -> Sim {
        let mut engine = Engine::default();
        engine.thread_create(T1, T2).unwrap();
        engine.thread_create(T1, T3).unwrap();
        let threads = Threads(HashMap::from([(0x2000, T2), (0x3000, T3)]));
        Sim { engine, threads }
    }

    /// A whole call: entry, then exit returning `ret`.
    fn call(&mut self, thread: ThreadId, symbol: &str, args: &[u64], ret: u64) {
        self.enter(thread, symbol, args);
        self.exit(thread, symbol, args, ret);
    }

    fn enter(&mut self, thread: ThreadId, symbol: &str, args: &[u64]) {
        let f = PTHREAD.function(symbol).expect("modelled");
        apply(
            &mut self.engine,
            f,
            &Call {
                thread,
                args,
                ret: None,
                site: 7,
            },
            &self.threads,
        )
        .unwrap();
    }

    fn exit(&mut self, thread: ThreadId, symbol: &str, args: &[u64], ret: u64) {
        let f = PTHREAD.function(symbol).expect("modelled");
        apply(
            &mut self.engine,
            f,
            &Call {
                thread,
                args,
                ret: Some(ret),
                site: 8,
            },
            &self.threads,
        )
        .unwrap();
    }

    fn write(&mut self, thread: ThreadId, addr: u64, site: u32) {
        self.engine.write(thread, addr, 4, site).unwrap();
    }

    fn races(&mut self) -> Vec<(u32, u32)> {
        self.engine
            .take_reports()
            .into_iter()
            .filter_map(|r| match r {
                Report::Race(r) => Some((r.current.site, r.prior.site)),
                _ => None,
            })
            .collect()
    }
}

const M: u64 = 0x5000;
const CV: u64 = 0x5100;
const X: u64 = 0x10;

#[test]
fn mutex_lock_and_unlock_order_critical_sections() {
    let mut s = Sim::new();
    s.call(T2, "pthread_mutex_lock", &[M], 0);
    s.write(T2, X, 1);
    s.call(T2, "pthread_mutex_unlock", &[M], 0);
    s.call(T3, "pthread_mutex_lock", &[M], 0);
    s.write(T3, X, 2);
    s.call(T3, "pthread_mutex_unlock", &[M], 0);
    assert_eq!(s.races(), []);
}

#[test]
fn a_failed_trylock_acquires_nothing() {
    let mut s = Sim::new();
    s.call(T2, "pthread_mutex_lock", &[M], 0);
    s.write(T2, X, 1);
    s.call(T2, "pthread_mutex_unlock", &[M], 0);
    s.call(T3, "pthread_mutex_trylock", &[M], 16); // EBUSY
    s.write(T3, X, 2);
    assert_eq!(s.races(), [(2, 1)]);
}

#[test]
fn condvar_handoff_orders_producer_before_consumer() {
    let mut s = Sim::new();
    // Consumer waits first: enters the wait (releases M) and blocks.
    s.call(T3, "pthread_mutex_lock", &[M], 0);
    s.enter(T3, "pthread_cond_wait", &[CV, M]);
    // Producer fills the slot and signals under the mutex.
    s.call(T2, "pthread_mutex_lock", &[M], 0);
    s.write(T2, X, 1);
    s.call(T2, "pthread_cond_signal", &[CV], 0);
    s.call(T2, "pthread_mutex_unlock", &[M], 0);
    s.exit(T3, "pthread_cond_wait", &[CV, M], 0);
    s.write(T3, X, 2);
    s.call(T3, "pthread_mutex_unlock", &[M], 0);
    assert_eq!(s.races(), []);
    assert!(
        s.engine.take_reports().is_empty(),
        "no misuse: the wait re-took the mutex"
    );
}

#[test]
fn a_timed_out_wait_still_holds_the_mutex_but_learns_nothing_from_the_condvar() {
    let mut s = Sim::new();
    s.write(T2, X, 1);
    s.call(T2, "pthread_cond_signal", &[CV], 0);
    s.call(T3, "pthread_mutex_lock", &[M], 0);
    s.call(T3, "pthread_cond_timedwait", &[CV, M, 0], 110); // ETIMEDOUT
    s.write(T3, X, 2);
    s.call(T3, "pthread_mutex_unlock", &[M], 0);
    assert_eq!(s.races(), [(2, 1)]);
}

#[test]
fn semaphores_post_before_wait() {
    let mut s = Sim::new();
    s.write(T2, X, 1);
    s.call(T2, "sem_post", &[0x6000], 0);
    s.call(T3, "sem_wait", &[0x6000], 0);
    s.write(T3, X, 2);
    assert_eq!(s.races(), []);
}

#[test]
fn rwlock_readers_and_writers() {
    let mut s = Sim::new();
    s.call(T2, "pthread_rwlock_wrlock", &[0x7000], 0);
    s.write(T2, X, 1);
    s.call(T2, "pthread_rwlock_unlock", &[0x7000], 0);
    s.call(T3, "pthread_rwlock_rdlock", &[0x7000], 0);
    s.engine.read(T3, X, 4, 2).unwrap();
    s.call(T3, "pthread_rwlock_unlock", &[0x7000], 0);
    assert_eq!(s.races(), []);
}

#[test]
fn barrier_orders_phases() {
    let mut s = Sim::new();
    s.call(T1, "pthread_barrier_init", &[0x8000, 0, 2], 0);
    s.write(T2, X, 1);
    s.enter(T2, "pthread_barrier_wait", &[0x8000]);
    s.enter(T3, "pthread_barrier_wait", &[0x8000]);
    s.exit(T3, "pthread_barrier_wait", &[0x8000], 0);
    s.exit(T2, "pthread_barrier_wait", &[0x8000], 0);
    s.write(T3, X, 2);
    assert_eq!(s.races(), []);
}

#[test]
fn join_orders_the_child_before_the_joiner() {
    let mut s = Sim::new();
    s.write(T2, X, 1);
    s.engine.thread_exit(T2);
    s.call(T1, "pthread_join", &[0x2000, 0], 0);
    s.write(T1, X, 2);
    assert_eq!(s.races(), []);
}

#[test]
fn every_modelled_symbol_is_listed_once() {
    let mut seen = std::collections::HashSet::new();
    for f in PTHREAD.functions {
        assert!(seen.insert(f.symbol), "{} listed twice", f.symbol);
        assert!(!f.effects.is_empty(), "{} has no effect", f.symbol);
    }
}
