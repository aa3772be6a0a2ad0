//! Resource limits of one invoke: [`tos_abi::limits`], the one source the VM, the syscalls and
//! the SDK (contracts and host mode) share.

pub use tos_abi::limits::*;
