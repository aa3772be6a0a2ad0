//! `tos-loader`: tos-vm's own link step and deploy-time check for SBPF V3 executables.
//!
//! Stock `ld.lld` refuses BPF objects, so contracts compiled with stock clang
//! (`clang-19 -target bpf -mcpu=v2 -O2 -ffreestanding -c`) or with rustc (its `.s` assembled by
//! `clang-19 -target bpf -mcpu=v2 -c`) are linked here:
//!
//! - [`link`] merges the code sections (`.text*`, any executable section) of one or more
//!   relocatable `EM_BPF` objects into one bytecode segment and the read-only data (`.rodata*`,
//!   `.data.rel.ro*`) into one read-only segment whose first bytes are reserved, so that address 0
//!   (NULL) never points at a real object. It applies `R_BPF_64_64` (lddw), `R_BPF_64_ABS64` /
//!   `R_BPF_64_ABS32` (data words: pointer and function-pointer tables) and `R_BPF_64_32` (calls:
//!   internal calls become pc-relative `call` with src=1, calls to undefined names from the
//!   allowed syscall list become `call` src=0 with `imm = hash_symbol_name(name)`; calls to the
//!   C memory functions `memcpy`/`memmove`/`memset`/`memcmp`/`bcmp` are bound to the
//!   `tos_mem*` syscalls of [`BUILTIN_ALIASES`] when those are allowed), refuses
//!   writable data and every instruction whose meaning in SBPF V3 differs from eBPF, runs
//!   solana-sbpf's verifiers, and writes the strict SBPF V3 ELF layout that
//!   `solana_sbpf::elf::Executable::load` accepts (plus a symbol table for tools).
//! - [`validate_executable`] is the deploy-time check of any finished executable, ours or
//!   hand-made.
//! - The contract's interface (docs/interface.md) rides in a non-loaded `.tos.interface`
//!   section: [`link`] carries it from an object, [`link_with_interface`] embeds a JSON file,
//!   both validate it, and [`interface_of`] reads it back. It is never mapped into VM memory.
//!
//! Addresses in the linked program: read-only data at `0..` (`MM_RODATA_START`), code at
//! `1<<32..` (`MM_BYTECODE_START`). A function pointer is `1<<32 + 8 * pc`, which is what a V3
//! `callx` expects.
//!
//! ```no_run
//! use tos_loader::{link, validate_executable, LinkOptions, ObjectFile};
//!
//! // contract.o: clang-19 -target bpf -mcpu=v2 -O2 -ffreestanding -c contract.c
//! let bytes = std::fs::read("contract.o")?;
//! let syscalls = ["tos_log"];
//! let elf = link(
//!     &[ObjectFile { name: "contract.o", bytes: &bytes }],
//!     &LinkOptions { entry_symbol: "entrypoint", syscalls: &syscalls },
//! )?;
//! let info = validate_executable(&elf, &syscalls)?;
//! assert_eq!(info.sbpf_version, 3);
//! println!("{} instructions, entry at pc {}", info.instruction_count, info.entry_pc);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod asmpass;
mod bytes;
mod error;
mod exe;
mod input;
mod insn;
mod irpass;
mod link;
mod textmap;
pub mod toolchain;
mod validate;

use std::collections::HashMap;

pub use error::{LoaderError, Location};
pub use link::{BUILTIN_ALIASES, RODATA_NULL_GUARD};
/// The interface format the `.tos.interface` section holds (docs/interface.md).
pub use tos_abi::interface::{self, Interface};

/// Largest executable [`link`] writes and [`validate_executable`] accepts, in bytes.
pub const MAX_ELF_SIZE: usize = 1024 * 1024;

/// Largest program, in 8-byte instruction slots (an `lddw` takes two).
pub const MAX_INSTRUCTIONS: usize = 65_536;

/// One relocatable input object.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFile<'a> {
    /// Name used in error messages (usually the file name).
    pub name: &'a str,
    /// The ELF bytes.
    pub bytes: &'a [u8],
}

/// What to link.
#[derive(Debug, Clone, Copy)]
pub struct LinkOptions<'a> {
    /// Global function the program starts at (usually `"entrypoint"`).
    pub entry_symbol: &'a str,
    /// Names an undefined function may have: calls to them become syscalls.
    pub syscalls: &'a [&'a str],
}

/// Summary of a validated executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutableInfo {
    /// SBPF version from `e_flags` (always 3).
    pub sbpf_version: u32,
    /// Size of the bytecode segment.
    pub text_bytes: usize,
    /// Where the bytecode starts in the file: `elf[text_offset..][..text_bytes]` is the text
    /// the verifiers passed (a runtime that loads the same bytes need not verify them again).
    pub text_offset: usize,
    /// Size of the read-only data segment (0 if there is none).
    pub rodata_bytes: usize,
    /// Instruction slots (8 bytes each; an `lddw` takes two).
    pub instruction_count: usize,
    /// Entry point, in instruction slots from the start of the bytecode.
    pub entry_pc: usize,
    /// Names of the syscalls the program calls, sorted, without repeats.
    pub syscalls_used: Vec<String>,
    /// Function symbols (name, pc) from the symbol table, sorted by pc; empty when the
    /// executable carries no symbol table.
    pub functions: Vec<(String, usize)>,
    /// The contract's interface (the validated `.tos.interface` section), if it has one.
    pub interface: Option<Interface>,
}

/// Links relocatable BPF objects into an SBPF V3 executable.
///
/// See the crate documentation for what is accepted. The result always passes
/// [`validate_executable`] with the same syscall list.
pub fn link(objects: &[ObjectFile<'_>], options: &LinkOptions<'_>) -> Result<Vec<u8>, LoaderError> {
    link::link(objects, options, None)
}

/// [`link`], embedding `interface` (the JSON of docs/interface.md, e.g. a C contract's
/// `interface.json`; `name` is used in messages) as the executable's `.tos.interface` section.
///
/// The JSON is validated first ([`LoaderError::InvalidInterface`] names the problem). An input
/// object that already carries a `.tos.interface` section (the Rust SDK's `#[contract]`) is
/// carried the same way by [`link`]; giving both is refused.
pub fn link_with_interface(
    objects: &[ObjectFile<'_>],
    options: &LinkOptions<'_>,
    name: &str,
    interface: &[u8],
) -> Result<Vec<u8>, LoaderError> {
    link::link(objects, options, Some((name, interface)))
}

/// The validated interface of an executable (`Ok(None)` when it carries none).
///
/// Reads the `.tos.interface` section after the strict V3 header check; the code itself is not
/// verified here (deploy did that: [`validate_executable`] refuses a bad interface too).
pub fn interface_of(elf: &[u8]) -> Result<Option<Interface>, LoaderError> {
    if elf.len() > MAX_ELF_SIZE {
        return Err(LoaderError::TooLarge {
            size: elf.len(),
            max: MAX_ELF_SIZE,
        });
    }
    exe::parse(elf)?;
    match exe::interface_section(elf)? {
        Some(json) => Ok(Some(Interface::parse(json)?)),
        None => Ok(None),
    }
}

/// Deploy-time check of a finished executable (ours or hand-made).
///
/// Checks: size ≤ [`MAX_ELF_SIZE`]; `e_flags == 3` (SBPF V3); the strict V3 layout (file header,
/// then one `PF_X` or a `PF_R` + `PF_X` `PT_LOAD` program header, segments contiguous right after
/// them at vaddr 0 and 1<<32, sizes multiples of 8, entry on an instruction of the bytecode);
/// at most [`MAX_INSTRUCTIONS`] slots; every instruction means the same in SBPF V3 as in eBPF;
/// solana-sbpf's `RequisiteVerifier` and `LocalVerifier`; every `call` with src=0 is the hash of
/// a name in `syscalls` and every internal `call` lands on an instruction; and finally
/// solana-sbpf's own `Executable::load` accepts the bytes.
///
/// A `.tos.interface` section, if present, must be a valid interface (docs/interface.md) in a
/// well-formed, non-loaded section ([`LoaderError::InvalidInterface`],
/// [`LoaderError::InterfaceSection`]); an executable without one is valid.
///
/// Stricter than solana-sbpf in two places: exactly 1 or 2 program headers, and `e_type` must
/// be `ET_EXEC` or `ET_DYN`. A section header table is optional; function names are read from
/// it when it is readable.
pub fn validate_executable(elf: &[u8], syscalls: &[&str]) -> Result<ExecutableInfo, LoaderError> {
    validate::validate(elf, syscalls)
}

/// Validates `elf`, then disassembles it with solana-sbpf's static analysis (function names from
/// the symbol table, syscall names from `syscalls`). A debugging aid.
pub fn disassemble(elf: &[u8], syscalls: &[&str]) -> Result<String, LoaderError> {
    validate::disassemble(elf, syscalls)
}

/// Syscall hash → name, refusing two names with the same hash.
pub(crate) fn syscall_table<'s>(
    syscalls: &[&'s str],
) -> Result<HashMap<u32, &'s str>, LoaderError> {
    let mut table: HashMap<u32, &'s str> = HashMap::with_capacity(syscalls.len());
    for name in syscalls {
        let hash = solana_sbpf::ebpf::hash_symbol_name(name.as_bytes());
        if let Some(first) = table.insert(hash, name) {
            if first != *name {
                return Err(LoaderError::SyscallHashCollision {
                    first: first.to_string(),
                    second: name.to_string(),
                    hash,
                });
            }
        }
    }
    Ok(table)
}
