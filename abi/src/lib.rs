//! # tos-abi
//!
//! The numbers tos-vm and TOS contracts must agree on, in one place: the VM's limits
//! ([`limits`]), the statuses `tos_invoke` and `tos_create_contract` return ([`invoke`],
//! [`create`]) and the method selectors of contract interfaces ([`method_selector`]). The
//! runtime (`tos_program_runtime::limits`), the syscalls and the Rust SDK
//! (contracts and its host mode) all read them from here, so a host-mode test cannot silently
//! disagree with the VM. `no_std`, no dependencies: it builds for BPF inside every contract.
//!
//! With the `interface` feature (host tools: the loader, the CLI, the SDK's macros), the
//! `interface` module reads, validates and uses a contract's interface description
//! (docs/interface.md): method selectors, and JSON arguments to borsh and back.
//!
//! ```
//! use tos_abi::{invoke, limits};
//!
//! assert_eq!(limits::MAX_STORAGE_KEY_LEN, 256);
//! assert!(invoke::INVOKE_NOT_FOUND >= invoke::INVOKE_ERROR_BASE);
//! assert_eq!(invoke::callee_failure_status(7), 7);
//! assert_eq!(
//!     invoke::callee_failure_status(invoke::INVOKE_NOT_FOUND),
//!     invoke::INVOKE_CALLEE_RESERVED_STATUS
//! );
//! ```

// `no_std` for contracts; the `interface` feature (host tools only) needs std for serde_json.
#![cfg_attr(not(feature = "interface"), no_std)]

#[cfg(feature = "interface")]
pub mod interface;

mod selector;
pub use selector::{method_selector, sha256, SELECTOR_DOMAIN};

/// Resource limits of one invoke. Each is a named constant so docs, tests and the chain agree.
pub mod limits {
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
    /// Size of the contract's heap region (at `0x3_0000_0000`).
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
    /// Host memory one invoke's journal may hold: values read, overlay, change log (see
    /// `tos_storage::Journal::held_bytes`). The one part of an invoke's memory that compute
    /// does not bound (a node may raise the budget to `MAX_COMPUTE_BUDGET`, and a delete
    /// reads a whole value it is not charged by); docs/security.md derives the bound.
    pub const MAX_JOURNAL_BYTES_PER_INVOKE: usize = 8 * 1024 * 1024;

    /// Most bytes one `tos_memcpy`/`memmove`/`memset`/`memcmp` may touch.
    pub const MAX_MEM_OP_LEN: usize = 1024 * 1024;
    /// Most slices one hash call may take.
    pub const MAX_HASH_SLICES: usize = 256;
    /// Most bytes one hash call may hash.
    pub const MAX_HASH_BYTES: usize = 1024 * 1024;
    /// Longest message `tos_ed25519_verify` checks.
    pub const MAX_SIGNED_MESSAGE_LEN: usize = 64 * 1024;
}

/// Statuses of `tos_invoke`: 0 when the callee succeeded, the callee's own non-zero status
/// below [`INVOKE_ERROR_BASE`](invoke::INVOKE_ERROR_BASE), or one of the VM's from there up.
pub mod invoke {
    /// `tos_invoke` statuses at or above this value come from the VM, not from the callee.
    pub const INVOKE_ERROR_BASE: u64 = 0xFFFF_FFFF_0000_0000;
    /// No contract instance at that address.
    pub const INVOKE_NOT_FOUND: u64 = INVOKE_ERROR_BASE | 1;
    /// The callee is already on the call stack.
    pub const INVOKE_REENTRANCY: u64 = INVOKE_ERROR_BASE | 2;
    /// [`MAX_CONTRACT_CALL_DEPTH`](crate::limits::MAX_CONTRACT_CALL_DEPTH) contracts are
    /// already on the call stack.
    pub const INVOKE_DEPTH_EXCEEDED: u64 = INVOKE_ERROR_BASE | 3;
    /// The callee was stopped by the VM (panic, fault, syscall error); the reason is logged.
    pub const INVOKE_ABORTED: u64 = INVOKE_ERROR_BASE | 4;
    /// The caller's balance does not cover the value sent.
    pub const INVOKE_INSUFFICIENT_VALUE: u64 = INVOKE_ERROR_BASE | 5;
    /// The callee failed with a status inside the VM's reserved range (at or above
    /// [`INVOKE_ERROR_BASE`]). Its own status is not passed on: it would read as a verdict of
    /// the VM.
    pub const INVOKE_CALLEE_RESERVED_STATUS: u64 = INVOKE_ERROR_BASE | 6;

    /// What the caller sees for a callee that returned the non-zero `status`: the status
    /// itself below [`INVOKE_ERROR_BASE`], [`INVOKE_CALLEE_RESERVED_STATUS`] from there up.
    pub const fn callee_failure_status(status: u64) -> u64 {
        if status >= INVOKE_ERROR_BASE {
            INVOKE_CALLEE_RESERVED_STATUS
        } else {
            status
        }
    }
}

/// Statuses of `tos_create_contract` (0 is success).
pub mod create {
    /// `tos_create_contract` statuses at or above this value come from the VM.
    pub const CREATE_ERROR_BASE: u64 = 0xFFFF_FFFE_0000_0000;
    /// A contract already lives at the derived address (the salt was used before).
    pub const CREATE_ADDRESS_TAKEN: u64 = CREATE_ERROR_BASE | 1;
    /// No code with that hash is deployed.
    pub const CREATE_CODE_NOT_FOUND: u64 = CREATE_ERROR_BASE | 2;
    /// [`MAX_CONTRACT_CALL_DEPTH`](crate::limits::MAX_CONTRACT_CALL_DEPTH) contracts are
    /// already on the call stack.
    pub const CREATE_DEPTH_EXCEEDED: u64 = CREATE_ERROR_BASE | 3;
    /// The constructor returned a non-zero status or was stopped by the VM (the reason is
    /// logged): nothing of the creation stands.
    pub const CREATE_CONSTRUCTOR_FAILED: u64 = CREATE_ERROR_BASE | 4;
}
