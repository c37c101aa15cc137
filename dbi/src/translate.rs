//! Translating one guest block: decode, show it to the tool, emit, place.

use crate::arch::{self, BlockEnd};
use crate::code_cache::{Block, CacheError, CodeCache};
use crate::{BlockView, Interests, Tool};
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

/// Translates the guest block at `pc` into `cache`.
#[tracing::instrument(level = "trace", skip_all, fields(pc = format_args!("{pc:#x}")))]
pub(crate) fn translate(
    pc: u64,
    cache: &mut CodeCache,
    tool: &mut dyn Tool,
    interests: &Interests,
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
        });
    }
    let counters = arch::plan_counters(
        &block,
        interests.instruction_counts,
        interests.memory_access_counts,
    );
    let guest_end = match block.end {
        BlockEnd::Native(p) | BlockEnd::UsesGs(p) if block.insns.is_empty() => p + 1,
        _ => block.end_pc(),
    };
    // Code in memory the guest can write (JITs, trampolines) is checked
    // before each run (--smc-check=all-non-file, Valgrind's default).
    let code_len = (block.end_pc().max(pc + 1) - pc) as usize;
    let check = (!crate::os::linux::mem::is_file_readonly(pc, pc + code_len as u64))
        .then(|| &block.bytes[..code_len.min(block.bytes.len())]);
    let known: Vec<(u64, u64)> = block
        .direct_successors()
        .into_iter()
        .filter_map(|t| cache.lookup(t).map(|b| (t, b.host)))
        .collect();
    cache
        .insert(pc, guest_end, |base| {
            arch::emit_block(&block, &counters, base, &known, check)
        })
        .map_err(TranslateError::Cache)
}
