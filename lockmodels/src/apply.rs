//! Turning hooked calls into hb-engine operations.

use hb_engine::{Engine, EngineError, ThreadId};

use crate::{Effect, ModelledFunction};

/// One hooked call, at its entry (`ret` is `None`) or its exit.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub thread: ThreadId,
    /// The integer arguments, in ABI order (rdi, rsi, rdx, rcx, r8, r9).
    pub args: &'a [u64],
    pub ret: Option<u64>,
    /// The call site, for lock-order and misuse reports.
    pub site: u32,
}

/// What the tool knows that the engine does not tell.
pub trait ThreadLookup {
    /// The thread a `pthread_t` names (on glibc, its descriptor address, as
    /// `pthread_create` stored it).
    fn thread_of(&self, pthread: u64) -> Option<ThreadId>;
    /// Whether some thread holds the lock at `lock` (for `InitOrUnlock`).
    fn is_held(&self, _lock: u64) -> bool {
        false
    }
    /// The guest's 8-byte word at `addr`, for `*(argN + offset)` operands.
    fn read_word(&self, _addr: u64) -> Option<u64> {
        None
    }
    /// The run-time address of a global symbol, for `&name` operands.
    fn symbol(&self, _name: &str) -> Option<u64> {
        None
    }
}

/// Applies the effects of `function` due at this point of `call`: its entry
/// when `call.ret` is `None`, else its exit. An effect whose operand cannot
/// be resolved (an unreadable word, a symbol not loaded) is skipped.
pub fn apply(
    engine: &mut Engine,
    function: &ModelledFunction,
    call: &Call,
    threads: &dyn ThreadLookup,
) -> Result<(), EngineError> {
    for (when, effect) in &function.effects {
        if when.is_due(call.ret) {
            apply_effect(engine, effect, call, threads)?;
        }
    }
    Ok(())
}

/// How this point of `call` changes which locks are held: `(lock, true)`
/// for a lock taken, `(lock, false)` for one let go or reset. A tool that
/// answers `ThreadLookup::is_held` keeps its set with these, after `apply`.
pub fn held_changes<'a>(
    function: &'a ModelledFunction,
    call: &'a Call<'a>,
    threads: &'a dyn ThreadLookup,
) -> impl Iterator<Item = (u64, bool)> + 'a {
    function
        .effects
        .iter()
        .filter(move |(when, _)| when.is_due(call.ret))
        .filter_map(move |(_, effect)| {
            let (operand, held) = match effect {
                Effect::Lock { lock, .. } | Effect::RwLock { lock, .. } => (lock, true),
                Effect::Unlock { lock }
                | Effect::RwUnlock { lock }
                | Effect::InitOrUnlock { lock } => (lock, false),
                Effect::Init { object } | Effect::Destroy { object } => (object, false),
                _ => return None,
            };
            Some((operand.resolve(call.args, threads)?, held))
        })
}

fn apply_effect(
    engine: &mut Engine,
    effect: &Effect,
    call: &Call,
    threads: &dyn ThreadLookup,
) -> Result<(), EngineError> {
    let (t, site) = (call.thread, call.site);
    let value = |operand: &crate::Operand| operand.resolve(call.args, threads);
    // The sync object every effect but the create/atomic ones is about.
    let Some(object) = effect.operands().first().and_then(|o| value(o)) else {
        return Ok(());
    };
    match effect {
        Effect::Lock { trylock, .. } => engine.mutex_lock(t, object, *trylock, site),
        Effect::Unlock { .. } => engine.mutex_unlock(t, object, site),
        Effect::RwLock { write, trylock, .. } => {
            engine.rwlock_lock(t, object, *write, *trylock, site)
        }
        Effect::RwUnlock { .. } => engine.rwlock_unlock(t, object, site),
        Effect::Release { .. } => engine.release(t, object),
        Effect::Acquire { .. } => engine.acquire(t, object),
        Effect::Destroy { .. } | Effect::Init { .. } => engine.sync_destroy(t, object, site),
        Effect::BarrierInit { count, .. } => {
            let count = value(count).unwrap_or(0);
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            engine.barrier_init(t, object, count)
        }
        Effect::BarrierWait { .. } => engine.barrier_wait(t, object, site),
        Effect::Join { .. } => match threads.thread_of(object) {
            Some(child) => engine.thread_join(t, child),
            None => Ok(()),
        },
        Effect::InitOrUnlock { .. } => {
            if threads.is_held(object) {
                engine.mutex_unlock(t, object, site)
            } else {
                engine.sync_destroy(t, object, site)
            }
        }
        Effect::Spawned { .. } | Effect::AtomicWord { .. } => Ok(()),
        Effect::Detach { .. } => {
            if let Some(child) = threads.thread_of(object) {
                engine.thread_detach(child);
            }
            Ok(())
        }
    }
}
