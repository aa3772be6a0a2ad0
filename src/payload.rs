//! The deploy transaction's payload and everything that can refuse it.

use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;
use tos_loader::LoaderError;
use tos_program_runtime::{limits::MAX_INPUT_LEN, BlockContext, RuntimeError, TransactionContext};
use tos_storage::{ChangeSet, Hash, StorageProvider};

use crate::{
    error::VmError,
    pending::PendingState,
    vm::{code_hash, ContractCall, InvokeOutcome, Vm},
};

/// Largest executable a payload may carry (the loader's own limit).
pub const MAX_CODE_LEN: usize = tos_loader::MAX_ELF_SIZE;
/// Largest constructor input (the limit of any call's input).
pub const MAX_CONSTRUCTOR_INPUT_LEN: usize = MAX_INPUT_LEN;
/// Largest encoded payload: both parts at their limits plus borsh's length prefixes.
pub const MAX_PAYLOAD_LEN: usize = MAX_CODE_LEN + MAX_CONSTRUCTOR_INPUT_LEN + 16;

/// What a deploy transaction carries: the contract's ELF and, optionally, the input of a
/// constructor call run once at deploy time.
///
/// Encoded with borsh: `code` as `u32` length + bytes, then `constructor_input` as an option
/// tag (0 / 1) followed, for 1, by `u32` length + bytes. The contract id is the blake3 hash of
/// `code` ([`DeployContractPayload::contract_id`]).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeployContractPayload {
    pub code: Vec<u8>,
    pub constructor_input: Option<Vec<u8>>,
}

impl DeployContractPayload {
    /// A payload without constructor.
    pub fn new(code: Vec<u8>) -> Self {
        DeployContractPayload {
            code,
            constructor_input: None,
        }
    }

    /// A payload whose constructor is called with `input`.
    pub fn with_constructor(code: Vec<u8>, input: Vec<u8>) -> Self {
        DeployContractPayload {
            code,
            constructor_input: Some(input),
        }
    }

    /// The id the contract will have: its code hash.
    pub fn contract_id(&self) -> Hash {
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
        if let Some(input) = &self.constructor_input {
            if input.len() > MAX_CONSTRUCTOR_INPUT_LEN {
                return Err(DeployError::ConstructorInputTooLarge {
                    len: input.len(),
                    limit: MAX_CONSTRUCTOR_INPUT_LEN,
                });
            }
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
    /// The contract exists already and the payload has a constructor: a constructor runs once.
    #[error("contract {0} is already deployed; its constructor cannot run again")]
    AlreadyDeployed(Hash),
    /// The constructor did not return 0: the contract is not deployed. The outcome carries its
    /// status, logs and compute.
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
    /// The contract id (code hash).
    pub contract: Hash,
    /// The code was deployed before and the payload has no constructor: nothing to store.
    pub already_deployed: bool,
    /// The constructor's outcome (a success: a failed constructor refuses the deploy).
    pub constructor: Option<InvokeOutcome>,
    /// What to commit: the code plus the constructor's changes; empty when already deployed.
    pub changes: ChangeSet,
}

impl DeployOutcome {
    /// Compute the constructor used (0 without constructor).
    pub fn compute_used(&self) -> u64 {
        self.constructor.as_ref().map_or(0, |c| c.compute_used)
    }
}

impl Vm {
    /// The deploy-time checks of a payload, touching no store: size limits, the ELF checks
    /// of `tos-loader` (layout, every instruction, every syscall known), solana-sbpf's loader
    /// and verifier, and JIT compilation when the VM runs the JIT. The loaded executable stays
    /// in the cache, so the first call does not load it again. Returns the contract id.
    pub fn validate_deploy(&self, payload: &DeployContractPayload) -> Result<Hash, VmError> {
        payload.check_sizes()?;
        let hash = payload.contract_id();
        self.cache()
            .get_or_load(hash, &payload.code, self.config().engine)
            .map_err(|error| match DeployError::from_load(error) {
                Ok(refused) => VmError::Deploy(refused),
                Err(other) => VmError::from(other),
            })?;
        Ok(hash)
    }

    /// Validates a deploy and runs its constructor against `storage` without writing to it;
    /// the outcome's change set holds the code and the constructor's effects.
    ///
    /// Refused ([`VmError::Deploy`], nothing to commit): any failed check, a constructor that
    /// does not return 0, and a constructor for code that is already deployed. Deploying
    /// already-deployed code without constructor succeeds and changes nothing.
    pub fn execute_deploy(
        &self,
        payload: &DeployContractPayload,
        transaction: &TransactionContext,
        block: &BlockContext,
        storage: &dyn StorageProvider,
    ) -> Result<DeployOutcome, VmError> {
        let contract = self.validate_deploy(payload)?;
        if storage.read_code(&contract)?.is_some() {
            if payload.constructor_input.is_some() {
                return Err(DeployError::AlreadyDeployed(contract).into());
            }
            return Ok(DeployOutcome {
                contract,
                already_deployed: true,
                constructor: None,
                changes: ChangeSet::default(),
            });
        }
        let mut pending = PendingState::new(storage);
        let mut code = ChangeSet::default();
        code.deploy_code(contract, payload.code.clone());
        pending.commit(&code)?;
        let constructor = match &payload.constructor_input {
            None => None,
            Some(input) => {
                let call = ContractCall {
                    contract,
                    input: input.clone(),
                    sender: transaction.sender,
                    tx_hash: transaction.hash,
                    value: 0,
                };
                let outcome = self.invoke(&call, block, &mut pending)?;
                if !outcome.status.is_success() {
                    return Err(DeployError::ConstructorFailed(Box::new(outcome)).into());
                }
                Some(outcome)
            }
        };
        Ok(DeployOutcome {
            contract,
            already_deployed: false,
            constructor,
            changes: pending.into_changes(),
        })
    }

    /// [`execute_deploy`](Self::execute_deploy), then commits its changes to `storage` in one
    /// step. A refused deploy stores nothing.
    pub fn deploy_contract(
        &self,
        payload: &DeployContractPayload,
        transaction: &TransactionContext,
        block: &BlockContext,
        storage: &mut dyn StorageProvider,
    ) -> Result<DeployOutcome, VmError> {
        let outcome = self.execute_deploy(payload, transaction, block, storage)?;
        if !outcome.changes.is_empty() {
            storage.commit(&outcome.changes)?;
        }
        Ok(outcome)
    }
}
