//! Resource limits of one invoke. Each is a named constant so docs, tests and the chain agree.

/// Compute units an invoke gets unless the caller sets another budget.
pub const DEFAULT_COMPUTE_BUDGET: u64 = 1_400_000;
/// Most deposits (distinct assets) one call may carry, as on the TOS chain.
pub const MAX_DEPOSITS: usize = 255;
/// Largest compute budget an invoke can have; larger budgets are lowered to it. Both engines
/// honour any budget up to here; solana-sbpf's JIT keeps its instruction meter in signed
/// 64-bit arithmetic, so budgets near `u64::MAX` would end a JIT run at once where the
/// interpreter runs. 2^48 units is days of execution, far past any block.
pub const MAX_COMPUTE_BUDGET: u64 = 1 << 48;
/// Largest input a contract can be called with.
pub const MAX_INPUT_LEN: usize = 64 * 1024;
/// Size of the contract's heap region (at `MM_HEAP_START`).
pub const HEAP_SIZE: usize = 32 * 1024;
/// Bytes of one BPF stack frame; clang is told the same with `-bpf-stack-size=4096`.
pub const STACK_FRAME_SIZE: usize = 4096;
/// Deepest nesting of BPF-to-BPF calls inside one contract.
pub const MAX_BPF_CALL_DEPTH: usize = 64;
/// Longest storage key.
pub const MAX_STORAGE_KEY_LEN: usize = 256;
/// Longest storage value.
pub const MAX_STORAGE_VALUE_LEN: usize = 64 * 1024;
/// Longest single log message.
pub const MAX_LOG_MESSAGE_LEN: usize = 10_000;
/// Total log bytes one invoke may write; protects nodes from log flooding.
pub const MAX_LOG_BYTES_PER_INVOKE: usize = 64 * 1024;
/// Most log messages one invoke may write, empty ones included: the byte limit alone lets
/// zero-length messages pile up without bound.
pub const MAX_LOG_ENTRIES_PER_INVOKE: usize = 1024;
/// Bytes at address 0 that are never mapped, so a NULL pointer faults.
pub const NULL_GUARD_SIZE: usize = 8;
/// Deepest nesting of contract-to-contract calls (`tos_invoke`), the first call included.
pub const MAX_CONTRACT_CALL_DEPTH: usize = 8;
/// Largest return data (`tos_set_return_data`).
pub const MAX_RETURN_DATA_LEN: usize = 1024;
/// Longest event topic.
pub const MAX_EVENT_TOPIC_LEN: usize = 64;
/// Largest event payload.
pub const MAX_EVENT_DATA_LEN: usize = 1024;
/// Most events one invoke may emit.
pub const MAX_EVENTS_PER_INVOKE: usize = 256;
/// Total event bytes (topics and data) one invoke may emit.
pub const MAX_EVENT_BYTES_PER_INVOKE: usize = 64 * 1024;
