//! Crash safety of DiskStorage: a writer process is SIGKILLed at arbitrary moments while it
//! commits blocks; the state must reopen (without any repair step of ours) at a block height
//! `H >= the last height the writer reported committed`, with every block `<= H` complete and
//! nothing of block `H + 1`. The writer folds its version log every 4 blocks, so kills also land
//! inside folds.
//!
//! The writer is this test binary itself, re-executed with `--exact writer_entry` and the
//! state directory in `TOS_CRASH_WRITER_DIR`; without that variable `writer_entry` does
//! nothing, so a normal `cargo test` run only runs the parent.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tos_storage::{ChangeSet, DiskStorage, Hash, StorageProvider, NATIVE_ASSET};

const WRITER_ENV: &str = "TOS_CRASH_WRITER_DIR";
/// Keys written by every block, each with a value that encodes the block height.
const KEYS: u64 = 50;
const CONTRACT: Hash = Hash([0xCC; 32]);
const MINER: Hash = Hash([0x33; 32]);
const KILLS: u64 = 5;

fn key(i: u64) -> Vec<u8> {
    format!("key-{i:02}").into_bytes()
}

/// 64 bytes that name the block and the key.
fn value(height: u64, i: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    for _ in 0..4 {
        v.extend_from_slice(&height.to_le_bytes());
        v.extend_from_slice(&i.to_le_bytes());
    }
    v
}

/// A key that only block `height` writes.
fn marker(height: u64) -> Vec<u8> {
    format!("block-{height}").into_bytes()
}

fn block(height: u64) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for i in 0..KEYS {
        cs.set_storage(CONTRACT, key(i), Some(value(height, i)));
    }
    cs.set_storage(
        CONTRACT,
        marker(height),
        Some(height.to_le_bytes().to_vec()),
    );
    // Exists at odd heights only: deletions are versioned too.
    let odd = if height % 2 == 1 {
        Some(b"odd".to_vec())
    } else {
        None
    };
    cs.set_storage(CONTRACT, b"odd".to_vec(), odd);
    cs.set_balance(MINER, NATIVE_ASSET, height);
    cs
}

/// The writer: commits blocks until killed, printing each height once it is committed.
#[test]
fn writer_entry() {
    let Some(dir) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let mut disk = DiskStorage::open(Path::new(&dir)).expect("writer: open");
    // A short version log: kills land in blocks that append to the log, in blocks that fold
    // it into the key-ordered tables (every 4th), and between them; the verifier reads with
    // the default length, across both.
    disk.set_log_blocks(4);
    let mut height = disk.block_height().expect("writer: height");
    loop {
        height += 1;
        disk.commit_block(height, &block(height))
            .expect("writer: commit");
        // Flush explicitly: the parent must see a height as soon as it is durable.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "committed {height}").expect("writer: stdout");
        out.flush().expect("writer: flush");
    }
}

/// A small xorshift generator: no dependency, and the seed is printed for reproduction.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn verify(dir: &Path, last_printed: u64) -> u64 {
    let disk = DiskStorage::open(dir).expect("the state must open after a kill");
    let tip = disk.block_height().unwrap();
    assert!(
        tip >= last_printed,
        "block {last_printed} was reported committed, the state is at {tip}"
    );
    // Every block up to the tip is complete, as of its own height.
    for height in 1..=tip {
        for i in 0..KEYS {
            assert_eq!(
                disk.read_storage_at(&CONTRACT, &key(i), height).unwrap(),
                Some(value(height, i)),
                "key {i} as of block {height} (tip {tip})"
            );
        }
        assert_eq!(
            disk.read_storage_at(&CONTRACT, &marker(height), height)
                .unwrap(),
            Some(height.to_le_bytes().to_vec())
        );
        assert_eq!(
            disk.read_storage_at(&CONTRACT, &marker(height), height - 1)
                .unwrap(),
            None
        );
        assert_eq!(
            disk.read_storage_at(&CONTRACT, b"odd", height).unwrap(),
            (height % 2 == 1).then(|| b"odd".to_vec())
        );
        assert_eq!(
            disk.read_balance_at(&MINER, &NATIVE_ASSET, height).unwrap(),
            height
        );
    }
    // Nothing of the block above the tip, in the latest state either.
    assert!(disk.read_storage_at(&CONTRACT, &key(0), tip + 1).is_err());
    for i in 0..KEYS {
        assert_eq!(
            disk.read_storage(&CONTRACT, &key(i)).unwrap(),
            Some(value(tip, i))
        );
    }
    assert_eq!(
        disk.read_storage(&CONTRACT, &marker(tip + 1)).unwrap(),
        None
    );
    assert_eq!(disk.read_balance(&MINER, &NATIVE_ASSET).unwrap(), tip);
    let live = disk.list_storage(&CONTRACT).unwrap();
    let markers = live
        .iter()
        .filter(|(k, _)| k.starts_with(b"block-"))
        .count() as u64;
    assert_eq!(markers, tip);
    assert_eq!(live, disk.list_storage_at(&CONTRACT, tip).unwrap());
    tip
}

#[test]
fn killed_writer_leaves_a_consistent_state() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("crash test seed {seed:#x}");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    let mut tip = 0;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_entry", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill after 3..=30 more blocks, at a uniformly random point of the next block's
        // commit cycle (the delay is drawn from the time the last block took).
        let blocks = 3 + rng.below(28);
        let mut last_printed = tip;
        let mut seen = 0;
        let mut printed_at = Vec::new();
        while seen < blocks {
            let line = match lines.next() {
                Some(line) => line.unwrap(),
                None => {
                    let output = child.wait_with_output().unwrap();
                    panic!(
                        "writer exited early ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            };
            if let Some(height) = line.strip_prefix("committed ") {
                last_printed = height.parse().unwrap();
                seen += 1;
                printed_at.push(Instant::now());
            }
        }
        let cycle = match printed_at.as_slice() {
            [.., before, last] => last.duration_since(*before),
            _ => Duration::from_millis(20),
        };
        let delay = Duration::from_micros(rng.below(cycle.as_micros() as u64 + 1));
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // The writer may have committed more than it printed before dying.
        for line in lines.map_while(Result::ok) {
            if let Some(height) = line.strip_prefix("committed ") {
                last_printed = height.parse().unwrap();
            }
        }
        let reopened = verify(dir.path(), last_printed);
        eprintln!(
            "round {round}: killed {delay:?} into a {cycle:?} cycle after block {last_printed}, \
             reopened at {reopened} ({:?})",
            started.elapsed()
        );
        assert!(reopened > tip, "the writer made progress");
        tip = reopened;
    }
}
