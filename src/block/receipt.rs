//! What executing a block produces: one receipt per transaction ([`TxOutcome`]) and the
//! block's change set and statistics ([`BlockExecution`]).

use std::time::Duration;

use serde::Serialize;
use tos_program_runtime::{BlockContext, Deposits, Event, LogEntry, ReturnData};
use tos_storage::{ChangeSet, Hash, StorageError};

use crate::{error::VmError, vm::InvokeStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    Deploy,
    Call,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum TxStatus {
    /// Effects committed to the block.
    Success,
    /// The contract (or the constructor) returned a non-zero status; no effects.
    Failed { code: u64 },
    /// The VM stopped the contract (syscall error, fault, compute exhausted, a deposit not
    /// covered); no effects.
    Aborted { error: String },
    /// The transaction could not start (unknown contract, refused deploy); no effects.
    Rejected { error: String },
}

impl TxStatus {
    pub fn is_success(&self) -> bool {
        matches!(self, TxStatus::Success)
    }

    pub(super) fn from_invoke(status: InvokeStatus) -> Result<TxStatus, StorageError> {
        Ok(match status {
            InvokeStatus::Success => TxStatus::Success,
            InvokeStatus::Failed { code } => TxStatus::Failed { code },
            InvokeStatus::Aborted(reason) => TxStatus::Aborted {
                error: reason.to_string(),
            },
        })
    }

    pub(super) fn rejected(error: VmError) -> Result<TxStatus, StorageError> {
        Ok(TxStatus::Rejected {
            error: transaction_error(error)?,
        })
    }
}

/// The message of a transaction's own failure; a failure of the store stops the block.
fn transaction_error(error: VmError) -> Result<String, StorageError> {
    match error.into_backend_error() {
        Ok(backend) => Err(backend),
        Err(error) => Ok(error.to_string()),
    }
}

/// What one transaction of a block did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    pub index: usize,
    pub hash: Hash,
    pub kind: TxKind,
    pub sender: Hash,
    pub contract: Hash,
    /// What the transaction deposited (moved only if it succeeded).
    pub deposits: Deposits,
    pub status: TxStatus,
    /// Compute of the call (of a deploy: its constructor's).
    pub compute_used: u64,
    /// What a deploy (accepted or refused) cost besides its constructor
    /// ([`DeployContractPayload::deploy_units`](crate::DeployContractPayload::deploy_units));
    /// 0 for a call.
    pub deploy_units: u64,
    pub logs: Vec<LogEntry>,
    pub events: Vec<Event>,
    pub return_data: Option<ReturnData>,
    /// Its net changes (empty unless it succeeded).
    pub changes: ChangeSet,
    /// The bytes of state `changes` create and free (empty unless it succeeded).
    pub growth: tos_storage::StateGrowth,
    /// Wall time of its execution (not part of consensus: `same_as` ignores it).
    pub elapsed: Duration,
}

impl TxOutcome {
    /// Everything but the timing is equal: what two executions of a block must agree on.
    pub fn same_as(&self, other: &TxOutcome) -> bool {
        TxOutcome {
            elapsed: Duration::ZERO,
            ..self.clone()
        } == TxOutcome {
            elapsed: Duration::ZERO,
            ..other.clone()
        }
    }
}

/// How a block's segments ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ExecutionStats {
    /// Worker threads allowed.
    pub threads: usize,
    /// Runs of consecutive calls (deploys separate them).
    pub segments: usize,
    /// Segments executed in parallel (speculatively, validated in block order).
    pub parallel_segments: usize,
    /// Calls of those segments.
    pub parallel_calls: usize,
    /// Calls of those segments whose speculative run did not see what sequential execution
    /// shows them (they read a key before the earlier call that writes it had finished), and
    /// that were executed again, in order, for that reason. 0 when the calls touch disjoint
    /// keys; for conflicting calls it depends on timing.
    pub reexecuted: usize,
}

/// What a block did, not yet committed.
#[derive(Debug)]
pub struct BlockExecution {
    pub context: BlockContext,
    pub transactions: Vec<TxOutcome>,
    /// The block's net change set: commit it as the block.
    pub changes: ChangeSet,
    pub stats: ExecutionStats,
    /// Wall time of the whole execution.
    pub elapsed: Duration,
}

impl BlockExecution {
    pub fn compute_used(&self) -> u64 {
        self.transactions.iter().map(|tx| tx.compute_used).sum()
    }

    pub fn successes(&self) -> usize {
        self.transactions
            .iter()
            .filter(|tx| tx.status.is_success())
            .count()
    }

    /// blake3 of the block's change set (borsh): equal for equal executions.
    pub fn changes_hash(&self) -> Hash {
        let encoded = borsh::to_vec(&self.changes).expect("encoding into a Vec cannot fail");
        Hash(*blake3::hash(&encoded).as_bytes())
    }

    /// Same transactions outcomes (timings aside) and same change set.
    pub fn same_as(&self, other: &BlockExecution) -> bool {
        self.context == other.context
            && self.changes == other.changes
            && self.transactions.len() == other.transactions.len()
            && self
                .transactions
                .iter()
                .zip(&other.transactions)
                .all(|(a, b)| a.same_as(b))
    }
}
