//! `tos-vm`: build, deploy, invoke and inspect TOS contracts against a local on-disk store.
//!
//! One file per command family over a shared output layer (`output.rs`, the `out!` macro):
//! `build.rs` (build, inspect), `deploy.rs`, `invoke.rs`, `state.rs` (state, balance, fund),
//! `replay.rs`; `args.rs` parses what several commands take, `store.rs` opens the store.

#[macro_use]
mod output;
mod args;
mod build;
mod calls;
mod deploy;
mod failure;
mod invoke;
mod new;
mod query;
mod replay;
mod state;
mod store;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tos_vm::{Engine, ReplayOptions, VmConfig};

use crate::{
    build::{build, inspect},
    deploy::{deploy_command, DeployOptions},
    failure::{Failure, EXIT_ERROR},
    invoke::{invoke, InvokeOptions, InvokeRequest},
    new::{new_project, Lang},
    query::{query, QueryOptions, QueryRequest},
    replay::{replay, ReplayRequest},
    state::{balance, fund, state},
    store::LOCK_TIMEOUT,
};

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
        /// The constructor to run, by the name the file's interface gives it.
        constructor_method: Option<String>,
        #[command(flatten)]
        options: DeployOptions,
        /// `--NAME VALUE` for each of the constructor's arguments (more options may follow).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        words: Vec<String>,
    },
    /// Call a contract by method name (`invoke C transfer --to ADDR --amount 250`, or
    /// `--args '{"to": ..., "amount": 250}'`), checked against the interface of its deployed
    /// code; or with raw `--input HEX`. The contract is an address in the store, or an
    /// executable file (deployed first). Prints the answer, events and status decoded.
    Invoke {
        contract: String,
        /// The method to call (from the contract's interface).
        method: Option<String>,
        #[command(flatten)]
        options: InvokeOptions,
        /// `--NAME VALUE` for each of the method's arguments (more options may follow).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        words: Vec<String>,
    },
    /// A read-only call by method name at the store's height (or `--at HEIGHT`): commits
    /// nothing and makes no block; refuses a method the interface does not mark read-only,
    /// and the VM refuses any write the contract attempts.
    Query {
        /// Address of the contract (64 hex digits).
        contract: String,
        /// The read-only method to call.
        method: Option<String>,
        #[command(flatten)]
        options: QueryOptions,
        /// `--NAME VALUE` for each of the method's arguments (more options may follow).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        words: Vec<String>,
    },
    /// Start a contract project: builds with `tos-vm build`, has a host-side test (Rust), a
    /// harness test under both engines and a README (docs/tutorial.md starts here).
    New {
        /// The contract's name (and directory): 1..=64 of [a-z0-9_-], starting with a letter.
        name: String,
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
        /// Create the project in this directory (default: the current one).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show what an executable contains.
    Inspect {
        file: PathBuf,
        /// List every function with its entry pc.
        #[arg(long)]
        functions: bool,
        /// Print the contract's interface as JSON (docs/interface.md).
        #[arg(long)]
        interface: bool,
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
        /// Worker threads for calls that touch disjoint state (default: every core; 1 = in order).
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
        return ExitCode::from(EXIT_ERROR);
    }
    LOCK_TIMEOUT.get_or_init(|| std::time::Duration::from_secs_f64(cli.lock_timeout));
    match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            failure.exit_code()
        }
    }
}

/// Runs the command: `Ok` with its exit code (0, or 1 when the contract failed), `Err` with
/// why the command failed (exit 2, or 3 when the store failed: see `failure.rs`).
fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Build { dir, output } => Ok(build(&dir, output)?),
        Command::Deploy {
            file,
            constructor_method,
            options,
            words,
        } => deploy_command(
            &cli.store,
            &file,
            constructor_method.as_deref(),
            &words,
            options,
        ),
        Command::Invoke {
            contract,
            method,
            options,
            words,
        } => invoke(
            &cli.store,
            InvokeRequest {
                contract: &contract,
                method: method.as_deref(),
                words: &words,
                options,
            },
        ),
        Command::Query {
            contract,
            method,
            options,
            words,
        } => query(
            &cli.store,
            QueryRequest {
                contract: &contract,
                method: method.as_deref(),
                words: &words,
                options,
            },
        ),
        Command::New { name, lang, dir } => Ok(new_project(&name, lang, dir.as_deref())?),
        Command::Inspect {
            file,
            functions,
            interface,
        } => Ok(inspect(&file, functions, interface)?),
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
