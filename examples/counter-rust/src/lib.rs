//! counter-rust: a persistent counter.
//!
//! Each call reads the `u64` under the storage key `count` (absent = 0), increments it, stores
//! it back (8 little-endian bytes, its borsh encoding) and logs `count = N`. An overflowing
//! counter fails the call with `ContractError::ArithmeticOverflow` (status 5).

#![cfg_attr(not(test), no_std)]

use tos_sdk::prelude::*;

/// The counter.
const COUNT: Item<u64> = Item::new(b"count");

entrypoint!(process);

fn process(_ctx: &Context, _input: &[u8]) -> Result<(), ContractError> {
    let count = COUNT
        .get_or_default()?
        .checked_add(1)
        .ok_or(ContractError::ArithmeticOverflow)?;
    COUNT.set(&count)?;
    // Formatted without core::fmt, which would add several KB of code.
    LogLine::<32>::new().str("count = ").u64(count).log();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tos_sdk::host::TestEnv;

    #[test]
    fn counts_and_persists() {
        let mut env = TestEnv::new();
        let first = env.invoke(entrypoint, b"");
        assert!(first.is_success(), "{first:?}");
        assert_eq!(first.logs, ["count = 1"]);
        env.invoke(entrypoint, b"");
        assert_eq!(env.get::<u64>(b"count"), Some(2));
    }

    #[test]
    fn overflow_fails_and_keeps_the_old_value() {
        let mut env = TestEnv::new();
        env.set_storage(b"count", Some(&u64::MAX.to_le_bytes()));
        let outcome = env.invoke(entrypoint, b"");
        assert_eq!(outcome.error(), Some(ContractError::ArithmeticOverflow));
        assert_eq!(env.get::<u64>(b"count"), Some(u64::MAX));
    }
}
