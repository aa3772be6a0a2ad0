//! The CLI by method name: `tos-vm invoke C METHOD --ARG value`, `tos-vm query`, `tos-vm
//! inspect`, with the interface read from the store alone; decoded answers, events and error
//! names; clear refusals naming the method, argument and expected type.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn tos_vm(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tos-vm"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("tos-vm runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A store with kv-store deployed; returns the temp dir (kept alive), the store, the address.
fn deployed() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let elf_path = dir.path().join("kv.so");
    std::fs::write(
        &elf_path,
        tos_test_harness::fixtures::example_elf("kv-store"),
    )
    .expect("write");
    let store = dir.path().join("store");
    let out = tos_vm(&store, &["deploy", elf_path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let address = stdout(&out).trim().to_string();
    (dir, store, address)
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(output), stderr(output)))
}

#[test]
fn invoke_and_query_by_method_name() {
    let (_dir, store, kv) = deployed();
    // Arguments by name, options after them.
    let out = tos_vm(
        &store,
        &[
            "invoke", &kv, "set", "--key", "alpha", "--value", "first", "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let result = json(&out);
    assert_eq!(result["method"], "set");
    assert_eq!(
        result["args"],
        serde_json::json!({"key": "alpha", "value": "first"})
    );
    assert_eq!(result["events"][0]["decoded"]["name"], "set");
    assert_eq!(result["events"][0]["decoded"]["fields"]["key"], "alpha");

    // --args JSON, options before the method.
    let out = tos_vm(
        &store,
        &[
            "invoke",
            "--engine",
            "interpreter",
            &kv,
            "set",
            "--args",
            r#"{"key": "beta", "value": "second"}"#,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("method    set(key: string, value: string)"),
        "{text}"
    );
    assert!(text.contains(r#"event     set {"key":"beta"}"#), "{text}");

    // A query answers decoded and makes no block.
    let height = |store: &Path| {
        let out = tos_vm(store, &["query", &kv, "count", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let result = json(&out);
        assert_eq!(result["returned"], 2);
        result["block_height"].as_u64().expect("height")
    };
    let before = height(&store);
    assert_eq!(height(&store), before, "a query makes no block");
    let out = tos_vm(&store, &["query", &kv, "get", "--key", "alpha"]);
    assert!(
        stdout(&out).contains(r#"returned  "first""#),
        "{}",
        stdout(&out)
    );
    // --raw keeps the bytes.
    let out = tos_vm(&store, &["query", &kv, "get", "--key", "alpha", "--raw"]);
    assert!(stdout(&out).contains("returned  0x"), "{}", stdout(&out));
    // At a past height the key did not exist yet: the status is named.
    let out = tos_vm(
        &store,
        &[
            "query",
            &kv,
            "get",
            "--key",
            "beta",
            "--at",
            &(before - 1).to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("NotFound"), "{}", stdout(&out));

    // The old raw form still works.
    let out = tos_vm(&store, &["invoke", &kv, "--input", "00"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("InvalidInput"), "{}", stdout(&out));
}

#[test]
fn bad_calls_are_refused_with_the_method_argument_and_type() {
    let (_dir, store, kv) = deployed();
    let refused = |args: &[&str], needles: &[&str]| {
        let out = tos_vm(&store, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let message = stderr(&out);
        for needle in needles {
            assert!(
                message.contains(needle),
                "{args:?}: `{needle}` missing from: {message}"
            );
        }
    };
    refused(
        &["invoke", &kv, "sett", "--key", "a"],
        &["no method `sett`", "set, get"],
    );
    refused(
        &["invoke", &kv, "set", "--key", "a"],
        &["`set`", "missing argument `value`", "string"],
    );
    refused(
        &[
            "invoke",
            &kv,
            "set",
            "--args",
            r#"{"key": "a", "value": 7}"#,
        ],
        &["`set`", "`value`", "expected string"],
    );
    refused(
        &["invoke", &kv, "set", "--key", "a", "--valu", "b"],
        &["--valu", "set(key: string, value: string)"],
    );
    refused(
        &["query", &kv, "set", "--key", "a", "--value", "b"],
        &["`set`", "not read-only"],
    );
    refused(
        &["invoke", &kv, "get", "--key", "a", "--input", "00"],
        &["not both"],
    );
    let hello = tos_test_harness::fixtures::example_elf("hello-world");
    let file = store.parent().expect("dir").join("hello.so");
    std::fs::write(&file, hello).expect("write");
    refused(
        &["invoke", file.to_str().expect("utf-8"), "greet"],
        &["no interface"],
    );
}

#[test]
fn inspect_prints_the_interface() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kv.so");
    std::fs::write(&file, tos_test_harness::fixtures::example_elf("kv-store")).expect("write");
    let out = tos_vm(
        &dir.path().join("s"),
        &["inspect", file.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("interface     kv-store (4 methods"), "{text}");
    assert!(text.contains("method get(key: string) -> string"), "{text}");
    assert!(text.contains("read-only"), "{text}");
    let out = tos_vm(
        &dir.path().join("s"),
        &["inspect", file.to_str().expect("utf-8"), "--interface"],
    );
    let interface: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(interface["name"], "kv-store");
}

#[test]
fn deploy_runs_the_constructor_by_name() {
    use tos_vm::loader::interface::selector;
    let dir = tempfile::tempdir().expect("temp dir");
    let contract = dir.path().join("start");
    std::fs::create_dir(&contract).expect("dir");
    std::fs::write(
        contract.join("interface.json"),
        format!(
            r#"{{"format": 1, "name": "start", "methods": [
                {{"name": "init", "selector": {}, "readonly": false, "constructor": true,
                  "args": [{{"name": "start", "type": "u64"}}]}},
                {{"name": "value", "selector": {}, "readonly": true, "returns": "u64"}}]}}"#,
            selector("init"),
            selector("value")
        ),
    )
    .expect("write");
    std::fs::write(
        contract.join("start.c"),
        "#include \"tos.h\"\n\
         #include \"tos_interface.h\"\n\
         static uint64_t process(const uint8_t *input, uint64_t len) {\n\
             uint32_t selector;\n\
             tos_args args;\n\
             uint64_t v;\n\
             if (!tos_call_begin(input, len, &selector, &args)) return 1;\n\
             if (selector == TOS_SELECTOR_INIT) {\n\
                 v = tos_args_u64(&args);\n\
                 if (!tos_args_end(&args)) return 1;\n\
                 tos_storage_write_u64((const uint8_t *)\"v\", 1, v);\n\
                 return 0;\n\
             }\n\
             if (selector != TOS_SELECTOR_VALUE || !tos_args_end(&args)) return 1;\n\
             tos_storage_read_u64((const uint8_t *)\"v\", 1, &v);\n\
             return tos_return_u64(v);\n\
         }\n\
         TOS_ENTRYPOINT(process)\n",
    )
    .expect("write");
    let store = dir.path().join("store");
    let elf = dir.path().join("start.so");
    let out = tos_vm(
        &store,
        &[
            "build",
            contract.to_str().expect("utf-8"),
            "-o",
            elf.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let elf = elf.to_str().expect("utf-8");
    let out = tos_vm(
        &store,
        &[
            "deploy",
            elf,
            "init",
            "--start",
            "41",
            "--sender",
            &"0e".repeat(32),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let address = stdout(&out).trim().to_string();
    let out = tos_vm(&store, &["query", &address, "value", "--json"]);
    assert_eq!(json(&out)["returned"], 41);
    // Only the constructor, with its arguments' types.
    let out = tos_vm(&store, &["deploy", elf, "value"]);
    assert!(
        stderr(&out).contains("not its constructor"),
        "{}",
        stderr(&out)
    );
    let out = tos_vm(&store, &["deploy", elf, "init", "--start", "x"]);
    assert!(
        stderr(&out).contains("method `init`, argument `start`: expected u64"),
        "{}",
        stderr(&out)
    );
}
