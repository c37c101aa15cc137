//! OpenMP explicit tasks as logical threads (papers/lockmodels.md,
//! "OpenMP tasks").
//!
//! A task's body runs on whatever thread libgomp picks, often the thread
//! that created it, or one that ran a sibling just before. Taken as that
//! thread's accesses, the body is ordered after everything the thread did
//! before, so two tasks that race are never seen to. Here each run of a
//! task body is an engine thread of its own (ids from [`TASK_IDS`]), which
//! starts from what OpenMP orders before it and nothing else:
//!
//! - its creation: what the creating task did before `GOMP_task` or
//!   `GOMP_taskloop` (released when the call returns, or when a thread
//!   starts the task first: the creator is then inside the call, past
//!   copying the task's arguments);
//! - the sibling tasks it depends on (`depend` clauses): per (parent,
//!   address), completions of `out`/`inout`/`mutexinoutset` tasks and of
//!   `in` tasks are kept apart, an `in` task waits for the first only.
//!
//! At its end it releases into what waits for it: its parent's `taskwait`
//! (children only, not grandchildren), its `taskgroup` (descendants
//! inherit it), every team barrier (`ALL_TASKS`), the dependences it
//! names, and, for an undeferred task, its creator, which was suspended.
//! The thread that ran the task does not inherit its clock, so libgomp's
//! own synchronisation after the body (its task lock) orders nothing of it.
//!
//! # Invariants
//! - A task body is recognised at the entry of a function some
//!   `GOMP_task`/`GOMP_taskloop` named (hooked from then on, `new_hooks`):
//!   a deferred run by its argument lying in a block the creating call
//!   allocated; an undeferred run by happening inside that call, on its
//!   thread.
//! - `running` holds, per OS thread, the task bodies running on it,
//!   innermost last, each with its stack pointer at entry; an exit pops
//!   the entries at or below its own stack pointer.
//! - Sync objects of this model live at addresses above the canonical
//!   user range ([`KEYS`]), which no guest memory reset touches.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};

use dbi::{HookCall, StackId, ThreadNum};
use hb_engine::{Engine, EngineError, ThreadId};

use crate::client::GuestMemory;

/// Engine thread ids of task runs start here (reports name them
/// "Thread #1000000001" and so on; OS threads are numbered from 1).
pub(crate) const TASK_IDS: u32 = 1_000_000_000;

/// Base of this model's sync-object addresses (not user memory).
const KEYS: u64 = 0xffff_f000_0000_0000;
/// Every finished task: a team barrier waits for them all.
const ALL_TASKS: u64 = KEYS;

/// Which sync object of the model: kind in bits 40..44, number below.
fn key(kind: u64, n: u64) -> u64 {
    KEYS | (kind << 40) | (n & ((1 << 40) - 1))
}
const SPAWN: u64 = 1;
const CHILDREN: u64 = 2;
const GROUP: u64 = 3;
const DEP_OUT: u64 = 4;
const DEP_IN: u64 = 5;
const DONE: u64 = 6;

/// How much of the stack below a task body's entry is its own: forgotten
/// at its start and end, so frames of the thread's earlier (or later)
/// work there never race with the task's.
const TASK_STACK: u64 = 256 << 10;

/// Task runs stop being logical threads of their own once the engine has
/// handed out this many vector-clock slots: a recursive task tree (`fib`
/// with tasks) has as many unordered tasks as leaves, each a slot, and
/// every clock as wide. Later runs are checked as their thread's accesses,
/// as before this model (papers/lockmodels.md, "OpenMP tasks").
pub(crate) const TASK_SLOT_BUDGET: usize = 1024;

/// libgomp's `GOMP_TASK_FLAG_DEPEND`: `depend` (the 8th argument) is set.
const FLAG_DEPEND: u32 = 1 << 3;
/// `GOMP_TASK_FLAG_NOGROUP`: a taskloop without its implicit taskgroup.
const FLAG_NOGROUP: u32 = 1 << 11;
/// libgomp's `GOMP_DEPEND_IN`, the type of an `omp_depend_t` object.
const DEPEND_IN: u64 = 1;
/// More depend entries than this in one clause list are taken as garbage.
const MAX_DEPENDS: u64 = 4096;

/// What a hooked libgomp function means to the task model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OmpFn {
    /// `GOMP_task(fn, data, cpyfn, size, align, if, flags, depend, ...)`.
    Task,
    /// `GOMP_taskloop(fn, data, cpyfn, size, align, flags, ...)`.
    Taskloop,
    /// Waits for the calling task's children.
    Taskwait,
    /// `GOMP_taskwait_depend(depend)`: waits for the children its
    /// dependences name.
    TaskwaitDepend,
    TaskgroupStart,
    /// Waits for the tasks created in the group and their descendants.
    TaskgroupEnd,
    /// Contains a team barrier, which waits for every task of the team.
    Barrier,
    /// A task body, hooked at run time.
    Body,
}

/// The libgomp entry points the model hooks (all with their exits).
pub(crate) const OMP_FUNCTIONS: &[(&str, OmpFn)] = &[
    ("GOMP_task", OmpFn::Task),
    ("GOMP_taskloop", OmpFn::Taskloop),
    ("GOMP_taskloop_ull", OmpFn::Taskloop),
    ("GOMP_taskwait", OmpFn::Taskwait),
    ("GOMP_taskwait_depend", OmpFn::TaskwaitDepend),
    ("GOMP_taskgroup_start", OmpFn::TaskgroupStart),
    ("GOMP_taskgroup_end", OmpFn::TaskgroupEnd),
    ("GOMP_barrier", OmpFn::Barrier),
    ("GOMP_barrier_cancel", OmpFn::Barrier),
    ("GOMP_loop_end", OmpFn::Barrier),
    ("GOMP_loop_end_cancel", OmpFn::Barrier),
    ("GOMP_sections_end", OmpFn::Barrier),
    ("GOMP_sections_end_cancel", OmpFn::Barrier),
    ("GOMP_single_copy_start", OmpFn::Barrier),
    ("GOMP_parallel", OmpFn::Barrier),
    ("GOMP_parallel_end", OmpFn::Barrier),
    ("GOMP_parallel_reductions", OmpFn::Barrier),
    ("GOMP_parallel_sections", OmpFn::Barrier),
    ("GOMP_parallel_loop_static", OmpFn::Barrier),
    ("GOMP_parallel_loop_dynamic", OmpFn::Barrier),
    ("GOMP_parallel_loop_guided", OmpFn::Barrier),
    ("GOMP_parallel_loop_runtime", OmpFn::Barrier),
    ("GOMP_parallel_loop_nonmonotonic_dynamic", OmpFn::Barrier),
    ("GOMP_parallel_loop_nonmonotonic_guided", OmpFn::Barrier),
    ("GOMP_parallel_loop_nonmonotonic_runtime", OmpFn::Barrier),
    (
        "GOMP_parallel_loop_maybe_nonmonotonic_runtime",
        OmpFn::Barrier,
    ),
    // Never an ELF symbol: the request task bodies are hooked under.
    ("<OpenMP task body>", OmpFn::Body),
];

/// One `depend` entry: the address and whether it is `in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Depend {
    addr: u64,
    is_in: bool,
}

/// A `GOMP_task`/`GOMP_taskloop` call and the tasks it created.
struct Spawn {
    creator: ThreadId,
    body: u64,
    /// Its creation clock was released at `key(SPAWN, id)`.
    released: bool,
    /// The call has not returned.
    open: bool,
    /// Blocks it allocated that no task run has taken, nor `free`.
    blocks_left: u32,
    /// `GOMP_task`: only its first allocation is a task block (the later
    /// ones are dependence tables); `GOMP_taskloop` makes one per task.
    first_only: bool,
    allocations: u32,
    depends: Vec<Depend>,
    /// The taskgroup its tasks belong to.
    group: Option<u64>,
    /// A taskloop's implicit taskgroup, which its return waits for
    /// (libgomp's own `GOMP_taskgroup_start` call in it may be inlined).
    implicit_group: bool,
    /// Where it was called, for reports ("created at").
    site: (u64, StackId),
}

/// A task body running on an OS thread.
struct Run {
    tid: ThreadId,
    sp: u64,
    parent: ThreadId,
    depends: Vec<Depend>,
    group: Option<u64>,
    /// Set for an undeferred run: its creator waits for it.
    creator: Option<ThreadId>,
}

/// What the race tool must do after a model event.
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) struct Effects {
    /// A task run began: (engine id, where its creating call was).
    pub(crate) started: Option<(ThreadId, (u64, StackId))>,
    /// Stack ranges whose history is over (`start`, `len`).
    pub(crate) forget: Vec<(u64, u64)>,
    /// The first task run left to its thread ([`TASK_SLOT_BUDGET`]).
    pub(crate) saturated: bool,
}

/// The task model's state.
#[derive(Default)]
pub(crate) struct OpenMpTasks {
    spawns: FxHashMap<u64, Spawn>,
    /// Per OS thread: its open spawning calls, innermost last.
    open: FxHashMap<ThreadNum, Vec<u64>>,
    /// Per OS thread: `GOMP_taskgroup_start` calls open on it (their
    /// allocations are not task blocks).
    in_group_start: FxHashMap<ThreadNum, u32>,
    /// Task blocks not yet run: start -> (length, spawn id).
    blocks: BTreeMap<u64, (u64, u64)>,
    running: FxHashMap<ThreadNum, Vec<Run>>,
    /// Per logical task: its open taskgroups, innermost last.
    groups: FxHashMap<ThreadId, Vec<u64>>,
    /// Per parent task, the address of a dependence -> its number in
    /// `key(DEP_*)` (forgotten with the parent).
    depend_keys: FxHashMap<ThreadId, FxHashMap<u64, u64>>,
    /// Per OS thread: the dependences of its open `GOMP_taskwait_depend`.
    waiting_on: FxHashMap<ThreadNum, Vec<Depend>>,
    /// Task bodies seen so far, and those not yet handed to dbi.
    bodies: FxHashSet<u64>,
    new_bodies: Vec<u64>,
    next_spawn: u64,
    next_group: u64,
    next_depend: u64,
    next_task: u32,
    /// Task runs left to their threads ([`TASK_SLOT_BUDGET`]).
    unmodelled: u64,
}

impl OpenMpTasks {
    /// The engine thread whose accesses `thread` makes now.
    #[inline]
    pub(crate) fn current(&self, thread: ThreadNum) -> ThreadId {
        if self.running.is_empty() {
            return ThreadId(thread);
        }
        self.running
            .get(&thread)
            .and_then(|r| r.last())
            .map_or(ThreadId(thread), |r| r.tid)
    }

    /// Task bodies to hook from now on (`Tool::new_hooks`).
    pub(crate) fn take_new_bodies(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.new_bodies)
    }

    /// The entry of a hooked libgomp function or task body.
    pub(crate) fn entry(
        &mut self,
        f: OmpFn,
        call: &HookCall,
        engine: &mut Engine,
        guest: &dyn GuestMemory,
    ) -> Result<Effects, EngineError> {
        let thread = call.thread;
        match f {
            OmpFn::Task | OmpFn::Taskloop => {
                let flags = if f == OmpFn::Task {
                    guest.read_u32(call.sp.wrapping_add(8)).unwrap_or(0)
                } else {
                    call.args[5] as u32
                };
                let depends = if f == OmpFn::Task && flags & FLAG_DEPEND != 0 {
                    guest
                        .read_u64(call.sp.wrapping_add(16))
                        .map(|d| read_depends(guest, d))
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                let creator = self.current(thread);
                let body = call.args[0];
                if self.bodies.insert(body) {
                    self.new_bodies.push(body);
                }
                let implicit_group = f == OmpFn::Taskloop && flags & FLAG_NOGROUP == 0;
                if implicit_group {
                    self.open_group(creator);
                }
                let group = self.group_of(thread, creator);
                let id = self.next_spawn;
                self.next_spawn += 1;
                self.spawns.insert(
                    id,
                    Spawn {
                        creator,
                        body,
                        released: false,
                        open: true,
                        blocks_left: 0,
                        first_only: f == OmpFn::Task,
                        allocations: 0,
                        depends,
                        group,
                        implicit_group,
                        site: (call.function, call.stack),
                    },
                );
                self.open.entry(thread).or_default().push(id);
            }
            OmpFn::TaskgroupStart => *self.in_group_start.entry(thread).or_default() += 1,
            OmpFn::Body => return self.start(call, engine),
            OmpFn::TaskwaitDepend => {
                let depends = read_depends(guest, call.args[0]);
                self.waiting_on.insert(thread, depends);
            }
            OmpFn::Taskwait | OmpFn::TaskgroupEnd | OmpFn::Barrier => {}
        }
        Ok(Effects::default())
    }

    /// The exit of a hooked libgomp function or task body.
    pub(crate) fn exit(
        &mut self,
        f: OmpFn,
        call: &HookCall,
        engine: &mut Engine,
    ) -> Result<Effects, EngineError> {
        let thread = call.thread;
        let me = self.current(thread);
        match f {
            OmpFn::Task | OmpFn::Taskloop => {
                let open = self.open.entry(thread).or_default();
                let Some(id) = open.pop() else {
                    return Ok(Effects::default());
                };
                let mut implicit_group = None;
                if let Some(s) = self.spawns.get_mut(&id) {
                    s.open = false;
                    if !s.released {
                        s.released = true;
                        engine.release(s.creator, key(SPAWN, id))?;
                    }
                    if s.implicit_group {
                        implicit_group = Some(s.creator);
                    }
                }
                self.retire_spawn(id, engine);
                if let Some(creator) = implicit_group {
                    self.close_group(creator, engine)?;
                }
            }
            OmpFn::Taskwait => engine.acquire(me, key(CHILDREN, u64::from(me.0)))?,
            OmpFn::TaskwaitDepend => {
                for d in self.waiting_on.remove(&thread).unwrap_or_default() {
                    let n = self.depend_key(me, d.addr);
                    engine.acquire(me, key(DEP_OUT, n))?;
                    if !d.is_in {
                        engine.acquire(me, key(DEP_IN, n))?;
                    }
                }
            }
            OmpFn::TaskgroupStart => {
                if let Some(n) = self.in_group_start.get_mut(&thread) {
                    *n = n.saturating_sub(1);
                }
                self.open_group(me);
            }
            OmpFn::TaskgroupEnd => self.close_group(me, engine)?,
            OmpFn::Barrier => engine.acquire(me, ALL_TASKS)?,
            OmpFn::Body => return self.end(call, engine),
        }
        Ok(Effects::default())
    }

    /// An allocation returned `[start, start + len)` on `thread`: inside a
    /// spawning call, the block of a task it creates (for `GOMP_task`
    /// the first one only: its later allocations are dependence tables).
    pub(crate) fn allocated(&mut self, thread: ThreadNum, start: u64, len: u64) {
        let Some(&id) = self.open.get(&thread).and_then(|o| o.last()) else {
            return;
        };
        if self.in_group_start.get(&thread).copied().unwrap_or(0) > 0 {
            return;
        }
        let Some(s) = self.spawns.get_mut(&id) else {
            return;
        };
        s.allocations += 1;
        if s.first_only && s.allocations > 1 {
            return;
        }
        s.blocks_left += 1;
        self.blocks.insert(start, (len, id));
    }

    /// `free(start)`: a task block that never ran is gone.
    pub(crate) fn freed(&mut self, start: u64, engine: &mut Engine) {
        if let Some((_, id)) = self.blocks.remove(&start) {
            if let Some(s) = self.spawns.get_mut(&id) {
                s.blocks_left = s.blocks_left.saturating_sub(1);
            }
            self.retire_spawn(id, engine);
        }
    }

    /// `task` starts a taskgroup.
    fn open_group(&mut self, task: ThreadId) {
        let g = self.next_group;
        self.next_group += 1;
        self.groups.entry(task).or_default().push(g);
    }

    /// `task` ends its innermost taskgroup: waits for the group's tasks.
    fn close_group(&mut self, task: ThreadId, engine: &mut Engine) -> Result<(), EngineError> {
        if let Some(g) = self.groups.get_mut(&task).and_then(|g| g.pop()) {
            engine.acquire(task, key(GROUP, g))?;
            engine.sync_forget(key(GROUP, g));
        }
        Ok(())
    }

    /// The taskgroup a task created now by `creator` belongs to.
    fn group_of(&self, thread: ThreadNum, creator: ThreadId) -> Option<u64> {
        if let Some(&g) = self.groups.get(&creator).and_then(|g| g.last()) {
            return Some(g);
        }
        self.running
            .get(&thread)
            .and_then(|r| r.iter().rev().find(|r| r.tid == creator))
            .and_then(|r| r.group)
    }

    /// A task body was entered: which task is it, and start its run.
    fn start(&mut self, call: &HookCall, engine: &mut Engine) -> Result<Effects, EngineError> {
        let thread = call.thread;
        let arg = call.args[0];
        let deferred = self
            .blocks
            .range(..=arg)
            .next_back()
            .filter(|(&start, &(len, id))| {
                // A task without arguments gets the block's end.
                arg <= start.saturating_add(len)
                    && self
                        .spawns
                        .get(&id)
                        .is_some_and(|s| s.body == call.function)
            })
            .map(|(&start, &(_, id))| (start, id));
        let (id, undeferred) = match deferred {
            Some((start, id)) => {
                self.blocks.remove(&start);
                if let Some(s) = self.spawns.get_mut(&id) {
                    s.blocks_left = s.blocks_left.saturating_sub(1);
                }
                (id, false)
            }
            None => {
                let open = self.open.get(&thread).map(Vec::as_slice).unwrap_or(&[]);
                let Some(&id) = open
                    .iter()
                    .rev()
                    .find(|id| self.spawns.get(id).is_some_and(|s| s.body == call.function))
                else {
                    // Not a task run we can place: its accesses stay the
                    // thread's. Its exit must pop nothing.
                    return Ok(Effects::default());
                };
                (id, true)
            }
        };
        if engine.thread_slots() >= TASK_SLOT_BUDGET {
            self.unmodelled += 1;
            if !undeferred {
                self.retire_spawn(id, engine);
            }
            return Ok(Effects {
                saturated: self.unmodelled == 1,
                ..Effects::default()
            });
        }
        let Some(s) = self.spawns.get_mut(&id) else {
            return Ok(Effects::default());
        };
        // The creation clock: released once for deferred runs (the
        // creator is inside the call, past copying the arguments); for an
        // undeferred run, again at each (the creator waited for the last).
        if undeferred || !s.released {
            s.released = true;
            engine.release(s.creator, key(SPAWN, id))?;
        }
        let (parent, depends, group, site) = (s.creator, s.depends.clone(), s.group, s.site);
        let mut after = vec![key(SPAWN, id)];
        for d in &depends {
            let n = self.depend_key(parent, d.addr);
            after.push(key(DEP_OUT, n));
            if !d.is_in {
                after.push(key(DEP_IN, n));
            }
        }
        self.next_task += 1;
        let tid = ThreadId(TASK_IDS.wrapping_add(self.next_task));
        engine.thread_start_after(tid, &after)?;
        self.running.entry(thread).or_default().push(Run {
            tid,
            sp: call.sp,
            parent,
            depends,
            group,
            creator: undeferred.then_some(parent),
        });
        if !undeferred {
            self.retire_spawn(id, engine);
        }
        Ok(Effects {
            started: Some((tid, site)),
            forget: vec![own_stack(call.sp)],
            saturated: false,
        })
    }

    /// A task body returned: its run ends, released into what waits for it.
    fn end(&mut self, call: &HookCall, engine: &mut Engine) -> Result<Effects, EngineError> {
        let Some(runs) = self.running.get_mut(&call.thread) else {
            return Ok(Effects::default());
        };
        // Runs left by a longjmp or an exception lie below this one.
        let mut ended = Vec::new();
        while runs.last().is_some_and(|r| r.sp <= call.sp) {
            let r = runs.pop().expect("checked");
            let done = r.sp == call.sp;
            ended.push(r);
            if done {
                break;
            }
        }
        if runs.is_empty() {
            self.running.remove(&call.thread);
        }
        let mut effects = Effects::default();
        for r in ended {
            let mut into = vec![ALL_TASKS, key(CHILDREN, u64::from(r.parent.0))];
            if let Some(g) = r.group {
                into.push(key(GROUP, g));
            }
            for d in &r.depends {
                let n = self.depend_key(r.parent, d.addr);
                into.push(key(if d.is_in { DEP_IN } else { DEP_OUT }, n));
            }
            let done = key(DONE, u64::from(r.tid.0));
            if r.creator.is_some() {
                into.push(done);
            }
            engine.thread_end_into(r.tid, &into)?;
            if let Some(creator) = r.creator {
                engine.acquire(creator, done)?;
                engine.sync_forget(done);
            }
            self.forget_task(r.tid, engine);
            effects.forget.push(own_stack(r.sp));
        }
        Ok(effects)
    }

    /// The sync objects a finished task kept as a parent go.
    fn forget_task(&mut self, tid: ThreadId, engine: &mut Engine) {
        self.groups.remove(&tid);
        for n in self
            .depend_keys
            .remove(&tid)
            .unwrap_or_default()
            .into_values()
        {
            engine.sync_forget(key(DEP_OUT, n));
            engine.sync_forget(key(DEP_IN, n));
        }
        engine.sync_forget(key(CHILDREN, u64::from(tid.0)));
    }

    /// The number of the dependence objects of (`parent`, `addr`).
    /// Numbers are never handed out twice: a finished parent's objects
    /// are forgotten while other parents' stay.
    fn depend_key(&mut self, parent: ThreadId, addr: u64) -> u64 {
        let next = &mut self.next_depend;
        *self
            .depend_keys
            .entry(parent)
            .or_default()
            .entry(addr)
            .or_insert_with(|| {
                *next += 1;
                *next
            })
    }

    /// Drops a spawn once its call returned and no block of it is left.
    fn retire_spawn(&mut self, id: u64, engine: &mut Engine) {
        if self
            .spawns
            .get(&id)
            .is_some_and(|s| !s.open && s.blocks_left == 0)
        {
            self.spawns.remove(&id);
            engine.sync_forget(key(SPAWN, id));
        }
    }
}

/// The part of the stack below `sp` a task body owns.
fn own_stack(sp: u64) -> (u64, u64) {
    let low = sp.saturating_sub(TASK_STACK);
    (low, sp - low)
}

/// Decodes libgomp's `depend` array (both of its layouts; see
/// `gomp_task_handle_depend`).
fn read_depends(guest: &dyn GuestMemory, d: u64) -> Vec<Depend> {
    let word = |i: u64| guest.read_u64(d.wrapping_add(8 * i));
    let mut out = Vec::new();
    let Some(first) = word(0) else {
        return out;
    };
    if first != 0 {
        // [n, nout, addr...]: the first nout are out/inout.
        let n = first.min(MAX_DEPENDS);
        let nout = word(1).unwrap_or(0);
        for i in 0..n {
            if let Some(addr) = word(2 + i) {
                out.push(Depend {
                    addr,
                    is_in: i >= nout,
                });
            }
        }
        return out;
    }
    // [0, n, nout, nmutexinoutset, nin, addr..., depobj...]
    let n = word(1).unwrap_or(0).min(MAX_DEPENDS);
    let nout = word(2).unwrap_or(0);
    let nmutex = word(3).unwrap_or(0);
    let nin = word(4).unwrap_or(0);
    let normal = nout.saturating_add(nmutex).saturating_add(nin).min(n);
    for i in 0..n {
        let Some(v) = word(5 + i) else { continue };
        if i < normal {
            out.push(Depend {
                addr: v,
                is_in: i >= nout + nmutex,
            });
        } else if let (Some(addr), Some(kind)) =
            (guest.read_u64(v), guest.read_u64(v.wrapping_add(8)))
        {
            out.push(Depend {
                addr,
                is_in: kind == DEPEND_IN,
            });
        }
    }
    out
}
