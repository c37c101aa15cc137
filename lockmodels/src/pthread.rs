//! The POSIX threads model (glibc's libc.so.6, which holds libpthread since 2.34).

use crate::Effect::*;
use crate::When::{Entry, Exit, ExitOnSuccess};
use crate::{LockModel, ModelledFunction};

const fn f(
    symbol: &'static str,
    effects: &'static [(crate::When, crate::Effect)],
) -> ModelledFunction {
    ModelledFunction {
        symbol,
        effects,
        quiet: true,
    }
}

/// pthread mutexes, spin locks, rwlocks, condition variables, barriers,
/// semaphores, join and detach. Thread creation and exit come from the
/// translator (clone and exit), not from hooks.
pub static PTHREAD: LockModel = LockModel {
    name: "pthread",
    functions: &[
        f(
            "pthread_mutex_lock",
            &[(
                ExitOnSuccess,
                Lock {
                    lock: 0,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_mutex_timedlock",
            &[(
                ExitOnSuccess,
                Lock {
                    lock: 0,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_mutex_clocklock",
            &[(
                ExitOnSuccess,
                Lock {
                    lock: 0,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_mutex_trylock",
            &[(
                ExitOnSuccess,
                Lock {
                    lock: 0,
                    trylock: true,
                },
            )],
        ),
        f("pthread_mutex_unlock", &[(Entry, Unlock { lock: 0 })]),
        f("pthread_mutex_destroy", &[(Entry, Destroy { object: 0 })]),
        f(
            "pthread_spin_lock",
            &[(
                ExitOnSuccess,
                Lock {
                    lock: 0,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_spin_trylock",
            &[(
                ExitOnSuccess,
                Lock {
                    lock: 0,
                    trylock: true,
                },
            )],
        ),
        f("pthread_spin_unlock", &[(Entry, Unlock { lock: 0 })]),
        f("pthread_spin_destroy", &[(Entry, Destroy { object: 0 })]),
        f(
            "pthread_rwlock_rdlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: false,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_rwlock_timedrdlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: false,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_rwlock_clockrdlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: false,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_rwlock_tryrdlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: false,
                    trylock: true,
                },
            )],
        ),
        f(
            "pthread_rwlock_wrlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: true,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_rwlock_timedwrlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: true,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_rwlock_clockwrlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: true,
                    trylock: false,
                },
            )],
        ),
        f(
            "pthread_rwlock_trywrlock",
            &[(
                ExitOnSuccess,
                RwLock {
                    lock: 0,
                    write: true,
                    trylock: true,
                },
            )],
        ),
        f("pthread_rwlock_unlock", &[(Entry, RwUnlock { lock: 0 })]),
        f("pthread_rwlock_destroy", &[(Entry, Destroy { object: 0 })]),
        f("pthread_cond_signal", &[(Entry, Release { object: 0 })]),
        f("pthread_cond_broadcast", &[(Entry, Release { object: 0 })]),
        // The mutex is released at entry and re-taken at exit whatever the
        // result (a timed-out wait still holds the mutex on return); the
        // condition is learned only from a wakeup. The re-take adds no
        // lock-order edge: the order was checked when the mutex was first taken.
        f(
            "pthread_cond_wait",
            &[
                (Entry, Unlock { lock: 1 }),
                (ExitOnSuccess, Acquire { object: 0 }),
                (
                    Exit,
                    Lock {
                        lock: 1,
                        trylock: true,
                    },
                ),
            ],
        ),
        f(
            "pthread_cond_timedwait",
            &[
                (Entry, Unlock { lock: 1 }),
                (ExitOnSuccess, Acquire { object: 0 }),
                (
                    Exit,
                    Lock {
                        lock: 1,
                        trylock: true,
                    },
                ),
            ],
        ),
        f(
            "pthread_cond_clockwait",
            &[
                (Entry, Unlock { lock: 1 }),
                (ExitOnSuccess, Acquire { object: 0 }),
                (
                    Exit,
                    Lock {
                        lock: 1,
                        trylock: true,
                    },
                ),
            ],
        ),
        f("pthread_cond_destroy", &[(Entry, Destroy { object: 0 })]),
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
        f("pthread_barrier_destroy", &[(Entry, Destroy { object: 0 })]),
        f("sem_post", &[(Entry, Release { object: 0 })]),
        f("sem_wait", &[(ExitOnSuccess, Acquire { object: 0 })]),
        f("sem_trywait", &[(ExitOnSuccess, Acquire { object: 0 })]),
        f("sem_timedwait", &[(ExitOnSuccess, Acquire { object: 0 })]),
        f("sem_clockwait", &[(ExitOnSuccess, Acquire { object: 0 })]),
        f("sem_destroy", &[(Entry, Destroy { object: 0 })]),
        f("pthread_join", &[(ExitOnSuccess, Join { thread: 0 })]),
        f(
            "pthread_timedjoin_np",
            &[(ExitOnSuccess, Join { thread: 0 })],
        ),
        f(
            "pthread_clockjoin_np",
            &[(ExitOnSuccess, Join { thread: 0 })],
        ),
        f("pthread_tryjoin_np", &[(ExitOnSuccess, Join { thread: 0 })]),
        f("pthread_detach", &[(ExitOnSuccess, Detach { thread: 0 })]),
    ],
};
