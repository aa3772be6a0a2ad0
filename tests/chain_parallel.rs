//! Parallel block execution within one contract: transfers of one token between disjoint
//! accounts run in parallel without a single re-execution; conflicting transfers, deposits
//! and asset balances give exactly the sequential result (deterministic cases and a property
//! test). Conflicts are found by the keys and balances each call read and wrote, not by
//! contract (see `src/block/schedule.rs`).

mod chain_common;
#[path = "../benches/common/token.rs"]
#[allow(dead_code)]
mod token;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    OnceLock,
};

use chain_common::*;
use proptest::prelude::*;
use tos_test_harness::probe::Script;
use tos_vm::{
    execute_block, replay::execute_block_speculatively, replay::Transaction, replay_block, Block,
    BlockContext, ChangeSet, Engine, Hash, MemoryStorage, ReplayOptions, StorageProvider, TxStatus,
    Vm, VmConfig, NATIVE_ASSET,
};

/// Token units each account holds at the start.
const START: u64 = 100;
/// Accounts of the token (and senders of the deposit calls).
const ACCOUNTS: usize = 6;

fn account(i: usize) -> Hash {
    Hash([0x30 + i as u8; 32])
}

fn jit() -> Vm {
    Vm::new(VmConfig {
        engine: Engine::Jit,
        compute_budget: 200_000,
    })
}

/// A store with the test universe (two probes), the token (initialized by its constructor)
/// and `START` tokens for every account, plus native and `TOKEN` funds for them.
struct Fixture {
    store: MemoryStorage,
    token: Hash,
    probes: Vec<Hash>,
    context: BlockContext,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let universe = Universe::new(2);
        let vm = jit();
        let mut store = MemoryStorage::default();
        let mut genesis = universe.genesis();
        for i in 0..ACCOUNTS {
            genesis.set_balance(account(i), NATIVE_ASSET, FUNDS);
            genesis.set_balance(account(i), TOKEN, FUNDS);
        }
        store.commit(&genesis).unwrap();
        // The universe's deploy block at its height (its addresses depend on it), then the
        // token's.
        let elf = tos_test_harness::fixtures::example_elf("token");
        let token_block = Block {
            timestamp: 1_700_000_100,
            transactions: vec![Transaction::Deploy {
                sender: Hash(token::OWNER),
                payload: tos_vm::DeployContractPayload::with_constructor(
                    elf,
                    token::init("Parallel", "PAR", 0, 1_000_000),
                ),
            }],
        };
        let mut token = Hash::default();
        for block in [universe.deploy_block(), token_block] {
            let report = replay_block(&vm, &block, &mut store, &ReplayOptions::sequential())
                .expect("deploy block");
            for tx in &report.execution.transactions {
                assert!(
                    tx.status.is_success(),
                    "deploy {}: {:?}",
                    tx.index,
                    tx.status
                );
                token = tx.contract;
            }
        }
        let mut balances = ChangeSet::default();
        for i in 0..ACCOUNTS {
            let (key, value) = token::balance_entry(&account(i).0, START);
            balances.set_storage(token, key, Some(value));
        }
        let height = store.block_height() + 1;
        store.commit_block(height, &balances).unwrap();
        Fixture {
            context: Block::default().context(height + 1),
            store,
            token,
            probes: universe.probe_ids(),
        }
    })
}

fn transfer(token: Hash, from: Hash, to: Hash, amount: u64) -> Transaction {
    Transaction::Call {
        sender: from,
        contract: token.into(),
        input: token::transfer(&to.0, amount),
        deposits: Default::default(),
        compute_limit: None,
    }
}

/// Executes `calls` sequentially and on `threads` workers; both must agree exactly.
fn both(calls: &[Transaction], threads: usize) -> tos_vm::BlockExecution {
    let f = fixture();
    let vm = jit();
    let sequential = execute_block(
        &vm,
        &f.context,
        calls,
        &f.store,
        &ReplayOptions::sequential(),
    )
    .unwrap();
    let options = ReplayOptions {
        threads,
        min_parallel_calls: 2,
    };
    let parallel = execute_block(&vm, &f.context, calls, &f.store, &options).unwrap();
    assert!(parallel.same_as(&sequential), "stats {:?}", parallel.stats);
    assert_eq!(sequential.stats.parallel_segments, 0);
    // The parallel path on one worker (each run validated as soon as it ends) and on
    // `threads`, however short the segment.
    // Each worker's share goes through the probe at most once per segment, once for the
    // transaction hashes and once for sorting the block's change set (after parallel
    // segments), on its own worker number; the calling thread's (worker 0) every time.
    for workers in [1, threads] {
        let shares: Vec<AtomicUsize> = (0..workers).map(|_| AtomicUsize::new(0)).collect();
        let probe = |worker: usize, share: &mut dyn FnMut()| {
            shares[worker].fetch_add(1, Ordering::Relaxed);
            share();
        };
        let speculative =
            execute_block_speculatively(&vm, &f.context, calls, &f.store, workers, Some(&probe))
                .unwrap();
        let segments = speculative.stats.parallel_segments;
        let pieces = segments + 1 + usize::from(segments > 0);
        assert_eq!(shares[0].load(Ordering::Relaxed), pieces);
        for (worker, count) in shares.iter().enumerate() {
            assert!(count.load(Ordering::Relaxed) <= pieces, "worker {worker}");
        }
        assert!(
            speculative.same_as(&sequential),
            "{workers} workers: {:?}",
            speculative.stats
        );
        assert_eq!(speculative.stats.parallel_calls, calls.len());
    }
    parallel
}

#[test]
fn disjoint_transfers_within_one_token_all_run_in_parallel() {
    let f = fixture();
    // Account i pays its own fresh recipient: every call of the one token touches two balances
    // no other call touches.
    let recipients: Vec<Hash> = (0..ACCOUNTS).map(|i| Hash([0xB0 + i as u8; 32])).collect();
    let calls: Vec<Transaction> = (0..ACCOUNTS)
        .map(|i| transfer(f.token, account(i), recipients[i], 7))
        .collect();
    let parallel = both(&calls, 3);
    assert!(parallel
        .transactions
        .iter()
        .all(|tx| tx.status.is_success()));
    assert_eq!(parallel.stats.parallel_segments, 1);
    assert_eq!(parallel.stats.parallel_calls, ACCOUNTS);
    assert_eq!(
        parallel.stats.reexecuted, 0,
        "calls of one token on disjoint accounts do not conflict: {:?}",
        parallel.stats
    );
    assert_eq!(parallel.changes.storage.len(), 2 * ACCOUNTS);

    // The same accounts paying again: each call of the second round reads a balance the
    // first round wrote; it runs again only if it read before that write was published, so
    // the first round never runs twice.
    let twice: Vec<Transaction> = calls.iter().chain(&calls).cloned().collect();
    let parallel = both(&twice, 3);
    assert!(
        parallel.stats.reexecuted <= ACCOUNTS,
        "{:?}",
        parallel.stats
    );
    let (key, _) = token::balance_entry(&account(0).0, 0);
    assert_eq!(
        parallel.changes.storage[&(f.token, key)],
        Some((START - 14).to_le_bytes().to_vec())
    );
}

#[test]
fn conflicting_transfers_within_one_token_give_the_sequential_result() {
    let f = fixture();
    // A chain: 0 pays 1 everything, then 1 pays 2 more than it held at the start (only
    // possible after the first transfer), then 2 pays 3 the lot, and 0 overdraws.
    let calls = vec![
        transfer(f.token, account(0), account(1), START),
        transfer(f.token, account(1), account(2), START + 50),
        transfer(f.token, account(2), account(3), 2 * START + 50),
        transfer(f.token, account(0), account(4), 1),
        transfer(f.token, account(5), account(5), 3),
    ];
    let parallel = both(&calls, 2);
    let statuses: Vec<bool> = parallel
        .transactions
        .iter()
        .map(|tx| tx.status.is_success())
        .collect();
    assert_eq!(statuses, [true, true, true, false, true]);
    assert!(matches!(
        parallel.transactions[3].status,
        TxStatus::Failed { .. }
    ));
    // Only calls 1, 2 and 3 read balances written before them.
    assert!(parallel.stats.reexecuted <= 3, "{:?}", parallel.stats);
    let (key, _) = token::balance_entry(&account(3).0, 0);
    assert_eq!(
        parallel.changes.storage[&(f.token, key)],
        Some((3 * START + 50).to_le_bytes().to_vec())
    );
}

#[test]
fn deposits_into_one_contract_and_asset_balances_give_the_sequential_result() {
    let f = fixture();
    let probe = f.probes[0];
    let mut calls = Vec::new();
    for i in 0..ACCOUNTS {
        // A deposit of both assets, then the probe reads its TOKEN balance (which every
        // deposit before it changed) and pays part of it on to the next account, whose
        // deposit then reads the balance that payment wrote.
        let script = token_balance_of(Script::new(), probe);
        let script = transfer_token(script, account((i + 1) % ACCOUNTS), 3);
        calls.push(Transaction::Call {
            sender: account(i),
            contract: probe.into(),
            input: script.build(0),
            deposits: deposits(10 + i as u64, 20 + i as u64),
            compute_limit: None,
        });
    }
    // One deposit that is not covered: aborted, no effects, the next calls unaffected.
    calls.insert(
        2,
        Transaction::Call {
            sender: account(1),
            contract: probe.into(),
            input: Script::new().build(0),
            deposits: deposits(0, FUNDS * 100),
            compute_limit: None,
        },
    );
    let parallel = both(&calls, 4);
    assert!(
        matches!(parallel.transactions[2].status, TxStatus::Aborted { .. }),
        "{:?}",
        parallel.transactions[2].status
    );
    assert_eq!(
        parallel.successes(),
        calls.len() - 1,
        "{:?}",
        parallel.transactions
    );
}

/// One generated call of the property test.
#[derive(Debug, Clone)]
enum Gen {
    /// Token transfer from account `from` to account `to`.
    Transfer { from: usize, to: usize, amount: u64 },
    /// Token balance query (a read of one balance).
    BalanceOf { sender: usize, owner: usize },
    /// A call of a probe with deposits; the probe reads an account's `TOKEN` balance and may
    /// pay an account in `TOKEN`.
    Deposit {
        sender: usize,
        probe: usize,
        native: u64,
        asset: u64,
        read: usize,
        pay: Option<(usize, u64)>,
    },
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 1..40u64, 1 => Just(START), 1 => Just(START * 10)]
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    prop_oneof![
        4 => (0..ACCOUNTS, 0..ACCOUNTS, amount())
            .prop_map(|(from, to, amount)| Gen::Transfer { from, to, amount }),
        1 => (0..ACCOUNTS, 0..ACCOUNTS).prop_map(|(sender, owner)| Gen::BalanceOf { sender, owner }),
        2 => (
            0..ACCOUNTS,
            0..2usize,
            prop_oneof![Just(0u64), 1..30u64],
            prop_oneof![3 => Just(0u64), 2 => 1..30u64, 1 => Just(FUNDS * 10)],
            0..ACCOUNTS,
            proptest::option::of((0..ACCOUNTS, prop_oneof![1..20u64, Just(FUNDS * 10)])),
        )
            .prop_map(|(sender, probe, native, asset, read, pay)| Gen::Deposit {
                sender,
                probe,
                native,
                asset,
                read,
                pay,
            }),
    ]
}

fn to_transaction(f: &Fixture, gen: &Gen) -> Transaction {
    match *gen {
        Gen::Transfer { from, to, amount } => transfer(f.token, account(from), account(to), amount),
        Gen::BalanceOf { sender, owner } => Transaction::Call {
            sender: account(sender),
            contract: f.token.into(),
            input: token::balance_of(&account(owner).0),
            deposits: Default::default(),
            compute_limit: None,
        },
        Gen::Deposit {
            sender,
            probe,
            native,
            asset,
            read,
            pay,
        } => {
            let mut script = token_balance_of(Script::new(), account(read));
            if let Some((to, amount)) = pay {
                script = transfer_token(script, account(to), amount);
            }
            Transaction::Call {
                sender: account(sender),
                contract: f.probes[probe].into(),
                input: script.build(0),
                deposits: deposits(native, asset),
                compute_limit: None,
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random blocks of token transfers among a few accounts (overdrafts, self-transfers,
    /// chains), balance queries and deposits into probes that read and pay asset balances:
    /// parallel execution equals sequential execution, outcome by outcome.
    #[test]
    fn parallel_execution_within_one_token_equals_sequential(
        gens in prop::collection::vec(gen_strategy(), 2..40),
        threads in 2..5usize,
    ) {
        let f = fixture();
        let calls: Vec<Transaction> = gens.iter().map(|g| to_transaction(f, g)).collect();
        both(&calls, threads);
    }
}
