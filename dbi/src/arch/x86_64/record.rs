//! Recording events inline (decision 11): which records a block writes, and
//! the code that writes them (crate::events explains the buffer).
//!
//! Every sequence here uses only `mov`, `lea`, `movzx`, `rdfsbase` and
//! `jrcxz`, so the guest's flags are never touched, and spills go to the
//! thread block, never to the guest stack.
//!
//! What is recorded:
//! - each memory operand iced-x86 reports as really accessed, with its
//!   real address: FS-relative operands get the FS base added, RIP-relative
//!   ones become absolute; a `rep` string operand records count × element
//!   size as its length (the direction flag is assumed clear);
//! - `call` (the stack pointer before it, and a site naming the return
//!   address) and `ret` (the stack pointer before it), for the shadow stack.
//!
//! Not recorded: the implicit stack accesses of push/pop/call/ret/enter/
//! leave (a thread's own frames; a profiler's `Profile::Full` gets them,
//! and a `Site::BlockStart` record before each block's first
//! instruction), gather/scatter operands (a vector index
//! cannot be computed with `lea`), and operands whose size iced-x86 does
//! not know.
//!
//! # The repeat filter
//! A tool that only needs a thread's first access of each kind to each
//! place between two of its synchronisation points (the race tool:
//! FastTrack's same-epoch rule, papers/fasttrack.md) asks for
//! `Interests::repeat_filter`, and translated code then skips the record of
//! an access that repeats one already recorded in the same *filter epoch*:
//! same address, size (1, 2, 4 or 8) and read-or-write (an update counts as
//! a write, which covers it). Each thread has a direct-mapped table of
//! 65536 keys in its thread block, each key `tag << 50 | address << 3 |
//! size class << 1 | write` for user addresses (below 2^47), indexed by
//! its write bit and address bits 0..14 (`lea` + `movzx`). An access whose
//! key is in its slot is skipped; otherwise it is recorded and its key
//! stored. The check uses only `mov`, `lea`, `movzx`, `not` and `jrcxz`,
//! so flags are never touched. (It used `pext` until 2026-12-02: that is
//! microcoded on AMD before Zen 3, and made pigz 3.5x slower there.)
//!
//! A filter epoch ends (the tag in `MEMO_KB` steps, so older keys match
//! nothing) at every exit from the code cache, which is where every tool
//! event and every other thread's execution happens, except a full
//! buffer's exit whose flush made no synchronisation event
//! (`Tool::accesses_synchronised`: the thread goes straight back into the
//! cache, holding the big lock; pigz recorded 39% fewer records for it),
//! at every signal delivery, and, inline, right
//! before every LOCK-prefixed instruction, `xchg` with memory and `mfence`
//! (GCC's seq_cst store is `mov` + `mfence`): those are the thread's
//! releases inside translated code that the instruction tells apart. Within
//! one epoch no other thread runs (the big lock), so a skipped repeat can
//! neither observe another thread's store nor follow a release of its own;
//! what the tool would do with it, FastTrack's same-epoch rule drops.
//! Atomic, `rep` string, spin-loop and vector-sized operands are always
//! recorded.
//!
//! The same rule is applied at translation time inside a block: an operand
//! with the same address expression as one recorded earlier in the block,
//! no larger and no stronger, with none of its address registers written
//! in between and no atomic instruction, gather or client request between,
//! gets no record and no check at all. With `skip_readonly_reads`, loads at
//! fixed addresses in read-only file mappings are not recorded either. Not yet covered: a plain `mov` that the tool's atomics model
//! treats as a release store (a learned atomic location, or a store
//! before `mfence`) does not end the epoch inline (papers/events.md).
//!
//! # The inline filter
//! A tool may also hand translated code its own same-epoch filter
//! (`crate::InlineFilter`, the race engine's table of the granules each
//! thread already checked since its last synchronisation event). After a
//! miss in the repeat filter (whose check is cheaper: nine instructions,
//! no flags; until 2026-12-03 the inline lookup came first), an operand is
//! then looked up there: its granule's slot, the thread's tag
//! (`FILTER_TAGW`, set by the dispatcher before every entry into the code
//! cache, so always the tool's current one) and its bytes in the slot's
//! masks. A hit skips the record and leaves the repeat filter's table as
//! it was, so both filters decide exactly as when the inline lookup came
//! first; a miss records. Unlike the
//! repeat filter's epochs, the tool's last as long as the thread makes no
//! synchronisation event, across exits and other threads' runs (pigz:
//! 45% fewer records). The lookup needs `shr`, `and`, `cmp`: where a
//! status flag is live (`flags_dead_before`: the instruction or the rest
//! of the block reads one before overwriting it; undefined flags count as
//! kept, as real CPUs keep them) the flags are saved around it (`lahf`,
//! `seto` into `FLAGS_SAVE`; `add al, 0x7f`, `sahf` after), and it spills
//! nothing more than the repeat filter does. An access straddling
//! two granules never hits. What a hit leaves out is exactly what the tool
//! would have dropped, as long as the tool keeps two promises: the tag
//! changes whenever a repeat could mean something new, and instructions
//! whose plain accesses mean more (`Tool::inline_filter_applies`) get no
//! lookup.

use super::decode::DecodedBlock;
use super::thread_block::{
    BUF_PTR, FILTER_TABLE, FILTER_TAGW, FLAGS_SAVE, MEMO_INC, MEMO_KB, MEMO_TABLE_OFFSET,
    SPILL_RAX, SPILL_RCX, SPILL_RDX,
};
use crate::events::Site;
use crate::AccessKind;
use core::sync::atomic::{AtomicU64, Ordering};
use iced_x86::{
    Code, Encoder, FlowControl, Instruction, InstructionInfoFactory, MemoryOperand, OpAccess,
    Register,
};

/// How a recorded memory operand's address is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Address {
    /// `lea` of the guest's own base + index*scale + displacement.
    Lea {
        base: Register,
        index: Register,
        scale: u32,
        displacement: i64,
        /// FS-relative: the FS base is added.
        fs: bool,
    },
    /// A RIP-relative operand's absolute address.
    Absolute(u64),
}

/// One record a block writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record {
    /// A memory operand; `rep_scale` is the element size of a `rep` string operand.
    Operand {
        address: Address,
        site: u32,
        rep_scale: Option<u8>,
        /// The repeat filter's kind bits (size class << 1 | write), when
        /// repeats of this operand may be skipped.
        memo: Option<u8>,
        /// The inline filter check the operand gets first, if any.
        inline: Option<InlineCheck>,
    },
    /// The repeat filter's epoch ends here (before an atomic instruction).
    EpochEnd,
    /// The stack pointer, for a call or return site.
    StackPointer { site: u32 },
    /// A gather or scatter (vector index registers): its element addresses
    /// cannot be formed with `lea`, so the block leaves for the dispatcher,
    /// which computes them (`vsib_accesses`) and resumes.
    Vsib,
}

/// An operand's inline filter check (`crate::InlineFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InlineCheck {
    /// The filter's slot mask.
    pub(crate) mask: u32,
    /// Status flags are live here: saved (`lahf`, `seto`) around the check.
    pub(crate) save_flags: bool,
}

/// The records of a block, per instruction, written just before it runs.
#[derive(Debug, Default)]
pub(crate) struct RecordPlan {
    pub(crate) per_insn: Vec<Vec<Record>>,
    /// The most records one execution of the block writes.
    pub(crate) total: usize,
}

/// What a tool wants recorded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecordWants {
    pub(crate) accesses: bool,
    pub(crate) calls: bool,
    /// Skip repeated accesses within a filter epoch (the repeat filter).
    pub(crate) repeat_filter: bool,
    /// Skip loads at fixed addresses in read-only file mappings.
    pub(crate) skip_readonly_reads: bool,
    /// Check plain operands against the tool's inline filter of this slot
    /// mask first (`crate::InlineFilter`).
    pub(crate) inline_filter: Option<u32>,
    /// The CPU has `lahf`/`sahf` in 64-bit mode, so operands where flags
    /// are live get the check too, the flags saved around it.
    pub(crate) lahf: bool,
    /// A profiler's stream (`Profile::Full`): the implicit stack accesses
    /// too, and a record announcing the block first (`Site::BlockStart`).
    pub(crate) every_access: bool,
    /// Only `rep` string operands (`Profile::RepStrings`).
    pub(crate) rep_only: bool,
    /// With `every_access`: the translation's number, the value of its
    /// `Site::BlockStart` record.
    pub(crate) block_id: u32,
}

/// The repeat filter's kind bits of a plain operand, or `None` when its
/// repeats are always recorded.
fn memo_kind(size: u32, kind: AccessKind) -> Option<u8> {
    let class = match size {
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        _ => return None,
    };
    Some(class << 1 | u8::from(kind != AccessKind::Read))
}

fn access_kind(a: OpAccess) -> Option<AccessKind> {
    match a {
        OpAccess::Read | OpAccess::CondRead => Some(AccessKind::Read),
        OpAccess::Write | OpAccess::CondWrite => Some(AccessKind::Write),
        OpAccess::ReadWrite | OpAccess::ReadCondWrite => Some(AccessKind::Update),
        _ => None,
    }
}

fn is_atomic(insn: &Instruction) -> bool {
    insn.has_lock_prefix()
        || matches!(
            insn.code(),
            Code::Xchg_rm8_r8 | Code::Xchg_rm16_r16 | Code::Xchg_rm32_r32 | Code::Xchg_rm64_r64
        ) && insn.op0_kind() == iced_x86::OpKind::Memory
}

/// Plans the records of `block`; `site` hands out site ids.
pub(crate) fn plan_records(
    block: &DecodedBlock,
    wants: RecordWants,
    site: &mut dyn FnMut(Site) -> u32,
    readonly: &mut dyn FnMut(u64, u64) -> bool,
    inline_applies: &dyn Fn(u64) -> bool,
) -> RecordPlan {
    let mut plan = RecordPlan::default();
    if !wants.accesses && !wants.calls {
        return plan;
    }
    let mut factory = InstructionInfoFactory::new();
    let spin = is_spin_loop(block, &mut factory);
    let flags_dead = if wants.inline_filter.is_some() {
        flags_dead_before(block)
    } else {
        Vec::new()
    };
    // Operands recorded earlier in the block whose address registers are
    // unchanged since: (address, size, write). A later operand with the same
    // address, no larger and no stronger, repeats one of them in the same
    // filter epoch (no exit and no atomic instruction in between), so it is
    // not recorded at all (the repeat filter's rule, decided at translation).
    let mut recorded: Vec<(Address, u32, bool)> = Vec::new();
    for (idx, insn) in block.insns.iter().enumerate() {
        let mut recs = Vec::new();
        let info = factory.info(insn);
        let memory = info.used_memory().to_vec();
        // The registers the instruction changes (only the repeat rule asks).
        let written: Vec<Register> = if wants.repeat_filter {
            written_registers(info).collect()
        } else {
            Vec::new()
        };
        if wants.accesses {
            let stack_op = insn.stack_pointer_increment() != 0;
            let rep =
                insn.is_string_instruction() && (insn.has_rep_prefix() || insn.has_repne_prefix());
            let atomic = is_atomic(insn);
            // Atomics end the epoch; a client request (`xchg rbx, rbx`)
            // leaves the block; `wrfsbase` moves every FS-relative operand.
            if atomic
                || is_client_request(&block.insns, idx)
                || matches!(insn.code(), Code::Wrfsbase_r64 | Code::Wrfsbase_r32)
            {
                recorded.clear();
            }
            for (operand, m) in memory.iter().enumerate() {
                let Some(kind) = access_kind(m.access()) else {
                    continue;
                };
                // iced-x86 gives a `rep` string operand an unknown size (the
                // count is not known when decoding): its element size is the
                // instruction's.
                let size = if rep {
                    insn.memory_size().size() as u32
                } else {
                    m.memory_size().size() as u32
                };
                if size == 0 || (wants.rep_only && !rep) {
                    continue;
                }
                if m.index().is_vector_register() {
                    if !recs.iter().any(|r| matches!(r, Record::Vsib)) {
                        recs.push(Record::Vsib);
                    }
                    // The block leaves for the dispatcher here: a new epoch.
                    recorded.clear();
                    continue;
                }
                if stack_op
                    && !wants.every_access
                    && m.segment() == Register::SS
                    && matches!(m.base(), Register::RSP | Register::RBP)
                {
                    continue;
                }
                let absolute = matches!(m.base(), Register::RIP | Register::EIP)
                    || (m.base() == Register::None
                        && m.index() == Register::None
                        && m.segment() != Register::FS);
                // A plain load of memory no thread can write (a read-only
                // file mapping, asked at translation time) cannot race.
                if absolute
                    && wants.skip_readonly_reads
                    && kind == AccessKind::Read
                    && !atomic
                    && readonly(m.displacement(), m.displacement() + u64::from(size))
                {
                    continue;
                }
                let address = if absolute {
                    Address::Absolute(m.displacement())
                } else {
                    Address::Lea {
                        base: m.base(),
                        index: m.index(),
                        scale: m.scale(),
                        displacement: m.displacement() as i64,
                        fs: m.segment() == Register::FS,
                    }
                };
                let id = site(Site::Access {
                    pc: insn.ip(),
                    size,
                    kind,
                    atomic,
                    rep,
                    operand: operand as u8,
                    spin: spin && kind == AccessKind::Read,
                    index: if wants.every_access { idx as u8 } else { 0 },
                });
                let memo = (wants.repeat_filter && !atomic && !rep && !spin)
                    .then(|| memo_kind(size, kind))
                    .flatten();
                if memo.is_some() {
                    let write = kind != AccessKind::Read;
                    if recorded
                        .iter()
                        .any(|&(a, n, w)| a == address && size <= n && (w || !write))
                    {
                        continue;
                    }
                    recorded.push((address, size, write));
                }
                let inline = wants
                    .inline_filter
                    .filter(|_| {
                        memo.is_some()
                            && (flags_dead[idx] || wants.lahf)
                            && inline_applies(insn.ip())
                    })
                    .map(|mask| InlineCheck {
                        mask,
                        save_flags: !flags_dead[idx],
                    });
                if wants.inline_filter.is_some() && memo.is_some() {
                    INLINE_FILTERABLE.fetch_add(1, Ordering::Relaxed);
                    if inline.is_some() {
                        INLINE_CHECKED.fetch_add(1, Ordering::Relaxed);
                    }
                }
                recs.push(Record::Operand {
                    address,
                    site: id,
                    rep_scale: rep.then_some(size as u8),
                    memo,
                    inline,
                });
            }
            if wants.repeat_filter && atomic {
                // Before the instruction, after its own record.
                recs.push(Record::EpochEnd);
            }
            if wants.repeat_filter && insn.code() == Code::Mfence {
                // A store before `mfence` is a seq_cst store to the race
                // tool: end the epoch here too. The fence gets an empty
                // record (size 0, dropped by the flush), so that, as for
                // atomics, at most one epoch step is taken per record.
                let id = site(Site::Access {
                    pc: insn.ip(),
                    size: 0,
                    kind: AccessKind::Write,
                    atomic: false,
                    rep: false,
                    operand: 0,
                    spin: false,
                    index: 0,
                });
                recs.push(Record::Operand {
                    address: Address::Absolute(0),
                    site: id,
                    rep_scale: None,
                    memo: None,
                    inline: None,
                });
                recs.push(Record::EpochEnd);
                recorded.clear();
            }
        }
        if wants.calls {
            match insn.flow_control() {
                FlowControl::Call | FlowControl::IndirectCall => {
                    let id = site(Site::Call {
                        ret: insn.next_ip(),
                    });
                    recs.push(Record::StackPointer { site: id });
                }
                FlowControl::Return => recs.push(Record::StackPointer { site: 0 }),
                _ => {}
            }
        }
        // An operand whose address register this instruction changes no
        // longer names the same bytes.
        recorded.retain(|(a, _, _)| match *a {
            Address::Lea { base, index, .. } => [base, index]
                .iter()
                .all(|r| *r == Register::None || !written.contains(&r.full_register())),
            Address::Absolute(_) => true,
        });
        plan.total += recs
            .iter()
            .filter(|r| matches!(r, Record::Operand { .. } | Record::StackPointer { .. }))
            .count();
        plan.per_insn.push(recs);
    }
    if wants.every_access {
        if let Some(first) = plan.per_insn.first_mut() {
            // Before the first instruction's own records: the profiler
            // fetches the block's instructions in order around its accesses.
            first.insert(
                0,
                Record::Operand {
                    address: Address::Absolute(u64::from(wants.block_id)),
                    site: site(Site::BlockStart { pc: block.pc }),
                    rep_scale: None,
                    memo: None,
                    inline: None,
                },
            );
            plan.total += 1;
        }
    }
    plan
}

/// Operands translated with an inline filter check, and those that could
/// have had one but for live flags or the tool (for `-v`).
static INLINE_CHECKED: AtomicU64 = AtomicU64::new(0);
static INLINE_FILTERABLE: AtomicU64 = AtomicU64::new(0);

/// (operands translated with an inline filter check, operands the repeat
/// filter considers, in blocks translated with an inline filter).
pub(crate) fn inline_filter_coverage() -> (u64, u64) {
    (
        INLINE_CHECKED.load(Ordering::Relaxed),
        INLINE_FILTERABLE.load(Ordering::Relaxed),
    )
}

/// The six status flags (the ones instrumentation may clobber).
const STATUS_FLAGS: u32 = iced_x86::RflagsBits::OF
    | iced_x86::RflagsBits::SF
    | iced_x86::RflagsBits::ZF
    | iced_x86::RflagsBits::AF
    | iced_x86::RflagsBits::CF
    | iced_x86::RflagsBits::PF;

/// For each instruction of `block`, whether no status flag is live just
/// before it: the instruction reads none, and each is overwritten by it or
/// by a later instruction of the block before anything reads it. At the
/// block's end every flag counts as live. An instruction writes a flag
/// only when it always defines it: flags it leaves undefined count as
/// kept, and shifts and rotates (a zero count leaves the flags alone) and
/// `rep` string instructions (a zero count runs nothing) write none.
fn flags_dead_before(block: &DecodedBlock) -> Vec<bool> {
    let mut dead = vec![false; block.insns.len()];
    let mut live = STATUS_FLAGS;
    for (i, insn) in block.insns.iter().enumerate().rev() {
        let count_dependent = matches!(
            insn.mnemonic(),
            iced_x86::Mnemonic::Shl
                | iced_x86::Mnemonic::Sal
                | iced_x86::Mnemonic::Shr
                | iced_x86::Mnemonic::Sar
                | iced_x86::Mnemonic::Rol
                | iced_x86::Mnemonic::Ror
                | iced_x86::Mnemonic::Rcl
                | iced_x86::Mnemonic::Rcr
                | iced_x86::Mnemonic::Shld
                | iced_x86::Mnemonic::Shrd
        ) || insn.has_rep_prefix()
            || insn.has_repne_prefix();
        // "Undefined" flags are not overwritten: real CPUs keep some of
        // them (`bsf` and `imul` leave PF as it was on ours).
        let written = if count_dependent {
            0
        } else {
            insn.rflags_written() | insn.rflags_cleared() | insn.rflags_set()
        };
        live = (live & !written) | (insn.rflags_read() & STATUS_FLAGS);
        dead[i] = live == 0;
    }
    dead
}

/// The full registers an instruction writes (or may write).
fn written_registers(info: &iced_x86::InstructionInfo) -> impl Iterator<Item = Register> + '_ {
    info.used_registers()
        .iter()
        .filter(|r| {
            matches!(
                r.access(),
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            )
        })
        .map(|r| r.register().full_register())
}

/// Whether `block` is a spin loop: it ends with a conditional branch back
/// to its own first instruction, writes no memory, calls nothing, and
/// changes no register its loads' addresses are made of.
fn is_spin_loop(block: &DecodedBlock, factory: &mut InstructionInfoFactory) -> bool {
    let Some(last) = block.insns.last() else {
        return false;
    };
    if last.flow_control() != FlowControl::ConditionalBranch
        || last.near_branch_target() != block.pc
    {
        return false;
    }
    let mut written: Vec<Register> = Vec::new();
    let mut address_registers: Vec<Register> = Vec::new();
    let only_reads = block.insns.iter().all(|i| {
        let info = factory.info(i);
        written.extend(written_registers(info));
        address_registers.extend(
            info.used_memory()
                .iter()
                .flat_map(|m| [m.base(), m.index()])
                .filter(|r| !matches!(r, Register::None | Register::RIP | Register::EIP))
                .map(|r| r.full_register()),
        );
        i.flow_control() != FlowControl::Call
            && !i.has_lock_prefix()
            && info.used_memory().iter().all(|m| {
                matches!(
                    m.access(),
                    OpAccess::Read | OpAccess::CondRead | OpAccess::NoMemAccess
                )
            })
    });
    // A spin wait reads the same places until another thread changes
    // them; a loop that moves its pointer or index on each turn (a
    // `memcmp`-style scan, liblzma's match finder) reads new places and
    // waits for nothing.
    only_reads && !address_registers.iter().any(|r| written.contains(r))
}

const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;

/// `mov gs:[off], r64`.
pub(crate) fn store_gs(out: &mut Vec<u8>, reg: u8, off: i32) {
    out.extend_from_slice(&[
        0x65,
        0x48 | ((reg >> 3) << 2),
        0x89,
        ((reg & 7) << 3) | 4,
        0x25,
    ]);
    out.extend_from_slice(&off.to_le_bytes());
}

/// `mov r64, gs:[off]`.
pub(crate) fn load_gs(out: &mut Vec<u8>, reg: u8, off: i32) {
    out.extend_from_slice(&[
        0x65,
        0x48 | ((reg >> 3) << 2),
        0x8b,
        ((reg & 7) << 3) | 4,
        0x25,
    ]);
    out.extend_from_slice(&off.to_le_bytes());
}

/// `lea dst, [base + index*scale + disp]`.
fn lea(out: &mut Vec<u8>, dst: Register, base: Register, index: Register, scale: u32, disp: i64) {
    let scale = if index == Register::None { 1 } else { scale };
    // iced-x86's sizes: 1 for a byte, else the address size (8, or 4 with
    // 32-bit registers, which take a 0x67 prefix).
    let wide = if base.is_gpr32() || index.is_gpr32() {
        4
    } else {
        8
    };
    let disp_size = if base == Register::None {
        wide
    } else if disp == 0 {
        0
    } else if i8::try_from(disp).is_ok() {
        1
    } else {
        wide
    };
    let mem = MemoryOperand::with_base_index_scale_displ_size(base, index, scale, disp, disp_size);
    let encoded = Instruction::with2(Code::Lea_r64_m, dst, mem)
        .map_err(|e| e.to_string())
        .and_then(|i| {
            let mut e = Encoder::new(64);
            e.encode(&i, 0).map_err(|e| e.to_string())?;
            Ok(e.take_buffer())
        });
    match encoded {
        Ok(bytes) => out.extend_from_slice(&bytes),
        // Every operand comes from a decoded 64-bit instruction, so it encodes.
        Err(e) => unreachable!("lea of a decoded memory operand: {e}"),
    }
}

/// Appends the tail shared by every record: rcx = buffer pointer, store
/// the value in rax (or rsp), the site and (for rep) edx, bump the pointer.
fn write_record(out: &mut Vec<u8>, value_from_rsp: bool, site: u32, extra_in_edx: bool) {
    load_gs(out, RCX, BUF_PTR);
    if value_from_rsp {
        out.extend_from_slice(&[0x48, 0x89, 0x21]); // mov [rcx], rsp
    } else {
        out.extend_from_slice(&[0x48, 0x89, 0x01]); // mov [rcx], rax
    }
    out.extend_from_slice(&[0xc7, 0x41, 0x08]); // mov dword [rcx+8], imm32
    out.extend_from_slice(&site.to_le_bytes());
    if extra_in_edx {
        out.extend_from_slice(&[0x89, 0x51, 0x0c]); // mov [rcx+12], edx
    }
    out.extend_from_slice(&[0x48, 0x8d, 0x49, 0x10]); // lea rcx, [rcx+16]
    store_gs(out, RCX, BUF_PTR);
}

/// Appends one instruction made with iced-x86.
fn encode(out: &mut Vec<u8>, insn: Result<Instruction, iced_x86::IcedError>) {
    let encoded = insn.and_then(|i| {
        let mut e = Encoder::new(64);
        e.encode(&i, 0)?;
        Ok(e.take_buffer())
    });
    match encoded {
        Ok(bytes) => out.extend_from_slice(&bytes),
        // Only fixed registers and thread-block offsets go in here.
        Err(e) => unreachable!("repeat-filter instruction: {e}"),
    }
}

/// `gs:[rcx*8 + MEMO_TABLE_OFFSET]`, the slot of the index in rcx.
fn memo_slot() -> MemoryOperand {
    MemoryOperand::new(
        Register::None,
        Register::RCX,
        8,
        MEMO_TABLE_OFFSET as i64,
        4,
        false,
        Register::GS,
    )
}

/// rcx = the repeat-filter index of the address in rax: the low 16 bits of
/// `address * 2 + write`, so address bits 0..14 and the write bit (a 32 KiB
/// window, reads and writes apart). `lea` and `movzx` only: no flags, and
/// nothing that is microcoded on any x86-64 (BMI2's `pext` takes hundreds
/// of cycles on AMD before Zen 3). (A denser index, `(address >> 2) * 2 +
/// write` with BMI2's `rorx`, was tried on 2026-12-03: neighbouring words
/// share cache lines of the table, but the bytes of a word evict each
/// other, and pigz, which reads its window byte by byte, wrote 6% more
/// records.)
fn emit_memo_index(out: &mut Vec<u8>, kind_bits: u8) {
    let write = i64::from(kind_bits & 1);
    encode(
        out,
        Instruction::with2(
            Code::Lea_r64_m,
            Register::RCX,
            MemoryOperand::with_base_index_scale_displ_size(
                Register::RAX,
                Register::RAX,
                1,
                write,
                1,
            ),
        ),
    );
    encode(
        out,
        Instruction::with2(Code::Movzx_r32_rm16, Register::ECX, Register::CX),
    );
}

/// With the address in rax (rcx, rdx spilled): skips to the end unless
/// the key is new, in which case, unless `inline`'s lookup finds the
/// access covered, it stores the key and writes the record. The repeat filter
/// comes first because it is cheaper (no flags, nine instructions): in a
/// loop over the same fields every operand hits it within one run of the
/// code cache; the inline filter catches what an earlier run of the cache
/// or another operand covered.
fn emit_memo_check(out: &mut Vec<u8>, kind_bits: u8, site: u32, inline: Option<InlineCheck>) {
    use iced_x86::Code::{Mov_r64_rm64, Mov_rm64_r64, Not_rm64};
    let rax_x8 = MemoryOperand::with_base_index_scale_displ_size(
        Register::RDX,
        Register::RAX,
        8,
        i64::from(kind_bits),
        1,
    );
    // rdx = this access's key; rcx = the key in its slot.
    load_gs(out, RDX, MEMO_KB);
    encode(
        out,
        Instruction::with2(Code::Lea_r64_m, Register::RDX, rax_x8),
    );
    emit_memo_index(out, kind_bits);
    encode(
        out,
        Instruction::with2(Mov_r64_rm64, Register::RCX, memo_slot()),
    );
    // rcx = slot - key (0 when they are equal), with rdx = !key.
    encode(out, Instruction::with1(Not_rm64, Register::RDX));
    encode(
        out,
        Instruction::with2(
            Code::Lea_r64_m,
            Register::RCX,
            MemoryOperand::with_base_index_scale_displ_size(Register::RCX, Register::RDX, 1, 1, 1),
        ),
    );
    // The key is stored only with a record: an access the inline filter
    // covers leaves the table as it was (storing its key would evict a key
    // the table still needs: pigz wrote 11% more records).
    let mut record = Vec::new();
    match inline {
        Some(_) => {
            // The inline check took rcx and rdx: the key again.
            load_gs(&mut record, RDX, MEMO_KB);
            encode(
                &mut record,
                Instruction::with2(Code::Lea_r64_m, Register::RDX, rax_x8),
            );
        }
        None => encode(&mut record, Instruction::with1(Not_rm64, Register::RDX)),
    }
    emit_memo_index(&mut record, kind_bits);
    encode(
        &mut record,
        Instruction::with2(Mov_rm64_r64, memo_slot(), Register::RDX),
    );
    write_record(&mut record, false, site, false);
    let mut miss = Vec::new();
    match inline {
        Some(check) => {
            if check.save_flags {
                miss.extend_from_slice(&[0x48, 0x89, 0xc1]); // mov rcx, rax
                miss.push(0x9f); // lahf: ah = SF ZF AF PF CF
                miss.extend_from_slice(&[0x0f, 0x90, 0xc0]); // seto al
                store_gs(&mut miss, RAX, FLAGS_SAVE);
                miss.extend_from_slice(&[0x48, 0x89, 0xc8]); // mov rax, rcx
            }
            emit_inline_check(&mut miss, check.mask, kind_bits, record.len());
            miss.extend_from_slice(&record);
            if check.save_flags {
                load_gs(&mut miss, RAX, FLAGS_SAVE);
                miss.extend_from_slice(&[0x04, 0x7f]); // add al, 0x7f: OF = the saved OF
                miss.push(0x9e); // sahf
            }
        }
        None => miss.extend_from_slice(&record),
    }
    match u8::try_from(miss.len()).ok().filter(|&n| n < 128) {
        Some(skip) => out.extend_from_slice(&[0xe3, skip]), // jrcxz over the miss path
        None => {
            // jrcxz reaches 127 bytes: a hit takes it to a near jmp.
            out.extend_from_slice(&[0xe3, 0x02, 0xeb, 0x05, 0xe9]); // jrcxz +2; jmp +5; jmp
            out.extend_from_slice(&(miss.len() as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(&miss);
}

/// With the address in rax (rcx, rdx spilled, flags dead): jumps `skip`
/// bytes forward, past the code that follows, when the inline filter
/// covers the access (`crate::InlineFilter`); otherwise falls through.
/// Accesses that straddle a granule never count as covered.
fn emit_inline_check(out: &mut Vec<u8>, mask: u32, kind_bits: u8, skip: usize) {
    let size = 1u32 << (kind_bits >> 1);
    let write = kind_bits & 1 != 0;
    let mut misses = Vec::new();
    let mut jump_to_miss = |out: &mut Vec<u8>, opcode: u8| {
        out.extend_from_slice(&[0x0f, opcode, 0, 0, 0, 0]);
        misses.push(out.len() - 4);
    };
    let start = out.len();
    out.extend_from_slice(&[0x48, 0x89, 0xc1]); // mov rcx, rax
    out.extend_from_slice(&[0x48, 0xc1, 0xe9, 0x03]); // shr rcx, 3: the granule
    out.extend_from_slice(&[0x89, 0xca]); // mov edx, ecx
    out.extend_from_slice(&[0x81, 0xe2]); // and edx, mask
    out.extend_from_slice(&mask.to_le_bytes());
    out.extend_from_slice(&[0x48, 0xc1, 0xe2, 0x04]); // shl rdx, 4
    out.extend_from_slice(&[0x65, 0x48, 0x03, 0x14, 0x25]); // add rdx, gs:[FILTER_TABLE]
    out.extend_from_slice(&FILTER_TABLE.to_le_bytes());
    out.extend_from_slice(&[0x48, 0x3b, 0x0a]); // cmp rcx, [rdx]: the slot's granule
    jump_to_miss(out, 0x85); // jne
    out.extend_from_slice(&[0x48, 0x8b, 0x52, 0x08]); // mov rdx, [rdx+8]
    out.extend_from_slice(&[0x65, 0x48, 0x33, 0x14, 0x25]); // xor rdx, gs:[FILTER_TAGW]
    out.extend_from_slice(&FILTER_TAGW.to_le_bytes());
    // Another tag leaves bits above the masks.
    out.extend_from_slice(&[0x48, 0x81, 0xfa, 0xff, 0xff, 0, 0]); // cmp rdx, 0xffff
    jump_to_miss(out, 0x87); // ja
    if !write {
        // A write covers a read: the read mask becomes read | write.
        out.extend_from_slice(&[0x89, 0xd1]); // mov ecx, edx
        out.extend_from_slice(&[0xc1, 0xe9, 0x08]); // shr ecx, 8
        out.extend_from_slice(&[0x09, 0xca]); // or edx, ecx
    }
    out.extend_from_slice(&[0x89, 0xc1]); // mov ecx, eax
    out.extend_from_slice(&[0x83, 0xe1, 0x07]); // and ecx, 7: the offset in the granule
    if size > 1 {
        // Past the granule's end: not covered by one slot.
        out.extend_from_slice(&[0x83, 0xf9, (8 - size) as u8]); // cmp ecx, 8 - size
        jump_to_miss(out, 0x87); // ja
    }
    // Bytes not covered become ones; shifted down to bit 0 (reads) or 8
    // (writes), the access's bytes must all be zero. Bits from above the
    // masks land above what is tested, since offset + size <= 8.
    out.extend_from_slice(&[0xf7, 0xd2]); // not edx
    out.extend_from_slice(&[0xd3, 0xea]); // shr edx, cl
    let need = ((1u32 << size) - 1) << if write { 8 } else { 0 };
    out.extend_from_slice(&[0xf7, 0xc2]); // test edx, need
    out.extend_from_slice(&need.to_le_bytes());
    jump_to_miss(out, 0x85); // jnz
    out.push(0xe9); // jmp past the record: covered
    out.extend_from_slice(&(skip as u32).to_le_bytes());
    let miss = out.len();
    for at in misses {
        let rel = (miss - (at + 4)) as u32;
        out[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }
    debug_assert!(out.len() - start < 128);
}

/// The code writing `rec`; leaves every guest register and flag as it was.
pub(crate) fn emit_record(out: &mut Vec<u8>, rec: &Record, rdfsbase: bool) {
    match *rec {
        // Emitted by the caller as an exit (emit.rs).
        Record::Vsib => {}
        Record::EpochEnd => {
            store_gs(out, RCX, SPILL_RCX);
            store_gs(out, RDX, SPILL_RDX);
            load_gs(out, RCX, MEMO_KB);
            load_gs(out, RDX, MEMO_INC);
            out.extend_from_slice(&[0x48, 0x8d, 0x0c, 0x11]); // lea rcx, [rcx+rdx]
            store_gs(out, RCX, MEMO_KB);
            load_gs(out, RDX, SPILL_RDX);
            load_gs(out, RCX, SPILL_RCX);
        }
        Record::StackPointer { site } => {
            store_gs(out, RCX, SPILL_RCX);
            write_record(out, true, site, false);
            load_gs(out, RCX, SPILL_RCX);
        }
        Record::Operand {
            address,
            site,
            rep_scale,
            memo,
            inline,
        } => {
            store_gs(out, RAX, SPILL_RAX);
            store_gs(out, RCX, SPILL_RCX);
            if memo.is_some() {
                store_gs(out, RDX, SPILL_RDX);
            }
            if let Some(scale) = rep_scale {
                store_gs(out, RDX, SPILL_RDX);
                // rdx = guest rcx * element size (the byte count).
                lea(
                    out,
                    Register::RDX,
                    Register::None,
                    Register::RCX,
                    u32::from(scale),
                    0,
                );
            }
            match address {
                Address::Absolute(a) => {
                    out.extend_from_slice(&[0x48, 0xb8]); // mov rax, imm64
                    out.extend_from_slice(&a.to_le_bytes());
                }
                Address::Lea {
                    base,
                    index,
                    scale,
                    displacement,
                    fs,
                } => {
                    lea(out, Register::RAX, base, index, scale, displacement);
                    if fs {
                        if rdfsbase {
                            out.extend_from_slice(&[0xf3, 0x48, 0x0f, 0xae, 0xc1]);
                        // rdfsbase rcx
                        } else {
                            // glibc's TCB starts with a pointer to itself.
                            out.extend_from_slice(&[0x64, 0x48, 0x8b, 0x0c, 0x25, 0, 0, 0, 0]);
                        }
                        out.extend_from_slice(&[0x48, 0x8d, 0x04, 0x08]); // lea rax, [rax+rcx]
                    }
                }
            }
            if let Some(kind_bits) = memo {
                emit_memo_check(out, kind_bits, site, inline);
            } else {
                write_record(out, false, site, rep_scale.is_some());
            }
            if rep_scale.is_some() || memo.is_some() {
                load_gs(out, RDX, SPILL_RDX);
            }
            load_gs(out, RCX, SPILL_RCX);
            load_gs(out, RAX, SPILL_RAX);
        }
    }
}

/// The first half of the block-head room check: guest rcx spilled, and
/// rcx = 0 exactly when `need` more bytes fit in the buffer (the caller
/// follows with `jrcxz` and restores rcx on both paths).
pub(crate) fn emit_room_check_head(out: &mut Vec<u8>, need: u32) {
    store_gs(out, RCX, SPILL_RCX);
    load_gs(out, RCX, BUF_PTR);
    out.extend_from_slice(&[0x48, 0x8d, 0x89]); // lea rcx, [rcx+imm32]
    out.extend_from_slice(&need.to_le_bytes());
    // ecx = bits 16..23 of ptr + need, without flags and without a trip
    // through memory (a store and a narrower reload of it miss store
    // forwarding on some CPUs: a quarter of a tight loop's time on Zen 1).
    out.extend_from_slice(&[0x0f, 0xc9]); // bswap ecx: bits 16..23 to 8..15
    out.extend_from_slice(&[0x0f, 0xb6, 0xcd]); // movzx ecx, ch
}

/// The element accesses of the gather or scatter at `pc`: address, element
/// size and kind per lane (masked-off lanes included: the mask is not
/// read, so a masked lane may be reported as accessed). `gpr(n)` reads
/// general register n (hardware order), `vector(n)` the 64 bytes of
/// zmm/ymm/xmm n.
pub(crate) fn vsib_accesses(
    pc: u64,
    gpr: &dyn Fn(usize) -> u64,
    vector: &dyn Fn(usize) -> [u8; 64],
) -> Vec<(u64, u32, AccessKind)> {
    let mut bytes = [0u8; 15];
    let n = crate::os::linux::mem::read_guest(pc, &mut bytes);
    let mut d = iced_x86::Decoder::with_ip(64, &bytes[..n], pc, iced_x86::DecoderOptions::NONE);
    let insn = d.decode();
    if insn.is_invalid() {
        return Vec::new();
    }
    let mut factory = InstructionInfoFactory::new();
    let mut out = Vec::new();
    for m in factory.info(&insn).used_memory() {
        let (Some(kind), true) = (access_kind(m.access()), m.index().is_vector_register()) else {
            continue;
        };
        let size = m.memory_size().size() as u64;
        let lane = u64::from(m.vsib_size().max(4));
        if size == 0 {
            continue;
        }
        // As many lanes as both the index and the data registers have.
        let data = (0..insn.op_count())
            .map(|i| insn.op_register(i))
            .find(|r| r.is_vector_register() && *r != m.index())
            .map_or(m.index().size() as u64, |r| r.size() as u64);
        let lanes = (m.index().size() as u64 / lane).min(data / size);
        for e in 0..lanes as usize {
            let addr = m.virtual_address(e, |reg, element, element_size| {
                if reg.is_vector_register() {
                    let v = vector(reg.number());
                    let at = element * element_size;
                    let mut b = [0u8; 8];
                    b[..element_size].copy_from_slice(v.get(at..at + element_size)?);
                    let raw = u64::from_le_bytes(b);
                    // Dword indices are signed.
                    Some(if element_size == 4 {
                        raw as u32 as i32 as i64 as u64
                    } else {
                        raw
                    })
                } else if matches!(
                    reg,
                    Register::None | Register::ES | Register::CS | Register::SS | Register::DS
                ) {
                    // iced-x86 asks for the segment base too: 0 in 64-bit
                    // mode, except FS and GS (not handled: None drops the lane).
                    Some(0)
                } else if reg.is_gpr64() || reg.is_gpr32() {
                    let v = gpr(reg.full_register().number());
                    Some(if reg.is_gpr32() { v & 0xffff_ffff } else { v })
                } else {
                    None
                }
            });
            if let Some(addr) = addr {
                out.push((addr, size as u32, kind));
            }
        }
    }
    out
}

/// Whether `insns[..=idx]` ends with Valgrind's client-request sequence:
/// `rol rdi,3; rol rdi,13; rol rdi,61; rol rdi,51; xchg rbx,rbx`.
pub(crate) fn is_client_request(insns: &[Instruction], idx: usize) -> bool {
    if idx < 4 {
        return false;
    }
    let x = &insns[idx];
    let xchg_rbx = x.code() == Code::Xchg_rm64_r64
        && x.op0_register() == Register::RBX
        && x.op1_register() == Register::RBX;
    xchg_rbx
        && [3u8, 13, 61, 51].iter().enumerate().all(|(k, &n)| {
            let r = &insns[idx - 4 + k];
            r.code() == Code::Rol_rm64_imm8
                && r.op0_register() == Register::RDI
                && r.immediate8() == n
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Instruction {
        let mut d = iced_x86::Decoder::new(64, bytes, iced_x86::DecoderOptions::NONE);
        let i = d.decode();
        assert_eq!(i.len(), bytes.len(), "one instruction");
        i
    }

    #[test]
    fn lea_keeps_the_operand() {
        for (base, index, scale, disp) in [
            (Register::R15, Register::None, 1, 0x4e4a),
            (Register::RSP, Register::None, 1, -8),
            (Register::RBP, Register::RAX, 8, 0),
            (Register::None, Register::RCX, 4, 0x1000),
            (Register::R13, Register::R12, 2, -0x1234_5678),
            (Register::EAX, Register::None, 1, 16),
        ] {
            let mut out = Vec::new();
            lea(&mut out, Register::RAX, base, index, scale, disp);
            let i = decode(&out);
            assert_eq!(i.code(), Code::Lea_r64_m);
            assert_eq!(i.memory_base(), base);
            assert_eq!(i.memory_index(), index);
            if index != Register::None {
                assert_eq!(i.memory_index_scale(), scale);
            }
            assert_eq!(i.memory_displacement64() as i64 as i32, disp as i32);
        }
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::arch::x86_64::decode::{BlockEnd, DecodedBlock};

    pub(super) fn block_of(bytes: &[u8]) -> DecodedBlock {
        let mut d = iced_x86::Decoder::with_ip(64, bytes, 0x1000, iced_x86::DecoderOptions::NONE);
        let insns: Vec<Instruction> = d.iter().collect();
        let end = insns.last().map_or(0x1000, |i| i.next_ip());
        DecodedBlock {
            pc: 0x1000,
            disp_offsets: vec![0; insns.len()],
            insns,
            bytes: bytes.to_vec(),
            end: BlockEnd::Fallthrough(end),
        }
    }

    #[test]
    fn rep_string_operands_record_their_byte_count() {
        // rep stosb; rep stosq; rep movsb
        let b = block_of(&[0xf3, 0xaa, 0xf3, 0x48, 0xab, 0xf3, 0xa4]);
        let mut sites = Vec::new();
        let plan = plan_records(
            &b,
            RecordWants {
                accesses: true,
                calls: false,
                repeat_filter: false,
                skip_readonly_reads: false,
                inline_filter: None,
                lahf: false,
                every_access: false,
                rep_only: false,
                block_id: 0,
            },
            &mut |s| {
                sites.push(s);
                sites.len() as u32
            },
            &mut |_, _| false,
            &|_| true,
        );
        let scales: Vec<Vec<Option<u8>>> = plan
            .per_insn
            .iter()
            .map(|r| {
                r.iter()
                    .map(|x| match x {
                        Record::Operand { rep_scale, .. } => *rep_scale,
                        Record::StackPointer { .. } | Record::Vsib | Record::EpochEnd => None,
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            scales,
            vec![vec![Some(1)], vec![Some(8)], vec![Some(1), Some(1)]]
        );
    }

    /// The sites of a plan, per instruction (`None` for a record without one).
    fn sites_of(bytes: &[u8], wants: RecordWants) -> Vec<Vec<Site>> {
        let b = block_of(bytes);
        let mut sites = Vec::new();
        let plan = plan_records(
            &b,
            wants,
            &mut |s| {
                sites.push(s);
                sites.len() as u32 - 1
            },
            &mut |_, _| false,
            &|_| true,
        );
        plan.per_insn
            .iter()
            .map(|r| {
                r.iter()
                    .filter_map(|x| match x {
                        Record::Operand { site, .. } => Some(sites[*site as usize]),
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_profile_gets_the_block_start_and_the_stack_accesses() {
        // push rax; mov [rdi], eax; rep stosb; pop rcx; ret
        let code = [0x50, 0x89, 0x07, 0xf3, 0xaa, 0x59, 0xc3];
        let full = sites_of(
            &code,
            RecordWants {
                accesses: true,
                every_access: true,
                ..RecordWants::default()
            },
        );
        let kinds: Vec<Vec<(AccessKind, u32)>> = full
            .iter()
            .map(|s| {
                s.iter()
                    .filter_map(|x| match *x {
                        Site::Access { kind, size, .. } => Some((kind, size)),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        assert_eq!(full[0][0], Site::BlockStart { pc: 0x1000 });
        assert_eq!(
            kinds,
            vec![
                vec![(AccessKind::Write, 8)],
                vec![(AccessKind::Write, 4)],
                vec![(AccessKind::Write, 1)],
                vec![(AccessKind::Read, 8)],
                vec![(AccessKind::Read, 8)],
            ]
        );
        let rep = sites_of(
            &code,
            RecordWants {
                accesses: true,
                rep_only: true,
                ..RecordWants::default()
            },
        );
        assert_eq!(
            rep.iter().map(Vec::len).collect::<Vec<_>>(),
            [0, 0, 1, 0, 0]
        );
    }
}

#[cfg(test)]
mod repeat_filter_tests {
    use super::plan_tests::block_of;
    use super::*;

    fn plan(bytes: &[u8]) -> RecordPlan {
        let mut n = 0;
        plan_records(
            &block_of(bytes),
            RecordWants {
                accesses: true,
                calls: false,
                repeat_filter: true,
                skip_readonly_reads: true,
                inline_filter: None,
                lahf: false,
                every_access: false,
                rep_only: false,
                block_id: 0,
            },
            &mut |_| {
                n += 1;
                n
            },
            // Every fixed address is read-only here.
            &mut |_, _| true,
            &|_| true,
        )
    }

    #[test]
    fn plain_small_operands_are_filtered_atomics_end_the_epoch() {
        // mov eax,[rdi]; mov [rdi],al; add qword [rdi],1; lock inc dword [rdi];
        // movups xmm0,[rdi]; rep stosb
        let p = plan(&[
            0x8b, 0x07, 0x88, 0x07, 0x48, 0x83, 0x07, 0x01, 0xf0, 0xff, 0x07, 0x0f, 0x10, 0x07,
            0xf3, 0xaa,
        ]);
        let kinds: Vec<Vec<Option<Option<u8>>>> = p
            .per_insn
            .iter()
            .map(|r| {
                r.iter()
                    .map(|x| match x {
                        Record::Operand { memo, .. } => Some(*memo),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                vec![Some(Some(2 << 1))],     // 4-byte read
                vec![Some(Some(1))],          // 1-byte write
                vec![Some(Some(3 << 1 | 1))], // 8-byte update counts as a write
                vec![Some(None), None],       // atomic: recorded, then EpochEnd
                vec![Some(None)],             // 16 bytes: always recorded
                vec![Some(None)],             // rep string: always recorded
            ]
        );
        assert!(matches!(p.per_insn[3][1], Record::EpochEnd));
        // EpochEnd writes no record.
        assert_eq!(p.total, 6);
    }

    #[test]
    fn repeats_in_a_block_get_no_code_until_a_register_or_fence_changes_things() {
        // mov eax,[rdi]; mov eax,[rdi]; mov [rdi],eax; mov eax,[rdi];
        // add rdi,4; mov eax,[rdi]; mfence; mov eax,[rdi]
        let p = plan(&[
            0x8b, 0x07, 0x8b, 0x07, 0x89, 0x07, 0x8b, 0x07, 0x48, 0x83, 0xc7, 0x04, 0x8b, 0x07,
            0x0f, 0xae, 0xf0, 0x8b, 0x07,
        ]);
        let counts: Vec<usize> = p.per_insn.iter().map(Vec::len).collect();
        // The second read repeats the first; the write is stronger; the read
        // after it is covered by the write; rdi moves; the fence ends the
        // epoch with an empty record.
        assert_eq!(counts, vec![1, 0, 1, 0, 0, 1, 2, 1]);
        assert!(matches!(p.per_insn[6][1], Record::EpochEnd));
    }

    #[test]
    fn the_check_uses_no_flags_and_no_guest_stack() {
        let mut out = Vec::new();
        emit_record(
            &mut out,
            &Record::Operand {
                address: Address::Lea {
                    base: Register::RDI,
                    index: Register::RSI,
                    scale: 4,
                    displacement: 8,
                    fs: false,
                },
                site: 7,
                rep_scale: None,
                memo: Some(5),
                inline: None,
            },
            true,
        );
        emit_record(&mut out, &Record::EpochEnd, true);
        let mut d = iced_x86::Decoder::new(64, &out, iced_x86::DecoderOptions::NONE);
        let mut factory = InstructionInfoFactory::new();
        let mut n = 0;
        for i in d.iter() {
            n += 1;
            assert!(!i.is_invalid());
            assert_eq!(i.rflags_modified(), 0, "{i} changes flags");
            assert_eq!(i.stack_pointer_increment(), 0, "{i} uses the stack");
            for m in factory.info(&i).used_memory() {
                if i.code() != Code::Lea_r64_m {
                    assert!(
                        m.segment() == Register::GS || m.base() == Register::RCX,
                        "{i} touches guest memory"
                    );
                }
            }
        }
        assert!(n > 10);
    }

    #[test]
    fn the_inline_check_reads_only_the_thread_block_and_the_table() {
        for (kind_bits, save_flags) in (0..8).flat_map(|k| [(k, false), (k, true)]) {
            let mut out = Vec::new();
            emit_record(
                &mut out,
                &Record::Operand {
                    address: Address::Absolute(0x1234),
                    site: 3,
                    rep_scale: None,
                    memo: Some(kind_bits),
                    inline: Some(InlineCheck {
                        mask: 0xffff,
                        save_flags,
                    }),
                },
                true,
            );
            let mut d = iced_x86::Decoder::new(64, &out, iced_x86::DecoderOptions::NONE);
            let mut factory = InstructionInfoFactory::new();
            let insns: Vec<Instruction> = d.iter().collect();
            assert!(insns.iter().all(|i| !i.is_invalid()));
            for i in &insns {
                assert_eq!(i.stack_pointer_increment(), 0, "{i} uses the stack");
                for m in factory.info(i).used_memory() {
                    if i.code() != Code::Lea_r64_m {
                        assert!(
                            m.segment() == Register::GS
                                || matches!(m.base(), Register::RCX | Register::RDX),
                            "{i} touches guest memory"
                        );
                    }
                }
            }
            // Every branch of the check lands inside the emitted code.
            let end = out.len() as u64;
            for i in insns
                .iter()
                .filter(|i| i.is_jcc_short_or_near() || i.is_jmp_near())
            {
                assert!(i.near_branch_target() <= end, "{i} leaves the record");
            }
        }
    }

    #[test]
    fn a_spin_wait_rereads_its_places_a_scan_moves_on() {
        let mut factory = InstructionInfoFactory::new();
        // mov eax,[rip+0x1000]; test eax,eax; je back: waits for a flag.
        let wait = plan_tests::block_of(&[0x8b, 0x05, 0, 0x10, 0, 0, 0x85, 0xc0, 0x74, 0xf6]);
        assert!(is_spin_loop(&wait, &mut factory));
        // movzx eax,byte [rdi+rcx]; inc rcx; cmp al,[rsi+rcx]; je back:
        // compares two buffers (liblzma's match finder), waits for nothing.
        let scan = plan_tests::block_of(&[
            0x0f, 0xb6, 0x04, 0x0f, 0x48, 0xff, 0xc1, 0x3a, 0x04, 0x0e, 0x74, 0xf4,
        ]);
        assert!(!is_spin_loop(&scan, &mut factory));
    }

    #[test]
    fn flags_are_dead_only_until_the_next_reader() {
        // mov eax,[rdi]; cmp eax,1; mov ecx,[rsi]; bsf eax,eax; jne .
        let b = plan_tests::block_of(&[
            0x8b, 0x07, 0x83, 0xf8, 0x01, 0x8b, 0x0e, 0x0f, 0xbc, 0xc0, 0x75, 0xfe,
        ]);
        // Before the load, cmp overwrites every flag; after cmp, jne reads
        // ZF, and bsf leaves PF and others undefined (kept): live.
        assert_eq!(flags_dead_before(&b), vec![true, true, false, false, false]);
        // shl by cl writes nothing (a zero count keeps the flags).
        let b = plan_tests::block_of(&[0x8b, 0x07, 0xd3, 0xe0, 0x72, 0xfe]);
        assert_eq!(flags_dead_before(&b), vec![false, false, false]);
    }
}
