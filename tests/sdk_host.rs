//! Host mode: the Rust examples' own test suites (`cargo test` in examples/counter-rust and
//! examples/vault) run the contracts natively against tos-sdk's in-memory chain. The token's
//! runs in tests/sdk_token.rs. Uses the cargo running this test (`$CARGO`).

fn host_suite(example: &str, expected: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = tos_test_harness::fixtures::workspace_root();
    let dir = tos_test_harness::fixtures::example_dir(example);
    let output = std::process::Command::new(&cargo)
        .args(["test", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target/host-contracts"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{example}: host-mode tests failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(expected),
        "{example}: unexpected output:\n{stdout}"
    );
}

#[test]
fn counter_host_suite_passes() {
    host_suite("counter-rust", "test result: ok. 2 passed");
}

#[test]
fn vault_host_suite_passes() {
    host_suite("vault", "test result: ok. 3 passed");
}
