//! Races from code generated at run time (issue 11, item 2): frames in code
//! that no module maps are `<generated code>` with the mapping that holds
//! them, and races whose stacks differ only in generated frames are one
//! context. C program: `tests/programs/jit/generated_code_race.c`.

use hbgrind_tests::Program;

#[test]
fn races_from_generated_code_are_one_context_with_named_frames() {
    let prog = Program::build("jit/generated_code_race.c");
    let native = prog.command().native();
    assert_eq!(native.stdout_text(), "done\n");
    let out = prog.command().under_hbgrind(&[]);
    assert_eq!(
        (out.stdout_text(), out.status.code()),
        ("done\n".to_string(), Some(0))
    );
    let report = out.stderr_text();
    let lines: Vec<&str> = report
        .lines()
        .map(|l| l.split_once("== ").map_or(l, |(_, rest)| rest))
        .collect();
    let race = lines
        .iter()
        .position(|l| l.starts_with("Possible data race during write of size 4 at "))
        .unwrap_or_else(|| panic!("no race in\n{report}"));
    // Both sides: a generated frame, then the worker that called it.
    let conflict = race
        + lines[race..]
            .iter()
            .position(|l| l.starts_with("This conflicts with a previous write of size 4"))
            .unwrap_or_else(|| panic!("no prior access in\n{report}"));
    for side in [race + 2, conflict + 2] {
        let frame = lines[side];
        assert!(
            frame.contains(": <generated code> (in anonymous 0x") && frame.ends_with("000)"),
            "{frame}\n{report}"
        );
        assert!(
            lines[side + 1].contains(": worker (generated_code_race.c:22)"),
            "{report}"
        );
    }
    assert!(
        report.contains("ERROR SUMMARY: 4 errors from 1 contexts"),
        "four races through eight generated copies should be one context:\n{report}"
    );
    assert!(!report.contains("???"), "{report}");
}
