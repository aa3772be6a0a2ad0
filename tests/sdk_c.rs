//! C contracts built with tos.h and nothing else: the kv-store example (storage, return data,
//! events, a runtime-length memcpy) and signed division in C checked against Rust, under both
//! engines.

mod sdk_common;

use sdk_common::Chain;
use serde_json::json;
use tos_vm::loader::Interface;
use tos_vm::Hash;

const USER: Hash = Hash([0x11; 32]);

/// Call input for a kv-store method, encoded through the interface embedded in its ELF.
fn call(interface: &Interface, method: &str, args: serde_json::Value) -> Vec<u8> {
    interface
        .encode_call(method, &args)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn kv_store_sets_gets_and_deletes() {
    let elf = tos_test_harness::fixtures::example_elf("kv-store");
    let interface = tos_vm::loader::interface_of(&elf)
        .expect("valid interface")
        .expect("kv-store carries its interface.json");
    assert_eq!(interface.name, "kv-store");
    let mut chain = Chain::deploy(&elf);
    let count = |chain: &mut Chain| {
        let step = chain.call(USER, &call(&interface, "count", json!({})), 0);
        let data = step.return_data().expect("count returns");
        interface
            .decode_return("count", &data)
            .expect("decodes")
            .and_then(|v| v.as_u64())
            .expect("a u64")
    };
    assert_eq!(count(&mut chain), 0);

    let set = |key: &str, value: &str| call(&interface, "set", json!({"key": key, "value": value}));
    let step = chain.call(USER, &set("alpha", "first value"), 0);
    assert!(
        step.is_success(),
        "{:?} {:?}",
        step.outcome.status,
        step.logs()
    );
    let events = step.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, b"set".to_vec());
    assert_eq!(
        interface
            .decode_event("set", &events[0].1)
            .expect("decodes"),
        json!({"key": "alpha"})
    );
    assert_eq!(chain.storage(b"k:alpha"), Some(b"first value".to_vec()));
    let long_key = "x".repeat(200);
    let long_value = "\u{7}".repeat(3000);
    assert!(chain
        .call(USER, &set(&long_key, &long_value), 0)
        .is_success());
    assert!(chain.call(USER, &set("alpha", "second"), 0).is_success());
    assert_eq!(count(&mut chain), 2);

    let get = |key: &str| call(&interface, "get", json!({"key": key}));
    let step = chain.call(USER, &get("alpha"), 0);
    assert_eq!(
        interface
            .decode_return("get", &step.return_data().expect("data"))
            .expect("decodes"),
        Some(json!("second"))
    );
    let step = chain.call(USER, &get(&long_key), 0);
    assert_eq!(
        interface
            .decode_return("get", &step.return_data().expect("data"))
            .expect("decodes"),
        Some(json!("\u{7}".repeat(1020))),
        "truncated to the 1 KiB of return data"
    );

    let delete = call(&interface, "delete", json!({"key": "alpha"}));
    assert!(chain.call(USER, &delete, 0).is_success());
    assert_eq!(chain.call(USER, &get("alpha"), 0).code(), Some(6));
    assert_eq!(chain.call(USER, &delete, 0).code(), Some(6));
    assert_eq!(count(&mut chain), 1);

    // Malformed: no selector, an unknown selector, a short argument, trailing bytes, an empty
    // key, a key over 200 bytes.
    let mut trailing = get("beta");
    trailing.push(0);
    let mut short = get("beta");
    short.pop();
    for bad in [
        vec![],
        vec![1, 2, 3],
        vec![0xde, 0xad, 0xbe, 0xef],
        short,
        trailing,
        get(""),
        get(&"k".repeat(201)),
    ] {
        assert_eq!(chain.call(USER, &bad, 0).code(), Some(1), "{bad:?}");
    }
}

#[test]
fn c_signed_division_matches_rust() {
    let dir = tos_test_harness::fixtures::workspace_root().join("tests/contracts/c-ops");
    let elf =
        tos_test_harness::fixtures::build_contract_cached(&dir).unwrap_or_else(|e| panic!("{e}"));
    let values = [
        i64::MIN,
        i64::MIN + 1,
        -4_294_967_296,
        -2_147_483_649,
        -2_147_483_648,
        -1_000,
        -7,
        -3,
        -1,
        0,
        1,
        2,
        7,
        1_000,
        2_147_483_647,
        4_294_967_297,
        i64::MAX,
    ];
    let mut pairs = Vec::new();
    for &a in &values {
        for &b in &values {
            if b != 0 && !(a == i64::MIN && b == -1) {
                pairs.push((a, b));
            }
        }
    }
    let mut chain = Chain::deploy(&elf);
    for chunk in pairs.chunks(25) {
        let mut input = Vec::new();
        for (a, b) in chunk {
            input.extend_from_slice(&a.to_le_bytes());
            input.extend_from_slice(&b.to_le_bytes());
        }
        let step = chain.call(USER, &input, 0);
        assert!(step.is_success(), "{:?}", step.outcome.status);
        let data = step.return_data().unwrap();
        let got: Vec<i64> = data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let want: Vec<i64> = chunk
            .iter()
            .flat_map(|&(a, b)| {
                let (a32, b32) = (a as i32, b as i32 | 1);
                let q32 = if a32 == i32::MIN && b32 == -1 {
                    0
                } else {
                    a32 / b32
                };
                [a / b, a % b, i64::from(q32), a / 7, a % -3]
            })
            .collect();
        assert_eq!(got, want);
    }
}
