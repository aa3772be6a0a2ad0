//! Link clang-19 objects, then run them in solana-sbpf (interpreter and JIT) and compare with the
//! same C compiled natively.

mod common;

use common::*;
use tos_loader::{validate_executable, LinkOptions, ObjectFile, RODATA_NULL_GUARD};

const INPUTS: &[&[u8]] = &[
    b"",
    b"\x00",
    b"\x07hello",
    b"\x0f\xff\xfe\x80\x01\x02\x03\x04\x05",
    b"\x02abc",
];

#[test]
fn calls_across_sections_run_like_native() {
    if !have_clang("calls_across_sections_run_like_native") {
        return;
    }
    let native = NativeProgram::build(&["calls.c"]);
    for flags in [&["-ffunction-sections"][..], &[][..]] {
        let obj = compile("calls.c", flags);
        let elf = link_one("calls.o", &obj).unwrap();
        verify_text(&elf);
        let info = validate_executable(&elf, SYSCALLS).unwrap();
        let names: Vec<&str> = info.functions.iter().map(|(n, _)| n.as_str()).collect();
        for f in ["entrypoint", "fib", "mix", "sum_bytes"] {
            assert!(names.contains(&f), "{f} missing from {names:?}");
        }
        let runs = run_and_compare(&elf, native.as_ref(), INPUTS);
        // Hand-computed reference for the empty input: fib(10) * 1000003 + 0.
        assert_eq!(runs[0].result, Ok(55 * 1_000_003));
        // fib(7) for "\x07hello", and recursion actually happened.
        assert!(runs[2].instructions > 100);
    }
}

#[test]
fn internal_call_crossing_sections_is_pc_relative() {
    if !have_clang("internal_call_crossing_sections_is_pc_relative") {
        return;
    }
    let obj = compile("calls.c", &["-ffunction-sections"]);
    let elf = link_one("calls.o", &obj).unwrap();
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    let pc_of = |name: &str| info.functions.iter().find(|(n, _)| n == name).unwrap().1;
    let (off, size) = text_of(&elf);
    let text = &elf[off..off + size];
    // Every internal call lands on the first instruction of a function.
    let starts: Vec<usize> = info.functions.iter().map(|(_, pc)| *pc).collect();
    let mut calls = 0;
    for pc in 0..size / 8 {
        let i = &text[pc * 8..pc * 8 + 8];
        if i[0] == 0x85 && i[1] >> 4 == 1 {
            let imm = i32::from_le_bytes(i[4..8].try_into().unwrap()) as i64;
            let target = (pc as i64 + 1 + imm) as usize;
            assert!(
                starts.contains(&target),
                "call at pc {pc} lands on {target}"
            );
            calls += 1;
        }
    }
    assert!(
        calls >= 3,
        "expected calls to fib (twice, recursive), sum_bytes and mix"
    );
    assert_ne!(pc_of("fib"), pc_of("entrypoint"));
}

#[test]
fn two_objects_link_and_run_like_native() {
    if !have_clang("two_objects_link_and_run_like_native") {
        return;
    }
    let main = compile("multi_main.c", &["-ffunction-sections"]);
    let lib = compile("multi_lib.c", &[]);
    let elf = tos_loader::link(
        &[
            ObjectFile {
                name: "multi_main.o",
                bytes: &main,
            },
            ObjectFile {
                name: "multi_lib.o",
                bytes: &lib,
            },
        ],
        &LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: SYSCALLS,
        },
    )
    .unwrap();
    let native = NativeProgram::build(&["multi_main.c", "multi_lib.c"]);
    let runs = run_and_compare(&elf, native.as_ref(), INPUTS);
    // "\x00": weighted_sum = 0, scale(0) = 7, + len 1.
    assert_eq!(runs[1].result, Ok(8));
}

#[test]
fn rodata_strings_and_pointer_tables_run_like_native() {
    if !have_clang("rodata_strings_and_pointer_tables_run_like_native") {
        return;
    }
    let obj = compile("rodata.c", &[]);
    let elf = link_one("rodata.o", &obj).unwrap();
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert!(info.rodata_bytes > 0);
    let native = NativeProgram::build(&["rodata.c"]);
    let inputs: Vec<&[u8]> = INPUTS
        .iter()
        .copied()
        .filter(|i| i.first() != Some(&1))
        .collect();
    run_and_compare(&elf, native.as_ref(), &inputs);
}

#[test]
fn rodata_object_is_never_at_address_zero() {
    if !have_clang("rodata_object_is_never_at_address_zero") {
        return;
    }
    let obj = compile("rodata.c", &[]);
    let elf = link_one("rodata.o", &obj).unwrap();
    // Mode 1 returns the address of `banner`.
    let run = run(&elf, b"\x01");
    let addr = run.result.unwrap();
    assert!(addr >= RODATA_NULL_GUARD, "banner at {addr:#x}");
    let (ro_off, ro_size) = rodata_of(&elf).unwrap();
    assert!((addr as usize) < ro_size);
    let banner = b"tos-vm rodata test\0";
    assert_eq!(
        &elf[ro_off + addr as usize..ro_off + addr as usize + banner.len()],
        banner
    );
    // The guard bytes are zero and nothing points there.
    assert_eq!(
        &elf[ro_off..ro_off + RODATA_NULL_GUARD as usize],
        &[0u8; RODATA_NULL_GUARD as usize]
    );
}

#[test]
fn function_pointers_run_like_native() {
    if !have_clang("function_pointers_run_like_native") {
        return;
    }
    let native = NativeProgram::build(&["fnptr.c"]);
    for flags in [&[][..], &["-ffunction-sections"][..]] {
        let obj = compile("fnptr.c", flags);
        let elf = link_one("fnptr.o", &obj).unwrap();
        let runs = run_and_compare(&elf, native.as_ref(), INPUTS);
        // Empty input: apply(op_add, 7, 3) = 10.
        assert_eq!(runs[0].result, Ok(10));
        // "\x00": ops[0] = op_add: 7 + 0 = 7, then op_mul (len 1 is odd): 21.
        assert_eq!(runs[1].result, Ok(21));
    }
}

#[test]
fn syscall_tos_log_runs_like_native() {
    if !have_clang("syscall_tos_log_runs_like_native") {
        return;
    }
    let obj = compile("log.c", &[]);
    let elf = link_one("log.o", &obj).unwrap();
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert_eq!(info.syscalls_used, vec!["tos_log".to_string()]);
    let native = NativeProgram::build(&["log.c"]);
    let runs = run_and_compare(&elf, native.as_ref(), INPUTS);
    let run = &runs[2];
    assert_eq!(
        run.log,
        vec![
            b"hello from C".to_vec(),
            b"\x07hello".to_vec(),
            b"done".to_vec()
        ]
    );
    assert_eq!(run.result, Ok(4 + 6));
}

#[test]
fn program_without_rodata_has_one_program_header() {
    if !have_clang("program_without_rodata_has_one_program_header") {
        return;
    }
    let obj = compile("noro.c", &[]);
    let elf = link_one("noro.o", &obj).unwrap();
    assert_eq!(u16::from_le_bytes([elf[56], elf[57]]), 1);
    assert!(rodata_of(&elf).is_none());
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert_eq!(info.rodata_bytes, 0);
    let native = NativeProgram::build(&["noro.c"]);
    run_and_compare(&elf, native.as_ref(), INPUTS);
}

#[test]
fn optimisation_levels_all_link_and_agree() {
    if !have_clang("optimisation_levels_all_link_and_agree") {
        return;
    }
    let native = NativeProgram::build(&["fnptr.c"]);
    let variants: [&[&str]; 6] = [
        &["-O0", "-ffunction-sections"],
        &["-O1", "-ffunction-sections"],
        &["-O2", "-ffunction-sections"],
        &["-O3", "-ffunction-sections"],
        &["-Os", "-ffunction-sections"],
        // Debug info and BTF: non-loaded sections with their own relocations.
        &["-O2", "-g"],
    ];
    for opt in variants {
        for fixture in ["calls.c", "fnptr.c", "rodata.c", "log.c"] {
            let obj = compile(fixture, opt);
            let elf = link_one(fixture, &obj).unwrap_or_else(|e| panic!("{fixture} {opt:?}: {e}"));
            let r = run(&elf, b"\x05\x06\x07");
            assert!(r.result.is_ok(), "{fixture} {opt:?}: {:?}", r.result);
            if fixture == "fnptr.c" {
                if let Some(n) = &native {
                    assert_eq!(r.result, Ok(n.run(b"\x05\x06\x07").r0), "{opt:?}");
                }
            }
        }
    }
}

/// rustc's assembly (tests/fixtures/rust_contract.s, from rust_contract.rs): one `.text.<mangled>`
/// section per function, `.rodata..Lanon.*` strings, function-pointer and `&str` tables in
/// `.data.rel.ro.*` with R_BPF_64_ABS64 relocations, `LBB*` labels.
#[test]
fn rust_assembly_links_and_runs() {
    if !have_clang("rust_assembly_links_and_runs") {
        return;
    }
    let obj = compile("rust_contract.s", &[]);
    let elf = link_one("rust_contract.o", &obj).unwrap();
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert!(info.functions.iter().any(|(n, _)| n.contains("classify")));
    for input in INPUTS {
        let run = run(&elf, input);
        assert_eq!(run.result, Ok(rust_reference(input)), "input {input:02x?}");
        let names: Vec<&[u8]> = ["double", "square", "negate", "plus7"]
            .iter()
            .map(|s| s.as_bytes())
            .collect();
        let expected: Vec<Vec<u8>> = input
            .iter()
            .map(|b| names[(*b as usize) % 4].to_vec())
            .collect();
        assert_eq!(run.log, expected);
    }
}

/// The same computation as rust_contract.rs, natively.
fn rust_reference(data: &[u8]) -> u64 {
    fn classify(b: u8) -> u64 {
        match b {
            0 => 11,
            1 => 22,
            2 => 33,
            3 => 44,
            4 => 55,
            5 => 66,
            6 => 77,
            7 => 88,
            8 => 99,
            9 => 111,
            10 => 122,
            11 => 133,
            _ => 1,
        }
    }
    let ops: [fn(u64) -> u64; 4] = [
        |x| x.wrapping_mul(2),
        |x| x.wrapping_mul(x),
        |x| 0u64.wrapping_sub(x),
        |x| x.wrapping_add(7),
    ];
    let mut acc: u64 = 0x1234;
    for (i, &b) in data.iter().enumerate() {
        acc = ops[(b as usize) % 4](acc ^ b as u64)
            .wrapping_add(classify(b).wrapping_mul(i as u64 + 1));
    }
    acc
}

/// The hand-built sample object (no clang needed): cross-section call, lddw to rodata, a
/// syscall, and a function pointer in rodata called through callx.
#[test]
fn hand_built_object_runs() {
    let obj = sample_object();
    let elf = link_one("sample.o", &obj).unwrap();
    let info = validate_executable(&elf, SYSCALLS).unwrap();
    assert_eq!(info.syscalls_used, vec!["tos_log".to_string()]);
    assert_eq!(info.entry_pc, 0);
    let run = run(&elf, b"");
    assert_eq!(run.result, Ok(42 + 23));
    assert_eq!(run.log, vec![b"hello".to_vec()]);
    let text = tos_loader::disassemble(&elf, SYSCALLS).unwrap();
    assert!(text.contains("syscall tos_log"), "{text}");
    assert!(text.contains("call helper"), "{text}");
}

/// What `-mcpu=v2` emits for 32-bit C arithmetic: no BPF_ALU (32-bit) class instruction except
/// byte swaps, so nothing depends on SBPF's sign-extending add32/sub32/mul32. And the results
/// match native.
#[test]
fn v2_32bit_arithmetic_uses_no_alu32_and_runs_like_native() {
    if !have_clang("v2_32bit_arithmetic_uses_no_alu32_and_runs_like_native") {
        return;
    }
    let native = NativeProgram::build(&["ops32.c"]);
    for opt in ["-O0", "-O2", "-O3"] {
        let obj = compile("ops32.c", &[opt]);
        let elf = link_one("ops32.o", &obj).unwrap();
        let (off, size) = text_of(&elf);
        let text = &elf[off..off + size];
        let mut pc = 0;
        while pc < size / 8 {
            let opc = text[pc * 8];
            if opc & 0x07 == 0x04 {
                assert!(
                    opc == 0xdc || opc == 0xd4,
                    "{opt}: 32-bit ALU opcode {opc:#04x} at pc {pc}"
                );
            }
            pc += if opc == 0x18 { 2 } else { 1 };
        }
        run_and_compare(&elf, native.as_ref(), INPUTS);
    }
}
