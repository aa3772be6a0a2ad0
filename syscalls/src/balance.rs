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
/// On top of each balance (an account in an asset) the transaction touches first
/// ([`crate::ColdAccess`]): it may have to come from the device. A cold balance read of the
/// on-disk store took about 24 µs (docs/compute-units.md, "Calibration": 68× the time per unit
/// of plain code at 200 units); later accesses in the transaction are warm.
pub const BALANCE_COLD_ACCESS_COST: u64 = 6_000;

/// Charges [`BALANCE_COLD_ACCESS_COST`] when the balance of `account` in `asset` is the
/// transaction's first access to it, before the store is read.
fn charge_cold_balance(
    context: &mut InvokeContext<'static>,
    account: &Hash,
    asset: &Hash,
) -> Result<(), SyscallError> {
    if !context.journal.balance_is_warm(account, asset) {
        context.charge(BALANCE_COLD_ACCESS_COST)?;
    }
    Ok(())
}

/// The asset at `asset_addr`, or the native asset for the native-only syscalls.
fn read_asset(
    context: &mut InvokeContext<'static>,
    asset_addr: Option<u64>,
) -> Result<Hash, SyscallError> {
    Ok(match asset_addr {
        Some(addr) => memory::read_hash(context.memory(), addr)?,
        None => NATIVE_ASSET,
    })
}

/// `tos_get_balance` and `tos_get_asset_balance`: charge, then read the account and the asset.
fn balance_of(
    context: &mut InvokeContext<'static>,
    address_addr: u64,
    asset_addr: Option<u64>,
) -> Result<u64, SyscallError> {
    context.charge(GET_BALANCE_COST)?;
    let account = memory::read_hash(context.memory(), address_addr)?;
    let asset = read_asset(context, asset_addr)?;
    charge_cold_balance(context, &account, &asset)?;
    Ok(context.journal.balance(&account, &asset)?)
}

/// `tos_transfer` and `tos_transfer_asset`: charge, read the recipient and the asset, then move
/// `amount` from the running contract. The journal refuses zero, insufficient and overflowing
/// amounts, changing nothing.
fn transfer_out(
    context: &mut InvokeContext<'static>,
    recipient_addr: u64,
    asset_addr: Option<u64>,
    amount: u64,
) -> Result<u64, SyscallError> {
    context.require_writable("a transfer")?;
    context.charge(TRANSFER_COST)?;
    let recipient = memory::read_hash(context.memory(), recipient_addr)?;
    let asset = read_asset(context, asset_addr)?;
    let sender = context.contract;
    charge_cold_balance(context, &sender, &asset)?;
    if recipient != sender {
        charge_cold_balance(context, &recipient, &asset)?;
    }
    context
        .journal
        .transfer(&sender, &recipient, &asset, amount)?;
    Ok(0)
}

pub const TOS_GET_BALANCE: SyscallSpec = SyscallSpec {
    name: "tos_get_balance",
    family: "balance",
    cost: Cost::flat(GET_BALANCE_COST).cold(BALANCE_COLD_ACCESS_COST, "balance"),
};
pub const TOS_TRANSFER: SyscallSpec = SyscallSpec {
    name: "tos_transfer",
    family: "balance",
    cost: Cost::flat(TRANSFER_COST).cold(BALANCE_COLD_ACCESS_COST, "balance"),
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
        balance_of(context, address_addr, None)
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
        transfer_out(context, recipient_addr, None, amount)
    }
);

pub const TOS_GET_SELF_BALANCE: SyscallSpec = SyscallSpec {
    name: "tos_get_self_balance",
    family: "balance",
    cost: Cost::flat(GET_BALANCE_COST).cold(BALANCE_COLD_ACCESS_COST, "balance"),
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
        charge_cold_balance(context, &contract, &NATIVE_ASSET)?;
        Ok(context.journal.balance(&contract, &NATIVE_ASSET)?)
    }
);

pub const TOS_GET_ASSET_BALANCE: SyscallSpec = SyscallSpec {
    name: "tos_get_asset_balance",
    family: "balance",
    cost: Cost::flat(GET_BALANCE_COST).cold(BALANCE_COLD_ACCESS_COST, "balance"),
};
pub const TOS_TRANSFER_ASSET: SyscallSpec = SyscallSpec {
    name: "tos_transfer_asset",
    family: "balance",
    cost: Cost::flat(TRANSFER_COST).cold(BALANCE_COLD_ACCESS_COST, "balance"),
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
        balance_of(context, address_addr, Some(asset_addr))
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
        transfer_out(context, recipient_addr, Some(asset_addr), amount)
    }
);
