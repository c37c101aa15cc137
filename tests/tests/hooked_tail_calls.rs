//! Hooked functions that tail-jump into other hooked functions share one
//! return (QEMU's `qemu_rec_mutex_lock_impl` -> `qemu_mutex_lock_impl` ->
//! `pthread_mutex_lock`): that return must end every one of them, so the
//! wrapper's "lock at exit" takes effect. Before, only the innermost hook's
//! exit ran, and the QEMU boot reported "unlocked a not-locked lock" at
//! every `qemu_rec_mutex_unlock`. C program:
//! `tests/programs/tail_call_lock.c`, with its `--lock-model` file.

use hbgrind_tests::{program_source, Program};

fn model_option() -> String {
    format!(
        "--lock-model={}",
        program_source("tail_call_lock.model").display()
    )
}

#[test]
fn a_lock_wrapper_tail_jumping_into_pthread_holds_the_lock() {
    let prog = Program::build_with("tail_call_lock.c", &["-foptimize-sibling-calls"]);
    let native = prog.command().native();
    assert_eq!(native.stdout_text(), "done\n");
    let model = model_option();
    let out = prog.command().under_hbgrind(&[&model]);
    let report = out.stderr_text();
    assert_eq!(
        (out.stdout_text(), out.status.code()),
        ("done\n".to_string(), Some(0))
    );
    assert!(
        report.contains("ERROR SUMMARY: 0 errors from 0 contexts"),
        "{report}"
    );

    // The racy twin: the second thread skips the lock; the first holds it.
    let out = prog.run(["racy"]).under_hbgrind(&[&model]);
    let report = out.stderr_text();
    assert!(
        report.contains("Possible data race during read of size 8")
            || report.contains("Possible data race during write of size 8"),
        "{report}"
    );
    assert!(report.contains("Locks held: 1, at address"), "{report}");
    assert!(report.contains("Locks held: none"), "{report}");
    assert!(report.contains("worker (tail_call_lock.c:35)"), "{report}");
    assert!(!report.contains("not-locked"), "{report}");
}
