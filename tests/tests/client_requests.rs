//! Valgrind client requests (`valgrind.h`) in programs built against
//! Valgrind's own headers, under the race tool and, for the core requests,
//! under `--tool=none`: the answers the program sees (RUNNING_ON_VALGRIND,
//! VALGRIND_COUNT_ERRORS, an unknown request's default) and what
//! VALGRIND_PRINTF and VALGRIND_PRINTF_BACKTRACE write to the log.
//!
//! The log format is Valgrind's: a client message is a `**PID** ` line (as
//! `valgrind --tool=none` 3.19 prints it: Valgrind marks what the program
//! asked to print apart from its own `==PID==` lines), the backtrace that
//! follows is made of ordinary `==PID==    at …` frame lines and ends at
//! `main`, as Valgrind's stacks do by default (`--show-below-main=no`).

use hbgrind_tests::helgrind::{parse_frame, parse_log, Frame, HelgrindLog};
use hbgrind_tests::races::build_in;
use hbgrind_tests::{scratch_dir, Output, Program};

/// The race tool (default) and the none tool.
const TOOLS: [&str; 2] = ["--tool=race", "--tool=none"];

fn build(name: &str) -> Program {
    build_in("client", name, &[])
}

/// Runs `program` under `hbgrind TOOL --log-file=…`; returns the output,
/// the parsed log and its text.
fn run_logged(program: &Program, source: &str, tool: &str) -> (Output, HelgrindLog, String) {
    let dir = scratch_dir(&format!(
        "client_requests_{}_{}",
        source.trim_end_matches(".c"),
        tool.trim_start_matches("--tool=")
    ));
    let log_path = dir.join("hbgrind.log");
    let output = program
        .command()
        .under_hbgrind(&[tool, &format!("--log-file={}", log_path.display())]);
    let text = std::fs::read_to_string(&log_path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; stderr:\n{}",
            log_path.display(),
            output.stderr_text()
        )
    });
    let log = parse_log(source, &text);
    (output, log, text)
}

#[test]
fn running_on_valgrind_is_one_under_every_tool() {
    let program = build("running_on_valgrind.c");
    let native = program.command().native();
    assert_eq!(native.stdout_text(), "running on valgrind: 0\n");
    for tool in TOOLS {
        let run = program.command().under_hbgrind(&[tool]);
        assert_eq!(
            (run.stdout_text(), run.status_text()),
            ("running on valgrind: 1\n".to_string(), native.status_text()),
            "{tool}: {}",
            run.stderr_text()
        );
    }
}

#[test]
fn printf_and_printf_backtrace_write_to_the_log() {
    let program = build("printf.c");
    let native = program.command().native();
    assert_eq!(native.stdout_text(), "stdout line\n");
    assert_eq!(
        native.stderr_text(),
        "",
        "natively the requests print nothing"
    );
    for tool in TOOLS {
        let (run, log, text) = run_logged(&program, "printf.c", tool);
        assert_eq!(
            (&run.stdout, &run.stderr, run.status_text()),
            (&native.stdout, &native.stderr, native.status_text()),
            "{tool}"
        );
        assert_eq!(
            log.client_lines,
            [
                "hello from the client, 42 and text",
                "backtrace from inner, n=7"
            ],
            "{tool}:\n{text}"
        );
        let pid = log.pid.expect("tool lines");
        assert!(
            text.contains(&format!("**{pid}** hello from the client, 42 and text\n")),
            "{tool}: client messages carry the same PID as the tool's lines:\n{text}"
        );
        // The backtrace: the request sits in valgrind.h's
        // VALGRIND_PRINTF_BACKTRACE (a real function: it is variadic), then
        // the program's frames up to main.
        let frames: Vec<Frame> = log
            .tool_lines
            .iter()
            .skip_while(|l| parse_frame(l).is_none())
            .map_while(|l| parse_frame(l))
            .collect();
        let shown: Vec<String> = frames.iter().map(Frame::describe).collect();
        assert!(
            frames.first().is_some_and(|f| {
                f.function == "VALGRIND_PRINTF_BACKTRACE"
                    && f.source
                        .as_ref()
                        .is_some_and(|(file, _)| file.ends_with("valgrind.h"))
            }),
            "{tool}: {shown:?}"
        );
        // The none tool keeps no shadow call stack (it would cost it 6x on
        // sort) and hbgrind has no unwinder yet: the request's own frame
        // is all it can show. The race tool shows the whole stack, ending
        // at main as Valgrind's does (--show-below-main=no).
        if tool.contains("none") {
            assert_eq!(frames.len(), 1, "{tool}: {shown:?}");
            continue;
        }
        assert_eq!(
            shown[1..],
            [
                "inner (printf.c:9)",
                "outer (printf.c:15)",
                "main (printf.c:22)"
            ],
            "{tool}: {shown:?}"
        );
        assert_eq!(log.errors.len(), 0, "{tool}:\n{text}");
    }
}

#[test]
fn unknown_requests_return_their_default_and_the_program_goes_on() {
    let program = build("unknown_request.c");
    let native = program.command().native();
    assert_eq!(
        (native.stdout_text(), native.status.code()),
        (
            "unknown requests returned 77 and 1234\n".to_string(),
            Some(3)
        )
    );
    for tool in TOOLS {
        let (run, log, text) = run_logged(&program, "unknown_request.c", tool);
        assert_eq!(
            (&run.stdout, &run.stderr, run.status_text()),
            (&native.stdout, &native.stderr, native.status_text()),
            "{tool}:\n{text}"
        );
        assert_eq!(log.errors.len(), 0, "{tool}:\n{text}");
    }
}

#[test]
fn count_errors_counts_the_race_tool_s_errors() {
    let program = build("count_errors.c");
    let native = program.command().native();
    assert_eq!(native.stdout_text(), "errors so far: 0\n");
    for (tool, expected) in [("--tool=race", 1), ("--tool=none", 0)] {
        let (run, log, text) = run_logged(&program, "count_errors.c", tool);
        assert_eq!(
            (run.stdout_text(), run.status_text()),
            (format!("errors so far: {expected}\n"), native.status_text()),
            "{tool}:\n{text}"
        );
        assert_eq!(log.errors.len(), expected, "{tool}:\n{text}");
    }
}
