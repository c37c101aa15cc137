//! Instrumentation placed at the head of a block.
//!
//! Counting (`--tool=inscount`) adds the block's instruction and
//! memory-operand counts to `ThreadBlock::insn_count`/`mem_count` once per
//! block execution. `add gs:[counter], imm` would clobber the guest's flags,
//! so we choose per block:
//! - when a forward scan shows the flags dead at the block head (an
//!   instruction writes all six status flags before any reads one), a plain
//!   `add qword gs:[counter], imm32` (one instruction per counter);
//! - otherwise rax is spilled to `SPILL_RAX` and each counter is bumped with
//!   `mov rax, gs:[c]; lea rax, [rax+imm]; mov gs:[c], rax`, which leaves the
//!   flags alone. No `pushf`, nothing written to the guest stack.

use super::decode::{BlockEnd, DecodedBlock};
use super::thread_block::{INSN_COUNT, MEM_COUNT, SPILL_RAX};
use iced_x86::{InstructionInfoFactory, OpAccess, RflagsBits};

/// Counter bumps for one block.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CounterPlan {
    pub(crate) insns: u32,
    pub(crate) mems: u32,
    pub(crate) flags_dead: bool,
}

/// Memory operands per instruction (those that really access memory).
pub(crate) fn memory_operand_counts(block: &DecodedBlock) -> Vec<u32> {
    let mut factory = InstructionInfoFactory::new();
    block
        .insns
        .iter()
        .map(|i| {
            factory
                .info(i)
                .used_memory()
                .iter()
                .filter(|m| !matches!(m.access(), OpAccess::NoMemAccess | OpAccess::None))
                .count() as u32
        })
        .collect()
}

/// Whether the status flags are dead at the head of `block`.
pub(crate) fn flags_dead_at_head(block: &DecodedBlock) -> bool {
    const STATUS: u32 = RflagsBits::OF
        | RflagsBits::SF
        | RflagsBits::ZF
        | RflagsBits::AF
        | RflagsBits::CF
        | RflagsBits::PF;
    let mut written = 0u32;
    for i in &block.insns {
        if i.rflags_read() & STATUS & !written != 0 {
            return false;
        }
        // Flags an instruction leaves "undefined" may in fact keep their old
        // value on real hardware (imul keeps SF/ZF/AF/PF here): they do not
        // kill. Found by dbi/tests/differential.rs.
        written |= (i.rflags_written() | i.rflags_cleared() | i.rflags_set()) & STATUS;
        if written == STATUS {
            return true;
        }
    }
    // Flags flow out of the block (or into a syscall, which keeps them).
    false
}

/// The counter plan for `block` given what the tool counts.
pub(crate) fn plan_counters(
    block: &DecodedBlock,
    count_insns: bool,
    count_mems: bool,
) -> CounterPlan {
    if !count_insns && !count_mems {
        return CounterPlan::default();
    }
    let mut insns = block.insns.len() as u32;
    if matches!(block.end, BlockEnd::Syscall { .. }) {
        insns += 1;
    }
    let mems = if count_mems {
        memory_operand_counts(block).iter().sum()
    } else {
        0
    };
    CounterPlan {
        insns: if count_insns { insns } else { 0 },
        mems,
        flags_dead: flags_dead_at_head(block),
    }
}

/// Emits the counter bumps of `plan` through `out`.
pub(crate) fn emit_counters(out: &mut dyn FnMut(&[u8]), plan: &CounterPlan) {
    let bumps: Vec<(i32, u32)> = [(INSN_COUNT, plan.insns), (MEM_COUNT, plan.mems)]
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect();
    if bumps.is_empty() {
        return;
    }
    if plan.flags_dead {
        for (off, n) in bumps {
            out(&[0x65, 0x48, 0x81, 0x04, 0x25]); // add qword gs:[off], imm32
            out(&off.to_le_bytes());
            out(&n.to_le_bytes());
        }
        return;
    }
    out(&[0x65, 0x48, 0x89, 0x04, 0x25]); // mov gs:[SPILL_RAX], rax
    out(&SPILL_RAX.to_le_bytes());
    for (off, n) in bumps {
        out(&[0x65, 0x48, 0x8b, 0x04, 0x25]); // mov rax, gs:[off]
        out(&off.to_le_bytes());
        out(&[0x48, 0x8d, 0x80]); // lea rax, [rax+imm32]
        out(&n.to_le_bytes());
        out(&[0x65, 0x48, 0x89, 0x04, 0x25]); // mov gs:[off], rax
        out(&off.to_le_bytes());
    }
    out(&[0x65, 0x48, 0x8b, 0x04, 0x25]); // mov rax, gs:[SPILL_RAX]
    out(&SPILL_RAX.to_le_bytes());
}
