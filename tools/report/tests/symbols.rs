//! The symbolizer against real binaries: small C and C++ programs compiled
//! here with `cc`/`c++`, addresses read from their ELF symbol tables.

use std::path::{Path, PathBuf};
use std::process::Command;

use hbgrind_report::{Frame, LoadedModule, SymbolError, Symbolizer};
use object::{Object, ObjectSymbol};

const C_PROGRAM: &str = "\
int counter;
int worker(int x) {
    counter += x;
    return counter;
}
static inline __attribute__((always_inline)) int inner(int x) {
    return x * 3 + counter;
}
__attribute__((noinline)) int outer(int x) {
    return inner(x) + 1;
}
int main(void) { return worker(1) + outer(2) == 8 ? 0 : 1; }
";

const CPP_PROGRAM: &str = "\
namespace ns {
struct Foo {
    static int bar(int x);
};
int Foo::bar(int x) {
    return x + 1;
}
}
int main() { return ns::Foo::bar(1) - 2; }
";

/// Compiles `source` as `name` with `compiler` and `flags` in a fresh
/// temporary directory; returns it (kept alive by the caller) and the binary.
fn compile(
    compiler: &str,
    name: &str,
    source: &str,
    flags: &[&str],
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let src = dir.path().join(name);
    std::fs::write(&src, source).expect("write source");
    let exe = dir.path().join("prog");
    let status = Command::new(compiler)
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .current_dir(dir.path())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(status.success(), "{compiler} failed on {name}");
    (dir, exe)
}

/// Address and size of `name` in the ELF symbol table.
fn symbol(exe: &Path, name: &str) -> (u64, u64) {
    let data = std::fs::read(exe).expect("read binary");
    let file = object::File::parse(&*data).expect("parse ELF");
    file.symbols()
        .chain(file.dynamic_symbols())
        .find(|s| s.name() == Ok(name))
        .map(|s| (s.address(), s.size()))
        .unwrap_or_else(|| panic!("{name} not in the symbol table"))
}

fn module(exe: &Path, bias: u64) -> LoadedModule {
    LoadedModule::new(exe, bias)
}

/// (function, file, line) of each frame.
fn places(frames: &[Frame]) -> Vec<(Option<&str>, Option<&str>, Option<u32>)> {
    frames
        .iter()
        .map(|f| (f.function.as_deref(), f.file.as_deref(), f.line))
        .collect()
}

#[test]
fn c_function_name_file_and_exact_line() {
    let (dir, exe) = compile("cc", "prog.c", C_PROGRAM, &["-g", "-O0"]);
    let (worker, _) = symbol(&exe, "worker");
    let mut sym = Symbolizer::new();
    let frames = sym
        .symbolize(&module(&exe, 0), worker, false)
        .expect("symbolize");
    assert_eq!(
        places(&frames),
        vec![(Some("worker"), Some("prog.c"), Some(2))]
    );
    let f = &frames[0];
    assert_eq!(f.ip, worker);
    assert_eq!(f.linkage_name.as_deref(), Some("worker"));
    assert_eq!(f.dir.as_deref(), Some(&*dir.path().to_string_lossy()));
    assert_eq!(f.object.as_deref(), Some(&*exe.to_string_lossy()));
}

#[test]
fn every_line_of_a_function_body() {
    let (_dir, exe) = compile("cc", "prog.c", C_PROGRAM, &["-g", "-O0"]);
    let (worker, size) = symbol(&exe, "worker");
    let mut sym = Symbolizer::new();
    let m = module(&exe, 0);
    let mut lines = std::collections::BTreeSet::new();
    for ip in worker..worker + size {
        let frames = sym.symbolize(&m, ip, false).expect("symbolize");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].function.as_deref(), Some("worker"));
        lines.extend(frames[0].line);
    }
    assert_eq!(lines.into_iter().collect::<Vec<_>>(), vec![2, 3, 4, 5]);
}

#[test]
fn load_bias_is_subtracted() {
    let (_dir, exe) = compile("cc", "prog.c", C_PROGRAM, &["-g", "-O0"]);
    let (worker, _) = symbol(&exe, "worker");
    let bias = 0x5555_5555_4000;
    let mut sym = Symbolizer::new();
    let frames = sym
        .symbolize(&module(&exe, bias), worker + bias, false)
        .expect("symbolize");
    assert_eq!(
        places(&frames),
        vec![(Some("worker"), Some("prog.c"), Some(2))]
    );
    assert_eq!(frames[0].ip, worker + bias);
    assert_eq!(
        sym.symbolize(&module(&exe, bias), 0x1000, false),
        Err(SymbolError::BelowBias {
            path: exe.clone(),
            ip: 0x1000,
            bias
        })
    );
}

#[test]
fn return_addresses_are_looked_up_one_byte_earlier() {
    let (_dir, exe) = compile("cc", "prog.c", C_PROGRAM, &["-g", "-O0"]);
    let (worker, size) = symbol(&exe, "worker");
    let mut sym = Symbolizer::new();
    let m = module(&exe, 0);
    // The first byte after `worker` is another function; as a return
    // address it still belongs to `worker`'s last line.
    let after = worker + size;
    let as_return = sym.symbolize(&m, after, true).expect("symbolize");
    assert_eq!(
        places(&as_return),
        vec![(Some("worker"), Some("prog.c"), Some(5))]
    );
    assert_eq!(as_return[0].ip, after);
}

#[test]
fn inlined_calls_are_frames_of_their_own() {
    let (_dir, exe) = compile("cc", "prog.c", C_PROGRAM, &["-g", "-O1"]);
    let (outer, size) = symbol(&exe, "outer");
    let mut sym = Symbolizer::new();
    let m = module(&exe, 0);
    let frames = sym.symbolize(&m, outer, false).expect("symbolize");
    assert_eq!(
        places(&frames),
        vec![
            (Some("inner"), Some("prog.c"), Some(7)),
            (Some("outer"), Some("prog.c"), Some(10)),
        ]
    );
    assert!(frames.iter().all(|f| f.ip == outer));
    // And the stack as a whole: outer's code, then main's call of it.
    let (main, main_size) = symbol(&exe, "main");
    let call_return = (main..main + main_size)
        .find(|&ip| {
            let f = sym.symbolize(&m, ip, true).expect("symbolize");
            f.len() == 1 && f[0].line == Some(12)
        })
        .expect("an address in main");
    let stack = sym.stack(&[outer + size - 1, call_return], |_| Some(&m));
    let names: Vec<_> = stack.frames.iter().map(|f| f.function.as_deref()).collect();
    assert_eq!(names.last(), Some(&Some("main")));
}

#[test]
fn cpp_names_are_demangled_and_keep_their_linkage_name() {
    let (_dir, exe) = compile("c++", "prog.cpp", CPP_PROGRAM, &["-g", "-O0"]);
    let (bar, _) = symbol(&exe, "_ZN2ns3Foo3barEi");
    let mut sym = Symbolizer::new();
    let frames = sym
        .symbolize(&module(&exe, 0), bar, false)
        .expect("symbolize");
    assert_eq!(
        places(&frames),
        vec![(Some("ns::Foo::bar(int)"), Some("prog.cpp"), Some(5))]
    );
    assert_eq!(frames[0].linkage_name.as_deref(), Some("_ZN2ns3Foo3barEi"));
    assert_eq!(frames[0].match_name(), "_ZN2ns3Foo3barEi");
}

#[test]
fn without_dwarf_the_symbol_table_names_the_function() {
    let (_dir, exe) = compile("c++", "prog.cpp", CPP_PROGRAM, &["-O0"]);
    let (bar, _) = symbol(&exe, "_ZN2ns3Foo3barEi");
    let mut sym = Symbolizer::new();
    let frames = sym.frames(Some(&module(&exe, 0)), bar + 1, false);
    assert_eq!(
        places(&frames),
        vec![(Some("ns::Foo::bar(int)"), None, None)]
    );
    assert_eq!(frames[0].linkage_name.as_deref(), Some("_ZN2ns3Foo3barEi"));
    assert_eq!(frames[0].object.as_deref(), Some(&*exe.to_string_lossy()));
}

#[test]
fn an_unreadable_module_leaves_the_object_only() {
    let missing = LoadedModule::new("/nonexistent/libgone.so", 0);
    let mut sym = Symbolizer::new();
    let err = sym.symbolize(&missing, 0x1234, false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/libgone.so: cannot read symbols: "),
        "{err}"
    );
    let frames = sym.frames(Some(&missing), 0x1234, true);
    assert_eq!(
        frames,
        vec![Frame {
            ip: 0x1234,
            object: Some("/nonexistent/libgone.so".into()),
            ..Frame::default()
        }]
    );
    assert_eq!(sym.frames(None, 0x99, false), vec![Frame::unknown(0x99)]);
}

const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";

/// libc is stripped; Debian's libc6-dbg puts its DWARF and full symbol
/// table under /usr/lib/debug/.build-id, where Valgrind finds it too.
#[test]
fn libc_frames_are_named_as_valgrind_names_them() {
    if !Path::new(LIBC).exists() {
        return; // not a Debian-like x86-64 system
    }
    let (create, _) = symbol(Path::new(LIBC), "pthread_create");
    let (clone, _) = symbol(Path::new(LIBC), "clone");
    let mut sym = Symbolizer::new();
    let m = LoadedModule::new(LIBC, 0);
    let create_frames = sym.frames(Some(&m), create + 4, false);
    let clone_frames = sym.frames(Some(&m), clone + 4, false);
    let has_debug_file = std::path::Path::new("/usr/lib/debug/.build-id").is_dir()
        && create_frames.iter().any(|f| f.file.is_some());
    let outer = |frames: &[Frame]| {
        let f = frames.last().expect("never empty").clone();
        (f.function, f.file)
    };
    if has_debug_file {
        assert_eq!(
            outer(&create_frames),
            (
                Some("pthread_create@@GLIBC_2.34".into()),
                Some("pthread_create.c".into())
            )
        );
        assert_eq!(
            outer(&clone_frames),
            (Some("clone".into()), Some("clone.S".into()))
        );
    } else {
        // The dynamic symbol table only: names, no places.
        assert_eq!(outer(&create_frames), (Some("pthread_create".into()), None));
        assert_eq!(outer(&clone_frames), (Some("clone".into()), None));
    }
}

const RUST_PROGRAM: &str = "\
#[inline(never)]
pub fn my_function(x: u32) -> u32 {
    x.wrapping_mul(3)
}
fn main() {
    std::process::exit(my_function(std::env::args().count() as u32) as i32 - 3);
}
";

#[test]
fn rust_names_are_demangled() {
    let (_dir, exe) = compile(
        "rustc",
        "prog.rs",
        RUST_PROGRAM,
        &["-g", "-C", "opt-level=0"],
    );
    let data = std::fs::read(&exe).expect("read binary");
    let file = object::File::parse(&*data).expect("parse ELF");
    let (mangled, addr) = file
        .symbols()
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .find(|(n, _)| hbgrind_report::demangle(n) == "prog::my_function")
        .expect("my_function in the symbol table");
    let mut sym = Symbolizer::new();
    let frames = sym
        .symbolize(&module(&exe, 0), addr, false)
        .expect("symbolize");
    assert_eq!(
        places(&frames),
        vec![(Some("prog::my_function"), Some("prog.rs"), Some(2))]
    );
    assert_eq!(frames[0].linkage_name.as_deref(), Some(mangled.as_str()));
}

#[test]
fn files_that_are_not_elf_or_are_cut_short_are_errors_not_panics() {
    let (dir, exe) = compile("cc", "prog.c", C_PROGRAM, &["-g", "-O0"]);
    let (worker, _) = symbol(&exe, "worker");
    let bytes = std::fs::read(&exe).expect("read binary");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just text\n").expect("write");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").expect("write");
    let mut sym = Symbolizer::new();
    for bad in [&text, &empty, &dir.path().to_path_buf()] {
        let err = sym.symbolize(&module(bad, 0), 0x1000, false).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{}: cannot read symbols: ", bad.display())),
            "{shown}"
        );
        assert_eq!(
            sym.frames(Some(&module(bad, 0)), 0x1000, false),
            vec![Frame {
                ip: 0x1000,
                object: Some(bad.display().to_string()),
                ..Frame::default()
            }]
        );
    }
    // Every way of cutting the binary short: an error or some frame, never a panic.
    for len in [16, 64, 512, 4096, bytes.len() / 2, bytes.len() - 100] {
        let cut = dir.path().join(format!("cut{len}"));
        std::fs::write(&cut, &bytes[..len]).expect("write");
        let frames = sym.frames(Some(&module(&cut, 0)), worker, false);
        assert_eq!(frames.len(), 1, "cut at {len}");
    }
}

const GLOBALS_PROGRAM: &str = "\
int counter;
struct pair { long a; long b; } table[4];
static int hidden = 3;
int use(void) { static int calls; calls++; return counter + (int)table[1].b + hidden + calls; }
int main(void) { return use(); }
";

/// (symbol-table name prefix) -> address, for names the compiler may suffix
/// (`calls.0`).
fn symbol_starting(exe: &Path, prefix: &str) -> u64 {
    let data = std::fs::read(exe).expect("read binary");
    let file = object::File::parse(&*data).expect("parse ELF");
    file.symbols()
        .find(|s| {
            s.name()
                .is_ok_and(|n| n == prefix || n.starts_with(&format!("{prefix}.")))
        })
        .map(|s| s.address())
        .unwrap_or_else(|| panic!("{prefix} not in the symbol table"))
}

#[test]
fn data_addresses_are_described_by_dwarf_variables() {
    use hbgrind_report::AddressDescription::{DataSymbol, GlobalVar};
    let (_dir, exe) = compile("cc", "prog.c", GLOBALS_PROGRAM, &["-g", "-O0"]);
    let bias = 0x5555_0000_0000;
    let m = module(&exe, bias);
    let mut sym = Symbolizer::new();
    let var = |name: &str, offset, line| {
        let addr = symbol_starting(&exe, name) + bias + offset;
        (
            addr,
            Some(GlobalVar {
                addr,
                offset,
                name: name.into(),
                declared_at: Some(("prog.c".into(), line)),
            }),
        )
    };
    for (addr, expected) in [
        var("counter", 0, 1),
        var("counter", 3, 1),
        var("table", 0, 2),
        var("table", 24, 2),
        var("table", 63, 2),
        var("hidden", 0, 3),
        var("calls", 0, 4),
    ] {
        assert_eq!(sym.describe_data(&m, addr), expected);
    }
    // Code is not data.
    let (main, _) = symbol(&exe, "main");
    assert_eq!(sym.describe_data(&m, main + bias), None);

    // Without DWARF, the symbol table still names the object.
    let (_dir, plain) = compile("cc", "prog.c", GLOBALS_PROGRAM, &["-O0"]);
    let table = symbol_starting(&plain, "table");
    assert_eq!(
        sym.describe_data(&module(&plain, 0), table + 24),
        Some(DataSymbol {
            addr: table + 24,
            offset: 24,
            name: "table".into()
        })
    );
}

#[test]
fn variables_of_atomic_type_are_found_with_their_element_size() {
    const C: &str = "#include <stdatomic.h>
_Atomic int flag;
static _Atomic long counters[4];
typedef _Atomic(short) tiny_t;
const tiny_t *volatile where;
tiny_t tiny = 1;
atomic_uint words[2][3];
int plain;
long *use(void) { return (long *)&counters[1]; }
int main(void) { return flag + plain + tiny; }
";
    let (_dir, exe) = compile("cc", "atomics.c", C, &["-g", "-O0"]);
    let mut sym = Symbolizer::new();
    let bias = 0x1000;
    let mut found = sym.atomic_variables(&module(&exe, bias));
    found.sort();
    let at = |name: &str| symbol(&exe, name).0 + bias;
    let mut expected = vec![
        (at("flag"), 4, 4),
        (at("counters"), 32, 8),
        (at("tiny"), 2, 2),
        (at("words"), 24, 4),
    ];
    expected.sort();
    // `where` points at atomics but is not one; `plain` is not either.
    assert_eq!(found, expected);
    // Without DWARF in the module: nothing (and no error).
    let (_dir2, stripped) = compile("cc", "atomics.c", C, &["-O0", "-s"]);
    assert!(sym.atomic_variables(&module(&stripped, 0)).is_empty());
}

#[test]
fn atomic_fields_of_global_structs_are_found_at_their_offsets() {
    // CPython's shape: an atomic wrapped in a struct, inside nested
    // structs of a global, next to plain fields; arrays of such structs;
    // a union member; a bit-field and a pointer to atomics are neither.
    const C: &str = "#include <stdatomic.h>
typedef struct { atomic_int value; } wrapped_int;
struct inner { long plain; wrapped_int request; _Atomic char tag; };
struct outer { int first; struct inner ceval; unsigned bits : 3; _Atomic int *where; };
struct outer runtime;
struct slot { int plain; _Atomic short turn; } slots[3];
union either { long plain; _Atomic long word; } either_one;
int main(void) { return runtime.first + slots[0].plain + (int)either_one.plain; }
";
    let (_dir, exe) = compile("cc", "fields.c", C, &["-g", "-O0"]);
    let mut sym = Symbolizer::new();
    let mut found = sym.atomic_variables(&module(&exe, 0));
    found.sort();
    let at = |name: &str| symbol(&exe, name).0;
    let mut expected = vec![
        (at("runtime") + 16, 4, 4),
        (at("runtime") + 20, 1, 1),
        (at("slots") + 4, 2, 2),
        (at("slots") + 12, 2, 2),
        (at("slots") + 20, 2, 2),
        (at("either_one"), 8, 8),
    ];
    expected.sort();
    assert_eq!(found, expected);
}
