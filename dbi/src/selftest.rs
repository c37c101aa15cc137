//! Running guest bytes natively and translated in this process, for the
//! differential test of the translator (dbi/tests/differential.rs).
//!
//! A `Machine` owns a thread block (GS base of the calling thread), a code
//! cache and a guest area: `DATA_LEN` bytes of data followed by code, one
//! read-write-execute mapping, so RIP-relative operands in the code reach the
//! data. Both runs start from the same `State` and data and use the same entry
//! and exit paths; only the code between differs (the guest's bytes followed
//! by an exit stub, or their translation).

use crate::arch::{self, exit_kind, ThreadState};
use crate::code_cache::CodeCache;
use crate::events::{Sites, ThreadEvents};
use crate::os::linux::code_mem::{read_u64_in, CodeRegion};
use crate::{Interests, MemAccess, Tool};

/// Bytes of guest data at the start of the guest area.
pub const DATA_LEN: usize = 64 * 1024;
const AREA_LEN: usize = 1 << 20;

/// Guest registers, flags and the `xsave` image (standard format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub gprs: [u64; 16],
    pub rflags: u64,
    pub xsave: Vec<u8>,
}

/// Collects the accesses translated code recorded.
#[derive(Default)]
struct Recorder {
    accesses: Vec<MemAccess>,
}
impl Tool for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn interests(&self) -> Interests {
        Interests::default()
    }
    fn on_accesses(&mut self, _thread: u32, accesses: &[MemAccess]) {
        self.accesses.extend_from_slice(accesses);
    }
}

/// A translator instance bound to the calling thread (it sets the GS base).
pub struct Machine {
    ts: ThreadState,
    cache: CodeCache,
    area: CodeRegion,
    sites: Sites,
    recording: bool,
    repeat_filter: bool,
    /// The inline filter's table and the thread's tag in it.
    inline_filter: Option<(Box<[u64]>, u64)>,
    tool: Recorder,
}

impl Machine {
    /// Sets up a thread block for the calling thread and a guest area.
    pub fn new() -> Machine {
        let captured = arch::CapturedState::blank();
        let ts = ThreadState::new(&captured, arch::exit_common_addr()).expect("thread block");
        let near = Machine::new as *const () as u64;
        let area = CodeRegion::map_near(near, AREA_LEN, 1 << 30).expect("guest area");
        Machine {
            ts,
            cache: CodeCache::new(),
            area,
            sites: Sites::new(),
            recording: false,
            repeat_filter: true,
            inline_filter: None,
            tool: Recorder::default(),
        }
    }

    /// Makes translated runs record their memory accesses (the race tool's
    /// instrumentation), kept until [`Machine::take_recorded`].
    pub fn set_recording(&mut self, on: bool) {
        if on && self.ts.buf_ptr() == 0 {
            self.ts.events = ThreadEvents::new(1);
            let start = self.ts.events.map_buffer().expect("event buffer");
            self.ts.set_buf_ptr(start);
        }
        self.recording = on;
    }

    /// Whether recording runs use the repeat filter (on by default, as for
    /// the race tool; arch/x86_64/record.rs).
    pub fn set_repeat_filter(&mut self, on: bool) {
        self.repeat_filter = on;
    }

    /// Makes recording runs with the repeat filter check plain accesses
    /// against an inline filter first (`crate::InlineFilter`): `table`
    /// (two words per slot, a power of two of slots) as it stays during
    /// the run, the running thread's tag being `tag`.
    pub fn set_inline_filter(&mut self, filter: Option<(Vec<u64>, u64)>) {
        self.inline_filter = filter.map(|(table, tag)| (table.into_boxed_slice(), tag));
    }

    /// The accesses recorded since the last call.
    pub fn take_recorded(&mut self) -> Vec<MemAccess> {
        std::mem::take(&mut self.tool.accesses)
    }

    /// Address of the guest data.
    pub fn data_addr(&self) -> u64 {
        self.area.base
    }

    /// Address where guest code is placed.
    pub fn code_addr(&self) -> u64 {
        self.area.base + DATA_LEN as u64
    }

    /// The calling thread's extended state as an `xsave` image.
    pub fn current_xsave() -> Vec<u8> {
        arch::current_xsave()
    }

    /// Offset of `xsave` component `i` (2: the upper halves of ymm0-15).
    pub fn xsave_component_offset(i: u32) -> usize {
        arch::xsave_component_offset(i)
    }

    fn finish(&self) -> (State, Vec<u8>) {
        let (gprs, rflags, xsave) = self.ts.snapshot(arch::xsave_size());
        (
            State {
                gprs,
                rflags,
                xsave,
            },
            self.area.read(self.data_addr(), DATA_LEN),
        )
    }

    /// Runs `code` (straight-line, no stack use) natively.
    pub fn run_native(&mut self, code: &[u8], init: &State, data: &[u8]) -> (State, Vec<u8>) {
        let at = self.code_addr();
        let mut bytes = code.to_vec();
        bytes.extend_from_slice(&arch::native_exit_stub(at + code.len() as u64));
        self.area.write(at, &bytes);
        self.area.write(self.data_addr(), data);
        self.ts.set_guest(&init.gprs, init.rflags, &init.xsave);
        self.ts.run(at);
        self.finish()
    }

    /// Runs `code` translated, until it reaches the end of `code`; with
    /// `count`, with `inscount`'s counters, which must not disturb the guest.
    pub fn run_translated(
        &mut self,
        code: &[u8],
        init: &State,
        data: &[u8],
        count: bool,
    ) -> Result<(State, Vec<u8>), String> {
        let at = self.code_addr();
        let stop = at + code.len() as u64;
        let mut bytes = code.to_vec();
        bytes.extend_from_slice(&[0x0f, 0x0b]); // ud2: ends the last block
        self.area.write(at, &bytes);
        self.area.write(self.data_addr(), data);
        self.cache.flush();
        self.ts.clear_ibl();
        self.ts.set_guest(&init.gprs, init.rflags, &init.xsave);
        let mut pc = at;
        let interests = Interests {
            instruction_counts: count,
            memory_access_counts: count,
            memory_accesses: self.recording,
            repeat_filter: self.recording && self.repeat_filter,
            ..Interests::default()
        };
        let mut readonly_pages = std::collections::BTreeSet::new();
        while pc != stop {
            let mut cx = crate::translate::TranslateContext {
                sites: &mut self.sites,
                hooked: &|_| false,
                rdfsbase: crate::os::linux::hwcap2() & 2 != 0,
                readonly_pages: &mut readonly_pages,
                smc_check: crate::SmcCheck::AllNonFile,
                guest_rsp: 0,
            };
            let filter = self
                .inline_filter
                .as_ref()
                .filter(|_| interests.repeat_filter)
                .and_then(|(table, tag)| Some((crate::InlineFilter::over(table)?, *tag)));
            let block = crate::translate::translate(
                pc,
                &mut self.cache,
                &mut self.tool,
                &interests,
                filter.map(|(f, _)| f),
                &mut cx,
            )
            .map_err(|e| e.to_string())?;
            if let Some((f, tag)) = filter {
                self.ts.set_inline_filter(f.table(), tag);
            }
            self.ts.run(block.host);
            if self.recording {
                let end = self.ts.buf_ptr();
                let start = self.ts.events.flush(end, &self.sites, &mut self.tool);
                self.ts.set_buf_ptr(start);
                self.ts.end_memo_epoch();
            }
            let info = self.ts.exit_info();
            let regions = self.cache.regions();
            let kind = read_u64_in(regions, info + arch::INFO_KIND);
            if kind == exit_kind::BUF_FULL {
                pc = read_u64_in(regions, info + arch::INFO_TARGET_PC);
                continue;
            }
            if kind != exit_kind::DIRECT {
                return Err(format!(
                    "unexpected exit kind {kind} from the block at {pc:#x}"
                ));
            }
            pc = read_u64_in(regions, info + arch::INFO_TARGET_PC);
        }
        Ok(self.finish())
    }
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new()
    }
}
