//! Random SBPF V3 programs that the verifier accepts, for differential tests of the
//! interpreter against the JIT (and of the syscalls under both).
//!
//! A [`RandomProgram`] is a list of functions, each a list of abstract [`Op`]s: ALU (64- and
//! 32-bit), `lddw`, loads and stores on the stack, heap, input or any register, conditional
//! jumps (64- and 32-bit, forward and backward: loops end by compute exhaustion at worst),
//! internal `call`s and `callx` (recursion included: call depth is a fault too), syscalls with
//! well-formed or hostile arguments, and `exit`. Lowering clamps every field to what the
//! verifier accepts, so every value the strategy produces (and every shrunk value) is a valid
//! program: shrinking works on the ops themselves.
//!
//! Two profiles:
//! - [`Profile::Contract`]: only instructions `tos_loader::validate_executable` accepts (what a
//!   compiled contract can contain: 32-bit `add`/`sub`/`mul` each followed by the
//!   `mov32 dst, dst` that zero-extends its result, as the build writes them); such programs are wrapped in an ELF and go through the
//!   whole deploy and invoke pipeline ([`RandomProgram::elf`]).
//! - [`Profile::AnyV3`]: everything SBPF V3's `RequisiteVerifier` accepts, including 32-bit
//!   `add`/`sub`/`mul` (which sign-extend in V3); run with [`run_text`], which loads the raw
//!   bytecode directly.

use std::sync::OnceLock;

use proptest::prelude::*;
use solana_sbpf::{
    ebpf,
    elf::Executable,
    program::{FunctionRegistry, SBPFVersion},
    verifier::RequisiteVerifier,
};
use tos_program_runtime::{
    executor, ContractCall, Engine, InvokeContext, RuntimeEnvironment, TransactionContext,
};
use tos_storage::{Hash, Journal, MemoryStorage, StorageProvider};

use crate::{
    harness::{EngineRun, Status},
    report::EngineMismatch,
};

/// Which instructions a random program may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// What `tos_loader::validate_executable` accepts.
    Contract,
    /// What SBPF V3's `RequisiteVerifier` accepts.
    AnyV3,
}

/// A register or an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Reg(u8),
    Imm(i32),
}

/// Where a load or store points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// `r10`: the current stack frame is `[r10 - 4096, r10)`.
    Stack,
    /// `r9`, set to the heap's start by the entry function (unless a later op overwrote it).
    Heap,
    /// `r8`, set to the input's start by the entry function (read-only memory).
    Input,
    /// Whatever the register holds.
    Reg(u8),
}

/// An address for a syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ptr {
    /// `r10 + offset`.
    Stack(i16),
    Heap(u16),
    Input(u16),
    /// Any address (mostly unmapped or read-only).
    Addr(u64),
}

/// A syscall with its arguments set up first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sys {
    Log {
        msg: Ptr,
        len: u16,
    },
    StorageWrite {
        key: Ptr,
        key_len: u16,
        value: Ptr,
        value_len: u16,
    },
    StorageRead {
        key: Ptr,
        key_len: u16,
        out: Ptr,
        out_len: u16,
    },
    StorageDelete {
        key: Ptr,
        key_len: u16,
    },
    BlockHeight,
    GetBalance {
        account: Ptr,
    },
    Transfer {
        to: Ptr,
        amount: u64,
    },
    Memset {
        dst: Ptr,
        byte: u8,
        len: u16,
    },
    Memcpy {
        dst: Ptr,
        src: Ptr,
        len: u16,
    },
    Memcmp {
        a: Ptr,
        b: Ptr,
        len: u16,
    },
    ContractHash {
        out: Ptr,
    },
    /// Any registered syscall (by index), with the registers as they happen to be.
    Raw {
        which: u8,
    },
}

/// Where a jump goes, in ops of the same function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Skip this many following ops (clamped to the function's final exit).
    Forward(u8),
    /// Back this many ops (clamped to the function's first op): a loop.
    Backward(u8),
}

/// One abstract instruction (some lower to several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `op` is the operation's index in [`ALU_OPS`]; `wide` = 64-bit.
    Alu {
        op: u8,
        wide: bool,
        dst: u8,
        src: Operand,
    },
    Neg {
        wide: bool,
        dst: u8,
    },
    /// `le`/`be` with 16, 32 or 64 bits (`bits` is clamped).
    Endian {
        big: bool,
        bits: u8,
        dst: u8,
    },
    Lddw {
        dst: u8,
        imm: u64,
    },
    /// `size` is 0..=3 for 1, 2, 4, 8 bytes.
    Load {
        size: u8,
        dst: u8,
        base: Base,
        off: i16,
    },
    Store {
        size: u8,
        base: Base,
        off: i16,
        src: Operand,
    },
    /// `cond` is the condition's index in [`JUMP_CONDS`] (0 = unconditional).
    Jump {
        cond: u8,
        wide: bool,
        dst: u8,
        src: Operand,
        target: Target,
    },
    /// An internal call of function `function % count` (possibly itself: recursion).
    Call {
        function: u8,
    },
    /// `lddw reg, <function address>; callx reg`.
    CallX {
        function: u8,
        reg: u8,
    },
    /// `callx reg` with whatever the register holds (mostly not code: a fault).
    CallXAny {
        reg: u8,
    },
    Syscall(Sys),
    /// Returns from the current function, with `r0 = status` first if given.
    Exit {
        status: Option<i32>,
    },
}

/// ALU operations (high nibble of the opcode), `neg` and `end` excepted.
pub const ALU_OPS: [u8; 12] = [
    0x00, // add
    0x10, // sub
    0x20, // mul
    0x30, // div
    0x40, // or
    0x50, // and
    0x60, // lsh
    0x70, // rsh
    0x90, // mod
    0xa0, // xor
    0xb0, // mov
    0xc0, // arsh
];

/// Jump conditions (high nibble of the opcode); index 0 is `ja`.
pub const JUMP_CONDS: [u8; 12] = [
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
];

/// A random program: functions of ops; the first is the entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomProgram {
    pub profile: Profile,
    pub functions: Vec<Vec<Op>>,
    /// `r0` set by the entry function's final exit (`None`: whatever r0 holds).
    pub final_status: Option<i32>,
    /// Before its final exit the entry function stores r0–r9 (80 bytes) under a storage key,
    /// so the registers' final values are compared too, byte for byte.
    pub dump_registers: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Insn {
    opc: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    fn new(opc: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            opc,
            dst,
            src,
            off,
            imm,
        }
    }

    fn encode(self, out: &mut Vec<u8>) {
        out.push(self.opc);
        out.push((self.src << 4) | (self.dst & 0x0f));
        out.extend_from_slice(&self.off.to_le_bytes());
        out.extend_from_slice(&self.imm.to_le_bytes());
    }
}

/// A lowered slot: an instruction, or one whose field is known only once the layout is.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Insn(Insn),
    /// `lddw` second half.
    Upper(u32),
    /// Conditional/unconditional jump to op index `target` of the same function.
    Jump(Insn, usize),
    /// `call` of function index.
    Call(usize),
    /// `lddw reg, address of function` (two slots; this is the first).
    FunctionAddress(u8, usize),
    FunctionAddressUpper,
}

const HEAP: u64 = ebpf::MM_HEAP_START;
const INPUT: u64 = ebpf::MM_INPUT_START;

fn reg(r: u8) -> u8 {
    r % 11
}

fn dst_reg(r: u8) -> u8 {
    r % 10
}

fn lddw(dst: u8, imm: u64) -> [Slot; 2] {
    [
        Slot::Insn(Insn::new(ebpf::LD_DW_IMM, dst, 0, 0, imm as u32 as i32)),
        Slot::Upper((imm >> 32) as u32),
    ]
}

fn mov_imm(dst: u8, imm: i32) -> Slot {
    Slot::Insn(Insn::new(ebpf::MOV64_IMM, dst, 0, 0, imm))
}

fn pointer(dst: u8, ptr: Ptr, out: &mut Vec<Slot>) {
    match ptr {
        Ptr::Stack(off) => {
            out.push(Slot::Insn(Insn::new(ebpf::MOV64_REG, dst, 10, 0, 0)));
            out.push(Slot::Insn(Insn::new(
                ebpf::ADD64_IMM,
                dst,
                0,
                0,
                i32::from(off),
            )));
        }
        Ptr::Heap(off) => out.extend(lddw(dst, HEAP + u64::from(off))),
        Ptr::Input(off) => out.extend(lddw(dst, INPUT + u64::from(off))),
        Ptr::Addr(addr) => out.extend(lddw(dst, addr)),
    }
}

fn syscall_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(tos_syscalls::syscall_names)
}

fn call_syscall(name: &str) -> Slot {
    let hash = ebpf::hash_symbol_name(name.as_bytes());
    Slot::Insn(Insn::new(ebpf::CALL_IMM, 0, 0, 0, hash as i32))
}

fn lower_syscall(sys: Sys, out: &mut Vec<Slot>) {
    match sys {
        Sys::Log { msg, len } => {
            pointer(1, msg, out);
            out.push(mov_imm(2, i32::from(len)));
            out.push(call_syscall("tos_log"));
        }
        Sys::StorageWrite {
            key,
            key_len,
            value,
            value_len,
        } => {
            pointer(1, key, out);
            out.push(mov_imm(2, i32::from(key_len)));
            pointer(3, value, out);
            out.push(mov_imm(4, i32::from(value_len)));
            out.push(call_syscall("tos_storage_write"));
        }
        Sys::StorageRead {
            key,
            key_len,
            out: target,
            out_len,
        } => {
            pointer(1, key, out);
            out.push(mov_imm(2, i32::from(key_len)));
            pointer(3, target, out);
            out.push(mov_imm(4, i32::from(out_len)));
            out.push(call_syscall("tos_storage_read"));
        }
        Sys::StorageDelete { key, key_len } => {
            pointer(1, key, out);
            out.push(mov_imm(2, i32::from(key_len)));
            out.push(call_syscall("tos_storage_delete"));
        }
        Sys::BlockHeight => out.push(call_syscall("tos_get_block_height")),
        Sys::GetBalance { account } => {
            pointer(1, account, out);
            out.push(call_syscall("tos_get_balance"));
        }
        Sys::Transfer { to, amount } => {
            pointer(1, to, out);
            out.extend(lddw(2, amount));
            out.push(call_syscall("tos_transfer"));
        }
        Sys::Memset { dst, byte, len } => {
            pointer(1, dst, out);
            out.push(mov_imm(2, i32::from(byte)));
            out.push(mov_imm(3, i32::from(len)));
            out.push(call_syscall("tos_memset"));
        }
        Sys::Memcpy { dst, src, len } => {
            pointer(1, dst, out);
            pointer(2, src, out);
            out.push(mov_imm(3, i32::from(len)));
            out.push(call_syscall("tos_memcpy"));
        }
        Sys::Memcmp { a, b, len } => {
            pointer(1, a, out);
            pointer(2, b, out);
            out.push(mov_imm(3, i32::from(len)));
            out.push(call_syscall("tos_memcmp"));
        }
        Sys::ContractHash { out: target } => {
            pointer(1, target, out);
            out.push(call_syscall("tos_get_contract_hash"));
        }
        Sys::Raw { which } => {
            let names = syscall_names();
            out.push(call_syscall(names[usize::from(which) % names.len()]));
        }
    }
}

fn base_reg(base: Base) -> u8 {
    match base {
        Base::Stack => 10,
        Base::Heap => 9,
        Base::Input => 8,
        Base::Reg(r) => dst_reg(r),
    }
}

const SIZE_BITS: [u8; 4] = [ebpf::BPF_B, ebpf::BPF_H, ebpf::BPF_W, ebpf::BPF_DW];

impl RandomProgram {
    /// Lowers one op (targets still symbolic).
    fn lower_op(&self, op: Op, functions: usize, out: &mut Vec<Slot>) {
        match op {
            Op::Alu { op, wide, dst, src } => {
                let code = ALU_OPS[usize::from(op) % ALU_OPS.len()];
                // add32/sub32/mul32 sign-extend in V3, zero-extend in eBPF: the loader accepts
                // them in contracts only followed by `mov32 dst, dst`, as tos-vm's build
                // writes them (the 32-bit ALU route).
                let zero_extend = self.profile == Profile::Contract && !wide && code <= 0x20;
                let class = if wide {
                    ebpf::BPF_ALU64_STORE
                } else {
                    ebpf::BPF_ALU32_LOAD
                };
                let dst = dst_reg(dst);
                let insn = match src {
                    Operand::Reg(r) => Insn::new(code | ebpf::BPF_X | class, dst, reg(r), 0, 0),
                    Operand::Imm(mut imm) => {
                        let bits = if wide { 64 } else { 32 };
                        if matches!(code, 0x60 | 0x70 | 0xc0) {
                            imm = imm.rem_euclid(bits);
                        }
                        if matches!(code, 0x30 | 0x90) && imm == 0 {
                            imm = 1;
                        }
                        Insn::new(code | ebpf::BPF_K | class, dst, 0, 0, imm)
                    }
                };
                out.push(Slot::Insn(insn));
                if zero_extend {
                    out.push(Slot::Insn(Insn::new(ebpf::MOV32_REG, dst, dst, 0, 0)));
                }
            }
            Op::Neg { wide, dst } => {
                let opc = if wide { ebpf::NEG64 } else { ebpf::NEG32 };
                out.push(Slot::Insn(Insn::new(opc, dst_reg(dst), 0, 0, 0)));
            }
            Op::Endian { big, bits, dst } => {
                let opc = if big { ebpf::BE } else { ebpf::LE };
                let bits = [16, 32, 64][usize::from(bits) % 3];
                out.push(Slot::Insn(Insn::new(opc, dst_reg(dst), 0, 0, bits)));
            }
            Op::Lddw { dst, imm } => out.extend(lddw(dst_reg(dst), imm)),
            Op::Load {
                size,
                dst,
                base,
                off,
            } => {
                let opc = ebpf::BPF_LDX | ebpf::BPF_MEM | SIZE_BITS[usize::from(size) % 4];
                out.push(Slot::Insn(Insn::new(
                    opc,
                    dst_reg(dst),
                    base_reg(base),
                    off,
                    0,
                )));
            }
            Op::Store {
                size,
                base,
                off,
                src,
            } => {
                let size = SIZE_BITS[usize::from(size) % 4];
                let insn = match src {
                    Operand::Reg(r) => Insn::new(
                        ebpf::BPF_STX | ebpf::BPF_MEM | size,
                        base_reg(base),
                        reg(r),
                        off,
                        0,
                    ),
                    Operand::Imm(imm) => Insn::new(
                        ebpf::BPF_ST | ebpf::BPF_MEM | size,
                        base_reg(base),
                        0,
                        off,
                        imm,
                    ),
                };
                out.push(Slot::Insn(insn));
            }
            Op::Jump { .. } => unreachable!("jumps are lowered with their targets"),
            Op::Call { function } => out.push(Slot::Call(usize::from(function) % functions)),
            Op::CallX { function, reg } => {
                let reg = dst_reg(reg);
                out.push(Slot::FunctionAddress(
                    reg,
                    usize::from(function) % functions,
                ));
                out.push(Slot::FunctionAddressUpper);
                out.push(Slot::Insn(Insn::new(ebpf::CALL_REG, reg, 0, 0, 0)));
            }
            Op::CallXAny { reg } => {
                out.push(Slot::Insn(Insn::new(ebpf::CALL_REG, dst_reg(reg), 0, 0, 0)));
            }
            Op::Syscall(sys) => lower_syscall(sys, out),
            Op::Exit { status } => {
                if let Some(status) = status {
                    out.push(mov_imm(0, status));
                }
                out.push(Slot::Insn(Insn::new(ebpf::EXIT, 0, 0, 0, 0)));
            }
        }
    }

    /// Slots of one function: every op's slots, then the final exit. Returns the slots and
    /// the slot index (within the function) where each op starts, the final exit last.
    fn lower_function(&self, index: usize, ops: &[Op]) -> (Vec<Slot>, Vec<usize>) {
        let functions = self.functions.len().max(1);
        let mut slots = Vec::new();
        let mut starts = Vec::with_capacity(ops.len() + 1);
        if index == 0 {
            // r9 = heap, r8 = input: the bases of heap and input accesses.
            slots.extend(lddw(9, HEAP));
            slots.push(Slot::Insn(Insn::new(ebpf::MOV64_REG, 8, 1, 0, 0)));
        }
        let last = ops.len(); // the final exit's op index
        for (i, op) in ops.iter().enumerate() {
            starts.push(slots.len());
            match *op {
                Op::Jump {
                    cond,
                    wide,
                    dst,
                    src,
                    target,
                } => {
                    let cond = JUMP_CONDS[usize::from(cond) % JUMP_CONDS.len()];
                    let target = match target {
                        Target::Forward(skip) => (i + 1 + usize::from(skip)).min(last),
                        Target::Backward(back) => i.saturating_sub(usize::from(back)),
                    };
                    let insn = if cond == 0 {
                        Insn::new(ebpf::JA, 0, 0, 0, 0)
                    } else {
                        let class = if wide {
                            ebpf::BPF_JMP64
                        } else {
                            ebpf::BPF_JMP32
                        };
                        match src {
                            Operand::Reg(r) => {
                                Insn::new(cond | ebpf::BPF_X | class, dst_reg(dst), reg(r), 0, 0)
                            }
                            Operand::Imm(imm) => {
                                Insn::new(cond | ebpf::BPF_K | class, dst_reg(dst), 0, 0, imm)
                            }
                        }
                    };
                    slots.push(Slot::Jump(insn, target));
                }
                other => self.lower_op(other, functions, &mut slots),
            }
        }
        starts.push(slots.len());
        if index == 0 && self.dump_registers {
            for r in 0..10u8 {
                let off = -80 + 8 * i16::from(r);
                slots.push(Slot::Insn(Insn::new(ebpf::ST_DW_REG, 10, r, off, 0)));
            }
            lower_syscall(
                Sys::StorageWrite {
                    key: Ptr::Stack(-88),
                    key_len: 8,
                    value: Ptr::Stack(-80),
                    value_len: 80,
                },
                &mut slots,
            );
        }
        let status = if index == 0 { self.final_status } else { None };
        self.lower_op(Op::Exit { status }, functions, &mut slots);
        (slots, starts)
    }

    /// The bytecode; the entry point is the first instruction.
    pub fn text(&self) -> Vec<u8> {
        let empty = [Vec::new()];
        let functions: &[Vec<Op>] = if self.functions.is_empty() {
            &empty
        } else {
            &self.functions
        };
        let lowered: Vec<(Vec<Slot>, Vec<usize>)> = functions
            .iter()
            .enumerate()
            .map(|(i, ops)| self.lower_function(i, ops))
            .collect();
        let mut function_start = Vec::with_capacity(lowered.len());
        let mut at = 0usize;
        for (slots, _) in &lowered {
            function_start.push(at);
            at += slots.len();
        }
        let mut text = Vec::with_capacity(at * ebpf::INSN_SIZE);
        for (f, (slots, starts)) in lowered.iter().enumerate() {
            let base = function_start[f];
            for (i, slot) in slots.iter().enumerate() {
                let pc = base + i;
                let insn = match *slot {
                    Slot::Insn(insn) => insn,
                    Slot::Upper(imm) => Insn::new(0, 0, 0, 0, imm as i32),
                    Slot::Jump(mut insn, target) => {
                        let target_pc = base + starts[target];
                        insn.off = (target_pc as i64 - pc as i64 - 1) as i16;
                        insn
                    }
                    Slot::Call(function) => {
                        let mut target_pc = function_start[function % function_start.len()];
                        // `call -1` (a call of itself) is LLVM's unresolved-call placeholder:
                        // the loader refuses it, so contracts recurse through the entry instead.
                        if target_pc == pc && self.profile == Profile::Contract {
                            target_pc = 0;
                        }
                        Insn::new(
                            ebpf::CALL_IMM,
                            0,
                            1,
                            0,
                            (target_pc as i64 - pc as i64 - 1) as i32,
                        )
                    }
                    Slot::FunctionAddress(reg, function) => {
                        let address = ebpf::MM_BYTECODE_START
                            + (function_start[function % function_start.len()] * ebpf::INSN_SIZE)
                                as u64;
                        Insn::new(ebpf::LD_DW_IMM, reg, 0, 0, address as u32 as i32)
                    }
                    Slot::FunctionAddressUpper => {
                        Insn::new(0, 0, 0, 0, (ebpf::MM_BYTECODE_START >> 32) as u32 as i32)
                    }
                };
                insn.encode(&mut text);
            }
        }
        text
    }

    /// The program as a deployable SBPF V3 executable.
    pub fn elf(&self) -> Vec<u8> {
        crate::elf::wrap_text(&self.text(), 0)
    }

    /// Number of 8-byte instruction slots.
    pub fn len(&self) -> usize {
        self.text().len() / ebpf::INSN_SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// ---- strategies ---------------------------------------------------------------------------

fn any_reg() -> impl Strategy<Value = u8> {
    prop_oneof![8 => 0u8..=7, 1 => 8u8..=9, 1 => Just(10u8)]
}

fn dst() -> impl Strategy<Value = u8> {
    prop_oneof![9 => 0u8..=7, 1 => 8u8..=9]
}

fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -16i32..=16,
        3 => any::<i32>(),
        1 => prop::sample::select(vec![i32::MIN, i32::MAX, -1, 0x7fff_ffff, 31, 32, 63, 64]),
    ]
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        any_reg().prop_map(Operand::Reg),
        imm().prop_map(Operand::Imm)
    ]
}

fn base() -> impl Strategy<Value = (Base, i16)> {
    prop_oneof![
        4 => (-4104i16..=8).prop_map(|off| (Base::Stack, off)),
        3 => (-8i16..=i16::MAX).prop_map(|off| (Base::Heap, off)),
        1 => (-8i16..=80).prop_map(|off| (Base::Input, off)),
        1 => (dst(), any::<i16>()).prop_map(|(r, off)| (Base::Reg(r), off)),
    ]
}

fn ptr() -> impl Strategy<Value = Ptr> {
    prop_oneof![
        4 => (-4200i16..=16).prop_map(Ptr::Stack),
        3 => (0u16..=33_000).prop_map(Ptr::Heap),
        1 => (0u16..=80).prop_map(Ptr::Input),
        1 => prop_oneof![
            Just(0u64),
            Just(8u64),
            Just(u64::MAX - 3),
            Just(ebpf::MM_BYTECODE_START),
            Just(ebpf::MM_STACK_START - 1),
            any::<u64>(),
        ]
        .prop_map(Ptr::Addr),
    ]
}

fn small_len() -> impl Strategy<Value = u16> {
    prop_oneof![
        6 => 0u16..=64,
        2 => 65u16..=600,
        1 => prop::sample::select(vec![255u16, 256, 257, 4096, 10_000, 10_001, 33_000, u16::MAX]),
    ]
}

fn sys() -> impl Strategy<Value = Sys> {
    prop_oneof![
        3 => (ptr(), small_len()).prop_map(|(msg, len)| Sys::Log { msg, len }),
        3 => (ptr(), small_len(), ptr(), small_len()).prop_map(|(key, key_len, value, value_len)| {
            Sys::StorageWrite { key, key_len, value, value_len }
        }),
        2 => (ptr(), small_len(), ptr(), small_len()).prop_map(|(key, key_len, out, out_len)| {
            Sys::StorageRead { key, key_len, out, out_len }
        }),
        1 => (ptr(), small_len()).prop_map(|(key, key_len)| Sys::StorageDelete { key, key_len }),
        1 => Just(Sys::BlockHeight),
        1 => ptr().prop_map(|account| Sys::GetBalance { account }),
        2 => (ptr(), prop_oneof![0u64..=2_000, any::<u64>()])
            .prop_map(|(to, amount)| Sys::Transfer { to, amount }),
        1 => (ptr(), any::<u8>(), small_len()).prop_map(|(dst, byte, len)| Sys::Memset { dst, byte, len }),
        1 => (ptr(), ptr(), small_len()).prop_map(|(dst, src, len)| Sys::Memcpy { dst, src, len }),
        1 => (ptr(), ptr(), small_len()).prop_map(|(a, b, len)| Sys::Memcmp { a, b, len }),
        1 => ptr().prop_map(|out| Sys::ContractHash { out }),
        1 => any::<u8>().prop_map(|which| Sys::Raw { which }),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => (0u8..=12).prop_map(Target::Forward),
        1 => (0u8..=12).prop_map(Target::Backward),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        16 => (0u8..12, any::<bool>(), dst(), operand())
            .prop_map(|(op, wide, dst, src)| Op::Alu { op, wide, dst, src }),
        1 => (any::<bool>(), dst()).prop_map(|(wide, dst)| Op::Neg { wide, dst }),
        1 => (any::<bool>(), 0u8..3, dst()).prop_map(|(big, bits, dst)| Op::Endian { big, bits, dst }),
        2 => (dst(), any::<u64>()).prop_map(|(dst, imm)| Op::Lddw { dst, imm }),
        5 => (0u8..4, dst(), base()).prop_map(|(size, dst, (base, off))| Op::Load { size, dst, base, off }),
        5 => (0u8..4, base(), operand())
            .prop_map(|(size, (base, off), src)| Op::Store { size, base, off, src }),
        6 => (0u8..12, any::<bool>(), dst(), operand(), target())
            .prop_map(|(cond, wide, dst, src, target)| Op::Jump { cond, wide, dst, src, target }),
        2 => any::<u8>().prop_map(|function| Op::Call { function }),
        1 => (any::<u8>(), dst()).prop_map(|(function, reg)| Op::CallX { function, reg }),
        1 => dst().prop_map(|reg| Op::CallXAny { reg }),
        4 => sys().prop_map(Op::Syscall),
        1 => prop::option::of(imm()).prop_map(|status| Op::Exit { status }),
    ]
}

/// Random programs of `profile`: 1 to 4 functions of up to `max_ops` ops each.
pub fn program(profile: Profile, max_ops: usize) -> impl Strategy<Value = RandomProgram> {
    (
        prop::collection::vec(prop::collection::vec(op(), 0..=max_ops), 1..=4),
        prop_oneof![4 => Just(Some(0)), 1 => prop::option::of(imm())],
        any::<bool>(),
    )
        .prop_map(
            move |(functions, final_status, dump_registers)| RandomProgram {
                profile,
                functions,
                final_status,
                dump_registers,
            },
        )
}

// ---- running raw bytecode -----------------------------------------------------------------

fn environment() -> RuntimeEnvironment {
    static ENVIRONMENT: OnceLock<RuntimeEnvironment> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(tos_syscalls::runtime_environment)
        .clone()
}

/// What both engines agreed on when running raw bytecode.
#[derive(Debug)]
pub struct Agreement {
    pub status: Status,
    pub compute_used: u64,
    pub logs: usize,
    pub journal: usize,
}

/// Loads raw V3 bytecode (entry at its first instruction) with every syscall registered,
/// verifies it with `RequisiteVerifier`, compiles it and runs it with `input` under the
/// interpreter and the JIT from the same `state`, as contract `contract`. `Err` describes a
/// program the verifier or the JIT refused, or a disagreement between the engines.
pub fn run_text(
    text: &[u8],
    input: &[u8],
    budget: u64,
    contract: Hash,
    state: &MemoryStorage,
) -> Result<Agreement, String> {
    let executable = Executable::new_from_text_bytes(
        text,
        environment(),
        SBPFVersion::V3,
        FunctionRegistry::default(),
    )
    .map_err(|e| format!("load: {e}"))?;
    executable
        .verify::<RequisiteVerifier>()
        .map_err(|e| format!("verify: {e}"))?;
    executor::compile(&executable).map_err(|e| format!("compile: {e}"))?;
    let block = crate::harness::default_block();
    let transaction = TransactionContext {
        hash: crate::harness::DEFAULT_TX_HASH,
        sender: crate::harness::DEFAULT_SENDER,
    };
    let mut runs = Vec::new();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let mut context =
            InvokeContext::new(Journal::new(state), &block, &transaction, contract, budget);
        let execution = executor::execute(&executable, input, &mut context, engine);
        let finished = context.finish();
        let success = matches!(execution.result, Ok(0));
        let (changes, journal) = if success {
            let (changes, log) = finished.journal.into_parts();
            (changes, log.entries())
        } else {
            Default::default()
        };
        let mut after = state.clone();
        if success {
            after.commit(&changes).map_err(|e| format!("commit: {e}"))?;
        }
        runs.push(EngineRun {
            engine,
            status: Status::from_result(execution.result),
            compute_used: execution.compute_used,
            logs: finished.logs,
            journal,
            changes,
            events: if success { finished.events } else { Vec::new() },
            return_data: finished.return_data,
            after,
        });
    }
    let call = ContractCall::new(contract, input.to_vec());
    if let Some(mismatch) = EngineMismatch::compare(&call, &runs[0], &runs[1], &Default::default())
    {
        return Err(mismatch.to_string());
    }
    let first = runs.swap_remove(0);
    Ok(Agreement {
        status: first.status,
        compute_used: first.compute_used,
        logs: first.logs.len(),
        journal: first.journal.len(),
    })
}

/// Random raw-bytecode state for [`run_text`]: the contract funded, a few keys stored.
pub fn seeded_state(contract: Hash) -> MemoryStorage {
    let mut state = MemoryStorage::default();
    state.set_balance(contract, tos_storage::NATIVE_ASSET, 1_000_000);
    for key in [&b""[..], b"\0", b"k", b"\0\0\0\0\0\0\0\0"] {
        state.set_storage(contract, key, Some(b"stored value"));
    }
    state
}
