//! State acceptance tests: a contract that writes storage, transfers and then fails leaves the
//! on-disk store byte-for-byte unchanged; the same contract succeeding produces exactly the
//! effects it reported. Both engines.

mod common;

use common::*;
use tos_vm::{
    BlockContext, ContractCall, DiskStorage, Engine, InvokeStatus, StorageProvider, Vm, VmConfig,
    NATIVE_ASSET,
};

const RECIPIENT: tos_vm::Hash = tos_vm::Hash([0xAA; 32]);

/// Writes two keys, deletes a third, transfers 30 to RECIPIENT, then ends with `ending`.
fn script(ending: fn(Script) -> Vec<u8>) -> Vec<u8> {
    let script = Script::new()
        .with_data(b"alpha", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(5), k, Value(5)])
        })
        .with_data(b"beta", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(4), k, Value(2)])
        })
        .with_data(b"gone", |s, k| s.call(op::STORAGE_DELETE, &[k, Value(4)]))
        .with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(30)]));
    ending(script)
}

/// blake3 of every file of the store directory (a hash keeps failure messages short).
fn state_file(dir: &std::path::Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for file in files.iter().filter(|p| p.is_file()) {
        hasher.update(&std::fs::read(file).unwrap());
    }
    hasher.finalize().to_hex().to_string()
}

/// Sets up a disk store with the probe deployed, funded and holding a key `gone`.
fn prepared(engine: Engine, budget: u64) -> (tempfile::TempDir, Vm, tos_vm::Hash) {
    let dir = tempfile::tempdir().unwrap();
    let vm = Vm::new(VmConfig {
        engine,
        compute_budget: budget,
    });
    let mut store = DiskStorage::open(dir.path()).unwrap();
    let contract = vm
        .deploy(
            &probe_elf(),
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&probe_elf())),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .unwrap();
    let mut setup = tos_vm::ChangeSet::default();
    setup.set_balance(contract, NATIVE_ASSET, 100);
    setup.set_storage(contract, b"gone".to_vec(), Some(b"here".to_vec()));
    store.commit(&setup).unwrap();
    (dir, vm, contract)
}

#[test]
fn failing_after_writes_and_transfers_leaves_the_store_byte_for_byte_unchanged() {
    // How each failing script ends, by name.
    type Ending = (&'static str, fn(Script) -> Vec<u8>);
    let endings: [Ending; 3] = [
        ("non-zero status", |s| s.build(3)),
        ("abort", |s| {
            s.with_data(b"no", |s, m| s.call(op::PANIC, &[m, Value(2)]))
                .build(0)
        }),
        ("compute exhausted", |s| s.call(op::SPIN, &[]).build(0)),
    ];
    for engine in [Engine::Interpreter, Engine::Jit] {
        for (name, ending) in endings {
            // Opening a redb database rewrites its header, so the control is a second,
            // identical store opened and closed without the invoke.
            let (control, _, _) = prepared(engine, 100_000);
            drop(DiskStorage::open(control.path()).unwrap());
            let before = state_file(control.path());
            let (dir, vm, contract) = prepared(engine, 100_000);
            {
                let mut store = DiskStorage::open(dir.path()).unwrap();
                let call = ContractCall::new(contract, script(ending));
                let outcome = vm
                    .invoke(&call, &BlockContext::default(), &mut store)
                    .unwrap();
                assert!(!outcome.status.is_success(), "{name}: {:?}", outcome.status);
                assert!(
                    outcome.effects.is_empty() && outcome.changes.is_empty(),
                    "{name}"
                );
                assert_eq!(outcome.logs.len(), 4, "{name}: the four syscalls ran first");
            }
            assert_eq!(
                before,
                state_file(dir.path()),
                "{name} under {engine:?} changed the store file"
            );
        }
    }
}

#[test]
fn the_byte_for_byte_check_sees_a_successful_invoke() {
    // Positive control for the test above: the same script ending in success does change
    // the file, so equal hashes there mean "nothing written", not "nothing noticed".
    let (control, _, _) = prepared(Engine::Jit, 100_000);
    drop(DiskStorage::open(control.path()).unwrap());
    let (dir, vm, contract) = prepared(Engine::Jit, 100_000);
    {
        let mut store = DiskStorage::open(dir.path()).unwrap();
        let call = ContractCall::new(contract, script(|s| s.build(0)));
        let outcome = vm
            .invoke(&call, &BlockContext::default(), &mut store)
            .unwrap();
        assert!(outcome.status.is_success());
    }
    assert_ne!(state_file(control.path()), state_file(dir.path()));
}

#[test]
fn succeeding_produces_exactly_the_reported_effects() {
    let mut reports = Vec::new();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let (dir, vm, contract) = prepared(engine, 100_000);
        let mut store = DiskStorage::open(dir.path()).unwrap();
        let storage_before = store.list_storage(&contract).unwrap();
        let call = ContractCall::new(contract, script(|s| s.build(0)));
        let outcome = vm
            .invoke(&call, &BlockContext::default(), &mut store)
            .unwrap();
        assert!(
            matches!(outcome.status, InvokeStatus::Success),
            "{:?}",
            outcome.status
        );

        // The reported storage diffs, applied to the state before, give the state after.
        let mut expected: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
            storage_before.into_iter().collect();
        for change in &outcome.effects.storage {
            assert_eq!(change.contract, contract.to_hex());
            let key = hex::decode(&change.key).unwrap();
            let old = expected.get(&key).map(hex::encode);
            assert_eq!(old, change.old, "reported old value of {}", change.key);
            match &change.new {
                Some(new) => expected.insert(key, hex::decode(new).unwrap()),
                None => expected.remove(&key),
            };
        }
        let actual: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
            store.list_storage(&contract).unwrap().into_iter().collect();
        assert_eq!(actual, expected);
        assert_eq!(outcome.effects.storage.len(), 3);
        // Balances: exactly the reported ones changed, to the reported values.
        for change in &outcome.effects.balances {
            let account = tos_vm::Hash::from_hex(&change.account).unwrap();
            assert_eq!(
                store.read_balance(&account, &NATIVE_ASSET).unwrap(),
                change.new
            );
        }
        assert_eq!(store.read_balance(&contract, &NATIVE_ASSET).unwrap(), 70);
        assert_eq!(store.read_balance(&RECIPIENT, &NATIVE_ASSET).unwrap(), 30);
        assert_eq!(outcome.effects.transfers.len(), 1);
        reports.push((format!("{:?}", outcome.effects), outcome.compute_used));
    }
    assert_eq!(
        reports[0], reports[1],
        "engines report the same effects and compute"
    );
}

mod supply {
    use super::*;
    use proptest::prelude::*;
    use tos_vm::{Hash, MemoryStorage};

    fn total(store: &MemoryStorage) -> u128 {
        store.total_supply(&NATIVE_ASSET)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever a contract transfers — to itself, to others, more than it has, zero,
        /// amounts near u64::MAX — and however the invoke ends, the native supply is unchanged.
        #[test]
        fn every_invoke_conserves_total_supply(
            funding in prop::collection::vec(0u64..=u64::MAX / 4, 3),
            transfers in prop::collection::vec((0usize..4, prop_oneof![Just(0u64), 1u64..1000, Just(u64::MAX / 2), Just(u64::MAX)]), 0..6),
            status in prop_oneof![Just(0u64), Just(1u64)],
            engine in prop_oneof![Just(Engine::Interpreter), Just(Engine::Jit)],
        ) {
            let vm = Vm::new(VmConfig { engine, compute_budget: 200_000 });
            let mut store = MemoryStorage::default();
            let contract = vm.deploy(&probe_elf(), tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&probe_elf())), &mut store).map(|deployed| deployed.contract).unwrap();
            let accounts = [contract, Hash([1; 32]), Hash([2; 32]), Hash([3; 32])];
            for (account, amount) in accounts.iter().skip(1).zip(&funding) {
                store.set_balance(*account, NATIVE_ASSET, *amount);
            }
            store.set_balance(contract, NATIVE_ASSET, funding[0] / 2);
            let supply = total(&store);
            let mut script = Script::new();
            for (to, amount) in &transfers {
                let recipient = script.data(&accounts[*to].0);
                script = script.call(op::TRANSFER, &[recipient, Value(*amount)]);
            }
            let outcome = vm.invoke(&ContractCall::new(contract, script.build(status)), &BlockContext::default(), &mut store).unwrap();
            prop_assert_eq!(total(&store), supply, "status {:?}", outcome.status);
        }
    }
}

/// Call memory is reused between calls on a thread: a call must never see what an earlier
/// call left on its stack or heap.
#[test]
fn a_call_never_sees_an_earlier_calls_stack_or_heap() {
    use tos_test_harness::elf::assemble;
    let writer = assemble(
        "lddw r1, 0x300000000\n\
         mov64 r2, 0x5a5a\n\
         stxdw [r1+64], r2\n\
         stxdw [r10-8], r2\n\
         mov64 r0, 0\n\
         exit",
    )
    .unwrap();
    let reader = assemble(
        "lddw r1, 0x300000000\n\
         ldxdw r0, [r1+64]\n\
         ldxdw r2, [r10-8]\n\
         add64 r0, r2\n\
         exit",
    )
    .unwrap();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = Vm::new(VmConfig {
            engine,
            compute_budget: 100_000,
        });
        let mut store = tos_vm::MemoryStorage::default();
        let writer = vm
            .deploy(
                &writer,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&writer)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .unwrap();
        let reader = vm
            .deploy(
                &reader,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&reader)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .unwrap();
        for _ in 0..3 {
            let wrote = vm
                .execute(
                    &ContractCall::new(writer, vec![]),
                    &BlockContext::default(),
                    &store,
                )
                .unwrap();
            assert!(wrote.status.is_success(), "{:?}", wrote.status);
            let read = vm
                .execute(
                    &ContractCall::new(reader, vec![]),
                    &BlockContext::default(),
                    &store,
                )
                .unwrap();
            assert!(
                read.status.is_success(),
                "{engine:?}: the reader saw {:?}",
                read.status
            );
        }
    }
}

/// Stack and heap are exposed lazily and zeroed on first touch (docs/performance.md): deep
/// frames, later heap pages and pages first reached by a syscall must read as zero on every
/// call, whatever an earlier call wrote there, and the end of each region still faults.
#[test]
fn lazily_exposed_pages_start_zeroed_and_end_where_the_buffer_ends() {
    use tos_test_harness::elf::assemble;
    let dirty = assemble(
        "lddw r1, 0x300000000\n\
         mov64 r2, 0x5a5a\n\
         stxdw [r1+64], r2\n\
         stxdw [r1+20000], r2\n\
         stxdw [r1+28672], r2\n\
         stxdw [r10-8], r2\n\
         call deeper\n\
         mov64 r0, 0\n\
         exit\n\
         deeper:\n\
         mov64 r2, 0x5a5a\n\
         stxdw [r10-8], r2\n\
         stxdw [r10-4000], r2\n\
         exit",
    )
    .unwrap();
    let reads_zeros = assemble(
        "lddw r1, 0x300000000\n\
         ldxdw r0, [r1+64]\n\
         ldxdw r2, [r1+20000]\n\
         or64 r0, r2\n\
         ldxdw r2, [r10-8]\n\
         or64 r0, r2\n\
         call deeper\n\
         or64 r0, r3\n\
         exit\n\
         deeper:\n\
         ldxdw r3, [r10-8]\n\
         ldxdw r4, [r10-4000]\n\
         or64 r3, r4\n\
         exit",
    )
    .unwrap();
    // A syscall writes the block hash into a heap page the contract never touched.
    let syscall_first = assemble(
        "lddw r1, 0x300007000\n\
         syscall tos_get_block_hash\n\
         lddw r1, 0x300007000\n\
         ldxdw r0, [r1+0]\n\
         exit",
    )
    .unwrap();
    let past_heap_end = assemble(
        "lddw r1, 0x300000008\n\
         ldxdw r0, [r1+32760]\n\
         exit",
    )
    .unwrap();
    let block = BlockContext {
        hash: tos_vm::Hash([1; 32]),
        ..BlockContext::default()
    };
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = Vm::new(VmConfig {
            engine,
            compute_budget: 10_000,
        });
        let mut store = tos_vm::MemoryStorage::default();
        let mut deploy = |elf: &[u8]| {
            let address = tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf));
            vm.deploy(elf, address, &mut store)
                .map(|deployed| deployed.contract)
                .unwrap()
        };
        let [dirty, reads_zeros, syscall_first, past_heap_end] =
            [&dirty, &reads_zeros, &syscall_first, &past_heap_end].map(|elf| deploy(elf));
        let run = |contract| {
            vm.execute(&ContractCall::new(contract, vec![]), &block, &store)
                .unwrap()
        };
        for round in 0..3 {
            assert!(run(dirty).status.is_success(), "{engine:?} round {round}");
            let read = run(reads_zeros);
            assert!(
                read.status.is_success(),
                "{engine:?} round {round}: saw {:?}",
                read.status
            );
            assert!(run(dirty).status.is_success());
            match run(syscall_first).status {
                InvokeStatus::Failed { code } => assert_eq!(code, 0x0101_0101_0101_0101),
                other => panic!("{engine:?}: {other:?}"),
            }
            assert!(run(dirty).status.is_success());
            assert!(
                matches!(run(past_heap_end).status, InvokeStatus::Aborted(_)),
                "{engine:?}: the heap ends at 32 KiB"
            );
        }
    }
}

/// A cached executable is not a deployed contract: a store that does not hold the code
/// refuses the call even when the VM has compiled it for another store.
#[test]
fn a_cached_contract_still_needs_its_code_in_the_store() {
    let vm = Vm::new(VmConfig::default());
    let mut deployed = tos_vm::MemoryStorage::default();
    let contract = vm
        .deploy(
            &probe_elf(),
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&probe_elf())),
            &mut deployed,
        )
        .map(|deployed| deployed.contract)
        .unwrap();
    let call = ContractCall::new(contract, Script::new().build(0));
    assert!(vm
        .execute(&call, &BlockContext::default(), &deployed)
        .unwrap()
        .status
        .is_success());
    let empty = tos_vm::MemoryStorage::default();
    let error = vm
        .execute(&call, &BlockContext::default(), &empty)
        .unwrap_err();
    assert!(
        matches!(error, tos_vm::VmError::ContractNotFound(hash) if hash == contract),
        "{error:?}"
    );
}
