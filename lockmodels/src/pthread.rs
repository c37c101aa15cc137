//! The POSIX threads model (glibc's libc.so.6, which holds libpthread since 2.34).

use crate::Effect::*;
use crate::When::{Entry, Exit, ExitOnSuccess};
use crate::{Effect, LockModel, ModelledFunction, When};

type Effects = &'static [(When, Effect)];

const LOCK: Effects = &[(
    ExitOnSuccess,
    Lock {
        lock: 0,
        trylock: false,
    },
)];
const TRYLOCK: Effects = &[(
    ExitOnSuccess,
    Lock {
        lock: 0,
        trylock: true,
    },
)];
const UNLOCK: Effects = &[(Entry, Unlock { lock: 0 })];
const RDLOCK: Effects = &[(
    ExitOnSuccess,
    RwLock {
        lock: 0,
        write: false,
        trylock: false,
    },
)];
const TRYRDLOCK: Effects = &[(
    ExitOnSuccess,
    RwLock {
        lock: 0,
        write: false,
        trylock: true,
    },
)];
const WRLOCK: Effects = &[(
    ExitOnSuccess,
    RwLock {
        lock: 0,
        write: true,
        trylock: false,
    },
)];
const TRYWRLOCK: Effects = &[(
    ExitOnSuccess,
    RwLock {
        lock: 0,
        write: true,
        trylock: true,
    },
)];
const RWUNLOCK: Effects = &[(Entry, RwUnlock { lock: 0 })];
const DESTROY: Effects = &[(Entry, Destroy { object: 0 })];
const RELEASE: Effects = &[(Entry, Release { object: 0 })];
const ACQUIRE: Effects = &[(ExitOnSuccess, Acquire { object: 0 })];
const JOIN: Effects = &[(ExitOnSuccess, Join { thread: 0 })];
/// The mutex is released at entry and re-taken at exit whatever the result
/// (a timed-out wait still holds the mutex on return); the condition is
/// learned only from a wakeup. The re-take adds no lock-order edge: the
/// order was checked when the mutex was first taken.
const COND_WAIT: Effects = &[
    (Entry, Unlock { lock: 1 }),
    (ExitOnSuccess, Acquire { object: 0 }),
    (
        Exit,
        Lock {
            lock: 1,
            trylock: true,
        },
    ),
];

const INIT: Effects = &[(Entry, Init { object: 0 })];
/// glibc defines `pthread_spin_init` as another name of `pthread_spin_unlock`
/// (both store 0), so a hook cannot tell them apart: both names get the
/// effect that decides by whether the lock is held (Helgrind's
/// `SPIN_INIT_OR_UNLOCK` does the same).
const SPIN_INIT_OR_UNLOCK: Effects = &[(Entry, InitOrUnlock { lock: 0 })];
/// `pthread_once(once_control, init_routine)`: glibc claims `once_control`
/// with a CAS, runs the routine, marks it done with a release store (a
/// plain `mov`) before waking waiters, and every caller checks it with an
/// acquire load (a plain `mov`). Declaring the word atomic makes those two
/// movs the release and the acquire, at the moments they happen, so a
/// waiter woken before the initialising call returns is still ordered.
const ONCE: Effects = &[(Entry, AtomicWord { object: 0 })];

/// A synchronising function whose own accesses are not checked.
const fn f(symbol: &'static str, effects: Effects) -> ModelledFunction {
    ModelledFunction {
        symbol,
        effects,
        quiet: true,
    }
}

/// A synchronising function that runs user code, whose accesses are checked.
const fn loud(symbol: &'static str, effects: Effects) -> ModelledFunction {
    ModelledFunction {
        symbol,
        effects,
        quiet: false,
    }
}

/// pthread mutexes, spin locks, rwlocks, condition variables, barriers,
/// semaphores, once, create, join and detach. The engine learns of thread
/// creation and exit from the translator (clone and exit), not from hooks;
/// `pthread_create` is hooked only to map its `pthread_t` to the new thread
/// (`Spawned`), and `pthread_exit` needs no model (the thread's end is its
/// last event; its cleanup handlers run as ordinary checked code).
pub static PTHREAD: LockModel = LockModel {
    name: "pthread",
    functions: &[
        f("pthread_mutex_init", INIT),
        f("pthread_mutex_lock", LOCK),
        f("pthread_mutex_timedlock", LOCK),
        f("pthread_mutex_clocklock", LOCK),
        f("pthread_mutex_trylock", TRYLOCK),
        f("pthread_mutex_unlock", UNLOCK),
        f("pthread_mutex_destroy", DESTROY),
        f("pthread_spin_init", SPIN_INIT_OR_UNLOCK),
        f("pthread_spin_lock", LOCK),
        f("pthread_spin_trylock", TRYLOCK),
        f("pthread_spin_unlock", SPIN_INIT_OR_UNLOCK),
        f("pthread_spin_destroy", DESTROY),
        f("pthread_rwlock_init", INIT),
        f("pthread_rwlock_rdlock", RDLOCK),
        f("pthread_rwlock_timedrdlock", RDLOCK),
        f("pthread_rwlock_clockrdlock", RDLOCK),
        f("pthread_rwlock_tryrdlock", TRYRDLOCK),
        f("pthread_rwlock_wrlock", WRLOCK),
        f("pthread_rwlock_timedwrlock", WRLOCK),
        f("pthread_rwlock_clockwrlock", WRLOCK),
        f("pthread_rwlock_trywrlock", TRYWRLOCK),
        f("pthread_rwlock_unlock", RWUNLOCK),
        f("pthread_rwlock_destroy", DESTROY),
        f("pthread_cond_init", INIT),
        f("pthread_cond_signal", RELEASE),
        f("pthread_cond_broadcast", RELEASE),
        f("pthread_cond_wait", COND_WAIT),
        f("pthread_cond_timedwait", COND_WAIT),
        f("pthread_cond_clockwait", COND_WAIT),
        f("pthread_cond_destroy", DESTROY),
        f(
            "pthread_barrier_init",
            &[(
                Entry,
                BarrierInit {
                    barrier: 0,
                    count: 2,
                },
            )],
        ),
        f(
            "pthread_barrier_wait",
            &[(Entry, BarrierWait { barrier: 0 })],
        ),
        f("pthread_barrier_destroy", DESTROY),
        f("sem_init", INIT),
        f("sem_post", RELEASE),
        f("sem_wait", ACQUIRE),
        f("sem_trywait", ACQUIRE),
        f("sem_timedwait", ACQUIRE),
        f("sem_clockwait", ACQUIRE),
        f("sem_destroy", DESTROY),
        f("pthread_create", &[(ExitOnSuccess, Spawned { handle: 0 })]),
        loud("pthread_once", ONCE),
        f("pthread_join", JOIN),
        f("pthread_timedjoin_np", JOIN),
        f("pthread_clockjoin_np", JOIN),
        f("pthread_tryjoin_np", JOIN),
        f("pthread_detach", &[(ExitOnSuccess, Detach { thread: 0 })]),
    ],
};

/// glibc's own counters that threads update with LOCK instructions but
/// that order nothing a program may rely on: `__nptl_nthreads` is
/// decremented by every thread as it exits, which would otherwise order
/// each exiting thread after all those that exited before it (so joining
/// one thread would seem to join them all). The race tool finds these
/// symbols in libc's dynamic symbol table and drops the atomic accesses to
/// them.
pub static UNSYNCHRONISING_WORDS: &[&str] = &["__nptl_nthreads"];
