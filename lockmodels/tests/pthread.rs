//! The pthread model drives the engine as the real calls would.

use std::collections::{HashMap, HashSet};

use hb_engine::{Engine, Report, ThreadId};
use lockmodels::{apply, held_changes, pthread, Call, Operand, ThreadLookup};

/// The pthread_t map and the held locks, as the race tool keeps them.
struct Threads(HashMap<u64, ThreadId>, HashSet<u64>);

impl ThreadLookup for Threads {
    fn thread_of(&self, pthread: u64) -> Option<ThreadId> {
        self.0.get(&pthread).copied()
    }
    fn is_held(&self, lock: u64) -> bool {
        self.1.contains(&lock)
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
        let threads = Threads(HashMap::from([(0x2000, T2), (0x3000, T3)]), HashSet::new());
        Sim { engine, threads }
    }

    /// A whole call: entry, then exit returning `ret`.
    fn call(&mut self, thread: ThreadId, symbol: &str, args: &[u64], ret: u64) {
        self.enter(thread, symbol, args);
        self.exit(thread, symbol, args, ret);
    }

    fn enter(&mut self, thread: ThreadId, symbol: &str, args: &[u64]) {
        self.apply(thread, symbol, args, None, 7);
    }

    fn exit(&mut self, thread: ThreadId, symbol: &str, args: &[u64], ret: u64) {
        self.apply(thread, symbol, args, Some(ret), 8);
    }

    fn apply(&mut self, thread: ThreadId, symbol: &str, args: &[u64], ret: Option<u64>, site: u32) {
        let f = pthread().function(symbol).expect("modelled");
        let call = Call {
            thread,
            args,
            ret,
            site,
        };
        apply(&mut self.engine, f, &call, &self.threads).unwrap();
        for (lock, held) in held_changes(f, &call, &self.threads).collect::<Vec<_>>() {
            if held {
                self.threads.1.insert(lock);
            } else {
                self.threads.1.remove(&lock);
            }
        }
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
    for f in &pthread().functions {
        assert!(seen.insert(&f.symbol), "{} listed twice", f.symbol);
        assert!(!f.effects.is_empty(), "{} has no effect", f.symbol);
    }
}

// ---- one scenario per modelled function ---------------------------------
//
// `covered` lists the symbols the scenarios below exercise; the last test
// checks that it names every function of the model, so a new entry in
// `pthread.model` without a scenario fails.

const EBUSY: u64 = 16;

/// T2 publishes `X` with `release` (a whole call), T3 takes it with
/// `acquire` returning `ret`, then writes `X`: the race pairs found.
fn handoff(release: (&str, &[u64]), acquire: (&str, &[u64]), ret: u64) -> Vec<(u32, u32)> {
    let mut s = Sim::new();
    s.write(T2, X, 1);
    s.call(T2, release.0, release.1, 0);
    s.call(T3, acquire.0, acquire.1, ret);
    s.write(T3, X, 2);
    s.races()
}

const LOCKS: &[(&str, &str)] = &[
    ("pthread_mutex_lock", "pthread_mutex_unlock"),
    ("pthread_mutex_timedlock", "pthread_mutex_unlock"),
    ("pthread_mutex_clocklock", "pthread_mutex_unlock"),
    ("pthread_mutex_trylock", "pthread_mutex_unlock"),
    ("pthread_spin_lock", "pthread_spin_unlock"),
    ("pthread_spin_trylock", "pthread_spin_unlock"),
];

#[test]
fn every_lock_function_orders_critical_sections_only_when_it_succeeds() {
    for &(lock, unlock) in LOCKS {
        let mut s = Sim::new();
        s.call(T2, lock, &[M], 0);
        s.write(T2, X, 1);
        s.call(T2, unlock, &[M], 0);
        s.call(T3, lock, &[M], 0);
        s.write(T3, X, 2);
        s.call(T3, unlock, &[M], 0);
        assert_eq!(s.races(), [], "{lock}");
        assert!(s.engine.take_reports().is_empty(), "{lock}: no misuse");

        let mut s = Sim::new();
        s.call(T2, lock, &[M], 0);
        s.write(T2, X, 1);
        s.call(T2, unlock, &[M], 0);
        s.call(T3, lock, &[M], EBUSY);
        s.write(T3, X, 2);
        assert_eq!(s.races(), [(2, 1)], "{lock} failing");
    }
}

#[test]
fn unlocking_a_lock_nobody_holds_is_misuse() {
    let mut s = Sim::new();
    s.call(T2, "pthread_mutex_unlock", &[M], 0);
    let reports = s.engine.take_reports();
    assert!(
        matches!(
            reports.as_slice(),
            [Report::Misuse(m)] if m.kind == hb_engine::MisuseKind::UnlockUnlocked
        ),
        "{reports:?}"
    );
}

#[test]
fn every_rwlock_function() {
    let readers = [
        "pthread_rwlock_rdlock",
        "pthread_rwlock_timedrdlock",
        "pthread_rwlock_clockrdlock",
        "pthread_rwlock_tryrdlock",
    ];
    let writers = [
        "pthread_rwlock_wrlock",
        "pthread_rwlock_timedwrlock",
        "pthread_rwlock_clockwrlock",
        "pthread_rwlock_trywrlock",
    ];
    const L: u64 = 0x7000;
    for lock in readers.iter().chain(&writers) {
        for (ret, expected) in [(0, vec![]), (EBUSY, vec![(2, 1)])] {
            let mut s = Sim::new();
            s.call(T2, "pthread_rwlock_wrlock", &[L], 0);
            s.write(T2, X, 1);
            s.call(T2, "pthread_rwlock_unlock", &[L], 0);
            s.call(T3, lock, &[L], ret);
            s.write(T3, X, 2);
            assert_eq!(s.races(), expected, "{lock} returning {ret}");
        }
    }
    // Two readers do not order each other's writes.
    let mut s = Sim::new();
    s.call(T2, "pthread_rwlock_rdlock", &[L], 0);
    s.write(T2, X, 1);
    s.call(T2, "pthread_rwlock_unlock", &[L], 0);
    s.call(T3, "pthread_rwlock_rdlock", &[L], 0);
    s.write(T3, X, 2);
    assert_eq!(s.races(), [(2, 1)]);
}

#[test]
fn every_condvar_wait_learns_from_signal_and_broadcast() {
    for wait in [
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "pthread_cond_clockwait",
    ] {
        for signal in ["pthread_cond_signal", "pthread_cond_broadcast"] {
            let mut s = Sim::new();
            s.call(T3, "pthread_mutex_lock", &[M], 0);
            s.enter(T3, wait, &[CV, M, 0]);
            s.write(T2, X, 1);
            s.call(T2, signal, &[CV], 0);
            s.exit(T3, wait, &[CV, M, 0], 0);
            s.write(T3, X, 2);
            s.call(T3, "pthread_mutex_unlock", &[M], 0);
            assert_eq!(s.races(), [], "{wait} after {signal}");
            assert!(s.engine.take_reports().is_empty(), "{wait}: no misuse");
        }
    }
}

#[test]
fn every_semaphore_wait_learns_from_post_when_it_succeeds() {
    const S: u64 = 0x6000;
    for wait in ["sem_wait", "sem_trywait", "sem_timedwait", "sem_clockwait"] {
        assert_eq!(handoff(("sem_post", &[S]), (wait, &[S]), 0), [], "{wait}");
        let failed = u64::from(u32::MAX); // -1 as a C int
        assert_eq!(
            handoff(("sem_post", &[S]), (wait, &[S]), failed),
            [(2, 1)],
            "{wait} failing"
        );
    }
}

#[test]
fn init_and_destroy_forget_what_an_object_carried() {
    const S: u64 = 0x6000;
    for (post, wait, reset) in [
        ("sem_post", "sem_wait", "sem_init"),
        ("sem_post", "sem_wait", "sem_destroy"),
        ("pthread_cond_signal", "sem_wait", "pthread_cond_init"),
        ("pthread_cond_signal", "sem_wait", "pthread_cond_destroy"),
    ] {
        let mut s = Sim::new();
        s.write(T2, X, 1);
        s.call(T2, post, &[S], 0);
        s.call(T1, reset, &[S, 0, 0], 0);
        s.call(T3, wait, &[S], 0);
        s.write(T3, X, 2);
        assert_eq!(s.races(), [(2, 1)], "{reset}");
    }
    for (lock, unlock, reset) in [
        (
            "pthread_mutex_lock",
            "pthread_mutex_unlock",
            "pthread_mutex_init",
        ),
        (
            "pthread_mutex_lock",
            "pthread_mutex_unlock",
            "pthread_mutex_destroy",
        ),
        (
            "pthread_spin_lock",
            "pthread_spin_unlock",
            "pthread_spin_init",
        ),
        (
            "pthread_spin_lock",
            "pthread_spin_unlock",
            "pthread_spin_destroy",
        ),
        (
            "pthread_rwlock_wrlock",
            "pthread_rwlock_unlock",
            "pthread_rwlock_init",
        ),
        (
            "pthread_rwlock_wrlock",
            "pthread_rwlock_unlock",
            "pthread_rwlock_destroy",
        ),
    ] {
        let mut s = Sim::new();
        s.call(T2, lock, &[M], 0);
        s.write(T2, X, 1);
        s.call(T2, unlock, &[M], 0);
        s.call(T1, reset, &[M, 0], 0);
        s.call(T3, lock, &[M], 0);
        s.write(T3, X, 2);
        assert_eq!(s.races(), [(2, 1)], "{reset}");
    }
}

#[test]
fn spin_init_and_unlock_are_one_function_told_apart_by_the_lock_state() {
    // glibc: pthread_spin_init == pthread_spin_unlock; either name may be
    // the one the hook reports.
    for name in ["pthread_spin_init", "pthread_spin_unlock"] {
        let mut s = Sim::new();
        s.call(T1, name, &[M, 0], 0); // not held: an init, no misuse
        assert!(s.engine.take_reports().is_empty(), "{name} as init");
        s.call(T2, "pthread_spin_lock", &[M], 0);
        s.write(T2, X, 1);
        s.call(T2, name, &[M], 0); // held: an unlock
        s.call(T3, "pthread_spin_lock", &[M], 0);
        s.write(T3, X, 2);
        s.call(T3, name, &[M], 0);
        assert_eq!(s.races(), [], "{name} as unlock");
        assert!(s.engine.take_reports().is_empty(), "{name}: no misuse");
    }
}

#[test]
fn destroying_a_held_mutex_is_misuse() {
    let mut s = Sim::new();
    s.call(T2, "pthread_mutex_lock", &[M], 0);
    s.call(T2, "pthread_mutex_destroy", &[M], 0);
    let reports = s.engine.take_reports();
    assert!(
        matches!(
            reports.as_slice(),
            [Report::Misuse(m)] if m.kind == hb_engine::MisuseKind::DestroyLocked
        ),
        "{reports:?}"
    );
}

#[test]
fn a_destroyed_barrier_is_uninitialised() {
    let mut s = Sim::new();
    s.call(T1, "pthread_barrier_init", &[0x8000, 0, 1], 0);
    s.call(T1, "pthread_barrier_destroy", &[0x8000], 0);
    s.call(T2, "pthread_barrier_wait", &[0x8000], 0);
    let reports = s.engine.take_reports();
    assert!(
        matches!(
            reports.as_slice(),
            [Report::Misuse(m)] if m.kind == hb_engine::MisuseKind::BarrierUninitialised
        ),
        "{reports:?}"
    );
}

#[test]
fn every_join_orders_the_child_only_when_it_succeeds() {
    for join in [
        "pthread_join",
        "pthread_timedjoin_np",
        "pthread_clockjoin_np",
        "pthread_tryjoin_np",
    ] {
        for (ret, expected) in [(0, vec![]), (EBUSY, vec![(2, 1)])] {
            let mut s = Sim::new();
            s.write(T2, X, 1);
            if ret == 0 {
                s.engine.thread_exit(T2);
            }
            s.call(T1, join, &[0x2000, 0, 0], ret);
            s.write(T1, X, 2);
            assert_eq!(s.races(), expected, "{join} returning {ret}");
        }
    }
}

#[test]
fn detach_and_create_change_no_order() {
    let mut s = Sim::new();
    s.write(T2, X, 1);
    s.call(T2, "pthread_detach", &[0x2000], 0);
    s.call(T1, "pthread_create", &[0x9000, 0, 0, 0], 0);
    s.write(T3, X, 2);
    assert_eq!(s.races(), [(2, 1)]);
    let create = pthread().function("pthread_create").unwrap();
    assert_eq!(create.spawned_handle(), Some(&Operand::arg(0)));
    assert!(create.has_exit_effects());
    assert!(!pthread()
        .function("pthread_mutex_unlock")
        .unwrap()
        .has_exit_effects());
}

#[test]
fn pthread_once_declares_its_word_atomic() {
    const ONCE: u64 = 0xa000;
    let once = pthread().function("pthread_once").unwrap();
    assert_eq!(once.atomic_word(None), Some(&Operand::arg(0)));
    assert_eq!(once.atomic_word(Some(0)), None);
    assert!(!once.quiet, "the init routine's accesses are checked");
    // What the race tool then does with glibc's movs on the word: T2 runs
    // the routine and marks it done (release), T3 sees it done (acquire).
    let mut s = Sim::new();
    s.enter(T2, "pthread_once", &[ONCE, 0]);
    s.write(T2, X, 1);
    s.engine
        .atomic_store(T2, ONCE, 4, hb_engine::MemoryOrder::Release, 3)
        .unwrap();
    s.enter(T3, "pthread_once", &[ONCE, 0]);
    s.engine
        .atomic_load(T3, ONCE, 4, hb_engine::MemoryOrder::Acquire, 4)
        .unwrap();
    s.exit(T3, "pthread_once", &[ONCE, 0], 0);
    s.exit(T2, "pthread_once", &[ONCE, 0], 0);
    s.write(T3, X, 2);
    assert_eq!(s.races(), []);
}

#[test]
fn every_modelled_function_has_a_scenario() {
    let covered: Vec<&str> = LOCKS
        .iter()
        .flat_map(|&(l, u)| [l, u])
        .chain([
            "pthread_mutex_init",
            "pthread_mutex_destroy",
            "pthread_spin_init",
            "pthread_spin_destroy",
            "pthread_rwlock_init",
            "pthread_rwlock_destroy",
            "pthread_rwlock_rdlock",
            "pthread_rwlock_timedrdlock",
            "pthread_rwlock_clockrdlock",
            "pthread_rwlock_tryrdlock",
            "pthread_rwlock_wrlock",
            "pthread_rwlock_timedwrlock",
            "pthread_rwlock_clockwrlock",
            "pthread_rwlock_trywrlock",
            "pthread_rwlock_unlock",
            "pthread_cond_init",
            "pthread_cond_destroy",
            "pthread_cond_wait",
            "pthread_cond_timedwait",
            "pthread_cond_clockwait",
            "pthread_cond_signal",
            "pthread_cond_broadcast",
            "pthread_barrier_init",
            "pthread_barrier_wait",
            "pthread_barrier_destroy",
            "sem_init",
            "sem_destroy",
            "sem_post",
            "sem_wait",
            "sem_trywait",
            "sem_timedwait",
            "sem_clockwait",
            "pthread_create",
            "pthread_once",
            "pthread_join",
            "pthread_timedjoin_np",
            "pthread_clockjoin_np",
            "pthread_tryjoin_np",
            "pthread_detach",
        ])
        .collect();
    for f in &pthread().functions {
        assert!(
            covered.contains(&f.symbol.as_str()),
            "{} has no scenario",
            f.symbol
        );
    }
}
