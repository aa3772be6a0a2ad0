//! Shared by the benches in `benches/`: criterion settings sized for the 10-minute budget,
//! the benchmark contracts (built from source, cached), the native twins of the compute
//! contracts, and a *bare* solana-sbpf runner — the same ELF, memory layout and VM config as
//! tos-vm, with none of tos-vm's runtime around it — to measure tos-vm's own overhead.

#![allow(dead_code)]

pub mod blocks;
pub mod native;
pub mod token;

use std::{
    cell::{Cell, RefCell},
    path::PathBuf,
    ptr::NonNull,
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{
    measurement::{Measurement, ValueFormatter, WallTime},
    BenchmarkGroup, Criterion,
};
use tos_vm::runtime::{
    executor::vm_config,
    solana_sbpf::{
        aligned_memory::AlignedMemory,
        declare_builtin_function, ebpf,
        elf::Executable,
        error::StableResult,
        memory_region::{AccessType, MemoryMapping, MemoryRegion},
        program::BuiltinProgram,
        verifier::RequisiteVerifier,
        vm::{CallFrame, Config, ContextObject, EbpfVm, ExecutionMode},
    },
    Engine,
};

/// What the benches time: the benchmark thread's CPU time by default, wall time for the
/// on-disk benches (whose fsync waits use no CPU) or everywhere with `TOS_BENCH_CLOCK=wall`.
///
/// Why CPU time: the machines this project runs on have 2 cores shared with builds and tests
/// of other work; a preempted benchmark thread counts the other work's time in wall-clock
/// measurements (ratios between benches measured seconds apart were seen off by 2×). The
/// thread's CPU time does not count it. Everything measured runs on the calling thread.
pub struct Clock {
    cpu: bool,
}

static WALL: WallTime = WallTime;

/// This thread's CPU time.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for Clock {
    type Intermediate = (Instant, Duration);
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        let cpu = if self.cpu {
            thread_cpu_time()
        } else {
            Duration::ZERO
        };
        (Instant::now(), cpu)
    }

    fn end(&self, (wall, cpu): Self::Intermediate) -> Duration {
        if self.cpu {
            thread_cpu_time().saturating_sub(cpu)
        } else {
            wall.elapsed()
        }
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

/// Whether benches time CPU (the default) or wall-clock time.
pub fn cpu_clock() -> bool {
    std::env::var("TOS_BENCH_CLOCK").map_or(true, |v| v != "wall")
}

/// A benchmark group timed by [`Clock`].
pub type Group<'a> = BenchmarkGroup<'a, Clock>;

fn settings(cpu: bool) -> Criterion<Clock> {
    let quick = std::env::var_os("TOS_BENCH_QUICK").is_some();
    Criterion::default()
        .with_measurement(Clock { cpu })
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 100 } else { 500 }))
        .measurement_time(Duration::from_millis(if quick { 300 } else { 2000 }))
        .without_plots()
}

/// Criterion settings of every group: few samples, short measurements (`cargo bench` runs
/// every bench of the repository in well under 10 minutes on 2 cores), timed by [`Clock`].
/// `TOS_BENCH_QUICK=1` shortens them further (a smoke run).
pub fn criterion() -> Criterion<Clock> {
    settings(cpu_clock())
}

/// The same, always timing wall-clock time: for benches that wait on the disk.
pub fn criterion_wall() -> Criterion<Clock> {
    settings(false)
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The ELF of `benches/contracts/<name>`, built from source (cached across runs).
pub fn contract_elf(name: &str) -> Vec<u8> {
    let dir = root().join("benches").join("contracts").join(name);
    tos_test_harness::fixtures::build_contract_cached(&dir)
        .unwrap_or_else(|error| panic!("building benches/contracts/{name}: {error}"))
}

/// The ELF of `examples/token` (the SDK's fungible token), if the example exists.
pub fn token_elf() -> Option<Vec<u8>> {
    let dir = tos_test_harness::fixtures::example_dir("token");
    if !dir.join("Cargo.toml").is_file() {
        eprintln!("examples/token is missing: token benches skipped");
        return None;
    }
    Some(
        tos_test_harness::fixtures::build_contract_cached(&dir)
            .unwrap_or_else(|error| panic!("building examples/token: {error}")),
    )
}

/// Where benches put on-disk stores: `target/tos-bench/tmp` (the same disk as a node's
/// store would be on; `/tmp` may be memory).
pub fn scratch_dir() -> PathBuf {
    let dir = facts_path()
        .parent()
        .map(|p| p.join("tmp"))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A budget no bench comes near: compute metering stays on, but never stops a run.
pub const BIG_BUDGET: u64 = 1 << 40;

pub fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Interpreter => "interp",
        Engine::Jit => "jit",
    }
}

/// `words` as little-endian bytes (the contracts' input format).
pub fn words(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

// ---------------------------------------------------------------------------------------
// Bare solana-sbpf

/// The context of a bare run: an instruction meter, the memory mapping, the return data.
pub struct BareContext {
    remaining: u64,
    mapping: MemoryMapping,
    pub return_data: Vec<u8>,
}

impl ContextObject for BareContext {
    fn consume(&mut self, amount: u64) {
        self.remaining = self.remaining.saturating_sub(amount);
    }

    fn get_remaining(&self) -> u64 {
        self.remaining
    }

    fn active_mapping_ptr(&mut self) -> NonNull<MemoryMapping> {
        NonNull::from(&mut self.mapping)
    }
}

declare_builtin_function!(
    /// Every syscall but `tos_set_return_data` in a bare run: returns 0, touches nothing.
    BareNop,
    fn rust(
        _context: &mut BareContext,
        _a: u64,
        _b: u64,
        _c: u64,
        _d: u64,
        _e: u64,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        Ok(0)
    }
);

declare_builtin_function!(
    /// `tos_set_return_data` in a bare run: copies the bytes out, as tos-vm does.
    BareSetReturnData,
    fn rust(
        context: &mut BareContext,
        addr: u64,
        len: u64,
        _c: u64,
        _d: u64,
        _e: u64,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        // The handler path, so a pooled run's lazily mapped stack is reachable from syscalls.
        match context
            .mapping
            .map_with_access_violation_handler(AccessType::Load, addr, len)
        {
            StableResult::Ok(buffer) => {
                // SAFETY: `map` returned a live host range of `len` bytes; the guest is
                // suspended during the syscall.
                let bytes = unsafe { &*buffer.ptr() };
                context.return_data = bytes.to_vec();
                Ok(0)
            }
            StableResult::Err(error) => Err(Box::new(error)),
        }
    }
);

declare_builtin_function!(
    /// `tos_memcpy`/`tos_memmove` in a bare run: copies, as tos-vm does (compiled code calls
    /// them for copies of a runtime length, so a no-op would change the contract's result).
    BareMemmove,
    fn rust(
        context: &mut BareContext,
        dst: u64,
        src: u64,
        len: u64,
        _d: u64,
        _e: u64,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        let from = match context
            .mapping
            .map_with_access_violation_handler(AccessType::Load, src, len)
        {
            StableResult::Ok(buffer) => buffer.ptr().cast::<u8>(),
            StableResult::Err(error) => return Err(Box::new(error)),
        };
        let to = match context
            .mapping
            .map_with_access_violation_handler(AccessType::Store, dst, len)
        {
            StableResult::Ok(buffer) => buffer.ptr_mut().cast::<u8>(),
            StableResult::Err(error) => return Err(Box::new(error)),
        };
        // SAFETY: both ranges were mapped for `len` bytes (the destination writable); the guest
        // is suspended during the syscall; `copy` allows overlap.
        unsafe { std::ptr::copy(from, to, len as usize) };
        Ok(dst)
    }
);

declare_builtin_function!(
    /// `tos_memset` in a bare run: fills, as tos-vm does.
    BareMemset,
    fn rust(
        context: &mut BareContext,
        dst: u64,
        byte: u64,
        len: u64,
        _d: u64,
        _e: u64,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        match context
            .mapping
            .map_with_access_violation_handler(AccessType::Store, dst, len)
        {
            StableResult::Ok(buffer) => {
                // SAFETY: the range was mapped writable for `len` bytes; the guest is suspended.
                unsafe { std::ptr::write_bytes(buffer.ptr_mut().cast::<u8>(), byte as u8, len as usize) };
                Ok(dst)
            }
            StableResult::Err(error) => Err(Box::new(error)),
        }
    }
);

/// The bare loader: tos-vm's VM config (with `tuning`), every `tos_*` name registered (so the
/// same ELFs verify), each a no-op except `tos_set_return_data` and the memory syscalls that
/// change guest memory (`tos_memcpy`, `tos_memmove`, `tos_memset`).
pub fn bare_loader(tuning: Tuning) -> Arc<BuiltinProgram<BareContext>> {
    let config = Config {
        aligned_memory_mapping: tuning.aligned,
        ..vm_config()
    };
    let mut loader = BuiltinProgram::new_loader(config);
    for name in tos_vm::syscalls::syscall_names() {
        let result = match name {
            "tos_set_return_data" => loader.register_definition::<BareSetReturnData>(name),
            "tos_memcpy" | "tos_memmove" => loader.register_definition::<BareMemmove>(name),
            "tos_memset" => loader.register_definition::<BareMemset>(name),
            _ => loader.register_definition::<BareNop>(name),
        };
        result.unwrap_or_else(|e| panic!("registering {name}: {e}"));
    }
    Arc::new(loader)
}

/// Changes to tos-vm's setup that the bare runner can try, to measure a fix before making it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tuning {
    /// `Config::aligned_memory_mapping = true`: regions found by `vm_addr >> 32` instead of a
    /// search. Sound for tos-vm, whose regions each start at their own 4 GiB boundary.
    pub aligned: bool,
    /// Stack and heap allocated once and reused: a run sees only the first stack frame; an
    /// access beyond what is mapped grows the region (the access-violation handler) 4 KiB at a
    /// time, and only what was mapped is zeroed again after the run. Replaces zero-filling
    /// 256 KiB of stack and 32 KiB of heap on every invoke.
    pub pooled: bool,
}

impl Tuning {
    pub const STOCK: Tuning = Tuning {
        aligned: false,
        pooled: false,
    };
    pub const TUNED: Tuning = Tuning {
        aligned: true,
        pooled: true,
    };
}

type Memory = AlignedMemory<{ ebpf::HOST_ALIGN }>;

/// Reused stack and heap, and how much of each the last run mapped (and so may have dirtied).
struct Pool {
    stack: Memory,
    heap: Memory,
    stack_mapped: Rc<Cell<usize>>,
    heap_mapped: Rc<Cell<usize>>,
}

/// Bytes of stack a pooled run starts with: the entry function's frame.
const POOLED_STACK_START: usize = tos_vm::runtime::limits::STACK_FRAME_SIZE;
/// Granule by which a pooled region grows.
const POOL_GRANULE: usize = 4096;

/// An ELF loaded straight into solana-sbpf: no tos-vm validation, context, journal, cache.
pub struct Bare {
    executable: Executable<BareContext>,
    engine: Engine,
    tuning: Tuning,
    pool: RefCell<Option<Pool>>,
}

/// What a bare run returned.
#[derive(Debug)]
pub struct BareOutcome {
    pub result: Result<u64, String>,
    pub return_data: Vec<u8>,
    pub instructions: u64,
}

impl Bare {
    /// Loads with tos-vm's own configuration.
    pub fn load(elf: &[u8], engine: Engine) -> Bare {
        Bare::load_tuned(elf, engine, Tuning::STOCK)
    }

    pub fn load_tuned(elf: &[u8], engine: Engine, tuning: Tuning) -> Bare {
        let executable = Executable::load(elf, bare_loader(tuning)).expect("bare load");
        executable
            .verify::<RequisiteVerifier>()
            .expect("bare verify");
        if engine == Engine::Jit {
            executable.jit_compile().expect("bare jit");
        }
        Bare {
            executable,
            engine,
            tuning,
            pool: RefCell::new(None),
        }
    }

    /// One run with tos-vm's memory layout (read-only data, 64 × 4 KiB stack, 32 KiB heap,
    /// read-only input) and the entrypoint's `r1`/`r2` set as tos-vm sets them.
    pub fn run(&self, input: &[u8]) -> BareOutcome {
        if self.tuning.pooled {
            return self.run_pooled(input);
        }
        let config = self.executable.get_config();
        let mut stack = Memory::zero_filled(config.stack_size());
        let mut heap = Memory::zero_filled(tos_vm::runtime::limits::HEAP_SIZE);
        let stack_len = stack.len();
        let input_memory = Memory::from_slice(input);
        let regions = vec![
            self.executable.get_ro_region(),
            MemoryRegion::new(&mut stack, ebpf::MM_STACK_START),
            MemoryRegion::new(&mut heap, ebpf::MM_HEAP_START),
            MemoryRegion::new(input_memory.as_slice() as *const [u8], ebpf::MM_INPUT_START),
        ];
        // SAFETY: the buffers outlive the VM, which `execute` drops before returning.
        let mapping =
            unsafe { MemoryMapping::new(regions, config, self.executable.get_sbpf_version()) }
                .expect("mapping");
        self.execute(mapping, stack_len, input.len())
    }

    fn run_pooled(&self, input: &[u8]) -> BareOutcome {
        let config = self.executable.get_config();
        let mut slot = self.pool.borrow_mut();
        let pool = slot.get_or_insert_with(|| Pool {
            stack: Memory::zero_filled(config.stack_size()),
            heap: Memory::zero_filled(tos_vm::runtime::limits::HEAP_SIZE),
            stack_mapped: Rc::new(Cell::new(POOLED_STACK_START)),
            heap_mapped: Rc::new(Cell::new(0)),
        });
        let stack_len = pool.stack.len();
        let stack_ptr = pool.stack.as_slice_mut().as_mut_ptr();
        let heap_len = pool.heap.len();
        let heap_ptr = pool.heap.as_slice_mut().as_mut_ptr();
        let input_memory = Memory::from_slice(input);
        let regions = vec![
            self.executable.get_ro_region(),
            MemoryRegion::new(
                std::ptr::slice_from_raw_parts_mut(stack_ptr, POOLED_STACK_START),
                ebpf::MM_STACK_START,
            ),
            MemoryRegion::new(
                std::ptr::slice_from_raw_parts_mut(heap_ptr, 0),
                ebpf::MM_HEAP_START,
            ),
            MemoryRegion::new(input_memory.as_slice() as *const [u8], ebpf::MM_INPUT_START),
        ];
        let (stack_mapped, heap_mapped) = (pool.stack_mapped.clone(), pool.heap_mapped.clone());
        let stack_base = stack_ptr as usize;
        let heap_base = heap_ptr as usize;
        let grow = move |region: &mut MemoryRegion,
                         _max_len: u64,
                         _access: AccessType,
                         vm_addr: u64,
                         len: u64| {
            let (base, limit, start, mapped) = match vm_addr >> ebpf::VIRTUAL_ADDRESS_BITS {
                2 => (stack_base, stack_len, ebpf::MM_STACK_START, &stack_mapped),
                3 => (heap_base, heap_len, ebpf::MM_HEAP_START, &heap_mapped),
                _ => return,
            };
            let Some(end) = vm_addr
                .checked_add(len)
                .and_then(|end| end.checked_sub(start))
                .map(|end| end as usize)
            else {
                return;
            };
            if end > limit {
                return; // a real access violation: leave the region as it is
            }
            let new_len = end.div_ceil(POOL_GRANULE) * POOL_GRANULE;
            let new_len = new_len.min(limit);
            if new_len > mapped.get() {
                mapped.set(new_len);
            }
            *region = MemoryRegion::new(
                std::ptr::slice_from_raw_parts_mut(base as *mut u8, new_len),
                start,
            );
        };
        // SAFETY: the pool's buffers outlive the VM; the handler only maps parts of them.
        let mapping = unsafe {
            MemoryMapping::new_with_access_violation_handler(
                regions,
                config,
                self.executable.get_sbpf_version(),
                Box::new(grow),
            )
        }
        .expect("mapping");
        let outcome = self.execute(mapping, stack_len, input.len());
        // Zero what this run could have written, and nothing else.
        let stack_dirty = pool.stack_mapped.replace(POOLED_STACK_START);
        pool.stack.as_slice_mut()[..stack_dirty].fill(0);
        let heap_dirty = pool.heap_mapped.replace(0);
        pool.heap.as_slice_mut()[..heap_dirty].fill(0);
        outcome
    }

    fn execute(&self, mapping: MemoryMapping, stack_len: usize, input_len: usize) -> BareOutcome {
        let executable = &self.executable;
        let config = executable.get_config();
        let mut context = BareContext {
            remaining: BIG_BUDGET,
            mapping,
            return_data: Vec::new(),
        };
        let mut vm = EbpfVm::new(
            executable.get_loader().clone(),
            executable.get_sbpf_version(),
            &mut context,
            stack_len,
        );
        vm.registers[1] = ebpf::MM_INPUT_START;
        vm.registers[2] = input_len as u64;
        let mut mode = match self.engine {
            Engine::Interpreter => ExecutionMode::Interpreted,
            Engine::Jit => ExecutionMode::Jit,
        };
        let mut frames = vec![CallFrame::default(); config.max_call_depth];
        let (instructions, result) = vm.execute_program(executable, &mut mode, &mut frames);
        let result = Result::from(result).map_err(|e| e.to_string());
        drop(vm);
        BareOutcome {
            result,
            return_data: context.return_data,
            instructions,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Facts: numbers criterion does not measure (instructions per run, ELF sizes, key counts),
// written next to criterion's output for `scripts/bench` to put in the report.

/// `target/tos-bench/facts.json`.
pub fn facts_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("tos-bench").join("facts.json")
}

/// Records `key = value` in the facts file (read, update, write: benches run one at a time).
pub fn record_fact(key: &str, value: serde_json::Value) {
    let path = facts_path();
    let mut facts: serde_json::Map<String, serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    facts.insert(key.to_string(), value);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = serde_json::to_string_pretty(&facts).expect("facts serialize");
    let _ = std::fs::write(&path, text);
}
