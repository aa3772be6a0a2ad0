//! Blocks: a list of deploys and calls executed against the state at a height and committed
//! as the next height — sequentially, or with independent calls in parallel, with the same
//! result.
//!
//! One concern per file:
//!
//! | file | what it holds |
//! |---|---|
//! | `types.rs` | [`Block`], [`Transaction`], [`CallTarget`]: a block as the chain hands it over |
//! | `format.rs` | the block file: borsh (one exact encoding), [`Block::from_file`], size limits |
//! | `json.rs` | the JSON block file format (feature `json`) |
//! | `hash.rs` | local block and transaction hashes ([`transaction_hash`], [`Block::context`]) |
//! | `execute.rs` | [`execute_block`]: transactions in order over a [`PendingState`](crate::PendingState), one receipt each |
//! | `schedule.rs` | speculative parallel runs validated in block order (why it equals sequential execution) |
//! | `pool.rs` | the worker threads kept across blocks |
//! | `recording.rs` | the recording store (the version of every key a run read) and the segment's multi-version writes |
//! | `receipt.rs` | what execution produces: [`TxOutcome`], [`TxStatus`], [`BlockExecution`] |
//! | `replay.rs` | [`replay_block`]: execute over a versioned store's tip and commit the next height |
//! | `state_dump.rs` | [`StateDump`] and the state root two nodes compare |

mod execute;
mod format;
mod hash;
#[cfg(feature = "json")]
mod json;
mod pool;
mod receipt;
mod recording;
mod replay;
mod schedule;
mod state_dump;
mod types;

pub use execute::{
    execute_block, execute_block_speculatively, execute_block_with_hashes, ReplayOptions,
    WorkerProbe,
};
pub use format::{read_file_within, BlockFileError, MAX_BLOCK_FILE_LEN};
pub use hash::transaction_hash;
pub use receipt::{BlockExecution, ExecutionStats, TxKind, TxOutcome, TxStatus};
pub use replay::{replay_block, ReplayReport, StateAtHeight};
pub use state_dump::{StateDump, StateListing};
pub use types::{Block, CallTarget, Transaction};
