//! Contract storage: a key → value map private to each contract. Writes go to the invoke's
//! journal and reach the store only when the whole invoke succeeds.

use tos_program_runtime::{
    compute::ComputeMeter,
    limits::{MAX_STORAGE_KEY_LEN, MAX_STORAGE_VALUE_LEN},
    memory,
    solana_sbpf::declare_builtin_function,
    InvokeContext,
};

use crate::{Cost, SyscallError, SyscallSpec};

/// Returned by `tos_storage_read` when the key has no value.
pub const NOT_FOUND: u64 = u64::MAX;

/// Fixed part of a read (one state lookup).
pub const STORAGE_READ_BASE_COST: u64 = 200;
/// Fixed part of a write (journal entry, later a database write).
pub const STORAGE_WRITE_BASE_COST: u64 = 1_000;
/// Fixed part of a delete.
pub const STORAGE_DELETE_BASE_COST: u64 = 500;
/// Per byte of key and of value read.
pub const STORAGE_READ_BYTE_COST: u64 = 1;
/// Per byte of key and value written: written bytes are kept by every node.
pub const STORAGE_WRITE_BYTE_COST: u64 = 4;
/// On top of a read, write or delete that is the transaction's first access to the key
/// ([`crate::ColdAccess`]): the key may have to come from the device. A cold read of the
/// on-disk store took 18-32 µs (docs/compute-units.md, "Calibration": 70-130× the time per
/// unit of plain code at 200 units); later accesses in the transaction are warm.
pub const STORAGE_COLD_ACCESS_COST: u64 = 6_000;

pub const TOS_STORAGE_READ: SyscallSpec = SyscallSpec {
    name: "tos_storage_read",
    family: "storage",
    cost: Cost::per_byte(
        STORAGE_READ_BASE_COST,
        "key_len + value_len",
        STORAGE_READ_BYTE_COST,
    )
    .cold(STORAGE_COLD_ACCESS_COST, "key"),
};
pub const TOS_STORAGE_WRITE: SyscallSpec = SyscallSpec {
    name: "tos_storage_write",
    family: "storage",
    cost: Cost::per_byte(
        STORAGE_WRITE_BASE_COST,
        "key_len + value_len",
        STORAGE_WRITE_BYTE_COST,
    )
    .cold(STORAGE_COLD_ACCESS_COST, "key"),
};
pub const TOS_STORAGE_DELETE: SyscallSpec = SyscallSpec {
    name: "tos_storage_delete",
    family: "storage",
    cost: Cost::per_byte(STORAGE_DELETE_BASE_COST, "key_len", STORAGE_READ_BYTE_COST)
        .cold(STORAGE_COLD_ACCESS_COST, "key"),
};

/// Charges [`STORAGE_COLD_ACCESS_COST`]: the journal calls it when a key is the transaction's
/// first access to it, before the store is read (`Journal::*_charged`: the same search finds
/// whether the key is warm and its value).
fn charge_cold_key(meter: &mut ComputeMeter) -> Result<(), SyscallError> {
    Ok(meter.charge(STORAGE_COLD_ACCESS_COST)?)
}

/// Limits are checked before anything is charged or translated: an oversized length is
/// refused as such, not as compute exhaustion.
fn check_key_len(key_len: u64) -> Result<(), SyscallError> {
    if key_len > MAX_STORAGE_KEY_LEN as u64 {
        return Err(SyscallError::KeyTooLong {
            len: key_len,
            limit: MAX_STORAGE_KEY_LEN,
        });
    }
    Ok(())
}

/// The key at `key_addr` in guest memory, in place (no copy): it is only read, and the
/// syscalls below write guest memory only after their last use of it.
///
/// # Safety
/// The returned slice must not be used after guest memory it may overlap was written.
unsafe fn guest_key<'k>(
    context: &mut InvokeContext<'static>,
    key_addr: u64,
    key_len: u64,
) -> Result<&'k [u8], SyscallError> {
    check_key_len(key_len)?;
    let key = memory::guest_bytes(context.memory(), key_addr, key_len, MAX_STORAGE_KEY_LEN)?;
    // SAFETY: a live range of guest memory (see `memory::guest_bytes`); the caller upholds the
    // rest.
    Ok(unsafe { &*key })
}

declare_builtin_function!(
    /// `tos_storage_read(key, key_len, out, out_len) -> value_len | NOT_FOUND`: copies
    /// `min(out_len, value_len)` bytes of the value into `out`.
    SyscallStorageRead,
    fn rust(
        context: &mut InvokeContext<'static>,
        key_addr: u64,
        key_len: u64,
        out_addr: u64,
        out_len: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        check_key_len(key_len)?;
        context.charge(STORAGE_READ_BASE_COST.saturating_add(key_len.saturating_mul(STORAGE_READ_BYTE_COST)))?;
        // SAFETY: the key's last use is the journal lookup, before guest memory is written.
        let key = unsafe { guest_key(context, key_addr, key_len)? };
        let contract = context.contract;
        // One lookup: the key's first access is charged, the value is charged for, then
        // copied from the journal straight into guest memory.
        let (journal, guest, meter) = context.journal_memory_and_meter();
        let Some(value) =
            journal.storage_value_charged(&contract, key, || charge_cold_key(meter))?
        else {
            return Ok(NOT_FOUND);
        };
        let value_len = value.len();
        meter.charge((value_len as u64).saturating_mul(STORAGE_READ_BYTE_COST))?;
        let copy_len = value_len.min(usize::try_from(out_len).unwrap_or(usize::MAX));
        memory::write_bytes(guest, out_addr, value.get(..copy_len).unwrap_or(value))?;
        Ok(value_len as u64)
    }
);

declare_builtin_function!(
    /// `tos_storage_write(key, key_len, value, value_len) -> 0`
    SyscallStorageWrite,
    fn rust(
        context: &mut InvokeContext<'static>,
        key_addr: u64,
        key_len: u64,
        value_addr: u64,
        value_len: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.require_writable("tos_storage_write")?;
        check_key_len(key_len)?;
        if value_len > MAX_STORAGE_VALUE_LEN as u64 {
            return Err(SyscallError::ValueTooLong { len: value_len, limit: MAX_STORAGE_VALUE_LEN });
        }
        let bytes = key_len.saturating_add(value_len);
        context.charge(STORAGE_WRITE_BASE_COST.saturating_add(bytes.saturating_mul(STORAGE_WRITE_BYTE_COST)))?;
        // SAFETY: this syscall only reads guest memory.
        let key = unsafe { guest_key(context, key_addr, key_len)? };
        let contract = context.contract;
        // The key's first access is charged first; then the value is copied from guest memory
        // straight into the journal (checked as `memory::read_bytes` checks it, before the
        // journal reads the key's original value).
        let (journal, guest, meter) = context.journal_memory_and_meter();
        journal.write_storage_charged(
            &contract,
            key,
            value_len as usize,
            || charge_cold_key(meter),
            || {
                let value =
                    memory::guest_bytes(guest, value_addr, value_len, MAX_STORAGE_VALUE_LEN)?;
                // SAFETY: a live range of guest memory, only read (into the journal) while
                // this syscall runs.
                Ok(unsafe { &*value })
            },
        )?;
        Ok(0)
    }
);

declare_builtin_function!(
    /// `tos_storage_delete(key, key_len) -> 1 if the key existed, else 0`
    SyscallStorageDelete,
    fn rust(
        context: &mut InvokeContext<'static>,
        key_addr: u64,
        key_len: u64,
        _arg3: u64,
        _arg4: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.require_writable("tos_storage_delete")?;
        check_key_len(key_len)?;
        context.charge(STORAGE_DELETE_BASE_COST.saturating_add(key_len.saturating_mul(STORAGE_READ_BYTE_COST)))?;
        // SAFETY: this syscall does not touch guest memory after reading the key.
        let key = unsafe { guest_key(context, key_addr, key_len)? };
        let contract = context.contract;
        let (journal, _, meter) = context.journal_memory_and_meter();
        let existed = journal.delete_storage_charged(&contract, key, || charge_cold_key(meter))?;
        Ok(u64::from(existed))
    }
);
