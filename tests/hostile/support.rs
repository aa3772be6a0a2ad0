//! Shared by the hardening tests (`tests/hostile.rs`, `tests/fuzz_*.rs`, `tests/determinism.rs`,
//! `tests/store_faults.rs`), included with `#[path = "hostile/support.rs"] mod support;`.
//!
//! - [`bpf`]: raw SBPF instructions and a minimal V3 ELF around them;
//! - [`Rng`]: a seeded splitmix64 generator (no dependency, same stream on every platform);
//! - [`fuzz`]: a time- and count-bounded mutation fuzzer on stable Rust, with a corpus of
//!   regression files replayed on every run;
//! - [`outcome_fingerprint`] / snapshots: everything two runs (or two engines) must agree on.
#![allow(dead_code)]

use std::path::PathBuf;

use tos_vm::{
    BlockContext, ContractCall, DiskStorage, Engine, Hash, InvokeOutcome, MemoryStorage, Vm,
    VmConfig, VmError,
};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hostile C contracts under `tests/hostile/<name>/`, built from source (cached).
pub fn hostile_elf(name: &str) -> Vec<u8> {
    let dir = root().join("tests/hostile").join(name);
    tos_test_harness::fixtures::build_contract_cached(&dir).unwrap_or_else(|e| panic!("{e}"))
}

/// The syscall probe (`tests/contracts/probe`).
pub fn probe_elf() -> Vec<u8> {
    let dir = root().join("tests/contracts/probe");
    tos_test_harness::fixtures::build_contract_cached(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[allow(unused_imports)]
pub use tos_test_harness::fixtures::probe_variant_elf;

pub const SENDER: Hash = Hash([0x5E; 32]);
pub const TX_HASH: Hash = Hash([0x7A; 32]);

pub fn block() -> BlockContext {
    BlockContext {
        height: 42,
        hash: Hash([0xB1; 32]),
        timestamp: 1_700_000_000,
    }
}

pub fn vm(engine: Engine, budget: u64) -> Vm {
    // A small executable cache: fuzzers load thousands of distinct programs.
    Vm::with_cache_budget(
        VmConfig {
            engine,
            compute_budget: budget,
        },
        32 * 1024 * 1024,
    )
}

pub fn call(contract: Hash, input: &[u8], value: u64) -> ContractCall {
    ContractCall {
        contract,
        input: input.to_vec(),
        sender: SENDER,
        tx_hash: TX_HASH,
        deposits: tos_vm::native_deposit(value),
        compute_limit: None,
        created_bytes_limit: None,
    }
}

/// Everything an invoke produced that must be identical across runs and engines: status
/// (with the typed error), compute used, logs (with their contract), net effects, the change
/// set, events and return data.
pub fn outcome_fingerprint(outcome: &InvokeOutcome) -> String {
    format!(
        "status {:?}\ncompute {}\nlogs {:?}\neffects {:?}\nchanges {:?}\nevents {:?}\nreturn {:?}",
        outcome.status,
        outcome.compute_used,
        outcome.logs,
        outcome.effects,
        outcome.changes,
        outcome.events,
        outcome.return_data
    )
}

/// `Ok` outcome or the error of `Vm::invoke`, as text.
pub fn result_fingerprint(result: &Result<InvokeOutcome, VmError>) -> String {
    match result {
        Ok(outcome) => outcome_fingerprint(outcome),
        Err(error) => format!("invoke error {error:?}"),
    }
}

/// The whole content of a disk store, through its public listing API.
pub fn disk_snapshot(store: &DiskStorage) -> String {
    let code = store.list_code().expect("list_code");
    let mut text = format!(
        "height {:?}\nbalances {:?}\ncode {:?}\n",
        store.block_height(),
        store.list_balances().expect("list_balances"),
        code
    );
    let mut contracts = code.clone();
    // Storage may exist for contracts whose code is not deployed (written by a test's setup).
    contracts.extend([Hash([0x11; 32]), Hash([0xAA; 32])]);
    for contract in contracts {
        text.push_str(&format!(
            "storage {contract}: {:?}\n",
            store.list_storage(&contract).expect("list_storage")
        ));
    }
    text
}

/// Every storage key and value of every contract of a memory store, balances and code hashes.
pub fn memory_snapshot(store: &MemoryStorage) -> String {
    let code = store.code_hashes();
    let mut text = format!("balances {:?}\ncode {:?}\n", store.balances(), code);
    for contract in code {
        text.push_str(&format!(
            "storage {contract}: {:?}\n",
            store.storage_entries(&contract)
        ));
    }
    text
}

// ---------------------------------------------------------------------------------------------

/// Raw SBPF V3 instructions and executables.
pub mod bpf {
    use tos_vm::runtime::solana_sbpf::ebpf;

    pub const MM_RODATA: u64 = 0;
    pub const MM_CODE: u64 = 0x1_0000_0000;
    pub const MM_STACK: u64 = 0x2_0000_0000;
    pub const MM_HEAP: u64 = 0x3_0000_0000;
    pub const MM_INPUT: u64 = 0x4_0000_0000;

    /// One 8-byte instruction slot.
    pub fn insn(opc: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let mut slot = [0u8; 8];
        slot[0] = opc;
        slot[1] = (src << 4) | (dst & 0x0f);
        slot[2..4].copy_from_slice(&off.to_le_bytes());
        slot[4..8].copy_from_slice(&imm.to_le_bytes());
        slot
    }

    /// `lddw dst, value` (two slots).
    pub fn lddw(dst: u8, value: u64) -> [[u8; 8]; 2] {
        [
            insn(0x18, dst, 0, 0, value as u32 as i32),
            insn(0, 0, 0, 0, (value >> 32) as u32 as i32),
        ]
    }

    pub fn mov64_imm(dst: u8, imm: i32) -> [u8; 8] {
        insn(0xb7, dst, 0, 0, imm)
    }
    pub fn mov64_reg(dst: u8, src: u8) -> [u8; 8] {
        insn(0xbf, dst, src, 0, 0)
    }
    pub fn exit() -> [u8; 8] {
        insn(0x95, 0, 0, 0, 0)
    }
    /// `call <syscall>` (static syscall: src = 0, imm = murmur3 of the name).
    pub fn syscall(name: &str) -> [u8; 8] {
        insn(
            0x85,
            0,
            0,
            0,
            ebpf::hash_symbol_name(name.as_bytes()) as i32,
        )
    }
    /// `call` pc-relative internal function: target = pc + imm + 1.
    pub fn call_rel(imm: i32) -> [u8; 8] {
        insn(0x85, 0, 1, 0, imm)
    }
    /// `callx reg` (V3 reads the target from `dst`).
    pub fn callx(reg: u8) -> [u8; 8] {
        insn(0x8d, reg, 0, 0, 0)
    }
    pub fn ja(off: i16) -> [u8; 8] {
        insn(0x05, 0, 0, off, 0)
    }

    /// Concatenates instruction slots.
    pub fn code(slots: &[[u8; 8]]) -> Vec<u8> {
        slots.iter().flatten().copied().collect()
    }

    fn put16(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn put32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn put64(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// A strict SBPF V3 executable: file header, a `PF_R` segment at 0 (only if `rodata` is
    /// not empty; its length must be a multiple of 8, the first 8 bytes are the NULL guard)
    /// and a `PF_X` segment at `1 << 32` holding `text`; no section headers.
    pub fn elf(text: &[u8], rodata: &[u8], entry_pc: u64) -> Vec<u8> {
        let phnum: u16 = if rodata.is_empty() { 1 } else { 2 };
        let headers = 64 + 56 * u64::from(phnum);
        let mut out = Vec::with_capacity(headers as usize + rodata.len() + text.len());
        out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        put16(&mut out, 2); // ET_EXEC
        put16(&mut out, 247); // EM_BPF
        put32(&mut out, 1);
        put64(&mut out, MM_CODE + entry_pc * 8);
        put64(&mut out, 64); // e_phoff
        put64(&mut out, 0); // e_shoff
        put32(&mut out, 3); // e_flags: SBPF V3
        put16(&mut out, 64);
        put16(&mut out, 56);
        put16(&mut out, phnum);
        put16(&mut out, 64);
        put16(&mut out, 0);
        put16(&mut out, 0);
        let segment = |out: &mut Vec<u8>, flags: u32, offset: u64, vaddr: u64, len: u64| {
            put32(out, 1); // PT_LOAD
            put32(out, flags);
            put64(out, offset);
            put64(out, vaddr);
            put64(out, vaddr);
            put64(out, len);
            put64(out, len);
            put64(out, 8);
        };
        if !rodata.is_empty() {
            segment(&mut out, 4, headers, MM_RODATA, rodata.len() as u64);
        }
        segment(
            &mut out,
            1,
            headers + rodata.len() as u64,
            MM_CODE,
            text.len() as u64,
        );
        out.extend_from_slice(rodata);
        out.extend_from_slice(text);
        out
    }

    /// `elf(text, &[], 0)`.
    pub fn elf_text(slots: &[[u8; 8]]) -> Vec<u8> {
        elf(&code(slots), &[], 0)
    }
}

// ---------------------------------------------------------------------------------------------

/// splitmix64: tiny, seedable, identical on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
    /// A value that tends to find edge cases: small, boundary, huge or random.
    pub fn interesting_u64(&mut self) -> u64 {
        const SPECIAL: &[u64] = &[
            0,
            1,
            2,
            7,
            8,
            16,
            31,
            32,
            63,
            64,
            255,
            256,
            257,
            1024,
            1025,
            4096,
            10_000,
            10_001,
            32 * 1024,
            64 * 1024,
            64 * 1024 + 1,
            1 << 20,
            (1 << 20) + 1,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            1 << 32,
            0x1_0000_0000 + 8,
            0x2_0000_0000,
            0x2_0000_1000 - 8,
            0x3_0000_0000,
            0x3_0000_8000 - 4,
            0x4_0000_0000,
            i64::MAX as u64,
            1 << 63,
            u64::MAX - 8,
            u64::MAX,
        ];
        match self.below(4) {
            0 => self.below(64),
            1 | 2 => *self.pick(SPECIAL),
            _ => self.next_u64(),
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A mutation fuzzer that runs as an ordinary `#[test]` on stable Rust.
///
/// Each target is named; its regression corpus lives in `tests/corpus/<target>/` and every
/// file there is replayed first, on every run. Then inputs are generated or mutated from the
/// seeds, the corpus and inputs that reached a new *outcome class* (the executor's
/// classification of what happened, e.g. the error variant), until the time or iteration
/// bound. A panic (caught with `catch_unwind`) or a violated property (`Err` from the
/// executor) saves the input as `tests/corpus/<target>/crash-<hash>.bin` and fails the test.
///
/// Environment: `TOS_FUZZ_SECONDS` (per target; default given by the test),
/// `TOS_FUZZ_ITERATIONS` (a count bound; with it alone the run is count-bounded),
/// `TOS_FUZZ_SEED` (default: from the clock, printed). The input being executed is also
/// written to `target/fuzz/<target>.current` before each execution (a u64 LE length, then the
/// input; written in place, without truncating, which on ext4 would force a flush per input),
/// so an input that takes the whole process down (an abort rather than a panic) is not lost.
pub mod fuzz {
    use std::{
        collections::{BTreeMap, BTreeSet},
        panic::{catch_unwind, AssertUnwindSafe},
        path::PathBuf,
        time::{Duration, Instant},
    };

    use super::Rng;

    #[derive(Debug, Clone, Default)]
    pub struct Stats {
        pub target: String,
        pub seed: u64,
        pub executions: u64,
        pub replayed: usize,
        pub seconds: f64,
        pub classes: usize,
        /// Executions per outcome class.
        pub histogram: BTreeMap<String, u64>,
        pub crashes: Vec<String>,
    }

    impl Stats {
        pub fn line(&self) -> String {
            format!(
                "fuzz[{}]: {} executions in {:.1} s ({:.0}/s), {} corpus files replayed, {} outcome classes, seed {}, crashes: {}",
                self.target,
                self.executions,
                self.seconds,
                self.executions as f64 / self.seconds.max(1e-9),
                self.replayed,
                self.classes,
                self.seed,
                self.crashes.len()
            )
        }
    }

    pub fn corpus_dir(target: &str) -> PathBuf {
        super::root().join("tests/corpus").join(target)
    }

    /// The corpus files of `target`, sorted by name.
    pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir(target))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .filter(|e| e.file_name().to_string_lossy() != "README.md")
                    .filter_map(|e| {
                        Some((
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read(e.path()).ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    fn env_f64(name: &str) -> Option<f64> {
        std::env::var(name).ok().and_then(|v| v.parse().ok())
    }

    fn env_u64(name: &str) -> Option<u64> {
        std::env::var(name).ok().and_then(|v| v.parse().ok())
    }

    fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_string())
    }

    /// Runs `exec` on `input`; `Ok(class)` or the failure (panic or violated property).
    pub fn guarded<F>(exec: &F, input: &[u8]) -> Result<String, String>
    where
        F: Fn(&[u8]) -> Result<String, String>,
    {
        match catch_unwind(AssertUnwindSafe(|| exec(input))) {
            Ok(result) => result,
            Err(panic) => Err(format!("panic: {}", panic_text(&panic))),
        }
    }

    /// Saves a failing input into the corpus; returns its file name.
    fn save_crash(target: &str, input: &[u8]) -> String {
        let dir = corpus_dir(target);
        let _ = std::fs::create_dir_all(&dir);
        let name = format!("crash-{}.bin", &tos_vm::code_hash(input).to_hex()[..16]);
        let _ = std::fs::write(dir.join(&name), input);
        name
    }

    /// Replays the corpus, then fuzzes until the bound. `next` builds the next input from the
    /// RNG and the pool (seeds, corpus, inputs that found new classes).
    pub fn run<N, F>(
        target: &str,
        default_seconds: f64,
        seeds: Vec<Vec<u8>>,
        mut next: N,
        exec: F,
    ) -> Stats
    where
        N: FnMut(&mut Rng, &[Vec<u8>]) -> Vec<u8>,
        F: Fn(&[u8]) -> Result<String, String>,
    {
        let started = Instant::now();
        let seed = env_u64("TOS_FUZZ_SEED").unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        });
        let iterations = env_u64("TOS_FUZZ_ITERATIONS");
        let seconds = env_f64("TOS_FUZZ_SECONDS").unwrap_or(if iterations.is_some() {
            f64::INFINITY
        } else {
            default_seconds
        });
        let deadline = if seconds.is_finite() {
            Some(started + Duration::from_secs_f64(seconds.max(0.0)))
        } else {
            None
        };
        let mut stats = Stats {
            target: target.to_string(),
            seed,
            ..Stats::default()
        };
        let mut classes = BTreeSet::new();

        // 1. Every regression file, every run.
        let corpus = corpus(target);
        for (name, input) in &corpus {
            stats.replayed += 1;
            match guarded(&exec, input) {
                Ok(class) => {
                    classes.insert(class);
                }
                Err(failure) => stats.crashes.push(format!("{name}: {failure}")),
            }
        }
        let mut pool: Vec<Vec<u8>> = seeds;
        pool.extend(corpus.into_iter().map(|(_, input)| input));

        // 2. New inputs until the bound.
        let current_dir = super::root().join("target/fuzz");
        let _ = std::fs::create_dir_all(&current_dir);
        let current = current_dir.join(format!("{target}.current"));
        let current_file = std::fs::File::create(&current).ok();
        let mut rng = Rng::new(seed);
        while stats.crashes.is_empty() {
            if iterations.is_some_and(|max| stats.executions >= max) {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let input = next(&mut rng, &pool);
            if let Some(file) = &current_file {
                use std::os::unix::fs::FileExt;
                let _ = file.write_all_at(&(input.len() as u64).to_le_bytes(), 0);
                let _ = file.write_all_at(&input, 8);
            }
            stats.executions += 1;
            match guarded(&exec, &input) {
                Ok(class) => {
                    *stats.histogram.entry(class.clone()).or_default() += 1;
                    if classes.insert(class) && pool.len() < 4096 {
                        pool.push(input);
                    }
                }
                Err(failure) => {
                    let name = save_crash(target, &input);
                    stats.crashes.push(format!(
                        "{failure}\n  input saved as tests/corpus/{target}/{name}"
                    ));
                }
            }
        }
        drop(current_file);
        let _ = std::fs::remove_file(&current);
        stats.classes = classes.len();
        stats.seconds = started.elapsed().as_secs_f64();
        eprintln!("{}", stats.line());
        if std::env::var_os("TOS_FUZZ_VERBOSE").is_some() {
            let mut counts: Vec<_> = stats.histogram.iter().collect();
            counts.sort_by(|a, b| b.1.cmp(a.1));
            for (class, count) in counts.iter().take(25) {
                eprintln!("  {count:>8}  {class}");
            }
        }
        stats
    }

    /// Fails the test with every crash, after printing the figures.
    pub fn assert_clean(stats: &Stats) {
        assert!(
            stats.crashes.is_empty(),
            "{}\n{}\n(reproduce: TOS_FUZZ_SEED={} and the saved corpus file)",
            stats.line(),
            stats.crashes.join("\n"),
            stats.seed
        );
    }

    // ---- byte-level mutations ---------------------------------------------------------------

    /// One to eight random edits of `base`: bit flips, interesting bytes and words at random
    /// or header positions, block copies, insertions, deletions, truncation, extension,
    /// splicing with `other`.
    pub fn mutate_bytes(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
        let mut bytes = base.to_vec();
        let edits = 1 + rng.below(8);
        for _ in 0..edits {
            let len = bytes.len();
            let at = |rng: &mut Rng| {
                // Headers (first 256 bytes) hold the offsets and counts: hit them more often.
                if rng.chance(1, 3) {
                    rng.index(len.clamp(1, 256))
                } else {
                    rng.index(len.max(1))
                }
            };
            match rng.below(11) {
                0 if len > 0 => {
                    let i = at(rng);
                    bytes[i] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let i = at(rng);
                    bytes[i] = *rng.pick(&[0u8, 1, 2, 3, 7, 8, 0x10, 0x7f, 0x80, 0xfe, 0xff]);
                }
                2 if len >= 8 => {
                    let i = at(rng).min(len - 8) & !3;
                    let v = rng.interesting_u64();
                    let width = *rng.pick(&[2usize, 4, 8]);
                    bytes[i..i + width].copy_from_slice(&v.to_le_bytes()[..width]);
                }
                3 if len >= 8 => {
                    // A length-relative value: file size, size ± small.
                    let i = at(rng).min(len - 8) & !7;
                    let v = (len as u64).wrapping_add(rng.below(33)).wrapping_sub(16);
                    bytes[i..i + 8].copy_from_slice(&v.to_le_bytes());
                }
                4 if len > 1 => {
                    let from = rng.index(len);
                    let to = rng.index(len);
                    let n = rng.index(64).min(len - from).min(len - to);
                    let chunk = bytes[from..from + n].to_vec();
                    bytes[to..to + n].copy_from_slice(&chunk);
                }
                5 => {
                    let i = rng.index(len + 1);
                    let n = 1 + rng.index(16);
                    let insert = rng.bytes(n);
                    bytes.splice(i..i, insert);
                }
                6 if len > 1 => {
                    let i = rng.index(len);
                    let n = (1 + rng.index(16)).min(len - i);
                    bytes.drain(i..i + n);
                }
                7 => {
                    let keep = rng.index(len + 1);
                    bytes.truncate(keep);
                }
                8 => {
                    let n = 1 + rng.index(64);
                    let extra = rng.bytes(n);
                    bytes.extend_from_slice(&extra);
                }
                9 if !other.is_empty() && len > 0 => {
                    let from = rng.index(other.len());
                    let to = rng.index(len);
                    let n = rng.index(256).min(other.len() - from).min(len - to);
                    bytes[to..to + n].copy_from_slice(&other[from..from + n]);
                }
                _ if len >= 8 => {
                    // An instruction-sized slot: random opcode byte and registers.
                    let i = rng.index(len / 8) * 8;
                    bytes[i] = rng.next_u64() as u8;
                    if rng.chance(1, 2) {
                        bytes[i + 1] = rng.next_u64() as u8;
                    }
                }
                _ => {}
            }
        }
        bytes
    }
}

// ---------------------------------------------------------------------------------------------

/// Random SBPF V3 programs of the kind a compiled contract can contain (what
/// `tos_loader::validate_executable` accepts): several functions, ALU (64-bit, and the 32-bit
/// operations whose result SBPF extends like eBPF), byte swaps, `lddw`, loads and stores on
/// every region (and off them), conditional jumps (64- and 32-bit, forward and backward:
/// loops end by compute exhaustion at worst), `ja`, internal calls (recursion included),
/// `callx` to function addresses and to garbage, every syscall with well-formed or hostile
/// arguments, early `exit`s.
pub mod gen {
    use super::{bpf, Rng};

    /// ALU operation nibbles valid in 64-bit form.
    pub const ALU64_OPS: &[u8] = &[
        0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0,
    ];
    /// ALU operation nibbles accepted in 32-bit form (not add/sub/mul: SBPF sign-extends them).
    pub const ALU32_OPS: &[u8] = &[0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0];
    /// Conditional jump nibbles (64- and 32-bit forms).
    pub const JUMP_OPS: &[u8] = &[
        0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0,
    ];
    /// `ldx` / `st` / `stx` opcodes by size (b, h, w, dw).
    pub const LOADS: &[u8] = &[0x71, 0x69, 0x61, 0x79];
    pub const STORE_IMMS: &[u8] = &[0x72, 0x6a, 0x62, 0x7a];
    pub const STORE_REGS: &[u8] = &[0x73, 0x6b, 0x63, 0x7b];

    /// Every opcode a contract may contain (for instruction-level mutation).
    pub fn valid_opcodes() -> Vec<u8> {
        let mut opcodes = Vec::new();
        for op in ALU64_OPS {
            opcodes.push(op | 0x07);
            if *op != 0x80 {
                opcodes.push(op | 0x0f);
            }
        }
        for op in ALU32_OPS {
            opcodes.push(op | 0x04);
            if *op != 0x80 {
                opcodes.push(op | 0x0c);
            }
        }
        opcodes.extend([0xd4, 0xdc, 0x18, 0x05, 0x85, 0x8d, 0x95]);
        for op in JUMP_OPS {
            opcodes.extend([op | 0x05, op | 0x0d, op | 0x06, op | 0x0e]);
        }
        opcodes.extend(LOADS);
        opcodes.extend(STORE_IMMS);
        opcodes.extend(STORE_REGS);
        opcodes
    }

    /// Syscalls with their argument kinds.
    #[derive(Clone, Copy)]
    enum A {
        /// A pointer to readable bytes.
        Ptr,
        /// A pointer to writable bytes.
        Out,
        /// A length or count.
        Len,
        /// Anything.
        Any,
    }
    const SYSCALLS: &[(&str, &[A])] = &[
        ("tos_log", &[A::Ptr, A::Len]),
        ("tos_panic", &[A::Ptr, A::Len]),
        ("tos_get_block_hash", &[A::Out]),
        ("tos_get_block_height", &[]),
        ("tos_get_tx_hash", &[A::Out]),
        ("tos_get_tx_sender", &[A::Out]),
        ("tos_get_contract_hash", &[A::Out]),
        ("tos_get_block_timestamp", &[]),
        ("tos_get_caller", &[A::Out]),
        ("tos_get_call_depth", &[]),
        ("tos_get_call_value", &[]),
        ("tos_get_balance", &[A::Ptr]),
        ("tos_get_self_balance", &[]),
        ("tos_transfer", &[A::Ptr, A::Any]),
        ("tos_storage_read", &[A::Ptr, A::Len, A::Out, A::Len]),
        ("tos_storage_write", &[A::Ptr, A::Len, A::Ptr, A::Len]),
        ("tos_storage_delete", &[A::Ptr, A::Len]),
        ("tos_memcpy", &[A::Out, A::Ptr, A::Len]),
        ("tos_memmove", &[A::Out, A::Ptr, A::Len]),
        ("tos_memset", &[A::Out, A::Any, A::Len]),
        ("tos_memcmp", &[A::Ptr, A::Ptr, A::Len]),
        ("tos_invoke", &[A::Ptr, A::Ptr, A::Len, A::Any]),
        ("tos_set_return_data", &[A::Ptr, A::Len]),
        ("tos_get_return_data", &[A::Out, A::Len, A::Out]),
        ("tos_emit_event", &[A::Ptr, A::Len, A::Ptr, A::Len]),
        ("tos_sha256", &[A::Ptr, A::Len, A::Out]),
        ("tos_keccak256", &[A::Ptr, A::Len, A::Out]),
        ("tos_blake3", &[A::Ptr, A::Len, A::Out]),
        ("tos_ed25519_verify", &[A::Ptr, A::Ptr, A::Len, A::Ptr]),
    ];

    /// Registers the prologue sets: r6 heap, r7 stack (r10 - 512), r8 read-only data, r9 input.
    const HEAP: u8 = 6;
    const STACK: u8 = 7;
    const RODATA: u8 = 8;
    const INPUT: u8 = 9;

    #[derive(Clone, Debug)]
    enum Op {
        /// Raw slots (no control flow).
        Slots(Vec<[u8; 8]>),
        /// Conditional or unconditional jump to op `target` of the same function.
        Jump {
            opc: u8,
            dst: u8,
            src: u8,
            imm: i32,
            target: usize,
        },
        /// `call` function `target`.
        Call(usize),
        /// `lddw reg, address of function target; callx reg`.
        CallxFunction { reg: u8, target: usize },
    }

    fn reg(rng: &mut Rng) -> u8 {
        rng.below(10) as u8
    }

    fn src_reg(rng: &mut Rng) -> u8 {
        rng.below(11) as u8
    }

    fn imm(rng: &mut Rng) -> i32 {
        match rng.below(3) {
            0 => rng.below(16) as i32 - 4,
            1 => rng.interesting_u64() as i32,
            _ => rng.next_u64() as i32,
        }
    }

    /// A base register and offset for a memory access of `size` bytes: usually in bounds of
    /// its region, sometimes not.
    fn address(rng: &mut Rng, size: i16) -> (u8, i16) {
        let base = match rng.below(8) {
            0 | 1 => HEAP,
            2 | 3 => STACK,
            4 => INPUT,
            5 => RODATA,
            6 => 10,
            _ => src_reg(rng),
        };
        let off = if rng.chance(7, 8) {
            let slot = rng.below(32) as i16 * size;
            if base == 10 {
                -slot - size
            } else {
                slot
            }
        } else {
            rng.interesting_u64() as i16
        };
        (base, off)
    }

    /// Sets syscall argument `i` (register `r{i+1}`) according to its kind.
    fn argument(rng: &mut Rng, kind: A, register: u8, out: &mut Vec<[u8; 8]>) {
        let pick_pointer = |rng: &mut Rng, writable: bool| -> (u8, i32) {
            let bases: &[u8] = if writable {
                &[HEAP, HEAP, STACK, STACK]
            } else {
                &[HEAP, STACK, INPUT, RODATA]
            };
            (*rng.pick(bases), rng.below(256) as i32)
        };
        match (kind, rng.below(6)) {
            (A::Ptr, 0..=3) | (A::Out, 0..=3) => {
                let (base, off) = pick_pointer(rng, matches!(kind, A::Out));
                out.push(bpf::mov64_reg(register, base));
                out.push(bpf::insn(0x07, register, 0, 0, off));
            }
            (A::Len, 0..=3) => out.push(bpf::mov64_imm(register, rng.below(80) as i32)),
            (A::Len, 4) => out.push(bpf::mov64_imm(
                register,
                *rng.pick(&[
                    256,
                    257,
                    1024,
                    1025,
                    10_000,
                    10_001,
                    65_536,
                    65_537,
                    1 << 20,
                ]),
            )),
            _ => {
                let [low, high] = bpf::lddw(register, rng.interesting_u64());
                out.push(low);
                out.push(high);
            }
        }
    }

    fn random_op(rng: &mut Rng, ops_in_function: usize, functions: usize) -> Op {
        let slot = |opc: u8, dst: u8, src: u8, off: i16, imm: i32| {
            Op::Slots(vec![bpf::insn(opc, dst, src, off, imm)])
        };
        match rng.below(100) {
            // 64-bit ALU with an immediate.
            0..=17 => {
                let op = *rng.pick(ALU64_OPS);
                let value = match op {
                    0x30 | 0x90 => imm(rng).max(1),
                    0x60 | 0x70 | 0xc0 => rng.below(64) as i32,
                    _ => imm(rng),
                };
                slot(op | 0x07, reg(rng), 0, 0, value)
            }
            // 64-bit ALU with a register.
            18..=29 => {
                let op = *rng.pick(ALU64_OPS);
                if op == 0x80 {
                    return slot(0x87, reg(rng), 0, 0, 0);
                }
                slot(op | 0x0f, reg(rng), src_reg(rng), 0, 0)
            }
            // 32-bit ALU.
            30..=37 => {
                let op = *rng.pick(ALU32_OPS);
                if op == 0x80 {
                    return slot(0x84, reg(rng), 0, 0, 0);
                }
                if rng.chance(1, 2) {
                    let value = match op {
                        0x30 | 0x90 => imm(rng).max(1),
                        0x60 | 0x70 | 0xc0 => rng.below(32) as i32,
                        _ => imm(rng),
                    };
                    slot(op | 0x04, reg(rng), 0, 0, value)
                } else {
                    slot(op | 0x0c, reg(rng), src_reg(rng), 0, 0)
                }
            }
            38..=39 => slot(
                *rng.pick(&[0xd4, 0xdc]),
                reg(rng),
                0,
                0,
                *rng.pick(&[16, 32, 64]),
            ),
            40..=43 => Op::Slots(bpf::lddw(reg(rng), rng.interesting_u64()).to_vec()),
            // Loads and stores.
            44..=53 => {
                let size_index = rng.index(4);
                let (base, off) = address(rng, 1 << size_index);
                slot(LOADS[size_index], reg(rng), base, off, 0)
            }
            54..=58 => {
                let size_index = rng.index(4);
                let (base, off) = address(rng, 1 << size_index);
                slot(STORE_IMMS[size_index], base, 0, off, imm(rng))
            }
            59..=64 => {
                let size_index = rng.index(4);
                let (base, off) = address(rng, 1 << size_index);
                slot(STORE_REGS[size_index], base, src_reg(rng), off, 0)
            }
            // Jumps.
            65..=76 => {
                let target = rng.index(ops_in_function + 1);
                if rng.chance(1, 6) {
                    return Op::Jump {
                        opc: 0x05,
                        dst: 0,
                        src: 0,
                        imm: 0,
                        target,
                    };
                }
                let op = *rng.pick(JUMP_OPS);
                let class = *rng.pick(&[0x05u8, 0x0d, 0x06, 0x0e]);
                Op::Jump {
                    opc: op | class,
                    dst: reg(rng),
                    src: src_reg(rng),
                    imm: imm(rng),
                    target,
                }
            }
            // Syscalls.
            77..=88 => {
                let (name, kinds) = *rng.pick(SYSCALLS);
                let mut slots = Vec::new();
                for (i, kind) in kinds.iter().enumerate() {
                    argument(rng, *kind, i as u8 + 1, &mut slots);
                }
                slots.push(bpf::syscall(name));
                Op::Slots(slots)
            }
            // Calls.
            89..=93 => Op::Call(rng.index(functions)),
            94..=95 => Op::CallxFunction {
                reg: reg(rng),
                target: rng.index(functions),
            },
            96 => slot(0x8d, reg(rng), 0, 0, 0),
            97 => Op::Slots(vec![bpf::mov64_imm(0, rng.below(3) as i32), bpf::exit()]),
            _ => slot(0xbf, reg(rng), src_reg(rng), 0, 0),
        }
    }

    /// A random program: (text, rodata). The entry is pc 0.
    pub fn program(rng: &mut Rng, max_ops: usize) -> (Vec<u8>, Vec<u8>) {
        let functions = 1 + rng.index(4);
        let mut bodies: Vec<Vec<Op>> = Vec::new();
        for f in 0..functions {
            let count = 1 + rng.index(max_ops.max(1));
            let mut ops = Vec::new();
            if f > 0 {
                // `or r0, 0`: a function never starts with a call to itself (`call -1`, which
                // SBPF reserves).
                ops.push(Op::Slots(vec![bpf::insn(0x47, 0, 0, 0, 0)]));
            }
            if f == 0 {
                let mut prologue = bpf::lddw(HEAP, bpf::MM_HEAP).to_vec();
                prologue.push(bpf::mov64_reg(STACK, 10));
                prologue.push(bpf::insn(0x07, STACK, 0, 0, -512));
                prologue.extend(bpf::lddw(RODATA, bpf::MM_RODATA + 8));
                prologue.push(bpf::mov64_reg(INPUT, 1));
                ops.push(Op::Slots(prologue));
            }
            for _ in 0..count {
                ops.push(random_op(rng, count + 1, functions));
            }
            ops.push(Op::Slots(vec![bpf::exit()]));
            bodies.push(ops);
        }
        // Lay out: pc of every op.
        let size = |op: &Op| match op {
            Op::Slots(slots) => slots.len(),
            Op::Jump { .. } | Op::Call(_) => 1,
            Op::CallxFunction { .. } => 3,
        };
        let mut starts: Vec<Vec<usize>> = Vec::new();
        let mut pc = 0;
        for ops in &bodies {
            let mut function_starts = Vec::new();
            for op in ops {
                function_starts.push(pc);
                pc += size(op);
            }
            starts.push(function_starts);
        }
        let mut text = Vec::with_capacity(pc * 8);
        for (f, ops) in bodies.iter().enumerate() {
            for (i, op) in ops.iter().enumerate() {
                let here = starts[f][i];
                match op {
                    Op::Slots(slots) => slots.iter().for_each(|s| text.extend_from_slice(s)),
                    Op::Jump {
                        opc,
                        dst,
                        src,
                        imm,
                        target,
                    } => {
                        let target_pc = starts[f][(*target).min(ops.len() - 1)];
                        let off = target_pc as i64 - here as i64 - 1;
                        let off = off.clamp(i16::MIN as i64, i16::MAX as i64) as i16;
                        let (src, imm) = if opc & 0x08 != 0 {
                            (*src, 0)
                        } else {
                            (0, *imm)
                        };
                        text.extend_from_slice(&bpf::insn(*opc, *dst, src, off, imm));
                    }
                    Op::Call(target) => {
                        let target_pc = starts[*target][0];
                        let imm = target_pc as i64 - here as i64 - 1;
                        text.extend_from_slice(&bpf::call_rel(imm as i32));
                    }
                    Op::CallxFunction { reg, target } => {
                        let address = bpf::MM_CODE + 8 * starts[*target][0] as u64;
                        bpf::lddw(*reg, address)
                            .iter()
                            .for_each(|s| text.extend_from_slice(s));
                        text.extend_from_slice(&bpf::callx(*reg));
                    }
                }
            }
        }
        let mut rodata = vec![0u8; 8];
        let extra = 8 * (1 + rng.index(16));
        rodata.extend(rng.bytes(extra));
        (text, rodata)
    }

    /// Mutates instructions of `text` in place, keeping them (mostly) plausible: another
    /// valid opcode, registers, offset or immediate.
    pub fn mutate_text(rng: &mut Rng, text: &mut [u8]) {
        let slots = text.len() / 8;
        if slots == 0 {
            return;
        }
        let opcodes = valid_opcodes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.index(slots) * 8;
            match rng.below(5) {
                0 => text[at] = *rng.pick(&opcodes),
                1 => text[at + 1] = (rng.below(11) as u8) << 4 | rng.below(11) as u8,
                2 => {
                    let off = (rng.below(64) as i16 - 32).to_le_bytes();
                    text[at + 2..at + 4].copy_from_slice(&off);
                }
                3 => {
                    let imm = (rng.interesting_u64() as u32).to_le_bytes();
                    text[at + 4..at + 8].copy_from_slice(&imm);
                }
                _ => {
                    let other = rng.index(slots) * 8;
                    let slot: [u8; 8] = text[other..other + 8].try_into().unwrap();
                    text[at..at + 8].copy_from_slice(&slot);
                }
            }
        }
    }
}

/// Where the `PF_X` segment of a V3 executable lies in the file (`offset`, `len`), if the
/// program headers say so.
pub fn text_range(elf: &[u8]) -> Option<(usize, usize)> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?));
    let phoff = u64_at(32)? as usize;
    for i in 0..usize::from(u16_at(56)?).min(4) {
        let at = phoff.checked_add(56 * i)?;
        if u32_at(at + 4)? & 1 == 1 {
            let offset = u64_at(at + 8)? as usize;
            let len = u64_at(at + 32)? as usize;
            if offset.checked_add(len)? <= elf.len() {
                return Some((offset, len));
            }
        }
    }
    None
}
