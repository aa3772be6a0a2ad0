//! [`Journal`]: the journaled overlay of one invoke.
//!
//! The journal holds only a shared reference to the [`StorageProvider`]; it has no way to write
//! to it. Every write, delete, credit and transfer of the running invoke lands in the overlay
//! and in an ordered log of [`JournalEntry`]s. Reads see the overlay first, then the provider
//! (each provider value is read once and cached). When the invoke succeeds, the caller turns
//! the journal into a [`ChangeSet`] with [`Journal::into_change_set`] and commits that; when it
//! fails, the caller drops the journal and the provider never saw anything.
//!
//! Nested call frames use checkpoints: [`Journal::checkpoint`] when a frame starts,
//! [`Journal::commit_checkpoint`] when it returns successfully (its changes now belong to the
//! caller's frame), [`Journal::revert_to`] when it fails (its changes, and only its, are undone).
//!
//! Rules (decided here, relied upon by the runtime):
//! * `transfer` and `credit` refuse an amount of 0 ([`StorageError::ZeroAmount`]).
//! * `transfer` from an account to itself is allowed: it checks the balance like any transfer,
//!   logs a [`JournalEntry::Transfer`] and changes no balance.
//! * A refused operation (insufficient balance, overflow, zero amount, or a provider error)
//!   changes nothing: no overlay value and no log entry.
//! * `delete_storage` of a missing key returns `false` and logs nothing; `write_storage` always
//!   logs, even when the value is unchanged.
//! * Reverted entries are removed from the log: [`Journal::entries`] is the effective history.

use crate::changes::ChangeSet;
use crate::error::StorageError;
use crate::types::{ContractInfo, Hash};
use crate::StorageProvider;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// One change made by the running invoke, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEntry {
    /// `key` of `contract` went from `old` to `new` (`None` = absent / deleted).
    StorageWrite {
        contract: Hash,
        key: Vec<u8>,
        old: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    },
    /// The balance of `account` in `asset` went from `old` to `new`.
    BalanceChange {
        account: Hash,
        asset: Hash,
        old: u64,
        new: u64,
    },
    /// A transfer. Logged *before* the two [`JournalEntry::BalanceChange`]s it causes (sender,
    /// then recipient); a transfer to oneself is logged with no balance change after it.
    Transfer {
        from: Hash,
        to: Hash,
        asset: Hash,
        amount: u64,
    },
    /// A contract instance was created at `address`, running `code_hash` (a factory's
    /// `tos_create_contract`).
    ContractCreated { address: Hash, code_hash: Hash },
}

/// A point in a journal's history to return to ([`Journal::revert_to`]) or to fold into the
/// enclosing frame ([`Journal::commit_checkpoint`]). Valid until one of those two is called on
/// it or on a checkpoint taken before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    journal: u64,
    serial: u64,
    depth: usize,
}

impl Checkpoint {
    /// Nesting depth: 0 for the outermost open checkpoint.
    pub fn depth(&self) -> usize {
        self.depth
    }
}

/// Distinguishes journals so that a checkpoint of one is refused by another.
static NEXT_JOURNAL_ID: AtomicU64 = AtomicU64::new(1);

/// An open checkpoint: its serial number and the log length when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    serial: u64,
    log_len: usize,
}

/// Storage values by contract, then key: a lookup borrows the key, so reading a value the
/// invoke has already seen allocates nothing. (`None`: absent / deleted.)
type StorageValues = BTreeMap<Hash, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// The value of `key` of `contract` in `values`, if it has an entry.
fn entry_of<'m>(
    values: &'m StorageValues,
    contract: &Hash,
    key: &[u8],
) -> Option<&'m Option<Vec<u8>>> {
    values.get(contract).and_then(|keys| keys.get(key))
}

/// The value of `key` of `contract` before the invoke: from `originals`, or read from
/// `provider` once and kept there.
fn original_storage<'m>(
    provider: &dyn StorageProvider,
    originals: &'m mut StorageValues,
    contract: &Hash,
    key: &[u8],
) -> Result<&'m Option<Vec<u8>>, StorageError> {
    let keys = originals.entry(*contract).or_default();
    if !keys.contains_key(key) {
        let value = provider.read_storage(contract, key)?;
        keys.insert(key.to_vec(), value);
    }
    Ok(keys.get(key).unwrap_or(&None))
}

/// The write overlay of one invoke over a read-only [`StorageProvider`]. See the module docs.
pub struct Journal<'a> {
    provider: &'a dyn StorageProvider,
    id: u64,
    next_serial: u64,
    /// Current value of every storage key this invoke wrote or deleted.
    storage: StorageValues,
    /// Current value of every balance this invoke changed.
    balances: BTreeMap<(Hash, Hash), u64>,
    /// Values as read from the provider (the state before the invoke).
    storage_cache: StorageValues,
    balance_cache: BTreeMap<(Hash, Hash), u64>,
    /// Contract instances this invoke created.
    contracts: BTreeMap<Hash, ContractInfo>,
    log: Vec<JournalEntry>,
    frames: Vec<Frame>,
}

impl std::fmt::Debug for Journal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("storage", &self.storage)
            .field("balances", &self.balances)
            .field("log", &self.log)
            .field("open_checkpoints", &self.frames.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Journal<'a> {
    /// An empty overlay over `provider`.
    pub fn new(provider: &'a dyn StorageProvider) -> Journal<'a> {
        Journal {
            provider,
            id: NEXT_JOURNAL_ID.fetch_add(1, Ordering::Relaxed),
            next_serial: 0,
            storage: BTreeMap::new(),
            balances: BTreeMap::new(),
            storage_cache: BTreeMap::new(),
            balance_cache: BTreeMap::new(),
            contracts: BTreeMap::new(),
            log: Vec::new(),
            frames: Vec::new(),
        }
    }

    /// The provider under the overlay (read-only), e.g. to read code.
    pub fn provider(&self) -> &'a dyn StorageProvider {
        self.provider
    }

    /// The value of `key` in `contract`'s storage as this invoke sees it.
    pub fn read_storage(
        &mut self,
        contract: &Hash,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.storage_value(contract, key)?.map(<[u8]>::to_vec))
    }

    /// [`read_storage`](Self::read_storage) without the copy: the value as this invoke sees
    /// it, borrowed from the overlay or from the provider value read once and cached.
    pub fn storage_value(
        &mut self,
        contract: &Hash,
        key: &[u8],
    ) -> Result<Option<&[u8]>, StorageError> {
        if let Some(value) = entry_of(&self.storage, contract, key) {
            return Ok(value.as_deref());
        }
        let original = original_storage(self.provider, &mut self.storage_cache, contract, key)?;
        Ok(original.as_deref())
    }

    /// The balance of `account` in `asset` as this invoke sees it.
    pub fn balance(&mut self, account: &Hash, asset: &Hash) -> Result<u64, StorageError> {
        let pair = (*account, *asset);
        if let Some(&amount) = self.balances.get(&pair) {
            return Ok(amount);
        }
        self.original_balance(pair)
    }

    /// Sets `key` of `contract` to `value`. Always logged, even if the value is unchanged.
    pub fn write_storage(
        &mut self,
        contract: &Hash,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StorageError> {
        self.write_storage_owned(contract, key, value.to_vec())
    }

    /// [`write_storage`](Self::write_storage) of a value the caller already owns (no copy).
    pub fn write_storage_owned(
        &mut self,
        contract: &Hash,
        key: &[u8],
        value: Vec<u8>,
    ) -> Result<(), StorageError> {
        // The first write of a key needs its original value (read once, kept for the change
        // set); later writes take the old value out of the overlay instead of copying it.
        let original = if entry_of(&self.storage, contract, key).is_some() {
            None
        } else {
            Some(original_storage(self.provider, &mut self.storage_cache, contract, key)?.clone())
        };
        let new = Some(value);
        let keys = self.storage.entry(*contract).or_default();
        let old = match keys.get_mut(key) {
            Some(current) => std::mem::replace(current, new.clone()),
            None => {
                keys.insert(key.to_vec(), new.clone());
                original.flatten()
            }
        };
        self.log.push(JournalEntry::StorageWrite {
            contract: *contract,
            key: key.to_vec(),
            old,
            new,
        });
        Ok(())
    }

    /// Deletes `key` of `contract`. Returns whether it existed; deleting a missing key changes
    /// and logs nothing.
    pub fn delete_storage(&mut self, contract: &Hash, key: &[u8]) -> Result<bool, StorageError> {
        let old = self.read_storage(contract, key)?;
        if old.is_none() {
            return Ok(false);
        }
        self.storage
            .entry(*contract)
            .or_default()
            .insert(key.to_vec(), None);
        self.log.push(JournalEntry::StorageWrite {
            contract: *contract,
            key: key.to_vec(),
            old,
            new: None,
        });
        Ok(true)
    }

    /// Adds `amount` of `asset` to `account` (minting: funding, rewards, tests).
    ///
    /// Refuses 0 ([`StorageError::ZeroAmount`]) and a result above `u64::MAX`
    /// ([`StorageError::BalanceOverflow`]); a refused credit changes nothing.
    pub fn credit(
        &mut self,
        account: &Hash,
        asset: &Hash,
        amount: u64,
    ) -> Result<(), StorageError> {
        if amount == 0 {
            return Err(StorageError::ZeroAmount);
        }
        let old = self.balance(account, asset)?;
        let new = old
            .checked_add(amount)
            .ok_or(StorageError::BalanceOverflow {
                account: *account,
                asset: *asset,
            })?;
        self.set_balance(*account, *asset, old, new);
        Ok(())
    }

    /// Moves `amount` of `asset` from `from` to `to`.
    ///
    /// Refused, changing nothing: an amount of 0 ([`StorageError::ZeroAmount`]), a sender
    /// holding less than `amount` ([`StorageError::InsufficientBalance`]), a recipient whose
    /// balance would pass `u64::MAX` ([`StorageError::BalanceOverflow`]). `from == to` is
    /// allowed (balance checked, `Transfer` logged, no balance change).
    pub fn transfer(
        &mut self,
        from: &Hash,
        to: &Hash,
        asset: &Hash,
        amount: u64,
    ) -> Result<(), StorageError> {
        if amount == 0 {
            return Err(StorageError::ZeroAmount);
        }
        let from_old = self.balance(from, asset)?;
        let from_new = from_old
            .checked_sub(amount)
            .ok_or(StorageError::InsufficientBalance {
                account: *from,
                asset: *asset,
                balance: from_old,
                needed: amount,
            })?;
        let entry = JournalEntry::Transfer {
            from: *from,
            to: *to,
            asset: *asset,
            amount,
        };
        if from == to {
            self.log.push(entry);
            return Ok(());
        }
        let to_old = self.balance(to, asset)?;
        let to_new = to_old
            .checked_add(amount)
            .ok_or(StorageError::BalanceOverflow {
                account: *to,
                asset: *asset,
            })?;
        self.log.push(entry);
        self.set_balance(*from, *asset, from_old, from_new);
        self.set_balance(*to, *asset, to_old, to_new);
        Ok(())
    }

    /// The contract instance at `address` as this invoke sees it (created by it, or stored).
    pub fn contract(&self, address: &Hash) -> Result<Option<ContractInfo>, StorageError> {
        if let Some(info) = self.contracts.get(address) {
            return Ok(Some(*info));
        }
        self.provider.read_contract(address)
    }

    /// Creates the instance `address` running `code_hash`. Refused, changing nothing, when an
    /// instance already lives there ([`StorageError::ContractExists`]). The caller checks that
    /// the code is deployed.
    pub fn create_contract(&mut self, address: Hash, code_hash: Hash) -> Result<(), StorageError> {
        if self.contract(&address)?.is_some() {
            return Err(StorageError::ContractExists(address));
        }
        self.contracts.insert(address, ContractInfo { code_hash });
        self.log
            .push(JournalEntry::ContractCreated { address, code_hash });
        Ok(())
    }

    /// Opens a checkpoint (one per call frame). Checkpoints nest.
    pub fn checkpoint(&mut self) -> Checkpoint {
        let serial = self.next_serial;
        self.next_serial += 1;
        let depth = self.frames.len();
        self.frames.push(Frame {
            serial,
            log_len: self.log.len(),
        });
        Checkpoint {
            journal: self.id,
            serial,
            depth,
        }
    }

    /// Undoes every change made since `checkpoint` was taken and closes it, together with any
    /// checkpoint taken after it that is still open (a failure unwinding several frames).
    ///
    /// Errors with [`StorageError::InvalidCheckpoint`] (changing nothing) if `checkpoint` is
    /// not open in this journal.
    pub fn revert_to(&mut self, checkpoint: Checkpoint) -> Result<(), StorageError> {
        let frame = self.open_frame(&checkpoint)?;
        while self.log.len() > frame.log_len {
            match self.log.pop() {
                Some(JournalEntry::StorageWrite {
                    contract, key, old, ..
                }) => {
                    self.storage.entry(contract).or_default().insert(key, old);
                }
                Some(JournalEntry::BalanceChange {
                    account,
                    asset,
                    old,
                    ..
                }) => {
                    self.balances.insert((account, asset), old);
                }
                Some(JournalEntry::ContractCreated { address, .. }) => {
                    self.contracts.remove(&address);
                }
                Some(JournalEntry::Transfer { .. }) | None => {}
            }
        }
        self.frames.truncate(checkpoint.depth);
        Ok(())
    }

    /// Closes `checkpoint`, keeping its changes: they now belong to the enclosing frame (and
    /// are undone if that frame is reverted).
    ///
    /// `checkpoint` must be the innermost open checkpoint; otherwise (or if it is not open in
    /// this journal) [`StorageError::InvalidCheckpoint`] is returned and nothing changes.
    pub fn commit_checkpoint(&mut self, checkpoint: Checkpoint) -> Result<(), StorageError> {
        self.open_frame(&checkpoint)?;
        if checkpoint.depth + 1 != self.frames.len() {
            return Err(StorageError::InvalidCheckpoint {
                reason: "a checkpoint taken after it is still open",
            });
        }
        self.frames.pop();
        Ok(())
    }

    /// Number of open checkpoints.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// The ordered log of the changes in effect (reverted ones are gone).
    pub fn entries(&self) -> &[JournalEntry] {
        &self.log
    }

    /// The final values of everything this invoke changed. Keys whose final value equals the
    /// provider's (written then reverted, or written back) are left out. Checkpoints still open
    /// are treated as committed.
    pub fn into_change_set(self) -> ChangeSet {
        self.into_parts().0
    }

    /// [`into_change_set`](Self::into_change_set) plus the log of [`entries`](Self::entries).
    pub fn into_parts(self) -> (ChangeSet, Vec<JournalEntry>) {
        let mut changes = ChangeSet::default();
        for (contract, keys) in self.storage {
            let originals = self.storage_cache.get(&contract);
            for (key, value) in keys {
                // Every overlay key was read (hence cached) before it was first written.
                if originals.and_then(|original| original.get(&key)) != Some(&value) {
                    changes.storage.insert((contract, key), value);
                }
            }
        }
        for (pair, amount) in self.balances {
            if self.balance_cache.get(&pair) != Some(&amount) {
                changes.balances.insert(pair, amount);
            }
        }
        changes.contracts = self.contracts;
        (changes, self.log)
    }

    fn set_balance(&mut self, account: Hash, asset: Hash, old: u64, new: u64) {
        self.balances.insert((account, asset), new);
        self.log.push(JournalEntry::BalanceChange {
            account,
            asset,
            old,
            new,
        });
    }

    fn open_frame(&self, checkpoint: &Checkpoint) -> Result<Frame, StorageError> {
        if checkpoint.journal != self.id {
            return Err(StorageError::InvalidCheckpoint {
                reason: "it belongs to another journal",
            });
        }
        match self.frames.get(checkpoint.depth) {
            Some(frame) if frame.serial == checkpoint.serial => Ok(*frame),
            _ => Err(StorageError::InvalidCheckpoint {
                reason: "it is already closed",
            }),
        }
    }

    fn original_balance(&mut self, pair: (Hash, Hash)) -> Result<u64, StorageError> {
        if let Some(&amount) = self.balance_cache.get(&pair) {
            return Ok(amount);
        }
        let amount = self.provider.read_balance(&pair.0, &pair.1)?;
        self.balance_cache.insert(pair, amount);
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStorage, NATIVE_ASSET};
    use std::cell::Cell;

    const C: Hash = Hash([1; 32]);
    const ALICE: Hash = Hash([2; 32]);
    const BOB: Hash = Hash([3; 32]);
    const TOKEN: Hash = Hash([4; 32]);

    /// Counts provider reads; optionally fails them all.
    #[derive(Default)]
    struct Counting {
        inner: MemoryStorage,
        storage_reads: Cell<usize>,
        balance_reads: Cell<usize>,
        fail: bool,
    }

    impl StorageProvider for Counting {
        fn read_storage(&self, c: &Hash, k: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            self.storage_reads.set(self.storage_reads.get() + 1);
            if self.fail {
                return Err(StorageError::corrupt("test failure"));
            }
            self.inner.read_storage(c, k)
        }
        fn read_balance(&self, a: &Hash, s: &Hash) -> Result<u64, StorageError> {
            self.balance_reads.set(self.balance_reads.get() + 1);
            if self.fail {
                return Err(StorageError::corrupt("test failure"));
            }
            self.inner.read_balance(a, s)
        }
        fn read_contract(&self, a: &Hash) -> Result<Option<crate::ContractInfo>, StorageError> {
            self.inner.read_contract(a)
        }
        fn read_code(&self, c: &Hash) -> Result<Option<Vec<u8>>, StorageError> {
            self.inner.read_code(c)
        }
        fn has_code(&self, c: &Hash) -> Result<bool, StorageError> {
            self.inner.has_code(c)
        }
        fn commit(&mut self, _: &ChangeSet) -> Result<(), StorageError> {
            unreachable!("a journal never commits")
        }
    }

    fn base() -> MemoryStorage {
        MemoryStorage::new()
            .with_storage(C, b"k", b"v0")
            .with_balance(ALICE, NATIVE_ASSET, 100)
    }

    #[test]
    fn reads_see_overlay_then_provider() {
        let store = base();
        let mut j = Journal::new(&store);
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"v0".to_vec()));
        assert_eq!(j.read_storage(&C, b"none").unwrap(), None);
        j.write_storage(&C, b"k", b"v1").unwrap();
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"v1".to_vec()));
        assert!(j.delete_storage(&C, b"k").unwrap());
        assert_eq!(j.read_storage(&C, b"k").unwrap(), None);
        // The provider is untouched.
        assert_eq!(store, base());
    }

    #[test]
    fn provider_values_are_read_once() {
        let p = Counting {
            inner: base(),
            ..Default::default()
        };
        let mut j = Journal::new(&p);
        for _ in 0..3 {
            j.read_storage(&C, b"k").unwrap();
            j.read_storage(&C, b"missing").unwrap();
            j.balance(&ALICE, &NATIVE_ASSET).unwrap();
        }
        j.write_storage(&C, b"k", b"x").unwrap();
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 1).unwrap();
        j.balance(&BOB, &NATIVE_ASSET).unwrap();
        assert_eq!(p.storage_reads.get(), 2);
        assert_eq!(p.balance_reads.get(), 2);
    }

    #[test]
    fn provider_errors_propagate_and_change_nothing() {
        let p = Counting {
            fail: true,
            ..Default::default()
        };
        let mut j = Journal::new(&p);
        assert!(j.write_storage(&C, b"k", b"v").unwrap_err().is_backend());
        assert!(j.delete_storage(&C, b"k").is_err());
        assert!(j.credit(&ALICE, &NATIVE_ASSET, 1).is_err());
        assert!(j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 1).is_err());
        assert!(j.entries().is_empty());
        assert!(j.into_change_set().is_empty());
    }

    #[test]
    fn delete_of_missing_key_is_not_logged() {
        let store = base();
        let mut j = Journal::new(&store);
        assert!(!j.delete_storage(&C, b"nope").unwrap());
        assert!(j.entries().is_empty());
        assert!(j.delete_storage(&C, b"k").unwrap());
        assert!(!j.delete_storage(&C, b"k").unwrap());
        assert_eq!(j.entries().len(), 1);
    }

    #[test]
    fn transfer_logs_and_moves() {
        let store = base();
        let mut j = Journal::new(&store);
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 30).unwrap();
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 70);
        assert_eq!(j.balance(&BOB, &NATIVE_ASSET).unwrap(), 30);
        assert_eq!(
            j.entries(),
            &[
                JournalEntry::Transfer {
                    from: ALICE,
                    to: BOB,
                    asset: NATIVE_ASSET,
                    amount: 30
                },
                JournalEntry::BalanceChange {
                    account: ALICE,
                    asset: NATIVE_ASSET,
                    old: 100,
                    new: 70
                },
                JournalEntry::BalanceChange {
                    account: BOB,
                    asset: NATIVE_ASSET,
                    old: 0,
                    new: 30
                },
            ]
        );
        let cs = j.into_change_set();
        assert_eq!(cs.balances.len(), 2);
        assert_eq!(cs.balances[&(ALICE, NATIVE_ASSET)], 70);
        assert_eq!(cs.balances[&(BOB, NATIVE_ASSET)], 30);
    }

    #[test]
    fn refused_transfers_change_nothing() {
        let store = base().with_balance(BOB, NATIVE_ASSET, u64::MAX - 5);
        let mut j = Journal::new(&store);
        assert!(matches!(
            j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 0),
            Err(StorageError::ZeroAmount)
        ));
        match j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 101) {
            Err(StorageError::InsufficientBalance {
                account,
                balance,
                needed,
                ..
            }) => {
                assert_eq!((account, balance, needed), (ALICE, 100, 101));
            }
            other => panic!("unexpected {other:?}"),
        }
        match j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 6) {
            Err(StorageError::BalanceOverflow { account, .. }) => assert_eq!(account, BOB),
            other => panic!("unexpected {other:?}"),
        }
        // Another asset: nobody holds it.
        assert!(matches!(
            j.transfer(&ALICE, &BOB, &TOKEN, 1),
            Err(StorageError::InsufficientBalance { balance: 0, .. })
        ));
        assert!(j.entries().is_empty());
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 100);
        assert!(j.into_change_set().is_empty());
        // Exactly reaching u64::MAX is fine.
        let mut j = Journal::new(&store);
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 5).unwrap();
        assert_eq!(j.balance(&BOB, &NATIVE_ASSET).unwrap(), u64::MAX);
    }

    #[test]
    fn self_transfer_is_checked_and_logged_but_moves_nothing() {
        let store = base();
        let mut j = Journal::new(&store);
        assert!(matches!(
            j.transfer(&ALICE, &ALICE, &NATIVE_ASSET, 101),
            Err(StorageError::InsufficientBalance { .. })
        ));
        j.transfer(&ALICE, &ALICE, &NATIVE_ASSET, 100).unwrap();
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 100);
        assert_eq!(j.entries().len(), 1);
        assert!(j.into_change_set().is_empty());
    }

    #[test]
    fn credit_checks_overflow_and_zero() {
        let store = base();
        let mut j = Journal::new(&store);
        j.credit(&BOB, &TOKEN, u64::MAX).unwrap();
        assert!(matches!(
            j.credit(&BOB, &TOKEN, 1),
            Err(StorageError::BalanceOverflow { .. })
        ));
        assert!(matches!(
            j.credit(&BOB, &TOKEN, 0),
            Err(StorageError::ZeroAmount)
        ));
        assert_eq!(j.balance(&BOB, &TOKEN).unwrap(), u64::MAX);
        assert_eq!(j.entries().len(), 1);
    }

    #[test]
    fn nested_checkpoints_revert_only_their_frame() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"top", b"1").unwrap();
        let outer = j.checkpoint();
        j.write_storage(&C, b"k", b"outer").unwrap();
        let inner = j.checkpoint();
        assert_eq!((outer.depth(), inner.depth(), j.depth()), (0, 1, 2));
        j.write_storage(&C, b"k", b"inner").unwrap();
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 10).unwrap();
        j.revert_to(inner).unwrap();
        assert_eq!(j.read_storage(&C, b"k").unwrap(), Some(b"outer".to_vec()));
        assert_eq!(j.balance(&ALICE, &NATIVE_ASSET).unwrap(), 100);
        assert_eq!(j.balance(&BOB, &NATIVE_ASSET).unwrap(), 0);
        assert_eq!(j.entries().len(), 2);
        // A second inner frame that succeeds joins the outer frame.
        let inner2 = j.checkpoint();
        j.credit(&BOB, &TOKEN, 7).unwrap();
        j.commit_checkpoint(inner2).unwrap();
        j.commit_checkpoint(outer).unwrap();
        assert_eq!(j.depth(), 0);
        let cs = j.into_change_set();
        let mut expected = ChangeSet::new();
        expected.set_storage(C, b"top".to_vec(), Some(b"1".to_vec()));
        expected.set_storage(C, b"k".to_vec(), Some(b"outer".to_vec()));
        expected.set_balance(BOB, TOKEN, 7);
        assert_eq!(cs, expected);
    }

    #[test]
    fn reverting_an_outer_checkpoint_closes_inner_ones() {
        let store = base();
        let mut j = Journal::new(&store);
        let outer = j.checkpoint();
        j.write_storage(&C, b"a", b"1").unwrap();
        let inner = j.checkpoint();
        j.credit(&ALICE, &TOKEN, 1).unwrap();
        j.revert_to(outer).unwrap();
        assert_eq!(j.depth(), 0);
        assert!(j.entries().is_empty());
        assert!(matches!(
            j.revert_to(inner),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert!(matches!(
            j.commit_checkpoint(outer),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert!(j.into_change_set().is_empty());
    }

    #[test]
    fn checkpoint_misuse_is_refused_without_effect() {
        let store = base();
        let mut j = Journal::new(&store);
        let outer = j.checkpoint();
        let inner = j.checkpoint();
        j.write_storage(&C, b"a", b"1").unwrap();
        // Outer cannot be committed while inner is open.
        assert!(matches!(
            j.commit_checkpoint(outer),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert_eq!(j.depth(), 2);
        // A checkpoint of another journal is refused.
        let mut other = Journal::new(&store);
        let foreign = other.checkpoint();
        assert!(matches!(
            j.revert_to(foreign),
            Err(StorageError::InvalidCheckpoint { .. })
        ));
        assert_eq!(j.entries().len(), 1);
        j.commit_checkpoint(inner).unwrap();
        // Committed once: stale now.
        assert!(j.commit_checkpoint(inner).is_err());
        // A fresh checkpoint at the same depth does not revive the stale one.
        let again = j.checkpoint();
        assert!(j.revert_to(inner).is_err());
        j.commit_checkpoint(again).unwrap();
        j.commit_checkpoint(outer).unwrap();
        assert_eq!(j.entries().len(), 1);
    }

    #[test]
    fn change_set_holds_final_values_only() {
        let store = base();
        let mut j = Journal::new(&store);
        j.write_storage(&C, b"k", b"temp").unwrap();
        j.write_storage(&C, b"k", b"v0").unwrap(); // written back to the original
        j.write_storage(&C, b"n", b"1").unwrap();
        j.write_storage(&C, b"n", b"2").unwrap();
        j.delete_storage(&C, b"n").unwrap();
        j.write_storage(&C, b"m", b"3").unwrap();
        j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 10).unwrap();
        j.transfer(&BOB, &ALICE, &NATIVE_ASSET, 10).unwrap();
        assert_eq!(j.entries().len(), 12);
        let (cs, log) = j.into_parts();
        assert_eq!(log.len(), 12);
        let mut expected = ChangeSet::new();
        expected.set_storage(C, b"m".to_vec(), Some(b"3".to_vec()));
        assert_eq!(cs, expected);
    }

    #[test]
    fn committing_the_change_set_reproduces_the_journal_view() {
        let mut store = base();
        let cs = {
            let mut j = Journal::new(&store);
            j.write_storage(&C, b"x", b"1").unwrap();
            j.delete_storage(&C, b"k").unwrap();
            j.transfer(&ALICE, &BOB, &NATIVE_ASSET, 100).unwrap();
            j.into_change_set()
        };
        store.commit(&cs).unwrap();
        let expected = MemoryStorage::new()
            .with_storage(C, b"x", b"1")
            .with_balance(BOB, NATIVE_ASSET, 100);
        assert_eq!(store, expected);
    }

    #[test]
    fn created_contracts_are_journaled_reverted_and_refused_twice() {
        let base = MemoryStorage::new().with_contract(ALICE, TOKEN);
        let mut j = Journal::new(&base);
        assert!(matches!(
            j.create_contract(ALICE, C),
            Err(StorageError::ContractExists(a)) if a == ALICE
        ));
        assert!(j.entries().is_empty());
        let cp = j.checkpoint();
        j.create_contract(BOB, C).unwrap();
        assert_eq!(
            j.contract(&BOB).unwrap(),
            Some(ContractInfo { code_hash: C })
        );
        assert!(matches!(
            j.create_contract(BOB, TOKEN),
            Err(StorageError::ContractExists(_))
        ));
        j.revert_to(cp).unwrap();
        assert_eq!(j.contract(&BOB).unwrap(), None);
        j.create_contract(BOB, TOKEN).unwrap();
        let (changes, log) = j.into_parts();
        assert_eq!(
            changes.contracts.get(&BOB),
            Some(&ContractInfo { code_hash: TOKEN })
        );
        assert_eq!(
            log,
            vec![JournalEntry::ContractCreated {
                address: BOB,
                code_hash: TOKEN
            }]
        );
    }
}
