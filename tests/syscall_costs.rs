//! Cost strings cannot drift: every syscall runs from hand-written assembly (whose executed
//! instructions are counted exactly) with sample arguments, and the compute it used must be the
//! instructions plus what its `SyscallSpec::cost` (the formula docs/syscalls.md shows) gives for
//! those arguments. Per-byte syscalls run at two or more sizes, so base and slope are both
//! checked. A syscall without a sample here fails the test.

use std::collections::BTreeSet;

use tos_test_harness::{
    code_load_cost, code_load_size, elf, Harness, Status, DEFAULT_SENDER, NATIVE_ASSET,
};

/// Stack buffers (each 512 bytes) the samples point at: below the frame pointer `r10`.
const A: i64 = -2048;
const B: i64 = -1536;
const C: i64 = -1024;
const D: i64 = -512;

fn ptr(reg: u8, offset: i64) -> String {
    format!("mov64 r{reg}, r10\nadd64 r{reg}, {offset}\n")
}

fn val(reg: u8, value: u64) -> String {
    format!("mov64 r{reg}, {value}\n")
}

/// One `syscall` with its argument setup; `bytes` is what the cost formula counts, `cold` how
/// many pieces of state it touches first in its transaction (each pays the formula's cold
/// access surcharge).
struct Call {
    setup: String,
    name: &'static str,
    bytes: u64,
    cold: u64,
}

fn call(name: &'static str, bytes: u64, setup: String) -> Call {
    Call {
        setup,
        name,
        bytes,
        cold: 0,
    }
}

impl Call {
    fn cold(self, cold: u64) -> Call {
        Call { cold, ..self }
    }
}

/// A straight-line program of `calls`, then `return 0` (unless a call aborts it).
struct Sample {
    calls: Vec<Call>,
    aborts: bool,
    /// Whether the contract needs native balance and a deposit.
    funded: bool,
}

fn sample(calls: Vec<Call>) -> Sample {
    Sample {
        calls,
        aborts: false,
        funded: false,
    }
}

fn hash_slices(name: &'static str, lengths: &[u64]) -> Call {
    // The slice table at A: (address, length) pairs, each slice inside buffer C.
    let mut setup = String::new();
    for (i, len) in lengths.iter().enumerate() {
        let at = A + 16 * i as i64;
        setup += &ptr(3, C);
        setup += &format!("stxdw [r10{at}], r3\n");
        setup += &val(3, *len);
        setup += &format!("stxdw [r10{}], r3\n", at + 8);
    }
    setup += &ptr(1, A);
    setup += &val(2, lengths.len() as u64);
    setup += &ptr(3, D);
    // Each slice is charged as HASH_SLICE_BYTES more bytes.
    let bytes = tos_vm::syscalls::crypto::hashed_bytes(lengths.iter().sum(), lengths.len() as u64);
    call(name, bytes, setup)
}

fn samples() -> Vec<Sample> {
    let out = |name: &'static str| call(name, 0, ptr(1, A));
    let mut samples = Vec::new();
    for len in [0, 1, 300] {
        samples.push(sample(vec![call("tos_log", len, ptr(1, C) + &val(2, len))]));
    }
    samples.push(Sample {
        aborts: true,
        ..sample(vec![call("tos_panic", 77, ptr(1, C) + &val(2, 77))])
    });
    for name in [
        "tos_get_block_hash",
        "tos_get_block_height",
        "tos_get_block_timestamp",
        "tos_get_tx_hash",
        "tos_get_tx_sender",
        "tos_get_contract_hash",
        "tos_get_code_hash",
        "tos_get_caller",
        "tos_get_call_depth",
        "tos_get_call_value",
        "tos_get_deposit_count",
        "tos_get_deposit_amount",
    ] {
        samples.push(sample(vec![out(name)]));
    }
    // A balance the transaction has not touched: cold.
    for name in ["tos_get_balance", "tos_get_self_balance"] {
        samples.push(sample(vec![out(name).cold(1)]));
    }
    samples.push(sample(vec![call(
        "tos_get_asset_balance",
        0,
        ptr(1, A) + &ptr(2, B),
    )
    .cold(1)]));
    // The same balance twice: cold, then warm.
    samples.push(sample(vec![
        out("tos_get_balance").cold(1),
        out("tos_get_balance"),
    ]));
    samples.push(Sample {
        funded: true,
        // The deposit warmed the contract's native balance; the recipient (the zero address
        // in buffer A) is cold once; the asset in buffer B is the native one (zeros).
        ..sample(vec![
            call("tos_transfer", 0, ptr(1, A) + &val(2, 5)).cold(1),
            call("tos_transfer_asset", 0, ptr(1, A) + &ptr(2, B) + &val(3, 5)),
            call("tos_get_deposit", 0, val(1, 0) + &ptr(2, A)),
        ])
    });
    for len in [0, 100] {
        samples.push(sample(vec![call(
            "tos_create_contract",
            len,
            ptr(1, A) + &ptr(2, B) + &ptr(3, C) + &val(4, len) + &ptr(5, D),
        )]));
        samples.push(sample(vec![call(
            "tos_invoke",
            len,
            ptr(1, A) + &ptr(2, C) + &val(3, len) + &val(4, 0),
        )]));
    }
    for (key, value) in [(1, 0), (5, 20), (64, 300)] {
        let key_and =
            |name, bytes, rest: String| call(name, bytes, ptr(1, A) + &val(2, key) + &rest);
        samples.push(sample(vec![
            // Absent: only the key is charged; the transaction's first access to it: cold.
            key_and("tos_storage_read", key, ptr(3, B) + &val(4, 512)).cold(1),
            key_and("tos_storage_write", key + value, ptr(3, C) + &val(4, value)),
            key_and("tos_storage_read", key + value, ptr(3, B) + &val(4, 512)),
            key_and("tos_storage_delete", key, String::new()),
        ]));
    }
    // A write or a delete that is the transaction's first access to its key is cold too.
    samples.push(sample(vec![call(
        "tos_storage_delete",
        5,
        ptr(1, A) + &val(2, 5),
    )
    .cold(1)]));
    let write = || {
        call(
            "tos_storage_write",
            25,
            ptr(1, A) + &val(2, 5) + &ptr(3, C) + &val(4, 20),
        )
    };
    samples.push(sample(vec![write().cold(1), write()]));
    for len in [0, 63, 64, 500] {
        samples.push(sample(vec![
            call("tos_memcpy", len, ptr(1, A) + &ptr(2, C) + &val(3, len)),
            call("tos_memmove", len, ptr(1, A) + &ptr(2, A) + &val(3, len)),
            call("tos_memset", len, ptr(1, A) + &val(2, 7) + &val(3, len)),
            call("tos_memcmp", len, ptr(1, A) + &ptr(2, C) + &val(3, len)),
        ]));
    }
    for len in [0, 40, 300] {
        samples.push(sample(vec![
            call("tos_set_return_data", len, ptr(1, C) + &val(2, len)),
            // Copies min(out_len, len): 10 bytes at most here.
            call(
                "tos_get_return_data",
                len.min(10),
                ptr(1, A) + &val(2, 10) + &val(3, 0),
            ),
        ]));
    }
    for (topic, data) in [(0, 0), (1, 0), (8, 200)] {
        samples.push(sample(vec![call(
            "tos_emit_event",
            topic + data,
            ptr(1, A) + &val(2, topic) + &ptr(3, C) + &val(4, data),
        )]));
    }
    for name in ["tos_sha256", "tos_keccak256", "tos_blake3"] {
        // Odd slices: the per-byte part is on the total, not rounded per slice.
        for lengths in [&[][..], &[1], &[3, 3, 3], &[1; 8], &[400, 101]] {
            samples.push(sample(vec![hash_slices(name, lengths)]));
        }
    }
    for len in [0, 3, 300] {
        samples.push(sample(vec![call(
            "tos_ed25519_verify",
            len,
            ptr(1, A) + &ptr(2, C) + &val(3, len) + &ptr(4, B),
        )]));
    }
    samples
}

fn spec(name: &str) -> tos_syscalls::SyscallSpec {
    *tos_syscalls::SYSCALLS
        .iter()
        .find(|spec| spec.name == name)
        .unwrap_or_else(|| panic!("{name} is not a syscall"))
}

#[test]
fn every_syscall_charges_its_documented_formula() {
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    for sample in samples() {
        let mut source = String::new();
        let mut expected = 0;
        let mut described = Vec::new();
        for call in &sample.calls {
            source += &call.setup;
            source += &format!("syscall {}\n", call.name);
            let cost = spec(call.name).cost;
            expected += cost.units(call.bytes);
            expected += call.cold * cost.cold.map_or(0, |cold| cold.units);
            described.push(format!("{}({} bytes): {}", call.name, call.bytes, cost));
            covered.insert(call.name);
        }
        if !sample.aborts {
            source += "mov64 r0, 0\nexit\n";
        }
        // Straight-line code: every line is one executed instruction (`lddw` is not used).
        expected += source.lines().count() as u64;
        let elf = elf::assemble(&source).unwrap_or_else(|e| panic!("{e}\n{source}"));
        // The call's first run of its own code: the cold code load.
        expected += code_load_cost(code_load_size(&elf));
        let mut chain = Harness::new().deploy(elf);
        if sample.funded {
            let contract = chain.contract();
            chain = chain
                .with_balance(contract, 1_000)
                .with_balance(DEFAULT_SENDER, 1_000)
                .with_deposits(&[(NATIVE_ASSET, 9)]);
        }
        let run = chain.invoke(b"");
        let budget_ran_out = matches!(&run.status, Status::Aborted(abort)
            if abort.kind() == "ComputeBudgetExceeded");
        if run.compute_used != expected
            || budget_ran_out
            || sample.aborts != matches!(run.status, Status::Aborted(_))
        {
            failures.push(format!(
                "{}\n  expected {expected} units, used {} ({:?})",
                described.join("\n  "),
                run.compute_used,
                run.status
            ));
        }
    }
    let missing: Vec<&str> = tos_syscalls::SYSCALLS
        .iter()
        .map(|spec| spec.name)
        .filter(|name| !covered.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "syscalls without a cost sample: {missing:?}"
    );
    assert!(
        failures.is_empty(),
        "charges differ from the documented formulas:\n{}",
        failures.join("\n")
    );
}

/// `tos_invoke` and `tos_create_contract` of an existing code: the first run of the callee's
/// code in the transaction pays its cold load, the second is warm; a second instance of the
/// same code (created by the factory call) is warm too.
#[test]
fn invoke_and_create_charge_the_cold_code_load_once_per_transaction() {
    // The callee: returns 0 after 2 instructions.
    let callee = elf::assemble("mov64 r0, 0\nexit").expect("assembles");
    let mut chain = Harness::new().deploy(&callee);
    let callee_address = chain.contract();
    let callee_code = tos_vm::code_hash(&callee);
    // The caller gets the callee's address (32 bytes) then its code hash (32 bytes) as input,
    // invokes the callee twice, then creates an instance of its code (salt: the stack's
    // zeroed buffer at A) with empty input, whose constructor is the same 2 instructions.
    let invoke = "mov64 r1, r6\nmov64 r2, r6\nmov64 r3, 0\nmov64 r4, 0\nsyscall tos_invoke\n";
    let create = format!(
        "mov64 r1, r6\nadd64 r1, 32\n{}mov64 r3, r6\nmov64 r4, 0\n{}syscall tos_create_contract\n",
        ptr(2, A),
        ptr(5, B)
    );
    let source = format!("mov64 r6, r1\n{invoke}{invoke}{create}mov64 r0, 0\nexit\n");
    let caller = elf::assemble(&source).expect("assembles");
    chain = chain.deploy(&caller);
    let mut input = callee_address.0.to_vec();
    input.extend_from_slice(&callee_code.0);
    let run = chain.invoke(&input);
    assert!(matches!(run.status, Status::Success), "{:?}", run.status);
    let instructions = source.lines().count() as u64;
    let invoke_cost = spec("tos_invoke").cost.units(0);
    let create_cost = spec("tos_create_contract").cost.units(0);
    let expected = code_load_cost(code_load_size(&caller))
        + instructions
        + 2 * invoke_cost
        + create_cost
        + code_load_cost(code_load_size(&callee))
        + 3 * 2;
    assert_eq!(
        run.compute_used, expected,
        "caller load + instructions + 2 invokes + 1 create + one cold load of the callee's \
         code + 3 runs of it"
    );
}

/// Cold or warm depends on the transaction alone: a key and a balance read twice pay the cold
/// surcharge once per transaction, in every transaction, whatever the node read before.
#[test]
fn the_first_access_to_a_key_or_a_balance_is_cold_in_every_transaction() {
    let read_key = ptr(1, A) + &val(2, 1) + &ptr(3, B) + &val(4, 8) + "syscall tos_storage_read\n";
    let read_balance = ptr(1, A) + "syscall tos_get_balance\n";
    let source = format!("{read_key}{read_key}{read_balance}{read_balance}mov64 r0, 0\nexit\n");
    let elf = elf::assemble(&source).expect("assembles");
    // The key is the zero byte at A, the account the zero address at A.
    let mut chain = Harness::new().deploy(&elf).with_storage(&[0], b"12345678");
    let read = spec("tos_storage_read").cost;
    let balance = spec("tos_get_balance").cost;
    let expected = code_load_cost(code_load_size(&elf))
        + source.lines().count() as u64
        + 2 * read.units(1 + 8)
        + tos_vm::syscalls::storage::STORAGE_COLD_ACCESS_COST
        + 2 * balance.units(0)
        + tos_vm::syscalls::balance::BALANCE_COLD_ACCESS_COST;
    for transaction in 0..2 {
        let run = chain.invoke(b"");
        assert!(matches!(run.status, Status::Success), "{:?}", run.status);
        assert_eq!(run.compute_used, expected, "transaction {transaction}");
    }
}
