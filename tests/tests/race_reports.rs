//! The race tool end to end: every labelled program of
//! `tests/programs/races/` runs natively and under `hbgrind` (the default
//! tool, reports to `--log-file`); stdout, stderr and the exit status must
//! be the native ones, and the Helgrind-format reports read back
//! (`hbgrind_tests::helgrind`) must be exactly the labels: the same set of
//! findings (kind, size and both source lines, sides in either order), one
//! report per finding, and an `ERROR SUMMARY` with that many contexts. A
//! race-free program must end with `ERROR SUMMARY: 0 errors from 0
//! contexts`. A missing log, a missing summary or a race without its
//! previous access all fail.
//!
//! Then what the labels do not say: whole stacks, thread announcements,
//! address descriptions, stderr output, `--error-exitcode`, XML, generated
//! suppressions fed back, malformed suppression files, the default
//! suppression files, and real multithreaded programs (pigz, xz, zstd) that
//! must report nothing.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use hbgrind_tests::helgrind::{own_loc, parse_frame, parse_log, ErrorBlock, Frame, HelgrindLog};
use hbgrind_tests::labels::{describe_difference, Findings};
use hbgrind_tests::races::{build_flags, build_in, build_race_program, labels_of, race_programs};
use hbgrind_tests::xml::{parse_xml, Element};
use hbgrind_tests::{assert_same, cached_file, scratch_dir, tests_dir, Output, Rng, Run};

/// The last lines of a log, for failure messages.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A run of `run` under `hbgrind OPTIONS --log-file=DIR/hbgrind.log`, with
/// the log's text. The program's own streams and status must be native.
struct Logged {
    output: Output,
    log: String,
}

fn run_logged(run: &Run, dir: &Path, options: &[&str]) -> Logged {
    let log_path = dir.join("hbgrind.log");
    let _ = std::fs::remove_file(&log_path);
    let mut all = vec![format!("--log-file={}", log_path.display())];
    all.extend(options.iter().map(|o| o.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let output = run.under_hbgrind(&all);
    let log = std::fs::read_to_string(&log_path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; hbgrind wrote no log ({}); its stderr:\n{}",
            log_path.display(),
            output.status_text(),
            tail(&output.stderr_text(), 30)
        )
    });
    Logged { output, log }
}

/// Builds `races/NAME`, runs it natively and under hbgrind, checks
/// transparency and returns the parsed log.
fn run_race_program(name: &str, options: &[&str]) -> (HelgrindLog, String) {
    let flags = build_flags(name);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let program = build_race_program(name, &flags);
    // Several tests run the same program at once: one directory per run.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let stem = name.trim_end_matches(".c");
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = scratch_dir(&format!("race_reports_{stem}_{run}"));
    let native = program.command().native();
    assert!(
        native.status.success(),
        "{name} fails natively: {}",
        native.status_text()
    );
    let logged = run_logged(&program.command(), &dir, options);
    assert_same(&native, &logged.output);
    (parse_log(name, &logged.log), logged.log)
}

/// Everything wrong with `log` against the labels of `name`.
fn compare_with_labels(name: &str, log: &HelgrindLog) -> Vec<String> {
    let expected = labels_of(name).for_hbgrind().clone();
    let found = log.findings();
    let mut problems = Vec::new();
    let difference = describe_difference(&expected, &found);
    if !difference.is_empty() {
        problems.push(format!("reports differ from the labels:\n{difference}"));
    }
    if log.errors.len() != found.len() {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for e in &log.errors {
            *seen.entry(e.finding.to_string()).or_default() += 1;
        }
        let repeated: Vec<String> = seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(f, n)| format!("  {n} reports of: {f}"))
            .collect();
        problems.push(format!(
            "{} reports for {} distinct findings:\n{}",
            log.errors.len(),
            found.len(),
            repeated.join("\n")
        ));
    }
    match log.summary {
        None => problems.push("no `ERROR SUMMARY` line".into()),
        Some(s) if expected.is_empty() && (s.errors, s.contexts) != (0, 0) => {
            problems.push(format!(
                "race-free, but ERROR SUMMARY: {} errors from {} contexts",
                s.errors, s.contexts
            ))
        }
        Some(s) if s.contexts != log.errors.len() as u64 => problems.push(format!(
            "ERROR SUMMARY counts {} contexts, the log shows {} reports",
            s.contexts,
            log.errors.len()
        )),
        Some(s) if s.errors < s.contexts => problems.push(format!(
            "ERROR SUMMARY: {} errors from {} contexts (fewer errors than contexts)",
            s.errors, s.contexts
        )),
        Some(_) => {}
    }
    problems
}

/// The program's `hbgrind-options`, a relative `--lock-model=FILE` made
/// a path in `tests/programs/races/`, a relative `--suppressions=FILE` one
/// in the repository (the shipped files).
fn labelled_options(name: &str) -> Vec<String> {
    let dir = tests_dir().join("programs").join("races");
    let repo = tests_dir()
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    labels_of(name)
        .hbgrind_options
        .into_iter()
        .map(|option| {
            if let Some(file) = option
                .strip_prefix("--lock-model=")
                .filter(|f| !f.starts_with('/'))
            {
                format!("--lock-model={}", dir.join(file).display())
            } else if let Some(file) = option
                .strip_prefix("--suppressions=")
                .filter(|f| !f.starts_with('/'))
            {
                format!("--suppressions={}", repo.join(file).display())
            } else {
                option
            }
        })
        .collect()
}

fn check_labelled(name: &str) {
    let options = labelled_options(name);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let (log, text) = run_race_program(name, &options);
    let problems = compare_with_labels(name, &log);
    assert!(
        problems.is_empty(),
        "{name}: {}\nlog (last lines):\n{}",
        problems.join("\n"),
        tail(&text, 80)
    );
}

/// One test per program of `tests/programs/races/`, named after it, and a
/// test that the list is the directory's.
macro_rules! labelled_programs {
    ($($name:ident),* $(,)?) => {
        mod labelled {
            $(
                #[test]
                fn $name() {
                    super::check_labelled(concat!(stringify!($name), ".c"));
                }
            )*
        }

        #[test]
        fn every_race_program_has_a_test() {
            let mut listed = vec![$(concat!(stringify!($name), ".c").to_string()),*];
            listed.sort();
            assert_eq!(listed, race_programs(), "update labelled_programs! in race_reports.rs");
        }
    };
}

labelled_programs!(
    adjacent_bytes,
    annotate_benign_race,
    annotate_happens_before,
    annotate_rwlock,
    atomic_acquire_release,
    atomic_acquire_release_rmw,
    atomic_builtin_counter,
    atomic_cas_spinlock,
    atomic_load_before_first_rmw,
    atomic_mixed_size_race,
    atomic_plain_increment_race,
    atomic_relaxed_publication,
    atomic_seq_cst,
    atomic_seq_cst_store_fence,
    atomic_vs_plain,
    barrier_phases,
    barrier_write_after,
    bitfield_same_byte,
    c11_atomic_struct_field,
    c11_atomic_struct_field_racy,
    c11_cas_stack_counter,
    c11_fence_message_passing,
    c11_message_passing,
    c11_declared_atomic_flag,
    c11_declared_atomic_flag_racy,
    c11_message_passing_racy,
    c11_refcount,
    c11_refcount_relaxed_racy,
    c11_seq_cst_dekker,
    c11_spinlock_flag,
    c11_spinlock_flag_racy,
    condvar_broadcast,
    condvar_handoff,
    condvar_queue,
    condvar_timedwait,
    condvar_write_after_signal,
    counter_unlocked,
    create_join_chain,
    create_join_siblings,
    custom_channel,
    custom_channel_racy,
    custom_lock,
    custom_lock_operands,
    custom_lock_racy,
    deep_call_chain,
    detach_race,
    detach_sem_handoff,
    drd_happens_before,
    drd_ignore_reads_writes,
    futex_event,
    futex_event_racy,
    futex_mutex,
    futex_mutex_racy,
    futex_semaphore,
    futex_semaphore_racy,
    futex_wake_op,
    gather_race,
    glib_async_queue_once,
    glib_atomic_flag,
    glib_bit_lock,
    glib_cond_flag,
    glib_mutex_counter,
    glib_mutex_racy,
    glib_queue,
    glib_queue_racy,
    glib_rec_mutex,
    glib_thread_pool,
    global_read_after_join,
    global_read_read,
    global_write_after_create,
    global_write_write,
    global_written_before_create,
    heap_aligned_race,
    heap_free_in_other_thread,
    heap_handoff_join,
    heap_realloc_race,
    heap_reuse_after_free,
    heap_unlocked,
    hg_clean_memory,
    hg_disable_checking,
    hg_enable_checking,
    join_grandchild,
    join_wrong_thread,
    lazy_init_double_checked_racy,
    libc_caller_buffer_race,
    libc_file_shared,
    libc_file_shared_racy,
    libc_lazy_init,
    libc_localtime_threads,
    lockorder_consistent,
    lockorder_rwlock,
    lockorder_three_locks,
    lockorder_trylock_no_cycle,
    lockorder_two_locks,
    lockorder_two_threads,
    memcpy_disjoint,
    memcpy_race,
    memset_large_race,
    memset_race,
    mutex_counter,
    mutex_different_locks,
    mutex_one_side,
    mutex_recursive,
    mutex_timedlock,
    mutex_trylock,
    peterson_lock,
    peterson_lock_racy,
    plain_flag_publication_race,
    pthread_exit_value,
    pthread_once_init,
    pthread_once_write_outside,
    qemu_bh_list,
    qemu_bh_list_racy,
    qemu_rcu,
    qemu_rcu_racy,
    qemu_runstate_unlocked_racy,
    race_in_helper_function,
    rcu_reader_updater,
    rcu_update_in_place_racy,
    readonly_made_writable,
    rwlock_reader_vs_unlocked_writer,
    rwlock_readers_writer,
    rwlock_timed,
    rwlock_try,
    sem_as_mutex,
    sem_post_wait,
    sem_timedwait,
    sem_trywait,
    sem_write_after_post,
    seqlock_atomic,
    seqlock_outside_race,
    seqlock_racy,
    size_byte_in_word,
    size_disjoint_halves,
    size_overlap_upper_half,
    size_unaligned_overlap,
    spin_lock,
    spin_lock_one_side,
    spin_trylock,
    stack_passed_joined,
    stack_passed_to_thread,
    struct_adjacent_fields,
    struct_same_field,
    thread_local,
    thread_local_address_shared,
    thread_reuse_detached_malloc,
    thread_reuse_detached_stack_racy,
    thread_reuse_detached_tls,
    thread_reuse_join_other,
    thread_reuse_tls_escaped_race,
    thread_stack_reuse,
    treiber_stack,
    treiber_stack_racy,
    two_races_two_functions,
    unlock_unlocked,
    work_queue_pool,
);

// ---------------------------------------------------------------------------
// What the labels do not say.

/// `--futex-sync=no` turns the futex rule off: futex_wake_op.c is ordered
/// only by the kernel's FUTEX_WAKE_OP, and without the rule hbgrind is as
/// blind to it as ThreadSanitizer (the program's `tsan-expect` race).
#[test]
fn futex_sync_no_turns_the_futex_rule_off() {
    let name = "futex_wake_op.c";
    let (log, text) = run_race_program(name, &["--futex-sync=no"]);
    let labels = labels_of(name);
    let difference = describe_difference(labels.for_tsan(), &log.findings());
    assert!(
        difference.is_empty(),
        "{name} with --futex-sync=no:\n{difference}\n{}",
        tail(&text, 60)
    );
}

/// The one error of a program labelled with one finding, checked first
/// against the labels.
fn only_error(name: &str) -> (ErrorBlock, HelgrindLog) {
    let (log, text) = run_race_program(name, &[]);
    let problems = compare_with_labels(name, &log);
    assert!(
        problems.is_empty() && log.errors.len() == 1,
        "{name}: {}\n{}",
        problems.join("\n"),
        tail(&text, 80)
    );
    (log.errors[0].clone(), log)
}

/// `function (file:line)` of the frames of `frames` in `program`.
fn own_frames(program: &str, frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| {
            f.source
                .as_ref()
                .is_some_and(|(file, _)| file.rsplit('/').next() == Some(program))
        })
        .map(Frame::describe)
        .collect()
}

/// The address in `Possible data race during … at 0xADDR by thread #N`.
fn race_address(error: &ErrorBlock) -> u64 {
    let header = error.title().header.trim();
    let hex = header
        .split(" at 0x")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no address in {header:?}"));
    u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad address in {header:?}"))
}

#[test]
fn race_stacks_show_every_frame_of_both_sides() {
    let (error, _) = only_error("deep_call_chain.c");
    let current = error.title();
    let prior = error
        .section("This conflicts with a previous")
        .expect("checked by only_error");
    let chain = |caller: &str| {
        vec![
            "level3 (deep_call_chain.c:13)".to_string(),
            "level2 (deep_call_chain.c:19)".to_string(),
            "level1 (deep_call_chain.c:25)".to_string(),
            caller.to_string(),
        ]
    };
    let mut stacks = [
        own_frames("deep_call_chain.c", &current.frames),
        own_frames("deep_call_chain.c", &prior.frames),
    ];
    stacks.sort();
    assert_eq!(
        stacks,
        [
            chain("main (deep_call_chain.c:40)"),
            chain("worker (deep_call_chain.c:32)")
        ],
        "{}",
        error.text()
    );
    // main's stack ends at main, as Valgrind's do (--show-below-main=no).
    let main_side = [current, prior]
        .into_iter()
        .find(|side| {
            own_frames("deep_call_chain.c", &side.frames).last()
                == Some(&"main (deep_call_chain.c:40)".to_string())
        })
        .expect("checked above");
    assert_eq!(
        main_side.frames.last().map(Frame::describe).as_deref(),
        Some("main (deep_call_chain.c:40)"),
        "{}",
        error.text()
    );
    // The innermost frame is the racing instruction's own, at its line.
    for side in [current, prior] {
        assert_eq!(
            side.frames[0].describe(),
            "level3 (deep_call_chain.c:13)",
            "{}",
            error.text()
        );
    }
}

#[test]
fn threads_are_announced_with_their_creation_stack() {
    let (error, log) = only_error("counter_unlocked.c");
    let lines = &log.tool_lines;
    let root = lines
        .iter()
        .position(|l| l == "Thread #1 is the program's root thread");
    let created = lines.iter().position(|l| l == "Thread #2 was created");
    let (Some(root), Some(created)) = (root, created) else {
        panic!("thread announcements missing:\n{}", lines.join("\n"));
    };
    let first_error = lines
        .iter()
        .position(|l| l.starts_with("Possible data race"))
        .expect("the race");
    assert!(
        root < first_error && created < first_error,
        "threads are announced before the first error that names them"
    );
    let frames: Vec<Frame> = lines[created + 1..]
        .iter()
        .map_while(|l| parse_frame(l))
        .collect();
    assert_eq!(
        own_loc("counter_unlocked.c", &frames).to_string(),
        "counter_unlocked.c:20",
        "thread #2's creation stack:\n{}",
        lines[created..].join("\n")
    );
    assert!(error.title().notes.iter().any(|n| n == "Locks held: none"));
}

/// A heap race and how its address must be described.
struct HeapCase {
    name: &'static str,
    /// A line of one side of the race, to find its report.
    race_line: u32,
    offset: u64,
    size: u64,
    /// The names accepted for the allocation stack's first frame.
    alloc_fns: &'static [&'static str],
    /// The line of the allocating call.
    alloc_line: u32,
}

impl HeapCase {
    const fn new(
        name: &'static str,
        race_line: u32,
        offset: u64,
        size: u64,
        alloc_fns: &'static [&'static str],
        alloc_line: u32,
    ) -> HeapCase {
        HeapCase {
            name,
            race_line,
            offset,
            size,
            alloc_fns,
            alloc_line,
        }
    }
}

#[test]
fn heap_races_describe_the_block_and_its_allocation() {
    // glibc's aligned_alloc is an alias of memalign, so that is its name.
    let cases = [
        HeapCase::new("heap_unlocked.c", 11, 12, 32, &["calloc"], 18),
        HeapCase::new("heap_realloc_race.c", 15, 160, 256, &["realloc"], 24),
        HeapCase::new(
            "heap_aligned_race.c",
            20,
            12,
            128,
            &["aligned_alloc", "memalign"],
            30,
        ),
        HeapCase::new("heap_aligned_race.c", 21, 80, 512, &["posix_memalign"], 31),
    ];
    let mut logs: BTreeMap<&str, HelgrindLog> = BTreeMap::new();
    for case in cases {
        let HeapCase {
            name,
            race_line,
            offset,
            size,
            alloc_fns,
            alloc_line,
        } = case;
        let log = logs.entry(name).or_insert_with(|| {
            let (log, text) = run_race_program(name, &[]);
            let problems = compare_with_labels(name, &log);
            assert!(
                problems.is_empty(),
                "{name}: {}\n{}",
                problems.join("\n"),
                tail(&text, 80)
            );
            log
        });
        let marker = format!(" {name}:{race_line}");
        let error = log
            .errors
            .iter()
            .find(|e| e.finding.to_string().contains(&marker))
            .unwrap_or_else(|| panic!("{name}: no race at line {race_line}"));
        let addr = race_address(error);
        let description = error
            .section("Address 0x")
            .unwrap_or_else(|| panic!("{name}: no address description:\n{}", error.text()));
        assert_eq!(
            description.header,
            format!(" Address 0x{addr:x} is {offset} bytes inside a block of size {size} alloc'd"),
            "{name}"
        );
        let first = description
            .frames
            .first()
            .unwrap_or_else(|| panic!("{name}: no allocation stack:\n{}", error.text()));
        // Without `@VERSION` and glibc's `__` prefixes (`__libc_calloc`).
        let function = first.function.split('@').next().unwrap_or_default();
        assert!(
            alloc_fns
                .iter()
                .any(|f| function == *f || function.ends_with(&format!("_{f}"))),
            "{name}: the allocation stack starts in {}, not {alloc_fns:?}",
            first.describe()
        );
        assert_eq!(
            description.own_loc(name).line,
            alloc_line,
            "{name}: allocation site\n{}",
            error.text()
        );
        assert!(
            error.section("Block was alloc'd by thread #1").is_some(),
            "{name}:\n{}",
            error.text()
        );
    }
}

#[test]
fn global_races_name_the_variable_and_its_declaration() {
    for (name, variable, offset, declared) in [
        ("counter_unlocked.c", "counter", 0, 7),
        ("hg_clean_memory.c", "kept", 20, 16),
    ] {
        let (error, _) = only_error(name);
        let addr = race_address(&error);
        let lines: Vec<&str> = error.sections.iter().map(|s| s.header.as_str()).collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with(" Location 0x"))
            .unwrap_or_else(|| panic!("{name}: no variable description:\n{}", error.text()));
        assert_eq!(
            lines[at..].iter().take(2).copied().collect::<Vec<_>>(),
            [
                format!(" Location 0x{addr:x} is {offset} bytes inside global var \"{variable}\""),
                format!(" declared at {name}:{declared}")
            ],
            "{name}"
        );
    }
}

#[test]
fn stack_races_name_the_thread_whose_stack_it_is() {
    let (error, _) = only_error("stack_passed_to_thread.c");
    let addr = race_address(&error);
    assert!(
        error
            .section(&format!("Address 0x{addr:x} is on thread #1's stack"))
            .is_some(),
        "{}",
        error.text()
    );
}

#[test]
fn reports_go_to_stderr_without_a_log_file() {
    let name = "two_races_two_functions.c";
    let program = build_race_program(name, &[]);
    let native = program.command().native();
    let run = program.command().under_hbgrind(&[]);
    assert_eq!(
        (&run.stdout, run.status_text()),
        (&native.stdout, native.status_text())
    );
    assert_eq!(run.stderr_without_tool_lines(), native.stderr);
    let log = parse_log(name, &run.stderr_text());
    let problems = compare_with_labels(name, &log);
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        tail(&run.stderr_text(), 80)
    );
}

#[test]
fn helgrind_and_drd_are_names_of_the_race_tool() {
    for name in ["two_races_two_functions.c", "lockorder_two_locks.c"] {
        for tool in ["--tool=helgrind", "--tool=drd", "--tool=race"] {
            let (log, text) = run_race_program(name, &[tool]);
            let problems = compare_with_labels(name, &log);
            assert!(
                problems.is_empty(),
                "{name} {tool}: {}\n{}",
                problems.join("\n"),
                tail(&text, 60)
            );
        }
    }
}

#[test]
fn error_exitcode_applies_only_when_errors_were_found() {
    for (name, racy) in [("counter_unlocked.c", true), ("mutex_counter.c", false)] {
        let program = build_race_program(name, &[]);
        let native = program.command().native();
        let dir = scratch_dir(&format!(
            "race_reports_exitcode_{}",
            name.trim_end_matches(".c")
        ));
        let logged = run_logged(&program.command(), &dir, &["--error-exitcode=42"]);
        assert_eq!(logged.output.stdout, native.stdout, "{name}");
        let expected = if racy { Some(42) } else { native.status.code() };
        assert_eq!(
            logged.output.status.code(),
            expected,
            "{name}: {}\n{}",
            logged.output.status_text(),
            tail(&logged.log, 40)
        );
    }
}

#[test]
fn error_exitcode_replaces_an_exit_status_but_not_a_death_by_signal() {
    let program = build_in("client", "race_then_abort.c", &[]);
    let dir = scratch_dir("race_reports_exitcode_signal");
    // exit(130) is a status like any other: --error-exitcode replaces it.
    let exits = program.command().arg("exit130");
    assert_eq!(exits.native().status.code(), Some(130));
    let logged = run_logged(&exits, &dir, &["--error-exitcode=42"]);
    assert_eq!(
        logged.output.status.code(),
        Some(42),
        "{}",
        tail(&logged.log, 30)
    );
    // abort(): the process still dies of SIGABRT, errors or not.
    let logged = run_logged(&program.command(), &dir, &["--error-exitcode=42"]);
    assert_eq!(
        (logged.output.status.code(), logged.output.status.signal()),
        (None, Some(6)),
        "{}",
        tail(&logged.log, 30)
    );
}

// ---------------------------------------------------------------------------
// XML.

/// `file:line` of the innermost frame of `stack` in `program`.
fn xml_own_line(program: &str, stack: &Element) -> Option<String> {
    stack.all("frame").find_map(|f| {
        let file = f.text_of("file")?;
        (file.rsplit('/').next() == Some(program))
            .then(|| format!("{program}:{}", f.text_of("line").unwrap_or("?")))
    })
}

#[test]
fn xml_output_parses_and_holds_the_race() {
    let name = "counter_unlocked.c";
    let program = build_race_program(name, &[]);
    let dir = scratch_dir("race_reports_xml");
    let xml_path = dir.join("out.xml");
    let native = program.command().native();
    let run = program
        .command()
        .under_hbgrind(&["--xml=yes", &format!("--xml-file={}", xml_path.display())]);
    assert_eq!(
        (&run.stdout, run.status_text()),
        (&native.stdout, native.status_text())
    );
    let text = std::fs::read_to_string(&xml_path)
        .unwrap_or_else(|err| panic!("{}: {err}\n{}", xml_path.display(), run.stderr_text()));
    assert!(
        text.starts_with("<?xml version=\"1.0\"?>"),
        "{}",
        tail(&text, 20)
    );
    let root = parse_xml(&text).unwrap_or_else(|err| panic!("not well-formed: {err}\n{text}"));
    assert_eq!(root.name, "valgrindoutput");
    assert_eq!(root.text_of("protocolversion"), Some("4"));
    assert_eq!(root.text_of("protocoltool"), Some("helgrind"));
    let errors: Vec<&Element> = root.all("error").collect();
    assert_eq!(errors.len(), 1, "{text}");
    let error = errors[0];
    assert_eq!(error.text_of("kind"), Some("Race"));
    let what = error
        .child("xwhat")
        .and_then(|w| w.text_of("text"))
        .unwrap_or_default();
    assert!(
        what.starts_with("Possible data race during read of size 4 at 0x")
            || what.starts_with("Possible data race during write of size 4 at 0x"),
        "{what}"
    );
    let prior = error
        .child("xauxwhat")
        .and_then(|w| w.text_of("text"))
        .unwrap_or_default();
    assert!(
        prior.starts_with("This conflicts with a previous "),
        "{prior:?}"
    );
    let stacks: Vec<&Element> = error.all("stack").collect();
    assert_eq!(stacks.len(), 2, "both sides have a stack:\n{text}");
    let mut lines: Vec<Option<String>> = stacks.iter().map(|s| xml_own_line(name, s)).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            Some("counter_unlocked.c:13".to_string()),
            Some("counter_unlocked.c:21".to_string())
        ]
    );
    // The side that is read is main's, at line 21.
    let read_line = if what.contains(" read ") {
        &stacks[0]
    } else {
        &stacks[1]
    };
    assert_eq!(
        xml_own_line(name, read_line).as_deref(),
        Some("counter_unlocked.c:21")
    );
    let counts = root.child("errorcounts").expect("<errorcounts>");
    let pairs: Vec<(&str, &str)> = counts
        .all("pair")
        .map(|p| {
            (
                p.text_of("count").unwrap_or(""),
                p.text_of("unique").unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 1, "{text}");
    assert_eq!(Some(pairs[0].1), error.text_of("unique"));
    let states: Vec<&str> = root
        .all("status")
        .filter_map(|s| s.text_of("state"))
        .collect();
    assert_eq!(states, ["RUNNING", "FINISHED"]);
}

#[test]
fn reports_are_complete_when_the_program_dies_of_a_signal() {
    let name = "race_then_abort.c";
    let program = build_in("client", name, &[]);
    let native = program.command().native();
    assert_eq!(
        (native.stdout_text(), native.status.signal()),
        ("about to abort\n".to_string(), Some(6))
    );
    let dir = scratch_dir("race_reports_abort");
    // Text: the race, then the ERROR SUMMARY, then death by the same signal.
    let logged = run_logged(&program.command(), &dir, &[]);
    assert_eq!(
        (&logged.output.stdout, logged.output.status_text()),
        (&native.stdout, native.status_text())
    );
    let log = parse_log(name, &logged.log);
    assert_eq!(
        (log.errors.len(), log.summary.map(|s| s.contexts)),
        (1, Some(1)),
        "{}",
        logged.log
    );
    // XML: a whole document with the race.
    let xml_path = dir.join("out.xml");
    let run = program
        .command()
        .under_hbgrind(&["--xml=yes", &format!("--xml-file={}", xml_path.display())]);
    assert_eq!(
        (&run.stdout, run.status_text()),
        (&native.stdout, native.status_text())
    );
    let text = std::fs::read_to_string(&xml_path)
        .unwrap_or_else(|err| panic!("{}: {err}", xml_path.display()));
    let root = parse_xml(&text).unwrap_or_else(|err| panic!("not well-formed: {err}\n{text}"));
    let kinds: Vec<&str> = root
        .all("error")
        .filter_map(|e| e.text_of("kind"))
        .collect();
    assert_eq!(kinds, ["Race"], "{text}");
    assert!(root.child("errorcounts").is_some(), "{text}");
}

// ---------------------------------------------------------------------------
// Suppressions.

#[test]
fn a_generated_suppression_suppresses_exactly_its_race() {
    let name = "two_races_two_functions.c";
    let program = build_race_program(name, &[]);
    let dir = scratch_dir("race_reports_gen_suppressions");
    let native = program.command().native();
    let generated = run_logged(&program.command(), &dir, &["--gen-suppressions=all"]);
    assert_eq!(generated.output.stdout, native.stdout);
    let log = parse_log(name, &generated.log);
    let problems = compare_with_labels(name, &log);
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        generated.log
    );
    let is_width = |e: &ErrorBlock| {
        e.finding
            .to_string()
            .contains(" two_races_two_functions.c:17")
    };
    let width = log.errors.iter().find(|e| is_width(e)).expect("width race");
    let height = log
        .errors
        .iter()
        .find(|e| !is_width(e))
        .expect("height race");
    let entry = width
        .suppression
        .as_deref()
        .unwrap_or_else(|| panic!("no suppression after the error:\n{}", generated.log));
    assert!(
        entry.starts_with("{\n   <insert_a_suppression_name_here>\n   Helgrind:Race\n   fun:"),
        "{entry}"
    );
    assert!(
        height.suppression.is_some(),
        "--gen-suppressions=all: one per error"
    );
    let supp_path = dir.join("width.supp");
    std::fs::write(
        &supp_path,
        entry.replace("<insert_a_suppression_name_here>", "width-race"),
    )
    .expect("writable");

    let suppressed = run_logged(
        &program.command(),
        &dir,
        &["-v", &format!("--suppressions={}", supp_path.display())],
    );
    assert_eq!(suppressed.output.stdout, native.stdout);
    let again = parse_log(name, &suppressed.log);
    assert_eq!(
        again.findings(),
        Findings::from([height.finding.clone()]),
        "only the height race is left:\n{}",
        suppressed.log
    );
    assert_eq!(again.errors.len(), 1);
    let summary = again.summary.expect("ERROR SUMMARY");
    // The default suppressions may hide glibc's own doings as well.
    assert!(
        summary.contexts == 1 && summary.suppressed_contexts >= 1,
        "{}",
        suppressed.log
    );
    let used: Vec<_> = again
        .used_suppressions
        .iter()
        .filter(|u| u.name == "width-race")
        .collect();
    assert_eq!(
        used.len(),
        1,
        "-v lists the used suppression:\n{}",
        suppressed.log
    );
    // Each racing line runs once: one occurrence suppressed.
    assert_eq!(used[0].count, 1);
    assert_eq!(used[0].location, format!("{}:2", supp_path.display()));
}

#[test]
fn a_malformed_suppression_file_is_refused_before_the_program_runs() {
    let name = "counter_unlocked.c";
    let program = build_race_program(name, &[]);
    let dir = scratch_dir("race_reports_bad_suppressions");
    let supp_path = dir.join("bad.supp");
    std::fs::write(
        &supp_path,
        "{\n   fine so far\n   Helgrind:Race\n   fun:main\n   bogus-frame-line\n}\n",
    )
    .expect("writable");
    let run = program
        .command()
        .under_hbgrind(&[&format!("--suppressions={}", supp_path.display())]);
    let stderr = run.stderr_text();
    assert!(!run.status.success(), "{}", run.status_text());
    assert!(
        run.stdout.is_empty(),
        "the program ran: {:?}",
        run.stdout_text()
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with("hbgrind: ")
            && stderr.contains(&format!("{}:5: ", supp_path.display()))
            && stderr.contains("bogus-frame-line"),
        "names file:line and the culprit: {stderr:?}"
    );
}

/// The suppression files of `suppressions/`.
fn default_suppression_files() -> Vec<PathBuf> {
    let dir = tests_dir().join("..").join("suppressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "supp"))
        .collect();
    files.sort();
    files
}

#[test]
fn default_suppression_files_parse_and_hold_entries() {
    let files = default_suppression_files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in ["glibc.supp", "ld.so.supp"] {
        assert!(
            names.iter().any(|n| n == wanted),
            "suppressions/{wanted} missing"
        );
    }
    for path in &files {
        let mut set = hbgrind_report::SuppressionSet::new();
        let added = set.load_file(path).unwrap_or_else(|err| panic!("{err}"));
        // default.supp is the runtime's embedded set and may be empty.
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        assert!(
            added > 0 || name == "default.supp",
            "{} holds no suppression",
            path.display()
        );
        let text = std::fs::read_to_string(path).expect("readable");
        let mut seen = std::collections::BTreeSet::new();
        for s in set.suppressions() {
            assert!(
                seen.insert(s.name.clone()),
                "{}: two suppressions named {:?}",
                path.display(),
                s.name
            );
        }
        assert!(
            text.starts_with('#'),
            "{} opens with a comment saying what it is for",
            path.display()
        );
    }
}

#[test]
fn default_suppressions_are_accepted_by_hbgrind_and_change_nothing_on_a_clean_program() {
    let name = "mutex_counter.c";
    let program = build_race_program(name, &[]);
    let native = program.command().native();
    let dir = scratch_dir("race_reports_default_suppressions");
    let mut options: Vec<String> = default_suppression_files()
        .iter()
        .map(|p| format!("--suppressions={}", p.display()))
        .collect();
    options.push("--default-suppressions=no".into());
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let logged = run_logged(&program.command(), &dir, &options);
    assert_same(&native, &logged.output);
    let log = parse_log(name, &logged.log);
    assert!(compare_with_labels(name, &log).is_empty(), "{}", logged.log);
}

// ---------------------------------------------------------------------------
// Real programs: zero reports, byte-identical output.

/// About 2 MB of compressible text (repeated words, numbers), generated once:
/// enough for several blocks per thread in each compressor, small enough that
/// xz (the slowest, 45x under the race tool on 2026-11-25) stays near a minute.
fn compressible_input() -> PathBuf {
    cached_file("race-reports-input-2MB-v1.txt", |path| {
        let words = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
            "juliet", "kilo", "lima",
        ];
        let mut rng = Rng::new(5);
        let mut text = String::with_capacity(2 << 20);
        while text.len() < 2 << 20 {
            let w = words[rng.below(words.len() as u64) as usize];
            let n = rng.below(100_000);
            text.push_str(&format!("{w} {n} {}\n", words[(n % 12) as usize]));
        }
        std::fs::write(path, text).expect("input writable");
    })
}

/// The path of `program` on `PATH`, or why the test is skipped.
fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        println!("skipped: {program} is not installed (apt-get install {program})");
    }
    found
}

/// Compresses the input with `compress` and decompresses the native result
/// with `decompress`, each natively and under hbgrind: same bytes, same
/// status, and no report.
fn check_compressor(tool: &str, compress: &[&str], decompress: &[&str]) {
    let Some(binary) = installed(tool) else {
        return;
    };
    let input = std::fs::read(compressible_input()).expect("input readable");
    let dir = scratch_dir(&format!("race_reports_{tool}"));
    let compress_run = Run::new(&binary).args(compress).stdin(input.clone());
    let native = compress_run.native();
    assert!(native.status.success(), "{}", native.stderr_text());
    for (what, run) in [
        ("compress", compress_run),
        (
            "decompress",
            Run::new(&binary)
                .args(decompress)
                .stdin(native.stdout.clone()),
        ),
    ] {
        let expected = run.native();
        let logged = run_logged(&run, &dir, &[]);
        assert_same(&expected, &logged.output);
        if what == "decompress" {
            assert!(
                expected.stdout == input,
                "{tool}: the round trip changed the data"
            );
        }
        let log = parse_log(tool, &logged.log);
        let summary = log.summary.unwrap_or_else(|| {
            panic!(
                "{tool} {what}: no ERROR SUMMARY:\n{}",
                tail(&logged.log, 40)
            )
        });
        assert_eq!(
            (summary.errors, summary.contexts, log.errors.len()),
            (0, 0, 0),
            "{tool} {what}: reports on a correct program:\n{}",
            tail(&logged.log, 120)
        );
    }
}

#[test]
fn pigz_two_threads_reports_nothing() {
    check_compressor("pigz", &["-p", "2", "-n", "-c"], &["-p", "2", "-d", "-c"]);
}

#[test]
fn xz_two_threads_reports_nothing() {
    check_compressor(
        "xz",
        &["-T2", "--block-size=512KiB", "-c"],
        &["-T2", "-d", "-c"],
    );
}

#[test]
fn zstd_two_threads_reports_nothing() {
    check_compressor(
        "zstd",
        &["-T2", "-B524288", "-q", "-c"],
        &["-T2", "-d", "-q", "-c"],
    );
}

#[test]
fn a_seeded_run_names_its_seed_and_repeats_its_reports() {
    let run = || run_race_program("counter_unlocked.c", &["--sched-seed=11"]);
    let (first, text) = run();
    assert!(
        text.contains(
            "Schedule: --sched-seed=11 (the same option repeats this run's thread switches)\n"
        ),
        "{}",
        tail(&text, 20)
    );
    assert!(!first.findings().is_empty(), "{}", tail(&text, 20));
    let (second, _) = run();
    assert_eq!(first.findings(), second.findings());
    assert_eq!(first.summary, second.summary);
}

// ---------------------------------------------------------------------------
// Report files of fork children (issue 16, item 2).

/// The report files in `dir` whose names start with `prefix`, by pid (the
/// `%p` in their names), with their text.
fn files_by_pid(dir: &Path, prefix: &str) -> BTreeMap<u32, String> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("scratch dir readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let pid: u32 = rest
            .split('.')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no pid after {prefix}"));
        found.insert(
            pid,
            std::fs::read_to_string(&path).expect("report readable"),
        );
    }
    found
}

/// Each file in `docs` parses as one XML document about the process its
/// name says; returns (pid, ppid, errors) per file.
fn check_xml_documents(docs: &BTreeMap<u32, String>, stderr: &str) -> Vec<(u32, u32, usize)> {
    docs.iter()
        .map(|(&pid, text)| {
            let root = parse_xml(text)
                .unwrap_or_else(|err| panic!("x.{pid}.xml: {err}\n{text}\nstderr:\n{stderr}"));
            assert_eq!(root.name, "valgrindoutput", "x.{pid}.xml");
            let number = |name: &str| -> u32 {
                root.text_of(name)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or_else(|| panic!("x.{pid}.xml: no <{name}>"))
            };
            assert_eq!(number("pid"), pid, "x.{pid}.xml is about another process");
            let states: Vec<&str> = root
                .all("status")
                .filter_map(|s| s.text_of("state"))
                .collect();
            assert_eq!(states, ["RUNNING", "FINISHED"], "x.{pid}.xml");
            (pid, number("ppid"), root.all("error").count())
        })
        .collect()
}

#[test]
fn a_fork_child_writes_its_own_complete_xml_document() {
    let program = hbgrind_tests::Program::build("fork_reports.c");
    let dir = scratch_dir("race_reports_fork_xml");
    let native = program.command().native();
    let run = program.command().under_hbgrind(&[
        "--xml=yes",
        &format!("--xml-file={}/x.%p.xml", dir.display()),
    ]);
    assert_eq!(
        (run.stdout_text(), run.status_text()),
        (native.stdout_text(), native.status_text())
    );
    let docs = files_by_pid(&dir, "x.");
    let facts = check_xml_documents(&docs, &run.stderr_text());
    // Two processes, each with its own race; the child's parent is the other.
    assert_eq!(facts.len(), 2, "one file per process: {facts:?}");
    let (parent, child) = if facts[0].0 == facts[1].1 {
        (facts[0], facts[1])
    } else {
        (facts[1], facts[0])
    };
    assert_eq!(
        child.1, parent.0,
        "the child's <ppid> is the parent: {facts:?}"
    );
    assert_eq!((parent.2, child.2), (1, 1), "one race each: {facts:?}");
}

#[test]
fn a_fork_child_writes_its_own_log_file() {
    let program = hbgrind_tests::Program::build("fork_reports.c");
    let dir = scratch_dir("race_reports_fork_log");
    let run = program
        .command()
        .under_hbgrind(&[&format!("--log-file={}/x.%p.log", dir.display())]);
    assert!(run.status.success(), "{}", run.stderr_text());
    let logs = files_by_pid(&dir, "x.");
    assert_eq!(logs.len(), 2, "one log per process: {:?}", logs.keys());
    for (pid, text) in &logs {
        let prefix = format!("=={pid}== ");
        assert!(
            text.lines().all(|l| l.starts_with(&prefix)),
            "x.{pid}.log has lines of another process:\n{text}"
        );
        assert!(
            text.starts_with(&format!("{prefix}hbgrind-")),
            "x.{pid}.log lacks the preamble:\n{text}"
        );
        assert!(
            text.contains("ERROR SUMMARY: 1 errors from 1 contexts"),
            "x.{pid}.log:\n{text}"
        );
    }
}

#[test]
fn shell_children_that_exec_leave_complete_xml_documents() {
    // bash forks a child per command, which then execs untraced (or fails
    // to exec, for /nonexistent): every process's file is a whole document.
    let dir = scratch_dir("race_reports_fork_bash");
    let run = Run::new("bash")
        .args(["-c", "seq 3 | sort -r; /nonexistent/command; true"])
        .under_hbgrind(&[
            "--xml=yes",
            &format!("--xml-file={}/x.%p.xml", dir.display()),
        ]);
    assert_eq!(
        (run.stdout_text(), run.status_text()),
        ("3\n2\n1\n".to_string(), "exit 0".to_string()),
        "{}",
        run.stderr_text()
    );
    let docs = files_by_pid(&dir, "x.");
    let facts = check_xml_documents(&docs, &run.stderr_text());
    // bash itself and its three children.
    assert_eq!(facts.len(), 4, "one file per process: {facts:?}");
}

#[test]
fn a_failed_exec_keeps_the_xml_document_going() {
    let program = hbgrind_tests::Program::build("fork_reports.c");
    let dir = scratch_dir("race_reports_exec_fails");
    let run = program.run(["exec-fails"]).under_hbgrind(&[
        "--xml=yes",
        &format!("--xml-file={}/x.%p.xml", dir.display()),
    ]);
    assert_eq!(run.stdout_text(), "exec failed, went on\n");
    let docs = files_by_pid(&dir, "x.");
    let facts = check_xml_documents(&docs, &run.stderr_text());
    assert_eq!(facts.len(), 1, "{facts:?}");
    assert_eq!(facts[0].2, 1, "the race after the failed exec: {facts:?}");
}

#[test]
fn a_fork_child_sharing_the_xml_file_leaves_the_parents_document_whole() {
    // No %p: the child must not write a second document into the file; its
    // race goes to its text log instead.
    let program = hbgrind_tests::Program::build("fork_reports.c");
    let dir = scratch_dir("race_reports_fork_shared_xml");
    let path = dir.join("x.xml");
    let run = program
        .command()
        .under_hbgrind(&["--xml=yes", &format!("--xml-file={}", path.display())]);
    assert!(run.status.success(), "{}", run.stderr_text());
    let text = std::fs::read_to_string(&path).expect("the XML file");
    let root = parse_xml(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    assert_eq!(
        root.all("error").count(),
        1,
        "the parent's race only:\n{text}"
    );
    let stderr = run.stderr_text();
    assert!(
        stderr.contains("shares its parent's XML output")
            && stderr.contains("Possible data race during write of size 4"),
        "the child's race in its text log:\n{stderr}"
    );
}
