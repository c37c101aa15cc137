//! Cross-check with Valgrind itself: run a racy program under
//! `valgrind --tool=helgrind`, take every frame it printed for the program's
//! own code, and symbolize the same addresses: same function, file and line.
//! Skipped where valgrind is not installed.

use std::path::Path;
use std::process::Command;

use hbgrind_report::{LoadedModule, Symbolizer};

const RACY: &str = include_str!("data/racy2.c");

/// `   at 0x401136: worker (racy2.c:14)` -> (ip, is_first, "worker", "racy2.c", 14)
fn parse_frame(line: &str) -> Option<(u64, bool, String, String, u32)> {
    let rest = line.split_once("== ")?.1.trim_start();
    let (first, rest) = if let Some(r) = rest.strip_prefix("at 0x") {
        (true, r)
    } else {
        (false, rest.strip_prefix("by 0x")?)
    };
    let (ip, rest) = rest.split_once(": ")?;
    let ip = u64::from_str_radix(ip, 16).ok()?;
    let (function, place) = rest.rsplit_once(" (")?;
    let (file, line) = place.strip_suffix(')')?.rsplit_once(':')?;
    Some((
        ip,
        first,
        function.to_string(),
        file.to_string(),
        line.parse().ok()?,
    ))
}

#[test]
fn frames_of_the_program_match_valgrinds() {
    let valgrind_present = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !valgrind_present {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("racy2.c"), RACY).expect("write source");
    let exe = dir.path().join("racy2");
    // Not PIE, so Valgrind's addresses are the file's (load bias 0).
    let status = Command::new("cc")
        .args(["-g", "-O0", "-no-pie", "-pthread", "racy2.c", "-o", "racy2"])
        .current_dir(dir.path())
        .status()
        .expect("run cc");
    assert!(status.success());
    let out = Command::new("valgrind")
        .args(["--tool=helgrind", "--num-callers=30"])
        .arg(&exe)
        .current_dir(dir.path())
        .output()
        .expect("run valgrind");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let frames: Vec<_> = stderr
        .lines()
        .filter_map(parse_frame)
        .filter(|f| f.3 == "racy2.c")
        .collect();
    assert!(frames.len() >= 8, "too few frames in:\n{stderr}");
    let module = LoadedModule::new(Path::new(&exe), 0);
    let mut sym = Symbolizer::new();
    for (ip, first, function, file, line) in frames {
        let ours = sym.frames(Some(&module), ip, !first);
        let outer = ours.last().expect("never empty");
        assert_eq!(
            (outer.function.as_deref(), outer.file.as_deref(), outer.line),
            (Some(function.as_str()), Some(file.as_str()), Some(line)),
            "at 0x{ip:X}"
        );
    }
}
