//! `hbgrind analyze TRACE`: exact output on a shipped trace, one-line errors
//! with `file:line` on malformed ones.

use hbgrind_tests::{hbgrind, scratch_dir, tests_dir, Output, Run};

fn analyze(args: &[&str]) -> Output {
    Run::new(hbgrind()).arg("analyze").args(args).native()
}

#[test]
fn shipped_trace_reports_the_race_and_the_lock_order_violation() {
    let trace = tests_dir().join("traces/counter_and_inversion.trace");
    let out = analyze(&[trace.to_str().unwrap()]);
    assert_eq!(
        out.stdout_text(),
        "Possible data race during read of size 4 at 0x7f0010 by T2 (s18)\n\
         \x20  Locks held: none\n\
         \x20This conflicts with a previous write by T1 (s17)\n\
         \x20  Locks held: 0x5000\n\
         \x20Racy bytes: 0x7f0010..0x7f0014\n\
         \n\
         T2: lock order \"0x1 before 0x2\" violated\n\
         \x20Observed (incorrect) order: acquisition of 0x2 (s11) followed by 0x1 (s12)\n\
         \x20Required order was established by acquisition of 0x1 (s7) followed by 0x2 (s8)\n\
         \n\
         ERROR SUMMARY: 2 errors\n"
    );
    assert_eq!(out.stderr_text(), "");
    assert_eq!(out.status.code(), Some(0));
    let out = analyze(&["--error-exitcode=3", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn race_free_trace_reports_nothing() {
    let dir = scratch_dir("analyze_race_free");
    let path = dir.join("ok.trace");
    std::fs::write(
        &path,
        "T1 create T2\nT1 wr 0x10 4\nT1 release 0x99\nT2 acquire 0x99\nT2 wr 0x10 4\n",
    )
    .unwrap();
    let out = analyze(&["--error-exitcode=3", path.to_str().unwrap()]);
    assert_eq!(out.stdout_text(), "ERROR SUMMARY: 0 errors\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn stdin_is_read_for_dash() {
    let out = Run::new(hbgrind())
        .args(["analyze", "-"])
        .stdin("T1 create T2\nT1 wr 0x10 1\nT2 wr 0x10 1\n")
        .native();
    assert!(out
        .stdout_text()
        .starts_with("Possible data race during write of size 1 at 0x10 by T2 (s3)\n"));
    assert!(out.stdout_text().ends_with("ERROR SUMMARY: 1 error\n"));
}

#[test]
fn malformed_traces_are_refused_with_file_and_line() {
    let dir = scratch_dir("analyze_malformed");
    let cases = [
        ("T1 wr 0x10 4\nT1 wr 0x10\n", "2: missing the access size"),
        (
            "T1 wr 0x10 4\n\n# fine\nT1 frob 0x10\n",
            "4: unknown event 'frob'",
        ),
        (
            "X1 wr 0x10 4\n",
            "1: bad thread 'X1': expected T followed by a number, e.g. T1",
        ),
        (
            "T1 wr zz 4\n",
            "1: bad access address 'zz': expected a decimal or 0x-hexadecimal number",
        ),
        ("T1 wr 0x10 0\n", "1: access size must be at least 1"),
        (
            "T1 wr 0xffffffffffffffff 2\n",
            "1: access at 0xffffffffffffffff of size 2 wraps past the end of the address space",
        ),
        (
            "T1 ald 0x10 4 weird\n",
            "1: bad memory order 'weird': expected rlx, acq, rel, acq_rel or seq_cst",
        ),
        (
            "T1 wr 0x10 4 s1 extra\n",
            "1: unexpected 'extra' at the end of the line",
        ),
        (
            "T1 rd 0x7fd 0x7f01111111111\n",
            "1: access size 2234280928416017 is larger than the limit of 268435456 bytes",
        ),
        ("T1 create T2\nT2 exit\nT2 wr 0x10 4\n", "3: T2 has exited"),
        ("T1 join T9\n", "1: T9 was never created"),
        ("T1 create T2\nT1 create T2\n", "2: T2 already exists"),
    ];
    for (i, (text, message)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.trace"));
        std::fs::write(&path, text).unwrap();
        let out = analyze(&[path.to_str().unwrap()]);
        assert_eq!(
            out.stderr_text(),
            format!("hbgrind: {}:{message}\n", path.display()),
            "trace:\n{text}"
        );
        assert_eq!(
            out.stdout_text(),
            "",
            "nothing is printed before the trace is known good"
        );
        assert_eq!(out.status.code(), Some(1));
    }
}

#[test]
fn missing_trace_and_bad_options_are_one_line_errors() {
    let out = analyze(&["/nonexistent/x.trace"]);
    assert_eq!(
        out.stderr_text(),
        "hbgrind: cannot read trace /nonexistent/x.trace: No such file or directory (os error 2)\n"
    );
    assert_eq!(out.status.code(), Some(1));
    let out = analyze(&["--frob", "x"]);
    assert_eq!(
        out.stderr_text(),
        "hbgrind: analyze: unexpected argument '--frob' found; see hbgrind analyze --help\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn binary_garbage_is_refused_without_a_panic() {
    let dir = scratch_dir("analyze_garbage");
    let path = dir.join("garbage.trace");
    std::fs::write(&path, b"T1 wr \xff\xfe\x00 4\n").unwrap();
    let out = analyze(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        out.stderr_text(),
        format!(
            "hbgrind: {}:1: not UTF-8 text; is this an event trace?\n",
            path.display()
        )
    );
}
