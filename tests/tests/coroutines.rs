//! Shadow call stacks across coroutine switches (issue 11, item 3): with
//! the coroutine's stack registered (`VALGRIND_STACK_REGISTER`), each side
//! of a race shows its own stack however often main and the coroutine
//! switched. Before, the coroutine's frames were chained onto main's
//! (`co_body` "called" from `outer_step`). C program:
//! `tests/programs/coroutine_stacks.c`.

use hbgrind_tests::Program;

/// The report lines without their `==PID==` prefixes.
fn lines(report: &str) -> Vec<String> {
    report
        .lines()
        .map(|l| l.split_once("== ").map_or(l, |(_, rest)| rest).to_string())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The frames after the line starting with `title` (up to the next
/// non-frame line), as `function (file:line)`.
fn frames_after(lines: &[String], title: &str) -> Vec<String> {
    let at = lines
        .iter()
        .position(|l| l.starts_with(title))
        .unwrap_or_else(|| panic!("no {title:?} in\n{}", lines.join("\n")));
    lines[at + 1..]
        .iter()
        .skip_while(|l| l.starts_with("Locks held"))
        .take_while(|l| l.starts_with("   at ") || l.starts_with("   by "))
        .map(|l| {
            l.split_once(": ")
                .map_or(l.as_str(), |(_, f)| f)
                .to_string()
        })
        .collect()
}

#[test]
fn a_coroutine_and_main_each_keep_their_own_stack() {
    let prog = Program::build("coroutine_stacks.c");
    let native = prog.command().native();
    assert_eq!(native.stdout_text(), "steps 3, 1 1\n");
    let out = prog.command().under_hbgrind(&[]);
    assert_eq!(
        (out.stdout_text(), out.status.code()),
        (native.stdout_text(), Some(0))
    );
    let report = out.stderr_text();
    let l = lines(&report);
    // The races are found at main's thread's stores; the worker's come first.
    let races: Vec<usize> = l
        .iter()
        .enumerate()
        .filter(|(_, s)| s.starts_with("Possible data race during write of size 4"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(races.len(), 2, "{report}");
    let co = frames_after(&l[races[0]..], "Possible data race");
    assert_eq!(co, ["co_body (coroutine_stacks.c:30)"], "{report}");
    let main = frames_after(&l[races[1]..], "Possible data race");
    assert_eq!(
        main,
        [
            "middle (coroutine_stacks.c:43)",
            "main (coroutine_stacks.c:67)"
        ],
        "{report}"
    );
    for (race, line) in [(races[0], 48), (races[1], 49)] {
        let prior = frames_after(&l[race..], "This conflicts with a previous write of size 4");
        assert_eq!(
            prior[0],
            format!("worker (coroutine_stacks.c:{line})"),
            "{report}"
        );
    }
    assert!(
        report.contains("ERROR SUMMARY: 2 errors from 2 contexts"),
        "{report}"
    );
}
