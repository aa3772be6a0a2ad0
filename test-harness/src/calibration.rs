//! The cases of the compute-unit calibration (issue 15): plain instruction mixes and every
//! syscall at its worst arguments, each a hand-assembled contract that repeats one call `n`
//! times. `benches/metering.rs` times them (interpreter and JIT) and writes the calibration
//! table of `docs/compute-units.md`; `tests/generated_docs.rs` checks the table's case list and
//! compute-unit column against [`Case::units`] (the times are the machine's, never checked).
//!
//! Every case's input is `n: u64` followed by [`Case::data`]; the program keeps `r6` = the
//! data, `r7` = the iteration index (0..n), `r8` = the heap, `r9` = n, and runs its body once
//! per iteration. A call's compute units per iteration are exact: the difference of the runs
//! with `n` and `n - 1` iterations, the same for every iteration after the first (checked; the
//! first may pay a callee's code load).
//!
//! ```
//! use tos_test_harness::{calibration, Engine};
//!
//! let cases = calibration::cases(1_000);
//! let mix = cases.iter().find(|case| case.reference).unwrap();
//! // 13 instructions in the loop body, 2 in the function it calls, 2 of loop control.
//! assert_eq!(mix.units(Engine::Interpreter).unwrap(), 17);
//! ```

use tos_program_runtime::{
    code_hash, execute_call, BlockContext, CallConfig, ContractCall, Deposits, Engine,
    ExecutableCache,
};
use tos_storage::{ChangeSet, Hash, MemoryStorage, StorageProvider, NATIVE_ASSET};

use crate::elf;

/// Where the table lives, and its markers.
pub const DOCUMENT: &str = "docs/compute-units.md";
pub const BEGIN: &str = "<!-- tos-calibration:begin -->";
pub const END: &str = "<!-- tos-calibration:end -->";
/// Regenerates the table (times included).
pub const REGENERATE: &str = "cargo bench --bench metering   (TOS_BENCH_QUICK=1 for a short run)";

/// Start of the heap as a program sees it.
const HEAP: u64 = 0x3_0000_0000;
/// Start of the stack (64 frames of 4 KiB; `r10` starts at the end of the first frame).
const STACK: u64 = 0x2_0000_0000;
const STACK_BYTES: u64 = 64 * 4096;
/// Every case runs as this sender.
pub const SENDER: Hash = Hash([0x5E; 32]);
/// The case's own contract.
pub const CONTRACT: Hash = Hash([0xCA; 32]);
/// An asset other than the native one.
pub const ASSET: Hash = Hash([0xA5; 32]);
/// Budget of a calibration run: never the limit.
pub const BUDGET: u64 = 1 << 40;

/// Which store a case runs against in the bench (compute units do not depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// `MemoryStorage`.
    Memory,
    /// `DiskStorage`, reopened before every run with the file dropped from the OS page cache:
    /// every key read is a cold read from the device (wall time).
    DiskCold,
}

/// One calibration case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The table's row label.
    pub name: String,
    /// The instruction mix every other case is compared with.
    pub reference: bool,
    pub elf: Vec<u8>,
    /// Follows `n` in the input.
    pub data: Vec<u8>,
    /// Iterations of the timed run.
    pub calls: u64,
    /// The state the case runs on: its own contract at [`CONTRACT`], callees, keys, balances.
    pub state: ChangeSet,
    pub deposits: Deposits,
    pub store: Store,
    /// The executable cache is emptied before every run: code loads are real loads.
    pub cold_cache: bool,
    /// What one iteration does.
    pub what: String,
    /// For a row that cannot hold the bound: why, and what the chain must do.
    pub note: &'static str,
}

impl Case {
    /// The call running `n` iterations.
    pub fn call(&self, n: u64) -> ContractCall {
        let mut input = n.to_le_bytes().to_vec();
        input.extend_from_slice(&self.data);
        let mut call = ContractCall::new(CONTRACT, input);
        call.sender = SENDER;
        call.deposits = self.deposits.clone();
        call
    }

    /// Compute units of one iteration under `engine`, from runs of 1, 2 and 3 iterations on
    /// a memory store (the units are the same on any store and any cache); `Err` when a run
    /// fails or the second and third iterations are charged differently. (The first may pay
    /// more: the first run of a callee's code in the transaction pays its load.)
    pub fn units(&self, engine: Engine) -> Result<u64, String> {
        let mut store = MemoryStorage::default();
        store
            .commit(&self.state)
            .map_err(|e| format!("{}: state: {e}", self.name))?;
        let cache = ExecutableCache::new(tos_syscalls::runtime_environment());
        let runs = [1, 2, 3].map(|n| self.compute_used(&cache, &store, engine, n));
        let [zero, one, two] = [runs[0].clone()?, runs[1].clone()?, runs[2].clone()?];
        if two - one != one - zero {
            return Err(format!(
                "{}: iterations charged differently ({} then {})",
                self.name,
                one - zero,
                two - one
            ));
        }
        Ok(one - zero)
    }

    /// Compute used by the run of `n` iterations, which must succeed.
    pub fn compute_used(
        &self,
        cache: &ExecutableCache,
        store: &dyn StorageProvider,
        engine: Engine,
        n: u64,
    ) -> Result<u64, String> {
        let config = CallConfig {
            engine,
            compute_budget: BUDGET,
        };
        let outcome = execute_call(cache, &self.call(n), &block(), store, config)
            .map_err(|e| format!("{} (n = {n}): {e}", self.name))?;
        match outcome.result {
            Ok(0) => Ok(outcome.compute_used),
            other => Err(format!("{} (n = {n}) failed: {other:?}", self.name)),
        }
    }
}

/// The block every case runs in.
pub fn block() -> BlockContext {
    BlockContext {
        height: 7,
        hash: Hash([0xB1; 32]),
        timestamp: 1_700_000_000,
    }
}

/// The loop around a case's body.
fn looped(prelude: &str, body: &str) -> String {
    format!(
        "ldxdw r9, [r1+0]\nmov64 r6, r1\nadd64 r6, 8\nmov64 r7, 0\nlddw r8, {HEAP:#x}\n{prelude}\
         jeq r9, 0, done\nloop:\n{body}add64 r7, 1\njne r7, r9, loop\ndone:\nmov64 r0, 0\nexit\n"
    )
}

fn program(prelude: &str, body: &str) -> Vec<u8> {
    let source = looped(prelude, body);
    elf::assemble(&source).unwrap_or_else(|e| panic!("calibration program: {e}\n{source}"))
}

/// `key` as a 32-byte hash whose first eight bytes are `index` (little endian): what a body
/// builds by storing `r7` at the heap's start.
fn indexed(index: u64) -> Hash {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&index.to_le_bytes());
    Hash(bytes)
}

/// A state holding the case's own code at [`CONTRACT`].
fn own(elf: &[u8]) -> ChangeSet {
    let mut state = ChangeSet::new();
    let hash = code_hash(elf);
    state.deploy_code(hash, elf.to_vec());
    state.create_contract(CONTRACT, hash);
    state
}

struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    fn add(&mut self, name: &str, what: &str, elf: Vec<u8>, calls: u64) -> &mut Case {
        let state = own(&elf);
        self.cases.push(Case {
            name: name.to_string(),
            reference: false,
            elf,
            data: Vec::new(),
            calls,
            state,
            deposits: Deposits::new(),
            store: Store::Memory,
            cold_cache: false,
            what: what.to_string(),
            note: "",
        });
        self.cases.last_mut().expect("just pushed")
    }
}

/// `lines` repeated `times` times.
fn repeat(lines: &str, times: usize) -> String {
    lines.repeat(times)
}

/// Straight-line code of `instructions` instructions (the last two return 0), distinct per
/// `variant`: ALU moves when `memory` is false, else stack stores, loads and branches.
pub fn straight_line(instructions: usize, variant: u64, memory: bool) -> Vec<u8> {
    let mut source = String::with_capacity(instructions * 24);
    for i in 0..instructions.saturating_sub(2) {
        let imm = (i as u64 ^ variant) & 0x7fff_ffff;
        let reg = 1 + i % 5;
        if memory {
            let slot = 8 * (1 + i % 512);
            match i % 4 {
                0 => source += &format!("stxdw [r10-{slot}], r{reg}\n"),
                1 => source += &format!("ldxdw r{reg}, [r10-{slot}]\n"),
                2 => source += &format!("jeq r{reg}, {imm}, +0\n"),
                _ => source += &format!("add64 r{reg}, {imm}\n"),
            }
        } else {
            source += &format!("mov64 r{reg}, {imm}\n");
        }
    }
    source += "mov64 r0, 0\nexit\n";
    elf::assemble(&source).unwrap_or_else(|e| panic!("straight-line code: {e}"))
}

/// Every calibration case. `disk_keys` is the key count of the on-disk store of the cold-read
/// case (the bench's; units do not depend on it).
pub fn cases(disk_keys: u64) -> Vec<Case> {
    let mut b = Builder { cases: Vec::new() };
    instruction_mixes(&mut b);
    logs_and_chain(&mut b);
    balances_and_deposits(&mut b, disk_keys);
    storage(&mut b, disk_keys);
    memory_ops(&mut b);
    calls(&mut b);
    crypto(&mut b);
    code_loads(&mut b);
    b.cases
}

fn instruction_mixes(b: &mut Builder) {
    let alu = "add64 r1, r2\nmul64 r2, 3\nxor64 r3, r1\nlsh64 r4, 3\nrsh64 r4, 1\nsub64 r5, r3\n\
               or64 r1, 7\nand64 r2, r5\n";
    let mem = "stxdw [r10-8], r1\nldxdw r2, [r10-8]\nstxw [r10-16], r2\nldxw r3, [r10-16]\n\
               stxb [r8+9], r3\nldxb r4, [r8+9]\nstxdw [r8+16], r4\nldxdw r5, [r8+16]\n";
    // Labels must be unique: each copy of the branches gets its own.
    let branches: String = (0..4)
        .map(|copy| {
            format!(
                "jeq r7, 1, b{copy}1\nb{copy}1:\njgt r7, r9, b{copy}2\nb{copy}2:\njne r7, 3, b{copy}3\n\
                 b{copy}3:\njslt r7, 0, b{copy}4\nb{copy}4:\njset r7, 1, b{copy}5\nb{copy}5:\n\
                 jle r7, r9, b{copy}6\nb{copy}6:\n"
            )
        })
        .collect();
    let div = "mov64 r1, r7\nadd64 r1, 1000\nmov64 r2, r7\nadd64 r2, 3\nudiv64 r1, r2\n\
               urem64 r1, r2\nudiv64 r1, r2\nurem64 r1, r2\n";
    let call = "call f\n";
    let function = "ja out\nf:\nmov64 r0, 1\nexit\nout:\n";
    b.add(
        "instructions: ALU",
        "8 ALU instructions (add, mul, xor, shifts, sub, or, and)",
        program("", &repeat(alu, 4)),
        40_000,
    );
    b.add(
        "instructions: loads and stores",
        "8 loads and stores (stack and heap, 1 to 8 bytes)",
        program("", &repeat(mem, 4)),
        40_000,
    )
    .note = "an instruction costs 1 unit (solana-sbpf's meter, the same for every instruction); \
             solana-sbpf's JIT does not inline address translation: every load and store calls \
             the memory mapping (a region index with the aligned mapping tos-vm turns on, plus \
             bounds checks). The mix holds loads and stores in the share compiled code does; \
             an engine limit (docs/performance.md, fix 4), not a cost formula";
    b.add(
        "instructions: branches",
        "6 conditional branches",
        program("", &branches),
        40_000,
    );
    b.add(
        "instructions: calls",
        "a call of a 2-instruction function",
        program(function, &repeat(call, 8)),
        40_000,
    );
    b.add(
        "instructions: division",
        "udiv64/urem64 by a register (with the operand set-up)",
        program("", &repeat(div, 2)),
        40_000,
    );
    // The reference: a bit of everything.
    let mix = "add64 r1, r2\nmul64 r2, 3\nxor64 r3, r1\nlsh64 r4, 3\nstxdw [r10-8], r1\n\
               ldxdw r2, [r10-8]\nstxdw [r8+16], r4\nldxdw r5, [r8+16]\njeq r7, 1, m1\nm1:\n\
               jgt r7, r9, m2\nm2:\njne r7, 3, m3\nm3:\nudiv64 r1, 3\ncall f\n";
    let case = b.add(
        "instruction mix (the reference)",
        "13 instructions (4 ALU, 4 loads/stores, 3 branches, a division, a call) + the called function's 2 + 2 of loop control",
        program(function, mix),
        100_000,
    );
    case.reference = true;
}

fn logs_and_chain(b: &mut Builder) {
    let case = b.add(
        "tos_log, 0 bytes",
        "an empty log line (at most 1 024 lines per invoke)",
        program("", "mov64 r1, r6\nmov64 r2, 0\nsyscall tos_log\n"),
        1_000,
    );
    case.data = vec![b'a'; 8];
    let case = b.add(
        "tos_log, 10 000 bytes",
        "the longest line (at most 64 KiB of log per invoke)",
        program("", "mov64 r1, r6\nmov64 r2, 10000\nsyscall tos_log\n"),
        6,
    );
    case.data = vec![b'a'; 10_000];
    for name in [
        "tos_get_block_hash",
        "tos_get_tx_hash",
        "tos_get_tx_sender",
        "tos_get_contract_hash",
        "tos_get_code_hash",
        "tos_get_caller",
    ] {
        b.add(
            name,
            "32 bytes written out",
            program("", &format!("mov64 r1, r8\nsyscall {name}\n")),
            20_000,
        );
    }
    for name in [
        "tos_get_block_height",
        "tos_get_block_timestamp",
        "tos_get_call_depth",
        "tos_get_call_value",
    ] {
        b.add(
            name,
            "a value returned",
            program("", &format!("syscall {name}\n")),
            20_000,
        );
    }
}

fn balances_and_deposits(b: &mut Builder, disk_keys: u64) {
    const CALLS: u64 = 10_000;
    let distinct = "stxdw [r8+0], r7\nmov64 r1, r8\n";
    let case = b.add(
        "tos_get_balance, distinct accounts",
        "a stored balance of a new account each call",
        program("", &format!("{distinct}syscall tos_get_balance\n")),
        CALLS,
    );
    for i in 0..CALLS {
        case.state.set_balance(indexed(i), NATIVE_ASSET, 1 + i);
    }
    // Cold on disk: accounts spread over the whole store.
    let stride = (disk_keys / 1_000).max(1);
    let case = b.add(
        "tos_get_balance, on disk, cold",
        "a new account each call, spread over the store, file dropped from the page cache",
        program(
            "",
            &format!(
                "mov64 r1, r7\nmul64 r1, {stride}\nstxdw [r8+0], r1\nmov64 r1, r8\n\
                 syscall tos_get_balance\n"
            ),
        ),
        1_000.min(disk_keys),
    );
    case.store = Store::DiskCold;
    for i in 0..disk_keys {
        case.state.set_balance(indexed(i), NATIVE_ASSET, 1 + i);
    }
    b.add(
        "tos_get_self_balance",
        "the contract's own balance",
        program("", "syscall tos_get_self_balance\n"),
        20_000,
    )
    .state
    .set_balance(CONTRACT, NATIVE_ASSET, 5);
    let case = b.add(
        "tos_get_asset_balance, distinct accounts",
        "a stored asset balance of a new account each call",
        program(
            "",
            &format!("{distinct}mov64 r2, r6\nsyscall tos_get_asset_balance\n"),
        ),
        CALLS,
    );
    case.data = ASSET.0.to_vec();
    for i in 0..CALLS {
        case.state.set_balance(indexed(i), ASSET, 1 + i);
    }
    let case = b.add(
        "tos_transfer, new recipients",
        "1 unit to an account that did not exist",
        program(
            "",
            &format!("{distinct}mov64 r2, 1\nsyscall tos_transfer\n"),
        ),
        CALLS,
    );
    case.state.set_balance(CONTRACT, NATIVE_ASSET, 1 << 40);
    let case = b.add(
        "tos_transfer_asset, new recipients",
        "1 unit of an asset to an account that did not hold it",
        program(
            "",
            &format!("{distinct}mov64 r2, r6\nmov64 r3, 1\nsyscall tos_transfer_asset\n"),
        ),
        CALLS,
    );
    case.data = ASSET.0.to_vec();
    case.state.set_balance(CONTRACT, ASSET, 1 << 40);

    // 255 deposits (the most a call carries).
    let assets: Vec<Hash> = (0..255u64)
        .map(|i| {
            let mut bytes = [0xD7u8; 32];
            bytes[..8].copy_from_slice(&(i + 1).to_be_bytes());
            Hash(bytes)
        })
        .collect();
    let last = *assets.last().expect("255 assets");
    let with_deposits = |case: &mut Case| {
        for asset in &assets {
            case.deposits.insert(*asset, 1);
            case.state.set_balance(SENDER, *asset, 1 << 40);
        }
    };
    with_deposits(b.add(
        "tos_get_deposit_count, 255 deposits",
        "the count",
        program("", "syscall tos_get_deposit_count\n"),
        20_000,
    ));
    with_deposits(b.add(
        "tos_get_deposit, 255 deposits, the last",
        "the 255th deposit and its asset",
        program("", "mov64 r1, 254\nmov64 r2, r8\nsyscall tos_get_deposit\n"),
        20_000,
    ));
    let case = b.add(
        "tos_get_deposit_amount, 255 deposits, the last",
        "the amount of the last asset",
        program("", "mov64 r1, r6\nsyscall tos_get_deposit_amount\n"),
        20_000,
    );
    case.data = last.0.to_vec();
    with_deposits(case);
}

fn storage(b: &mut Builder, disk_keys: u64) {
    const MAX_KEY: u64 = 256;
    const MAX_VALUE: u64 = 64 * 1024;
    // A 256-byte key at the heap (its first 8 bytes the index), a 64 KiB buffer at the bottom
    // of the stack.
    let big_buffer = format!("lddw r3, {STACK:#x}\n");
    let big_key = |i: u64| {
        let mut key = vec![0u8; MAX_KEY as usize];
        key[..8].copy_from_slice(&i.to_le_bytes());
        key
    };
    let small_key = |i: u64| indexed(i).0.to_vec();

    b.add(
        "tos_storage_read, absent 1-byte key",
        "a key that is not stored",
        program(
            "",
            "mov64 r1, r6\nmov64 r2, 1\nmov64 r3, r8\nmov64 r4, 0\nsyscall tos_storage_read\n",
        ),
        20_000,
    )
    .data = vec![0x77; 8];
    let read_small = "stxdw [r8+0], r7\nmov64 r1, r8\nmov64 r2, 32\nmov64 r3, r8\nadd64 r3, 64\n\
                      mov64 r4, 8\nsyscall tos_storage_read\n";
    let case = b.add(
        "tos_storage_read, distinct 32-byte keys",
        "a stored 8-byte value of a new key each call",
        program("", read_small),
        10_000,
    );
    for i in 0..10_000 {
        case.state
            .set_storage(CONTRACT, small_key(i), Some(vec![1; 8]));
    }
    let case = b.add(
        "tos_storage_read, distinct 256-byte keys, 64 KiB values",
        "the largest value of a new key each call, copied out whole",
        program(
            "",
            &format!(
                "stxdw [r8+0], r7\nmov64 r1, r8\nmov64 r2, {MAX_KEY}\n{big_buffer}mov64 r4, {MAX_VALUE}\n\
                 syscall tos_storage_read\n"
            ),
        ),
        100,
    );
    for i in 0..100 {
        case.state
            .set_storage(CONTRACT, big_key(i), Some(vec![3; MAX_VALUE as usize]));
    }
    // Cold on disk: keys spread over the whole store.
    let stride = (disk_keys / 1_000).max(1);
    let case = b.add(
        "tos_storage_read, on disk, cold",
        "a new key each call, spread over the store, file dropped from the page cache",
        program(
            "",
            &format!(
                "mov64 r1, r7\nmul64 r1, {stride}\nstxdw [r8+0], r1\nmov64 r1, r8\nmov64 r2, 32\n\
                 mov64 r3, r8\nadd64 r3, 64\nmov64 r4, 8\nsyscall tos_storage_read\n"
            ),
        ),
        1_000.min(disk_keys),
    );
    case.store = Store::DiskCold;
    for i in 0..disk_keys {
        case.state
            .set_storage(CONTRACT, small_key(i), Some(vec![1; 8]));
    }

    b.add(
        "tos_storage_write, distinct 256-byte keys, 64 KiB values",
        "the largest value under a new key each call",
        program(
            "",
            &format!(
                "stxdw [r8+0], r7\nmov64 r1, r8\nmov64 r2, {MAX_KEY}\n{big_buffer}mov64 r4, {MAX_VALUE}\n\
                 syscall tos_storage_write\n"
            ),
        ),
        100,
    );
    b.add(
        "tos_storage_write, distinct 32-byte keys, 8-byte values",
        "a small value under a new key each call",
        program(
            "",
            "stxdw [r8+0], r7\nmov64 r1, r8\nmov64 r2, 32\nmov64 r3, r8\nadd64 r3, 64\n\
             mov64 r4, 8\nsyscall tos_storage_write\n",
        ),
        10_000,
    );
    b.add(
        "tos_storage_write, one key rewritten",
        "the same 32-byte key, an 8-byte value",
        program(
            "",
            "mov64 r1, r8\nmov64 r2, 32\nmov64 r3, r8\nadd64 r3, 64\nmov64 r4, 8\n\
             syscall tos_storage_write\n",
        ),
        10_000,
    );
    let case = b.add(
        "tos_storage_delete, distinct stored keys",
        "a stored 32-byte key each call",
        program(
            "",
            "stxdw [r8+0], r7\nmov64 r1, r8\nmov64 r2, 32\nsyscall tos_storage_delete\n",
        ),
        10_000,
    );
    for i in 0..10_000 {
        case.state
            .set_storage(CONTRACT, small_key(i), Some(vec![1; 8]));
    }
}

fn memory_ops(b: &mut Builder) {
    // The stack's halves.
    let half = STACK_BYTES / 2;
    let low = |reg: u8| format!("lddw r{reg}, {STACK:#x}\n");
    let high = |reg: u8| format!("lddw r{reg}, {:#x}\n", STACK + half);
    for (name, body_zero, body_max, max_what) in [
        (
            "tos_memcpy",
            "mov64 r1, r8\nmov64 r2, r8\nadd64 r2, 64\nmov64 r3, 0\n".to_string(),
            format!("{}{}mov64 r3, {half}\n", high(1), low(2)),
            "128 KiB",
        ),
        (
            "tos_memmove",
            "mov64 r1, r8\nmov64 r2, r8\nadd64 r2, 64\nmov64 r3, 0\n".to_string(),
            format!("{}add64 r1, 4096\n{}mov64 r3, {half}\n", low(1), low(2)),
            "128 KiB, overlapping",
        ),
        (
            "tos_memset",
            "mov64 r1, r8\nmov64 r2, 7\nmov64 r3, 0\n".to_string(),
            format!("{}mov64 r2, 7\nmov64 r3, {STACK_BYTES}\n", low(1)),
            "256 KiB (the whole stack)",
        ),
        (
            "tos_memcmp",
            "mov64 r1, r8\nmov64 r2, r8\nadd64 r2, 64\nmov64 r3, 0\n".to_string(),
            format!("{}{}mov64 r3, {half}\n", high(1), low(2)),
            "128 KiB, equal",
        ),
    ] {
        b.add(
            &format!("{name}, 0 bytes"),
            "nothing to copy: the base",
            program("", &format!("{body_zero}syscall {name}\n")),
            20_000,
        );
        b.add(
            &format!("{name}, {max_what}"),
            "the most the stack holds",
            program("", &format!("{body_max}syscall {name}\n")),
            200,
        );
    }
}

/// Addresses of other instances of a case's own code.
fn instance(index: u8) -> Hash {
    Hash([0xC0 + index; 32])
}

fn calls(b: &mut Builder) {
    const MAX_INPUT: u64 = 64 * 1024;
    // Callee: another instance of the case's own code, given n = 0 (it returns at once).
    let invoke = |input_len: u64| {
        format!(
            "mov64 r1, r6\nmov64 r2, r6\nadd64 r2, 32\nmov64 r3, {input_len}\nmov64 r4, 0\n\
             syscall tos_invoke\n"
        )
    };
    for (name, input_len, calls) in [
        ("tos_invoke, 8-byte input", 8, 5_000),
        ("tos_invoke, 64 KiB input", MAX_INPUT - 40, 500),
    ] {
        let case = b.add(
            name,
            "a warm callee (another instance of the same code) that returns at once",
            program("", &invoke(input_len)),
            calls,
        );
        let hash = code_hash(&case.elf);
        case.state.create_contract(instance(0), hash);
        case.data = instance(0).0.to_vec();
        case.data.resize(32 + input_len as usize, 0);
    }

    // Nesting to the deepest: instance k invokes instance k - 1 until k = 0.
    let nest = elf::assemble(&format!(
        "ldxdw r9, [r1+0]\njeq r9, 0, done\nmov64 r6, r1\nlddw r8, {HEAP:#x}\n\
         mov64 r1, r8\nmov64 r2, r6\nmov64 r3, 232\nsyscall tos_memcpy\nsub64 r9, 1\n\
         stxdw [r8+0], r9\nmov64 r1, r9\nlsh64 r1, 5\nadd64 r1, 8\nadd64 r1, r8\nmov64 r2, r8\n\
         mov64 r3, 232\nmov64 r4, 0\nsyscall tos_invoke\ndone:\nmov64 r0, 0\nexit\n"
    ))
    .expect("nesting program");
    let case = b.add(
        "tos_invoke, nested 8 frames deep",
        "a chain of 7 nested calls (the depth limit), each copying its 232-byte input",
        program(
            "",
            "mov64 r1, r6\nadd64 r1, 200\nmov64 r2, r6\nmov64 r3, 232\nmov64 r4, 0\n\
             syscall tos_invoke\n",
        ),
        500,
    );
    let nest_hash = code_hash(&nest);
    case.state.deploy_code(nest_hash, nest);
    case.data = 6u64.to_le_bytes().to_vec();
    for k in 0..7 {
        case.state.create_contract(instance(k), nest_hash);
        case.data.extend_from_slice(&instance(k).0);
    }

    // Factory: instances of the case's own code (warm), constructor given n = 0.
    for (name, input_len, calls) in [
        ("tos_create_contract, 8-byte input", 8, 1_000),
        ("tos_create_contract, 64 KiB input", MAX_INPUT - 40, 200),
    ] {
        let case = b.add(
            name,
            "a new instance of warm code (a new salt each call); its constructor returns at once",
            program(
                "",
                &format!(
                    "stxdw [r8+0], r7\nmov64 r1, r6\nmov64 r2, r8\nmov64 r3, r6\nadd64 r3, 32\n\
                     mov64 r4, {input_len}\nmov64 r5, r8\nadd64 r5, 64\nsyscall tos_create_contract\n"
                ),
            ),
            calls,
        );
        case.data = code_hash(&case.elf).0.to_vec();
        case.data.resize(32 + input_len as usize, 0);
    }

    let case = b.add(
        "tos_set_return_data, 1 024 bytes",
        "the largest return data",
        program(
            "",
            "mov64 r1, r6\nmov64 r2, 1024\nsyscall tos_set_return_data\n",
        ),
        10_000,
    );
    case.data = vec![9; 1024];
    let case = b.add(
        "tos_get_return_data, 1 024 bytes",
        "the largest return data copied out",
        program(
            "mov64 r1, r6\nmov64 r2, 1024\nsyscall tos_set_return_data\n",
            "mov64 r1, r8\nmov64 r2, 1024\nmov64 r3, 0\nsyscall tos_get_return_data\n",
        ),
        10_000,
    );
    case.data = vec![9; 1024];
    let case = b.add(
        "tos_emit_event, 64 + 1 024 bytes",
        "the largest event (at most 64 KiB of events per invoke)",
        program(
            "",
            "mov64 r1, r6\nmov64 r2, 64\nmov64 r3, r6\nmov64 r4, 1024\nsyscall tos_emit_event\n",
        ),
        60,
    );
    case.data = vec![b'e'; 1024];
    b.add(
        "tos_emit_event, empty",
        "an event without topic or data (at most 256 per invoke)",
        program(
            "",
            "mov64 r1, r6\nmov64 r2, 0\nmov64 r3, r6\nmov64 r4, 0\nsyscall tos_emit_event\n",
        ),
        256,
    )
    .data = vec![0; 8];
}

fn crypto(b: &mut Builder) {
    // The slice table first (up to 256 entries of 16 bytes), then 4 KiB of message.
    let input_start = 0x4_0000_0000u64 + 8;
    let table = |slices: usize, len: u64| {
        let message_at = input_start + 256 * 16;
        let mut data = Vec::new();
        for _ in 0..slices {
            data.extend_from_slice(&message_at.to_le_bytes());
            data.extend_from_slice(&len.to_le_bytes());
        }
        data.resize(256 * 16 + 4096, 0x61);
        data
    };
    for name in ["tos_sha256", "tos_keccak256", "tos_blake3"] {
        for (label, slices, len, calls) in [
            ("1 MiB in 256 slices", 256, 4096, 10),
            ("256 slices of 1 byte", 256, 1, 2_000),
            ("0 bytes", 0, 0, 10_000),
        ] {
            b.add(
                &format!("{name}, {label}"),
                "the hash of the slices",
                program(
                    "",
                    &format!("mov64 r1, r6\nmov64 r2, {slices}\nmov64 r3, r8\nsyscall {name}\n"),
                ),
                calls,
            )
            .data = table(slices, len);
        }
    }
    // RFC 8032, test 2: a valid key and signature (over another message: verification runs
    // in full and fails at the end, as long as for a valid signature).
    let key = hex::decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        .expect("hex");
    let signature = hex::decode(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
         085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    )
    .expect("hex");
    for (label, len, calls) in [
        ("1-byte message", 1u64, 200),
        ("64 KiB message", 65_536 - 8 - 96, 20),
    ] {
        let case = b.add(
            &format!("tos_ed25519_verify, {label}"),
            "a full verification",
            program(
                "",
                &format!(
                    "mov64 r1, r6\nmov64 r2, r6\nadd64 r2, 96\nmov64 r3, {len}\nmov64 r4, r6\n\
                     add64 r4, 32\nsyscall tos_ed25519_verify\n"
                ),
            ),
            calls,
        );
        case.data = key.clone();
        case.data.extend_from_slice(&signature);
        case.data.resize(96 + len as usize, 0x72);
    }
}

fn code_loads(b: &mut Builder) {
    // tos_invoke of distinct codes, each run once: with the cache emptied before every run,
    // every call loads (reads, validates, verifies, compiles) its callee.
    let invoke =
        "mov64 r1, r7\nlsh64 r1, 5\nadd64 r1, r6\nmov64 r2, r6\nmov64 r3, 0\nmov64 r4, 0\n\
                  syscall tos_invoke\n";
    for (name, instructions, memory, callees) in [
        ("tos_invoke, cold callee: 3 instructions", 3, false, 64),
        (
            "tos_invoke, cold callee: 8 KiB of ALU code",
            1024,
            false,
            32,
        ),
        (
            "tos_invoke, cold callee: 512 KiB of ALU code (the limit)",
            65_536,
            false,
            4,
        ),
        (
            "tos_invoke, cold callee: 512 KiB of loads, stores, branches (the limit)",
            65_536,
            true,
            4,
        ),
    ] {
        let case = b.add(
            name,
            "a callee whose code the transaction has not run (distinct codes, cache emptied)",
            program("", invoke),
            callees,
        );
        case.cold_cache = true;
        for k in 0..callees {
            let callee = straight_line(instructions, 0x1000 * (k + 1), memory);
            let hash = code_hash(&callee);
            case.state.deploy_code(hash, callee);
            let address = indexed(0xC0DE_0000 + k);
            case.state.create_contract(address, hash);
            case.data.extend_from_slice(&address.0);
        }
    }
}

/// Ratio of a case's time per unit to the reference's above which the cost is too low.
pub const BOUND: f64 = 3.0;

/// Whether `document`'s calibration table lists exactly these cases, in order, with these
/// compute units per call (the times are the machine's: not compared). `Err` says what
/// differs, for a test failure.
pub fn check(document: &str, cases: &[Case]) -> Result<(), String> {
    let table = match (document.find(BEGIN), document.find(END)) {
        (Some(begin), Some(end)) if begin < end => &document[begin..end],
        _ => return Err(format!("no calibration table (markers {BEGIN} … {END})")),
    };
    let committed: Vec<(String, String)> = table
        .lines()
        .skip_while(|line| !line.starts_with("| case |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            Some((cells.get(1)?.to_string(), cells.get(2)?.to_string()))
        })
        .collect();
    let mut expected = Vec::new();
    for case in cases {
        let units = case.units(Engine::Interpreter)?;
        let jit = case.units(Engine::Jit)?;
        if jit != units {
            return Err(format!(
                "{}: {units} units interpreted, {jit} under the JIT",
                case.name
            ));
        }
        expected.push((case.name.clone(), crate::report::group(units)));
    }
    if committed == expected {
        return Ok(());
    }
    let render = |rows: &[(String, String)]| -> Vec<String> {
        rows.iter()
            .map(|(name, units)| format!("{name}: {units}"))
            .collect()
    };
    let mut report = String::from("case: units per call (- committed, + now)\n");
    for line in crate::report::diff_lines(&render(&committed), &render(&expected), false) {
        report.push_str(&line);
        report.push('\n');
    }
    Err(report)
}
