//! `validate_executable` on linked, hand-made and tampered executables.

mod common;

use common::*;
use tos_loader::{validate_executable, LoaderError, MAX_ELF_SIZE};

fn sample_elf() -> Vec<u8> {
    link_one("sample.o", &sample_object()).unwrap()
}

fn set_u16(elf: &mut [u8], at: usize, v: u16) {
    elf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn set_u32(elf: &mut [u8], at: usize, v: u32) {
    elf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn set_u64(elf: &mut [u8], at: usize, v: u64) {
    elf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A minimal V3 executable by hand: header, one PF_X program header, the code. No sections.
fn hand_made(text: &[u8], entry_pc: u64) -> Vec<u8> {
    let mut elf = vec![0u8; 64 + 56];
    elf[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    set_u16(&mut elf, 16, 3); // ET_DYN
    set_u16(&mut elf, 18, 247);
    set_u32(&mut elf, 20, 1);
    set_u64(&mut elf, 24, (1 << 32) + entry_pc * 8);
    set_u64(&mut elf, 32, 64);
    set_u32(&mut elf, 48, 3);
    set_u16(&mut elf, 52, 64);
    set_u16(&mut elf, 54, 56);
    set_u16(&mut elf, 56, 1);
    // Program header.
    set_u32(&mut elf, 64, 1); // PT_LOAD
    set_u32(&mut elf, 68, 1); // PF_X
    set_u64(&mut elf, 72, 120);
    set_u64(&mut elf, 80, 1 << 32);
    set_u64(&mut elf, 88, 1 << 32);
    set_u64(&mut elf, 96, text.len() as u64);
    set_u64(&mut elf, 104, text.len() as u64);
    elf.extend_from_slice(text);
    elf
}

/// The runtime skips a second RequisiteVerifier when solana-sbpf loads the text validation
/// verified: `text_offset` must name exactly those bytes.
#[test]
fn text_offset_names_the_text_solana_sbpf_loads() {
    use solana_sbpf::{elf::Executable, program::BuiltinProgram, vm::Config};
    use std::sync::Arc;
    for elf in [sample_elf(), hand_made(&code(&[mov_r0(7), EXIT]), 0)] {
        let info = validate_executable(&elf, SYSCALLS).unwrap();
        let config = Config {
            enabled_sbpf_versions: solana_sbpf::program::SBPFVersion::V3
                ..=solana_sbpf::program::SBPFVersion::V3,
            ..Config::default()
        };
        let loader = Arc::new(BuiltinProgram::<TestContext>::new_loader(config));
        let executable = Executable::load(&elf, loader).unwrap();
        assert_eq!(
            &elf[info.text_offset..info.text_offset + info.text_bytes],
            executable.get_text_bytes().1
        );
    }
}

#[test]
fn linked_sample_summary() {
    let elf = sample_elf();
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert_eq!(info.sbpf_version, 3);
    assert_eq!(info.instruction_count, 17);
    assert_eq!(info.text_bytes, 17 * 8);
    assert_eq!(info.rodata_bytes, 8 + 16); // guard + "hello\0\0\0" + function pointer
    assert_eq!(info.entry_pc, 0);
    assert_eq!(info.syscalls_used, vec!["tos_log".to_string()]);
    assert_eq!(
        info.functions,
        vec![("entrypoint".to_string(), 0), ("helper".to_string(), 14)]
    );
    // The function pointer in rodata is 1<<32 + 8 * pc(helper).
    let (ro, _) = rodata_of(&elf).unwrap();
    let fp = u64::from_le_bytes(elf[ro + 16..ro + 24].try_into().unwrap());
    assert_eq!(fp, (1 << 32) + 14 * 8);
}

#[test]
fn hand_made_executable_without_sections_is_accepted_and_runs() {
    let text = code(&[mov_r0(7), insn(0x07, 0, 0, 0, 5), EXIT]);
    let elf = hand_made(&text, 0);
    let info = validate_executable(&elf, &[]).unwrap();
    assert_eq!(info.functions, vec![]);
    assert_eq!(info.rodata_bytes, 0);
    assert_eq!(info.instruction_count, 3);
    assert_eq!(run(&elf, b"").result, Ok(12));
}

#[test]
fn header_rules() {
    let good = sample_elf();
    let mut e = good.clone();
    set_u32(&mut e, 48, 0);
    assert_eq!(
        validate_executable(&e, SYSCALLS).unwrap_err(),
        LoaderError::WrongSbpfVersion { e_flags: 0 }
    );
    set_u32(&mut e, 48, 2);
    assert_eq!(
        validate_executable(&e, SYSCALLS).unwrap_err(),
        LoaderError::WrongSbpfVersion { e_flags: 2 }
    );

    let invalid = |e: &[u8]| {
        matches!(
            validate_executable(e, SYSCALLS),
            Err(LoaderError::InvalidExecutable { .. })
        )
    };
    let mut e = good.clone();
    set_u16(&mut e, 16, 1); // ET_REL
    assert!(invalid(&e));
    let mut e = good.clone();
    e[7] = 3; // OS ABI
    assert!(invalid(&e));
    let mut e = good.clone();
    set_u64(&mut e, 24, 1 << 32 | 4); // misaligned entry
    assert!(invalid(&e));
    let mut e = good.clone();
    set_u64(&mut e, 24, (1 << 32) + 17 * 8); // one past the end
    assert!(invalid(&e));
    let mut e = good.clone();
    set_u64(&mut e, 24, 8); // entry in rodata
    assert!(invalid(&e));
    let mut e = good.clone();
    set_u64(&mut e, 24, (1 << 32) + 8); // second half of the first lddw
    assert!(invalid(&e));
    // Program headers: wrong vaddr, not contiguous, flags R|X, odd size.
    for (field, value) in [(16u64, 8u64), (8, 0xb8), (4, 5), (32, 20)] {
        let mut e = good.clone();
        let at = 64 + field as usize;
        if field == 4 {
            set_u32(&mut e, at, value as u32);
        } else {
            set_u64(&mut e, at, value);
        }
        assert!(invalid(&e), "phdr field {field} = {value:#x} accepted");
        assert!(
            solana_sbpf::elf::Executable::<TestContext>::load(
                &e,
                std::sync::Arc::new(solana_sbpf::program::BuiltinProgram::new_mock())
            )
            .is_err(),
            "solana-sbpf accepts phdr field {field} = {value:#x}"
        );
    }
    let mut e = good.clone();
    set_u16(&mut e, 56, 3); // three program headers
    assert!(invalid(&e));
    assert!(invalid(&good[..100]));
    assert!(invalid(b"not an elf"));
}

#[test]
fn size_limit() {
    let mut e = sample_elf();
    e.resize(MAX_ELF_SIZE + 1, 0);
    assert_eq!(
        validate_executable(&e, SYSCALLS).unwrap_err(),
        LoaderError::TooLarge {
            size: MAX_ELF_SIZE + 1,
            max: MAX_ELF_SIZE
        }
    );
}

#[test]
fn syscalls_must_be_allowed() {
    let elf = sample_elf();
    let err = validate_executable(&elf, &[]).unwrap_err();
    match &err {
        LoaderError::UnknownSyscallHash { hash, at } => {
            assert_eq!(*hash, solana_sbpf::ebpf::hash_symbol_name(b"tos_log"));
            assert_eq!(at.function, Some(("entrypoint".to_string(), 24)));
        }
        // LocalVerifier may report it first.
        LoaderError::Verifier { message, .. } => assert!(message.contains("syscall"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    let info = validate_executable(&elf, &["tos_log", "tos_other"]).unwrap();
    assert_eq!(info.syscalls_used, vec!["tos_log".to_string()]);
}

#[test]
fn tampered_instruction_is_refused_with_function_name() {
    let mut elf = sample_elf();
    let (text, _) = text_of(&elf);
    // helper's `add64 r0, 22` is pc 15: give it off = 1.
    let at = text + 15 * 8;
    assert_eq!(elf[at], 0x07);
    elf[at + 2] = 1;
    let err = validate_executable(&elf, SYSCALLS).unwrap_err();
    match err {
        LoaderError::UnsupportedInstruction { at, mnemonic, .. } => {
            assert_eq!(mnemonic, "add (off=1)");
            assert_eq!(at.object, "<executable>");
            assert_eq!(at.function, Some(("helper".to_string(), 8)));
        }
        other => panic!("unexpected {other:?}"),
    }
    // An atomic in the text.
    let mut elf = sample_elf();
    elf[at] = 0xdb;
    assert!(matches!(
        validate_executable(&elf, SYSCALLS),
        Err(LoaderError::UnsupportedInstruction { .. })
    ));
    // A call to the middle of an lddw.
    let mut elf = sample_elf();
    let call = text + 5 * 8; // call helper
    set_u32(&mut elf, call + 4, 1); // target 7: second half of the lddw at 6
    assert!(matches!(
        validate_executable(&elf, SYSCALLS),
        Err(LoaderError::InvalidCallTarget { target: 7, .. })
    ));
}

#[test]
fn section_headers_are_optional() {
    let mut elf = sample_elf();
    // Drop the section header table.
    set_u64(&mut elf, 40, 0);
    set_u16(&mut elf, 60, 0);
    set_u16(&mut elf, 62, 0);
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert!(info.functions.is_empty());
    // A section header table that is announced but lies past the end marks a cut or forged
    // file: refused, although solana-sbpf's strict parser would ignore it.
    let mut elf = sample_elf();
    set_u64(&mut elf, 40, 1 << 40);
    assert!(validate_executable(&elf, SYSCALLS).is_err());
}

#[test]
fn disassembly_names_functions_and_syscalls() {
    let elf = sample_elf();
    let text = tos_loader::disassemble(&elf, SYSCALLS).unwrap();
    assert!(text.contains("entrypoint:"), "{text}");
    assert!(text.contains("helper:"), "{text}");
    assert!(text.contains("syscall tos_log"), "{text}");
    assert!(text.contains("callx r2"), "{text}");
    assert!(tos_loader::disassemble(b"junk", SYSCALLS).is_err());
}

#[test]
fn solana_sbpf_sees_function_labels() {
    let elf = sample_elf();
    let config = solana_sbpf::vm::Config {
        enable_symbol_and_section_labels: true,
        ..solana_sbpf::vm::Config::default()
    };
    let loader = std::sync::Arc::new(
        solana_sbpf::program::BuiltinProgram::<TestContext>::new_loader(config),
    );
    let executable = solana_sbpf::elf::Executable::<TestContext>::load(&elf, loader).unwrap();
    let registry = executable.get_function_registry();
    assert_eq!(
        registry.lookup_by_name(b"helper").map(|(_, pc)| pc),
        Some(14)
    );
    assert_eq!(
        registry.lookup_by_name(b"entrypoint").map(|(_, pc)| pc),
        Some(0)
    );
    assert_eq!(executable.get_entrypoint_instruction_offset(), 0);
}

#[test]
fn a_file_cut_inside_its_section_table_is_refused() {
    // Build any valid executable, then cut its tail (the section table) off.
    let elf = sample_elf();
    let cut = &elf[..elf.len() - 16];
    let error = tos_loader::validate_executable(cut, &["tos_log"]).unwrap_err();
    assert!(error.to_string().contains("runs past the end"), "{error}");
}
