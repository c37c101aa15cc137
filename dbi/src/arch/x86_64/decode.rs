//! Decoding guest basic blocks with iced-x86.
//!
//! A block is a run of guest instructions that ends at the first control
//! transfer (kept as the block's last instruction), at a `syscall`, before an
//! instruction that must run natively or touches GS, or after
//! `MAX_BLOCK_INSNS` instructions.

use crate::os::linux::mem::read_guest;
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, Instruction, Register};

/// The most instructions one block holds.
pub(crate) const MAX_BLOCK_INSNS: usize = 96;

/// How a decoded block ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockEnd {
    /// After the last instruction execution continues at this pc.
    Fallthrough(u64),
    /// The last instruction is a branch, call or return (translated specially).
    Branch,
    /// A `syscall` at `pc`, not part of `insns`; the guest resumes at `next`.
    Syscall { pc: u64, next: u64 },
    /// The instruction at this pc must run natively (it raises a signal:
    /// int3, ud2, hlt, an undecodable or unreadable instruction...).
    Native(u64),
    /// The instruction at this pc uses GS, which belongs to the runtime.
    UsesGs(u64),
}

/// A decoded guest block: its instructions (with their original bytes) and its end.
pub(crate) struct DecodedBlock {
    pub(crate) pc: u64,
    pub(crate) insns: Vec<Instruction>,
    /// Per instruction: where its 32-bit displacement starts when it has a
    /// RIP-relative operand (0 otherwise), for re-aiming it in the cache.
    pub(crate) disp_offsets: Vec<u8>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) end: BlockEnd,
}

impl DecodedBlock {
    /// The original bytes of `insn`.
    pub(crate) fn bytes_of(&self, insn: &Instruction) -> &[u8] {
        let off = (insn.ip() - self.pc) as usize;
        &self.bytes[off..off + insn.len()]
    }

    /// Guest pcs this block may continue at through a direct branch or by
    /// falling through.
    pub(crate) fn direct_successors(&self) -> Vec<u64> {
        match self.end {
            BlockEnd::Fallthrough(pc) => vec![pc],
            BlockEnd::Branch => {
                let last = self.insns.last().expect("a Branch block ends in a branch");
                match last.flow_control() {
                    FlowControl::UnconditionalBranch | FlowControl::Call => {
                        vec![last.near_branch_target()]
                    }
                    FlowControl::ConditionalBranch => {
                        vec![last.near_branch_target(), last.next_ip()]
                    }
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// One past the last guest byte of the block.
    pub(crate) fn end_pc(&self) -> u64 {
        match self.end {
            BlockEnd::Syscall { next, .. } => next,
            _ => self.insns.last().map_or(self.pc, |i| i.next_ip()),
        }
    }
}

fn uses_gs(insn: &Instruction) -> bool {
    if insn.segment_prefix() == Register::GS {
        return true;
    }
    for i in 0..insn.op_count() {
        if insn.op_kind(i) == iced_x86::OpKind::Register && insn.op_register(i) == Register::GS {
            return true;
        }
    }
    matches!(
        insn.code(),
        Code::Rdgsbase_r32
            | Code::Rdgsbase_r64
            | Code::Wrgsbase_r32
            | Code::Wrgsbase_r64
            | Code::Swapgs
    )
}

/// Instructions that never complete normally in user space, or whose
/// effect we cannot follow: they run natively at their guest pc, so the
/// kernel raises the same signal as in a native run.
fn must_run_natively(insn: &Instruction) -> bool {
    if insn.is_invalid() {
        return true;
    }
    match insn.flow_control() {
        FlowControl::Interrupt | FlowControl::Exception | FlowControl::XbeginXabortXend => true,
        _ => {
            matches!(
                insn.code(),
                Code::Hlt
                    | Code::Retfq
                    | Code::Retfd
                    | Code::Retfw
                    | Code::Retfq_imm16
                    | Code::Retfd_imm16
                    | Code::Retfw_imm16
                    | Code::Iretq
                    | Code::Iretd
                    | Code::Iretw
                    | Code::Sysenter
                    | Code::Sysexitq
                    | Code::Sysretq
            ) || insn.is_jmp_far()
                || insn.is_jmp_far_indirect()
                || insn.is_call_far()
                || insn.is_call_far_indirect()
        }
    }
}

/// Decodes the guest block starting at `pc`.
pub(crate) fn decode_block(pc: u64) -> DecodedBlock {
    // Most blocks are short: read a little, and more only when needed.
    let mut want = 256;
    loop {
        if let Some(b) = try_decode_block(pc, want) {
            return b;
        }
        want *= 2;
    }
}

/// Decodes from `want` bytes read at `pc`; `None` when they ran out before the
/// block ended although more bytes are readable.
fn try_decode_block(pc: u64, want: usize) -> Option<DecodedBlock> {
    let want = want.min(MAX_BLOCK_INSNS * 15);
    let mut bytes = vec![0u8; want];
    let got = read_guest(pc, &mut bytes);
    bytes.truncate(got);
    let complete = got < want || want == MAX_BLOCK_INSNS * 15;
    let mut decoder = Decoder::with_ip(64, &bytes, pc, DecoderOptions::NONE);
    let mut insns = Vec::new();
    let mut disp_offsets = Vec::new();
    let mut end = None;
    while end.is_none() {
        let here = decoder.ip();
        if !decoder.can_decode() {
            if !complete {
                return None;
            }
            end = Some(if insns.is_empty() {
                BlockEnd::Native(here)
            } else {
                BlockEnd::Fallthrough(here)
            });
            break;
        }
        let insn = decoder.decode();
        if insn.is_invalid() && !complete && (here - pc) as usize + 15 > bytes.len() {
            // Possibly an instruction cut by the end of what we read.
            return None;
        }
        if uses_gs(&insn) {
            end = Some(if insns.is_empty() {
                BlockEnd::UsesGs(here)
            } else {
                BlockEnd::Fallthrough(here)
            });
        } else if insn.code() == Code::Syscall {
            end = Some(BlockEnd::Syscall {
                pc: here,
                next: insn.next_ip(),
            });
        } else if must_run_natively(&insn) {
            end = Some(if insns.is_empty() {
                BlockEnd::Native(here)
            } else {
                BlockEnd::Fallthrough(here)
            });
        } else {
            let is_branch = insn.flow_control() != FlowControl::Next;
            let disp = if insn.is_ip_rel_memory_operand() {
                let c = decoder.get_constant_offsets(&insn);
                debug_assert_eq!(
                    c.displacement_size(),
                    4,
                    "RIP-relative displacements are 32-bit"
                );
                c.displacement_offset() as u8
            } else {
                0
            };
            insns.push(insn);
            disp_offsets.push(disp);
            if is_branch {
                end = Some(BlockEnd::Branch);
            } else if insns.len() == MAX_BLOCK_INSNS {
                end = Some(BlockEnd::Fallthrough(insn.next_ip()));
            }
        }
    }
    Some(DecodedBlock {
        pc,
        insns,
        disp_offsets,
        bytes,
        end: end.expect("loop ends only with an end"),
    })
}
