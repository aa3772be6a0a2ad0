//! The CLI under mistaken or hostile use: a reader that goes away after a committed call,
//! endless input files, a mistyped `--store`, failed calls in `--json`, the block a call runs
//! in (`--height`, `--timestamp`) and `CARGO_TARGET_DIR` for `tos-vm build`.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use tos_test_harness::probe::{self, op, Script};

fn tos_vm(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A store with `example` deployed; returns the store directory and the contract's address.
fn deployed(dir: &Path, example: &str) -> (PathBuf, String) {
    let store = dir.join("store");
    let elf = dir.join(format!("{example}.so"));
    std::fs::write(&elf, tos_test_harness::fixtures::example_elf(example)).unwrap();
    let out = tos_vm(&store, &["deploy", elf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (store, text(&out.stdout).trim().to_owned())
}

#[test]
fn a_reader_that_goes_away_does_not_turn_a_committed_call_into_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (store, counter) = deployed(dir.path(), "counter-rust");
    // The read end is closed before the CLI starts: its first line hits a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .arg("--store")
        .arg(&store)
        .args(["invoke", &counter])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "the call succeeded and was committed: {}",
        text(&status.stderr)
    );
    assert!(status.stderr.is_empty(), "{}", text(&status.stderr));
    // Committed once: the counter is 1.
    let out = tos_vm(&store, &["state", &counter, "--json"]);
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        state["entries"][0]["value"],
        hex::encode(1u64.to_le_bytes())
    );
}

/// Runs the CLI with at most 1 GiB of address space: an unbounded read of `/dev/zero` dies of
/// it instead of taking the machine's memory.
fn tos_vm_small(store: &Path, args: &[&str]) -> Output {
    let mut command = String::from("ulimit -v 1048576; exec \"$0\" --store \"$1\"");
    for index in 0..args.len() {
        command.push_str(&format!(" \"${}\"", index + 2));
    }
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .arg(env!("CARGO_BIN_EXE_tos-vm"))
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn endless_input_files_are_refused_after_limit_plus_one_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let block = dir.path().join("block.json");
    std::fs::write(
        &block,
        r#"{ "transactions": [ { "deploy": { "code_file": "/dev/zero" } } ] }"#,
    )
    .unwrap();
    let block = block.to_str().unwrap();
    for args in [
        &["inspect", "/dev/zero"][..],
        &["deploy", "/dev/zero"],
        &["invoke", "/dev/zero"],
        &["replay", block],
    ] {
        let out = tos_vm_small(&store, args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("/dev/zero is larger than"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn commands_that_only_read_never_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mistyped");
    let address = "ab".repeat(32);
    let block = dir.path().join("block.json");
    std::fs::write(&block, r#"{ "transactions": [] }"#).unwrap();
    for args in [
        &["state", &address][..],
        &["balance", &address],
        &["invoke", &address],
        &["replay", block.to_str().unwrap(), "--dry-run"],
    ] {
        let out = tos_vm(&missing, args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("no store at {}", missing.display())),
            "{args:?}: {stderr}"
        );
        assert!(!missing.exists(), "{args:?} created the store");
    }
    // A command that writes creates it.
    let out = tos_vm(&missing, &["fund", &address, "5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&tos_vm(&missing, &["balance", &address]).stdout).trim(),
        "5"
    );
}

#[test]
fn failed_calls_are_named_and_run_in_the_block_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (store, vault) = deployed(dir.path(), "vault");
    let sender = "5e".repeat(32);
    assert!(tos_vm(&store, &["fund", &sender, "100"]).status.success());
    // deposit(beneficiary: sender, unlock_height: 100) with 10 units.
    let deposit = hex::encode(vault::calls::deposit(tos_sdk::Address([0x5e; 32]), 100));
    let out = tos_vm(
        &store,
        &[
            "invoke", &vault, "--sender", &sender, "--value", "10", "--input", &deposit,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    // withdraw(0) before height 100: TooEarly, the vault's Custom(2).
    let withdraw = hex::encode(vault::calls::withdraw(0));
    let call = |extra: &[&str]| {
        let mut args = vec!["invoke", &vault, "--sender", &sender, "--input", &withdraw];
        args.extend_from_slice(extra);
        tos_vm(&store, &args)
    };
    let out = call(&["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "failed");
    assert_eq!(json["return_value"], 1002);
    // The vault's interface names its error.
    assert_eq!(
        json["error"],
        "TooEarly: The unlock height has not been reached."
    );
    let out = call(&[]);
    assert!(
        text(&out.stdout)
            .contains("failed (returned 1002: TooEarly: The unlock height has not been reached.)"),
        "{}",
        text(&out.stdout)
    );

    // In block 100 the lock is open.
    let out = call(&["--height", "100", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["block_height"], 100);
    assert_eq!(json["error"], serde_json::Value::Null);
    // Heights only go up.
    let out = call(&["--height", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--height 100 is not above the store's height 100"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn invoke_runs_at_the_timestamp_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let elf = dir.path().join("probe.so");
    std::fs::write(&elf, probe::elf()).unwrap();
    let out = tos_vm(&store, &["deploy", elf.to_str().unwrap()]);
    let probe_address = text(&out.stdout).trim().to_owned();
    let input = hex::encode(Script::new().call(op::BLOCK_TIMESTAMP, &[]).build(0));
    let out = tos_vm(
        &store,
        &[
            "invoke",
            &probe_address,
            "--input",
            &input,
            "--timestamp",
            "1700000000",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["logs"][0], format!("r={:016x}", 1_700_000_000u64));
}

#[test]
fn build_honours_cargo_target_dir() {
    let dir = tempfile::tempdir().unwrap();
    // A cargo that answers `cargo metadata` (the build's path remaps) with no packages, then
    // records the build's arguments and fails: the build stops there, quickly.
    let fake_cargo = dir.path().join("cargo");
    let recorded = dir.path().join("args");
    std::fs::write(
        &fake_cargo,
        format!(
            "#!/bin/sh\nif [ \"$1\" = metadata ]; then echo '{{\"packages\": []}}'; exit 0; fi\n\
             printf '%s\\n' \"$@\" > '{}'\nexit 1\n",
            recorded.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &fake_cargo,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let target = dir.path().join("shared-target");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/counter-rust");
    let out = Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .args(["build", example.to_str().unwrap()])
        .env("TOS_CARGO", &fake_cargo)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let args = std::fs::read_to_string(&recorded)
        .unwrap_or_else(|_| panic!("cargo was not run: {}", text(&out.stderr)));
    let args: Vec<&str> = args.lines().collect();
    let at = args
        .iter()
        .position(|arg| *arg == "--target-dir")
        .expect("--target-dir given");
    assert_eq!(args[at + 1], target.to_str().unwrap(), "{args:?}");
}
