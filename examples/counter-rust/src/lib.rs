//! counter-rust: a persistent counter, declared with `#[tos_sdk::contract]`.
//!
//! `increment` (also what an empty input runs) reads the `u64` under the storage key `count`
//! (absent = 0), increments it, stores it back (8 little-endian bytes, its borsh encoding) and
//! logs `count = N`. An overflowing counter fails the call with
//! `ContractError::ArithmeticOverflow` (status 5). The view `count` answers the current value.

#![cfg_attr(not(test), no_std)]

pub use crate::counter::*;

/// The contract.
#[tos_sdk::contract]
pub mod counter {
    use tos_sdk::prelude::*;

    /// The counter.
    const COUNT: Item<u64> = Item::new(b"count");

    /// Adds one to the counter and logs the new value.
    #[method(default)]
    pub fn increment() -> Result<(), ContractError> {
        let count = COUNT
            .get_or_default()?
            .checked_add(1)
            .ok_or(ContractError::ArithmeticOverflow)?;
        COUNT.set(&count)?;
        // Formatted without core::fmt, which would add several KB of code.
        LogLine::<32>::new().str("count = ").u64(count).log();
        Ok(())
    }

    /// The counter's value (0 before the first increment).
    #[view]
    pub fn count() -> Result<u64, ContractError> {
        COUNT.get_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tos_sdk::host::TestEnv;
    use tos_sdk::ContractError;

    #[test]
    fn counts_and_persists() {
        let mut env = TestEnv::new();
        let first = env.invoke(entrypoint, &calls::increment());
        assert!(first.is_success(), "{first:?}");
        assert_eq!(first.logs, ["count = 1"]);
        // An empty input increments too.
        env.invoke(entrypoint, b"");
        assert_eq!(env.get::<u64>(b"count"), Some(2));
        let answer = env.invoke(entrypoint, &calls::count());
        let (_, data) = answer.return_data.expect("return data");
        assert_eq!(returns::count(&data).unwrap(), 2);
    }

    #[test]
    fn overflow_fails_and_keeps_the_old_value() {
        let mut env = TestEnv::new();
        env.set_storage(b"count", Some(&u64::MAX.to_le_bytes()));
        let outcome = env.invoke(entrypoint, &calls::increment());
        assert_eq!(outcome.error(), Some(ContractError::ArithmeticOverflow));
        assert_eq!(env.get::<u64>(b"count"), Some(u64::MAX));
    }
}
