//! `tos-profile`: fixed runs for instruction-count profiling (callgrind counts are repeatable
//! on a loaded machine where wall-clock time is not).
//!
//! ```text
//! cargo build --release -p tos-test-harness --bin tos-profile
//! valgrind --tool=callgrind target/release/tos-profile [jit|interp] [CALLS] [WORKLOAD]
//! ```
//!
//! Workloads (default `transfer`):
//! * `transfer`: `examples/token` transfers to 1024 recipients in turn;
//! * `noop`: the empty invoke (`benches/contracts/noop`);
//! * `height`, `read`, `write`: one call of `benches/contracts/syscalls` running
//!   `tos_get_block_height`, `tos_storage_read` or `tos_storage_write` 1000 times;
//! * `sha256`, `sha256-alu32`: the compute bench's SHA-256 chain (`benches/contracts/sha256`,
//!   64 rounds over 1 KiB), built by the default code generation or the 32-bit ALU route;
//! * `fib`, `sort`: the compute bench's other two runs (`fib(24)`, a heapsort of 4096 `u64`).
//!
//! Each call goes the way `Vm::invoke` takes it: `execute_call` from the executable cache,
//! effects left lazy, commit into a `MemoryStorage`. Divide callgrind's total by the call
//! count after subtracting a run with 0 calls (setup: build, load, JIT); for the syscall
//! workloads, subtract the `syscalls` run of op `height` from the others and divide by 1000
//! per call to get a syscall's cost over the cheapest one.

use tos_loader::toolchain::Codegen;
use tos_program_runtime::{
    execute_call, BlockContext, CallConfig, ContractCall, Engine, ExecutableCache, LazyEffects,
};
use tos_storage::{ChangeSet, Hash, MemoryStorage, StorageProvider};
use tos_test_harness::fixtures;

const OWNER: [u8; 32] = [0xA0; 32];
/// Syscalls per call of the `height`, `read` and `write` workloads.
const SYSCALLS_PER_CALL: u64 = 1000;

fn call(contract: Hash, input: Vec<u8>) -> ContractCall {
    ContractCall {
        sender: Hash(OWNER),
        ..ContractCall::new(contract, input)
    }
}

fn invoke(
    cache: &ExecutableCache,
    store: &mut MemoryStorage,
    call: &ContractCall,
    config: CallConfig,
) -> usize {
    let outcome = execute_call(cache, call, &BlockContext::default(), store, config)
        .unwrap_or_else(|error| panic!("call could not start: {error}"));
    assert!(outcome.is_success(), "{:?}", outcome.result);
    // As `Vm::execute` does: the effects are there to be read, built only if someone does.
    let effects = LazyEffects::new(outcome.journal);
    if !outcome.changes.is_empty() {
        store.commit(&outcome.changes).expect("commit");
    }
    effects.journal().len()
}

/// Stores `elf` as an instance at its code hash (any address does) and returns that address.
fn deploy(store: &mut MemoryStorage, elf: Vec<u8>) -> Hash {
    let address = tos_program_runtime::code_hash(&elf);
    let mut deploy = ChangeSet::default();
    deploy.deploy_code(address, elf);
    deploy.create_contract(address, address);
    store.commit(&deploy).expect("deploy");
    address
}

fn bench_contract(name: &str) -> Vec<u8> {
    bench_contract_with(name, Codegen::default())
}

fn bench_contract_with(name: &str, codegen: Codegen) -> Vec<u8> {
    let dir = fixtures::workspace_root()
        .join("benches")
        .join("contracts")
        .join(name);
    fixtures::build_contract_cached_with(&dir, codegen)
        .unwrap_or_else(|error| panic!("building benches/contracts/{name}: {error}"))
}

/// The inputs the calls cycle through, after any setup calls have run.
fn prepare(
    workload: &str,
    cache: &ExecutableCache,
    store: &mut MemoryStorage,
    config: CallConfig,
) -> (Hash, Vec<Vec<u8>>) {
    match workload {
        "transfer" => {
            let token = deploy(store, fixtures::example_elf("token"));
            // init("Bench", "BNCH", 9, 2^60): the method's selector, then its arguments in borsh.
            let mut init = tos_abi::method_selector("init").to_le_bytes().to_vec();
            for text in ["Bench", "BNCH"] {
                init.extend_from_slice(&(text.len() as u32).to_le_bytes());
                init.extend_from_slice(text.as_bytes());
            }
            init.push(9);
            init.extend_from_slice(&(1u64 << 60).to_le_bytes());
            invoke(cache, store, &call(token, init), config);
            // transfer(to, 1) to 1024 recipients in turn.
            let inputs = (0..1024u64)
                .map(|i| {
                    let mut input = tos_abi::method_selector("transfer").to_le_bytes().to_vec();
                    input.extend_from_slice(&i.to_le_bytes());
                    input.push(0xEE);
                    input.extend_from_slice(&[0u8; 23]);
                    input.extend_from_slice(&1u64.to_le_bytes());
                    input
                })
                .collect();
            (token, inputs)
        }
        "noop" => (deploy(store, bench_contract("noop")), vec![Vec::new()]),
        "height" | "read" | "write" => {
            let op: u64 = match workload {
                "height" => 0,
                "read" => 1,
                _ => 2,
            };
            let contract = deploy(store, bench_contract("syscalls"));
            let mut input = op.to_le_bytes().to_vec();
            input.extend_from_slice(&SYSCALLS_PER_CALL.to_le_bytes());
            (contract, vec![input])
        }
        "sha256" | "sha256-alu32" => {
            let codegen = if workload == "sha256" {
                Codegen::V2
            } else {
                Codegen::Alu32
            };
            let contract = deploy(store, bench_contract_with("sha256", codegen));
            // As benches/vm.rs: 64 rounds over a 1 KiB message.
            let mut input = 64u64.to_le_bytes().to_vec();
            input.extend((0..1024u32).map(|i| (i * 31 + 7) as u8));
            (contract, vec![input])
        }
        // As benches/vm.rs: fib(24), and a heapsort of 4096 pseudo-random u64.
        "fib" => (
            deploy(store, bench_contract("fib")),
            vec![24u64.to_le_bytes().to_vec()],
        ),
        "sort" => {
            let mut input = 4096u64.to_le_bytes().to_vec();
            input.extend_from_slice(&0x9E37_79B9_7F4A_7C15u64.to_le_bytes());
            (deploy(store, bench_contract("sort")), vec![input])
        }
        other => panic!(
            "workload `{other}`: transfer, noop, height, read, write, sha256, sha256-alu32, fib \
             or sort"
        ),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let engine = match args.next().as_deref() {
        None | Some("jit") => Engine::Jit,
        Some("interp") => Engine::Interpreter,
        Some(other) => panic!("engine `{other}`: jit or interp"),
    };
    let calls: u64 = args.next().map_or(1000, |n| n.parse().expect("call count"));
    let workload = args.next().unwrap_or_else(|| "transfer".to_string());
    let cache = ExecutableCache::new(tos_syscalls::runtime_environment());
    let mut store = MemoryStorage::default();
    let config = CallConfig {
        engine,
        compute_budget: tos_program_runtime::limits::MAX_COMPUTE_BUDGET,
    };
    let (contract, inputs) = prepare(&workload, &cache, &mut store, config);
    let calls_to_make: Vec<ContractCall> = inputs
        .into_iter()
        .map(|input| call(contract, input))
        .collect();
    // Load (and compile) outside the counted calls: a run of 0 calls includes it.
    if let Some(first) = calls_to_make.first() {
        cache
            .load_contract(&store, &first.contract, engine)
            .expect("load");
    }
    let mut changed = 0;
    for i in 0..calls {
        let next = &calls_to_make[(i % calls_to_make.len() as u64) as usize];
        changed += invoke(&cache, &mut store, next, config);
    }
    println!("{calls} calls of {workload}, {changed} journal entries");
}
