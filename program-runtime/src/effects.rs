//! What a successful invoke changed, in a form people and the chain can read: the net effect
//! of a call's journal ([`CallOutcome::journal`](crate::CallOutcome)).
//!
//! Building [`Effects`] hex-encodes every key, value and address: on a token transfer that
//! was ~15% of the runtime's own work. [`LazyEffects`] keeps the journal and builds them only
//! when first read, so a node that commits the change set and never looks pays nothing.

use std::{collections::BTreeMap, fmt, ops::Deref, sync::OnceLock};

use serde::Serialize;
use tos_storage::{Hash, JournalEntry, JournalLog};

/// One storage key's value before and after the invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageChange {
    pub contract: String,
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One balance before and after the invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceChange {
    pub account: String,
    pub asset: String,
    pub old: u64,
    pub new: u64,
}

/// A transfer the contract made, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub asset: String,
    pub amount: u64,
}

/// A contract instance the invoke created (`tos_create_contract`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedContract {
    pub address: String,
    pub code_hash: String,
}

/// The net effects of an invoke: first old value and last new value per key or balance,
/// transfers and created contracts in the order they happened. Keys and values are hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Effects {
    pub storage: Vec<StorageChange>,
    pub balances: Vec<BalanceChange>,
    pub transfers: Vec<Transfer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contracts_created: Vec<CreatedContract>,
}

/// Lower-case hex of `bytes`, as `hex::encode` writes it, through a table lookup per byte
/// instead of `hex::encode`'s char-by-char collect (~10x fewer instructions; effects are built
/// for every call).
fn hex_string(bytes: &[u8]) -> String {
    let mut digits = vec![0u8; bytes.len() * 2];
    match hex::encode_to_slice(bytes, &mut digits) {
        // The digits are ASCII: the conversion cannot fail.
        Ok(()) => String::from_utf8(digits).unwrap_or_else(|_| hex::encode(bytes)),
        Err(_) => hex::encode(bytes),
    }
}

/// Per storage key: the value before the journal's first write and after its last.
type StorageDiff = BTreeMap<(Hash, Vec<u8>), (Option<Vec<u8>>, Option<Vec<u8>>)>;

impl Effects {
    pub fn from_journal(entries: &[JournalEntry]) -> Effects {
        let mut storage = StorageDiff::new();
        let mut balances: BTreeMap<(Hash, Hash), (u64, u64)> = BTreeMap::new();
        let mut transfers = Vec::new();
        let mut contracts_created = Vec::new();
        for entry in entries {
            match entry {
                JournalEntry::StorageWrite {
                    contract,
                    key,
                    old,
                    new,
                } => {
                    storage
                        .entry((*contract, key.clone()))
                        .and_modify(|change| change.1 = new.clone())
                        .or_insert((old.clone(), new.clone()));
                }
                JournalEntry::BalanceChange {
                    account,
                    asset,
                    old,
                    new,
                } => {
                    balances
                        .entry((*account, *asset))
                        .and_modify(|change| change.1 = *new)
                        .or_insert((*old, *new));
                }
                JournalEntry::Transfer {
                    from,
                    to,
                    asset,
                    amount,
                } => transfers.push(Transfer {
                    from: from.to_hex(),
                    to: to.to_hex(),
                    asset: asset.to_hex(),
                    amount: *amount,
                }),
                JournalEntry::ContractCreated { address, code_hash } => {
                    contracts_created.push(CreatedContract {
                        address: address.to_hex(),
                        code_hash: code_hash.to_hex(),
                    })
                }
            }
        }
        Effects {
            storage: storage
                .into_iter()
                .filter(|(_, (old, new))| old != new)
                .map(|((contract, key), (old, new))| StorageChange {
                    contract: contract.to_hex(),
                    key: hex_string(&key),
                    old: old.as_deref().map(hex_string),
                    new: new.as_deref().map(hex_string),
                })
                .collect(),
            balances: balances
                .into_iter()
                .filter(|(_, (old, new))| old != new)
                .map(|((account, asset), (old, new))| BalanceChange {
                    account: account.to_hex(),
                    asset: asset.to_hex(),
                    old,
                    new,
                })
                .collect(),
            transfers,
            contracts_created,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.storage.is_empty()
            && self.balances.is_empty()
            && self.transfers.is_empty()
            && self.contracts_created.is_empty()
    }
}

/// The [`Effects`] of a journal, built on first access (it derefs to them) and kept.
#[derive(Default, Clone)]
pub struct LazyEffects {
    journal: JournalLog,
    effects: OnceLock<Effects>,
}

impl LazyEffects {
    /// Effects of `journal` (a successful call's; pass an empty one for a failed call).
    pub fn new(journal: JournalLog) -> Self {
        LazyEffects {
            journal,
            effects: OnceLock::new(),
        }
    }

    /// The journal the effects are built from (its entries are built when asked for).
    pub fn journal(&self) -> &JournalLog {
        &self.journal
    }

    /// The effects, built now if nobody asked before.
    pub fn get(&self) -> &Effects {
        self.effects
            .get_or_init(|| Effects::from_journal(&self.journal.entries()))
    }
}

impl Deref for LazyEffects {
    type Target = Effects;

    fn deref(&self) -> &Effects {
        self.get()
    }
}

/// Formats as the [`Effects`] themselves, so fingerprints do not depend on laziness.
impl fmt::Debug for LazyEffects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.get(), f)
    }
}

impl PartialEq for LazyEffects {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for LazyEffects {}

impl Serialize for LazyEffects {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_string_writes_what_hex_encode_writes() {
        let all_bytes: Vec<u8> = (0..=255).collect();
        for input in [&[][..], &[0x00], &[0xAB, 0x0F], &all_bytes[..]] {
            assert_eq!(hex_string(input), hex::encode(input));
        }
        let hash = Hash(core::array::from_fn(|i| (i * 37) as u8));
        assert_eq!(hash.to_hex(), hex::encode(hash.0));
    }

    #[test]
    fn lazy_effects_equal_the_eager_ones() {
        let store =
            tos_storage::MemoryStorage::new().with_balance(Hash([1; 32]), Hash([0; 32]), 10);
        let mut writes = tos_storage::Journal::new(&store);
        writes.write_storage(&Hash([1; 32]), b"k", &[7]).unwrap();
        writes
            .transfer(&Hash([1; 32]), &Hash([2; 32]), &Hash([0; 32]), 5)
            .unwrap();
        let (_, log) = writes.into_parts();
        let journal = log.entries();
        assert_eq!(
            journal[..2],
            [
                JournalEntry::StorageWrite {
                    contract: Hash([1; 32]),
                    key: b"k".to_vec(),
                    old: None,
                    new: Some(vec![7]),
                },
                JournalEntry::Transfer {
                    from: Hash([1; 32]),
                    to: Hash([2; 32]),
                    asset: Hash([0; 32]),
                    amount: 5,
                },
            ]
        );
        let lazy = LazyEffects::new(log);
        assert_eq!(lazy.journal().entries(), journal);
        assert_eq!(*lazy, Effects::from_journal(&journal));
        assert_eq!(lazy.storage.len(), 1);
        assert_eq!(
            format!("{lazy:?}"),
            format!("{:?}", Effects::from_journal(&journal))
        );
        assert!(LazyEffects::default().is_empty());
    }
}
