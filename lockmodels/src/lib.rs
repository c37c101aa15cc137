//! lockmodels: which functions synchronise, and how.
//!
//! A `LockModel` is a table of `ModelledFunction`s, each naming a symbol and
//! the happens-before effects of a call at its entry and its exit. The race
//! tool hooks every symbol of the models it loads (dbi function hooks) and
//! hands each entry and exit to `apply`, which turns it into hb-engine
//! operations. Models are data, not code, so a new library (QEMU, glib,
//! libgomp) is a new table.
//!
//! # Invariants (the order around the real call, after Helgrind's wrappers)
//! - A release (unlock, post, signal) is announced at *entry*, before the
//!   real call can let another thread in.
//! - An acquire (lock, wait) is announced at *exit*, and only when the call
//!   succeeded (return value 0, or the success value the effect names).
//! - `pthread_cond_wait` releases its mutex at entry and re-acquires it at
//!   exit, so the wait itself is not "holding" the mutex.
//! - Accesses made inside a modelled function (`quiet`) are not race
//!   checked: they are the synchronisation itself.
#![forbid(unsafe_code)]

mod apply; // apply(): hooked calls into engine operations
mod atomics; // AtomicLocations: plain stores that are release stores
pub mod futex; // futex::decode: which futex calls release and acquire
mod pthread; // PTHREAD: the POSIX threads model

pub use crate::apply::{apply, held_changes, Call, ThreadLookup};
pub use crate::atomics::AtomicLocations;
pub use crate::pthread::{PTHREAD, UNSYNCHRONISING_WORDS};

/// Where in a call an effect happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Entry,
    /// At exit, if the call returned 0.
    ExitOnSuccess,
    /// At exit, whatever the call returned.
    Exit,
}

impl When {
    /// Whether an effect at `self` is due at this point of a call: its
    /// entry when `ret` is `None`, else its exit returning `ret`.
    pub fn is_due(self, ret: Option<u64>) -> bool {
        match (self, ret) {
            (When::Entry, None) | (When::Exit, Some(_)) => true,
            // Return values are C `int`s: only the low 32 bits count.
            (When::ExitOnSuccess, Some(ret)) => ret as u32 == 0,
            _ => false,
        }
    }
}

/// One happens-before effect of a call. Numbers are argument indices
/// (0 = first argument, in rdi).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The mutex (or spin lock) at `lock` is acquired.
    Lock {
        lock: usize,
        trylock: bool,
    },
    /// The mutex (or spin lock) at `lock` is released.
    Unlock {
        lock: usize,
    },
    /// The rwlock at `lock` is acquired for reading or writing.
    RwLock {
        lock: usize,
        write: bool,
        trylock: bool,
    },
    RwUnlock {
        lock: usize,
    },
    /// Everything before is published at `object` (signal, post).
    Release {
        object: usize,
    },
    /// Everything published at `object` so far is learned (wait).
    Acquire {
        object: usize,
    },
    /// The sync object at `object` dies.
    Destroy {
        object: usize,
    },
    /// A barrier for `count` threads (the argument holding the count).
    BarrierInit {
        barrier: usize,
        count: usize,
    },
    BarrierWait {
        barrier: usize,
    },
    /// The thread whose `pthread_t` is `thread` is joined.
    Join {
        thread: usize,
    },
    Detach {
        thread: usize,
    },
    /// glibc's `pthread_spin_unlock` and `pthread_spin_init` are one
    /// function (two names for "store 0"), so a call of it is an unlock
    /// when the lock is held (`ThreadLookup::is_held`) and an init otherwise.
    InitOrUnlock {
        lock: usize,
    },
    /// The sync object at `object` starts afresh (`*_init`): what it
    /// carried before is forgotten, as by `Destroy`.
    Init {
        object: usize,
    },
    /// A thread was created and its `pthread_t` stored at `*handle`. The
    /// engine learns of the thread from the translator (`clone`), so
    /// `apply` does nothing; the race tool reads the handle to map the
    /// `pthread_t` to the new thread (`ThreadLookup`).
    Spawned {
        handle: usize,
    },
    /// The word at `object` is an atomic variable used with plain `mov`s
    /// (x86 acquire loads and release stores): from now on its plain loads
    /// are acquires and its plain stores releases (`AtomicLocations::declare`).
    /// `apply` does nothing; the race tool declares the word.
    AtomicWord {
        object: usize,
    },
}

/// A function whose calls synchronise.
#[derive(Clone, Copy, Debug)]
pub struct ModelledFunction {
    pub symbol: &'static str,
    pub effects: &'static [(When, Effect)],
    /// Accesses inside the call are not race checked. False for functions
    /// that run user code (`pthread_once` runs the init routine).
    pub quiet: bool,
}

impl ModelledFunction {
    /// True if some effect is due at exit, so the hook must see the return.
    pub fn has_exit_effects(&self) -> bool {
        self.effects.iter().any(|(when, _)| *when != When::Entry)
    }

    /// The argument naming an atomic word, for `AtomicWord`, if due at this point.
    pub fn atomic_word(&self, ret: Option<u64>) -> Option<usize> {
        self.effects
            .iter()
            .find_map(|&(when, effect)| match effect {
                Effect::AtomicWord { object } if when.is_due(ret) => Some(object),
                _ => None,
            })
    }

    /// The argument holding the new thread's handle, for `Spawned`.
    pub fn spawned_handle(&self) -> Option<usize> {
        self.effects.iter().find_map(|(_, effect)| match effect {
            Effect::Spawned { handle } => Some(*handle),
            _ => None,
        })
    }
}

/// A library's functions and how they synchronise.
#[derive(Clone, Copy, Debug)]
pub struct LockModel {
    pub name: &'static str,
    pub functions: &'static [ModelledFunction],
}

impl LockModel {
    pub fn function(&self, symbol: &str) -> Option<&'static ModelledFunction> {
        self.functions.iter().find(|f| f.symbol == symbol)
    }
}
