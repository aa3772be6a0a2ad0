//! A two-engine chain for the SDK example tests: every call runs under the interpreter and the
//! JIT from identical states, and both must agree on status, compute, logs, effects, events,
//! return data and the state left behind.
#![allow(dead_code)]

use tos_vm::storage::NATIVE_ASSET;
use tos_vm::{
    BlockContext, ContractCall, Engine, Hash, InvokeOutcome, InvokeStatus, MemoryStorage,
    StorageProvider, Vm, VmConfig,
};

pub const BUDGET: u64 = 1_000_000;

pub struct Chain {
    engines: Vec<(Vm, MemoryStorage)>,
    pub contract: Hash,
    pub block: BlockContext,
    tx: u64,
}

/// One call's result (the interpreter's; the JIT's was checked equal).
pub struct Step {
    pub outcome: InvokeOutcome,
}

impl Step {
    pub fn is_success(&self) -> bool {
        matches!(self.outcome.status, InvokeStatus::Success)
    }

    /// The status code of a failed call.
    pub fn code(&self) -> Option<u64> {
        match self.outcome.status {
            InvokeStatus::Failed { code } => Some(code),
            _ => None,
        }
    }

    pub fn return_data(&self) -> Option<Vec<u8>> {
        self.outcome.return_data.as_ref().map(|r| r.data.clone())
    }

    pub fn logs(&self) -> Vec<String> {
        self.outcome
            .logs
            .iter()
            .map(|l| l.message.clone())
            .collect()
    }

    pub fn events(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.outcome
            .events
            .iter()
            .map(|e| (e.topic.clone(), e.data.clone()))
            .collect()
    }
}

fn fingerprint(outcome: &InvokeOutcome) -> String {
    format!(
        "{:?} | compute {} | logs {:?} | effects {:?} | changes {:?} | events {:?} | return {:?}",
        outcome.status,
        outcome.compute_used,
        outcome.logs,
        outcome.effects,
        outcome.changes,
        outcome.events,
        outcome.return_data
    )
}

impl Chain {
    /// Deploys `elf` under both engines.
    pub fn deploy(elf: &[u8]) -> Chain {
        let mut engines = Vec::new();
        let mut contract = None;
        for engine in [Engine::Interpreter, Engine::Jit] {
            let vm = Vm::new(VmConfig {
                engine,
                compute_budget: BUDGET,
            });
            let mut store = MemoryStorage::default();
            let hash = vm
                .deploy(
                    elf,
                    tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                    &mut store,
                )
                .map(|deployed| deployed.contract)
                .expect("deploy");
            contract = Some(hash);
            engines.push((vm, store));
        }
        Chain {
            engines,
            contract: contract.expect("deployed"),
            block: BlockContext {
                height: 100,
                hash: Hash([0xB1; 32]),
                timestamp: 1_700_000_000,
            },
            tx: 0,
        }
    }

    pub fn set_balance(&mut self, account: Hash, amount: u64) {
        for (_, store) in &mut self.engines {
            store.set_balance(account, NATIVE_ASSET, amount);
        }
    }

    pub fn set_asset_balance(&mut self, account: Hash, asset: Hash, amount: u64) {
        for (_, store) in &mut self.engines {
            store.set_balance(account, asset, amount);
        }
    }

    pub fn asset_balance(&self, account: &Hash, asset: &Hash) -> u64 {
        self.engines[0].1.read_balance(account, asset).unwrap()
    }

    pub fn balance(&self, account: &Hash) -> u64 {
        self.engines[0]
            .1
            .read_balance(account, &NATIVE_ASSET)
            .unwrap()
    }

    pub fn storage(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.engines[0].1.read_storage(&self.contract, key).unwrap()
    }

    /// The committed state (interpreter side).
    pub fn store(&self) -> &MemoryStorage {
        &self.engines[0].1
    }

    /// Calls the contract from `sender` with `input`, moving `value` native units first.
    pub fn call(&mut self, sender: Hash, input: &[u8], value: u64) -> Step {
        self.call_with_deposits(sender, input, tos_vm::native_deposit(value))
    }

    /// Calls the contract from `sender` with `input`, moving `deposits` first (all or none).
    pub fn call_with_deposits(
        &mut self,
        sender: Hash,
        input: &[u8],
        deposits: tos_vm::Deposits,
    ) -> Step {
        self.tx += 1;
        let mut tx_hash = [0x7A; 32];
        tx_hash[..8].copy_from_slice(&self.tx.to_le_bytes());
        let call = ContractCall {
            contract: self.contract,
            input: input.to_vec(),
            sender,
            tx_hash: Hash(tx_hash),
            deposits,
            compute_limit: None,
            created_bytes_limit: None,
        };
        let mut outcomes = Vec::new();
        for (vm, store) in &mut self.engines {
            outcomes.push(vm.invoke(&call, &self.block, store).expect("invoke"));
        }
        let jit = outcomes.pop().expect("two engines");
        let interpreter = outcomes.pop().expect("two engines");
        assert_eq!(
            fingerprint(&interpreter),
            fingerprint(&jit),
            "engines disagree"
        );
        assert_eq!(
            self.engines[0].1, self.engines[1].1,
            "engines left different state"
        );
        Step {
            outcome: interpreter,
        }
    }
}
