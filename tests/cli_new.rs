//! `tos-vm new`: a generated project builds with `tos-vm build`, deploys, answers by method
//! name, and its own test suite (host-side tests, the harness test under both engines) passes.
//! The projects' tests share this workspace's target directory, so they reuse its build of the
//! VM and the harness.

use std::path::Path;
use std::process::{Command, Output};

fn tos_vm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .current_dir(dir)
        // Rust contracts share the test suite's BPF target directory (core is built once).
        .env(
            "CARGO_TARGET_DIR",
            tos_test_harness::fixtures::workspace_root().join("target/contracts/shared"),
        )
        .args(args)
        .output()
        .expect("tos-vm runs")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Creates, builds, deploys and calls a new project; returns the temp dir holding it.
fn created_and_called(name: &str, lang: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    ok(tos_vm(root, &["new", name, "--lang", lang]));
    assert!(root.join(name).join("README.md").is_file());
    let so = format!("{name}/{name}.so");
    ok(tos_vm(root, &["build", name, "-o", &so]));
    let address = ok(tos_vm(root, &["--store", "s", "deploy", &so]));
    let address = address.trim();
    let added = ok(tos_vm(
        root,
        &["--store", "s", "invoke", address, "add", "--by", "5"],
    ));
    assert!(added.contains("returned  5"), "{added}");
    let total = ok(tos_vm(root, &["--store", "s", "query", address, "total"]));
    assert!(total.contains("returned  5"), "{total}");
    dir
}

#[test]
fn a_new_c_project_builds_and_answers_by_name() {
    let dir = created_and_called("tally-c", "c");
    // Refused: an existing directory, a bad name.
    let again = tos_vm(dir.path(), &["new", "tally-c", "--lang", "c"]);
    assert_eq!(again.status.code(), Some(2));
    let bad = tos_vm(dir.path(), &["new", "Tally"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a contract name"));
}

#[test]
fn a_new_rust_project_builds_and_answers_by_name() {
    created_and_called("tally-rs", "rust");
}

/// Runs `cargo test` in a generated project, sharing this workspace's target directory.
fn project_tests_pass(project: &Path) {
    let output = Command::new("cargo")
        .args(["test", "--offline"])
        .current_dir(project)
        .env(
            "CARGO_TARGET_DIR",
            tos_test_harness::fixtures::workspace_root().join("target"),
        )
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn generated_projects_pass_their_own_tests() {
    let c = created_and_called("tally-c", "c");
    project_tests_pass(&c.path().join("tally-c").join("test"));
    let rust = created_and_called("tally-rs", "rust");
    project_tests_pass(&rust.path().join("tally-rs"));
}
