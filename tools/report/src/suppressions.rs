//! Suppressions in Valgrind's file format: parsing, matching, use counts and
//! `--gen-suppressions` output (papers/suppressions.md).
//!
//! ```text
//! # comment
//! {
//!    name of the suppression
//!    Helgrind:Race
//!    fun:worker
//!    ...
//!    obj:/usr/lib/x86_64-linux-gnu/libc.so.*
//! }
//! ```
//!
//! The kind line is `TOOL[,TOOL...]:KIND`. Our tools are `Helgrind`,
//! `hbgrind` (same kinds) and `drd`, whose `ConflictingAccess` means `Race`.
//! Entries for other tools (`Memcheck:Leak`...) are skipped, as Valgrind
//! skips them, so one file can serve several tools. Helgrind kinds we never
//! report (`UnlockBogus`, `PthAPIerror`, `FreeMemLock`) and DRD's other kinds
//! are accepted and never match. `Misc` takes an optional extra line, a
//! pattern matched against the misuse name (`DestroyLocked`,
//! `BarrierUninitialised`); no other kind takes one.
//!
//! Frame lines: `fun:PATTERN` (matches the *mangled* name), `obj:PATTERN`
//! (the object's path), `src:PATTERN[:LINE]` (the file name without its
//! directory, and the line), `...` (any number of frames, also none), with
//! `*`/`?` wildcards (`glob_match`). The frames match the error's own stack
//! from its innermost frame; frames past the last pattern line don't matter.
//!
//! # Invariants
//! - A parsed `Suppression` has at least one frame pattern that is not `...`,
//!   and every pattern is non-empty: the parser refuses anything else with
//!   `SuppressionError::Syntax` naming `file:line`.
//! - `SuppressionSet::counts[i]` is the number of errors suppression `i`
//!   hid; only `suppress` changes it.
//! - `generate_suppression(e)`, parsed back, matches `e` (tested in
//!   `tests/suppressions.rs`): names are escaped where they hold wildcards.

use std::fmt::Write as _;
use std::path::Path;

use hb_engine::{MisuseKind, Report};

use crate::glob::{glob_match, is_literal};
use crate::model::{ErrorKind, ErrorRecord, Frame, Stack};

/// A suppression file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: cannot read suppression file")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a suppression's kind line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuppressionKind {
    /// One of the kinds we report.
    Ours(ErrorKind),
    /// A kind of Helgrind or DRD that we accept and never report
    /// (`Helgrind:UnlockBogus`, `drd:MutexErr`...), kept as written.
    NeverReported(String),
}

/// One frame line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramePattern {
    Fun(String),
    Obj(String),
    Src {
        file: String,
        line: Option<u32>,
    },
    /// `...`: any number of frames, also none.
    Ellipsis,
}

impl FramePattern {
    fn matches(&self, frame: &Frame) -> bool {
        match self {
            FramePattern::Fun(p) => pattern_match(p, frame.match_name()),
            FramePattern::Obj(p) => pattern_match(p, frame.match_object()),
            FramePattern::Src { file, line } => {
                frame
                    .file
                    .as_deref()
                    .is_some_and(|f| pattern_match(file, f))
                    && match line {
                        None => true,
                        Some(l) => frame.line == Some(*l),
                    }
            }
            FramePattern::Ellipsis => true,
        }
    }

    /// The line as written in a suppression file.
    pub fn to_line(&self) -> String {
        match self {
            FramePattern::Fun(p) => format!("fun:{p}"),
            FramePattern::Obj(p) => format!("obj:{p}"),
            FramePattern::Src { file, line: None } => format!("src:{file}"),
            FramePattern::Src {
                file,
                line: Some(l),
            } => format!("src:{file}:{l}"),
            FramePattern::Ellipsis => "...".to_string(),
        }
    }
}

fn pattern_match(pattern: &str, text: &str) -> bool {
    if is_literal(pattern) {
        pattern == text
    } else {
        glob_match(pattern, text)
    }
}

/// One parsed suppression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub name: String,
    /// The kind line as written (`Helgrind:Race`), for messages.
    pub kind_line: String,
    pub kind: SuppressionKind,
    /// The extra line of a `Misc` suppression, a pattern.
    pub extra: Option<String>,
    pub frames: Vec<FramePattern>,
    /// The file it came from and the line of its name (what `-v` prints).
    pub file: String,
    pub line: usize,
}

impl Suppression {
    /// True if this suppression hides an error of `kind` (with misuse name
    /// `detail` for `Misc`) whose own stack is `stack`, considering at most
    /// `num_callers` pattern lines as Valgrind does.
    pub fn matches(
        &self,
        kind: ErrorKind,
        detail: Option<&str>,
        stack: &Stack,
        num_callers: usize,
    ) -> bool {
        if self.kind != SuppressionKind::Ours(kind) {
            return false;
        }
        if let Some(extra) = &self.extra {
            if !detail.is_some_and(|d| pattern_match(extra, d)) {
                return false;
            }
        }
        let n = self.frames.len().min(num_callers.max(1));
        let mut pattern = &self.frames[..n];
        if pattern.iter().all(|p| *p == FramePattern::Ellipsis) {
            pattern = &self.frames; // never let truncation match everything
        }
        valgrind_variants(pattern)
            .iter()
            // A variant with nothing left to match would match everything.
            .filter(|v| v.iter().any(|p| *p != Some(&FramePattern::Ellipsis)))
            .any(|variant| frames_match(variant, &stack.frames))
    }
}

/// Frame lines that name code of Valgrind's own, which hbgrind's stacks do
/// not have: `obj:*vgpreload_helgrind-amd64-linux.so` (and DRD's,
/// memcheck's), the objects whose wrappers stand between a program and the
/// function they intercept, and `fun:*_WRK` (hg_intercepts.c's workers).
/// Such a line matches no frame (the wrapper is simply absent here) or, for
/// an `obj:` line, one frame of a function Valgrind intercepts (its own
/// replacement of `memcpy` or `malloc` is the real one here). Helgrind's
/// and DRD's generated suppressions then work unchanged.
fn is_valgrind_frame(pattern: &FramePattern) -> bool {
    match pattern {
        FramePattern::Obj(p) => p.contains("vgpreload"),
        FramePattern::Fun(p) => p.ends_with("_WRK"),
        _ => false,
    }
}

/// True for a function Valgrind's preload objects intercept or replace.
fn is_intercepted(frame: &Frame) -> bool {
    let name = frame.match_name();
    let name = name.split('@').next().unwrap_or(name);
    const PREFIXES: &[&str] = &["pthread_", "__pthread_", "sem_", "__mem", "__str", "__GI_"];
    const NAMES: &[&str] = &[
        "malloc",
        "calloc",
        "realloc",
        "free",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "valloc",
        "pvalloc",
        "malloc_usable_size",
        "_Znwm",
        "_Znam",
        "_ZnwmRKSt9nothrow_t",
        "_ZnamRKSt9nothrow_t",
        "_ZdlPv",
        "_ZdaPv",
        "_ZdlPvm",
        "_ZdaPvm",
        "memcpy",
        "memmove",
        "memset",
        "memcmp",
        "bcmp",
        "memchr",
        "rawmemchr",
        "mempcpy",
        "strlen",
        "strnlen",
        "strcpy",
        "strncpy",
        "stpcpy",
        "strcat",
        "strncat",
        "strcmp",
        "strncmp",
        "strchr",
        "strrchr",
        "index",
        "rindex",
        "strstr",
        "wcslen",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// `pattern` with each Valgrind-only line (`is_valgrind_frame`) either
/// dropped or, for `obj:`, standing for one intercepted function's frame;
/// just `pattern` when it has none. At most 2^4 variants.
fn valgrind_variants(pattern: &[FramePattern]) -> Vec<Vec<Option<&FramePattern>>> {
    let mut variants: Vec<Vec<Option<&FramePattern>>> = vec![Vec::new()];
    let mut special = 0;
    for p in pattern {
        if is_valgrind_frame(p) && special < 4 {
            special += 1;
            let mut more = Vec::new();
            for v in &variants {
                if matches!(p, FramePattern::Obj(_)) {
                    let mut one = v.clone();
                    one.push(None);
                    more.push(one);
                }
                more.push(v.clone()); // dropped
            }
            variants = more;
        } else {
            for v in &mut variants {
                v.push(Some(p));
            }
        }
    }
    variants
}

/// True if `pattern` matches a prefix of `frames` (`...` = any run).
/// Greedy with one backtrack point, like `glob_match`: linear in practice.
/// `None` in `pattern` matches one frame of an intercepted function.
fn frames_match(pattern: &[Option<&FramePattern>], frames: &[Frame]) -> bool {
    let (mut p, mut f) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p == pattern.len() {
            return true; // prefix match: the rest of the stack is free
        }
        if pattern[p] == Some(&FramePattern::Ellipsis) {
            star = Some((p + 1, f));
            p += 1;
            continue;
        }
        let hit = f < frames.len()
            && match pattern[p] {
                Some(pat) => pat.matches(&frames[f]),
                None => is_intercepted(&frames[f]),
            };
        if hit {
            p += 1;
            f += 1;
            continue;
        }
        match star {
            Some((sp, sf)) if sf < frames.len() => {
                p = sp;
                f = sf + 1;
                star = Some((sp, sf + 1));
            }
            _ => return false,
        }
    }
}

/// The misuse name a `Misc` suppression's extra line matches.
pub(crate) fn misc_detail(report: &Report) -> Option<&'static str> {
    match report {
        Report::Misuse(m) => Some(match m.kind {
            MisuseKind::UnlockUnlocked => "UnlockUnlocked",
            MisuseKind::UnlockForeign { .. } => "UnlockForeign",
            MisuseKind::DestroyLocked => "DestroyLocked",
            MisuseKind::BarrierUninitialised => "BarrierUninitialised",
        }),
        _ => None,
    }
}

/// All loaded suppressions, with their use counts.
#[derive(Clone, Debug)]
pub struct SuppressionSet {
    suppressions: Vec<Suppression>,
    counts: Vec<u64>,
    num_callers: usize,
    /// Entries for other tools that were read and ignored.
    skipped: usize,
}

impl Default for SuppressionSet {
    fn default() -> Self {
        Self::new()
    }
}

impl SuppressionSet {
    /// An empty set; pattern lines past the 12th are ignored (Valgrind's
    /// default `--num-callers`) until `set_num_callers` says otherwise.
    pub fn new() -> Self {
        SuppressionSet {
            suppressions: Vec::new(),
            counts: Vec::new(),
            num_callers: 12,
            skipped: 0,
        }
    }

    /// `--num-callers=N`: only the first N pattern lines of each suppression count.
    pub fn set_num_callers(&mut self, n: usize) {
        self.num_callers = n.max(1);
    }

    /// Reads and adds one file; returns how many suppressions it added.
    /// A malformed file adds nothing.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, SuppressionError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SuppressionError::Read {
            file: name.clone(),
            source,
        })?;
        self.add_str(&name, &String::from_utf8_lossy(&bytes))
    }

    /// Parses `text` (named `file` in messages) and adds its suppressions;
    /// returns how many. A malformed text adds nothing.
    pub fn add_str(&mut self, file: &str, text: &str) -> Result<usize, SuppressionError> {
        let parsed = parse(file, text.strip_prefix('\u{feff}').unwrap_or(text))?;
        let added = parsed.suppressions.len();
        self.skipped += parsed.skipped;
        self.counts.resize(self.counts.len() + added, 0);
        self.suppressions.extend(parsed.suppressions);
        Ok(added)
    }

    pub fn suppressions(&self) -> &[Suppression] {
        &self.suppressions
    }

    pub fn len(&self) -> usize {
        self.suppressions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.suppressions.is_empty()
    }

    /// Entries read for tools other than ours.
    pub fn skipped_for_other_tools(&self) -> usize {
        self.skipped
    }

    /// The first suppression (in load order) that hides `err`, without counting.
    pub fn find(&self, err: &ErrorRecord) -> Option<usize> {
        let kind = err.kind();
        let detail = misc_detail(&err.report);
        let stack = err.primary_stack();
        self.suppressions
            .iter()
            .position(|s| s.matches(kind, detail, stack, self.num_callers))
    }

    /// If a suppression hides `err`, counts one use of it and returns it.
    /// Call once per occurrence of an error, as Valgrind counts.
    pub fn suppress(&mut self, err: &ErrorRecord) -> Option<&Suppression> {
        let i = self.find(err)?;
        self.count_use(i);
        self.suppressions.get(i)
    }

    /// Counts one use of suppression `index` (an index `find` returned).
    pub fn count_use(&mut self, index: usize) {
        if let Some(c) = self.counts.get_mut(index) {
            *c += 1;
        }
    }

    /// Suppressions used at least once, with their counts, in load order.
    pub fn used(&self) -> impl Iterator<Item = (u64, &Suppression)> {
        self.counts
            .iter()
            .zip(&self.suppressions)
            .filter(|(c, _)| **c > 0)
            .map(|(c, s)| (*c, s))
    }

    /// Number of errors suppressed and number of suppressions that hid them.
    pub fn totals(&self) -> (u64, usize) {
        let used: Vec<u64> = self.used().map(|(c, _)| c).collect();
        (used.iter().sum(), used.len())
    }

    /// `-v` lines, without the `--PID--` prefix:
    /// `used_suppression:      7 name file:line`.
    pub fn used_lines(&self) -> Vec<String> {
        self.used()
            .map(|(count, s)| {
                format!(
                    "used_suppression: {count:>6} {} {}:{}",
                    s.name, s.file, s.line
                )
            })
            .collect()
    }
}

struct Parsed {
    suppressions: Vec<Suppression>,
    skipped: usize,
}

/// Non-blank, non-comment lines, trimmed, with their 1-based numbers.
struct Lines<'a> {
    inner: std::iter::Enumerate<std::str::Lines<'a>>,
    last: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);
    fn next(&mut self) -> Option<(usize, &'a str)> {
        for (i, raw) in self.inner.by_ref() {
            self.last = i + 1;
            let line = raw.trim();
            if !line.is_empty() && !line.starts_with('#') {
                return Some((i + 1, line));
            }
        }
        None
    }
}

fn parse(file: &str, text: &str) -> Result<Parsed, SuppressionError> {
    let err = |line: usize, message: String| SuppressionError::Syntax {
        file: file.to_string(),
        line,
        message,
    };
    let mut lines = Lines {
        inner: text.lines().enumerate(),
        last: 0,
    };
    let mut out = Parsed {
        suppressions: Vec::new(),
        skipped: 0,
    };
    while let Some((open_line, open)) = lines.next() {
        if open != "{" {
            return Err(err(
                open_line,
                format!("expected '{{' or end of file, found \"{}\"", shown(open)),
            ));
        }
        let unclosed = |lines: &Lines, what: &str| {
            err(
                lines.last.max(open_line),
                format!("unexpected end of file {what} (the suppression opened at line {open_line} has no '}}')"),
            )
        };
        let (name_line, name) = match lines.next() {
            None => return Err(unclosed(&lines, "where the suppression's name should be")),
            Some((n, "}")) => {
                return Err(err(n, "unexpected '}': the suppression has no name".into()))
            }
            Some((n, name)) => (n, name.to_string()),
        };
        let Some((kind_at, kind_line)) = lines.next() else {
            return Err(unclosed(&lines, "where the \"tool:kind\" line should be"));
        };
        let Some((tools, kind_name)) = kind_line.split_once(':') else {
            return Err(err(
                kind_at,
                format!(
                    "malformed \"tool:kind\" line \"{}\"; expected e.g. \"Helgrind:Race\"",
                    shown(kind_line)
                ),
            ));
        };
        let Some(kind) = resolve_kind(tools, kind_name).map_err(|m| err(kind_at, m))? else {
            // Another tool's entry: skip to its '}'.
            loop {
                match lines.next() {
                    None => {
                        return Err(unclosed(
                            &lines,
                            "while skipping another tool's suppression",
                        ))
                    }
                    Some((_, "}")) => break,
                    Some(_) => {}
                }
            }
            out.skipped += 1;
            continue;
        };
        let takes_extra = kind == SuppressionKind::Ours(ErrorKind::Misc);
        let mut extra = None;
        let mut frames = Vec::new();
        loop {
            let Some((at, line)) = lines.next() else {
                return Err(unclosed(&lines, "inside the stack"));
            };
            if line == "}" {
                break;
            }
            match parse_frame(line) {
                Some(Ok(frame)) => frames.push(frame),
                Some(Err(message)) => return Err(err(at, message)),
                None if takes_extra && frames.is_empty() && extra.is_none() => {
                    extra = Some(line.to_string());
                }
                None if frames.is_empty() && extra.is_none() => {
                    return Err(err(
                        at,
                        format!(
                            "\"{}\" takes no extra line; expected \"fun:\", \"obj:\", \"src:\" or \"...\", found \"{}\"",
                            shown(kind_line),
                            shown(line)
                        ),
                    ));
                }
                None => {
                    return Err(err(
                        at,
                        format!("location should be \"...\" or start with \"fun:\", \"obj:\" or \"src:\", found \"{}\"", shown(line)),
                    ));
                }
            }
        }
        if frames.iter().all(|f| *f == FramePattern::Ellipsis) {
            let message = if frames.is_empty() {
                "missing stack: a suppression needs at least one \"fun:\", \"obj:\" or \"src:\" line"
            } else {
                "a suppression needs at least one location line which is not \"...\""
            };
            return Err(err(lines.last, message.into()));
        }
        out.suppressions.push(Suppression {
            name,
            kind_line: kind_line.to_string(),
            kind,
            extra,
            frames,
            file: file.to_string(),
            line: name_line,
        });
    }
    Ok(out)
}

/// At most this many characters of a bad line are echoed in an error: a
/// binary file given as a suppression file is one huge "line" (issue 16).
const SHOWN_CHARS: usize = 80;

/// `line` as an error message quotes it: cut after `SHOWN_CHARS`
/// characters, with its full length said, and control characters escaped.
fn shown(line: &str) -> String {
    let mut out: String = line
        .chars()
        .take(SHOWN_CHARS)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if line.chars().nth(SHOWN_CHARS).is_some() {
        out.push_str(&format!("... ({} bytes in all)", line.len()));
    }
    out
}

/// `None` for a line that is not a location line at all; `Some(Err)` for a
/// location line with a bad argument.
fn parse_frame(line: &str) -> Option<Result<FramePattern, String>> {
    if line == "..." {
        return Some(Ok(FramePattern::Ellipsis));
    }
    let (tag, rest) = line.split_at_checked(4)?;
    let nonempty = |what: &str| {
        if rest.is_empty() {
            Err(format!("empty pattern after \"{what}\""))
        } else {
            Ok(rest.to_string())
        }
    };
    Some(match tag {
        "fun:" => nonempty(tag).map(FramePattern::Fun),
        "obj:" => nonempty(tag).map(FramePattern::Obj),
        "src:" => nonempty(tag).and_then(|rest| match rest.split_once(':') {
            None => Ok(FramePattern::Src {
                file: rest,
                line: None,
            }),
            Some((file, n)) => match n.parse::<u32>() {
                Ok(l) if l > 0 && !file.is_empty() => Ok(FramePattern::Src {
                    file: file.to_string(),
                    line: Some(l),
                }),
                _ => Err(format!(
                    "bad \"src:FILE:LINE\" line \"{}\": LINE must be a positive number",
                    shown(line)
                )),
            },
        }),
        _ => return None,
    })
}

/// The kind a `tools:kind` line names: `Ok(None)` when none of the tools is ours.
fn resolve_kind(tools: &str, kind: &str) -> Result<Option<SuppressionKind>, String> {
    let mut ours = false;
    for tool in tools.split(',').map(str::trim) {
        match tool {
            "Helgrind" | "hbgrind" => {
                ours = true;
                let k = match kind {
                    "Race" => Some(ErrorKind::Race),
                    "LockOrder" => Some(ErrorKind::LockOrder),
                    "UnlockUnlocked" => Some(ErrorKind::UnlockUnlocked),
                    "UnlockForeign" => Some(ErrorKind::UnlockForeign),
                    "Misc" => Some(ErrorKind::Misc),
                    _ => None,
                };
                if let Some(k) = k {
                    return Ok(Some(SuppressionKind::Ours(k)));
                }
                if matches!(kind, "UnlockBogus" | "PthAPIerror" | "FreeMemLock") {
                    return Ok(Some(SuppressionKind::NeverReported(format!(
                        "{tool}:{kind}"
                    ))));
                }
            }
            "drd" => {
                ours = true;
                if kind == "ConflictingAccess" {
                    return Ok(Some(SuppressionKind::Ours(ErrorKind::Race)));
                }
                if DRD_KINDS.contains(&kind) {
                    return Ok(Some(SuppressionKind::NeverReported(format!("drd:{kind}"))));
                }
            }
            _ => {}
        }
    }
    if ours {
        Err(format!(
            "unknown suppression kind \"{}\"; expected Race, LockOrder, UnlockUnlocked, UnlockForeign or Misc (drd: ConflictingAccess)",
            shown(&format!("{tools}:{kind}"))
        ))
    } else {
        Ok(None)
    }
}

/// DRD's suppression kinds other than `ConflictingAccess`.
const DRD_KINDS: &[&str] = &[
    "MutexErr",
    "CondErr",
    "CondDestrErr",
    "CondRaceErr",
    "CondWaitErr",
    "SemaphoreErr",
    "BarrierErr",
    "RwLockErr",
    "HoldtimeErr",
    "GenericErr",
    "InvalidThreadId",
    "UnimpHgClReq",
    "UnimpDrdClReq",
];

/// A suppression generated for one error (`--gen-suppressions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedSuppression {
    /// `Helgrind:Race`: Helgrind's tool name, so the entry also works in Valgrind.
    pub kind_line: String,
    pub frames: Vec<FramePattern>,
}

impl GeneratedSuppression {
    /// The name Valgrind puts in generated entries for the user to replace.
    pub const PLACEHOLDER_NAME: &'static str = "<insert_a_suppression_name_here>";

    /// The ready-to-paste entry, each line ending in `\n`.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{{");
        let _ = writeln!(s, "   {}", Self::PLACEHOLDER_NAME);
        let _ = writeln!(s, "   {}", self.kind_line);
        for f in &self.frames {
            let _ = writeln!(s, "   {}", f.to_line());
        }
        let _ = writeln!(s, "}}");
        s
    }
}

/// The suppression that hides exactly `err` (its kind and whole own stack):
/// one `fun:` line per frame with a known name (mangled), else `obj:` with
/// its object, else `obj:*`, as Valgrind generates them.
pub fn generate_suppression(err: &ErrorRecord) -> GeneratedSuppression {
    let frames = err
        .primary_stack()
        .frames
        .iter()
        .map(|f| {
            if let Some(name) = f.linkage_name.as_deref().or(f.function.as_deref()) {
                FramePattern::Fun(escape_pattern(name))
            } else if let Some(obj) = &f.object {
                FramePattern::Obj(escape_pattern(obj))
            } else {
                FramePattern::Obj("*".to_string())
            }
        })
        .collect();
    GeneratedSuppression {
        kind_line: format!("Helgrind:{}", err.kind().name()),
        frames,
    }
}

/// Makes `name` a pattern that matches only itself: unchanged when it has
/// no wildcard (then it is compared literally), else with `*`, `?` and `\\`
/// escaped. Whitespace at either end and control characters, which a
/// suppression line cannot hold, become `?`.
fn escape_pattern(name: &str) -> String {
    let awkward = |c: char| c.is_control();
    let edges = name.trim().len() != name.len();
    if is_literal(name) && !edges && !name.contains(awkward) {
        return name.to_string();
    }
    let chars: Vec<char> = name.chars().collect();
    let first = chars.iter().position(|c| !c.is_whitespace());
    let last = chars.iter().rposition(|c| !c.is_whitespace());
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let at_edge = match (first, last) {
            (Some(f), Some(l)) => i < f || i > l,
            _ => true, // all whitespace
        };
        if awkward(c) || (at_edge && c.is_whitespace()) {
            out.push('?');
        } else {
            if matches!(c, '*' | '?' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}
