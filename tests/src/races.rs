//! The labelled race programs of `tests/programs/races/`: their names,
//! labels and builds, shared by the tests that check a tool against them.

use crate::labels::{parse_labels, Labels};
use crate::{profile_dir, program_source, Program};

/// The file names of `tests/programs/races/*.c`, sorted.
pub fn race_programs() -> Vec<String> {
    let dir = program_source("races");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            entry
                .expect("readable directory entry")
                .file_name()
                .into_string()
                .expect("UTF-8 file name")
        })
        .filter(|name| name.ends_with(".c"))
        .collect();
    names.sort();
    names
}

/// The labels of `races/NAME`; panics on a malformed label.
pub fn labels_of(name: &str) -> Labels {
    let path = program_source(&format!("races/{name}"));
    let source =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    parse_labels(name, &source).unwrap_or_else(|err| panic!("{err}"))
}

/// The compiler flags the `build-with` label of `races/NAME` asks for
/// (`pkg-config --cflags --libs PACKAGE...`); none without the label.
pub fn build_flags(name: &str) -> Vec<String> {
    let packages = labels_of(name).build_with;
    if packages.is_empty() {
        return Vec::new();
    }
    let out = std::process::Command::new("pkg-config")
        .args(["--cflags", "--libs"])
        .args(&packages)
        .output()
        .unwrap_or_else(|err| panic!("{name}: cannot run pkg-config: {err}"));
    assert!(
        out.status.success(),
        "{name}: pkg-config {packages:?} failed (scripts/setup installs them): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Compiles `races/NAME` (`-g -O1 -pthread` and `extra`) through
/// `Program::build_with`, whose cache key keeps the `races/` prefix.
pub fn build_race_program(name: &str, extra: &[&str]) -> Program {
    build_in("races", name, extra)
}

/// Compiles `DIR/NAME` from `tests/programs/`, making the cache
/// subdirectory the key needs.
pub fn build_in(dir: &str, name: &str, extra: &[&str]) -> Program {
    let cache = profile_dir().join("hbgrind-tests").join("cache").join(dir);
    std::fs::create_dir_all(&cache).expect("cache dir creatable");
    Program::build_with(&format!("{dir}/{name}"), extra)
}
