//! token: a fungible token.
//!
//! Instructions are borsh-encoded [`Instruction`]s. The account that sends `Init` owns the
//! token; only it may `Mint`. Balances and the total supply are [`Amount`]s (u64); every
//! change is checked: a transfer above the sender's balance fails with
//! `InsufficientFunds` (status 4), a mint past `u64::MAX` with `ArithmeticOverflow` (5), a
//! mint by anyone but the owner with `Unauthorized` (3). Queries (`BalanceOf`, `TotalSupply`)
//! answer through return data (a borsh `Amount`).
//!
//! Storage layout: `owner` → Address, `meta` → [`Metadata`], `supply` → Amount,
//! `b:` ++ address → Amount.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::string::String;
use tos_sdk::call::set_return_value;
use tos_sdk::events;
use tos_sdk::prelude::*;

/// What a call asks for.
#[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// Creates the token; the caller becomes its owner and receives `initial_supply`.
    Init {
        name: String,
        symbol: String,
        decimals: u8,
        initial_supply: Amount,
    },
    /// Owner only: creates `amount` new tokens for `to`.
    Mint { to: Address, amount: Amount },
    /// Moves `amount` of the caller's tokens to `to`.
    Transfer { to: Address, amount: Amount },
    /// Return data: the balance of `owner`.
    BalanceOf { owner: Address },
    /// Return data: the total supply.
    TotalSupply,
    /// Return data: the token's [`Metadata`].
    Metadata,
    /// Moves the caller's tokens to several accounts, all or nothing: if any transfer fails,
    /// the ones before it are undone with it.
    BatchTransfer { transfers: alloc::vec::Vec<(Address, Amount)> },
}

/// The token's description.
#[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
}

/// Data of the `transfer` and `mint` events.
#[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
pub struct TransferEvent {
    /// `Address::ZERO` for a mint.
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
}

/// Errors of this contract beyond the SDK's (status 1000 + n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Name or symbol too long.
    BadMetadata = 1,
}

impl From<TokenError> for ContractError {
    fn from(error: TokenError) -> Self {
        ContractError::Custom(error as u32)
    }
}

const OWNER: Item<Address> = Item::new(b"owner");
const META: Item<Metadata> = Item::new(b"meta");
const SUPPLY: Item<Amount> = Item::new(b"supply");
const BALANCES: Map<Address, Amount> = Map::new(b"b:");

entrypoint!(process);

/// Runs one instruction.
pub fn process(ctx: &Context, input: &[u8]) -> Result<(), ContractError> {
    match Instruction::try_from_slice(input)? {
        Instruction::Init {
            name,
            symbol,
            decimals,
            initial_supply,
        } => init(ctx, name, symbol, decimals, initial_supply),
        Instruction::Mint { to, amount } => mint(ctx, &to, amount),
        Instruction::Transfer { to, amount } => transfer(ctx, &to, amount),
        Instruction::BalanceOf { owner } => {
            require(OWNER.exists(), ContractError::NotInitialized)?;
            set_return_value(&BALANCES.get_or_default(&owner)?)
        }
        Instruction::TotalSupply => set_return_value(&SUPPLY.load()?),
        Instruction::Metadata => set_return_value(&META.load()?),
        Instruction::BatchTransfer { transfers } => {
            // Each transfer writes before the next is checked; a failure of a later one fails
            // the call, and the VM discards the earlier writes with it.
            for (to, amount) in transfers {
                transfer(ctx, &to, amount)?;
            }
            Ok(())
        }
    }
}

fn init(
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

fn mint(ctx: &Context, to: &Address, amount: Amount) -> Result<(), ContractError> {
    let owner = OWNER.load()?;
    require(ctx.caller() == owner, ContractError::Unauthorized)?;
    let supply = SUPPLY.load()?.try_add(amount)?;
    // Every balance is at most the supply, so this cannot overflow; checked anyway.
    let balance = BALANCES.get_or_default(to)?.try_add(amount)?;
    SUPPLY.set(&supply)?;
    BALANCES.set(to, &balance)?;
    events::emit(
        "mint",
        &TransferEvent {
            from: Address::ZERO,
            to: *to,
            amount,
        },
    )
}

fn transfer(ctx: &Context, to: &Address, amount: Amount) -> Result<(), ContractError> {
    require(OWNER.exists(), ContractError::NotInitialized)?;
    let from = ctx.caller();
    let from_balance = BALANCES.get_or_default(&from)?;
    // An overdraft fails with InsufficientFunds and changes nothing.
    let from_after = from_balance.try_sub(amount)?;
    if from != *to {
        let to_after = BALANCES.get_or_default(to)?.try_add(amount)?;
        BALANCES.set(&from, &from_after)?;
        BALANCES.set(to, &to_after)?;
    }
    events::emit(
        "transfer",
        &TransferEvent {
            from,
            to: *to,
            amount,
        },
    )
}
