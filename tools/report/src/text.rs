//! Helgrind's text format: every line starts `==PID== `, errors are
//! preceded by the announcements of threads not yet announced and by a
//! separator, and the run ends with `ERROR SUMMARY`.
//!
//! The wording and layout are Helgrind's (valgrind 3.19, `hg_errors.c`),
//! byte for byte where we have the same information; the differences are
//! listed in papers/suppressions.md ("Where we differ") and below:
//! - `Locks held: unknown` when the engine no longer knows the lock set.
//! - A lock-order cycle through several locks prints the two ends of the
//!   required path (Helgrind only reports direct edges).
//! - `DestroyLocked` prints `destroy of a locked lock at 0x…` (the engine
//!   does not say whether it was a mutex or a rwlock).
//!
//! # Invariants
//! - A thread is announced at most once per `TextReporter` (`announced`).
//! - Every function here writes whole lines and hands each error to the
//!   writer in one `write_all` (the runtime's raw `write(2)` sink then
//!   emits it with as few system calls as the kernel allows).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io;

use hb_engine::{AccessKind, LockOrderViolation, Misuse, MisuseKind, Race, Report};

use crate::fatal::FatalSignalInfo;
use crate::model::{AddressDescription, ErrorRecord, Frame, Stack, ThreadAnnouncement};
use crate::suppressions::{GeneratedSuppression, SuppressionSet};

const THREAD_ANNOUNCEMENT: &str =
    "---Thread-Announcement------------------------------------------";
const SEPARATOR: &str = "----------------------------------------------------------------";

/// `ERROR SUMMARY` figures, as `ErrorLog::counts` keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Occurrences of errors shown, duplicates included.
    pub errors: u64,
    /// Distinct errors shown.
    pub contexts: u64,
    /// Occurrences of suppressed errors.
    pub suppressed: u64,
    /// Distinct suppressed errors.
    pub suppressed_contexts: u64,
}

/// Writes errors in Helgrind's text format for one process.
#[derive(Clone, Debug)]
pub struct TextReporter {
    pid: u32,
    /// `--time-stamp=yes`: the start of the run; lines then begin
    /// `==DD:HH:MM:SS.mmm PID== `, as Valgrind's.
    started: Option<std::time::Instant>,
    threads: HashMap<u32, ThreadAnnouncement>,
    announced: BTreeSet<u32>,
}

impl TextReporter {
    pub fn new(pid: u32) -> Self {
        TextReporter {
            pid,
            started: None,
            threads: HashMap::new(),
            announced: BTreeSet::new(),
        }
    }

    /// Time-stamps every line from now on with the time since `started`.
    pub fn set_time_stamp(&mut self, started: std::time::Instant) {
        self.started = Some(started);
    }

    /// `==PID== `, or `==00:00:00:01.234 PID== ` with time stamps.
    pub fn prefix(&self) -> String {
        self.prefix_with('=')
    }

    fn prefix_with(&self, c: char) -> String {
        match self.started {
            Some(t) => format!(
                "{c}{c}{}{}{c}{c} ",
                crate::xml::format_elapsed(t.elapsed()),
                self.pid
            ),
            None => format!("{c}{c}{}{c}{c} ", self.pid),
        }
    }

    /// Records how thread `number` came to be, for its announcement.
    /// Thread #1 is the root thread unless told otherwise.
    pub fn add_thread(&mut self, number: u32, announcement: ThreadAnnouncement) {
        self.threads.insert(number, announcement);
    }

    /// The start of the run: each line (tool name, version, `Command: …`)
    /// behind the prefix, then a blank line.
    pub fn preamble(&self, out: &mut dyn io::Write, lines: &[String]) -> io::Result<()> {
        out.write_all(self.preamble_text(lines).as_bytes())
    }

    pub fn preamble_text(&self, lines: &[String]) -> String {
        let mut text = Lines::default();
        for l in lines {
            text.push(l.as_str());
        }
        text.blank();
        text.render(&self.prefix())
    }

    /// Writes `err`: announcements of its threads not yet announced, the
    /// separator, the error and a blank line.
    pub fn error(&mut self, out: &mut dyn io::Write, err: &ErrorRecord) -> io::Result<()> {
        out.write_all(self.error_text(err).as_bytes())
    }

    /// `error` into a string.
    pub fn error_text(&mut self, err: &ErrorRecord) -> String {
        let mut lines = Lines::default();
        for t in err.threads() {
            if self.announced.insert(t) {
                self.announcement(&mut lines, t);
            }
        }
        lines.push(SEPARATOR);
        lines.blank();
        match &err.report {
            Report::Race(r) => race(&mut lines, err, r),
            Report::LockOrder(l) => lock_order(&mut lines, err, l),
            Report::Misuse(m) => misuse(&mut lines, err, m),
        }
        lines.blank();
        lines.render(&self.prefix())
    }

    /// A generated suppression, printed as Valgrind prints it: raw, no prefix.
    pub fn suppression(
        &self,
        out: &mut dyn io::Write,
        generated: &GeneratedSuppression,
    ) -> io::Result<()> {
        out.write_all(generated.to_text().as_bytes())
    }

    /// The end of the run: a blank line and `ERROR SUMMARY`; with `verbose`,
    /// also the used suppressions (`--PID-- used_suppression: …`) and the
    /// summary again, as `valgrind -v` does.
    pub fn summary(
        &self,
        out: &mut dyn io::Write,
        counts: ErrorCounts,
        verbose: Option<&SuppressionSet>,
    ) -> io::Result<()> {
        out.write_all(self.summary_text(counts, verbose).as_bytes())
    }

    pub fn summary_text(&self, counts: ErrorCounts, verbose: Option<&SuppressionSet>) -> String {
        let user = self.prefix();
        let debug = self.prefix_with('-');
        let line = format!(
            "ERROR SUMMARY: {} errors from {} contexts (suppressed: {} from {})",
            counts.errors, counts.contexts, counts.suppressed, counts.suppressed_contexts
        );
        let mut s = format!("{user}\n{user}{line}\n");
        if let Some(set) = verbose {
            let used = set.used_lines();
            if !used.is_empty() {
                let _ = writeln!(s, "{debug}");
                for u in used {
                    let _ = writeln!(s, "{debug}{u}");
                }
                let _ = writeln!(s, "{user}");
                let _ = writeln!(s, "{user}{line}");
            }
        }
        s
    }

    /// Valgrind's block for a process dying of a signal's default action:
    /// `Process terminating with default action of signal 11 (SIGSEGV)`,
    /// what the fault was, and the stack where it was taken.
    pub fn fatal_signal_text(&self, fatal: &FatalSignalInfo) -> String {
        let mut lines = Lines::default();
        lines.blank();
        lines.push(format!(
            "Process terminating with default action of signal {} ({})",
            fatal.signal,
            crate::fatal::signal_name(fatal.signal)
        ));
        if let Some(event) = crate::fatal::event(fatal) {
            if crate::fatal::has_address(fatal) {
                lines.push(format!(" {event} at address 0x{:x}", fatal.addr));
            } else {
                lines.push(format!(" {event}"));
            }
        }
        lines.stack(&fatal.stack);
        lines.render(&self.prefix())
    }

    /// What `-s` (`--show-error-list=yes`) adds after `ERROR SUMMARY`:
    /// each shown error again, least frequent first (among equals the
    /// later one first, as Valgrind orders them), headed `N errors in
    /// context I of M:`, then the used suppressions and the summary again.
    /// `errors` are the shown errors in the order shown, with their counts.
    pub fn error_list_text(
        &mut self,
        errors: &[(ErrorRecord, u64)],
        counts: ErrorCounts,
        suppressions: &SuppressionSet,
    ) -> String {
        let user = self.prefix();
        let debug = self.prefix_with('-');
        let mut order: Vec<usize> = (0..errors.len()).rev().collect();
        order.sort_by_key(|&i| errors[i].1);
        let mut s = String::new();
        for (n, &i) in order.iter().enumerate() {
            let (err, count) = &errors[i];
            let _ = writeln!(s, "{user}");
            let _ = writeln!(
                s,
                "{user}{count} errors in context {} of {}:",
                n + 1,
                errors.len()
            );
            s.push_str(&self.error_text(err));
        }
        let used = suppressions.used_lines();
        if !used.is_empty() {
            let _ = writeln!(s, "{debug}");
            for u in &used {
                let _ = writeln!(s, "{debug}{u}");
            }
            let _ = writeln!(s, "{user}");
        }
        if errors.is_empty() && used.is_empty() {
            let _ = writeln!(s, "{user}");
        }
        let _ = writeln!(
            s,
            "{user}ERROR SUMMARY: {} errors from {} contexts (suppressed: {} from {})",
            counts.errors, counts.contexts, counts.suppressed, counts.suppressed_contexts
        );
        s
    }

    fn announcement(&self, lines: &mut Lines, thread: u32) {
        lines.push(THREAD_ANNOUNCEMENT);
        lines.blank();
        match self.threads.get(&thread) {
            Some(ThreadAnnouncement::Created(stack)) => {
                lines.push(format!("Thread #{thread} was created"));
                lines.stack(stack);
            }
            Some(ThreadAnnouncement::Root) => {
                lines.push(format!("Thread #{thread} is the program's root thread"));
            }
            None if thread == 1 => {
                lines.push(format!("Thread #{thread} is the program's root thread"));
            }
            None => lines.push(format!("Thread #{thread} was created")),
        }
        lines.blank();
    }
}

/// Lines of one report, without prefix.
#[derive(Default)]
struct Lines(Vec<String>);

impl Lines {
    fn push(&mut self, line: impl Into<String>) {
        self.0.push(line.into());
    }

    fn blank(&mut self) {
        self.0.push(String::new());
    }

    fn stack(&mut self, stack: &Stack) {
        for (i, f) in stack.frames.iter().enumerate() {
            self.push(frame_line(i, f));
        }
    }

    fn render(&self, prefix: &str) -> String {
        let mut s = String::new();
        for l in &self.0 {
            let _ = writeln!(s, "{prefix}{l}");
        }
        s
    }
}

/// `   at 0x401136: worker (racy.c:14)`, `   by 0x…: malloc (in /lib/…)`,
/// `   by 0x…: ??? (in /lib/…)`, `   by 0x…: <generated code> (in anonymous
/// 0x…-0x…)`, `   by 0x…: ???`.
pub fn frame_line(index: usize, f: &Frame) -> String {
    let lead = if index == 0 { "at" } else { "by" };
    let name = match (&f.function, &f.generated) {
        (Some(name), _) => name.as_str(),
        (None, Some(_)) => "<generated code>",
        (None, None) => "???",
    };
    let mut s = format!("   {lead} 0x{:X}: {name}", f.ip);
    match (&f.file, f.line, &f.object, &f.generated) {
        (Some(file), Some(line), _, _) => {
            let _ = write!(s, " ({file}:{line})");
        }
        (_, _, Some(obj), _) => {
            let _ = write!(s, " (in {obj})");
        }
        (_, _, None, Some(mapping)) => {
            let _ = write!(s, " (in {mapping})");
        }
        _ => {}
    }
    s
}

pub(crate) fn access_word(kind: AccessKind) -> &'static str {
    match kind {
        AccessKind::Read => "read",
        AccessKind::Write => "write",
    }
}

pub(crate) fn race_what(r: &Race) -> String {
    format!(
        "Possible data race during {} of size {} at 0x{:X} by thread #{}",
        access_word(r.current.kind),
        r.size,
        r.addr,
        r.current.thread.0
    )
}

pub(crate) fn race_prior_what(err: &ErrorRecord, r: &Race) -> String {
    format!(
        "This conflicts with a previous {} of size {} by thread #{}",
        access_word(r.prior.kind),
        err.prior_size.unwrap_or(r.racy_len),
        r.prior.thread.0
    )
}

fn locks_held(locks: Option<&[u64]>) -> String {
    match locks {
        None => "Locks held: unknown".to_string(),
        Some([]) => "Locks held: none".to_string(),
        Some(locks) => {
            let addrs: Vec<String> = locks.iter().map(|a| format!("0x{a:X}")).collect();
            format!(
                "Locks held: {}, at address{} {}",
                locks.len(),
                if locks.len() == 1 { "" } else { "es" },
                addrs.join(" ")
            )
        }
    }
}

fn race(lines: &mut Lines, err: &ErrorRecord, r: &Race) {
    // Helgrind first says where the locks held at either access came from.
    let mut announced = Vec::new();
    for lock in r
        .current
        .locks_held
        .iter()
        .chain(r.prior.locks_held.iter())
        .flatten()
    {
        if !announced.contains(lock) {
            announced.push(*lock);
            announce_lock(lines, err, *lock);
        }
    }
    lines.push(race_what(r));
    lines.push(locks_held(r.current.locks_held.as_deref()));
    lines.stack(err.stack(r.current.site));
    lines.blank();
    lines.push(race_prior_what(err, r));
    lines.push(locks_held(r.prior.locks_held.as_deref()));
    lines.stack(err.stack(r.prior.site));
    if let Some(desc) = &err.address {
        address(lines, desc);
    }
}

/// ` Lock at 0x… was first observed`, its stack and where it lies; nothing
/// for a lock the race tool told us nothing about.
fn announce_lock(lines: &mut Lines, err: &ErrorRecord, lock: u64) {
    let Some(info) = err.locks.get(&lock) else {
        return;
    };
    match &info.first_observed {
        Some(stack) => {
            lines.push(format!(" Lock at 0x{lock:X} was first observed"));
            lines.stack(stack);
        }
        None => lines.push(format!(
            " Lock at 0x{lock:X} : no stacktrace for first observation"
        )),
    }
    if let Some(desc) = &info.description {
        address(lines, desc);
    }
    lines.blank();
}

/// The lines describing an address, as text (each starting with a space)
/// or, for stacks, frame lines.
pub(crate) enum DescLine<'a> {
    Text(String),
    /// A line the XML gives as `<xauxwhat>` with file and line.
    Declared {
        text: String,
        file: &'a str,
        line: u32,
    },
    Stack(&'a Stack),
}

pub(crate) fn describe(desc: &AddressDescription) -> Vec<DescLine<'_>> {
    match desc {
        AddressDescription::HeapBlock {
            addr,
            offset,
            block_size,
            alloc_stack,
            alloc_thread,
        } => {
            let mut v = vec![
                DescLine::Text(format!(
                    "Address 0x{addr:x} is {} bytes inside a block of size {} alloc'd",
                    grouped(*offset),
                    grouped(*block_size)
                )),
                DescLine::Stack(alloc_stack),
            ];
            if let Some(t) = alloc_thread {
                v.push(DescLine::Text(format!("Block was alloc'd by thread #{t}")));
            }
            v
        }
        AddressDescription::GlobalVar {
            addr,
            offset,
            name,
            declared_at,
        } => {
            let mut v = vec![DescLine::Text(format!(
                "Location 0x{addr:x} is {} bytes inside global var \"{name}\"",
                grouped(*offset)
            ))];
            if let Some((file, line)) = declared_at {
                v.push(DescLine::Declared {
                    text: format!("declared at {file}:{line}"),
                    file,
                    line: *line,
                });
            }
            v
        }
        AddressDescription::DataSymbol { addr, offset, name } => vec![DescLine::Text(format!(
            "Address 0x{addr:x} is {} bytes inside data symbol \"{name}\"",
            grouped(*offset)
        ))],
        AddressDescription::ThreadStack {
            addr,
            thread,
            frame,
        } => {
            let mut v = vec![DescLine::Text(format!(
                "Address 0x{addr:x} is on thread #{thread}'s stack"
            ))];
            if let Some((n, created_by)) = frame {
                v.push(DescLine::Text(format!(
                    "in frame #{n}, created by {created_by}"
                )));
            }
            v
        }
    }
}

fn address(lines: &mut Lines, desc: &AddressDescription) {
    for l in describe(desc) {
        match l {
            DescLine::Text(t) | DescLine::Declared { text: t, .. } => lines.push(format!(" {t}")),
            DescLine::Stack(s) => lines.stack(s),
        }
    }
}

/// Valgrind's `%'lu`: thousands separated by commas.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let first = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let mut out = digits[..first].to_string();
    for chunk in digits.as_bytes()[first..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

/// The two locks of a lock-order report: (should be earlier, should be later).
pub(crate) fn lock_order_locks(l: &LockOrderViolation) -> (u64, u64) {
    (l.observed.second, l.observed.first)
}

pub(crate) fn lock_order_what(l: &LockOrderViolation) -> String {
    let (earlier, later) = lock_order_locks(l);
    format!(
        "Thread #{}: lock order \"0x{earlier:X} before 0x{later:X}\" violated",
        l.thread.0
    )
}

/// The sites of the required order: (first acquisition, later acquisition).
pub(crate) fn required_sites(l: &LockOrderViolation) -> Option<(u32, u32)> {
    Some((
        l.required.first()?.first_site,
        l.required.last()?.second_site,
    ))
}

fn lock_order(lines: &mut Lines, err: &ErrorRecord, l: &LockOrderViolation) {
    let (earlier, later) = lock_order_locks(l);
    lines.push(lock_order_what(l));
    lines.blank();
    lines.push(format!(
        "Observed (incorrect) order is: acquisition of lock at 0x{later:X}"
    ));
    let actual_earlier = err.stack(l.observed.first_site);
    if actual_earlier.is_empty() {
        lines.push("   (stack unavailable)");
    } else {
        lines.stack(actual_earlier);
    }
    lines.blank();
    lines.push(format!(
        " followed by a later acquisition of lock at 0x{earlier:X}"
    ));
    lines.stack(err.stack(l.observed.second_site));
    if let Some((first, second)) = required_sites(l) {
        lines.blank();
        lines.push(format!(
            "Required order was established by acquisition of lock at 0x{earlier:X}"
        ));
        lines.stack(err.stack(first));
        lines.blank();
        lines.push(format!(
            " followed by a later acquisition of lock at 0x{later:X}"
        ));
        lines.stack(err.stack(second));
    }
    lines.blank();
    announce_lock(lines, err, earlier);
    announce_lock(lines, err, later);
}

pub(crate) fn misuse_what(m: &Misuse) -> String {
    let t = m.thread.0;
    let obj = m.object;
    match m.kind {
        MisuseKind::UnlockUnlocked => {
            format!("Thread #{t} unlocked a not-locked lock at 0x{obj:X}")
        }
        MisuseKind::UnlockForeign { owner } => format!(
            "Thread #{t} unlocked lock at 0x{obj:X} currently held by thread #{}",
            owner.0
        ),
        MisuseKind::DestroyLocked => format!("Thread #{t}: destroy of a locked lock at 0x{obj:X}"),
        MisuseKind::BarrierUninitialised => {
            format!("Thread #{t}: pthread_barrier_wait: barrier is uninitialised")
        }
    }
}

fn misuse(lines: &mut Lines, err: &ErrorRecord, m: &Misuse) {
    lines.push(misuse_what(m));
    lines.stack(err.stack(m.site));
    announce_lock(lines, err, m.object);
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
