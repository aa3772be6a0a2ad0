//! `tos-vm query`: a read-only call by method name (`Vm::query`), at the store's height or a
//! past one; commits nothing and makes no block.

use std::{path::Path, process::ExitCode};

use serde_json::{json, Value};
use tos_vm::{BlockContext, ContractCall, InvokeStatus, Vm};

use crate::{
    args::parse_hash,
    calls::{
        command_line_call, decoded_return, interface_of_contract, parse_trailing, signature,
        status_name, CallCommandOptions, CallOptions, CommandLineCall,
    },
    deploy::derived_hash,
    failure::{Failure, EXIT_CALL_FAILED},
    store::open_existing_store,
};

/// The options of `tos-vm query` (they may also follow the method's arguments).
#[derive(clap::Args, Debug, Default)]
pub struct QueryOptions {
    #[command(flatten)]
    pub call: CallOptions,
    /// Read the state as of this block height (default: the store's height).
    #[arg(long)]
    pub at: Option<u64>,
}

/// Options written after the method's arguments.
#[derive(clap::Parser)]
#[command(name = "tos-vm query CONTRACT METHOD", no_binary_name = true)]
struct TrailingQueryOptions {
    #[command(flatten)]
    options: QueryOptions,
}

impl CallCommandOptions for QueryOptions {
    fn call(&self) -> &CallOptions {
        &self.call
    }

    fn merge_words(self, words: &[String]) -> Result<Self, String> {
        if words.is_empty() {
            return Ok(self);
        }
        let later = parse_trailing::<TrailingQueryOptions>(words)?.options;
        Ok(QueryOptions {
            call: self.call.or(later.call),
            at: self.at.or(later.at),
        })
    }
}

/// What `tos-vm query` was asked.
pub struct QueryRequest<'a> {
    pub contract: &'a str,
    pub method: Option<&'a str>,
    /// Every word after the method name: its arguments and more options.
    pub words: &'a [String],
    pub options: QueryOptions,
}

pub fn query(store_dir: &Path, request: QueryRequest<'_>) -> Result<ExitCode, Failure> {
    let contract = parse_hash(request.contract, "the contract")?;
    let store = open_existing_store(store_dir)?;
    // The interface is the code's, which never changes: read it at the tip.
    let interface = interface_of_contract(&store, &contract)?;
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
        "tos-vm query CONTRACT METHOD --args JSON",
    )?;
    if let Some(method) = method.as_ref().filter(|method| !method.readonly) {
        return Err(format!(
            "method `{}` of `{}` is not read-only (it may write): call it with `tos-vm invoke`",
            method.name,
            interface.as_ref().map_or("", |i| i.name.as_str())
        )
        .into());
    }
    let sender = options.call.sender()?;
    let config = options.call.vm_config();
    let tip = store.block_height()?;
    let height = options.at.unwrap_or(tip);
    let view = store
        .at(height)
        .map_err(|e| Failure::store(&format!("--at {height}"), e))?;
    let request = Shown {
        json: options.call.json,
        raw: options.call.raw,
    };
    let vm = Vm::new(config);
    let block = BlockContext {
        height,
        hash: derived_hash(&[b"block", &height.to_le_bytes()]),
        timestamp: 0,
    };
    let mut call = ContractCall::new(contract, input);
    call.sender = sender;
    // A store failure is an `Err` here (exit 3).
    let outcome = vm.query(&view, &call, &block, config.compute_budget)?;
    let interface = interface.as_ref();
    let (status, code, error) = match &outcome.status {
        InvokeStatus::Success => ("success", Some(0), None),
        InvokeStatus::Failed { code } => {
            ("failed", Some(*code), Some(status_name(interface, *code)))
        }
        InvokeStatus::Aborted(error) => ("aborted", None, Some(error.to_string())),
    };
    let method = method.as_ref();
    let decoded = decoded_return(interface, method, &contract, outcome.return_data.as_ref());
    if request.json {
        let value: Value = json!({
            "contract": contract.to_hex(),
            "interface": interface.map(|i| i.name.clone()),
            "method": method.map(|m| m.name.clone()),
            "engine": format!("{:?}", config.engine).to_lowercase(),
            "block_height": height,
            "status": status,
            "return_value": code,
            "error": error,
            "compute_units": outcome.compute_used,
            "logs": outcome.logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            "return_data": outcome.return_data.as_ref().map(|data| json!({
                "contract": data.contract.to_hex(),
                "data": hex::encode(&data.data),
            })),
            "returned": match &decoded {
                Some(Ok(value)) => value.clone(),
                _ => Value::Null,
            },
            "decode_error": match &decoded {
                Some(Err(e)) => Value::String(e.clone()),
                _ => Value::Null,
            },
        });
        out!("{value}");
    } else {
        match interface {
            Some(i) => out!("contract  {contract}  ({})", i.name),
            None => out!("contract  {contract}"),
        }
        if let Some(method) = method {
            out!("query     {}", signature(method));
        }
        out!(
            "engine    {}   at height {height} (read-only, nothing committed)",
            format!("{:?}", config.engine).to_lowercase()
        );
        match (code, &error) {
            (Some(code), Some(error)) => out!("status    {status} (returned {code}: {error})"),
            (_, Some(error)) => out!("status    {status}: {error}"),
            _ => out!("status    {status}"),
        }
        out!("compute   {} units", outcome.compute_used);
        for log in &outcome.logs {
            out!("  | {}", log.message);
        }
        match (&decoded, &outcome.return_data) {
            (Some(Ok(value)), Some(_)) if !request.raw => out!("returned  {value}"),
            (Some(Err(e)), Some(data)) => {
                out!(
                    "returned  0x{} (does not decode: {e})",
                    hex::encode(&data.data)
                )
            }
            (_, Some(data)) => out!(
                "returned  0x{} (set by {})",
                hex::encode(&data.data),
                data.contract
            ),
            _ => {}
        }
    }
    Ok(if outcome.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CALL_FAILED)
    })
}

/// How to print.
struct Shown {
    json: bool,
    raw: bool,
}
