//! `tos-vm replay`: execute a block file, commit it, print a per-transaction table or JSON.

use std::{path::Path, process::ExitCode};

use serde_json::json;
use tos_vm::{
    replay::{StateAtHeight, TxKind},
    Engine, Hash, ReplayOptions, StateListing, TxStatus, Vm, VmConfig, NATIVE_ASSET,
};

use crate::{
    failure::Failure,
    output::{deposit_text, deposits_json, failure_name, growth_json},
    store::{open_existing_store, open_store},
};

pub struct ReplayRequest {
    pub height: Option<u64>,
    pub dry_run: bool,
    pub logs: bool,
    pub json: bool,
}

pub fn replay(
    store_dir: &Path,
    block_file: &Path,
    config: VmConfig,
    options: ReplayOptions,
    request: ReplayRequest,
) -> Result<ExitCode, Failure> {
    let block = tos_vm::Block::from_file(block_file).map_err(|e| e.to_string())?;
    let vm = Vm::new(config);
    // Only a replay that commits may create the store.
    let mut store = if request.dry_run || request.height.is_some() {
        open_existing_store(store_dir)?
    } else {
        open_store(store_dir)?
    };
    let tip = store.block_height()?;
    let parent = request.height.unwrap_or(tip);
    if parent > tip {
        return Err(format!("--height {parent} is above the store's height {tip}").into());
    }
    let commit = parent == tip && !request.dry_run;
    let height = parent + 1;
    let context = block.context(height);
    let execution = if parent == tip {
        tos_vm::execute_block(&vm, &context, &block.transactions, &store, &options)
    } else {
        let state = StateAtHeight::new(&store, parent)?;
        tos_vm::execute_block(&vm, &context, &block.transactions, &state, &options)
    }
    .map_err(|e| Failure::store("block aborted by a store failure", e))?;
    let commit_time = if commit {
        let started = std::time::Instant::now();
        store
            .commit_block(height, &execution.changes)
            .map_err(|e| Failure::store("committing the block", e))?;
        Some(started.elapsed())
    } else {
        None
    };
    let state_root = if commit {
        Some(store.state_root()?)
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

pub struct ReplaySummary<'a> {
    parent: u64,
    engine: Engine,
    execution: &'a tos_vm::BlockExecution,
    commit_time: Option<std::time::Duration>,
    state_root: Option<Hash>,
    cache: tos_vm::CacheStats,
}

pub fn status_text(status: &TxStatus) -> String {
    match status {
        TxStatus::Success => "success".into(),
        TxStatus::Failed { code } => format!("failed (returned {code}: {})", failure_name(*code)),
        TxStatus::Aborted { error } => format!("aborted: {error}"),
        TxStatus::Rejected { error } => format!("rejected: {error}"),
    }
}

pub fn status_name(status: &TxStatus) -> &'static str {
    match status {
        TxStatus::Success => "success",
        TxStatus::Failed { .. } => "failed",
        TxStatus::Aborted { .. } => "aborted",
        TxStatus::Rejected { .. } => "rejected",
    }
}

pub fn short(hash: &Hash) -> String {
    hash.to_hex()[..12].to_string()
}

pub fn duration_text(duration: std::time::Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1}µs")
    } else if micros < 1e6 {
        format!("{:.2}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

pub fn mib(bytes: usize) -> String {
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
            "engine {}, {} thread(s): {} segment(s) of calls, {} in parallel ({} call(s), {} re-executed after a conflict)",
            format!("{:?}", self.engine).to_lowercase(),
            stats.threads,
            stats.segments,
            stats.parallel_segments,
            stats.parallel_calls,
            stats.reexecuted
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
                    "deploy_units": tx.deploy_units,
                    "state_growth": growth_json(&tx.growth),
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
