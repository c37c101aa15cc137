//! The scheduler: who holds the big lock next, and for how long
//! (ARCHITECTURE.md decision 10; papers/scheduling.md, papers/schedules.md).
//!
//! One guest thread runs translated code at a time: it holds `BIG`, the
//! mutex around the `Dispatcher`. With a fair policy a thread takes `BIG`
//! only when the scheduler has *granted* it its turn: a thread asks by
//! joining the queue (`enqueue`, which gives it a `Ticket`) and waits for
//! its ticket to be granted (`lock_with`); the holder, when it lets go
//! (`BigGuard`'s drop), asks the `Policy` which waiting ticket goes next
//! and wakes that thread. A FIFO ticket lock can only serve the next
//! ticket; here the policy may choose any waiting thread, which is what
//! PCT and replay need.
//!
//! Policies:
//! - `Unfair` (`--fair-sched=no`): no queue; whoever locks `BIG` first runs.
//! - `Fifo` (the default): the earliest ticket goes next.
//! - `Seeded` (`--sched-seed=N`): FIFO, and timeslices are counted in
//!   blocks, thread *t*'s *n*-th slice being `slice_of(seed, t, n)`.
//! - `Pct` (`--sched=pct`): the waiting thread of highest priority goes
//!   next; priorities are drawn from the seed and change at `depth - 1`
//!   change points (steps are blocks; `Pct`).
//! - `Replay` (`--sched-replay=FILE`): grants and slices as a recorded run
//!   had them, until the run diverges; then `Seeded` with the file's seed.
//!
//! `--sched-record=FILE` writes every grant (`g T`) and every slice drawn
//! (`s T N`) as it is decided, so the file is whole even if the process
//! dies.
//!
//! # Invariants
//! - `State::granted` is the ticket that holds `BIG` or is about to take
//!   it; `None` means `BIG` is free. While `granted` is `None`, `waiting`
//!   is empty, except during a replay while `State::wanted` names the
//!   thread the recording runs next (it gets the grant when it asks).
//! - Only the holder of `BIG` draws slices, and grants are decided under
//!   `SCHED` by the holder letting go (or by the asker when `BIG` is free),
//!   so the recorded events are in the order they happened.
//! - `TURN` always equals the last granted ticket; waiters sleep on it.
//! - Tickets are never 0 and increase (wrapping past 0), so a stale
//!   `TURN` never names a new ticket before about 2^32 grants.
//! - `SCHED` and the runtime's `ForkLock` are held across fork-like
//!   syscalls (`around_fork`), so a fork child never inherits them locked
//!   by a thread it does not have.
//!
//! `State::check` `debug_assert`s the first invariant after each change.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::arch::ThreadState;
use crate::dispatch::Dispatcher;
use crate::{Log, Schedule, SchedulePolicy, ThreadNum};

/// The big lock and everything it protects.
static BIG: Mutex<Option<Dispatcher>> = Mutex::new(None);
/// The scheduler's own state (never held while waiting for a turn).
static SCHED: Mutex<Option<State>> = Mutex::new(None);
/// The last granted ticket (see the invariants).
static TURN: AtomicU32 = AtomicU32::new(0);
/// Whether threads queue for turns (every policy but `Unfair`).
static FAIR: AtomicBool = AtomicBool::new(true);
/// Whether slices are counted in blocks (`Seeded`, `Pct`, `Replay`).
static DETERMINISTIC: AtomicBool = AtomicBool::new(false);
/// Whether the run follows a recording: waiters then wake every 100 ms to
/// check that the thread the recording wants does come (`check_patience`).
/// Always, not only while `State::wanted` is set: a waiter that looked
/// before it was set would otherwise sleep with no one to wake it.
static REPLAYING: AtomicBool = AtomicBool::new(false);

/// Mean timeslice of a seeded schedule, in blocks.
const MEAN_SLICE_BLOCKS: u64 = 10_000;
/// The longest PCT slice, in blocks: how long a thread that came back from
/// a blocking syscall may wait before a higher-priority one is noticed.
const PCT_MAX_SLICE: u64 = 1_000;
/// Blocks a PCT thread may run in a row while others wait before it drops
/// below every other thread (so a spin wait on a lower thread ends).
const PCT_STARVE_STEPS: u64 = 200_000;
/// How long a replay waits for the thread its recording runs next.
const REPLAY_PATIENCE_MS: u64 = 2_000;

/// A thread's place in the queue for the big lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u32);

/// Holds the big lock; letting go hands the turn to the next thread.
pub(crate) struct BigGuard(Option<MutexGuard<'static, Option<Dispatcher>>>);

impl BigGuard {
    pub(crate) fn dispatcher(&mut self) -> &mut Dispatcher {
        self.0
            .as_mut()
            .and_then(|g| g.as_mut())
            .expect("the dispatcher exists once a thread runs")
    }

    /// Puts the dispatcher in place (once, at takeover).
    pub(crate) fn install(&mut self, d: Dispatcher) {
        if let Some(g) = self.0.as_mut() {
            **g = Some(d);
        }
    }
}

impl Drop for BigGuard {
    fn drop(&mut self) {
        drop(self.0.take());
        if FAIR.load(Ordering::Relaxed) {
            with_state(State::let_go);
        }
    }
}

/// One scheduling decision, as `--sched-record` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleEvent {
    /// `g T`: thread `T` gets the big lock.
    Grant(ThreadNum),
    /// `s T N`: thread `T` runs `N` blocks before its slice is over.
    Slice(ThreadNum, u64),
}

/// A schedule file read for `--sched-replay`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSchedule {
    pub path: String,
    /// The policy of the recorded run (`fifo` never: it cannot replay).
    pub header: RecordedPolicy,
    pub events: Vec<ScheduleEvent>,
}

/// The policy a schedule file was recorded with (its first line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordedPolicy {
    Seeded { seed: u64 },
    Pct { seed: u64, depth: u32, steps: u64 },
}

/// A bad `--sched-replay` or `--sched-record` file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleFileError {
    #[error("--sched-replay={file}: cannot read it ({reason})")]
    Read { file: String, reason: String },
    #[error("--sched-record={file}: cannot create it ({reason})")]
    Create { file: String, reason: String },
    #[error(
        "--sched-replay={file}:{line}: {what}; the file must be one written by --sched-record"
    )]
    Syntax {
        file: String,
        line: usize,
        what: String,
    },
}

const HEADER: &str = "hbgrind-schedule 1";

impl RecordedPolicy {
    fn header_line(self) -> String {
        match self {
            RecordedPolicy::Seeded { seed } => format!("{HEADER} seeded seed={seed}"),
            RecordedPolicy::Pct { seed, depth, steps } => {
                format!("{HEADER} pct seed={seed} depth={depth} steps={steps}")
            }
        }
    }

    fn seed(self) -> u64 {
        match self {
            RecordedPolicy::Seeded { seed } | RecordedPolicy::Pct { seed, .. } => seed,
        }
    }
}

impl RecordedSchedule {
    /// Reads and parses the schedule file at `path`.
    pub fn load(path: &str) -> Result<RecordedSchedule, ScheduleFileError> {
        let fd =
            crate::os::linux::open(path.as_bytes(), 0, 0).map_err(|e| ScheduleFileError::Read {
                file: path.into(),
                reason: e.open_error_text(),
            })?;
        crate::os::linux::close(fd);
        let text = crate::os::linux::read_file(path.as_bytes());
        RecordedSchedule::parse(path, &String::from_utf8_lossy(&text))
    }

    /// Parses a schedule file's text (`path` names it in errors).
    pub fn parse(path: &str, text: &str) -> Result<RecordedSchedule, ScheduleFileError> {
        let syntax = |line: usize, what: &str| ScheduleFileError::Syntax {
            file: path.into(),
            line,
            what: what.into(),
        };
        let mut lines = text.lines().enumerate();
        let first = lines.next().map_or("", |(_, l)| l);
        let rest = first
            .strip_prefix(HEADER)
            .ok_or_else(|| syntax(1, &format!("the first line must start with '{HEADER}'")))?;
        let mut words = rest.split_whitespace();
        let kind = words.next().unwrap_or("");
        let mut field = |name: &str| -> Result<u64, ScheduleFileError> {
            words
                .next()
                .and_then(|w| w.strip_prefix(name))
                .and_then(|w| w.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| syntax(1, &format!("expected {name}=N in the header")))
        };
        let header = match kind {
            "seeded" => RecordedPolicy::Seeded {
                seed: field("seed")?,
            },
            "pct" => RecordedPolicy::Pct {
                seed: field("seed")?,
                depth: u32::try_from(field("depth")?).map_err(|_| syntax(1, "depth too large"))?,
                steps: field("steps")?,
            },
            _ => return Err(syntax(1, "the header names no policy (seeded or pct)")),
        };
        let mut events = Vec::new();
        for (i, line) in lines {
            let n = i + 1;
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |w: &str| w.parse::<u64>().ok();
            let event = match words[..] {
                [] => continue,
                ["g", t] => num(t)
                    .and_then(|t| u32::try_from(t).ok())
                    .map(ScheduleEvent::Grant),
                ["s", t, b] => match (num(t).and_then(|t| u32::try_from(t).ok()), num(b)) {
                    (Some(t), Some(b)) if b > 0 => Some(ScheduleEvent::Slice(t, b)),
                    _ => None,
                },
                _ => None,
            };
            events.push(event.ok_or_else(|| {
                syntax(
                    n,
                    &format!("'{line}' is not 'g THREAD' or 's THREAD BLOCKS'"),
                )
            })?);
        }
        Ok(RecordedSchedule {
            path: path.into(),
            header,
            events,
        })
    }
}

/// Opens (creates, truncates) a `--sched-record` file.
pub fn create_record(path: &str) -> Result<i32, ScheduleFileError> {
    const O_WRONLY_CREAT_TRUNC_CLOEXEC: u64 = 0o1 | 0o100 | 0o1000 | 0o2000000;
    crate::os::linux::open(path.as_bytes(), O_WRONLY_CREAT_TRUNC_CLOEXEC, 0o644).map_err(|e| {
        ScheduleFileError::Create {
            file: path.into(),
            reason: e.open_error_text(),
        }
    })
}

/// Who goes next (see the module doc).
enum Policy {
    Unfair,
    Fifo,
    Seeded { seed: u64 },
    Pct(Pct),
    Replay(Replay),
}

/// PCT (Burckhardt et al., ASPLOS 2010; papers/schedules.md): the
/// waiting thread of highest priority runs. A *step* is one block run by
/// any guest thread (a count of the slice countdown).
struct Pct {
    seed: u64,
    depth: u32,
    /// `--pct-steps`: the change points are drawn from 1..=total.
    total: u64,
    /// Steps run so far, over all threads.
    steps: u64,
    /// The change points not passed yet, soonest first: at step `.0` the
    /// running thread's priority becomes `.1` (1..depth-1, below every
    /// initial priority).
    change_points: Vec<(u64, i64)>,
    /// Each thread's priority, by thread number.
    priorities: Vec<(ThreadNum, i64)>,
    /// Priorities handed to starving threads: below everything so far.
    lowest: i64,
    /// The slice given to the running thread when it took the lock.
    given: u64,
    /// The thread that ran last, and the steps it ran in a row while
    /// another thread waited.
    last: Option<ThreadNum>,
    in_a_row: u64,
}

/// Following a recorded schedule.
struct Replay {
    schedule: RecordedSchedule,
    /// The next event to follow.
    next: usize,
}

struct Waiting {
    ticket: Ticket,
    thread: ThreadNum,
}

struct State {
    policy: Policy,
    granted: Option<Ticket>,
    waiting: Vec<Waiting>,
    last_ticket: u32,
    /// Replay: the thread the recording runs next, not yet asking, and
    /// since when (CLOCK_MONOTONIC seconds, nanoseconds).
    wanted: Option<(ThreadNum, [u64; 2])>,
    /// Threads that ever asked, and those that exited (replay checks).
    known: Vec<ThreadNum>,
    exited: Vec<ThreadNum>,
    /// `--sched-record`: where events go.
    record: Option<i32>,
    log: Log,
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut g = SCHED.lock().unwrap_or_else(|p| p.into_inner());
    f(g.as_mut().expect("the scheduler is configured at takeover"))
}

/// Sets the policy from the options (once, at takeover, one thread).
pub(crate) fn configure(schedule: &Schedule, log: Log) {
    let policy = if let Some(replay) = &schedule.replay {
        Policy::Replay(Replay {
            schedule: replay.clone(),
            next: 0,
        })
    } else {
        match (schedule.policy, schedule.seed) {
            (SchedulePolicy::Pct { depth, steps }, seed) => {
                Policy::Pct(Pct::new(seed.unwrap_or(0), depth, steps))
            }
            (_, Some(seed)) => Policy::Seeded { seed },
            (_, None) if schedule.fair => Policy::Fifo,
            (_, None) => Policy::Unfair,
        }
    };
    FAIR.store(!matches!(policy, Policy::Unfair), Ordering::Relaxed);
    REPLAYING.store(matches!(policy, Policy::Replay(_)), Ordering::Relaxed);
    DETERMINISTIC.store(
        matches!(
            policy,
            Policy::Seeded { .. } | Policy::Pct(_) | Policy::Replay(_)
        ),
        Ordering::Relaxed,
    );
    let state = State {
        policy,
        granted: None,
        waiting: Vec::new(),
        last_ticket: 0,
        wanted: None,
        known: Vec::new(),
        exited: Vec::new(),
        record: schedule.record_fd,
        log,
    };
    if let Some(header) = state.recorded_policy() {
        state.write(&header.header_line());
    }
    *SCHED.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
}

/// Whether timeslices are counted in blocks (`--sched-seed`, PCT, replay):
/// translated blocks then count down the slice, and only syscalls that
/// may wait for another thread let go of the big lock.
pub(crate) fn deterministic() -> bool {
    DETERMINISTIC.load(Ordering::Relaxed)
}

/// Whether threads queue for their turns (every policy but `--fair-sched=no`).
pub(crate) fn fair() -> bool {
    FAIR.load(Ordering::Relaxed)
}

/// Takes the big lock for `thread`, queueing for it with a fair policy.
pub(crate) fn lock(thread: ThreadNum) -> BigGuard {
    if !fair() {
        return BigGuard(Some(BIG.lock().unwrap_or_else(|p| p.into_inner())));
    }
    lock_with(enqueue(thread))
}

/// Queues `thread` for the big lock now, to take it later with `lock_with`
/// (a yielding thread queues before it lets go; a creator queues its new
/// thread, so threads queue in creation order). Fair policies only.
pub(crate) fn enqueue(thread: ThreadNum) -> Ticket {
    with_state(|s| s.enqueue(thread))
}

/// Takes the big lock with a ticket from `enqueue`, once it is granted.
pub(crate) fn lock_with(ticket: Ticket) -> BigGuard {
    loop {
        let turn = TURN.load(Ordering::Acquire);
        if turn == ticket.0 {
            break;
        }
        if REPLAYING.load(Ordering::Relaxed) {
            // A replay may wait for a thread that never asks.
            crate::os::linux::futex_wait_for(&TURN, turn, 100);
            with_state(|s| s.check_patience());
        } else {
            crate::os::linux::futex_wait(&TURN, turn);
        }
    }
    BigGuard(Some(BIG.lock().unwrap_or_else(|p| p.into_inner())))
}

/// A thread's first slice, drawn when it first holds the lock.
pub(crate) fn thread_starts(ts: &ThreadState) {
    if deterministic() {
        with_state(|s| s.draw(ts, Draw::Start));
    }
}

/// The running thread (just given the lock) is about to run guest code.
pub(crate) fn runs(ts: &ThreadState) {
    if deterministic() {
        with_state(|s| s.draw(ts, Draw::Run));
    }
}

/// The running thread's slice is over (a `YIELD` exit): its next one.
pub(crate) fn slice_over(ts: &mut ThreadState) {
    ts.events.slices += 1;
    if deterministic() {
        with_state(|s| s.draw(ts, Draw::SliceOver));
    }
}

/// The running thread is about to let go of the lock (PCT counts its steps).
pub(crate) fn stops(ts: &ThreadState) {
    if deterministic() {
        with_state(|s| {
            if let Policy::Pct(p) = &mut s.policy {
                p.ran(ts.events.num, p.given.saturating_sub(ts.slice()));
                p.given = ts.slice();
            }
        });
    }
}

/// `thread` exits (after its last turn).
pub(crate) fn thread_exits(thread: ThreadNum) {
    if fair() {
        with_state(|s| s.exited.push(thread));
    }
}

/// The runtime's own lock held across fork-like syscalls (`Config::fork_lock`).
static FORK_LOCK: OnceLock<crate::ForkLock> = OnceLock::new();

pub(crate) fn set_fork_lock(lock: crate::ForkLock) {
    let _ = FORK_LOCK.set(lock);
}

/// Runs `fork` (a fork-like syscall) holding the scheduler's state and the
/// runtime's fork lock, so a thread queueing or allocating at that moment
/// cannot leave either locked in the child, where no thread would unlock it.
/// `fork` must not allocate.
pub(crate) fn around_fork<R>(fork: impl FnOnce() -> R) -> R {
    let _held = SCHED.lock().unwrap_or_else(|p| p.into_inner());
    let lock = FORK_LOCK.get();
    if let Some(lock) = lock {
        (lock.acquire)();
    }
    let r = fork();
    if let Some(lock) = lock {
        (lock.release)();
    }
    r
}

/// In a fork child only the forking thread exists, and it holds the lock:
/// the queue of the others is void, and the child neither records nor
/// replays (the parent's file is the parent's).
pub(crate) fn reset_after_fork() {
    if !fair() {
        return;
    }
    with_state(|s| {
        s.waiting.clear();
        s.wanted = None;
        s.record = None;
        if let Policy::Replay(r) = &s.policy {
            s.policy = Policy::Seeded {
                seed: r.schedule.header.seed(),
            };
        }
    });
}

/// Where a slice is drawn (each policy draws at some of these).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Draw {
    Start,
    Run,
    SliceOver,
}

impl State {
    fn write(&self, line: &str) {
        if let Some(fd) = self.record {
            let _ = crate::os::linux::write_all(fd, format!("{line}\n").as_bytes());
        }
    }

    fn recorded_policy(&self) -> Option<RecordedPolicy> {
        self.record?;
        match &self.policy {
            Policy::Seeded { seed } => Some(RecordedPolicy::Seeded { seed: *seed }),
            Policy::Pct(p) => Some(RecordedPolicy::Pct {
                seed: p.seed,
                depth: p.depth,
                steps: p.total,
            }),
            Policy::Replay(r) => Some(r.schedule.header),
            Policy::Fifo | Policy::Unfair => None,
        }
    }

    fn enqueue(&mut self, thread: ThreadNum) -> Ticket {
        self.last_ticket = self.last_ticket.wrapping_add(1).max(1);
        let ticket = Ticket(self.last_ticket);
        if !self.known.contains(&thread) {
            self.known.push(thread);
            if let Policy::Pct(p) = &mut self.policy {
                p.first_seen(thread);
            }
        }
        if self.granted.is_none() && self.wanted.is_none() {
            // The lock is free and no one was chosen yet (the first turn,
            // or a replay's first grant): a replay names who goes.
            if let Some(t) = self.replay_wants() {
                self.wanted = Some((t, crate::os::linux::clock_now(1)));
            }
        }
        let wanted_here = match self.wanted {
            None => true,
            Some((t, _)) => t == thread,
        };
        if self.granted.is_none() && wanted_here {
            self.wanted = None;
            self.grant(ticket, thread);
        } else {
            self.waiting.push(Waiting { ticket, thread });
        }
        self.check();
        ticket
    }

    fn check(&self) {
        debug_assert!(
            self.granted.is_some() || self.waiting.is_empty() || self.wanted.is_some(),
            "the big lock is free while threads wait and no replay waits for one"
        );
    }

    /// The holder let go of the big lock: the next waiting thread's turn.
    fn let_go(&mut self) {
        self.granted = None;
        if self.waiting.is_empty() {
            // The lock is free; with a replay the recording's next grant
            // is checked when a thread asks.
            if let Some(thread) = self.replay_wants() {
                self.wanted = Some((thread, crate::os::linux::clock_now(1)));
            }
            return;
        }
        let i = match self.replay_wants() {
            Some(thread) => match self.waiting.iter().position(|w| w.thread == thread) {
                Some(i) => i,
                None => {
                    self.wanted = Some((thread, crate::os::linux::clock_now(1)));
                    return;
                }
            },
            None => self.choose(),
        };
        let w = self.waiting.remove(i);
        self.grant(w.ticket, w.thread);
        self.check();
    }

    /// With a replay that has not diverged: the thread its next grant
    /// names (or `None`, having diverged, when that cannot be followed).
    fn replay_wants(&mut self) -> Option<ThreadNum> {
        let Policy::Replay(r) = &self.policy else {
            return None;
        };
        let step = r.next + 1;
        match r.schedule.events.get(r.next) {
            Some(&ScheduleEvent::Grant(t)) if self.exited.contains(&t) => {
                self.diverge(step, &format!("thread {t} runs next, but it has exited"));
                None
            }
            Some(&ScheduleEvent::Grant(t))
                if !self.known.contains(&t) && !self.waiting.iter().any(|w| w.thread == t) =>
            {
                self.diverge(
                    step,
                    &format!("thread {t} runs next, but the program has no such thread"),
                );
                None
            }
            Some(&ScheduleEvent::Grant(t)) => Some(t),
            Some(ScheduleEvent::Slice(t, _)) => {
                self.diverge(
                    step,
                    &format!("thread {t}'s slice comes next, but a thread let go of the lock"),
                );
                None
            }
            None => {
                self.diverge(step, "the recording ends");
                None
            }
        }
    }

    /// A waiter's periodic check during a replay: the wanted thread did
    /// not ask in time, so the run has diverged; someone else goes.
    fn check_patience(&mut self) {
        let Some((thread, since)) = self.wanted else {
            return;
        };
        let now = crate::os::linux::clock_now(1);
        let ms = (now[0].saturating_sub(since[0]) * 1000 + now[1] / 1_000_000)
            .saturating_sub(since[1] / 1_000_000);
        if ms < REPLAY_PATIENCE_MS || self.granted.is_some() {
            return;
        }
        self.wanted = None;
        let step = match &self.policy {
            Policy::Replay(r) => r.next + 1,
            _ => 0,
        };
        self.diverge(
            step,
            &format!(
                "thread {thread} runs next, but it did not ask for its turn within {} s",
                REPLAY_PATIENCE_MS / 1000
            ),
        );
        if !self.waiting.is_empty() {
            let i = self.choose();
            let w = self.waiting.remove(i);
            self.grant(w.ticket, w.thread);
        }
    }

    /// The waiting thread the (non-replay) policy runs next.
    fn choose(&self) -> usize {
        match &self.policy {
            Policy::Pct(p) => p.choose(&self.waiting),
            _ => 0,
        }
    }

    fn grant(&mut self, ticket: Ticket, thread: ThreadNum) {
        self.granted = Some(ticket);
        if let Policy::Replay(r) = &mut self.policy {
            r.next += 1;
        }
        if let Policy::Pct(p) = &mut self.policy {
            let others = !self.waiting.is_empty();
            p.granted(thread, others);
        }
        self.write(&format!("g {thread}"));
        TURN.store(ticket.0, Ordering::Release);
        crate::os::linux::futex_wake_all(&TURN);
    }

    /// Sets the running thread's slice where its policy draws one.
    fn draw(&mut self, ts: &ThreadState, at: Draw) {
        let thread = ts.events.num;
        let n = ts.events.slices;
        let slice = match &mut self.policy {
            Policy::Seeded { seed } if at != Draw::Run => slice_of(*seed, thread, n),
            Policy::Pct(p) if at != Draw::Start => {
                if at == Draw::SliceOver {
                    // The whole slice ran (the countdown reached 0).
                    p.ran(thread, p.given);
                }
                let slice = p.next_slice();
                p.given = slice;
                slice
            }
            Policy::Replay(r) => {
                let draws = match r.schedule.header {
                    RecordedPolicy::Seeded { .. } => at != Draw::Run,
                    RecordedPolicy::Pct { .. } => at != Draw::Start,
                };
                if !draws {
                    return;
                }
                let step = r.next + 1;
                match r.schedule.events.get(r.next) {
                    Some(&ScheduleEvent::Slice(t, blocks)) if t == thread => {
                        r.next += 1;
                        blocks
                    }
                    other => {
                        let what = match other {
                            Some(ScheduleEvent::Slice(t, _)) => {
                                format!(
                                    "thread {t}'s slice comes next, but thread {thread} draws one"
                                )
                            }
                            Some(ScheduleEvent::Grant(t)) => {
                                format!("thread {t} runs next, but thread {thread} draws a slice")
                            }
                            None => "the recording ends".into(),
                        };
                        self.diverge(step, &what);
                        let Policy::Seeded { seed } = self.policy else {
                            unreachable!("a diverged replay is seeded")
                        };
                        slice_of(seed, thread, n)
                    }
                }
            }
            _ => return,
        };
        ts.set_slice(slice);
        self.write(&format!("s {thread} {slice}"));
    }

    /// The replay cannot be followed from `step` on: say so once, and go on
    /// with the recording's seed.
    fn diverge(&mut self, step: usize, what: &str) {
        let Policy::Replay(r) = &self.policy else {
            return;
        };
        let seed = r.schedule.header.seed();
        self.log.line(&format!(
            "hbgrind: warning: --sched-replay={}: the run diverged from the recorded schedule at step {step} (line {}: {what}); going on with --sched-seed={seed}",
            r.schedule.path,
            step + 1
        ));
        self.policy = Policy::Seeded { seed };
    }
}

impl Pct {
    fn new(seed: u64, depth: u32, steps: u64) -> Pct {
        let depth = depth.max(1);
        let steps = steps.max(1);
        // d-1 change points uniform in 1..=steps; the i-th gets priority i.
        let mut change_points: Vec<(u64, i64)> = (1..depth)
            .map(|i| {
                let at = 1 + splitmix(seed ^ 0x5043_5400_0000_0000 ^ u64::from(i)) % steps;
                (at, i64::from(i))
            })
            .collect();
        change_points.sort_unstable();
        Pct {
            seed,
            depth,
            total: steps,
            steps: 0,
            change_points,
            priorities: Vec::new(),
            lowest: 0,
            given: 0,
            last: None,
            in_a_row: 0,
        }
    }

    /// A new thread's initial priority: above every change point's, drawn
    /// from the seed and the thread number (ties go to the lower number).
    fn first_seen(&mut self, thread: ThreadNum) {
        let draw = splitmix(self.seed ^ (u64::from(thread) << 32)) % (1 << 40);
        let priority = i64::from(self.depth) + draw as i64;
        tracing::debug!(thread, priority, "pct priority");
        self.priorities.push((thread, priority));
    }

    fn priority(&self, thread: ThreadNum) -> i64 {
        self.priorities
            .iter()
            .find(|p| p.0 == thread)
            .map_or(0, |p| p.1)
    }

    fn set_priority(&mut self, thread: ThreadNum, priority: i64) {
        match self.priorities.iter_mut().find(|p| p.0 == thread) {
            Some(p) => p.1 = priority,
            None => self.priorities.push((thread, priority)),
        }
    }

    /// `thread` ran `blocks` more steps: pass the change points reached.
    fn ran(&mut self, thread: ThreadNum, blocks: u64) {
        self.steps += blocks;
        self.in_a_row += blocks;
        while let Some(&(at, priority)) = self.change_points.first() {
            if at > self.steps {
                break;
            }
            tracing::debug!(thread, step = self.steps, priority, "pct change point");
            self.set_priority(thread, priority);
            self.change_points.remove(0);
        }
    }

    /// The next slice: up to the next change point, at most `PCT_MAX_SLICE`.
    fn next_slice(&self) -> u64 {
        let to_change = self
            .change_points
            .first()
            .map_or(u64::MAX, |&(at, _)| at.saturating_sub(self.steps));
        to_change.clamp(1, PCT_MAX_SLICE)
    }

    fn choose(&self, waiting: &[Waiting]) -> usize {
        let mut best = 0;
        for (i, w) in waiting.iter().enumerate() {
            let (p, b) = (self.priority(w.thread), self.priority(waiting[best].thread));
            if p > b || (p == b && w.thread < waiting[best].thread) {
                best = i;
            }
        }
        best
    }

    /// `thread` got the lock; `others` says whether anyone else waits. A
    /// thread that keeps the lock too long while others wait (a spin
    /// wait on one of them) drops below every thread.
    fn granted(&mut self, thread: ThreadNum, others: bool) {
        if self.last != Some(thread) || !others {
            self.last = Some(thread);
            self.in_a_row = 0;
            return;
        }
        if self.in_a_row >= PCT_STARVE_STEPS {
            self.lowest -= 1;
            tracing::debug!(thread, priority = self.lowest, "pct: starving the others");
            let lowest = self.lowest;
            self.set_priority(thread, lowest);
            self.in_a_row = 0;
        }
    }
}

/// The `n`th timeslice of thread `thread` in a seeded schedule (splitmix64
/// of the seed, the thread number and `n`): each thread has its own
/// sequence, so the order in which threads draw does not matter.
fn slice_of(seed: u64, thread: ThreadNum, n: u64) -> u64 {
    let z = splitmix(seed ^ (u64::from(thread) << 40) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    1 + z % (2 * MEAN_SLICE_BLOCKS)
}

/// The splitmix64 finaliser.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_slices_are_those_of_before() {
        // The values --sched-seed gave before the scheduler had its module.
        let old = |seed: u64, thread: u32, n: u64| {
            let mut z = seed ^ (u64::from(thread) << 40) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            1 + z % 20_000
        };
        for (s, t, n) in [(1, 1, 0), (7, 2, 5), (u64::MAX, 9, 1000)] {
            assert_eq!(slice_of(s, t, n), old(s, t, n));
        }
    }

    #[test]
    fn pct_has_depth_minus_one_change_points_with_low_priorities() {
        let mut p = Pct::new(5, 3, 1000);
        assert_eq!(p.change_points.len(), 2);
        assert!(p.change_points.iter().all(|c| (1..=1000).contains(&c.0)));
        p.first_seen(1);
        p.first_seen(2);
        assert!(p.priority(1) >= 3 && p.priority(2) >= 3);
        let waiting = [
            Waiting {
                ticket: Ticket(1),
                thread: 1,
            },
            Waiting {
                ticket: Ticket(2),
                thread: 2,
            },
        ];
        let top = waiting[p.choose(&waiting)].thread;
        // Run the top thread past both change points: it ends below the other.
        p.ran(top, 1000);
        assert!(p.change_points.is_empty());
        assert!(p.priority(top) < 3);
        assert_ne!(waiting[p.choose(&waiting)].thread, top);
    }

    #[test]
    fn pct_slices_end_at_change_points() {
        let mut p = Pct::new(1, 2, 100_000);
        let at = p.change_points[0].0;
        let mut runs = 0;
        while !p.change_points.is_empty() {
            let s = p.next_slice();
            assert!((1..=PCT_MAX_SLICE).contains(&s));
            p.ran(1, s);
            runs += 1;
        }
        assert_eq!(p.steps, at, "the slice stops exactly at the change point");
        assert!(runs >= 1);
    }

    #[test]
    fn schedule_files_parse_and_bad_ones_name_the_line() {
        let f = RecordedSchedule::parse(
            "f",
            "hbgrind-schedule 1 pct seed=3 depth=2 steps=500\ng 1\ns 1 40\n\ng 2\n",
        )
        .unwrap();
        assert_eq!(
            f.header,
            RecordedPolicy::Pct {
                seed: 3,
                depth: 2,
                steps: 500
            }
        );
        assert_eq!(
            f.events,
            [
                ScheduleEvent::Grant(1),
                ScheduleEvent::Slice(1, 40),
                ScheduleEvent::Grant(2)
            ]
        );
        let err =
            RecordedSchedule::parse("f", "hbgrind-schedule 1 seeded seed=1\ng 1\nx\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "--sched-replay=f:3: 'x' is not 'g THREAD' or 's THREAD BLOCKS'; the file must be one written by --sched-record"
        );
        assert!(RecordedSchedule::parse("f", "hello\n").is_err());
        assert!(RecordedSchedule::parse("f", "hbgrind-schedule 1 seeded\n").is_err());
        assert!(RecordedSchedule::parse("f", "hbgrind-schedule 1 seeded seed=1\ns 1 0\n").is_err());
    }
}
