//! The shipped glib and QEMU models drive the engine as the libraries'
//! calls would, nested hooks included: QEMU's wrappers call the pthread
//! function on their first field (the same address), glib's g_cond_wait
//! calls g_mutex_unlock and g_mutex_lock. No report for correct use.

use std::collections::HashSet;

use hb_engine::{Engine, Report, ThreadId};
use lockmodels::{apply, builtin_models, held_changes, Call, LockModel, ThreadLookup};

struct Held(HashSet<u64>);

impl ThreadLookup for Held {
    fn thread_of(&self, _: u64) -> Option<ThreadId> {
        None
    }
    fn is_held(&self, lock: u64) -> bool {
        self.0.contains(&lock)
    }
    fn symbol(&self, name: &str) -> Option<u64> {
        (name == "rcu_gp_event").then_some(RCU_GP_EVENT)
    }
}

struct Sim {
    engine: Engine,
    held: Held,
    model: LockModel,
}

const T2: ThreadId = ThreadId(2);
const T3: ThreadId = ThreadId(3);
const M: u64 = 0x5000;
const CV: u64 = 0x5100;
const X: u64 = 0x10;
const RCU_GP_EVENT: u64 = 0x7000;

impl Sim {
    fn new() -> Sim {
        let mut engine = Engine::default();
        engine.thread_create(ThreadId(1), T2).unwrap();
        engine.thread_create(ThreadId(1), T3).unwrap();
        let mut model = LockModel::default();
        for m in builtin_models() {
            model.merge(m.clone());
        }
        Sim {
            engine,
            held: Held(HashSet::new()),
            model,
        }
    }

    fn at(&mut self, t: ThreadId, symbol: &str, args: &[u64], ret: Option<u64>) {
        let f = self.model.function(symbol).expect("modelled").clone();
        let call = Call {
            thread: t,
            args,
            ret,
            site: 9,
        };
        apply(&mut self.engine, &f, &call, &self.held).unwrap();
        for (lock, held) in held_changes(&f, &call, &self.held).collect::<Vec<_>>() {
            if held {
                self.held.0.insert(lock);
            } else {
                self.held.0.remove(&lock);
            }
        }
    }

    /// `outer(args)` calling `inner(inner_args)` inside it, both returning `ret`.
    fn nested(
        &mut self,
        t: ThreadId,
        outer: &str,
        inner: &[(&str, &[u64])],
        args: &[u64],
        ret: u64,
    ) {
        self.at(t, outer, args, None);
        for (symbol, inner_args) in inner {
            self.at(t, symbol, inner_args, None);
            self.at(t, symbol, inner_args, Some(ret));
        }
        self.at(t, outer, args, Some(ret));
    }

    fn write(&mut self, t: ThreadId, site: u32) {
        self.engine.write(t, X, 4, site).unwrap();
    }

    fn reports(&mut self) -> Vec<String> {
        self.engine
            .take_reports()
            .into_iter()
            .map(|r| match r {
                Report::Race(r) => format!("race {} {}", r.current.site, r.prior.site),
                other => format!("{other:?}"),
            })
            .collect()
    }
}

#[test]
fn qemu_mutex_and_cond_wrap_pthread_on_the_same_address() {
    let mut s = Sim::new();
    let lock = |s: &mut Sim, t| {
        s.nested(
            t,
            "qemu_mutex_lock_impl",
            &[("pthread_mutex_lock", &[M])],
            &[M, 0, 0],
            0,
        )
    };
    let unlock = |s: &mut Sim, t| {
        s.nested(
            t,
            "qemu_mutex_unlock_impl",
            &[("pthread_mutex_unlock", &[M])],
            &[M, 0, 0],
            0,
        )
    };
    // T3 waits for T2's update under the mutex, through qemu_cond_wait_impl.
    lock(&mut s, T3);
    s.at(T3, "qemu_cond_wait_impl", &[CV, M, 0, 0], None);
    s.at(T3, "pthread_cond_wait", &[CV, M], None);
    lock(&mut s, T2);
    s.write(T2, 1);
    s.nested(
        T2,
        "qemu_cond_signal",
        &[("pthread_cond_signal", &[CV])],
        &[CV],
        0,
    );
    unlock(&mut s, T2);
    s.at(T3, "pthread_cond_wait", &[CV, M], Some(0));
    s.at(T3, "qemu_cond_wait_impl", &[CV, M, 0, 0], Some(0));
    s.write(T3, 2);
    unlock(&mut s, T3);
    assert_eq!(s.reports(), Vec::<String>::new());
    assert!(s.held.0.is_empty());
}

#[test]
fn glib_cond_wait_hands_the_mutex_over_through_g_mutex_calls() {
    let mut s = Sim::new();
    s.at(T3, "g_mutex_lock", &[M], None);
    s.at(T3, "g_mutex_lock", &[M], Some(0));
    // g_cond_wait(cv, m) = g_mutex_unlock(m); futex wait; g_mutex_lock(m).
    s.at(T3, "g_cond_wait", &[CV, M], None);
    s.at(T3, "g_mutex_unlock", &[M], None);
    s.at(T3, "g_mutex_unlock", &[M], Some(0));
    s.nested(T2, "g_mutex_lock", &[], &[M], 0);
    s.write(T2, 1);
    s.nested(T2, "g_cond_signal", &[], &[CV], 0);
    s.nested(T2, "g_mutex_unlock", &[], &[M], 0);
    s.nested(T3, "g_mutex_lock", &[], &[M], 0);
    s.at(T3, "g_cond_wait", &[CV, M], Some(0));
    s.write(T3, 2);
    s.nested(T3, "g_mutex_unlock", &[], &[M], 0);
    assert_eq!(s.reports(), Vec::<String>::new());
}

#[test]
fn a_failed_glib_trylock_orders_nothing() {
    let mut s = Sim::new();
    s.nested(T2, "g_mutex_lock", &[], &[M], 0);
    s.write(T2, 1);
    s.nested(T2, "g_mutex_unlock", &[], &[M], 0);
    s.nested(T3, "g_mutex_trylock", &[], &[M], 0); // FALSE
    s.write(T3, 2);
    assert_eq!(s.reports(), ["race 2 1"]);
}

#[test]
fn lockcnt_visitors_are_seen_out_by_dec_and_lock() {
    let mut s = Sim::new();
    s.nested(T2, "qemu_lockcnt_inc", &[], &[M], 0);
    s.write(T2, 1);
    s.nested(T2, "qemu_lockcnt_dec", &[], &[M], 0);
    s.nested(T3, "qemu_lockcnt_dec_and_lock", &[], &[M], 1);
    s.write(T3, 2);
    s.nested(T3, "qemu_lockcnt_unlock", &[], &[M], 0);
    assert_eq!(s.reports(), Vec::<String>::new());
}

#[test]
fn synchronize_rcu_acquires_what_readers_released_at_rcu_gp_event() {
    let mut s = Sim::new();
    s.write(T2, 1);
    // A reader the updater waited for sets rcu_gp_event on leaving.
    s.nested(T2, "qemu_event_set", &[], &[RCU_GP_EVENT], 0);
    s.nested(T3, "synchronize_rcu", &[], &[], 0);
    s.write(T3, 2);
    assert_eq!(s.reports(), Vec::<String>::new());
}
