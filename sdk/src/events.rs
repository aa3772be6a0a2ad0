//! Events: records a successful call leaves for indexers and wallets (dropped if it fails).

use crate::{syscalls, ContractError};

/// Longest topic, in bytes.
pub const MAX_TOPIC_LEN: usize = tos_abi::limits::MAX_EVENT_TOPIC_LEN;
/// Largest event data, in bytes.
pub const MAX_EVENT_DATA_LEN: usize = tos_abi::limits::MAX_EVENT_DATA_LEN;

/// Emits an event with raw data. A topic over [`MAX_TOPIC_LEN`] or data over
/// [`MAX_EVENT_DATA_LEN`] bytes aborts the call. Cost 100 + 2 × (topic + data length).
pub fn emit_raw(topic: &[u8], data: &[u8]) {
    // SAFETY: both slices are valid for reads of their lengths.
    unsafe {
        syscalls::tos_emit_event(
            topic.as_ptr(),
            topic.len() as u64,
            data.as_ptr(),
            data.len() as u64,
        );
    }
}

/// Emits an event whose data is the borsh encoding of `value`.
pub fn emit<T: borsh::BorshSerialize + ?Sized>(
    topic: &str,
    value: &T,
) -> Result<(), ContractError> {
    if topic.len() > MAX_TOPIC_LEN {
        return Err(ContractError::ValueTooLarge);
    }
    // Data over MAX_EVENT_DATA_LEN bytes does not fit: ValueTooLarge.
    let mut buf = [core::mem::MaybeUninit::uninit(); MAX_EVENT_DATA_LEN];
    let mut writer = crate::codec::SliceWriter::new(&mut buf);
    value
        .serialize(&mut writer)
        .map_err(|_| ContractError::ValueTooLarge)?;
    emit_raw(
        topic.as_bytes(),
        writer.written().ok_or(ContractError::ValueTooLarge)?,
    );
    Ok(())
}
