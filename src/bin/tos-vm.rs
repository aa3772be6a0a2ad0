//! `tos-vm`: build, deploy, invoke and inspect TOS contracts against a local on-disk store.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use serde_json::json;
use tos_vm::{
    loader::toolchain::{self, BuildOptions},
    BlockContext, ContractCall, DiskStorage, Engine, Hash, InvokeOutcome, InvokeStatus, LogEntry,
    Vm, VmConfig,
};

#[derive(Parser)]
#[command(name = "tos-vm", version, about = "TOS smart-contract VM")]
struct Cli {
    /// Directory of the embedded on-disk store.
    #[arg(long, global = true, default_value = ".tos-vm")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a C or Rust contract directory into an SBPF executable.
    Build {
        dir: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Validate an executable and store it; prints its code hash.
    Deploy { file: PathBuf },
    /// Call a contract by code hash (or by file: deployed first).
    Invoke {
        contract: String,
        /// Input bytes as hex.
        #[arg(long, default_value = "")]
        input: String,
        #[arg(long, default_value = "jit")]
        engine: Engine,
        /// Compute budget in units.
        #[arg(long)]
        budget: Option<u64>,
        /// Transaction sender (64 hex digits).
        #[arg(long)]
        sender: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show what an executable contains.
    Inspect { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Build { dir, output } => build(&dir, output),
        Command::Deploy { file } => {
            let elf = read_file(&file)?;
            let mut store = open_store(&cli.store)?;
            let hash = Vm::new(VmConfig::default())
                .deploy(&elf, &mut store)
                .map_err(|e| e.to_string())?;
            println!("{hash}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoke {
            contract,
            input,
            engine,
            budget,
            sender,
            json,
        } => {
            let config = VmConfig {
                engine,
                compute_budget: budget.unwrap_or(VmConfig::default().compute_budget),
            };
            invoke(
                &cli.store,
                &contract,
                &input,
                config,
                sender.as_deref(),
                json,
            )
        }
        Command::Inspect { file } => inspect(&file),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn open_store(dir: &Path) -> Result<DiskStorage, String> {
    DiskStorage::open(dir).map_err(|e| format!("opening store {}: {e}", dir.display()))
}

/// Where `sdk/c/tos.h` lives: `TOS_SDK_C_DIR` at run time, else this source tree's copy.
fn sdk_include_dir() -> PathBuf {
    std::env::var_os("TOS_SDK_C_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk").join("c"))
}

fn build(dir: &Path, output: Option<PathBuf>) -> Result<ExitCode, String> {
    let syscalls = tos_vm::syscalls::syscall_names();
    let options = BuildOptions {
        syscalls: &syscalls,
        target_dir: None,
        sdk_include: sdk_include_dir(),
    };
    let elf = toolchain::build_contract(dir, &options).map_err(|e| e.to_string())?;
    let output = output.unwrap_or_else(|| {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "contract".into());
        dir.join(format!("{name}.so"))
    });
    std::fs::write(&output, &elf).map_err(|e| format!("writing {}: {e}", output.display()))?;
    println!(
        "{} ({} bytes, code hash {})",
        output.display(),
        elf.len(),
        tos_vm::code_hash(&elf)
    );
    Ok(ExitCode::SUCCESS)
}

fn inspect(file: &Path) -> Result<ExitCode, String> {
    let elf = read_file(file)?;
    let syscalls = tos_vm::syscalls::syscall_names();
    let info = tos_vm::loader::validate_executable(&elf, &syscalls).map_err(|e| e.to_string())?;
    println!("file          {}", file.display());
    println!("code hash     {}", tos_vm::code_hash(&elf));
    println!("size          {} bytes", elf.len());
    println!("sbpf version  V{}", info.sbpf_version);
    println!(
        "text          {} bytes, {} instructions",
        info.text_bytes, info.instruction_count
    );
    println!("rodata        {} bytes", info.rodata_bytes);
    println!("entry pc      {}", info.entry_pc);
    println!("syscalls      {}", info.syscalls_used.join(", "));
    for (name, pc) in &info.functions {
        println!("function      {name} @ {pc}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Deterministic local block and transaction hashes, so runs are reproducible.
fn derived_hash(parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

fn invoke(
    store_dir: &Path,
    contract: &str,
    input_hex: &str,
    config: VmConfig,
    sender: Option<&str>,
    json: bool,
) -> Result<ExitCode, String> {
    let input = hex::decode(input_hex.trim_start_matches("0x"))
        .map_err(|e| format!("--input is not hex: {e}"))?;
    let sender = match sender {
        Some(text) => Hash::from_hex(text).ok_or("--sender must be 64 hex digits")?,
        None => Hash::default(),
    };
    let vm = Vm::new(config);
    let mut store = open_store(store_dir)?;
    let contract = match Hash::from_hex(contract) {
        Some(hash) => hash,
        None => {
            let elf = read_file(Path::new(contract))?;
            vm.deploy(&elf, &mut store).map_err(|e| e.to_string())?
        }
    };
    let height = store.block_height().map_err(|e| e.to_string())? + 1;
    let block = BlockContext {
        height,
        hash: derived_hash(&[b"block", &height.to_le_bytes()]),
        timestamp: 0,
    };
    let call = ContractCall {
        contract,
        tx_hash: derived_hash(&[b"tx", &contract.0, &input, &height.to_le_bytes()]),
        input,
        sender,
        value: 0,
    };
    let outcome = vm
        .execute(&call, &block, &store)
        .map_err(|e| e.to_string())?;
    // Every invoke makes a block: effects (if any) and the new height commit together.
    store
        .commit_with_height(&outcome.changes, height)
        .map_err(|e| e.to_string())?;
    if json {
        println!("{}", outcome_json(&call, config.engine, height, &outcome));
    } else {
        print_outcome(&call, config.engine, height, &outcome);
    }
    Ok(if outcome.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn status_parts(status: &InvokeStatus) -> (&'static str, Option<u64>, Option<String>) {
    match status {
        InvokeStatus::Success => ("success", Some(0), None),
        InvokeStatus::Failed { code } => ("failed", Some(*code), None),
        InvokeStatus::Aborted(error) => ("aborted", None, Some(error.to_string())),
    }
}

fn outcome_json(
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
        "engine": format!("{engine:?}").to_lowercase(),
        "block_height": height,
        "status": status,
        "return_value": return_value,
        "error": error,
        "compute_units": outcome.compute_used,
        "logs": logs,
        "effects": outcome.effects,
    })
}

/// Hex bytes shown as a quoted string when they are printable ASCII, else as hex.
fn readable(hex_text: &str) -> String {
    match hex::decode(hex_text) {
        Ok(bytes)
            if !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') =>
        {
            format!("{:?}", String::from_utf8_lossy(&bytes))
        }
        _ => format!("0x{hex_text}"),
    }
}

fn print_outcome(call: &ContractCall, engine: Engine, height: u64, outcome: &InvokeOutcome) {
    let (status, return_value, error) = status_parts(&outcome.status);
    println!("contract  {}", call.contract);
    println!(
        "engine    {}   block {height}",
        format!("{engine:?}").to_lowercase()
    );
    match (return_value, error) {
        (_, Some(error)) => println!("status    {status}: {error}"),
        (Some(value), None) => println!("status    {status} (returned {value})"),
        (None, None) => println!("status    {status}"),
    }
    println!("compute   {} units", outcome.compute_used);
    println!("logs      {}", outcome.logs.len());
    for log in &outcome.logs {
        println!("  | {}", log.message);
    }
    let effects = &outcome.effects;
    if effects.is_empty() {
        println!("effects   none");
        return;
    }
    println!("effects");
    for change in &effects.storage {
        println!(
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
        println!(
            "  balance  {}  {} -> {}",
            change.account, change.old, change.new
        );
    }
    for transfer in &effects.transfers {
        println!(
            "  transfer {} -> {}  {}",
            transfer.from, transfer.to, transfer.amount
        );
    }
}
