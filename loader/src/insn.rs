//! The "same meaning in SBPF V3 as in eBPF" check.
//!
//! clang emits eBPF. solana-sbpf V3 decodes the same bytes, but a few encodings mean something
//! else there (or nothing at all). This module refuses every instruction whose SBPF V3 meaning
//! differs from the eBPF meaning clang relied on, with the clang mnemonic and the reason.
//!
//! What is accepted (see `solana_sbpf::interpreter` for the V3 semantics):
//! - `lddw` (src = 0), `ldx`/`st`/`stx` in BPF_MEM mode, every 64-bit ALU op except v4's
//!   `bswap`, jumps and 32-bit jumps (V3 has jmp32), `call` (src 0 or 1), `callx`, `exit`.
//! - 32-bit ALU ops whose result V3 zero-extends like eBPF: `div32 mod32 or32 and32 lsh32 rsh32
//!   neg32 xor32 mov32 arsh32 le be` (`-mcpu=v2` only ever emits `be16/32/64` of these; the
//!   32-bit ALU route, `-mattr=+alu32`, emits the others).
//!
//! - `add32 sub32 mul32` only when the very next slot is `mov32 dst, dst` (`wN = wN`) of the
//!   same register ([`zero_extends`]). V3 sign-extends the 32-bit result of these three into
//!   the 64-bit register where eBPF zero-extends it; the `mov32` (which V3 zero-extends like
//!   eBPF) restores eBPF's result before anything can read the register. Nothing can run
//!   between the two: neither instruction jumps or faults, and a jump *to* the `mov32` only
//!   runs a `mov32`, which means the same in both. tos-vm's build inserts the pair
//!   (`crate::toolchain`, the assembly step).
//!
//! What is refused:
//! - `add32 sub32 mul32` not followed by that `mov32`: V3 sign-extends the 32-bit result into
//!   the register, eBPF zero-extends it (alu32 code, e.g. `-mcpu=v3`).
//! - any ALU op with `off != 0`: v4's `sdiv smod movsx` (V3 ignores `off` and would run an
//!   unsigned division / a plain move).
//! - `ldsx` (BPF_MEMSX), atomics (`lock *(u64 *)`, `atomic_fetch_*`, `xchg`, `cmpxchg`),
//!   `ld_abs`/`ld_ind`, v4 `bswap`, `gotol`, kfunc calls (`call` src=2), pseudo `lddw` (src != 0).
//!
//! Division by zero is a trap in SBPF where eBPF defines a result; C and Rust never rely on the
//! eBPF result (it is undefined behaviour / checked), so divisions are accepted.

use crate::bytes::RawInsn;

/// `lddw` opcode (BPF_LD | BPF_IMM | BPF_DW).
pub(crate) const LDDW: u8 = 0x18;
/// `call imm`.
pub(crate) const CALL_IMM: u8 = 0x85;
/// `callx reg`.
pub(crate) const CALL_REG: u8 = 0x8d;
/// `mov32 dst, src` (BPF_ALU | BPF_MOV | BPF_X), `wD = wS` in LLVM's assembly.
pub(crate) const MOV32_REG: u8 = 0xbc;

const ALU_OPS: [&str; 16] = [
    "add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "neg", "mod", "xor", "mov", "arsh",
    "end", "op0xe0", "op0xf0",
];
const JMP_OPS: [&str; 16] = [
    "ja", "jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "call", "exit", "jlt", "jle", "jslt",
    "jsle", "op0xe0", "op0xf0",
];
const SIZES: [&str; 4] = ["32", "16", "8", "64"];

/// A refusal: mnemonic and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub mnemonic: String,
    pub reason: String,
}

fn refuse(mnemonic: impl Into<String>, reason: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal {
        mnemonic: mnemonic.into(),
        reason: reason.into(),
    })
}

fn unknown(insn: &RawInsn) -> Result<(), Refusal> {
    refuse(
        format!("opcode {:#04x}", insn.opc),
        "not an instruction of eBPF as clang emits it for SBPF V3",
    )
}

fn op_index(opc: u8) -> usize {
    usize::from(opc >> 4)
}

/// Whether `next` is `mov32 dst, dst` of `insn`'s destination register: the instruction that
/// must follow an `add32`/`sub32`/`mul32` (see the module comment).
pub(crate) fn zero_extends(insn: &RawInsn, next: Option<&RawInsn>) -> bool {
    next.is_some_and(|next| {
        next.opc == MOV32_REG
            && next.dst == insn.dst
            && next.src == insn.dst
            && next.off == 0
            && next.imm == 0
    })
}

/// Checks one instruction slot (not the second half of an `lddw`, which the caller skips).
/// `next` is the slot after it in the same code section (`None` at the section's end).
pub(crate) fn check(insn: &RawInsn, next: Option<&RawInsn>) -> Result<(), Refusal> {
    let class = insn.opc & 0x07;
    match class {
        // BPF_LD
        0x00 => match insn.opc {
            LDDW if insn.src == 0 => Ok(()),
            LDDW => refuse(
                format!("lddw (src={})", insn.src),
                "pseudo lddw (map / BTF / function reference) has no SBPF meaning",
            ),
            0x00 => refuse(
                "opcode 0x00",
                "empty slot outside an lddw (stray second half of a 16-byte lddw?)",
            ),
            _ => match insn.opc & 0xe0 {
                0x20 => refuse(
                    format!("ld_abs{}", SIZES[usize::from((insn.opc >> 3) & 3)]),
                    "packet access (BPF_ABS) does not exist in SBPF",
                ),
                0x40 => refuse(
                    format!("ld_ind{}", SIZES[usize::from((insn.opc >> 3) & 3)]),
                    "packet access (BPF_IND) does not exist in SBPF",
                ),
                _ => unknown(insn),
            },
        },
        // BPF_LDX, BPF_ST, BPF_STX
        0x01..=0x03 => {
            let size = SIZES[usize::from((insn.opc >> 3) & 3)];
            match insn.opc & 0xe0 {
                0x60 => Ok(()),
                0x80 if class == 0x01 => refuse(
                    format!("ldxs{size}"),
                    "sign-extending load (BPF_MEMSX, -mcpu=v4) is not an SBPF V3 instruction; build with -mcpu=v2",
                ),
                0xc0 if class == 0x03 && (size == "32" || size == "64") => {
                    let fetch = if insn.imm & 0x01 != 0 { "_fetch" } else { "" };
                    let op = match insn.imm & !0x01 {
                        0x00 => format!("atomic{fetch}_add{size}"),
                        0x40 => format!("atomic{fetch}_or{size}"),
                        0x50 => format!("atomic{fetch}_and{size}"),
                        0xa0 => format!("atomic{fetch}_xor{size}"),
                        0xe0 => format!("xchg{size}"),
                        0xf0 => format!("cmpxchg{size}"),
                        other => format!("atomic{size} (imm {other:#x})"),
                    };
                    refuse(op, "SBPF has no atomic instructions")
                }
                _ => unknown(insn),
            }
        }
        // BPF_ALU (32-bit) and BPF_ALU64
        0x04 | 0x07 => {
            let is32 = class == 0x04;
            let suffix = if is32 { "32" } else { "" };
            let op = insn.opc & 0xf0;
            let name = ALU_OPS[op_index(insn.opc)];
            if insn.off != 0 {
                let mnemonic = match (op, insn.off) {
                    (0x30, 1) => format!("sdiv{suffix}"),
                    (0x90, 1) => format!("smod{suffix}"),
                    (0xb0, 8 | 16 | 32) => format!("movsx{suffix} (from {} bits)", insn.off),
                    _ => format!("{name}{suffix} (off={})", insn.off),
                };
                return refuse(
                    mnemonic,
                    "ALU instruction with a non-zero offset (eBPF v4 signed division / sign-extending move, -mcpu=v4); \
                     SBPF ignores the offset and would run the unsigned/plain form",
                );
            }
            match op {
                0x00 | 0x10 | 0x20 if is32 && !zero_extends(insn, next) => refuse(
                    format!("{name}32"),
                    "32-bit add/sub/mul not followed by `mov32 dst, dst` of the same register: SBPF V3 \
                     sign-extends the 32-bit result into the 64-bit register, eBPF zero-extends it \
                     (alu32 code, e.g. -mcpu=v3, not built by tos-vm build)",
                ),
                0x80 if insn.opc & 0x08 != 0 => unknown(insn),
                0xd0 if !is32 => refuse(
                    "bswap",
                    "unconditional byte swap (BPF_ALU64 | BPF_END, -mcpu=v4) is not an SBPF V3 instruction",
                ),
                0xe0 | 0xf0 => unknown(insn),
                _ => Ok(()),
            }
        }
        // BPF_JMP
        0x05 => match insn.opc {
            0x05 => Ok(()),
            CALL_IMM => match insn.src {
                0 | 1 => Ok(()),
                2 => refuse(
                    "call (kfunc)",
                    "kernel function calls (src=2) do not exist in SBPF",
                ),
                s => refuse(format!("call (src={s})"), "unknown call kind"),
            },
            CALL_REG | 0x95 => Ok(()),
            _ => match insn.opc & 0xf0 {
                0x10..=0x70 | 0xa0..=0xd0 => Ok(()),
                _ => unknown(insn),
            },
        },
        // BPF_JMP32
        _ => match insn.opc & 0xf0 {
            0x00 => refuse(
                "gotol",
                "32-bit-offset jump (BPF_JMP32 | BPF_JA, -mcpu=v4) is not an SBPF V3 instruction",
            ),
            0x10..=0x70 | 0xa0..=0xd0 => Ok(()),
            _ => refuse(
                format!("{}32", JMP_OPS[op_index(insn.opc)]),
                "not an SBPF V3 instruction",
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(opc: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn {
            opc,
            dst: 1,
            src: 0,
            off,
            imm,
        }
    }

    #[test]
    fn accepts_what_v2_emits() {
        for opc in [
            0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f,
            0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xdc, 0xd4, 0x61,
            0x69, 0x71, 0x79, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0x05, 0x15, 0x1d,
            0xad, 0x95, 0x85, 0x8d, 0x16, 0x1e, 0xb4, 0xbc, 0x34, 0x94, 0x44, 0x54, 0x64, 0x74,
            0x84, 0xa4, 0xc4,
        ] {
            assert_eq!(check(&insn(opc, 0, 0), None), Ok(()), "opcode {opc:#x}");
        }
    }

    #[test]
    fn refuses_meaning_changes() {
        let cases: [(u8, i16, i32, &str); 12] = [
            (0x3f, 1, 0, "sdiv"),
            (0x97, 1, 3, "smod"),
            (0xbf, 8, 0, "movsx"),
            (0x3c, 1, 0, "sdiv32"),
            (0x04, 0, 1, "add32"),
            (0x1c, 0, 0, "sub32"),
            (0x24, 0, 3, "mul32"),
            (0x91, 0, 0, "ldxs8"),
            (0xdb, 0, 0, "atomic_add64"),
            (0xc3, 0, 0xe1, "xchg32"),
            (0xd7, 0, 16, "bswap"),
            (0x06, 0, 5, "gotol"),
        ];
        for (opc, off, imm, want) in cases {
            let err = check(&insn(opc, off, imm), None).unwrap_err();
            assert!(
                err.mnemonic.starts_with(want),
                "{opc:#x}: got {}",
                err.mnemonic
            );
        }
        assert!(check(&insn(0x20, 0, 0), None)
            .unwrap_err()
            .mnemonic
            .starts_with("ld_abs"));
        assert!(check(&insn(0x50, 0, 0), None)
            .unwrap_err()
            .mnemonic
            .starts_with("ld_ind"));
    }

    fn mov32(dst: u8, src: u8) -> RawInsn {
        RawInsn {
            opc: MOV32_REG,
            dst,
            src,
            off: 0,
            imm: 0,
        }
    }

    /// `add32`/`sub32`/`mul32`, register and immediate forms.
    const ADD_SUB_MUL32: [(u8, &str); 6] = [
        (0x04, "add32"),
        (0x0c, "add32"),
        (0x14, "sub32"),
        (0x1c, "sub32"),
        (0x24, "mul32"),
        (0x2c, "mul32"),
    ];

    #[test]
    fn add_sub_mul32_accepted_only_before_mov32_of_the_same_register() {
        for (opc, name) in ADD_SUB_MUL32 {
            let op = RawInsn {
                opc,
                dst: 3,
                src: 4,
                off: 0,
                imm: -7,
            };
            assert_eq!(check(&op, Some(&mov32(3, 3))), Ok(()), "{name}");
            let not_zero_extending = [
                None,                    // last slot of the section
                Some(mov32(4, 4)),       // another register
                Some(mov32(3, 4)),       // a copy, not a zero-extension of r3
                Some(mov32(4, 3)),       // zero-extends r3 into r4: r3 stays sign-extended
                Some(insn(0xbf, 0, 0)),  // mov64
                Some(insn(0x57, 0, -1)), // and64 with all ones
                Some(RawInsn {
                    off: 1,
                    ..mov32(3, 3)
                }), // v4 movsx32 (off = 1 is no plain mov32)
                Some(RawInsn {
                    imm: 1,
                    ..mov32(3, 3)
                }),
                Some(RawInsn {
                    opc: 0xb4, // mov32 r3, imm
                    ..mov32(3, 3)
                }),
            ];
            for next in not_zero_extending {
                let err = check(&op, next.as_ref()).unwrap_err();
                assert_eq!(err.mnemonic, name, "{next:?}");
                assert!(err.reason.contains("mov32 dst, dst"), "{}", err.reason);
            }
        }
    }

    #[test]
    fn the_following_mov32_does_not_excuse_v4_encodings() {
        // sdiv32 / smod32 are refused for their offset whatever follows.
        for opc in [0x3c, 0x94] {
            let op = RawInsn {
                off: 1,
                ..insn(opc, 0, 3)
            };
            assert!(check(&op, Some(&mov32(1, 1))).is_err());
        }
        // Only add/sub/mul need the pair: other 32-bit ops pass alone.
        for opc in [0x44, 0x54, 0x64, 0x74, 0x84, 0xa4, 0xbc, 0xc4, 0x34, 0x94] {
            assert_eq!(check(&insn(opc, 0, 1), None), Ok(()), "opcode {opc:#x}");
        }
    }
}
