//! What a successful invoke changed, in a form people and the chain can read: the net effect
//! of a call's journal ([`CallOutcome::journal`](crate::CallOutcome)).

use std::collections::BTreeMap;

use serde::Serialize;
use tos_storage::{Hash, JournalEntry};

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

impl Effects {
    pub fn from_journal(entries: &[JournalEntry]) -> Effects {
        let mut storage: BTreeMap<(Hash, Vec<u8>), (Option<Vec<u8>>, Option<Vec<u8>>)> =
            BTreeMap::new();
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
                    key: hex::encode(key),
                    old: old.map(hex::encode),
                    new: new.map(hex::encode),
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
