//! The example contracts, built from source: their behaviour through the test harness (both
//! engines, compared); the counter against the on-disk store and through the CLI in separate
//! processes.

mod common;

use common::*;
use proptest::prelude::*;
use tos_test_harness::{fixtures::example_elf, strategies, Check, Harness};
use tos_vm::{
    BlockContext, ContractCall, DiskStorage, Engine, InvokeStatus, StorageProvider, Vm, VmConfig,
};

#[test]
fn hello_world_logs_its_greeting() {
    let run = Harness::new()
        .with_budget(10_000)
        .deploy_example("hello-world")
        .invoke(b"");
    run.expect(&[
        Check::success(),
        Check::logs(&["Hello, TOS!"]),
        Check::unchanged(),
    ]);
    assert!(run.compute_used > 100, "the log syscall alone costs 100");
}

#[test]
fn counter_counts() {
    let mut counter = Harness::new()
        .with_budget(100_000)
        .deploy_example("counter-rust");
    counter.invoke(b"").expect(&[
        Check::success(),
        Check::logs(&["count = 1"]),
        Check::storage_u64(b"count", 1),
    ]);
    // Each successful invoke is committed: the next one sees it.
    counter
        .invoke(b"")
        .expect(&[Check::logs(&["count = 2"]), Check::storage_u64(b"count", 2)]);
}

/// Issue 17: a contract is an instance, not its code. Two deploys of one ELF are two
/// contracts with their own storage (both engines, through the harness), sharing one stored
/// copy of the code.
/// Issue 13 item 6: counter-rust's executable is at most 4 KiB (docs/performance.md,
/// "Contract size").
#[test]
fn counter_fits_in_4_kib() {
    let elf = example_elf("counter-rust");
    assert!(elf.len() <= 4 * 1024, "{} bytes", elf.len());
}

#[test]
fn two_instances_of_one_code_count_independently() {
    let elf = example_elf("counter-rust");
    let mut chain = Harness::new().with_budget(100_000);
    let first = chain.deploy_contract(&elf);
    let second = chain.deploy_contract(&elf);
    assert_ne!(first, second);
    assert_ne!(first, tos_vm::code_hash(&elf));
    assert_eq!(chain.store().code_hashes(), vec![tos_vm::code_hash(&elf)]);
    let mut first_chain = chain.target(first);
    for expected in 1..=3u64 {
        first_chain
            .invoke(b"")
            .expect(&[Check::storage_u64(b"count", expected)]);
    }
    let mut second_chain = first_chain.target(second);
    second_chain
        .invoke(b"")
        .expect(&[Check::logs(&["count = 1"]), Check::storage_u64(b"count", 1)]);
    let store = second_chain.store();
    assert_eq!(
        store.read_storage(&first, b"count").unwrap(),
        Some(3u64.to_le_bytes().to_vec())
    );
    assert_eq!(
        store.read_contract(&second).unwrap().map(|c| c.code_hash),
        Some(tos_vm::code_hash(&elf))
    );
}

#[test]
fn counter_continues_from_the_stored_value() {
    let run = Harness::new()
        .with_budget(100_000)
        .deploy_example("counter-rust")
        .with_storage(b"count", &41u64.to_le_bytes())
        .invoke(b"");
    run.expect(&[
        Check::success(),
        Check::logs(&["count = 42"]),
        Check::storage_u64(b"count", 42),
    ]);
    let change = &run.effects.storage[0];
    assert_eq!(
        change.old.as_deref(),
        Some(hex::encode(41u64.to_le_bytes()).as_str())
    );
    assert_eq!(
        change.new.as_deref(),
        Some(hex::encode(42u64.to_le_bytes()).as_str())
    );
}

// The status codes are the SDK's (`ContractError`); these tests hold for any non-zero one.

#[test]
fn counter_overflow_fails_and_changes_nothing() {
    Harness::new()
        .with_budget(100_000)
        .deploy_example("counter-rust")
        .with_storage(b"count", &u64::MAX.to_le_bytes())
        .invoke(b"")
        .expect(&[Check::failed(), Check::no_logs(), Check::unchanged()]);
}

#[test]
fn counter_refuses_a_corrupt_value() {
    Harness::new()
        .with_budget(100_000)
        .deploy_example("counter-rust")
        .with_storage(b"count", b"not8")
        .invoke(b"")
        .expect(&[Check::unsuccessful(), Check::no_logs(), Check::unchanged()]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any input and any stored counter: `increment` (or an empty input) is +1 with a log when
    /// it can, a failure and no change otherwise (a corrupt value or an overflow); `count`
    /// answers the value; any other input is refused and changes nothing.
    #[test]
    fn counter_behaves_for_any_input_and_state(call in strategies::example_call("counter-rust")) {
        let mut counter = Harness::new().with_budget(100_000).deploy_example("counter-rust");
        for (key, value) in &call.storage {
            counter = counter.with_storage(key, value);
        }
        let run = counter.invoke(&call.input);
        if call.input.len() > tos_vm::runtime::limits::MAX_INPUT_LEN {
            run.expect(&[Check::abort("InputTooLarge"), Check::unchanged()]);
            return Ok(());
        }
        let stored = call.storage.first().map(|(_, v)| v.clone());
        if call.input == counter_rust::calls::count() {
            // The view answers the stored value (0 when absent) and changes nothing.
            match stored.as_deref().map(<[u8; 8]>::try_from) {
                None => run.expect(&[Check::success(), Check::return_data(0u64.to_le_bytes()), Check::unchanged()]),
                Some(Ok(bytes)) => run.expect(&[Check::success(), Check::return_data(bytes), Check::unchanged()]),
                Some(Err(_)) => run.expect(&[Check::unsuccessful(), Check::unchanged()]),
            };
            return Ok(());
        }
        if !call.input.is_empty() && call.input != counter_rust::calls::increment() {
            // Not a call of a declared method: refused (InvalidInput or InvalidInstruction).
            run.expect(&[Check::failed(), Check::no_logs(), Check::unchanged()]);
            return Ok(());
        }
        match stored.as_deref().map(<[u8; 8]>::try_from) {
            None => run.expect(&[Check::success(), Check::storage_u64(b"count", 1)]),
            Some(Ok(bytes)) if u64::from_le_bytes(bytes) == u64::MAX => {
                run.expect(&[Check::failed(), Check::unchanged()])
            }
            Some(Ok(bytes)) => {
                let next = u64::from_le_bytes(bytes) + 1;
                run.expect(&[
                    Check::success(),
                    Check::storage_u64(b"count", next),
                    Check::logs(&[format!("count = {next}")]),
                ])
            }
            Some(Err(_)) => run.expect(&[Check::unsuccessful(), Check::unchanged()]),
        };
    }

    /// hello-world ignores its input.
    #[test]
    fn hello_world_greets_whatever_the_input(call in strategies::example_call("hello-world")) {
        let run = Harness::new().with_budget(10_000).deploy_example("hello-world").invoke(&call.input);
        if call.input.len() > tos_vm::runtime::limits::MAX_INPUT_LEN {
            run.expect(&[Check::abort("InputTooLarge")]);
        } else {
            run.expect(&[Check::success(), Check::logs(&["Hello, TOS!"])]);
        }
    }
}

#[test]
fn counter_persists_in_the_disk_store_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let elf = example_elf("counter-rust");
    let mut contract = None;
    for (round, engine) in [Engine::Interpreter, Engine::Jit, Engine::Jit]
        .into_iter()
        .enumerate()
    {
        let mut store = DiskStorage::open(dir.path()).unwrap();
        let vm = Vm::new(VmConfig {
            engine,
            ..VmConfig::default()
        });
        let hash = *contract.get_or_insert_with(|| {
            vm.deploy(
                &elf,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&elf)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .unwrap()
        });
        let outcome = vm
            .invoke(
                &ContractCall::new(hash, vec![]),
                &BlockContext::default(),
                &mut store,
            )
            .unwrap();
        assert!(outcome.status.is_success());
        let expected = round as u64 + 1;
        assert_eq!(outcome.logs[0].message, format!("count = {expected}"));
        assert_eq!(
            store.read_storage(&hash, b"count").unwrap(),
            Some(expected.to_le_bytes().to_vec())
        );
    }
}

#[test]
fn failed_invoke_leaves_the_disk_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = DiskStorage::open(dir.path()).unwrap();
    let vm = Vm::new(VmConfig {
        engine: Engine::Jit,
        compute_budget: 50_000,
    });
    let contract = vm
        .deploy(
            &probe_elf(),
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&probe_elf())),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .unwrap();
    let input = Script::new()
        .with_data(b"key", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(3), k, Value(3)])
        })
        .call(op::SPIN, &[])
        .build(0);
    let before = store.list_storage(&contract).unwrap();
    let outcome = vm
        .invoke(
            &ContractCall::new(contract, input),
            &BlockContext::default(),
            &mut store,
        )
        .unwrap();
    assert!(matches!(outcome.status, InvokeStatus::Aborted(_)));
    drop(store);
    let store = DiskStorage::open(dir.path()).unwrap();
    assert_eq!(store.list_storage(&contract).unwrap(), before);
    assert_eq!(store.read_storage(&contract, b"key").unwrap(), None);
}

#[test]
fn cli_counter_counts_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let elf_path = dir.path().join("counter.so");
    std::fs::write(&elf_path, example_elf("counter-rust")).unwrap();
    let store = dir.path().join("store");
    let cli = env!("CARGO_BIN_EXE_tos-vm");
    let deploy = std::process::Command::new(cli)
        .args([
            "--store",
            store.to_str().unwrap(),
            "deploy",
            elf_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        deploy.status.success(),
        "{}",
        String::from_utf8_lossy(&deploy.stderr)
    );
    let hash = String::from_utf8(deploy.stdout).unwrap().trim().to_string();
    for (expected, engine) in [(1, "interpreter"), (2, "jit")] {
        let out = std::process::Command::new(cli)
            .args([
                "--store",
                store.to_str().unwrap(),
                "invoke",
                &hash,
                "--engine",
                engine,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["status"], "success");
        assert_eq!(json["logs"][0], format!("count = {expected}"));
        // The deploy was block 1.
        assert_eq!(json["block_height"], expected + 1);
        assert!(json["compute_units"].as_u64().unwrap() > 0);
        assert_eq!(
            json["effects"]["storage"][0]["new"],
            hex::encode((expected as u64).to_le_bytes())
        );
    }
}
