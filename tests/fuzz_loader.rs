//! Fuzzing the way code gets into the VM, on stable Rust, as ordinary tests:
//!
//! - `elf`: mutated executables (real contracts built from C and Rust, hand-made ones) go
//!   through `validate_executable` and `Vm::check` under the interpreter and the JIT. Both
//!   engines must accept or refuse alike (with the same error), and what is accepted is
//!   deployed and run under both, which must agree on everything (status, compute, logs,
//!   effects, state); a failed call must leave the store unchanged.
//! - `object`: mutated BPF objects (clang output) go through `tos_loader::link`. Whatever
//!   links must validate, load in both engines and run alike.
//!
//! No panic, anywhere. Bounds: `TOS_FUZZ_SECONDS` per target (default 8), or
//! `TOS_FUZZ_ITERATIONS`; `TOS_FUZZ_SEED` to replay a run. Failing inputs are kept in
//! `tests/corpus/<target>/` and replayed on every run (see `tests/hostile/support.rs`).

mod common;
#[path = "hostile/support.rs"]
mod support;

use std::{path::Path, process::Command, sync::OnceLock};

use common::{op, Script, Value};
use support::{block, bpf, call, fuzz, memory_snapshot, result_fingerprint, Rng};
use tos_vm::{
    loader::{self, toolchain},
    Engine, MemoryStorage, Vm, VmError, NATIVE_ASSET,
};

const DEFAULT_SECONDS: f64 = 8.0;
/// Small: mutated programs often loop until the budget is gone.
const RUN_BUDGET: u64 = 20_000;

struct Engines {
    interpreter: Vm,
    jit: Vm,
}

fn engines() -> &'static Engines {
    static ENGINES: OnceLock<Engines> = OnceLock::new();
    ENGINES.get_or_init(|| Engines {
        interpreter: support::vm(Engine::Interpreter, RUN_BUDGET),
        jit: support::vm(Engine::Jit, RUN_BUDGET),
    })
}

fn syscall_names() -> &'static Vec<&'static str> {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(tos_vm::syscalls::syscall_names)
}

/// The error's variant and the first words of its message: the outcome class.
fn class_of(error: &impl std::fmt::Debug) -> String {
    let debug = format!("{error:?}");
    let variant: String = debug
        .split(['{', '"'])
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    variant
}

/// Deploys `elf` (already accepted) and invokes it under both engines with a few inputs.
/// Returns the outcome class, or what the engines disagreed on.
pub fn run_accepted(elf: &[u8], inputs: &[Vec<u8>]) -> Result<String, String> {
    let engines = engines();
    let mut classes = Vec::new();
    for input in inputs {
        let mut fingerprints = Vec::new();
        for vm in [&engines.interpreter, &engines.jit] {
            let mut store = MemoryStorage::default();
            let contract = vm
                .deploy(
                    elf,
                    tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                    &mut store,
                )
                .map(|deployed| deployed.contract)
                .map_err(|e| format!("deploy refused after check accepted: {e:?}"))?;
            store.set_balance(contract, NATIVE_ASSET, 1_000);
            store.set_balance(support::SENDER, NATIVE_ASSET, 1_000);
            store.set_storage(contract, b"seeded", Some(b"value"));
            let before = store.clone();
            let supply = store.total_supply(&NATIVE_ASSET);
            let result = vm.invoke(&call(contract, input, 0), &block(), &mut store);
            match &result {
                Ok(outcome) if outcome.status.is_success() => {
                    if store.total_supply(&NATIVE_ASSET) != supply {
                        return Err("a call changed the total supply".to_string());
                    }
                    if outcome.compute_used > RUN_BUDGET {
                        return Err(format!("compute {} over the budget", outcome.compute_used));
                    }
                    classes.push("success".to_string());
                }
                Ok(outcome) => {
                    if store != before {
                        return Err(format!(
                            "a failed call changed the store: {:?}\n{}",
                            outcome.status,
                            memory_snapshot(&store)
                        ));
                    }
                    classes.push(match &outcome.status {
                        tos_vm::InvokeStatus::Aborted(e) => class_of(e),
                        _ => "failed".to_string(),
                    });
                }
                Err(error) => classes.push(format!("invoke error {}", class_of(error))),
            }
            fingerprints.push((result_fingerprint(&result), memory_snapshot(&store)));
        }
        if fingerprints[0] != fingerprints[1] {
            return Err(format!(
                "engines disagree on input {}:\ninterpreter: {}\n{}\njit: {}\n{}",
                hex::encode(input),
                fingerprints[0].0,
                fingerprints[0].1,
                fingerprints[1].0,
                fingerprints[1].1
            ));
        }
    }
    classes.sort();
    classes.dedup();
    Ok(format!("accepted: {}", classes.join(",")))
}

/// Inputs an accepted program runs with: nothing, a probe script with effects, random bytes.
fn inputs(elf: &[u8]) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(tos_vm::code_hash(elf).0[0] as u64);
    vec![
        Vec::new(),
        Script::new()
            .with_data(b"key", |s, k| {
                s.call(op::STORAGE_WRITE, &[k, Value(3), k, Value(3)])
            })
            .with_data(&[0xAA; 32], |s, to| s.call(op::TRANSFER, &[to, Value(1)]))
            .with_data(b"fuzz", |s, m| s.call(op::LOG, &[m, Value(4)]))
            .build(0),
        rng.bytes(64),
    ]
}

/// The `elf` target: validate, check under both engines, run what is accepted.
fn exec_elf(elf: &[u8]) -> Result<String, String> {
    let engines = engines();
    let validated = loader::validate_executable(elf, syscall_names());
    let interpreter = engines.interpreter.check(elf);
    let jit = engines.jit.check(elf);
    match (&validated, &interpreter, &jit) {
        (Ok(_), Ok(_), Ok(_)) => run_accepted(elf, &inputs(elf)),
        (_, Err(i), Err(j)) => {
            if format!("{i:?}") != format!("{j:?}") {
                return Err(format!("engines refuse differently:\n{i:?}\n{j:?}"));
            }
            if validated.is_ok() {
                return Err(format!(
                    "validate_executable accepts what the VM refuses: {i:?}"
                ));
            }
            Ok(class_of(i))
        }
        _ => Err(format!(
            "acceptance differs: validate {:?}, interpreter {:?}, jit {:?}",
            validated.as_ref().map(|_| "ok"),
            interpreter,
            jit
        )),
    }
}

fn object_file(path: &Path, cpu: &str) -> Option<Vec<u8>> {
    let out = tempfile::tempdir().ok()?;
    let object = out.path().join("out.o");
    let clang = std::env::var("TOS_CLANG").unwrap_or_else(|_| "clang-19".to_string());
    let status = Command::new(clang)
        .args([
            "-target",
            "bpf",
            &format!("-mcpu={cpu}"),
            "-O2",
            "-ffreestanding",
        ])
        .args(["-fno-builtin", "-mllvm", "-bpf-stack-size=4096", "-I"])
        .arg(support::root().join("sdk/c"))
        .arg("-c")
        .arg(path)
        .arg("-o")
        .arg(&object)
        .status()
        .ok()?;
    status
        .success()
        .then(|| std::fs::read(&object).ok())
        .flatten()
}

/// Objects to mutate: the C contracts through the build driver, the link fixtures with clang.
fn seed_objects() -> Vec<Vec<u8>> {
    let root = support::root();
    let syscalls = tos_vm::syscalls::syscall_names();
    let options = toolchain::BuildOptions::new(&syscalls, root.join("sdk/c"));
    let mut objects = Vec::new();
    for dir in [
        root.join("tests/contracts/probe"),
        root.join("tests/hostile/poker"),
        root.join("examples/hello-world"),
    ] {
        match toolchain::compile_objects(&dir, &options) {
            Ok(built) => objects.extend(built.into_iter().map(|(_, bytes)| bytes)),
            Err(error) => eprintln!("fuzz seeds: {} not compiled: {error}", dir.display()),
        }
    }
    for file in ["relocs.c", "bss.c", "unknown_syscall.c", "no_entry.c"] {
        if let Some(bytes) = object_file(&root.join("tests/hostile/link").join(file), "v2") {
            objects.push(bytes);
        }
    }
    if let Some(bytes) = object_file(&root.join("tests/hostile/link/signed_ops.c"), "v4") {
        objects.push(bytes);
    }
    assert!(
        !objects.is_empty(),
        "no seed object could be compiled (is clang-19 installed?)"
    );
    objects
}

/// The `object` target: link one mutated object (and, every other time, next to the intact
/// probe object, for cross-object symbol resolution).
fn exec_object(object: &[u8], companion: Option<&[u8]>) -> Result<String, String> {
    let mut files = vec![loader::ObjectFile {
        name: "fuzzed.o",
        bytes: object,
    }];
    if let Some(companion) = companion {
        files.push(loader::ObjectFile {
            name: "companion.o",
            bytes: companion,
        });
    }
    let linked = loader::link(
        &files,
        &loader::LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: syscall_names(),
        },
    );
    match linked {
        Err(error) => Ok(format!("link: {}", class_of(&VmError::Loader(error)))),
        Ok(elf) => {
            if let Err(error) = loader::validate_executable(&elf, syscall_names()) {
                return Err(format!("link output fails validation: {error:?}"));
            }
            let engines = engines();
            for vm in [&engines.interpreter, &engines.jit] {
                if let Err(error) = vm.check(&elf) {
                    return Err(format!("link output refused by the VM: {error:?}"));
                }
            }
            run_accepted(&elf, &inputs(&elf)).map(|class| format!("linked, {class}"))
        }
    }
}

fn seed_elfs() -> Vec<Vec<u8>> {
    let mut elfs = vec![
        support::probe_elf(),
        support::hostile_elf("poker"),
        tos_test_harness::fixtures::example_elf("hello-world"),
        bpf::elf(
            &bpf::code(&[bpf::mov64_imm(0, 0), bpf::exit()]),
            &[0u8; 16],
            0,
        ),
    ];
    // The Rust example, when it is already built (tests/examples.rs builds it).
    if let Ok(elf) = tos_test_harness::fixtures::build_contract_cached(
        &tos_test_harness::fixtures::example_dir("counter-rust"),
    ) {
        elfs.push(elf);
    }
    elfs
}

/// Prints how many executions got past the loader (and were run under both engines).
fn report_accepted(stats: &fuzz::Stats, prefix: &str) {
    let accepted: u64 = stats
        .histogram
        .iter()
        .filter(|(class, _)| class.starts_with(prefix))
        .map(|(_, count)| count)
        .sum();
    eprintln!(
        "fuzz[{}]: {accepted} of {} new inputs {prefix} and run under both engines",
        stats.target, stats.executions
    );
}

#[test]
fn fuzz_elf() {
    let seeds = seed_elfs();
    let stats = fuzz::run(
        "elf",
        DEFAULT_SECONDS,
        seeds,
        |rng, pool| {
            let base = rng.pick(pool).clone();
            // Half of the time, instruction-level edits inside the bytecode (which mostly keep
            // the file valid, so the result gets deployed and run); else raw byte edits.
            if rng.chance(1, 2) {
                if let Some((offset, len)) = support::text_range(&base) {
                    let mut elf = base;
                    support::gen::mutate_text(rng, &mut elf[offset..offset + len]);
                    return elf;
                }
            }
            let other = rng.pick(pool).clone();
            fuzz::mutate_bytes(rng, &base, &other)
        },
        exec_elf,
    );
    report_accepted(&stats, "accepted");
    fuzz::assert_clean(&stats);
    assert!(stats.executions > 0 || stats.seconds == 0.0);
}

#[test]
fn fuzz_object() {
    let objects = seed_objects();
    let companion = objects[0].clone();
    // A corpus file is a flag byte (bit 0: link next to the intact probe object) + the object.
    let seeds = objects
        .iter()
        .flat_map(|o| [[&[0u8][..], o].concat(), [&[1u8][..], o].concat()])
        .collect();
    let stats = fuzz::run(
        "object",
        DEFAULT_SECONDS,
        seeds,
        |rng, pool| {
            let base = rng.pick(pool).clone();
            let other = rng.pick(pool).clone();
            fuzz::mutate_bytes(rng, &base, &other)
        },
        |input| {
            let (flag, object) = match input.split_first() {
                Some((flag, object)) => (*flag, object),
                None => return Ok("empty".to_string()),
            };
            exec_object(object, (flag & 1 == 1).then_some(companion.as_slice()))
        },
    );
    report_accepted(&stats, "linked");
    fuzz::assert_clean(&stats);
}
