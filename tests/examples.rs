//! The example contracts, built from source, under both engines; the counter against the
//! on-disk store and through the CLI in separate processes.

mod common;

use common::*;
use tos_test_harness::fixtures::example_elf;
use tos_vm::{
    BlockContext, ContractCall, DiskStorage, Engine, InvokeStatus, StorageProvider, Vm, VmConfig,
};

#[test]
fn hello_world_logs_its_greeting_under_both_engines() {
    let run = run_both(&example_elf("hello-world"), b"", 10_000, |_, _| {});
    assert!(is_success(&run.outcome.status), "{:?}", run.outcome.status);
    assert_eq!(run.logs(), vec!["Hello, TOS!".to_string()]);
    assert!(
        run.outcome.compute_used > 100,
        "the log syscall alone costs 100"
    );
    assert!(run.outcome.effects.is_empty());
}

#[test]
fn counter_counts_under_both_engines() {
    let elf = example_elf("counter-rust");
    let first = run_both(&elf, b"", 100_000, |_, _| {});
    assert!(
        is_success(&first.outcome.status),
        "{:?} {:?}",
        first.outcome.status,
        first.logs()
    );
    assert_eq!(first.logs(), vec!["count = 1".to_string()]);
    assert_eq!(
        first.after.read_storage(&first.contract, b"count").unwrap(),
        Some(1u64.to_le_bytes().to_vec())
    );

    let later = run_both(&elf, b"", 100_000, |store, contract| {
        store.set_storage(contract, b"count", Some(&41u64.to_le_bytes()))
    });
    assert_eq!(later.logs(), vec!["count = 42".to_string()]);
    let change = &later.outcome.effects.storage[0];
    assert_eq!(
        change.old.as_deref(),
        Some(hex::encode(41u64.to_le_bytes()).as_str())
    );
    assert_eq!(
        change.new.as_deref(),
        Some(hex::encode(42u64.to_le_bytes()).as_str())
    );
}

#[test]
fn counter_overflow_fails_and_changes_nothing() {
    let run = run_both(
        &example_elf("counter-rust"),
        b"",
        100_000,
        |store, contract| store.set_storage(contract, b"count", Some(&u64::MAX.to_le_bytes())),
    );
    assert!(!is_success(&run.outcome.status));
    run.assert_unchanged();
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
        let hash = *contract.get_or_insert_with(|| vm.deploy(&elf, &mut store).unwrap());
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
    let contract = vm.deploy(&probe_elf(), &mut store).unwrap();
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
        assert_eq!(json["block_height"], expected);
        assert!(json["compute_units"].as_u64().unwrap() > 0);
        assert_eq!(
            json["effects"]["storage"][0]["new"],
            hex::encode((expected as u64).to_le_bytes())
        );
    }
}
