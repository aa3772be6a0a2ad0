//! `proptest` strategies for contract tests: addresses, amounts near the limits, storage keys
//! and values at and beyond their limits, inputs for the example contracts and the probe, and
//! random verified programs ([`crate::random`]).
//!
//! ```
//! use proptest::prelude::*;
//! use tos_test_harness::strategies;
//!
//! proptest!(ProptestConfig::with_cases(8), |(key in strategies::storage_key(), amount in strategies::amount())| {
//!     prop_assert!(key.len() <= tos_program_runtime::limits::MAX_STORAGE_KEY_LEN);
//!     let _ = amount;
//! });
//! ```

use proptest::prelude::*;
use tos_program_runtime::limits::{
    MAX_INPUT_LEN, MAX_LOG_MESSAGE_LEN, MAX_STORAGE_KEY_LEN, MAX_STORAGE_VALUE_LEN,
};
use tos_storage::Hash;

use crate::probe::{op, Arg, Scratch, Script, Value};
pub use crate::random::{program, Profile, RandomProgram};

/// Any 32-byte address, with the all-zero and all-ones addresses often.
pub fn address() -> impl Strategy<Value = Hash> {
    prop_oneof![
        1 => Just(Hash([0; 32])),
        1 => Just(Hash([0xFF; 32])),
        1 => (0u8..=255).prop_map(|b| Hash([b; 32])),
        4 => any::<[u8; 32]>().prop_map(Hash),
    ]
}

/// Amounts, many of them at the edges: 0, 1, `u64::MAX` and its neighbours, powers of two.
pub fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => Just(0u64),
        2 => Just(1u64),
        2 => Just(u64::MAX),
        2 => u64::MAX - 1_000..u64::MAX,
        1 => (0u32..64).prop_map(|bit| 1u64 << bit),
        1 => (0u32..64).prop_map(|bit| (1u64 << bit) - 1),
        3 => 2u64..1_000_000,
        3 => any::<u64>(),
    ]
}

/// An amount and a balance that covers it (`amount <= balance`).
pub fn covered_amount() -> impl Strategy<Value = (u64, u64)> {
    amount().prop_flat_map(|amount| (Just(amount), amount..=u64::MAX))
}

/// `len` bytes: all zero, all one value, or random.
pub fn bytes_of_len(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0u8; len]),
        any::<u8>().prop_map(move |b| vec![b; len]),
        prop::collection::vec(any::<u8>(), len),
    ]
}

fn length_near(limit: usize, beyond: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => Just(0usize),
        1 => Just(1usize),
        2 => Just(limit),
        1 => Just(limit.saturating_sub(1)),
        3 => 0..=limit.min(64),
        2 => 0..=limit,
        beyond as u32 => (limit + 1)..=(limit + 64),
    ]
}

/// Storage keys the VM accepts: 0 to [`MAX_STORAGE_KEY_LEN`] bytes, the edges often.
pub fn storage_key() -> impl Strategy<Value = Vec<u8>> {
    length_near(MAX_STORAGE_KEY_LEN, 0).prop_flat_map(bytes_of_len)
}

/// Storage keys at and beyond the limit (about a quarter are too long).
pub fn storage_key_any() -> impl Strategy<Value = Vec<u8>> {
    length_near(MAX_STORAGE_KEY_LEN, 3).prop_flat_map(bytes_of_len)
}

/// Keys the VM refuses (`KeyTooLong`).
pub fn oversized_storage_key() -> impl Strategy<Value = Vec<u8>> {
    ((MAX_STORAGE_KEY_LEN + 1)..=(MAX_STORAGE_KEY_LEN + 64)).prop_flat_map(bytes_of_len)
}

/// Storage values the VM accepts: 0 to [`MAX_STORAGE_VALUE_LEN`] bytes, the edges often.
pub fn storage_value() -> impl Strategy<Value = Vec<u8>> {
    length_near(MAX_STORAGE_VALUE_LEN, 0).prop_flat_map(bytes_of_len)
}

/// Storage values at and beyond the limit.
pub fn storage_value_any() -> impl Strategy<Value = Vec<u8>> {
    length_near(MAX_STORAGE_VALUE_LEN, 3).prop_flat_map(bytes_of_len)
}

/// Log messages, at and beyond [`MAX_LOG_MESSAGE_LEN`].
pub fn log_message_any() -> impl Strategy<Value = Vec<u8>> {
    length_near(MAX_LOG_MESSAGE_LEN, 2).prop_flat_map(bytes_of_len)
}

/// Contract inputs: mostly short, sometimes exactly [`MAX_INPUT_LEN`] or one byte over it.
pub fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(any::<u8>(), 0..=128),
        1 => Just(vec![0u8; MAX_INPUT_LEN]),
        1 => Just(vec![0xA5u8; MAX_INPUT_LEN + 1]),
    ]
}

/// Inputs for the example contract `name`, and the state to call it in: for `counter-rust`,
/// its methods' inputs (empty, `increment`, `count`) or any bytes, and the stored counter
/// (absent, any `u64`, the overflow edge, or a corrupt length); for contracts that ignore
/// their input (`hello-world`), any bytes.
pub fn example_call(name: &str) -> BoxedStrategy<ExampleCall> {
    match name {
        "counter-rust" => (
            prop_oneof![
                2 => Just(Vec::new()),
                2 => Just(tos_abi::method_selector("increment").to_le_bytes().to_vec()),
                2 => Just(tos_abi::method_selector("count").to_le_bytes().to_vec()),
                3 => input(),
            ],
            prop_oneof![
                Just(None),
                amount().prop_map(|n| Some(n.to_le_bytes().to_vec())),
                (0usize..=16)
                    .prop_filter("not 8 bytes", |len| *len != 8)
                    .prop_flat_map(bytes_of_len)
                    .prop_map(Some),
            ],
        )
            .prop_map(|(input, count)| ExampleCall {
                input,
                storage: count
                    .map(|v| vec![(b"count".to_vec(), v)])
                    .unwrap_or_default(),
            })
            .boxed(),
        _ => input()
            .prop_map(|input| ExampleCall {
                input,
                storage: Vec::new(),
            })
            .boxed(),
    }
}

/// An input and the contract's storage before the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleCall {
    pub input: Vec<u8>,
    pub storage: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Addresses the probe can pass to syscalls: its scratch buffer, the input, and hostile ones.
fn probe_arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        4 => (0u16..512).prop_map(Scratch),
        3 => prop_oneof![0u64..=64, Just(256), Just(257), Just(10_001), Just(u64::MAX)].prop_map(Value),
        1 => prop::sample::select(vec![
            0u64,
            8,
            0x3_8000_0000,
            0x4_0000_0000,
            u64::MAX - 4,
            0x2_0000_0000 + 64 * 4096 - 16,
        ])
        .prop_map(Value),
    ]
}

/// Random scripts for the syscall probe: up to `max` syscalls with valid or hostile
/// arguments, ending with status 0 or 1.
pub fn probe_script(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let command = (
        prop::sample::select(vec![
            op::LOG,
            op::BLOCK_HASH,
            op::BLOCK_HEIGHT,
            op::TX_HASH,
            op::TX_SENDER,
            op::CONTRACT_HASH,
            op::GET_BALANCE,
            op::TRANSFER,
            op::STORAGE_READ,
            op::STORAGE_WRITE,
            op::STORAGE_DELETE,
            op::MEMCPY,
            op::MEMMOVE,
            op::MEMSET,
            op::MEMCMP,
            op::ECHO_SCRATCH,
        ]),
        prop::collection::vec(probe_arg(), 5),
    );
    (prop::collection::vec(command, 1..=max), 0u64..=1).prop_map(|(commands, status)| {
        let mut script = Script::new();
        for (op, args) in commands {
            script = script.call(op, &args);
        }
        script.build(status)
    })
}
