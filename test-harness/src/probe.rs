//! The syscall probe (`tests/contracts/probe/probe.c`): a C contract that runs a script of
//! syscalls given in its input, so tests can call every syscall with any arguments (valid, out
//! of bounds, read-only, huge) from real BPF code.
//!
//! ```no_run
//! use tos_test_harness::{probe::{self, op, Script, Value}, Check, Harness};
//!
//! let input = Script::new()
//!     .with_data(b"hello", |s, msg| s.call(op::LOG, &[msg, Value(5)]))
//!     .build(0);
//! let run = Harness::new().deploy(probe::elf()).invoke(&input);
//! run.expect(&[Check::success(), Check::log("hello")]);
//! assert_eq!(probe::results(&run), vec![0]);
//! ```

use crate::harness::Invocation;

pub const SCRATCH_TAG: u64 = 0x5C5C_0000_0000_0000;
pub const INPUT_TAG: u64 = 0x1A1A_0000_0000_0000;
const COMMAND_LEN: usize = 41;

/// An argument of a probe command.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    Value(u64),
    /// Address of `scratch[offset]`, a writable 512-byte stack buffer of the probe.
    Scratch(u16),
    /// Address of the script's data bytes at this offset.
    Data(usize),
}

pub use Arg::{Data, Scratch, Value};

/// Builds the probe contract's input: syscall commands, a final return, then data bytes.
#[derive(Default)]
pub struct Script {
    commands: Vec<(u8, [Arg; 5])>,
    data: Vec<u8>,
}

pub mod op {
    pub const LOG: u8 = 1;
    pub const PANIC: u8 = 2;
    pub const BLOCK_HASH: u8 = 3;
    pub const BLOCK_HEIGHT: u8 = 4;
    pub const TX_HASH: u8 = 5;
    pub const TX_SENDER: u8 = 6;
    pub const CONTRACT_HASH: u8 = 7;
    pub const GET_BALANCE: u8 = 8;
    pub const TRANSFER: u8 = 9;
    pub const STORAGE_READ: u8 = 10;
    pub const STORAGE_WRITE: u8 = 11;
    pub const STORAGE_DELETE: u8 = 12;
    pub const MEMCPY: u8 = 13;
    pub const MEMMOVE: u8 = 14;
    pub const MEMSET: u8 = 15;
    pub const MEMCMP: u8 = 16;
    pub const INVOKE: u8 = 17;
    pub const SET_RETURN_DATA: u8 = 18;
    pub const GET_RETURN_DATA: u8 = 19;
    pub const EMIT_EVENT: u8 = 20;
    pub const SHA256: u8 = 21;
    pub const KECCAK256: u8 = 22;
    pub const BLAKE3: u8 = 23;
    pub const ED25519_VERIFY: u8 = 24;
    pub const BLOCK_TIMESTAMP: u8 = 25;
    pub const CALLER: u8 = 26;
    pub const CALL_DEPTH: u8 = 27;
    pub const CALL_VALUE: u8 = 28;
    pub const SELF_BALANCE: u8 = 29;
    pub const CODE_HASH: u8 = 0x30;
    pub const ASSET_BALANCE: u8 = 0x31;
    pub const TRANSFER_ASSET: u8 = 0x32;
    pub const DEPOSIT_COUNT: u8 = 0x33;
    pub const DEPOSIT: u8 = 0x34;
    pub const DEPOSIT_AMOUNT: u8 = 0x35;
    pub const CREATE_CONTRACT: u8 = 0x36;
    pub const VARIANT: u8 = 0x21;
    pub const STORE_ADDRESS: u8 = 0x22;
    pub const ECHO_SCRATCH: u8 = 0x20;
    pub const SPIN: u8 = 0xFE;
    pub const RETURN: u8 = 0xFF;
}

impl Script {
    pub fn new() -> Self {
        Script::default()
    }

    /// Appends data bytes to the input; returns an argument pointing at them.
    pub fn data(&mut self, bytes: &[u8]) -> Arg {
        let offset = self.data.len();
        self.data.extend_from_slice(bytes);
        Data(offset)
    }

    pub fn call(mut self, op: u8, args: &[Arg]) -> Self {
        let mut full = [Value(0); 5];
        full[..args.len()].copy_from_slice(args);
        self.commands.push((op, full));
        self
    }

    pub fn with_data(mut self, bytes: &[u8], then: impl FnOnce(Self, Arg) -> Self) -> Self {
        let arg = self.data(bytes);
        then(self, arg)
    }

    /// Appends a `tos_storage_write` of `value` under `key` (both as data bytes).
    pub fn storage_write(self, key: &[u8], value: &[u8]) -> Self {
        self.with_data(key, |s, k| {
            s.with_data(value, |s, v| {
                s.call(
                    op::STORAGE_WRITE,
                    &[k, Value(key.len() as u64), v, Value(value.len() as u64)],
                )
            })
        })
    }

    /// Appends a `tos_storage_delete` of `key` (as data bytes).
    pub fn storage_delete(self, key: &[u8]) -> Self {
        self.with_data(key, |s, k| {
            s.call(op::STORAGE_DELETE, &[k, Value(key.len() as u64)])
        })
    }

    /// The input bytes; the script returns `status` after its commands.
    pub fn build(mut self, status: u64) -> Vec<u8> {
        self.commands.push((
            op::RETURN,
            [Value(status), Value(0), Value(0), Value(0), Value(0)],
        ));
        let data_base = self.commands.len() * COMMAND_LEN;
        let mut input = Vec::new();
        for (op, args) in &self.commands {
            input.push(*op);
            for arg in args {
                let value = match *arg {
                    Value(v) => v,
                    Scratch(offset) => SCRATCH_TAG | u64::from(offset),
                    Data(offset) => INPUT_TAG | (data_base + offset) as u64,
                };
                input.extend_from_slice(&value.to_le_bytes());
            }
        }
        input.extend_from_slice(&self.data);
        input
    }
}

/// The probe contract, built from source (cached).
pub fn elf() -> Vec<u8> {
    let dir = crate::fixtures::workspace_root().join("tests/contracts/probe");
    crate::fixtures::build_contract_cached(&dir).unwrap_or_else(|e| panic!("{e}"))
}

/// The `r=` results the probe logged (one per syscall), in order.
pub fn results(run: &Invocation) -> Vec<u64> {
    run.logs()
        .iter()
        .filter_map(|l| l.strip_prefix("r="))
        .map(|hex| u64::from_str_radix(hex, 16).expect("probe logs hex"))
        .collect()
}

/// The `s=` scratch echoes the probe logged, decoded.
pub fn echoes(run: &Invocation) -> Vec<Vec<u8>> {
    run.logs()
        .iter()
        .filter_map(|l| l.strip_prefix("s="))
        .map(|text| hex::decode(text).expect("probe logs hex"))
        .collect()
}
