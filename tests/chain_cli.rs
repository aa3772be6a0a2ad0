//! `tos-vm replay`: JSON and borsh block files against the on-disk store, block by block, in
//! step with `tos-vm invoke`.

use std::{path::Path, process::Command};

use tos_vm::{replay::Transaction, Block, CallTarget, DeployContractPayload, Hash};

fn tos_vm(store: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tos-vm {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn replay_executes_and_commits_blocks_from_json_and_borsh_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let hello = tos_test_harness::fixtures::example_elf("hello-world");
    let counter = tos_test_harness::fixtures::example_elf("counter-rust");
    std::fs::write(dir.path().join("hello.so"), &hello).unwrap();
    std::fs::write(dir.path().join("counter.so"), &counter).unwrap();
    let alice = "a1".repeat(32);

    let deploys = format!(
        r#"{{ "timestamp": 1700000000, "transactions": [
            {{ "deploy": {{ "sender": "{alice}", "code_file": "hello.so" }} }},
            {{ "deploy": {{ "sender": "{alice}", "code_file": "counter.so" }} }},
            {{ "deploy": {{ "sender": "{alice}", "code": "00112233" }} }}
        ] }}"#
    );
    std::fs::write(dir.path().join("deploys.json"), deploys).unwrap();
    let first = json(&tos_vm(
        &store,
        &[
            "replay",
            dir.path().join("deploys.json").to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(first["height"], 1);
    assert_eq!(first["committed"], true);
    let statuses: Vec<&str> = first["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tx| tx["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["success", "success", "rejected"]);
    assert!(first["transactions"][2]["error"]
        .as_str()
        .unwrap()
        .contains("deploy refused"));
    assert_eq!(first["totals"]["transactions"], 3);
    // Each deploy printed the address of its new contract (not its code hash).
    let hello_address = first["transactions"][0]["contract"].as_str().unwrap();
    let counter_address = first["transactions"][1]["contract"].as_str().unwrap();
    assert_ne!(hello_address, tos_vm::code_hash(&hello).to_hex());
    assert_ne!(counter_address, tos_vm::code_hash(&counter).to_hex());

    let calls = format!(
        r#"{{ "transactions": [
            {{ "call": {{ "sender": "{alice}", "contract": "{counter_address}" }} }},
            {{ "call": {{ "sender": "{alice}", "contract": "{hello_address}" }} }},
            {{ "call": {{ "sender": "{alice}", "contract": "{counter_address}" }} }},
            {{ "call": {{ "sender": "{alice}", "contract": "{counter_address}", "value": 5 }} }},
            {{ "call": {{ "contract": "{}" }} }}
        ] }}"#,
        "ee".repeat(32)
    );
    std::fs::write(dir.path().join("calls.json"), calls).unwrap();
    let table = tos_vm(
        &store,
        &[
            "replay",
            dir.path().join("calls.json").to_str().unwrap(),
            "--logs",
        ],
    );
    let text = String::from_utf8(table.stdout).unwrap();
    for expected in [
        "block 2 (parent 1)",
        "count = 1",
        "Hello, TOS!",
        "count = 2",
        "aborted: ",
        "rejected: no contract at address eeee",
        "transactions  5 (3 success, 0 failed, 1 aborted, 1 rejected)",
        "compute       ",
        "cache         ",
        "state root    ",
        "committed     as height 2",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }

    // `invoke` continues from the replayed state and height.
    let counter_hash = counter_address.to_string();
    let invoked = json(&tos_vm(&store, &["invoke", &counter_hash, "--json"]));
    assert_eq!(invoked["logs"][0], "count = 3");
    assert_eq!(invoked["block_height"], 3);

    // A borsh block file.
    let block = Block {
        timestamp: 1_700_000_100,
        transactions: vec![
            Transaction::Call {
                sender: Hash([0xA1; 32]),
                contract: Hash::from_hex(counter_address).unwrap().into(),
                input: Vec::new(),
                deposits: tos_vm::native_deposit(0),
                compute_limit: None,
            },
            Transaction::Deploy {
                sender: Hash([0xA1; 32]),
                payload: DeployContractPayload::new(hello.clone()),
            },
            // The contract the deploy above created, by its index in this block.
            Transaction::Call {
                sender: Hash([0xA1; 32]),
                contract: CallTarget::DeployedBy(1),
                input: Vec::new(),
                deposits: tos_vm::native_deposit(0),
                compute_limit: None,
            },
        ],
    };
    std::fs::write(dir.path().join("block.bin"), block.to_borsh()).unwrap();
    let borsh = json(&tos_vm(
        &store,
        &[
            "replay",
            dir.path().join("block.bin").to_str().unwrap(),
            "--json",
            "--threads",
            "1",
        ],
    ));
    assert_eq!(borsh["height"], 4);
    assert_eq!(borsh["transactions"][0]["logs"][0], "count = 4");
    assert_eq!(borsh["transactions"][2]["status"], "success");
    assert_eq!(borsh["transactions"][2]["logs"][0], "Hello, TOS!");
    // A second hello-world instance: same code, another address.
    let second_hello = borsh["transactions"][1]["contract"].as_str().unwrap();
    assert_eq!(borsh["transactions"][2]["contract"], second_hello);
    assert_ne!(second_hello, hello_address);
    assert_eq!(borsh["stats"]["threads"], 1);

    // Against an older height: executed (the counter as it was at height 2), not committed.
    let old = json(&tos_vm(
        &store,
        &[
            "replay",
            dir.path().join("block.bin").to_str().unwrap(),
            "--json",
            "--height",
            "2",
        ],
    ));
    assert_eq!(old["height"], 3);
    assert_eq!(old["committed"], false);
    assert_eq!(old["transactions"][0]["logs"][0], "count = 3");
    let again = json(&tos_vm(&store, &["invoke", &counter_hash, "--json"]));
    assert_eq!(again["block_height"], 5);
    assert_eq!(again["logs"][0], "count = 5");
}

#[test]
fn replay_refuses_bad_block_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for (name, content) in [
        ("garbage.bin", &b"\x01\x02\x03"[..]),
        (
            "unknown-field.json",
            br#"{ "transactions": [], "extra": 1 }"#,
        ),
        (
            "bad-hash.json",
            br#"{ "transactions": [ { "call": { "contract": "12" } } ] }"#,
        ),
        (
            "no-code.json",
            br#"{ "transactions": [ { "deploy": {} } ] }"#,
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_tos-vm"))
            .arg("--store")
            .arg(&store)
            .args(["replay", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            String::from_utf8_lossy(&output.stderr).starts_with("error: "),
            "{name}"
        );
    }
}
