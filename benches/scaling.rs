//! How invoke cost grows with the store and with the input.
//!
//! * `scaling/storage-{memory,disk}/<keys>`: one token transfer (`Vm::execute`: code, run,
//!   journal reads — no commit, so the disk case measures reads rather than fsync) against a
//!   token whose storage holds `<keys>` balances: 1k, 100k, 1M keys. Recipients are spread
//!   over the whole key space. `storage-disk/block1000/<keys>` adds the commit: 1,000 transfers
//!   into a `PendingState` and one `commit_block`, on the largest on-disk store. The disk
//!   group is timed in wall-clock time, the others in CPU time (`common::Clock`).
//!   The on-disk stores are built once per run with direct commits of 100k keys each (see
//!   `TOS_BENCH_DISK_KEYS` below to shrink the largest for a quick run).
//! * `scaling/input/<bytes>`: the `noop` contract with 0 B to 64 KiB (the limit) of input,
//!   through `Vm::execute` and bare solana-sbpf (JIT): what passing the input costs.

mod common;

use std::{cell::Cell, hint::black_box, time::Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use serde_json::json;
use tos_vm::{
    BlockContext, ContractCall, DiskStorage, Engine, Hash, MemoryStorage, StorageProvider, Vm,
    VmConfig,
};

use common::{
    token::{self as tok, OWNER},
    Bare, Clock,
};

const SIZES: [u64; 3] = [1_000, 100_000, 1_000_000];
/// Keys per direct commit while a store is filled.
const CHUNK: u64 = 100_000;
/// Transfer targets per size: spread over the existing accounts.
const TARGETS: u64 = 1024;

fn vm() -> Vm {
    Vm::new(VmConfig {
        engine: Engine::Jit,
        ..VmConfig::default()
    })
}

/// Grows `store` (holding the token) to `keys` filler balances.
fn fill(store: &mut dyn StorageProvider, token: Hash, from: u64, keys: u64) {
    let mut done = from;
    while done < keys {
        let count = CHUNK.min(keys - done);
        store
            .commit(&tok::filler(token, done, count))
            .expect("fill store");
        done += count;
    }
}

/// Transfers to `TARGETS` existing accounts spread over `0..keys`.
fn calls(token: Hash, keys: u64) -> Vec<ContractCall> {
    let stride = (keys / TARGETS).max(1);
    (0..TARGETS.min(keys))
        .map(|i| tok::call(token, OWNER, tok::transfer(&tok::recipient(i * stride), 1)))
        .collect()
}

fn storage(c: &mut Criterion<Clock>) {
    let Some(elf) = common::token_elf() else {
        return;
    };
    let block = BlockContext::default();
    let vm = vm();
    let mut group = c.benchmark_group("scaling/storage-memory");

    // Memory: one store grown from size to size.
    let mut memory = MemoryStorage::default();
    let token = tok::deploy(&vm, &elf, &mut memory);
    let mut filled = 0;
    for keys in SIZES {
        let started = Instant::now();
        fill(&mut memory, token, filled, keys);
        filled = keys;
        common::record_fact(
            &format!("scaling.memory_fill_seconds.{keys}"),
            json!(started.elapsed().as_secs_f64()),
        );
        let calls = calls(token, keys);
        let probe = vm.execute(&calls[1], &block, &memory).expect("transfer");
        assert!(probe.status.is_success(), "{:?}", probe.status);
        assert_eq!(
            tok::balance(&vm, token, &memory, &tok::recipient(keys / TARGETS)),
            1,
            "filler balances are readable by the contract"
        );
        let next = Cell::new(0usize);
        group.bench_function(format!("{keys}"), |b| {
            b.iter(|| {
                let i = next.get();
                next.set((i + 1) % calls.len());
                vm.execute(black_box(&calls[i]), &block, &memory)
                    .expect("transfer")
            })
        });
    }
    group.finish();
}

/// Disk: one store grown from size to size (up to TOS_BENCH_DISK_KEYS, default 1M), timed by
/// wall-clock time.
fn storage_disk(c: &mut Criterion<Clock>) {
    let Some(elf) = common::token_elf() else {
        return;
    };
    let block = BlockContext::default();
    let vm = vm();
    let mut group = c.benchmark_group("scaling/storage-disk");
    let disk_max: u64 = std::env::var("TOS_BENCH_DISK_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(common::scratch_dir()).expect("tempdir");
    let mut disk = DiskStorage::open(dir.path()).expect("open disk store");
    let token = tok::deploy(&vm, &elf, &mut disk);
    let mut filled = 0;
    let mut largest = 0;
    for keys in SIZES.into_iter().filter(|&k| k <= disk_max) {
        let started = Instant::now();
        fill(&mut disk, token, filled, keys);
        filled = keys;
        largest = keys;
        common::record_fact(
            &format!("scaling.disk_fill_seconds.{keys}"),
            json!(started.elapsed().as_secs_f64()),
        );
        let calls = calls(token, keys);
        let probe = vm.execute(&calls[1], &block, &disk).expect("transfer");
        assert!(probe.status.is_success(), "{:?}", probe.status);
        let next = Cell::new(0usize);
        group.bench_function(format!("{keys}"), |b| {
            b.iter(|| {
                let i = next.get();
                next.set((i + 1) % calls.len());
                vm.execute(black_box(&calls[i]), &block, &disk)
                    .expect("transfer")
            })
        });
    }
    common::record_fact("scaling.disk_max_keys", json!(largest));
    if let Ok(meta) = std::fs::metadata(disk.path()) {
        common::record_fact("scaling.disk_file_bytes", json!(meta.len()));
    }

    // The commit path on the largest on-disk store: blocks of 1,000 transfers.
    const BLOCK: u64 = 1000;
    let calls = calls(token, largest);
    let blocks = common::blocks::Blocks::new(&calls, BLOCK, disk.block_height().expect("height"));
    group.throughput(Throughput::Elements(BLOCK));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(format!("block{BLOCK}/{largest}"), |b| {
        b.iter_custom(|count| blocks.run(&vm, &mut disk, count))
    });
    if let Some(cpu) = blocks.cpu_per_transfer() {
        common::record_fact("scaling.disk_block_cpu_ns", json!(cpu.as_nanos() as f64));
    }
    common::record_fact("scaling.disk_block_transfers", json!(BLOCK));
    group.finish();
}

fn input(c: &mut Criterion<Clock>) {
    let elf = common::contract_elf("noop");
    let block = BlockContext::default();
    let vm = vm();
    let mut store = MemoryStorage::default();
    let hash = vm
        .deploy(
            &elf,
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(&elf)),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .expect("deploy");
    let bare = Bare::load(&elf, Engine::Jit);
    let mut group = c.benchmark_group("scaling/input");
    for len in [0usize, 1024, 8 * 1024, 64 * 1024] {
        let input = vec![0x5A; len];
        let call = ContractCall::new(hash, input.clone());
        assert!(vm
            .execute(&call, &block, &store)
            .expect("execute")
            .status
            .is_success());
        assert_eq!(bare.run(&input).result, Ok(0));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("tos-jit/{len}"), |b| {
            b.iter(|| {
                vm.execute(black_box(&call), &block, &store)
                    .expect("execute")
            })
        });
        group.bench_function(format!("bare-jit/{len}"), |b| {
            b.iter(|| bare.run(black_box(&input)))
        });
    }
    group.finish();
}

criterion_group! {
    name = cpu;
    config = common::criterion();
    targets = storage, input
}
criterion_group! {
    name = wall;
    config = common::criterion_wall();
    targets = storage_disk
}
criterion_main!(cpu, wall);
