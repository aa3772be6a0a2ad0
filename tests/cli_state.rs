//! The CLI's state commands: `fund`, `balance`, `state --at`, and `invoke --value`.

use std::process::Command;

fn cli(store: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fund_balance_state_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let elf = dir.path().join("counter.so");
    std::fs::write(
        &elf,
        tos_test_harness::fixtures::example_elf("counter-rust"),
    )
    .unwrap();
    let sender = "5e".repeat(32);

    let (ok, out, err) = cli(&store, &["fund", &sender, "1000"]);
    assert!(ok, "{err}");
    assert!(out.contains("0 -> 1000"), "{out}");
    assert_eq!(cli(&store, &["balance", &sender]).1.trim(), "1000");

    // The deploy is block 2 and prints the new contract's address (not the code hash).
    let (ok, hash, err) = cli(&store, &["deploy", elf.to_str().unwrap()]);
    assert!(ok, "{err}");
    let hash = hash.trim().to_string();
    assert_ne!(
        hash,
        tos_vm::code_hash(&std::fs::read(&elf).unwrap()).to_hex()
    );
    // The deploy's cost and state growth go to stderr (stdout is the address alone).
    assert!(
        err.contains("deploy    ") && err.contains(" units ("),
        "{err}"
    );
    assert!(err.contains("state     +"), "{err}");
    // Two invokes: blocks 3 and 4; the second sends 250 to the contract. The first creates
    // the counter's one key: its state growth is printed.
    let (ok, out, err) = cli(&store, &["invoke", &hash, "--sender", &sender]);
    assert!(ok, "{err}");
    let growth_line = out
        .lines()
        .find(|line| line.starts_with("state     +"))
        .unwrap_or_else(|| panic!("no state line: {out}"));
    assert!(growth_line.ends_with(" -0 bytes"), "{growth_line}");
    assert!(out.contains(&format!("  {hash}  +")), "{out}");
    let (ok, out, err) = cli(
        &store,
        &[
            "invoke", &hash, "--sender", &sender, "--value", "250", "--json",
        ],
    );
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["block_height"], 4);
    // The 250 make the contract's balance entry: 72 bytes; the sender keeps one.
    assert_eq!(json["state_growth"]["balances"]["created_bytes"], 72);
    assert_eq!(json["state_growth"]["balances"]["freed_bytes"], 0);
    assert_eq!(cli(&store, &["balance", &sender]).1.trim(), "750");
    assert_eq!(cli(&store, &["balance", &hash]).1.trim(), "250");
    assert_eq!(
        cli(&store, &["balance", &sender, "--at", "3"]).1.trim(),
        "1000"
    );

    let (ok, out, err) = cli(&store, &["state", &hash, "--json"]);
    assert!(ok, "{err}");
    let now: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(now["entries"][0]["key"], hex::encode("count"));
    assert_eq!(now["entries"][0]["value"], hex::encode(2u64.to_le_bytes()));
    let then: serde_json::Value =
        serde_json::from_str(&cli(&store, &["state", &hash, "--at", "3", "--json"]).1).unwrap();
    assert_eq!(then["entries"][0]["value"], hex::encode(1u64.to_le_bytes()));
    let before: serde_json::Value =
        serde_json::from_str(&cli(&store, &["state", &hash, "--at", "2", "--json"]).1).unwrap();
    assert_eq!(before["entries"].as_array().unwrap().len(), 0);
    let text = cli(&store, &["state", &hash]).1;
    assert!(text.contains("\"count\""), "{text}");

    // A sender who cannot pay the value: the invoke fails, nothing moves.
    let (ok, _, _) = cli(
        &store,
        &["invoke", &hash, "--sender", &sender, "--value", "5000"],
    );
    assert!(!ok);
    assert_eq!(cli(&store, &["balance", &sender]).1.trim(), "750");
    // Bad arguments are refused with a message.
    let (ok, _, err) = cli(&store, &["balance", "xyz"]);
    assert!(!ok && err.contains("64 hex digits"), "{err}");
    let (ok, _, err) = cli(&store, &["fund", &sender, &u64::MAX.to_string()]);
    assert!(!ok && err.contains("overflow"), "{err}");
}

/// `fund`/`balance --asset`, `invoke --deposit ASSET:AMOUNT` (repeatable, with `--value`) and
/// `--compute-limit`: deposits in two assets arrive together; a call stopped by its compute
/// limit moves none; two deploys of one file are two contracts.
#[test]
fn deposits_in_assets_and_the_compute_limit_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let elf = dir.path().join("counter.so");
    std::fs::write(
        &elf,
        tos_test_harness::fixtures::example_elf("counter-rust"),
    )
    .unwrap();
    let sender = "5e".repeat(32);
    let token = "70".repeat(32);
    assert!(cli(&store, &["fund", &sender, "1000"]).0);
    let (ok, out, err) = cli(&store, &["fund", &sender, "500", "--asset", &token]);
    assert!(ok && out.contains("0 -> 500"), "{out}{err}");
    assert_eq!(
        cli(&store, &["balance", &sender, "--asset", &token])
            .1
            .trim(),
        "500"
    );
    let (_, first, _) = cli(&store, &["deploy", elf.to_str().unwrap()]);
    let (_, second, _) = cli(&store, &["deploy", elf.to_str().unwrap()]);
    let (first, second) = (first.trim().to_string(), second.trim().to_string());
    assert_ne!(first, second, "two deploys, two contracts");

    let deposit = format!("{token}:120");
    let (ok, out, err) = cli(
        &store,
        &[
            "invoke",
            &first,
            "--sender",
            &sender,
            "--value",
            "7",
            "--deposit",
            &deposit,
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["deposits"][&token], 120);
    assert_eq!(cli(&store, &["balance", &first]).1.trim(), "7");
    assert_eq!(
        cli(&store, &["balance", &first, "--asset", &token])
            .1
            .trim(),
        "120"
    );
    assert_eq!(
        cli(&store, &["balance", &sender, "--asset", &token])
            .1
            .trim(),
        "380"
    );
    // The second instance kept its own state.
    let state: serde_json::Value =
        serde_json::from_str(&cli(&store, &["state", &second, "--json"]).1).unwrap();
    assert_eq!(state["entries"].as_array().unwrap().len(), 0);

    // A compute limit too small for the call: aborted, nothing moves.
    let (ok, out, _) = cli(
        &store,
        &[
            "invoke",
            &first,
            "--sender",
            &sender,
            "--deposit",
            &deposit,
            "--compute-limit",
            "5",
            "--json",
        ],
    );
    assert!(!ok);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["status"], "aborted");
    assert_eq!(json["compute_units"], 5);
    assert_eq!(
        cli(&store, &["balance", &sender, "--asset", &token])
            .1
            .trim(),
        "380"
    );
    // Bad deposits are refused before anything runs.
    for bad in [
        token.to_string(),
        format!("{token}:0"),
        format!("{token}:x"),
        "12:5".to_string(),
    ] {
        let (ok, _, err) = cli(&store, &["invoke", &first, "--deposit", &bad]);
        assert!(!ok && err.starts_with("error:"), "{bad}: {err}");
    }
    let (ok, _, err) = cli(
        &store,
        &[
            "invoke",
            &first,
            "--deposit",
            &deposit,
            "--deposit",
            &deposit,
        ],
    );
    assert!(!ok && err.contains("twice"), "{err}");
}

#[test]
fn deploy_json_and_the_created_bytes_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let elf_path = dir.path().join("counter.so");
    let elf = tos_test_harness::fixtures::example_elf("counter-rust");
    std::fs::write(&elf_path, &elf).unwrap();
    let (ok, out, err) = cli(&store, &["deploy", elf_path.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let deployed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(deployed["deploy_units"], tos_vm::deploy_cost(&elf));
    assert_eq!(deployed["units_charged"], tos_vm::deploy_cost(&elf));
    assert_eq!(
        deployed["state_growth"]["code"]["created_bytes"],
        32 + elf.len() as u64
    );
    let contract = deployed["contract"].as_str().unwrap().to_owned();
    assert_eq!(
        deployed["state_growth"]["contracts"][&contract]["created_bytes"],
        64
    );
    // The first count creates a key: a limit of 1 byte refuses it and commits nothing.
    let (ok, out, _) = cli(
        &store,
        &["invoke", &contract, "--max-created-bytes", "1", "--json"],
    );
    assert!(!ok);
    let refused: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(refused["status"], "aborted");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("over its limit of 1"),
        "{refused}"
    );
    let (_, state, _) = cli(&store, &["state", &contract, "--json"]);
    let (ok, out, err) = cli(
        &store,
        &["invoke", &contract, "--max-created-bytes", "1000", "--json"],
    );
    assert!(ok, "{err}");
    let counted: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(counted["state_growth"]["created_bytes"].as_u64().unwrap() > 1);
    assert_ne!(cli(&store, &["state", &contract, "--json"]).1, state);
}
