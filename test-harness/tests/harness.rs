//! The harness itself: checks on hand-assembled programs (exact compute units), the failure
//! report of a deliberately wrong expectation, the engine-mismatch report, and the
//! compute-unit report.

use tos_test_harness::{
    code_load_cost, code_load_size, default_block, elf, Abort, BlockContext, Check, CuBench,
    Engine, EngineMismatch, Engines, Harness, Hash, RuntimeError, SyscallError,
};

/// Writes key "\0" = value "\0" (the heap is zeroed), logs "hi" from the stack, returns r6.
const WRITE_AND_LOG: &str = "
    lddw r1, 0x300000000
    mov64 r2, 1
    lddw r3, 0x300000000
    mov64 r4, 1
    syscall tos_storage_write
    stb [r10-2], 0x68
    stb [r10-1], 0x69
    mov64 r1, r10
    add64 r1, -2
    mov64 r2, 2
    syscall tos_log
    mov64 r0, r6
    exit";

/// `6843` → `6 843`, as reports print numbers.
fn group(n: u64) -> String {
    tos_test_harness::report::group(n)
}

fn program(source: &str) -> Vec<u8> {
    elf::assemble(source).unwrap_or_else(|e| panic!("{e}"))
}

/// What the call of `elf` pays to load it (its transaction's first run of the code).
fn load(elf: &[u8]) -> u64 {
    code_load_cost(code_load_size(elf))
}

#[test]
fn compute_units_are_exact_for_hand_assembled_programs() {
    let two = program("mov64 r0, 0\nexit");
    Harness::new().deploy(&two).invoke(b"").expect(&[
        Check::success(),
        Check::compute_units(load(&two) + 2),
        Check::unchanged(),
    ]);
    // The example of docs/compute-units.md: the code load, 4 instructions and
    // tos_get_block_height (50).
    let height = program("mov64 r0, 0\nsyscall tos_get_block_height\nmov64 r0, 0\nexit");
    Harness::new().deploy(&height).invoke(b"").expect(&[
        Check::success(),
        Check::compute_units(load(&height) + 4 + 50),
    ]);
    // 13 instructions + tos_storage_write (1000 + 4 * 2, and 6000: the transaction's first
    // access to the key) + tos_log (100 + 2).
    Harness::new()
        .deploy(program(WRITE_AND_LOG))
        .invoke(b"")
        .expect(&[
            Check::success(),
            Check::compute_units(load(&program(WRITE_AND_LOG)) + 13 + 1008 + 6000 + 102),
            Check::logs(&["hi"]),
            Check::storage([0u8], [0u8]),
        ]);
}

#[test]
fn failed_status_and_aborts_are_checked_by_code_kind_and_type() {
    Harness::new()
        .deploy(program("mov64 r0, 7\nexit"))
        .invoke(b"")
        .expect(&[Check::error(7), Check::failed()]);
    let divide = program("mov64 r0, 0\nmov64 r1, 0\ndiv64 r0, r1\nexit");
    Harness::new().deploy(&divide).invoke(b"").expect(&[
        Check::abort("DivideByZero"),
        Check::aborted_with(|e| matches!(e, Abort::Runtime(RuntimeError::DivideByZero))),
        Check::compute_units(load(&divide) + 3),
    ]);
    Harness::new()
        .deploy(program(
            "lddw r1, 0x380000000\nmov64 r2, 4\nsyscall tos_log\nexit",
        ))
        .invoke(b"")
        .expect(&[
            Check::access_violation(),
            Check::no_logs(),
            Check::unchanged(),
        ]);
    let endless = program("entry:\nja entry\nexit");
    let budget = load(&endless) + 1_000;
    Harness::new()
        .with_budget(budget)
        .deploy(&endless)
        .invoke(b"")
        .expect(&[Check::compute_exhausted(), Check::compute_units(budget)]);
    Harness::new()
        .deploy(program("mov64 r2, 257\nsyscall tos_storage_delete\nexit"))
        .invoke(b"")
        .expect(&[Check::aborted_with(|e| {
            matches!(e, Abort::Syscall(SyscallError::KeyTooLong { len: 257, .. }))
        })]);
}

#[test]
fn successful_calls_commit_and_failed_ones_do_not() {
    let mut chain = Harness::new().deploy(program(WRITE_AND_LOG));
    let contract = chain.contract();
    chain.invoke(b"").expect(&[Check::success()]);
    assert_eq!(
        chain.store().storage_entries(&contract),
        vec![(vec![0], vec![0])]
    );
    chain.set_storage(contract, &[0], None);
    // r6 = 5: the write happens, then the status discards it.
    let failing = Harness::new()
        .deploy(program(
            &WRITE_AND_LOG.replace("mov64 r0, r6", "mov64 r0, 5"),
        ))
        .invoke(b"");
    failing.expect(&[
        Check::error(5),
        Check::storage_absent([0u8]),
        Check::unchanged(),
    ]);
}

#[test]
fn balances_and_call_values_are_checked() {
    let alice = Hash([1; 32]);
    let mut chain = Harness::new()
        .with_sender(alice)
        .with_balance(alice, 1_000)
        .with_value(300)
        .deploy(program("mov64 r0, 0\nexit"));
    let contract = chain.contract();
    chain.invoke(b"").expect(&[
        Check::success(),
        Check::balance(alice, 700),
        Check::balance(contract, 300),
    ]);
    // Not enough left for another 300 twice over.
    chain
        .invoke(b"")
        .expect(&[Check::success(), Check::balance(alice, 400)]);
    let mut poor = Harness::new()
        .with_sender(alice)
        .with_balance(alice, 10)
        .with_value(300)
        .deploy(program("mov64 r0, 0\nexit"));
    poor.invoke(b"").expect(&[
        Check::abort("InsufficientBalance"),
        Check::balance(alice, 10),
        Check::unchanged(),
    ]);
}

#[test]
fn one_engine_can_be_chosen() {
    let run = Harness::new()
        .with_engines(Engines::Only(Engine::Interpreter))
        .deploy(program("mov64 r0, 0\nexit"))
        .invoke(b"");
    assert_eq!(run.engines, vec![Engine::Interpreter]);
    let both = Harness::new()
        .deploy(program("mov64 r0, 0\nexit"))
        .invoke(b"");
    assert_eq!(both.engines, vec![Engine::Interpreter, Engine::Jit]);
}

/// A deliberately wrong expectation: the report names each failed check with expected and
/// actual values, passes the right ones, and says what the call did.
#[test]
fn a_wrong_expectation_prints_a_readable_diff() {
    let run = Harness::new()
        .deploy_named("write-and-log", program(WRITE_AND_LOG))
        .invoke(b"");
    let report = run
        .check(&[
            Check::success(),
            Check::compute_units(1_000),
            Check::logs(&["hi", "there"]),
            Check::storage([0u8], 7u64.to_le_bytes()),
            Check::log("bye"),
        ])
        .expect_err("four of the checks are wrong");
    assert_eq!(report.failed(), 4);
    let text = report.to_string();
    // 1 123 units as in compute_units_are_exact_for_hand_assembled_programs, + a cold key.
    let used = load(&program(WRITE_AND_LOG)) + 1_123 + 6_000;
    let compute_line = format!(
        "  FAIL  compute_units(1000)\n          expected: 1 000\n          actual:   {} (+{})\n",
        group(used),
        used - 1_000
    );
    let did_line = format!(
        "what the call did:\n  status:      success\n  compute:     {} units\n  logs:\n    \"hi\"\n",
        group(used)
    );
    let expected = "\
4 of 5 checks failed for the invoke of write-and-log (";
    assert!(text.starts_with(expected), "{text}");
    for part in [
        "  ok    success\n",
        compute_line.as_str(),
        "  FAIL  logs(2 lines)\n          --- expected\n          +++ actual\n            \"hi\"\n          - \"there\"\n",
        "  FAIL  storage(0x00)\n          expected: 0x0700000000000000 (u64 7)\n          actual:   0x00\n",
        "  FAIL  log(\"bye\")\n          expected: a log line \"bye\"\n          actual:\n            \"hi\"\n",
        did_line.as_str(),
        "  effects:\n    storage write-and-log (",
        "0x00: absent → 0x00\n",
        "  engines:     Interpreter and Jit (agreeing)\n",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
#[should_panic(
    expected = "FAIL  error(3)\n          expected: failed with status 3\n          actual:   success"
)]
fn expect_panics_with_the_report() {
    Harness::new()
        .deploy(program("mov64 r0, 0\nexit"))
        .invoke(b"")
        .expect(&[Check::error(3)]);
}

#[test]
fn an_engine_mismatch_report_shows_both_sides() {
    let mismatch = EngineMismatch {
        contract: "contract 01020304".into(),
        input: vec![1, 2],
        engines: (Engine::Interpreter, Engine::Jit),
        differences: vec![
            ("compute used".into(), "10".into(), "11".into()),
            (
                "logs".into(),
                "[\n    \"a\",\n]".into(),
                "[\n    \"b\",\n]".into(),
            ),
        ],
    };
    let text = mismatch.to_string();
    assert!(text.starts_with(
        "Interpreter and Jit disagree on a call of contract 01020304 with input 0102 (2 bytes):\n"
    ));
    assert!(
        text.contains("  compute used:\n    Interpreter: 10\n    Jit:         11\n"),
        "{text}"
    );
    assert!(
        text.contains("    --- Interpreter\n    +++ Jit\n      [\n    +     \"b\",\n    -     \"a\",\n      ]\n"),
        "{text}"
    );
    assert_eq!(mismatch.aspects(), vec!["compute used", "logs"]);
}

#[test]
fn the_compute_report_records_named_cases() {
    let mut bench = CuBench::new("harness-test");
    let mut chain = Harness::new().deploy(program(WRITE_AND_LOG));
    chain.bench(&mut bench, "write and log", b"");
    bench.case("write and log again", &mut chain, b"");
    let units: Vec<u64> = bench.cases().iter().map(|c| c.compute_units).collect();
    // 1 123 units as in compute_units_are_exact_for_hand_assembled_programs, + a cold key.
    let used = load(&program(WRITE_AND_LOG)) + 1_123 + 6_000;
    assert_eq!(units, vec![used, used]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cu.md");
    let changes = bench.write(&path).unwrap();
    assert_eq!(changes.len(), 2, "both cases are new");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("| write and log | {} | success |", group(used))),
        "{text}"
    );
    assert!(
        bench.write(&path).unwrap().is_empty(),
        "nothing changed since"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(bench.check(&text), Ok(()));
}

/// Time-dependent contracts are tested across blocks: the block changes between calls, and a
/// call built by hand (`ContractCall`, exported) runs in it.
#[test]
fn the_block_can_change_between_calls() {
    // Returns the block height as its status.
    let mut chain = Harness::new().deploy(program("syscall tos_get_block_height\nexit"));
    chain
        .invoke(b"")
        .expect(&[Check::error(default_block().height)]);
    chain.set_block(BlockContext {
        height: 1_000,
        ..chain.block().clone()
    });
    chain.invoke(b"").expect(&[Check::error(1_000)]);
    let call: tos_test_harness::ContractCall = chain.call(b"");
    chain.invoke_call(call).expect(&[Check::error(1_000)]);
}
