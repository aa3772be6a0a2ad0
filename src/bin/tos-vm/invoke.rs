//! `tos-vm invoke`: one call as a block of its own, printed as text or JSON.

use std::{path::Path, process::ExitCode};

use serde_json::json;
use tos_vm::loader::{interface::Method, Interface};
use tos_vm::{
    BlockContext, ContractCall, Engine, Hash, InvokeOutcome, InvokeStatus, LogEntry, Vm,
    NATIVE_ASSET,
};

use crate::{
    args::{parse_deposits, read_code_file},
    calls::{
        command_line_call, decoded_event, decoded_return, event_json, interface_of_contract,
        parse_trailing, signature, status_name, CallCommandOptions, CallOptions, CommandLineCall,
        Interfaces,
    },
    deploy::{deploy, derived_hash},
    failure::{Failure, EXIT_CALL_FAILED},
    output::{deposits_json, growth_json, print_growth, readable},
    store::{open_existing_store, open_store},
};

/// The options of `tos-vm invoke`. They may also follow the method's arguments
/// (`invoke C transfer --to X --amount 5 --json`); a method argument of the same name as an
/// option wins after the method name, so write such options before it.
#[derive(clap::Args, Debug, Default)]
pub struct InvokeOptions {
    #[command(flatten)]
    pub call: CallOptions,
    /// Native amount the sender moves to the contract with the call (a native deposit).
    #[arg(long)]
    pub value: Option<u64>,
    /// A deposit moved from the sender to the contract before it runs, as ASSET:AMOUNT
    /// (ASSET: 64 hex digits); repeatable, one per asset. All move or none.
    #[arg(long = "deposit", value_name = "ASSET:AMOUNT")]
    pub deposits: Vec<String>,
    /// The sender's compute limit for this call; the budget (--budget) is the ceiling.
    #[arg(long)]
    pub compute_limit: Option<u64>,
    /// The most bytes of state the call may create; past it the call is refused and nothing
    /// is committed.
    #[arg(long)]
    pub max_created_bytes: Option<u64>,
    /// Height of the block the call runs in (above the store's height; default: the next).
    #[arg(long)]
    pub height: Option<u64>,
    /// Timestamp of the block the call runs in, in seconds since the Unix epoch.
    #[arg(long)]
    pub timestamp: Option<u64>,
}

/// Options written after the method's arguments.
#[derive(clap::Parser)]
#[command(name = "tos-vm invoke CONTRACT METHOD", no_binary_name = true)]
struct TrailingInvokeOptions {
    #[command(flatten)]
    options: InvokeOptions,
}

impl CallCommandOptions for InvokeOptions {
    fn call(&self) -> &CallOptions {
        &self.call
    }

    fn merge_words(self, words: &[String]) -> Result<Self, String> {
        if words.is_empty() {
            return Ok(self);
        }
        let later = parse_trailing::<TrailingInvokeOptions>(words)?.options;
        let mut deposits = self.deposits;
        deposits.extend(later.deposits);
        Ok(InvokeOptions {
            call: self.call.or(later.call),
            value: self.value.or(later.value),
            deposits,
            compute_limit: self.compute_limit.or(later.compute_limit),
            max_created_bytes: self.max_created_bytes.or(later.max_created_bytes),
            height: self.height.or(later.height),
            timestamp: self.timestamp.or(later.timestamp),
        })
    }
}

/// What `tos-vm invoke` was asked.
pub struct InvokeRequest<'a> {
    /// An address (64 hex digits) in the store, or an executable file to deploy first.
    pub contract: &'a str,
    pub method: Option<&'a str>,
    /// Every word after the method name: its arguments and more options.
    pub words: &'a [String],
    pub options: InvokeOptions,
}

/// Where the call goes: an address in the store, or an executable to deploy first; and the
/// interface of its code (from the store, or from the file).
enum Target {
    Address(Hash),
    File(Vec<u8>),
}

pub fn invoke(store_dir: &Path, request: InvokeRequest<'_>) -> Result<ExitCode, Failure> {
    let (target, interface) = match Hash::from_hex(request.contract) {
        Some(hash) => {
            let store = open_existing_store(store_dir)?;
            let interface = interface_of_contract(&store, &hash)?;
            (Target::Address(hash), interface)
        }
        None => {
            let elf = read_code_file(Path::new(request.contract))?;
            let interface = tos_vm::loader::interface_of(&elf)
                .map_err(|e| format!("{}: {e}", request.contract))?;
            (Target::File(elf), interface)
        }
    };
    // The method's arguments first; the other words are options.
    let CommandLineCall {
        method,
        input,
        options,
    } = command_line_call(
        interface.as_ref(),
        request.contract,
        request.method,
        request.words,
        request.options,
        "tos-vm invoke CONTRACT METHOD --args JSON",
    )?;
    let config = options.call.vm_config();
    let deposits = parse_deposits(options.value.unwrap_or(0), &options.deposits)?;
    let sender = options.call.sender()?;
    let vm = Vm::new(config);
    let (mut store, contract) = match target {
        // Calling an address needs a store that has it.
        Target::Address(hash) => (open_existing_store(store_dir)?, hash),
        Target::File(elf) => {
            let mut store = open_store(store_dir)?;
            let address = deploy(&vm, &mut store, elf, sender, None)?.contract;
            (store, address)
        }
    };
    let tip = store.block_height()?;
    let height = match options.height {
        Some(height) if height <= tip => {
            return Err(format!("--height {height} is not above the store's height {tip}").into())
        }
        Some(height) => height,
        None => tip + 1,
    };
    let block = BlockContext {
        height,
        hash: derived_hash(&[b"block", &height.to_le_bytes()]),
        timestamp: options.timestamp.unwrap_or(0),
    };
    let call = ContractCall {
        contract,
        tx_hash: derived_hash(&[b"tx", &contract.0, &input, &height.to_le_bytes()]),
        input,
        sender,
        deposits,
        compute_limit: options.compute_limit,
        created_bytes_limit: options.max_created_bytes,
    };
    // A store failure is an `Err` here (exit 3): there is no outcome to print or commit.
    let outcome = vm.execute(&call, &block, &store)?;
    // Every invoke makes a block: effects (if any) and the new height commit together.
    store
        .commit_with_height(&outcome.changes, height)
        .map_err(|e| Failure::store("committing the call", e))?;
    let mut interfaces = Interfaces::new(&store).with(contract, interface);
    let decoding = Decoding {
        method: method.as_ref(),
        raw: options.call.raw,
    };
    if options.call.json {
        out!(
            "{}",
            outcome_json(
                &call,
                config.engine,
                height,
                &outcome,
                &mut interfaces,
                &decoding
            )
        );
    } else {
        print_outcome(
            &call,
            config.engine,
            height,
            &outcome,
            &mut interfaces,
            &decoding,
        );
    }
    Ok(if outcome.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CALL_FAILED)
    })
}

/// How to present a call's answer: the method called by name (if any), and `--raw`.
pub struct Decoding<'m> {
    pub method: Option<&'m Method>,
    pub raw: bool,
}

pub fn status_parts(
    status: &InvokeStatus,
    interface: Option<&Interface>,
) -> (&'static str, Option<u64>, Option<String>) {
    match status {
        InvokeStatus::Success => ("success", Some(0), None),
        InvokeStatus::Failed { code } => {
            ("failed", Some(*code), Some(status_name(interface, *code)))
        }
        InvokeStatus::Aborted(error) => ("aborted", None, Some(error.to_string())),
    }
}

pub fn outcome_json(
    call: &ContractCall,
    engine: Engine,
    height: u64,
    outcome: &InvokeOutcome,
    interfaces: &mut Interfaces<'_>,
    decoding: &Decoding<'_>,
) -> serde_json::Value {
    let interface = interfaces.of(&call.contract).cloned();
    let (status, return_value, error) = status_parts(&outcome.status, interface.as_ref());
    let logs: Vec<&str> = outcome
        .logs
        .iter()
        .map(|log: &LogEntry| log.message.as_str())
        .collect();
    let decoded = decoded_return(
        interface.as_ref(),
        decoding.method,
        &call.contract,
        outcome.return_data.as_ref(),
    );
    let args = match (&interface, decoding.method) {
        (Some(interface), Some(_)) => interface
            .decode_call(&call.input)
            .map(|(_, args)| args)
            .unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Null,
    };
    json!({
        "contract": call.contract.to_hex(),
        "interface": interface.as_ref().map(|i| i.name.clone()),
        "method": decoding.method.map(|m| m.name.clone()),
        "args": args,
        "input": hex::encode(&call.input),
        "deposits": deposits_json(&call.deposits),
        "engine": format!("{engine:?}").to_lowercase(),
        "block_height": height,
        "status": status,
        "return_value": return_value,
        "error": error,
        "compute_units": outcome.compute_used,
        "state_growth": growth_json(&outcome.growth),
        "logs": logs,
        "effects": outcome.effects,
        "events": outcome.events.iter().map(|event| {
            let decoded = event_json(decoded_event(interfaces, event));
            json!({
                "contract": event.contract.to_hex(),
                "topic": hex::encode(&event.topic),
                "data": hex::encode(&event.data),
                "decoded": decoded,
            })
        }).collect::<Vec<_>>(),
        "return_data": outcome.return_data.as_ref().map(|data| json!({
            "contract": data.contract.to_hex(),
            "data": hex::encode(&data.data),
        })),
        "returned": match &decoded {
            Some(Ok(value)) => value.clone(),
            _ => serde_json::Value::Null,
        },
        "decode_error": match &decoded {
            Some(Err(e)) => serde_json::Value::String(e.clone()),
            _ => serde_json::Value::Null,
        },
    })
}

pub fn print_outcome(
    call: &ContractCall,
    engine: Engine,
    height: u64,
    outcome: &InvokeOutcome,
    interfaces: &mut Interfaces<'_>,
    decoding: &Decoding<'_>,
) {
    let interface = interfaces.of(&call.contract).cloned();
    let (status, return_value, error) = status_parts(&outcome.status, interface.as_ref());
    match &interface {
        Some(i) => out!("contract  {}  ({})", call.contract, i.name),
        None => out!("contract  {}", call.contract),
    }
    if let Some(method) = decoding.method {
        out!("method    {}", signature(method));
    }
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
    print_growth(&outcome.growth);
    out!("logs      {}", outcome.logs.len());
    for log in &outcome.logs {
        out!("  | {}", log.message);
    }
    for event in &outcome.events {
        match decoded_event(interfaces, event) {
            Some(Ok((name, fields))) if !decoding.raw => out!("event     {name} {fields}"),
            _ => out!(
                "event     {}  {}",
                readable(&hex::encode(&event.topic)),
                readable(&hex::encode(&event.data))
            ),
        }
    }
    if let Some(data) = &outcome.return_data {
        let decoded = decoded_return(
            interface.as_ref(),
            decoding.method,
            &call.contract,
            Some(data),
        );
        match decoded {
            Some(Ok(value)) if !decoding.raw => out!("returned  {value}"),
            Some(Err(e)) => out!(
                "returned  0x{} (does not decode: {e})",
                hex::encode(&data.data)
            ),
            _ => out!(
                "returned  {} (set by {})",
                readable(&hex::encode(&data.data)),
                data.contract
            ),
        }
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
