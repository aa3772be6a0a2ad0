//! `tos-vm deploy`: a contract deployed in a block of its own, at a locally derived address.

use std::{path::Path, process::ExitCode};

use tos_vm::{BlockContext, DiskStorage, Hash, Vm, VmConfig};

use crate::{
    args::{parse_hash, read_code_file},
    calls::{encode_input, parse_trailing, signature, split_words},
    failure::Failure,
    output::growth_json,
    store::open_store,
};

/// The options of `tos-vm deploy` (they may also follow the constructor's arguments).
#[derive(clap::Args, Debug, Default)]
pub struct DeployOptions {
    /// The deployer (64 hex digits); with the deploy's transaction hash it fixes the address.
    #[arg(long)]
    pub sender: Option<String>,
    /// Run the contract's constructor with this raw input (hex), instead of by name.
    #[arg(long)]
    pub constructor: Option<String>,
    /// The constructor's arguments as one JSON object (by name) or array (in order).
    #[arg(long)]
    pub args: Option<String>,
    /// Print the deploy as JSON (address, code hash, deploy units, constructor compute, state
    /// growth) instead of the address alone.
    #[arg(long)]
    pub json: bool,
}

/// Options written after the constructor's arguments.
#[derive(clap::Parser)]
#[command(name = "tos-vm deploy FILE CONSTRUCTOR", no_binary_name = true)]
struct TrailingDeployOptions {
    #[command(flatten)]
    options: DeployOptions,
}

impl DeployOptions {
    fn merge_words(self, words: &[String]) -> Result<Self, String> {
        if words.is_empty() {
            return Ok(self);
        }
        let later = parse_trailing::<TrailingDeployOptions>(words)?.options;
        Ok(DeployOptions {
            sender: self.sender.or(later.sender),
            constructor: self.constructor.or(later.constructor),
            args: self.args.or(later.args),
            json: self.json || later.json,
        })
    }
}

/// `tos-vm deploy FILE [CONSTRUCTOR --ARG value...] [--sender HEX] [--constructor HEX]`:
/// prints the new contract's address. The constructor is named as the file's interface
/// declares it (or given as raw `--constructor HEX`).
pub fn deploy_command(
    store_dir: &Path,
    file: &Path,
    method: Option<&str>,
    words: &[String],
    options: DeployOptions,
) -> Result<ExitCode, Failure> {
    let elf = read_code_file(file)?;
    let (constructor, options) = match method {
        Some(name) => {
            let interface = tos_vm::loader::interface_of(&elf)
                .map_err(|e| format!("{}: {e}", file.display()))?
                .ok_or_else(|| {
                    format!(
                        "{} has no interface: give the constructor's input as --constructor HEX",
                        file.display()
                    )
                })?;
            let method = interface.require_method(name).map_err(|e| e.to_string())?;
            if !method.constructor {
                return Err(format!(
                    "method `{}` of `{}` is not its constructor",
                    method.name, interface.name
                )
                .into());
            }
            let (word_args, rest) = split_words(method, words)?;
            let options = options
                .merge_words(&rest)
                .map_err(|e| format!("{e}\nthe constructor takes: {}", signature(method)))?;
            if options.constructor.is_some() {
                return Err(
                    "give the constructor by name or as --constructor HEX, not both".into(),
                );
            }
            let input = encode_input(&interface, method, options.args.as_deref(), word_args)?;
            (Some(input), options)
        }
        None => {
            let options = options.merge_words(words)?;
            if options.args.is_some() {
                return Err("--args needs the constructor's name: tos-vm deploy FILE CONSTRUCTOR --args JSON".into());
            }
            let constructor = options
                .constructor
                .as_ref()
                .map(|text| {
                    hex::decode(text.trim_start_matches("0x"))
                        .map_err(|e| format!("--constructor is not hex: {e}"))
                })
                .transpose()?;
            (constructor, options)
        }
    };
    let sender = match &options.sender {
        Some(text) => parse_hash(text, "--sender")?,
        None => Hash::default(),
    };
    let mut store = open_store(store_dir)?;
    let vm = Vm::new(VmConfig::default());
    let deployed = deploy(&vm, &mut store, elf, sender, constructor)?;
    if options.json {
        out!(
            "{}",
            serde_json::json!({
                "contract": deployed.contract.to_hex(),
                "code_hash": deployed.code_hash.to_hex(),
                "code_reused": deployed.code_reused,
                "deploy_units": deployed.deploy_units,
                "constructor_compute_units": deployed.constructor.as_ref().map(|c| c.compute_used),
                "units_charged": deployed.units_charged(),
                "state_growth": growth_json(&deployed.growth),
            })
        );
    } else {
        // stdout is the address alone (scripts capture it); the cost goes to stderr for people.
        out!("{}", deployed.contract);
        eprintln!(
            "deploy    {} units ({} deploy + {} constructor)",
            deployed.units_charged(),
            deployed.deploy_units,
            deployed.compute_used()
        );
        eprintln!(
            "state     +{} -{} bytes",
            deployed.growth.created_bytes(),
            deployed.growth.freed_bytes()
        );
    }
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
) -> Result<tos_vm::DeployOutcome, Failure> {
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
    Ok(outcome)
}
