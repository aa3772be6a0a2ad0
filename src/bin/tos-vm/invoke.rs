//! `tos-vm invoke`: one call as a block of its own, printed as text or JSON.

use std::{path::Path, process::ExitCode};

use serde_json::json;
use tos_vm::{
    BlockContext, ContractCall, Engine, Hash, InvokeOutcome, InvokeStatus, LogEntry, Vm, VmConfig,
    NATIVE_ASSET,
};

use crate::{
    args::read_code_file,
    deploy::{deploy, derived_hash},
    failure::{Failure, EXIT_CALL_FAILED},
    output::{deposits_json, failure_name, readable},
    store::{open_existing_store, open_store},
};

/// What `tos-vm invoke` sends.
pub struct InvokeRequest<'a> {
    pub input: &'a str,
    pub sender: Option<&'a str>,
    pub deposits: tos_vm::Deposits,
    pub compute_limit: Option<u64>,
    pub height: Option<u64>,
    pub timestamp: u64,
    pub json: bool,
}

pub fn invoke(
    store_dir: &Path,
    contract: &str,
    config: VmConfig,
    request: InvokeRequest<'_>,
) -> Result<ExitCode, Failure> {
    let InvokeRequest {
        input: input_hex,
        sender,
        deposits,
        compute_limit,
        height,
        timestamp,
        json,
    } = request;
    let input = hex::decode(input_hex.trim_start_matches("0x"))
        .map_err(|e| format!("--input is not hex: {e}"))?;
    let sender = match sender {
        Some(text) => Hash::from_hex(text).ok_or("--sender must be 64 hex digits")?,
        None => Hash::default(),
    };
    let vm = Vm::new(config);
    let (mut store, contract) = match Hash::from_hex(contract) {
        // Calling an address needs a store that has it.
        Some(hash) => (open_existing_store(store_dir)?, hash),
        None => {
            let elf = read_code_file(Path::new(contract))?;
            let mut store = open_store(store_dir)?;
            let address = deploy(&vm, &mut store, elf, sender, None)?;
            (store, address)
        }
    };
    let tip = store.block_height()?;
    let height = match height {
        Some(height) if height <= tip => {
            return Err(format!("--height {height} is not above the store's height {tip}").into())
        }
        Some(height) => height,
        None => tip + 1,
    };
    let block = BlockContext {
        height,
        hash: derived_hash(&[b"block", &height.to_le_bytes()]),
        timestamp,
    };
    let call = ContractCall {
        contract,
        tx_hash: derived_hash(&[b"tx", &contract.0, &input, &height.to_le_bytes()]),
        input,
        sender,
        deposits,
        compute_limit,
    };
    // A store failure is an `Err` here (exit 3): there is no outcome to print or commit.
    let outcome = vm.execute(&call, &block, &store)?;
    // Every invoke makes a block: effects (if any) and the new height commit together.
    store
        .commit_with_height(&outcome.changes, height)
        .map_err(|e| Failure::store("committing the call", e))?;
    if json {
        out!("{}", outcome_json(&call, config.engine, height, &outcome));
    } else {
        print_outcome(&call, config.engine, height, &outcome);
    }
    Ok(if outcome.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CALL_FAILED)
    })
}

pub fn status_parts(status: &InvokeStatus) -> (&'static str, Option<u64>, Option<String>) {
    match status {
        InvokeStatus::Success => ("success", Some(0), None),
        InvokeStatus::Failed { code } => ("failed", Some(*code), Some(failure_name(*code))),
        InvokeStatus::Aborted(error) => ("aborted", None, Some(error.to_string())),
    }
}

pub fn outcome_json(
    call: &ContractCall,
    engine: Engine,
    height: u64,
    outcome: &InvokeOutcome,
) -> serde_json::Value {
    let (status, return_value, error) = status_parts(&outcome.status);
    let logs: Vec<&str> = outcome
        .logs
        .iter()
        .map(|log: &LogEntry| log.message.as_str())
        .collect();
    json!({
        "contract": call.contract.to_hex(),
        "deposits": deposits_json(&call.deposits),
        "engine": format!("{engine:?}").to_lowercase(),
        "block_height": height,
        "status": status,
        "return_value": return_value,
        "error": error,
        "compute_units": outcome.compute_used,
        "logs": logs,
        "effects": outcome.effects,
        "events": outcome.events.iter().map(|event| json!({
            "contract": event.contract.to_hex(),
            "topic": hex::encode(&event.topic),
            "data": hex::encode(&event.data),
        })).collect::<Vec<_>>(),
        "return_data": outcome.return_data.as_ref().map(|data| json!({
            "contract": data.contract.to_hex(),
            "data": hex::encode(&data.data),
        })),
    })
}

pub fn print_outcome(call: &ContractCall, engine: Engine, height: u64, outcome: &InvokeOutcome) {
    let (status, return_value, error) = status_parts(&outcome.status);
    out!("contract  {}", call.contract);
    out!(
        "engine    {}   block {height}",
        format!("{engine:?}").to_lowercase()
    );
    match (return_value, error) {
        (Some(value), Some(error)) => out!("status    {status} (returned {value}: {error})"),
        (_, Some(error)) => out!("status    {status}: {error}"),
        (Some(value), None) => out!("status    {status} (returned {value})"),
        (None, None) => out!("status    {status}"),
    }
    out!("compute   {} units", outcome.compute_used);
    out!("logs      {}", outcome.logs.len());
    for log in &outcome.logs {
        out!("  | {}", log.message);
    }
    for event in &outcome.events {
        out!(
            "event     {}  {}",
            readable(&hex::encode(&event.topic)),
            readable(&hex::encode(&event.data))
        );
    }
    if let Some(data) = &outcome.return_data {
        out!(
            "returned  {} (set by {})",
            readable(&hex::encode(&data.data)),
            data.contract
        );
    }
    let effects = &outcome.effects;
    if effects.is_empty() {
        out!("effects   none");
        return;
    }
    out!("effects");
    for change in &effects.storage {
        out!(
            "  storage  {}  {} -> {}",
            readable(&change.key),
            change
                .old
                .as_deref()
                .map(readable)
                .unwrap_or_else(|| "(none)".into()),
            change
                .new
                .as_deref()
                .map(readable)
                .unwrap_or_else(|| "(deleted)".into())
        );
    }
    for change in &effects.balances {
        out!(
            "  balance  {}  {} -> {}{}",
            change.account,
            change.old,
            change.new,
            asset_suffix(&change.asset)
        );
    }
    for transfer in &effects.transfers {
        out!(
            "  transfer {} -> {}  {}{}",
            transfer.from,
            transfer.to,
            transfer.amount,
            asset_suffix(&transfer.asset)
        );
    }
    for created in &effects.contracts_created {
        out!(
            "  created  {}  (code {})",
            created.address,
            created.code_hash
        );
    }
}

/// ` of asset <hex>` for an asset other than the native one (hex as in `Effects`).
pub fn asset_suffix(asset_hex: &str) -> String {
    if asset_hex == NATIVE_ASSET.to_hex() {
        String::new()
    } else {
        format!(" of asset {asset_hex}")
    }
}
