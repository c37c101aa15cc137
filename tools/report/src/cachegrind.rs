//! The cache profiler's files and text, as Valgrind 3.19's Cachegrind
//! writes them (papers/cachegrind.md): `--I1=size,assoc,line` values,
//! `cachegrind.out.<pid>` (`desc:`, `cmd:`, `events:`, `fl=`, `fn=`, one
//! line of counts per source line, `summary:`), and the summary printed at
//! exit (`I   refs:      4,127,049` ...).
//!
//! # Invariants
//! - `CacheConfig` values that `CacheConfig::parse` returns pass Valgrind's
//!   checks: the line size and the number of sets are powers of two, the
//!   line is at least 16 bytes, the size is more than one line and the
//!   associativity at most the number of lines.
//! - `write_out_file` lists rows sorted by (file, function, line), as
//!   Valgrind's table is, and its `summary:` is the sum of the rows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

/// One simulated cache: total size, associativity and line size, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    pub size: u32,
    pub assoc: u32,
    pub line: u32,
}

impl CacheConfig {
    /// Parses `65536,2,64` (the value of `--I1=`, `--D1=`, `--LL=`) and
    /// checks it as Valgrind does; the error is one phrase naming the fault.
    pub fn parse(value: &str) -> Result<CacheConfig, String> {
        let parts: Vec<&str> = value.split(',').collect();
        let [size, assoc, line] = parts[..] else {
            return Err("expected <size>,<assoc>,<line_size> in bytes (e.g. 32768,8,64)".into());
        };
        let number = |s: &str, what: &str| -> Result<u32, String> {
            s.parse::<u32>()
                .ok()
                .filter(|&n| n > 0 && n <= i32::MAX as u32)
                .ok_or_else(|| format!("{what} '{s}' is not a positive integer below 2^31"))
        };
        let config = CacheConfig {
            size: number(size, "size")?,
            assoc: number(assoc, "associativity")?,
            line: number(line, "line size")?,
        };
        config.check()?;
        Ok(config)
    }

    /// Valgrind's checks (its `check_cache`): `Err` names the first that fails.
    pub fn check(&self) -> Result<(), String> {
        let way = u64::from(self.line) * u64::from(self.assoc);
        if u64::from(self.size) % way != 0 || !(u64::from(self.size) / way).is_power_of_two() {
            return Err(
                "the number of sets (size / (assoc * line size)) is not a power of two".into(),
            );
        }
        if !self.line.is_power_of_two() {
            return Err("the line size is not a power of two".into());
        }
        if self.line < MIN_LINE_SIZE {
            return Err(format!("the line size is less than {MIN_LINE_SIZE} bytes"));
        }
        if self.size <= self.line {
            return Err("the size is not more than the line size".into());
        }
        if self.assoc > self.size / self.line {
            return Err("the associativity is more than size / line size".into());
        }
        Ok(())
    }

    /// Sets of the cache.
    pub fn sets(&self) -> u32 {
        self.size / (self.line * self.assoc)
    }

    /// The `desc:` text: `32768 B, 64 B, 8-way associative`.
    pub fn describe(&self) -> String {
        if self.assoc == 1 {
            format!("{} B, {} B, direct-mapped", self.size, self.line)
        } else {
            format!(
                "{} B, {} B, {}-way associative",
                self.size, self.line, self.assoc
            )
        }
    }
}

/// The smallest line a simulated cache may have (Valgrind's `MIN_LINE_SIZE`).
pub const MIN_LINE_SIZE: u32 = 16;

/// Counts of one source line (or one instruction), in the order of the
/// `events:` line: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts(pub [u64; 13]);

impl Counts {
    pub const IR: usize = 0;
    pub const I1MR: usize = 1;
    pub const ILMR: usize = 2;
    pub const DR: usize = 3;
    pub const D1MR: usize = 4;
    pub const DLMR: usize = 5;
    pub const DW: usize = 6;
    pub const D1MW: usize = 7;
    pub const DLMW: usize = 8;
    pub const BC: usize = 9;
    pub const BCM: usize = 10;
    pub const BI: usize = 11;
    pub const BIM: usize = 12;

    pub fn add(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
}

/// What was simulated: which columns the files and the summary have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Simulated {
    pub cache: bool,
    pub branch: bool,
}

impl Simulated {
    /// The indices into `Counts` of the columns written.
    fn columns(self) -> Vec<usize> {
        let mut c = vec![Counts::IR];
        if self.cache {
            c.extend(Counts::I1MR..=Counts::DLMW);
        }
        if self.branch {
            c.extend(Counts::BC..=Counts::BIM);
        }
        c
    }

    /// The `events:` line, spelled as Valgrind 3.19 spells it (with its
    /// trailing space when only the cache is simulated).
    fn events_line(self) -> &'static str {
        match (self.cache, self.branch) {
            (true, true) => "events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim",
            (true, false) => "events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw ",
            (false, true) => "events: Ir Bc Bcm Bi Bim",
            (false, false) => "events: Ir",
        }
    }
}

/// Where a row's counts belong: `fl=`, `fn=` and the line (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CodeLocation {
    pub file: String,
    pub function: String,
    pub line: u32,
}

/// Writes a `cachegrind.out` file; returns the totals (the `summary:`).
pub fn write_out_file(
    out: &mut impl io::Write,
    caches: [CacheConfig; 3],
    command: &str,
    simulated: Simulated,
    rows: &BTreeMap<CodeLocation, Counts>,
) -> io::Result<Counts> {
    let mut text = String::new();
    for (name, c) in ["I1", "D1", "LL"].iter().zip(caches) {
        let _ = writeln!(text, "desc: {name} cache:         {}", c.describe());
    }
    let _ = writeln!(text, "cmd: {command}");
    text.push_str(simulated.events_line());
    text.push('\n');
    let columns = simulated.columns();
    let mut total = Counts::default();
    let (mut file, mut function): (Option<&str>, Option<&str>) = (None, None);
    for (loc, counts) in rows {
        let new_file = file != Some(loc.file.as_str());
        if new_file {
            let _ = writeln!(text, "fl={}", loc.file);
            file = Some(&loc.file);
        }
        if new_file || function != Some(loc.function.as_str()) {
            let _ = writeln!(text, "fn={}", loc.function);
            function = Some(&loc.function);
        }
        let _ = write!(text, "{}", loc.line);
        for &c in &columns {
            let _ = write!(text, " {}", counts.0[c]);
        }
        text.push('\n');
        total.add(counts);
        if text.len() > 1 << 16 {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    text.push_str("summary:");
    for &c in &columns {
        let _ = write!(text, " {}", total.0[c]);
    }
    text.push('\n');
    out.write_all(text.as_bytes())?;
    Ok(total)
}

/// `n` with thousands separators: `4,127,049`.
fn commify(n: u64) -> String {
    let digits = n.to_string();
    let first = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    let mut out = digits[..first].to_string();
    for group in digits.as_bytes()[first..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
    out
}

/// The summary Valgrind prints at exit (without the `==PID== ` prefixes):
/// `I   refs:`, then with the cache simulated the I1, D1 and LL figures,
/// then with the branch predictor simulated `Branches:` and `Mispredicts:`.
pub fn summary_text(total: &Counts, simulated: Simulated) -> String {
    let t = &total.0;
    let width = |n: u64| commify(n).len();
    let l1 = width(t[Counts::IR]);
    let l2 = width(t[Counts::DR].max(t[Counts::BC]));
    let l3 = width(t[Counts::DW].max(t[Counts::BI]));
    let mut s = String::new();
    let one = |s: &mut String, label: &str, n: u64| {
        let _ = writeln!(s, "{label} {:>l1$}", commify(n));
    };
    let three = |s: &mut String, label: &str, a: u64, b: u64, c: u64, rd: &str, wr: &str| {
        let _ = writeln!(
            s,
            "{label} {:>l1$}  ({:>l2$} {rd} + {:>l3$} {wr})",
            commify(a),
            commify(b),
            commify(c)
        );
    };
    let pct = |n: u64, d: u64| n as f64 * 100.0 / d.max(1) as f64;
    one(&mut s, "I   refs:     ", t[Counts::IR]);
    if simulated.cache {
        one(&mut s, "I1  misses:   ", t[Counts::I1MR]);
        one(&mut s, "LLi misses:   ", t[Counts::ILMR]);
        let ir = t[Counts::IR].max(1);
        let _ = writeln!(
            s,
            "I1  miss rate: {:>l1$.2}%",
            t[Counts::I1MR] as f64 * 100.0 / ir as f64
        );
        let _ = writeln!(
            s,
            "LLi miss rate: {:>l1$.2}%",
            t[Counts::ILMR] as f64 * 100.0 / ir as f64
        );
        s.push('\n');
        let (dr, dw) = (t[Counts::DR], t[Counts::DW]);
        let d = dr + dw;
        let (d1r, d1w) = (t[Counts::D1MR], t[Counts::D1MW]);
        let (dlr, dlw) = (t[Counts::DLMR], t[Counts::DLMW]);
        three(&mut s, "D   refs:     ", d, dr, dw, "rd  ", "wr");
        three(&mut s, "D1  misses:   ", d1r + d1w, d1r, d1w, "rd  ", "wr");
        three(&mut s, "LLd misses:   ", dlr + dlw, dlr, dlw, "rd  ", "wr");
        let rates = |s: &mut String, label: &str, a: f64, b: f64, c: f64| {
            let _ = writeln!(s, "{label} {a:>l1$.1}% ({b:>l2$.1}%     + {c:>l3$.1}%  )");
        };
        rates(
            &mut s,
            "D1  miss rate:",
            pct(d1r + d1w, d),
            pct(d1r, dr),
            pct(d1w, dw),
        );
        rates(
            &mut s,
            "LLd miss rate:",
            pct(dlr + dlw, d),
            pct(dlr, dr),
            pct(dlw, dw),
        );
        s.push('\n');
        let (i1, il) = (t[Counts::I1MR], t[Counts::ILMR]);
        three(
            &mut s,
            "LL refs:      ",
            d1r + d1w + i1,
            d1r + i1,
            d1w,
            "rd  ",
            "wr",
        );
        three(
            &mut s,
            "LL misses:    ",
            dlr + dlw + il,
            dlr + il,
            dlw,
            "rd  ",
            "wr",
        );
        let ir = t[Counts::IR];
        let _ = writeln!(
            s,
            "LL miss rate:  {:>l1$.1}% ({:>l2$.1}%     + {:>l3$.1}%  )",
            (dlr + dlw + il) as f64 * 100.0 / (ir + d).max(1) as f64,
            (dlr + il) as f64 * 100.0 / (ir + dr).max(1) as f64,
            pct(dlw, dw)
        );
    }
    if simulated.branch {
        let bc = t[Counts::BC].max(1);
        let bi = t[Counts::BI].max(1);
        let (bcm, bim) = (t[Counts::BCM], t[Counts::BIM]);
        s.push('\n');
        three(&mut s, "Branches:     ", bc + bi, bc, bi, "cond", "ind");
        three(&mut s, "Mispredicts:  ", bcm + bim, bcm, bim, "cond", "ind");
        let _ = writeln!(
            s,
            "Mispred rate:  {:>l1$.1}% ({:>l2$.1}%     + {:>l3$.1}%   )",
            pct(bcm + bim, bc + bi),
            pct(bcm, bc),
            pct(bim, bi)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_options_are_checked_as_valgrind_checks_them() {
        assert_eq!(
            CacheConfig::parse("32768,8,64"),
            Ok(CacheConfig {
                size: 32768,
                assoc: 8,
                line: 64
            })
        );
        for bad in [
            "",
            "32768",
            "32768,8",
            "32768,8,64,1",
            "a,8,64",
            "32768,0,64",
            "-1,8,64",
            "32768,8,48",
            "24576,8,64",
            "32768,8,8",
            "64,1,64",
            "4096,128,64",
        ] {
            assert!(CacheConfig::parse(bad).is_err(), "{bad}");
        }
        // 12 MiB, 16-way: 12288 sets, not a power of two.
        assert!(CacheConfig::parse("12582912,16,64").is_err());
        assert_eq!(
            CacheConfig::parse("268435456,1,64").unwrap().describe(),
            "268435456 B, 64 B, direct-mapped"
        );
    }

    #[test]
    fn the_summary_is_valgrinds_text() {
        // Valgrind 3.19 on a small program (tests/programs/cachegrind/loop.c).
        let mut t = Counts::default();
        t.0[..9].copy_from_slice(&[4127049, 1251, 1232, 28899, 1217, 999, 10576, 380, 350]);
        let s = summary_text(
            &t,
            Simulated {
                cache: true,
                branch: false,
            },
        );
        assert_eq!(
            s,
            "I   refs:      4,127,049\n\
             I1  misses:        1,251\n\
             LLi misses:        1,232\n\
             I1  miss rate:      0.03%\n\
             LLi miss rate:      0.03%\n\
             \n\
             D   refs:         39,475  (28,899 rd   + 10,576 wr)\n\
             D1  misses:        1,597  ( 1,217 rd   +    380 wr)\n\
             LLd misses:        1,349  (   999 rd   +    350 wr)\n\
             D1  miss rate:       4.0% (   4.2%     +    3.6%  )\n\
             LLd miss rate:       3.4% (   3.5%     +    3.3%  )\n\
             \n\
             LL refs:           2,848  ( 2,468 rd   +    380 wr)\n\
             LL misses:         2,581  ( 2,231 rd   +    350 wr)\n\
             LL miss rate:        0.1% (   0.1%     +    3.3%  )\n"
        );
        t.0[9..].copy_from_slice(&[1025156, 3215, 297, 159]);
        let s = summary_text(
            &t,
            Simulated {
                cache: true,
                branch: true,
            },
        );
        assert!(
            s.ends_with(
                "\nBranches:      1,025,453  (1,025,156 cond +    297 ind)\n\
             Mispredicts:       3,374  (    3,215 cond +    159 ind)\n\
             Mispred rate:        0.3% (      0.3%     +   53.5%   )\n"
            ),
            "{s}"
        );
        assert!(s.contains("LL refs:           2,848  (    2,468 rd   +    380 wr)\n"));
    }

    #[test]
    fn out_file_groups_rows_by_file_and_function() {
        let mut rows = BTreeMap::new();
        let loc = |f: &str, n: &str, l| CodeLocation {
            file: f.into(),
            function: n.into(),
            line: l,
        };
        let ir = |n| {
            let mut c = Counts::default();
            c.0[Counts::IR] = n;
            c
        };
        rows.insert(loc("b.c", "main", 3), ir(5));
        rows.insert(loc("a.c", "work", 7), ir(2));
        rows.insert(loc("a.c", "work", 5), ir(4000005));
        rows.insert(loc("b.c", "main", 2), ir(1));
        let c = CacheConfig::parse("32768,8,64").unwrap();
        let mut out = Vec::new();
        let total = write_out_file(
            &mut out,
            [c, c, c],
            "./loop",
            Simulated {
                cache: false,
                branch: false,
            },
            &rows,
        )
        .unwrap();
        assert_eq!(total.0[Counts::IR], 4000013);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "desc: I1 cache:         32768 B, 64 B, 8-way associative\n\
             desc: D1 cache:         32768 B, 64 B, 8-way associative\n\
             desc: LL cache:         32768 B, 64 B, 8-way associative\n\
             cmd: ./loop\n\
             events: Ir\n\
             fl=a.c\nfn=work\n5 4000005\n7 2\n\
             fl=b.c\nfn=main\n2 1\n3 5\n\
             summary: 4000013\n"
        );
    }
}
