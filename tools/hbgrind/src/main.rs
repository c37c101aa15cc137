//! `hbgrind`: the command line.
//!
//! `hbgrind analyze TRACE` replays an event trace into hb-engine;
//! `hbgrind triage RUN...` groups the errors of runs for review (`triage`);
//! everything else is `hbgrind [options] PROG [ARGS...]`, handled by `launch`.

mod analyze;
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
