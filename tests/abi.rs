//! One source for the numbers the VM and contracts share (`tos-abi`): the runtime, the
//! syscalls and the Rust SDK (contracts and host mode) take them from it instead of restating
//! them, and the C header `sdk/c/tos.h`, which cannot, states the same values.

use std::{collections::HashMap, path::Path};

use tos_abi::{create, invoke, limits};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `const NAME: TYPE = <digit>...` definitions of shared names (limits and statuses; compute
/// costs are the syscalls' own) in the Rust sources of `dir`.
fn restated_constants(dir: &Path) -> Vec<String> {
    let shared = ["MAX_", "INVOKE_", "CREATE_", "HEAP_LEN", "HEAP_SIZE"];
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().split("const ").nth(1) else {
                continue;
            };
            let Some((name, value)) = rest.split_once('=') else {
                continue;
            };
            let name = name.split(':').next().unwrap_or("").trim();
            let literal = value.trim_start().starts_with(|c: char| c.is_ascii_digit());
            let shared_name =
                shared.iter().any(|prefix| name.starts_with(prefix)) && !name.ends_with("_COST");
            if literal && shared_name {
                found.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn sdk_host_mode_syscalls_and_runtime_take_limits_and_statuses_from_tos_abi() {
    let mut restated = Vec::new();
    for dir in ["sdk/src", "syscalls/src", "program-runtime/src"] {
        restated.extend(restated_constants(&root().join(dir)));
    }
    assert!(
        restated.is_empty(),
        "use tos_abi instead of restating:\n{}",
        restated.join("\n")
    );
    // And the names each side exports are tos-abi's values.
    assert_eq!(tos_sdk::storage::MAX_KEY_LEN, limits::MAX_STORAGE_KEY_LEN);
    assert_eq!(
        tos_sdk::storage::MAX_VALUE_LEN,
        limits::MAX_STORAGE_VALUE_LEN
    );
    assert_eq!(tos_sdk::MAX_LOG_LEN, limits::MAX_LOG_MESSAGE_LEN);
    assert_eq!(
        tos_sdk::call::MAX_RETURN_DATA_LEN,
        limits::MAX_RETURN_DATA_LEN
    );
    assert_eq!(tos_sdk::call::INVOKE_ERROR_BASE, invoke::INVOKE_ERROR_BASE);
    assert_eq!(
        tos_vm::syscalls::invoke::INVOKE_CALLEE_RESERVED_STATUS,
        invoke::INVOKE_CALLEE_RESERVED_STATUS
    );
    assert_eq!(
        tos_vm::runtime::limits::MAX_CONTRACT_CALL_DEPTH,
        limits::MAX_CONTRACT_CALL_DEPTH
    );
}

/// Evaluates the `#define`s of tos.h this test needs: numbers, `(A | n)`, `(a * b)`.
fn header_values() -> HashMap<String, u64> {
    let header = std::fs::read_to_string(root().join("sdk/c/tos.h")).unwrap();
    let mut values = HashMap::new();
    for line in header.lines() {
        let Some(rest) = line.strip_prefix("#define TOS_") else {
            continue;
        };
        let Some((name, body)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        let body = body.split("/*").next().unwrap_or("").trim();
        let body = body.trim_start_matches('(').trim_end_matches(')');
        let term = |text: &str, values: &HashMap<String, u64>| -> Option<u64> {
            let text = text.trim().trim_end_matches("ULL").trim_end_matches('U');
            if let Some(hex) = text.strip_prefix("0x") {
                return u64::from_str_radix(hex, 16).ok();
            }
            if let Some(name) = text.strip_prefix("TOS_") {
                return values.get(name).copied();
            }
            text.parse().ok()
        };
        let value = if let Some((a, b)) = body.split_once('|') {
            term(a, &values).zip(term(b, &values)).map(|(a, b)| a | b)
        } else if let Some((a, b)) = body.split_once('*') {
            term(a, &values).zip(term(b, &values)).map(|(a, b)| a * b)
        } else {
            term(body, &values)
        };
        if let Some(value) = value {
            values.insert(name.to_owned(), value);
        }
    }
    values
}

#[test]
fn the_c_header_states_tos_abis_values() {
    let header = header_values();
    let expected: &[(&str, u64)] = &[
        ("MAX_KEY_LEN", limits::MAX_STORAGE_KEY_LEN as u64),
        ("MAX_VALUE_LEN", limits::MAX_STORAGE_VALUE_LEN as u64),
        ("MAX_LOG_LEN", limits::MAX_LOG_MESSAGE_LEN as u64),
        ("MAX_RETURN_DATA_LEN", limits::MAX_RETURN_DATA_LEN as u64),
        ("MAX_EVENT_TOPIC_LEN", limits::MAX_EVENT_TOPIC_LEN as u64),
        ("MAX_EVENT_DATA_LEN", limits::MAX_EVENT_DATA_LEN as u64),
        ("HEAP_LEN", limits::HEAP_SIZE as u64),
        ("INVOKE_ERROR_BASE", invoke::INVOKE_ERROR_BASE),
        ("INVOKE_NOT_FOUND", invoke::INVOKE_NOT_FOUND),
        ("INVOKE_REENTRANCY", invoke::INVOKE_REENTRANCY),
        ("INVOKE_DEPTH_EXCEEDED", invoke::INVOKE_DEPTH_EXCEEDED),
        ("INVOKE_ABORTED", invoke::INVOKE_ABORTED),
        (
            "INVOKE_INSUFFICIENT_VALUE",
            invoke::INVOKE_INSUFFICIENT_VALUE,
        ),
        (
            "INVOKE_CALLEE_RESERVED_STATUS",
            invoke::INVOKE_CALLEE_RESERVED_STATUS,
        ),
        ("CREATE_ADDRESS_TAKEN", create::CREATE_ADDRESS_TAKEN),
        ("CREATE_CODE_NOT_FOUND", create::CREATE_CODE_NOT_FOUND),
        ("CREATE_DEPTH_EXCEEDED", create::CREATE_DEPTH_EXCEEDED),
        (
            "CREATE_CONSTRUCTOR_FAILED",
            create::CREATE_CONSTRUCTOR_FAILED,
        ),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(name, value)| header.get(*name) != Some(value))
        .map(|(name, value)| format!("TOS_{name}: tos.h {:?}, tos-abi {value}", header.get(*name)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
