//! Client requests: the six-word arrays `valgrind.h`, `helgrind.h` and
//! `drd.h` hand to the translator (`args[0]` is the request code), decoded
//! into `Request`s, and the core requests every tool answers (`Core`).
//!
//! Codes are those of Valgrind 3.19's headers: core requests are
//! `0x1001..0x1903`; Helgrind's are `'H','G' << 16` plus an index (its
//! internal `_VG_USERREQ__HG_*` ones from `+ 256`); DRD's own are
//! `'D','R' << 16` plus an index, and DRD reuses Helgrind's codes for its
//! happens-before and rwlock annotations, so both headers decode alike.
//!
//! # Invariants
//! - Guest memory is read only through a `GuestMemory` (`dbi::read_guest`
//!   in the runtime): a bad pointer in a request gives a shorter or empty
//!   result, never a fault.
//! - `decode` is total: every code maps to a `Request`, unknown ones to
//!   `Request::Unknown`, which tools answer with `None` (the guest gets the
//!   default it passed) and count for `-v`.
//! - `VALGRIND_PRINTF` output goes out a whole line at a time, behind
//!   `**PID** ` as in Valgrind; a line not yet ended waits in
//!   `Core::pending` and is flushed before a backtrace and at exit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dbi::{Log, StackId};

const HG: u64 = 0x4847 << 16;
const HG_INTERNAL: u64 = HG + 256;
const DR: u64 = 0x4452 << 16;

/// One client request, decoded. Addresses and lengths are guest values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `VALGRIND_PRINTF(_BACKTRACE)`: a printf format and a pointer to the
    /// guest's `va_list` (x86-64's `va_list` is an array, so by value and
    /// by reference both pass its address).
    Printf {
        format: u64,
        va_list: u64,
        backtrace: bool,
    },
    StackRegister {
        start: u64,
        end: u64,
    },
    StackDeregister {
        id: u64,
    },
    StackChange {
        id: u64,
        start: u64,
        end: u64,
    },
    CountErrors,
    /// `VALGRIND_HG_CLEAN_MEMORY`, `ANNOTATE_NEW_MEMORY`: forget the range's history.
    CleanMemory {
        addr: u64,
        len: u64,
    },
    /// `VALGRIND_HG_CLEAN_MEMORY_HEAPBLOCK`: clean the heap block holding
    /// `addr`; the guest gets its size, -1 if not a block.
    CleanHeapBlock {
        addr: u64,
    },
    /// `VALGRIND_HG_DISABLE_CHECKING`, `ANNOTATE_BENIGN_RACE_SIZED`,
    /// `DRD_IGNORE_VAR`: stop checking the range.
    Untrack {
        addr: u64,
        len: u64,
    },
    /// `VALGRIND_HG_ENABLE_CHECKING`, `DRD_STOP_IGNORING_VAR`.
    Track {
        addr: u64,
        len: u64,
    },
    /// `ANNOTATE_HAPPENS_BEFORE(obj)` (Helgrind's and DRD's): a release on `obj`.
    HappensBefore {
        object: u64,
    },
    /// `ANNOTATE_HAPPENS_AFTER(obj)`: an acquire on `obj`.
    HappensAfter {
        object: u64,
    },
    /// `ANNOTATE_HAPPENS_BEFORE_FORGET_ALL(obj)`.
    ForgetAll {
        object: u64,
    },
    /// `ANNOTATE_RWLOCK_CREATE`, `VALGRIND_HG_MUTEX_INIT_POST`,
    /// `VALGRIND_HG_SEM_INIT_POST`, DRD's `ANNOTATE_SEM_INIT_PRE`: a fresh object.
    SyncCreate {
        object: u64,
    },
    /// `ANNOTATE_RWLOCK_DESTROY` and the other `*_DESTROY` requests.
    SyncDestroy {
        object: u64,
    },
    /// `ANNOTATE_RWLOCK_ACQUIRED(lock, is_w)`, `VALGRIND_HG_MUTEX_LOCK_POST` (write).
    LockAcquired {
        lock: u64,
        write: bool,
    },
    /// `ANNOTATE_RWLOCK_RELEASED(lock, is_w)`, `VALGRIND_HG_MUTEX_UNLOCK_PRE`.
    LockReleased {
        lock: u64,
    },
    /// `VALGRIND_HG_SEM_POST_PRE`, DRD's `ANNOTATE_SEM_POST_PRE`.
    SemPost {
        sem: u64,
    },
    /// `VALGRIND_HG_SEM_WAIT_POST`, DRD's `ANNOTATE_SEM_WAIT_POST`.
    SemWaited {
        sem: u64,
    },
    /// `VALGRIND_HG_BARRIER_INIT_PRE(bar, count, resizable)`.
    BarrierInit {
        barrier: u64,
        count: u64,
    },
    /// `VALGRIND_HG_BARRIER_WAIT_PRE(bar)`.
    BarrierWait {
        barrier: u64,
    },
    /// DRD's `ANNOTATE_IGNORE_READS_BEGIN/END` (`record` false = ignore).
    RecordLoads {
        record: bool,
    },
    /// DRD's `ANNOTATE_IGNORE_WRITES_BEGIN/END`.
    RecordStores {
        record: bool,
    },
    /// `DRD_GET_VALGRIND_THREADID`, `DRD_GET_DRD_THREADID`: the thread's number.
    ThreadNumber,
    /// Requests with nothing to do here: thread names, DRD tracing, the
    /// annotations both tools leave unimplemented (`*_ANNOTATION_UNIMP`),
    /// Helgrind's wrapper-internal notifications our hooks already cover.
    Accepted,
    Unknown(u64),
}

/// Decodes a client request.
pub(crate) fn decode(args: &[u64; 6]) -> Request {
    let [code, a1, a2, a3, ..] = *args;
    match code {
        0x1401 | 0x1403 => Request::Printf {
            format: a1,
            va_list: a2,
            backtrace: false,
        },
        0x1402 | 0x1404 => Request::Printf {
            format: a1,
            va_list: a2,
            backtrace: true,
        },
        0x1501 => Request::StackRegister { start: a1, end: a2 },
        0x1502 => Request::StackDeregister { id: a1 },
        0x1503 => Request::StackChange {
            id: a1,
            start: a2,
            end: a3,
        },
        0x1201 => Request::CountErrors,
        HG => Request::CleanMemory { addr: a1, len: a2 },
        c if (HG_INTERNAL..HG_INTERNAL + 64).contains(&c) => decode_hg(c - HG_INTERNAL, a1, a2),
        c if (DR..DR + 16).contains(&c) => decode_drd(c - DR, a1, a2),
        c => Request::Unknown(c),
    }
}

/// Helgrind's internal requests, by index from `_VG_USERREQ__HG_SET_MY_PTHREAD_T`.
fn decode_hg(index: u64, a1: u64, a2: u64) -> Request {
    match index {
        3 | 14 | 20 | 43 => Request::SyncCreate { object: a1 }, // mutex, rwlock, sem, cond init
        4 | 13 | 15 | 21 | 31 => Request::SyncDestroy { object: a1 },
        26 => Request::SyncDestroy { object: a1 }, // barrier destroy
        5 | 18 => Request::LockReleased { lock: a1 }, // mutex unlock pre, rwlock released
        8 => Request::LockAcquired {
            lock: a1,
            write: true,
        },
        17 => Request::LockAcquired {
            lock: a1,
            write: a2 != 0,
        },
        22 => Request::SemPost { sem: a1 },
        23 => Request::SemWaited { sem: a1 },
        24 => Request::BarrierInit {
            barrier: a1,
            count: a2,
        },
        25 => Request::BarrierWait { barrier: a1 },
        33 => Request::HappensBefore { object: a1 },
        34 => Request::HappensAfter { object: a1 },
        35 => Request::ForgetAll { object: a1 },
        39 => Request::Untrack { addr: a1, len: a2 },
        40 => Request::Track { addr: a1, len: a2 },
        42 => Request::CleanHeapBlock { addr: a1 },
        // 0 set-my-pthread_t, 1 API error, 2 join post, 6/7 mutex pre/post,
        // 9..12 condvar pre/post, 16/19 rwlock pre/post, 27..30 spin,
        // 32 unimplemented annotation, 47.. wrapper bookkeeping: our hooks
        // on the real functions cover them.
        0..=2 | 6 | 7 | 9..=12 | 16 | 19 | 27..=30 | 32 | 36..=38 | 41 | 44..=61 => {
            Request::Accepted
        }
        _ => Request::Unknown(HG_INTERNAL + index),
    }
}

/// DRD's own requests, by index from `VG_USERREQ__DRD_GET_VALGRIND_THREAD_ID`.
fn decode_drd(index: u64, a1: u64, a2: u64) -> Request {
    match index {
        0 | 1 => Request::ThreadNumber,
        2 => Request::Untrack { addr: a1, len: a2 },
        3 => Request::Track { addr: a1, len: a2 },
        6 => Request::RecordLoads { record: a1 != 0 },
        7 => Request::RecordStores { record: a1 != 0 },
        10 => Request::SyncCreate { object: a1 },
        11 => Request::SyncDestroy { object: a1 },
        13 => Request::SemWaited { sem: a1 },
        14 => Request::SemPost { sem: a1 },
        // 4/5 trace address, 8 thread name, 9 unimplemented annotation,
        // 12 sem wait pre, 15 ignore mutex ordering.
        4 | 5 | 8 | 9 | 12 | 15 => Request::Accepted,
        _ => Request::Unknown(DR + index),
    }
}

/// Where requests read guest memory from.
pub(crate) trait GuestMemory {
    /// Fills `buf` from `addr`; false if any of it is unreadable.
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool;

    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    fn read_u32(&self, addr: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b).then(|| u32::from_le_bytes(b))
    }

    /// The NUL-terminated string at `addr`, at most `max` bytes; `None`
    /// if its first byte is unreadable.
    fn read_c_string(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        let mut at = addr;
        while out.len() < max {
            // Read up to the end of the page, so a string ending just
            // before an unmapped page is still read whole.
            let room = (4096 - (at & 4095)) as usize;
            let n = room.min(chunk.len());
            if at.checked_add(n as u64).is_none() {
                break;
            }
            if !self.read(at, &mut chunk[..n]) {
                // Part of the chunk is unreadable: go on byte by byte.
                let mut byte = [0u8];
                while out.len() < max && self.read(at, &mut byte) && byte[0] != 0 {
                    out.push(byte[0]);
                    at += 1;
                }
                break;
            }
            if let Some(end) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..end]);
                return Some(out);
            }
            out.extend_from_slice(&chunk[..n]);
            at += n as u64;
        }
        if out.is_empty() && !self.read(addr, &mut [0u8]) {
            return None;
        }
        out.truncate(max);
        Some(out)
    }
}

/// The guest's memory, through `dbi::read_guest`.
pub(crate) struct Guest;

impl GuestMemory for Guest {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        addr.checked_add(buf.len() as u64).is_some() && dbi::read_guest(addr, buf)
    }
}

/// x86-64's `va_list`: `{ u32 gp_offset; u32 fp_offset; void *overflow_arg_area;
/// void *reg_save_area; }`. We read the arguments without writing back.
struct VaList<'m> {
    memory: &'m dyn GuestMemory,
    gp_offset: u32,
    fp_offset: u32,
    overflow: u64,
    reg_save: u64,
}

impl<'m> VaList<'m> {
    fn new(memory: &'m dyn GuestMemory, at: u64) -> Option<Self> {
        Some(VaList {
            memory,
            gp_offset: memory.read_u32(at)?,
            fp_offset: memory.read_u32(at.checked_add(4)?)?,
            overflow: memory.read_u64(at.checked_add(8)?)?,
            reg_save: memory.read_u64(at.checked_add(16)?)?,
        })
    }

    /// The next integer or pointer argument (0 when unreadable).
    fn int(&mut self) -> u64 {
        if self.gp_offset < 48 {
            let v = self
                .memory
                .read_u64(self.reg_save.wrapping_add(u64::from(self.gp_offset)));
            self.gp_offset += 8;
            v.unwrap_or(0)
        } else {
            let v = self.memory.read_u64(self.overflow);
            self.overflow = self.overflow.wrapping_add(8);
            v.unwrap_or(0)
        }
    }

    /// The next `double` argument.
    fn float(&mut self) -> f64 {
        let bits = if self.fp_offset < 176 {
            let v = self
                .memory
                .read_u64(self.reg_save.wrapping_add(u64::from(self.fp_offset)));
            self.fp_offset += 16;
            v
        } else {
            let v = self.memory.read_u64(self.overflow);
            self.overflow = self.overflow.wrapping_add(8);
            v
        };
        f64::from_bits(bits.unwrap_or(0))
    }
}

/// The longest format or `%s` argument we read.
const MAX_STRING: usize = 64 * 1024;

/// Formats the guest's `printf(format, va_list)`: `%d %i %u %x %X %o %p %s
/// %c %f %e %g %%` with the flags `-0+ #'`, a width and precision (or `*`),
/// and the length modifiers `hh h l ll z j t L`. An unreadable format gives
/// `None`; an unreadable `%s` prints `(null)` as glibc does for NULL.
pub(crate) fn format_printf(memory: &dyn GuestMemory, format: u64, va_list: u64) -> Option<String> {
    let fmt = memory.read_c_string(format, MAX_STRING)?;
    let mut args = VaList::new(memory, va_list);
    let mut out = String::new();
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            let start = i - 1;
            let end = fmt[start..]
                .iter()
                .position(|&b| b == b'%')
                .map_or(fmt.len(), |p| start + p);
            out.push_str(&String::from_utf8_lossy(&fmt[start..end]));
            i = end;
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = fmt.get(i) {
            match f {
                b'-' => spec.left = true,
                b'0' => spec.zero = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                b'\'' => spec.thousands = true,
                _ => break,
            }
            i += 1;
        }
        if fmt.get(i) == Some(&b'*') {
            i += 1;
            let w = next_int(&mut args) as i32;
            if w < 0 {
                spec.left = true;
            }
            spec.width = w.unsigned_abs() as usize;
        } else {
            while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
                spec.width = (spec.width * 10 + usize::from(d - b'0')).min(4096);
                i += 1;
            }
        }
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            let mut p = 0usize;
            if fmt.get(i) == Some(&b'*') {
                i += 1;
                let v = next_int(&mut args) as i32;
                spec.precision = (v >= 0).then_some(v as usize);
            } else {
                while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
                    p = (p * 10 + usize::from(d - b'0')).min(4096);
                    i += 1;
                }
                spec.precision = Some(p);
            }
        }
        let mut bits = 32u32;
        loop {
            match fmt.get(i) {
                Some(b'h') => bits = if bits == 16 { 8 } else { 16 },
                Some(b'l' | b'z' | b'j' | b't' | b'q' | b'L') => bits = 64,
                _ => break,
            }
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else {
            out.push('%');
            break;
        };
        i += 1;
        let body = match conv {
            b'%' => {
                out.push('%');
                continue;
            }
            b'd' | b'i' => {
                let v = sign_extend(next_int(&mut args), bits);
                let digits = group(&v.unsigned_abs().to_string(), spec.thousands);
                let sign = if v < 0 {
                    "-"
                } else if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                };
                number(&spec, sign, &digits)
            }
            b'u' => {
                let v = truncate(next_int(&mut args), bits);
                number(&spec, "", &group(&v.to_string(), spec.thousands))
            }
            b'x' | b'X' | b'o' => {
                let v = truncate(next_int(&mut args), bits);
                let (digits, prefix) = match conv {
                    b'x' => (format!("{v:x}"), "0x"),
                    b'X' => (format!("{v:X}"), "0X"),
                    _ => (format!("{v:o}"), "0"),
                };
                number(&spec, if spec.alt && v != 0 { prefix } else { "" }, &digits)
            }
            b'p' => {
                let v = next_int(&mut args);
                pad(&spec, &format!("0x{v:x}"))
            }
            b'c' => pad(&spec, &char::from(next_int(&mut args) as u8).to_string()),
            b's' => {
                let addr = next_int(&mut args);
                let max = spec.precision.unwrap_or(MAX_STRING);
                let text = match memory.read_c_string(addr, max) {
                    Some(s) if addr != 0 => String::from_utf8_lossy(&s).into_owned(),
                    _ => "(null)".to_string(),
                };
                pad(&spec, &text)
            }
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => {
                let v = args.as_mut().map_or(0.0, VaList::float);
                let p = spec.precision.unwrap_or(6);
                let text = match conv {
                    b'e' | b'E' => format!("{v:.p$e}"),
                    b'g' | b'G' => format!("{v}"),
                    _ => format!("{v:.p$}"),
                };
                let sign = if v >= 0.0 && spec.plus { "+" } else { "" };
                pad(&spec, &format!("{sign}{text}"))
            }
            other => {
                // Unknown conversion: print it as written, as glibc does.
                format!("%{}", char::from(other))
            }
        };
        out.push_str(&body);
    }
    Some(out)
}

/// The next integer argument; 0 when the `va_list` was unreadable.
fn next_int(args: &mut Option<VaList>) -> u64 {
    args.as_mut().map_or(0, VaList::int)
}

/// One conversion's flags, width and precision.
#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    thousands: bool,
    width: usize,
    precision: Option<usize>,
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    match bits {
        8 => i64::from(v as i8),
        16 => i64::from(v as i16),
        32 => i64::from(v as i32),
        _ => v as i64,
    }
}

fn truncate(v: u64, bits: u32) -> u64 {
    match bits {
        8 => v & 0xff,
        16 => v & 0xffff,
        32 => v & 0xffff_ffff,
        _ => v,
    }
}

/// `1234567` as `1,234,567` when `on` (Valgrind's `%'d`).
fn group(digits: &str, on: bool) -> String {
    if !on {
        return digits.to_string();
    }
    let first = match digits.len() % 3 {
        0 => 3,
        n => n,
    };
    let (head, tail) = digits.split_at(first.min(digits.len()));
    let mut out = head.to_string();
    for chunk in tail.as_bytes().chunks(3) {
        out.push(',');
        out.push_str(&String::from_utf8_lossy(chunk));
    }
    out
}

/// A number with its sign or prefix, precision (minimum digits) and width.
fn number(spec: &Spec, prefix: &str, digits: &str) -> String {
    let mut digits = digits.to_string();
    if let Some(p) = spec.precision {
        if digits == "0" && p == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let len = prefix.len() + digits.len();
    if spec.zero && !spec.left && spec.precision.is_none() && len < spec.width {
        let zeros = "0".repeat(spec.width - len);
        return format!("{prefix}{zeros}{digits}");
    }
    pad(spec, &format!("{prefix}{digits}"))
}

fn pad(spec: &Spec, text: &str) -> String {
    let len = text.chars().count();
    if len >= spec.width {
        return text.to_string();
    }
    let fill = " ".repeat(spec.width - len);
    if spec.left {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

/// What the core requests need from the tool that received them.
pub(crate) trait CoreContext {
    /// Errors shown so far (`VALGRIND_COUNT_ERRORS`).
    fn errors(&self) -> u64 {
        0
    }
    /// The lines of a backtrace at `pc` with `stack`, for
    /// `VALGRIND_PRINTF_BACKTRACE` (each without the `==PID== ` prefix).
    fn backtrace(&mut self, pc: u64, stack: StackId) -> Vec<String> {
        let mut lines = Vec::new();
        for (i, ip) in std::iter::once(pc)
            .chain(dbi::call_stack(stack))
            .enumerate()
        {
            let word = if i == 0 { "at" } else { "by" };
            lines.push(format!("   {word} 0x{ip:X}: ???"));
        }
        lines
    }
}

/// A stack the guest registered (`VALGRIND_STACK_REGISTER`), lowest and
/// highest addressable byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RegisteredStack {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// The core requests' state, one per tool.
pub(crate) struct Core {
    log: Log,
    /// Registered stacks by id (ids start at 1, never reused).
    stacks: BTreeMap<u64, RegisteredStack>,
    next_stack: u64,
    /// Requests no one answered, by code (for `-v`).
    unknown: BTreeMap<u64, u64>,
    /// `VALGRIND_PRINTF` text not yet ended by a newline.
    pending: String,
}

impl Core {
    pub(crate) fn new(log: Log) -> Self {
        Core {
            log,
            stacks: BTreeMap::new(),
            next_stack: 1,
            unknown: BTreeMap::new(),
            pending: String::new(),
        }
    }

    /// Answers `request` if it is a core one; `None` leaves it to the tool.
    pub(crate) fn handle(
        &mut self,
        request: Request,
        memory: &dyn GuestMemory,
        pc: u64,
        stack: StackId,
        ctx: &mut dyn CoreContext,
    ) -> Option<u64> {
        match request {
            Request::Printf {
                format,
                va_list,
                backtrace,
            } => {
                let text = format_printf(memory, format, va_list).unwrap_or_default();
                let n = text.len() as u64;
                self.print(&text);
                if backtrace {
                    self.flush();
                    let lines = ctx.backtrace(pc, stack);
                    self.log.line(&lines.join("\n"));
                }
                Some(n)
            }
            // Registered stacks keep their own shadow call stacks (dbi
            // stack_regions.rs).
            Request::StackRegister { start, end } => {
                let id = self.next_stack;
                self.next_stack += 1;
                self.stacks.insert(id, RegisteredStack { start, end });
                dbi::register_stack(start, end);
                Some(id)
            }
            Request::StackDeregister { id } => {
                if let Some(s) = self.stacks.remove(&id) {
                    dbi::deregister_stack(s.start, s.end);
                }
                Some(0)
            }
            Request::StackChange { id, start, end } => {
                if let Some(s) = self.stacks.get_mut(&id) {
                    dbi::deregister_stack(s.start, s.end);
                    *s = RegisteredStack { start, end };
                    dbi::register_stack(start, end);
                }
                Some(0)
            }
            Request::CountErrors => Some(ctx.errors()),
            _ => None,
        }
    }

    /// Requests nobody answered so far.
    pub(crate) fn unknown_count(&self) -> u64 {
        self.unknown.values().sum()
    }

    /// Counts a request nobody answered.
    pub(crate) fn count_unknown(&mut self, code: u64) {
        *self.unknown.entry(code).or_default() += 1;
    }

    /// The registered stack holding `addr`, with its id.
    // Not yet used by the reports: Helgrind names no registered stacks either.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn stack_of(&self, addr: u64) -> Option<(u64, RegisteredStack)> {
        self.stacks
            .iter()
            .find(|(_, s)| (s.start..=s.end).contains(&addr))
            .map(|(&id, &s)| (id, s))
    }

    /// Prints whole lines of `text`; keeps an unfinished last line.
    fn print(&mut self, text: &str) {
        self.pending.push_str(text);
        if let Some(end) = self.pending.rfind('\n') {
            let rest = self.pending.split_off(end + 1);
            let done = std::mem::replace(&mut self.pending, rest);
            client_lines(&self.log, done.trim_end_matches('\n'));
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let text = std::mem::take(&mut self.pending);
            client_lines(&self.log, &text);
        }
    }

    /// At exit: the unfinished `VALGRIND_PRINTF` line, and with `verbose`
    /// the count of requests nobody answered.
    pub(crate) fn finish(&mut self, verbose: bool) {
        self.flush();
        if verbose && !self.unknown.is_empty() {
            let mut text = format!(
                "hbgrind: {} client requests not understood:",
                self.unknown_count()
            );
            for (code, n) in &self.unknown {
                let _ = write!(text, " 0x{code:x} ({n}x)");
            }
            self.log.line(&text);
        }
    }
}

/// Writes the guest's own text as Valgrind does: each line behind
/// `**PID** `, so it stands out from the tool's `==PID== ` lines.
fn client_lines(log: &Log, text: &str) {
    let pid = dbi::getpid();
    let mut out = String::with_capacity(text.len() + 16);
    for l in text.lines() {
        let _ = writeln!(out, "**{pid}** {l}");
    }
    let _ = dbi::write_all(log.fd, out.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A tool with nothing but the core requests.
    struct Plain;

    impl CoreContext for Plain {}

    /// Guest memory made of a few byte strings at chosen addresses.
    #[derive(Default)]
    struct Fake(HashMap<u64, Vec<u8>>);

    impl Fake {
        fn put(&mut self, addr: u64, bytes: &[u8]) {
            self.0.insert(addr, bytes.to_vec());
        }

        /// A va_list at 0x9000 whose integer arguments are `ints` (the first
        /// six in the register save area, the rest overflowing) and whose
        /// doubles are `floats`.
        fn va_list(&mut self, ints: &[u64], floats: &[f64]) -> u64 {
            let mut save = vec![0u8; 176];
            for (i, v) in ints.iter().take(6).enumerate() {
                save[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            for (i, v) in floats.iter().take(8).enumerate() {
                let at = 48 + i * 16;
                save[at..at + 8].copy_from_slice(&v.to_bits().to_le_bytes());
            }
            self.put(0xa000, &save);
            let overflow: Vec<u8> = ints.iter().skip(6).flat_map(|v| v.to_le_bytes()).collect();
            self.put(0xb000, &overflow);
            let mut list = Vec::new();
            list.extend_from_slice(&0u32.to_le_bytes()); // gp_offset
            list.extend_from_slice(&48u32.to_le_bytes()); // fp_offset
            list.extend_from_slice(&0xb000u64.to_le_bytes());
            list.extend_from_slice(&0xa000u64.to_le_bytes());
            self.put(0x9000, &list);
            0x9000
        }
    }

    impl GuestMemory for Fake {
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            for (&start, bytes) in &self.0 {
                let end = start + bytes.len() as u64;
                if addr >= start && addr + buf.len() as u64 <= end {
                    let off = (addr - start) as usize;
                    buf.copy_from_slice(&bytes[off..off + buf.len()]);
                    return true;
                }
            }
            false
        }
    }

    fn printf(format: &str, ints: &[u64], floats: &[f64]) -> String {
        let mut m = Fake::default();
        let mut f = format.as_bytes().to_vec();
        f.push(0);
        m.put(0x1000, &f);
        m.put(0x2000, b"hello\0");
        let va = m.va_list(ints, floats);
        format_printf(&m, 0x1000, va).unwrap()
    }

    #[test]
    fn formats_integers_with_flags_width_and_length() {
        let neg = (-5i32) as u32 as u64;
        assert_eq!(printf("a=%d b=%i!", &[7, neg], &[]), "a=7 b=-5!");
        assert_eq!(
            printf("%5d|%-5d|%05d", &[42, 42, 42], &[]),
            "   42|42   |00042"
        );
        assert_eq!(
            printf("%u %x %X %#x", &[neg, 255, 255, 255], &[]),
            "4294967291 ff FF 0xff"
        );
        assert_eq!(
            printf("%ld %lu %lx", &[u64::MAX, u64::MAX, u64::MAX], &[]),
            "-1 18446744073709551615 ffffffffffffffff"
        );
        assert_eq!(printf("%lld %llu %zu", &[u64::MAX, 3, 9], &[]), "-1 3 9");
        assert_eq!(
            printf("%'d %+d %.3d", &[1234567, 5, 7], &[]),
            "1,234,567 +5 007"
        );
        assert_eq!(printf("%*d|%-*d|", &[4, 1, 3, 2], &[]), "   1|2  |");
    }

    #[test]
    fn formats_pointers_strings_chars_and_percent() {
        assert_eq!(
            printf(
                "%p %s %c %% %.3s|%8s",
                &[0xdead, 0x2000, 65, 0x2000, 0x2000],
                &[]
            ),
            "0xdead hello A % hel|   hello"
        );
        assert_eq!(printf("%s", &[0], &[]), "(null)");
        assert_eq!(printf("%s", &[0x7777_0000], &[]), "(null)");
        // Arguments past the six registers come from the overflow area.
        assert_eq!(
            printf("%d %d %d %d %d %d %d", &[1, 2, 3, 4, 5, 6, 7], &[]),
            "1 2 3 4 5 6 7"
        );
    }

    #[test]
    fn formats_doubles() {
        assert_eq!(printf("%f %.2f", &[], &[1.5, 2.0]), "1.500000 2.00");
    }

    #[test]
    fn bad_pointers_do_not_fault() {
        let m = Fake::default();
        assert_eq!(format_printf(&m, 0x1234, 0x5678), None);
        let mut m = Fake::default();
        m.put(0x1000, b"x=%d %s\0");
        assert_eq!(format_printf(&m, 0x1000, 0).unwrap(), "x=0 (null)");
        assert!(Guest.read_c_string(u64::MAX - 2, 10).is_none());
    }

    #[test]
    fn decodes_helgrind_and_drd_codes() {
        let req = |code: u64, a1, a2| decode(&[code, a1, a2, 0, 0, 0]);
        assert_eq!(
            req(0x1403, 1, 2),
            Request::Printf {
                format: 1,
                va_list: 2,
                backtrace: false
            }
        );
        assert_eq!(req(0x1201, 0, 0), Request::CountErrors);
        assert_eq!(
            req(0x4847_0000, 8, 4),
            Request::CleanMemory { addr: 8, len: 4 }
        );
        assert_eq!(req(0x4847_0127, 8, 4), Request::Untrack { addr: 8, len: 4 });
        assert_eq!(req(0x4847_0128, 8, 4), Request::Track { addr: 8, len: 4 });
        assert_eq!(req(0x4847_0121, 9, 0), Request::HappensBefore { object: 9 });
        assert_eq!(req(0x4847_0122, 9, 0), Request::HappensAfter { object: 9 });
        assert_eq!(req(0x4847_0123, 9, 0), Request::ForgetAll { object: 9 });
        assert_eq!(req(0x4847_010e, 9, 0), Request::SyncCreate { object: 9 });
        assert_eq!(req(0x4847_010f, 9, 0), Request::SyncDestroy { object: 9 });
        assert_eq!(
            req(0x4847_0111, 9, 1),
            Request::LockAcquired {
                lock: 9,
                write: true
            }
        );
        assert_eq!(req(0x4847_0112, 9, 1), Request::LockReleased { lock: 9 });
        assert_eq!(req(0x4847_012a, 9, 0), Request::CleanHeapBlock { addr: 9 });
        assert_eq!(req(0x4452_0002, 8, 4), Request::Untrack { addr: 8, len: 4 });
        assert_eq!(req(0x4452_0003, 8, 4), Request::Track { addr: 8, len: 4 });
        assert_eq!(
            req(0x4452_0006, 0, 0),
            Request::RecordLoads { record: false }
        );
        assert_eq!(
            req(0x4452_0007, 1, 0),
            Request::RecordStores { record: true }
        );
        assert_eq!(req(0x4452_0000, 0, 0), Request::ThreadNumber);
        assert_eq!(req(0x4452_000e, 5, 0), Request::SemPost { sem: 5 });
        assert_eq!(req(0x4452_000d, 5, 0), Request::SemWaited { sem: 5 });
        assert_eq!(req(0x4847_0120, 5, 0), Request::Accepted);
        assert_eq!(req(0x5555_0000, 0, 0), Request::Unknown(0x5555_0000));
        assert_eq!(req(0x4452_0040, 0, 0), Request::Unknown(0x4452_0040));
    }

    #[test]
    fn printf_text_goes_out_by_whole_lines_behind_the_client_prefix() {
        let path = std::env::temp_dir().join(format!("hbgrind-client-{}.log", std::process::id()));
        let name = path.display().to_string();
        let fd = dbi::open(name.as_bytes(), 0o2 | 0o100 | 0o1000, 0o644).unwrap();
        let mut core = Core::new(Log {
            fd,
            quiet: false,
            time_stamp: None,
        });
        let mut m = Fake::default();
        m.put(0x1000, b"a=%d \0");
        m.put(0x1100, b"b\nc\0");
        let va = m.va_list(&[7], &[]);
        let printf = |format| Request::Printf {
            format,
            va_list: va,
            backtrace: false,
        };
        assert_eq!(
            core.handle(printf(0x1000), &m, 0, StackId(0), &mut Plain),
            Some(4)
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "no newline yet"
        );
        core.handle(printf(0x1100), &m, 0, StackId(0), &mut Plain);
        core.count_unknown(0x9999);
        core.finish(true);
        let pid = dbi::getpid();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!(
                "**{pid}** a=7 b\n**{pid}** c\n==\
                 {pid}== hbgrind: 1 client requests not understood: 0x9999 (1x)\n"
            )
        );
        dbi::close(fd);
    }

    #[test]
    fn registers_stacks_and_counts_errors() {
        let log = Log {
            fd: -1,
            quiet: true,
            time_stamp: None,
        };
        let mut core = Core::new(log);
        let m = Fake::default();
        let reg = core.handle(
            Request::StackRegister {
                start: 0x1000,
                end: 0x1fff,
            },
            &m,
            0,
            StackId(0),
            &mut Plain,
        );
        assert_eq!(reg, Some(1));
        assert_eq!(core.stack_of(0x1800).map(|(id, _)| id), Some(1));
        core.handle(
            Request::StackChange {
                id: 1,
                start: 0x3000,
                end: 0x3fff,
            },
            &m,
            0,
            StackId(0),
            &mut Plain,
        );
        assert_eq!(core.stack_of(0x1800), None);
        assert!(core.stack_of(0x3000).is_some());
        core.handle(
            Request::StackDeregister { id: 1 },
            &m,
            0,
            StackId(0),
            &mut Plain,
        );
        assert_eq!(core.stack_of(0x3000), None);
        assert_eq!(
            core.handle(Request::CountErrors, &m, 0, StackId(0), &mut Plain),
            Some(0)
        );
        assert_eq!(
            core.handle(
                Request::HappensBefore { object: 1 },
                &m,
                0,
                StackId(0),
                &mut Plain
            ),
            None
        );
    }
}
