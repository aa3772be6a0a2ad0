//! Deploy-time validation of finished executables, and the solana-sbpf cross-checks.

use std::ptr::NonNull;
use std::sync::Arc;

use solana_sbpf::{
    elf::Executable,
    memory_region::MemoryMapping,
    program::{BuiltinProgram, FunctionRegistry, SBPFVersion},
    verifier::{LocalVerifier, RequisiteVerifier, Verifier, VerifierError},
    vm::{Config, ContextObject},
};

use crate::bytes::RawInsn;
use crate::error::LoaderError;
use crate::exe;
use crate::insn::{self, LDDW};
use crate::link::check_calls;
use crate::textmap::{CodeRange, TextMap};
use crate::{syscall_table, ExecutableInfo, MAX_ELF_SIZE, MAX_INSTRUCTIONS};

/// Context object for loading only: the loader never runs a program, so nothing here is used.
pub(crate) struct LoadOnly;

impl ContextObject for LoadOnly {
    fn consume(&mut self, _amount: u64) {}
    fn get_remaining(&self) -> u64 {
        0
    }
    fn active_mapping_ptr(&mut self) -> NonNull<MemoryMapping> {
        // Never dereferenced: executables loaded with this context are never executed.
        NonNull::dangling()
    }
}

solana_sbpf::declare_builtin_function!(
    /// Placeholder syscall so the disassembler can print syscall names; never executed.
    NamedSyscall,
    fn rust(
        _vm: &mut LoadOnly,
        _a: u64,
        _b: u64,
        _c: u64,
        _d: u64,
        _e: u64,
    ) -> Result<u64, std::convert::Infallible> {
        Ok(0)
    }
);

/// A config that enables exactly SBPF V3.
pub(crate) fn v3_config(labels: bool) -> Config {
    Config {
        enabled_sbpf_versions: SBPFVersion::V3..=SBPFVersion::V3,
        enable_symbol_and_section_labels: labels,
        ..Config::default()
    }
}

pub(crate) fn validate(elf: &[u8], syscalls: &[&str]) -> Result<ExecutableInfo, LoaderError> {
    if elf.len() > MAX_ELF_SIZE {
        return Err(LoaderError::TooLarge {
            size: elf.len(),
            max: MAX_ELF_SIZE,
        });
    }
    let table = syscall_table(syscalls)?;
    let parsed = exe::parse(elf)?;
    let count = parsed.text.len() / 8;
    if count == 0 {
        return Err(LoaderError::EmptyProgram);
    }
    if count > MAX_INSTRUCTIONS {
        return Err(LoaderError::TooManyInstructions {
            count,
            max: MAX_INSTRUCTIONS,
        });
    }
    let map = TextMap {
        ranges: vec![CodeRange {
            start: 0,
            len: parsed.text.len() as u64,
            object: "<executable>".to_string(),
            section: ".text".to_string(),
            functions: parsed
                .functions
                .iter()
                .map(|(name, pc, size)| ((*pc as u64).saturating_mul(8), *size, name.clone()))
                .collect(),
        }],
    };

    // SBPF-meaning check, and where instructions start.
    let mut starts = vec![false; count];
    let mut pc = 0;
    while pc < count {
        let Some(insn) = RawInsn::at(parsed.text, pc) else {
            break;
        };
        if let Some(s) = starts.get_mut(pc) {
            *s = true;
        }
        let next = RawInsn::at(parsed.text, pc + 1);
        if let Err(refusal) = insn::check(&insn, next.as_ref()) {
            return Err(LoaderError::UnsupportedInstruction {
                at: map.locate_pc(pc),
                mnemonic: refusal.mnemonic,
                reason: refusal.reason,
            });
        }
        if insn.opc == LDDW && pc + 1 >= count {
            return Err(LoaderError::UnsupportedInstruction {
                at: map.locate_pc(pc),
                mnemonic: "lddw".to_string(),
                reason: "the 16-byte lddw is cut off by the end of the program".to_string(),
            });
        }
        pc += if insn.opc == LDDW { 2 } else { 1 };
    }
    if !starts.get(parsed.entry_pc).copied().unwrap_or(false) {
        return Err(LoaderError::invalid(format!(
            "entry point pc {} is the second half of an lddw",
            parsed.entry_pc
        )));
    }
    let syscalls_used = check_calls(parsed.text, &table, &map)?;
    run_verifiers(parsed.text, syscalls, &map)?;
    sbpf_load(elf)?;
    let interface = match exe::interface_section(elf)? {
        Some(json) => Some(tos_abi::interface::Interface::parse(json)?),
        None => None,
    };

    let mut functions: Vec<(String, usize)> = parsed
        .functions
        .iter()
        .map(|(name, pc, _)| (name.clone(), *pc))
        .collect();
    functions.dedup();
    Ok(ExecutableInfo {
        sbpf_version: exe::E_FLAGS_V3,
        text_bytes: parsed.text.len(),
        // `parsed.text` is a slice of `elf`.
        text_offset: (parsed.text.as_ptr() as usize).saturating_sub(elf.as_ptr() as usize),
        rodata_bytes: parsed.rodata.len(),
        instruction_count: count,
        entry_pc: parsed.entry_pc,
        syscalls_used,
        functions,
        interface,
    })
}

/// Loads the executable with solana-sbpf's own strict parser (V3 only).
pub(crate) fn sbpf_load(elf: &[u8]) -> Result<Executable<LoadOnly>, LoaderError> {
    let loader = Arc::new(BuiltinProgram::new_loader(v3_config(false)));
    Executable::<LoadOnly>::load(elf, loader).map_err(|e| LoaderError::SbpfLoad {
        message: e.to_string(),
    })
}

/// The pc a verifier error points at, if any.
fn verifier_pc(e: &VerifierError) -> Option<usize> {
    use VerifierError as V;
    match *e {
        V::DivisionByZero(pc)
        | V::UnsupportedLEBEArgument(pc)
        | V::IncompleteLDDW(pc)
        | V::InfiniteLoop(pc)
        | V::JumpOutOfCode(_, pc)
        | V::JumpToMiddleOfLDDW(_, pc)
        | V::InvalidSourceRegister(pc)
        | V::CannotWriteR10(pc)
        | V::InvalidDestinationRegister(pc)
        | V::UnknownOpCode(_, pc)
        | V::ShiftWithOverflow(_, _, pc)
        | V::InvalidRegister(pc)
        | V::InvalidFunction(pc)
        | V::UnalignedImmediate(pc) => Some(pc),
        _ => None,
    }
}

/// solana-sbpf's RequisiteVerifier and LocalVerifier on the final text, for SBPF V3, with the
/// allowed syscalls as the registry.
pub(crate) fn run_verifiers(
    text: &[u8],
    syscalls: &[&str],
    map: &TextMap,
) -> Result<(), LoaderError> {
    let mut registry = FunctionRegistry::<usize>::default();
    for (i, name) in syscalls.iter().enumerate() {
        let hash = solana_sbpf::ebpf::hash_symbol_name(name.as_bytes());
        // Collisions were rejected by `syscall_table`; duplicates of one name are harmless.
        let _ = registry.register_function(hash, name.as_bytes(), i);
    }
    let wrap = |verifier: &str, e: VerifierError| LoaderError::Verifier {
        at: map.locate_pc(verifier_pc(&e).unwrap_or(0)),
        verifier: verifier.to_string(),
        message: e.to_string(),
    };
    RequisiteVerifier::verify(text, SBPFVersion::V3, &registry)
        .map_err(|e| wrap("RequisiteVerifier", e))?;
    LocalVerifier::verify(text, SBPFVersion::V3, &registry)
        .map_err(|e| wrap("LocalVerifier", e))?;
    Ok(())
}

/// Disassembly via solana-sbpf's static analysis (after validation).
pub(crate) fn disassemble(elf: &[u8], syscalls: &[&str]) -> Result<String, LoaderError> {
    validate(elf, syscalls)?;
    let mut loader = BuiltinProgram::<LoadOnly>::new_loader(v3_config(true));
    for name in syscalls {
        loader
            .register_function(name, (
                <NamedSyscall as solana_sbpf::program::BuiltinFunctionDefinition<LoadOnly>>::vm,
                <NamedSyscall as solana_sbpf::program::BuiltinFunctionDefinition<LoadOnly>>::codegen,
            ))
            .map_err(|e| LoaderError::SbpfLoad {
                message: format!("registering syscall `{name}`: {e}"),
            })?;
    }
    let executable =
        Executable::<LoadOnly>::load(elf, Arc::new(loader)).map_err(|e| LoaderError::SbpfLoad {
            message: e.to_string(),
        })?;
    // The static analysis is only run on validated programs; it is a debugging aid, so guard
    // against panics in it anyway.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let analysis = solana_sbpf::static_analysis::Analysis::from_executable(&executable)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        analysis.disassemble(&mut out).map_err(|e| e.to_string())?;
        Ok::<_, String>(String::from_utf8_lossy(&out).into_owned())
    }));
    match result {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(message)) => Err(LoaderError::SbpfLoad { message }),
        Err(_) => Err(LoaderError::SbpfLoad {
            message: "solana-sbpf's static analysis panicked".to_string(),
        }),
    }
}
