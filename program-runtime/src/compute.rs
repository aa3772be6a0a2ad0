//! Compute metering: one unit per executed BPF instruction plus each syscall's own cost, plus
//! the code-load charge of every contract code a transaction runs for the first time.
//!
//! ## Code load (cold / warm)
//!
//! Running a contract whose executable is not in this node's cache means reading its ELF from
//! the store, validating, verifying and JIT-compiling it: milliseconds for a large contract,
//! a million instructions' worth of time. Whether a node has it cached is not deterministic
//! (cache size, eviction, restarts), so the charge cannot depend on it. Instead, as EIP-2929
//! does for cold accounts, the first time a transaction runs a code (the top-level call,
//! `tos_invoke`, `tos_create_contract`'s constructor) it pays [`code_load_cost`] of the code's
//! ELF size, whether or not this node had it cached; later runs of the same code in that
//! transaction are warm and pay nothing for it. The warm set is keyed by code hash (instances
//! of one code share one executable) and is not reverted when a frame fails: the load was done.

use crate::{error::RuntimeError, limits::MAX_COMPUTE_BUDGET};

/// Fixed part of a cold code load (store lookup, ELF header checks, executable setup, cache
/// insertion): calibrated by `benches/metering.rs` (docs/compute-units.md).
pub const CODE_LOAD_BASE_COST: u64 = 5_000;
/// Units per byte of ELF of a cold code load: validation, verification and JIT compilation
/// grow with the code; calibrated by `benches/metering.rs` (docs/compute-units.md).
pub const CODE_LOAD_UNITS_PER_BYTE: u64 = 3;

/// The charge of a cold code load of an ELF of `elf_len` bytes (see the module docs).
pub fn code_load_cost(elf_len: usize) -> u64 {
    CODE_LOAD_BASE_COST.saturating_add((elf_len as u64).saturating_mul(CODE_LOAD_UNITS_PER_BYTE))
}

/// Remaining compute of one invoke. solana-sbpf charges executed instructions through
/// `ContextObject::consume`; syscalls charge their cost with [`ComputeMeter::charge`].
#[derive(Debug, Clone, Copy)]
pub struct ComputeMeter {
    budget: u64,
    remaining: u64,
}

impl ComputeMeter {
    /// A meter of `budget` units, at most [`MAX_COMPUTE_BUDGET`] (larger budgets are lowered to
    /// it, the same way for both engines).
    pub fn new(budget: u64) -> Self {
        let budget = budget.min(MAX_COMPUTE_BUDGET);
        ComputeMeter {
            budget,
            remaining: budget,
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    pub fn used(&self) -> u64 {
        self.budget - self.remaining
    }

    /// Charges `amount` units, or fails (charging everything left) when the budget is short:
    /// a syscall that cannot be paid for does not run.
    pub fn charge(&mut self, amount: u64) -> Result<(), RuntimeError> {
        match self.remaining.checked_sub(amount) {
            Some(left) => {
                self.remaining = left;
                Ok(())
            }
            None => {
                self.remaining = 0;
                Err(RuntimeError::ComputeBudgetExceeded {
                    budget: self.budget,
                })
            }
        }
    }

    /// Instruction metering from the engine: saturates, the engine itself reports exhaustion.
    pub fn consume(&mut self, amount: u64) {
        self.remaining = self.remaining.saturating_sub(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_beyond_budget_fails_and_empties_the_meter() {
        let mut meter = ComputeMeter::new(10);
        meter.charge(4).unwrap();
        assert_eq!(meter.remaining(), 6);
        assert!(matches!(
            meter.charge(7),
            Err(RuntimeError::ComputeBudgetExceeded { budget: 10 })
        ));
        assert_eq!(meter.remaining(), 0);
        assert_eq!(meter.used(), 10);
    }

    #[test]
    fn budgets_past_the_maximum_are_lowered_to_it() {
        assert_eq!(ComputeMeter::new(u64::MAX).budget(), MAX_COMPUTE_BUDGET);
        assert_eq!(
            ComputeMeter::new(MAX_COMPUTE_BUDGET).budget(),
            MAX_COMPUTE_BUDGET
        );
        assert_eq!(ComputeMeter::new(5).budget(), 5);
    }

    #[test]
    fn consume_saturates() {
        let mut meter = ComputeMeter::new(3);
        meter.consume(5);
        assert_eq!(meter.remaining(), 0);
    }
}
