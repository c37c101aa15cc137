//! Engine behaviour, one rule per test, written as event traces.

use hb_engine::trace::{parse, replay};
use hb_engine::{AccessKind, Engine, EngineConfig, Report, ThreadId};

/// Replays `trace` and renders every report on one line each:
/// `race ADDR+LEN KIND THREAD sSITE / KIND THREAD sSITE`,
/// `lock-order THREAD FIRST->SECOND (required: A->B ...)`, `misuse KIND THREAD ADDR`.
fn run(trace: &str, every_conflict: bool) -> Vec<String> {
    let events = parse(trace).expect("test traces parse");
    let mut engine = Engine::new(EngineConfig {
        report_every_conflict: every_conflict,
        ..Default::default()
    });
    replay(&mut engine, &events).expect("test traces replay");
    engine.take_reports().iter().map(render).collect()
}

fn render(report: &Report) -> String {
    let kind = |k: AccessKind, atomic: bool| {
        let k = if k == AccessKind::Read { "rd" } else { "wr" };
        if atomic {
            format!("a{k}")
        } else {
            k.to_string()
        }
    };
    match report {
        Report::Race(r) => format!(
            "race {:#x}+{} {} {} s{} / {} {} s{}",
            r.racy_addr,
            r.racy_len,
            kind(r.current.kind, r.current.atomic),
            r.current.thread,
            r.current.site,
            kind(r.prior.kind, r.prior.atomic),
            r.prior.thread,
            r.prior.site
        ),
        Report::LockOrder(v) => {
            let required: Vec<String> = v
                .required
                .iter()
                .map(|e| format!("{:#x}->{:#x}", e.first, e.second))
                .collect();
            format!(
                "lock-order {} {:#x}->{:#x} (required: {})",
                v.thread,
                v.observed.first,
                v.observed.second,
                required.join(" ")
            )
        }
        Report::Misuse(m) => format!("misuse {:?} {} {:#x}", m.kind, m.thread, m.object),
    }
}

#[track_caller]
fn check(trace: &str, expected: &[&str]) {
    assert_eq!(run(trace, false), expected, "trace:\n{trace}");
}

#[track_caller]
fn check_all(trace: &str, expected: &[&str]) {
    assert_eq!(run(trace, true), expected, "trace:\n{trace}");
}

#[test]
fn unsynchronised_writes_race() {
    check(
        "T1 create T2\nT1 wr 0x10 4 s1\nT2 wr 0x10 4 s2",
        &["race 0x10+4 wr T2 s2 / wr T1 s1"],
    );
}

#[test]
fn one_thread_never_races_with_itself() {
    check(
        "T1 wr 0x10 4\nT1 rd 0x10 4\nT1 wr 0x10 8\nT1 ast 0x10 8 rlx\nT1 rd 0x10 1",
        &[],
    );
}

#[test]
fn create_orders_parent_before_child_and_join_child_before_parent() {
    check(
        "T1 wr 0x10 4\nT1 create T2\nT2 wr 0x10 4\nT2 exit\nT1 join T2\nT1 rd 0x10 4",
        &[],
    );
}

#[test]
fn parent_after_create_races_with_child() {
    check(
        "T1 create T2\nT1 wr 0x10 4 s1\nT2 rd 0x10 4 s2",
        &["race 0x10+4 rd T2 s2 / wr T1 s1"],
    );
}

#[test]
fn common_mutex_orders_accesses() {
    check(
        "T1 create T2\nT1 lock 0x500\nT1 wr 0x10 4\nT1 unlock 0x500\nT2 lock 0x500\nT2 wr 0x10 4\nT2 unlock 0x500",
        &[],
    );
}

#[test]
fn different_mutexes_do_not_order_and_report_locks_held() {
    let events = parse(
        "T1 create T2\nT1 lock 0x500\nT1 wr 0x10 4 s1\nT1 unlock 0x500\nT2 lock 0x600\nT2 wr 0x10 4 s2\nT2 unlock 0x600",
    )
    .unwrap();
    let mut engine = Engine::default();
    replay(&mut engine, &events).unwrap();
    let reports = engine.take_reports();
    let [Report::Race(race)] = reports.as_slice() else {
        panic!("one race expected, got {reports:?}")
    };
    assert_eq!(race.current.locks_held, Some(vec![0x600]));
    assert_eq!(race.prior.locks_held, Some(vec![0x500]));
    assert_eq!((race.addr, race.size), (0x10, 4));
}

#[test]
fn adjacent_bytes_never_race() {
    check(
        "T1 create T2\nT1 wr 0x10 4\nT2 wr 0x14 4\nT2 wr 0x18 1\nT1 rd 0x19 7\nT1 wr 0xe 2",
        &[],
    );
}

#[test]
fn partial_overlap_reports_only_the_shared_bytes() {
    check_all(
        "T1 create T2\nT1 wr 0x10 8 s1\nT2 rd 0x14 8 s2",
        &["race 0x14+4 rd T2 s2 / wr T1 s1"],
    );
    check_all(
        "T1 create T2\nT1 wr 0x16 4 s1\nT2 wr 0x10 16 s2",
        &[
            "race 0x16+2 wr T2 s2 / wr T1 s1",
            "race 0x18+2 wr T2 s2 / wr T1 s1",
        ],
    );
}

#[test]
fn ranges_of_any_length_are_checked_bytewise() {
    // memcpy-like 100-byte write against a 1-byte read at its end.
    check_all(
        "T1 create T2\nT1 rd 0x1063 1 s1\nT2 wr 0x1000 100 s2",
        &["race 0x1063+1 wr T2 s2 / rd T1 s1"],
    );
    check("T1 create T2\nT1 rd 0x1064 1 s1\nT2 wr 0x1000 100 s2", &[]);
}

#[test]
fn concurrent_reads_do_not_race_but_a_later_write_races_with_them() {
    check_all(
        "T1 create T2\nT1 create T3\nT1 rd 0x10 8 s1\nT2 rd 0x10 8 s2\nT3 rd 0x10 8 s3\nT2 wr 0x10 8 s4",
        &["race 0x10+8 wr T2 s4 / rd T1 s1"],
    );
    // The write is ordered after T1's read by a join, but not after T3's.
    check_all(
        "T1 create T2\nT1 create T3\nT2 rd 0x10 8 s2\nT3 rd 0x10 8 s3\nT2 exit\nT1 join T2\nT1 wr 0x10 8 s4",
        &["race 0x10+8 wr T1 s4 / rd T3 s3"],
    );
}

#[test]
fn read_shared_write_after_join_of_all_readers_is_ordered() {
    check(
        "T1 create T2\nT1 create T3\nT2 rd 0x10 8\nT3 rd 0x10 8\nT1 rd 0x10 8\nT2 exit\nT3 exit\nT1 join T2\nT1 join T3\nT1 wr 0x10 8",
        &[],
    );
}

#[test]
fn release_store_acquire_load_publishes_plain_data() {
    check(
        "T1 create T2\nT1 wr 0x10 4\nT1 ast 0x80 4 rel\nT2 ald 0x80 4 acq\nT2 rd 0x10 4",
        &[],
    );
}

#[test]
fn relaxed_store_does_not_publish() {
    check(
        "T1 create T2\nT1 wr 0x10 4 s1\nT1 ast 0x80 4 rlx\nT2 ald 0x80 4 acq\nT2 rd 0x10 4 s2",
        &["race 0x10+4 rd T2 s2 / wr T1 s1"],
    );
}

#[test]
fn relaxed_load_does_not_acquire_without_a_fence() {
    check(
        "T1 create T2\nT1 wr 0x10 4 s1\nT1 ast 0x80 4 rel\nT2 ald 0x80 4 rlx\nT2 rd 0x10 4 s2",
        &["race 0x10+4 rd T2 s2 / wr T1 s1"],
    );
}

#[test]
fn fences_make_relaxed_accesses_synchronise() {
    check(
        "T1 create T2\nT1 wr 0x10 4\nT1 fence rel\nT1 ast 0x80 4 rlx\nT2 ald 0x80 4 rlx\nT2 fence acq\nT2 rd 0x10 4",
        &[],
    );
}

#[test]
fn atomics_do_not_race_with_atomics_but_do_with_plain_accesses() {
    check(
        "T1 create T2\nT1 ast 0x80 4 rlx\nT2 armw 0x80 4 rlx\nT2 ald 0x80 4 rlx\nT1 ald 0x80 4 rlx",
        &[],
    );
    check(
        "T1 create T2\nT1 ast 0x80 4 rlx s1\nT2 rd 0x80 4 s2",
        &["race 0x80+4 rd T2 s2 / awr T1 s1"],
    );
    check(
        "T1 create T2\nT1 wr 0x80 4 s1\nT2 ald 0x80 4 seq_cst s2",
        &["race 0x80+4 ard T2 s2 / wr T1 s1"],
    );
}

#[test]
fn atomic_write_does_not_hide_an_older_plain_write() {
    // T1's plain write, then its own atomic write; T2's atomic read races
    // with the plain one although the latest write is atomic.
    check(
        "T1 create T2\nT1 wr 0x80 4 s1\nT1 ast 0x80 4 rlx s2\nT2 ald 0x80 4 rlx s3",
        &["race 0x80+4 ard T2 s3 / wr T1 s1"],
    );
}

#[test]
fn concurrent_atomic_writes_both_stay_visible() {
    // T2's plain read is ordered after T2's atomic store but not after T1's.
    check(
        "T1 create T2\nT1 ast 0x80 4 rlx s1\nT2 ast 0x80 4 rlx s2\nT2 rd 0x80 4 s3",
        &["race 0x80+4 rd T2 s3 / awr T1 s1"],
    );
}

#[test]
fn rmw_continues_a_release_sequence() {
    // T1 releases, T3's relaxed RMW continues the sequence, T2 acquires.
    check(
        "T1 create T2\nT1 create T3\nT1 wr 0x10 4\nT1 ast 0x80 4 rel\nT3 armw 0x80 4 rlx\nT2 ald 0x80 4 acq\nT2 rd 0x10 4",
        &[],
    );
    // A relaxed store by T3 ends it.
    check(
        "T1 create T2\nT1 create T3\nT1 wr 0x10 4 s1\nT1 ast 0x80 4 rel\nT3 ast 0x80 4 rlx\nT2 ald 0x80 4 acq\nT2 rd 0x10 4 s2",
        &["race 0x10+4 rd T2 s2 / wr T1 s1"],
    );
}

#[test]
fn rwlock_readers_do_not_synchronise_with_each_other() {
    check(
        "T1 create T2\nT1 rdlock 0x600\nT1 wr 0x10 4 s1\nT1 rwunlock 0x600\nT2 rdlock 0x600\nT2 wr 0x10 4 s2\nT2 rwunlock 0x600",
        &["race 0x10+4 wr T2 s2 / wr T1 s1"],
    );
    check(
        "T1 create T2\nT1 rdlock 0x600\nT1 rd 0x10 4\nT1 rwunlock 0x600\nT2 wrlock 0x600\nT2 wr 0x10 4\nT2 rwunlock 0x600\nT1 rdlock 0x600\nT1 rd 0x10 4",
        &[],
    );
}

#[test]
fn release_acquire_annotations_order_accesses() {
    check(
        "T1 create T2\nT1 wr 0x10 4\nT1 release 0x700\nT2 acquire 0x700\nT2 wr 0x10 4",
        &[],
    );
    check(
        "T1 create T2\nT1 wr 0x10 4 s1\nT2 acquire 0x700\nT1 release 0x700\nT2 wr 0x10 4 s2",
        &["race 0x10+4 wr T2 s2 / wr T1 s1"],
    );
}

#[test]
fn barrier_orders_every_arrival_before_every_departure() {
    check(
        "T1 barrier_init 0x800 2\nT1 create T2\nT1 wr 0x10 4\nT2 wr 0x20 4\nT1 barrier_wait 0x800\nT2 barrier_wait 0x800\nT1 rd 0x20 4\nT2 rd 0x10 4",
        &[],
    );
    check(
        "T1 barrier_wait 0x900",
        &["misuse BarrierUninitialised T1 0x900"],
    );
}

#[test]
fn freed_memory_forgets_its_history() {
    check(
        "T1 create T2\nT1 wr 0x10 16\nT1 free 0x10 16\nT2 alloc 0x10 16\nT2 wr 0x10 16",
        &[],
    );
    check(
        "T1 create T2\nT1 wr 0x10 16 s1\nT1 free 0x10 8\nT2 wr 0x10 16 s2",
        &["race 0x18+8 wr T2 s2 / wr T1 s1"],
    );
}

#[test]
fn ignored_ranges_are_not_checked_until_unignored() {
    check(
        "T1 create T2\nT1 ignore 0x10 4\nT1 wr 0x10 4\nT2 wr 0x10 8 s2\nT1 wr 0x14 1 s1",
        &["race 0x14+1 wr T1 s1 / wr T2 s2"],
    );
    check("T1 create T2\nT1 ignore 0x10 4\nT1 wr 0x10 4\nT1 unignore 0x10 4\nT2 wr 0x10 4 s2\nT1 wr 0x10 4 s1", &["race 0x10+4 wr T1 s1 / wr T2 s2"]);
}

#[test]
fn clean_forgets_accesses_but_keeps_locks() {
    check(
        "T1 create T2\nT1 wr 0x10 4\nT1 clean 0x10 4\nT2 wr 0x10 4",
        &[],
    );
}

#[test]
fn lock_order_inversion_is_reported_once() {
    check(
        "T1 create T2\nT1 lock 0x1 s1\nT1 lock 0x2 s2\nT1 unlock 0x2\nT1 unlock 0x1\n\
         T2 lock 0x2 s3\nT2 lock 0x1 s4\nT2 unlock 0x1\nT2 unlock 0x2\n\
         T2 lock 0x2\nT2 lock 0x1\nT2 unlock 0x1\nT2 unlock 0x2",
        &["lock-order T2 0x2->0x1 (required: 0x1->0x2)"],
    );
}

#[test]
fn lock_order_cycle_through_three_locks() {
    check(
        "T1 lock 0x1\nT1 lock 0x2\nT1 unlock 0x2\nT1 unlock 0x1\nT1 lock 0x2\nT1 lock 0x3\nT1 unlock 0x3\nT1 unlock 0x2\nT1 lock 0x3\nT1 lock 0x1",
        &["lock-order T1 0x3->0x1 (required: 0x1->0x2 0x2->0x3)"],
    );
}

#[test]
fn trylock_adds_no_lock_order_edge() {
    check(
        "T1 lock 0x1\nT1 trylock 0x2\nT1 unlock 0x2\nT1 unlock 0x1\nT1 lock 0x2\nT1 lock 0x1",
        &[],
    );
}

#[test]
fn destroyed_locks_leave_the_order_graph() {
    check("T1 lock 0x1\nT1 lock 0x2\nT1 unlock 0x2\nT1 unlock 0x1\nT1 destroy 0x1\nT1 lock 0x2\nT1 lock 0x1", &[]);
}

#[test]
fn lock_misuse_is_reported() {
    check("T1 unlock 0x5", &["misuse UnlockUnlocked T1 0x5"]);
    check(
        "T1 create T2\nT1 lock 0x5\nT2 unlock 0x5",
        &["misuse UnlockForeign { owner: ThreadId(1) } T2 0x5"],
    );
    check(
        "T1 lock 0x5\nT1 destroy 0x5",
        &["misuse DestroyLocked T1 0x5"],
    );
}

#[test]
fn races_are_deduplicated_by_site_pair() {
    check(
        "T1 create T2\nT1 wr 0x10 4 s1\nT1 wr 0x20 4 s1\nT2 wr 0x10 4 s2\nT2 wr 0x20 4 s2",
        &["race 0x10+4 wr T2 s2 / wr T1 s1"],
    );
}

#[test]
fn recursive_locks_release_at_every_unlock() {
    check("T1 create T2\nT1 lock 0x5\nT1 lock 0x5\nT1 wr 0x10 4\nT1 unlock 0x5\nT1 unlock 0x5\nT2 lock 0x5\nT2 rd 0x10 4", &[]);
}

#[test]
fn slots_are_reused_after_join_and_stay_exact() {
    let mut trace = String::from("T1 wr 0x10 8\n");
    for i in 0..10_000u32 {
        let t = i + 2;
        trace.push_str(&format!(
            "T1 create T{t}\nT{t} rd 0x10 8\nT{t} wr 0x{:x} 8\nT{t} exit\nT1 join T{t}\n",
            0x1000 + 8 * (i % 64)
        ));
    }
    let events = parse(&trace).unwrap();
    let mut engine = Engine::default();
    replay(&mut engine, &events).unwrap();
    assert!(engine.take_reports().is_empty());
    assert!(
        engine.stats().thread_slots <= 3,
        "slots: {}",
        engine.stats().thread_slots
    );
}

#[test]
fn an_exited_unjoined_thread_keeps_its_slot_and_still_races() {
    // T2 exits without anyone synchronising with it; T3 (created later)
    // must still race with T2's write, so T2's slot is not reused for T3.
    check(
        "T1 create T2\nT2 wr 0x10 4 s2\nT2 exit\nT1 create T3\nT3 wr 0x10 4 s3",
        &["race 0x10+4 wr T3 s3 / wr T2 s2"],
    );
    // Once T1 joins T2, T4 reuses its slot and is ordered after T2's write.
    check(
        "T1 create T2\nT2 wr 0x10 4\nT2 exit\nT1 join T2\nT1 create T4\nT4 wr 0x10 4",
        &[],
    );
}

#[test]
fn a_reused_slot_names_the_right_thread_in_reports() {
    check(
        "T1 create T2\nT2 exit\nT1 join T2\nT1 create T3\nT3 wr 0x10 4 s3\nT1 wr 0x10 4 s1",
        &["race 0x10+4 wr T1 s1 / wr T3 s3"],
    );
}

#[test]
fn vector_sized_accesses_are_byte_precise() {
    for size in [16u64, 32, 64] {
        // A vector store and a 1-byte write just past its end never race;
        // one byte inside it does.
        let trace = format!(
            "T1 create T2\nT1 wr 0x1000 {size} s1\nT2 wr 0x{:x} 1 s2\nT2 wr 0x{:x} 1 s3",
            0x1000 + size,
            0x1000 + size - 1
        );
        check_all(
            &trace,
            &[&format!(
                "race 0x{:x}+1 wr T2 s3 / wr T1 s1",
                0x1000 + size - 1
            )],
        );
    }
}

#[test]
fn batches_check_in_program_order_and_relaxed_atomic_records_do_not_race() {
    use hb_engine::{AccessKind, AccessRecord, ThreadId};
    let (t1, t2) = (ThreadId(1), ThreadId(2));
    let mut engine = Engine::default();
    engine.thread_create(t1, t2).unwrap();
    let batch1 = [
        AccessRecord::new(0x100, 8, AccessKind::Write, false, 1),
        AccessRecord::new(0x200, 4, AccessKind::Write, true, 2),
    ];
    engine.access_batch(t1, &batch1).unwrap();
    let batch2 = [
        AccessRecord::new(0x200, 4, AccessKind::Read, true, 3),
        AccessRecord::new(0x104, 2, AccessKind::Read, false, 4),
        AccessRecord::new(0x104, 2, AccessKind::Read, false, 4),
    ];
    engine.access_batch(t2, &batch2).unwrap();
    let reports: Vec<String> = engine.take_reports().iter().map(render).collect();
    assert_eq!(reports, ["race 0x104+2 rd T2 s4 / wr T1 s1"]);
    assert_eq!(batch2[1].size(), 2);
    assert_eq!(batch2[0].kind(), AccessKind::Read);
    assert!(batch2[0].is_atomic());
    assert_eq!(engine.stats().accesses, 5);
}

#[test]
fn oversized_records_are_cut_not_wrapped() {
    use hb_engine::{AccessKind, AccessRecord};
    let r = AccessRecord::new(0, u32::MAX, AccessKind::Write, false, 0);
    assert_eq!(r.size(), AccessRecord::MAX_SIZE);
    assert_eq!(r.kind(), AccessKind::Write);
    assert!(!r.is_atomic());
}

#[test]
fn accesses_at_the_top_of_the_address_space_do_not_overflow() {
    use hb_engine::ThreadId;
    let (t1, t2) = (ThreadId(1), ThreadId(2));
    let mut engine = Engine::default();
    engine.thread_create(t1, t2).unwrap();
    engine.write(t1, 0xffff_ffff_ffff_fff0, 64, 1).unwrap();
    engine.read(t2, 0xffff_ffff_ffff_fff8, u64::MAX, 2).unwrap();
    engine.reset_range(0xffff_ffff_ffff_ff00, u64::MAX);
    engine.ignore_range(0xffff_ffff_ffff_fff0, 64);
    engine.write(t2, 0xffff_ffff_ffff_fff0, 8, 3).unwrap();
    let reports: Vec<String> = engine.take_reports().iter().map(render).collect();
    assert_eq!(reports, ["race 0xfffffffffffffff8+7 rd T2 s2 / wr T1 s1"]);
}

#[test]
fn redundancy_view_drops_only_what_the_engine_would_ignore() {
    let mut e = Engine::default();
    let (t1, t2) = (ThreadId(1), ThreadId(2));
    e.write(t1, 0x1000, 4, 1).unwrap();
    e.thread_create(t1, t2).unwrap();
    e.read(t2, 0x1000, 2, 2).unwrap();
    let r = e.redundancy(t2).unwrap();
    assert!(r.covers(0x1000, 2, false), "the same read again");
    assert!(r.covers(0x1001, 1, false), "a part of it");
    assert!(!r.covers(0x1000, 2, true), "a write is new");
    assert!(!r.covers(0x1000, 4, false), "more bytes are new");
    e.acquire(t2, 0x9000).unwrap();
    e.mutex_lock(t2, 0x9100, false, 3).unwrap();
    let r = e.redundancy(t2).unwrap();
    assert!(
        r.covers(0x1000, 2, false),
        "acquires keep the epoch (FastTrack's same-epoch rule)"
    );
    e.mutex_unlock(t2, 0x9100, 4).unwrap();
    let r = e.redundancy(t2).unwrap();
    assert!(!r.covers(0x1000, 2, false), "a release ends the epoch");
    assert!(e.redundancy(ThreadId(9)).is_none());
}

/// A location found to be atomic after a plain store to it: that store was
/// a release store, and an acquire of the location orders the writer's
/// earlier accesses (but not the store itself, which stays plain).
#[test]
fn an_adopted_atomic_location_releases_its_earlier_plain_store() {
    let mut engine = Engine::default();
    let (t1, t2) = (ThreadId(1), ThreadId(2));
    engine.thread_create(t1, t2).unwrap();
    engine.write(t2, 0x100, 4, 1).unwrap(); // data
    engine.write(t2, 0x200, 4, 2).unwrap(); // the flag, plainly
    engine.adopt_atomic(0x200, 4, |site| site == 2);
    engine
        .atomic_load(t1, 0x200, 4, hb_engine::MemoryOrder::Acquire, 3)
        .unwrap();
    engine.read(t1, 0x100, 4, 4).unwrap();
    let reports = engine.take_reports();
    assert_eq!(reports.len(), 0, "{reports:?}");
    // Without the adoption the data access races.
    let mut engine = Engine::default();
    engine.thread_create(t1, t2).unwrap();
    engine.write(t2, 0x100, 4, 1).unwrap();
    engine.write(t2, 0x200, 4, 2).unwrap();
    engine
        .atomic_load(t1, 0x200, 4, hb_engine::MemoryOrder::Acquire, 3)
        .unwrap();
    engine.read(t1, 0x100, 4, 4).unwrap();
    assert_eq!(engine.take_reports().len(), 2, "the flag and the data");
}

#[test]
fn a_logical_thread_starts_from_its_sync_objects_only() {
    let mut e = Engine::default();
    let (main, a, b) = (ThreadId(1), ThreadId(100), ThreadId(101));
    let (created, done) = (0xf000, 0xf100);
    e.write(main, 0x10, 4, 1).unwrap();
    e.release(main, created).unwrap();
    e.write(main, 0x30, 4, 6).unwrap();
    // Two siblings from one creation: each sees the creator's write
    // before it, neither sees the other, nor what the creator did after.
    e.thread_start_after(a, &[created]).unwrap();
    e.read(a, 0x10, 4, 2).unwrap();
    e.write(a, 0x20, 4, 3).unwrap();
    e.thread_end_into(a, &[done]).unwrap();
    e.thread_start_after(b, &[created]).unwrap();
    e.write(b, 0x20, 4, 4).unwrap();
    e.read(b, 0x30, 4, 7).unwrap();
    e.thread_end_into(b, &[done]).unwrap();
    // Waiting for both orders them before the creator's next access.
    e.acquire(main, done).unwrap();
    e.read(main, 0x20, 4, 5).unwrap();
    let reports: Vec<String> = e.take_reports().iter().map(render).collect();
    assert_eq!(
        reports,
        [
            "race 0x20+4 wr T101 s4 / wr T100 s3",
            "race 0x30+4 rd T101 s7 / wr T1 s6"
        ]
    );
}

#[test]
fn logical_threads_waited_for_reuse_their_slots() {
    let mut e = Engine::default();
    let main = ThreadId(1);
    for i in 0..5_000u32 {
        let task = ThreadId(1_000 + i);
        e.release(main, 0xf000).unwrap();
        e.thread_start_after(task, &[0xf000]).unwrap();
        e.write(task, 0x10, 4, 2).unwrap();
        e.thread_end_into(task, &[0xf100]).unwrap();
        e.acquire(main, 0xf100).unwrap();
        e.write(main, 0x10, 4, 1).unwrap();
    }
    assert!(e.take_reports().is_empty());
    assert!(
        e.stats().thread_slots <= 3,
        "slots: {}",
        e.stats().thread_slots
    );
}

#[test]
fn a_slot_is_reused_by_a_thread_that_saw_its_end_while_others_did_not() {
    // T2 stays alive and sees none of T1's children; T1 joins each before
    // creating the next, so they share a slot, and T2 still races with
    // the last child's write and with the first's.
    let mut trace = String::from("T1 create T2\n");
    for i in 0..1_000u32 {
        let t = i + 3;
        trace.push_str(&format!(
            "T1 create T{t}\nT{t} wr 0x{:x} 4 s{t}\nT{t} exit\nT1 join T{t}\n",
            if i == 0 || i == 999 {
                0x10 + 8 * u64::from(i.min(1))
            } else {
                0x1000
            }
        ));
    }
    trace.push_str("T2 wr 0x10 4 s1\nT2 wr 0x18 4 s2\n");
    let events = parse(&trace).unwrap();
    let mut engine = Engine::default();
    replay(&mut engine, &events).unwrap();
    let reports: Vec<String> = engine.take_reports().iter().map(render).collect();
    assert_eq!(
        reports,
        [
            "race 0x10+4 wr T2 s1 / wr T3 s3",
            "race 0x18+4 wr T2 s2 / wr T1002 s1002"
        ]
    );
    assert!(
        engine.stats().thread_slots <= 4,
        "slots: {}",
        engine.stats().thread_slots
    );
}
