//! Valgrind's XML output, protocol 4, Helgrind variant
//! (`docs/internals/xml-output-protocol4.txt` in Valgrind's sources).
//!
//! ```text
//! <?xml version="1.0"?>
//! <valgrindoutput>
//! <protocolversion>4</protocolversion> <protocoltool>helgrind</protocoltool>
//! <preamble>…</preamble> <pid/> <ppid/> <tool/> <args>…</args>
//! <status><state>RUNNING</state>…</status>
//! (<announcethread>… | <error>…)*          written as they are found
//! <status><state>FINISHED</state>…</status>
//! <errorcounts>…</errorcounts> <suppcounts>…</suppcounts>
//! </valgrindoutput>
//! ```
//!
//! `XmlWriter` streams: the header at `start`, each thread announcement and
//! error as one `write_all` followed by a flush, so a program killed at any
//! point leaves a prefix made of whole elements. `finish` writes the
//! trailer. `repair` turns a document cut anywhere into a well-formed one.
//!
//! # Invariants
//! - Every piece of user data (names, paths, arguments) goes through
//!   `quick_xml::escape::partial_escape` (`&`, `<`, `>`: all that element
//!   content needs, and what Valgrind escapes); CDATA is split at `]]>`.
//! - Between two calls the output is a prefix of a valid document that ends
//!   after a complete child of `<valgrindoutput>`.
//! - `<unique>` values are distinct per writer (0, 1, 2, … as Valgrind).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use quick_xml::escape::partial_escape as escape;
use quick_xml::events::Event;
use quick_xml::Reader;

use hb_engine::{MisuseKind, Report};

use crate::fatal::FatalSignalInfo;
use crate::model::{ErrorRecord, Frame, Stack, ThreadAnnouncement};
use crate::suppressions::{GeneratedSuppression, SuppressionSet};
use crate::text::{
    describe, lock_order_locks, lock_order_what, misuse_what, race_prior_what, race_what,
    required_sites, DescLine,
};

/// What the header says about the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preamble {
    /// `<preamble>` lines (free text).
    pub lines: Vec<String>,
    pub pid: u32,
    pub ppid: u32,
    /// `<tool>`: free text ("hbgrind"); `<protocoltool>` is always `helgrind`,
    /// whose error variant we speak.
    pub tool: String,
    /// Our own command line: executable and arguments (`<vargv>`).
    pub tool_exe: String,
    pub tool_args: Vec<String>,
    /// The program's (`<argv>`).
    pub exe: String,
    pub args: Vec<String>,
}

/// Valgrind's `<time>` text: `DD:HH:MM:SS.mmm ` (trailing space included).
pub fn format_elapsed(elapsed: Duration) -> String {
    let ms = elapsed.as_millis();
    let (s, ms) = (ms / 1000, ms % 1000);
    let (m, s) = (s / 60, s % 60);
    let (h, m) = (m / 60, m % 60);
    let (d, h) = (h / 24, h % 24);
    format!("{d:02}:{h:02}:{m:02}:{s:02}.{ms:03} ")
}

/// Streams one XML document.
pub struct XmlWriter<W: io::Write> {
    out: W,
    threads: HashMap<u32, ThreadAnnouncement>,
    announced: BTreeSet<u32>,
    /// (unique, occurrences) per error written, in order.
    counts: Vec<(u64, u64)>,
}

impl<W: io::Write> XmlWriter<W> {
    /// Writes the header up to the RUNNING status.
    pub fn start(mut out: W, preamble: &Preamble, elapsed: Duration) -> io::Result<Self> {
        let mut s = String::new();
        s.push_str("<?xml version=\"1.0\"?>\n\n<valgrindoutput>\n\n");
        s.push_str("<protocolversion>4</protocolversion>\n");
        s.push_str("<protocoltool>helgrind</protocoltool>\n\n<preamble>\n");
        for l in &preamble.lines {
            let _ = writeln!(s, "  <line>{}</line>", escape(l.as_str()));
        }
        let _ = writeln!(s, "</preamble>\n");
        let _ = writeln!(s, "<pid>{}</pid>", preamble.pid);
        let _ = writeln!(s, "<ppid>{}</ppid>", preamble.ppid);
        let _ = writeln!(s, "<tool>{}</tool>\n", escape(preamble.tool.as_str()));
        s.push_str("<args>\n  <vargv>\n");
        let _ = writeln!(s, "    <exe>{}</exe>", escape(preamble.tool_exe.as_str()));
        for a in &preamble.tool_args {
            let _ = writeln!(s, "    <arg>{}</arg>", escape(a.as_str()));
        }
        s.push_str("  </vargv>\n  <argv>\n");
        let _ = writeln!(s, "    <exe>{}</exe>", escape(preamble.exe.as_str()));
        for a in &preamble.args {
            let _ = writeln!(s, "    <arg>{}</arg>", escape(a.as_str()));
        }
        s.push_str("  </argv>\n</args>\n\n");
        status(&mut s, "RUNNING", elapsed);
        out.write_all(s.as_bytes())?;
        out.flush()?;
        Ok(XmlWriter {
            out,
            threads: HashMap::new(),
            announced: BTreeSet::new(),
            counts: Vec::new(),
        })
    }

    /// Records how thread `number` came to be, for its `<announcethread>`.
    pub fn add_thread(&mut self, number: u32, announcement: ThreadAnnouncement) {
        self.threads.insert(number, announcement);
    }

    /// Writes `err` (after announcing its threads) with, for
    /// `--gen-suppressions=all`, its suppression; returns its `<unique>`.
    pub fn error(
        &mut self,
        err: &ErrorRecord,
        suppression: Option<&GeneratedSuppression>,
    ) -> io::Result<u64> {
        let unique = self.counts.len() as u64;
        let mut s = String::new();
        for t in err.threads() {
            if self.announced.insert(t) {
                self.announcement(&mut s, t);
            }
        }
        s.push_str("<error>\n");
        let _ = writeln!(s, "  <unique>0x{unique:x}</unique>");
        let _ = writeln!(s, "  <tid>{}</tid>", err.thread().0);
        let _ = writeln!(s, "  <kind>{}</kind>", err.kind().name());
        error_body(&mut s, err);
        if let Some(gen) = suppression {
            suppression_xml(&mut s, gen);
        }
        s.push_str("</error>\n\n");
        self.out.write_all(s.as_bytes())?;
        self.out.flush()?;
        self.counts.push((unique, 1));
        Ok(unique)
    }

    /// Writes `<fatal_signal>`: the signal the process is dying of, where.
    pub fn fatal_signal(&mut self, fatal: &FatalSignalInfo) -> io::Result<()> {
        let mut s = String::from("<fatal_signal>\n");
        let _ = writeln!(s, "  <tid>{}</tid>", fatal.thread);
        let _ = writeln!(s, "  <signo>{}</signo>", fatal.signal);
        let _ = writeln!(
            s,
            "  <signame>{}</signame>",
            crate::fatal::signal_name(fatal.signal)
        );
        let _ = writeln!(s, "  <sicode>{}</sicode>", fatal.code);
        if let Some(event) = crate::fatal::event(fatal) {
            let _ = writeln!(s, "  <event>{}</event>", escape(event));
        }
        if crate::fatal::has_address(fatal) {
            let _ = writeln!(s, "  <siaddr>0x{:x}</siaddr>", fatal.addr);
        }
        stack_xml(&mut s, &fatal.stack);
        s.push_str("</fatal_signal>\n\n");
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// Counts one more occurrence of the error written as `unique`.
    pub fn count_again(&mut self, unique: u64) {
        if let Some(c) = self.counts.iter_mut().find(|(u, _)| *u == unique) {
            c.1 += 1;
        }
    }

    /// Writes the trailer (FINISHED status, error and suppression counts,
    /// closing tag) and returns the output.
    pub fn finish(mut self, suppressions: &SuppressionSet, elapsed: Duration) -> io::Result<W> {
        self.write_trailer(suppressions, elapsed)?;
        Ok(self.out)
    }

    /// Writes the trailer as `finish` does but keeps the writer: for a
    /// caller that may take the trailer back (truncate the file) and go on,
    /// as before an `execve` that may fail.
    pub fn write_trailer(
        &mut self,
        suppressions: &SuppressionSet,
        elapsed: Duration,
    ) -> io::Result<()> {
        let mut s = String::from("\n");
        status(&mut s, "FINISHED", elapsed);
        s.push_str("<errorcounts>\n");
        // Valgrind lists the most recent error first.
        for (unique, count) in self.counts.iter().rev() {
            let _ = writeln!(
                s,
                "  <pair>\n    <count>{count}</count>\n    <unique>0x{unique:x}</unique>\n  </pair>"
            );
        }
        s.push_str("</errorcounts>\n\n<suppcounts>\n");
        for (count, supp) in suppressions.used() {
            let _ = writeln!(
                s,
                "  <pair>\n    <count>{count}</count>\n    <name>{}</name>\n  </pair>",
                escape(supp.name.as_str())
            );
        }
        s.push_str("</suppcounts>\n\n</valgrindoutput>\n\n");
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// The output as written so far, the document left open: what a
    /// process that dies now leaves behind (`repair` closes it).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn announcement(&self, s: &mut String, thread: u32) {
        s.push_str("<announcethread>\n");
        let _ = writeln!(s, "  <hthreadid>{thread}</hthreadid>");
        match self.threads.get(&thread) {
            Some(ThreadAnnouncement::Created(stack)) => stack_xml(s, stack),
            Some(ThreadAnnouncement::Root) => s.push_str("  <isrootthread></isrootthread>\n"),
            None if thread == 1 => s.push_str("  <isrootthread></isrootthread>\n"),
            None => stack_xml(s, &Stack::default()),
        }
        s.push_str("</announcethread>\n\n");
    }
}

fn status(s: &mut String, state: &str, elapsed: Duration) {
    let _ = writeln!(
        s,
        "<status>\n  <state>{state}</state>\n  <time>{}</time>\n</status>\n",
        format_elapsed(elapsed)
    );
}

fn xwhat(s: &mut String, tag: &str, text: &str, threads: &[u32]) {
    let _ = writeln!(s, "  <{tag}>\n    <text>{}</text>", escape(text));
    for t in threads {
        let _ = writeln!(s, "    <hthreadid>{t}</hthreadid>");
    }
    let _ = writeln!(s, "  </{tag}>");
}

fn auxwhat(s: &mut String, text: &str) {
    let _ = writeln!(s, "  <auxwhat>{}</auxwhat>", escape(text));
}

fn frame_xml(s: &mut String, f: &Frame) {
    s.push_str("    <frame>\n");
    let _ = writeln!(s, "      <ip>0x{:X}</ip>", f.ip);
    if let Some(obj) = &f.object {
        let _ = writeln!(s, "      <obj>{}</obj>", escape(obj.as_str()));
    }
    if let Some(func) = &f.function {
        let _ = writeln!(s, "      <fn>{}</fn>", escape(func.as_str()));
    }
    if let (Some(file), Some(line)) = (&f.file, f.line) {
        if let Some(dir) = &f.dir {
            let _ = writeln!(s, "      <dir>{}</dir>", escape(dir.as_str()));
        }
        let _ = writeln!(s, "      <file>{}</file>", escape(file.as_str()));
        let _ = writeln!(s, "      <line>{line}</line>");
    }
    s.push_str("    </frame>\n");
}

fn stack_xml(s: &mut String, stack: &Stack) {
    s.push_str("  <stack>\n");
    for f in &stack.frames {
        frame_xml(s, f);
    }
    s.push_str("  </stack>\n");
}

fn announce_lock(s: &mut String, err: &ErrorRecord, lock: u64) {
    if let Some(stack) = err.locks.get(&lock).and_then(|l| l.first_observed.as_ref()) {
        auxwhat(s, &format!("Lock at 0x{lock:X} was first observed"));
        stack_xml(s, stack);
    }
}

fn error_body(s: &mut String, err: &ErrorRecord) {
    match &err.report {
        Report::Race(r) => {
            xwhat(s, "xwhat", &race_what(r), &[r.current.thread.0]);
            stack_xml(s, err.stack(r.current.site));
            xwhat(s, "xauxwhat", &race_prior_what(err, r), &[r.prior.thread.0]);
            let prior = err.stack(r.prior.site);
            if !prior.is_empty() {
                stack_xml(s, prior);
            }
            if let Some(desc) = &err.address {
                for l in describe(desc) {
                    match l {
                        DescLine::Text(t) => auxwhat(s, &t),
                        DescLine::Declared { text, file, line } => {
                            let _ = writeln!(
                                s,
                                "  <xauxwhat><text>{}</text> <file>{}</file> <line>{line}</line> </xauxwhat>",
                                escape(text.as_str()),
                                escape(file)
                            );
                        }
                        DescLine::Stack(st) => stack_xml(s, st),
                    }
                }
            }
        }
        Report::LockOrder(l) => {
            let (earlier, later) = lock_order_locks(l);
            xwhat(s, "xwhat", &lock_order_what(l), &[l.thread.0]);
            stack_xml(s, err.stack(l.observed.second_site));
            if let Some((first, second)) = required_sites(l) {
                auxwhat(
                    s,
                    &format!(
                        "Required order was established by acquisition of lock at 0x{earlier:X}"
                    ),
                );
                stack_xml(s, err.stack(first));
                auxwhat(
                    s,
                    &format!("followed by a later acquisition of lock at 0x{later:X}"),
                );
                stack_xml(s, err.stack(second));
            }
            announce_lock(s, err, earlier);
            announce_lock(s, err, later);
        }
        Report::Misuse(m) => {
            let mut threads = vec![m.thread.0];
            if let MisuseKind::UnlockForeign { owner } = m.kind {
                threads.push(owner.0);
            }
            xwhat(s, "xwhat", &misuse_what(m), &threads);
            stack_xml(s, err.stack(m.site));
            announce_lock(s, err, m.object);
        }
    }
}

fn suppression_xml(s: &mut String, gen: &GeneratedSuppression) {
    use crate::suppressions::FramePattern;
    s.push_str("  <suppression>\n");
    let _ = writeln!(s, "    <sname>insert_a_suppression_name_here</sname>");
    let _ = writeln!(s, "    <skind>{}</skind>", escape(gen.kind_line.as_str()));
    for f in &gen.frames {
        match f {
            FramePattern::Fun(p) => {
                let _ = writeln!(
                    s,
                    "    <sframe> <fun>{}</fun> </sframe>",
                    escape(p.as_str())
                );
            }
            FramePattern::Obj(p) => {
                let _ = writeln!(
                    s,
                    "    <sframe> <obj>{}</obj> </sframe>",
                    escape(p.as_str())
                );
            }
            // Never generated; kept for completeness.
            other => {
                let _ = writeln!(
                    s,
                    "    <sframe> <fun>{}</fun> </sframe>",
                    escape(other.to_line())
                );
            }
        }
    }
    s.push_str("    <rawtext>\n<![CDATA[\n");
    s.push_str(&gen.to_text().replace("]]>", "]]]]><![CDATA[>"));
    s.push_str("]]>\n    </rawtext>\n  </suppression>\n");
}

/// Makes a document cut anywhere (a killed program, a full disk) well formed:
/// keeps everything up to the end of the last complete child of
/// `<valgrindoutput>` and closes the document. A complete document comes
/// back unchanged; one cut before `<valgrindoutput>` becomes an empty one.
/// A file cut inside a multi-byte character can be read with
/// `String::from_utf8_lossy`: the damage lies in the dropped part.
pub fn repair(doc: &str) -> String {
    let mut reader = Reader::from_str(doc);
    let mut depth = 0usize;
    // Byte offset just after the last complete depth-1 element (or after
    // the opening `<valgrindoutput>`), if any.
    let mut keep: Option<usize> = None;
    loop {
        let event = reader.read_event();
        let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth == 1 {
                    keep = Some(end);
                }
            }
            Ok(Event::End(_)) => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
                if depth == 0 {
                    return doc.to_string(); // already complete
                }
                if depth == 1 {
                    keep = Some(end);
                }
            }
            Ok(Event::Empty(_)) if depth == 1 => keep = Some(end),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    match keep.and_then(|k| doc.get(..k)) {
        Some(prefix) => format!("{prefix}\n\n</valgrindoutput>\n\n"),
        None => "<?xml version=\"1.0\"?>\n\n<valgrindoutput>\n</valgrindoutput>\n".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::format_elapsed;
    use std::time::Duration;

    #[test]
    fn elapsed_as_valgrind_prints_it() {
        assert_eq!(
            format_elapsed(Duration::from_millis(57)),
            "00:00:00:00.057 "
        );
        assert_eq!(
            format_elapsed(Duration::from_millis(((26 * 60 + 3) * 60 + 4) * 1000 + 5)),
            "01:02:03:04.005 "
        );
    }
}
