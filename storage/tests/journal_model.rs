//! Model-based tests of the Journal: random sequences of operations must agree with a plain
//! BTreeMap state plus a stack of snapshots, and transfers must conserve supply.

use proptest::prelude::*;
use std::collections::BTreeMap;
use tos_storage::{Checkpoint, Hash, Journal, MemoryStorage, StorageError, StorageProvider};

const CONTRACTS: u8 = 3;
const KEYS: u8 = 4;
const ACCOUNTS: u8 = 4;
const ASSETS: u8 = 2;

fn contract(i: u8) -> Hash {
    Hash([0xC0 | i; 32])
}
fn account(i: u8) -> Hash {
    Hash([0xA0 | i; 32])
}
fn asset(i: u8) -> Hash {
    Hash([i; 32]) // asset 0 is NATIVE_ASSET
}
fn key(i: u8) -> Vec<u8> {
    vec![b'k', i]
}

#[derive(Debug, Clone)]
enum Op {
    Write(u8, u8, Vec<u8>),
    Delete(u8, u8),
    Transfer(u8, u8, u8, u64),
    Credit(u8, u8, u64),
    Checkpoint,
    /// Revert to the open checkpoint at index `n % open`.
    Revert(usize),
    /// Commit the innermost open checkpoint.
    Commit,
    /// Commit an open checkpoint that is not the innermost: must be refused.
    CommitOuter(usize),
    /// Use a closed checkpoint: must be refused.
    UseStale(usize, bool),
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 1u64..60,
        1 => Just(0u64),
        1 => (0u64..3).prop_map(|d| u64::MAX - d),
        1 => any::<u64>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..CONTRACTS, 0..KEYS, proptest::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(c, k, v)| Op::Write(c, k, v)),
        2 => (0..CONTRACTS, 0..KEYS).prop_map(|(c, k)| Op::Delete(c, k)),
        5 => (0..ACCOUNTS, 0..ACCOUNTS, 0..ASSETS, amount())
            .prop_map(|(f, t, a, n)| Op::Transfer(f, t, a, n)),
        2 => (0..ACCOUNTS, 0..ASSETS, amount()).prop_map(|(t, a, n)| Op::Credit(t, a, n)),
        3 => Just(Op::Checkpoint),
        2 => any::<usize>().prop_map(Op::Revert),
        2 => Just(Op::Commit),
        1 => any::<usize>().prop_map(Op::CommitOuter),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, r)| Op::UseStale(i, r)),
    ]
}

fn transfer_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..ACCOUNTS, 0..ACCOUNTS, 0..ASSETS, amount())
            .prop_map(|(f, t, a, n)| Op::Transfer(f, t, a, n)),
        2 => Just(Op::Checkpoint),
        2 => any::<usize>().prop_map(Op::Revert),
        2 => Just(Op::Commit),
    ]
}

/// The model: plain maps (absent = empty / 0) and the log length.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct State {
    storage: BTreeMap<(Hash, Vec<u8>), Vec<u8>>,
    balances: BTreeMap<(Hash, Hash), u64>,
    log_len: usize,
}

impl State {
    fn balance(&self, acc: Hash, asset: Hash) -> u64 {
        self.balances.get(&(acc, asset)).copied().unwrap_or(0)
    }
    fn set_balance(&mut self, acc: Hash, asset: Hash, amount: u64) {
        if amount == 0 {
            self.balances.remove(&(acc, asset));
        } else {
            self.balances.insert((acc, asset), amount);
        }
    }
    fn to_memory(&self) -> MemoryStorage {
        let mut m = MemoryStorage::new();
        for ((c, k), v) in &self.storage {
            m.set_storage(*c, k, Some(v));
        }
        for (&(acc, asset), &amount) in &self.balances {
            m.set_balance(acc, asset, amount);
        }
        m
    }
}

fn initial_state() -> impl Strategy<Value = State> {
    let storage = proptest::collection::btree_map(
        (0..CONTRACTS, 0..KEYS).prop_map(|(c, k)| (contract(c), key(k))),
        proptest::collection::vec(any::<u8>(), 0..4),
        0..6,
    );
    let balances = proptest::collection::btree_map(
        (0..ACCOUNTS, 0..ASSETS).prop_map(|(a, s)| (account(a), asset(s))),
        prop_oneof![1u64..100, (0u64..50).prop_map(|d| u64::MAX - d)],
        0..6,
    );
    (storage, balances).prop_map(|(storage, balances)| State {
        storage,
        balances,
        log_len: 0,
    })
}

/// Runs `ops` on a journal over `initial` and on the model, checking agreement after every step.
fn run(initial: &State, ops: &[Op]) -> Result<(), TestCaseError> {
    let provider = initial.to_memory();
    let pristine = provider.clone();
    let mut journal = Journal::new(&provider);
    let mut model = initial.clone();
    let mut snapshots: Vec<State> = Vec::new();
    let mut open: Vec<Checkpoint> = Vec::new();
    let mut closed: Vec<Checkpoint> = Vec::new();

    for op in ops {
        match op.clone() {
            Op::Write(c, k, v) => {
                journal.write_storage(&contract(c), &key(k), &v).unwrap();
                model.storage.insert((contract(c), key(k)), v);
                model.log_len += 1;
            }
            Op::Delete(c, k) => {
                let existed = journal.delete_storage(&contract(c), &key(k)).unwrap();
                let expected = model.storage.remove(&(contract(c), key(k))).is_some();
                prop_assert_eq!(existed, expected);
                if existed {
                    model.log_len += 1;
                }
            }
            Op::Transfer(f, t, a, n) => {
                let (from, to, asset) = (account(f), account(t), asset(a));
                let result = journal.transfer(&from, &to, &asset, n);
                let fb = model.balance(from, asset);
                let tb = model.balance(to, asset);
                if n == 0 {
                    prop_assert!(matches!(result, Err(StorageError::ZeroAmount)));
                } else if fb < n {
                    prop_assert!(
                        matches!(result, Err(StorageError::InsufficientBalance { account, balance, needed, .. })
                            if account == from && balance == fb && needed == n),
                        "{:?}",
                        result
                    );
                } else if from == to {
                    prop_assert!(result.is_ok());
                    model.log_len += 1;
                } else if tb.checked_add(n).is_none() {
                    prop_assert!(
                        matches!(result, Err(StorageError::BalanceOverflow { account, .. }) if account == to),
                        "{:?}",
                        result
                    );
                } else {
                    prop_assert!(result.is_ok(), "{:?}", result);
                    model.set_balance(from, asset, fb - n);
                    model.set_balance(to, asset, tb + n);
                    model.log_len += 3;
                }
            }
            Op::Credit(t, a, n) => {
                let (to, asset) = (account(t), asset(a));
                let result = journal.credit(&to, &asset, n);
                let tb = model.balance(to, asset);
                if n == 0 {
                    prop_assert!(matches!(result, Err(StorageError::ZeroAmount)));
                } else if let Some(new) = tb.checked_add(n) {
                    prop_assert!(result.is_ok());
                    model.set_balance(to, asset, new);
                    model.log_len += 1;
                } else {
                    prop_assert!(
                        matches!(result, Err(StorageError::BalanceOverflow { .. })),
                        "{:?}",
                        result
                    );
                }
            }
            Op::Checkpoint => {
                let cp = journal.checkpoint();
                prop_assert_eq!(cp.depth(), open.len());
                open.push(cp);
                snapshots.push(model.clone());
            }
            Op::Revert(n) => {
                if open.is_empty() {
                    continue;
                }
                let idx = n % open.len();
                journal.revert_to(open[idx]).unwrap();
                model = snapshots[idx].clone();
                closed.extend(open.drain(idx..));
                snapshots.truncate(idx);
            }
            Op::Commit => {
                if let Some(cp) = open.pop() {
                    journal.commit_checkpoint(cp).unwrap();
                    snapshots.pop();
                    closed.push(cp);
                }
            }
            Op::CommitOuter(n) => {
                if open.len() >= 2 {
                    let idx = n % (open.len() - 1);
                    let result = journal.commit_checkpoint(open[idx]);
                    prop_assert!(
                        matches!(result, Err(StorageError::InvalidCheckpoint { .. })),
                        "{:?}",
                        result
                    );
                }
            }
            Op::UseStale(n, revert) => {
                if closed.is_empty() {
                    continue;
                }
                let cp = closed[n % closed.len()];
                let result = if revert {
                    journal.revert_to(cp)
                } else {
                    journal.commit_checkpoint(cp)
                };
                prop_assert!(
                    matches!(result, Err(StorageError::InvalidCheckpoint { .. })),
                    "{:?}",
                    result
                );
            }
        }

        // After every step the journal reads exactly the model.
        prop_assert_eq!(journal.depth(), open.len());
        prop_assert_eq!(journal.entries().len(), model.log_len);
        for c in 0..CONTRACTS {
            for k in 0..KEYS {
                prop_assert_eq!(
                    journal.read_storage(&contract(c), &key(k)).unwrap(),
                    model.storage.get(&(contract(c), key(k))).cloned()
                );
            }
        }
        for a in 0..ACCOUNTS {
            for s in 0..ASSETS {
                prop_assert_eq!(
                    journal.balance(&account(a), &asset(s)).unwrap(),
                    model.balance(account(a), asset(s))
                );
            }
        }
    }

    // The change set holds final values only, and applying it gives the model's state.
    let changes = journal.into_change_set();
    for ((c, k), v) in &changes.storage {
        prop_assert_ne!(
            pristine.read_storage(c, k).unwrap(),
            v.clone(),
            "no-op storage change"
        );
    }
    for ((acc, asset), amount) in &changes.balances {
        prop_assert_ne!(
            pristine.read_balance(acc, asset).unwrap(),
            *amount,
            "no-op balance change"
        );
    }
    prop_assert!(changes.code.is_empty());
    // The journal never wrote to its provider.
    prop_assert_eq!(&provider, &pristine);
    let mut committed = provider.clone();
    committed.commit(&changes).unwrap();
    prop_assert_eq!(committed, model.to_memory());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn journal_agrees_with_model(
        initial in initial_state(),
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        run(&initial, &ops)?;
    }

    /// Transfers (with nested checkpoints, reverts and commits) conserve each asset's supply,
    /// both in the journal's view and in the committed state.
    #[test]
    fn transfers_conserve_supply(
        initial in initial_state(),
        ops in proptest::collection::vec(transfer_op(), 0..60),
    ) {
        let provider = initial.to_memory();
        let supply = |read: &mut dyn FnMut(Hash, Hash) -> u64, s: u8| -> u128 {
            (0..ACCOUNTS).map(|a| u128::from(read(account(a), asset(s)))).sum()
        };
        let before: Vec<u128> = (0..ASSETS).map(|s| provider.total_supply(&asset(s))).collect();
        let mut journal = Journal::new(&provider);
        let mut open = Vec::new();
        for op in &ops {
            match op {
                Op::Transfer(f, t, a, n) => {
                    let _ = journal.transfer(&account(*f), &account(*t), &asset(*a), *n);
                }
                Op::Checkpoint => open.push(journal.checkpoint()),
                Op::Revert(n) if !open.is_empty() => {
                    let idx = n % open.len();
                    journal.revert_to(open[idx]).unwrap();
                    open.truncate(idx);
                }
                Op::Commit => {
                    if let Some(cp) = open.pop() {
                        journal.commit_checkpoint(cp).unwrap();
                    }
                }
                _ => {}
            }
            for s in 0..ASSETS {
                let mut read = |acc: Hash, asset: Hash| journal.balance(&acc, &asset).unwrap();
                prop_assert_eq!(supply(&mut read, s), before[s as usize]);
            }
        }
        let changes = journal.into_change_set();
        let mut committed = provider.clone();
        committed.commit(&changes).unwrap();
        for s in 0..ASSETS {
            prop_assert_eq!(committed.total_supply(&asset(s)), before[s as usize]);
        }
    }
}
