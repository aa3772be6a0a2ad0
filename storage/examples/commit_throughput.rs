//! Throwaway measurement for docs/storage.md:
//! `cargo run --release -p tos-storage --example commit_throughput [dir]`
//!
//! Commits change sets of 100 storage writes (32-byte keys, 64-byte values, fresh keys each
//! time so the database grows) into a DiskStorage, then measures point reads and the time to
//! reopen (which runs redb's full integrity check).

use std::time::Instant;
use tos_storage::{ChangeSet, DiskStorage, Hash, StorageProvider};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = match std::env::args().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("tos-storage-bench-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&base);
    let contract = Hash([0xC0; 32]);
    const COMMITS: u64 = 500;
    const WRITES: u64 = 100;

    let mut disk = DiskStorage::open(&base)?;
    let started = Instant::now();
    for commit in 0..COMMITS {
        let mut changes = ChangeSet::new();
        for write in 0..WRITES {
            let n = commit * WRITES + write;
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
            changes.set_storage(contract, key.to_vec(), Some(vec![n as u8; 64]));
        }
        changes.set_balance(Hash([1; 32]), Hash([0; 32]), commit + 1);
        disk.commit_with_height(&changes, commit + 1)?;
    }
    let elapsed = started.elapsed();
    println!(
        "{COMMITS} commits x {WRITES} writes: {:.2?} total, {:.0} commits/s, {:.0} writes/s, {:.2} ms/commit",
        elapsed,
        COMMITS as f64 / elapsed.as_secs_f64(),
        (COMMITS * WRITES) as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / COMMITS as f64,
    );

    let started = Instant::now();
    let mut found = 0u64;
    const READS: u64 = 20_000;
    for i in 0..READS {
        let n = (i * 7919) % (COMMITS * WRITES);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        if disk.read_storage(&contract, &key)?.is_some() {
            found += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(found, READS);
    println!(
        "{READS} point reads: {:.2?}, {:.0} reads/s",
        elapsed,
        READS as f64 / elapsed.as_secs_f64()
    );
    drop(disk);

    let size = std::fs::metadata(base.join("state.redb"))?.len();
    let started = Instant::now();
    let disk = DiskStorage::open(&base)?;
    println!(
        "reopen (integrity check) of a {:.1} MiB file with {} entries: {:.2?}",
        size as f64 / (1024.0 * 1024.0),
        COMMITS * WRITES,
        started.elapsed()
    );
    assert_eq!(disk.block_height()?, COMMITS);
    drop(disk);
    std::fs::remove_dir_all(&base)?;
    Ok(())
}
