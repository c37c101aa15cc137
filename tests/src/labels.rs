//! Expected findings of the labelled race programs in
//! `tests/programs/races/`, and the same findings read back from a tool's
//! reports (ThreadSanitizer's now, hbgrind's later), so a test compares two
//! `Findings` sets: extra and missing findings both fail.
//!
//! # Labels
//!
//! Labels live in the program's C comments, one per line; text from `*/` on
//! is ignored, as are lines without a label keyword:
//!
//! ```text
//! expect-race: write 4 counter_unlocked.c:13 / read 4 counter_unlocked.c:21
//! expect-lockorder: lockorder_two_locks.c:20 / lockorder_two_locks.c:21
//! expect-misuse: unlock-unlocked unlock_unlocked.c:16
//! tsan-expect: race write 1 size_unaligned_overlap.c:23 / write 2 size_unaligned_overlap.c:31
//! tsan-expect: none
//! hbgrind-expect: none
//! hbgrind-options: --lock-model=custom_lock.model
//! build-with: glib-2.0
//! ```
//!
//! - `expect-race: KIND SIZE FILE:LINE / KIND SIZE FILE:LINE`: one data race,
//!   given as the two conflicting accesses, each with its kind (`read` or
//!   `write`), its size in bytes and the `file:line` of the innermost frame
//!   in the program's own source. The pair is unordered: which access a tool
//!   sees first depends on the schedule, the pair does not. An atomic access
//!   that races with a plain one keeps its kind (`__atomic_fetch_add` is a
//!   write). A range access (`memset`, `memcpy`, `rep stos`) is reported per
//!   aligned 8-byte word, as TSan and Helgrind both do: its size is 8 (or
//!   less at the ends of the range).
//! - `expect-lockorder: FILE:LINE / FILE:LINE`: a lock-order inversion
//!   (potential deadlock), reported once, at the acquisition that closes the
//!   cycle: the first location is where the thread took the lock it still
//!   holds, the second where it then takes the lock that closes the cycle.
//!   This is Helgrind's "Observed (incorrect) order is: acquisition of lock
//!   at X ... followed by a later acquisition of lock at Y" and TSan's last
//!   edge of the cycle (`Mutex M0 acquired here while holding mutex M1` for
//!   the second location and, with `second_deadlock_stack=1`, `Mutex M1
//!   previously acquired by the same thread here` for the first).
//! - `expect-misuse: WHAT FILE:LINE`: a misuse of a pthread primitive at the
//!   given call; `WHAT` is `unlock-unlocked` (unlocking a mutex that no
//!   thread holds).
//! - No `expect-*` label: the program is correctly synchronised and a tool
//!   must report nothing at all.
//! - `tsan-expect: race ... | lockorder ... | misuse ... | none`: where
//!   ThreadSanitizer legitimately reports something else (it ignores
//!   Valgrind client requests, it sizes some unaligned accesses differently),
//!   the set TSan is held to instead, with a comment in the program saying
//!   why. Several `tsan-expect` lines make one set; `none` stands alone.
//! - `hbgrind-expect: race ... | lockorder ... | misuse ... | none`: a
//!   known failure of hbgrind, in the syntax of `tsan-expect`: the set
//!   hbgrind reports today where it is wrong, with a comment saying why.
//!   The `expect-*` labels stay what is true of the program; the tests hold
//!   hbgrind to this set instead (so a fix, or a new error, shows as a
//!   difference and the line must go) and name the program a known failure.
//! - `hbgrind-options: OPTION...`: options hbgrind needs to run the program
//!   as labelled (for a lock library of the program's own, the model file
//!   that describes it), separated by spaces, in order; several lines add
//!   up. A relative `--lock-model=FILE` is resolved against
//!   `tests/programs/races/` by the test that runs hbgrind; ThreadSanitizer
//!   runs ignore the line.
//! - `build-with: PACKAGE...`: pkg-config packages the program is compiled
//!   and linked with (`pkg-config --cflags --libs`), for hbgrind's runs and
//!   ThreadSanitizer's alike (`races::build_flags`).
//!
//! Every `FILE` must be the program's own file name and every `LINE` a
//! line of code in it (not blank, not a comment); anything malformed is a `LabelError` naming the
//! line of the label.

use std::collections::BTreeSet;
use std::fmt;

/// A source location: file name (no directory) and 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub file: String,
    pub line: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessKind {
    Read,
    Write,
}

impl fmt::Display for AccessKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
        })
    }
}

/// One side of a race: what was accessed, how wide, and where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Access {
    pub kind: AccessKind,
    pub size: u32,
    pub at: Loc,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.kind, self.size, self.at)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Misuse {
    /// Unlocking a mutex that no thread holds.
    UnlockUnlocked,
}

impl Misuse {
    const ALL: [(Misuse, &'static str); 1] = [(Misuse::UnlockUnlocked, "unlock-unlocked")];

    fn name(self) -> &'static str {
        Misuse::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, name)| *name)
            .expect("every misuse has a name")
    }
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One reported (or expected) error.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Finding {
    /// A data race between two accesses, unordered: build it with
    /// `Finding::race`, which puts the smaller access first.
    Race {
        first: Access,
        second: Access,
    },
    /// A lock-order inversion, at the acquisition that closes the cycle.
    LockOrder {
        held: Loc,
        closing: Loc,
    },
    Misuse {
        what: Misuse,
        at: Loc,
    },
    /// Any other kind of report (a tool's title and the innermost location
    /// in the program, if any): never expected, so it always fails a test.
    Other {
        what: String,
        at: Option<Loc>,
    },
}

impl Finding {
    /// The race between `a` and `b`, whichever came first.
    pub fn race(a: Access, b: Access) -> Finding {
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        Finding::Race { first, second }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Race { first, second } => write!(f, "race {first} / {second}"),
            Finding::LockOrder { held, closing } => write!(f, "lockorder {held} / {closing}"),
            Finding::Misuse { what, at } => write!(f, "misuse {what} {at}"),
            Finding::Other { what, at: Some(at) } => write!(f, "other {what:?} {at}"),
            Finding::Other { what, at: None } => write!(f, "other {what:?}"),
        }
    }
}

/// A set of findings; compare two with `==` and show a difference with
/// `describe_difference`.
pub type Findings = BTreeSet<Finding>;

/// What expected and actual sets disagree on, one finding a line; empty
/// when they are equal.
pub fn describe_difference(expected: &Findings, actual: &Findings) -> String {
    let mut text = String::new();
    for missing in expected.difference(actual) {
        text.push_str(&format!("  missing: {missing}\n"));
    }
    for extra in actual.difference(expected) {
        text.push_str(&format!("  extra:   {extra}\n"));
    }
    text
}

/// The labels of one program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    /// What a correct race detector reports (`expect-*`).
    pub expected: Findings,
    /// What ThreadSanitizer reports instead, when a `tsan-expect` says so.
    pub tsan_override: Option<Findings>,
    /// What hbgrind reports today, when a `hbgrind-expect` says it is
    /// wrong (a known failure).
    pub hbgrind_override: Option<Findings>,
    /// Options to run hbgrind with (`hbgrind-options`), as written.
    pub hbgrind_options: Vec<String>,
    /// pkg-config packages to build with (`build-with`).
    pub build_with: Vec<String>,
}

impl Labels {
    /// The set ThreadSanitizer is held to.
    pub fn for_tsan(&self) -> &Findings {
        self.tsan_override.as_ref().unwrap_or(&self.expected)
    }

    /// The set hbgrind is held to: the true one, unless a known failure.
    pub fn for_hbgrind(&self) -> &Findings {
        self.hbgrind_override.as_ref().unwrap_or(&self.expected)
    }
}

/// A malformed label: the program, the 1-based line of the label, and what
/// is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelError {
    pub program: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.program, self.line, self.message)
    }
}

impl std::error::Error for LabelError {}

const KEYWORDS: [&str; 7] = [
    "expect-race:",
    "expect-lockorder:",
    "expect-misuse:",
    "tsan-expect:",
    "hbgrind-expect:",
    "hbgrind-options:",
    "build-with:",
];

/// Parses the labels of `source`, the text of the program named `program`
/// (its file name, as labels spell it).
pub fn parse_labels(program: &str, source: &str) -> Result<Labels, LabelError> {
    let lines: Vec<&str> = source.lines().collect();
    let mut labels = Labels::default();
    // The two overrides, `tsan-expect` then `hbgrind-expect`: the set,
    // how many lines, and the line of a `none`.
    let mut overrides: [(Findings, usize, Option<usize>); 2] = Default::default();
    for (index, text) in lines.iter().enumerate() {
        let number = index + 1;
        let error = |message: String| LabelError {
            program: program.to_string(),
            line: number,
            message,
        };
        let Some((keyword, rest)) = find_keyword(text).map_err(&error)? else {
            continue;
        };
        let body = rest.split("*/").next().unwrap_or("").trim();
        let context = LabelContext {
            program,
            lines: &lines,
        };
        if keyword == "build-with:" {
            let packages: Vec<String> = body.split_whitespace().map(str::to_string).collect();
            if packages.is_empty() {
                return Err(error("build-with names no pkg-config package".into()));
            }
            labels.build_with.extend(packages);
            continue;
        }
        if keyword == "hbgrind-options:" {
            let options: Vec<String> = body.split_whitespace().map(str::to_string).collect();
            if let Some(bad) = options.iter().find(|o| !o.starts_with("--")) {
                return Err(error(format!(
                    "hbgrind-options wants options like `--lock-model=FILE`, not {bad:?}"
                )));
            }
            if options.is_empty() {
                return Err(error("hbgrind-options names no option".into()));
            }
            labels.hbgrind_options.extend(options);
            continue;
        }
        let (set, finding) = if let Some(which) = ["tsan-expect:", "hbgrind-expect:"]
            .iter()
            .position(|k| *k == keyword)
        {
            let (set, count, none_line) = &mut overrides[which];
            *count += 1;
            if body == "none" {
                *none_line = Some(number);
                continue;
            }
            let (kind, rest) = body.split_once(' ').unwrap_or((body, ""));
            let name = keyword.trim_end_matches(':');
            let finding = match kind {
                "race" => context.race(rest.trim()),
                "lockorder" => context.lock_order(rest.trim()),
                "misuse" => context.misuse(rest.trim()),
                _ => Err(format!(
                    "{name} wants `race ...`, `lockorder ...`, `misuse ...` or `none`, not {body:?}"
                )),
            }
            .map_err(&error)?;
            (set, finding)
        } else {
            let finding = match keyword {
                "expect-race:" => context.race(body),
                "expect-lockorder:" => context.lock_order(body),
                _ => context.misuse(body),
            }
            .map_err(&error)?;
            (&mut labels.expected, finding)
        };
        if !set.insert(finding.clone()) {
            return Err(error(format!("duplicate label: {finding}")));
        }
    }
    let [tsan, hbgrind] = overrides;
    for ((set, count, none_line), name, slot) in [
        (tsan, "tsan-expect", &mut labels.tsan_override),
        (hbgrind, "hbgrind-expect", &mut labels.hbgrind_override),
    ] {
        if let Some(line) = none_line.filter(|_| count > 1) {
            return Err(LabelError {
                program: program.to_string(),
                line,
                message: format!("`{name}: none` must be the only {name}"),
            });
        }
        if count > 0 {
            *slot = Some(set);
        }
    }
    Ok(labels)
}

/// The label keyword on a line and the text after it; an error for a word
/// that looks like a label but is not one (`expect-races:`).
fn find_keyword(text: &str) -> Result<Option<(&'static str, &str)>, String> {
    for keyword in KEYWORDS {
        if let Some(at) = text.find(keyword) {
            return Ok(Some((keyword, &text[at + keyword.len()..])));
        }
    }
    for word in text.split_whitespace() {
        let looks_like_label = word.ends_with(':')
            && (word.starts_with("expect-")
                || word.starts_with("tsan-")
                || word.starts_with("hbgrind-")
                || word.starts_with("build-"))
            && word[..word.len() - 1]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-');
        if looks_like_label {
            return Err(format!(
                "unknown label {word:?}; labels are {}",
                KEYWORDS.join(" ")
            ));
        }
    }
    Ok(None)
}

struct LabelContext<'a> {
    program: &'a str,
    lines: &'a [&'a str],
}

impl LabelContext<'_> {
    /// `KIND SIZE FILE:LINE / KIND SIZE FILE:LINE`
    fn race(&self, body: &str) -> Result<Finding, String> {
        let (a, b) = two_sides(body, "KIND SIZE FILE:LINE / KIND SIZE FILE:LINE")?;
        Ok(Finding::race(self.access(a)?, self.access(b)?))
    }

    /// `FILE:LINE / FILE:LINE`
    fn lock_order(&self, body: &str) -> Result<Finding, String> {
        let (held, closing) = two_sides(body, "FILE:LINE / FILE:LINE")?;
        Ok(Finding::LockOrder {
            held: self.loc(held)?,
            closing: self.loc(closing)?,
        })
    }

    /// `WHAT FILE:LINE`
    fn misuse(&self, body: &str) -> Result<Finding, String> {
        let words: Vec<&str> = body.split_whitespace().collect();
        let [what, at] = words[..] else {
            return Err(format!("expected `WHAT FILE:LINE`, found {body:?}"));
        };
        let what = Misuse::ALL
            .iter()
            .find(|(_, name)| *name == what)
            .map(|(m, _)| *m)
            .ok_or_else(|| {
                let names: Vec<&str> = Misuse::ALL.iter().map(|(_, name)| *name).collect();
                format!("unknown misuse {what:?}; known: {}", names.join(", "))
            })?;
        Ok(Finding::Misuse {
            what,
            at: self.loc(at)?,
        })
    }

    fn access(&self, text: &str) -> Result<Access, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [kind, size, at] = words[..] else {
            return Err(format!("expected `KIND SIZE FILE:LINE`, found {text:?}"));
        };
        let kind = match kind {
            "read" => AccessKind::Read,
            "write" => AccessKind::Write,
            _ => return Err(format!("access kind must be read or write, not {kind:?}")),
        };
        let size = match size.parse::<u32>() {
            Ok(size) if (1..=64).contains(&size) => size,
            _ => return Err(format!("access size must be 1 to 64 bytes, not {size:?}")),
        };
        Ok(Access {
            kind,
            size,
            at: self.loc(at)?,
        })
    }

    fn loc(&self, text: &str) -> Result<Loc, String> {
        let (file, line) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("expected FILE:LINE, found {text:?}"))?;
        if file != self.program {
            return Err(format!(
                "{text:?} names file {file:?}; labels name the program's own file {:?}",
                self.program
            ));
        }
        let line: u32 = line
            .parse()
            .map_err(|_| format!("line number {line:?} in {text:?} is not a number"))?;
        let in_range = line >= 1 && (line as usize) <= self.lines.len();
        let is_code = in_range && {
            let text = self.lines[line as usize - 1].trim();
            !(text.is_empty()
                || text.starts_with("/*")
                || text.starts_with('*')
                || text.starts_with("//"))
        };
        if !is_code {
            return Err(format!(
                "{text:?} is not a line of code ({} has {} lines)",
                self.program,
                self.lines.len()
            ));
        }
        Ok(Loc {
            file: file.to_string(),
            line,
        })
    }
}

fn two_sides<'a>(body: &'a str, shape: &str) -> Result<(&'a str, &'a str), String> {
    let sides: Vec<&str> = body.split(" / ").collect();
    match sides[..] {
        [a, b] => Ok((a.trim(), b.trim())),
        _ => Err(format!("expected `{shape}`, found {body:?}")),
    }
}

/// The findings in ThreadSanitizer's report output (stderr of a program
/// built with `-fsanitize=thread -g` and run with `halt_on_error=0
/// second_deadlock_stack=1`). Each location is the innermost frame whose
/// file is `program`; a stack without one gives `?:0`, which never matches
/// a label. An error for output that is not understood, such as a report
/// count that disagrees with the reports found.
pub fn parse_tsan(program: &str, stderr: &str) -> Result<Findings, String> {
    let mut findings = Findings::new();
    let mut reports = 0usize;
    let mut announced = None;
    let mut lines = stderr.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(count) = line
            .strip_prefix("ThreadSanitizer: reported ")
            .and_then(|rest| {
                rest.strip_suffix(" warnings")
                    .or(rest.strip_suffix(" warning"))
            })
        {
            announced = Some(
                count
                    .parse::<usize>()
                    .map_err(|_| format!("bad report count in {line:?}"))?,
            );
            continue;
        }
        let Some(rest) = line.strip_prefix("WARNING: ThreadSanitizer: ") else {
            continue;
        };
        let title = rest.rsplit_once(" (pid=").map_or(rest, |(title, _)| title);
        let mut body = Vec::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("==================") || next.starts_with("WARNING: ") {
                break;
            }
            body.push(lines.next().expect("peeked"));
        }
        reports += 1;
        let sections = sections(line, &body);
        let finding = tsan_finding(program, title, &sections)
            .map_err(|err| format!("TSan report {reports} ({title}): {err}"))?;
        findings.insert(finding);
    }
    match announced {
        Some(count) if count != reports => Err(format!(
            "TSan announced {count} reports, {reports} found in its output"
        )),
        None if reports > 0 => Err(format!(
            "{reports} TSan reports but no `ThreadSanitizer: reported N warnings` line"
        )),
        _ => Ok(findings),
    }
}

/// A header line of a TSan report and the stack frames under it.
struct Section<'a> {
    header: &'a str,
    frames: Vec<&'a str>,
}

fn sections<'a>(warning: &'a str, body: &[&'a str]) -> Vec<Section<'a>> {
    let mut sections = vec![Section {
        header: warning,
        frames: Vec::new(),
    }];
    for line in body {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            sections
                .last_mut()
                .expect("one section")
                .frames
                .push(trimmed);
        } else if !trimmed.is_empty() {
            sections.push(Section {
                header: trimmed,
                frames: Vec::new(),
            });
        }
    }
    sections
}

/// The innermost frame of `frames` in `program`'s own source, else `?:0`.
/// Frames look like `#1 main /tmp/x/counter.c:21 (counter+0x1234)`, with an
/// optional `:COLUMN` after the line.
fn own_frame(program: &str, frames: &[&str]) -> Loc {
    for frame in frames {
        for word in frame.split_whitespace().skip(2) {
            let mut parts = word.split(':');
            let (Some(path), Some(line)) = (parts.next(), parts.next()) else {
                continue;
            };
            let file = path.rsplit('/').next().unwrap_or(path);
            if file == program {
                if let Ok(line) = line.parse() {
                    return Loc {
                        file: file.to_string(),
                        line,
                    };
                }
            }
        }
    }
    Loc {
        file: "?".into(),
        line: 0,
    }
}

fn tsan_finding(program: &str, title: &str, sections: &[Section<'_>]) -> Result<Finding, String> {
    match title {
        "data race" => {
            let accesses: Vec<Access> = sections
                .iter()
                .filter(|s| {
                    let first = s.header.split(' ').next().unwrap_or("");
                    ["Read", "Write", "Atomic", "Previous"].contains(&first)
                        && s.header.contains(" of size ")
                })
                .take(2)
                .map(|s| tsan_access(program, s))
                .collect::<Result<_, _>>()?;
            match <[Access; 2]>::try_from(accesses) {
                Ok([a, b]) => Ok(Finding::race(a, b)),
                Err(found) => Err(format!("expected two accesses, found {}", found.len())),
            }
        }
        "lock-order-inversion (potential deadlock)" => {
            // Edges in cycle order; the last one closes the cycle.
            let mut last_edge = None;
            for (i, section) in sections.iter().enumerate() {
                if section.header.starts_with("Mutex ")
                    && section
                        .header
                        .contains(" acquired here while holding mutex ")
                {
                    let held = sections
                        .get(i + 1)
                        .filter(|next| next.header.contains(" previously acquired by "));
                    last_edge = Some((section, held));
                }
            }
            let (closing, held) = last_edge.ok_or("no `acquired here while holding` stack")?;
            let held = held
                .ok_or("no `previously acquired` stack: run TSan with second_deadlock_stack=1")?;
            Ok(Finding::LockOrder {
                held: own_frame(program, &held.frames),
                closing: own_frame(program, &closing.frames),
            })
        }
        "unlock of an unlocked mutex (or by a wrong thread)" => Ok(Finding::Misuse {
            what: Misuse::UnlockUnlocked,
            at: own_frame(program, &sections[0].frames),
        }),
        _ => Ok(Finding::Other {
            what: title.to_string(),
            at: sections
                .iter()
                .map(|s| own_frame(program, &s.frames))
                .find(|loc| loc.line != 0),
        }),
    }
}

/// `Read of size 4 at 0x... by main thread:`, `Previous atomic write of
/// size 8 at ...` and the stack under it.
fn tsan_access(program: &str, section: &Section<'_>) -> Result<Access, String> {
    let header = section.header;
    let (before, after) = header
        .split_once(" of size ")
        .ok_or_else(|| format!("no size in {header:?}"))?;
    let kind = match before.rsplit(' ').next().map(str::to_ascii_lowercase) {
        Some(word) if word == "read" => AccessKind::Read,
        Some(word) if word == "write" => AccessKind::Write,
        _ => return Err(format!("no read/write in {header:?}")),
    };
    let size = after
        .split(' ')
        .next()
        .and_then(|size| size.parse().ok())
        .ok_or_else(|| format!("bad size in {header:?}"))?;
    Ok(Access {
        kind,
        size,
        at: own_frame(program, &section.frames),
    })
}
