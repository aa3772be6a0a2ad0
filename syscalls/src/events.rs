//! Structured events: a topic and a payload, recorded in the invoke's result apart from
//! free-text logs. Events of a frame that fails are dropped with its other effects.

use tos_program_runtime::{
    limits::{MAX_EVENT_DATA_LEN, MAX_EVENT_TOPIC_LEN},
    memory,
    solana_sbpf::declare_builtin_function,
    InvokeContext,
};

use crate::{Cost, SyscallError, SyscallSpec};

/// Fixed part of an event.
pub const EVENT_BASE_COST: u64 = 100;
/// Per byte of topic and data: events are kept by nodes and indexers.
pub const EVENT_BYTE_COST: u64 = 2;

pub const TOS_EMIT_EVENT: SyscallSpec = SyscallSpec {
    name: "tos_emit_event",
    family: "events",
    cost: Cost::per_byte(EVENT_BASE_COST, "topic_len + data_len", EVENT_BYTE_COST),
};

declare_builtin_function!(
    /// `tos_emit_event(topic, topic_len, data, data_len) -> 0`
    SyscallEmitEvent,
    fn rust(
        context: &mut InvokeContext<'static>,
        topic_addr: u64,
        topic_len: u64,
        data_addr: u64,
        data_len: u64,
        _arg5: u64,
    ) -> Result<u64, SyscallError> {
        context.require_writable("tos_emit_event")?;
        if topic_len > MAX_EVENT_TOPIC_LEN as u64 {
            return Err(SyscallError::EventTooLarge { what: "topic", len: topic_len, limit: MAX_EVENT_TOPIC_LEN });
        }
        if data_len > MAX_EVENT_DATA_LEN as u64 {
            return Err(SyscallError::EventTooLarge { what: "data", len: data_len, limit: MAX_EVENT_DATA_LEN });
        }
        context.charge(EVENT_BASE_COST + EVENT_BYTE_COST * (topic_len + data_len))?;
        let topic = memory::read_bytes(context.memory(), topic_addr, topic_len, MAX_EVENT_TOPIC_LEN)?;
        let data = memory::read_bytes(context.memory(), data_addr, data_len, MAX_EVENT_DATA_LEN)?;
        context.push_event(topic, data).map_err(|_| SyscallError::EventLimitExceeded)?;
        Ok(0)
    }
);
