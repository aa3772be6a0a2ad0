//! The payloads of deploy and invoke transactions, shaped like the TOS chain's
//! (`DeployContractPayload`, `InvokeContractPayload`), and everything that can refuse them.

use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;
use tos_loader::LoaderError;
use tos_program_runtime::{
    check_deposits,
    compute::{loaded_segment_bytes, LoadedSegments},
    limits::{MAX_DEPOSITS, MAX_INPUT_LEN},
    BlockContext, Deposits, RuntimeError, TransactionContext,
};
use tos_storage::{ChangeSet, Hash, StateGrowth, StorageProvider};

use crate::{
    error::VmError,
    pending::PendingState,
    vm::{code_hash, ContractCall, InvokeOutcome, Vm},
};

/// Largest executable a payload may carry (the loader's own limit).
pub const MAX_CODE_LEN: usize = tos_loader::MAX_ELF_SIZE;
/// Largest constructor input (the limit of any call's input).
pub const MAX_CONSTRUCTOR_INPUT_LEN: usize = MAX_INPUT_LEN;
/// Largest encoding of a call's deposits: a `u32` count and [`MAX_DEPOSITS`] (asset, amount)
/// pairs.
pub const MAX_DEPOSITS_LEN: usize = 4 + MAX_DEPOSITS * (32 + 8);
/// Largest encoded deploy payload: every part at its limit plus borsh's length prefixes and
/// tags.
pub const MAX_PAYLOAD_LEN: usize = MAX_CODE_LEN + MAX_CONSTRUCTOR_INPUT_LEN + MAX_DEPOSITS_LEN + 24;
/// Largest encoded invoke payload.
pub const MAX_INVOKE_PAYLOAD_LEN: usize = 32 + MAX_DEPOSITS_LEN + 8 + 4 + MAX_INPUT_LEN;

/// A compute limit that leaves the node's budget as the only ceiling.
pub const NO_COMPUTE_LIMIT: u64 = u64::MAX;

/// Fixed part of a deploy's cost: decoding the payload, the ELF header checks, executable
/// setup and the store lookups (code, address). Calibrated (docs/compute-units.md, "Deploy"):
/// the cold load of a 3-instruction contract takes ~22 µs under the JIT, ~2 ns per unit here,
/// about the instruction mix's 1.7.
pub const DEPLOY_BASE_COST: u64 = 10_000;
/// Units per byte of the deployed ELF: hashing it, copying it into the change set, parsing its
/// segments and storing it (read-only data and symbols included).
pub const DEPLOY_UNITS_PER_BYTE: u64 = 1;
/// Units per instruction slot of its bytecode: tos-loader's per-instruction checks,
/// solana-sbpf's verifier and JIT compilation — the code-load charge's 3 units per byte for
/// the 8 bytes of a slot, which the calibration holds at 1–1.5× the instruction mix for
/// 512 KiB of code.
pub const DEPLOY_UNITS_PER_INSTRUCTION: u64 = 24;

/// The compute units a deploy of `code` costs, for the chain to charge (the constructor's own
/// compute comes on top): [`DEPLOY_BASE_COST`] + [`DEPLOY_UNITS_PER_BYTE`] per byte of the
/// file + [`DEPLOY_UNITS_PER_INSTRUCTION`] per instruction slot of its bytecode (its `PF_X`
/// loadable segment; 0 when the program headers cannot be read, which the validation then
/// refuses).
///
/// A pure function of the bytes: the same on every node, whatever its executable cache holds
/// (a node that has the code cached does none of the work, and is paid the same). A deploy
/// refused after its size checks passed (bad ELF, bad interface, refused by the verifier, an
/// address taken, a failed constructor) is charged the same: the validation it failed is at
/// most this work. One refused by the size checks alone costs [`DEPLOY_BASE_COST`].
pub fn deploy_cost(code: &[u8]) -> u64 {
    let instructions = bytecode_instruction_slots(code).unwrap_or(0) as u64;
    DEPLOY_BASE_COST
        .saturating_add((code.len() as u64).saturating_mul(DEPLOY_UNITS_PER_BYTE))
        .saturating_add(instructions.saturating_mul(DEPLOY_UNITS_PER_INSTRUCTION))
}

/// Instruction slots (8 bytes each) of `elf`'s bytecode: the file size of its executable
/// `PT_LOAD` segments over 8. `None` when the program headers cannot be read or a segment lies
/// past the end of the file.
fn bytecode_instruction_slots(elf: &[u8]) -> Option<usize> {
    loaded_segment_bytes(elf, LoadedSegments::Executable).map(|bytes| bytes / 8)
}

/// The constructor call of a deploy: input, the sender's compute limit and deposits moved to
/// the new contract before it runs (like an invoke's, the contract being the new one).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ConstructorPayload {
    pub input: Vec<u8>,
    /// The call gets `min(compute_limit, node budget)` units.
    pub compute_limit: u64,
    pub deposits: Deposits,
}

impl ConstructorPayload {
    /// A constructor call with `input`, no deposits and no compute limit of its own.
    pub fn new(input: Vec<u8>) -> Self {
        ConstructorPayload {
            input,
            compute_limit: NO_COMPUTE_LIMIT,
            deposits: Deposits::new(),
        }
    }
}

/// What a deploy transaction carries: the contract's ELF and, optionally, a constructor call
/// run once at deploy time.
///
/// Encoded with borsh: `code` as `u32` length + bytes, then `constructor` as an option tag
/// (0 / 1) followed, for 1, by the input (`u32` length + bytes), the compute limit (`u64`)
/// and the deposits (`u32` count + (asset, amount) pairs, ascending). The payload does not name the
/// contract's address: the chain hands it to [`Vm::execute_deploy`] (local blocks use
/// [`deploy_address`](crate::deploy_address)), so the same code deployed twice gives two
/// independent contracts.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeployContractPayload {
    pub code: Vec<u8>,
    pub constructor: Option<ConstructorPayload>,
}

impl DeployContractPayload {
    /// A payload without constructor.
    pub fn new(code: Vec<u8>) -> Self {
        DeployContractPayload {
            code,
            constructor: None,
        }
    }

    /// A payload whose constructor is called with `input` (no deposits, no compute limit of
    /// its own).
    pub fn with_constructor(code: Vec<u8>, input: Vec<u8>) -> Self {
        DeployContractPayload {
            code,
            constructor: Some(ConstructorPayload::new(input)),
        }
    }

    /// The compute units this deploy costs, constructor excluded ([`deploy_cost`] of the code;
    /// [`DEPLOY_BASE_COST`] alone when the size checks refuse it).
    pub fn deploy_units(&self) -> u64 {
        if self.check_sizes().is_err() {
            return DEPLOY_BASE_COST;
        }
        deploy_cost(&self.code)
    }

    /// The hash of the code (shared by every instance of it; not the contract's address).
    pub fn code_hash(&self) -> Hash {
        code_hash(&self.code)
    }

    /// The borsh encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a payload, refusing anything but one exact borsh encoding within the limits.
    /// Sizes are checked before the parts are allocated.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DeployError> {
        if bytes.len() > MAX_PAYLOAD_LEN {
            return Err(DeployError::PayloadTooLarge {
                len: bytes.len(),
                limit: MAX_PAYLOAD_LEN,
            });
        }
        let payload =
            borsh::from_slice::<DeployContractPayload>(bytes).map_err(|e| DeployError::Decode {
                reason: e.to_string(),
            })?;
        if !is_canonical(&payload, bytes) {
            return Err(DeployError::Decode {
                reason: NOT_CANONICAL.to_string(),
            });
        }
        payload.check_sizes()?;
        Ok(payload)
    }

    /// The size limits (the cheap checks, run before any parsing of the code).
    pub fn check_sizes(&self) -> Result<(), DeployError> {
        if self.code.len() > MAX_CODE_LEN {
            return Err(DeployError::CodeTooLarge {
                len: self.code.len(),
                limit: MAX_CODE_LEN,
            });
        }
        if let Some(constructor) = &self.constructor {
            if constructor.input.len() > MAX_CONSTRUCTOR_INPUT_LEN {
                return Err(DeployError::ConstructorInputTooLarge {
                    len: constructor.input.len(),
                    limit: MAX_CONSTRUCTOR_INPUT_LEN,
                });
            }
            check_deposits(&constructor.deposits)
                .map_err(|error| DeployError::Deposits(error.to_string()))?;
        }
        Ok(())
    }
}

/// Why a deploy was refused. Nothing is stored when a deploy is refused.
#[derive(Debug, Error)]
pub enum DeployError {
    /// The payload bytes are not a borsh-encoded [`DeployContractPayload`] (truncated, trailing
    /// bytes, bad option tag, ...).
    #[error("deploy payload is not a valid borsh encoding: {reason}")]
    Decode { reason: String },
    #[error("deploy payload of {len} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { len: usize, limit: usize },
    #[error("executable of {len} bytes exceeds the limit of {limit} bytes")]
    CodeTooLarge { len: usize, limit: usize },
    #[error("constructor input of {len} bytes exceeds the limit of {limit} bytes")]
    ConstructorInputTooLarge { len: usize, limit: usize },
    /// The constructor's deposits break a limit (more than [`MAX_DEPOSITS`], an amount of 0).
    #[error("constructor deposits refused: {0}")]
    Deposits(String),
    /// The code calls a syscall this VM does not offer.
    #[error("executable calls an unknown syscall: {0}")]
    UnknownSyscall(LoaderError),
    /// The code is not a well-formed SBPF V3 executable (header, layout, instructions).
    #[error("invalid executable: {0}")]
    InvalidElf(LoaderError),
    /// solana-sbpf's loader refused the ELF.
    #[error("executable rejected by the SBPF loader: {0}")]
    Load(String),
    /// solana-sbpf's verifier refused the bytecode.
    #[error("executable rejected by the SBPF verifier: {0}")]
    Verifier(String),
    #[error("JIT compilation failed: {0}")]
    JitCompile(String),
    /// A contract instance already lives at the address: nothing is replaced.
    #[error("a contract already exists at address {0}")]
    AddressTaken(Hash),
    /// The constructor did not return 0: the contract is not deployed. The outcome carries its
    /// status, logs and compute (charged on top of the deploy's units, which
    /// [`VmError::Deploy`] carries).
    #[error("constructor failed: {:?}", .0.status)]
    ConstructorFailed(Box<InvokeOutcome>),
}

impl DeployError {
    /// Sorts a load failure of the runtime into the deploy's categories. Runtime errors that
    /// are not about the code itself come back as `Err`.
    pub(crate) fn from_load(error: RuntimeError) -> Result<DeployError, RuntimeError> {
        Ok(match error {
            RuntimeError::InvalidExecutable(loader) => match loader {
                LoaderError::UnknownSyscall { .. } | LoaderError::UnknownSyscallHash { .. } => {
                    DeployError::UnknownSyscall(loader)
                }
                LoaderError::TooLarge { size, max } => DeployError::CodeTooLarge {
                    len: size,
                    limit: max,
                },
                other => DeployError::InvalidElf(other),
            },
            RuntimeError::Elf(e) => DeployError::Load(e.to_string()),
            RuntimeError::Verifier(e) => DeployError::Verifier(e),
            RuntimeError::JitCompile(e) => DeployError::JitCompile(e),
            other => return Err(other),
        })
    }
}

/// What a deploy produced.
#[derive(Debug)]
pub struct DeployOutcome {
    /// The new contract's address.
    pub contract: Hash,
    /// The code hash it runs.
    pub code_hash: Hash,
    /// The code was already stored (by another instance): only the instance is new.
    pub code_reused: bool,
    /// What the deploy itself cost (load, verification, compilation, storing the code):
    /// [`DeployContractPayload::deploy_units`]. The constructor's compute is not in it.
    pub deploy_units: u64,
    /// The constructor's outcome (a success: a failed constructor refuses the deploy).
    pub constructor: Option<InvokeOutcome>,
    /// What to commit: the code (unless reused), the instance and the constructor's changes.
    pub changes: ChangeSet,
    /// The bytes of state `changes` create and free: the code (unless reused) and the
    /// instance under `code` and the new contract, plus the constructor's growth.
    pub growth: StateGrowth,
}

impl DeployOutcome {
    /// Compute the constructor used (0 without constructor).
    pub fn compute_used(&self) -> u64 {
        self.constructor.as_ref().map_or(0, |c| c.compute_used)
    }

    /// Everything the deploy transaction is charged: [`deploy_units`](Self::deploy_units) plus
    /// the constructor's compute.
    pub fn units_charged(&self) -> u64 {
        self.deploy_units.saturating_add(self.compute_used())
    }
}

/// A payload [`Vm::validate_deploy`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidDeploy {
    /// The hash of its code.
    pub code_hash: Hash,
    /// What the deploy costs, constructor excluded ([`DeployContractPayload::deploy_units`]).
    pub deploy_units: u64,
}

impl DeployError {
    /// This refusal as the API's error, carrying the units the work of refusing cost.
    pub fn charged(self, deploy_units: u64) -> VmError {
        VmError::Deploy {
            error: self,
            deploy_units,
        }
    }
}

impl Vm {
    /// The deploy-time checks of a payload, touching no store: size limits, the ELF checks
    /// of `tos-loader` (layout, every instruction, every syscall known, the interface), solana-sbpf's loader
    /// and verifier, and JIT compilation when the VM runs the JIT. The loaded executable stays
    /// in the cache, so the first call does not load it again. Returns the code hash and the
    /// deploy's cost; a refusal ([`VmError::Deploy`]) carries the cost of refusing it
    /// ([`DeployContractPayload::deploy_units`]: the same whether the node did the work or had
    /// the code cached).
    pub fn validate_deploy(&self, payload: &DeployContractPayload) -> Result<ValidDeploy, VmError> {
        let deploy_units = payload.deploy_units();
        payload
            .check_sizes()
            .map_err(|error| error.charged(deploy_units))?;
        let code_hash = payload.code_hash();
        self.cache()
            .get_or_load(code_hash, &payload.code, self.config().engine)
            .map_err(|error| match DeployError::from_load(error) {
                Ok(refused) => refused.charged(deploy_units),
                Err(other) => VmError::from(other),
            })?;
        Ok(ValidDeploy {
            code_hash,
            deploy_units,
        })
    }

    /// Validates a deploy of a new contract instance at `address` and runs its constructor
    /// against `storage` without writing to it; the outcome's change set holds the code
    /// (unless already stored), the instance and the constructor's effects.
    ///
    /// `address` comes from the chain (its own rule; local blocks use
    /// [`deploy_address`](crate::deploy_address)): the VM never derives it from the code.
    /// Refused ([`VmError::Deploy`], nothing to commit): any failed check, an address that
    /// already holds a contract ([`DeployError::AddressTaken`]) and a constructor that does
    /// not return 0.
    pub fn execute_deploy(
        &self,
        payload: &DeployContractPayload,
        address: Hash,
        transaction: &TransactionContext,
        block: &BlockContext,
        storage: &dyn StorageProvider,
    ) -> Result<DeployOutcome, VmError> {
        let ValidDeploy {
            code_hash,
            deploy_units,
        } = self.validate_deploy(payload)?;
        if storage.read_contract(&address)?.is_some() {
            return Err(DeployError::AddressTaken(address).charged(deploy_units));
        }
        let contract = address;
        let code_reused = storage.has_code(&code_hash)?;
        let mut pending = PendingState::new(storage);
        let mut code = ChangeSet::default();
        if !code_reused {
            code.deploy_code(code_hash, payload.code.clone());
        }
        code.create_contract(contract, code_hash);
        let mut growth = StateGrowth::of_change_set(&code, storage)?;
        pending.commit(&code)?;
        let constructor = match &payload.constructor {
            None => None,
            Some(constructor) => {
                let call = ContractCall {
                    contract,
                    input: constructor.input.clone(),
                    sender: transaction.sender,
                    tx_hash: transaction.hash,
                    deposits: constructor.deposits.clone(),
                    compute_limit: Some(constructor.compute_limit),
                    created_bytes_limit: None,
                };
                // The deploy's units paid for loading the new code: its first run is warm.
                let outcome = self.execute_paid(&call, block, &pending, Some(code_hash))?;
                if outcome.status.is_success() && !outcome.changes.is_empty() {
                    pending.commit(&outcome.changes)?;
                }
                growth.merge(&outcome.growth);
                if !outcome.status.is_success() {
                    return Err(
                        DeployError::ConstructorFailed(Box::new(outcome)).charged(deploy_units)
                    );
                }
                Some(outcome)
            }
        };
        Ok(DeployOutcome {
            contract,
            code_hash,
            code_reused,
            deploy_units,
            constructor,
            changes: pending.into_changes(),
            growth,
        })
    }

    /// [`execute_deploy`](Self::execute_deploy), then commits its changes to `storage` in one
    /// step. A refused deploy stores nothing.
    pub fn deploy_contract(
        &self,
        payload: &DeployContractPayload,
        address: Hash,
        transaction: &TransactionContext,
        block: &BlockContext,
        storage: &mut dyn StorageProvider,
    ) -> Result<DeployOutcome, VmError> {
        let outcome = self.execute_deploy(payload, address, transaction, block, storage)?;
        if !outcome.changes.is_empty() {
            storage.commit(&outcome.changes)?;
        }
        Ok(outcome)
    }
}

/// What an invoke transaction carries, as on the TOS chain: the contract's address, deposits
/// moved to it before it runs, the sender's compute limit (the node's budget is the ceiling)
/// and the input.
///
/// Encoded with borsh in field order: `contract` (32 bytes), `deposits` (`u32` count +
/// (asset, amount) pairs in ascending asset order), `compute_limit` (`u64`), `input` (`u32`
/// length + bytes).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct InvokeContractPayload {
    pub contract: Hash,
    pub deposits: Deposits,
    pub compute_limit: u64,
    pub input: Vec<u8>,
}

/// Why a decoded payload whose encoding is not its one exact encoding is refused.
const NOT_CANONICAL: &str =
    "deposits must list each asset once, in ascending order (the one exact encoding)";

/// Whether `bytes` is the one encoding of `payload`. borsh decodes a map from pairs in any
/// order and lets a repeated key overwrite the earlier one; a payload must not have two
/// encodings (nor hide a duplicate asset), so the decoded value must encode back to `bytes`.
fn is_canonical<T: BorshSerialize>(payload: &T, bytes: &[u8]) -> bool {
    borsh::to_vec(payload).is_ok_and(|encoded| encoded == bytes)
}

/// Why an invoke payload was refused; nothing runs.
#[derive(Debug, Error)]
pub enum InvokePayloadError {
    #[error("invoke payload is not a valid borsh encoding: {reason}")]
    Decode { reason: String },
    #[error("invoke payload of {len} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { len: usize, limit: usize },
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    InputTooLarge { len: usize, limit: usize },
    #[error("deposits refused: {0}")]
    Deposits(String),
}

impl InvokeContractPayload {
    /// A call of `contract` with `input`, no deposits and no compute limit of its own.
    pub fn new(contract: Hash, input: Vec<u8>) -> Self {
        InvokeContractPayload {
            contract,
            deposits: Deposits::new(),
            compute_limit: NO_COMPUTE_LIMIT,
            input,
        }
    }

    /// The borsh encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a payload, refusing anything but one exact borsh encoding within the limits
    /// (deposits in ascending asset order, so no asset twice; at most [`MAX_DEPOSITS`]; no
    /// amount of 0).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvokePayloadError> {
        if bytes.len() > MAX_INVOKE_PAYLOAD_LEN {
            return Err(InvokePayloadError::PayloadTooLarge {
                len: bytes.len(),
                limit: MAX_INVOKE_PAYLOAD_LEN,
            });
        }
        let payload = borsh::from_slice::<InvokeContractPayload>(bytes).map_err(|e| {
            InvokePayloadError::Decode {
                reason: e.to_string(),
            }
        })?;
        if !is_canonical(&payload, bytes) {
            return Err(InvokePayloadError::Decode {
                reason: NOT_CANONICAL.to_string(),
            });
        }
        payload.check()?;
        Ok(payload)
    }

    /// The limits: input size, deposit count and amounts.
    pub fn check(&self) -> Result<(), InvokePayloadError> {
        if self.input.len() > MAX_INPUT_LEN {
            return Err(InvokePayloadError::InputTooLarge {
                len: self.input.len(),
                limit: MAX_INPUT_LEN,
            });
        }
        check_deposits(&self.deposits).map_err(|e| InvokePayloadError::Deposits(e.to_string()))
    }

    /// The call this payload makes when `sender` sends it in the transaction `tx_hash`.
    pub fn into_call(self, sender: Hash, tx_hash: Hash) -> ContractCall {
        ContractCall {
            contract: self.contract,
            input: self.input,
            sender,
            tx_hash,
            deposits: self.deposits,
            compute_limit: Some(self.compute_limit),
            created_bytes_limit: None,
        }
    }
}
