//! `hbgrind explore [-n RUNS] [--jobs J] [--first-seed S] [--sched=random|pct]
//! [--until-found] [--timeout SECS] [-o DIR] [--] [HBGRIND OPTIONS...] PROG
//! [ARGS...]`: runs a program under hbgrind many times, each with its own
//! `--sched-seed` (a different, repeatable interleaving: random timeslices,
//! or with `--sched=pct` PCT priorities and change points, papers/schedules.md),
//! and prints each distinct finding with how many runs showed it and the
//! command that reproduces one of them (papers/scheduling.md, "Exploring
//! schedules").
//!
//! A finding is an error context of the race tool (the same grouping as
//! its `--json-file` context fingerprints: kind and both stacks, never
//! addresses), a death by a signal, a deadlock (hbgrind saw every thread
//! wait forever on a futex; the run is ended then), or a run that did not
//! end within `--timeout` (a hang). Each run's program output, report
//! and JSON go to `DIR/seed-N.{out,log,jsonl}`, not to the terminal.
//!
//! Exit status: 0 when no run found anything, 2 when some did, 1 for bad
//! usage or when a run could not be started.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use hbgrind_report::fingerprint::site_frame;
use hbgrind_report::{read_json_lines, signal_name, ErrorObject, FrameObject, JsonRecord};

#[derive(Parser, Debug)]
#[command(
    name = "hbgrind explore",
    bin_name = "hbgrind explore",
    about = "Run a program under hbgrind with many schedules (--sched-seed) and list what each finds, with a command that reproduces it"
)]
struct ExploreCli {
    /// How many runs (seeds FIRST..FIRST+RUNS-1).
    #[arg(short = 'n', long = "runs", value_name = "RUNS", default_value_t = 20)]
    runs: u32,
    /// Runs at a time.
    #[arg(short = 'j', long = "jobs", value_name = "J", default_value_t = 1)]
    jobs: u32,
    /// The first seed.
    #[arg(long = "first-seed", value_name = "S", default_value_t = 1)]
    first_seed: u32,
    /// How each run's seed schedules: random timeslices, or PCT (priorities
    /// with change points; give --pct-depth=D among hbgrind's options).
    #[arg(long = "sched", value_name = "POLICY", default_value = "random", value_parser = ["random", "pct"])]
    sched: String,
    /// Start no new run once one found something.
    #[arg(long = "until-found")]
    until_found: bool,
    /// A run taking longer is killed and counted as a hang.
    #[arg(long = "timeout", value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Where the runs' files go [a new directory under the system's temporary directory].
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    /// hbgrind's options, then the program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROG"
    )]
    command: Vec<OsString>,
}

/// What one run showed.
#[derive(Debug)]
struct Outcome {
    seed: u32,
    /// Error contexts: fingerprint and the first error object.
    errors: Vec<(String, ErrorObject)>,
    /// Died of this signal, and where (the report's first frame).
    signal: Option<i32>,
    signal_at: Option<String>,
    timed_out: bool,
    /// hbgrind found every thread waiting forever (and the run was ended).
    deadlock: bool,
}

/// One distinct finding over all runs.
struct Finding {
    text: String,
    seeds: Vec<u32>,
}

pub(crate) fn main(args: &[OsString]) -> anyhow::Result<ExitCode> {
    let Some(cli) = crate::parse_subcommand::<ExploreCli>("explore", args)? else {
        return Ok(ExitCode::SUCCESS);
    };
    if cli.runs == 0 || cli.jobs == 0 {
        anyhow::bail!("explore: -n and --jobs must be at least 1; see hbgrind explore --help");
    }
    if cli.command.iter().any(|a| is_option(a, "--sched-seed")) {
        anyhow::bail!("explore: --sched-seed is chosen per run; leave it out (use --first-seed)");
    }
    if cli.sched != "pct"
        && cli
            .command
            .iter()
            .any(|a| is_option(a, "--pct-depth") || is_option(a, "--pct-steps"))
    {
        anyhow::bail!("explore: --pct-depth and --pct-steps need --sched=pct");
    }
    for option in ["--sched-record", "--sched-replay"] {
        if cli.command.iter().any(|a| is_option(a, option)) {
            anyhow::bail!("explore: {option} is for one run; use it with the printed command");
        }
    }
    // The runs' command line must be one hbgrind takes.
    match crate::options::parse_with(&[], &cli.command) {
        Ok(crate::options::Command::Run(_)) => {}
        Ok(_) => anyhow::bail!("explore: no program to run; see hbgrind explore --help"),
        Err(e) => anyhow::bail!("explore: {e}"),
    }
    let hbgrind = std::env::current_exe().context("explore: where is hbgrind itself")?;
    let dir = match &cli.output {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("hbgrind-explore.{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("explore: cannot create {}", dir.display()))?;

    let last = cli.first_seed.saturating_add(cli.runs - 1);
    let mut seeds = cli.first_seed..=last;
    let mut running: Vec<(u32, Child, Instant, bool)> = Vec::new();
    let mut last_check = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut found = false;
    loop {
        while running.len() < cli.jobs as usize && !(cli.until_found && found) {
            let Some(seed) = seeds.next() else { break };
            let child = start(&hbgrind, &run_command(&cli), &dir, seed)?;
            running.push((seed, child, Instant::now(), false));
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        let check_logs = last_check.elapsed() >= Duration::from_secs(1);
        if check_logs {
            last_check = Instant::now();
        }
        let mut i = 0;
        while i < running.len() {
            let (seed, child, started, deadlock) = &mut running[i];
            let timed_out = started.elapsed() > Duration::from_secs(cli.timeout);
            // A deadlock hbgrind reported ends the run (about once a second).
            if !*deadlock && check_logs && reported_deadlock(&dir, *seed) {
                *deadlock = true;
                let _ = child.kill();
            }
            if timed_out {
                let _ = child.kill();
            }
            match child.try_wait() {
                Ok(Some(status)) => {
                    let deadlock = *deadlock || reported_deadlock(&dir, *seed);
                    let outcome = finish(*seed, status, timed_out && !deadlock, deadlock, &dir);
                    found |= outcome.found();
                    outcomes.push(outcome);
                    running.swap_remove(i);
                }
                Ok(None) => i += 1,
                Err(e) => anyhow::bail!("explore: waiting for the run with seed {seed}: {e}"),
            }
        }
    }
    outcomes.sort_by_key(|o| o.seed);
    let findings = collect(&outcomes);
    print_summary(&cli, &dir, &outcomes, &findings);
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn is_option(arg: &OsStr, name: &str) -> bool {
    let a = arg.to_string_lossy();
    a == name || a.starts_with(&format!("{name}="))
}

fn run_file(dir: &Path, seed: u32, ext: &str) -> PathBuf {
    dir.join(format!("seed-{seed}.{ext}"))
}

/// Starts hbgrind on the command with `--sched-seed=SEED` and the run's
/// files; the program's stdin is empty, its output goes to a file.
fn start(hbgrind: &Path, command: &[OsString], dir: &Path, seed: u32) -> anyhow::Result<Child> {
    let out = run_file(dir, seed, "out");
    let file = std::fs::File::create(&out)
        .with_context(|| format!("explore: cannot create {}", out.display()))?;
    let err = file
        .try_clone()
        .context("explore: duplicating a descriptor")?;
    let mut json = OsString::from("--json-file=");
    json.push(run_file(dir, seed, "jsonl"));
    let mut log = OsString::from("--log-file=");
    log.push(run_file(dir, seed, "log"));
    Command::new(hbgrind)
        .arg(format!("--sched-seed={seed}"))
        .arg(json)
        .arg(log)
        .args(command)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .with_context(|| format!("explore: cannot run {}", hbgrind.display()))
}

/// The marker of hbgrind's report of every thread waiting forever.
const ALL_BLOCKED: &str = "---All-Threads-Blocked---";

fn reported_deadlock(dir: &Path, seed: u32) -> bool {
    std::fs::read_to_string(run_file(dir, seed, "log")).is_ok_and(|log| log.contains(ALL_BLOCKED))
}

fn finish(
    seed: u32,
    status: std::process::ExitStatus,
    timed_out: bool,
    deadlock: bool,
    dir: &Path,
) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let mut errors: Vec<(String, ErrorObject)> = Vec::new();
    // A run killed before it wrote anything has no file: no errors.
    if let Ok(run) = hbgrind_triage::read_run(&run_file(dir, seed, "jsonl")) {
        for e in run.errors {
            if !errors.iter().any(|(f, _)| *f == e.context_fingerprint) {
                errors.push((e.context_fingerprint.clone(), e));
            }
        }
    }
    // A run we killed did not die of its own signal.
    let signal = if timed_out || deadlock {
        None
    } else {
        status.signal()
    };
    let signal_at = signal.and_then(|_| {
        let text = std::fs::read_to_string(run_file(dir, seed, "jsonl")).ok()?;
        fatal_frame(&text)
    });
    Outcome {
        seed,
        errors,
        signal,
        signal_at,
        timed_out,
        deadlock,
    }
}

/// `user (x.c:5)`: where the run's JSON says the process died, at the
/// first frame in the program's own code (as a race's site is chosen).
fn fatal_frame(json_lines: &str) -> Option<String> {
    // A run killed mid-line leaves its last line cut: read what is whole.
    let records = read_json_lines(json_lines)
        .or_else(|(line, _)| {
            read_json_lines(
                &json_lines
                    .lines()
                    .take(line.saturating_sub(1))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })
        .ok()?;
    records.iter().find_map(|r| match r {
        JsonRecord::FatalSignal(f) => site_frame(&f.stack).map(FrameObject::describe),
        _ => None,
    })
}

impl Outcome {
    fn found(&self) -> bool {
        !self.errors.is_empty() || self.signal.is_some() || self.timed_out || self.deadlock
    }
}

/// The distinct findings, most frequent first (then by first seed).
fn collect(outcomes: &[Outcome]) -> Vec<Finding> {
    let mut by_key: BTreeMap<String, Finding> = BTreeMap::new();
    let mut add = |key: String, text: &dyn Fn() -> String, seed: u32| {
        by_key
            .entry(key)
            .or_insert_with(|| Finding {
                text: text(),
                seeds: Vec::new(),
            })
            .seeds
            .push(seed);
    };
    for o in outcomes {
        for (fp, e) in &o.errors {
            add(format!("error {fp}"), &|| describe_error(e), o.seed);
        }
        if let Some(sig) = o.signal {
            let at = o.signal_at.as_deref().unwrap_or("");
            add(
                format!("signal {sig} {at}"),
                &|| {
                    let mut text =
                        format!("the program died of signal {sig} ({})", signal_name(sig));
                    if !at.is_empty() {
                        text.push_str(&format!("\n       at {at}"));
                    }
                    text
                },
                o.seed,
            );
        }
        if o.deadlock {
            add(
                "deadlock".into(),
                &|| {
                    "every thread waited forever on a futex (a deadlock); each one's stack is in the run's log"
                        .into()
                },
                o.seed,
            );
        }
        if o.timed_out {
            add(
                "timeout".into(),
                &|| "the run did not end in time (a deadlock or a hang)".into(),
                o.seed,
            );
        }
    }
    let mut findings: Vec<Finding> = by_key.into_values().collect();
    findings.sort_by_key(|f| (std::cmp::Reverse(f.seeds.len()), f.seeds[0]));
    findings
}

/// `Possible data race during write of size 4` and where both sides were,
/// without addresses (they differ from run to run).
fn describe_error(e: &ErrorObject) -> String {
    let what = e.what.split(" at 0x").next().unwrap_or(&e.what);
    let mut text = what.to_string();
    if let Some(f) = site_frame(&e.stack) {
        text.push_str(&format!("\n       at {}", f.describe()));
    }
    if let Some(race) = &e.race {
        if let Some(f) = site_frame(&race.prior.stack) {
            text.push_str(&format!(
                "\n       conflicts with a {} of size {} by thread #{} at {}",
                race.prior.kind,
                race.prior.size,
                race.prior.thread,
                f.describe()
            ));
        }
    }
    text
}

/// What each run gets after its seed: `--sched=pct` if asked, then the
/// user's options, program and arguments.
fn run_command(cli: &ExploreCli) -> Vec<OsString> {
    let mut command = Vec::new();
    if cli.sched != "random" {
        command.push(OsString::from(format!("--sched={}", cli.sched)));
    }
    command.extend(cli.command.iter().cloned());
    command
}

/// The shell command that reproduces the run with `seed`.
fn reproduce(command: &[OsString], seed: u32) -> String {
    let mut words = vec!["hbgrind".to_string(), format!("--sched-seed={seed}")];
    words.extend(command.iter().map(|a| shell_quote(&a.to_string_lossy())));
    words.join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn seed_list(seeds: &[u32]) -> String {
    const SHOWN: usize = 10;
    let mut s: Vec<String> = seeds.iter().take(SHOWN).map(u32::to_string).collect();
    if seeds.len() > SHOWN {
        s.push("...".into());
    }
    s.join(", ")
}

fn print_summary(cli: &ExploreCli, dir: &Path, outcomes: &[Outcome], findings: &[Finding]) {
    let (first, last) = (
        outcomes.first().map_or(cli.first_seed, |o| o.seed),
        outcomes.last().map_or(cli.first_seed, |o| o.seed),
    );
    let policy = if cli.sched == "random" {
        String::new()
    } else {
        format!("--sched={}, ", cli.sched)
    };
    println!(
        "hbgrind explore: {} runs ({policy}--sched-seed={first}..{last}); each run's output, report and JSON in {}",
        outcomes.len(),
        dir.display()
    );
    if findings.is_empty() {
        println!("no run found anything");
        return;
    }
    println!(
        "{} distinct finding{}:",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    for (i, f) in findings.iter().enumerate() {
        println!(
            "  #{} in {} of {} runs (seed{} {}):",
            i + 1,
            f.seeds.len(),
            outcomes.len(),
            if f.seeds.len() == 1 { "" } else { "s" },
            seed_list(&f.seeds)
        );
        println!("       {}", f.text);
        println!(
            "       reproduce: {}",
            reproduce(&run_command(cli), f.seeds[0])
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fatal_frame_is_the_programs_own() {
        let json = r#"{"record":"run","format":"hbgrind-errors","version":1,"tool":"hbgrind","pid":1,"ppid":0,"tool_args":[],"exe":"/tmp/ubi","args":[]}
{"record":"fatal_signal","tid":3,"signo":6,"signame":"SIGABRT","sicode":-6,"stack":[{"ip":"0x1","fn":"raise","obj":"/usr/lib/x86_64-linux-gnu/libc.so.6","file":"raise.c","line":50},{"ip":"0x2","fn":"check","obj":"/tmp/ubi","file":"ubi.c","line":37}]}
"#;
        assert_eq!(fatal_frame(json).as_deref(), Some("check (ubi.c:37)"));
        assert_eq!(fatal_frame(""), None);
    }

    #[test]
    fn commands_are_quoted_for_the_shell() {
        let cmd: Vec<OsString> = ["--suppressions=a b.supp", "./prog", "it's", "x=1"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            reproduce(&cmd, 7),
            r"hbgrind --sched-seed=7 '--suppressions=a b.supp' ./prog 'it'\''s' x=1"
        );
    }

    #[test]
    fn runs_and_their_commands_name_the_policy() {
        let cli = ExploreCli::try_parse_from([
            "hbgrind explore",
            "--sched=pct",
            "--pct-depth=3",
            "./prog",
        ])
        .unwrap();
        let command = run_command(&cli);
        assert_eq!(
            reproduce(&command, 4),
            "hbgrind --sched-seed=4 --sched=pct --pct-depth=3 ./prog"
        );
        let cli = ExploreCli::try_parse_from(["hbgrind explore", "./prog"]).unwrap();
        assert_eq!(
            reproduce(&run_command(&cli), 4),
            "hbgrind --sched-seed=4 ./prog"
        );
    }

    #[test]
    fn findings_are_counted_over_runs_most_frequent_first() {
        let outcome = |seed, signal| Outcome {
            seed,
            errors: Vec::new(),
            signal,
            signal_at: None,
            timed_out: seed == 4,
            deadlock: false,
        };
        let outcomes = [
            outcome(1, Some(11)),
            outcome(2, None),
            outcome(3, Some(11)),
            outcome(4, None),
        ];
        let findings = collect(&outcomes);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].seeds, [1, 3]);
        assert_eq!(findings[0].text, "the program died of signal 11 (SIGSEGV)");
        assert_eq!(findings[1].seeds, [4]);
    }
}
