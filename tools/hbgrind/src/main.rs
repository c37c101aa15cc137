//! `hbgrind`: the command line.
//!
//! `hbgrind analyze TRACE` replays an event trace into hb-engine;
//! `hbgrind triage RUN...` groups the errors of runs for review (`triage`);
//! `hbgrind explore PROG...` runs a program with many schedules (`explore`);
//! everything else is `hbgrind [options] PROG [ARGS...]`, handled by `launch`.

mod analyze;
mod explore;
mod launch;
mod options;
mod program;
mod triage;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = if args.get(1).is_some_and(|a| a == "analyze") {
        analyze::main(&args[1..])
    } else if args.get(1).is_some_and(|a| a == "triage") {
        triage::main(&args[1..])
    } else if args.get(1).is_some_and(|a| a == "explore") {
        explore::main(&args[1..])
    } else {
        launch::main(&args)
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hbgrind: {err:#}");
            // 127 / 126 for a program not found / not runnable, as shells do.
            let status = err
                .downcast_ref::<launch::LaunchError>()
                .map_or(1, launch::LaunchError::exit_status);
            ExitCode::from(status)
        }
    }
}

/// Parses a subcommand's arguments with clap: `Ok(None)` after printing
/// `--help` or `--version` (the caller exits 0), or a one-line error
/// naming the subcommand (`NAME: what; see hbgrind NAME --help`).
fn parse_subcommand<T: clap::Parser>(
    name: &str,
    args: &[std::ffi::OsString],
) -> anyhow::Result<Option<T>> {
    match T::try_parse_from(args) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(err) if !err.use_stderr() => {
            print!("{err}");
            Ok(None)
        }
        Err(err) => {
            let text = err.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            anyhow::bail!("{name}: {first}; see hbgrind {name} --help");
        }
    }
}
