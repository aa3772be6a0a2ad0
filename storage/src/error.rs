//! The one error type of the crate.
//!
//! Two families share [`StorageError`]:
//!
//! * **backend failures** ([`StorageError::is_backend`]): the store could not be read or written
//!   (I/O, redb, a corrupted or foreign file). The state is unknown; the node must stop the block.
//! * **refused operations**: a transfer without the funds, a balance that would overflow, a zero
//!   amount, a checkpoint used out of order. Nothing was changed; the runtime turns these into a
//!   failed call of the contract.
//!
//! No variant is built from a panic: everything read from a file is checked and reported here.

use crate::types::Hash;
use std::path::PathBuf;

/// Everything that can go wrong in the state layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An operating-system I/O error (creating the state directory, reading the file, ...).
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What the store was doing.
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// An error reported by the redb database that is neither I/O nor corruption.
    #[error("database error while {context}: {message}")]
    Database {
        /// What the store was doing.
        context: String,
        /// redb's own description of the error.
        message: String,
    },

    /// The store holds data that cannot be what this crate wrote (bad checksum, a balance that
    /// is not 8 bytes, a key of the wrong length, ...).
    #[error("corrupt state database: {what}")]
    Corrupt {
        /// What was found to be wrong.
        what: String,
    },

    /// The file at the state path is a database, but not a tos-vm state database.
    #[error("{} is not a tos-vm state database: {reason}", path.display())]
    Foreign {
        /// The file that was opened.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// The state database was written in another version of its format (an older tos-vm's,
    /// or a newer or unknown one): refused rather than misread.
    #[error(
        "state database format version {found} ({}) is not supported: this build reads format version {supported} ({})",
        describe_format(*.found),
        describe_format(*.supported)
    )]
    UnsupportedVersion {
        /// Version recorded in the file.
        found: u32,
        /// Version this build reads and writes.
        supported: u32,
    },

    /// Another process (or another handle in this one) has the state database open.
    #[error("{} is already open by another process or handle", path.display())]
    AlreadyOpen {
        /// The file that was opened.
        path: PathBuf,
    },

    /// A credit or transfer would take a balance above `u64::MAX`. Nothing was changed.
    #[error("balance of account {account} in asset {asset} would overflow u64")]
    BalanceOverflow {
        /// The account that would overflow.
        account: Hash,
        /// The asset.
        asset: Hash,
    },

    /// A transfer asked for more than the sender holds. Nothing was changed.
    #[error("account {account} holds {balance} of asset {asset}, {needed} needed")]
    InsufficientBalance {
        /// The sender.
        account: Hash,
        /// The asset.
        asset: Hash,
        /// Its balance at the time of the transfer.
        balance: u64,
        /// The amount asked for.
        needed: u64,
    },

    /// A transfer or credit of 0. Refused so that a no-op never shows up as a value movement.
    #[error("amount must be greater than zero")]
    ZeroAmount,

    /// The invoke's journal holds the most host memory one invoke may make the node hold
    /// ([`Journal::with_memory_limit`](crate::Journal::with_memory_limit); the runtime sets
    /// `tos_abi::limits::MAX_JOURNAL_BYTES_PER_INVOKE`): every later operation that would make
    /// it hold more is refused. The invoke's changes are never committed past it.
    #[error("the invoke's journal holds {held} bytes, at its limit of {limit} bytes")]
    JournalMemoryExceeded {
        /// Bytes the journal was charged for so far.
        held: usize,
        /// The limit.
        limit: usize,
    },

    /// A block was committed at a height that is sealed (at or below the current block
    /// height): a committed height never changes, and heights of committed blocks strictly
    /// increase. Nothing was changed.
    #[error("block height {height} is sealed: it is not above the current block height {tip}")]
    HeightSealed {
        /// The height asked for.
        height: u64,
        /// The height of the last committed block.
        tip: u64,
    },

    /// A block height of `u64::MAX`: reserved for the pending block. Nothing was changed.
    #[error("block height {height} is out of range (the largest block height is u64::MAX - 1)")]
    HeightOutOfRange {
        /// The height asked for.
        height: u64,
    },

    /// A read as of `height` (or a prune) asked for a height above the current block height.
    #[error("height {height} is above the current block height {tip}")]
    HeightInFuture {
        /// The height asked for.
        height: u64,
        /// The current block height.
        tip: u64,
    },

    /// A read as of `height` asked for a height whose versions were pruned.
    #[error("state at height {height} was pruned (the oldest readable height is {oldest})")]
    HeightPruned {
        /// The height asked for.
        height: u64,
        /// The oldest height that can still be read.
        oldest: u64,
    },

    /// A commit through a read-only view of the state as of a past height
    /// ([`StateAt`](crate::StateAt)). Nothing was changed.
    #[error("the state as of height {height} is read-only")]
    ReadOnlyView {
        /// The height of the view.
        height: u64,
    },

    /// A contract instance already lives at this address: nothing is replaced.
    #[error("a contract already exists at address {0}")]
    ContractExists(Hash),

    /// A [`Checkpoint`](crate::Checkpoint) was used out of order: it was already closed, it
    /// belongs to another journal, or a checkpoint taken after it is still open.
    #[error("invalid checkpoint: {reason}")]
    InvalidCheckpoint {
        /// What was wrong.
        reason: &'static str,
    },
}

impl StorageError {
    /// `true` when the store itself failed (I/O, database, corrupt or foreign file, version,
    /// locked file): the state can no longer be trusted and processing must stop. `false` for
    /// refused operations (balance checks, checkpoints, heights out of order or out of range,
    /// a commit into a read-only view), which changed nothing.
    pub fn is_backend(&self) -> bool {
        matches!(
            self,
            StorageError::Io { .. }
                | StorageError::Database { .. }
                | StorageError::Corrupt { .. }
                | StorageError::Foreign { .. }
                | StorageError::UnsupportedVersion { .. }
                | StorageError::AlreadyOpen { .. }
        )
    }

    // Only the disk store (feature `disk`) and the tests build these.
    #[cfg_attr(not(feature = "disk"), allow(dead_code))]
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> StorageError {
        StorageError::Io {
            context: context.into(),
            source,
        }
    }

    // Only the disk store (feature `disk`) and the tests build these.
    #[cfg_attr(not(feature = "disk"), allow(dead_code))]
    pub(crate) fn corrupt(what: impl Into<String>) -> StorageError {
        StorageError::Corrupt { what: what.into() }
    }

    #[cfg(feature = "disk")]
    /// Maps any redb error into a `StorageError`, keeping `context` (what the store was doing).
    pub(crate) fn from_redb(context: &str, error: impl Into<redb::Error>) -> StorageError {
        let error: redb::Error = error.into();
        match error {
            redb::Error::Io(source) => StorageError::io(context, source),
            redb::Error::Corrupted(what) => {
                StorageError::corrupt(format!("{what} (while {context})"))
            }
            redb::Error::TableTypeMismatch { .. }
            | redb::Error::TableIsMultimap(_)
            | redb::Error::TableIsNotMultimap(_)
            | redb::Error::TypeDefinitionChanged { .. } => {
                StorageError::corrupt(format!("{error} (while {context})"))
            }
            other => StorageError::Database {
                context: context.to_string(),
                message: other.to_string(),
            },
        }
    }
}

/// What each on-disk format version holds, for [`StorageError::UnsupportedVersion`].
pub fn describe_format(version: u32) -> &'static str {
    match version {
        1 => "unversioned state of early tos-vm",
        2 => "contracts addressed by their code hash",
        3 => "contract instances: addresses mapped to shared code",
        4 => "contract instances, newest versions in a block-ordered log",
        _ => "unknown format",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_classification() {
        assert!(StorageError::corrupt("x").is_backend());
        assert!(StorageError::io("x", std::io::Error::other("boom")).is_backend());
        assert!(!StorageError::ZeroAmount.is_backend());
        assert!(!StorageError::HeightSealed { height: 1, tip: 2 }.is_backend());
        assert!(!StorageError::HeightOutOfRange { height: u64::MAX }.is_backend());
        assert!(!StorageError::HeightInFuture { height: 3, tip: 2 }.is_backend());
        assert!(!StorageError::HeightPruned {
            height: 1,
            oldest: 2
        }
        .is_backend());
        assert!(!StorageError::ReadOnlyView { height: 2 }.is_backend());
        assert!(!StorageError::BalanceOverflow {
            account: Hash([1; 32]),
            asset: Hash([0; 32])
        }
        .is_backend());
    }

    #[cfg(feature = "disk")]
    #[test]
    fn redb_errors_keep_context() {
        let e = StorageError::from_redb(
            "reading a balance",
            redb::StorageError::Corrupted("bad page".into()),
        );
        assert!(matches!(e, StorageError::Corrupt { .. }));
        let text = e.to_string();
        assert!(
            text.contains("bad page") && text.contains("reading a balance"),
            "{text}"
        );

        let e = StorageError::from_redb("beginning a write", redb::TransactionError::WouldBlock);
        match e {
            StorageError::Database { context, .. } => assert_eq!(context, "beginning a write"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn messages_are_readable() {
        let e = StorageError::InsufficientBalance {
            account: Hash([1; 32]),
            asset: Hash([0; 32]),
            balance: 5,
            needed: 7,
        };
        assert!(e.to_string().contains("holds 5"));
    }
}
