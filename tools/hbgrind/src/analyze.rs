//! `hbgrind analyze [--error-exitcode=N] [--all-conflicts] TRACE`: replays an
//! event trace (format: `hb_engine::trace`) into hb-engine and prints what
//! it finds, one block per report, then an `ERROR SUMMARY` line.
//!
//! A malformed trace is refused with `TRACE:LINE: what is wrong` and exit
//! status 1, before anything is printed. `TRACE` may be `-` for stdin.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use hb_engine::trace::{parse, replay};
use hb_engine::{Access, AccessKind, Engine, EngineConfig, MisuseKind, Report};

#[derive(Parser, Debug)]
#[command(
    name = "hbgrind analyze",
    about = "Replay an event trace into the happens-before engine and print its races"
)]
struct AnalyzeOptions {
    /// Exit with this status when errors were found (as Valgrind's option).
    #[arg(long = "error-exitcode", value_name = "N", default_value_t = 0)]
    error_exitcode: u8,
    /// Report every racing pair of byte runs, not one race per pair of sites.
    #[arg(long = "all-conflicts")]
    all_conflicts: bool,
    /// The trace file, or - for standard input.
    trace: PathBuf,
}

pub(crate) fn main(args: &[OsString]) -> anyhow::Result<ExitCode> {
    let options = match AnalyzeOptions::try_parse_from(args) {
        Ok(options) => options,
        Err(err) if !err.use_stderr() => {
            // --help / --version
            print!("{err}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => {
            let first = err.to_string();
            let first = first
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            anyhow::bail!("analyze: {first}; see hbgrind analyze --help");
        }
    };
    let name = options.trace.display().to_string();
    let text = if name == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the trace from standard input")?;
        text
    } else {
        std::fs::read_to_string(&options.trace)
            .with_context(|| format!("cannot read trace {name}"))?
    };
    let events = parse(&text).map_err(|e| anyhow::anyhow!("{name}:{e}"))?;
    let mut engine = Engine::new(EngineConfig {
        report_every_conflict: options.all_conflicts,
        ..Default::default()
    });
    replay(&mut engine, &events).map_err(|e| anyhow::anyhow!("{name}:{e}"))?;
    let reports = engine.take_reports();
    let mut out = String::new();
    for report in &reports {
        render(&mut out, report);
    }
    let n = reports.len();
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
