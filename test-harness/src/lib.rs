//! # tos-test-harness
//!
//! The way TOS contracts are tested, and the way tos-vm tests itself.
//!
//! - [`Harness`]: an in-memory chain. Set up balances and storage, deploy a contract (built
//!   from source with [`fixtures`], hand-assembled with [`elf`], or any ELF), invoke it and
//!   [`check`](Invocation::expect) the result. Every invoke runs under **both** the
//!   interpreter and the JIT and fails with a diff if their status, compute used, logs,
//!   journal, change set, events, return data or final state differ.
//! - [`Check`]: expectations (`success`, `error(code)`, typed and named aborts, compute units,
//!   logs, storage, balances, events, return data, an unchanged state). A failed check prints
//!   expected against actual (a line diff for lists) and what the call did.
//! - [`fixtures`]: contracts built from source once per source hash.
//! - [`strategies`]: `proptest` strategies (addresses, amounts near the limits, storage keys
//!   and values at and beyond the limits, example and probe inputs, random verified programs).
//! - [`random`]: random SBPF V3 programs the verifier accepts, for differential tests.
//! - [`CuBench`]: compute-unit reports in markdown, compared with the previous run.
//! - [`calibration`]: the cases `benches/metering.rs` times to check that a compute unit buys
//!   about the same time everywhere (docs/compute-units.md, "Calibration").
//!
//! ```no_run
//! use tos_test_harness::{Check, Harness};
//! use tos_storage::Hash;
//!
//! let alice = Hash([1; 32]);
//! let mut chain = Harness::new()
//!     .with_balance(alice, 1_000)
//!     .deploy_example("counter-rust");
//! chain.invoke(b"").expect(&[
//!     Check::success(),
//!     Check::log("count = 1"),
//!     Check::storage_u64(b"count", 1),
//!     Check::balance(alice, 1_000),
//! ]);
//! chain.invoke(b"").expect(&[Check::log("count = 2")]);
//! ```

// The code in docs/testing.md compiles (`cargo test --doc -p tos-test-harness`).
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing.md")]
pub struct TestingGuide;

mod abort;
pub mod bench;
pub mod calibration;
mod check;
pub mod elf;
pub mod examples;
pub mod fixtures;
mod harness;
pub mod probe;
pub mod random;
pub mod report;
pub mod strategies;

pub use abort::Abort;
pub use bench::{CuBench, CuCase, CuChange};
pub use check::Check;
pub use harness::{
    default_block, Engines, Harness, HarnessError, Invocation, Status, DEFAULT_SENDER,
    DEFAULT_TX_HASH,
};
pub use report::{CheckReport, EngineMismatch};

/// What a call pays to load a code the first time its transaction runs it (tests add it to
/// exact compute-unit expectations).
pub use tos_program_runtime::compute::{code_load_cost, code_load_size};
pub use tos_program_runtime::{BlockContext, ContractCall, Engine, RuntimeError};
pub use tos_storage::{Hash, NATIVE_ASSET};
pub use tos_syscalls::SyscallError;
