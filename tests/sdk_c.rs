//! C contracts built with tos.h and nothing else: the kv-store example (storage, return data,
//! events, a runtime-length memcpy) and signed division in C checked against Rust, under both
//! engines.

mod sdk_common;

use sdk_common::Chain;
use tos_vm::Hash;

const USER: Hash = Hash([0x11; 32]);

fn set(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut input = vec![b'S', key.len() as u8];
    input.extend_from_slice(key);
    input.extend_from_slice(value);
    input
}

fn op(code: u8, key: &[u8]) -> Vec<u8> {
    let mut input = vec![code];
    input.extend_from_slice(key);
    input
}

#[test]
fn kv_store_sets_gets_and_deletes() {
    let mut chain = Chain::deploy(&tos_test_harness::fixtures::example_elf("kv-store"));
    let count = |chain: &mut Chain| {
        let step = chain.call(USER, b"N", 0);
        u64::from_le_bytes(step.return_data().unwrap().try_into().unwrap())
    };
    assert_eq!(count(&mut chain), 0);

    let step = chain.call(USER, &set(b"alpha", b"first value"), 0);
    assert!(
        step.is_success(),
        "{:?} {:?}",
        step.outcome.status,
        step.logs()
    );
    assert_eq!(step.events(), vec![(b"set".to_vec(), b"alpha".to_vec())]);
    assert_eq!(chain.storage(b"k:alpha"), Some(b"first value".to_vec()));
    let long_key = vec![b'x'; 200];
    let long_value = vec![7u8; 3000];
    assert!(chain
        .call(USER, &set(&long_key, &long_value), 0)
        .is_success());
    assert!(chain.call(USER, &set(b"alpha", b"second"), 0).is_success());
    assert_eq!(count(&mut chain), 2);

    let step = chain.call(USER, &op(b'G', b"alpha"), 0);
    assert_eq!(step.return_data(), Some(b"second".to_vec()));
    let step = chain.call(USER, &op(b'G', &long_key), 0);
    assert_eq!(
        step.return_data(),
        Some(vec![7u8; 1024]),
        "truncated to 1 KiB"
    );

    assert!(chain.call(USER, &op(b'D', b"alpha"), 0).is_success());
    assert_eq!(chain.call(USER, &op(b'G', b"alpha"), 0).code(), Some(6));
    assert_eq!(chain.call(USER, &op(b'D', b"alpha"), 0).code(), Some(6));
    assert_eq!(count(&mut chain), 1);

    for bad in [&b""[..], b"S", b"S\x05ab", b"G", b"Q"] {
        assert_eq!(chain.call(USER, bad, 0).code(), Some(1), "{bad:?}");
    }
    let mut too_long = vec![b'S', 201];
    too_long.extend_from_slice(&[b'k'; 201]);
    assert_eq!(chain.call(USER, &too_long, 0).code(), Some(1));
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
