//! Contracts calling contracts (`tos_invoke`), return data, events, context syscalls and
//! crypto, from real BPF code (probe contracts built from C), under both engines.

mod common;

use common::*;
use tos_vm::{
    runtime::RuntimeError, syscalls::invoke as codes, AbortReason, BlockContext, ContractCall,
    Engine, Hash, InvokeStatus, MemoryStorage, StorageProvider, Vm, VmConfig, NATIVE_ASSET,
};

use tos_test_harness::fixtures::probe_variant_elf;

struct Multi {
    outcome: tos_vm::InvokeOutcome,
    before: MemoryStorage,
    after: MemoryStorage,
    contracts: Vec<Hash>,
}

impl Multi {
    fn logs(&self) -> Vec<String> {
        self.outcome
            .logs
            .iter()
            .map(|l| l.message.clone())
            .collect()
    }
    fn results(&self) -> Vec<u64> {
        self.logs()
            .iter()
            .filter_map(|l| l.strip_prefix("r="))
            .map(|h| u64::from_str_radix(h, 16).unwrap())
            .collect()
    }
    fn echoes(&self) -> Vec<Vec<u8>> {
        self.logs()
            .iter()
            .filter_map(|l| l.strip_prefix("s="))
            .map(|h| hex::decode(h).unwrap())
            .collect()
    }
}

/// Deploys `count` probe variants, invokes the first with `input` under both engines from
/// identical stores and checks the engines agree.
fn run_probes(
    count: u32,
    input: impl Fn(&[Hash]) -> Vec<u8>,
    budget: u64,
    value: u64,
    setup: impl Fn(&mut MemoryStorage, &[Hash]),
) -> Multi {
    let elfs: Vec<Vec<u8>> = (1..=count).map(probe_variant_elf).collect();
    let mut runs = Vec::new();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = Vm::new(VmConfig {
            engine,
            compute_budget: budget,
        });
        let mut store = MemoryStorage::default();
        let contracts: Vec<Hash> = elfs
            .iter()
            .map(|elf| {
                vm.deploy(
                    elf,
                    tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                    &mut store,
                )
                .map(|deployed| deployed.contract)
                .unwrap()
            })
            .collect();
        setup(&mut store, &contracts);
        let before = store.clone();
        let call = ContractCall {
            contract: contracts[0],
            input: input(&contracts),
            sender: SENDER,
            tx_hash: TX_HASH,
            deposits: tos_vm::native_deposit(value),
            compute_limit: None,
            created_bytes_limit: None,
        };
        let outcome = vm.invoke(&call, &block(), &mut store).unwrap();
        runs.push(Multi {
            outcome,
            before,
            after: store,
            contracts,
        });
    }
    let jit = runs.pop().unwrap();
    let interpreter = runs.pop().unwrap();
    assert_eq!(
        fingerprint(&interpreter.outcome),
        fingerprint(&jit.outcome),
        "engines disagree"
    );
    assert_eq!(
        format!("{:?}", interpreter.outcome.events),
        format!("{:?}", jit.outcome.events)
    );
    assert_eq!(
        format!("{:?}", interpreter.outcome.return_data),
        format!("{:?}", jit.outcome.return_data)
    );
    assert_eq!(interpreter.after, jit.after, "engines left different state");
    interpreter
}

/// A script for the caller that invokes `callee` with `callee_script` and `value`.
fn invoking(script: Script, callee: &Hash, callee_script: Vec<u8>, value: u64) -> Script {
    let len = callee_script.len() as u64;
    script.with_data(&callee.0, |s, hash| {
        s.with_data(&callee_script, |s, input| {
            s.call(op::INVOKE, &[hash, input, Value(len), Value(value)])
        })
    })
}

fn success(multi: &Multi) {
    assert!(
        matches!(multi.outcome.status, InvokeStatus::Success),
        "{:?} logs {:?}",
        multi.outcome.status,
        multi.logs()
    );
}

#[test]
fn a_successful_callee_keeps_its_writes_events_and_return_data() {
    let multi = run_probes(
        2,
        |c| {
            let callee = Script::new()
                .storage_write(b"callee-key", b"v1")
                .with_data(b"topic", |s, t| {
                    s.with_data(b"payload", |s, d| {
                        s.call(op::EMIT_EVENT, &[t, Value(5), d, Value(7)])
                    })
                })
                .with_data(b"answer", |s, d| {
                    s.call(op::SET_RETURN_DATA, &[d, Value(6)])
                })
                .call(op::CALLER, &[Scratch(0)])
                .call(op::CALL_DEPTH, &[])
                .call(op::ECHO_SCRATCH, &[Value(0), Value(32)])
                .build(0);
            invoking(Script::new(), &c[1], callee, 0)
                .call(
                    op::GET_RETURN_DATA,
                    &[Scratch(100), Value(64), Scratch(200)],
                )
                .call(op::ECHO_SCRATCH, &[Value(100), Value(6)])
                .call(op::ECHO_SCRATCH, &[Value(200), Value(32)])
                .call(op::CALL_DEPTH, &[])
                .build(0)
        },
        200_000,
        0,
        |_, _| {},
    );
    success(&multi);
    let (caller, callee) = (multi.contracts[0], multi.contracts[1]);
    // callee: write 0, event 0, return data 0, caller 0, depth 2; caller: invoke 0, get 6, depth 1
    assert_eq!(multi.results(), vec![0, 0, 0, 0, 2, 0, 6, 1]);
    assert_eq!(
        multi.echoes(),
        vec![caller.0.to_vec(), b"answer".to_vec(), callee.0.to_vec()]
    );
    assert_eq!(
        multi.after.read_storage(&callee, b"callee-key").unwrap(),
        Some(b"v1".to_vec())
    );
    assert_eq!(multi.outcome.events.len(), 1);
    assert_eq!(multi.outcome.events[0].contract, callee);
    assert_eq!(multi.outcome.events[0].topic, b"topic");
    assert_eq!(multi.outcome.events[0].data, b"payload");
    let returned = multi.outcome.return_data.as_ref().unwrap();
    assert_eq!(
        (returned.contract, returned.data.as_slice()),
        (callee, &b"answer"[..])
    );
}

type Ending = fn(Script) -> Vec<u8>;

#[test]
fn a_failing_callee_is_reverted_and_the_caller_keeps_its_own_writes() {
    let endings: [(Ending, u64); 5] = [
        (|s| s.build(7), 7),
        // A callee cannot forge the VM's statuses (issue 18.2): "not found" from a callee that
        // exists is reported as a callee failure with a reserved status.
        (
            |s| s.build(codes::INVOKE_NOT_FOUND),
            codes::INVOKE_CALLEE_RESERVED_STATUS,
        ),
        (|s| s.build(u64::MAX), codes::INVOKE_CALLEE_RESERVED_STATUS),
        (
            |s| {
                s.with_data(b"oops", |s, m| s.call(op::PANIC, &[m, Value(4)]))
                    .build(0)
            },
            codes::INVOKE_ABORTED,
        ),
        (
            |s| s.call(op::LOG, &[Value(0x3_8000_0000), Value(4)]).build(0),
            codes::INVOKE_ABORTED,
        ),
    ];
    for (ending, expected_status) in endings {
        let multi = run_probes(
            2,
            |c| {
                let callee = Script::new()
                    .storage_write(b"callee-key", b"lost")
                    .with_data(b"t", |s, t| {
                        s.call(op::EMIT_EVENT, &[t, Value(1), t, Value(1)])
                    });
                invoking(
                    Script::new().storage_write(b"caller-before", b"1"),
                    &c[1],
                    ending(callee),
                    0,
                )
                .with_data(b"caller-after", |s, k| {
                    s.call(op::STORAGE_WRITE, &[k, Value(12), k, Value(1)])
                })
                .build(0)
            },
            200_000,
            0,
            |_, _| {},
        );
        success(&multi);
        let (caller, callee) = (multi.contracts[0], multi.contracts[1]);
        let results = multi.results();
        // caller write, callee write, callee event, (callee ends), invoke status, caller write
        assert_eq!(results[3], expected_status, "logs {:?}", multi.logs());
        assert_eq!(
            multi.after.read_storage(&callee, b"callee-key").unwrap(),
            None,
            "callee reverted"
        );
        assert_eq!(
            multi.after.read_storage(&caller, b"caller-before").unwrap(),
            Some(b"1".to_vec())
        );
        assert!(multi
            .after
            .read_storage(&caller, b"caller-after")
            .unwrap()
            .is_some());
        assert!(
            multi.outcome.events.is_empty(),
            "the callee's events are dropped"
        );
        if expected_status == codes::INVOKE_ABORTED {
            assert!(
                multi
                    .logs()
                    .iter()
                    .any(|l| l.starts_with("tos_invoke: ") && l.contains("aborted")),
                "{:?}",
                multi.logs()
            );
        }
    }
}

#[test]
fn reentrancy_is_refused() {
    // A calls A directly; A calls B which calls A.
    let direct = run_probes(
        1,
        |c| invoking(Script::new(), &c[0], Script::new().build(0), 0).build(0),
        100_000,
        0,
        |_, _| {},
    );
    success(&direct);
    assert_eq!(direct.results(), vec![codes::INVOKE_REENTRANCY]);
    let indirect = run_probes(
        2,
        |c| {
            invoking(
                Script::new(),
                &c[1],
                invoking(Script::new(), &c[0], Script::new().build(0), 0).build(0),
                0,
            )
            .build(0)
        },
        100_000,
        0,
        |_, _| {},
    );
    success(&indirect);
    assert_eq!(indirect.results(), vec![codes::INVOKE_REENTRANCY, 0]);
}

#[test]
fn call_depth_is_bounded() {
    // Contract i calls contract i+1 for i in 0..9: the 9th call is refused.
    let count = 9u32;
    let multi = run_probes(
        count,
        |c| {
            let mut script = Script::new().call(op::CALL_DEPTH, &[]).build(0);
            for callee in c[1..].iter().rev() {
                script = invoking(Script::new(), callee, script, 0).build(0);
            }
            script
        },
        1_000_000,
        0,
        |_, _| {},
    );
    success(&multi);
    // The innermost reachable frame is depth 8 and its invoke is refused; every frame above
    // sees its callee succeed.
    let results = multi.results();
    assert_eq!(results[0], codes::INVOKE_DEPTH_EXCEEDED, "{results:?}");
    assert!(results[1..].iter().all(|r| *r == 0), "{results:?}");
    assert_eq!(results.len(), 8);
}

#[test]
fn compute_exhaustion_in_a_callee_aborts_the_whole_invoke() {
    let multi = run_probes(
        2,
        |c| {
            invoking(
                Script::new().storage_write(b"caller", b"x"),
                &c[1],
                Script::new()
                    .storage_write(b"callee", b"y")
                    .call(op::SPIN, &[])
                    .build(0),
                0,
            )
            .build(0)
        },
        50_000,
        0,
        |_, _| {},
    );
    assert!(
        matches!(
            multi.outcome.status,
            InvokeStatus::Aborted(AbortReason::Runtime(
                RuntimeError::ComputeBudgetExceeded { .. }
            ))
        ),
        "{:?}",
        multi.outcome.status
    );
    assert_eq!(multi.outcome.compute_used, 50_000);
    assert_eq!(multi.before, multi.after);
}

#[test]
fn value_moves_with_the_call_and_is_visible_to_the_callee() {
    let multi = run_probes(
        2,
        |c| {
            let callee = Script::new()
                .call(op::CALL_VALUE, &[])
                .call(op::SELF_BALANCE, &[])
                .build(0);
            invoking(Script::new(), &c[1], callee, 40)
                .call(op::SELF_BALANCE, &[])
                .build(0)
        },
        100_000,
        0,
        |store, c| store.set_balance(c[0], NATIVE_ASSET, 100),
    );
    success(&multi);
    assert_eq!(multi.results(), vec![40, 40, 0, 60]);
    assert_eq!(
        multi
            .after
            .read_balance(&multi.contracts[1], &NATIVE_ASSET)
            .unwrap(),
        40
    );

    let poor = run_probes(
        2,
        |c| invoking(Script::new(), &c[1], Script::new().build(0), 500).build(0),
        100_000,
        0,
        |store, c| store.set_balance(c[0], NATIVE_ASSET, 100),
    );
    success(&poor);
    assert_eq!(poor.results(), vec![codes::INVOKE_INSUFFICIENT_VALUE]);
    assert_eq!(poor.before, poor.after);
}

#[test]
fn invoking_an_unknown_contract_returns_not_found() {
    let multi = run_probes(
        1,
        |_| invoking(Script::new(), &Hash([9; 32]), Script::new().build(0), 0).build(0),
        100_000,
        0,
        |_, _| {},
    );
    assert_eq!(multi.results(), vec![codes::INVOKE_NOT_FOUND]);
}

#[test]
fn top_level_value_and_context() {
    let multi = run_probes(
        1,
        |_| {
            Script::new()
                .call(op::CALL_VALUE, &[])
                .call(op::SELF_BALANCE, &[])
                .call(op::BLOCK_TIMESTAMP, &[])
                .call(op::CALLER, &[Scratch(0)])
                .call(op::ECHO_SCRATCH, &[Value(0), Value(32)])
                .build(0)
        },
        100_000,
        25,
        |store, _| store.set_balance(SENDER, NATIVE_ASSET, 30),
    );
    success(&multi);
    assert_eq!(multi.results(), vec![25, 25, block().timestamp, 0]);
    assert_eq!(multi.echoes(), vec![SENDER.0.to_vec()]);
    assert_eq!(multi.after.read_balance(&SENDER, &NATIVE_ASSET).unwrap(), 5);

    // A sender who cannot pay the value: the call does not run, nothing moves.
    let vm = Vm::new(VmConfig::default());
    let mut store = MemoryStorage::default();
    let contract = vm
        .deploy(
            &probe_variant_elf(1),
            tos_vm::deploy_address(
                &tos_vm::Hash::default(),
                &tos_vm::code_hash(&probe_variant_elf(1)),
            ),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .unwrap();
    let before = store.clone();
    let call = ContractCall {
        contract,
        input: Script::new().build(0),
        sender: SENDER,
        tx_hash: TX_HASH,
        deposits: tos_vm::native_deposit(1),
        compute_limit: None,
        created_bytes_limit: None,
    };
    let outcome = vm
        .invoke(&call, &BlockContext::default(), &mut store)
        .unwrap();
    assert!(
        matches!(
            outcome.status,
            InvokeStatus::Aborted(AbortReason::Storage(
                tos_vm::storage::StorageError::InsufficientBalance { .. }
            ))
        ),
        "{:?}",
        outcome.status
    );
    assert_eq!(before, store);
}

// ---- crypto -------------------------------------------------------------------------------

/// Hashes `parts` (as separate slices) with `hash_op` and returns the digest.
fn hash(hash_op: u8, parts: &[&[u8]]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
    let multi = run_probes(
        1,
        |_| {
            let mut script = Script::new();
            for (i, part) in parts.iter().enumerate() {
                let data = script.data(part);
                script = script
                    .call(op::STORE_ADDRESS, &[Value(16 * i as u64), data])
                    .call(
                        op::STORE_ADDRESS,
                        &[Value(16 * i as u64 + 8), Value(part.len() as u64)],
                    );
            }
            script
                .call(
                    hash_op,
                    &[Scratch(0), Value(parts.len() as u64), Scratch(256)],
                )
                .call(op::ECHO_SCRATCH, &[Value(256), Value(32)])
                .build(0)
        },
        100_000,
        0,
        |_, _| {},
    );
    success(&multi);
    multi.echoes().remove(0)
}

#[test]
fn hashes_match_known_vectors() {
    let sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(hex::encode(hash(op::SHA256, &[b"abc"])), sha_abc);
    assert_eq!(
        hex::encode(hash(op::SHA256, &[b"a", b"", b"bc"])),
        sha_abc,
        "slices concatenate"
    );
    assert_eq!(
        hex::encode(hash(op::KECCAK256, &[])),
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );
    assert_eq!(
        hex::encode(hash(op::KECCAK256, &[b"abc"])),
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    );
    assert_eq!(
        hex::encode(hash(op::BLAKE3, &[])),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    assert_eq!(
        hex::encode(hash(op::BLAKE3, &[b"abc"])),
        "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    );
}

#[test]
fn ed25519_verifies_the_rfc8032_vector_and_rejects_tampering() {
    // RFC 8032, section 7.1, test 2 (one-byte message 0x72).
    let key =
        hex::decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c").unwrap();
    let signature = hex::decode("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00").unwrap();
    let verify = |message: &[u8], signature: &[u8]| {
        let (key, message, signature) = (key.clone(), message.to_vec(), signature.to_vec());
        let multi = run_probes(
            1,
            move |_| {
                let mut script = Script::new();
                let (k, m, s) = (
                    script.data(&key),
                    script.data(&message),
                    script.data(&signature),
                );
                script
                    .call(op::ED25519_VERIFY, &[k, m, Value(message.len() as u64), s])
                    .build(0)
            },
            100_000,
            0,
            |_, _| {},
        );
        success(&multi);
        multi.results()[0]
    };
    assert_eq!(verify(&[0x72], &signature), 0);
    assert_eq!(verify(&[0x73], &signature), 1);
    let mut bad = signature.clone();
    bad[5] ^= 1;
    assert_eq!(verify(&[0x72], &bad), 1);
}

#[test]
fn hash_syscalls_refuse_bad_slice_tables() {
    let too_many = run_probes(
        1,
        |_| {
            Script::new()
                .call(op::SHA256, &[Scratch(0), Value(257), Scratch(256)])
                .build(0)
        },
        100_000,
        0,
        |_, _| {},
    );
    assert!(
        matches!(
            too_many.outcome.status,
            InvokeStatus::Aborted(AbortReason::Syscall(
                tos_vm::syscalls::SyscallError::TooManySlices { .. }
            ))
        ),
        "{:?}",
        too_many.outcome.status
    );
    // A slice pointing outside memory.
    let bad_slice = run_probes(
        1,
        |_| {
            Script::new()
                .call(op::STORE_ADDRESS, &[Value(0), Value(0x3_8000_0000)])
                .call(op::STORE_ADDRESS, &[Value(8), Value(4)])
                .call(op::BLAKE3, &[Scratch(0), Value(1), Scratch(256)])
                .build(0)
        },
        100_000,
        0,
        |_, _| {},
    );
    assert!(
        matches!(
            bad_slice.outcome.status,
            InvokeStatus::Aborted(AbortReason::Runtime(RuntimeError::AccessViolation(_)))
        ),
        "{:?}",
        bad_slice.outcome.status
    );
}

#[test]
fn return_data_and_events_respect_their_limits() {
    let long = run_probes(
        1,
        |_| {
            Script::new()
                .call(op::SET_RETURN_DATA, &[Scratch(0), Value(1025)])
                .build(0)
        },
        100_000,
        0,
        |_, _| {},
    );
    assert!(matches!(
        long.outcome.status,
        InvokeStatus::Aborted(AbortReason::Syscall(
            tos_vm::syscalls::SyscallError::ReturnDataTooLong { .. }
        ))
    ));
    let topic = run_probes(
        1,
        |_| {
            Script::new()
                .call(
                    op::EMIT_EVENT,
                    &[Scratch(0), Value(65), Scratch(0), Value(1)],
                )
                .build(0)
        },
        100_000,
        0,
        |_, _| {},
    );
    assert!(matches!(
        topic.outcome.status,
        InvokeStatus::Aborted(AbortReason::Syscall(
            tos_vm::syscalls::SyscallError::EventTooLarge { .. }
        ))
    ));
    let mut script = Script::new();
    for _ in 0..257 {
        script = script.call(
            op::EMIT_EVENT,
            &[Scratch(0), Value(1), Scratch(0), Value(1)],
        );
    }
    let input = script.build(0);
    let flood = run_probes(1, move |_| input.clone(), 1_000_000, 0, |_, _| {});
    assert!(
        matches!(
            flood.outcome.status,
            InvokeStatus::Aborted(AbortReason::Syscall(
                tos_vm::syscalls::SyscallError::EventLimitExceeded
            ))
        ),
        "{:?}",
        flood.outcome.status
    );
}
