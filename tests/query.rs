//! `Vm::query`: a read-only call at the current state (or at a sealed height), committing
//! nothing; every writing syscall fails with `WriteInReadOnlyCall` before it does anything, the
//! same under the interpreter and the JIT, and the store is left exactly as it was.

use tos_test_harness::probe::{self, op, Script, Value};
use tos_vm::runtime::RuntimeError;
use tos_vm::{
    deploy_address, native_deposit, AbortReason, BlockContext, ContractCall, Engine, Hash,
    InvokeStatus, MemoryStorage, QueryOutcome, StorageProvider, Vm, VmConfig, NATIVE_ASSET,
};

const BUDGET: u64 = 200_000;
const USER: Hash = Hash([0x11; 32]);
const RECIPIENT: Hash = Hash([0xAA; 32]);

fn vm(engine: Engine) -> Vm {
    Vm::new(VmConfig {
        engine,
        compute_budget: BUDGET,
    })
}

/// A store with the probe deployed, holding key "k" = "v0" and 1000 native units.
fn setup() -> (MemoryStorage, Hash) {
    let mut store = MemoryStorage::default();
    let vm = vm(Engine::Interpreter);
    let probe_address = deploy_address(&USER, &Hash([1; 32]));
    vm.deploy(&probe::elf(), probe_address, &mut store)
        .map(|deployed| deployed.contract)
        .expect("probe deploys");
    store.set_balance(probe_address, NATIVE_ASSET, 1000);
    let write = Script::new()
        .with_data(b"kv0", |s, d| {
            s.call(op::STORAGE_WRITE, &[d, Value(1), offset(d, 1), Value(2)])
        })
        .build(0);
    let outcome = vm
        .invoke(
            &ContractCall::new(probe_address, write),
            &BlockContext::default(),
            &mut store,
        )
        .expect("runs");
    assert!(outcome.status.is_success(), "{:?}", outcome.status);
    (store, probe_address)
}

/// `arg` moved `by` bytes further into the script's data.
fn offset(arg: probe::Arg, by: usize) -> probe::Arg {
    match arg {
        probe::Data(at) => probe::Data(at + by),
        other => other,
    }
}

/// Runs the query under both engines; they must agree on everything.
fn query_both(store: &dyn StorageProvider, call: &ContractCall) -> QueryOutcome {
    let run = |engine| {
        vm(engine)
            .query(store, call, &BlockContext::default(), BUDGET)
            .expect("query starts")
    };
    let interpreted = run(Engine::Interpreter);
    let jitted = run(Engine::Jit);
    assert_eq!(
        format!("{:?}", interpreted.status),
        format!("{:?}", jitted.status)
    );
    assert_eq!(interpreted.compute_used, jitted.compute_used);
    assert_eq!(interpreted.logs, jitted.logs);
    assert_eq!(
        interpreted.return_data.as_ref().map(|r| r.data.clone()),
        jitted.return_data.as_ref().map(|r| r.data.clone())
    );
    interpreted
}

/// What a query must leave as it was: a storage value, two balances, the probe's keys.
type Snapshot = (Option<Vec<u8>>, u64, u64, Vec<(Vec<u8>, Vec<u8>)>);

fn snapshot(store: &MemoryStorage, probe: &Hash) -> Snapshot {
    (
        store.read_storage(probe, b"k").expect("reads"),
        store.read_balance(probe, &NATIVE_ASSET).expect("reads"),
        store
            .read_balance(&RECIPIENT, &NATIVE_ASSET)
            .expect("reads"),
        store
            .list_storage_at(probe, store.block_height())
            .expect("lists"),
    )
}

#[test]
fn a_query_reads_and_answers() {
    let (store, probe_address) = setup();
    let read = Script::new()
        .with_data(b"k", |s, key| {
            s.call(
                op::STORAGE_READ,
                &[key, Value(1), probe::Scratch(0), Value(16)],
            )
            .call(op::SET_RETURN_DATA, &[probe::Scratch(0), Value(2)])
        })
        .build(0);
    let outcome = query_both(&store, &ContractCall::new(probe_address, read));
    assert!(outcome.status.is_success(), "{:?}", outcome.status);
    assert_eq!(outcome.return_data.map(|r| r.data), Some(b"v0".to_vec()));
    assert!(outcome.compute_used > 0);
}

#[test]
fn every_write_in_a_query_is_refused_and_changes_nothing() {
    let (store, probe_address) = setup();
    let before = snapshot(&store, &probe_address);
    let scripts: Vec<(&str, Vec<u8>)> = vec![
        (
            "tos_storage_write",
            Script::new()
                .with_data(b"kzz", |s, d| {
                    s.call(op::STORAGE_WRITE, &[d, Value(1), offset(d, 1), Value(2)])
                })
                .build(0),
        ),
        (
            "tos_storage_delete",
            Script::new()
                .with_data(b"k", |s, d| s.call(op::STORAGE_DELETE, &[d, Value(1)]))
                .build(0),
        ),
        (
            "a transfer",
            Script::new()
                .with_data(&RECIPIENT.0, |s, d| s.call(op::TRANSFER, &[d, Value(5)]))
                .build(0),
        ),
        (
            "a transfer",
            Script::new()
                .with_data(&[RECIPIENT.0, NATIVE_ASSET.0].concat(), |s, d| {
                    s.call(op::TRANSFER_ASSET, &[d, offset(d, 32), Value(5)])
                })
                .build(0),
        ),
        (
            "tos_emit_event",
            Script::new()
                .with_data(b"topicdata", |s, d| {
                    s.call(op::EMIT_EVENT, &[d, Value(5), offset(d, 5), Value(4)])
                })
                .build(0),
        ),
        (
            "tos_create_contract",
            Script::new()
                .with_data(&[[7u8; 32], [8u8; 32]].concat(), |s, d| {
                    s.call(
                        op::CREATE_CONTRACT,
                        &[d, offset(d, 32), d, Value(0), probe::Scratch(0)],
                    )
                })
                .build(0),
        ),
        (
            "tos_invoke with value",
            Script::new()
                .with_data(&probe_address.0, |s, d| {
                    s.call(op::INVOKE, &[d, d, Value(0), Value(1)])
                })
                .build(0),
        ),
    ];
    for (expected, input) in scripts {
        let outcome = query_both(&store, &ContractCall::new(probe_address, input.clone()));
        match &outcome.status {
            InvokeStatus::Aborted(AbortReason::Runtime(RuntimeError::WriteInReadOnlyCall {
                operation,
            })) => assert_eq!(*operation, expected),
            other => panic!("{expected}: expected a refused write, got {other:?}"),
        }
        assert_eq!(snapshot(&store, &probe_address), before, "{expected}");
        // The same script as an ordinary call is not refused for being a write (it may fail
        // for its own reasons, e.g. the self-invoke's reentrancy; never as read-only).
        let invoked = vm(Engine::Interpreter)
            .execute(
                &ContractCall::new(probe_address, input),
                &BlockContext::default(),
                &store,
            )
            .expect("runs");
        assert!(
            !matches!(
                invoked.status,
                InvokeStatus::Aborted(AbortReason::Runtime(
                    RuntimeError::WriteInReadOnlyCall { .. }
                ))
            ),
            "{expected}"
        );
    }
}

#[test]
fn a_query_with_deposits_is_refused_before_the_contract_runs() {
    let (store, probe_address) = setup();
    let mut call = ContractCall::new(probe_address, Script::new().build(0));
    call.sender = USER;
    call.deposits = native_deposit(1);
    let outcome = query_both(&store, &call);
    assert!(
        matches!(
            outcome.status,
            InvokeStatus::Aborted(AbortReason::Runtime(RuntimeError::WriteInReadOnlyCall {
                operation: "a deposit"
            }))
        ),
        "{:?}",
        outcome.status
    );
    // Only the load of the probe's code (paid before the deposits move) was charged.
    assert_eq!(
        outcome.compute_used,
        tos_test_harness::code_load_cost(tos_test_harness::code_load_size(&probe::elf()))
    );
}

#[test]
fn a_query_reads_a_sealed_height() {
    let (mut store, probe_address) = setup();
    let vm = vm(Engine::Interpreter);
    let write = |value: &'static [u8]| {
        Script::new()
            .with_data(&[b"k", value].concat(), |s, d| {
                s.call(op::STORAGE_WRITE, &[d, Value(1), offset(d, 1), Value(2)])
            })
            .build(0)
    };
    for (height, value) in [(1, b"v1"), (2, b"v2")] {
        let outcome = vm
            .execute(
                &ContractCall::new(probe_address, write(value)),
                &BlockContext::default(),
                &store,
            )
            .expect("runs");
        assert!(outcome.status.is_success());
        store
            .commit_block(height, &outcome.changes)
            .expect("commits");
    }
    let read = Script::new()
        .with_data(b"k", |s, key| {
            s.call(
                op::STORAGE_READ,
                &[key, Value(1), probe::Scratch(0), Value(16)],
            )
            .call(op::SET_RETURN_DATA, &[probe::Scratch(0), Value(2)])
        })
        .build(0);
    let call = ContractCall::new(probe_address, read);
    let at = |height| {
        let view = store.at(height).expect("readable height");
        query_both(&view, &call).return_data.map(|r| r.data)
    };
    assert_eq!(at(1), Some(b"v1".to_vec()));
    assert_eq!(at(2), Some(b"v2".to_vec()));
    let latest = query_both(&store, &call);
    assert_eq!(latest.return_data.map(|r| r.data), Some(b"v2".to_vec()));
    assert_eq!(store.block_height(), 2, "a query makes no block");
}
