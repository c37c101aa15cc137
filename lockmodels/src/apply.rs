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
}

/// Applies the effects of `function` due at this point of `call`: its entry
/// when `call.ret` is `None`, else its exit.
pub fn apply(
    engine: &mut Engine,
    function: &ModelledFunction,
    call: &Call,
    threads: &dyn ThreadLookup,
) -> Result<(), EngineError> {
    for &(when, effect) in function.effects {
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
) -> impl Iterator<Item = (u64, bool)> + 'a {
    let arg = move |i: usize| call.args.get(i).copied().unwrap_or(0);
    function
        .effects
        .iter()
        .filter(move |(when, _)| when.is_due(call.ret))
        .filter_map(move |&(_, effect)| match effect {
            Effect::Lock { lock, .. } | Effect::RwLock { lock, .. } => Some((arg(lock), true)),
            Effect::Unlock { lock } | Effect::RwUnlock { lock } | Effect::InitOrUnlock { lock } => {
                Some((arg(lock), false))
            }
            Effect::Init { object } | Effect::Destroy { object } => Some((arg(object), false)),
            _ => None,
        })
}

fn apply_effect(
    engine: &mut Engine,
    effect: Effect,
    call: &Call,
    threads: &dyn ThreadLookup,
) -> Result<(), EngineError> {
    let arg = |i: usize| call.args.get(i).copied().unwrap_or(0);
    let (t, site) = (call.thread, call.site);
    match effect {
        Effect::Lock { lock, trylock } => engine.mutex_lock(t, arg(lock), trylock, site),
        Effect::Unlock { lock } => engine.mutex_unlock(t, arg(lock), site),
        Effect::RwLock {
            lock,
            write,
            trylock,
        } => engine.rwlock_lock(t, arg(lock), write, trylock, site),
        Effect::RwUnlock { lock } => engine.rwlock_unlock(t, arg(lock), site),
        Effect::Release { object } => engine.release(t, arg(object)),
        Effect::Acquire { object } => engine.acquire(t, arg(object)),
        Effect::Destroy { object } => engine.sync_destroy(t, arg(object), site),
        Effect::BarrierInit { barrier, count } => {
            let count = u32::try_from(arg(count)).unwrap_or(u32::MAX);
            engine.barrier_init(t, arg(barrier), count)
        }
        Effect::BarrierWait { barrier } => engine.barrier_wait(t, arg(barrier), site),
        Effect::Join { thread } => match threads.thread_of(arg(thread)) {
            Some(child) => engine.thread_join(t, child),
            None => Ok(()),
        },
        Effect::Init { object } => engine.sync_destroy(t, arg(object), site),
        Effect::InitOrUnlock { lock } => {
            if threads.is_held(arg(lock)) {
                engine.mutex_unlock(t, arg(lock), site)
            } else {
                engine.sync_destroy(t, arg(lock), site)
            }
        }
        Effect::Spawned { .. } => Ok(()),
        Effect::AtomicWord { .. } => Ok(()),
        Effect::Detach { thread } => {
            if let Some(child) = threads.thread_of(arg(thread)) {
                engine.thread_detach(child);
            }
            Ok(())
        }
    }
}
