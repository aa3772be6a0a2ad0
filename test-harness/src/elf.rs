//! Hand-made contracts: a minimal SBPF V3 ELF around raw bytecode, and solana-sbpf's assembler
//! for writing small test programs as text.
//!
//! ```
//! use tos_test_harness::{code_load_cost, code_load_size, elf, Check, Harness};
//!
//! let program = elf::assemble("mov64 r0, 7\nexit").unwrap();
//! Harness::new()
//!     .deploy(&program)
//!     .invoke(b"")
//!     // Loading the code (the transaction's first run of it) and 2 instructions.
//!     .expect(&[Check::error(7), Check::compute_units(code_load_cost(code_load_size(&program)) + 2)]);
//! ```

use solana_sbpf::{assembler, ebpf};
use tos_program_runtime::InvokeContext;

const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const ET_EXEC: u16 = 2;
const EM_BPF: u16 = 247;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
/// `e_flags` of an SBPF V3 executable.
const E_FLAGS_V3: u32 = 3;

/// The smallest executable the strict V3 parser (and `tos_loader::validate_executable`)
/// accepts: a file header, one `PF_X` program header at `MM_BYTECODE_START`, the bytecode.
/// No read-only data, no section headers. `entry_pc` is in instruction slots.
pub fn wrap_text(text: &[u8], entry_pc: usize) -> Vec<u8> {
    let text_offset = EHDR_SIZE + PHDR_SIZE;
    let mut out = Vec::with_capacity(text_offset as usize + text.len());
    // e_ident: magic, 64-bit, little endian, version 1, System V ABI, padding.
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&ET_EXEC.to_le_bytes());
    out.extend_from_slice(&EM_BPF.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // e_version
    let entry = ebpf::MM_BYTECODE_START + (entry_pc * ebpf::INSN_SIZE) as u64;
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&EHDR_SIZE.to_le_bytes()); // e_phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    out.extend_from_slice(&E_FLAGS_V3.to_le_bytes());
    out.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes()); // e_ehsize
    out.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes()); // e_phentsize
    out.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    out.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    out.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    out.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
                                                // The bytecode segment.
    let len = text.len() as u64;
    out.extend_from_slice(&PT_LOAD.to_le_bytes());
    out.extend_from_slice(&PF_X.to_le_bytes());
    out.extend_from_slice(&text_offset.to_le_bytes()); // p_offset
    out.extend_from_slice(&ebpf::MM_BYTECODE_START.to_le_bytes()); // p_vaddr
    out.extend_from_slice(&ebpf::MM_BYTECODE_START.to_le_bytes()); // p_paddr
    out.extend_from_slice(&len.to_le_bytes()); // p_filesz
    out.extend_from_slice(&len.to_le_bytes()); // p_memsz
    out.extend_from_slice(&(ebpf::INSN_SIZE as u64).to_le_bytes()); // p_align
    out.extend_from_slice(text);
    out
}

/// Assembles solana-sbpf assembly (V3: `call label` is pc-relative, `syscall tos_log` a static
/// syscall) into bytecode; the program starts at its first instruction.
pub fn assemble_text(source: &str) -> Result<Vec<u8>, String> {
    let executable =
        assembler::assemble::<InvokeContext<'static>>(source, tos_syscalls::runtime_environment())?;
    Ok(executable.get_text_bytes().1.to_vec())
}

/// Assembles `source` into a deployable V3 executable.
pub fn assemble(source: &str) -> Result<Vec<u8>, String> {
    Ok(wrap_text(&assemble_text(source)?, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_programs_pass_the_deploy_check() {
        let elf = assemble("mov64 r0, 0\nsyscall tos_get_block_height\nexit").unwrap();
        let names = tos_syscalls::syscall_names();
        let info = tos_loader::validate_executable(&elf, &names).unwrap();
        assert_eq!(info.instruction_count, 3);
        assert_eq!(info.syscalls_used, vec!["tos_get_block_height".to_string()]);
    }
}
