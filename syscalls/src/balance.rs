//! Balances in any asset: reading any account's balance, and transfers out of the running
//! contract's own account. `tos_get_balance`, `tos_get_self_balance` and `tos_transfer` are
//! the native asset's shorthands.

use tos_program_runtime::{memory, solana_sbpf::declare_builtin_function, InvokeContext};
use tos_storage::{Hash, NATIVE_ASSET};

use crate::{Cost, SyscallError, SyscallSpec};

/// A balance read is one state lookup.
pub const GET_BALANCE_COST: u64 = 200;
/// A transfer reads and writes two balances.
pub const TRANSFER_COST: u64 = 1_000;

pub const TOS_GET_BALANCE: SyscallSpec = SyscallSpec {
    name: "tos_get_balance",
    family: "balance",
    cost: Cost::flat(GET_BALANCE_COST),
};
pub const TOS_TRANSFER: SyscallSpec = SyscallSpec {
    name: "tos_transfer",
    family: "balance",
    cost: Cost::flat(TRANSFER_COST),
};

declare_builtin_function!(
    /// `tos_get_balance(address[32]) -> native balance`
    SyscallGetBalance,
    fn rust(
        context: &mut InvokeContext<'static>,
        address_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(GET_BALANCE_COST)?;
        let account = Hash(memory::read_array::<32>(context.memory(), address_addr)?);
        Ok(context.journal.balance(&account, &NATIVE_ASSET)?)
    }
);

declare_builtin_function!(
    /// `tos_transfer(recipient[32], amount) -> 0`: moves `amount` of the native asset from the
    /// running contract to `recipient`. Zero, insufficient and overflowing amounts abort the
    /// invoke. A transfer to the contract itself only checks that the balance covers it.
    SyscallTransfer,
    fn rust(
        context: &mut InvokeContext<'static>,
        recipient_addr: u64,
        amount: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(TRANSFER_COST)?;
        let recipient = Hash(memory::read_array::<32>(context.memory(), recipient_addr)?);
        let sender = context.contract;
        // The journal refuses zero, insufficient and overflowing amounts, changing nothing.
        context.journal.transfer(&sender, &recipient, &NATIVE_ASSET, amount)?;
        Ok(0)
    }
);

pub const TOS_GET_SELF_BALANCE: SyscallSpec = SyscallSpec {
    name: "tos_get_self_balance",
    family: "balance",
    cost: Cost::flat(GET_BALANCE_COST),
};

declare_builtin_function!(
    /// `tos_get_self_balance() -> native balance of the running contract`
    SyscallGetSelfBalance,
    fn rust(
        context: &mut InvokeContext<'static>,
        _arg1: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(GET_BALANCE_COST)?;
        let contract = context.contract;
        Ok(context.journal.balance(&contract, &NATIVE_ASSET)?)
    }
);

pub const TOS_GET_ASSET_BALANCE: SyscallSpec = SyscallSpec {
    name: "tos_get_asset_balance",
    family: "balance",
    cost: Cost::flat(GET_BALANCE_COST),
};
pub const TOS_TRANSFER_ASSET: SyscallSpec = SyscallSpec {
    name: "tos_transfer_asset",
    family: "balance",
    cost: Cost::flat(TRANSFER_COST),
};

declare_builtin_function!(
    /// `tos_get_asset_balance(address[32], asset[32]) -> balance of address in asset`
    SyscallGetAssetBalance,
    fn rust(
        context: &mut InvokeContext<'static>,
        address_addr: u64,
        asset_addr: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(GET_BALANCE_COST)?;
        let account = Hash(memory::read_array::<32>(context.memory(), address_addr)?);
        let asset = Hash(memory::read_array::<32>(context.memory(), asset_addr)?);
        Ok(context.journal.balance(&account, &asset)?)
    }
);

declare_builtin_function!(
    /// `tos_transfer_asset(recipient[32], asset[32], amount) -> 0`: moves `amount` of `asset`
    /// from the running contract to `recipient`; refused like `tos_transfer`.
    SyscallTransferAsset,
    fn rust(
        context: &mut InvokeContext<'static>,
        recipient_addr: u64,
        asset_addr: u64,
        amount: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(TRANSFER_COST)?;
        let recipient = Hash(memory::read_array::<32>(context.memory(), recipient_addr)?);
        let asset = Hash(memory::read_array::<32>(context.memory(), asset_addr)?);
        let sender = context.contract;
        context.journal.transfer(&sender, &recipient, &asset, amount)?;
        Ok(0)
    }
);
