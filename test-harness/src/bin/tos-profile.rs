//! `tos-profile`: a fixed run of `examples/token` transfers for instruction-count profiling
//! (callgrind counts are repeatable on a loaded machine where wall-clock time is not).
//!
//! ```text
//! cargo build --release -p tos-test-harness --bin tos-profile
//! valgrind --tool=callgrind target/release/tos-profile [jit|interp] [TRANSFERS]
//! ```
//!
//! Each transfer goes the way `Vm::invoke` takes it: `execute_call` from the executable cache,
//! effects left lazy, commit into a `MemoryStorage`. Divide callgrind's total by the
//! transfer count after subtracting a run with 0 transfers (setup: build, load, JIT).

use tos_program_runtime::{
    execute_call, BlockContext, CallConfig, ContractCall, Engine, ExecutableCache, LazyEffects,
};
use tos_storage::{ChangeSet, Hash, MemoryStorage, StorageProvider};
use tos_test_harness::fixtures;

const OWNER: [u8; 32] = [0xA0; 32];

fn call(token: Hash, input: Vec<u8>) -> ContractCall {
    ContractCall {
        sender: Hash(OWNER),
        ..ContractCall::new(token, input)
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

fn main() {
    let mut args = std::env::args().skip(1);
    let engine = match args.next().as_deref() {
        None | Some("jit") => Engine::Jit,
        Some("interp") => Engine::Interpreter,
        Some(other) => panic!("engine `{other}`: jit or interp"),
    };
    let transfers: u64 = args
        .next()
        .map_or(1000, |n| n.parse().expect("transfer count"));
    let elf = fixtures::example_elf("token");
    let cache = ExecutableCache::new(tos_syscalls::runtime_environment());
    let mut store = MemoryStorage::default();
    let token = tos_program_runtime::code_hash(&elf);
    let mut deploy = ChangeSet::default();
    deploy.deploy_code(token, elf);
    // The instance lives at an address equal to its code hash: any address does.
    deploy.create_contract(token, token);
    store.commit(&deploy).expect("deploy");
    let config = CallConfig {
        engine,
        compute_budget: 1_000_000,
    };
    // Init { name "Bench", symbol "BNCH", decimals 9, supply 2^60 } (borsh, variant 0).
    let mut init = vec![0u8];
    for text in ["Bench", "BNCH"] {
        init.extend_from_slice(&(text.len() as u32).to_le_bytes());
        init.extend_from_slice(text.as_bytes());
    }
    init.push(9);
    init.extend_from_slice(&(1u64 << 60).to_le_bytes());
    invoke(&cache, &mut store, &call(token, init), config);
    // Transfer { to, amount 1 } (borsh, variant 2) to 1024 recipients in turn.
    let inputs: Vec<Vec<u8>> = (0..1024u64)
        .map(|i| {
            let mut input = vec![2u8];
            input.extend_from_slice(&i.to_le_bytes());
            input.push(0xEE);
            input.extend_from_slice(&[0u8; 23]);
            input.extend_from_slice(&1u64.to_le_bytes());
            input
        })
        .collect();
    let mut changed = 0;
    for i in 0..transfers {
        changed += invoke(
            &cache,
            &mut store,
            &call(token, inputs[(i % 1024) as usize].clone()),
            config,
        );
    }
    println!("{transfers} transfers, {changed} journal entries");
}
