//! Chain context: the block, the transaction and the running contract's own hash.

use tos_program_runtime::{memory, solana_sbpf::declare_builtin_function, InvokeContext};

use crate::{Cost, SyscallError, SyscallSpec};

/// Every chain getter costs the same: it copies at most 32 bytes of data the host already has.
pub const CHAIN_GETTER_COST: u64 = 50;

pub const TOS_GET_BLOCK_HASH: SyscallSpec = SyscallSpec {
    name: "tos_get_block_hash",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_BLOCK_HEIGHT: SyscallSpec = SyscallSpec {
    name: "tos_get_block_height",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_TX_HASH: SyscallSpec = SyscallSpec {
    name: "tos_get_tx_hash",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_TX_SENDER: SyscallSpec = SyscallSpec {
    name: "tos_get_tx_sender",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_CONTRACT_HASH: SyscallSpec = SyscallSpec {
    name: "tos_get_contract_hash",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};

fn write_hash(
    context: &mut InvokeContext<'static>,
    out_addr: u64,
    pick: fn(&InvokeContext<'static>) -> [u8; 32],
) -> Result<u64, SyscallError> {
    context.charge(CHAIN_GETTER_COST)?;
    let hash = pick(context);
    memory::write_bytes(context.memory(), out_addr, &hash)?;
    Ok(0)
}

declare_builtin_function!(
    /// `tos_get_block_hash(out[32]) -> 0`
    SyscallGetBlockHash,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        write_hash(context, out_addr, |c| c.block.hash.0)
    }
);

declare_builtin_function!(
    /// `tos_get_block_height() -> height`
    SyscallGetBlockHeight,
    fn rust(
        context: &mut InvokeContext<'static>,
        _arg1: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.charge(CHAIN_GETTER_COST)?;
        Ok(context.block.height)
    }
);

declare_builtin_function!(
    /// `tos_get_tx_hash(out[32]) -> 0`
    SyscallGetTxHash,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        write_hash(context, out_addr, |c| c.transaction.hash.0)
    }
);

declare_builtin_function!(
    /// `tos_get_tx_sender(out[32]) -> 0`
    SyscallGetTxSender,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        write_hash(context, out_addr, |c| c.transaction.sender.0)
    }
);

declare_builtin_function!(
    /// `tos_get_contract_hash(out[32]) -> 0`
    SyscallGetContractHash,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        write_hash(context, out_addr, |c| c.contract.0)
    }
);

pub const TOS_GET_CODE_HASH: SyscallSpec = SyscallSpec {
    name: "tos_get_code_hash",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};

declare_builtin_function!(
    /// `tos_get_code_hash(out[32]) -> 0`: the code hash the running contract runs (shared by
    /// every instance of that code; `tos_get_contract_hash` is the instance's address).
    SyscallGetCodeHash,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        write_hash(context, out_addr, |c| c.frame().code_hash.0)
    }
);

pub const TOS_GET_BLOCK_TIMESTAMP: SyscallSpec = SyscallSpec {
    name: "tos_get_block_timestamp",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_CALLER: SyscallSpec = SyscallSpec {
    name: "tos_get_caller",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_CALL_DEPTH: SyscallSpec = SyscallSpec {
    name: "tos_get_call_depth",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};
pub const TOS_GET_CALL_VALUE: SyscallSpec = SyscallSpec {
    name: "tos_get_call_value",
    family: "chain",
    cost: Cost::flat(CHAIN_GETTER_COST),
};

fn read_number(
    context: &mut InvokeContext<'static>,
    pick: fn(&InvokeContext<'static>) -> u64,
) -> Result<u64, SyscallError> {
    context.charge(CHAIN_GETTER_COST)?;
    Ok(pick(context))
}

declare_builtin_function!(
    /// `tos_get_block_timestamp() -> seconds since the Unix epoch` (the block's, by consensus)
    SyscallGetBlockTimestamp,
    fn rust(
        context: &mut InvokeContext<'static>,
        _arg1: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        read_number(context, |c| c.block.timestamp)
    }
);

declare_builtin_function!(
    /// `tos_get_caller(out[32]) -> 0`: the transaction sender for a top-level call, the
    /// calling contract for a nested one.
    SyscallGetCaller,
    fn rust(
        context: &mut InvokeContext<'static>,
        out_addr: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        write_hash(context, out_addr, |c| c.frame().caller.0)
    }
);

declare_builtin_function!(
    /// `tos_get_call_depth() -> depth`: 1 for a top-level call, +1 per nested `tos_invoke`.
    SyscallGetCallDepth,
    fn rust(
        context: &mut InvokeContext<'static>,
        _arg1: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        read_number(context, |c| c.depth() as u64)
    }
);

declare_builtin_function!(
    /// `tos_get_call_value() -> amount`: native value the caller sent with this call.
    SyscallGetCallValue,
    fn rust(
        context: &mut InvokeContext<'static>,
        _arg1: u64,
        _arg2: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        read_number(context, |c| c.frame().value)
    }
);
