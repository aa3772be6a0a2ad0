//! `tos-vm deploy`: a contract deployed in a block of its own, at a locally derived address.

use std::{path::Path, process::ExitCode};

use tos_vm::{BlockContext, DiskStorage, Hash, Vm, VmConfig};

use crate::{
    args::{parse_hash, read_code_file},
    failure::Failure,
    store::open_store,
};

/// `tos-vm deploy FILE [--sender HEX] [--constructor HEX]`: prints the new contract's address.
pub fn deploy_command(
    store_dir: &Path,
    file: &Path,
    sender: Option<String>,
    constructor: Option<String>,
) -> Result<ExitCode, Failure> {
    let elf = read_code_file(file)?;
    let sender = match sender {
        Some(text) => parse_hash(&text, "--sender")?,
        None => Hash::default(),
    };
    let constructor = constructor
        .map(|text| {
            hex::decode(text.trim_start_matches("0x"))
                .map_err(|e| format!("--constructor is not hex: {e}"))
        })
        .transpose()?;
    let mut store = open_store(store_dir)?;
    let vm = Vm::new(VmConfig::default());
    let address = deploy(&vm, &mut store, elf, sender, constructor)?;
    out!("{address}");
    Ok(ExitCode::SUCCESS)
}

/// Deterministic local block and transaction hashes, so runs are reproducible.
pub fn derived_hash(parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

/// Deploys `elf` as a block of its own at the next height: the contract's address is
/// [`tos_vm::deploy_address`] of the sender and the deploy's (locally derived) transaction hash.
pub fn deploy(
    vm: &Vm,
    store: &mut DiskStorage,
    elf: Vec<u8>,
    sender: Hash,
    constructor: Option<Vec<u8>>,
) -> Result<Hash, Failure> {
    let height = store.block_height()? + 1;
    let block = BlockContext {
        height,
        hash: derived_hash(&[b"block", &height.to_le_bytes()]),
        timestamp: 0,
    };
    let code = tos_vm::code_hash(&elf);
    let transaction = tos_vm::TransactionContext {
        hash: derived_hash(&[b"deploy", &code.0, &sender.0, &height.to_le_bytes()]),
        sender,
    };
    let payload = tos_vm::DeployContractPayload {
        code: elf,
        constructor: constructor.map(tos_vm::ConstructorPayload::new),
    };
    let address = tos_vm::deploy_address(&sender, &transaction.hash);
    let outcome = vm.execute_deploy(&payload, address, &transaction, &block, &*store)?;
    store
        .commit_with_height(&outcome.changes, height)
        .map_err(|e| Failure::store("committing the deploy", e))?;
    Ok(outcome.contract)
}
