//! Differential test of the translator: random straight-line blocks of common
//! integer, SSE and AVX instructions (made with iced-x86's encoder, memory
//! operands into a scratch buffer, some of them RIP-relative) run once
//! natively and once translated; general registers, status flags, xmm/ymm
//! registers, MXCSR and the buffer must match.
//!
//! `HBGRIND_DIFF_BLOCKS=1000000 cargo test --release -p dbi --test differential`
//! runs a long campaign; the default is a few thousand blocks.

use dbi::selftest::{Machine, State, DATA_LEN};
use iced_x86::{Code, Encoder, Instruction, MemoryOperand, Register};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// General registers the blocks may change: all but rsp and r15 (the data base).
const GPR64: [Register; 14] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
];
const GPR32: [Register; 14] = [
    Register::EAX,
    Register::ECX,
    Register::EDX,
    Register::EBX,
    Register::EBP,
    Register::ESI,
    Register::EDI,
    Register::R8D,
    Register::R9D,
    Register::R10D,
    Register::R11D,
    Register::R12D,
    Register::R13D,
    Register::R14D,
];
const GPR8: [Register; 8] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R12L,
];

fn xmm(i: u64) -> Register {
    [
        Register::XMM0,
        Register::XMM1,
        Register::XMM2,
        Register::XMM3,
        Register::XMM4,
        Register::XMM5,
        Register::XMM6,
        Register::XMM7,
        Register::XMM8,
        Register::XMM9,
        Register::XMM10,
        Register::XMM11,
        Register::XMM12,
        Register::XMM13,
        Register::XMM14,
        Register::XMM15,
    ][i as usize]
}
fn ymm(i: u64) -> Register {
    [
        Register::YMM0,
        Register::YMM1,
        Register::YMM2,
        Register::YMM3,
        Register::YMM4,
        Register::YMM5,
        Register::YMM6,
        Register::YMM7,
        Register::YMM8,
        Register::YMM9,
        Register::YMM10,
        Register::YMM11,
        Register::YMM12,
        Register::YMM13,
        Register::YMM14,
        Register::YMM15,
    ][i as usize]
}

struct Gen<'a> {
    rng: &'a mut Rng,
    data: u64,
}

impl Gen<'_> {
    /// A memory operand into the data buffer: `[r15 + d]` or `[rip + abs]`,
    /// aligned to 32 bytes when `aligned`.
    fn mem(&mut self, aligned: bool) -> MemoryOperand {
        let mut off = self.rng.below(DATA_LEN as u64 - 64);
        if aligned {
            off &= !31;
        }
        if self.rng.below(3) == 0 {
            MemoryOperand::with_base_displ(Register::RIP, (self.data + off) as i64)
        } else {
            MemoryOperand::with_base_displ(Register::R15, off as i64)
        }
    }

    fn insn(&mut self) -> Instruction {
        let r = &mut *self.rng;
        let a = r.pick(&GPR64);
        let b = r.pick(&GPR64);
        let a32 = r.pick(&GPR32);
        let b32 = r.pick(&GPR32);
        let x = xmm(r.below(16));
        let y = xmm(r.below(16));
        let ya = ymm(r.below(16));
        let yb = ymm(r.below(16));
        let yc = ymm(r.below(16));
        let imm = r.next() as i32;
        let sh = r.below(64) as u32;
        let choice = r.below(40);
        let i = match choice {
            0 => Instruction::with2(
                r.pick(&[
                    Code::Add_rm64_r64,
                    Code::Sub_rm64_r64,
                    Code::And_rm64_r64,
                    Code::Or_rm64_r64,
                    Code::Xor_rm64_r64,
                    Code::Adc_rm64_r64,
                    Code::Sbb_rm64_r64,
                    Code::Cmp_rm64_r64,
                    Code::Test_rm64_r64,
                    Code::Mov_rm64_r64,
                ]),
                a,
                b,
            ),
            1 => Instruction::with2(
                r.pick(&[
                    Code::Add_rm32_r32,
                    Code::Sub_rm32_r32,
                    Code::Xor_rm32_r32,
                    Code::Adc_rm32_r32,
                    Code::Mov_rm32_r32,
                ]),
                a32,
                b32,
            ),
            2 => Instruction::with2(
                r.pick(&[
                    Code::Add_rm64_imm32,
                    Code::Sub_rm64_imm32,
                    Code::And_rm64_imm32,
                    Code::Or_rm64_imm32,
                    Code::Xor_rm64_imm32,
                    Code::Cmp_rm64_imm32,
                ]),
                a,
                imm,
            ),
            3 => Instruction::with2(
                r.pick(&[
                    Code::Shl_rm64_imm8,
                    Code::Shr_rm64_imm8,
                    Code::Sar_rm64_imm8,
                    Code::Rol_rm64_imm8,
                    Code::Ror_rm64_imm8,
                ]),
                a,
                sh,
            ),
            4 => Instruction::with1(
                r.pick(&[
                    Code::Inc_rm64,
                    Code::Dec_rm64,
                    Code::Neg_rm64,
                    Code::Not_rm64,
                ]),
                a,
            ),
            5 => Instruction::with2(
                r.pick(&[
                    Code::Imul_r64_rm64,
                    Code::Cmovne_r64_rm64,
                    Code::Cmovb_r64_rm64,
                    Code::Cmovl_r64_rm64,
                    Code::Cmovo_r64_rm64,
                    Code::Popcnt_r64_rm64,
                    Code::Tzcnt_r64_rm64,
                    Code::Lzcnt_r64_rm64,
                    Code::Bsf_r64_rm64,
                ]),
                a,
                b,
            ),
            6 => Instruction::with2(Code::Mov_r64_imm64, a, r.next()),
            7 => {
                let m = MemoryOperand::with_base_index_scale_displ_size(
                    b,
                    r.pick(&GPR64),
                    r.pick(&[1, 2, 4, 8]),
                    imm as i64,
                    8,
                );
                Instruction::with2(Code::Lea_r64_m, a, m)
            }
            8 => Instruction::with1(
                r.pick(&[
                    Code::Sete_rm8,
                    Code::Setb_rm8,
                    Code::Setl_rm8,
                    Code::Seto_rm8,
                    Code::Setp_rm8,
                    Code::Seta_rm8,
                ]),
                r.pick(&GPR8),
            ),
            9 => Instruction::with1(Code::Bswap_r64, a),
            10 => Instruction::with2(
                r.pick(&[Code::Bt_rm64_r64, Code::Bts_rm64_r64, Code::Btr_rm64_r64]),
                a,
                b,
            ),
            11 => Instruction::with2(Code::Xchg_rm64_r64, a, b),
            12 => Instruction::with2(Code::Movzx_r32_rm8, a32, r.pick(&GPR8)),
            13 => Instruction::with2(Code::Movsxd_r64_rm32, a, b32),
            14 => Ok(Instruction::with(r.pick(&[
                Code::Cmc,
                Code::Clc,
                Code::Stc,
            ]))),
            15 => Instruction::with3(Code::Imul_r64_rm64_imm32, a, b, imm),
            // Memory forms.
            16 => {
                let m = self.mem(false);
                Instruction::with2(
                    self.rng.pick(&[
                        Code::Mov_r64_rm64,
                        Code::Add_r64_rm64,
                        Code::Sub_r64_rm64,
                        Code::Xor_r64_rm64,
                        Code::Cmp_r64_rm64,
                        Code::Cmovne_r64_rm64,
                    ]),
                    a,
                    m,
                )
            }
            17 => {
                let m = self.mem(false);
                Instruction::with2(
                    self.rng.pick(&[
                        Code::Mov_rm64_r64,
                        Code::Add_rm64_r64,
                        Code::Or_rm64_r64,
                        Code::Sub_rm64_r64,
                        Code::Xchg_rm64_r64,
                    ]),
                    m,
                    a,
                )
            }
            18 => {
                let m = self.mem(false);
                Instruction::with2(
                    self.rng.pick(&[
                        Code::Add_rm32_imm32,
                        Code::Mov_rm32_imm32,
                        Code::And_rm32_imm32,
                    ]),
                    m,
                    imm,
                )
            }
            19 => {
                let m = self.mem(false);
                Instruction::with1(
                    self.rng
                        .pick(&[Code::Inc_rm64, Code::Neg_rm64, Code::Not_rm32]),
                    m,
                )
            }
            20 => {
                let m = self.mem(false);
                Instruction::with2(Code::Movzx_r64_rm16, a, m)
            }
            21 => {
                let m = self.mem(false);
                Instruction::with2(
                    self.rng.pick(&[Code::Shl_rm64_imm8, Code::Sar_rm64_imm8]),
                    m,
                    sh,
                )
            }
            // SSE.
            22..=25 => Instruction::with2(
                r.pick(&[
                    Code::Paddd_xmm_xmmm128,
                    Code::Psubq_xmm_xmmm128,
                    Code::Pxor_xmm_xmmm128,
                    Code::Pand_xmm_xmmm128,
                    Code::Por_xmm_xmmm128,
                    Code::Pmullw_xmm_xmmm128,
                    Code::Pcmpeqb_xmm_xmmm128,
                    Code::Punpcklqdq_xmm_xmmm128,
                    Code::Pmaxsw_xmm_xmmm128,
                    Code::Psadbw_xmm_xmmm128,
                ]),
                x,
                y,
            ),
            26 => Instruction::with3(Code::Pshufd_xmm_xmmm128_imm8, x, y, sh & 0xff),
            27 => {
                let m = self.mem(true);
                Instruction::with2(
                    self.rng.pick(&[
                        Code::Paddd_xmm_xmmm128,
                        Code::Pxor_xmm_xmmm128,
                        Code::Movdqu_xmm_xmmm128,
                        Code::Movdqa_xmm_xmmm128,
                    ]),
                    x,
                    m,
                )
            }
            28 => {
                let m = self.mem(true);
                Instruction::with2(
                    self.rng
                        .pick(&[Code::Movdqu_xmmm128_xmm, Code::Movdqa_xmmm128_xmm]),
                    m,
                    x,
                )
            }
            29 => {
                if r.below(2) == 0 {
                    Instruction::with2(Code::Movq_xmm_rm64, x, a)
                } else {
                    Instruction::with2(Code::Movq_rm64_xmm, a, x)
                }
            }
            30 => Instruction::with2(r.pick(&[Code::Pmovmskb_r64_xmm]), a, x),
            31 => Instruction::with2(Code::Psllq_xmm_imm8, x, sh),
            // AVX.
            32..=35 => Instruction::with3(
                r.pick(&[
                    Code::VEX_Vpaddd_ymm_ymm_ymmm256,
                    Code::VEX_Vpxor_ymm_ymm_ymmm256,
                    Code::VEX_Vpsubq_ymm_ymm_ymmm256,
                    Code::VEX_Vpshufb_ymm_ymm_ymmm256,
                    Code::VEX_Vpand_ymm_ymm_ymmm256,
                    Code::VEX_Vpunpckhdq_ymm_ymm_ymmm256,
                    Code::VEX_Vpmulld_ymm_ymm_ymmm256,
                    Code::VEX_Vpcmpgtd_ymm_ymm_ymmm256,
                ]),
                ya,
                yb,
                yc,
            ),
            36 => {
                let m = self.mem(false);
                Instruction::with3(
                    self.rng.pick(&[
                        Code::VEX_Vpaddd_ymm_ymm_ymmm256,
                        Code::VEX_Vpxor_ymm_ymm_ymmm256,
                    ]),
                    ya,
                    yb,
                    m,
                )
            }
            37 => {
                let m = self.mem(false);
                Instruction::with2(Code::VEX_Vmovdqu_ymm_ymmm256, ya, m)
            }
            38 => {
                let m = self.mem(false);
                Instruction::with2(Code::VEX_Vmovdqu_ymmm256_ymm, m, ya)
            }
            _ => Instruction::with3(Code::VEX_Vpermq_ymm_ymmm256_imm8, ya, yb, sh & 0xff),
        };
        i.unwrap_or_else(|e| panic!("generator made an invalid instruction (choice {choice}): {e}"))
    }
}

/// Encodes `n` random instructions at `at`.
fn random_block(rng: &mut Rng, data: u64, at: u64, n: usize) -> Vec<u8> {
    let mut enc = Encoder::new(64);
    let mut ip = at;
    let mut out = Vec::new();
    let mut g = Gen { rng, data };
    while out.len() / 4 < n {
        let insn = g.insn();
        let len = enc
            .encode(&insn, ip)
            .unwrap_or_else(|e| panic!("encode {insn:?}: {e}"));
        out.extend_from_slice(&enc.take_buffer());
        ip += len as u64;
        if out.len() > n * 8 {
            break;
        }
    }
    out
}

fn random_state(rng: &mut Rng, base_xsave: &[u8], data: u64) -> State {
    let mut gprs = [0u64; 16];
    for g in &mut gprs {
        *g = match rng.below(4) {
            0 => rng.below(256),
            1 => rng.next() >> 32,
            _ => rng.next(),
        };
    }
    gprs[4] = data + DATA_LEN as u64 - 128; // rsp: unused, but valid
    gprs[15] = data; // r15: the data base
                     // CF PF AF ZF SF OF from the rng, IF set (as user space always has it).
    let rflags = 0x202 | (rng.next() & 0x8d5);
    let mut xsave = base_xsave.to_vec();
    for b in &mut xsave[160..416] {
        *b = rng.next() as u8;
    }
    let ymm_hi = Machine::xsave_component_offset(2);
    for b in &mut xsave[ymm_hi..ymm_hi + 256] {
        *b = rng.next() as u8;
    }
    xsave[512] |= 0b110; // XSTATE_BV: load SSE and AVX state from the image
    State {
        gprs,
        rflags,
        xsave,
    }
}

fn compare(native: &(State, Vec<u8>), translated: &(State, Vec<u8>)) -> Result<(), String> {
    let (n, nd) = native;
    let (t, td) = translated;
    for i in 0..16 {
        if n.gprs[i] != t.gprs[i] {
            return Err(format!(
                "gpr {i}: native {:#x}, translated {:#x}",
                n.gprs[i], t.gprs[i]
            ));
        }
    }
    let mask = 0x8d5 | 0x400;
    if n.rflags & mask != t.rflags & mask {
        return Err(format!(
            "rflags: native {:#x}, translated {:#x}",
            n.rflags, t.rflags
        ));
    }
    let ymm_hi = Machine::xsave_component_offset(2);
    let ranges = [
        (24usize, 28usize, "mxcsr"),
        (160, 416, "xmm"),
        (ymm_hi, ymm_hi + 256, "ymm upper"),
    ];
    for (lo, hi, what) in ranges {
        if n.xsave[lo..hi] != t.xsave[lo..hi] {
            let at = (lo..hi).find(|&i| n.xsave[i] != t.xsave[i]).unwrap_or(lo);
            return Err(format!("{what} differs at xsave byte {at}"));
        }
    }
    if nd != td {
        let at = nd
            .iter()
            .zip(td.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!("data differs at offset {at:#x}"));
    }
    Ok(())
}

fn campaign(seed: u64, blocks: usize) {
    let mut m = Machine::new();
    let mut rng = Rng(seed | 1);
    let base_xsave = Machine::current_xsave();
    let data = m.data_addr();
    for b in 0..blocks {
        let n = 1 + rng.below(40) as usize;
        let code = random_block(&mut rng, data, m.code_addr(), n);
        let init = random_state(&mut rng, &base_xsave, data);
        let mut buf = vec![0u8; DATA_LEN];
        for x in &mut buf {
            *x = rng.next() as u8;
        }
        let native = m.run_native(&code, &init, &buf);
        // Half the blocks run with the race tool's access records, which
        // must not disturb the guest either, and must name the guest data.
        let recording = b % 4 >= 2;
        m.set_recording(recording);
        let translated = m
            .run_translated(&code, &init, &buf, b % 2 == 1)
            .unwrap_or_else(|e| panic!("block {b}: {e}"));
        for a in m.take_recorded() {
            if a.addr < data || a.addr + u64::from(a.size) > data + DATA_LEN as u64 {
                let off = (a.pc - m.code_addr()) as usize;
                let mut dec = iced_x86::Decoder::with_ip(
                    64,
                    &code[off..],
                    a.pc,
                    iced_x86::DecoderOptions::NONE,
                );
                panic!(
                    "seed {seed:#x} block {b}: {} recorded {:#x} ({} bytes), data at {data:#x}",
                    dec.decode(),
                    a.addr,
                    a.size
                );
            }
        }
        if let Err(e) = compare(&native, &translated) {
            let mut dec = iced_x86::Decoder::with_ip(
                64,
                &code,
                m.code_addr(),
                iced_x86::DecoderOptions::NONE,
            );
            let listing: Vec<String> = dec.iter().map(|i| format!("{:#x}: {i}", i.ip())).collect();
            panic!("seed {seed:#x} block {b}: {e}\n{}", listing.join("\n"));
        }
    }
}

#[test]
fn random_blocks_match_native() {
    let blocks = std::env::var("HBGRIND_DIFF_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed = std::env::var("HBGRIND_DIFF_SEED")
        .ok()
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    campaign(seed.unwrap_or(0x9e37_79b9_7f4a_7c15), blocks);
}

/// Regression: `imul` leaves SF/ZF/AF/PF "undefined", and on real CPUs keeps
/// them; the counter bump must not treat them as dead (seed 0x9e3779b97f4a7c15, block 75).
#[test]
fn imul_keeps_undefined_flags_under_counting() {
    let mut m = Machine::new();
    let mut rng = Rng(7);
    let data = m.data_addr();
    let mut enc = Encoder::new(64);
    let insn = Instruction::with3(
        Code::Imul_r64_rm64_imm32,
        Register::RSI,
        Register::RDI,
        0x6c1e_a946,
    )
    .expect("imul");
    enc.encode(&insn, m.code_addr()).expect("encode");
    let code = enc.take_buffer();
    let base_xsave = Machine::current_xsave();
    for _ in 0..64 {
        let init = random_state(&mut rng, &base_xsave, data);
        let buf = vec![0u8; DATA_LEN];
        let native = m.run_native(&code, &init, &buf);
        let translated = m
            .run_translated(&code, &init, &buf, true)
            .expect("translated run");
        compare(&native, &translated).expect("imul under counting");
    }
}

/// A block of loads, stores, read-modify-writes and LOCK adds of 1, 2, 4
/// and 8 bytes at a few addresses of the data (r15), so that repeats are
/// frequent.
fn repeat_block(rng: &mut Rng, at: u64, n: usize) -> Vec<u8> {
    let mut enc = Encoder::new(64);
    let mut ip = at;
    let mut out = Vec::new();
    // Six variables: (size, offset), fields of the same granules among them.
    let vars = [(8u32, 0i64), (4, 8), (4, 12), (2, 16), (1, 18), (1, 19)];
    // r15 moves now and then (by 8, within the data), so an operand's
    // address expression stops naming the bytes it named before.
    let mut moved = 0i64;
    for _ in 0..n {
        if rng.below(12) == 0 {
            let step = if moved > 0 && rng.below(2) == 0 {
                -8
            } else {
                8
            };
            moved += step;
            let add = Instruction::with2(Code::Add_rm64_imm8, Register::R15, step as i32)
                .expect("add r15");
            let len = enc.encode(&add, ip).expect("encode");
            out.extend_from_slice(&enc.take_buffer());
            ip += len as u64;
        }
        let (size, disp) = vars[rng.below(vars.len() as u64) as usize];
        let mem = MemoryOperand::with_base_displ(Register::R15, disp);
        let (load, store, add, lock_add, reg) = match size {
            1 => (
                Code::Mov_r8_rm8,
                Code::Mov_rm8_r8,
                Code::Add_rm8_r8,
                true,
                Register::AL,
            ),
            2 => (
                Code::Mov_r16_rm16,
                Code::Mov_rm16_r16,
                Code::Add_rm16_r16,
                true,
                Register::AX,
            ),
            4 => (
                Code::Mov_r32_rm32,
                Code::Mov_rm32_r32,
                Code::Add_rm32_r32,
                true,
                Register::EAX,
            ),
            _ => (
                Code::Mov_r64_rm64,
                Code::Mov_rm64_r64,
                Code::Add_rm64_r64,
                true,
                Register::RAX,
            ),
        };
        let mut insn = match rng.below(30) {
            0..=13 => Instruction::with2(load, reg, mem),
            14..=25 => Instruction::with2(store, mem, reg),
            26..=28 => Instruction::with2(add, mem, reg),
            _ => {
                let mut i = Instruction::with2(add, mem, reg).expect("add");
                i.set_has_lock_prefix(lock_add);
                Ok(i)
            }
        }
        .expect("instruction");
        insn.set_ip(ip);
        let len = enc.encode(&insn, ip).expect("encode");
        out.extend_from_slice(&enc.take_buffer());
        ip += len as u64;
    }
    out
}

/// Walks the accesses of block `b`, `all` as recorded without a filter
/// and `with` as recorded with one: `with` must be `all` in order with
/// some left out, each of them `covered` or a repeat of an earlier access
/// since the last atomic one (same address, no more bytes, no stronger: a
/// write covers a read). Returns how many left out were `covered`.
fn left_out_accesses(
    b: usize,
    all: &[dbi::MemAccess],
    with: &[dbi::MemAccess],
    covered: impl Fn(&dbi::MemAccess) -> bool,
) -> usize {
    let mut dropped = 0;
    let mut seen: Vec<(u64, u32, bool)> = Vec::new();
    let mut kept = with.iter().peekable();
    for a in all {
        let write = a.kind != dbi::AccessKind::Read;
        let repeat = !a.atomic
            && seen
                .iter()
                .any(|&(addr, size, w)| addr == a.addr && a.size <= size && (w || !write));
        if a.atomic {
            seen.clear();
        } else {
            seen.push((a.addr, a.size, write));
        }
        let same =
            |k: &&dbi::MemAccess| (k.pc, k.addr, k.size, k.kind) == (a.pc, a.addr, a.size, a.kind);
        if kept.peek().is_some_and(same) {
            kept.next();
        } else if covered(a) {
            dropped += 1;
        } else {
            assert!(
                repeat,
                "block {b}: {a:?} left out, neither covered nor a repeat"
            );
        }
    }
    assert!(
        kept.next().is_none(),
        "block {b}: records that are no access of the block"
    );
    dropped
}

/// The repeat filter (record.rs) drops only exact repeats within an epoch:
/// with it, the records are those without it minus some accesses covered
/// by an earlier one since the last atomic instruction (same address, no
/// larger, no stronger); it drops many; and the guest runs as natively
/// either way.
#[test]
fn the_repeat_filter_drops_exactly_the_repeats() {
    let mut m = Machine::new();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let base_xsave = Machine::current_xsave();
    let data = m.data_addr();
    let (mut with_total, mut without_total) = (0, 0);
    for b in 0..400 {
        let n = 1 + rng.below(60) as usize;
        let code = repeat_block(&mut rng, m.code_addr(), n);
        let init = random_state(&mut rng, &base_xsave, data);
        let buf = vec![0u8; DATA_LEN];
        let native = m.run_native(&code, &init, &buf);
        m.set_recording(true);
        let mut runs = Vec::new();
        for filter in [false, true] {
            m.set_repeat_filter(filter);
            let translated = m
                .run_translated(&code, &init, &buf, false)
                .unwrap_or_else(|e| panic!("block {b}: {e}"));
            compare(&native, &translated).unwrap_or_else(|e| panic!("block {b}: {e}"));
            runs.push(m.take_recorded());
        }
        let (without, with) = (&runs[0], &runs[1]);
        // An access missing with the filter must repeat one since the last
        // atomic access (a slot may have been evicted, so not every repeat
        // is dropped).
        left_out_accesses(b, without, with, |_| false);
        with_total += with.len();
        without_total += without.len();
    }
    assert!(
        with_total * 10 < without_total * 7,
        "the filter dropped too little: {with_total} of {without_total}"
    );
}

/// An inline filter table over the data (`dbi::InlineFilter`): each data
/// granule has its own slot, holding the running thread's `tag` or another
/// one, and random masks (all bytes in a quarter of them).
fn filter_table(rng: &mut Rng, data: u64, tag: u64) -> (Vec<u64>, u64) {
    let slots = (DATA_LEN / 8).next_power_of_two() as u64;
    let mut table = vec![0u64; 2 * slots as usize];
    let first = data >> 3;
    for g in first..first + (DATA_LEN / 8) as u64 {
        let i = 2 * (g & (slots - 1)) as usize;
        let owner = if rng.below(4) == 0 { tag + 1 } else { tag };
        let masks = if rng.below(4) == 0 {
            0xffff
        } else {
            rng.next() & 0xffff
        };
        table[i] = if rng.below(8) == 0 { g ^ slots } else { g };
        table[i + 1] = owner << 16 | masks;
    }
    (table, slots - 1)
}

/// Whether the filter covers a plain access inside one granule: the
/// slot holds its granule and the tag, and its bytes in the write mask (a
/// write) or in either mask (a read).
fn filter_covers(table: &[u64], mask: u64, tag: u64, a: &dbi::MemAccess) -> bool {
    let (off, size) = (a.addr & 7, u64::from(a.size));
    if a.atomic || !matches!(size, 1 | 2 | 4 | 8) || off + size > 8 {
        return false;
    }
    let g = a.addr >> 3;
    let i = 2 * (g & mask) as usize;
    let word = table[i + 1];
    if table[i] != g || word >> 16 != tag {
        return false;
    }
    let have = if a.kind == dbi::AccessKind::Read {
        (word | word >> 8) as u8
    } else {
        (word >> 8) as u8
    };
    let need = (((1u16 << size) - 1) << off) as u8;
    have & need == need
}

/// The inline filter (record.rs) leaves out only accesses its table
/// covers, and the guest runs as natively with it: random blocks (which
/// read and write flags around their memory operands: `adc`, `cmovcc`,
/// `setcc`, `bsf`), then blocks of plain loads and stores, where it must
/// leave out many.
#[test]
fn the_inline_filter_drops_only_covered_accesses() {
    let mut m = Machine::new();
    let mut rng = Rng(0x1f11_7e12_5eed_0003);
    let random = inline_filter_campaign(&mut m, &mut rng, 1500, random_block);
    assert!(random.0 > 0, "the inline filter left out nothing");
    let repeats = inline_filter_campaign(&mut m, &mut rng, 400, |rng, _, at, n| {
        repeat_block(rng, at, n)
    });
    assert!(
        repeats.0 * 4 > repeats.1,
        "the inline filter left out too little: {repeats:?}"
    );
}

/// Runs `blocks` blocks of `gen` without filters and with the repeat and
/// inline filters; returns (covered accesses left out, all accesses).
fn inline_filter_campaign(
    m: &mut Machine,
    rng: &mut Rng,
    blocks: usize,
    gen: impl Fn(&mut Rng, u64, u64, usize) -> Vec<u8>,
) -> (usize, usize) {
    let base_xsave = Machine::current_xsave();
    let data = m.data_addr();
    let tag = 0x1234_5678;
    let (mut dropped, mut total) = (0usize, 0usize);
    m.set_recording(true);
    for b in 0..blocks {
        let n = 1 + rng.below(40) as usize;
        let code = gen(&mut *rng, data, m.code_addr(), n);
        let init = random_state(rng, &base_xsave, data);
        let mut buf = vec![0u8; DATA_LEN];
        for x in &mut buf {
            *x = rng.next() as u8;
        }
        let (table, mask) = filter_table(rng, data, tag);
        let native = m.run_native(&code, &init, &buf);
        let mut runs = Vec::new();
        // Every access (no filter), then with the repeat and inline filters.
        for inline in [false, true] {
            m.set_repeat_filter(inline);
            m.set_inline_filter(inline.then(|| (table.clone(), tag)));
            let translated = m
                .run_translated(&code, &init, &buf, false)
                .unwrap_or_else(|e| panic!("block {b}: {e}"));
            if let Err(e) = compare(&native, &translated) {
                let mut dec = iced_x86::Decoder::with_ip(
                    64,
                    &code,
                    m.code_addr(),
                    iced_x86::DecoderOptions::NONE,
                );
                let listing: Vec<String> =
                    dec.iter().map(|i| format!("{:#x}: {i}", i.ip())).collect();
                panic!("block {b} (inline {inline}): {e}\n{}", listing.join("\n"));
            }
            runs.push(m.take_recorded());
        }
        let (all, with) = (&runs[0], &runs[1]);
        // An access left out must be covered by the table or repeat one
        // since the last atomic access (the repeat filter).
        dropped += left_out_accesses(b, all, with, |a| filter_covers(&table, mask, tag, a));
        total += all.len();
    }
    m.set_inline_filter(None);
    m.set_repeat_filter(true);
    m.set_recording(false);
    (dropped, total)
}
