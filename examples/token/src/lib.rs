//! token: a fungible token, declared with `#[tos_sdk::contract]`.
//!
//! The account that calls `init` (the constructor) owns the token; only it may `mint`.
//! Balances and the total supply are [`Amount`]s (u64); every change is checked: a transfer
//! above the sender's balance fails with `InsufficientFunds` (status 4), a mint past
//! `u64::MAX` with `ArithmeticOverflow` (5), a mint by anyone but the owner with
//! `Unauthorized` (3). The views (`balance_of`, `total_supply`, `metadata`) answer through
//! return data.
//!
//! Host side: `token::calls::transfer(to, amount)` is the input of a call,
//! `token::returns::balance_of(&data)` decodes an answer, `token::Event::decode(topic, data)`
//! an event.
//!
//! Storage layout: `owner` → Address, `meta` → [`Metadata`], `supply` → Amount,
//! `b:` ++ address → Amount.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub use crate::token::*;

/// The contract.
#[tos_sdk::contract]
pub mod token {
    use alloc::string::String;
    use alloc::vec::Vec;
    use tos_sdk::prelude::*;

    /// The token's description.
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct Metadata {
        // Decoded without borsh's `String` decoder, whose error message links `core::fmt`.
        #[borsh(deserialize_with = "tos_sdk::text::read_string")]
        pub name: String,
        #[borsh(deserialize_with = "tos_sdk::text::read_string")]
        pub symbol: String,
        pub decimals: u8,
    }

    /// Tokens moved from one account to another.
    #[event]
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct Transfer {
        pub from: Address,
        pub to: Address,
        pub amount: Amount,
    }

    /// New tokens created by the owner (`from` is `Address::ZERO`).
    #[event]
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct Mint {
        pub from: Address,
        pub to: Address,
        pub amount: Amount,
    }

    /// Errors of this contract beyond the SDK's (status 1000 + n).
    #[errors]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TokenError {
        /// Name or symbol too long.
        BadMetadata = 1,
    }

    const OWNER: Item<Address> = Item::new(b"owner");
    const META: Item<Metadata> = Item::new(b"meta");
    const SUPPLY: Item<Amount> = Item::new(b"supply");
    const BALANCES: Map<Address, Amount> = Map::new(b"b:");

    /// Creates the token; the caller becomes its owner and receives `initial_supply`.
    #[constructor]
    pub fn init(
        ctx: &Context,
        name: String,
        symbol: String,
        decimals: u8,
        initial_supply: Amount,
    ) -> Result<(), ContractError> {
        require(!OWNER.exists(), ContractError::AlreadyInitialized)?;
        require(
            name.len() <= 64 && symbol.len() <= 16,
            TokenError::BadMetadata,
        )?;
        let owner = ctx.caller();
        OWNER.set(&owner)?;
        META.set(&Metadata {
            name,
            symbol,
            decimals,
        })?;
        SUPPLY.set(&initial_supply)?;
        if !initial_supply.is_zero() {
            BALANCES.set(&owner, &initial_supply)?;
        }
        Ok(())
    }

    /// Owner only: creates `amount` new tokens for `to`.
    #[method]
    pub fn mint(ctx: &Context, to: Address, amount: Amount) -> Result<(), ContractError> {
        let owner = OWNER.load()?;
        require(ctx.caller() == owner, ContractError::Unauthorized)?;
        let supply = SUPPLY.load()?.try_add(amount)?;
        // Every balance is at most the supply, so this cannot overflow; checked anyway.
        let balance = BALANCES.get_or_default(&to)?.try_add(amount)?;
        SUPPLY.set(&supply)?;
        BALANCES.set(&to, &balance)?;
        Mint {
            from: Address::ZERO,
            to,
            amount,
        }
        .emit(ctx)
    }

    /// Moves `amount` of the caller's tokens to `to`.
    #[method]
    pub fn transfer(ctx: &Context, to: Address, amount: Amount) -> Result<(), ContractError> {
        require(OWNER.exists(), ContractError::NotInitialized)?;
        let from = ctx.caller();
        let from_balance = BALANCES.get_or_default(&from)?;
        // An overdraft fails with InsufficientFunds and changes nothing.
        let from_after = from_balance.try_sub(amount)?;
        if from != to {
            let to_after = BALANCES.get_or_default(&to)?.try_add(amount)?;
            BALANCES.set(&from, &from_after)?;
            BALANCES.set(&to, &to_after)?;
        }
        Transfer { from, to, amount }.emit(ctx)
    }

    /// Moves the caller's tokens to several accounts, all or nothing: if any transfer fails,
    /// the ones before it are undone with it.
    #[method]
    pub fn batch_transfer(
        ctx: &Context,
        transfers: Vec<(Address, Amount)>,
    ) -> Result<(), ContractError> {
        // Each transfer writes before the next is checked; a failure of a later one fails the
        // call, and the VM discards the earlier writes with it.
        for (to, amount) in transfers {
            transfer(ctx, to, amount)?;
        }
        Ok(())
    }

    /// The balance of `owner`.
    #[view]
    pub fn balance_of(_view: &View, owner: Address) -> Result<Amount, ContractError> {
        require(OWNER.exists(), ContractError::NotInitialized)?;
        BALANCES.get_or_default(&owner)
    }

    /// The total supply.
    #[view]
    pub fn total_supply() -> Result<Amount, ContractError> {
        SUPPLY.load()
    }

    /// The token's [`Metadata`].
    #[view]
    pub fn metadata() -> Result<Metadata, ContractError> {
        META.load()
    }
}
