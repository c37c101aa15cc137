//! Races from code generated at run time (issue 11, item 2): frames in code
//! that no module maps are `<generated code>` with the mapping that holds
//! them, and races whose stacks differ only in generated frames are one
//! context; calls from generated code are one frame per JIT mapping. C
//! programs: `tests/programs/jit/` (`jit.h` makes the generated copies).

use hbgrind_tests::Program;

/// Runs the program under hbgrind (its output as natively), and returns
/// its report's lines without the `==pid== ` prefix, the line of the first
/// race (a write of size 4) and the line of its conflicting access.
fn report_of_race(source: &str) -> (String, Vec<String>, usize, usize) {
    let prog = Program::build(source);
    let native = prog.command().native();
    assert_eq!(native.stdout_text(), "done\n");
    let out = prog.command().under_hbgrind(&[]);
    assert_eq!(
        (out.stdout_text(), out.status.code()),
        ("done\n".to_string(), Some(0))
    );
    let report = out.stderr_text();
    let lines: Vec<String> = report
        .lines()
        .map(|l| l.split_once("== ").map_or(l, |(_, rest)| rest).to_string())
        .collect();
    let race = lines
        .iter()
        .position(|l| l.starts_with("Possible data race during write of size 4 at "))
        .unwrap_or_else(|| panic!("no race in\n{report}"));
    let conflict = race
        + lines[race..]
            .iter()
            .position(|l| l.starts_with("This conflicts with a previous write of size 4"))
            .unwrap_or_else(|| panic!("no prior access in\n{report}"));
    (report, lines, race, conflict)
}

#[test]
fn races_from_generated_code_are_one_context_with_named_frames() {
    let (report, lines, race, conflict) = report_of_race("jit/generated_code_race.c");
    // Both sides: a generated frame, then the worker that called it.
    for side in [race + 2, conflict + 2] {
        let frame = &lines[side];
        assert!(
            frame.contains(": <generated code> (in anonymous 0x") && frame.ends_with("000)"),
            "{frame}\n{report}"
        );
        assert!(
            lines[side + 1].contains(": worker (generated_code_race.c:19)"),
            "{report}"
        );
    }
    assert!(
        report.contains("ERROR SUMMARY: 4 errors from 1 contexts"),
        "four races through eight generated copies should be one context:\n{report}"
    );
    assert!(!report.contains("???"), "{report}");
}

#[test]
fn calls_from_generated_code_are_one_frame_at_the_mapping() {
    let (report, lines, race, conflict) = report_of_race("jit/generated_calls_helper.c");
    // helper <- <generated code> <- worker on both sides; the two sides
    // went through different stubs, yet their generated frame is the same
    // one, at the start of the mapping (translate.rs: calls from generated
    // code return to its mapping's start in the call-stack tree).
    let mut generated = Vec::new();
    for side in [race + 2, conflict + 2] {
        assert!(
            lines[side].contains(": helper_store (generated_calls_helper.c:19)"),
            "{report}"
        );
        let frame = &lines[side + 1];
        assert!(
            frame.contains(": <generated code> (in anonymous 0x"),
            "{frame}\n{report}"
        );
        generated.push(frame.clone());
        assert!(
            lines[side + 2].contains(": worker (generated_calls_helper.c:26)"),
            "{report}"
        );
    }
    assert_eq!(generated[0], generated[1], "{report}");
    let address = generated[0]
        .split_once("0x")
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(hex, _)| hex.to_string())
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        address.ends_with("000"),
        "the frame is the mapping's start: {report}"
    );
    // One stack pair for all four words: the engine reports it once.
    assert!(
        report.contains("ERROR SUMMARY: 1 errors from 1 contexts"),
        "{report}"
    );
}
