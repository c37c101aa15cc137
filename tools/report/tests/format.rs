//! Text and XML output compared byte for byte with real Helgrind output.
//!
//! `tests/data/racy.c` and `racy2.c` were run under valgrind 3.19
//! (`valgrind --tool=helgrind [--read-var-info=yes] [--xml=yes
//! --xml-file=...] ./a.out`); `helgrind-*.txt` hold the errors part of its
//! text output and `helgrind-racy2.xml` its whole XML document. Here the
//! same errors are rebuilt as `ErrorRecord`s, with the frames Valgrind
//! showed, and must print identically.

use std::time::Duration;

use hb_engine::{
    Access, AccessKind, LockOrderEdge, LockOrderViolation, Misuse, MisuseKind, Race, Report,
    ThreadId,
};
use hbgrind_report::{
    generate_suppression, repair, AddressDescription, ErrorCounts, ErrorRecord, Frame, LockInfo,
    Preamble, Stack, SuppressionSet, TextReporter, ThreadAnnouncement, XmlWriter,
};
use quick_xml::events::Event;
use quick_xml::Reader;

const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const VGPRELOAD: &str = "/usr/libexec/valgrind/vgpreload_helgrind-amd64-linux.so";

fn src(ip: u64, function: &str, dir: &str, file: &str, line: u32, object: &str) -> Frame {
    Frame {
        ip,
        function: Some(function.into()),
        linkage_name: Some(function.into()),
        dir: Some(dir.into()),
        file: Some(file.into()),
        line: Some(line),
        object: Some(object.into()),
        generated: None,
    }
}

fn obj(ip: u64, function: Option<&str>, object: &str) -> Frame {
    Frame {
        ip,
        function: function.map(Into::into),
        linkage_name: function.map(Into::into),
        object: Some(object.into()),
        ..Frame::default()
    }
}

fn racy2(line: u32, ip: u64, function: &str) -> Frame {
    src(ip, function, "/tmp/hg", "racy2.c", line, "/tmp/hg/racy2")
}

fn racy(line: u32, ip: u64, function: &str) -> Frame {
    src(ip, function, "/tmp/hg", "racy.c", line, "/tmp/hg/racy")
}

/// The frames below a thread's start routine.
fn thread_tail() -> Vec<Frame> {
    vec![
        obj(0x484C7D6, None, VGPRELOAD),
        src(
            0x48ED1F4,
            "start_thread",
            "./nptl/./nptl",
            "pthread_create.c",
            442,
            LIBC,
        ),
        src(
            0x496CB4F,
            "clone",
            "./misc/../sysdeps/unix/sysv/linux/x86_64",
            "clone.S",
            100,
            LIBC,
        ),
    ]
}

fn created_at(main: Frame) -> Stack {
    Stack::new(vec![
        src(
            0x496CB3F,
            "clone",
            "./misc/../sysdeps/unix/sysv/linux/x86_64",
            "clone.S",
            76,
            LIBC,
        ),
        src(
            0x496D988,
            "__clone_internal",
            "./misc/../sysdeps/unix/sysv/linux",
            "clone-internal.c",
            83,
            LIBC,
        ),
        src(
            0x48ECDEF,
            "create_thread",
            "./nptl/./nptl",
            "pthread_create.c",
            295,
            LIBC,
        ),
        src(
            0x48ED8EC,
            "pthread_create@@GLIBC_2.34",
            "./nptl/./nptl",
            "pthread_create.c",
            831,
            LIBC,
        ),
        obj(0x484C5D7, None, VGPRELOAD),
        main,
    ])
}

fn in_thread(first: Frame) -> Stack {
    let mut frames = vec![first];
    frames.extend(thread_tail());
    Stack::new(frames)
}

fn access(thread: u32, kind: AccessKind, site: u32, locks: &[u64]) -> Access {
    Access {
        thread: ThreadId(thread),
        kind,
        atomic: false,
        site,
        locks_held: Some(locks.to_vec()),
    }
}

fn race(addr: u64, current: Access, prior: Access) -> Report {
    Report::Race(Race {
        addr,
        size: 4,
        racy_addr: addr,
        racy_len: 4,
        current,
        prior,
    })
}

/// racy2.c's three races; `var_info` as with `--read-var-info=yes`.
fn racy2_errors(var_info: bool) -> Vec<ErrorRecord> {
    let lock_m = LockInfo {
        first_observed: Some(
            in_thread(racy2(9, 0x1091A3, "worker")).with_front(obj(0x484976E, None, VGPRELOAD)),
        ),
        description: Some(AddressDescription::GlobalVar {
            addr: 0x10c080,
            offset: 0,
            name: "m".into(),
            declared_at: Some(("racy2.c".into(), 5)),
        }),
    };
    let counter = if var_info {
        AddressDescription::GlobalVar {
            addr: 0x10c060,
            offset: 0,
            name: "counter".into(),
            declared_at: Some(("racy2.c".into(), 4)),
        }
    } else {
        AddressDescription::DataSymbol {
            addr: 0x10c060,
            offset: 0,
            name: "counter".into(),
        }
    };
    let counter_race = |kind, ip| {
        let mut e = ErrorRecord::new(race(
            0x10C060,
            access(1, kind, 1, &[]),
            access(2, AccessKind::Write, 2, &[0x10C080]),
        ))
        .with_stack(1, Stack::new(vec![racy2(19, ip, "main")]))
        .with_stack(2, in_thread(racy2(10, 0x1091AD, "worker")));
        e.address = Some(counter.clone());
        e.locks.insert(0x10C080, lock_m.clone());
        e
    };
    let mut heap = ErrorRecord::new(race(
        0x4A49048,
        access(1, AccessKind::Read, 3, &[]),
        access(2, AccessKind::Write, 4, &[]),
    ))
    .with_stack(3, Stack::new(vec![racy2(20, 0x109226, "main")]))
    .with_stack(4, in_thread(racy2(12, 0x1091CD, "worker")));
    heap.address = Some(AddressDescription::HeapBlock {
        addr: 0x4a49048,
        offset: 8,
        block_size: 64,
        alloc_stack: Stack::new(vec![
            obj(0x48437F4, Some("malloc"), VGPRELOAD),
            racy2(17, 0x1091EB, "main"),
        ]),
        alloc_thread: Some(1),
    });
    vec![
        counter_race(AccessKind::Read, 0x109210),
        counter_race(AccessKind::Write, 0x109219),
        heap,
    ]
}

trait WithFront {
    fn with_front(self, f: Frame) -> Stack;
}

impl WithFront for Stack {
    fn with_front(mut self, f: Frame) -> Stack {
        self.frames.insert(0, f);
        self
    }
}

fn racy2_threads() -> Vec<(u32, ThreadAnnouncement)> {
    vec![
        (1, ThreadAnnouncement::Root),
        (
            2,
            ThreadAnnouncement::Created(created_at(racy2(18, 0x10920F, "main"))),
        ),
    ]
}

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn races_print_as_helgrind_prints_them() {
    let mut text = TextReporter::new(15279);
    for (n, a) in racy2_threads() {
        text.add_thread(n, a);
    }
    let out: String = racy2_errors(true)
        .iter()
        .map(|e| text.error_text(e))
        .collect();
    assert_eq!(out, data("helgrind-racy2.txt"));
    assert_eq!(
        text.summary_text(
            ErrorCounts {
                errors: 3,
                contexts: 3,
                suppressed: 0,
                suppressed_contexts: 0
            },
            None
        ),
        "==15279== \n==15279== ERROR SUMMARY: 3 errors from 3 contexts (suppressed: 0 from 0)\n"
    );
}

fn racy_errors() -> Vec<ErrorRecord> {
    let (a, b) = (0x10C080, 0x10C0C0);
    let lock_call = |f: Frame| Stack::new(vec![obj(0x484976E, None, VGPRELOAD), f]);
    let lock_info = |f: Frame, name: &str, addr: u64| LockInfo {
        first_observed: Some(lock_call(f)),
        description: Some(AddressDescription::DataSymbol {
            addr,
            offset: 0,
            name: name.into(),
        }),
    };
    let mut order = ErrorRecord::new(Report::LockOrder(LockOrderViolation {
        thread: ThreadId(2),
        observed: LockOrderEdge {
            first: b,
            first_site: 10,
            second: a,
            second_site: 11,
        },
        required: vec![LockOrderEdge {
            first: a,
            first_site: 12,
            second: b,
            second_site: 13,
        }],
    }))
    .with_stack(
        10,
        in_thread(racy(11, 0x1091C3, "worker")).with_front(obj(0x484976E, None, VGPRELOAD)),
    )
    .with_stack(
        11,
        in_thread(racy(12, 0x1091D2, "worker")).with_front(obj(0x484976E, None, VGPRELOAD)),
    )
    .with_stack(12, lock_call(racy(21, 0x109240, "main")))
    .with_stack(13, lock_call(racy(22, 0x10924F, "main")));
    order
        .locks
        .insert(a, lock_info(racy(21, 0x109240, "main"), "a", 0x10c080));
    order
        .locks
        .insert(b, lock_info(racy(22, 0x10924F, "main"), "b", 0x10c0c0));

    let mut stack_race = ErrorRecord::new(Report::Race(Race {
        addr: 0x1FFF000624,
        size: 4,
        racy_addr: 0x1FFF000624,
        racy_len: 4,
        current: access(1, AccessKind::Write, 20, &[]),
        prior: access(3, AccessKind::Write, 21, &[]),
    }))
    .with_stack(20, Stack::new(vec![racy(33, 0x109300, "main")]))
    .with_stack(21, in_thread(racy(17, 0x10920C, "stackuser")));
    stack_race.address = Some(AddressDescription::ThreadStack {
        addr: 0x1fff000624,
        thread: 1,
        frame: Some((0, "main (racy.c:18)".into())),
    });

    let mut unlock = ErrorRecord::new(Report::Misuse(Misuse {
        thread: ThreadId(1),
        kind: MisuseKind::UnlockUnlocked,
        object: a,
        site: 30,
    }))
    .with_stack(
        30,
        Stack::new(vec![
            obj(0x4849C86, None, VGPRELOAD),
            racy(35, 0x109326, "main"),
        ]),
    );
    unlock
        .locks
        .insert(a, lock_info(racy(21, 0x109240, "main"), "a", 0x10c080));
    vec![order, stack_race, unlock]
}

#[test]
fn preamble_prints_as_valgrind_prints_it() {
    let text = TextReporter::new(15210);
    let lines: Vec<String> = [
        "Helgrind, a thread error detector",
        "Copyright (C) 2007-2017, and GNU GPL'd, by OpenWorks LLP et al.",
        "Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info",
        "Command: ./racy",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        text.preamble_text(&lines),
        "==15210== Helgrind, a thread error detector\n\
         ==15210== Copyright (C) 2007-2017, and GNU GPL'd, by OpenWorks LLP et al.\n\
         ==15210== Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info\n\
         ==15210== Command: ./racy\n\
         ==15210== \n"
    );
}

#[test]
fn lock_order_stack_memory_and_misuse_print_as_helgrind_prints_them() {
    let mut text = TextReporter::new(15210);
    text.add_thread(
        2,
        ThreadAnnouncement::Created(created_at(racy(25, 0x10928A, "main"))),
    );
    text.add_thread(
        3,
        ThreadAnnouncement::Created(created_at(racy(32, 0x1092FF, "main"))),
    );
    let out: String = racy_errors().iter().map(|e| text.error_text(e)).collect();
    assert_eq!(out, data("helgrind-racy.txt"));
}

#[test]
fn verbose_summary_lists_used_suppressions() {
    let mut supps = SuppressionSet::new();
    supps
        .add_str("my.supp", "{\n  mine\n  Helgrind:Race\n  fun:main\n}\n")
        .expect("valid");
    let errors = racy2_errors(false);
    assert!(supps.suppress(&errors[0]).is_some());
    assert!(supps.suppress(&errors[1]).is_some());
    let text = TextReporter::new(7);
    let counts = ErrorCounts {
        errors: 1,
        contexts: 1,
        suppressed: 2,
        suppressed_contexts: 2,
    };
    assert_eq!(
        text.summary_text(counts, Some(&supps)),
        "==7== \n\
         ==7== ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 2 from 2)\n\
         --7-- \n\
         --7-- used_suppression:      2 mine my.supp:2\n\
         ==7== \n\
         ==7== ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 2 from 2)\n"
    );
}

fn racy2_preamble() -> Preamble {
    Preamble {
        lines: vec![
            "Helgrind, a thread error detector".into(),
            "Copyright (C) 2007-2017, and GNU GPL'd, by OpenWorks LLP et al.".into(),
            "Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info".into(),
            "Command: ./racy2".into(),
        ],
        pid: 15257,
        ppid: 15247,
        tool: "helgrind".into(),
        tool_exe: "/usr/bin/valgrind.bin".into(),
        tool_args: vec![
            "--tool=helgrind".into(),
            "--xml=yes".into(),
            "--xml-file=out2.xml".into(),
        ],
        exe: "./racy2".into(),
        args: vec![],
    }
}

fn racy2_xml(errors: &[ErrorRecord], suppressions: bool) -> String {
    let mut xml = XmlWriter::start(Vec::new(), &racy2_preamble(), Duration::from_millis(57))
        .expect("write to memory");
    for (n, a) in racy2_threads() {
        xml.add_thread(n, a);
    }
    for e in errors {
        let generated = suppressions.then(|| generate_suppression(e));
        xml.error(e, generated.as_ref()).expect("write to memory");
    }
    let out = xml
        .finish(&SuppressionSet::new(), Duration::from_millis(627))
        .expect("write to memory");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn xml_document_is_valgrinds() {
    assert_eq!(
        racy2_xml(&racy2_errors(false), false),
        data("helgrind-racy2.xml")
    );
}

/// Element names in document order, or the parser's complaint; also checks
/// that the document ends with its root closed.
fn parse(doc: &str) -> Result<Vec<String>, String> {
    let mut reader = Reader::from_str(doc);
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut closed_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if closed_root {
                    return Err("content after the root element".into());
                }
                depth += 1;
                names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(Event::Empty(e)) => {
                names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned())
            }
            Ok(Event::End(_)) => {
                depth -= 1;
                closed_root |= depth == 0;
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if depth == 0 && closed_root {
        Ok(names)
    } else {
        Err(format!("{depth} elements left open"))
    }
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

#[test]
fn xml_with_suppressions_parses_and_has_the_expected_elements() {
    let mut errors = racy2_errors(true);
    // Text that needs escaping, and a lock-order error and a misuse too.
    errors[0].stacks.get_mut(&1).expect("stack").frames[0].function =
        Some("operator<< <int> & \"x\"".into());
    errors.extend(racy_errors());
    let doc = racy2_xml(&errors, true);
    let names = parse(&doc).expect("well formed");
    assert_eq!(names[0], "valgrindoutput");
    assert_eq!(&names[1..3], ["protocolversion", "protocoltool"]);
    assert_eq!(count(&names, "error"), 6);
    assert_eq!(count(&names, "announcethread"), 3);
    assert_eq!(count(&names, "suppression"), 6);
    assert_eq!(count(&names, "rawtext"), 6);
    assert_eq!(count(&names, "errorcounts"), 1);
    assert_eq!(count(&names, "suppcounts"), 1);
    assert!(doc.contains("<fn>operator&lt;&lt; &lt;int&gt; &amp; \"x\"</fn>"));
    assert!(doc.contains("<kind>LockOrder</kind>"));
    assert!(doc.contains("<kind>UnlockUnlocked</kind>"));
    assert!(doc.contains(
        "  <xauxwhat><text>declared at racy2.c:4</text> <file>racy2.c</file> <line>4</line> </xauxwhat>\n"
    ));
    assert!(doc.contains(
        "  <suppression>\n    <sname>insert_a_suppression_name_here</sname>\n    \
         <skind>Helgrind:Race</skind>\n    <sframe> <fun>main</fun> </sframe>\n    <rawtext>\n\
         <![CDATA[\n{\n   <insert_a_suppression_name_here>\n   Helgrind:Race\n   fun:main\n}\n]]>\n    \
         </rawtext>\n  </suppression>\n</error>\n"
    ));
}

#[test]
fn every_truncation_repairs_to_a_well_formed_document() {
    let mut errors = racy2_errors(true);
    errors.extend(racy_errors());
    let doc = racy2_xml(&errors, true);
    assert_eq!(repair(&doc), doc, "a complete document stays as it is");
    let complete_errors = |d: &str| count(&parse(d).expect("well formed"), "error");
    let mut last = 0;
    for cut in (0..doc.len()).filter(|&i| doc.is_char_boundary(i)) {
        let repaired = repair(&doc[..cut]);
        let n = complete_errors(&repaired);
        // Whole errors survive; a partly written one is dropped.
        assert_eq!(n, doc[..cut].matches("</error>").count(), "cut at {cut}");
        assert!(n >= last);
        last = n;
    }
    assert_eq!(last, 6);
}

#[test]
fn a_killed_writer_leaves_a_repairable_prefix() {
    let errors = racy2_errors(false);
    let mut xml = XmlWriter::start(Vec::new(), &racy2_preamble(), Duration::ZERO).expect("write");
    xml.error(&errors[0], None).expect("write");
    xml.error(&errors[2], None).expect("write");
    // The program dies here: no `finish`. What was written is whole errors.
    let partial = String::from_utf8(xml_into_inner(xml)).expect("UTF-8");
    let repaired = repair(&partial);
    let names = parse(&repaired).expect("well formed");
    assert_eq!(count(&names, "error"), 2);
    assert!(repaired.starts_with(&partial));
}

fn xml_into_inner(xml: XmlWriter<Vec<u8>>) -> Vec<u8> {
    // `finish` would complete the document; what a dead process leaves is
    // what was flushed, which is the writer's buffer as it stands.
    xml.into_inner()
}
