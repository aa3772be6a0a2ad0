//! Every syscall from real BPF code (the probe contract, built from C source), under both
//! engines: its success path and hostile arguments, each hostile case giving a typed error and
//! leaving the store unchanged.

mod common;

use common::*;
use tos_vm::{
    runtime::RuntimeError, storage::StorageError, syscalls::SyscallError, Hash, InvokeStatus,
    MemoryStorage, VmError, NATIVE_ASSET,
};

const BUDGET: u64 = 200_000;
/// Unmapped: between the heap and the input region.
const UNMAPPED: u64 = 0x3_8000_0000;
/// Inside the read-only data region (not NULL: address 8).
const RODATA: u64 = 8;
/// The input region: mapped, read-only.
const INPUT_START: u64 = 0x4_0000_0000;

fn run(input: Vec<u8>) -> Run {
    run_both(&probe_elf(), &input, BUDGET, |_, _| {})
}

fn run_with(input: Vec<u8>, setup: impl Fn(&mut MemoryStorage, Hash)) -> Run {
    run_both(&probe_elf(), &input, BUDGET, setup)
}

fn aborted(run: &Run) -> &VmError {
    match &run.outcome.status {
        InvokeStatus::Aborted(error) => error,
        other => panic!(
            "expected an abort, got {other:?} with logs {:?}",
            run.logs()
        ),
    }
}

fn assert_access_violation(run: &Run) {
    assert!(
        matches!(
            aborted(run),
            VmError::Runtime(RuntimeError::AccessViolation(_))
        ),
        "expected an access violation, got {:?}",
        aborted(run)
    );
    run.assert_unchanged();
}

// ---- log ----------------------------------------------------------------------------------

#[test]
fn log_records_the_message() {
    let run = run(Script::new()
        .with_data(b"hello probe", |s, msg| s.call(op::LOG, &[msg, Value(11)]))
        .build(0));
    assert!(is_success(&run.outcome.status));
    assert_eq!(
        run.logs(),
        vec!["hello probe".to_string(), "r=0000000000000000".to_string()]
    );
}

#[test]
fn log_refuses_bad_pointers_and_lengths() {
    assert_access_violation(&run(Script::new()
        .call(op::LOG, &[Value(UNMAPPED), Value(4)])
        .build(0)));
    assert_access_violation(&run(Script::new()
        .call(op::LOG, &[Value(0), Value(4)])
        .build(0)));
    // ptr + len wraps around the address space
    assert_access_violation(&run(Script::new()
        .call(op::LOG, &[Value(u64::MAX - 2), Value(8)])
        .build(0)));
    for len in [10_001, u64::MAX] {
        let r = run(Script::new()
            .with_data(b"x", |s, msg| s.call(op::LOG, &[msg, Value(len)]))
            .build(0));
        assert!(
            matches!(
                aborted(&r),
                VmError::Syscall(SyscallError::LogMessageTooLong { .. })
            ),
            "{:?}",
            aborted(&r)
        );
    }
}

#[test]
fn log_flooding_hits_the_per_invoke_limit() {
    let mut script = Script::new();
    let message = script.data(&[b'a'; 10_000]);
    for _ in 0..7 {
        script = script.call(op::LOG, &[message, Value(10_000)]);
    }
    let run = run(script.build(0));
    assert!(matches!(
        aborted(&run),
        VmError::Syscall(SyscallError::LogLimitExceeded { .. })
    ));
}

#[test]
fn panic_aborts_with_its_message() {
    let run = run_with(
        Script::new()
            .with_data(b"kkvv", |s, kv| {
                s.call(op::STORAGE_WRITE, &[kv, Value(2), kv, Value(4)])
            })
            .with_data(b"boom", |s, msg| s.call(op::PANIC, &[msg, Value(4)]))
            .build(0),
        |_, _| {},
    );
    match aborted(&run) {
        VmError::Syscall(SyscallError::ContractPanicked { message }) => assert_eq!(message, "boom"),
        other => panic!("{other:?}"),
    }
    run.assert_unchanged();
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
    assert!(is_success(&run.outcome.status), "{:?}", run.outcome.status);
    assert_eq!(run.results(), vec![0, 0, 0, 0, 42]);
    let echoes = run.echoes();
    assert_eq!(echoes[0], block().hash.0.to_vec());
    assert_eq!(echoes[1], TX_HASH.0.to_vec());
    assert_eq!(echoes[2], SENDER.0.to_vec());
    assert_eq!(echoes[3], run.contract.0.to_vec());
}

#[test]
fn chain_getters_refuse_unwritable_outputs() {
    for op in [
        op::BLOCK_HASH,
        op::TX_HASH,
        op::TX_SENDER,
        op::CONTRACT_HASH,
    ] {
        for target in [UNMAPPED, RODATA, INPUT_START, 0, u64::MAX - 4] {
            assert_access_violation(&run(Script::new().call(op, &[Value(target)]).build(0)));
        }
        // 32 bytes starting 16 bytes before the end of the scratch buffer's frame still fit
        // the stack, so take a pointer whose 32 bytes cross the stack's top instead.
        assert_access_violation(&run(Script::new()
            .call(op, &[Value(0x2_0000_0000 + 64 * 4096 - 16)])
            .build(0)));
    }
}

// ---- balance ------------------------------------------------------------------------------

const RECIPIENT: Hash = Hash([0xAA; 32]);

fn fund(store: &mut MemoryStorage, account: Hash, amount: u64) {
    store.set_balance(account, NATIVE_ASSET, amount);
}

#[test]
fn get_balance_reads_any_account() {
    let run = run_with(
        Script::new()
            .with_data(&RECIPIENT.0, |s, who| s.call(op::GET_BALANCE, &[who]))
            .build(0),
        |store, _| fund(store, RECIPIENT, 1234),
    );
    assert_eq!(run.results(), vec![1234]);
    assert_access_violation(&run_with(
        Script::new()
            .call(op::GET_BALANCE, &[Value(UNMAPPED)])
            .build(0),
        |_, _| {},
    ));
}

#[test]
fn transfer_moves_native_balance_and_reports_it() {
    let run = run_with(
        Script::new()
            .with_data(&RECIPIENT.0, |s, to| {
                s.call(op::TRANSFER, &[to, Value(300)])
            })
            .build(0),
        |store, contract| fund(store, contract, 1000),
    );
    assert!(is_success(&run.outcome.status), "{:?}", run.outcome.status);
    use tos_vm::StorageProvider;
    assert_eq!(
        run.after
            .read_balance(&run.contract, &NATIVE_ASSET)
            .unwrap(),
        700
    );
    assert_eq!(
        run.after.read_balance(&RECIPIENT, &NATIVE_ASSET).unwrap(),
        300
    );
    assert_eq!(run.outcome.effects.transfers.len(), 1);
    assert_eq!(run.outcome.effects.transfers[0].amount, 300);
    assert_eq!(run.outcome.effects.balances.len(), 2);
}

#[test]
fn transfer_refuses_zero_insufficient_and_overflowing_amounts() {
    let cases: [(u64, u64, u64); 3] = [(0, 1000, 0), (1001, 1000, 0), (10, 1000, u64::MAX - 5)];
    for (amount, contract_balance, recipient_balance) in cases {
        let run = run_with(
            Script::new()
                .with_data(b"kv", |s, kv| {
                    s.call(op::STORAGE_WRITE, &[kv, Value(1), kv, Value(2)])
                })
                .with_data(&RECIPIENT.0, |s, to| {
                    s.call(op::TRANSFER, &[to, Value(amount)])
                })
                .build(0),
            |store, contract| {
                fund(store, contract, contract_balance);
                if recipient_balance > 0 {
                    fund(store, RECIPIENT, recipient_balance);
                }
            },
        );
        let error = aborted(&run);
        let expected = match amount {
            0 => matches!(
                error,
                VmError::Syscall(SyscallError::Storage(StorageError::ZeroAmount))
            ),
            1001 => matches!(
                error,
                VmError::Syscall(SyscallError::Storage(
                    StorageError::InsufficientBalance { .. }
                ))
            ),
            _ => matches!(
                error,
                VmError::Syscall(SyscallError::Storage(StorageError::BalanceOverflow { .. }))
            ),
        };
        assert!(expected, "amount {amount}: {error:?}");
        run.assert_unchanged();
    }
    assert_access_violation(&run_with(
        Script::new()
            .call(op::TRANSFER, &[Value(UNMAPPED), Value(1)])
            .build(0),
        |store, contract| fund(store, contract, 10),
    ));
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
    assert!(is_success(&run.outcome.status), "{:?}", run.outcome.status);
    assert_eq!(run.results(), vec![0, 5, 5, u64::MAX, 0]);
    assert_eq!(run.echoes(), vec![b"blue!\0".to_vec(), b"bl\0".to_vec()]);
    use tos_vm::StorageProvider;
    assert_eq!(
        run.after.read_storage(&run.contract, b"color").unwrap(),
        Some(b"blue!".to_vec())
    );
    assert_eq!(run.outcome.effects.storage.len(), 1);
    assert_eq!(
        run.outcome.effects.storage[0].new.as_deref(),
        Some(hex::encode("blue!").as_str())
    );
}

#[test]
fn storage_delete_reports_whether_the_key_existed() {
    let mut script = Script::new();
    let key = script.data(b"gone");
    let run = run_with(
        script
            .call(op::STORAGE_DELETE, &[key, Value(4)])
            .call(op::STORAGE_DELETE, &[key, Value(4)])
            .build(0),
        |store, contract| store.set_storage(contract, b"gone", Some(b"soon")),
    );
    assert_eq!(run.results(), vec![1, 0]);
    use tos_vm::StorageProvider;
    assert_eq!(
        run.after.read_storage(&run.contract, b"gone").unwrap(),
        None
    );
}

#[test]
fn storage_refuses_oversized_keys_and_values() {
    let key_too_long = run(Script::new()
        .call(
            op::STORAGE_WRITE,
            &[Scratch(0), Value(257), Scratch(0), Value(1)],
        )
        .build(0));
    assert!(matches!(
        aborted(&key_too_long),
        VmError::Syscall(SyscallError::KeyTooLong { .. })
    ));
    key_too_long.assert_unchanged();
    let huge_key = run(Script::new()
        .call(
            op::STORAGE_READ,
            &[Scratch(0), Value(u64::MAX), Scratch(0), Value(1)],
        )
        .build(0));
    assert!(matches!(
        aborted(&huge_key),
        VmError::Syscall(SyscallError::KeyTooLong { .. })
    ));
    let value_too_long = run(Script::new()
        .call(
            op::STORAGE_WRITE,
            &[Scratch(0), Value(1), Scratch(0), Value(65_537)],
        )
        .build(0));
    assert!(matches!(
        aborted(&value_too_long),
        VmError::Syscall(SyscallError::ValueTooLong { .. })
    ));
    let delete_key = run(Script::new()
        .call(op::STORAGE_DELETE, &[Scratch(0), Value(300)])
        .build(0));
    assert!(matches!(
        aborted(&delete_key),
        VmError::Syscall(SyscallError::KeyTooLong { .. })
    ));
}

#[test]
fn storage_refuses_bad_pointers() {
    // value pointer out of bounds, after a successful write in the same invoke
    let mut script = Script::new();
    let key = script.data(b"k");
    let run1 = run(script
        .call(op::STORAGE_WRITE, &[key, Value(1), key, Value(1)])
        .call(
            op::STORAGE_WRITE,
            &[key, Value(1), Value(UNMAPPED), Value(16)],
        )
        .build(0));
    assert_access_violation(&run1);
    // read into read-only memory
    let run2 = run_with(
        Script::new()
            .with_data(b"k", |s, k| {
                s.call(
                    op::STORAGE_READ,
                    &[k, Value(1), Value(INPUT_START), Value(8)],
                )
            })
            .build(0),
        |store, contract| store.set_storage(contract, b"k", Some(b"value")),
    );
    assert_access_violation(&run2);
    // key pointer wrapping
    assert_access_violation(&run(Script::new()
        .call(op::STORAGE_DELETE, &[Value(u64::MAX), Value(2)])
        .build(0)));
}

// ---- failure discards everything ----------------------------------------------------------

fn write_and_transfer() -> Script {
    Script::new()
        .with_data(b"key", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(3), k, Value(3)])
        })
        .with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(5)]))
}

#[test]
fn nonzero_status_discards_writes_and_transfers() {
    let run = run_with(write_and_transfer().build(7), |store, contract| {
        fund(store, contract, 100)
    });
    assert!(matches!(
        run.outcome.status,
        InvokeStatus::Failed { code: 7 }
    ));
    assert_eq!(run.results(), vec![0, 0], "both syscalls ran");
    run.assert_unchanged();
}

#[test]
fn compute_exhaustion_discards_writes_and_transfers() {
    let run = run_with(
        write_and_transfer().call(op::SPIN, &[]).build(0),
        |store, contract| fund(store, contract, 100),
    );
    assert!(
        matches!(
            aborted(&run),
            VmError::Runtime(RuntimeError::ComputeBudgetExceeded { .. })
        ),
        "{:?}",
        aborted(&run)
    );
    assert_eq!(run.outcome.compute_used, BUDGET);
    run.assert_unchanged();
}

#[test]
fn a_syscall_the_budget_cannot_pay_for_does_not_run() {
    // A 10 000-byte log costs 10 100 units; give the invoke less than that in total.
    let mut script = Script::new();
    let message = script.data(&[b'z'; 10_000]);
    let input = script.call(op::LOG, &[message, Value(10_000)]).build(0);
    let run = run_both(&probe_elf(), &input, 5_000, |_, _| {});
    assert!(
        matches!(
            aborted(&run),
            VmError::Runtime(RuntimeError::ComputeBudgetExceeded { .. })
        ),
        "{:?}",
        aborted(&run)
    );
    assert!(run.logs().is_empty());
    assert_eq!(run.outcome.compute_used, 5_000);
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
    assert!(is_success(&run.outcome.status), "{:?}", run.outcome.status);
    // scratch: "ab" + "abcdef" + "zzz" + 0
    assert_eq!(run.echoes(), vec![b"ababcdefzzz\0".to_vec()]);
    let results = run.results();
    let scratch = results[0];
    assert!(
        scratch >= 0x2_0000_0000 && scratch < 0x3_0000_0000,
        "memcpy returns dst (on the stack)"
    );
    assert_eq!(&results[1..4], &[scratch + 2, scratch + 8, 0]);
    assert_eq!(results[4] as i64, i64::from(b'a') - i64::from(b'c'));
    assert_eq!(results[5] as i64, i64::from(b'c') - i64::from(b'a'));
}

#[test]
fn memcpy_refuses_overlap_and_bad_ranges() {
    let overlap = run(Script::new()
        .call(op::MEMCPY, &[Scratch(4), Scratch(0), Value(8)])
        .build(0));
    assert!(matches!(
        aborted(&overlap),
        VmError::Syscall(SyscallError::CopyOverlapping)
    ));
    let huge = run(Script::new()
        .call(op::MEMSET, &[Scratch(0), Value(0), Value(u64::MAX)])
        .build(0));
    assert!(matches!(
        aborted(&huge),
        VmError::Syscall(SyscallError::MemOpTooLong { .. })
    ));
    assert_access_violation(&run(Script::new()
        .call(op::MEMCPY, &[Value(INPUT_START), Scratch(0), Value(4)])
        .build(0)));
    assert_access_violation(&run(Script::new()
        .call(op::MEMSET, &[Value(RODATA), Value(1), Value(4)])
        .build(0)));
    assert_access_violation(&run(Script::new()
        .call(op::MEMCMP, &[Value(UNMAPPED), Scratch(0), Value(4)])
        .build(0)));
    // 600 bytes from scratch run past the probe's 512-byte buffer but stay on its stack frame:
    // allowed (the VM protects regions, not C objects); past the stack top is not.
    assert_access_violation(&run(Script::new()
        .call(
            op::MEMSET,
            &[Value(0x2_0000_0000 + 64 * 4096 - 8), Value(0), Value(16)],
        )
        .build(0)));
}
