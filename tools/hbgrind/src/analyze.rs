//! `hbgrind analyze [--error-exitcode=N] [--all-conflicts] [--max-memory=MIB]
//! TRACE`: replays an event trace (format: `hb_engine::trace`) into
//! hb-engine and prints what it finds, one block per report, then an
//! `ERROR SUMMARY` line.
//!
//! A malformed trace is refused with `TRACE:LINE: what is wrong` and exit
//! status 1, before anything is printed. `TRACE` may be `-` for stdin.
//!
//! # Bounds (issue 16)
//! The trace is read as a stream, one line at a time, so its length costs
//! nothing by itself; what it makes the engine remember is bounded:
//! - a line is at most `MAX_LINE_BYTES`; a longer one (`/dev/zero`, a
//!   binary file) is refused without being echoed;
//! - the memory the trace's accesses and ignored ranges touch, counted in
//!   distinct 4 KiB pages, is at most `--max-memory` / 16 (shadow memory
//!   costs several bytes per byte);
//! - the process's resident memory is at most `--max-memory` (default
//!   `DEFAULT_MAX_MEMORY_MIB`), checked every `CHECK_EVERY` lines and after
//!   every line that touches more than a MiB;
//! - reports are kept, rendered, up to `MAX_REPORT_BYTES`; later ones are
//!   counted in the summary but not printed.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use hb_engine::trace::{parse_line, Event, RangeOp, Replayer};
use hb_engine::{Access, AccessKind, Engine, EngineConfig, MisuseKind, Report};

/// The longest line accepted (a real event line is under 100 bytes).
const MAX_LINE_BYTES: usize = 4096;
/// The default cap on resident memory, in MiB.
const DEFAULT_MAX_MEMORY_MIB: u64 = 1024;
/// Resident memory is read every this many lines.
const CHECK_EVERY: usize = 4096;
/// Rendered reports kept for printing; beyond this they are only counted.
const MAX_REPORT_BYTES: usize = 16 << 20;
/// An error message quotes at most this many characters of the trace.
const MAX_SHOWN_CHARS: usize = 200;

#[derive(Parser, Debug)]
#[command(
    name = "hbgrind analyze",
    bin_name = "hbgrind analyze",
    about = "Replay an event trace into the happens-before engine and print its races"
)]
struct AnalyzeOptions {
    /// Exit with this status when errors were found (as Valgrind's option).
    #[arg(long = "error-exitcode", value_name = "N", default_value_t = 0)]
    error_exitcode: u8,
    /// Report every racing pair of byte runs, not one race per pair of sites.
    #[arg(long = "all-conflicts")]
    all_conflicts: bool,
    /// Stop with an error when the analysis needs more than this many MiB
    /// (the trace may touch distinct memory up to a sixteenth of it).
    #[arg(long = "max-memory", value_name = "MIB", default_value_t = DEFAULT_MAX_MEMORY_MIB,
          value_parser = clap::value_parser!(u64).range(64..=1 << 20))]
    max_memory: u64,
    /// The trace file, or - for standard input.
    trace: PathBuf,
}

/// Why the trace was refused at a line (printed as `TRACE:LINE: ...`).
#[derive(Debug, thiserror::Error)]
enum TraceLimit {
    #[error("{0}: line longer than {MAX_LINE_BYTES} bytes (not shown); is this an event trace?")]
    LongLine(usize),
    #[error("{0}: not UTF-8 text; is this an event trace?")]
    NotText(usize),
    #[error("{line}: the trace touches more than {cap_mib} MiB of distinct memory (the limit for --max-memory={max_mib})")]
    Touched {
        line: usize,
        cap_mib: u64,
        max_mib: u64,
    },
    #[error("{line}: the analysis needs more than --max-memory={max_mib} MiB")]
    Memory { line: usize, max_mib: u64 },
}

pub(crate) fn main(args: &[OsString]) -> anyhow::Result<ExitCode> {
    let Some(options) = crate::parse_subcommand::<AnalyzeOptions>("analyze", args)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let name = options.trace.display().to_string();
    let input: Box<dyn BufRead> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&options.trace)
            .with_context(|| format!("cannot read trace {name}"))?;
        Box::new(std::io::BufReader::with_capacity(64 << 10, file))
    };
    let mut engine = Engine::new(EngineConfig {
        report_every_conflict: options.all_conflicts,
        ..Default::default()
    });
    let mut out = String::new();
    let n = stream(input, &mut engine, &options, &mut out)
        .map_err(|e| anyhow::anyhow!("{name}:{e:#}"))?;
    let _ = writeln!(
        out,
        "ERROR SUMMARY: {n} error{}",
        if n == 1 { "" } else { "s" }
    );
    print!("{out}");
    Ok(if n > 0 && options.error_exitcode != 0 {
        ExitCode::from(options.error_exitcode)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads, parses and replays the trace line by line within the bounds of
/// the module docs; renders the reports into `out` (up to
/// `MAX_REPORT_BYTES`) and returns how many there were. An error starts
/// with the line number.
fn stream(
    mut input: Box<dyn BufRead>,
    engine: &mut Engine,
    options: &AnalyzeOptions,
    out: &mut String,
) -> anyhow::Result<usize> {
    let max_bytes = options.max_memory << 20;
    let touched_cap = max_bytes / 16;
    let mut touched_pages: HashSet<u64> = HashSet::new();
    let mut replayer = Replayer::default();
    let mut line = Vec::with_capacity(256);
    let mut reports = 0;
    let mut line_no = 0;
    loop {
        line_no += 1;
        if !read_line(&mut input, &mut line, line_no)? {
            break;
        }
        let text = std::str::from_utf8(&line).map_err(|_| TraceLimit::NotText(line_no))?;
        let event = match parse_line(text) {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(message) => anyhow::bail!("{line_no}: {}", shorten(&message)),
        };
        let span = touched_range(&event);
        if let Some((addr, len)) = span {
            let first = addr >> 12;
            let last = (addr + len - 1) >> 12;
            for page in first..=last {
                if touched_pages.insert(page) && (touched_pages.len() as u64) << 12 > touched_cap {
                    return Err(TraceLimit::Touched {
                        line: line_no,
                        cap_mib: touched_cap >> 20,
                        max_mib: options.max_memory,
                    }
                    .into());
                }
            }
        }
        replayer
            .event(engine, line_no, &event)
            .map_err(|e| anyhow::anyhow!("{}", shorten(&e.to_string())))?;
        let big = span.is_some_and(|(_, len)| len > 1 << 20);
        if big || line_no % CHECK_EVERY == 0 {
            for report in engine.take_reports() {
                reports += 1;
                if out.len() < MAX_REPORT_BYTES {
                    render(out, &report);
                }
            }
            if resident_bytes().is_some_and(|r| r > max_bytes) {
                return Err(TraceLimit::Memory {
                    line: line_no,
                    max_mib: options.max_memory,
                }
                .into());
            }
        }
    }
    for report in engine.take_reports() {
        reports += 1;
        if out.len() < MAX_REPORT_BYTES {
            render(out, &report);
        }
    }
    if out.len() >= MAX_REPORT_BYTES {
        let _ = writeln!(
            out,
            "(more reports than {} MiB of text: the rest are counted, not shown)\n",
            MAX_REPORT_BYTES >> 20
        );
    }
    Ok(reports)
}

/// Reads the next line (without its newline) into `line`; false at the
/// end. Never holds more than `MAX_LINE_BYTES` of it.
fn read_line(
    input: &mut Box<dyn BufRead>,
    line: &mut Vec<u8>,
    line_no: usize,
) -> anyhow::Result<bool> {
    line.clear();
    let mut any = false;
    loop {
        let available = input
            .fill_buf()
            .with_context(|| format!("{line_no}: cannot read"))?;
        if available.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if line.len() + take > MAX_LINE_BYTES {
            return Err(TraceLimit::LongLine(line_no).into());
        }
        line.extend_from_slice(&available[..take]);
        input.consume(take + usize::from(done));
        if done {
            return Ok(true);
        }
    }
}

/// The memory an event makes the engine keep shadow for: accesses and
/// ignored ranges (the others only reset or forget shadow).
fn touched_range(event: &Event) -> Option<(u64, u64)> {
    match *event {
        Event::Access { addr, size, .. } | Event::Atomic { addr, size, .. } => Some((addr, size)),
        Event::Range {
            op: RangeOp::Ignore,
            addr,
            len,
            ..
        } => Some((addr, len)),
        _ => None,
    }
    .filter(|&(_, len)| len > 0)
}

/// The process's resident memory (from /proc/self/statm), if known.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `message` cut to `MAX_SHOWN_CHARS` characters: a parse error quotes the
/// offending word, which may be most of a 4 KiB line.
fn shorten(message: &str) -> String {
    match message.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((at, _)) => format!("{}... (cut)", &message[..at]),
        None => message.to_string(),
    }
}

fn kind(access: &Access) -> String {
    let kind = if access.kind == AccessKind::Read {
        "read"
    } else {
        "write"
    };
    if access.atomic {
        format!("atomic {kind}")
    } else {
        kind.to_string()
    }
}

fn locks(held: &Option<Vec<u64>>) -> String {
    match held {
        None => "unknown".to_string(),
        Some(held) if held.is_empty() => "none".to_string(),
        Some(held) => held
            .iter()
            .map(|l| format!("{l:#x}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Renders one report; sites print as `sN` (N is the line number where the
/// trace gave no site).
fn render(out: &mut String, report: &Report) {
    match report {
        Report::Race(race) => {
            let (cur, prior) = (&race.current, &race.prior);
            let _ = writeln!(
                out,
                "Possible data race during {} of size {} at {:#x} by {} (s{})",
                kind(cur),
                race.size,
                race.addr,
                cur.thread,
                cur.site
            );
            let _ = writeln!(out, "   Locks held: {}", locks(&cur.locks_held));
            let _ = writeln!(
                out,
                " This conflicts with a previous {} by {} (s{})",
                kind(prior),
                prior.thread,
                prior.site
            );
            let _ = writeln!(out, "   Locks held: {}", locks(&prior.locks_held));
            let _ = writeln!(
                out,
                " Racy bytes: {:#x}..{:#x}",
                race.racy_addr,
                race.racy_addr + race.racy_len
            );
            out.push('\n');
        }
        Report::LockOrder(v) => {
            let o = &v.observed;
            let _ = writeln!(
                out,
                "{}: lock order \"{:#x} before {:#x}\" violated",
                v.thread, o.second, o.first
            );
            let _ = writeln!(
                out,
                " Observed (incorrect) order: acquisition of {:#x} (s{}) followed by {:#x} (s{})",
                o.first, o.first_site, o.second, o.second_site
            );
            for edge in &v.required {
                let _ = writeln!(
                    out,
                    " Required order was established by acquisition of {:#x} (s{}) followed by {:#x} (s{})",
                    edge.first, edge.first_site, edge.second, edge.second_site
                );
            }
            out.push('\n');
        }
        Report::Misuse(m) => {
            let what = match &m.kind {
                MisuseKind::UnlockUnlocked => {
                    format!("unlocked a not-locked lock at {:#x}", m.object)
                }
                MisuseKind::UnlockForeign { owner } => {
                    format!("unlocked lock at {:#x} currently held by {owner}", m.object)
                }
                MisuseKind::DestroyLocked => {
                    format!("destroyed lock at {:#x} while it is held", m.object)
                }
                MisuseKind::BarrierUninitialised => {
                    format!("waited on uninitialised barrier at {:#x}", m.object)
                }
            };
            let _ = writeln!(out, "{} {} (s{})", m.thread, what, m.site);
            out.push('\n');
        }
    }
}
