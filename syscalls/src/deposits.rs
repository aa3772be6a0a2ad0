//! The deposits of the running call: what its sender moved to the contract, by asset, before
//! the contract ran. A top-level call has the transaction's deposits (in ascending asset
//! order); a nested call (`tos_invoke`) has its native value, if any.

use tos_program_runtime::{memory, solana_sbpf::declare_builtin_function, InvokeContext};

use crate::{Cost, SyscallError, SyscallSpec};

/// Reading the deposit count.
pub const DEPOSIT_COUNT_COST: u64 = 50;
/// Reading one deposit (a lookup in at most 255 entries).
pub const DEPOSIT_READ_COST: u64 = 100;

pub const TOS_GET_DEPOSIT_COUNT: SyscallSpec = SyscallSpec {
    name: "tos_get_deposit_count",
    family: "deposits",
    cost: Cost::flat(DEPOSIT_COUNT_COST),
};
pub const TOS_GET_DEPOSIT: SyscallSpec = SyscallSpec {
    name: "tos_get_deposit",
    family: "deposits",
    cost: Cost::flat(DEPOSIT_READ_COST),
};
pub const TOS_GET_DEPOSIT_AMOUNT: SyscallSpec = SyscallSpec {
    name: "tos_get_deposit_amount",
    family: "deposits",
    cost: Cost::flat(DEPOSIT_READ_COST),
};

declare_builtin_function!(
    /// `tos_get_deposit_count() -> number of assets deposited with this call`
    SyscallGetDepositCount,
    fn rust(
        context: &mut InvokeContext<'static>,
        _arg1: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(DEPOSIT_COUNT_COST)?;
        Ok(context.deposits().len() as u64)
    }
);

declare_builtin_function!(
    /// `tos_get_deposit(index, asset_out[32]) -> amount`: the `index`-th deposit in ascending
    /// asset order; `DepositIndexOutOfRange` when `index >= tos_get_deposit_count()`.
    SyscallGetDeposit,
    fn rust(
        context: &mut InvokeContext<'static>,
        index: u64,
        asset_out: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(DEPOSIT_READ_COST)?;
        let deposits = context.deposits();
        let count = deposits.len() as u64;
        let (asset, amount) = usize::try_from(index)
            .ok()
            .and_then(|index| deposits.iter().nth(index))
            .map(|(asset, amount)| (*asset, *amount))
            .ok_or(SyscallError::DepositIndexOutOfRange { index, count })?;
        memory::write_bytes(context.memory(), asset_out, &asset.0)?;
        Ok(amount)
    }
);

declare_builtin_function!(
    /// `tos_get_deposit_amount(asset[32]) -> amount of asset deposited with this call (0 if none)`
    SyscallGetDepositAmount,
    fn rust(
        context: &mut InvokeContext<'static>,
        asset_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(DEPOSIT_READ_COST)?;
        let asset = memory::read_hash(context.memory(), asset_addr)?;
        Ok(context.deposits().get(&asset).copied().unwrap_or(0))
    }
);
