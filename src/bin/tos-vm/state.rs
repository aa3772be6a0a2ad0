//! `tos-vm state`, `balance` and `fund`: read a contract's storage and balances, mint for tests.

use std::{path::Path, process::ExitCode};

use serde_json::json;
use tos_vm::StorageProvider;

use crate::{
    args::{parse_asset, parse_hash},
    failure::Failure,
    output::readable,
    store::{open_existing_store, open_store},
};

pub fn state(
    store_dir: &Path,
    contract: &str,
    at: Option<u64>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let contract = parse_hash(contract, "the contract")?;
    let store = open_existing_store(store_dir)?;
    let height = match at {
        Some(height) => height,
        None => store.block_height()?,
    };
    let entries = store.list_storage_at(&contract, height)?;
    if json {
        let entries: Vec<serde_json::Value> = entries
            .iter()
            .map(|(key, value)| json!({ "key": hex::encode(key), "value": hex::encode(value) }))
            .collect();
        out!(
            "{}",
            json!({ "contract": contract.to_hex(), "height": height, "entries": entries })
        );
        return Ok(ExitCode::SUCCESS);
    }
    out!("contract  {contract}");
    out!("height    {height}");
    out!("keys      {}", entries.len());
    for (key, value) in &entries {
        out!(
            "  {}  {}",
            readable(&hex::encode(key)),
            readable(&hex::encode(value))
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn balance(
    store_dir: &Path,
    address: &str,
    at: Option<u64>,
    asset: Option<&str>,
) -> Result<ExitCode, Failure> {
    let address = parse_hash(address, "the address")?;
    let asset = parse_asset(asset)?;
    let store = open_existing_store(store_dir)?;
    let amount = match at {
        Some(height) => store.read_balance_at(&address, &asset, height),
        None => store.read_balance(&address, &asset),
    }?;
    out!("{amount}");
    Ok(ExitCode::SUCCESS)
}

pub fn fund(
    store_dir: &Path,
    address: &str,
    amount: u64,
    asset: Option<&str>,
) -> Result<ExitCode, Failure> {
    let address = parse_hash(address, "the address")?;
    let asset = parse_asset(asset)?;
    let mut store = open_store(store_dir)?;
    let current = store.read_balance(&address, &asset)?;
    let new = current
        .checked_add(amount)
        .ok_or_else(|| format!("balance of {address} would overflow ({current} + {amount})"))?;
    let height = store.block_height()? + 1;
    let mut changes = tos_vm::ChangeSet::default();
    changes.set_balance(address, asset, new);
    store.commit_block(height, &changes)?;
    out!("{address}  {current} -> {new}  (block {height})");
    Ok(ExitCode::SUCCESS)
}
