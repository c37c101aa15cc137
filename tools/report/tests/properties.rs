//! Properties: the greedy matchers agree with naive recursive definitions,
//! generated suppressions always hide their error, and no input makes the
//! parsers or the XML repair panic.

use hb_engine::{Access, AccessKind, Race, Report, ThreadId};
use hbgrind_report::{
    generate_suppression, glob_match, repair, ErrorRecord, Frame, Stack, SuppressionSet,
};
use proptest::prelude::*;

/// Valgrind's definition, recursively: `*` any run, `?` one char, `\c` c.
fn glob_reference(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| glob_reference(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && glob_reference(&p[1..], &t[1..]),
        Some('\\') => match p.get(1) {
            None => false,
            Some(c) => t.first() == Some(c) && glob_reference(&p[2..], &t[1..]),
        },
        Some(c) => t.first() == Some(c) && glob_reference(&p[1..], &t[1..]),
    }
}

/// A frame line of a test pattern: `None` is `...`, else a `fun:` glob.
fn frames_reference(pattern: &[Option<String>], names: &[String]) -> bool {
    match pattern.first() {
        None => true, // prefix match
        Some(None) => (0..=names.len()).any(|i| frames_reference(&pattern[1..], &names[i..])),
        Some(Some(p)) => {
            !names.is_empty()
                && glob_match(p, &names[0])
                && frames_reference(&pattern[1..], &names[1..])
        }
    }
}

fn race_with(frames: Vec<Frame>) -> ErrorRecord {
    let access = |thread, site| Access {
        thread: ThreadId(thread),
        kind: AccessKind::Write,
        atomic: false,
        site,
        locks_held: Some(vec![]),
    };
    ErrorRecord::new(Report::Race(Race {
        addr: 0x10,
        size: 4,
        racy_addr: 0x10,
        racy_len: 4,
        current: access(1, 1),
        prior: access(2, 2),
    }))
    .with_stack(1, Stack::new(frames))
}

fn named(names: &[String]) -> Vec<Frame> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| Frame {
            ip: i as u64,
            linkage_name: Some(n.clone()),
            function: Some(n.clone()),
            object: Some("/bin/x".into()),
            ..Frame::default()
        })
        .collect()
}

proptest! {
    #[test]
    fn glob_agrees_with_the_recursive_definition(
        p in "[ab*?\\\\]{0,8}",
        t in "[ab*?\\\\]{0,8}",
    ) {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(glob_match(&p, &t), glob_reference(&pc, &tc));
    }

    #[test]
    fn frame_matching_agrees_with_the_recursive_definition(
        pattern in prop::collection::vec(prop::option::of("[abc*]{1,2}"), 1..6),
        names in prop::collection::vec("[abc]{1,2}", 0..7),
    ) {
        prop_assume!(pattern.iter().any(Option::is_some));
        let mut text = String::from("{\n  p\n  Helgrind:Race\n");
        for line in &pattern {
            match line {
                None => text.push_str("  ...\n"),
                Some(p) => text.push_str(&format!("  fun:{p}\n")),
            }
        }
        text.push_str("}\n");
        let mut set = SuppressionSet::new();
        set.set_num_callers(100);
        set.add_str("p.supp", &text).expect("valid");
        let err = race_with(named(&names));
        prop_assert_eq!(set.find(&err).is_some(), frames_reference(&pattern, &names));
    }

    #[test]
    fn generated_suppressions_hide_their_error(
        names in prop::collection::vec(prop::option::of("[a-z_*?\\\\:@. ]{1,12}"), 1..12),
    ) {
        let frames: Vec<Frame> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Frame {
                ip: i as u64,
                linkage_name: n.clone(),
                function: n.clone(),
                object: if i % 3 == 0 { None } else { Some(format!("/lib/l{i}*.so")) },
                ..Frame::default()
            })
            .collect();
        let err = race_with(frames);
        let generated = generate_suppression(&err).to_text();
        let mut set = SuppressionSet::new();
        set.set_num_callers(100);
        set.add_str("gen.supp", &generated).expect("generated text parses");
        prop_assert!(set.find(&err).is_some(), "{}", generated);
    }

    #[test]
    fn suppression_parser_never_panics(
        lines in prop::collection::vec(
            prop::sample::select(vec![
                "{", "}", "name", "Helgrind:Race", "drd:MutexErr", "Memcheck:Leak",
                "Helgrind:Misc", "hbgrind:Nope", "fun:x*", "obj:", "src:a.c:0",
                "src:a.c:7", "src:a.c:x", "...", "# c", "", "  ", "extra", "a:b:c", "\u{e9}\u{e9}\u{e9}",
            ]),
            0..24,
        ),
    ) {
        let _ = SuppressionSet::new().add_str("f.supp", &lines.join("\n"));
    }

    #[test]
    fn repair_never_panics(doc in "(<[a-z/]{0,3}>|[a-z<>&;/\"]{0,4}|\n){0,30}") {
        let _ = repair(&doc);
        let _ = repair(&format!("<?xml version=\"1.0\"?>\n<valgrindoutput>\n{doc}"));
    }
}

proptest! {
    #[test]
    fn demangling_never_panics(name in "(_Z|_R|_ZN)[A-Za-z0-9_$.@]{0,24}") {
        let _ = hbgrind_report::demangle(&name);
    }
}
