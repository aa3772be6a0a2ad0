//! What the link step refuses, and how the errors name the culprit.

mod common;

use common::*;
use object::{Object, ObjectSection};
use tos_loader::{link, LinkOptions, LoaderError, ObjectFile};

fn link_with(objects: &[(&str, &[u8])], entry: &str) -> Result<Vec<u8>, LoaderError> {
    let objs: Vec<ObjectFile<'_>> = objects
        .iter()
        .map(|(name, bytes)| ObjectFile { name, bytes })
        .collect();
    link(
        &objs,
        &LinkOptions {
            entry_symbol: entry,
            syscalls: SYSCALLS,
        },
    )
}

fn function_of(err: &LoaderError) -> Option<String> {
    let at = match err {
        LoaderError::UnknownSyscall { at, .. }
        | LoaderError::UnsupportedInstruction { at, .. }
        | LoaderError::UndefinedSymbol { at, .. }
        | LoaderError::Verifier { at, .. }
        | LoaderError::InvalidCallTarget { at, .. }
        | LoaderError::UnknownSyscallHash { at, .. }
        | LoaderError::RelocationOutOfRange { at, .. }
        | LoaderError::RelocationAtWrongInstruction { at, .. }
        | LoaderError::UnsupportedRelocation { at, .. } => at,
        _ => return None,
    };
    at.function.as_ref().map(|(name, _)| name.clone())
}

// --- clang-built fixtures -------------------------------------------------------------------

#[test]
fn unknown_syscall_is_refused_by_name() {
    if !have_clang("unknown_syscall_is_refused_by_name") {
        return;
    }
    let obj = compile("unknown_syscall.c", &[]);
    let err = link_one("unknown_syscall.o", &obj).unwrap_err();
    match &err {
        LoaderError::UnknownSyscall { symbol, at, .. } => {
            assert_eq!(symbol, "tos_frobnicate");
            assert_eq!(at.object, "unknown_syscall.o");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(function_of(&err).as_deref(), Some("entrypoint"));
    let msg = err.to_string();
    assert!(
        msg.contains("tos_frobnicate") && msg.contains("tos_log"),
        "{msg}"
    );
}

#[test]
fn runtime_memcpy_gets_a_clear_message() {
    if !have_clang("runtime_memcpy_gets_a_clear_message") {
        return;
    }
    let obj = compile("memcpy.c", &[]);
    let err = link_one("memcpy.o", &obj).unwrap_err();
    assert!(
        matches!(&err, LoaderError::UnknownSyscall { symbol, .. } if symbol == "memcpy"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("run time") && msg.contains("not supported yet"),
        "{msg}"
    );
}

#[test]
fn data_section_is_refused_naming_the_global() {
    if !have_clang("data_section_is_refused_naming_the_global") {
        return;
    }
    let obj = compile("data.c", &[]);
    let err = link_one("data.o", &obj).unwrap_err();
    assert_eq!(
        err,
        LoaderError::WritableData {
            object: "data.o".into(),
            section: ".data".into(),
            symbol: Some("counter".into()),
        }
    );
    assert!(err.to_string().contains("`counter`"));
}

#[test]
fn bss_section_is_refused_naming_the_global() {
    if !have_clang("bss_section_is_refused_naming_the_global") {
        return;
    }
    let obj = compile("bss.c", &[]);
    let err = link_one("bss.o", &obj).unwrap_err();
    assert_eq!(
        err,
        LoaderError::WritableData {
            object: "bss.o".into(),
            section: ".bss".into(),
            symbol: Some("total".into()),
        }
    );
}

#[test]
fn v4_signed_division_is_refused_as_sdiv() {
    if !have_clang("v4_signed_division_is_refused_as_sdiv") {
        return;
    }
    let obj = compile("sdiv.c", &["-mcpu=v4"]);
    let err = link_one("sdiv.o", &obj).unwrap_err();
    match &err {
        LoaderError::UnsupportedInstruction { mnemonic, at, .. } => {
            assert_eq!(mnemonic, "sdiv");
            assert_eq!(at.section, ".text");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(function_of(&err).as_deref(), Some("entrypoint"));
    assert!(err.to_string().contains("`sdiv`"));
}

#[test]
fn v2_signed_division_does_not_compile() {
    // Documented fact (shared README): below v4 clang refuses signed division itself.
    if !have_clang("v2_signed_division_does_not_compile") {
        return;
    }
    let err = try_compile("sdiv.c", &[]).unwrap_err();
    assert!(err.contains("signed division"), "{err}");
}

#[test]
fn alu32_arithmetic_is_refused() {
    if !have_clang("alu32_arithmetic_is_refused") {
        return;
    }
    let obj = compile("alu32.c", &["-mcpu=v3"]);
    let err = link_one("alu32.o", &obj).unwrap_err();
    match &err {
        LoaderError::UnsupportedInstruction {
            mnemonic, reason, ..
        } => {
            assert!(
                ["add32", "sub32", "mul32"].contains(&mnemonic.as_str()),
                "{mnemonic}"
            );
            assert!(reason.contains("sign-extends"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The same source at -mcpu=v2 links (explicit zero-extension, no alu32).
    let obj = compile("alu32.c", &[]);
    let elf = link_one("alu32.o", &obj).unwrap();
    let input = b"\x05";
    // a = 1 * 0x01000193, b = 5.
    assert_eq!(run(&elf, input).result, Ok(0x0100_0193 + 5));
}

/// Patch the `off` field of the first ALU64 instruction of `.text.mix` in a real object.
#[test]
fn hand_patched_alu_offset_is_refused() {
    if !have_clang("hand_patched_alu_offset_is_refused") {
        return;
    }
    let mut obj = compile("calls.c", &["-ffunction-sections"]);
    let (start, size) = {
        let file = object::File::parse(&*obj).unwrap();
        let section = file.section_by_name(".text.mix").unwrap();
        let (start, size) = section.file_range().unwrap();
        (start as usize, size as usize)
    };
    let pos = (0..size / 8)
        .map(|i| start + i * 8)
        .find(|&p| obj[p] & 0x07 == 0x07)
        .expect("an ALU64 instruction in mix");
    let opcode = obj[pos];
    obj[pos + 2] = 1; // off = 1
    let err = link_one("calls.o", &obj).unwrap_err();
    match &err {
        LoaderError::UnsupportedInstruction {
            mnemonic,
            at,
            reason,
        } => {
            assert!(
                mnemonic.contains("off=1")
                    || mnemonic.starts_with("sdiv")
                    || mnemonic.starts_with("smod"),
                "{mnemonic} (opcode {opcode:#x})"
            );
            assert_eq!(at.section, ".text.mix");
            assert_eq!(at.offset, (pos - start) as u64);
            assert!(reason.contains("non-zero offset"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(function_of(&err).as_deref(), Some("mix"));
}

#[test]
fn duplicate_global_is_refused() {
    if !have_clang("duplicate_global_is_refused") {
        return;
    }
    let obj = compile("calls.c", &[]);
    let err = link_with(&[("a.o", &obj), ("b.o", &obj)], "entrypoint").unwrap_err();
    match err {
        LoaderError::DuplicateSymbol {
            first,
            second,
            symbol,
        } => {
            assert_eq!((first.as_str(), second.as_str()), ("a.o", "b.o"));
            assert!(symbol == "fib" || symbol == "entrypoint", "{symbol}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_entry_is_refused() {
    if !have_clang("missing_entry_is_refused") {
        return;
    }
    let obj = compile("calls.c", &[]);
    let err = link_with(&[("calls.o", &obj)], "main").unwrap_err();
    assert_eq!(
        err,
        LoaderError::MissingEntry {
            symbol: "main".into()
        }
    );
}

#[test]
fn linked_executable_is_not_an_input() {
    let elf = link_one("sample.o", &sample_object()).unwrap();
    let err = link_one("prog.so", &elf).unwrap_err();
    assert!(
        matches!(err, LoaderError::NotRelocatable { e_type: 2, .. }),
        "{err:?}"
    );
}

// --- hand-built objects (no clang needed) ---------------------------------------------------

fn entry_only(code_bytes: &[u8], relocs: &[(u64, u32, u32)], extra_syms: &[Sym]) -> Vec<u8> {
    let mut symbols = vec![Sym {
        name: "",
        info: STT_SECTION_LOCAL,
        shndx: 1,
        value: 0,
        size: 0,
    }];
    let mut globals = vec![Sym {
        name: "entrypoint",
        info: STT_FUNC_GLOBAL,
        shndx: 1,
        value: 0,
        size: code_bytes.len() as u64,
    }];
    for s in extra_syms {
        let copy = Sym {
            name: s.name,
            info: s.info,
            shndx: s.shndx,
            value: s.value,
            size: s.size,
        };
        if s.info >> 4 == 0 {
            symbols.push(copy);
        } else {
            globals.push(copy);
        }
    }
    symbols.extend(globals);
    build_object(
        &[Sec::text(".text", code_bytes).with_relocs(relocs)],
        &symbols,
    )
}

#[test]
fn not_elf_and_wrong_headers() {
    let good = sample_object();
    assert!(matches!(
        link_one("x", b"hello").unwrap_err(),
        LoaderError::NotElf { .. }
    ));
    assert!(matches!(
        link_one("x", &[]).unwrap_err(),
        LoaderError::NotElf { .. }
    ));
    let mut bad = good.clone();
    bad[4] = 1;
    assert!(matches!(
        link_one("x", &bad).unwrap_err(),
        LoaderError::WrongClass { class: 1, .. }
    ));
    let mut bad = good.clone();
    bad[5] = 2;
    assert!(matches!(
        link_one("x", &bad).unwrap_err(),
        LoaderError::WrongEndianness { data: 2, .. }
    ));
    let mut bad = good.clone();
    bad[18] = 62; // EM_X86_64
    assert!(matches!(
        link_one("x", &bad).unwrap_err(),
        LoaderError::WrongMachine { machine: 62, .. }
    ));
    let mut bad = good.clone();
    bad[16] = 3; // ET_DYN
    assert!(matches!(
        link_one("x", &bad).unwrap_err(),
        LoaderError::NotRelocatable { e_type: 3, .. }
    ));
    let truncated = &good[..good.len() - 10];
    assert!(matches!(
        link_one("x", truncated).unwrap_err(),
        LoaderError::Malformed { .. }
    ));
    assert_eq!(
        link(
            &[],
            &LinkOptions {
                entry_symbol: "entrypoint",
                syscalls: &[]
            }
        )
        .unwrap_err(),
        LoaderError::NoObjects
    );
}

#[test]
fn unsupported_relocation_type_is_named() {
    let obj = entry_only(&code(&[mov_r0(1), EXIT]), &[(0, 7, 1)], &[]);
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(err, LoaderError::UnsupportedRelocation { r_type: 7, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("type 7"));
}

#[test]
fn lddw_relocation_on_other_instruction_is_refused() {
    let obj = entry_only(&code(&[mov_r0(1), EXIT]), &[(0, 1, 1)], &[]);
    let err = link_one("r.o", &obj).unwrap_err();
    match &err {
        LoaderError::RelocationAtWrongInstruction { name, found, .. } => {
            assert_eq!(name, "R_BPF_64_64");
            assert!(found.contains("0xb7"), "{found}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // A misaligned call relocation.
    let obj = entry_only(&code(&[insn(0x85, 0, 1, 0, -1), EXIT]), &[(4, 10, 1)], &[]);
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(err, LoaderError::RelocationAtWrongInstruction { .. }),
        "{err:?}"
    );
}

#[test]
fn relocation_out_of_range_is_refused() {
    let obj = entry_only(&code(&[mov_r0(1), EXIT]), &[(16, 2, 1)], &[]);
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(err, LoaderError::RelocationOutOfRange { .. }),
        "{err:?}"
    );
    // lddw relocation whose second half is past the end of the section.
    let obj = entry_only(
        &code(&[mov_r0(1), insn(0x18, 1, 0, 0, 0)]),
        &[(8, 1, 1)],
        &[],
    );
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(
            err,
            LoaderError::RelocationOutOfRange { .. } | LoaderError::UnsupportedInstruction { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn bad_symbol_index_is_malformed() {
    let obj = entry_only(
        &code(&[insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0), EXIT]),
        &[(0, 1, 99)],
        &[],
    );
    let err = link_one("r.o", &obj).unwrap_err();
    match err {
        LoaderError::Malformed { what, .. } => assert!(what.contains("99"), "{what}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn undefined_data_symbol_is_refused() {
    let obj = entry_only(
        &code(&[insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0), mov_r0(0), EXIT]),
        &[(0, 1, 3)],
        &[Sym {
            name: "missing_table",
            info: STT_NOTYPE_GLOBAL,
            shndx: 0,
            value: 0,
            size: 0,
        }],
    );
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(&err, LoaderError::UndefinedSymbol { symbol, .. } if symbol == "missing_table"),
        "{err:?}"
    );
    // Taking the address of a syscall.
    let obj = entry_only(
        &code(&[insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0), mov_r0(0), EXIT]),
        &[(0, 1, 3)],
        &[Sym {
            name: "tos_log",
            info: STT_NOTYPE_GLOBAL,
            shndx: 0,
            value: 0,
            size: 0,
        }],
    );
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(err.to_string().contains("address of a syscall"), "{err}");
}

#[test]
fn code_address_in_abs32_does_not_fit() {
    let rodata = [0u8; 8];
    let obj = build_object(
        &[
            Sec::text(".text", &code(&[mov_r0(0), EXIT])),
            Sec::rodata(".rodata", &rodata).with_relocs(&[(0, 3, 1)]),
        ],
        &[
            Sym {
                name: "",
                info: STT_SECTION_LOCAL,
                shndx: 1,
                value: 0,
                size: 0,
            },
            Sym {
                name: "entrypoint",
                info: STT_FUNC_GLOBAL,
                shndx: 1,
                value: 0,
                size: 16,
            },
        ],
    );
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(&err, LoaderError::RelocationOutOfRange { reason, .. } if reason.contains("32-bit")),
        "{err:?}"
    );
}

#[test]
fn refused_instructions_are_named() {
    let cases: &[([u8; 8], &str)] = &[
        (insn(0xdb, 1, 2, 0, 0x00), "atomic_add64"),
        (insn(0xc3, 1, 2, 0, 0xe1), "xchg32"),
        (insn(0xdb, 1, 2, 0, 0xf1), "cmpxchg64"),
        (insn(0x20, 0, 0, 0, 4), "ld_abs32"),
        (insn(0x50, 0, 1, 0, 0), "ld_ind8"),
        (insn(0x91, 0, 1, 0, 0), "ldxs8"),
        (insn(0xd7, 1, 0, 0, 16), "bswap"),
        (insn(0x06, 0, 0, 0, 1), "gotol"),
        (insn(0x04, 0, 0, 0, 1), "add32"),
        (insn(0xbf, 0, 1, 16, 0), "movsx"),
        (insn(0x97, 0, 0, 1, 3), "smod"),
        (insn(0x85, 0, 2, 0, 7), "call (kfunc)"),
    ];
    for (bad, want) in cases {
        let obj = entry_only(&code(&[mov_r0(0), *bad, mov_r0(0), EXIT]), &[], &[]);
        let err = link_one("i.o", &obj).unwrap_err();
        match &err {
            LoaderError::UnsupportedInstruction { mnemonic, at, .. } => {
                assert!(mnemonic.starts_with(want), "want {want}, got {mnemonic}");
                assert_eq!(at.offset, 8);
                assert_eq!(at.function, Some(("entrypoint".to_string(), 8)));
            }
            other => panic!("{want}: unexpected {other:?}"),
        }
    }
}

#[test]
fn allowed_32bit_ops_link() {
    // be16/32/64, mov32, and32, or32, xor32, lsh32, rsh32, arsh32, neg32, div32/mod32 by a
    // constant: zero-extended in SBPF V3 exactly as in eBPF.
    let ops = [
        insn(0xb7, 0, 0, 0, -1),    // mov64 r0, -1
        insn(0xdc, 0, 0, 0, 16),    // be16 r0
        insn(0xb4, 1, 0, 0, -5),    // mov32 r1, -5
        insn(0x54, 1, 0, 0, 0xff0), // and32 r1, 0xff0
        insn(0x44, 1, 0, 0, 0x1),   // or32 r1, 1
        insn(0xa4, 1, 0, 0, 0x3),   // xor32 r1, 3
        insn(0x64, 1, 0, 0, 4),     // lsh32 r1, 4
        insn(0x74, 1, 0, 0, 1),     // rsh32 r1, 1
        insn(0xc4, 1, 0, 0, 1),     // arsh32 r1, 1
        insn(0x84, 1, 0, 0, 0),     // neg32 r1
        insn(0x34, 1, 0, 0, 3),     // div32 r1, 3
        insn(0x94, 1, 0, 0, 1000),  // mod32 r1, 1000
        insn(0x0f, 0, 1, 0, 0),     // add64 r0, r1
        EXIT,
    ];
    let obj = entry_only(&code(&ops), &[], &[]);
    let elf = link_one("ok.o", &obj).unwrap();
    // r1: -5 = 0xfffffffb; &0xff0 = 0xff0; |1 = 0xff1; ^3 = 0xff2; <<4 = 0xff20; >>1 = 0x7f90;
    // arsh 1 = 0x3fc8; neg32 = 0xffffc038 (zero-extended); /3 = 0x5555402d; %1000.
    let mut r1: u32 = 0xffff_c038 / 3;
    r1 %= 1000;
    assert_eq!(run(&elf, b"").result, Ok(0xffff + u64::from(r1)));
}

#[test]
fn add_sub_mul32_before_mov32_of_their_register_link_and_zero_extend() {
    // The pair tos-vm's build writes: SBPF V3 sign-extends the add32/sub32/mul32 result, the
    // mov32 right after it zero-extends it again, so the register holds what eBPF (and the
    // compiler) expects. Immediate and register forms, run under both engines.
    let ops = [
        insn(0xb4, 0, 0, 0, 0x7fff_ffff), // mov32 r0, 0x7fffffff
        insn(0x04, 0, 0, 0, 1),           // add32 r0, 1 -> 0x80000000 (V3: 0xffffffff80000000)
        insn(0xbc, 0, 0, 0, 0),           // mov32 r0, r0
        insn(0xb4, 1, 0, 0, 0),           // mov32 r1, 0
        insn(0xb4, 3, 0, 0, 1),           // mov32 r3, 1
        insn(0x1c, 1, 3, 0, 0),           // sub32 r1, r3 -> 0xffffffff
        insn(0xbc, 1, 1, 0, 0),           // mov32 r1, r1
        insn(0xb4, 2, 0, 0, 0x4000_0000), // mov32 r2, 0x40000000
        insn(0x24, 2, 0, 0, 2),           // mul32 r2, 2 -> 0x80000000
        insn(0xbc, 2, 2, 0, 0),           // mov32 r2, r2
        insn(0xb4, 4, 0, 0, 0x10_0000),   // mov32 r4, 0x100000
        insn(0x2c, 4, 4, 0, 0),           // mul32 r4, r4 -> 0 (wraps)
        insn(0xbc, 4, 4, 0, 0),           // mov32 r4, r4
        insn(0x0c, 4, 3, 0, 0),           // add32 r4, r3 -> 1
        insn(0xbc, 4, 4, 0, 0),           // mov32 r4, r4
        insn(0x0f, 0, 1, 0, 0),           // add64 r0, r1
        insn(0x0f, 0, 2, 0, 0),           // add64 r0, r2
        insn(0x0f, 0, 4, 0, 0),           // add64 r0, r4
        EXIT,
    ];
    let obj = entry_only(&code(&ops), &[], &[]);
    let elf = link_one("pairs.o", &obj).unwrap();
    let want = 0x8000_0000u64 + 0xffff_ffff + 0x8000_0000 + 1;
    assert_eq!(run(&elf, b"").result, Ok(want));
    assert_eq!(
        tos_loader::validate_executable(&elf, SYSCALLS)
            .unwrap()
            .instruction_count,
        ops.len()
    );
}

#[test]
fn add32_whose_mov32_is_in_the_next_section_is_refused() {
    // Sections are laid out one after the other, so the mov32 would follow in the executable,
    // but a section's code is checked on its own: its last add32 must carry its own mov32.
    let first = code(&[insn(0x04, 0, 0, 0, 1)]);
    let second = code(&[insn(0xbc, 0, 0, 0, 0), EXIT]);
    let symbols = [
        Sym {
            name: "",
            info: STT_SECTION_LOCAL,
            shndx: 1,
            value: 0,
            size: 0,
        },
        Sym {
            name: "entrypoint",
            info: STT_FUNC_GLOBAL,
            shndx: 1,
            value: 0,
            size: first.len() as u64,
        },
        Sym {
            name: "tail",
            info: STT_FUNC_GLOBAL,
            shndx: 2,
            value: 0,
            size: second.len() as u64,
        },
    ];
    let obj = build_object(
        &[Sec::text(".text.a", &first), Sec::text(".text.b", &second)],
        &symbols,
    );
    let err = link_one("split.o", &obj).unwrap_err();
    assert!(
        matches!(&err, LoaderError::UnsupportedInstruction { mnemonic, .. } if mnemonic == "add32"),
        "{err:?}"
    );
}

#[test]
fn rela_on_code_is_refused() {
    let mut obj = entry_only(
        &code(&[insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0), EXIT]),
        &[(0, 1, 1)],
        &[],
    );
    // Turn the SHT_REL section (index 2) into SHT_RELA.
    let shoff = u64::from_le_bytes(obj[40..48].try_into().unwrap()) as usize;
    let rel = shoff + 2 * 64;
    assert_eq!(
        u32::from_le_bytes(obj[rel + 4..rel + 8].try_into().unwrap()),
        9
    );
    obj[rel + 4] = 4;
    let err = link_one("r.o", &obj).unwrap_err();
    assert!(
        matches!(err, LoaderError::UnsupportedSection { .. }),
        "{err:?}"
    );
}

#[test]
fn entry_must_be_code() {
    let obj = build_object(
        &[
            Sec::text(".text", &code(&[mov_r0(0), EXIT])),
            Sec::rodata(".rodata", &[1, 2, 3, 4, 5, 6, 7, 8]),
        ],
        &[Sym {
            name: "entrypoint",
            info: 0x11,
            shndx: 2,
            value: 0,
            size: 8,
        }],
    );
    let err = link_one("e.o", &obj).unwrap_err();
    assert!(
        matches!(&err, LoaderError::EntryNotCode { section, .. } if section == ".rodata"),
        "{err:?}"
    );
}

#[test]
fn unresolved_calls_are_refused() {
    // call src=1 imm=-1 without a relocation: LLVM's "unrelocated" marker.
    let obj = entry_only(&code(&[insn(0x85, 0, 1, 0, -1), EXIT]), &[], &[]);
    assert!(matches!(
        link_one("c.o", &obj).unwrap_err(),
        LoaderError::InvalidCallTarget { target: 0, .. }
    ));
    // call src=1 past the end.
    let obj = entry_only(&code(&[insn(0x85, 0, 1, 0, 5), EXIT]), &[], &[]);
    assert!(matches!(
        link_one("c.o", &obj).unwrap_err(),
        LoaderError::InvalidCallTarget { target: 6, .. }
    ));
    // call into the middle of an lddw.
    let obj = entry_only(
        &code(&[
            insn(0x85, 0, 1, 0, 1),
            insn(0x18, 1, 0, 0, 0),
            insn(0, 0, 0, 0, 0),
            EXIT,
        ]),
        &[],
        &[],
    );
    assert!(matches!(
        link_one("c.o", &obj).unwrap_err(),
        LoaderError::InvalidCallTarget { target: 2, .. }
    ));
    // A kernel helper call (`call 6`, src=0) is not one of our syscalls.
    let obj = entry_only(&code(&[insn(0x85, 0, 0, 0, 6), EXIT]), &[], &[]);
    assert!(matches!(
        link_one("c.o", &obj).unwrap_err(),
        LoaderError::UnknownSyscallHash { hash: 6, .. }
    ));
}

#[test]
fn verifier_errors_are_located() {
    // ja +100: out of the program.
    let obj = entry_only(
        &code(&[mov_r0(0), insn(0x05, 0, 0, 100, 0), EXIT]),
        &[],
        &[],
    );
    let err = link_one("v.o", &obj).unwrap_err();
    match &err {
        LoaderError::Verifier {
            at,
            verifier,
            message,
        } => {
            assert_eq!(verifier, "RequisiteVerifier");
            assert_eq!(at.offset, 8);
            assert!(message.contains("jump out of code"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Writing r10.
    let obj = entry_only(&code(&[insn(0xb7, 10, 0, 0, 0), EXIT]), &[], &[]);
    assert!(matches!(
        link_one("v.o", &obj).unwrap_err(),
        LoaderError::Verifier { .. }
    ));
}

#[test]
fn weak_definition_yields_to_global() {
    let weak = build_object(
        &[Sec::text(".text", &code(&[mov_r0(1), EXIT]))],
        &[Sym {
            name: "value",
            info: 0x22,
            shndx: 1,
            value: 0,
            size: 16,
        }],
    );
    let main = entry_only(
        &code(&[insn(0x85, 0, 1, 0, -1), EXIT]),
        &[(0, 10, 3)],
        &[Sym {
            name: "value",
            info: STT_NOTYPE_GLOBAL,
            shndx: 0,
            value: 0,
            size: 0,
        }],
    );
    let strong = build_object(
        &[Sec::text(".text", &code(&[mov_r0(2), EXIT]))],
        &[Sym {
            name: "value",
            info: STT_FUNC_GLOBAL,
            shndx: 1,
            value: 0,
            size: 16,
        }],
    );
    let elf = link_with(
        &[("main.o", &main), ("weak.o", &weak), ("strong.o", &strong)],
        "entrypoint",
    )
    .unwrap();
    assert_eq!(run(&elf, b"").result, Ok(2));
    let elf = link_with(&[("main.o", &main), ("weak.o", &weak)], "entrypoint").unwrap();
    assert_eq!(run(&elf, b"").result, Ok(1));
    // Two strong definitions.
    let err = link_with(
        &[("main.o", &main), ("s1.o", &strong), ("s2.o", &strong)],
        "entrypoint",
    )
    .unwrap_err();
    assert!(matches!(err, LoaderError::DuplicateSymbol { .. }));
}

#[test]
fn too_many_instructions() {
    let mut insns = vec![mov_r0(0); tos_loader::MAX_INSTRUCTIONS];
    insns.push(EXIT);
    let obj = entry_only(&code(&insns), &[], &[]);
    let err = link_one("big.o", &obj).unwrap_err();
    assert!(
        matches!(err, LoaderError::TooManyInstructions { count, .. } if count == tos_loader::MAX_INSTRUCTIONS + 1),
        "{err:?}"
    );
}

#[test]
fn writable_section_other_than_relro_is_refused() {
    let mut data = Sec::rodata(".sdata", &[1, 0, 0, 0, 0, 0, 0, 0]);
    data.flags = 0x3; // SHF_WRITE | SHF_ALLOC
    let mut relro = Sec::rodata(".data.rel.ro.table", &[0; 8]);
    relro.flags = 0x3;
    let text = Sec::text(".text", &code(&[mov_r0(0), EXIT]));
    let syms = [
        Sym {
            name: "flag",
            info: STT_OBJECT_LOCAL,
            shndx: 2,
            value: 0,
            size: 8,
        },
        Sym {
            name: "entrypoint",
            info: STT_FUNC_GLOBAL,
            shndx: 1,
            value: 0,
            size: 16,
        },
    ];
    let err = link_one("w.o", &build_object(&[text, data], &syms)).unwrap_err();
    assert_eq!(
        err,
        LoaderError::WritableData {
            object: "w.o".into(),
            section: ".sdata".into(),
            symbol: Some("flag".into())
        }
    );
    let text = Sec::text(".text", &code(&[mov_r0(0), EXIT]));
    let elf = link_one("w.o", &build_object(&[text, relro], &syms)).unwrap();
    assert!(rodata_of(&elf).is_some());
}

#[test]
fn bogus_symbol_values_do_not_panic() {
    let obj = build_object(
        &[Sec::text(".text", &code(&[mov_r0(0), EXIT]))],
        &[
            Sym {
                name: "huge",
                info: STT_FUNC_LOCAL,
                shndx: 1,
                value: u64::MAX - 3,
                size: u64::MAX,
            },
            Sym {
                name: "entrypoint",
                info: STT_FUNC_GLOBAL,
                shndx: 1,
                value: 0,
                size: 16,
            },
        ],
    );
    let elf = link_one("b.o", &obj).unwrap();
    let info = tos_loader::validate_executable(&elf, SYSCALLS).unwrap();
    assert_eq!(info.functions, vec![("entrypoint".to_string(), 0)]);
    // Referenced by a relocation it is an error.
    let obj = build_object(
        &[Sec::text(
            ".text",
            &code(&[insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0), mov_r0(0), EXIT]),
        )
        .with_relocs(&[(0, 1, 1)])],
        &[
            Sym {
                name: "huge",
                info: STT_OBJECT_LOCAL,
                shndx: 1,
                value: u64::MAX - 3,
                size: 8,
            },
            Sym {
                name: "entrypoint",
                info: STT_FUNC_GLOBAL,
                shndx: 1,
                value: 0,
                size: 32,
            },
        ],
    );
    let err = link_one("b.o", &obj).unwrap_err();
    assert!(
        matches!(&err, LoaderError::Malformed { what, .. } if what.contains("huge")),
        "{err:?}"
    );
}
