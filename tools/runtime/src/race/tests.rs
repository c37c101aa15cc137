//! The race tool driven by hand-made dbi events, natively: what the
//! translator will deliver, and what the log then says.

use super::*;

const O_RDWR_CREAT_TRUNC: u64 = 0o2 | 0o100 | 0o1000;

/// A race tool writing its log (and XML) to scratch files.
struct Harness {
    tool: RaceTool,
    log_path: String,
    xml_path: Option<String>,
}

fn scratch(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("hbgrind-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

impl Harness {
    fn new(name: &str) -> Harness {
        Harness::with(name, |_| {})
    }

    fn with(name: &str, adjust: impl FnOnce(&mut RaceConfig)) -> Harness {
        let log_path = scratch(&format!("{name}.log"));
        let fd = dbi::open(log_path.as_bytes(), O_RDWR_CREAT_TRUNC, 0o644).unwrap();
        let log = Log {
            fd,
            quiet: false,
            time_stamp: None,
        };
        let mut config = RaceConfig {
            report: ReportConfig {
                log_fd: fd,
                xml_fd: None,
                json_fd: None,
                sarif_fd: None,
                num_callers: 12,
                gen_suppressions: false,
                verbose: false,
                quiet: false,
                tool_args: Vec::new(),
                sched_seed: None,
                sched_policy: dbi::SchedulePolicy::Random,
                time_stamp: None,
                show_error_list: false,
                error_limit: true,
                child_silent_after_fork: false,
                exit_on_first_error: None,
                track_lockorders: true,
            },
            suppressions: load_suppressions(&[], true, "prog").unwrap(),
            error_exitcode: 0,
            lock_models: load_lock_models(&[]).unwrap(),
            futex_sync: true,
        };
        adjust(&mut config);
        let xml_path = config
            .report
            .xml_fd
            .map(|_| scratch(&format!("{name}.xml")));
        if let Some(p) = &xml_path {
            config.report.xml_fd =
                Some(dbi::open(p.as_bytes(), O_RDWR_CREAT_TRUNC, 0o644).unwrap());
        }
        Harness {
            tool: RaceTool::new(config, log),
            log_path,
            xml_path,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap()
    }

    fn xml(&self) -> String {
        std::fs::read_to_string(self.xml_path.as_ref().unwrap()).unwrap()
    }

    fn access(&mut self, thread: u32, addr: u64, size: u32, kind: DbiAccessKind, pc: u64) {
        self.tool.on_accesses(
            thread,
            &[MemAccess {
                addr,
                size,
                kind,
                atomic: false,
                spin_read: false,
                pc,
                stack: StackId(0),
            }],
        );
    }

    fn write(&mut self, thread: u32, addr: u64, pc: u64) {
        self.access(thread, addr, 4, DbiAccessKind::Write, pc);
    }

    fn hook(&self, symbol: &str) -> usize {
        self.tool
            .hooks()
            .iter()
            .position(|h| h.symbol == symbol)
            .unwrap_or_else(|| panic!("{symbol} is not hooked"))
    }

    /// A whole call of a hooked function returning `ret`.
    fn call(&mut self, thread: u32, symbol: &str, args: &[u64], ret: u64) {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        let call = HookCall {
            thread,
            hook: self.hook(symbol),
            function: 0x7000_0000 + self.hook(symbol) as u64 * 16,
            args: a,
            stack: StackId(0),
            sp: 0,
        };
        self.tool.on_hook_entry(&call);
        if self.tool.hooks()[call.hook].exit {
            self.tool.on_hook_exit(&call, ret);
        }
    }

    fn request(&mut self, thread: u32, args: [u64; 6]) -> Option<u64> {
        self.tool
            .on_client_request(thread, &args, 0x40_1000, StackId(0))
    }

    fn races(&self) -> usize {
        self.log().matches("Possible data race").count()
    }

    fn exit(&mut self) {
        let log = self.tool.log;
        self.tool.on_exit(&ExitStats::default(), &log);
    }
}

/// A syscall of `thread` outside any quiet call.
fn sys(thread: u32, nr: u64, args: &[u64; 6]) -> Syscall<'_> {
    Syscall {
        thread,
        nr,
        args,
        in_quiet_call: false,
    }
}

/// Threads 2 and 3, created by thread 1.
fn two_threads(h: &mut Harness) {
    h.tool.on_thread_create(1, 2, 0x40_0100, StackId(0));
    h.tool.on_thread_create(1, 3, 0x40_0100, StackId(0));
}

#[test]
fn an_unsynchronised_write_pair_is_reported_once_with_both_threads() {
    let mut h = Harness::new("unsync");
    two_threads(&mut h);
    h.write(2, 0x1000, 0x40_0200);
    h.write(3, 0x1000, 0x40_0300);
    h.write(3, 0x1000, 0x40_0300);
    h.exit();
    let log = h.log();
    assert_eq!(h.races(), 1, "{log}");
    assert!(log.contains("Thread #3 was created"), "{log}");
    assert!(log.contains("Thread #2 was created"), "{log}");
    assert!(log.contains("Possible data race during write of size 4 at 0x1000 by thread #3"));
    assert!(log.contains("This conflicts with a previous write of size 4 by thread #2"));
    assert!(log.contains("at 0x400300: ???"), "{log}");
    assert!(log.contains("ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 0 from 0)"));
}

#[test]
fn a_mutex_orders_critical_sections() {
    let mut h = Harness::new("mutex");
    two_threads(&mut h);
    for t in [2, 3] {
        h.call(t, "pthread_mutex_lock", &[0x5000], 0);
        h.write(t, 0x1000, 0x40_0200 + u64::from(t));
        h.call(t, "pthread_mutex_unlock", &[0x5000], 0);
    }
    h.exit();
    assert_eq!(h.races(), 0, "{}", h.log());
    assert!(h.log().contains("ERROR SUMMARY: 0 errors"));
}

#[test]
fn locks_held_are_named_with_where_they_were_first_taken() {
    let mut h = Harness::new("locks");
    two_threads(&mut h);
    h.call(2, "pthread_mutex_lock", &[0x5000], 0);
    h.write(2, 0x1000, 0x40_0200);
    h.call(2, "pthread_mutex_unlock", &[0x5000], 0);
    h.write(3, 0x1000, 0x40_0300);
    let log = h.log();
    assert!(log.contains("Lock at 0x5000 was first observed"), "{log}");
    assert!(log.contains("Locks held: 1, at address 0x5000"), "{log}");
}

#[test]
fn atomic_instructions_do_not_race_and_order_what_follows() {
    let mut h = Harness::new("atomic");
    two_threads(&mut h);
    let rmw = |pc| MemAccess {
        addr: 0x2000,
        size: 4,
        kind: DbiAccessKind::Update,
        atomic: true,
        spin_read: false,
        pc,
        stack: StackId(0),
    };
    h.write(2, 0x1000, 0x40_0200);
    h.tool.on_accesses(2, &[rmw(0x40_0210)]);
    h.tool.on_accesses(3, &[rmw(0x40_0310)]);
    h.write(3, 0x1000, 0x40_0300);
    assert_eq!(h.races(), 0, "{}", h.log());
}

#[test]
fn sizes_are_split_and_empty_accesses_skipped() {
    let mut h = Harness::new("sizes");
    two_threads(&mut h);
    let big = AccessRecord::MAX_SIZE + 16;
    h.access(2, 0x10_0000, big, DbiAccessKind::Write, 0x40_0200);
    h.access(
        3,
        0x10_0000 + u64::from(big) - 4,
        4,
        DbiAccessKind::Read,
        0x40_0300,
    );
    h.access(3, 0x10_0000, 0, DbiAccessKind::Write, 0x40_0310);
    let log = h.log();
    assert_eq!(h.races(), 1, "{log}");
    assert!(
        log.contains("Possible data race during read of size 4"),
        "{log}"
    );
}

#[test]
fn heap_blocks_are_described_and_reuse_starts_clean() {
    let mut h = Harness::new("heap");
    two_threads(&mut h);
    h.call(1, "malloc", &[64], 0x9_0000);
    h.write(2, 0x9_0008, 0x40_0200);
    h.write(3, 0x9_0008, 0x40_0300);
    let log = h.log();
    assert!(
        log.contains("Address 0x90008 is 8 bytes inside a block of size 64 alloc'd"),
        "{log}"
    );
    assert!(log.contains("Block was alloc'd by thread #1"), "{log}");
    // Freed by 3, reallocated by 1, written by 2: a new life, no race.
    h.call(3, "free", &[0x9_0000], 0);
    h.call(1, "_Znwm", &[32], 0x9_0000);
    h.write(2, 0x9_0008, 0x40_0220);
    h.call(1, "calloc", &[4, 8], 0xa_0000);
    h.call(1, "realloc", &[0xa_0000, 128], 0xb_0000);
    assert_eq!(h.races(), 1, "{}", h.log());
    assert!(h.tool.heap.find(0xa_0000).is_none());
    assert_eq!(h.tool.heap.find(0xb_0010).map(|b| b.size), Some(128));
    let p: u64 = std::hint::black_box(0xc_0000);
    let handle = std::ptr::addr_of!(p) as u64;
    h.call(1, "posix_memalign", &[handle, 64, 256], 0);
    assert_eq!(h.tool.heap.find(0xc_00ff).map(|b| b.size), Some(256));
    h.tool
        .on_syscall(&sys(1, SYS_MUNMAP, &[0xc_0000, 4096, 0, 0, 0, 0]));
    assert!(h.tool.heap.find(0xc_0000).is_none());
}

#[test]
fn pthread_create_maps_the_handle_for_join() {
    let mut h = Harness::new("join");
    let mut handle: u64 = 0;
    let at = std::ptr::addr_of_mut!(handle) as u64;
    let create = h.hook("pthread_create");
    let call = HookCall {
        thread: 1,
        hook: create,
        function: 0x7000_0000,
        args: [at, 0, 0, 0, 0, 0],
        stack: StackId(0),
        sp: 0,
    };
    h.tool.on_hook_entry(&call);
    h.tool.on_thread_create(1, 2, 0x40_0100, StackId(0));
    h.write(2, 0x1000, 0x40_0200);
    h.tool.on_thread_exit(2);
    handle = 0x7f00_1234_5000;
    std::hint::black_box(&mut handle);
    h.tool.on_hook_exit(&call, 0);
    h.call(1, "pthread_join", &[0x7f00_1234_5000, 0], 0);
    h.write(1, 0x1000, 0x40_0300);
    assert_eq!(h.races(), 0, "{}", h.log());
}

#[test]
fn annotations_add_order_and_silence_ranges() {
    let mut h = Harness::new("annotations");
    two_threads(&mut h);
    // ANNOTATE_HAPPENS_BEFORE / AFTER.
    h.write(2, 0x1000, 0x40_0200);
    assert_eq!(h.request(2, [0x4847_0121, 0x77, 0, 0, 0, 0]), Some(0));
    assert_eq!(h.request(3, [0x4847_0122, 0x77, 0, 0, 0, 0]), Some(0));
    h.write(3, 0x1000, 0x40_0300);
    // VALGRIND_HG_DISABLE_CHECKING.
    h.request(1, [0x4847_0127, 0x2000, 8, 0, 0, 0]);
    h.write(2, 0x2000, 0x40_0210);
    h.write(3, 0x2004, 0x40_0310);
    // DRD's ANNOTATE_IGNORE_WRITES_BEGIN in thread 3 only.
    h.request(3, [0x4452_0007, 0, 0, 0, 0, 0]);
    h.write(2, 0x3000, 0x40_0220);
    h.write(3, 0x3000, 0x40_0320);
    assert_eq!(h.races(), 0, "{}", h.log());
    h.request(3, [0x4452_0007, 1, 0, 0, 0, 0]);
    h.write(3, 0x3000, 0x40_0330);
    assert_eq!(h.races(), 1, "{}", h.log());
    assert_eq!(h.request(3, [0x1201, 0, 0, 0, 0, 0]), Some(1));
    assert_eq!(h.request(3, [0x4452_0000, 0, 0, 0, 0, 0]), Some(3));
    assert_eq!(h.request(3, [0x1234_5678, 0, 0, 0, 0, 0]), None);
    assert_eq!(h.tool.core.unknown_count(), 1);
}

#[test]
fn suppressions_hide_errors_and_generated_ones_are_printed() {
    let mut h = Harness::with("supp", |c| {
        c.report.gen_suppressions = true;
        c.report.verbose = true;
        c.suppressions
            .add_str("t.supp", "{\n  quiet\n  Helgrind:Race\n  obj:nowhere\n}\n")
            .unwrap();
    });
    two_threads(&mut h);
    h.write(2, 0x1000, 0x40_0200);
    h.write(3, 0x1000, 0x40_0300);
    h.exit();
    let log = h.log();
    assert!(log.contains("<insert_a_suppression_name_here>"), "{log}");
    assert!(log.contains("Helgrind:Race"), "{log}");

    let mut h = Harness::with("supp2", |c| {
        c.report.verbose = true;
        c.suppressions
            .add_str("t.supp", "{\n  quiet\n  Helgrind:Race\n  fun:*\n}\n")
            .unwrap();
    });
    two_threads(&mut h);
    h.write(2, 0x1000, 0x40_0200);
    h.write(3, 0x1000, 0x40_0300);
    h.exit();
    let log = h.log();
    assert_eq!(h.races(), 0, "{log}");
    assert!(log.contains("(suppressed: 1 from 1)"), "{log}");
    assert!(log.contains("used_suppression:"), "{log}");
}

#[test]
fn xml_output_is_a_whole_document() {
    let mut h = Harness::with("xml", |c| c.report.xml_fd = Some(-1));
    two_threads(&mut h);
    h.write(2, 0x1000, 0x40_0200);
    h.write(3, 0x1000, 0x40_0300);
    h.exit();
    let xml = h.xml();
    assert!(xml.starts_with("<?xml version=\"1.0\"?>"), "{xml}");
    assert!(xml.contains("<kind>Race</kind>"), "{xml}");
    assert!(xml.contains("<state>FINISHED</state>"), "{xml}");
    assert!(xml.trim_end().ends_with("</valgrindoutput>"), "{xml}");
    assert_eq!(h.races(), 0, "errors go to the XML only");
    // As in Valgrind, the XML is the whole report: no text preamble or
    // summary, so --xml-fd=2 stays one well-formed document.
    assert!(!h.log().contains("ERROR SUMMARY"), "{}", h.log());
}

#[test]
fn suppression_files_are_read_and_malformed_ones_refused() {
    let good = scratch("good.supp");
    std::fs::write(&good, "{\n  a\n  Helgrind:Race\n  fun:f\n}\n").unwrap();
    let defaults = load_suppressions(&[], true, "prog").unwrap().len();
    assert!(defaults > 0, "the built-in files hold suppressions");
    // QEMU's lock-free schemes only for QEMU binaries.
    let qemu = load_suppressions(&[], true, "/usr/bin/qemu-system-s390x").unwrap();
    assert!(qemu.len() > defaults, "qemu.supp is added for QEMU");
    assert!(is_qemu_program("qemu-img") && !is_qemu_program("/opt/myqemu/bin/run"));
    let set = load_suppressions(std::slice::from_ref(&good), true, "prog").unwrap();
    assert_eq!(set.len(), defaults + 1);
    assert_eq!(
        load_suppressions(std::slice::from_ref(&good), false, "prog")
            .unwrap()
            .len(),
        1
    );
    let bad = scratch("bad.supp");
    std::fs::write(&bad, "{\n  a\n  Helgrind:Race\n").unwrap();
    let err = load_suppressions(std::slice::from_ref(&bad), false, "prog").unwrap_err();
    assert!(err.starts_with(&format!("{bad}:")), "{err}");
    let missing = scratch("missing.supp");
    assert_eq!(
        load_suppressions(std::slice::from_ref(&missing), false, "prog").unwrap_err(),
        format!("{missing}: cannot read suppression file: no such file")
    );
    let dir = std::env::temp_dir().display().to_string();
    assert_eq!(
        load_suppressions(std::slice::from_ref(&dir), false, "prog").unwrap_err(),
        format!("{dir}: cannot read suppression file: is a directory")
    );
}

#[test]
fn every_model_function_and_heap_function_is_hooked() {
    let h = Harness::new("hooks");
    let hooks = h.tool.hooks();
    for model in builtin_models() {
        for f in &model.functions {
            let r = hooks.iter().find(|r| r.symbol == f.symbol).unwrap();
            assert_eq!(r.quiet, f.quiet, "{}", f.symbol);
            assert_eq!(r.exit, f.has_exit_effects(), "{}", f.symbol);
        }
    }
    for f in &lockmodels::pthread().functions {
        let r = hooks.iter().find(|r| r.symbol == f.symbol).unwrap();
        assert_eq!(r.quiet, f.quiet, "{}", f.symbol);
        assert_eq!(r.exit, f.has_exit_effects(), "{}", f.symbol);
    }
    for (symbol, _) in HEAP_FUNCTIONS {
        let r = hooks.iter().find(|r| r.symbol == *symbol).unwrap();
        assert!(r.quiet);
    }
    let i = h.tool.interests();
    assert!(i.memory_accesses && i.call_stacks && i.threads && i.client_requests);
    assert!(i.modules && i.syscalls);
}

#[test]
fn the_dynamic_linkers_own_accesses_are_not_checked() {
    assert!(is_dynamic_linker("/lib64/ld-linux-x86-64.so.2"));
    assert!(is_dynamic_linker("/lib/x86_64-linux-gnu/ld-2.31.so"));
    assert!(!is_dynamic_linker("/usr/lib/libld-foo.so"));
    let mut h = Harness::new("ldso");
    h.tool.on_module_load(&ModuleView {
        path: "/lib64/ld-linux-x86-64.so.2",
        start: 0x7f00_0000,
        len: 0x1000,
        bias: 0x7eff_f000,
    });
    two_threads(&mut h);
    h.write(2, 0x1000, 0x7f00_0010); // _dl_fixup writing a GOT slot
    h.access(3, 0x1000, 4, DbiAccessKind::Read, 0x40_0300); // a PLT stub
    assert_eq!(h.races(), 0, "{}", h.log());
}

#[test]
fn a_long_write_races_with_a_read_near_its_end() {
    let mut h = Harness::new("long");
    two_threads(&mut h);
    h.access(3, 0x10_0000 + 65512, 8, DbiAccessKind::Read, 0x40_0300);
    h.access(2, 0x10_0000, 65536, DbiAccessKind::Write, 0x40_0200);
    assert_eq!(h.races(), 1, "{}", h.log());
}

#[test]
fn a_plain_store_to_a_location_used_with_lock_instructions_is_a_release() {
    // A hand-written spin lock: CAS to take it, a plain store to let go.
    let mut h = Harness::new("spin");
    two_threads(&mut h);
    let cas = MemAccess {
        addr: 0x3000,
        size: 4,
        kind: DbiAccessKind::Update,
        atomic: true,
        spin_read: false,
        pc: 0x40_0400,
        stack: StackId(0),
    };
    for t in [2, 3] {
        h.tool.on_accesses(t, &[cas]);
        h.write(t, 0x1000, 0x40_0500); // the critical section
        h.write(t, 0x3000, 0x40_0600); // the unlock: a plain mov
    }
    assert_eq!(h.races(), 0, "{}", h.log());
    // A plain load of it is an (acquire) atomic load too.
    h.access(2, 0x3000, 4, DbiAccessKind::Read, 0x40_0700);
    h.tool.on_accesses(3, &[cas]);
    assert_eq!(h.races(), 0, "{}", h.log());
    // A read-modify-write without LOCK is not atomic (its read and its
    // write each race, as in Helgrind), nor is an access of another size.
    h.access(2, 0x3000, 4, DbiAccessKind::Update, 0x40_0800);
    assert_eq!(h.races(), 2, "{}", h.log());
    h.access(3, 0x3000, 8, DbiAccessKind::Write, 0x40_0900);
    assert_eq!(h.races(), 3, "{}", h.log());
}

/// `mov eax, [rbx]`: a 4-byte load, for the tests that ask for the
/// instruction's operand size.
static LOAD4: [u8; 2] = [0x8b, 0x03];

#[test]
fn a_load_made_before_its_location_was_seen_atomic_is_withdrawn_from_races() {
    let mut h = Harness::new("withdrawn");
    two_threads(&mut h);
    h.access(2, 0x3000, 4, DbiAccessKind::Read, LOAD4.as_ptr() as u64);
    let xchg = MemAccess {
        addr: 0x3000,
        size: 4,
        kind: DbiAccessKind::Update,
        atomic: true,
        spin_read: false,
        pc: 0x40_0200,
        stack: StackId(0),
    };
    h.tool.on_accesses(3, &[xchg]);
    assert_eq!(h.races(), 0, "{}", h.log());
    assert_eq!(h.tool.withdrawn_races, 1);
    // A plain read-modify-write made before is a race all the same.
    h.access(2, 0x4000, 4, DbiAccessKind::Update, 0x40_0300);
    h.tool.on_accesses(
        3,
        &[MemAccess {
            addr: 0x4000,
            ..xchg
        }],
    );
    assert_eq!(h.races(), 1, "{}", h.log());
}

#[test]
fn a_merged_run_of_loads_over_atomic_words_is_a_run_of_acquire_loads() {
    let mut h = Harness::new("runs");
    two_threads(&mut h);
    let xchg = |addr| MemAccess {
        addr,
        size: 4,
        kind: DbiAccessKind::Update,
        atomic: true,
        spin_read: false,
        pc: 0x40_0200,
        stack: StackId(0),
    };
    h.tool.on_accesses(2, &[xchg(0x3000), xchg(0x3004)]);
    h.write(2, 0x1000, 0x40_0300); // data, then a release store of each word
    h.access(2, 0x3000, 4, DbiAccessKind::Write, 0x40_0400);
    h.access(2, 0x3004, 4, DbiAccessKind::Write, 0x40_0400);
    // One 4-byte load instruction over both words, merged by dbi.
    h.access(3, 0x3000, 8, DbiAccessKind::Read, LOAD4.as_ptr() as u64);
    h.access(3, 0x1000, 4, DbiAccessKind::Read, 0x40_0500);
    assert_eq!(h.races(), 0, "{}", h.log());
    // One 8-byte store over a 4-byte word is a mixed-size access.
    h.access(3, 0x3000, 8, DbiAccessKind::Write, 0x40_0600);
    h.tool.on_accesses(2, &[xchg(0x3000)]);
    assert_eq!(h.races(), 1, "{}", h.log());
}

#[test]
fn a_store_fenced_by_mfence_is_a_seq_cst_store() {
    use dbi::Instruction;
    let mut h = Harness::new("mfence");
    two_threads(&mut h);
    // mov dword [rip+x], 1; mfence, as GCC emits atomic_store(&x, 1).
    let code = [
        0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0x0f, 0xae, 0xf0,
    ];
    let mut decoder = iced_x86::Decoder::with_ip(64, &code, 0x40_0000, 0);
    let instructions: Vec<Instruction> = decoder.iter().collect();
    let mut info = iced_x86::InstructionInfoFactory::new();
    let memory: Vec<Vec<dbi::UsedMemory>> = instructions
        .iter()
        .map(|i| info.info(i).used_memory().to_vec())
        .collect();
    h.tool.on_block(&BlockView {
        guest_pc: 0x40_0000,
        instructions: &instructions,
        memory: &memory,
        syscall_pc: None,
        executions: None,
        id: 0,
    });
    h.write(2, 0x1000, 0x40_0500); // data
    h.write(2, 0x5000, 0x40_0000); // the seq_cst store of the flag
    h.access(3, 0x5000, 4, DbiAccessKind::Read, 0x40_0600); // its load
    h.access(3, 0x1000, 4, DbiAccessKind::Read, 0x40_0700); // the data
    assert_eq!(h.races(), 0, "{}", h.log());
}

/// A one-block `BlockView` of `code` at `pc`, given to the tool.
fn translate(h: &mut Harness, pc: u64, code: &[u8]) {
    use dbi::Instruction;
    let mut decoder = iced_x86::Decoder::with_ip(64, code, pc, 0);
    let instructions: Vec<Instruction> = decoder.iter().collect();
    let mut info = iced_x86::InstructionInfoFactory::new();
    let memory: Vec<Vec<dbi::UsedMemory>> = instructions
        .iter()
        .map(|i| info.info(i).used_memory().to_vec())
        .collect();
    h.tool.on_block(&BlockView {
        guest_pc: pc,
        instructions: &instructions,
        memory: &memory,
        syscall_pc: None,
        executions: None,
        id: 0,
    });
}

#[test]
fn a_threading_runtimes_mov_store_is_a_release_its_load_an_acquire() {
    // libgomp's barrier: the last arriver stores the new generation with
    // a plain `mov`, a waiter's spin (any shape) loads it with another.
    const GOMP: u64 = 0x7f00_0000_0000;
    // mov dword [rdi], eax; mov eax, dword [rdi]
    let (store, load) = (GOMP + 0x100, GOMP + 0x200);
    for (path, races) in [("/usr/lib/libgomp.so.1", 0), ("/usr/lib/libother.so.1", 2)] {
        let mut h = Harness::new("runtime_mov");
        h.tool.on_module_load(&ModuleView {
            path,
            start: GOMP,
            len: 0x1000,
            bias: GOMP,
        });
        two_threads(&mut h);
        translate(&mut h, store, &[0x89, 0x07]);
        translate(&mut h, load, &[0x8b, 0x07]);
        h.write(2, 0x1000, 0x40_0500); // the program's data
        h.access(2, 0x5000, 4, DbiAccessKind::Write, store);
        h.access(3, 0x5000, 4, DbiAccessKind::Read, load);
        h.access(3, 0x1000, 4, DbiAccessKind::Read, 0x40_0700);
        // Elsewhere both the flag and the data race.
        assert_eq!(h.races(), races, "{path}: {}", h.log());
    }
}

#[test]
fn a_woken_futex_wait_acquires_what_the_wake_released() {
    const FUTEX_WAIT_PRIVATE: u64 = 128;
    const FUTEX_WAKE_PRIVATE: u64 = 129;
    const EAGAIN: i64 = -11;
    for (sync, ret, races) in [(true, 0, 0), (true, EAGAIN, 1), (false, 0, 1)] {
        let mut h = Harness::with("futex", |c| c.futex_sync = sync);
        two_threads(&mut h);
        let wait = [0x3000, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0];
        h.tool.on_syscall(&sys(3, 202, &wait));
        h.write(2, 0x1000, 0x40_0100);
        h.tool
            .on_syscall(&sys(2, 202, &[0x3000, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0]));
        h.tool
            .on_syscall_return(&sys(2, 202, &[0x3000, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0]), 1);
        h.tool.on_syscall_return(&sys(3, 202, &wait), ret);
        h.write(3, 0x1000, 0x40_0200);
        assert_eq!(h.races(), races, "sync {sync} ret {ret}: {}", h.log());
    }
    // Inside a quiet call (malloc's arena lock) a futex orders nothing.
    let mut h = Harness::new("futex_quiet");
    two_threads(&mut h);
    let wait = [0x3000, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0];
    let wake = [0x3000, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0];
    let quiet = |thread, args| Syscall {
        in_quiet_call: true,
        ..sys(thread, 202, args)
    };
    h.tool.on_syscall(&quiet(3, &wait));
    h.write(2, 0x1000, 0x40_0100);
    h.tool.on_syscall(&quiet(2, &wake));
    h.tool.on_syscall_return(&quiet(3, &wait), 0);
    h.write(3, 0x1000, 0x40_0200);
    assert_eq!(h.races(), 1, "{}", h.log());
}

#[test]
fn a_requeued_waiter_acquires_the_wake_of_the_word_it_was_moved_to() {
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAKE: u64 = 1;
    const FUTEX_CMP_REQUEUE: u64 = 4;
    let mut h = Harness::new("requeue");
    two_threads(&mut h);
    let wait = [0x3000, FUTEX_WAIT, 0, 0, 0, 0];
    h.tool.on_syscall(&sys(3, 202, &wait));
    // Thread 2 moves the waiters of 0x3000 to 0x4000, then wakes 0x4000.
    h.tool
        .on_syscall(&sys(2, 202, &[0x3000, FUTEX_CMP_REQUEUE, 0, 1, 0x4000, 0]));
    h.write(2, 0x1000, 0x40_0100);
    h.tool
        .on_syscall(&sys(2, 202, &[0x4000, FUTEX_WAKE, 1, 0, 0, 0]));
    h.tool.on_syscall_return(&sys(3, 202, &wait), 0);
    h.write(3, 0x1000, 0x40_0200);
    assert_eq!(h.races(), 0, "{}", h.log());
}

#[test]
fn a_new_threads_memory_is_forgotten_at_creation_and_exit() {
    let mut h = Harness::new("thread_memory");
    let (stack, size, tls) = (0x7000_0000u64, 0x10_0000u64, 0x7010_0000u64);
    let clone_args: [u64; 8] = [0x10000 | 0x80000, 0, 0, 0, 0, stack, size, tls];
    let spawn = |h: &mut Harness, child: u32| {
        let clone3 = [std::ptr::addr_of!(clone_args) as u64, 88, 0, 0, 0, 0];
        h.tool.on_syscall(&sys(1, SYS_CLONE3, &clone3));
        let clone = [0x10000 | 0x80000, stack + size, 0, 0, tls, 0];
        h.tool.on_syscall(&sys(1, SYS_CLONE, &clone));
        h.tool.on_thread_create(1, child, 0x40_0100, StackId(0));
    };
    spawn(&mut h, 2);
    h.write(2, stack + 0x8_0000, 0x40_0200); // its stack
    h.write(2, tls + 0x10, 0x40_0210); // its descriptor
    h.tool.on_thread_exit(2);
    // Thread 3 gets the cached stack; nothing ordered thread 2's end with it.
    h.tool.on_thread_create(1, 3, 0x40_0100, StackId(0));
    h.write(3, tls + 0x10, 0x40_0300);
    assert_eq!(h.races(), 0, "thread 2's memory was forgotten at its exit");
    spawn(&mut h, 4);
    h.write(4, stack + 0x8_0000, 0x40_0400);
    h.write(4, tls + 0x10, 0x40_0410);
    assert_eq!(h.races(), 0, "{}", h.log());
    // While thread 4 lives, its memory is checked like any other.
    h.write(3, stack + 0x8_0000, 0x40_0500);
    assert_eq!(h.races(), 1, "{}", h.log());
}

#[test]
fn a_race_suppression_matches_either_side() {
    // The suppression names the function of the earlier access.
    let mut h = Harness::with("either", |c| {
        c.suppressions
            .add_str("t.supp", "{\n  quiet\n  Helgrind:Race\n  obj:/prog\n}\n")
            .unwrap();
    });
    two_threads(&mut h);
    let prior = h.tool.sites.intern_access(StackId(0), 0x40_0200, 4);
    let report = hb_engine::Report::Race(hb_engine::Race {
        addr: 0x1000,
        size: 4,
        racy_addr: 0x1000,
        racy_len: 4,
        current: hb_engine::Access {
            thread: ThreadId(3),
            kind: AccessKind::Write,
            atomic: false,
            site: h.tool.sites.intern_access(StackId(0), 0x40_0300, 4),
            locks_held: Some(vec![]),
        },
        prior: hb_engine::Access {
            thread: ThreadId(2),
            kind: AccessKind::Write,
            atomic: false,
            site: prior,
            locks_held: Some(vec![]),
        },
    });
    // Only the prior side lies in /prog.
    h.tool.reporter.module_loaded("/prog", 0x40_0200, 0x10, 0);
    h.tool.report(vec![report]);
    h.exit();
    assert!(h.log().contains("(suppressed: 1 from 1)"), "{}", h.log());
}

#[test]
fn a_spin_wait_on_a_flag_acquires_what_its_setter_released() {
    let mut h = Harness::new("spinwait");
    two_threads(&mut h);
    let spin = MemAccess {
        addr: 0x4000,
        size: 4,
        kind: DbiAccessKind::Read,
        atomic: false,
        spin_read: true,
        pc: 0x40_0800,
        stack: StackId(0),
    };
    h.tool.on_accesses(3, &[spin, spin]); // the waiter starts first
    h.write(2, 0x1000, 0x40_0200); // the data
    h.write(2, 0x4000, 0x40_0210); // the flag: now a release store
    h.tool.on_accesses(3, &[spin]); // sees it
    h.access(3, 0x1000, 4, DbiAccessKind::Read, 0x40_0310);
    assert_eq!(h.races(), 0, "{}", h.log());
}

#[test]
fn a_spin_wait_on_a_benign_race_orders_nothing() {
    let mut h = Harness::new("benignflag");
    two_threads(&mut h);
    // ANNOTATE_BENIGN_RACE_SIZED(&flag, 4).
    h.request(1, [0x4847_0127, 0x4000, 4, 0, 0, 0]);
    let spin = MemAccess {
        addr: 0x4000,
        size: 4,
        kind: DbiAccessKind::Read,
        atomic: false,
        spin_read: true,
        pc: 0x40_0800,
        stack: StackId(0),
    };
    h.tool.on_accesses(3, &[spin]);
    h.write(2, 0x1000, 0x40_0200);
    h.write(2, 0x4000, 0x40_0210);
    h.tool.on_accesses(3, &[spin]);
    h.write(3, 0x1000, 0x40_0310);
    assert_eq!(h.races(), 1, "{}", h.log());
    // VALGRIND_HG_ENABLE_CHECKING makes it a flag again.
    h.request(1, [0x4847_0128, 0x4000, 4, 0, 0, 0]);
    assert!(!h.tool.is_untracked(0x4000));
}

#[test]
fn glibcs_thread_counter_orders_nothing() {
    // The libc we run on has the counter in its dynamic symbol table.
    let maps = String::from_utf8(output::read_proc_file(b"/proc/self/maps")).unwrap();
    let libc = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| is_libc(p))
        .expect("libc mapped")
        .to_string();
    let found = find_symbols(&libc, 0x1000_0000, UNSYNCHRONISING_WORDS);
    assert_eq!(found.len(), 1, "{libc}");
    assert!(find_symbols("/nonexistent", 0, UNSYNCHRONISING_WORDS).is_empty());

    // Thread 2 exits (decrementing the counter), then thread 3 does: that
    // must not order thread 2's write before thread 3's.
    let mut h = Harness::new("nthreads");
    h.tool.unsynchronising.push(0x5000);
    two_threads(&mut h);
    let dec = MemAccess {
        addr: 0x5000,
        size: 4,
        kind: DbiAccessKind::Update,
        atomic: true,
        spin_read: false,
        pc: 0x40_0900,
        stack: StackId(0),
    };
    h.write(2, 0x1000, 0x40_0200);
    h.tool.on_accesses(2, &[dec]);
    h.tool.on_accesses(3, &[dec]);
    h.write(3, 0x1000, 0x40_0300);
    assert_eq!(h.races(), 1, "{}", h.log());
}

#[test]
fn a_threads_stack_comes_from_its_clone3_arguments() {
    let mut h = Harness::new("stacks");
    // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
    // stack, stack_size, ...
    let args: [u64; 8] = [0, 0, 0, 0, 0, 0x7000_0000, 0x10_0000, 0];
    let clone3 = [std::ptr::addr_of!(args) as u64, 88, 0, 0, 0, 0];
    h.tool.on_syscall(&sys(1, SYS_CLONE3, &clone3));
    h.tool.on_thread_create(1, 2, 0x40_0100, StackId(0));
    h.tool.on_thread_create(1, 3, 0x40_0100, StackId(0));
    let slot = 0x7000_0000 + 0x8_0000;
    h.write(2, slot, 0x40_0200);
    h.write(3, slot, 0x40_0300);
    let log = h.log();
    assert!(
        log.contains(&format!("Address 0x{slot:x} is on thread #2's stack")),
        "{log}"
    );
    // A bad pointer gives no range, and no crash.
    h.tool.on_syscall(&sys(1, SYS_CLONE3, &[8, 88, 0, 0, 0, 0]));
    assert_eq!(h.tool.pending_stack, None);
}

#[test]
fn error_limit_stops_showing_new_errors_after_1000() {
    let run = |limit: bool| {
        let mut h = Harness::with(if limit { "limit-on" } else { "limit-off" }, |c| {
            c.report.error_limit = limit;
        });
        two_threads(&mut h);
        for i in 0..1005u64 {
            h.write(2, 0x1000 + 8 * i, 0x40_0000 + 4 * i);
            h.write(3, 0x1000 + 8 * i, 0x50_0000 + 4 * i);
        }
        h.exit();
        (h.races(), h.log())
    };
    let (shown, log) = run(true);
    assert_eq!(shown, 1000);
    assert!(
        log.contains("More than 1000 different errors detected."),
        "{log}"
    );
    assert!(log.contains("ERROR SUMMARY: 1000 errors from 1000 contexts"));
    let (shown, log) = run(false);
    assert_eq!(shown, 1005);
    assert!(!log.contains("More than 1000"));
}

#[test]
fn show_error_list_repeats_each_error_with_its_count() {
    let mut h = Harness::with("error-list", |c| c.report.show_error_list = true);
    two_threads(&mut h);
    h.write(2, 0x1000, 0x40_0200);
    h.write(3, 0x1000, 0x40_0300);
    h.exit();
    let log = h.log();
    assert!(log.contains("1 errors in context 1 of 1:"), "{log}");
    assert_eq!(
        log.matches("ERROR SUMMARY: 1 errors from 1 contexts")
            .count(),
        2
    );
}

#[test]
fn lock_model_files_add_to_and_replace_the_shipped_models() {
    let user = scratch("user.model");
    std::fs::write(
        &user,
        "my_lock: lock arg0 at exit\npthread_mutex_lock: quiet\n",
    )
    .unwrap();
    let all = load_lock_models(std::slice::from_ref(&user)).unwrap();
    assert!(all.function("my_lock").is_some());
    assert!(all.function("g_mutex_lock").is_some(), "glib is shipped");
    assert!(
        all.function("qemu_mutex_lock_impl").is_some(),
        "QEMU is shipped"
    );
    assert!(all
        .function("pthread_mutex_lock")
        .unwrap()
        .effects
        .is_empty());
    let h = Harness::with("user_model", |c| c.lock_models = all.clone());
    assert!(h
        .tool
        .hooks()
        .iter()
        .any(|r| r.symbol == "my_lock" && r.exit));

    let bad = scratch("bad.model");
    std::fs::write(&bad, "# x\nmy_lock lock arg0\n").unwrap();
    assert_eq!(
        load_lock_models(std::slice::from_ref(&bad)).unwrap_err(),
        format!("{bad}:2: expected `SYMBOL: EFFECT; EFFECT...`, found no `:`")
    );
    let missing = scratch("missing.model");
    assert_eq!(
        load_lock_models(std::slice::from_ref(&missing)).unwrap_err(),
        format!("{missing}: cannot read lock model: no such file")
    );
}
