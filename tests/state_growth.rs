//! State growth (issue 15 item 4): every outcome reports the bytes of state a call created and
//! freed, per contract and for balances, and the figures match what the store really gained
//! and lost when the change set was committed; an optional per-call limit on created bytes.

mod common;

use std::collections::BTreeMap;

use common::{op, probe_elf, Script, Value};
use tos_vm::{
    deploy_address, runtime::RuntimeError, AbortReason, ContractCall, Engine, Hash, InvokeOutcome,
    InvokeStatus, MemoryStorage, StateGrowth, StorageProvider, Vm, VmConfig, NATIVE_ASSET,
};

const ENGINES: [Engine; 2] = [Engine::Interpreter, Engine::Jit];
const RECIPIENT: Hash = Hash([0x71; 32]);

fn vm(engine: Engine) -> Vm {
    Vm::new(VmConfig {
        engine,
        ..VmConfig::default()
    })
}

/// What the store holds, in the entry sizes of `tos_vm::storage::growth`: per contract its
/// storage entries (32 + key + value) and its instance (64), all balance entries (72 each) and
/// all code (32 + ELF).
#[derive(Debug, Default, PartialEq, Eq)]
struct Held {
    contracts: BTreeMap<Hash, u64>,
    balances: u64,
    code: u64,
}

fn held(store: &MemoryStorage, contracts: &[Hash]) -> Held {
    let mut held = Held::default();
    for contract in contracts {
        let storage: u64 = store
            .storage_entries(contract)
            .iter()
            .map(|(key, value)| 32 + key.len() as u64 + value.len() as u64)
            .sum();
        let instance = if store.read_contract(contract).unwrap().is_some() {
            64
        } else {
            0
        };
        held.contracts.insert(*contract, storage + instance);
    }
    held.balances = store.balances().len() as u64 * 72;
    held.code = store
        .code_hashes()
        .iter()
        .map(|hash| 32 + store.read_code(hash).unwrap().unwrap().len() as u64)
        .sum();
    held
}

/// Asserts that `growth`'s net figures are what the store gained between `before` and `after`.
fn assert_matches_store(growth: &StateGrowth, before: &Held, after: &Held, what: &str) {
    for (contract, after_bytes) in &after.contracts {
        let gained = i128::from(*after_bytes) - i128::from(before.contracts[contract]);
        let reported = growth
            .contracts
            .get(contract)
            .map_or(0, |growth| growth.net_bytes());
        assert_eq!(reported, gained, "{what}: contract {contract}");
    }
    assert_eq!(
        growth.balances.net_bytes(),
        i128::from(after.balances) - i128::from(before.balances),
        "{what}: balances"
    );
    assert_eq!(
        growth.code.net_bytes(),
        i128::from(after.code) - i128::from(before.code),
        "{what}: code"
    );
}

fn invoking(script: Script, callee: &Hash, callee_script: Vec<u8>) -> Script {
    let len = callee_script.len() as u64;
    script.with_data(&callee.0, |s, hash| {
        s.with_data(&callee_script, |s, input| {
            s.call(op::INVOKE, &[hash, input, Value(len), Value(0)])
        })
    })
}

/// Two probe instances (caller, callee) with some storage and balances.
fn world(node: &Vm) -> (MemoryStorage, Hash, Hash) {
    let mut store = MemoryStorage::default();
    let elf = probe_elf();
    let caller = node
        .deploy(
            &elf,
            deploy_address(&Hash([1; 32]), &Hash([1; 32])),
            &mut store,
        )
        .expect("deploys")
        .contract;
    let callee = node
        .deploy(
            &elf,
            deploy_address(&Hash([1; 32]), &Hash([2; 32])),
            &mut store,
        )
        .expect("deploys")
        .contract;
    store.set_storage(caller, b"grows", Some(b"ab"));
    store.set_storage(caller, b"shrinks", Some(b"0123456789"));
    store.set_storage(caller, b"deleted", Some(b"old value"));
    store.set_storage(callee, b"callee gone", Some(b"xyz"));
    store.set_balance(caller, NATIVE_ASSET, 1_000);
    store.set_balance(callee, NATIVE_ASSET, 5);
    (store, caller, callee)
}

fn invoke(node: &Vm, store: &mut MemoryStorage, call: &ContractCall) -> InvokeOutcome {
    node.invoke(call, &common::block(), store).expect("runs")
}

#[test]
fn growth_matches_what_the_store_gained_and_lost_nested_calls_included() {
    let mut outcomes = Vec::new();
    for engine in ENGINES {
        let node = vm(engine);
        let (mut store, caller, callee) = world(&node);
        // The callee writes a key of its own, deletes one and sends its whole balance away
        // (its balance entry is freed).
        let callee_script = Script::new().storage_write(b"callee key", b"0123456789abcdef");
        let callee_script = callee_script
            .storage_delete(b"callee gone")
            .with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(5)]))
            .build(0);
        let script = Script::new().storage_write(b"new", b"a new value");
        let script = script.storage_write(b"grows", b"abcdefgh");
        let script = script.storage_write(b"shrinks", b"0");
        let script = script.storage_delete(b"deleted");
        // A key written and deleted again leaves nothing.
        let script = script.storage_write(b"temporary", b"t");
        let script = script.storage_delete(b"temporary");
        let script = script.with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(30)]));
        let script = invoking(script, &callee, callee_script);
        let contracts = [caller, callee];
        let before = held(&store, &contracts);
        let outcome = invoke(
            &node,
            &mut store,
            &ContractCall::new(caller, script.build(0)),
        );
        assert!(outcome.status.is_success(), "{:?}", outcome.status);
        let after = held(&store, &contracts);
        let growth = &outcome.growth;
        assert_matches_store(growth, &before, &after, &format!("{engine:?}"));
        // The gross figures, by hand: the caller created a key (32 + 3 + 11) and grew one by
        // 6, freed 9 by shrinking one and a whole entry (32 + 7 + 9).
        assert_eq!(growth.contracts[&caller].created_bytes, 46 + 6);
        assert_eq!(growth.contracts[&caller].freed_bytes, 9 + 48);
        assert_eq!(growth.contracts[&callee].created_bytes, 32 + 10 + 16);
        assert_eq!(growth.contracts[&callee].freed_bytes, 32 + 11 + 3);
        // The recipient's balance entry is new; the callee's is gone.
        assert_eq!(growth.balances.created_bytes, 72);
        assert_eq!(growth.balances.freed_bytes, 72);
        assert_eq!(growth.created_bytes(), 52 + 58 + 72);
        assert_eq!(growth.freed_bytes(), 57 + 46 + 72);
        outcomes.push(format!("{growth:?}"));
    }
    assert_eq!(
        outcomes[0], outcomes[1],
        "both engines report the same growth"
    );
}

#[test]
fn a_call_that_only_deletes_reports_the_freed_bytes() {
    for engine in ENGINES {
        let node = vm(engine);
        let (mut store, caller, callee) = world(&node);
        let script = Script::new().storage_delete(b"shrinks");
        let script = script.storage_delete(b"deleted");
        let contracts = [caller, callee];
        let before = held(&store, &contracts);
        let outcome = invoke(
            &node,
            &mut store,
            &ContractCall::new(caller, script.build(0)),
        );
        assert!(outcome.status.is_success(), "{:?}", outcome.status);
        let after = held(&store, &contracts);
        assert_matches_store(&outcome.growth, &before, &after, &format!("{engine:?}"));
        assert_eq!(outcome.growth.created_bytes(), 0);
        assert_eq!(
            outcome.growth.freed_bytes(),
            before.contracts[&caller] - after.contracts[&caller]
        );
        assert_eq!(outcome.growth.freed_bytes(), (32 + 7 + 10) + (32 + 7 + 9));
    }
}

#[test]
fn a_failed_call_and_a_call_that_changes_nothing_report_no_growth() {
    for engine in ENGINES {
        let node = vm(engine);
        let (mut store, caller, _) = world(&node);
        let before = store.clone();
        let failed = Script::new().storage_write(b"new", b"value").build(3);
        let outcome = invoke(&node, &mut store, &ContractCall::new(caller, failed));
        assert!(!outcome.status.is_success());
        assert!(outcome.growth.is_empty());
        assert_eq!(store, before);
        let reads = Script::new().build(0);
        let outcome = invoke(&node, &mut store, &ContractCall::new(caller, reads));
        assert!(outcome.status.is_success());
        assert!(outcome.growth.is_empty());
    }
}

#[test]
fn a_deploy_reports_its_code_and_instance_and_the_second_instance_only_itself() {
    for engine in ENGINES {
        let node = vm(engine);
        let elf = probe_elf();
        let mut store = MemoryStorage::default();
        let first_address = deploy_address(&Hash([1; 32]), &Hash([1; 32]));
        let second_address = deploy_address(&Hash([1; 32]), &Hash([2; 32]));
        let contracts = [first_address, second_address];
        let before = held(&store, &contracts);
        let first = node
            .deploy(&elf, first_address, &mut store)
            .expect("deploys");
        let middle = held(&store, &contracts);
        assert_matches_store(&first.growth, &before, &middle, "first deploy");
        assert_eq!(first.growth.code.created_bytes, 32 + elf.len() as u64);
        assert_eq!(first.growth.contracts[&first_address].created_bytes, 64);
        let second = node
            .deploy(&elf, second_address, &mut store)
            .expect("deploys");
        let after = held(&store, &contracts);
        assert_matches_store(&second.growth, &middle, &after, "second deploy");
        assert!(second.code_reused);
        assert_eq!(second.growth.created_bytes(), 64);
    }
}

#[test]
fn the_created_bytes_limit_refuses_a_call_past_it_and_commits_nothing() {
    for engine in ENGINES {
        let node = vm(engine);
        let (mut store, caller, _) = world(&node);
        let script = Script::new().storage_write(b"new", b"a new value").build(0);
        let created = 32 + 3 + 11;
        let mut call = ContractCall::new(caller, script);
        call.created_bytes_limit = Some(created - 1);
        let before = store.clone();
        let outcome = invoke(&node, &mut store, &call);
        assert!(
            matches!(
                &outcome.status,
                InvokeStatus::Aborted(AbortReason::Runtime(RuntimeError::CreatedBytesLimitExceeded {
                    created: c,
                    limit: l,
                })) if *c == created && *l == created - 1
            ),
            "{engine:?}: {:?}",
            outcome.status
        );
        assert!(outcome.changes.is_empty());
        assert!(outcome.growth.is_empty());
        assert!(outcome.compute_used > 0, "the work done is still charged");
        assert_eq!(store, before, "nothing committed");
        // At the limit: runs and commits.
        call.created_bytes_limit = Some(created);
        let outcome = invoke(&node, &mut store, &call);
        assert!(outcome.status.is_success(), "{:?}", outcome.status);
        assert_eq!(outcome.growth.created_bytes(), created);
        assert_eq!(
            store.read_storage(&caller, b"new").unwrap(),
            Some(b"a new value".to_vec())
        );
    }
}

#[test]
fn block_receipts_carry_the_deploy_units_and_the_state_growth() {
    use tos_vm::{
        execute_block, BlockContext, CallTarget, DeployContractPayload, ReplayOptions, Transaction,
    };
    let elf = probe_elf();
    let mut bad = elf.clone();
    bad[0] = 0;
    let sender = Hash([0x5E; 32]);
    let transactions = vec![
        Transaction::Deploy {
            sender,
            payload: DeployContractPayload::new(elf.clone()),
        },
        Transaction::Call {
            sender,
            contract: CallTarget::DeployedBy(0),
            input: Script::new().storage_write(b"key", b"value").build(0),
            deposits: Default::default(),
            compute_limit: None,
        },
        Transaction::Deploy {
            sender,
            payload: DeployContractPayload::new(bad.clone()),
        },
    ];
    for engine in ENGINES {
        let store = MemoryStorage::default();
        let block = BlockContext {
            height: 1,
            ..BlockContext::default()
        };
        let execution = execute_block(
            &vm(engine),
            &block,
            &transactions,
            &store,
            &ReplayOptions::default(),
        )
        .expect("executes");
        let [deploy, call, refused] = &execution.transactions[..] else {
            panic!("three receipts");
        };
        assert_eq!(deploy.deploy_units, tos_vm::deploy_cost(&elf));
        assert_eq!(deploy.growth.code.created_bytes, 32 + elf.len() as u64);
        assert_eq!(call.deploy_units, 0);
        assert_eq!(call.growth.created_bytes(), 32 + 3 + 5);
        assert_eq!(refused.deploy_units, tos_vm::deploy_cost(&bad));
        assert!(refused.deploy_units > 0 && refused.growth.is_empty());
    }
}
