//! Two shells, one store: a `tos-vm` command waits for a store another `tos-vm` process holds
//! (up to `--lock-timeout`), so concurrent invokes all succeed, in some order, and none is
//! lost; past the timeout the command fails naming the holder.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn tos_vm(store: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tos-vm"));
    command.arg("--store").arg(store);
    command
}

fn deployed_counter(dir: &Path) -> (std::path::PathBuf, String) {
    let store = dir.join("store");
    let elf = dir.join("counter.so");
    std::fs::write(
        &elf,
        tos_test_harness::fixtures::example_elf("counter-rust"),
    )
    .unwrap();
    let out = tos_vm(&store).arg("deploy").arg(&elf).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        store,
        String::from_utf8(out.stdout).unwrap().trim().to_string(),
    )
}

#[test]
fn concurrent_invokes_wait_for_each_other_and_all_count() {
    let dir = tempfile::tempdir().unwrap();
    let (store, counter) = deployed_counter(dir.path());
    const SHELLS: usize = 4;
    const CALLS: usize = 3;
    let shells: Vec<_> = (0..SHELLS)
        .map(|_| {
            let store = store.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                (0..CALLS)
                    .map(|_| {
                        tos_vm(&store)
                            .args(["--lock-timeout", "60", "invoke", &counter])
                            .output()
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut waited = false;
    for shell in shells {
        for out in shell.join().unwrap() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            waited |= stderr.contains("waiting for store");
        }
    }
    let out = tos_vm(&store)
        .args(["state", &counter, "--json"])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        state["entries"][0]["value"],
        hex::encode(((SHELLS * CALLS) as u64).to_le_bytes()),
        "every invoke counted once"
    );
    // Not a guarantee on a loaded machine, but 12 processes on one store nearly always meet.
    if !waited {
        eprintln!("note: no invoke had to wait this run");
    }
}

#[test]
fn a_store_held_past_the_timeout_fails_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let (store, counter) = deployed_counter(dir.path());
    // This test process holds the store, with the note a tos-vm holder writes.
    let held = tos_vm::DiskStorage::open(&store).unwrap();
    std::fs::write(store.join("holder"), "the test process").unwrap();
    let started = Instant::now();
    let out = tos_vm(&store)
        .args(["--lock-timeout", "0.5", "invoke", &counter])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited");
    assert!(stderr.contains("waiting for store"), "{stderr}");
    assert!(
        stderr.contains(
            "still held by another process (last opened by the test process) after 0.5 s"
        ),
        "{stderr}"
    );
    // Released in time: the waiting command goes ahead.
    let waiter = tos_vm(&store)
        .args(["--lock-timeout", "30", "invoke", &counter])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
