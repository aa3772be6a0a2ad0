//! Factories: a contract creating an instance of already-deployed code
//! (`tos_create_contract`). The new contract's address is
//! [`tos_program_runtime::create_address`]`(creator, salt)`: the creating
//! contract chooses the salt, so it knows the address in advance and nobody else can take it.
//! The new instance's constructor runs at once as a nested call (fresh frame, the shared
//! compute meter, a journal checkpoint); if it fails, the instance is not created.

use tos_program_runtime::{
    create_address, executor,
    limits::{MAX_CONTRACT_CALL_DEPTH, MAX_INPUT_LEN},
    memory,
    solana_sbpf::declare_builtin_function,
    Frame, InvokeContext, RuntimeError,
};
use tos_storage::StorageError;

use crate::{Cost, SyscallError, SyscallSpec};

/// Fixed part of a creation (address derivation, instance record, frame setup).
pub const CREATE_BASE_COST: u64 = 2_000;

/// `tos_create_contract`'s statuses, shared with the SDK.
pub use tos_abi::create::{
    CREATE_ADDRESS_TAKEN, CREATE_CODE_NOT_FOUND, CREATE_CONSTRUCTOR_FAILED, CREATE_DEPTH_EXCEEDED,
    CREATE_ERROR_BASE,
};

pub const TOS_CREATE_CONTRACT: SyscallSpec = SyscallSpec {
    name: "tos_create_contract",
    family: "create",
    cost: Cost::per_byte(CREATE_BASE_COST, "input_len", 1)
        .plus("cold code load + constructor's compute"),
};

declare_builtin_function!(
    /// `tos_create_contract(code_hash[32], salt[32], input, input_len, address_out[32]) ->
    /// status`: creates an instance of the deployed code `code_hash` at
    /// `create_address(running contract, salt)`, runs its constructor with `input` and writes
    /// the new address to `address_out`. 0 on success, else a `CREATE_*` status (nothing
    /// created, `address_out` all zeros).
    SyscallCreateContract,
    fn rust(
        context: &mut InvokeContext<'static>,
        code_hash_addr: u64,
        salt_addr: u64,
        input_addr: u64,
        input_len: u64,
        address_out: u64,
    ) -> Result<u64, SyscallError> {
        context.require_writable("tos_create_contract")?;
        if input_len > MAX_INPUT_LEN as u64 {
            return Err(SyscallError::InputTooLong { len: input_len, limit: MAX_INPUT_LEN });
        }
        context.charge(CREATE_BASE_COST.saturating_add(input_len))?;
        let code_hash = memory::read_hash(context.memory(), code_hash_addr)?;
        let salt = memory::read_hash(context.memory(), salt_addr)?;
        let input = memory::read_bytes(context.memory(), input_addr, input_len, MAX_INPUT_LEN)?;
        // Fail on a read-only or unmapped output before anything is created.
        memory::write_bytes(context.memory(), address_out, &[0; 32])?;
        let programs = context.programs().ok_or(SyscallError::InvokeUnavailable)?;
        if context.depth() >= MAX_CONTRACT_CALL_DEPTH {
            return Ok(CREATE_DEPTH_EXCEEDED);
        }
        let creator = context.contract;
        let address = create_address(&creator, &salt);
        if !context.journal.provider().has_code(&code_hash)? {
            return Ok(CREATE_CODE_NOT_FOUND);
        }
        // The first run of a code in this transaction pays its cold code load, whether or not
        // this node has it cached (docs/compute-units.md).
        let executable = context.load_code(programs, &address, &code_hash)?;

        let checkpoint = context.journal.checkpoint();
        let events_before = context.events().len();
        match context.journal.create_contract(address, code_hash) {
            Ok(()) => {}
            Err(StorageError::ContractExists(_)) => {
                context.journal.revert_to(checkpoint)?;
                return Ok(CREATE_ADDRESS_TAKEN);
            }
            Err(other) => return Err(other.into()),
        }
        context.clear_return_data();
        context.push_frame(Frame { contract: address, code_hash, caller: creator, value: 0 });
        let outcome = executor::execute(&executable, &input, context, programs.engine);
        context.pop_frame();

        let failure = match outcome.result {
            // The store failed under the constructor: the whole invoke ends with its error.
            Err(RuntimeError::Backend(error)) => {
                return Err(SyscallError::Runtime(RuntimeError::Backend(error)))
            }
            Ok(0) => {
                context.journal.commit_checkpoint(checkpoint)?;
                memory::write_bytes(context.memory(), address_out, &address.0)?;
                return Ok(0);
            }
            Ok(status) => format!("returned {status}"),
            // The constructor used up the shared budget: nothing is left for the creator.
            Err(error) if context.meter.remaining() == 0 => return Err(SyscallError::Runtime(error)),
            Err(RuntimeError::State(error)) => return Err(error.into()),
            Err(error) => format!("aborted: {error}"),
        };
        context.journal.revert_to(checkpoint)?;
        context.truncate_events(events_before);
        // Best effort: a full log budget must not turn a handled failure into an abort.
        let _ = context.push_log(format!(
            "tos_create_contract: constructor of {address} {failure}"
        ));
        Ok(CREATE_CONSTRUCTOR_FAILED)
    }
);
