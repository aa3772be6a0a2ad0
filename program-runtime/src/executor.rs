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
        // Each region starts at its own 4 GiB boundary (read-only data, stack, heap, input), so
        // a load or store finds its region by the address's top bits instead of a search.
        // The NULL guard stays: the read-only region starts past it, and an access below that
        // start faults as before.
        aligned_memory_mapping: true,
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
    let info = tos_loader::validate_executable(elf, &name_refs)?;
    let executable = Executable::load(elf, environment)?;
    // Validation ran solana-sbpf's RequisiteVerifier (and its LocalVerifier) over the text with
    // these syscalls; verifying the same bytes again would cost a fifth of a load. Only text
    // other than what validation saw is verified here.
    let validated_text =
        elf.get(info.text_offset..info.text_offset.saturating_add(info.text_bytes));
    if validated_text != Some(executable.get_text_bytes().1) {
        executable
            .verify::<RequisiteVerifier>()
            .map_err(|e| RuntimeError::Verifier(e.to_string()))?;
    }
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

/// The stack, heap and memory mapping of one call, kept per thread and reused by later calls.
///
/// Stack and heap are exposed to the contract lazily: the mapping starts with the stack's
/// first frame and an empty heap, and [`expose_on_first_touch`] grows a region, page by page,
/// when the contract (or a syscall on its behalf) reaches past what is exposed, zeroing the new
/// pages first. So a call pays for zeroing only the memory it uses, and every byte it can see
/// is zero until it writes it, whatever an earlier call left in the reused buffers.
///
/// The mapping (its region tables and its access-violation handler, which points into these
/// buffers) is built once per buffer pair and only re-pointed at each call's read-only data
/// and input: building a `MemoryMapping` allocates five times.
struct CallMemory {
    stack: AlignedMemory<{ ebpf::HOST_ALIGN }>,
    /// Owns the heap buffer; reached only through `heap_buffer`.
    _heap: AlignedMemory<{ ebpf::HOST_ALIGN }>,
    /// Taken once from `stack` / `heap`: every later access (first-frame zeroing, the handler)
    /// goes through these, so none invalidates another.
    stack_buffer: *mut [u8],
    heap_buffer: *mut [u8],
    /// `None` only while lent to a running call.
    mapping: Option<MemoryMapping>,
    /// The interpreter's call frames (the JIT keeps its own on the host stack).
    call_frames: Vec<CallFrame>,
    /// What the mapping was built for: reused only by calls of the same.
    config: Config,
    sbpf_version: SBPFVersion,
}

thread_local! {
    /// Buffers of finished calls, reused by the next call on the same thread. A fresh 288 KiB
    /// allocation per call costs more than a small contract's whole execution (fresh pages
    /// fault in one by one); a reused buffer is still in cache. Nested calls take one
    /// `CallMemory` per frame.
    ///
    /// Boxed, so taking one from the pool and giving it back moves a pointer, not the ~500
    /// bytes of buffers, mapping and configuration.
    #[allow(clippy::vec_box)]
    static CALL_MEMORY: std::cell::RefCell<Vec<Box<CallMemory>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Most buffer sets kept per thread: one per possible nested frame.
const POOLED_CALL_MEMORY: usize = limits::MAX_CONTRACT_CALL_DEPTH;

/// Granularity of lazy exposure: one stack frame, and heap pages of the same size.
const EXPOSE_GRANULE: usize = limits::STACK_FRAME_SIZE;

/// Which of a call's regions a mapping slot holds, by its 4 GiB segment.
fn segment(vm_addr: u64) -> u64 {
    vm_addr >> ebpf::VIRTUAL_ADDRESS_BITS
}

impl CallMemory {
    fn new(config: &Config, sbpf_version: SBPFVersion) -> Result<CallMemory, RuntimeError> {
        let mut stack = AlignedMemory::zero_filled(config.stack_size());
        let mut heap = AlignedMemory::zero_filled(limits::HEAP_SIZE);
        let stack_buffer = stack.as_slice_mut() as *mut [u8];
        let heap_buffer = heap.as_slice_mut() as *mut [u8];
        let regions = vec![
            MemoryRegion::new_empty(ebpf::MM_RODATA_START),
            MemoryRegion::new_empty(ebpf::MM_STACK_START),
            MemoryRegion::new_empty(ebpf::MM_HEAP_START),
            MemoryRegion::new_empty(ebpf::MM_INPUT_START),
        ];
        // SAFETY: the regions are empty (no host memory); `prepare` points them at memory that
        // outlives each use. The handler only ever exposes parts of `stack` and `heap`, which
        // live as long as this `CallMemory` (their heap allocations do not move with it).
        let mapping = unsafe {
            MemoryMapping::new_with_access_violation_handler(
                regions,
                config,
                sbpf_version,
                expose_on_first_touch(stack_buffer, heap_buffer),
            )
        }
        .map_err(|e| RuntimeError::Fault(e.to_string()))?;
        Ok(CallMemory {
            stack,
            _heap: heap,
            stack_buffer,
            heap_buffer,
            mapping: Some(mapping),
            call_frames: Vec::new(),
            config: config.clone(),
            sbpf_version,
        })
    }

    /// Buffers for a call: pooled if this thread has one for the same layout, else new.
    fn take(config: &Config, sbpf_version: SBPFVersion) -> Result<Box<CallMemory>, RuntimeError> {
        let reused = CALL_MEMORY.with(|pool| pool.borrow_mut().pop());
        match reused {
            Some(memory)
                if memory.mapping.is_some()
                    && memory.sbpf_version == sbpf_version
                    && memory.config == *config =>
            {
                Ok(memory)
            }
            _ => CallMemory::new(config, sbpf_version).map(Box::new),
        }
    }

    /// Points the mapping at `read_only` and `input`, with the stack's first frame (zeroed:
    /// it is exposed from the start, the frame pointer begins at its top) and an empty heap.
    ///
    /// # Safety
    /// `read_only` and `input` must stay alive and unchanged until [`CallMemory::give_back`]
    /// (or the drop of `self`).
    unsafe fn prepare(
        &mut self,
        read_only: MemoryRegion,
        input: &[u8],
    ) -> Result<MemoryMapping, RuntimeError> {
        let first_frame = EXPOSE_GRANULE.min(self.stack_buffer.len());
        let stack_base = self.stack_buffer as *mut u8;
        // SAFETY: `first_frame` bytes lie inside the stack buffer.
        unsafe { std::ptr::write_bytes(stack_base, 0, first_frame) };
        let Some(mut mapping) = self.mapping.take() else {
            return Err(RuntimeError::Fault("call memory without a mapping".into()));
        };
        let stack = MemoryRegion::new(
            std::ptr::slice_from_raw_parts_mut(stack_base, first_frame),
            ebpf::MM_STACK_START,
        );
        let heap = MemoryRegion::new(
            std::ptr::slice_from_raw_parts_mut(self.heap_buffer as *mut u8, 0),
            ebpf::MM_HEAP_START,
        );
        // Input is read-only: a contract that wants to change it copies it to its stack or
        // heap.
        let input = MemoryRegion::new(input as *const [u8], ebpf::MM_INPUT_START);
        // An aligned mapping that already has the four regions at these addresses (every
        // call after the first of a layout: `give_back` keeps their addresses) takes each in
        // its slot, checked as it goes; nothing to sort, no lookup cache to flush.
        if self.config.aligned_memory_mapping
            && Self::replace_in_slots(
                &mut mapping,
                [
                    read_only.clone(),
                    stack.clone(),
                    heap.clone(),
                    input.clone(),
                ],
            )
        {
            return Ok(mapping);
        }
        for region in mapping.get_regions_mut() {
            let start = region.vm_addr_range().start;
            *region = match segment(start) {
                0 => read_only.clone(),
                2 => stack.clone(),
                3 => heap.clone(),
                4 => input.clone(),
                // The gaps an aligned mapping fills in stay empty.
                _ => continue,
            };
        }
        mapping
            .initialize()
            .map_err(|e| RuntimeError::Fault(e.to_string()))?;
        // An aligned mapping finds a region by its slot (the address's top bits): it has no
        // lookup cache to flush.
        if self.config.aligned_memory_mapping {
            return Ok(mapping);
        }
        // Re-setting one region flushes the mapping's lookup cache, which may still name the
        // previous call's read-only region bounds.
        if let Some((index, stack)) = mapping
            .get_regions()
            .iter()
            .enumerate()
            .find(|(_, region)| region.vm_addr_range().start == ebpf::MM_STACK_START)
            .map(|(index, region)| (index, region.clone()))
        {
            // SAFETY: the same region again.
            unsafe { mapping.replace_region(index, stack) }
                .map_err(|e| RuntimeError::Fault(e.to_string()))?;
        }
        Ok(mapping)
    }

    /// Puts each of `regions` into the slot of an initialized aligned mapping that holds a
    /// region at the same address; `false` (the mapping unchanged or partly changed, to be
    /// rebuilt by the caller) when a slot holds another address or a region does not fit it.
    fn replace_in_slots(mapping: &mut MemoryMapping, regions: [MemoryRegion; 4]) -> bool {
        for region in regions {
            let start = region.vm_addr_range().start;
            let index = segment(start) as usize;
            let same_address = mapping
                .get_regions()
                .get(index)
                .is_some_and(|slot| slot.vm_addr_range().start == start);
            // SAFETY: the caller's contract of `prepare` (the regions point at memory that
            // outlives the call); `replace_region` checks that the region fits its slot.
            if !same_address || unsafe { mapping.replace_region(index, region) }.is_err() {
                return false;
            }
        }
        true
    }

    /// Takes the mapping back and returns the buffers to this thread's pool. The regions that
    /// pointed at the call's read-only data and input are emptied first (in their slots, which
    /// keep their addresses for the next `prepare`), so nothing pooled points at memory the
    /// caller may free.
    fn give_back(mut self: Box<Self>, mut mapping: MemoryMapping) {
        let emptied = self.config.aligned_memory_mapping
            && [ebpf::MM_RODATA_START, ebpf::MM_INPUT_START]
                .into_iter()
                .all(|segment_start| {
                    let index = segment(segment_start) as usize;
                    let Some(start) = mapping
                        .get_regions()
                        .get(index)
                        .map(|slot| slot.vm_addr_range().start)
                    else {
                        return false;
                    };
                    // SAFETY: an empty region references no host memory.
                    unsafe { mapping.replace_region(index, MemoryRegion::new_empty(start)) }.is_ok()
                });
        if !emptied {
            for region in mapping.get_regions_mut() {
                let start = region.vm_addr_range().start;
                *region = MemoryRegion::new_empty(start);
            }
            // Pooled mappings are initialized (`prepare` replaces regions in place); one that
            // does not initialize again is dropped, not pooled.
            if mapping.initialize().is_err() {
                return;
            }
        }
        self.mapping = Some(mapping);
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

/// Lends a call's mapping to the context and takes it back: [`MappingGuard::restore`] on the
/// normal way out; on a panic in a syscall the drop puts the caller's mapping back and drops
/// the call's.
struct MappingGuard<'c, 'a> {
    context: &'c mut InvokeContext<'a>,
    previous: Option<MemoryMapping>,
}

impl MappingGuard<'_, '_> {
    /// Puts the caller's mapping back and returns the call's.
    fn restore(mut self) -> Option<MemoryMapping> {
        let previous = self.previous.take()?;
        Some(self.context.swap_memory_mapping(previous))
    }
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
    let mut memory = CallMemory::take(config, sbpf_version)?;
    let stack_len = memory.stack.len();
    // SAFETY: the executable and `input` outlive this function; the mapping is given back
    // (emptied) or dropped before it returns.
    let mapping = unsafe { memory.prepare(read_only_region(executable), input)? };
    // From here until the guard is restored, the context points into `memory`'s buffers and
    // `input`. The guard swaps the caller's mapping back on every way out, a panic in a
    // syscall included, and it drops before `memory` does (locals drop in reverse order).
    let previous = context.swap_memory_mapping(mapping);
    let guard = MappingGuard {
        context,
        previous: Some(previous),
    };

    let budget = guard.context.meter.budget();
    let max_call_depth = config.max_call_depth;
    let call_frames: &mut [CallFrame] = match engine {
        Engine::Jit => &mut [],
        Engine::Interpreter => {
            memory.call_frames.clear();
            memory
                .call_frames
                .resize(max_call_depth, CallFrame::default());
            &mut memory.call_frames
        }
    };
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
        let (instructions, result) = vm.execute_program(executable, &mut mode, call_frames);
        (Result::from(result), instructions)
    };
    // Nothing may point into this call's buffers once it returns.
    if let Some(mapping) = guard.restore() {
        memory.give_back(mapping);
    }
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
