//! What a block is: its transactions (deploys and calls) and their targets, as the chain
//! hands them to the VM. File formats: `format.rs` (borsh) and `json.rs`; hashes: `hash.rs`.

use borsh::{BorshDeserialize, BorshSerialize};
use tos_program_runtime::Deposits;
use tos_storage::Hash;

use super::receipt::TxKind;
use crate::payload::DeployContractPayload;

/// Which contract a call of a block calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum CallTarget {
    /// The contract at this address.
    Address(Hash),
    /// The contract created by the deploy at this index of the same block (its address is
    /// only known once the block's hash is: see [`deploy_address`](crate::deploy_address)).
    DeployedBy(u32),
}

impl From<Hash> for CallTarget {
    fn from(address: Hash) -> Self {
        CallTarget::Address(address)
    }
}

/// One transaction of a block.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Transaction {
    /// Deploys a contract (and runs its constructor, if the payload has one) at
    /// [`deploy_address`](crate::deploy_address)`(sender, transaction hash)`.
    Deploy {
        sender: Hash,
        payload: DeployContractPayload,
    },
    /// Calls a contract, moving `deposits` from `sender` to it first (all or none), with the
    /// sender's compute limit (`None`: the node's budget; the node's budget is the ceiling).
    Call {
        sender: Hash,
        contract: CallTarget,
        input: Vec<u8>,
        deposits: Deposits,
        compute_limit: Option<u64>,
    },
}

impl Transaction {
    pub fn sender(&self) -> Hash {
        match self {
            Transaction::Deploy { sender, .. } | Transaction::Call { sender, .. } => *sender,
        }
    }

    pub fn kind(&self) -> TxKind {
        match self {
            Transaction::Deploy { .. } => TxKind::Deploy,
            Transaction::Call { .. } => TxKind::Call,
        }
    }

    /// What the transaction deposits: a call's deposits, a constructor's.
    pub fn deposits(&self) -> Deposits {
        match self {
            Transaction::Deploy { payload, .. } => payload
                .constructor
                .as_ref()
                .map(|c| c.deposits.clone())
                .unwrap_or_default(),
            Transaction::Call { deposits, .. } => deposits.clone(),
        }
    }
}

/// A block to execute: its timestamp and its transactions, in order. Its height and parent
/// come from the store it is replayed on.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// Seconds since the Unix epoch, as agreed by consensus.
    pub timestamp: u64,
    pub transactions: Vec<Transaction>,
}
