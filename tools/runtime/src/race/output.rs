//! `Reporter`: from engine `Report`s to what the user reads, through
//! hbgrind-report: sites become symbolised stacks, addresses get their
//! description, `ErrorLog` deduplicates and applies suppressions, and each
//! new error is written at once, in Helgrind's text on the log or in XML
//! protocol 4 (`--xml=yes`), and also as JSON Lines (`--json-file`) and
//! SARIF 2.1.0 (`--sarif-file`), which a fatal signal, an `execve` and
//! the end of the run complete as they complete the XML.
//!
//! # Invariants
//! - A thread is announced (text and XML) before the first error naming
//!   it; its creation stack is symbolised only then (`announce`).
//! - Stacks are cut to `--num-callers` return addresses before they are
//!   symbolised, and to as many frames after (inlined calls add frames), so
//!   suppressions match what the user sees.
//! - Nothing here reads guest memory or calls glibc's malloc or stdio:
//!   output goes through `dbi::write_all`; ELF and DWARF files are read by
//!   the report crate with Rust's `std::fs` (plain syscall wrappers).
//! - `finish` runs once; after it the reporter writes nothing.

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::io;
use std::time::Instant;

use dbi::StackId;
use hb_engine::{Race, Report};
use hbgrind_report::sarif::{Rewritable, SarifWriter};
use hbgrind_report::{
    generate_suppression, AddressDescription, ErrorLog, ErrorRecord, FatalSignalInfo, JsonWriter,
    LoadedModule, LockInfo, Outcome, Preamble, RunObject, Stack, SuppressionSet, Symbolizer,
    TextReporter, ThreadAnnouncement, XmlWriter,
};

use super::heap::Heap;
use super::sites::SiteTable;
use crate::options::{ChildSinks, ChildXml};

/// An `io::Write` over a raw file descriptor (`dbi::write_all`).
pub(crate) struct FdWriter(pub(crate) i32);

impl io::Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        dbi::write_all(self.0, buf)
            .map(|()| buf.len())
            .map_err(|e| io::Error::from_raw_os_error(e.0 as i32))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Rewritable for FdWriter {
    fn position(&mut self) -> io::Result<u64> {
        dbi::file_offset(self.0).map_err(|e| io::Error::from_raw_os_error(e.0 as i32))
    }
    fn cut_at(&mut self, len: u64) -> io::Result<()> {
        dbi::truncate_at(self.0, len).map_err(|e| io::Error::from_raw_os_error(e.0 as i32))
    }
}

/// A file mapped executable: code addresses in `[start, end)` belong to it.
struct Module {
    start: u64,
    end: u64,
    loaded: LoadedModule,
}

/// How the reporter was configured (from the options).
pub(crate) struct ReportConfig {
    pub(crate) log_fd: i32,
    pub(crate) xml_fd: Option<i32>,
    /// `--json-file`, `--sarif-file`: regular files, opened for writing.
    pub(crate) json_fd: Option<i32>,
    pub(crate) sarif_fd: Option<i32>,
    pub(crate) num_callers: usize,
    pub(crate) gen_suppressions: bool,
    pub(crate) verbose: bool,
    /// `-q`: no preamble and no `ERROR SUMMARY` (errors are still shown).
    pub(crate) quiet: bool,
    /// Our options as the user gave them (XML `<vargv>`).
    pub(crate) tool_args: Vec<String>,
    /// `--sched-seed=N`: printed in the preamble, so the run can be repeated.
    pub(crate) sched_seed: Option<u64>,
    /// `--sched=`: a PCT schedule's options are printed with the seed.
    pub(crate) sched_policy: dbi::SchedulePolicy,
    /// `--time-stamp=yes`: the start of the run, for line prefixes.
    pub(crate) time_stamp: Option<Instant>,
    /// `-s`: each error again at exit, with its count.
    pub(crate) show_error_list: bool,
    /// `--error-limit=yes`: show at most `ERROR_LIMIT` different errors.
    pub(crate) error_limit: bool,
    /// `--child-silent-after-fork=yes`: a fork child writes nothing.
    pub(crate) child_silent_after_fork: bool,
    /// `--exit-on-first-error=yes`: the status to exit with at the first error.
    pub(crate) exit_on_first_error: Option<u8>,
    /// `--track-lockorders=no` drops lock-order reports.
    pub(crate) track_lockorders: bool,
}

/// Valgrind's `--error-limit=yes` cut-off: different errors shown.
const ERROR_LIMIT: u64 = 1000;

/// Where a thread's stack lies and how it came to be.
#[derive(Clone, Debug, Default)]
pub(crate) struct ThreadInfo {
    /// The creating `syscall` and its stack (`None` for the root thread).
    pub(crate) created_at: Option<(u64, StackId)>,
    /// `[low, high)` of its stack, when the `clone` told us.
    pub(crate) stack: Option<(u64, u64)>,
}

/// Everything between engine reports and the log.
pub(crate) struct Reporter {
    config: ReportConfig,
    symbols: CodeSymbols,
    errors: ErrorLog,
    suppressions: SuppressionSet,
    text: TextReporter,
    /// The pid `text` prefixes lines with (a fork child gets its own).
    text_pid: u32,
    xml: Option<XmlWriter<FdWriter>>,
    json: Option<JsonWriter<FdWriter>>,
    sarif: Option<SarifWriter<FdWriter>>,
    /// Where the JSON summary written before an `execve` starts.
    json_summary_at: Option<u64>,
    announced: FxHashSet<u32>,
    started: Instant,
    /// The root thread's stack (`[stack]` in /proc/self/maps), read once.
    root_stack: Option<Option<(u64, u64)>>,
    finished: bool,
    /// The process the reporter started in (fork children differ).
    first_pid: u32,
    /// `-s`: the errors shown, in order, with their occurrences.
    shown: Vec<(ErrorRecord, u64)>,
    /// `--error-limit=yes` was reached: no new error is shown.
    limit_reached: bool,
    /// Where the XML trailer written before an `execve` starts.
    trailer_at: Option<u64>,
    /// A fork child that shares its parent's XML sink has yet to say that
    /// its errors go to the text log.
    xml_shared_note: bool,
}

impl Reporter {
    pub(crate) fn new(config: ReportConfig, mut suppressions: SuppressionSet) -> Self {
        let pid = dbi::getpid() as u32;
        suppressions.set_num_callers(config.num_callers);
        let symbols = CodeSymbols::new(config.num_callers);
        let started = Instant::now();
        let (exe, args) = command_line();
        let command = std::iter::once(exe.as_str())
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = TextReporter::new(pid);
        if let Some(started) = config.time_stamp {
            text.set_time_stamp(started);
        }
        write_text_preamble(&config, &text, &command);
        let xml = config.xml_fd.and_then(|fd| {
            let preamble = xml_preamble(&config, pid, &exe, &args);
            XmlWriter::start(FdWriter(fd), &preamble, started.elapsed()).ok()
        });
        let run = run_object(&config, pid, &exe, &args);
        let json = config
            .json_fd
            .and_then(|fd| JsonWriter::start(FdWriter(fd), &run).ok());
        let sarif = config
            .sarif_fd
            .and_then(|fd| SarifWriter::start(FdWriter(fd), &run).ok());
        Reporter {
            config,
            symbols,
            errors: ErrorLog::new(),
            suppressions,
            text,
            text_pid: pid,
            xml,
            json,
            sarif,
            json_summary_at: None,
            announced: FxHashSet::default(),
            started,
            root_stack: None,
            finished: false,
            first_pid: pid,
            shown: Vec::new(),
            limit_reached: false,
            trailer_at: None,
            xml_shared_note: false,
        }
    }

    /// `--child-silent-after-fork=yes` and this is a fork child.
    fn silent(&self) -> bool {
        self.config.child_silent_after_fork && dbi::getpid() as u32 != self.first_pid
    }

    pub(crate) fn module_loaded(&mut self, path: &str, start: u64, len: u64, bias: u64) {
        self.symbols.module_loaded(path, start, len, bias);
    }

    pub(crate) fn module_unloaded(&mut self, start: u64) {
        self.symbols.module_unloaded(start);
    }

    /// The module's variables whose DWARF type is atomic: (address, size,
    /// element size) (`Symbolizer::atomic_variables`).
    pub(crate) fn atomic_variables(&mut self, path: &str, bias: u64) -> Vec<(u64, u64, u64)> {
        self.symbols
            .symbolizer
            .atomic_variables(&LoadedModule::new(path, bias))
    }

    /// Errors shown so far (duplicates included), for `VALGRIND_COUNT_ERRORS`.
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.counts().errors
    }

    /// The stack of instruction `pc` called from `stack`, symbolised.
    pub(crate) fn stack(&mut self, pc: u64, stack: StackId) -> Stack {
        self.symbols.stack(pc, stack)
    }

    fn site_stack(&mut self, sites: &SiteTable, site: u32) -> Stack {
        match sites.get(site) {
            Some(s) => self.stack(s.pc, s.stack),
            None => Stack::default(),
        }
    }

    /// Where `addr` lies: a heap block, a thread's stack, a global variable.
    fn describe(
        &mut self,
        addr: u64,
        sites: &SiteTable,
        heap: &Heap,
        threads: &BTreeMap<u32, ThreadInfo>,
    ) -> Option<AddressDescription> {
        if let Some(b) = heap.find(addr) {
            return Some(AddressDescription::HeapBlock {
                addr,
                offset: addr - b.start,
                block_size: b.size,
                alloc_stack: self.site_stack(sites, b.site),
                alloc_thread: Some(b.thread),
            });
        }
        for (&t, info) in threads {
            if let Some((low, high)) = info.stack {
                if (low..high).contains(&addr) {
                    return Some(AddressDescription::ThreadStack {
                        addr,
                        thread: t,
                        frame: None,
                    });
                }
            }
        }
        if let Some((low, high)) = self.root_stack() {
            if (low..high).contains(&addr) {
                return Some(AddressDescription::ThreadStack {
                    addr,
                    thread: 1,
                    frame: None,
                });
            }
        }
        // Data lies above its module's code: try the nearest module below.
        self.symbols.describe_data(addr)
    }

    fn root_stack(&mut self) -> Option<(u64, u64)> {
        *self.root_stack.get_or_insert_with(|| {
            let maps = read_proc_file(b"/proc/self/maps");
            String::from_utf8_lossy(&maps).lines().find_map(|l| {
                if !l.ends_with("[stack]") {
                    return None;
                }
                let range = l.split_whitespace().next()?;
                let (a, b) = range.split_once('-')?;
                Some((
                    u64::from_str_radix(a, 16).ok()?,
                    u64::from_str_radix(b, 16).ok()?,
                ))
            })
        })
    }

    /// Turns one engine report into an error and writes it if it is new
    /// and not suppressed.
    pub(crate) fn report(
        &mut self,
        report: Report,
        sites: &SiteTable,
        heap: &Heap,
        threads: &BTreeMap<u32, ThreadInfo>,
        lock_sites: &FxHashMap<u64, u32>,
    ) {
        if self.finished
            || self.silent()
            || (!self.config.track_lockorders && matches!(report, Report::LockOrder(_)))
        {
            return;
        }
        let mut site_ids = Vec::new();
        let mut locks = Vec::new();
        let mut about = None;
        match &report {
            Report::Race(r) => {
                site_ids.extend([r.current.site, r.prior.site]);
                locks.extend(r.current.locks_held.iter().flatten().copied());
                locks.extend(r.prior.locks_held.iter().flatten().copied());
                about = Some(r.racy_addr);
            }
            Report::LockOrder(l) => {
                site_ids.extend([l.observed.first_site, l.observed.second_site]);
                for e in &l.required {
                    site_ids.extend([e.first_site, e.second_site]);
                }
                locks.extend([l.observed.first, l.observed.second]);
            }
            Report::Misuse(m) => {
                site_ids.push(m.site);
                about = Some(m.object);
            }
        }
        let mut report = report;
        let mut prior_size = None;
        if let Report::Race(r) = &mut report {
            clip_to_word(r);
            // The engine keeps no size for the earlier access: the site's.
            prior_size = sites.size(r.prior.site).map(|s| u64::from(s).min(8));
        }
        let mut err = ErrorRecord::new(report);
        err.prior_size = prior_size;
        for site in site_ids {
            if let std::collections::hash_map::Entry::Vacant(slot) = err.stacks.entry(site) {
                slot.insert(self.site_stack(sites, site));
            }
        }
        err.address = about.and_then(|a| self.describe(a, sites, heap, threads));
        for lock in locks {
            if err.locks.contains_key(&lock) {
                continue;
            }
            let info = LockInfo {
                first_observed: lock_sites.get(&lock).map(|&s| self.site_stack(sites, s)),
                description: self.describe(lock, sites, heap, threads),
            };
            err.locks.insert(lock, info);
        }
        // Which side of a race is found first depends on the schedule; a
        // suppression of either side's stack hides it (Valgrind matches
        // the error's own stack only, so its suppressions of races are
        // flaky).
        if matches!(err.report, Report::Race(_)) && self.suppressions.find(&err).is_none() {
            let mut swapped = err.clone();
            if let Report::Race(r) = &mut swapped.report {
                std::mem::swap(&mut r.current, &mut r.prior);
            }
            if self.suppressions.find(&swapped).is_some() {
                err = swapped;
            }
        }
        if self.limit_reached && self.suppressions.find(&err).is_none() {
            // Past --error-limit: new errors are no longer shown or counted
            // (duplicates of shown ones still are), as in Valgrind.
            if let Some(id) = self.errors.shown_id(&err) {
                self.count_duplicate(id);
                self.errors.record(&err, &mut self.suppressions);
            }
            return;
        }
        match self.errors.record(&err, &mut self.suppressions) {
            Outcome::New(_) => {
                self.follow_fork();
                if std::mem::take(&mut self.xml_shared_note) {
                    let pid = self.text_pid;
                    let _ = dbi::write_all(
                        self.config.log_fd,
                        format!(
                            "=={pid}== hbgrind: this process ({pid}, a fork child) shares its parent's XML output; \
                             its errors are shown here instead (--xml-file=NAME.%p.xml gives each process a file)\n"
                        )
                        .as_bytes(),
                    );
                }
                self.announce(&err, threads);
                let generated = self
                    .config
                    .gen_suppressions
                    .then(|| generate_suppression(&err));
                if let Some(json) = &mut self.json {
                    let _ = json.error(&err, generated.as_ref());
                }
                if let Some(sarif) = &mut self.sarif {
                    let _ = sarif.error(&err);
                }
                match &mut self.xml {
                    Some(xml) => {
                        let _ = xml.error(&err, generated.as_ref());
                    }
                    None => {
                        let mut text = self.text.error_text(&err);
                        if let Some(g) = &generated {
                            text.push_str(&g.to_text());
                        }
                        let _ = dbi::write_all(self.config.log_fd, text.as_bytes());
                    }
                }
                if self.config.show_error_list {
                    self.shown.push((err, 1));
                }
                let contexts = self.errors.counts().contexts;
                if self.config.error_limit && contexts >= ERROR_LIMIT && !self.limit_reached {
                    self.limit_reached = true;
                    if self.xml.is_none() {
                        let p = self.text.prefix();
                        let msg = format!(
                            "{p}\n{p}More than {ERROR_LIMIT} different errors detected.  I'm not reporting any more.\n\
                             {p}Final error counts will be inaccurate.  Go fix your program!\n\
                             {p}Rerun with --error-limit=no to disable this cutoff.  Note\n\
                             {p}that errors may occur in your program without prior warning from\n\
                             {p}hbgrind, because errors are no longer being displayed.\n{p}\n"
                        );
                        let _ = dbi::write_all(self.config.log_fd, msg.as_bytes());
                    }
                }
                if let Some(status) = self.config.exit_on_first_error {
                    if self.xml.is_none() {
                        let p = self.text.prefix();
                        let msg = format!(
                            "{p}\n{p}Exit program on first error (--exit-on-first-error=yes)\n"
                        );
                        let _ = dbi::write_all(self.config.log_fd, msg.as_bytes());
                    }
                    self.finish();
                    dbi::exit_group(i32::from(status));
                }
            }
            Outcome::Duplicate(id) => self.count_duplicate(id),
            Outcome::Suppressed(_) => {}
        }
    }

    /// Another occurrence of shown error `id` (XML `<count>`, `-s`).
    fn count_duplicate(&mut self, id: u64) {
        if let Some(xml) = &mut self.xml {
            xml.count_again(id);
        }
        if let Some(json) = &mut self.json {
            json.count_again(id);
        }
        if let Some(sarif) = &mut self.sarif {
            sarif.count_again(id);
        }
        if let Some((_, n)) = self.shown.get_mut(id as usize) {
            *n += 1;
        }
    }

    /// In a fork child (dbi's `Tool::on_fork_child`): `new_log` says the
    /// log is now the child's own file, `xml` what became of the XML sink.
    /// A child with a file of its own starts a whole report in it (text
    /// preamble; XML header, with its own pid) and counts only its own
    /// errors there; a child that shares the parent's XML sink writes no
    /// XML, so the parent's document stays well formed: its errors go to
    /// the text log instead.
    pub(crate) fn restart_in_child(&mut self, new_log: bool, sinks: ChildSinks) {
        let xml = sinks.xml;
        self.follow_fork();
        let pid = self.text_pid;
        let (exe, args) = command_line();
        if new_log {
            let command = std::iter::once(exe.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            write_text_preamble(&self.config, &self.text, &command);
        }
        match xml {
            ChildXml::Reopened => {
                self.xml = self.config.xml_fd.and_then(|fd| {
                    let preamble = xml_preamble(&self.config, pid, &exe, &args);
                    XmlWriter::start(FdWriter(fd), &preamble, self.started.elapsed()).ok()
                });
            }
            ChildXml::Shared => {
                // Said with the first error (a shell forks often).
                self.xml_shared_note = self.xml.take().is_some();
            }
            ChildXml::Off => {}
        }
        // A child's JSON and SARIF go to files of its own or nowhere: a
        // shared file would mix two runs in one document.
        let run = run_object(&self.config, pid, &exe, &args);
        match sinks.json {
            ChildXml::Reopened => {
                self.json = self
                    .config
                    .json_fd
                    .and_then(|fd| JsonWriter::start(FdWriter(fd), &run).ok());
            }
            ChildXml::Shared => self.json = None,
            ChildXml::Off => {}
        }
        match sinks.sarif {
            ChildXml::Reopened => {
                self.sarif = self
                    .config
                    .sarif_fd
                    .and_then(|fd| SarifWriter::start(FdWriter(fd), &run).ok());
            }
            ChildXml::Shared => self.sarif = None,
            ChildXml::Off => {}
        }
        let reopened = [sinks.xml, sinks.json, sinks.sarif].contains(&ChildXml::Reopened);
        if new_log || reopened {
            self.errors = ErrorLog::new();
        }
    }

    /// Before an `execve` that leaves hbgrind: closes the XML document (the
    /// new program would leave it without its trailer), remembering where
    /// the trailer starts so that a failed call can take it back. Only for
    /// a file (a pipe cannot be cut).
    pub(crate) fn close_before_exec(&mut self) {
        if self.finished {
            return;
        }
        if let (Some(json), Some(fd)) = (&mut self.json, self.config.json_fd) {
            if let Ok(at) = dbi::file_offset(fd) {
                if json
                    .write_summary(self.errors.counts(), &self.suppressions)
                    .is_ok()
                {
                    self.json_summary_at = Some(at);
                }
            }
        }
        if let Some(sarif) = &mut self.sarif {
            let _ = sarif.write_final();
        }
        let (Some(xml), Some(fd)) = (&mut self.xml, self.config.xml_fd) else {
            return;
        };
        let Ok(at) = dbi::file_offset(fd) else {
            return;
        };
        if xml
            .write_trailer(&self.suppressions, self.started.elapsed())
            .is_ok()
        {
            self.trailer_at = Some(at);
        }
    }

    /// The `execve` failed: the document goes on (see `close_before_exec`).
    pub(crate) fn reopen_after_failed_exec(&mut self) {
        if let (Some(at), Some(fd)) = (self.json_summary_at.take(), self.config.json_fd) {
            let _ = dbi::truncate_at(fd, at);
        }
        if let Some(sarif) = &mut self.sarif {
            let _ = sarif.reopen();
        }
        if let (Some(at), Some(fd)) = (self.trailer_at.take(), self.config.xml_fd) {
            let _ = dbi::truncate_at(fd, at);
        }
    }

    /// After a fork the child's lines carry its own pid, and it announces
    /// its threads again (its log may be another file).
    fn follow_fork(&mut self) {
        let pid = dbi::getpid() as u32;
        if pid != self.text_pid {
            self.text_pid = pid;
            self.text = TextReporter::new(pid);
            if let Some(started) = self.config.time_stamp {
                self.text.set_time_stamp(started);
            }
            self.announced.clear();
        }
    }

    /// Tells the text and XML writers how the error's threads came to be.
    fn announce(&mut self, err: &ErrorRecord, threads: &BTreeMap<u32, ThreadInfo>) {
        for t in err.threads() {
            if !self.announced.insert(t) {
                continue;
            }
            let announcement = match threads.get(&t).and_then(|i| i.created_at) {
                Some((pc, stack)) => ThreadAnnouncement::Created(self.stack(pc, stack)),
                None => ThreadAnnouncement::Root,
            };
            if let Some(xml) = &mut self.xml {
                xml.add_thread(t, announcement.clone());
            }
            if let Some(json) = &mut self.json {
                json.add_thread(t, announcement.clone());
            }
            if let Some(sarif) = &mut self.sarif {
                sarif.add_thread(t, announcement.clone());
            }
            self.text.add_thread(t, announcement);
        }
    }

    /// The process is dying of a signal's default action: Valgrind's
    /// `Process terminating with default action of signal N` block (also
    /// with `-q`), or `<fatal_signal>` in XML.
    pub(crate) fn fatal_signal(&mut self, fatal: &dbi::FatalSignal) {
        if self.finished || self.silent() {
            return;
        }
        self.follow_fork();
        let info = FatalSignalInfo {
            signal: fatal.signal,
            code: fatal.code,
            addr: fatal.addr,
            thread: fatal.thread,
            stack: self.stack(fatal.pc, fatal.stack),
        };
        match &mut self.xml {
            Some(xml) => {
                let _ = xml.fatal_signal(&info);
            }
            None => {
                let text = self.text.fatal_signal_text(&info);
                let _ = dbi::write_all(self.config.log_fd, text.as_bytes());
            }
        }
        if let Some(json) = &mut self.json {
            let _ = json.fatal_signal(&info);
        }
        if let Some(sarif) = &mut self.sarif {
            let _ = sarif.fatal_signal(&info);
        }
    }

    /// The lines of a backtrace, for `VALGRIND_PRINTF_BACKTRACE`.
    pub(crate) fn backtrace_lines(&mut self, pc: u64, stack: StackId) -> Vec<String> {
        self.symbols.backtrace_lines(pc, stack)
    }

    /// Every thread waits forever (dbi's `all_blocked`): each one's stack,
    /// in the text report (not an error of the summary: Valgrind's tools
    /// have no such kind).
    pub(crate) fn all_threads_blocked(&mut self, blocked: &[dbi::BlockedThread]) {
        if self.finished || self.silent() || self.xml.is_some() {
            return;
        }
        self.follow_fork();
        let p = self.text.prefix();
        let mut text = format!(
            "{p}---All-Threads-Blocked------------------------------------------\n{p}\n\
             {p}All {} threads wait on futexes with no timeout, and none was woken for 2 s:\n\
             {p}a deadlock, unless a signal handler or another process wakes one.\n",
            blocked.len()
        );
        let mut blocked = blocked.to_vec();
        blocked.sort_by_key(|b| b.thread);
        for b in &blocked {
            text.push_str(&format!(
                "{p}\n{p}Thread #{} waits on the futex at 0x{:X}\n",
                b.thread, b.futex
            ));
            for line in self.symbols.backtrace_lines(b.pc, b.stack) {
                text.push_str(&format!("{p}{line}\n"));
            }
        }
        text.push_str(&format!("{p}\n"));
        let _ = dbi::write_all(self.config.log_fd, text.as_bytes());
    }

    /// The end of the run: `ERROR SUMMARY` (with `-v`, the used
    /// suppressions), the XML trailer. Returns the errors shown.
    pub(crate) fn finish(&mut self) -> u64 {
        if self.finished {
            return self.errors.counts().errors;
        }
        self.finished = true;
        if self.silent() {
            return self.errors.counts().errors;
        }
        self.follow_fork();
        let counts = self.errors.counts();
        let list = self.config.show_error_list;
        let verbose = (self.config.verbose && !list).then_some(&self.suppressions);
        if (!self.config.quiet || self.config.verbose || list) && self.xml.is_none() {
            let mut summary = self.text.summary_text(counts, verbose);
            if list {
                let shown = std::mem::take(&mut self.shown);
                summary.push_str(
                    &self
                        .text
                        .error_list_text(&shown, counts, &self.suppressions),
                );
            }
            let _ = dbi::write_all(self.config.log_fd, summary.as_bytes());
        }
        if let Some(xml) = self.xml.take() {
            let _ = xml.finish(&self.suppressions, self.started.elapsed());
        }
        if let Some(json) = self.json.take() {
            let _ = json.finish(counts, &self.suppressions);
        }
        if let Some(sarif) = self.sarif.take() {
            let _ = sarif.finish();
        }
        counts.errors
    }
}

/// The text preamble (unless `-q`): version, command, schedule seed.
fn write_text_preamble(config: &ReportConfig, text: &TextReporter, command: &str) {
    // In XML mode the XML is the whole report, as in Valgrind: nothing in
    // text, so `--xml-fd=2` stays well formed.
    if config.quiet || config.xml_fd.is_some() {
        return;
    }
    let mut lines = vec![
        format!(
            "hbgrind-{}, a data race detector",
            env!("CARGO_PKG_VERSION")
        ),
        format!("Command: {command}"),
    ];
    if let Some(seed) = config.sched_seed {
        let options = match config.sched_policy {
            dbi::SchedulePolicy::Random => format!("--sched-seed={seed}"),
            dbi::SchedulePolicy::Pct { depth, steps } => {
                format!("--sched=pct --pct-depth={depth} --pct-steps={steps} --sched-seed={seed}")
            }
        };
        let same = if options.contains(' ') {
            "the same options repeat"
        } else {
            "the same option repeats"
        };
        lines.push(format!(
            "Schedule: {options} ({same} this run's thread switches)"
        ));
    }
    let _ = dbi::write_all(config.log_fd, text.preamble_text(&lines).as_bytes());
}

/// The XML header's facts about process `pid`.
fn xml_preamble(config: &ReportConfig, pid: u32, exe: &str, args: &[String]) -> Preamble {
    Preamble {
        lines: vec![
            "hbgrind, a data race detector".to_string(),
            "Command: ".to_string()
                + &std::iter::once(exe.to_string())
                    .chain(args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" "),
        ],
        pid,
        ppid: parent_pid(),
        tool: "hbgrind".to_string(),
        tool_exe: "hbgrind".to_string(),
        tool_args: config.tool_args.clone(),
        exe: exe.to_string(),
        args: args.to_vec(),
    }
}

/// The JSON run record (and SARIF invocation) of process `pid`.
fn run_object(config: &ReportConfig, pid: u32, exe: &str, args: &[String]) -> RunObject {
    RunObject {
        tool: "hbgrind".to_string(),
        pid,
        ppid: parent_pid(),
        tool_args: config.tool_args.clone(),
        exe: exe.to_string(),
        args: args.to_vec(),
        sched_seed: config.sched_seed,
        ..RunObject::default()
    }
}

/// Code addresses to symbolised stacks: the modules mapped so far and what
/// was read of their symbols. The race tool's reports use it, and the other
/// tools' `VALGRIND_PRINTF_BACKTRACE`.
pub(crate) struct CodeSymbols {
    symbolizer: Symbolizer,
    /// Sorted by `start`.
    modules: Vec<Module>,
    num_callers: usize,
    /// Mappings found holding code outside every module (JIT buffers),
    /// `(start, end, description)`: /proc/self/maps is read again only for
    /// an address outside all of them.
    generated: Vec<(u64, u64, String)>,
}

impl CodeSymbols {
    pub(crate) fn new(num_callers: usize) -> Self {
        CodeSymbols {
            symbolizer: Symbolizer::new(),
            modules: Vec::new(),
            num_callers: num_callers.max(1),
            generated: Vec::new(),
        }
    }

    /// What `Frame::generated` says of code at `ip`, which no module holds.
    fn generated_code(&mut self, ip: u64) -> Option<String> {
        if let Some((_, _, d)) = self
            .generated
            .iter()
            .find(|(a, b, _)| (*a..*b).contains(&ip))
        {
            return Some(d.clone());
        }
        let (a, b, name) = dbi::mapping_of(ip)?;
        let owner = if name.is_empty() { "anonymous" } else { &name };
        let d = format!("{owner} 0x{a:X}-0x{b:X}");
        self.generated.push((a, b, d.clone()));
        Some(d)
    }

    pub(crate) fn module_loaded(&mut self, path: &str, start: u64, len: u64, bias: u64) {
        let m = Module {
            start,
            end: start.saturating_add(len),
            loaded: LoadedModule::new(path, bias),
        };
        let at = self.modules.partition_point(|x| x.start < start);
        self.modules.insert(at, m);
    }

    pub(crate) fn module_unloaded(&mut self, start: u64) {
        self.modules.retain(|m| m.start != start);
    }

    /// The stack of instruction `pc` called from `stack`, symbolised, cut
    /// below `main` and to `--num-callers` frames.
    pub(crate) fn stack(&mut self, pc: u64, stack: StackId) -> Stack {
        let mut ips = Vec::with_capacity(self.num_callers);
        ips.push(pc);
        ips.extend(
            dbi::call_stack(stack)
                .into_iter()
                .take(self.num_callers.saturating_sub(1)),
        );
        let modules = &self.modules;
        let symbolizer = &mut self.symbolizer;
        let opens_a_module = ips
            .iter()
            .filter_map(|&ip| module_of(modules, ip))
            .any(|m| !symbolizer.has_loaded(&m.path));
        let mut s = owning_new_mappings(opens_a_module, || {
            symbolizer.stack(&ips, |ip| module_of(modules, ip))
        });
        for f in &mut s.frames {
            // No module, or an anonymous executable mapping announced as one.
            if f.object.as_deref().unwrap_or("").is_empty() && f.function.is_none() {
                f.object = None;
                f.generated = self.generated_code(f.ip);
            }
        }
        cut_below_main(&mut s);
        s.frames.truncate(self.num_callers);
        s
    }

    /// `Symbolizer::line_and_function` of `pc` in the module holding it.
    pub(crate) fn line_and_function(
        &mut self,
        pc: u64,
    ) -> (Option<hbgrind_report::SourceLine>, Option<String>) {
        let Some(module) = module_of(&self.modules, pc).cloned() else {
            return (None, None);
        };
        let first_use = !self.symbolizer.has_loaded(&module.path);
        let symbolizer = &mut self.symbolizer;
        owning_new_mappings(first_use, || symbolizer.line_and_function(&module, pc))
    }

    /// A global variable or data symbol at `addr`, in the nearest module
    /// below it (data lies above its module's code).
    pub(crate) fn describe_data(&mut self, addr: u64) -> Option<AddressDescription> {
        let at = self.modules.partition_point(|m| m.start <= addr);
        let module = self.modules.get(at.checked_sub(1)?)?.loaded.clone();
        let first_use = !self.symbolizer.has_loaded(&module.path);
        let symbolizer = &mut self.symbolizer;
        owning_new_mappings(first_use, || symbolizer.describe_data(&module, addr))
    }

    /// `stack` as Valgrind's frame lines (`   at 0x…: f (file.c:3)`).
    pub(crate) fn backtrace_lines(&mut self, pc: u64, stack: StackId) -> Vec<String> {
        let s = self.stack(pc, stack);
        s.frames
            .iter()
            .enumerate()
            .map(|(i, f)| hbgrind_report::frame_line(i, f))
            .collect()
    }
}

/// Runs `f`, which opens a module in the symbolizer when `opens` (mapping
/// its debug information): the mappings it makes then are the runtime's,
/// out of the guest's reach (dbi owned.rs).
fn owning_new_mappings<R>(opens: bool, f: impl FnOnce() -> R) -> R {
    if opens {
        dbi::own_mappings_made_by(f)
    } else {
        f()
    }
}

/// As Valgrind (`--show-below-main=no`): a stack ends at `main`; in a
/// program without symbols, at glibc's function that called it, shown as
/// `(below main)`.
fn cut_below_main(stack: &mut Stack) {
    let frames = &mut stack.frames;
    if let Some(main) = frames
        .iter()
        .position(|f| f.function.as_deref() == Some("main"))
    {
        frames.truncate(main + 1);
    } else if let Some(below) = frames.iter().position(|f| {
        f.function.as_deref().is_some_and(|name| {
            name.starts_with("__libc_start_call_main") || name.starts_with("__libc_start_main")
        })
    }) {
        frames.truncate(below + 1);
        frames[below].function = Some("(below main)".into());
    }
}

/// A race found during an access longer than 8 bytes (a vector, `rep` or
/// string-function access) is reported on the aligned 8-byte word holding
/// its first racy byte, as Helgrind, which sees such accesses as words.
fn clip_to_word(r: &mut Race) {
    if r.size <= 8 {
        return;
    }
    let word = r.racy_addr & !7;
    let start = word.max(r.addr);
    let end = word.saturating_add(8).min(r.addr.saturating_add(r.size));
    if start < end {
        r.addr = start;
        r.size = end - start;
    }
}

fn module_of(modules: &[Module], ip: u64) -> Option<&LoadedModule> {
    let at = modules.partition_point(|m| m.start <= ip);
    let m = modules.get(at.checked_sub(1)?)?;
    (ip < m.end).then_some(&m.loaded)
}

/// Reads a small /proc file with raw syscalls; empty if unreadable.
pub(crate) fn read_proc_file(path: &[u8]) -> Vec<u8> {
    read_file(path).unwrap_or_default()
}

/// Reads a whole file with raw syscalls.
pub(crate) fn read_file(path: &[u8]) -> Result<Vec<u8>, dbi::Errno> {
    let fd = dbi::open(path, 0o2000000, 0)?; // O_RDONLY | O_CLOEXEC
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let result = loop {
        match dbi::read(fd, &mut buf) {
            Ok(0) => break Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.0 == 4 => {} // EINTR
            Err(e) => break Err(e),
        }
    };
    dbi::close(fd);
    result
}

/// The program's path and arguments, from /proc/self/cmdline.
pub(crate) fn command_line() -> (String, Vec<String>) {
    let raw = read_proc_file(b"/proc/self/cmdline");
    let mut words = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned());
    let exe = words.next().unwrap_or_default();
    (exe, words.collect())
}

/// The parent's pid: the fourth field of /proc/self/stat (after the
/// parenthesised command name, which may hold spaces).
fn parent_pid() -> u32 {
    let stat = read_proc_file(b"/proc/self/stat");
    let text = String::from_utf8_lossy(&stat);
    text.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_found_by_code_address() {
        let mk = |start, end, path: &str| Module {
            start,
            end,
            loaded: LoadedModule::new(path, 0),
        };
        let modules = vec![mk(0x1000, 0x2000, "a"), mk(0x5000, 0x6000, "b")];
        let path = |ip| module_of(&modules, ip).map(|m| m.path.display().to_string());
        assert_eq!(path(0x1000).as_deref(), Some("a"));
        assert_eq!(path(0x1fff).as_deref(), Some("a"));
        assert_eq!(path(0x2000), None);
        assert_eq!(path(0x5800).as_deref(), Some("b"));
        assert_eq!(path(0x10), None);
    }

    #[test]
    fn stacks_end_at_main_or_below_main() {
        use hbgrind_report::Frame;
        let named = |ip, name: &str| Frame {
            function: Some(name.into()),
            ..Frame::unknown(ip)
        };
        let mut s = Stack::new(vec![
            named(1, "f"),
            named(2, "main"),
            named(3, "__libc_start_call_main"),
            named(4, "_start"),
        ]);
        cut_below_main(&mut s);
        assert_eq!(s.frames.len(), 2);
        let mut s = Stack::new(vec![
            Frame::unknown(1),
            named(3, "__libc_start_call_main"),
            named(4, "__libc_start_main@@GLIBC_2.34"),
            Frame::unknown(5),
        ]);
        cut_below_main(&mut s);
        assert_eq!(s.frames.len(), 2);
        assert_eq!(s.frames[1].function.as_deref(), Some("(below main)"));
        let mut s = Stack::new(vec![named(1, "worker"), named(2, "start_thread")]);
        cut_below_main(&mut s);
        assert_eq!(s.frames.len(), 2, "thread stacks are whole");
    }

    #[test]
    fn long_accesses_are_reported_on_the_word_of_their_first_racy_byte() {
        use hb_engine::{Access, AccessKind, ThreadId};
        let access = |site| Access {
            thread: ThreadId(1),
            kind: AccessKind::Write,
            atomic: false,
            site,
            locks_held: None,
        };
        let mut r = Race {
            addr: 0x1004,
            size: 64,
            racy_addr: 0x1021,
            racy_len: 1,
            current: access(1),
            prior: access(2),
        };
        clip_to_word(&mut r);
        assert_eq!((r.addr, r.size), (0x1020, 8));
        let mut r = Race {
            addr: 0x1004,
            size: 64,
            racy_addr: 0x1005,
            ..r
        };
        clip_to_word(&mut r);
        assert_eq!((r.addr, r.size), (0x1004, 4), "clipped to the access");
        let mut r = Race { size: 4, ..r };
        clip_to_word(&mut r);
        assert_eq!((r.addr, r.size), (0x1004, 4), "short accesses unchanged");
    }

    #[test]
    fn reads_our_own_parent_and_command_line() {
        assert_eq!(parent_pid(), std::os::unix::process::parent_id());
        let (exe, _) = command_line();
        assert!(!exe.is_empty());
    }
}
