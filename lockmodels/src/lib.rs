//! lockmodels: which functions synchronise, and how.
//!
//! A `LockModel` is a table of `ModelledFunction`s, each naming a symbol and
//! the happens-before effects of a call at its entry and its exit. Models
//! are text files (`lockmodels/models/*.model`, embedded with `include_str!`
//! so an installed hbgrind needs no data directory, and the user's
//! `--lock-model=FILE`), parsed by `LockModel::parse` (papers/lockmodels.md,
//! "The model file format"). The race tool hooks every symbol of the models
//! it loads (dbi function hooks) and hands each entry and exit to `apply`,
//! which turns it into hb-engine operations. A new library (QEMU, glib,
//! libgomp, a program's own locks) is a new file.
//!
//! # Invariants (the order around the real call, after Helgrind's wrappers)
//! - A release (unlock, post, signal) is announced at *entry*, before the
//!   real call can let another thread in.
//! - An acquire (lock, wait) is announced at *exit*, and only when the call
//!   succeeded (the condition on the return value the effect names).
//! - `pthread_cond_wait` releases its mutex at entry and re-acquires it at
//!   exit, so the wait itself is not "holding" the mutex.
//! - Accesses made inside a modelled function (`quiet`) are not race
//!   checked: they are the synchronisation itself.
//! - A parsed model has at most one function per symbol; a later model
//!   replaces an earlier one's function of the same symbol (`LockModel::merge`).
#![forbid(unsafe_code)]

mod apply; // apply(): hooked calls into engine operations
mod atomics; // AtomicLocations: plain stores that are release stores
mod builtin; // BUILTIN_MODELS: the model files shipped in lockmodels/models/
pub mod futex; // futex::decode: which futex calls release and acquire
mod parse; // LockModel::parse: the model file format, LockModelError
mod pthread; // UNSYNCHRONISING_WORDS: glibc counters that order nothing

pub use crate::apply::{apply, held_changes, Call, ThreadLookup};
pub use crate::atomics::AtomicLocations;
pub use crate::builtin::{builtin_models, pthread, BUILTIN_MODELS};
pub use crate::parse::{LineError, LockModelError};
pub use crate::pthread::UNSYNCHRONISING_WORDS;

/// A comparison of a call's return value, for effects due at exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetCondition {
    /// `==` (true) or `!=` (false).
    pub equal: bool,
    pub value: u64,
    /// Compare all 64 bits (`NULL`, pointers); otherwise only the low 32
    /// bits, as for C `int` and `gboolean` results.
    pub wide: bool,
}

impl RetCondition {
    /// `ret == 0` on an `int`: the usual success.
    pub const ZERO: RetCondition = RetCondition {
        equal: true,
        value: 0,
        wide: false,
    };

    pub fn holds(self, ret: u64) -> bool {
        let (ret, value) = if self.wide {
            (ret, self.value)
        } else {
            (ret as u32 as u64, self.value as u32 as u64)
        };
        (ret == value) == self.equal
    }
}

/// Where in a call an effect happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Entry,
    /// At exit, if the return value satisfies the condition.
    ExitIf(RetCondition),
    /// At exit, whatever the call returned.
    Exit,
}

impl When {
    /// At exit, if the call returned 0 (as an `int`).
    pub const EXIT_ON_SUCCESS: When = When::ExitIf(RetCondition::ZERO);

    /// Whether an effect at `self` is due at this point of a call: its
    /// entry when `ret` is `None`, else its exit returning `ret`.
    pub fn is_due(self, ret: Option<u64>) -> bool {
        match (self, ret) {
            (When::Entry, None) | (When::Exit, Some(_)) => true,
            (When::ExitIf(condition), Some(ret)) => condition.holds(ret),
            _ => false,
        }
    }
}

/// Which address (or value) an effect is about, computed from the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// `argN + offset`: an integer argument (0 = rdi), plus a byte offset.
    Arg { index: usize, offset: i64 },
    /// `*(argN + offset)`: the 8-byte word at that address.
    Deref { index: usize, offset: i64 },
    /// `&name`: the address of a global symbol.
    Symbol(String),
}

impl Operand {
    /// Argument `index` itself.
    pub const fn arg(index: usize) -> Operand {
        Operand::Arg { index, offset: 0 }
    }

    /// The operand's value in a call with these arguments; `None` when the
    /// word cannot be read or the symbol is not (yet) known. An argument
    /// past the six registers reads as 0 (the parser refuses them).
    pub fn resolve(&self, args: &[u64], lookup: &dyn ThreadLookup) -> Option<u64> {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        match self {
            Operand::Arg { index, offset } => Some(arg(*index).wrapping_add(*offset as u64)),
            Operand::Deref { index, offset } => {
                lookup.read_word(arg(*index).wrapping_add(*offset as u64))
            }
            Operand::Symbol(name) => lookup.symbol(name),
        }
    }
}

/// One happens-before effect of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The mutex (or spin lock) at `lock` is acquired.
    Lock {
        lock: Operand,
        trylock: bool,
    },
    /// The mutex (or spin lock) at `lock` is released.
    Unlock {
        lock: Operand,
    },
    /// The rwlock at `lock` is acquired for reading or writing.
    RwLock {
        lock: Operand,
        write: bool,
        trylock: bool,
    },
    RwUnlock {
        lock: Operand,
    },
    /// Everything before is published at `object` (signal, post).
    Release {
        object: Operand,
    },
    /// Everything published at `object` so far is learned (wait).
    Acquire {
        object: Operand,
    },
    /// The sync object at `object` dies.
    Destroy {
        object: Operand,
    },
    /// A barrier for `count` threads (the operand's value is the count).
    BarrierInit {
        barrier: Operand,
        count: Operand,
    },
    BarrierWait {
        barrier: Operand,
    },
    /// The thread whose `pthread_t` is `thread` is joined.
    Join {
        thread: Operand,
    },
    Detach {
        thread: Operand,
    },
    /// glibc's `pthread_spin_unlock` and `pthread_spin_init` are one
    /// function (two names for "store 0"), so a call of it is an unlock
    /// when the lock is held (`ThreadLookup::is_held`) and an init otherwise.
    InitOrUnlock {
        lock: Operand,
    },
    /// The sync object at `object` starts afresh (`*_init`): what it
    /// carried before is forgotten, as by `Destroy`.
    Init {
        object: Operand,
    },
    /// A thread was created and its `pthread_t` stored at `*handle`. The
    /// engine learns of the thread from the translator (`clone`), so
    /// `apply` does nothing; the race tool reads the handle to map the
    /// `pthread_t` to the new thread (`ThreadLookup`).
    Spawned {
        handle: Operand,
    },
    /// The word at `object` is an atomic variable used with plain `mov`s
    /// (x86 acquire loads and release stores): from now on its plain loads
    /// are acquires and its plain stores releases (`AtomicLocations::declare`).
    /// `apply` does nothing; the race tool declares the word.
    AtomicWord {
        object: Operand,
    },
}

impl Effect {
    /// The operands, in the order the model file writes them.
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Effect::Lock { lock, .. }
            | Effect::Unlock { lock }
            | Effect::RwLock { lock, .. }
            | Effect::RwUnlock { lock }
            | Effect::InitOrUnlock { lock } => vec![lock],
            Effect::Release { object }
            | Effect::Acquire { object }
            | Effect::Destroy { object }
            | Effect::Init { object }
            | Effect::AtomicWord { object } => vec![object],
            Effect::BarrierInit { barrier, count } => vec![barrier, count],
            Effect::BarrierWait { barrier } => vec![barrier],
            Effect::Join { thread } | Effect::Detach { thread } => vec![thread],
            Effect::Spawned { handle } => vec![handle],
        }
    }
}

/// A function whose calls synchronise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelledFunction {
    pub symbol: String,
    pub effects: Vec<(When, Effect)>,
    /// Accesses inside the call are not race checked. False for functions
    /// that run user code (`pthread_once` runs the init routine).
    pub quiet: bool,
    /// `atomic`: the call's own plain accesses (outside its stack) are
    /// atomic accesses, its data relaxed atomics that compile to plain
    /// `mov`s (QEMU's `synchronize_rcu` on the readers' counters). Never
    /// with `quiet`.
    pub atomic: bool,
}

impl ModelledFunction {
    /// True if some effect is due at exit, so the hook must see the return.
    pub fn has_exit_effects(&self) -> bool {
        self.effects.iter().any(|(when, _)| *when != When::Entry)
    }

    /// The operand naming an atomic word, for `AtomicWord`, if due at this point.
    pub fn atomic_word(&self, ret: Option<u64>) -> Option<&Operand> {
        self.effects.iter().find_map(|(when, effect)| match effect {
            Effect::AtomicWord { object } if when.is_due(ret) => Some(object),
            _ => None,
        })
    }

    /// The operand holding the new thread's handle, for `Spawned`.
    pub fn spawned_handle(&self) -> Option<&Operand> {
        self.effects.iter().find_map(|(_, effect)| match effect {
            Effect::Spawned { handle } => Some(handle),
            _ => None,
        })
    }

    /// The global symbols its operands name (`&name`).
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.effects
            .iter()
            .flat_map(|(_, effect)| effect.operands())
            .filter_map(|operand| match operand {
                Operand::Symbol(name) => Some(name.as_str()),
                _ => None,
            })
    }
}

/// A library's functions and how they synchronise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockModel {
    /// The file it was read from (`pthread.model`, the user's path).
    pub name: String,
    pub functions: Vec<ModelledFunction>,
}

impl LockModel {
    pub fn function(&self, symbol: &str) -> Option<&ModelledFunction> {
        self.functions.iter().find(|f| f.symbol == symbol)
    }

    /// Adds `other`'s functions; one of the same symbol replaces ours, so
    /// a user's file can correct a shipped model.
    pub fn merge(&mut self, other: LockModel) {
        for f in other.functions {
            match self.functions.iter_mut().find(|g| g.symbol == f.symbol) {
                Some(g) => *g = f,
                None => self.functions.push(f),
            }
        }
    }
}
