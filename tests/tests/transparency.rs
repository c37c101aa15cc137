//! Transparency: real programs and hand-written hard cases give the same
//! stdout, stderr and exit status under `hbgrind --tool=none` as natively,
//! and the same stdout and status under `--tool=inscount` (whose stderr
//! adds its `==PID==` count lines).
//!
//! Each workload is a module with two tests, `none` and `inscount`. Every
//! test also checks the native run itself (status, a known line), so a
//! workload that silently broke (a missing program, a changed input) fails
//! instead of comparing two identical error messages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use hbgrind_tests::{
    assert_same, assert_same_stdout_and_status, cached_file, program_source, scratch_dir, Output,
    Program, Rng, Run,
};

/// Native output checks shared by the `none` and `inscount` variants.
fn expect(native: &Output, status: i32, stdout_line: &str) {
    assert_eq!(
        native.status.code(),
        Some(status),
        "native run of {} ended with {}: {}",
        native.command,
        native.status_text(),
        native.stderr_text()
    );
    let stdout = native.stdout_text();
    assert!(
        stdout.lines().any(|line| line == stdout_line),
        "native stdout of {} lacks the line {stdout_line:?}:\n{}",
        native.command,
        &stdout[..stdout.len().min(2000)]
    );
}

/// Declares `mod NAME { fn none(); fn inscount(); }` for one workload:
/// `$run` builds the `Run`, `$check` checks the native output.
macro_rules! workload {
    ($name:ident, $run:expr, $check:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn none() {
                let run: Run = $run;
                let native = run.native();
                let check: fn(&Output) = $check;
                check(&native);
                assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
            }

            #[test]
            fn inscount() {
                let run: Run = $run;
                let native = run.native();
                let check: fn(&Output) = $check;
                check(&native);
                assert_same_stdout_and_status(&native, &run.under_hbgrind(&["--tool=inscount"]));
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Generated inputs, cached across tests and runs (keys name their version).

/// 20 MB of text lines with repeated and unique keys, for sort and sha256sum.
fn big_text_file() -> PathBuf {
    cached_file("lines-20MB-v1.txt", |path| {
        const WORDS: [&str; 16] = [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
            "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
        ];
        let mut rng = Rng::new(20);
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut written = 0;
        while written < 20 << 20 {
            let line = format!(
                "{} {:08x} {} {}\n",
                WORDS[rng.below(16) as usize],
                rng.next_u64() as u32,
                rng.below(1_000_000),
                WORDS[rng.below(16) as usize].to_uppercase()
            );
            written += line.len();
            out.write_all(line.as_bytes()).unwrap();
        }
        out.flush().unwrap();
    })
}

/// A tree of 240 text files in 12 directories (about 12 MB), for grep -r.
fn text_tree() -> PathBuf {
    cached_file("tree-v1", |dir| {
        let mut rng = Rng::new(7);
        for d in 0..12 {
            let sub = dir.join(format!("dir{d:02}"));
            std::fs::create_dir_all(&sub).unwrap();
            for f in 0..20 {
                let mut text = String::new();
                for line in 0..1200 {
                    let n = rng.below(100_000);
                    match rng.below(10) {
                        0 => text.push_str(&format!("ERROR code={n} at line {line}\n")),
                        1 => text.push_str(&format!("warning: value {n} out of range\n")),
                        _ => text.push_str(&format!(
                            "info {line}: the quick brown fox {n} jumps over {} lazy dogs\n",
                            n % 97
                        )),
                    }
                }
                std::fs::write(sub.join(format!("file{f:02}.log")), text).unwrap();
            }
        }
    })
}

/// SQL that builds a database of customers, products and orders.
fn sqlite_build_script() -> String {
    let mut rng = Rng::new(3);
    let mut sql = String::from(
        "PRAGMA journal_mode=OFF;\n\
         BEGIN;\n\
         CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT);\n\
         CREATE TABLE product(id INTEGER PRIMARY KEY, name TEXT, price REAL);\n\
         CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, product INTEGER, qty INTEGER, day INTEGER);\n",
    );
    const CITIES: [&str; 8] = [
        "Berlin", "Lisbon", "Oslo", "Prague", "Quito", "Rome", "Seoul", "Tunis",
    ];
    for id in 0..5000 {
        sql.push_str(&format!(
            "INSERT INTO customer VALUES({id}, 'customer{id:05}', '{}');\n",
            CITIES[rng.below(8) as usize]
        ));
    }
    for id in 0..500 {
        sql.push_str(&format!(
            "INSERT INTO product VALUES({id}, 'product{id:03}', {}.{:02});\n",
            1 + rng.below(300),
            rng.below(100)
        ));
    }
    for id in 0..120_000 {
        sql.push_str(&format!(
            "INSERT INTO orders VALUES({id}, {}, {}, {}, {});\n",
            rng.below(5000),
            rng.below(500),
            1 + rng.below(9),
            rng.below(365)
        ));
    }
    sql.push_str("CREATE INDEX orders_customer ON orders(customer);\nCOMMIT;\n");
    sql
}

/// Read-only queries: joins, grouping, ordering, window functions, CTEs.
const SQLITE_QUERIES: &str = "\
SELECT count(*), sum(qty), min(day), max(day) FROM orders;
SELECT c.city, count(*), sum(o.qty * p.price) AS revenue
  FROM orders o JOIN customer c ON c.id = o.customer JOIN product p ON p.id = o.product
  GROUP BY c.city ORDER BY revenue DESC;
SELECT p.name, sum(o.qty) AS sold FROM orders o JOIN product p ON p.id = o.product
  GROUP BY p.id ORDER BY sold DESC, p.name LIMIT 10;
SELECT customer, total, rank() OVER (ORDER BY total DESC) FROM
  (SELECT customer, sum(qty) AS total FROM orders GROUP BY customer) ORDER BY total DESC, customer LIMIT 10;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000)
  SELECT sum(x), group_concat(x % 10, '') FROM (SELECT x FROM n WHERE x % 97 = 0);
SELECT day / 30 AS month, count(DISTINCT customer) FROM orders GROUP BY month ORDER BY month;
SELECT name FROM customer WHERE name LIKE '%777%' ORDER BY name;
SELECT printf('%.3f', avg(price)), upper(substr(name, 1, 4)) FROM product;
";

/// A database built natively from `sqlite_build_script`.
fn sqlite_database() -> PathBuf {
    cached_file("shop-v1.sqlite", |path| {
        let mut child = Command::new("sqlite3")
            .arg(path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sqlite3 is installed (apt-get install sqlite3)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sqlite_build_script().as_bytes())
            .unwrap();
        assert!(
            child.wait().unwrap().success(),
            "sqlite3 failed to build the database"
        );
    })
}

/// A C file big enough to keep cc1 busy, preprocessed natively with the
/// system headers (cc1 alone does not know the multiarch include paths).
fn preprocessed_c_file() -> PathBuf {
    cached_file("cc1-input-v2.i", |path| {
        let mut c = String::from(
            "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <math.h>\n\
             struct item { int key; double weight; char name[32]; struct item *next; };\n",
        );
        for f in 0..150 {
            c.push_str(&format!(
                "static int cmp{f}(const void *a, const void *b) {{\n\
                 \tconst struct item *x = a, *y = b;\n\
                 \treturn (x->key * {m} % 101) - (y->key * {m} % 101);\n}}\n\
                 double work{f}(struct item *items, int n, int mode) {{\n\
                 \tdouble acc = {f}.5;\n\
                 \tqsort(items, n, sizeof *items, cmp{f});\n\
                 \tfor (int i = 0; i < n; i++) {{\n\
                 \t\tswitch ((items[i].key + mode) % 6) {{\n\
                 \t\tcase 0: acc += sqrt(items[i].weight); break;\n\
                 \t\tcase 1: acc -= items[i].weight * {m}; break;\n\
                 \t\tcase 2: acc *= 1.0001; break;\n\
                 \t\tcase 3: acc += strlen(items[i].name); break;\n\
                 \t\tcase 4: if (items[i].next) acc += items[i].next->key; break;\n\
                 \t\tdefault: snprintf(items[i].name, sizeof items[i].name, \"w%d\", i + {f});\n\
                 \t\t}}\n\t}}\n\
                 \tfor (int j = 0; j < {f} % 7 + 2; j++) acc = acc / (1.0 + j) + j * {m};\n\
                 \treturn acc;\n}}\n",
                m = f * 31 % 17 + 1
            ));
        }
        let source = path.with_extension("c");
        std::fs::write(&source, c).unwrap();
        let status = Command::new("gcc")
            .args(["-E", "-P"])
            .arg(&source)
            .arg("-o")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "gcc -E failed");
        std::fs::remove_file(source).unwrap();
    })
}

fn cc1_path() -> PathBuf {
    let out = Command::new("gcc")
        .arg("-print-prog-name=cc1")
        .output()
        .expect("gcc is installed");
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(
        path.is_absolute() && path.is_file(),
        "cc1 not found: {path:?}"
    );
    path
}

// ---------------------------------------------------------------------------
// Real programs.

workload!(
    ls_usr_bin,
    Run::new("ls").args(["-la", "/usr/bin"]).env("LC_ALL", "C"),
    |native| {
        assert_eq!(native.status.code(), Some(0));
        assert!(native.stdout_text().starts_with("total "));
        assert!(native.stdout_text().lines().count() > 100);
    }
);

workload!(
    sort_20mb,
    Run::new("sort")
        .args(["--parallel=1", "-k2,2", "-k1"])
        .arg(big_text_file())
        .env("LC_ALL", "C"),
    |native| {
        assert_eq!(native.status.code(), Some(0));
        assert!(native.stdout.len() > 20 << 20, "sort output too short");
        assert_eq!(native.stderr_text(), "");
    }
);

workload!(
    sort_numeric_unique,
    Run::new("sort")
        .args(["--parallel=1", "-t", " ", "-k3,3n", "-u"])
        .arg(big_text_file())
        .env("LC_ALL", "C"),
    |native| {
        assert_eq!(native.status.code(), Some(0));
        assert!(native.stdout_text().lines().count() > 100_000);
    }
);

workload!(
    sha256sum_20mb,
    Run::new("sha256sum").arg(big_text_file()),
    |native| {
        assert_eq!(native.status.code(), Some(0));
        assert_eq!(native.stdout_text().split(' ').next().unwrap().len(), 64);
    }
);

workload!(
    grep_recursive,
    Run::new("grep")
        .args(["-rnE", "ERROR code=[0-9]*7[0-9]* |warning: value 99"])
        .arg(text_tree())
        .env("LC_ALL", "C"),
    |native| {
        assert_eq!(native.status.code(), Some(0));
        assert!(native.stdout_text().lines().count() > 10_000);
    }
);

workload!(
    grep_count_no_match_status,
    Run::new("grep")
        .args(["-rc", "--include=*.log", "no such text anywhere"])
        .arg(text_tree()),
    |native| {
        // grep exits 1 when nothing matched.
        assert_eq!(native.status.code(), Some(1));
        assert_eq!(native.stdout_text().lines().count(), 240);
    }
);

workload!(
    python3_usr_bin,
    Run::new("/usr/bin/python3").arg(program_source("workload.py")),
    |native| {
        expect(native, 3, "round trip True");
        assert_eq!(native.stderr_text(), "done\n");
    }
);

workload!(
    python3_in_path,
    Run::new("python3").arg(program_source("workload.py")),
    |native| {
        expect(native, 3, "chained: wrapped <- KeyError('bottom')");
        assert_eq!(native.stderr_text(), "done\n");
    }
);

workload!(
    perl_e,
    Run::new("perl").args([
        "-e",
        r#"
        use strict; use warnings;
        my %count; my @words = map { ("w" . ($_ * 7 % 113)) x ($_ % 3 + 1) } 1 .. 50000;
        $count{$_}++ for @words;
        my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 4];
        printf "%d distinct, top %s\n", scalar(keys %count), join(",", map { "$_=$count{$_}" } @top);
        my $text = join " ", map { "id$_=" . ($_ ** 2 % 1009) } 1 .. 20000;
        my @m = $text =~ /id(\d+)=(10\d\d)\b/g;
        print "matches ", scalar(@m) / 2, " sum ", eval { my $s = 0; $s += $_ for @m; $s }, "\n";
        (my $t = $text) =~ s/(\d+)=(\d+)/$2:$1/g;
        print "subst ", length($t), " ", substr($t, 0, 40), "\n";
        my $r = eval { die { code => 42 } }; print "died with ", $@->{code}, "\n";
        print STDERR "perl stderr line\n";
        exit 9;
        "#,
    ]),
    |native| {
        expect(native, 9, "died with 42");
        assert_eq!(native.stderr_text(), "perl stderr line\n");
    }
);

workload!(
    sqlite3_queries,
    Run::new("sqlite3")
        .args(["-readonly", "-header", "-separator", "|"])
        .arg(sqlite_database())
        .stdin(SQLITE_QUERIES),
    |native| {
        assert_eq!(native.status.code(), Some(0), "{}", native.stderr_text());
        assert!(native.stdout_text().contains("Berlin|"));
        assert_eq!(native.stderr_text(), "");
    }
);

workload!(
    sqlite3_build_in_memory,
    Run::new("sqlite3")
        .arg(":memory:")
        .stdin(sqlite_build_script() + SQLITE_QUERIES + "SELECT * FROM no_such_table;\n"),
    |native| {
        // The last statement fails: sqlite3 reports it and exits 1.
        assert_eq!(native.status.code(), Some(1));
        assert!(native.stdout_text().contains("Berlin|"));
        assert!(native
            .stderr_text()
            .contains("no such table: no_such_table"));
    }
);

workload!(
    bash_loops_and_subshells,
    Run::new("bash").arg(program_source("loops.sh")),
    |native| {
        expect(native, 4, "count after subshells 0");
        expect(native, 4, "heredoc total=144245");
    }
);

/// cc1 compiles into a file: compare the assembly it wrote too.
fn cc1_run(out_dir: &Path) -> Run {
    Run::new(cc1_path())
        .args(["-quiet", "-O2", "-fpreprocessed", "-Wall"])
        .arg(preprocessed_c_file())
        .args(["-o", "out.s"])
        .dir(out_dir)
}

fn check_cc1(tool: &str) {
    let native_dir = scratch_dir(&format!("cc1-native-{tool}"));
    let hbgrind_dir = scratch_dir(&format!("cc1-hbgrind-{tool}"));
    let native = cc1_run(&native_dir).native();
    assert_eq!(native.status.code(), Some(0), "{}", native.stderr_text());
    let translated = cc1_run(&hbgrind_dir).under_hbgrind(&[tool]);
    if tool == "--tool=none" {
        assert_same(&native, &translated);
    } else {
        assert_same_stdout_and_status(&native, &translated);
    }
    let native_asm = std::fs::read_to_string(native_dir.join("out.s")).unwrap();
    assert!(native_asm.contains("work149:"));
    let translated_asm =
        std::fs::read_to_string(hbgrind_dir.join("out.s")).expect("cc1 under hbgrind wrote out.s");
    assert!(
        native_asm == translated_asm,
        "cc1 wrote different assembly under hbgrind {tool}"
    );
}

mod cc1 {
    #[test]
    fn none() {
        super::check_cc1("--tool=none");
    }

    #[test]
    fn inscount() {
        super::check_cc1("--tool=inscount");
    }
}

// ---------------------------------------------------------------------------
// Hand-written programs for the hard parts (tests/programs/).

workload!(
    rip_relative,
    Program::build("rip_relative.c").command(),
    |native| expect(native, 0, "asm rip 21040 global 1115")
);

workload!(
    jump_table,
    Program::build("jump_table.c").command(),
    |native| expect(native, 0, "interpreter 954896439")
);

workload!(
    tail_calls,
    Program::build("tail_calls.c").command(),
    |native| expect(native, 0, "asm countdown 6764006369428983235")
);

workload!(
    indirect_calls,
    Program::build_with("indirect_calls.c", &["-lm"]).command(),
    |native| expect(
        native,
        0,
        "sorted check 12170819186850079094, found at 66666"
    )
);

workload!(
    deep_recursion,
    Program::build("deep_recursion.c").command(),
    |native| expect(native, 0, "ackermann(3, 8) 2045")
);

workload!(
    setjmp_longjmp,
    Program::build("setjmp_longjmp.c").command(),
    |native| expect(native, 0, "jumps 3, USR1 blocked 1, USR2 blocked 0")
);

workload!(
    cxx_exceptions,
    Program::build("exceptions.cpp").command(),
    |native| {
        expect(native, 0, "app 31500 logic 17625 other 0");
        expect(native, 0, "destructor sum 861367");
    }
);

workload!(red_zone, Program::build("red_zone.c").command(), |native| {
    expect(native, 0, "survived 100000 of 100000")
});

workload!(
    rep_string,
    Program::build("rep_string.c").command(),
    |native| expect(native, 0, "cmpsb: stopped after 3002, rcx 1094, equal 0")
);

workload!(
    cpuid_rdtsc_xgetbv,
    Program::build("cpu_info.c").command(),
    |native| expect(native, 0, "tsc moved forward 1000 of 1000 times")
);

workload!(avx2, Program::build("avx2.c").command(), |native| expect(
    native,
    0,
    "gather 5915196846377035776"
));

workload!(avx512, Program::build("avx512.c").command(), |native| {
    expect(native, 0, "compressed 458937 hash 13655457148673092369")
});

workload!(
    asm_syscalls,
    Program::build("asm_syscalls.S").command(),
    |native| expect(native, 7, "000000000007a314")
);

// ---------------------------------------------------------------------------
// Children followed with --trace-children=yes: every execve'd program
// (seq, cat in loops.sh; cc1 and as under gcc) also runs translated.

#[test]
fn bash_with_traced_children() {
    let run = Run::new("bash").arg(program_source("loops.sh"));
    let native = run.native();
    expect(&native, 4, "5:line");
    assert_same(
        &native,
        &run.under_hbgrind(&["--tool=none", "--trace-children=yes"]),
    );
}

#[test]
fn bash_with_traced_children_inscount_counts_each_process() {
    // bash forks three children that exec seq, cat and echo (the trailing
    // `true` keeps bash from exec'ing echo in its own process). Each of the
    // four processes reports its counts once, at its exit, as Valgrind's
    // tools do; an exec replaces a process without a report.
    let run = Run::new("bash").args(["-c", "seq 3 | cat; /bin/echo done; true"]);
    let native = run.native();
    assert_eq!(native.stdout_text(), "1\n2\n3\ndone\n");
    let counted = run.under_hbgrind(&["--tool=inscount", "--trace-children=yes"]);
    assert_same_stdout_and_status(&native, &counted);
    let pids: std::collections::BTreeSet<String> = counted
        .tool_lines()
        .iter()
        .map(|line| line.split("==").nth(1).unwrap().to_string())
        .collect();
    assert_eq!(
        pids.len(),
        4,
        "expected reports from bash, seq, cat and echo, got pids {pids:?}:\n{}",
        counted.stderr_text()
    );
}

#[test]
fn gcc_compiles_with_traced_children() {
    // gcc runs cc1, as and collect2/ld as children.
    let source = program_source("jump_table.c");
    let native_dir = scratch_dir("gcc-traced-native");
    let hbgrind_dir = scratch_dir("gcc-traced-hbgrind");
    let gcc = |dir: &Path| {
        Run::new("gcc")
            .args(["-O1", "-c", "-o", "out.o"])
            .arg(&source)
            .dir(dir)
    };
    let native = gcc(&native_dir).native();
    assert_eq!(native.status.code(), Some(0), "{}", native.stderr_text());
    let translated = gcc(&hbgrind_dir).under_hbgrind(&["--tool=none", "--trace-children=yes"]);
    assert_same(&native, &translated);
    assert!(
        std::fs::read(native_dir.join("out.o")).unwrap()
            == std::fs::read(hbgrind_dir.join("out.o")).unwrap(),
        "gcc wrote a different object file under hbgrind"
    );
}

workload!(
    fault_handlers,
    Program::build("fault_handlers.c").command(),
    |native| {
        expect(native, 0, "SIGSEGV 11100 (code 1)");
        expect(native, 0, "SIGTRAP 500");
    }
);

workload!(
    jit_self_modifying_code,
    Program::build("jit.c").command(),
    |native| {
        expect(native, 0, "rwx total 2999993");
        expect(native, 0, "w^x total 180600");
    }
);

workload!(
    dlopen_cycle_and_posix_spawn,
    Program::build("dlopen_cycle.c").command(),
    |native| {
        expect(
            native,
            0,
            "crc sum 143450456846, version chars 460, lzma 240, loads 60",
        );
        expect(native, 0, "child exited 13");
    }
);

// ---------------------------------------------------------------------------
// Multithreaded real programs (the threads issue): outputs byte for byte.

/// `big_text_file()` compressed natively by `tool ARGS`, for the
/// decompression runs.
fn compressed_with(tool: &str, args: &[&str], key: &str) -> PathBuf {
    let input = big_text_file();
    cached_file(key, |path| {
        let out = std::process::Command::new(tool)
            .args(args)
            .arg(&input)
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(out.status.success(), "{tool} failed natively");
        std::fs::write(path, out.stdout).expect("write compressed input");
    })
}

/// Skips (with the reason printed) when `tool` is not installed.
fn installed(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    if !found {
        eprintln!("skipped: {tool} is not installed (scripts/setup installs it)");
    }
    found
}

macro_rules! compressor {
    ($name:ident, $tool:literal, [$($c:literal),*], [$($d:literal),*]) => {
        mod $name {
            use super::*;

            #[test]
            fn compresses_and_decompresses_as_natively() {
                if !installed($tool) {
                    return;
                }
                let run = Run::new($tool).args([$($c),*]).arg(big_text_file());
                let native = run.native();
                assert_eq!(native.status.code(), Some(0));
                assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
                let packed = compressed_with($tool, &[$($c),*], concat!($tool, "-20mb-v1"));
                let run = Run::new($tool).args([$($d),*]).arg(packed);
                let native = run.native();
                assert_eq!(native.stdout, std::fs::read(big_text_file()).unwrap());
                assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
            }
        }
    };
}

compressor!(
    pigz_two_threads,
    "pigz",
    ["-p", "2", "-n", "-c"],
    ["-p", "2", "-d", "-c"]
);
compressor!(
    xz_two_threads,
    "xz",
    ["-T2", "-1", "-c"],
    ["-T2", "-d", "-c"]
);
compressor!(
    zstd_two_threads,
    "zstd",
    ["-T2", "-q", "-c"],
    ["-T2", "-q", "-d", "-c"]
);

workload!(
    python3_threads_and_futures,
    Run::new("/usr/bin/python3").args([
        "-c",
        "import threading, hashlib\n\
         from concurrent.futures import ThreadPoolExecutor\n\
         lock = threading.Lock(); seen = []\n\
         def work(i):\n\
         \x20   d = hashlib.sha256(str(i).encode() * 2000).hexdigest()\n\
         \x20   with lock: seen.append(d[:4])\n\
         \x20   return len(d)\n\
         ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n\
         [t.start() for t in ts]; [t.join() for t in ts]\n\
         with ThreadPoolExecutor(max_workers=4) as ex: total = sum(ex.map(work, range(200)))\n\
         print(total, len(seen), sorted(seen)[:3])",
    ]),
    |native| expect(native, 0, "12800 208 ['02c6', '0471', '049c']")
);

/// node (V8: a JIT writing code at run time, and worker threads).
#[test]
fn node_jit_loop_and_worker_threads() {
    if !installed("node") {
        return;
    }
    let script = "const { Worker } = require('worker_threads');\n\
        function f(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * i) % 1000003; return s; }\n\
        let t = 0; for (let k = 0; k < 50; k++) t += f(200000);\n\
        const w = new Worker('const { parentPort } = require(\"worker_threads\");\
            let s = 0; for (let i = 0; i < 3000000; i++) s = (s + i) % 99991; parentPort.postMessage(s);', { eval: true });\n\
        w.on('message', (m) => { console.log('main', t, 'worker', m); });";
    let run = Run::new("node").args(["-e", script]);
    let native = run.native();
    expect(&native, 0, "main 39200100 worker 36315");
    assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
}

/// QEMU itself, as far as `--version` goes (the boot is scripts/boot-s390x).
#[test]
fn qemu_version() {
    for qemu in ["qemu-system-s390x", "qemu-system-x86_64"] {
        if !installed(qemu) {
            continue;
        }
        let run = Run::new(qemu).arg("--version");
        let native = run.native();
        assert_eq!(native.status.code(), Some(0));
        assert!(native.stdout_text().starts_with("QEMU emulator version "));
        assert_same(&native, &run.under_hbgrind(&["--tool=none"]));
    }
}
