//! Storage benchmarks: block commit throughput and read latency (latest and as-of a past height)
//! for DiskStorage (redb, durable commits) and MemoryStorage.
//!
//! `cargo bench -p tos-storage` (about half a minute: 10 samples, short measurement times).
//! Numbers are recorded in docs/storage.md.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use tos_storage::{ChangeSet, DiskStorage, Hash, MemoryStorage, StorageProvider, NATIVE_ASSET};

const CONTRACT: Hash = Hash([0xC0; 32]);

/// 32-byte key number `n`, spread over the key space like a hashed key.
fn key(n: u64) -> Vec<u8> {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    key.to_vec()
}

/// A block of `writes` storage writes (64-byte values naming the height) over a key space of
/// `10 * writes` keys, so keys are rewritten and gather versions, plus one balance.
fn block(height: u64, writes: u64) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for i in 0..writes {
        let n = (height * writes + i) % (10 * writes);
        let mut value = vec![0u8; 64];
        value[..8].copy_from_slice(&height.to_le_bytes());
        value[8..16].copy_from_slice(&n.to_le_bytes());
        cs.set_storage(CONTRACT, key(n), Some(value));
    }
    cs.set_balance(Hash([1; 32]), NATIVE_ASSET, height);
    cs
}

fn commit_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit_block");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for writes in [10u64, 100, 1000] {
        group.throughput(Throughput::Elements(writes));

        let dir = tempfile::tempdir().expect("tempdir");
        let mut disk = DiskStorage::open(dir.path()).expect("open");
        let mut height = 0;
        group.bench_with_input(BenchmarkId::new("disk", writes), &writes, |b, &writes| {
            b.iter_batched(
                || {
                    height += 1;
                    (height, block(height, writes))
                },
                |(height, cs)| disk.commit_block(height, &cs).expect("commit"),
                BatchSize::SmallInput,
            )
        });
        drop(disk);

        let mut memory = MemoryStorage::new();
        let mut height = 0;
        group.bench_with_input(BenchmarkId::new("memory", writes), &writes, |b, &writes| {
            b.iter_batched(
                || {
                    height += 1;
                    (height, block(height, writes))
                },
                |(height, cs)| memory.commit_block(height, &cs).expect("commit"),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// 200 blocks of 100 writes over 1 000 keys: every key has ~20 versions.
const READ_BLOCKS: u64 = 200;
const READ_WRITES: u64 = 100;

fn read_latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disk = DiskStorage::open(dir.path()).expect("open");
    let mut memory = MemoryStorage::new();
    for height in 1..=READ_BLOCKS {
        let cs = block(height, READ_WRITES);
        disk.commit_block(height, &cs).expect("commit");
        memory.commit_block(height, &cs).expect("commit");
    }
    let keys: Vec<Vec<u8>> = (0..10 * READ_WRITES).map(key).collect();
    let as_of = READ_BLOCKS / 2;

    let mut group = c.benchmark_group("read");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let stores: [(&str, &dyn StorageProvider); 2] = [("disk", &disk), ("memory", &memory)];
    for (name, store) in stores {
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("latest", name), |b| {
            b.iter(|| {
                i = (i + 7) % keys.len();
                store.read_storage(&CONTRACT, &keys[i]).expect("read")
            })
        });
    }
    let mut i = 0usize;
    group.bench_function(BenchmarkId::new("as_of", "disk"), |b| {
        b.iter(|| {
            i = (i + 7) % keys.len();
            disk.read_storage_at(&CONTRACT, &keys[i], as_of)
                .expect("read")
        })
    });
    let mut i = 0usize;
    group.bench_function(BenchmarkId::new("as_of", "memory"), |b| {
        b.iter(|| {
            i = (i + 7) % keys.len();
            memory
                .read_storage_at(&CONTRACT, &keys[i], as_of)
                .expect("read")
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Few samples, no plots, a small bootstrap: the analysis would otherwise take longer than
    // the measurements.
    config = Criterion::default()
        .sample_size(10)
        .nresamples(10_000)
        .without_plots();
    targets = commit_throughput, read_latency
}
criterion_main!(benches);
