//! Shared helpers of the facade's integration tests.
#![allow(dead_code, unused_imports)]

use tos_vm::{
    BlockContext, ContractCall, Engine, Hash, InvokeOutcome, InvokeStatus, MemoryStorage, Vm,
    VmConfig,
};

pub use tos_test_harness::probe::{op, Arg, Data, Scratch, Script, Value, INPUT_TAG, SCRATCH_TAG};

pub fn probe_elf() -> Vec<u8> {
    tos_test_harness::probe::elf()
}

pub fn block() -> BlockContext {
    BlockContext {
        height: 42,
        hash: Hash([0xB1; 32]),
        timestamp: 1_700_000_000,
    }
}

pub const SENDER: Hash = Hash([0x5E; 32]);
pub const TX_HASH: Hash = Hash([0x7A; 32]);

/// A comparable summary of an outcome: everything the two engines must agree on.
pub fn fingerprint(outcome: &InvokeOutcome) -> String {
    let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    format!(
        "{:?} | compute {} | logs {:?} | effects {:?} | changes {:?}",
        outcome.status, outcome.compute_used, logs, outcome.effects, outcome.changes
    )
}

pub struct Run {
    pub outcome: InvokeOutcome,
    pub before: MemoryStorage,
    pub after: MemoryStorage,
    pub contract: Hash,
}

impl Run {
    pub fn logs(&self) -> Vec<String> {
        self.outcome
            .logs
            .iter()
            .map(|l| l.message.clone())
            .collect()
    }

    /// The `r=` results the probe logged, in order.
    pub fn results(&self) -> Vec<u64> {
        self.logs()
            .iter()
            .filter_map(|l| l.strip_prefix("r="))
            .map(|hex| u64::from_str_radix(hex, 16).expect("probe logs hex"))
            .collect()
    }

    /// The `s=` scratch echoes the probe logged, decoded.
    pub fn echoes(&self) -> Vec<Vec<u8>> {
        self.logs()
            .iter()
            .filter_map(|l| l.strip_prefix("s="))
            .map(|hex| ::hex::decode(hex).expect("probe logs hex"))
            .collect()
    }

    pub fn assert_unchanged(&self) {
        assert_eq!(
            self.before, self.after,
            "a failed invoke must leave the store as it was"
        );
        assert!(self.outcome.effects.is_empty());
    }
}

/// Deploys `elf` into a store prepared by `setup`, invokes it with `input` under the
/// interpreter and the JIT from identical stores, asserts that both engines agree on status,
/// compute, logs, effects and final state, and returns the interpreter's run.
pub fn run_both(
    elf: &[u8],
    input: &[u8],
    budget: u64,
    setup: impl Fn(&mut MemoryStorage, Hash),
) -> Run {
    let mut runs = Vec::new();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let vm = Vm::new(VmConfig {
            engine,
            compute_budget: budget,
        });
        let mut store = MemoryStorage::default();
        let contract = vm
            .deploy(
                elf,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .expect("deploy");
        setup(&mut store, contract);
        let before = store.clone();
        let call = ContractCall {
            contract,
            input: input.to_vec(),
            sender: SENDER,
            tx_hash: TX_HASH,
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
            created_bytes_limit: None,
        };
        let outcome = vm.invoke(&call, &block(), &mut store).expect("invoke");
        runs.push(Run {
            outcome,
            before,
            after: store,
            contract,
        });
    }
    let jit = runs.pop().expect("two runs");
    let interpreter = runs.pop().expect("two runs");
    assert_eq!(
        fingerprint(&interpreter.outcome),
        fingerprint(&jit.outcome),
        "engines disagree"
    );
    assert_eq!(interpreter.after, jit.after, "engines left different state");
    interpreter
}

pub fn is_success(status: &InvokeStatus) -> bool {
    matches!(status, InvokeStatus::Success)
}
