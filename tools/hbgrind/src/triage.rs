//! `hbgrind triage RUN... [--baseline B]... [--decisions FILE]
//! [-o DIR] [--format html|json|sarif|md] [--fail-on new|bug|any|never]`:
//! groups the errors of runs (their `--xml-file` or `--json-file`) for an
//! auditor (papers/triage.md).
//!
//! Without `-o`, one format (Markdown by default) goes to standard output;
//! with `-o DIR`, `index.html`, `triage.md`, `triage.json`, `triage.sarif`
//! and `decisions.template` go to DIR (or only the `--format` asked for).
//!
//! Exit status: 0; 1 for bad input (one line naming the file, and the line
//! when there is one); 2 when `--fail-on` finds groups: `new`, groups the
//! decisions file does not decide; `bug`, those and the ones decided `bug`;
//! `any`, every group.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use hbgrind_triage::{
    decisions, read_input, render, triage, Decisions, Group, Input, Status, TriageError,
    TriageOptions,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Html,
    Json,
    Sarif,
    Md,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Groups not decided in the decisions file.
    New,
    /// Undecided groups and groups decided `bug`.
    Bug,
    /// Any group.
    Any,
    Never,
}

#[derive(Parser, Debug)]
#[command(
    name = "hbgrind triage",
    bin_name = "hbgrind triage",
    about = "Group the errors of hbgrind runs (XML or JSON) for review: decisions, baseline, HTML/Markdown/JSON/SARIF"
)]
struct TriageOptionsCli {
    /// The runs: files written by --xml-file or --json-file (several seeds,
    /// several processes).
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<PathBuf>,
    /// An earlier `hbgrind triage --format json`, or earlier runs, to
    /// compare with (new, changed, gone groups). May be repeated.
    #[arg(long, value_name = "B")]
    baseline: Vec<PathBuf>,
    /// The decisions file: FINGERPRINT bug|benign|annotated|suppressed REASON.
    #[arg(long, value_name = "FILE")]
    decisions: Option<PathBuf>,
    /// Write the report files into DIR.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    /// The format to write (to standard output without -o) [md].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Exit with status 2 when such groups exist.
    #[arg(long = "fail-on", value_enum, default_value = "never")]
    fail_on: FailOn,
    /// Where to look for source files (for the excerpts). May be repeated.
    #[arg(long = "source-dir", value_name = "DIR")]
    source_dirs: Vec<PathBuf>,
    /// Source lines shown before and after each access.
    #[arg(long = "context-lines", value_name = "N", default_value_t = 2)]
    context_lines: u32,
}

fn write_file(path: &Path, text: &str) -> Result<(), TriageError> {
    std::fs::write(path, text).map_err(|source| TriageError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn rendered(format: Format, report: &hbgrind_triage::TriageReport) -> (&'static str, String) {
    match format {
        Format::Html => ("index.html", render::html(report)),
        Format::Json => ("triage.json", render::json(report)),
        Format::Sarif => ("triage.sarif", render::sarif(report)),
        Format::Md => ("triage.md", render::markdown(report)),
    }
}

pub(crate) fn main(args: &[OsString]) -> anyhow::Result<ExitCode> {
    let Some(o) = crate::parse_subcommand::<TriageOptionsCli>("triage", args)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let options = TriageOptions {
        source_dirs: o.source_dirs.clone(),
        context_lines: o.context_lines,
    };
    let mut runs = Vec::new();
    for path in &o.runs {
        runs.push(hbgrind_triage::read_run(path).map_err(|e| anyhow::anyhow!("triage: {e}"))?);
    }
    let decisions = match &o.decisions {
        Some(p) => Decisions::read(p).map_err(|e| anyhow::anyhow!("triage: {e}"))?,
        None => Decisions::new(),
    };
    let baseline: Option<Vec<Group>> = if o.baseline.is_empty() {
        None
    } else {
        let mut groups = Vec::new();
        let mut base_runs = Vec::new();
        for path in &o.baseline {
            match read_input(path).map_err(|e| anyhow::anyhow!("triage: --baseline: {e}"))? {
                Input::Triage(t) => groups.extend(t.groups),
                Input::Run(r) => base_runs.push(r),
            }
        }
        if !base_runs.is_empty() {
            groups.extend(triage(&base_runs, &Decisions::new(), None, &options).groups);
        }
        Some(groups)
    };
    let report = triage(&runs, &decisions, baseline.as_deref(), &options);

    match &o.output {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| {
                anyhow::anyhow!(
                    "triage: {}",
                    TriageError::Write {
                        path: dir.clone(),
                        source
                    }
                )
            })?;
            let formats = match o.format {
                Some(f) => vec![f],
                None => vec![Format::Html, Format::Md, Format::Json, Format::Sarif],
            };
            for f in formats {
                let (name, text) = rendered(f, &report);
                write_file(&dir.join(name), &text).map_err(|e| anyhow::anyhow!("triage: {e}"))?;
            }
            if o.format.is_none() {
                write_file(
                    &dir.join("decisions.template"),
                    &decisions::render_template(&report),
                )
                .map_err(|e| anyhow::anyhow!("triage: {e}"))?;
            }
        }
        None => {
            let (_, text) = rendered(o.format.unwrap_or(Format::Md), &report);
            print!("{text}");
        }
    }

    let failing: Vec<&Group> = report
        .groups
        .iter()
        .filter(|g| match o.fail_on {
            FailOn::New => g.status.is_none(),
            FailOn::Bug => matches!(g.status, None | Some(Status::Bug)),
            FailOn::Any => true,
            FailOn::Never => false,
        })
        .collect();
    if failing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let what = match o.fail_on {
        FailOn::New => "not decided",
        FailOn::Bug => "undecided or decided bug",
        _ => "found",
    };
    let file = o.decisions.as_ref().map_or_else(
        || "no decisions file given".to_string(),
        |p| format!("in {}", p.display()),
    );
    eprintln!(
        "hbgrind triage: {} group{} {what} ({file}):",
        failing.len(),
        if failing.len() == 1 { "" } else { "s" }
    );
    for g in failing {
        eprintln!("  {} {} [{}]", g.fingerprint, g.title, g.status_name());
    }
    Ok(ExitCode::from(2))
}
