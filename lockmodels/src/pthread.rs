//! What the pthread model (`models/pthread.model`) cannot say as a hooked
//! function: glibc's counters whose atomic updates order nothing.

/// glibc's own counters that threads update with LOCK instructions but
/// that order nothing a program may rely on: `__nptl_nthreads` is
/// decremented by every thread as it exits, which would otherwise order
/// each exiting thread after all those that exited before it (so joining
/// one thread would seem to join them all). The race tool finds these
/// symbols in libc's dynamic symbol table and drops the atomic accesses to
/// them.
pub static UNSYNCHRONISING_WORDS: &[&str] = &["__nptl_nthreads"];
