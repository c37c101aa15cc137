//! Translating one guest block: decode, show it to the tool, emit, place.

use crate::arch::{self, BlockEnd, BlockInstrumentation, RecordWants};
use crate::code_cache::{Block, CacheError, CodeCache};
use crate::events::{Site, Sites};
use crate::{BlockView, Interests, Profile, SmcCheck, Tool};
use iced_x86::InstructionInfoFactory;

/// Why a block could not be translated.
#[derive(Debug)]
pub(crate) enum TranslateError {
    Cache(CacheError),
}

impl core::fmt::Display for TranslateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TranslateError::Cache(CacheError::NoRegion) => {
                write!(
                    f,
                    "no memory for the code cache within 1 GiB of the guest code"
                )
            }
            TranslateError::Cache(CacheError::Full) => {
                write!(f, "the code cache is full even after a flush")
            }
            TranslateError::Cache(CacheError::Unplaceable) => {
                write!(f, "the block's RIP-relative operands reach too far to be placed in the code cache")
            }
        }
    }
}

/// What translation needs besides the block: the sites table, the hooked
/// function entries, and how the CPU lets us read the FS base.
pub(crate) struct TranslateContext<'a> {
    pub(crate) sites: &'a mut Sites,
    pub(crate) hooked: &'a dyn Fn(u64) -> bool,
    pub(crate) rdfsbase: bool,
    /// Pages of read-only file memory whose loads translations skipped
    /// (`Interests::skip_readonly_reads`).
    pub(crate) readonly_pages: &'a mut std::collections::BTreeSet<u64>,
    pub(crate) smc_check: SmcCheck,
    /// The guest's stack pointer (for `--smc-check=stack`).
    pub(crate) guest_rsp: u64,
}

/// Translates the guest block at `pc` into `cache`.
#[tracing::instrument(level = "trace", skip_all, fields(pc = format_args!("{pc:#x}")))]
pub(crate) fn translate(
    pc: u64,
    cache: &mut CodeCache,
    tool: &mut dyn Tool,
    interests: &Interests,
    inline_filter: Option<crate::InlineFilter>,
    cx: &mut TranslateContext<'_>,
) -> Result<Block, TranslateError> {
    let block = arch::decode_block(pc);
    tracing::trace!(insns = block.insns.len(), end = ?block.end, "decoded");
    if tracing::enabled!(target: "dbi::translate::dump", tracing::Level::TRACE) {
        use iced_x86::Formatter;
        let mut f = iced_x86::GasFormatter::new();
        for i in &block.insns {
            let mut s = String::new();
            f.format(i, &mut s);
            tracing::trace!(target: "dbi::translate::dump", "{:#x}: {s}", i.ip());
        }
    }
    let counter = interests.block_counts.then(crate::block_counters::allocate);
    let executions = counter.map(|(c, _)| c);
    let block_id = counter.map_or(0, |(_, id)| id);
    if interests.blocks {
        let mut factory = InstructionInfoFactory::new();
        let memory: Vec<_> = block
            .insns
            .iter()
            .map(|i| factory.info(i).used_memory().to_vec())
            .collect();
        tool.on_block(&BlockView {
            guest_pc: pc,
            instructions: &block.insns,
            memory: &memory,
            syscall_pc: match block.end {
                BlockEnd::Syscall { pc, .. } => Some(pc),
                _ => None,
            },
            executions,
            id: block_id,
        });
    }
    let counters = arch::plan_counters(
        &block,
        interests.instruction_counts,
        interests.memory_access_counts,
        executions.map(|c| c.as_ptr() as u64),
    );
    let profile = interests.profile;
    let wants = RecordWants {
        accesses: interests.memory_accesses || profile != Profile::Off,
        calls: interests.call_stacks || interests.memory_accesses,
        every_access: profile == Profile::Full,
        rep_only: profile == Profile::RepStrings,
        block_id,
        repeat_filter: interests.memory_accesses && interests.repeat_filter,
        skip_readonly_reads: interests.memory_accesses && interests.skip_readonly_reads,
        inline_filter: inline_filter.map(|f| f.mask()),
        lahf: arch::has_lahf(),
    };
    let readonly_pages = &mut *cx.readonly_pages;
    let mut readonly = |start: u64, end: u64| {
        let ro = crate::os::linux::mem::is_file_readonly(start, end);
        if ro {
            readonly_pages.insert(start >> 12);
            readonly_pages.insert((end - 1) >> 12);
        }
        ro
    };
    let sites = &mut *cx.sites;
    // Calls from generated code (a JIT's, in anonymous memory) all return
    // to one place, the start of its mapping, in the call-stack tree: a
    // JIT makes new code all the time (TCG a block per guest block), and
    // stacks that differ only in generated frames are one stack, one
    // report (`<generated code> (in anonymous ...)`) and not millions of
    // tree nodes and sites.
    let jit = wants
        .calls
        .then(|| crate::os::linux::mem::generated_code_owner(pc))
        .flatten();
    let mut site_of = |s: Site| match (s, jit) {
        (Site::Call { .. }, Some(owner)) => sites.id(Site::Call { ret: owner }),
        _ => sites.id(s),
    };
    let instrument = BlockInstrumentation {
        hook: (cx.hooked)(pc),
        client_requests: true,
        records: arch::plan_records(&block, wants, &mut site_of, &mut readonly, &|pc| {
            tool.inline_filter_applies(pc)
        }),
        rdfsbase: cx.rdfsbase,
        countdown: crate::sched::deterministic(),
    };
    let guest_end = match block.end {
        BlockEnd::Native(p) | BlockEnd::UsesGs(p) if block.insns.is_empty() => p + 1,
        _ => block.end_pc(),
    };
    // Code in memory the guest can write (JITs, trampolines) is checked
    // before each run (--smc-check=all-non-file, Valgrind's default).
    let code_len = (block.end_pc().max(pc + 1) - pc) as usize;
    let end = pc + code_len as u64;
    let checked = match cx.smc_check {
        SmcCheck::None => false,
        SmcCheck::All => true,
        SmcCheck::AllNonFile => !crate::os::linux::mem::is_file_readonly(pc, end),
        SmcCheck::Stack => {
            // The running thread's stack: up to 8 MiB above its stack
            // pointer (and the red zone below), or the main stack mapping.
            let near_sp =
                pc >= cx.guest_rsp.saturating_sub(128) && pc < cx.guest_rsp.saturating_add(8 << 20);
            near_sp || crate::os::linux::mem::is_main_stack(pc)
        }
    };
    let check = checked.then(|| &block.bytes[..code_len.min(block.bytes.len())]);
    let known: Vec<(u64, u64)> = block
        .direct_successors()
        .into_iter()
        .filter_map(|t| cache.lookup(t).map(|b| (t, b.host)))
        .collect();
    cache
        .insert(pc, guest_end, |base| {
            let emitted = arch::emit_block(&block, &counters, &instrument, base, &known, check);
            if let Ok(e) = &emitted {
                dump_host_code(pc, base, &e.code);
            }
            emitted
        })
        .map_err(TranslateError::Cache)
}

/// With `--trace=dbi::translate::host=trace`: the translation's host code,
/// disassembled, for reading what translated code costs (`perf` names
/// code-cache addresses only).
fn dump_host_code(pc: u64, base: u64, code: &[u8]) {
    if !tracing::enabled!(target: "dbi::translate::host", tracing::Level::TRACE) {
        return;
    }
    use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};
    let mut f = GasFormatter::new();
    let mut d = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    let mut text = String::new();
    for i in &mut d {
        text.push_str(&format!("\n  {:#x}: ", i.ip()));
        f.format(&i, &mut text);
    }
    tracing::trace!(target: "dbi::translate::host", "block {pc:#x} at {base:#x}:{text}");
}
