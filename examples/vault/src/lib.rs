//! vault: holds native TOS and releases it on a condition.
//!
//! `Deposit` locks the value sent with the call for a beneficiary until a block height;
//! `Withdraw`, sent by the beneficiary at or after that height, moves the amount out of the
//! contract's own balance with `tos_transfer`. Each deposit gets an id (0, 1, ...), returned as
//! return data (borsh `u64`). Errors: `ZeroDeposit` (status 1001), `TooEarly` (1002),
//! `Unauthorized` (3), `NotFound` (6).

#![cfg_attr(not(test), no_std)]

use tos_sdk::call::set_return_value;
use tos_sdk::prelude::*;

/// What a call asks for.
#[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// Locks the call's value for `beneficiary` until block `unlock_height`.
    Deposit {
        beneficiary: Address,
        unlock_height: u64,
    },
    /// Beneficiary only, from `unlock_height` on: pays the lock out and forgets it.
    Withdraw { id: u64 },
    /// Return data: the [`Lock`].
    Get { id: u64 },
}

/// One deposit.
#[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub depositor: Address,
    pub beneficiary: Address,
    pub amount: Amount,
    pub unlock_height: u64,
}

/// Errors of this contract (status 1000 + n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultError {
    /// A deposit must carry value.
    ZeroDeposit = 1,
    /// The unlock height has not been reached.
    TooEarly = 2,
}

impl From<VaultError> for ContractError {
    fn from(error: VaultError) -> Self {
        ContractError::Custom(error as u32)
    }
}

const NEXT_ID: Item<u64> = Item::new(b"next");
const LOCKS: Map<u64, Lock> = Map::new(b"lock:");

entrypoint!(process);

/// Runs one instruction.
pub fn process(ctx: &Context, input: &[u8]) -> Result<(), ContractError> {
    match Instruction::try_from_slice(input)? {
        Instruction::Deposit {
            beneficiary,
            unlock_height,
        } => {
            let amount = ctx.call_value();
            require(!amount.is_zero(), VaultError::ZeroDeposit)?;
            let id = NEXT_ID.get_or_default()?;
            LOCKS.set(
                &id,
                &Lock {
                    depositor: ctx.caller(),
                    beneficiary,
                    amount,
                    unlock_height,
                },
            )?;
            NEXT_ID.set(&id.checked_add(1).ok_or(ContractError::ArithmeticOverflow)?)?;
            set_return_value(&id)
        }
        Instruction::Withdraw { id } => {
            let lock = LOCKS.get(&id)?.ok_or(ContractError::NotFound)?;
            require(
                ctx.caller() == lock.beneficiary,
                ContractError::Unauthorized,
            )?;
            require(
                ctx.block_height() >= lock.unlock_height,
                VaultError::TooEarly,
            )?;
            require(
                ctx.balance() >= lock.amount,
                ContractError::InsufficientFunds,
            )?;
            // Forget the lock before paying (a failed transfer reverts both anyway).
            LOCKS.remove(&id)?;
            ctx.transfer(&lock.beneficiary, lock.amount);
            let mut line = LogLine::<64>::new();
            line.str("released ").u64(lock.amount.get()).log();
            Ok(())
        }
        Instruction::Get { id } => {
            set_return_value(&LOCKS.get(&id)?.ok_or(ContractError::NotFound)?)
        }
    }
}
