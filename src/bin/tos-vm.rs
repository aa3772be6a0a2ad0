//! `tos-vm`: build, deploy, invoke and inspect TOS contracts against a local on-disk store.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use serde_json::json;
use tos_vm::{
    loader::toolchain::{self, BuildOptions},
    replay::{StateAtHeight, TxKind},
    BlockContext, ContractCall, DiskStorage, Engine, Hash, InvokeOutcome, InvokeStatus, LogEntry,
    ReplayOptions, StateListing, StorageProvider, TxStatus, Vm, VmConfig, NATIVE_ASSET,
};

/// Prints a line to stdout. A reader that went away (`tos-vm invoke ... | head -1`) or any
/// other write failure must not turn a committed call into a crash: the rest of the output is
/// dropped and the exit code stays the command's own.
macro_rules! out {
    () => {
        print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        print_line(format_args!($($arg)*))
    };
}

/// Whether stdout failed once: later lines are not attempted.
static STDOUT_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn print_line(line: std::fmt::Arguments<'_>) {
    use std::{io::Write, sync::atomic::Ordering};
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: output lost: {error}");
        }
    }
}

#[derive(Parser)]
#[command(name = "tos-vm", version, about = "TOS smart-contract VM")]
struct Cli {
    /// Directory of the embedded on-disk store.
    #[arg(long, global = true, default_value = ".tos-vm")]
    store: PathBuf,
    /// Seconds to wait for a store another tos-vm process holds before giving up.
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECONDS")]
    lock_timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a C or Rust contract directory into an SBPF executable. A Rust contract builds
    /// into `$CARGO_TARGET_DIR` when set, else into its own `target/`.
    Build {
        dir: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Deploy an executable as a new contract, in a block of its own; prints the contract's
    /// address. Deploying the same file again creates another, independent contract.
    Deploy {
        file: PathBuf,
        /// The deployer (64 hex digits); with the deploy's transaction hash it fixes the
        /// address.
        #[arg(long)]
        sender: Option<String>,
        /// Run the contract's constructor with this input (hex).
        #[arg(long)]
        constructor: Option<String>,
    },
    /// Call a contract by address (or by file: deployed first).
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
        /// Native amount the sender moves to the contract with the call (a native deposit).
        #[arg(long, default_value_t = 0)]
        value: u64,
        /// A deposit moved from the sender to the contract before it runs, as ASSET:AMOUNT
        /// (ASSET: 64 hex digits); repeatable, one per asset. All move or none.
        #[arg(long = "deposit", value_name = "ASSET:AMOUNT")]
        deposits: Vec<String>,
        /// The sender's compute limit for this call; the budget (--budget) is the ceiling.
        #[arg(long)]
        compute_limit: Option<u64>,
        /// Height of the block the call runs in (above the store's height; default: the next).
        #[arg(long)]
        height: Option<u64>,
        /// Timestamp of the block the call runs in, in seconds since the Unix epoch.
        #[arg(long, default_value_t = 0)]
        timestamp: u64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show what an executable contains.
    Inspect {
        file: PathBuf,
        /// List every function with its entry pc.
        #[arg(long)]
        functions: bool,
    },
    /// List a contract's storage (keys and values), now or as of a past height.
    State {
        /// Address of the contract (64 hex digits).
        contract: String,
        /// Read the state as of this block height.
        #[arg(long)]
        at: Option<u64>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Balance of an account (or contract) in an asset (native by default), now or as of a
    /// past height.
    Balance {
        /// Address (64 hex digits).
        address: String,
        #[arg(long)]
        at: Option<u64>,
        /// The asset (64 hex digits); the native asset by default.
        #[arg(long)]
        asset: Option<String>,
    },
    /// Local testing: mint balance of an asset (native by default) to an address, as a block
    /// of its own.
    Fund {
        /// Address (64 hex digits).
        address: String,
        amount: u64,
        /// The asset (64 hex digits); the native asset by default.
        #[arg(long)]
        asset: Option<String>,
    },
    /// Execute a block file (JSON or borsh: deploys and calls with senders and values) against
    /// the store and commit it as the next height; prints a per-transaction table and totals.
    Replay {
        /// The block file.
        block: PathBuf,
        #[arg(long, default_value = "jit")]
        engine: Engine,
        /// Compute budget of each call, in units.
        #[arg(long)]
        budget: Option<u64>,
        /// Worker threads for calls on disjoint contracts (default: every core; 1 = in order).
        #[arg(long)]
        threads: Option<usize>,
        /// Execute against the state as of this height (default: the latest). Below the
        /// latest height the block is only executed, not committed.
        #[arg(long)]
        height: Option<u64>,
        /// Execute without committing.
        #[arg(long)]
        dry_run: bool,
        /// Print each transaction's logs under its row.
        #[arg(long)]
        logs: bool,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !(cli.lock_timeout >= 0.0 && cli.lock_timeout.is_finite()) {
        eprintln!("error: --lock-timeout must be a number of seconds, 0 or more");
        return ExitCode::from(2);
    }
    LOCK_TIMEOUT.get_or_init(|| std::time::Duration::from_secs_f64(cli.lock_timeout));
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
        Command::Deploy {
            file,
            sender,
            constructor,
        } => {
            let elf = read_code_file(&file)?;
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
            let mut store = open_store(&cli.store)?;
            let vm = Vm::new(VmConfig::default());
            let address = deploy(&vm, &mut store, elf, sender, constructor)?;
            out!("{address}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoke {
            contract,
            input,
            engine,
            budget,
            sender,
            value,
            deposits,
            compute_limit,
            height,
            timestamp,
            json,
        } => {
            let config = VmConfig {
                engine,
                compute_budget: budget.unwrap_or(VmConfig::default().compute_budget),
            };
            let deposits = parse_deposits(value, &deposits)?;
            let request = InvokeRequest {
                input: &input,
                sender: sender.as_deref(),
                deposits,
                compute_limit,
                height,
                timestamp,
                json,
            };
            invoke(&cli.store, &contract, config, request)
        }
        Command::Inspect { file, functions } => inspect(&file, functions),
        Command::State { contract, at, json } => state(&cli.store, &contract, at, json),
        Command::Balance { address, at, asset } => {
            balance(&cli.store, &address, at, asset.as_deref())
        }
        Command::Fund {
            address,
            amount,
            asset,
        } => fund(&cli.store, &address, amount, asset.as_deref()),
        Command::Replay {
            block,
            engine,
            budget,
            threads,
            height,
            dry_run,
            logs,
            json,
        } => {
            let config = VmConfig {
                engine,
                compute_budget: budget.unwrap_or(VmConfig::default().compute_budget),
            };
            let options = match threads {
                Some(threads) => ReplayOptions::parallel(threads),
                None => ReplayOptions::default(),
            };
            let request = ReplayRequest {
                height,
                dry_run,
                logs,
                json,
            };
            replay(&cli.store, &block, config, options, request)
        }
    }
}

/// Reads an executable: at most `MAX_CODE_LEN + 1` bytes, so a huge or endless file
/// (`/dev/zero`) is refused at once.
fn read_code_file(path: &Path) -> Result<Vec<u8>, String> {
    tos_vm::read_file_within(path, tos_vm::MAX_CODE_LEN)
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .ok_or_else(|| {
            format!(
                "{} is larger than an executable may be ({} bytes)",
                path.display(),
                tos_vm::MAX_CODE_LEN
            )
        })
}

/// `--lock-timeout`, set once in `main`.
static LOCK_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Who holds a store, written beside it by the tos-vm process that opened it: the next one
/// that finds the store locked names the holder while it waits.
const HOLDER_NOTE: &str = "holder";

/// Opens the store, creating it if there is none: for the commands that write. A store that
/// another process holds is waited for (with one progress note on stderr) up to
/// `--lock-timeout`, so commands from two shells run one after the other.
fn open_store(dir: &Path) -> Result<DiskStorage, String> {
    use tos_vm::storage::StorageError;
    let timeout = LOCK_TIMEOUT.get().copied().unwrap_or_default();
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(10);
    // The note is the last opener's: normally the holder, but a holder that has only just
    // opened the store may not have replaced its predecessor's note yet.
    let holder = || match std::fs::read_to_string(dir.join(HOLDER_NOTE)) {
        Ok(note) => format!("another process (last opened by {})", note.trim()),
        Err(_) => "another process".to_string(),
    };
    let mut noted = false;
    loop {
        match DiskStorage::open(dir) {
            Ok(store) => {
                // Best effort: a missing note only makes a waiting process's message vaguer.
                let note = format!(
                    "tos-vm (pid {}): {}",
                    std::process::id(),
                    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
                );
                let _ = std::fs::write(dir.join(HOLDER_NOTE), note);
                return Ok(store);
            }
            Err(StorageError::AlreadyOpen { .. }) if started.elapsed() < timeout => {
                if !noted {
                    eprintln!(
                        "waiting for store {}, held by {}, up to {:.1} s...",
                        dir.display(),
                        holder(),
                        timeout.as_secs_f64()
                    );
                    noted = true;
                }
                std::thread::sleep(pause.min(timeout.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            Err(StorageError::AlreadyOpen { .. }) => {
                return Err(format!(
                    "store {} is still held by {} after {:.1} s (--lock-timeout)",
                    dir.display(),
                    holder(),
                    timeout.as_secs_f64()
                ))
            }
            Err(e) => return Err(format!("opening store {}: {e}", dir.display())),
        }
    }
}

/// Opens an existing store: commands that only read never create one, so a mistyped `--store`
/// is reported as such instead of as a missing contract in a new empty store.
fn open_existing_store(dir: &Path) -> Result<DiskStorage, String> {
    if !DiskStorage::exists(dir) {
        return Err(format!(
            "no store at {} (deploy, fund, invoke FILE and replay create one)",
            dir.display()
        ));
    }
    open_store(dir)
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
        // As cargo: CARGO_TARGET_DIR (relative to the working directory) when set.
        target_dir: std::env::var_os("CARGO_TARGET_DIR")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from),
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
    out!(
        "{} ({} bytes, code hash {})",
        output.display(),
        elf.len(),
        tos_vm::code_hash(&elf)
    );
    Ok(ExitCode::SUCCESS)
}

fn inspect(file: &Path, list_functions: bool) -> Result<ExitCode, String> {
    let elf = read_code_file(file)?;
    let syscalls = tos_vm::syscalls::syscall_names();
    let info = tos_vm::loader::validate_executable(&elf, &syscalls).map_err(|e| e.to_string())?;
    out!("file          {}", file.display());
    out!("code hash     {}", tos_vm::code_hash(&elf));
    out!("size          {} bytes", elf.len());
    out!("sbpf version  V{}", info.sbpf_version);
    out!(
        "text          {} bytes, {} instructions",
        info.text_bytes,
        info.instruction_count
    );
    out!("rodata        {} bytes", info.rodata_bytes);
    out!("entry pc      {}", info.entry_pc);
    out!("syscalls      {}", info.syscalls_used.join(", "));
    out!("functions     {}", info.functions.len());
    if list_functions {
        for (name, pc) in &info.functions {
            out!("  {name} @ {pc}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_hash(text: &str, what: &str) -> Result<Hash, String> {
    Hash::from_hex(text).ok_or_else(|| format!("{what} must be 64 hex digits, got `{text}`"))
}

fn state(
    store_dir: &Path,
    contract: &str,
    at: Option<u64>,
    json: bool,
) -> Result<ExitCode, String> {
    let contract = parse_hash(contract, "the contract")?;
    let store = open_existing_store(store_dir)?;
    let height = match at {
        Some(height) => height,
        None => store.block_height().map_err(|e| e.to_string())?,
    };
    let entries = store
        .list_storage_at(&contract, height)
        .map_err(|e| e.to_string())?;
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

/// `--asset HASH`, or the native asset.
fn parse_asset(asset: Option<&str>) -> Result<Hash, String> {
    asset.map_or(Ok(NATIVE_ASSET), |text| parse_hash(text, "--asset"))
}

/// `--value` and every `--deposit ASSET:AMOUNT`, checked: one entry per asset, at most 255,
/// no amount of 0.
fn parse_deposits(value: u64, deposits: &[String]) -> Result<tos_vm::Deposits, String> {
    let mut parsed = tos_vm::native_deposit(value);
    for text in deposits {
        let (asset, amount) = text
            .split_once(':')
            .ok_or_else(|| format!("--deposit must be ASSET:AMOUNT, got `{text}`"))?;
        let asset = parse_hash(asset, "a --deposit asset")?;
        let amount: u64 = amount
            .parse()
            .map_err(|e| format!("--deposit amount `{amount}`: {e}"))?;
        if parsed.insert(asset, amount).is_some() {
            return Err(format!(
                "asset {asset} is deposited twice (--value is the native asset)"
            ));
        }
    }
    tos_vm::runtime::check_deposits(&parsed).map_err(|e| e.to_string())?;
    Ok(parsed)
}

/// Deposits as JSON: asset (hex) → amount.
fn deposits_json(deposits: &tos_vm::Deposits) -> serde_json::Value {
    deposits
        .iter()
        .map(|(asset, amount)| (asset.to_hex(), json!(amount)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Deposits for the table: the native amount, plus how many other assets.
fn deposit_text(deposits: &tos_vm::Deposits) -> String {
    let native = deposits.get(&NATIVE_ASSET).copied().unwrap_or(0);
    match deposits.len() - usize::from(deposits.contains_key(&NATIVE_ASSET)) {
        0 => native.to_string(),
        others => format!("{native}+{others}a"),
    }
}

fn balance(
    store_dir: &Path,
    address: &str,
    at: Option<u64>,
    asset: Option<&str>,
) -> Result<ExitCode, String> {
    let address = parse_hash(address, "the address")?;
    let asset = parse_asset(asset)?;
    let store = open_existing_store(store_dir)?;
    let amount = match at {
        Some(height) => store.read_balance_at(&address, &asset, height),
        None => store.read_balance(&address, &asset),
    }
    .map_err(|e| e.to_string())?;
    out!("{amount}");
    Ok(ExitCode::SUCCESS)
}

fn fund(
    store_dir: &Path,
    address: &str,
    amount: u64,
    asset: Option<&str>,
) -> Result<ExitCode, String> {
    let address = parse_hash(address, "the address")?;
    let asset = parse_asset(asset)?;
    let mut store = open_store(store_dir)?;
    let current = store
        .read_balance(&address, &asset)
        .map_err(|e| e.to_string())?;
    let new = current
        .checked_add(amount)
        .ok_or_else(|| format!("balance of {address} would overflow ({current} + {amount})"))?;
    let height = store.block_height().map_err(|e| e.to_string())? + 1;
    let mut changes = tos_vm::ChangeSet::default();
    changes.set_balance(address, asset, new);
    store
        .commit_block(height, &changes)
        .map_err(|e| e.to_string())?;
    out!("{address}  {current} -> {new}  (block {height})");
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

/// Deploys `elf` as a block of its own at the next height: the contract's address is
/// [`tos_vm::deploy_address`] of the sender and the deploy's (locally derived) transaction hash.
fn deploy(
    vm: &Vm,
    store: &mut DiskStorage,
    elf: Vec<u8>,
    sender: Hash,
    constructor: Option<Vec<u8>>,
) -> Result<Hash, String> {
    let height = store.block_height().map_err(|e| e.to_string())? + 1;
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
    let outcome = vm
        .execute_deploy(&payload, address, &transaction, &block, &*store)
        .map_err(|e| e.to_string())?;
    store
        .commit_with_height(&outcome.changes, height)
        .map_err(|e| e.to_string())?;
    Ok(outcome.contract)
}

/// What `tos-vm invoke` sends.
struct InvokeRequest<'a> {
    input: &'a str,
    sender: Option<&'a str>,
    deposits: tos_vm::Deposits,
    compute_limit: Option<u64>,
    height: Option<u64>,
    timestamp: u64,
    json: bool,
}

fn invoke(
    store_dir: &Path,
    contract: &str,
    config: VmConfig,
    request: InvokeRequest<'_>,
) -> Result<ExitCode, String> {
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
    let tip = store.block_height().map_err(|e| e.to_string())?;
    let height = match height {
        Some(height) if height <= tip => {
            return Err(format!(
                "--height {height} is not above the store's height {tip}"
            ))
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
    let outcome = vm
        .execute(&call, &block, &store)
        .map_err(|e| e.to_string())?;
    // Every invoke makes a block: effects (if any) and the new height commit together.
    store
        .commit_with_height(&outcome.changes, height)
        .map_err(|e| e.to_string())?;
    if json {
        out!("{}", outcome_json(&call, config.engine, height, &outcome));
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
        InvokeStatus::Failed { code } => ("failed", Some(*code), Some(failure_name(*code))),
        InvokeStatus::Aborted(error) => ("aborted", None, Some(error.to_string())),
    }
}

/// What a contract's non-zero status means: the SDK's error name (`Unauthorized`,
/// `Custom(3)`) when the code is one of its codes, else the bare status.
fn failure_name(code: u64) -> String {
    match tos_sdk::ContractError::from_code(code) {
        Some(tos_sdk::ContractError::Custom(n)) => format!("Custom({n})"),
        Some(error) => error.name().to_owned(),
        None => format!("status {code}"),
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
fn asset_suffix(asset_hex: &str) -> String {
    if asset_hex == NATIVE_ASSET.to_hex() {
        String::new()
    } else {
        format!(" of asset {asset_hex}")
    }
}

struct ReplayRequest {
    height: Option<u64>,
    dry_run: bool,
    logs: bool,
    json: bool,
}

fn replay(
    store_dir: &Path,
    block_file: &Path,
    config: VmConfig,
    options: ReplayOptions,
    request: ReplayRequest,
) -> Result<ExitCode, String> {
    let block = tos_vm::Block::from_file(block_file).map_err(|e| e.to_string())?;
    let vm = Vm::new(config);
    // Only a replay that commits may create the store.
    let mut store = if request.dry_run || request.height.is_some() {
        open_existing_store(store_dir)?
    } else {
        open_store(store_dir)?
    };
    let tip = store.block_height().map_err(|e| e.to_string())?;
    let parent = request.height.unwrap_or(tip);
    if parent > tip {
        return Err(format!(
            "--height {parent} is above the store's height {tip}"
        ));
    }
    let commit = parent == tip && !request.dry_run;
    let height = parent + 1;
    let context = block.context(height);
    let execution = if parent == tip {
        tos_vm::execute_block(&vm, &context, &block.transactions, &store, &options)
    } else {
        let state = StateAtHeight::new(&store, parent).map_err(|e| e.to_string())?;
        tos_vm::execute_block(&vm, &context, &block.transactions, &state, &options)
    }
    .map_err(|e| format!("block aborted by a store failure: {e}"))?;
    let commit_time = if commit {
        let started = std::time::Instant::now();
        store
            .commit_block(height, &execution.changes)
            .map_err(|e| e.to_string())?;
        Some(started.elapsed())
    } else {
        None
    };
    let state_root = if commit {
        Some(store.state_root().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let summary = ReplaySummary {
        parent,
        engine: config.engine,
        execution: &execution,
        commit_time,
        state_root,
        cache: vm.cache_stats(),
    };
    if request.json {
        out!("{}", summary.json());
    } else {
        summary.print(request.logs);
    }
    Ok(ExitCode::SUCCESS)
}

struct ReplaySummary<'a> {
    parent: u64,
    engine: Engine,
    execution: &'a tos_vm::BlockExecution,
    commit_time: Option<std::time::Duration>,
    state_root: Option<Hash>,
    cache: tos_vm::CacheStats,
}

fn status_text(status: &TxStatus) -> String {
    match status {
        TxStatus::Success => "success".into(),
        TxStatus::Failed { code } => format!("failed (returned {code}: {})", failure_name(*code)),
        TxStatus::Aborted { error } => format!("aborted: {error}"),
        TxStatus::Rejected { error } => format!("rejected: {error}"),
    }
}

fn status_name(status: &TxStatus) -> &'static str {
    match status {
        TxStatus::Success => "success",
        TxStatus::Failed { .. } => "failed",
        TxStatus::Aborted { .. } => "aborted",
        TxStatus::Rejected { .. } => "rejected",
    }
}

fn short(hash: &Hash) -> String {
    hash.to_hex()[..12].to_string()
}

fn duration_text(duration: std::time::Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1}µs")
    } else if micros < 1e6 {
        format!("{:.2}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl ReplaySummary<'_> {
    fn count(&self, name: &str) -> usize {
        self.execution
            .transactions
            .iter()
            .filter(|tx| status_name(&tx.status) == name)
            .count()
    }

    fn rate(&self) -> f64 {
        let seconds = self.execution.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.execution.transactions.len() as f64 / seconds
        } else {
            0.0
        }
    }

    fn print(&self, with_logs: bool) {
        let execution = self.execution;
        let context = &execution.context;
        let stats = &execution.stats;
        out!(
            "block {} (parent {})  hash {}  timestamp {}",
            context.height,
            self.parent,
            short(&context.hash),
            context.timestamp
        );
        out!(
            "engine {}, {} thread(s): {} segment(s) of calls, {} in parallel ({} groups, {} regroup(s)), {} fallback(s) to sequential",
            format!("{:?}", self.engine).to_lowercase(),
            stats.threads,
            stats.segments,
            stats.parallel_segments,
            stats.parallel_groups,
            stats.regroups,
            stats.fallbacks
        );
        out!();
        out!(
            "{:>5}  {:<6}  {:<12}  {:<12}  {:>10}  {:>10}  {:>9}  status",
            "#",
            "kind",
            "contract",
            "sender",
            "deposits",
            "compute",
            "time"
        );
        for tx in &execution.transactions {
            out!(
                "{:>5}  {:<6}  {:<12}  {:<12}  {:>10}  {:>10}  {:>9}  {}",
                tx.index,
                match tx.kind {
                    TxKind::Deploy => "deploy",
                    TxKind::Call => "call",
                },
                short(&tx.contract),
                short(&tx.sender),
                deposit_text(&tx.deposits),
                tx.compute_used,
                duration_text(tx.elapsed),
                status_text(&tx.status)
            );
            if with_logs {
                for log in &tx.logs {
                    out!("{:>7}| {}", "", log.message);
                }
            }
        }
        out!();
        out!(
            "transactions  {} ({} success, {} failed, {} aborted, {} rejected)",
            execution.transactions.len(),
            self.count("success"),
            self.count("failed"),
            self.count("aborted"),
            self.count("rejected")
        );
        out!("compute       {} units", execution.compute_used());
        out!(
            "time          execution {} ({:.0} tx/s){}",
            duration_text(execution.elapsed),
            self.rate(),
            match self.commit_time {
                Some(time) => format!(", commit {}", duration_text(time)),
                None => String::new(),
            }
        );
        out!(
            "cache         {} hit(s), {} miss(es), {} eviction(s); {} executable(s), {} of {}",
            self.cache.hits,
            self.cache.misses,
            self.cache.evictions,
            self.cache.entries,
            mib(self.cache.bytes),
            mib(self.cache.budget)
        );
        let changes = &execution.changes;
        out!(
            "changes       {} storage key(s), {} balance(s), {} contract(s); hash {}",
            changes.storage.len(),
            changes.balances.len(),
            changes.code.len(),
            execution.changes_hash()
        );
        match self.state_root {
            Some(root) => {
                out!("state root    {root}");
                out!("committed     as height {}", context.height);
            }
            None => out!("committed     no (dry run)"),
        }
    }

    fn json(&self) -> serde_json::Value {
        let execution = self.execution;
        let transactions: Vec<serde_json::Value> = execution
            .transactions
            .iter()
            .map(|tx| {
                let (code, error) = match &tx.status {
                    TxStatus::Success => (Some(0), None),
                    TxStatus::Failed { code } => (Some(*code), Some(failure_name(*code))),
                    TxStatus::Aborted { error } | TxStatus::Rejected { error } => {
                        (None, Some(error.clone()))
                    }
                };
                json!({
                    "index": tx.index,
                    "hash": tx.hash.to_hex(),
                    "kind": tx.kind,
                    "contract": tx.contract.to_hex(),
                    "sender": tx.sender.to_hex(),
                    "value": tx.deposits.get(&NATIVE_ASSET).copied().unwrap_or(0),
                    "deposits": deposits_json(&tx.deposits),
                    "status": status_name(&tx.status),
                    "return_value": code,
                    "error": error,
                    "compute_units": tx.compute_used,
                    "time_us": tx.elapsed.as_secs_f64() * 1e6,
                    "logs": tx.logs.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "height": execution.context.height,
            "parent": self.parent,
            "block_hash": execution.context.hash.to_hex(),
            "engine": format!("{:?}", self.engine).to_lowercase(),
            "stats": execution.stats,
            "transactions": transactions,
            "totals": {
                "transactions": execution.transactions.len(),
                "success": self.count("success"),
                "failed": self.count("failed"),
                "aborted": self.count("aborted"),
                "rejected": self.count("rejected"),
                "compute_units": execution.compute_used(),
                "execution_us": execution.elapsed.as_secs_f64() * 1e6,
                "commit_us": self.commit_time.map(|t| t.as_secs_f64() * 1e6),
                "tx_per_second": self.rate(),
            },
            "cache": {
                "hits": self.cache.hits,
                "misses": self.cache.misses,
                "evictions": self.cache.evictions,
                "entries": self.cache.entries,
                "bytes": self.cache.bytes,
                "budget": self.cache.budget,
                "hit_rate": self.cache.hit_rate(),
            },
            "changes_hash": execution.changes_hash().to_hex(),
            "committed": self.state_root.is_some(),
            "state_root": self.state_root.map(|root| root.to_hex()),
        })
    }
}
