//! How a chain node embeds tos-vm: one `Vm` shared by every thread, deploy payloads checked at
//! deploy time, calls executed inside blocks against a versioned on-disk store, blocks
//! committed by height, cache metrics for monitoring. Calls are encoded and answers decoded
//! with the counter's typed client (`counter_rust::calls`, `counter_rust::returns`), which
//! `#[tos_sdk::contract]` generates from the contract's declaration. See docs/embedding.md.
//!
//! ```sh
//! cargo run --release --bin tos-vm -- build examples/counter-rust -o target/contracts/counter-rust.so
//! cargo run --release --example embedding -- target/contracts/counter-rust.so
//! ```

use std::{path::PathBuf, sync::Arc};

use tos_vm::{
    execute_block, replay::Transaction, BlockContext, ContractCall, DeployContractPayload,
    DiskStorage, Engine, Hash, InvokeStatus, PendingState, ReplayOptions, TransactionContext,
    TxStatus, Vm, VmConfig, VmError,
};

const ALICE: Hash = Hash([0xA1; 32]);

/// The node's block header for `height` (a real node has its own).
fn header(height: u64) -> BlockContext {
    BlockContext {
        height,
        hash: Hash(*blake3::hash(&height.to_le_bytes()).as_bytes()),
        timestamp: 1_700_000_000 + 10 * height,
    }
}

fn tx_hash(height: u64, index: u64) -> Hash {
    Hash(*blake3::hash(&[height.to_le_bytes(), index.to_le_bytes()].concat()).as_bytes())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let elf_path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/contracts/counter-rust.so"));
    let elf = std::fs::read(&elf_path).map_err(|e| {
        format!(
            "reading {}: {e}\nbuild a contract first: cargo run --release --bin tos-vm -- build examples/counter-rust -o {}",
            elf_path.display(),
            elf_path.display()
        )
    })?;

    // One VM for the node: Send + Sync, its executable cache bounded to 64 MiB.
    let vm = Arc::new(Vm::with_cache_budget(
        VmConfig {
            engine: Engine::Jit,
            compute_budget: 1_400_000,
        },
        64 * 1024 * 1024,
    ));
    let dir = std::env::temp_dir().join(format!("tos-vm-embedding-{}", std::process::id()));
    let mut store = DiskStorage::open(&dir)?;

    // Block 1: a deploy transaction, as its payload arrives on the wire.
    let wire = DeployContractPayload::new(elf).to_bytes();
    let height = store.block_height()? + 1;
    let block = header(height);
    let mut pending = PendingState::new(&store);
    let contract = match DeployContractPayload::from_bytes(&wire) {
        Err(refused) => return Err(format!("deploy refused: {refused}").into()),
        Ok(payload) => {
            let tx = TransactionContext {
                hash: tx_hash(height, 0),
                sender: ALICE,
            };
            // The chain decides the new contract's address (here: the local rule, deployer
            // and deploy transaction); the VM never derives it from the code.
            let address = tos_vm::deploy_address(&tx.sender, &tx.hash);
            match vm.deploy_contract(&payload, address, &tx, &block, &mut pending) {
                // The chain charges the deploy's units (load, verification, compilation) plus
                // the constructor's compute.
                Ok(deployed) => {
                    println!(
                        "deploy charged {} units ({} deploy + {} constructor)",
                        deployed.units_charged(),
                        deployed.deploy_units,
                        deployed.compute_used()
                    );
                    deployed.contract
                }
                // Bad code, unknown syscalls, a failed constructor: the transaction fails,
                // nothing was written, and the work of refusing it is still charged.
                Err(VmError::Deploy {
                    error,
                    deploy_units,
                }) => {
                    return Err(
                        format!("deploy refused ({deploy_units} units charged): {error}").into(),
                    )
                }
                Err(other) => return Err(other.into()),
            }
        }
    };
    let changes = pending.into_changes();
    store.commit_block(height, &changes)?;
    println!("block {height}: deployed {contract}");

    // Block 2: the node's own transaction loop; each call sees the ones before it.
    let height = store.block_height()? + 1;
    let block = header(height);
    let mut pending = PendingState::new(&store);
    for index in 0..3 {
        let call = ContractCall {
            contract,
            input: counter_rust::calls::increment(),
            sender: ALICE,
            tx_hash: tx_hash(height, index),
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
            created_bytes_limit: None,
        };
        // `invoke` commits a successful call's effects into the pending block state. An `Err`
        // that `is_backend()` is the store's failure, not the transaction's: stop (retry or
        // halt the node), never record the transaction as failed.
        let outcome = match vm.invoke(&call, &block, &mut pending) {
            Ok(outcome) => outcome,
            Err(error) if error.is_backend() => return Err(format!("store failed: {error}").into()),
            Err(rejected) => {
                println!("block {height} tx {index}: rejected: {rejected}");
                continue;
            }
        };
        let status = match &outcome.status {
            InvokeStatus::Success => "success".to_string(),
            InvokeStatus::Failed { code } => format!("failed with {code}"),
            InvokeStatus::Aborted(error) => format!("aborted: {error}"),
        };
        let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
        println!(
            "block {height} tx {index}: {status}, {} compute units, logs {logs:?}",
            outcome.compute_used
        );
    }
    let changes = pending.into_changes();
    store.commit_block(height, &changes)?;

    // Block 3: a batch through execute_block, calls on disjoint contracts in parallel.
    let height = store.block_height()? + 1;
    let transactions: Vec<Transaction> = (0..100)
        .map(|_| Transaction::Call {
            sender: ALICE,
            contract: contract.into(),
            input: counter_rust::calls::increment(),
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
        })
        .collect();
    let execution = execute_block(
        &vm,
        &header(height),
        &transactions,
        &store,
        &ReplayOptions::default(),
    )?;
    let ok = execution
        .transactions
        .iter()
        .filter(|tx| tx.status == TxStatus::Success)
        .count();
    store.commit_block(height, &execution.changes)?;
    println!(
        "block {height}: {ok}/{} calls succeeded, {} compute units, {:?}",
        execution.transactions.len(),
        execution.compute_used(),
        execution.elapsed
    );

    // Read-only simulations (e.g. RPC) from many threads at once, against the committed state:
    // the counter's `count` view, its answer decoded by the typed client.
    let simulate = ContractCall::new(contract, counter_rust::calls::count());
    let next = header(height + 1);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let (vm, store, call, block) = (&vm, &store, &simulate, &next);
            scope.spawn(move || {
                let outcome = vm.execute(call, block, store).expect("simulation");
                assert!(outcome.status.is_success());
                let answer = outcome.return_data.as_ref().expect("count returns data");
                let count = counter_rust::returns::count(&answer.data).expect("a u64");
                assert_eq!(count, 103);
            });
        }
    });

    // Metrics for the node's monitoring.
    let stats = vm.cache_stats();
    println!(
        "cache: {} hits, {} misses, hit rate {:.1}%, {} executables, {} of {} bytes, {} evictions",
        stats.hits,
        stats.misses,
        stats.hit_rate() * 100.0,
        stats.entries,
        stats.bytes,
        stats.budget,
        stats.evictions
    );

    // History: the state as of any unpruned height.
    for at in 1..=height {
        let count = store
            .read_storage_at(&contract, b"count", at)?
            .map(hex::encode);
        println!("height {at}: count = {count:?}");
    }
    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
