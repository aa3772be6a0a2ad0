//! Compute metering: one unit per executed BPF instruction plus each syscall's own cost.

use crate::{error::RuntimeError, limits::MAX_COMPUTE_BUDGET};

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
