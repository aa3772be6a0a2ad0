//! Blocks through the chain API: contracts deployed through payloads, a thousand mixed calls
//! replayed with a cold and a warm executable cache (identical state roots), parallel against
//! sequential execution (a property test, conflicting blocks included), and `tos-vm replay`.

mod chain_common;

use chain_common::*;
use proptest::prelude::*;
use tos_vm::{
    execute_block, replay::Transaction, replay_block, Block, DiskStorage, Engine, Hash,
    MemoryStorage, ReplayOptions, StateListing, StorageProvider, TxStatus, Vm, VmConfig,
};

/// Compute budget of the tests' calls: enough for every generated call, small enough that
/// the calls that spin until it runs out stay cheap in debug builds.
const BUDGET: u64 = 100_000;

fn new_vm(engine: Engine) -> Vm {
    Vm::new(VmConfig {
        engine,
        compute_budget: BUDGET,
    })
}

fn jit() -> Vm {
    new_vm(Engine::Jit)
}

/// A disk store holding the genesis balances (height 0) and the deploy block (height 1).
fn deployed_disk_store(universe: &Universe, vm: &Vm) -> (tempfile::TempDir, DiskStorage) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = DiskStorage::open(dir.path()).unwrap();
    store.commit(&universe.genesis()).unwrap();
    let report = replay_block(
        vm,
        &universe.deploy_block(),
        &mut store,
        &ReplayOptions::default(),
    )
    .unwrap();
    assert_eq!(report.height, 1);
    for tx in &report.execution.transactions {
        assert_eq!(
            tx.status,
            TxStatus::Success,
            "deploy {}: {:?}",
            tx.index,
            tx.status
        );
    }
    (dir, store)
}

#[test]
fn a_thousand_mixed_calls_give_the_same_state_with_a_cold_and_a_warm_cache() {
    let universe = Universe::new(4);
    let block = mixed_block(&universe, 1000, 42);
    assert_eq!(block.transactions.len(), 1001);

    // Cold: the deploy block ran on another VM; this one has never seen the contracts.
    let (_cold_dir, mut cold_store) = deployed_disk_store(&universe, &jit());
    let vm = jit();
    let cold = replay_block(&vm, &block, &mut cold_store, &ReplayOptions::default()).unwrap();
    let after_cold = vm.cache_stats();
    assert_eq!(after_cold.misses, universe.contracts().len() as u64);
    assert_eq!(after_cold.load_failures, 0);

    // Warm: the same VM, whose cache holds every contract, on a second store.
    let (_warm_dir, mut warm_store) = deployed_disk_store(&universe, &jit());
    let warm = replay_block(&vm, &block, &mut warm_store, &ReplayOptions::default()).unwrap();
    let during_warm = vm.cache_stats().since(&after_cold);
    assert_eq!(during_warm.misses, 0, "a warm cache loads nothing");
    assert!(during_warm.hits >= 990, "{during_warm:?}");

    assert_eq!(cold.height, 2);
    assert_eq!(warm.height, 2);
    assert!(cold.execution.same_as(&warm.execution));
    let root = cold_store.state_root().unwrap();
    assert_eq!(root, warm_store.state_root().unwrap());
    assert_eq!(
        cold_store.state_dump().unwrap(),
        warm_store.state_dump().unwrap()
    );

    // The block is really mixed, and its first half really ran in parallel.
    let execution = &cold.execution;
    let count = |f: fn(&TxStatus) -> bool| {
        execution
            .transactions
            .iter()
            .filter(|t| f(&t.status))
            .count()
    };
    assert!(count(|s| matches!(s, TxStatus::Success)) > 700);
    assert!(count(|s| matches!(s, TxStatus::Failed { .. })) > 5);
    assert!(count(|s| matches!(s, TxStatus::Aborted { .. })) > 5);
    assert!(count(|s| matches!(s, TxStatus::Rejected { .. })) > 0);
    assert!(execution
        .transactions
        .iter()
        .any(|t| !t.deposits.is_empty() && t.status.is_success()));
    // Deposits in a second asset, landed and refused, are in the mix.
    assert!(execution
        .transactions
        .iter()
        .any(|t| t.deposits.contains_key(&TOKEN) && t.status.is_success()));
    assert!(execution
        .transactions
        .iter()
        .any(|t| t.deposits.contains_key(&TOKEN) && matches!(t.status, TxStatus::Aborted { .. })));
    assert!(execution.compute_used() > 0);
    if execution.stats.threads > 1 {
        assert!(
            execution.stats.parallel_segments >= 1,
            "{:?}",
            execution.stats
        );
    }

    // Sequential execution from the same state gives the same block.
    let (_seq_dir, mut sequential_store) = deployed_disk_store(&universe, &jit());
    let sequential = replay_block(
        &jit(),
        &block,
        &mut sequential_store,
        &ReplayOptions::sequential(),
    )
    .unwrap();
    assert!(sequential.execution.same_as(execution));
    assert_eq!(sequential.execution.stats.parallel_segments, 0);
    assert_eq!(sequential_store.state_root().unwrap(), root);

    // And 4 threads, whatever the machine has.
    let (_four_dir, mut four_store) = deployed_disk_store(&universe, &jit());
    let four = replay_block(&jit(), &block, &mut four_store, &ReplayOptions::parallel(4)).unwrap();
    assert!(four.execution.same_as(execution));
    assert!(
        four.execution.stats.parallel_segments >= 1,
        "{:?}",
        four.execution.stats
    );
    assert_eq!(four_store.state_root().unwrap(), root);

    // And so does the interpreter.
    let (_interp_dir, mut interp_store) = deployed_disk_store(&universe, &jit());
    let interpreter = new_vm(Engine::Interpreter);
    let interpreted = replay_block(
        &interpreter,
        &block,
        &mut interp_store,
        &ReplayOptions::default(),
    )
    .unwrap();
    assert!(interpreted.execution.same_as(execution));
    assert_eq!(interp_store.state_root().unwrap(), root);
}

#[test]
fn conflict_free_segments_run_in_parallel_and_conflicting_ones_still_match() {
    let universe = Universe::new(4);
    let vm = jit();
    let mut base = MemoryStorage::default();
    base.commit(&universe.genesis()).unwrap();
    replay_block(
        &vm,
        &universe.deploy_block(),
        &mut base,
        &ReplayOptions::default(),
    )
    .unwrap();
    let context = Block::default().context(base.block_height() + 1);
    let parallel = ReplayOptions {
        threads: 4,
        min_parallel_calls: 2,
    };

    let disjoint = mixed_calls(&universe, 200, 7, true);
    let sequential = execute_block(
        &vm,
        &context,
        &disjoint,
        &base,
        &ReplayOptions::sequential(),
    )
    .unwrap();
    let threaded = execute_block(&vm, &context, &disjoint, &base, &parallel).unwrap();
    assert!(threaded.same_as(&sequential));
    assert_eq!(threaded.stats.parallel_segments, 1);
    assert_eq!(threaded.stats.parallel_calls, disjoint.len());

    // Shared senders sending value to every contract: the calls after a sender's first
    // deposit read its balance, written before them.
    let conflicting = mixed_calls(&universe, 200, 8, false);
    assert!(conflicting
        .iter()
        .any(|tx| matches!(tx, Transaction::Call { deposits, .. } if !deposits.is_empty())));
    let sequential = execute_block(
        &vm,
        &context,
        &conflicting,
        &base,
        &ReplayOptions::sequential(),
    )
    .unwrap();
    let threaded = execute_block(&vm, &context, &conflicting, &base, &parallel).unwrap();
    assert!(threaded.same_as(&sequential));
    assert_eq!(threaded.stats.parallel_segments, 1, "{:?}", threaded.stats);

    // Without values, the conflicts (payments to shared accounts, cross-contract calls) only
    // show when the calls run: run again in order, same result.
    let unpaid: Vec<Transaction> = conflicting
        .into_iter()
        .map(|tx| match tx {
            Transaction::Call {
                sender,
                contract,
                input,
                ..
            } => Transaction::Call {
                sender,
                contract,
                input,
                deposits: tos_vm::native_deposit(0),
                compute_limit: None,
            },
            deploy => deploy,
        })
        .collect();
    let sequential =
        execute_block(&vm, &context, &unpaid, &base, &ReplayOptions::sequential()).unwrap();
    let threaded = execute_block(&vm, &context, &unpaid, &base, &parallel).unwrap();
    assert!(threaded.same_as(&sequential));
    assert_eq!(threaded.stats.parallel_calls, unpaid.len());
}

#[test]
fn a_call_that_read_what_an_earlier_call_wrote_runs_again() {
    let universe = Universe::new(3);
    let vm = jit();
    let mut base = MemoryStorage::default();
    base.commit(&universe.genesis()).unwrap();
    replay_block(
        &vm,
        &universe.deploy_block(),
        &mut base,
        &ReplayOptions::default(),
    )
    .unwrap();
    let probes = universe.probe_ids();
    let payer = universe.shared_senders()[0];
    // Probe 0 pays `payer`; probe 1 reads `payer`'s balance; probe 2 keeps to itself.
    let mut calls = Vec::new();
    for round in 0..4u8 {
        calls.push(Transaction::Call {
            sender: payer,
            contract: (probes[0]).into(),
            input: transfer(tos_test_harness::probe::Script::new(), payer, 5).build(0),
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
        });
        calls.push(Transaction::Call {
            sender: payer,
            contract: (probes[1]).into(),
            input: balance_of(tos_test_harness::probe::Script::new(), payer).build(0),
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
        });
        calls.push(Transaction::Call {
            sender: payer,
            contract: (probes[2]).into(),
            input: tos_test_harness::probe::Script::new()
                .storage_write(b"k", &[round])
                .build(0),
            deposits: tos_vm::native_deposit(0),
            compute_limit: None,
        });
    }
    let context = Block::default().context(2);
    let options = ReplayOptions {
        threads: 3,
        min_parallel_calls: 2,
    };
    let threaded = execute_block(&vm, &context, &calls, &base, &options).unwrap();
    let sequential =
        execute_block(&vm, &context, &calls, &base, &ReplayOptions::sequential()).unwrap();
    assert!(threaded.same_as(&sequential));
    // Probe 1 reads `payer`'s balance after probe 0 paid it (4 calls); probe 0 reads it again
    // to pay it again (3); probe 2 rewrites its own key (3). Those run twice when they read
    // before the earlier write was published; the first calls never do.
    assert_eq!(threaded.stats.parallel_calls, 12);
    assert!(threaded.stats.reexecuted <= 10, "{:?}", threaded.stats);
    // Probe 1 saw the payments of probe 0 that came before it in the block.
    let seen: Vec<String> = threaded
        .transactions
        .iter()
        .filter(|tx| tx.contract == probes[1])
        .map(|tx| tx.logs[0].message.clone())
        .collect();
    let expected: Vec<String> = (1..=4u64)
        .map(|n| format!("r={:016x}", FUNDS + 5 * n))
        .collect();
    assert_eq!(seen, expected);
}

/// One generated transaction of the property test.
#[derive(Debug, Clone)]
enum Op {
    Write(u8, u8),
    Read(u8),
    Delete(u8),
    Pay(usize, u64),
    PayToken(usize, u64),
    Balance(usize),
    TokenBalance(usize),
    Invoke(usize, u8),
    InvokeRead(usize, u8),
    Emit,
}

#[derive(Debug, Clone)]
enum Gen {
    Counter {
        sender: usize,
        value: u64,
        token: u64,
    },
    Hello {
        sender: usize,
        value: u64,
    },
    Probe {
        probe: usize,
        sender: usize,
        value: u64,
        token: u64,
        ops: Vec<Op>,
        status: u64,
    },
    Unknown {
        sender: usize,
    },
    Barrier,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3u8, any::<u8>()).prop_map(|(k, v)| Op::Write(k, v)),
        (0..3u8).prop_map(Op::Read),
        (0..3u8).prop_map(Op::Delete),
        (
            0..6usize,
            prop_oneof![Just(1u64), Just(40), Just(FUNDS * 100)]
        )
            .prop_map(|(a, n)| Op::Pay(a, n)),
        (
            0..6usize,
            prop_oneof![Just(1u64), Just(40), Just(FUNDS * 100)]
        )
            .prop_map(|(a, n)| Op::PayToken(a, n)),
        (0..6usize).prop_map(Op::Balance),
        (0..6usize).prop_map(Op::TokenBalance),
        (0..3usize, 0..3u8).prop_map(|(p, k)| Op::Invoke(p, k)),
        (0..3usize, 0..3u8).prop_map(|(p, k)| Op::InvokeRead(p, k)),
        Just(Op::Emit),
    ]
}

fn value_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![4 => Just(0u64), 1 => 1..50u64, 1 => Just(FUNDS * 100)]
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    prop_oneof![
        2 => (0..3usize, value_strategy(), value_strategy()).prop_map(|(sender, value, token)| Gen::Counter { sender, value, token }),
        1 => (0..3usize, value_strategy()).prop_map(|(sender, value)| Gen::Hello { sender, value }),
        6 => (0..3usize, 0..3usize, (value_strategy(), value_strategy()), prop::collection::vec(op_strategy(), 1..4), prop_oneof![8 => Just(0u64), 1 => Just(9u64)])
            .prop_map(|(probe, sender, (value, token), ops, status)| Gen::Probe { probe, sender, value, token, ops, status }),
        1 => (0..3usize).prop_map(|sender| Gen::Unknown { sender }),
        1 => Just(Gen::Barrier),
    ]
}

fn to_transactions(universe: &Universe, gens: &[Gen]) -> Vec<Transaction> {
    let senders = universe.shared_senders();
    let probes = universe.probe_ids();
    // Accounts a probe pays or reads: the senders, the counter, the probes themselves.
    let accounts = [
        senders[0],
        senders[1],
        senders[2],
        universe.counter_id(),
        probes[0],
        probes[1],
    ];
    gens.iter()
        .map(|gen| match gen {
            Gen::Counter {
                sender,
                value,
                token,
            } => Transaction::Call {
                sender: senders[*sender],
                contract: (universe.counter_id()).into(),
                input: Vec::new(),
                deposits: deposits(*value, *token),
                // Now and then a limit that stops the call: its deposits must not move.
                compute_limit: (*token == 1).then_some(10),
            },
            Gen::Hello { sender, value } => Transaction::Call {
                sender: senders[*sender],
                contract: (universe.hello_id()).into(),
                input: Vec::new(),
                deposits: tos_vm::native_deposit(*value),
                compute_limit: None,
            },
            Gen::Probe {
                probe,
                sender,
                value,
                token,
                ops,
                status,
            } => {
                let mut script = tos_test_harness::probe::Script::new();
                for op in ops {
                    script = match op {
                        Op::Write(k, v) => script.storage_write(&[b'k', *k], &[*v]),
                        Op::Read(k) => read(script, &[b'k', *k]),
                        Op::Delete(k) => script.storage_delete(&[b'k', *k]),
                        Op::Pay(a, n) => transfer(script, accounts[*a], *n),
                        Op::PayToken(a, n) => transfer_token(script, accounts[*a], *n),
                        Op::Balance(a) => balance_of(script, accounts[*a]),
                        Op::TokenBalance(a) => token_balance_of(script, accounts[*a]),
                        Op::Invoke(p, k) => invoke(
                            script,
                            probes[*p],
                            &tos_test_harness::probe::Script::new()
                                .storage_write(&[b'i', *k], b"x")
                                .build(0),
                            0,
                        ),
                        Op::InvokeRead(p, k) => invoke(
                            script,
                            probes[*p],
                            &read(tos_test_harness::probe::Script::new(), &[b'k', *k]).build(0),
                            0,
                        ),
                        Op::Emit => emit(script, b"t", b"d"),
                    };
                }
                Transaction::Call {
                    sender: senders[*sender],
                    contract: (probes[*probe]).into(),
                    input: script.build(*status),
                    deposits: deposits(*value, *token),
                    compute_limit: None,
                }
            }
            Gen::Unknown { sender } => Transaction::Call {
                sender: senders[*sender],
                contract: (Hash([0xEE; 32])).into(),
                input: Vec::new(),
                deposits: tos_vm::native_deposit(0),
                compute_limit: None,
            },
            Gen::Barrier => Transaction::Deploy {
                sender: senders[0],
                payload: tos_vm::DeployContractPayload::new(universe.hello.clone()),
            },
        })
        .collect()
}

struct Fixture {
    universe: Universe,
    vm: Vm,
    base: MemoryStorage,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let universe = Universe::new(3);
        let vm = jit();
        let mut base = MemoryStorage::default();
        base.commit(&universe.genesis()).unwrap();
        replay_block(
            &vm,
            &universe.deploy_block(),
            &mut base,
            &ReplayOptions::sequential(),
        )
        .unwrap();
        Fixture { universe, vm, base }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Parallel execution gives the same outcomes, block change set and state as executing
    /// the transactions one after the other.
    #[test]
    fn parallel_execution_equals_sequential(gens in prop::collection::vec(gen_strategy(), 1..40), threads in 2..5usize) {
        let Fixture { universe, vm, base } = fixture();
        let transactions = to_transactions(universe, &gens);
        let context = Block::default().context(base.block_height() + 1);
        let sequential = execute_block(vm, &context, &transactions, base, &ReplayOptions::sequential()).unwrap();
        let options = ReplayOptions { threads, min_parallel_calls: 2 };
        let parallel = execute_block(vm, &context, &transactions, base, &options).unwrap();
        prop_assert!(parallel.same_as(&sequential), "stats {:?}", parallel.stats);
        let (mut a, mut b) = (base.clone(), base.clone());
        a.commit_block(context.height, &sequential.changes).unwrap();
        b.commit_block(context.height, &parallel.changes).unwrap();
        prop_assert_eq!(a.state_root().unwrap(), b.state_root().unwrap());
    }
}

#[test]
fn a_hash_per_transaction_is_checked_not_assumed() {
    let universe = Universe::new(2);
    let vm = jit();
    let mut base = MemoryStorage::default();
    base.commit(&universe.genesis()).unwrap();
    let context = Block::default().context(1);
    let calls = mixed_calls(&universe, 3, 1, true);
    for given in [0, 2, 4] {
        let result = tos_vm::execute_block_with_hashes(
            &vm,
            &context,
            &calls,
            &vec![Hash([1; 32]); given],
            &base,
            &ReplayOptions::sequential(),
        );
        assert!(
            matches!(
                result,
                Err(tos_vm::VmError::TransactionHashCount { transactions: 3, hashes })
                    if hashes == given
            ),
            "{:?}",
            result.err()
        );
    }
}
