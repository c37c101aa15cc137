//! Helgrind's text output read back into `Findings`, so the race tool's
//! reports (which reproduce Helgrind's format, `tools/report`) are compared
//! with the labels of `tests/programs/races/` exactly as TSan's are.
//!
//! # What is read
//!
//! Tool lines start `==PID== ` (an empty tool line is `==PID==` with or
//! without its space), client messages (`VALGRIND_PRINTF`) `**PID** `, and
//! `-v` diagnostics `--PID-- `; anything else is the program's own output or
//! a generated suppression (`{` ... `}` at the start of a line, printed raw
//! after the error it belongs to, as Valgrind does).
//!
//! An error is the block of tool lines after a separator line of dashes, up
//! to the next separator, thread announcement or `ERROR SUMMARY`. Its first
//! line says what it is:
//! - `Possible data race during KIND of size N at 0x... by thread #T`, a
//!   stack, then `This conflicts with a previous KIND of size N by thread
//!   #M` and its stack: a race; each side's location is the innermost frame
//!   in the program's own source file, as the labels give it (a `memset`
//!   side has `memset` innermost, then the caller). A race without the
//!   previous access is a `Finding::Other`, which no label expects.
//! - `Thread #T: lock order "0x... before 0x..." violated`: the stacks after
//!   `Observed (incorrect) order is: acquisition of lock at` (the lock held)
//!   and the `followed by a later acquisition` right after it (the one that
//!   closes the cycle).
//! - `Thread #T unlocked a not-locked lock at 0x...`: a misuse at the first
//!   stack.
//! - Anything else: `Finding::Other` with that first line.
//!
//! Parsing never guesses: a stack whose frames name no line of the program
//! gives `?:0`, which no label matches.

use crate::labels::{Access, AccessKind, Finding, Findings, Loc, Misuse};

/// One frame of a stack: `at 0x109185: main (counter_unlocked.c:21)`,
/// `by 0x484C7D6: ??? (in /usr/lib/x.so)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub ip: u64,
    pub function: String,
    /// The file as printed (usually without directory) and the line.
    pub source: Option<(String, u32)>,
    /// `(in OBJECT)` when there is no source.
    pub object: Option<String>,
}

impl Frame {
    /// `function (file:line)` or `function (in object)` or `function`.
    pub fn describe(&self) -> String {
        match (&self.source, &self.object) {
            (Some((file, line)), _) => format!("{} ({file}:{line})", self.function),
            (None, Some(object)) => format!("{} (in {object})", self.function),
            (None, None) => self.function.clone(),
        }
    }

    fn is_in(&self, program: &str) -> Option<u32> {
        let (file, line) = self.source.as_ref()?;
        (file.rsplit('/').next() == Some(program)).then_some(*line)
    }
}

/// A header line of an error and what follows it: its `Locks held` or
/// other plain lines, and its stack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// The line, with the tool prefix removed and leading spaces kept.
    pub header: String,
    /// Plain lines after the header and before the stack (`Locks held: …`).
    pub notes: Vec<String>,
    pub frames: Vec<Frame>,
}

impl Section {
    /// The innermost frame in `program`'s own source, else `?:0`.
    pub fn own_loc(&self, program: &str) -> Loc {
        own_loc(program, &self.frames)
    }
}

/// One error: its lines in sections, what it means against the labels, and
/// the suppression printed after it (`--gen-suppressions`), if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBlock {
    pub sections: Vec<Section>,
    pub finding: Finding,
    /// The raw text from `{` to `}` inclusive, newline-terminated lines.
    pub suppression: Option<String>,
}

impl ErrorBlock {
    /// The first section from the title on whose header (trimmed) starts
    /// with `prefix`.
    pub fn section(&self, prefix: &str) -> Option<&Section> {
        self.sections[title_index(&self.sections)..]
            .iter()
            .find(|s| s.header.trim_start().starts_with(prefix))
    }

    /// The error's title section (`Possible data race during …` and the
    /// current access's stack), after any lock announcements.
    pub fn title(&self) -> &Section {
        self.sections
            .get(title_index(&self.sections))
            .expect("an error has at least one line")
    }

    /// All lines of the error again, without prefix, for messages.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for s in &self.sections {
            text.push_str(&s.header);
            text.push('\n');
            for n in &s.notes {
                text.push_str(n);
                text.push('\n');
            }
            for (i, f) in s.frames.iter().enumerate() {
                let lead = if i == 0 { "at" } else { "by" };
                text.push_str(&format!("   {lead} 0x{:X}: {}\n", f.ip, f.describe()));
            }
        }
        text
    }
}

/// `ERROR SUMMARY: E errors from C contexts (suppressed: S from SC)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorSummary {
    pub errors: u64,
    pub contexts: u64,
    pub suppressed: u64,
    pub suppressed_contexts: u64,
}

/// `--PID-- used_suppression:      1 NAME FILE:LINE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsedSuppression {
    pub count: u64,
    pub name: String,
    /// `file:line` of the suppression's first line, as printed.
    pub location: String,
}

/// Everything read from one log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelgrindLog {
    /// The PID of the first tool line.
    pub pid: Option<u32>,
    pub errors: Vec<ErrorBlock>,
    /// The last `ERROR SUMMARY` line (`-v` prints it twice).
    pub summary: Option<ErrorSummary>,
    /// Lines behind `**PID** ` (client messages), prefix removed.
    pub client_lines: Vec<String>,
    /// Tool lines (`==PID== `), prefix removed, in order: for checks on
    /// lines outside errors (backtraces of `VALGRIND_PRINTF_BACKTRACE`).
    pub tool_lines: Vec<String>,
    pub used_suppressions: Vec<UsedSuppression>,
}

impl HelgrindLog {
    /// The findings of all errors, as a set.
    pub fn findings(&self) -> Findings {
        self.errors.iter().map(|e| e.finding.clone()).collect()
    }
}

const SEPARATOR: &str = "----------------------------------------------------------------";
const ANNOUNCEMENT: &str = "---Thread-Announcement------------------------------------------";

/// A line split by its prefix.
enum Line<'a> {
    /// `==PID== text`
    Tool(u32, &'a str),
    /// `**PID** text`
    Client(&'a str),
    /// `--PID-- text`
    Debug(&'a str),
    /// Anything else.
    Raw(&'a str),
}

fn split_prefix(line: &str) -> Line<'_> {
    for (mark, kind) in [("==", 0), ("**", 1), ("--", 2)] {
        let Some(rest) = line.strip_prefix(mark) else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !rest[digits..].starts_with(mark) {
            continue;
        }
        let pid: u32 = rest[..digits].parse().unwrap_or(0);
        let text = &rest[digits + 2..];
        let text = text.strip_prefix(' ').unwrap_or(text);
        return match kind {
            0 => Line::Tool(pid, text),
            1 => Line::Client(text),
            _ => Line::Debug(text),
        };
    }
    Line::Raw(line)
}

/// `   at 0x109185: main (counter_unlocked.c:21)` and the like.
pub fn parse_frame(text: &str) -> Option<Frame> {
    let rest = text.trim_start();
    let rest = rest
        .strip_prefix("at 0x")
        .or_else(|| rest.strip_prefix("by 0x"))?;
    let (ip, rest) = rest.split_once(": ")?;
    let ip = u64::from_str_radix(ip, 16).ok()?;
    let mut frame = Frame {
        ip,
        function: rest.to_string(),
        source: None,
        object: None,
    };
    if let Some(inner) = rest.strip_suffix(')') {
        if let Some((function, paren)) = inner.rsplit_once(" (") {
            if let Some(object) = paren.strip_prefix("in ") {
                frame.function = function.to_string();
                frame.object = Some(object.to_string());
            } else if let Some((file, line)) = paren.rsplit_once(':') {
                if let Ok(line) = line.parse() {
                    frame.function = function.to_string();
                    frame.source = Some((file.to_string(), line));
                }
            }
        }
    }
    Some(frame)
}

/// The innermost frame of `frames` in `program`'s own file, else `?:0`.
pub fn own_loc(program: &str, frames: &[Frame]) -> Loc {
    frames.iter().find_map(|f| f.is_in(program)).map_or_else(
        || Loc {
            file: "?".into(),
            line: 0,
        },
        |line| Loc {
            file: program.to_string(),
            line,
        },
    )
}

fn parse_summary(text: &str) -> Option<ErrorSummary> {
    let rest = text.strip_prefix("ERROR SUMMARY: ")?;
    let numbers: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    match numbers[..] {
        [errors, contexts, suppressed, suppressed_contexts] => Some(ErrorSummary {
            errors,
            contexts,
            suppressed,
            suppressed_contexts,
        }),
        _ => None,
    }
}

fn parse_used(text: &str) -> Option<UsedSuppression> {
    let rest = text.strip_prefix("used_suppression:")?.trim_start();
    let (count, rest) = rest.split_once(' ')?;
    let (name, location) = rest.trim_start().rsplit_once(' ')?;
    Some(UsedSuppression {
        count: count.parse().ok()?,
        name: name.to_string(),
        location: location.to_string(),
    })
}

/// Reads a Helgrind-format log; `program` is the labelled program's file
/// name (`counter_unlocked.c`), whose frames give the findings' locations.
pub fn parse_log(program: &str, log: &str) -> HelgrindLog {
    let mut out = HelgrindLog::default();
    // The lines of the error being read, if any.
    let mut block: Option<Vec<&str>> = None;
    // A generated suppression being read.
    let mut suppression: Option<String> = None;
    let finish = |block: &mut Option<Vec<&str>>, out: &mut HelgrindLog| {
        if let Some(lines) = block.take() {
            out.errors.push(error_block(program, &lines));
        }
    };
    for line in log.lines() {
        if let Some(text) = suppression.as_mut() {
            text.push_str(line);
            text.push('\n');
            if line == "}" {
                let text = suppression.take().expect("reading a suppression");
                finish(&mut block, &mut out);
                if let Some(last) = out.errors.last_mut() {
                    last.suppression = Some(text);
                }
            }
            continue;
        }
        match split_prefix(line) {
            Line::Tool(pid, text) => {
                out.pid.get_or_insert(pid);
                out.tool_lines.push(text.to_string());
                if text == SEPARATOR {
                    finish(&mut block, &mut out);
                    block = Some(Vec::new());
                } else if text == ANNOUNCEMENT {
                    finish(&mut block, &mut out);
                } else if let Some(summary) = parse_summary(text) {
                    finish(&mut block, &mut out);
                    out.summary = Some(summary);
                } else if let Some(lines) = block.as_mut() {
                    lines.push(text);
                }
            }
            Line::Client(text) => out.client_lines.push(text.to_string()),
            Line::Debug(text) => {
                if let Some(used) = parse_used(text) {
                    out.used_suppressions.push(used);
                }
            }
            Line::Raw(text) => {
                if text == "{" {
                    suppression = Some("{\n".to_string());
                }
            }
        }
    }
    finish(&mut block, &mut out);
    out
}

/// Splits an error's lines into sections and reads its finding.
fn error_block(program: &str, lines: &[&str]) -> ErrorBlock {
    let mut sections: Vec<Section> = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(frame) = parse_frame(line) {
            match sections.last_mut() {
                Some(s) => s.frames.push(frame),
                None => sections.push(Section {
                    header: String::new(),
                    notes: Vec::new(),
                    frames: vec![frame],
                }),
            }
            continue;
        }
        let is_note = line.starts_with("Locks held:");
        match sections.last_mut() {
            Some(s) if is_note && s.frames.is_empty() => s.notes.push(line.to_string()),
            _ => sections.push(Section {
                header: line.to_string(),
                notes: Vec::new(),
                frames: Vec::new(),
            }),
        }
    }
    let finding = finding(program, &sections);
    ErrorBlock {
        sections,
        finding,
        suppression: None,
    }
}

/// Where the error proper starts: a race first announces the locks held
/// at either access (` Lock at 0x… was first observed`, its stack and where
/// it lies), then comes its title.
fn title_index(sections: &[Section]) -> usize {
    sections
        .iter()
        .position(|s| {
            let h = s.header.trim();
            h.starts_with("Possible data race during ") || h.starts_with("Thread #")
        })
        .unwrap_or(0)
        .min(sections.len())
}

fn other(program: &str, what: &str, sections: &[Section]) -> Finding {
    Finding::Other {
        what: what.to_string(),
        at: sections
            .iter()
            .map(|s| s.own_loc(program))
            .find(|l| l.line != 0),
    }
}

/// `KIND of size N` at the start of `text`.
fn kind_and_size(text: &str) -> Option<(AccessKind, u32)> {
    let (kind, rest) = text.split_once(" of size ")?;
    let kind = match kind {
        "read" => AccessKind::Read,
        "write" => AccessKind::Write,
        _ => return None,
    };
    let size = rest.split(' ').next()?.parse().ok()?;
    Some((kind, size))
}

fn finding(program: &str, sections: &[Section]) -> Finding {
    let sections = &sections[title_index(sections)..];
    let Some(first) = sections.first() else {
        return other(program, "an empty error", sections);
    };
    let title = first.header.trim();
    if let Some(rest) = title.strip_prefix("Possible data race during ") {
        let Some((kind, size)) = kind_and_size(rest) else {
            return other(program, title, sections);
        };
        let current = Access {
            kind,
            size,
            at: first.own_loc(program),
        };
        let prior = sections.iter().find_map(|s| {
            let rest = s
                .header
                .trim()
                .strip_prefix("This conflicts with a previous ")?;
            let (kind, size) = kind_and_size(rest)?;
            Some(Access {
                kind,
                size,
                at: s.own_loc(program),
            })
        });
        return match prior {
            Some(prior) => Finding::race(current, prior),
            None => other(
                program,
                &format!("race without a previous access: {title}"),
                sections,
            ),
        };
    }
    if title.starts_with("Thread #") && title.ends_with("\" violated") {
        let observed = sections.iter().position(|s| {
            s.header
                .trim()
                .starts_with("Observed (incorrect) order is: acquisition of lock at ")
        });
        let closing = observed.and_then(|i| sections.get(i + 1)).filter(|s| {
            s.header
                .trim()
                .starts_with("followed by a later acquisition of lock at ")
        });
        return match (observed, closing) {
            (Some(i), Some(closing)) => Finding::LockOrder {
                held: sections[i].own_loc(program),
                closing: closing.own_loc(program),
            },
            _ => other(
                program,
                &format!("lock order without both stacks: {title}"),
                sections,
            ),
        };
    }
    if title.starts_with("Thread #") && title.contains(" unlocked a not-locked lock at 0x") {
        return Finding::Misuse {
            what: Misuse::UnlockUnlocked,
            at: first.own_loc(program),
        };
    }
    other(program, title, sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real `valgrind --tool=helgrind` output (3.19) for a race, a
    /// lock-order inversion and an unlock of an unlocked lock, with a
    /// generated suppression after the first and the program's own line.
    const LOG: &str = "\
==18294== Helgrind, a thread error detector
==18294== Command: ./p
==18294== 
==18294== ---Thread-Announcement------------------------------------------
==18294== 
==18294== Thread #1 is the program's root thread
==18294== 
==18294== ----------------------------------------------------------------
==18294== 
==18294==  Lock at 0x10C060 was first observed
==18294==    at 0x484976E: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x109168: main (p.c:13)
==18294==  Address 0x10c060 is 0 bytes inside data symbol \"lock\"
==18294== 
==18294== Possible data race during write of size 1 at 0x10C0C4 by thread #1
==18294== Locks held: none
==18294==    at 0x1091AE: main (p.c:24)
==18294== 
==18294== This conflicts with a previous write of size 8 by thread #2
==18294== Locks held: 1, at address 0x10C060
==18294==    at 0x4851BD4: memset (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x109184: worker (p.c:16)
==18294==    by 0x48F01F4: start_thread (pthread_create.c:442)
==18294==  Address 0x10c0c4 is 100 bytes inside data symbol \"buffer\"
==18294== 
{
   <insert_a_suppression_name_here>
   Helgrind:Race
   fun:main
}
==18294== ----------------------------------------------------------------
==18294== 
==18294== Thread #1: lock order \"0x10C0A0 before 0x10C060\" violated
==18294== 
==18294== Observed (incorrect) order is: acquisition of lock at 0x10C060
==18294==    at 0x484976E: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x109194: main (p.c:20)
==18294== 
==18294==  followed by a later acquisition of lock at 0x10C0A0
==18294==    at 0x484976E: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x10919C: main (p.c:21)
==18294== 
==18294== Required order was established by acquisition of lock at 0x10C0A0
==18294==    at 0x484976E: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x10916D: main (p.c:15)
==18294== 
==18294==  followed by a later acquisition of lock at 0x10C060
==18294==    at 0x484976E: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x10917C: main (p.c:16)
==18294== 
==18294== ----------------------------------------------------------------
==18294== 
==18294== Thread #1 unlocked a not-locked lock at 0x10C080
==18294==    at 0x4849C86: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x109182: main (p.c:30)
==18294==  Lock at 0x10C080 was first observed
==18294==    at 0x484976E: ??? (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)
==18294==    by 0x109168: main (p.c:13)
==18294== 
**18294** hello 42
done
==18294== 
==18294== Use --history-level=approx or =none to gain increased speed, at
==18294== the cost of reduced accuracy of conflicting-access information
==18294== ERROR SUMMARY: 3 errors from 3 contexts (suppressed: 0 from 0)
--18294-- 
--18294-- used_suppression:      2 glibc-tls-setup /work/main/suppressions/glibc.supp:12
==18294== 
==18294== ERROR SUMMARY: 3 errors from 3 contexts (suppressed: 2 from 1)
";

    fn loc(line: u32) -> Loc {
        Loc {
            file: "p.c".into(),
            line,
        }
    }

    #[test]
    fn errors_become_findings() {
        let log = parse_log("p.c", LOG);
        assert_eq!(log.pid, Some(18294));
        let found: Vec<Finding> = log.errors.iter().map(|e| e.finding.clone()).collect();
        assert_eq!(
            found,
            [
                Finding::race(
                    Access {
                        kind: AccessKind::Write,
                        size: 1,
                        at: loc(24)
                    },
                    Access {
                        kind: AccessKind::Write,
                        size: 8,
                        at: loc(16)
                    }
                ),
                Finding::LockOrder {
                    held: loc(20),
                    closing: loc(21)
                },
                Finding::Misuse {
                    what: Misuse::UnlockUnlocked,
                    at: loc(30)
                },
            ]
        );
        assert_eq!(
            log.errors[0].suppression.as_deref(),
            Some("{\n   <insert_a_suppression_name_here>\n   Helgrind:Race\n   fun:main\n}\n")
        );
        assert_eq!(log.errors[1].suppression, None);
        let prior = log.errors[0]
            .section("This conflicts with")
            .expect("prior section");
        assert_eq!(prior.notes, ["Locks held: 1, at address 0x10C060"]);
        assert_eq!(
            prior.frames.iter().map(Frame::describe).collect::<Vec<_>>(),
            [
                "memset (in /usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so)",
                "worker (p.c:16)",
                "start_thread (pthread_create.c:442)"
            ]
        );
        assert_eq!(
            log.errors[0].section("Address").map(|s| s.header.as_str()),
            Some(" Address 0x10c0c4 is 100 bytes inside data symbol \"buffer\"")
        );
        assert_eq!(
            log.summary,
            Some(ErrorSummary {
                errors: 3,
                contexts: 3,
                suppressed: 2,
                suppressed_contexts: 1
            })
        );
        assert_eq!(log.client_lines, ["hello 42"]);
        assert_eq!(
            log.used_suppressions,
            [UsedSuppression {
                count: 2,
                name: "glibc-tls-setup".into(),
                location: "/work/main/suppressions/glibc.supp:12".into()
            }]
        );
    }

    #[test]
    fn incomplete_reports_never_match_a_label() {
        let cut = LOG.replace("This conflicts with a previous", "Something else about a");
        let log = parse_log("p.c", &cut);
        assert_eq!(
            log.errors[0].finding,
            Finding::Other {
                what: "race without a previous access: Possible data race during write of \
                       size 1 at 0x10C0C4 by thread #1"
                    .into(),
                at: Some(loc(24))
            }
        );
        // A stack outside the program gives ?:0.
        let foreign = LOG.replace("main (p.c:24)", "main (q.c:24)");
        let Finding::Race { first, second } = &parse_log("p.c", &foreign).errors[0].finding else {
            panic!("still a race");
        };
        assert_eq!((first.at.line, second.at.line), (0, 16));
        // No summary line: None, never zero.
        assert_eq!(parse_log("p.c", "done\n").summary, None);
    }

    #[test]
    fn frames_parse() {
        assert_eq!(
            parse_frame("   by 0x48F08EC: pthread_create@@GLIBC_2.34 (pthread_create.c:831)"),
            Some(Frame {
                ip: 0x48F08EC,
                function: "pthread_create@@GLIBC_2.34".into(),
                source: Some(("pthread_create.c".into(), 831)),
                object: None
            })
        );
        assert_eq!(
            parse_frame("   at 0x1: f(int) (a b.cpp:3)").map(|f| f.describe()),
            Some("f(int) (a b.cpp:3)".into())
        );
        assert_eq!(
            parse_frame("   by 0x2: ???").map(|f| f.describe()),
            Some("???".into())
        );
        assert_eq!(parse_frame("Locks held: none"), None);
    }
}
