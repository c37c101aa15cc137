//! Emitting a decoded block into the code cache.
//!
//! Guest instructions are copied byte for byte; one with a RIP-relative
//! operand keeps its bytes and gets its 32-bit displacement re-aimed at the
//! same absolute target from its new address (out of reach is an error, and
//! the block goes to a region nearer the guest code). Only control transfers
//! and `syscall` are rewritten (papers/mangling.md):
//!
//! - a direct branch becomes `jmp/jcc rel32` to an *exit stub*; the
//!   dispatcher later links it by patching the rel32 (or, when the target is
//!   out of rel32 reach, the stub's 8-byte link slot);
//! - a call pushes the *guest* return address (`push qword [rip+slot]`), so
//!   the guest stack holds exactly what it holds natively;
//! - `ret`, indirect `jmp` and `call` load the target into rcx (guest rcx
//!   spilled to the `ThreadBlock`) and look it up inline in the per-thread
//!   indirect-branch table, using only `mov`, `movzx`, `lea` and `jrcxz`, so
//!   the guest's flags are never touched; a miss leaves for the dispatcher.
//!
//! Nothing here writes below the guest rsp: spills go to `gs:`.
//!
//! # Block layout
//! `[instrumentation][guest instructions][terminator][exit stubs + exit infos][return-address slots]`
//!
//! An exit stub (32 bytes) and its `ExitInfo` (32 bytes) sit together:
//! `jmp [rip+link_slot]` (entered only once far-linked), then
//! `mov gs:[SPILL_RAX], rax; lea rax, [rip+info]; jmp gs:[EXIT_COMMON]`.

use super::decode::{BlockEnd, DecodedBlock};
use super::instrument::{emit_counters, CounterPlan};
use super::record::{
    emit_record, emit_room_check_head, is_client_request, load_gs, store_gs, Record, RecordPlan,
};
use super::thread_block::{
    EXIT_COMMON, IBL_JUMP, IBL_TABLE_OFFSET, IND_TARGET, SLICE, SPILL_RAX, SPILL_RCX, SPILL_RDX,
};
use iced_x86::{Code, FlowControl, Instruction};

/// What an exit stub asks of the dispatcher (`ExitInfo::kind`).
pub(crate) mod exit_kind {
    /// Continue at `target_pc`; the branch may be linked.
    pub(crate) const DIRECT: u64 = 0;
    /// Continue at `ThreadBlock::ind_target` (an indirect-branch-table miss).
    pub(crate) const INDIRECT: u64 = 1;
    /// Run the syscall in the guest registers, then continue at `target_pc`.
    pub(crate) const SYSCALL: u64 = 2;
    /// Run the guest instruction at `target_pc` natively (it raises a signal).
    pub(crate) const NATIVE: u64 = 3;
    /// The guest instruction at `target_pc` uses GS.
    pub(crate) const USES_GS: u64 = 4;
    /// The guest code of the block at `target_pc` changed since it was translated.
    pub(crate) const CODE_CHANGED: u64 = 5;
    /// The event buffer has no room for the block at `target_pc`: flush, rerun it.
    pub(crate) const BUF_FULL: u64 = 6;
    /// The hooked function at `target_pc` is entered; continue at `link_slot`.
    pub(crate) const HOOK: u64 = 7;
    /// A client request at `target_pc`; continue at `link_slot`.
    pub(crate) const CLIENT_REQUEST: u64 = 8;
    /// The thread's timeslice of blocks ran out before the block at `target_pc`.
    pub(crate) const YIELD: u64 = 9;
    /// The gather or scatter at `target_pc` is about to run: record its
    /// element accesses; continue at `link_slot`.
    pub(crate) const VSIB: u64 = 10;
    /// How many kinds there are.
    pub(crate) const COUNT: usize = 11;
}

/// The record an exit stub hands to the dispatcher (in the code cache).
#[repr(C)]
pub(crate) struct ExitInfo {
    /// Where the stub's first instruction jumps: the rest of the stub until
    /// far-linked, then the target block.
    pub(crate) link_slot: u64,
    pub(crate) target_pc: u64,
    pub(crate) kind: u64,
    /// Address of the rel32 of the branch that enters this stub, or 0.
    pub(crate) patch_site: u64,
}

const STUB_LEN: usize = 32;
const INFO_LEN: usize = 32;
const _: () = assert!(core::mem::size_of::<ExitInfo>() == INFO_LEN);
/// Offset in a stub of the path that leaves for the dispatcher.
pub(crate) const STUB_EXIT_OFFSET: u64 = 6;

/// Why a block could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmitError {
    /// A RIP-relative operand or branch does not reach from `base`.
    OutOfReach,
}

#[derive(Clone, Copy)]
struct Label(usize);

enum Fixup {
    /// rel32 at this offset (end of field + 4 = next instruction).
    Rel32 { at: usize, label: Label },
}

struct Stub {
    label: Label,
    kind: u64,
    target_pc: u64,
    /// Offset of the rel32 of the branch entering the stub.
    entry_site: Option<usize>,
}

/// Emits machine code for one block at a known final address.
struct Asm {
    base: u64,
    buf: Vec<u8>,
    labels: Vec<Option<usize>>,
    fixups: Vec<Fixup>,
    stubs: Vec<Stub>,
    /// Guest return addresses for `push qword [rip+slot]`.
    slots: Vec<(Label, u64)>,
    /// Exit infos with no stub: (info, kind, target pc, resume label).
    infos: Vec<(Label, u64, u64, Option<Label>)>,
    /// Translated blocks this block may branch to directly: (guest pc, host).
    known: Vec<(u64, u64)>,
    points: Vec<SafePoint>,
}

impl Asm {
    /// Records a safe point at the current offset.
    fn point(&mut self, guest_pc: u64, rcx_spilled: bool) {
        self.points.push(SafePoint {
            offset: self.buf.len() as u32,
            guest_pc,
            rcx_spilled,
        });
    }
    fn here(&self) -> u64 {
        self.base + self.buf.len() as u64
    }
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.buf.len());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    fn d32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn rel32_to(&mut self, l: Label) -> usize {
        let at = self.buf.len();
        self.fixups.push(Fixup::Rel32 { at, label: l });
        self.d32(0);
        at
    }
    /// `mov gs:[off], r64`.
    fn store_gs(&mut self, reg: u8, off: i32) {
        store_gs(&mut self.buf, reg, off);
    }
    /// `mov r64, gs:[off]`.
    fn load_gs(&mut self, reg: u8, off: i32) {
        load_gs(&mut self.buf, reg, off);
    }
    /// `jmp qword gs:[off]`.
    fn jmp_gs(&mut self, off: i32) {
        self.bytes(&[0x65, 0xff, 0x24, 0x25]);
        self.d32(off);
    }
    /// `jmp rel32` to a new exit stub; returns nothing, the stub is recorded.
    fn jmp_exit(&mut self, kind: u64, target_pc: u64) {
        self.bytes(&[0xe9]);
        self.branch_to_new_stub(kind, target_pc);
    }
    /// Leaves for the dispatcher with `kind`; the dispatcher continues right
    /// after this sequence (the info's `link_slot`), guest state unchanged.
    fn exit_and_resume(&mut self, kind: u64, target_pc: u64) {
        self.store_gs(RAX, SPILL_RAX);
        let info = self.label();
        self.bytes(&[0x48, 0x8d, 0x05]); // lea rax, [rip+info]
        self.rel32_to(info);
        let resume = self.label();
        self.infos.push((info, kind, target_pc, Some(resume)));
        self.jmp_gs(EXIT_COMMON);
        self.bind(resume);
    }
    fn branch_to_new_stub(&mut self, kind: u64, target_pc: u64) {
        if kind == exit_kind::DIRECT {
            // Already translated and in reach: link now, saving an exit.
            if let Some(&(_, host)) = self.known.iter().find(|&&(pc, _)| pc == target_pc) {
                let site = self.here();
                if let Ok(rel) = i32::try_from(host as i64 - (site as i64 + 4)) {
                    self.d32(rel);
                    return;
                }
            }
        }
        let l = self.label();
        let at = self.rel32_to(l);
        self.stubs.push(Stub {
            label: l,
            kind,
            target_pc,
            entry_site: Some(at),
        });
    }
}

const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;

/// What a tool asked to be added to a block besides counters.
#[derive(Debug, Default)]
pub(crate) struct BlockInstrumentation {
    /// The block starts a hooked function: leave with a `HOOK` exit first.
    pub(crate) hook: bool,
    /// Turn client-request sequences into `CLIENT_REQUEST` exits.
    pub(crate) client_requests: bool,
    pub(crate) records: RecordPlan,
    /// The CPU lets user code run `rdfsbase`.
    pub(crate) rdfsbase: bool,
    /// Count the block against the thread's timeslice (`SLICE`) and leave
    /// with `YIELD` when it is used up (deterministic schedules).
    pub(crate) countdown: bool,
}

/// The code for one block: bytes to place at `base`, and the block's size.
pub(crate) struct EmittedBlock {
    pub(crate) code: Vec<u8>,
    /// Where a signal may stop the block and the guest state be recovered.
    pub(crate) points: Vec<SafePoint>,
}

/// A cache offset inside a block where the guest state is exactly the
/// registers at that moment (with guest rcx in `SPILL_RCX` when
/// `rcx_spilled`), about to execute the guest instruction at `guest_pc`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SafePoint {
    pub(crate) offset: u32,
    pub(crate) guest_pc: u64,
    pub(crate) rcx_spilled: bool,
}

/// Emits `block` for placement at `base`.
pub(crate) fn emit_block(
    block: &DecodedBlock,
    counters: &CounterPlan,
    instrument: &BlockInstrumentation,
    base: u64,
    known: &[(u64, u64)],
    check: Option<&[u8]>,
) -> Result<EmittedBlock, EmitError> {
    let mut a = Asm {
        base,
        buf: Vec::with_capacity(block.insns.len() * 8 + 256),
        labels: Vec::new(),
        fixups: Vec::new(),
        stubs: Vec::new(),
        slots: Vec::new(),
        infos: Vec::new(),
        known: known.to_vec(),
        points: Vec::new(),
    };
    if let Some(original) = check {
        emit_code_check(&mut a, block.pc, original);
    }
    if instrument.countdown {
        // slice -= 1 without flags; at zero leave before running the block
        // (the dispatcher refills the slice, so the rerun passes).
        a.store_gs(RCX, SPILL_RCX);
        a.load_gs(RCX, SLICE);
        a.bytes(&[0x48, 0x8d, 0x49, 0xff]); // lea rcx, [rcx-1]
        a.store_gs(RCX, SLICE);
        a.bytes(&[0xe3, 2]); // jrcxz over the short jmp
        a.bytes(&[0xeb, 14]); // jmp over the 14-byte exit path
        a.load_gs(RCX, SPILL_RCX);
        a.jmp_exit(exit_kind::YIELD, block.pc);
        a.load_gs(RCX, SPILL_RCX);
    }
    // The room check comes first: a full buffer reruns the block from its
    // head, and the hook must not be announced twice.
    let records = &instrument.records;
    if records.total > 0 {
        emit_room_check_head(&mut a.buf, (records.total * 16) as u32);
        a.bytes(&[0xe3, 14]); // jrcxz over the 14-byte exit path
        a.load_gs(RCX, SPILL_RCX);
        a.jmp_exit(exit_kind::BUF_FULL, block.pc);
        a.load_gs(RCX, SPILL_RCX);
    }
    if instrument.hook {
        a.exit_and_resume(exit_kind::HOOK, block.pc);
    }
    emit_counters(&mut |b: &[u8]| a.bytes(b), counters);
    let records_of = |idx: usize| records.per_insn.get(idx).map_or(&[][..], |v| &v[..]);
    let (body, last) = match block.end {
        BlockEnd::Branch => {
            let (last, body) = block
                .insns
                .split_last()
                .expect("a Branch block ends in a branch");
            (body, Some(last))
        }
        _ => (&block.insns[..], None),
    };
    for (idx, insn) in body.iter().enumerate() {
        a.point(insn.ip(), false);
        if !records_of(idx).is_empty() {
            for r in records_of(idx) {
                if matches!(r, Record::Vsib) {
                    a.exit_and_resume(exit_kind::VSIB, insn.ip());
                } else {
                    emit_record(&mut a.buf, r, instrument.rdfsbase);
                }
            }
            // A fault of the instruction itself stops here.
            a.point(insn.ip(), false);
        }
        if instrument.client_requests && is_client_request(&block.insns, idx) {
            a.exit_and_resume(exit_kind::CLIENT_REQUEST, insn.ip());
            continue;
        }
        copy_insn(&mut a, block, idx)?;
    }
    match block.end {
        BlockEnd::Branch => {
            let last = last.expect("a branch");
            a.point(last.ip(), false);
            let recs = records_of(block.insns.len() - 1);
            if !recs.is_empty() {
                for r in recs {
                    emit_record(&mut a.buf, r, instrument.rdfsbase);
                }
                a.point(last.ip(), false);
            }
        }
        BlockEnd::Fallthrough(pc) => a.point(pc, false),
        _ => {}
    }
    match (block.end, last) {
        (BlockEnd::Branch, Some(insn)) => emit_branch(&mut a, block, insn)?,
        (BlockEnd::Fallthrough(pc), _) => a.jmp_exit(exit_kind::DIRECT, pc),
        (BlockEnd::Syscall { next, .. }, _) => a.jmp_exit(exit_kind::SYSCALL, next),
        (BlockEnd::Native(pc), _) => a.jmp_exit(exit_kind::NATIVE, pc),
        (BlockEnd::UsesGs(pc), _) => a.jmp_exit(exit_kind::USES_GS, pc),
        (BlockEnd::Branch, None) => unreachable!("split_last gave the branch"),
    }
    finish(a)
}

fn copy_insn(a: &mut Asm, block: &DecodedBlock, idx: usize) -> Result<(), EmitError> {
    let insn = &block.insns[idx];
    let mut b = block.bytes_of(insn).to_vec();
    if insn.is_ip_rel_memory_operand() {
        // Same bytes, displacement re-aimed at the same absolute target.
        let at = block.disp_offsets[idx] as usize;
        let rel = insn.memory_displacement64() as i64 - (a.here() as i64 + b.len() as i64);
        let rel = i32::try_from(rel).map_err(|_| EmitError::OutOfReach)?;
        b[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }
    a.bytes(&b);
    Ok(())
}

/// Self-modifying code check (decision 9, Valgrind's scheme): compares the
/// guest bytes of the block with `original`, 8 bytes at a time, without
/// touching the flags: rcx = guest chunk, rdx = its negated original value,
/// and `lea rcx, [rcx+rdx]` is zero exactly when they are equal (`jrcxz`).
/// On a difference the block leaves with `CODE_CHANGED`.
fn emit_code_check(a: &mut Asm, pc: u64, original: &[u8]) {
    a.store_gs(RAX, SPILL_RAX);
    a.store_gs(RCX, SPILL_RCX);
    a.store_gs(RDX, SPILL_RDX);
    a.bytes(&[0x48, 0xb8]); // mov rax, imm64
    a.bytes(&pc.to_le_bytes());
    let fail = a.label();
    let mut off = 0usize;
    while off < original.len() {
        let left = original.len() - off;
        let (width, load): (usize, &[u8]) = match left {
            8.. => (8, &[0x48, 0x8b, 0x88]),   // mov rcx, [rax+d32]
            4..=7 => (4, &[0x8b, 0x88]),       // mov ecx, [rax+d32]
            2..=3 => (2, &[0x0f, 0xb7, 0x88]), // movzx ecx, word [rax+d32]
            _ => (1, &[0x0f, 0xb6, 0x88]),     // movzx ecx, byte [rax+d32]
        };
        let mut v = [0u8; 8];
        v[..width].copy_from_slice(&original[off..off + width]);
        let neg = u64::from_le_bytes(v).wrapping_neg();
        a.bytes(load);
        a.d32(off as i32);
        let slot = a.label();
        a.bytes(&[0x48, 0x8b, 0x15]); // mov rdx, [rip+slot]
        a.rel32_to(slot);
        a.slots.push((slot, neg));
        a.bytes(&[0x48, 0x8d, 0x0c, 0x11]); // lea rcx, [rcx+rdx]
        a.bytes(&[0xe3, 5]); // jrcxz over the jmp
        a.bytes(&[0xe9]);
        a.rel32_to(fail);
        off += width;
    }
    let done = a.label();
    let restore = |a: &mut Asm| {
        a.load_gs(RDX, SPILL_RDX);
        a.load_gs(RCX, SPILL_RCX);
        a.load_gs(RAX, SPILL_RAX);
    };
    restore(a);
    a.bytes(&[0xe9]);
    a.rel32_to(done);
    a.bind(fail);
    restore(a);
    a.jmp_exit(exit_kind::CODE_CHANGED, pc);
    a.bind(done);
}

/// `mov rcx, <operand 0 of insn>` (the target of an indirect jmp/call),
/// made from the guest's own `FF /2` or `FF /4` bytes: same segment and
/// address-size prefixes, REX.W with the guest's REX.X/REX.B, opcode `8B`,
/// the ModRM with rcx as its reg field, then the guest's SIB and
/// displacement (re-aimed when RIP-relative). Prefixes without meaning for a
/// load (`notrack`, `bnd`) are dropped.
fn load_target_into_rcx(
    a: &mut Asm,
    block: &DecodedBlock,
    insn: &Instruction,
) -> Result<(), EmitError> {
    let orig = block.bytes_of(insn);
    let mut out = Vec::with_capacity(orig.len() + 2);
    let mut i = 0;
    while let Some(&p) = orig.get(i) {
        match p {
            0x64 | 0x65 | 0x67 => out.push(p),
            0x26 | 0x2e | 0x36 | 0x3e | 0x66 | 0xf0 | 0xf2 | 0xf3 => {}
            _ => break,
        }
        i += 1;
    }
    let rex = if (0x40..=0x4f).contains(&orig[i]) {
        i += 1;
        orig[i - 1]
    } else {
        0
    };
    assert_eq!(orig[i], 0xff, "an indirect near jmp/call is FF /2 or FF /4");
    let modrm = orig[i + 1];
    out.push(0x48 | (rex & 0b11));
    out.push(0x8b);
    out.push((modrm & 0xc7) | (1 << 3));
    let disp_at = out.len();
    out.extend_from_slice(&orig[i + 2..]);
    if insn.is_ip_rel_memory_operand() {
        let rel = insn.memory_displacement64() as i64 - (a.here() as i64 + out.len() as i64);
        let rel = i32::try_from(rel).map_err(|_| EmitError::OutOfReach)?;
        out[disp_at..disp_at + 4].copy_from_slice(&rel.to_le_bytes());
    }
    a.bytes(&out);
    Ok(())
}

/// `push qword [rip+slot]` with the slot holding `ret_pc`.
fn push_return_address(a: &mut Asm, ret_pc: u64) {
    if ret_pc < 0x8000_0000 {
        // push imm32 (sign-extended): the program is below 2 GiB.
        a.bytes(&[0x68]);
        a.d32(ret_pc as i32);
        return;
    }
    let l = a.label();
    a.bytes(&[0xff, 0x35]);
    a.rel32_to(l);
    a.slots.push((l, ret_pc));
}

/// The inline indirect-branch lookup: rcx holds the guest target, guest rcx
/// is in `SPILL_RCX`. Touches no flags and no guest memory.
fn emit_ibl(a: &mut Asm) {
    a.store_gs(RDX, SPILL_RDX);
    a.store_gs(RAX, SPILL_RAX);
    a.bytes(&[0x0f, 0xb7, 0xd1]); // movzx edx, cx
    a.bytes(&[0x48, 0x8d, 0x14, 0x12]); // lea rdx, [rdx+rdx]
    a.bytes(&[0x65, 0x48, 0x8b, 0x04, 0xd5]); // mov rax, gs:[rdx*8+table]
    a.d32(IBL_TABLE_OFFSET as i32);
    a.bytes(&[0x48, 0x8d, 0x0c, 0x01]); // lea rcx, [rcx+rax]
    a.bytes(&[0xe3, 50]); // jrcxz hit (the miss path is 50 bytes)
    let miss_start = a.buf.len();
    // Miss: recover the target without flags: rcx - key = rcx + !key + 1.
    a.bytes(&[0x48, 0xf7, 0xd0]); // not rax
    a.bytes(&[0x48, 0x8d, 0x4c, 0x01, 0x01]); // lea rcx, [rcx+rax+1]
    a.store_gs(RCX, IND_TARGET);
    a.load_gs(RDX, SPILL_RDX);
    a.load_gs(RCX, SPILL_RCX);
    let info = a.label();
    a.bytes(&[0x48, 0x8d, 0x05]); // lea rax, [rip+info]
    a.rel32_to(info);
    a.infos.push((info, exit_kind::INDIRECT, 0, None));
    a.jmp_gs(EXIT_COMMON);
    debug_assert_eq!(a.buf.len() - miss_start, 50);
    // hit:
    a.bytes(&[0x65, 0x48, 0x8b, 0x04, 0xd5]); // mov rax, gs:[rdx*8+table+8]
    a.d32(IBL_TABLE_OFFSET as i32 + 8);
    a.store_gs(RAX, IBL_JUMP);
    a.load_gs(RAX, SPILL_RAX);
    a.load_gs(RDX, SPILL_RDX);
    a.load_gs(RCX, SPILL_RCX);
    a.jmp_gs(IBL_JUMP);
}

fn emit_branch(a: &mut Asm, block: &DecodedBlock, insn: &Instruction) -> Result<(), EmitError> {
    let next = insn.next_ip();
    match insn.flow_control() {
        FlowControl::UnconditionalBranch => {
            a.jmp_exit(exit_kind::DIRECT, insn.near_branch_target())
        }
        FlowControl::ConditionalBranch => {
            let target = insn.near_branch_target();
            match insn.code() {
                Code::Jrcxz_rel8_64
                | Code::Jecxz_rel8_64
                | Code::Loop_rel8_64_RCX
                | Code::Loop_rel8_64_ECX
                | Code::Loope_rel8_64_RCX
                | Code::Loope_rel8_64_ECX
                | Code::Loopne_rel8_64_RCX
                | Code::Loopne_rel8_64_ECX => {
                    // Keep the original rel8 instruction, aimed 2 bytes ahead
                    // at a `jmp rel32` to the taken exit; the short jmp skips it.
                    let op = match insn.code() {
                        Code::Jrcxz_rel8_64 | Code::Jecxz_rel8_64 => 0xe3,
                        Code::Loop_rel8_64_RCX | Code::Loop_rel8_64_ECX => 0xe2,
                        Code::Loope_rel8_64_RCX | Code::Loope_rel8_64_ECX => 0xe1,
                        _ => 0xe0,
                    };
                    if matches!(
                        insn.code(),
                        Code::Jecxz_rel8_64
                            | Code::Loop_rel8_64_ECX
                            | Code::Loope_rel8_64_ECX
                            | Code::Loopne_rel8_64_ECX
                    ) {
                        a.bytes(&[0x67]);
                    }
                    a.bytes(&[op, 2, 0xeb, 5]);
                    a.jmp_exit(exit_kind::DIRECT, target);
                    a.jmp_exit(exit_kind::DIRECT, next);
                }
                _ => {
                    let cc = insn.condition_code() as u8 - 1;
                    a.bytes(&[0x0f, 0x80 + cc]);
                    a.branch_to_new_stub(exit_kind::DIRECT, target);
                    a.jmp_exit(exit_kind::DIRECT, next);
                }
            }
        }
        FlowControl::Call => {
            // The push may fault (stack overflow) before the call happened.
            a.point(insn.ip(), false);
            push_return_address(a, next);
            a.jmp_exit(exit_kind::DIRECT, insn.near_branch_target());
        }
        FlowControl::IndirectBranch => {
            a.store_gs(RCX, SPILL_RCX);
            a.point(insn.ip(), true);
            load_target_into_rcx(a, block, insn)?;
            emit_ibl(a);
        }
        FlowControl::IndirectCall => {
            a.store_gs(RCX, SPILL_RCX);
            a.point(insn.ip(), true);
            load_target_into_rcx(a, block, insn)?;
            a.point(insn.ip(), true);
            push_return_address(a, next);
            emit_ibl(a);
        }
        FlowControl::Return => {
            a.store_gs(RCX, SPILL_RCX);
            a.point(insn.ip(), true);
            a.bytes(&[0x48, 0x8b, 0x0c, 0x24]); // mov rcx, [rsp]
            let pop = 8 + if insn.op_count() > 0 {
                insn.immediate16() as i32
            } else {
                0
            };
            a.bytes(&[0x48, 0x8d, 0xa4, 0x24]); // lea rsp, [rsp+pop]
            a.d32(pop);
            emit_ibl(a);
        }
        other => unreachable!("decode ends blocks only at branches, not {other:?}"),
    }
    Ok(())
}

fn finish(mut a: Asm) -> Result<EmittedBlock, EmitError> {
    while !a.buf.len().is_multiple_of(8) {
        a.buf.push(0xcc);
    }
    let stubs = std::mem::take(&mut a.stubs);
    for s in &stubs {
        a.bind(s.label);
        let stub = a.buf.len();
        let info = stub + STUB_LEN;
        // jmp [rip + link_slot]; link_slot is the first field of the info.
        a.bytes(&[0xff, 0x25]);
        a.d32((info - (stub + 6)) as i32);
        a.store_gs(RAX, SPILL_RAX);
        a.bytes(&[0x48, 0x8d, 0x05]);
        a.d32((info - (stub + 6 + 9 + 7)) as i32);
        a.jmp_gs(EXIT_COMMON);
        while a.buf.len() < info {
            a.buf.push(0xcc);
        }
        let link_slot = a.base + stub as u64 + STUB_EXIT_OFFSET;
        let patch_site = s.entry_site.map_or(0, |at| a.base + at as u64);
        for v in [link_slot, s.target_pc, s.kind, patch_site] {
            a.bytes(&v.to_le_bytes());
        }
    }
    for (l, kind, target_pc, resume) in std::mem::take(&mut a.infos) {
        a.bind(l);
        let resume = resume.map_or(0, |r| {
            a.base + a.labels[r.0].expect("a resume label is bound") as u64
        });
        for v in [resume, target_pc, kind, 0] {
            a.bytes(&v.to_le_bytes());
        }
    }
    for (l, pc) in std::mem::take(&mut a.slots) {
        a.bind(l);
        a.bytes(&pc.to_le_bytes());
    }
    for f in &a.fixups {
        let Fixup::Rel32 { at, label } = *f;
        let dest = a.labels[label.0].expect("every label is bound") as i64;
        let rel = dest - (at as i64 + 4);
        a.buf[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
    // Initial stub entry: the exit path, past the far-link jump.
    for s in &stubs {
        if let Some(at) = s.entry_site {
            let dest = a.labels[s.label.0].expect("bound") as i64 + STUB_EXIT_OFFSET as i64;
            let rel = dest - (at as i64 + 4);
            a.buf[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
        }
    }
    Ok(EmittedBlock {
        code: a.buf,
        points: a.points,
    })
}

/// Code that leaves for the dispatcher with a DIRECT exit to pc 0, for
/// running guest bytes natively under the same entry and exit paths (the
/// differential test). Placed at `base`.
pub(crate) fn native_exit_stub(base: u64) -> Vec<u8> {
    let mut a = Asm {
        base,
        buf: Vec::new(),
        labels: Vec::new(),
        fixups: Vec::new(),
        stubs: Vec::new(),
        slots: Vec::new(),
        infos: Vec::new(),
        known: Vec::new(),
        points: Vec::new(),
    };
    a.store_gs(RAX, SPILL_RAX);
    let info = a.label();
    a.bytes(&[0x48, 0x8d, 0x05]); // lea rax, [rip+info]
    a.rel32_to(info);
    a.infos.push((info, exit_kind::DIRECT, 0, None));
    a.jmp_gs(EXIT_COMMON);
    let _ = base;
    finish(a).expect("the stub always fits").code
}
