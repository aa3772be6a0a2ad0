//! Differential fuzzing of the two engines on random verified programs, on stable Rust.
//!
//! Random SBPF V3 programs of the kind a contract can contain (`support::gen`: several
//! functions, ALU, loads and stores on and off every region, jumps and loops, calls,
//! recursion, `callx`, every syscall with good and hostile arguments) are deployed and invoked
//! under the interpreter and the JIT from identical stores. The engines must agree on the
//! whole outcome — status with its typed error, compute used, logs, effects, change set,
//! events, return data — and on the final state; a failed call leaves the store as it was; a
//! successful one moves no more native value than exists.
//!
//! One in four inputs is instead a mutation (instruction-level) of an earlier program: those
//! may be refused, and both engines must then refuse them alike.
//!
//! Bounds: `TOS_FUZZ_SECONDS` (default 10), `TOS_FUZZ_ITERATIONS`, `TOS_FUZZ_SEED`. Corpus:
//! `tests/corpus/programs/` (flag byte: 1 = generated, must be accepted; u32 ELF length; the
//! ELF; the call input).

#[path = "hostile/support.rs"]
mod support;

use std::sync::OnceLock;

use support::{block, bpf, call, fuzz, gen, memory_snapshot, result_fingerprint, Rng};
use tos_vm::{Engine, Hash, InvokeStatus, MemoryStorage, Vm, NATIVE_ASSET};

const DEFAULT_SECONDS: f64 = 10.0;
const BUDGET: u64 = 20_000;

fn engines() -> &'static [Vm; 2] {
    static ENGINES: OnceLock<[Vm; 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        [
            support::vm(Engine::Interpreter, BUDGET),
            support::vm(Engine::Jit, BUDGET),
        ]
    })
}

fn encode(generated: bool, elf: &[u8], input: &[u8]) -> Vec<u8> {
    let mut bytes = vec![u8::from(generated)];
    bytes.extend_from_slice(&(elf.len() as u32).to_le_bytes());
    bytes.extend_from_slice(elf);
    bytes.extend_from_slice(input);
    bytes
}

fn decode(bytes: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    let (&flag, rest) = bytes.split_first()?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let elf = rest.get(4..4 + len)?;
    Some((flag == 1, elf, &rest[4 + len..]))
}

/// A store where the contract and the sender have funds and the contract some storage.
fn prepared(vm: &Vm, elf: &[u8]) -> Result<(MemoryStorage, Hash), String> {
    let mut store = MemoryStorage::default();
    let contract = vm
        .deploy(
            elf,
            tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
            &mut store,
        )
        .map(|deployed| deployed.contract)
        .map_err(|e| format!("{e:?}"))?;
    store.set_balance(contract, NATIVE_ASSET, 1_000_000);
    store.set_balance(support::SENDER, NATIVE_ASSET, 1_000);
    store.set_balance(Hash([0xAA; 32]), NATIVE_ASSET, 5);
    for key in [&b"k"[..], b"seeded", &[0u8; 8]] {
        store.set_storage(contract, key, Some(b"stored value"));
    }
    Ok((store, contract))
}

fn exec(bytes: &[u8]) -> Result<String, String> {
    let Some((generated, elf, input)) = decode(bytes) else {
        return Ok("undecodable".to_string());
    };
    let [interpreter, jit] = engines();
    let checks = [interpreter.check(elf), jit.check(elf)];
    match &checks {
        [Ok(_), Ok(_)] => {}
        [Err(a), Err(b)] => {
            if format!("{a:?}") != format!("{b:?}") {
                return Err(format!("engines refuse differently: {a:?} / {b:?}"));
            }
            if generated {
                return Err(format!("a generated program was refused: {a:?}"));
            }
            return Ok("refused".to_string());
        }
        _ => return Err(format!("acceptance differs: {checks:?}")),
    }
    let mut runs = Vec::new();
    let mut class = String::new();
    for vm in [interpreter, jit] {
        let (mut store, contract) = prepared(vm, elf)?;
        let before = store.clone();
        let supply = store.total_supply(&NATIVE_ASSET);
        let result = vm.invoke(&call(contract, input, 0), &block(), &mut store);
        let outcome = result.as_ref().map_err(|e| format!("invoke error {e:?}"))?;
        if outcome.compute_used > BUDGET {
            return Err(format!("compute {} over the budget", outcome.compute_used));
        }
        let log_bytes: usize = outcome.logs.iter().map(|l| l.message.len()).sum();
        if log_bytes > tos_vm::runtime::limits::MAX_LOG_BYTES_PER_INVOKE + 4096 {
            return Err(format!("{log_bytes} bytes of logs"));
        }
        match &outcome.status {
            InvokeStatus::Success => {
                if store.total_supply(&NATIVE_ASSET) != supply {
                    return Err("the total supply changed".to_string());
                }
                for (owner, _key) in outcome.changes.storage.keys() {
                    if *owner != contract {
                        return Err(format!("wrote storage of {owner}"));
                    }
                }
                class = "success".to_string();
            }
            other => {
                if store != before {
                    return Err(format!(
                        "a failed call changed the store ({other:?}):\n{}",
                        memory_snapshot(&store)
                    ));
                }
                class = match other {
                    InvokeStatus::Aborted(error) => format!("{error:?}")
                        .split(['(', '{', '"'])
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("("),
                    _ => "failed".to_string(),
                };
            }
        }
        runs.push((result_fingerprint(&result), memory_snapshot(&store)));
    }
    if runs[0] != runs[1] {
        return Err(format!(
            "engines disagree:\n--- interpreter\n{}\n{}\n--- jit\n{}\n{}",
            runs[0].0, runs[0].1, runs[1].0, runs[1].1
        ));
    }
    Ok(class)
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let (text, rodata) = gen::program(rng, 24);
    let elf = bpf::elf(&text, &rodata, 0);
    let input_len = rng.index(96);
    encode(true, &elf, &rng.bytes(input_len))
}

fn next(rng: &mut Rng, pool: &[Vec<u8>]) -> Vec<u8> {
    if pool.is_empty() || rng.chance(3, 4) {
        return generate(rng);
    }
    let Some((_, elf, input)) = decode(rng.pick(pool).as_slice()) else {
        return generate(rng);
    };
    let mut elf = elf.to_vec();
    if let Some((offset, len)) = support::text_range(&elf) {
        gen::mutate_text(rng, &mut elf[offset..offset + len]);
    }
    encode(false, &elf, input)
}

#[test]
fn fuzz_programs() {
    let mut rng = Rng::new(1);
    let seeds = (0..8).map(|_| generate(&mut rng)).collect();
    let stats = fuzz::run("programs", DEFAULT_SECONDS, seeds, next, exec);
    fuzz::assert_clean(&stats);
}

/// The generator itself: its programs are accepted (a refused one would test nothing).
#[test]
fn generated_programs_are_valid() {
    let names = tos_vm::syscalls::syscall_names();
    let mut rng = Rng::new(7);
    for i in 0..200 {
        let (text, rodata) = gen::program(&mut rng, 24);
        let elf = bpf::elf(&text, &rodata, 0);
        if let Err(error) = tos_vm::loader::validate_executable(&elf, &names) {
            panic!("program {i} refused: {error}");
        }
    }
}

/// Writes the hand-picked seeds of `tests/corpus/programs/` (run by hand:
/// `cargo test --test fuzz_programs write_seed_corpus -- --ignored`). The files are replayed by
/// `fuzz_programs` on every run, with the fuzzer's checks.
#[test]
#[ignore]
fn write_seed_corpus() {
    let dir = fuzz::corpus_dir("programs");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, slots: Vec<[u8; 8]>, input: &[u8]| {
        let elf = bpf::elf(&bpf::code(&slots), &[0u8; 16], 0);
        std::fs::write(
            dir.join(format!("seed-{name}.bin")),
            encode(true, &elf, input),
        )
        .unwrap();
    };
    let target = |pc: u64| bpf::lddw(1, bpf::MM_CODE + 8 * pc);
    // callx to a misaligned address inside the code: rounded down to the instruction.
    let t = bpf::lddw(1, bpf::MM_CODE + 8 * 4 + 5);
    write(
        "callx-misaligned",
        vec![
            t[0],
            t[1],
            bpf::callx(1),
            bpf::exit(),
            bpf::mov64_imm(0, 9),
            bpf::exit(),
        ],
        b"",
    );
    // callx into the second half of an lddw; past the end; to itself (recursion).
    let t = target(5);
    write(
        "callx-lddw-second-half",
        vec![
            t[0],
            t[1],
            bpf::callx(1),
            bpf::exit(),
            bpf::lddw(2, 0x95)[0],
            bpf::lddw(2, 0x95)[1],
            bpf::exit(),
        ],
        b"",
    );
    let t = target(5);
    write(
        "callx-past-the-end",
        vec![t[0], t[1], bpf::callx(1), bpf::exit(), bpf::exit()],
        b"",
    );
    let t = target(0);
    write(
        "callx-recursion",
        vec![t[0], t[1], bpf::callx(1), bpf::exit()],
        b"",
    );
    // Arithmetic edge cases on both engines: every ALU op with edge operands.
    let mut slots = Vec::new();
    for (a, b) in [
        (u64::MAX, 1u64),
        (1 << 63, u64::MAX),
        (0x8000_0000, 0xffff_ffff),
        (7, 0x1_0000_0000),
    ] {
        for op in gen::ALU64_OPS {
            slots.extend(bpf::lddw(3, a));
            slots.extend(bpf::lddw(4, b));
            if *op == 0x80 {
                slots.push(bpf::insn(0x87, 3, 0, 0, 0));
            } else {
                slots.push(bpf::insn(op | 0x0f, 3, 4, 0, 0));
            }
            slots.push(bpf::insn(0xaf, 0, 3, 0, 0)); // xor r0, r3
        }
        for op in gen::ALU32_OPS {
            slots.extend(bpf::lddw(3, a));
            slots.extend(bpf::lddw(4, b | 1));
            if *op == 0x80 {
                slots.push(bpf::insn(0x84, 3, 0, 0, 0));
            } else {
                slots.push(bpf::insn(op | 0x0c, 3, 4, 0, 0));
            }
            slots.push(bpf::insn(0xaf, 0, 3, 0, 0));
        }
        for imm in [16, 32, 64] {
            slots.extend(bpf::lddw(3, a));
            slots.push(bpf::insn(0xdc, 3, 0, 0, imm));
            slots.push(bpf::insn(0xd4, 3, 0, 0, imm));
            slots.push(bpf::insn(0xaf, 0, 3, 0, 0));
        }
    }
    slots.push(bpf::exit());
    write("alu-edges", slots, b"");
    // A 32-bit division by a register holding 1 << 32 (zero in its low half).
    let mut slots = bpf::lddw(4, 1 << 32).to_vec();
    slots.extend([
        bpf::mov64_imm(0, 10),
        bpf::insn(0x3c, 0, 4, 0, 0),
        bpf::exit(),
    ]);
    write("div32-by-high-bits-only", slots, b"");
}
