//! Memory operations on guest memory, so contracts do not pay a BPF loop per byte (and so the
//! SDK can route the compiler's `memcpy`/`memmove`/`memset`/`memcmp` to the host).
//!
//! As in Agave's `mem_ops`: `tos_memcpy` refuses overlapping ranges (use `tos_memmove`), every
//! range is translated with bounds and permission checks, and the cost grows with the length.

use tos_program_runtime::{memory, solana_sbpf::declare_builtin_function, InvokeContext};

use crate::{Cost, SyscallError, SyscallSpec};

/// Fixed part of every memory operation.
pub const MEM_OP_BASE_COST: u64 = 10;
/// One extra unit per this many bytes (copy, move, set).
pub const MEM_OP_BYTES_PER_UNIT: u64 = 64;
/// `tos_memcmp`'s rate: one unit per this many compared bytes. Comparing runs about 15× slower
/// per byte than copying (docs/compute-units.md, "Calibration": 128 KiB took 44 µs, 21 ns a
/// unit at 1 unit per 64 bytes).
pub const MEMCMP_BYTES_PER_UNIT: u64 = 8;
/// Longest range one call may touch (larger than any region a contract has).
pub const MAX_MEM_OP_LEN: usize = tos_abi::limits::MAX_MEM_OP_LEN;

pub const TOS_MEMCPY: SyscallSpec = SyscallSpec {
    name: "tos_memcpy",
    family: "mem",
    cost: Cost::per_unit(MEM_OP_BASE_COST, "n", MEM_OP_BYTES_PER_UNIT),
};
pub const TOS_MEMMOVE: SyscallSpec = SyscallSpec {
    name: "tos_memmove",
    family: "mem",
    cost: Cost::per_unit(MEM_OP_BASE_COST, "n", MEM_OP_BYTES_PER_UNIT),
};
pub const TOS_MEMSET: SyscallSpec = SyscallSpec {
    name: "tos_memset",
    family: "mem",
    cost: Cost::per_unit(MEM_OP_BASE_COST, "n", MEM_OP_BYTES_PER_UNIT),
};
pub const TOS_MEMCMP: SyscallSpec = SyscallSpec {
    name: "tos_memcmp",
    family: "mem",
    cost: Cost::per_unit(MEM_OP_BASE_COST, "n", MEMCMP_BYTES_PER_UNIT),
};

fn charge_and_check(
    context: &mut InvokeContext<'static>,
    len: u64,
    spec: SyscallSpec,
) -> Result<(), SyscallError> {
    if len > MAX_MEM_OP_LEN as u64 {
        return Err(SyscallError::MemOpTooLong {
            len,
            limit: MAX_MEM_OP_LEN,
        });
    }
    context.charge(spec.cost.units(len))?;
    Ok(())
}

fn copy(
    context: &mut InvokeContext<'static>,
    dst: u64,
    src: u64,
    len: u64,
) -> Result<u64, SyscallError> {
    memory::copy_within(context.memory(), dst, src, len)?;
    // C's memcpy returns its destination; so do we, so the link step can bind `memcpy` here.
    Ok(dst)
}

/// Whether `[a, a+len)` and `[b, b+len)` share a byte (ranges already checked not to wrap).
fn overlapping(a: u64, b: u64, len: u64) -> bool {
    len != 0 && a.abs_diff(b) < len
}

declare_builtin_function!(
    /// `tos_memcpy(dst, src, n) -> dst`; overlapping ranges abort with `CopyOverlapping`.
    SyscallMemcpy,
    fn rust(
        context: &mut InvokeContext<'static>,
        dst: u64,
        src: u64,
        len: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        charge_and_check(context, len, TOS_MEMCPY)?;
        if overlapping(dst, src, len) {
            return Err(SyscallError::CopyOverlapping);
        }
        copy(context, dst, src, len)
    }
);

declare_builtin_function!(
    /// `tos_memmove(dst, src, n) -> dst`; ranges may overlap.
    SyscallMemmove,
    fn rust(
        context: &mut InvokeContext<'static>,
        dst: u64,
        src: u64,
        len: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        charge_and_check(context, len, TOS_MEMMOVE)?;
        copy(context, dst, src, len)
    }
);

declare_builtin_function!(
    /// `tos_memset(dst, byte, n) -> dst`
    SyscallMemset,
    fn rust(
        context: &mut InvokeContext<'static>,
        dst: u64,
        byte: u64,
        len: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        charge_and_check(context, len, TOS_MEMSET)?;
        memory::fill(context.memory(), dst, byte as u8, len)?;
        Ok(dst)
    }
);

declare_builtin_function!(
    /// `tos_memcmp(a, b, n) -> <0 | 0 | >0` as a sign-extended 32-bit value, like C's memcmp:
    /// the difference of the first differing bytes.
    SyscallMemcmp,
    fn rust(
        context: &mut InvokeContext<'static>,
        a: u64,
        b: u64,
        len: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        charge_and_check(context, len, TOS_MEMCMP)?;
        let difference = memory::compare(context.memory(), a, b, len)?;
        Ok(difference as u64)
    }
);
