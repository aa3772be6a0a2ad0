//! vault: holds deposits in any assets and releases them on a condition; declared with
//! `#[tos_sdk::contract]`.
//!
//! `deposit` locks everything deposited with the call (native TOS and any other assets, up to
//! [`MAX_ASSETS`]) for a beneficiary until a block height; `withdraw`, sent by the beneficiary
//! at or after that height, moves every asset of the lock out of the contract's own balance
//! with `tos_transfer_asset`. Each deposit gets an id (0, 1, ...), returned as return data
//! (borsh `u64`). Errors: `ZeroDeposit` (status 1001), `TooEarly` (1002), `TooManyAssets`
//! (1003), `Unauthorized` (3), `NotFound` (6).

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub use crate::vault::*;

/// The contract.
#[tos_sdk::contract]
pub mod vault {
    use alloc::vec::Vec;
    use tos_sdk::prelude::*;
    use tos_sdk::Asset;

    /// Most assets one lock holds.
    pub const MAX_ASSETS: u64 = 8;

    /// One deposit.
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct Lock {
        pub depositor: Address,
        pub beneficiary: Address,
        /// Every asset deposited, in ascending asset order.
        pub assets: Vec<(Asset, Amount)>,
        pub unlock_height: u64,
    }

    /// Errors of this contract (status 1000 + n).
    #[errors]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum VaultError {
        /// A deposit must carry at least one asset.
        ZeroDeposit = 1,
        /// The unlock height has not been reached.
        TooEarly = 2,
        /// More than [`MAX_ASSETS`] assets in one deposit.
        TooManyAssets = 3,
    }

    const NEXT_ID: Item<u64> = Item::new(b"next");
    const LOCKS: Map<u64, Lock> = Map::new(b"lock:");

    /// Locks the call's deposits for `beneficiary` until block `unlock_height`; returns the
    /// lock's id.
    #[method]
    pub fn deposit(
        ctx: &Context,
        beneficiary: Address,
        unlock_height: u64,
    ) -> Result<u64, ContractError> {
        let count = ctx.deposit_count();
        require(count > 0, VaultError::ZeroDeposit)?;
        require(count <= MAX_ASSETS, VaultError::TooManyAssets)?;
        // The deposits are already in this contract's balance.
        let assets: Vec<(Asset, Amount)> = (0..count).filter_map(|i| ctx.deposit(i)).collect();
        let id = NEXT_ID.get_or_default()?;
        LOCKS.set(
            &id,
            &Lock {
                depositor: ctx.caller(),
                beneficiary,
                assets,
                unlock_height,
            },
        )?;
        NEXT_ID.set(&id.checked_add(1).ok_or(ContractError::ArithmeticOverflow)?)?;
        Ok(id)
    }

    /// Beneficiary only, from `unlock_height` on: pays the lock out and forgets it.
    #[method]
    pub fn withdraw(ctx: &Context, id: u64) -> Result<(), ContractError> {
        let lock = LOCKS.get(&id)?.ok_or(ContractError::NotFound)?;
        require(
            ctx.caller() == lock.beneficiary,
            ContractError::Unauthorized,
        )?;
        require(
            ctx.block_height() >= lock.unlock_height,
            VaultError::TooEarly,
        )?;
        let this = ctx.contract();
        for (asset, amount) in &lock.assets {
            require(
                ctx.asset_balance_of(&this, asset) >= *amount,
                ContractError::InsufficientFunds,
            )?;
        }
        // Forget the lock before paying (a failed transfer reverts both anyway).
        LOCKS.remove(&id)?;
        for (asset, amount) in &lock.assets {
            ctx.transfer_asset(&lock.beneficiary, asset, *amount);
            let mut line = LogLine::<64>::new();
            line.str("released ").u64(amount.get());
            if *asset != tos_sdk::NATIVE_ASSET {
                line.str(" of asset ").hex(&asset.0[..4]);
            }
            line.log();
        }
        Ok(())
    }

    /// The lock `id`.
    #[view]
    pub fn get(id: u64) -> Result<Lock, ContractError> {
        LOCKS.get(&id)?.ok_or(ContractError::NotFound)
    }
}
