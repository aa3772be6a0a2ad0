//! The `examples/token` contract in the benches: its calls (selector ++ borsh arguments,
//! encoded by hand, so the benches need not build the contract crate natively), setup on any store, and a native
//! Rust version of its transfer over a map — the floor no VM can beat.

use std::collections::BTreeMap;

use tos_vm::{BlockContext, ChangeSet, ContractCall, Hash, InvokeStatus, StorageProvider, Vm};

/// The account that initializes the token and sends every benchmark transfer.
pub const OWNER: [u8; 32] = [0xA0; 32];
/// Supply minted to [`OWNER`] at init: enough for every transfer of every bench.
pub const SUPPLY: u64 = 1 << 60;

/// The `i`-th recipient of the benches' transfers.
pub fn recipient(i: u64) -> [u8; 32] {
    let mut address = [0u8; 32];
    address[..8].copy_from_slice(&i.to_le_bytes());
    address[8] = 0xEE;
    address
}

/// The input of a call to `method`: its selector, arguments to follow.
fn selector(method: &str) -> Vec<u8> {
    tos_abi::method_selector(method).to_le_bytes().to_vec()
}

/// `init(name, symbol, decimals, initial_supply)`.
pub fn init(name: &str, symbol: &str, decimals: u8, initial_supply: u64) -> Vec<u8> {
    let mut out = selector("init");
    for text in [name, symbol] {
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    out.push(decimals);
    out.extend_from_slice(&initial_supply.to_le_bytes());
    out
}

/// `transfer(to, amount)`.
pub fn transfer(to: &[u8; 32], amount: u64) -> Vec<u8> {
    let mut out = selector("transfer");
    out.extend_from_slice(to);
    out.extend_from_slice(&amount.to_le_bytes());
    out
}

/// `balance_of(owner)`.
pub fn balance_of(owner: &[u8; 32]) -> Vec<u8> {
    let mut out = selector("balance_of");
    out.extend_from_slice(owner);
    out
}

/// Storage key of `owner`'s balance (`b:` ++ address) and its value (borsh `Amount`).
pub fn balance_entry(owner: &[u8; 32], amount: u64) -> (Vec<u8>, Vec<u8>) {
    let mut key = b"b:".to_vec();
    key.extend_from_slice(owner);
    (key, amount.to_le_bytes().to_vec())
}

/// A call of the token from `sender`.
pub fn call(token: Hash, sender: [u8; 32], input: Vec<u8>) -> ContractCall {
    ContractCall {
        sender: Hash(sender),
        ..ContractCall::new(token, input)
    }
}

/// Deploys the token into `store` and initializes it (owner [`OWNER`], supply [`SUPPLY`]).
pub fn deploy(vm: &Vm, elf: &[u8], store: &mut dyn StorageProvider) -> Hash {
    let token = vm
        .deploy(
            elf,
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
            store,
        )
        .map(|deployed| deployed.contract)
        .expect("deploy token");
    let outcome = vm
        .invoke(
            &call(token, OWNER, init("Bench", "BNCH", 9, SUPPLY)),
            &BlockContext::default(),
            store,
        )
        .expect("init");
    assert!(outcome.status.is_success(), "init: {:?}", outcome.status);
    token
}

/// `owner`'s balance, asked of the contract itself.
pub fn balance(vm: &Vm, token: Hash, store: &dyn StorageProvider, owner: &[u8; 32]) -> u64 {
    let outcome = vm
        .execute(
            &call(token, OWNER, balance_of(owner)),
            &BlockContext::default(),
            store,
        )
        .expect("balance_of");
    assert!(
        matches!(outcome.status, InvokeStatus::Success),
        "{:?}",
        outcome.status
    );
    let data = outcome.return_data.expect("balance return data").data;
    u64::from_le_bytes(data.try_into().expect("8-byte amount"))
}

/// A change set giving `count` extra accounts (`recipient(base + i)`) a balance of 1, so a
/// store can be grown to a given number of keys without running the contract for each.
pub fn filler(token: Hash, base: u64, count: u64) -> ChangeSet {
    let mut changes = ChangeSet::default();
    for i in 0..count {
        let (key, value) = balance_entry(&recipient(base + i), 1);
        changes.set_storage(token, key, Some(value));
    }
    changes
}

/// The token's transfer in plain Rust over an ordered map with a write journal and an event
/// list — what the contract does, minus any VM: the floor.
#[derive(Default)]
pub struct NativeToken {
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// What a native transfer produced (the journal and the event), for the commit.
pub struct NativeEffects {
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    pub event: Vec<u8>,
}

impl NativeToken {
    pub fn new() -> Self {
        let mut token = NativeToken::default();
        token.state.insert(b"owner".to_vec(), OWNER.to_vec());
        let (key, value) = balance_entry(&OWNER, SUPPLY);
        token.state.insert(key, value);
        token
    }

    fn read(&self, writes: &[(Vec<u8>, Vec<u8>)], key: &[u8]) -> Option<Vec<u8>> {
        writes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| self.state.get(key).cloned())
    }

    fn amount(&self, writes: &[(Vec<u8>, Vec<u8>)], owner: &[u8; 32]) -> u64 {
        let (key, _) = balance_entry(owner, 0);
        self.read(writes, &key)
            .map(|v| u64::from_le_bytes(v.try_into().expect("8-byte amount")))
            .unwrap_or(0)
    }

    /// Runs a transfer: `Err(status)` like the contract's.
    pub fn execute(&self, input: &[u8], caller: &[u8; 32]) -> Result<NativeEffects, u64> {
        // `transfer(to, amount)`: the selector, then the borsh arguments (see `transfer`).
        if input.len() != 44 || input[..4] != selector("transfer")[..] {
            return Err(2);
        }
        let to: [u8; 32] = input[4..36].try_into().expect("32 bytes");
        let amount = u64::from_le_bytes(input[36..44].try_into().expect("8 bytes"));
        let mut writes = Vec::new();
        if self.read(&writes, b"owner").is_none() {
            return Err(6);
        }
        let from_after = self
            .amount(&writes, caller)
            .checked_sub(amount)
            .ok_or(4u64)?;
        if *caller != to {
            let to_after = self.amount(&writes, &to).checked_add(amount).ok_or(5u64)?;
            writes.push(balance_entry(caller, from_after));
            writes.push(balance_entry(&to, to_after));
        }
        let mut event = Vec::with_capacity(72);
        event.extend_from_slice(caller);
        event.extend_from_slice(&to);
        event.extend_from_slice(&amount.to_le_bytes());
        Ok(NativeEffects { writes, event })
    }

    pub fn commit(&mut self, effects: NativeEffects) {
        for (key, value) in effects.writes {
            self.state.insert(key, value);
        }
    }

    pub fn balance(&self, owner: &[u8; 32]) -> u64 {
        self.amount(&[], owner)
    }
}
