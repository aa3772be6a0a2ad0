//! Every syscall from real BPF code (the probe contract, built from C source), through the test
//! harness (so under both engines, compared): its success path and hostile arguments, each
//! hostile case giving a typed error and leaving the store unchanged.

use proptest::prelude::*;
use tos_test_harness::{
    default_block,
    probe::{self, op, Scratch, Script, Value},
    strategies, Abort, Check, Harness, Hash, Invocation, RuntimeError, SyscallError,
    DEFAULT_SENDER, DEFAULT_TX_HASH,
};
use tos_vm::storage::StorageError;

const BUDGET: u64 = 200_000;
/// Unmapped: between the heap and the input region.
const UNMAPPED: u64 = 0x3_8000_0000;
/// Inside the read-only data region (not NULL: address 8).
const RODATA: u64 = 8;
/// The input region: mapped, read-only.
const INPUT_START: u64 = 0x4_0000_0000;
const RECIPIENT: Hash = Hash([0xAA; 32]);

/// A chain with the probe deployed.
fn probe() -> Harness {
    Harness::new()
        .with_budget(BUDGET)
        .deploy_named("probe", probe::elf())
}

fn run(input: Vec<u8>) -> Invocation {
    probe().invoke(&input)
}

/// An abort of this kind, and nothing changed.
fn refused(kind: &str) -> [Check; 2] {
    [Check::abort(kind), Check::unchanged()]
}

fn access_violation() -> [Check; 2] {
    refused("AccessViolation")
}

// ---- log ----------------------------------------------------------------------------------

#[test]
fn log_records_the_message() {
    run(Script::new()
        .with_data(b"hello probe", |s, msg| s.call(op::LOG, &[msg, Value(11)]))
        .build(0))
    .expect(&[
        Check::success(),
        Check::logs(&["hello probe", "r=0000000000000000"]),
    ]);
}

#[test]
fn log_costs_100_plus_one_unit_per_byte() {
    let cost = |len: usize| {
        run(Script::new()
            .with_data(&vec![b'x'; len], |s, msg| {
                s.call(op::LOG, &[msg, Value(len as u64)])
            })
            .build(0))
        .compute_used
    };
    // Same instructions, different lengths: the difference is the per-byte cost alone.
    let short = cost(1);
    run(Script::new()
        .with_data(&[b'x'; 501], |s, msg| s.call(op::LOG, &[msg, Value(501)]))
        .build(0))
    .expect(&[Check::success(), Check::compute_units(short + 500)]);
}

#[test]
fn log_refuses_bad_pointers_and_lengths() {
    for (address, len) in [(UNMAPPED, 4), (0, 4), (u64::MAX - 2, 8)] {
        // the last one: ptr + len wraps around the address space
        run(Script::new()
            .call(op::LOG, &[Value(address), Value(len)])
            .build(0))
        .expect(&access_violation());
    }
    for len in [10_001, u64::MAX] {
        run(Script::new()
            .with_data(b"x", |s, msg| s.call(op::LOG, &[msg, Value(len)]))
            .build(0))
        .expect(&[Check::aborted_with(|e| {
            matches!(e, Abort::Syscall(SyscallError::LogMessageTooLong { .. }))
        })]);
    }
}

#[test]
fn log_flooding_hits_the_per_invoke_limit() {
    let mut script = Script::new();
    let message = script.data(&[b'a'; 10_000]);
    for _ in 0..7 {
        script = script.call(op::LOG, &[message, Value(10_000)]);
    }
    run(script.build(0)).expect(&[Check::abort("LogLimitExceeded")]);
}

#[test]
fn empty_log_messages_count_against_the_per_invoke_limit() {
    // Zero-length messages carry no bytes; the entry count still bounds them (issue 18.11).
    let mut script = Script::new();
    for _ in 0..=tos_vm::runtime::limits::MAX_LOG_ENTRIES_PER_INVOKE {
        script = script.call(op::LOG, &[Value(RODATA), Value(0)]);
    }
    Harness::new()
        .with_budget(1_000_000)
        .deploy_named("probe", probe::elf())
        .invoke(&script.build(0))
        .expect(&[
            Check::aborted_with(|e| {
                matches!(
                    e,
                    Abort::Syscall(SyscallError::LogEntriesExceeded { limit: 1024 })
                )
            }),
            Check::unchanged(),
        ]);
}

#[test]
fn panic_aborts_with_its_message() {
    run(Script::new()
        .with_data(b"kkvv", |s, kv| {
            s.call(op::STORAGE_WRITE, &[kv, Value(2), kv, Value(4)])
        })
        .with_data(b"boom", |s, msg| s.call(op::PANIC, &[msg, Value(4)]))
        .build(0))
    .expect(&[
        Check::aborted_with(|e| {
            matches!(e, Abort::Syscall(SyscallError::ContractPanicked { message }) if message == "boom")
        }),
        Check::unchanged(),
    ]);
}

// ---- chain --------------------------------------------------------------------------------

#[test]
fn chain_getters_return_the_context() {
    let run = run(Script::new()
        .call(op::BLOCK_HASH, &[Scratch(0)])
        .call(op::TX_HASH, &[Scratch(32)])
        .call(op::TX_SENDER, &[Scratch(64)])
        .call(op::CONTRACT_HASH, &[Scratch(96)])
        .call(op::BLOCK_HEIGHT, &[])
        .call(op::ECHO_SCRATCH, &[Value(0), Value(32)])
        .call(op::ECHO_SCRATCH, &[Value(32), Value(32)])
        .call(op::ECHO_SCRATCH, &[Value(64), Value(32)])
        .call(op::ECHO_SCRATCH, &[Value(96), Value(32)])
        .build(0));
    run.expect(&[Check::success()]);
    assert_eq!(probe::results(&run), vec![0, 0, 0, 0, 42]);
    assert_eq!(
        probe::echoes(&run),
        vec![
            default_block().hash.0.to_vec(),
            DEFAULT_TX_HASH.0.to_vec(),
            DEFAULT_SENDER.0.to_vec(),
            run.contract.0.to_vec(),
        ]
    );
}

#[test]
fn chain_getters_refuse_unwritable_outputs() {
    for op in [
        op::BLOCK_HASH,
        op::TX_HASH,
        op::TX_SENDER,
        op::CONTRACT_HASH,
    ] {
        // The last target: 32 bytes starting 16 bytes before the stack's top cross it.
        for target in [
            UNMAPPED,
            RODATA,
            INPUT_START,
            0,
            u64::MAX - 4,
            0x2_0000_0000 + 64 * 4096 - 16,
        ] {
            run(Script::new().call(op, &[Value(target)]).build(0)).expect(&access_violation());
        }
    }
}

// ---- balance ------------------------------------------------------------------------------

#[test]
fn get_balance_reads_any_account() {
    let run = probe().with_balance(RECIPIENT, 1234).invoke(
        &Script::new()
            .with_data(&RECIPIENT.0, |s, who| s.call(op::GET_BALANCE, &[who]))
            .build(0),
    );
    run.expect(&[Check::success()]);
    assert_eq!(probe::results(&run), vec![1234]);
    probe()
        .invoke(
            &Script::new()
                .call(op::GET_BALANCE, &[Value(UNMAPPED)])
                .build(0),
        )
        .expect(&access_violation());
}

#[test]
fn transfer_moves_native_balance_and_reports_it() {
    let mut chain = probe();
    let contract = chain.contract();
    chain.set_balance(contract, 1000);
    let run = chain.invoke(
        &Script::new()
            .with_data(&RECIPIENT.0, |s, to| {
                s.call(op::TRANSFER, &[to, Value(300)])
            })
            .build(0),
    );
    run.expect(&[
        Check::success(),
        Check::balance(contract, 700),
        Check::balance(RECIPIENT, 300),
    ]);
    assert_eq!(run.effects.transfers.len(), 1);
    assert_eq!(run.effects.transfers[0].amount, 300);
    assert_eq!(run.effects.balances.len(), 2);
}

#[test]
fn transfer_refuses_zero_insufficient_and_overflowing_amounts() {
    let cases: [(u64, u64, u64, &str); 3] = [
        (0, 1000, 0, "ZeroAmount"),
        (1001, 1000, 0, "InsufficientBalance"),
        (10, 1000, u64::MAX - 5, "BalanceOverflow"),
    ];
    for (amount, contract_balance, recipient_balance, kind) in cases {
        let mut chain = probe().with_balance(RECIPIENT, recipient_balance);
        let contract = chain.contract();
        chain.set_balance(contract, contract_balance);
        chain
            .invoke(
                &Script::new()
                    .with_data(b"kv", |s, kv| {
                        s.call(op::STORAGE_WRITE, &[kv, Value(1), kv, Value(2)])
                    })
                    .with_data(&RECIPIENT.0, |s, to| {
                        s.call(op::TRANSFER, &[to, Value(amount)])
                    })
                    .build(0),
            )
            .expect(&[
                Check::abort(kind),
                // typed, not only by name: the refusal comes from the state layer
                Check::aborted_with(|e| matches!(e, Abort::Syscall(SyscallError::Storage(_)))),
                Check::unchanged(),
            ]);
    }
    let mut chain = probe();
    let contract = chain.contract();
    chain.set_balance(contract, 10);
    chain
        .invoke(
            &Script::new()
                .call(op::TRANSFER, &[Value(UNMAPPED), Value(1)])
                .build(0),
        )
        .expect(&access_violation());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any amount against any balance: the transfer happens exactly when the balance covers
    /// it and the recipient cannot overflow; otherwise nothing changes.
    #[test]
    fn transfers_of_any_amount_conserve_the_total(
        amount in strategies::amount(),
        balance in strategies::amount(),
        recipient_balance in strategies::amount(),
    ) {
        let mut chain = probe().with_balance(RECIPIENT, recipient_balance);
        let contract = chain.contract();
        chain.set_balance(contract, balance);
        let run = chain.invoke(
            &Script::new()
                .with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(amount)]))
                .build(0),
        );
        let possible = amount > 0
            && amount <= balance
            && recipient_balance.checked_add(amount).is_some();
        if possible {
            run.expect(&[
                Check::success(),
                Check::balance(contract, balance - amount),
                Check::balance(RECIPIENT, recipient_balance + amount),
            ]);
        } else {
            run.expect(&[Check::aborted(), Check::unchanged()]);
        }
    }
}

// ---- storage ------------------------------------------------------------------------------

#[test]
fn storage_write_read_delete_round_trip() {
    let mut script = Script::new();
    let key = script.data(b"color");
    let value = script.data(b"blue!");
    let missing = script.data(b"nope");
    let run = run(script
        .call(op::STORAGE_WRITE, &[key, Value(5), value, Value(5)])
        .call(op::STORAGE_READ, &[key, Value(5), Scratch(0), Value(64)])
        .call(op::STORAGE_READ, &[key, Value(5), Scratch(100), Value(2)]) // short buffer
        .call(
            op::STORAGE_READ,
            &[missing, Value(4), Scratch(200), Value(64)],
        )
        .call(op::ECHO_SCRATCH, &[Value(0), Value(6)])
        .call(op::ECHO_SCRATCH, &[Value(100), Value(3)])
        .call(op::STORAGE_DELETE, &[missing, Value(4)])
        .build(0));
    run.expect(&[Check::success(), Check::storage(b"color", b"blue!")]);
    assert_eq!(probe::results(&run), vec![0, 5, 5, u64::MAX, 0]);
    assert_eq!(
        probe::echoes(&run),
        vec![b"blue!\0".to_vec(), b"bl\0".to_vec()]
    );
    assert_eq!(run.effects.storage.len(), 1);
    assert_eq!(
        run.effects.storage[0].new.as_deref(),
        Some(hex::encode("blue!").as_str())
    );
}

#[test]
fn storage_delete_reports_whether_the_key_existed() {
    let mut script = Script::new();
    let key = script.data(b"gone");
    let run = probe().with_storage(b"gone", b"soon").invoke(
        &script
            .call(op::STORAGE_DELETE, &[key, Value(4)])
            .call(op::STORAGE_DELETE, &[key, Value(4)])
            .build(0),
    );
    run.expect(&[Check::success(), Check::storage_absent(b"gone")]);
    assert_eq!(probe::results(&run), vec![1, 0]);
}

#[test]
fn storage_refuses_oversized_keys_and_values() {
    run(Script::new()
        .call(
            op::STORAGE_WRITE,
            &[Scratch(0), Value(257), Scratch(0), Value(1)],
        )
        .build(0))
    .expect(&[
        Check::aborted_with(|e| matches!(e, Abort::Syscall(SyscallError::KeyTooLong { .. }))),
        Check::unchanged(),
    ]);
    run(Script::new()
        .call(
            op::STORAGE_READ,
            &[Scratch(0), Value(u64::MAX), Scratch(0), Value(1)],
        )
        .build(0))
    .expect(&refused("KeyTooLong"));
    run(Script::new()
        .call(
            op::STORAGE_WRITE,
            &[Scratch(0), Value(1), Scratch(0), Value(65_537)],
        )
        .build(0))
    .expect(&refused("ValueTooLong"));
    run(Script::new()
        .call(op::STORAGE_DELETE, &[Scratch(0), Value(300)])
        .build(0))
    .expect(&refused("KeyTooLong"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Keys at and beyond the limit: stored and read back exactly when they fit.
    #[test]
    fn storage_keys_up_to_the_limit_round_trip(key in strategies::storage_key_any()) {
        let mut script = Script::new();
        let k = script.data(&key);
        let len = key.len() as u64;
        let run = run(script
            .call(op::STORAGE_WRITE, &[k, Value(len), k, Value(len.min(64))])
            .build(0));
        if key.len() <= tos_vm::runtime::limits::MAX_STORAGE_KEY_LEN {
            run.expect(&[Check::success(), Check::storage(&key, &key[..key.len().min(64)])]);
        } else {
            run.expect(&refused("KeyTooLong"));
        }
    }
}

#[test]
fn storage_refuses_bad_pointers() {
    // value pointer out of bounds, after a successful write in the same invoke
    let mut script = Script::new();
    let key = script.data(b"k");
    run(script
        .call(op::STORAGE_WRITE, &[key, Value(1), key, Value(1)])
        .call(
            op::STORAGE_WRITE,
            &[key, Value(1), Value(UNMAPPED), Value(16)],
        )
        .build(0))
    .expect(&access_violation());
    // read into read-only memory
    probe()
        .with_storage(b"k", b"value")
        .invoke(
            &Script::new()
                .with_data(b"k", |s, k| {
                    s.call(
                        op::STORAGE_READ,
                        &[k, Value(1), Value(INPUT_START), Value(8)],
                    )
                })
                .build(0),
        )
        .expect(&access_violation());
    // key pointer wrapping
    run(Script::new()
        .call(op::STORAGE_DELETE, &[Value(u64::MAX), Value(2)])
        .build(0))
    .expect(&access_violation());
}

// ---- crypto -------------------------------------------------------------------------------

#[test]
fn hash_input_limit_is_checked_over_all_slices_before_any_charge() {
    // Two slices of 600 KiB each: together over the 1 MiB limit, and each longer than the heap
    // it points at. The call is refused for its size before anything is charged or read
    // (issue 18.12), not with an access violation after ~300,000 units.
    const SLICE: u64 = 600 * 1024;
    let heap = 0x3_0000_0000u64;
    let script = Script::new()
        .call(op::STORE_ADDRESS, &[Value(0), Value(heap)])
        .call(op::STORE_ADDRESS, &[Value(8), Value(SLICE)])
        .call(op::STORE_ADDRESS, &[Value(16), Value(heap)])
        .call(op::STORE_ADDRESS, &[Value(24), Value(SLICE)])
        .call(op::SHA256, &[Scratch(0), Value(2), Scratch(64)]);
    let refused = run(script.build(0));
    refused.expect(&[
        Check::aborted_with(|e| {
            matches!(
                e,
                Abort::Syscall(SyscallError::HashInputTooLong { len, limit: 1_048_576 })
                    if *len == 2 * SLICE
            )
        }),
        Check::unchanged(),
    ]);
    // The probe's own instructions cost a few thousand units (plus the load of its code, which
    // is charged by its loaded segments, not the file's length); the slices would cost 307,200.
    let code_load = tos_test_harness::code_load_cost(tos_test_harness::code_load_size(
        &tos_test_harness::probe::elf(),
    ));
    assert!(
        refused.compute_used.saturating_sub(code_load) < 20_000,
        "charged {} units before refusing",
        refused.compute_used
    );
}

// ---- failure discards everything ----------------------------------------------------------

fn write_and_transfer() -> Script {
    Script::new()
        .with_data(b"key", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(3), k, Value(3)])
        })
        .with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(5)]))
}

fn funded_probe() -> Harness {
    let mut chain = probe();
    let contract = chain.contract();
    chain.set_balance(contract, 100);
    chain
}

#[test]
fn nonzero_status_discards_writes_and_transfers() {
    let run = funded_probe().invoke(&write_and_transfer().build(7));
    run.expect(&[Check::error(7), Check::unchanged()]);
    assert_eq!(probe::results(&run), vec![0, 0], "both syscalls ran");
}

#[test]
fn compute_exhaustion_discards_writes_and_transfers() {
    funded_probe()
        .invoke(&write_and_transfer().call(op::SPIN, &[]).build(0))
        .expect(&[
            Check::aborted_with(|e| {
                matches!(
                    e,
                    Abort::Runtime(RuntimeError::ComputeBudgetExceeded { budget: BUDGET })
                )
            }),
            Check::compute_units(BUDGET),
            Check::unchanged(),
        ]);
}

#[test]
fn a_syscall_the_budget_cannot_pay_for_does_not_run() {
    // A 10 000-byte log costs 10 100 units; give the invoke less than that in total.
    let mut script = Script::new();
    let message = script.data(&[b'z'; 10_000]);
    let input = script.call(op::LOG, &[message, Value(10_000)]).build(0);
    probe().with_budget(5_000).invoke(&input).expect(&[
        Check::compute_exhausted(),
        Check::no_logs(),
        Check::compute_units(5_000),
        Check::unchanged(),
    ]);
}

// ---- mem ----------------------------------------------------------------------------------

#[test]
fn mem_ops_copy_move_fill_and_compare() {
    let mut script = Script::new();
    let source = script.data(b"abcdefgh");
    let run = run(script
        .call(op::MEMCPY, &[Scratch(0), source, Value(8)])
        .call(op::MEMMOVE, &[Scratch(2), Scratch(0), Value(6)]) // overlapping, forward
        .call(op::MEMSET, &[Scratch(8), Value(0x7A), Value(3)])
        .call(op::MEMCMP, &[Scratch(0), source, Value(2)])
        .call(op::MEMCMP, &[Scratch(0), source, Value(3)])
        .call(op::MEMCMP, &[source, Scratch(0), Value(3)])
        .call(op::ECHO_SCRATCH, &[Value(0), Value(12)])
        .build(0));
    run.expect(&[Check::success()]);
    // scratch: "ab" + "abcdef" + "zzz" + 0
    assert_eq!(probe::echoes(&run), vec![b"ababcdefzzz\0".to_vec()]);
    let results = probe::results(&run);
    let scratch = results[0];
    assert!(
        (0x2_0000_0000..0x3_0000_0000).contains(&scratch),
        "memcpy returns dst (on the stack)"
    );
    assert_eq!(&results[1..4], &[scratch + 2, scratch + 8, 0]);
    assert_eq!(results[4] as i64, i64::from(b'a') - i64::from(b'c'));
    assert_eq!(results[5] as i64, i64::from(b'c') - i64::from(b'a'));
}

#[test]
fn memcpy_refuses_overlap_and_bad_ranges() {
    run(Script::new()
        .call(op::MEMCPY, &[Scratch(4), Scratch(0), Value(8)])
        .build(0))
    .expect(&[Check::aborted_with(|e| {
        matches!(e, Abort::Syscall(SyscallError::CopyOverlapping))
    })]);
    run(Script::new()
        .call(op::MEMSET, &[Scratch(0), Value(0), Value(u64::MAX)])
        .build(0))
    .expect(&refused("MemOpTooLong"));
    for script in [
        Script::new().call(op::MEMCPY, &[Value(INPUT_START), Scratch(0), Value(4)]),
        Script::new().call(op::MEMSET, &[Value(RODATA), Value(1), Value(4)]),
        Script::new().call(op::MEMCMP, &[Value(UNMAPPED), Scratch(0), Value(4)]),
        // 600 bytes from scratch run past the probe's 512-byte buffer but stay on its stack
        // frame: allowed (the VM protects regions, not C objects); past the stack top is not.
        Script::new().call(
            op::MEMSET,
            &[Value(0x2_0000_0000 + 64 * 4096 - 8), Value(0), Value(16)],
        ),
    ] {
        run(script.build(0)).expect(&access_violation());
    }
}

// ---- random scripts -----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random syscall scripts with valid and hostile arguments from real C code: the harness
    /// fails the case if the engines disagree; a call that does not succeed changes nothing.
    #[test]
    fn random_probe_scripts_agree_under_both_engines(script in strategies::probe_script(8)) {
        let mut chain = probe().with_balance(RECIPIENT, 5);
        let contract = chain.contract();
        chain.set_balance(contract, 1_000);
        let run = chain.invoke(&script);
        if !run.is_success() {
            run.expect(&[Check::unchanged()]);
        }
        // The only typed errors hostile arguments may cause.
        if let Some(abort) = run.abort() {
            let expected = matches!(
                abort,
                Abort::Runtime(RuntimeError::AccessViolation(_))
                    | Abort::Syscall(
                        SyscallError::LogMessageTooLong { .. }
                            | SyscallError::KeyTooLong { .. }
                            | SyscallError::ValueTooLong { .. }
                            | SyscallError::MemOpTooLong { .. }
                            | SyscallError::CopyOverlapping
                            | SyscallError::Storage(
                                StorageError::ZeroAmount
                                    | StorageError::InsufficientBalance { .. }
                                    | StorageError::BalanceOverflow { .. }
                            )
                    )
            );
            prop_assert!(expected, "unexpected abort {abort:?}");
        }
    }
}

// ---- budget -------------------------------------------------------------------------------

#[test]
fn huge_budgets_run_the_same_under_both_engines() {
    // Budgets near u64::MAX used to end a JIT run at once (whole budget reported used) while
    // the interpreter ran it (issue 18.3): budgets are lowered to MAX_COMPUTE_BUDGET.
    for budget in [
        u64::MAX,
        u64::MAX - 500,
        tos_vm::runtime::limits::MAX_COMPUTE_BUDGET + 1,
    ] {
        Harness::new()
            .with_budget(budget)
            .deploy_named("probe", probe::elf())
            .invoke(
                &Script::new()
                    .with_data(b"big budget", |s, msg| s.call(op::LOG, &[msg, Value(10)]))
                    .build(0),
            )
            .expect(&[Check::success(), Check::log("big budget")]);
    }
}
