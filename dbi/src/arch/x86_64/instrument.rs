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
//!
//! A block counter (`Interests::block_counts`, crate::block_counters) lives
//! at an address anywhere in the runtime's memory, so it is reached through
//! a register: `mov rax, imm64` then `add qword [rax], 1` when the flags
//! are dead, else `mov rcx, [rax]; lea rcx, [rcx+1]; mov [rax], rcx` with
//! rcx spilled to `SPILL_RCX` too. It comes after the buffer room check and
//! the hook exit (emit.rs), which rerun or resume the block's head, so one
//! execution bumps it once.

use super::decode::{BlockEnd, DecodedBlock};
use super::thread_block::{INSN_COUNT, MEM_COUNT, SPILL_RAX, SPILL_RCX};
use iced_x86::{InstructionInfoFactory, OpAccess, RflagsBits};

/// Counter bumps for one block.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CounterPlan {
    pub(crate) insns: u32,
    pub(crate) mems: u32,
    pub(crate) flags_dead: bool,
    /// The address of the block's execution counter, if it has one.
    pub(crate) block_counter: Option<u64>,
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
    block_counter: Option<u64>,
) -> CounterPlan {
    if !count_insns && !count_mems {
        return CounterPlan {
            flags_dead: block_counter.is_some() && flags_dead_at_head(block),
            block_counter,
            ..CounterPlan::default()
        };
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
        block_counter,
    }
}

/// Emits the counter bumps of `plan` through `out`.
pub(crate) fn emit_counters(out: &mut dyn FnMut(&[u8]), plan: &CounterPlan) {
    if let Some(counter) = plan.block_counter {
        emit_block_counter(out, counter, plan.flags_dead);
    }
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

/// Emits the bump of the block counter at `counter` (see the module docs).
fn emit_block_counter(out: &mut dyn FnMut(&[u8]), counter: u64, flags_dead: bool) {
    out(&[0x65, 0x48, 0x89, 0x04, 0x25]); // mov gs:[SPILL_RAX], rax
    out(&SPILL_RAX.to_le_bytes());
    out(&[0x48, 0xb8]); // mov rax, imm64
    out(&counter.to_le_bytes());
    if flags_dead {
        out(&[0x48, 0x83, 0x00, 0x01]); // add qword [rax], 1
    } else {
        out(&[0x65, 0x48, 0x89, 0x0c, 0x25]); // mov gs:[SPILL_RCX], rcx
        out(&SPILL_RCX.to_le_bytes());
        out(&[0x48, 0x8b, 0x08]); // mov rcx, [rax]
        out(&[0x48, 0x8d, 0x49, 0x01]); // lea rcx, [rcx+1]
        out(&[0x48, 0x89, 0x08]); // mov [rax], rcx
        out(&[0x65, 0x48, 0x8b, 0x0c, 0x25]); // mov rcx, gs:[SPILL_RCX]
        out(&SPILL_RCX.to_le_bytes());
    }
    out(&[0x65, 0x48, 0x8b, 0x04, 0x25]); // mov rax, gs:[SPILL_RAX]
    out(&SPILL_RAX.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::emit_block_counter;
    use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};

    fn disassemble(flags_dead: bool) -> Vec<String> {
        let mut code = Vec::new();
        emit_block_counter(
            &mut |b| code.extend_from_slice(b),
            0x1122_3344_5566_7788,
            flags_dead,
        );
        let mut f = GasFormatter::new();
        Decoder::new(64, &code, DecoderOptions::NONE)
            .into_iter()
            .map(|i| {
                let mut s = String::new();
                f.format(&i, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn block_counter_bump_is_what_the_docs_say() {
        assert_eq!(
            disassemble(true),
            [
                "mov %rax,%gs:0x10",
                "movabs $0x1122334455667788,%rax",
                "addq $1,(%rax)",
                "mov %gs:0x10,%rax"
            ]
        );
        assert_eq!(
            disassemble(false),
            [
                "mov %rax,%gs:0x10",
                "movabs $0x1122334455667788,%rax",
                "mov %rcx,%gs:0x18",
                "mov (%rax),%rcx",
                "lea 1(%rcx),%rcx",
                "mov %rcx,(%rax)",
                "mov %gs:0x18,%rcx",
                "mov %gs:0x10,%rax"
            ]
        );
    }
}
