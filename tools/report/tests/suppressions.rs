//! Suppression files: what is accepted, what is refused (exact messages),
//! how frames match, use counts, and generated entries fed back.

use hb_engine::{Access, AccessKind, Misuse, MisuseKind, Race, Report, ThreadId};
use hbgrind_report::{
    generate_suppression, ErrorKind, ErrorRecord, Frame, FramePattern, Stack, SuppressionKind,
    SuppressionSet,
};

fn frame(ip: u64, mangled: Option<&str>, obj: &str, file: Option<(&str, u32)>) -> Frame {
    Frame {
        ip,
        function: mangled.map(|m| hbgrind_report::demangle(m).into_owned()),
        linkage_name: mangled.map(str::to_string),
        dir: file.map(|_| "/src".to_string()),
        file: file.map(|(f, _)| f.to_string()),
        line: file.map(|(_, l)| l),
        object: Some(obj.to_string()),
        generated: None,
    }
}

fn access(thread: u32, kind: AccessKind, site: u32) -> Access {
    Access {
        thread: ThreadId(thread),
        kind,
        atomic: false,
        site,
        locks_held: Some(vec![]),
    }
}

/// A race whose current access has `stack`.
fn race_with(stack: Vec<Frame>) -> ErrorRecord {
    ErrorRecord::new(Report::Race(Race {
        addr: 0x10c060,
        size: 4,
        racy_addr: 0x10c060,
        racy_len: 4,
        current: access(1, AccessKind::Write, 1),
        prior: access(2, AccessKind::Write, 2),
    }))
    .with_stack(1, Stack::new(stack))
    .with_stack(
        2,
        Stack::new(vec![frame(0x20, Some("other"), "/bin/prog", None)]),
    )
}

fn misuse(kind: MisuseKind, stack: Vec<Frame>) -> ErrorRecord {
    ErrorRecord::new(Report::Misuse(Misuse {
        thread: ThreadId(1),
        kind,
        object: 0x10c080,
        site: 7,
    }))
    .with_stack(7, Stack::new(stack))
}

/// worker (racy.c:14) <- start_thread (libc) <- clone (libc)
fn worker_stack() -> Vec<Frame> {
    vec![
        frame(0x401136, Some("worker"), "/tmp/racy", Some(("racy.c", 14))),
        frame(
            0x48ed1f4,
            Some("start_thread"),
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            Some(("pthread_create.c", 442)),
        ),
        frame(
            0x496cb4f,
            Some("clone"),
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            None,
        ),
    ]
}

fn set(text: &str) -> SuppressionSet {
    let mut s = SuppressionSet::new();
    s.add_str("test.supp", text).expect("valid file");
    s
}

fn refused(text: &str) -> String {
    SuppressionSet::new()
        .add_str("bad.supp", text)
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn parses_entries_comments_aliases_and_skips_other_tools() {
    let text = "\
# glibc noise
{
   race in worker
   Helgrind:Race
   fun:worker
   ...
   obj:/usr/lib/x86_64-linux-gnu/libc.so.*
}

{
  a memcheck one, ignored
  Memcheck:Param
  write(buf)
  fun:write
}
{
   ours too
   hbgrind:LockOrder
   src:racy.c:14
}
{
   drd spelling
   drd:ConflictingAccess
   fun:*
}
{
   misc with its extra line
   Helgrind:Misc
   DestroyLocked
   fun:main
}
{
   a kind we never report
   Helgrind:UnlockBogus
   fun:main
}
";
    let s = set(text);
    assert_eq!(s.len(), 5);
    assert_eq!(s.skipped_for_other_tools(), 1);
    let first = &s.suppressions()[0];
    assert_eq!(first.name, "race in worker");
    assert_eq!((first.file.as_str(), first.line), ("test.supp", 3));
    assert_eq!(first.kind, SuppressionKind::Ours(ErrorKind::Race));
    assert_eq!(
        first.frames,
        vec![
            FramePattern::Fun("worker".into()),
            FramePattern::Ellipsis,
            FramePattern::Obj("/usr/lib/x86_64-linux-gnu/libc.so.*".into()),
        ]
    );
    assert_eq!(
        s.suppressions()[1].frames,
        vec![FramePattern::Src {
            file: "racy.c".into(),
            line: Some(14)
        }]
    );
    assert_eq!(
        s.suppressions()[1].kind,
        SuppressionKind::Ours(ErrorKind::LockOrder)
    );
    assert_eq!(
        s.suppressions()[2].kind,
        SuppressionKind::Ours(ErrorKind::Race)
    );
    assert_eq!(s.suppressions()[3].extra.as_deref(), Some("DestroyLocked"));
    assert_eq!(
        s.suppressions()[4].kind,
        SuppressionKind::NeverReported("Helgrind:UnlockBogus".into())
    );
}

#[test]
fn refuses_malformed_files_with_file_and_line() {
    assert_eq!(
        refused("\n\nfun:main\n"),
        "bad.supp:3: expected '{' or end of file, found \"fun:main\""
    );
    assert_eq!(
        refused("{\n}\n"),
        "bad.supp:2: unexpected '}': the suppression has no name"
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind\n  fun:main\n}\n"),
        "bad.supp:3: malformed \"tool:kind\" line \"Helgrind\"; expected e.g. \"Helgrind:Race\""
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Rcae\n  fun:main\n}\n"),
        "bad.supp:3: unknown suppression kind \"Helgrind:Rcae\"; expected Race, LockOrder, \
         UnlockUnlocked, UnlockForeign or Misc (drd: ConflictingAccess)"
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Race\n  main\n}\n"),
        "bad.supp:4: \"Helgrind:Race\" takes no extra line; expected \"fun:\", \"obj:\", \
         \"src:\" or \"...\", found \"main\""
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Race\n  fun:main\n  fn:worker\n}\n"),
        "bad.supp:5: location should be \"...\" or start with \"fun:\", \"obj:\" or \"src:\", \
         found \"fn:worker\""
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Race\n}\n"),
        "bad.supp:4: missing stack: a suppression needs at least one \"fun:\", \"obj:\" or \
         \"src:\" line"
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Race\n  ...\n  ...\n}\n"),
        "bad.supp:6: a suppression needs at least one location line which is not \"...\""
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Race\n  fun:\n}\n"),
        "bad.supp:4: empty pattern after \"fun:\""
    );
    assert_eq!(
        refused("{\n  name\n  Helgrind:Race\n  src:racy.c:x\n}\n"),
        "bad.supp:4: bad \"src:FILE:LINE\" line \"src:racy.c:x\": LINE must be a positive number"
    );
    assert_eq!(
        refused("# c\n{\n  name\n  Helgrind:Race\n  fun:main\n\n"),
        "bad.supp:6: unexpected end of file inside the stack (the suppression opened at line 2 \
         has no '}')"
    );
    assert_eq!(
        refused("{\n  name\n  Memcheck:Leak\n  fun:malloc\n"),
        "bad.supp:4: unexpected end of file while skipping another tool's suppression (the \
         suppression opened at line 1 has no '}')"
    );
    assert_eq!(
        refused("{\n  name\n"),
        "bad.supp:2: unexpected end of file where the \"tool:kind\" line should be (the \
         suppression opened at line 1 has no '}')"
    );
    // A refused file adds nothing, not even its good entries.
    let mut s = SuppressionSet::new();
    let good = "{\n n\n Helgrind:Race\n fun:main\n}\n";
    assert!(s
        .add_str("mixed.supp", &format!("{good}garbage\n"))
        .is_err());
    assert!(s.is_empty());
}

#[test]
fn windows_line_ends_and_a_byte_order_mark_are_fine() {
    let s =
        set("\u{feff}# saved by an editor\r\n{\r\n  n\r\n  Helgrind:Race\r\n  fun:main\r\n}\r\n");
    assert_eq!(
        s.suppressions()[0].frames,
        vec![FramePattern::Fun("main".into())]
    );
    assert_eq!(s.suppressions()[0].line, 3);
}

#[test]
fn a_missing_file_names_itself() {
    let err = SuppressionSet::new()
        .load_file(std::path::Path::new("/nonexistent/x.supp"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "/nonexistent/x.supp: cannot read suppression file"
    );
    assert!(std::error::Error::source(&err).is_some());
}

fn hides(supp: &str, err: &ErrorRecord) -> bool {
    set(&format!("{{\n   s\n{supp}}}\n")).find(err).is_some()
}

#[test]
fn frames_match_from_the_innermost_with_wildcards_and_ellipsis() {
    let err = race_with(worker_stack());
    // Prefix match: later frames do not matter.
    assert!(hides("Helgrind:Race\nfun:worker\n", &err));
    assert!(hides("Helgrind:Race\nfun:work*\nfun:start_?hread\n", &err));
    assert!(!hides("Helgrind:Race\nfun:start_thread\n", &err));
    // `...` matches zero or more frames, anywhere.
    assert!(hides("Helgrind:Race\n...\nfun:start_thread\n", &err));
    assert!(hides("Helgrind:Race\n...\nfun:worker\n", &err));
    assert!(hides("Helgrind:Race\nfun:worker\n...\nfun:clone\n", &err));
    assert!(hides(
        "Helgrind:Race\nfun:worker\n...\nfun:start_thread\n...\n",
        &err
    ));
    assert!(!hides("Helgrind:Race\nfun:worker\n...\nfun:main\n", &err));
    // The pattern may not be longer than the stack.
    assert!(!hides(
        "Helgrind:Race\nfun:worker\nobj:*\nobj:*\nobj:*\n",
        &err
    ));
    assert!(hides("Helgrind:Race\nfun:worker\nobj:*\nobj:*\n", &err));
    // obj: and src:
    assert!(hides("Helgrind:Race\nobj:/tmp/racy\nobj:*libc.so*\n", &err));
    assert!(hides("Helgrind:Race\nsrc:racy.c\n", &err));
    assert!(hides("Helgrind:Race\nsrc:racy.c:14\n", &err));
    assert!(!hides("Helgrind:Race\nsrc:racy.c:15\n", &err));
    assert!(hides(
        "Helgrind:Race\n...\nsrc:pthread_create.c:442\n",
        &err
    ));
    // The kind must agree; our aliases mean the same kind.
    assert!(!hides("Helgrind:LockOrder\nfun:worker\n", &err));
    assert!(hides("hbgrind:Race\nfun:worker\n", &err));
    assert!(hides("drd:ConflictingAccess\nfun:worker\n", &err));
    assert!(hides("Memcheck,Helgrind:Race\nfun:worker\n", &err));
}

#[test]
fn fun_matches_the_mangled_name() {
    let err = race_with(vec![frame(0x10, Some("_ZN2ns3Foo3barEi"), "/tmp/a", None)]);
    assert_eq!(
        err.primary_stack().frames[0].function.as_deref(),
        Some("ns::Foo::bar(int)")
    );
    assert!(hides("Helgrind:Race\nfun:_ZN2ns3Foo3barEi\n", &err));
    assert!(hides("Helgrind:Race\nfun:_ZN2ns3Foo*\n", &err));
    assert!(!hides("Helgrind:Race\nfun:ns::Foo::bar(int)\n", &err));
    // An unknown function is "???", an unknown object too.
    let unknown = race_with(vec![Frame::unknown(0x10)]);
    assert!(hides("Helgrind:Race\nfun:???\n", &unknown));
    assert!(hides("Helgrind:Race\nobj:???\n", &unknown));
    assert!(!hides("Helgrind:Race\nsrc:*\n", &unknown));
}

#[test]
fn misc_extra_line_selects_the_misuse() {
    let destroy = misuse(MisuseKind::DestroyLocked, worker_stack());
    let barrier = misuse(MisuseKind::BarrierUninitialised, worker_stack());
    let unlock = misuse(MisuseKind::UnlockUnlocked, worker_stack());
    let misc = "Helgrind:Misc\nDestroyLocked\nfun:worker\n";
    assert!(hides(misc, &destroy));
    assert!(!hides(misc, &barrier));
    assert!(hides("Helgrind:Misc\nfun:worker\n", &barrier));
    assert!(hides("Helgrind:Misc\nBarrier*\nfun:worker\n", &barrier));
    assert!(!hides("Helgrind:Misc\nfun:worker\n", &unlock));
    assert!(hides("Helgrind:UnlockUnlocked\nfun:worker\n", &unlock));
    let foreign = misuse(
        MisuseKind::UnlockForeign { owner: ThreadId(2) },
        worker_stack(),
    );
    assert!(hides("Helgrind:UnlockForeign\nfun:worker\n", &foreign));
}

#[test]
fn only_num_callers_pattern_lines_count() {
    let err = race_with(worker_stack());
    let long = "Helgrind:Race\nfun:worker\nfun:start_thread\nfun:not_there\n";
    let mut s = set(&format!("{{\n s\n{long}}}\n"));
    assert!(s.find(&err).is_none());
    s.set_num_callers(2);
    assert!(s.find(&err).is_some());
}

#[test]
fn uses_are_counted_per_suppression() {
    let text = "{\n   workers\n   Helgrind:Race\n   fun:worker\n}\n\
                {\n   never\n   Helgrind:Race\n   fun:nobody\n}\n\
                {\n   mains\n   Helgrind:Race\n   fun:main\n}\n";
    let mut s = set(text);
    let worker = race_with(worker_stack());
    let main = race_with(vec![frame(0x1, Some("main"), "/tmp/racy", None)]);
    let other = race_with(vec![frame(0x2, Some("elsewhere"), "/tmp/racy", None)]);
    for _ in 0..7 {
        assert_eq!(
            s.suppress(&worker).map(|x| x.name.as_str()),
            Some("workers")
        );
    }
    assert_eq!(s.suppress(&main).map(|x| x.name.as_str()), Some("mains"));
    assert!(s.suppress(&other).is_none());
    assert_eq!(s.totals(), (8, 2));
    assert_eq!(
        s.used_lines(),
        vec![
            "used_suppression:      7 workers test.supp:2",
            "used_suppression:      1 mains test.supp:12",
        ]
    );
}

#[test]
fn generated_entry_is_valgrinds_and_hides_exactly_that_error() {
    let mut stack = worker_stack();
    stack.insert(
        0,
        frame(
            0x400100,
            Some("_ZNK3Vec8operator*Ev"),
            "/tmp/racy",
            Some(("vec.h", 3)),
        ),
    );
    stack.push(Frame {
        ip: 0x7000,
        object: Some("/lib/odd*name?.so".into()),
        ..Frame::default()
    });
    stack.push(Frame::unknown(0x8000));
    let err = race_with(stack.clone());
    let generated = generate_suppression(&err);
    assert_eq!(
        generated.to_text(),
        "{\n   <insert_a_suppression_name_here>\n   Helgrind:Race\n   fun:_ZNK3Vec8operator\\*Ev\n   \
         fun:worker\n   fun:start_thread\n   fun:clone\n   obj:/lib/odd\\*name\\?.so\n   obj:*\n}\n"
    );
    let mut s = SuppressionSet::new();
    s.add_str("gen.supp", &generated.to_text())
        .expect("generated text parses");
    assert_eq!(s.suppressions()[0].name, "<insert_a_suppression_name_here>");
    assert!(s.find(&err).is_some());
    // A different innermost frame, a different object or another kind: no.
    let mut other = stack.clone();
    other[0].linkage_name = Some("_ZNK3Vec8operatorXEv".into());
    assert!(s.find(&race_with(other)).is_none());
    let mut other = stack.clone();
    other[4].object = Some("/lib/oddXnameY.so".into());
    assert!(s.find(&race_with(other)).is_none());
    assert!(s
        .find(&misuse(MisuseKind::UnlockUnlocked, stack.clone()))
        .is_none());
    // The same kind of round trip for a misuse.
    let unlock = misuse(MisuseKind::UnlockUnlocked, worker_stack());
    let generated = generate_suppression(&unlock);
    assert_eq!(generated.kind_line, "Helgrind:UnlockUnlocked");
    let mut s = SuppressionSet::new();
    s.add_str("gen.supp", &generated.to_text())
        .expect("generated text parses");
    assert!(s.find(&unlock).is_some());
    assert!(s.find(&race_with(worker_stack())).is_none());
}

#[test]
fn error_log_counts_as_valgrind_counts() {
    use hbgrind_report::{ErrorLog, Outcome};
    let mut supps = set("{\n   mains\n   Helgrind:Race\n   fun:main\n}\n");
    let mut log = ErrorLog::new();
    let worker = race_with(worker_stack());
    let main = race_with(vec![frame(0x1, Some("main"), "/tmp/racy", None)]);
    let mut other = race_with(vec![frame(0x2, Some("elsewhere"), "/tmp/racy", None)]);
    assert_eq!(log.record(&worker, &mut supps), Outcome::New(0));
    assert_eq!(log.record(&worker, &mut supps), Outcome::Duplicate(0));
    assert_eq!(log.record(&main, &mut supps), Outcome::Suppressed(0));
    assert_eq!(log.record(&main, &mut supps), Outcome::Suppressed(0));
    assert_eq!(log.record(&other, &mut supps), Outcome::New(1));
    // The same two stacks the other way round are the same race.
    if let Report::Race(r) = &mut other.report {
        std::mem::swap(&mut r.current, &mut r.prior);
    }
    assert_eq!(log.record(&other, &mut supps), Outcome::Duplicate(1));
    let c = log.counts();
    assert_eq!(
        (c.errors, c.contexts, c.suppressed, c.suppressed_contexts),
        (4, 2, 2, 1)
    );
    assert_eq!(
        supps.used_lines(),
        vec!["used_suppression:      2 mains test.supp:2"]
    );
}

#[test]
fn valgrinds_own_default_file_is_accepted() {
    let path = std::path::Path::new("/usr/libexec/valgrind/default.supp");
    if !path.exists() {
        return; // valgrind not installed here
    }
    let text = std::fs::read_to_string(path).expect("readable");
    let ours = text
        .lines()
        .filter(|l| {
            let l = l.trim();
            l.starts_with("Helgrind:") || l.starts_with("drd:") || l.starts_with("hbgrind:")
        })
        .count();
    let all = text.lines().filter(|l| l.trim() == "{").count();
    let mut s = SuppressionSet::new();
    assert_eq!(s.load_file(path).expect("valgrind's file parses"), ours);
    assert_eq!(s.skipped_for_other_tools(), all - ours);
}

/// Helgrind's generated suppressions name its preload object where its
/// wrappers stand (`obj:*vgpreload_helgrind-amd64-linux.so`) and its
/// workers (`fun:mutex_lock_WRK`); hbgrind's stacks have neither, so those
/// lines match no frame, or an `obj:` line the intercepted function's.
#[test]
fn helgrind_and_drd_suppressions_match_without_their_wrappers() {
    let err = race_with(worker_stack());
    // As `valgrind --tool=helgrind --gen-suppressions=all` writes it.
    assert!(hides(
        "Helgrind:Race\nfun:worker\nobj:/usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so\nfun:start_thread\nfun:clone\n",
        &err
    ));
    assert!(hides(
        "drd:ConflictingAccess\nfun:worker\nobj:*vgpreload_drd*\nfun:start_thread\n",
        &err
    ));
    assert!(!hides(
        "Helgrind:Race\nfun:worker\nobj:*vgpreload_helgrind*\nfun:main\n",
        &err
    ));
    // A race inside pthread_mutex_lock, called through Helgrind's wrapper.
    let lock = race_with(vec![
        frame(0x10, Some("pthread_mutex_lock"), "/lib/libc.so.6", None),
        frame(0x20, Some("main"), "/tmp/prog", Some(("prog.c", 9))),
    ]);
    assert!(hides(
        "Helgrind:Race\nfun:mutex_lock_WRK\nfun:pthread_mutex_lock\nobj:*vgpreload_helgrind-amd64-linux.so\nfun:main\n",
        &lock
    ));
    // Helgrind's replacement memcpy lives in its preload object: here the
    // frame is glibc's own.
    let copy = race_with(vec![
        frame(
            0x10,
            Some("__memcpy_avx_unaligned_erms"),
            "/lib/libc.so.6",
            None,
        ),
        frame(0x20, Some("main"), "/tmp/prog", Some(("prog.c", 9))),
    ]);
    assert!(hides(
        "Helgrind:Race\nobj:*vgpreload_helgrind-amd64-linux.so\nfun:main\n",
        &copy
    ));
    assert!(!hides(
        "Helgrind:Race\nobj:*vgpreload_helgrind-amd64-linux.so\nfun:worker\n",
        &copy
    ));
    // Nothing but wrapper lines never matches everything.
    assert!(!hides(
        "Helgrind:Race\nobj:*vgpreload_helgrind-amd64-linux.so\n",
        &err
    ));
}
