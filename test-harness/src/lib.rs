//! # tos-test-harness
//!
//! Test support for TOS contracts and for tos-vm itself. This first part provides fixtures:
//! example contracts built from source once per source hash and cached under
//! `target/tos-fixtures/`, so every test can ask for an ELF cheaply.
//!
//! ```no_run
//! let elf = tos_test_harness::fixtures::example_elf("hello-world");
//! assert_eq!(&elf[..4], b"\x7fELF");
//! ```

pub mod fixtures;
