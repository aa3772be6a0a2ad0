//! Local block and transaction hashes: what `tos_get_block_hash` / `tos_get_tx_hash` return
//! when the chain does not supply its own (see `execute_block_with_hashes`).

use tos_program_runtime::BlockContext;
use tos_storage::Hash;

use super::types::{Block, Transaction};

fn derived_hash(parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

impl Block {
    /// The context the block executes in at `height`; its hash commits to the height and the
    /// whole block.
    pub fn context(&self, height: u64) -> BlockContext {
        BlockContext {
            height,
            hash: derived_hash(&[b"tos-vm block", &height.to_le_bytes(), &self.to_borsh()]),
            timestamp: self.timestamp,
        }
    }
}

/// The hash of the `index`-th transaction of the block `block_hash`.
pub fn transaction_hash(block_hash: &Hash, index: usize, transaction: &Transaction) -> Hash {
    let encoded = borsh::to_vec(transaction).expect("encoding into a Vec cannot fail");
    derived_hash(&[
        b"tos-vm tx",
        &block_hash.0,
        &(index as u64).to_le_bytes(),
        &encoded,
    ])
}
