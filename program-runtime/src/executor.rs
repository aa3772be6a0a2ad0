//! Loads executables and runs one call of them under the interpreter or the JIT.

use std::sync::Arc;

use solana_sbpf::{
    aligned_memory::AlignedMemory,
    ebpf,
    elf::Executable,
    memory_region::{AccessViolationHandler, MemoryMapping, MemoryRegion},
    program::{BuiltinProgram, SBPFVersion},
    verifier::RequisiteVerifier,
    vm::{CallFrame, Config, EbpfVm, ExecutionMode},
};

use crate::{context::InvokeContext, error::RuntimeError, limits};

/// The loader with every syscall registered. Syscalls are declared for the `'static` context;
/// [`execute`] lends them the caller's context for the duration of one call (as Agave does).
pub type RuntimeEnvironment = Arc<BuiltinProgram<InvokeContext<'static>>>;
/// A loaded, verified (and for [`Engine::Jit`] compiled) contract.
pub type TosExecutable = Executable<InvokeContext<'static>>;

/// Which solana-sbpf engine runs the bytecode. Both give identical results and compute used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    Interpreter,
    Jit,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "interpreter" | "interp" => Ok(Engine::Interpreter),
            "jit" => Ok(Engine::Jit),
            other => Err(format!("unknown engine `{other}` (use interpreter or jit)")),
        }
    }
}

/// The solana-sbpf configuration of tos-vm: SBPF V3 only (see docs/link-step.md for why).
pub fn vm_config() -> Config {
    Config {
        max_call_depth: limits::MAX_BPF_CALL_DEPTH,
        stack_frame_size: limits::STACK_FRAME_SIZE,
        enable_instruction_meter: true,
        enable_symbol_and_section_labels: false,
        reject_broken_elfs: true,
        enabled_sbpf_versions: SBPFVersion::V3..=SBPFVersion::V3,
        ..Config::default()
    }
}

/// Names of the syscalls registered in `environment`.
pub fn syscall_names(environment: &RuntimeEnvironment) -> Vec<String> {
    environment
        .get_function_registry()
        .iter()
        .map(|(_, (name, _))| String::from_utf8_lossy(name).into_owned())
        .collect()
}

/// Validates, loads and verifies an ELF; compiles it when `engine` is the JIT.
pub fn load_executable(
    elf: &[u8],
    environment: RuntimeEnvironment,
    engine: Engine,
) -> Result<TosExecutable, RuntimeError> {
    let names = syscall_names(&environment);
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    tos_loader::validate_executable(elf, &name_refs)?;
    let executable = Executable::load(elf, environment)?;
    executable
        .verify::<RequisiteVerifier>()
        .map_err(|e| RuntimeError::Verifier(e.to_string()))?;
    if engine == Engine::Jit {
        compile(&executable)?;
    }
    Ok(executable)
}

/// JIT-compiles an executable (idempotent).
pub fn compile(executable: &TosExecutable) -> Result<(), RuntimeError> {
    if executable.get_compiled_program().is_some() {
        return Ok(());
    }
    executable
        .jit_compile()
        .map_err(|e| RuntimeError::JitCompile(e.to_string()))
}

/// What one call produced. Effects and logs stay in the [`InvokeContext`].
#[derive(Debug)]
pub struct ExecutionOutcome {
    /// The contract's return value (its status: 0 = success), or why it stopped.
    pub result: Result<u64, RuntimeError>,
    /// Instructions executed plus syscall costs.
    pub compute_used: u64,
}

/// Runs `executable`'s entrypoint with `input` (r1 = input address, r2 = input length).
pub fn execute(
    executable: &TosExecutable,
    input: &[u8],
    context: &mut InvokeContext<'_>,
    engine: Engine,
) -> ExecutionOutcome {
    let used_before = context.meter.used();
    let result = run(executable, input, context, engine);
    ExecutionOutcome {
        result,
        compute_used: context.meter.used() - used_before,
    }
}

/// The stack and heap of one call.
///
/// Both are exposed to the contract lazily: the mapping starts with the stack's first frame and
/// an empty heap, and [`expose_on_first_touch`] grows a region, page by page, when the contract
/// (or a syscall on its behalf) reaches past what is exposed, zeroing the new pages first. So a
/// call pays for zeroing only the memory it uses, and every byte it can see is zero until it
/// writes it, whatever an earlier call left in the reused buffers.
struct CallMemory {
    stack: AlignedMemory<{ ebpf::HOST_ALIGN }>,
    heap: AlignedMemory<{ ebpf::HOST_ALIGN }>,
}

thread_local! {
    /// Buffers of finished calls, reused by the next call on the same thread. A fresh 288 KiB
    /// allocation per call costs more than a small contract's whole execution (fresh pages
    /// fault in one by one); a reused buffer is still in cache. Nested calls take one buffer
    /// pair per frame.
    static CALL_MEMORY: std::cell::RefCell<Vec<CallMemory>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Most buffer pairs kept per thread: one per possible nested frame.
const POOLED_CALL_MEMORY: usize = limits::MAX_CONTRACT_CALL_DEPTH;

/// Granularity of lazy exposure: one stack frame, and heap pages of the same size.
const EXPOSE_GRANULE: usize = limits::STACK_FRAME_SIZE;

impl CallMemory {
    /// Buffers for a call, with the stack's first frame zeroed (it is exposed from the start:
    /// the frame pointer begins at its top). The rest is zeroed when exposed.
    fn take(stack_size: usize) -> CallMemory {
        let reused = CALL_MEMORY.with(|pool| pool.borrow_mut().pop());
        match reused {
            Some(mut memory)
                if memory.stack.len() == stack_size && memory.heap.len() == limits::HEAP_SIZE =>
            {
                let first_frame = EXPOSE_GRANULE.min(stack_size);
                memory.stack.as_slice_mut()[..first_frame].fill(0);
                memory
            }
            _ => CallMemory {
                stack: AlignedMemory::zero_filled(stack_size),
                heap: AlignedMemory::zero_filled(limits::HEAP_SIZE),
            },
        }
    }

    fn give_back(self) {
        CALL_MEMORY.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOLED_CALL_MEMORY {
                pool.push(self);
            }
        });
    }
}

/// The executable's read-only data, minus the NULL guard: the first
/// [`limits::NULL_GUARD_SIZE`] bytes stay unmapped (the link step never puts data there), so
/// dereferencing NULL faults instead of reading zeros.
fn read_only_region(executable: &TosExecutable) -> MemoryRegion {
    let region = executable.get_ro_region();
    let start = region.vm_addr_range().start;
    let guard = (limits::NULL_GUARD_SIZE as u64).saturating_sub(start) as usize;
    if guard == 0 {
        return region;
    }
    let host = region.host_buffer();
    match host.get(guard.min(host.len())..host.len()) {
        Some(rest) if !rest.is_empty() => MemoryRegion::new(rest, start + guard as u64),
        _ => MemoryRegion::new_empty(start + guard as u64),
    }
}

/// The access-violation handler of a call's mapping: an access past the exposed part of the
/// stack or heap region, but inside its buffer, exposes the pages up to and including the
/// access, zeroed. Anything else (past the buffer, another region) stays an access violation.
fn expose_on_first_touch(stack: *mut [u8], heap: *mut [u8]) -> AccessViolationHandler {
    Box::new(
        move |region: &mut MemoryRegion, _max_len, _access, vm_addr, len| {
            let start = region.vm_addr_range().start;
            let buffer = match start {
                ebpf::MM_STACK_START => stack,
                ebpf::MM_HEAP_START => heap,
                _ => return,
            };
            let capacity = buffer.len() as u64;
            let exposed = region.len() as u64;
            let Some(end) = vm_addr.checked_add(len) else {
                return;
            };
            let needed = end.saturating_sub(start);
            if needed <= exposed || needed > capacity {
                return;
            }
            let granule = EXPOSE_GRANULE as u64;
            let new_len = needed
                .div_ceil(granule)
                .saturating_mul(granule)
                .min(capacity);
            let base = buffer as *mut u8;
            // SAFETY: `exposed..new_len` lies inside the buffer (new_len <= capacity), which the
            // executor keeps alive for as long as this mapping exists; the guest is suspended.
            unsafe {
                std::ptr::write_bytes(base.add(exposed as usize), 0, (new_len - exposed) as usize);
            }
            *region = MemoryRegion::new(
                std::ptr::slice_from_raw_parts_mut(base, new_len as usize),
                start,
            );
        },
    )
}

/// Puts the caller's memory mapping back into the context when dropped.
struct MappingGuard<'c, 'a> {
    context: &'c mut InvokeContext<'a>,
    previous: Option<MemoryMapping>,
}

impl Drop for MappingGuard<'_, '_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            drop(self.context.swap_memory_mapping(previous));
        }
    }
}

fn run(
    executable: &TosExecutable,
    input: &[u8],
    context: &mut InvokeContext<'_>,
    engine: Engine,
) -> Result<u64, RuntimeError> {
    if input.len() > limits::MAX_INPUT_LEN {
        return Err(RuntimeError::InputTooLarge {
            len: input.len(),
            limit: limits::MAX_INPUT_LEN,
        });
    }
    let config = executable.get_config();
    let sbpf_version = executable.get_sbpf_version();
    let mut memory = CallMemory::take(config.stack_size());
    let CallMemory { stack, heap } = &mut memory;
    let stack_len = stack.len();
    let input_memory = AlignedMemory::<{ ebpf::HOST_ALIGN }>::from_slice(input);
    let first_frame = EXPOSE_GRANULE.min(stack_len);
    let stack_buffer = stack.as_slice_mut() as *mut [u8];
    let heap_buffer = heap.as_slice_mut() as *mut [u8];
    let regions = vec![
        read_only_region(executable),
        // SAFETY (all three): the pointers stay inside their buffers, which outlive the mapping.
        MemoryRegion::new(
            std::ptr::slice_from_raw_parts_mut(stack_buffer as *mut u8, first_frame),
            ebpf::MM_STACK_START,
        ),
        MemoryRegion::new(
            std::ptr::slice_from_raw_parts_mut(heap_buffer as *mut u8, 0),
            ebpf::MM_HEAP_START,
        ),
        // Input is read-only: a contract that wants to change it copies it to its stack or heap.
        MemoryRegion::new(input_memory.as_slice() as *const [u8], ebpf::MM_INPUT_START),
    ];
    // SAFETY: stack, heap and input live until the end of this function, after the mapping is
    // taken back out of the context below.
    let mapping = unsafe {
        MemoryMapping::new_with_access_violation_handler(
            regions,
            config,
            sbpf_version,
            expose_on_first_touch(stack_buffer, heap_buffer),
        )
    }
    .map_err(|e| RuntimeError::Fault(e.to_string()))?;
    // From here until the guard drops, the context points into this function's buffers. The
    // guard swaps the caller's mapping back on every way out, a panic in a syscall included,
    // and it drops before the buffers do (locals drop in reverse order).
    let previous = context.swap_memory_mapping(mapping);
    let guard = MappingGuard {
        context,
        previous: Some(previous),
    };

    let budget = guard.context.meter.budget();
    let max_call_depth = config.max_call_depth;
    let (result, _instructions) = {
        // SAFETY: syscalls are registered for `InvokeContext<'static>`; the VM and every
        // reference derived from it are dropped at the end of this block, before `context`'s
        // real lifetime can end, so no `'static` reference escapes.
        let static_context: &mut InvokeContext<'static> =
            unsafe { std::mem::transmute::<&mut InvokeContext<'_>, _>(&mut *guard.context) };
        let mut vm = EbpfVm::new(
            executable.get_loader().clone(),
            sbpf_version,
            static_context,
            stack_len,
        );
        vm.registers[1] = ebpf::MM_INPUT_START;
        vm.registers[2] = input.len() as u64;
        let mut mode = match engine {
            Engine::Interpreter => ExecutionMode::Interpreted,
            Engine::Jit => ExecutionMode::Jit,
        };
        let mut call_frames = vec![CallFrame::default(); max_call_depth];
        let (instructions, result) = vm.execute_program(executable, &mut mode, &mut call_frames);
        (Result::from(result), instructions)
    };
    // Nothing may point into this function's buffers once it returns.
    drop(guard);
    memory.give_back();
    result.map_err(|e| RuntimeError::from_ebpf(e, budget, max_call_depth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sbpf::{
        assembler::assemble, declare_builtin_function, memory_region::AccessType,
        program::BuiltinProgram,
    };
    use tos_storage::{Hash, Journal, MemoryStorage};

    use crate::context::{BlockContext, TransactionContext};

    declare_builtin_function!(
        /// A host bug stand-in: a syscall that panics.
        SyscallThatPanics,
        fn rust(
            _context: &mut InvokeContext<'static>,
            _a: u64,
            _b: u64,
            _c: u64,
            _d: u64,
            _e: u64,
        ) -> Result<u64, Box<dyn std::error::Error>> {
            panic!("host bug inside a syscall");
        }
    );

    #[test]
    fn a_panicking_syscall_leaves_no_mapping_into_freed_memory() {
        let mut loader = BuiltinProgram::new_loader(vm_config());
        loader
            .register_definition::<SyscallThatPanics>("test_panic")
            .unwrap();
        let executable =
            assemble::<InvokeContext<'static>>("syscall test_panic\nexit", Arc::new(loader))
                .unwrap();
        let store = MemoryStorage::default();
        let block = BlockContext::default();
        let transaction = TransactionContext::default();
        // Interpreter only: a panic cannot unwind through JIT-compiled frames (the process
        // aborts), which is why tos-syscalls catches panics inside every syscall.
        {
            let engine = Engine::Interpreter;
            let mut context = InvokeContext::new(
                Journal::new(&store),
                &block,
                &transaction,
                Hash([1; 32]),
                1000,
            );
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                execute(&executable, b"input", &mut context, engine)
            }));
            assert!(panicked.is_err(), "{engine:?}: the syscall panics");
            // The stack and heap of the call are gone: the context must not map them.
            let stack = context
                .memory()
                .map(AccessType::Load, ebpf::MM_STACK_START, 8);
            assert!(
                stack.is_err(),
                "{engine:?}: stack still mapped after the panic"
            );
            let input = context
                .memory()
                .map(AccessType::Load, ebpf::MM_INPUT_START, 5);
            assert!(
                input.is_err(),
                "{engine:?}: input still mapped after the panic"
            );
        }
    }
}
