//! Determinism: the same invoke gives byte-identical results — status with its typed error,
//! compute used, logs, net effects, change set, events, return data and final state — on
//! every run, under both engines, with a cold or a warm executable cache, in another process
//! with another environment, time zone, working directory and (where `setarch` exists)
//! without address-space randomization. Nothing of the host leaks in: the sources of the
//! execution path use no clock, no randomness and no hash-map iteration.

mod common;
#[path = "hostile/support.rs"]
mod support;

use std::process::Command;

use common::{op, Scratch, Script, Value};
use support::{block, bpf, call, gen, memory_snapshot, outcome_fingerprint, Rng};
use tos_vm::{
    loader::{self, toolchain},
    BlockContext, Engine, Hash, MemoryStorage, Vm, NATIVE_ASSET,
};

/// Enough for every workload; small enough that the loops that exhaust it stay quick.
const BUDGET: u64 = 400_000;
const RECIPIENT: Hash = Hash([0xAA; 32]);
const CHILD: &str = "TOS_DETERMINISM_CHILD";

type Inputs = Box<dyn Fn(&[Hash]) -> Vec<Vec<u8>>>;

/// A named scenario: contracts to deploy (the first is called), then calls in order.
struct Workload {
    name: String,
    contracts: Vec<Vec<u8>>,
    /// Inputs of consecutive calls (each sees the previous one's committed state).
    inputs: Inputs,
    value: u64,
}

fn everything(h: &[Hash]) -> Vec<u8> {
    let callee_script = Script::new()
        .call(op::CALLER, &[Scratch(0)])
        .call(op::CALL_DEPTH, &[])
        .call(op::CALL_VALUE, &[])
        .with_data(b"from callee", |s, d| {
            s.call(op::SET_RETURN_DATA, &[d, Value(11)])
        })
        .with_data(b"callee-key", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(10), k, Value(10)])
        })
        .build(0);
    let len = callee_script.len() as u64;
    Script::new()
        .call(op::BLOCK_HASH, &[Scratch(0)])
        .call(op::BLOCK_HEIGHT, &[])
        .call(op::BLOCK_TIMESTAMP, &[])
        .call(op::TX_HASH, &[Scratch(32)])
        .call(op::TX_SENDER, &[Scratch(64)])
        .call(op::CONTRACT_HASH, &[Scratch(96)])
        .call(op::CALLER, &[Scratch(128)])
        .call(op::CALL_DEPTH, &[])
        .call(op::CALL_VALUE, &[])
        .call(op::SELF_BALANCE, &[])
        .call(op::ECHO_SCRATCH, &[Value(0), Value(160)])
        .with_data(&RECIPIENT.0, |s, to| {
            s.call(op::GET_BALANCE, &[to])
                .call(op::TRANSFER, &[to, Value(7)])
        })
        .with_data(b"alpha", |s, k| {
            s.call(op::STORAGE_WRITE, &[k, Value(5), k, Value(5)])
                .call(op::STORAGE_READ, &[k, Value(5), Scratch(200), Value(5)])
                .call(op::STORAGE_DELETE, &[k, Value(5)])
                .call(op::STORAGE_WRITE, &[k, Value(1), k, Value(4)])
        })
        .call(op::MEMSET, &[Scratch(300), Value(0x5A), Value(40)])
        .call(op::MEMCPY, &[Scratch(350), Scratch(300), Value(40)])
        .call(op::MEMMOVE, &[Scratch(310), Scratch(300), Value(40)])
        .call(op::MEMCMP, &[Scratch(300), Scratch(350), Value(40)])
        .call(op::STORE_ADDRESS, &[Value(400), Value(0x4_0000_0000)])
        .call(op::STORE_ADDRESS, &[Value(408), Value(64)])
        .call(op::SHA256, &[Scratch(400), Value(1), Scratch(416)])
        .call(op::KECCAK256, &[Scratch(400), Value(1), Scratch(448)])
        .call(op::BLAKE3, &[Scratch(400), Value(1), Scratch(480)])
        .call(op::ECHO_SCRATCH, &[Value(416), Value(96)])
        .call(
            op::ED25519_VERIFY,
            &[Scratch(0), Scratch(32), Value(16), Scratch(64)],
        )
        .with_data(b"topic", |s, t| {
            s.call(op::EMIT_EVENT, &[t, Value(5), t, Value(3)])
        })
        .with_data(b"mine", |s, d| s.call(op::SET_RETURN_DATA, &[d, Value(4)]))
        .with_data(&h[1].0, |s, callee| {
            s.with_data(&callee_script, |s, input| {
                s.call(op::INVOKE, &[callee, input, Value(len), Value(3)])
            })
        })
        .call(op::GET_RETURN_DATA, &[Scratch(0), Value(32), Scratch(64)])
        .call(op::ECHO_SCRATCH, &[Value(0), Value(96)])
        .with_data(b"a log line", |s, m| s.call(op::LOG, &[m, Value(10)]))
        .build(0)
}

fn poker_input(mode: u8, a: u64, b: u64) -> Vec<u8> {
    let mut input = vec![mode];
    input.extend_from_slice(&a.to_le_bytes());
    input.extend_from_slice(&b.to_le_bytes());
    input
}

fn workloads() -> Vec<Workload> {
    let probes = vec![support::probe_variant_elf(1), support::probe_variant_elf(2)];
    let poker = support::hostile_elf("poker");
    let mut list = vec![
        Workload {
            name: "every syscall, nested call with value".into(),
            contracts: probes.clone(),
            inputs: Box::new(|h| vec![everything(h), everything(h)]),
            value: 11,
        },
        Workload {
            name: "callee aborts".into(),
            contracts: probes.clone(),
            inputs: Box::new(|h| {
                let callee = Script::new()
                    .with_data(b"k", |s, k| {
                        s.call(op::STORAGE_WRITE, &[k, Value(1), k, Value(1)])
                    })
                    .call(op::MEMCPY, &[Scratch(0), Scratch(8), Value(16)])
                    .build(0);
                let len = callee.len() as u64;
                vec![Script::new()
                    .with_data(&h[1].0, |s, c| {
                        s.with_data(&callee, |s, i| {
                            s.call(op::INVOKE, &[c, i, Value(len), Value(0)])
                        })
                    })
                    .build(0)]
            }),
            value: 0,
        },
    ];
    for (name, mode, a, b) in [
        ("store into read-only data", 2, 8, 1),
        ("heap overrun", 8, 40_000, 0),
        ("stack overrun", 7, 100_000, 0),
        ("deep recursion", 1, 100_000, 0),
        ("infinite loop", 6, 0, 0),
        ("log flood", 9, 0, 0),
        ("divide by zero", 5, 3, 0),
        ("call into data", 4, 8, 0),
    ] {
        let poker = poker.clone();
        list.push(Workload {
            name: format!("poker: {name}"),
            contracts: vec![poker],
            inputs: Box::new(move |_| {
                // Long inputs make the log flood hit the log limit before the budget.
                let mut input = poker_input(mode, a, b);
                input.resize(2_000, b'.');
                vec![input]
            }),
            value: 0,
        });
    }
    for example in ["hello-world", "counter-rust"] {
        list.push(Workload {
            name: format!("example {example}"),
            contracts: vec![tos_test_harness::fixtures::example_elf(example)],
            // counter-rust: an empty input and `increment` both count (hello-world ignores it).
            inputs: Box::new(|_| vec![Vec::new(), Vec::new(), counter_rust::calls::increment()]),
            value: 0,
        });
    }
    let mut rng = Rng::new(0xD37E);
    for i in 0..12 {
        let (text, rodata) = gen::program(&mut rng, 32);
        let input = rng.bytes(48);
        list.push(Workload {
            name: format!("random program {i}"),
            contracts: vec![bpf::elf(&text, &rodata, 0)],
            inputs: Box::new(move |_| vec![input.clone(), input.clone()]),
            value: 0,
        });
    }
    list
}

/// Everything a run of `workload` produced, as text.
fn run(vm: &Vm, workload: &Workload, block: &BlockContext) -> String {
    let mut store = MemoryStorage::default();
    let hashes: Vec<Hash> = workload
        .contracts
        .iter()
        .map(|elf| {
            vm.deploy(
                elf,
                tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                &mut store,
            )
            .map(|deployed| deployed.contract)
            .expect("deploy")
        })
        .collect();
    for hash in &hashes {
        store.set_balance(*hash, NATIVE_ASSET, 1_000);
    }
    store.set_balance(support::SENDER, NATIVE_ASSET, 1_000);
    let mut text = String::new();
    for input in (workload.inputs)(&hashes) {
        let outcome = vm
            .invoke(&call(hashes[0], &input, workload.value), block, &mut store)
            .expect("invoke");
        text.push_str(&outcome_fingerprint(&outcome));
        text.push('\n');
    }
    text.push_str(&memory_snapshot(&store));
    text
}

fn fresh_vm(engine: Engine) -> Vm {
    support::vm(engine, BUDGET)
}

/// The reference result of every workload: one line `name: blake3(fingerprint)` each.
fn digests(engine: Engine) -> Vec<String> {
    let vm = fresh_vm(engine);
    workloads()
        .iter()
        .map(|w| {
            format!(
                "{}: {}",
                w.name,
                tos_vm::code_hash(run(&vm, w, &block()).as_bytes()).to_hex()
            )
        })
        .collect()
}

#[test]
fn same_invoke_same_bytes_on_every_run_and_both_engines() {
    let workloads = workloads();
    let interpreter = fresh_vm(Engine::Interpreter);
    let jit = fresh_vm(Engine::Jit);
    let mut problems = Vec::new();
    for workload in &workloads {
        let reference = run(&fresh_vm(Engine::Interpreter), workload, &block());
        // Fresh VMs (cold caches), then the same VMs again (warm caches), both engines.
        let runs = [
            (
                "interpreter, cold",
                run(&fresh_vm(Engine::Interpreter), workload, &block()),
            ),
            ("jit, cold", run(&fresh_vm(Engine::Jit), workload, &block())),
            ("interpreter, warm", run(&interpreter, workload, &block())),
            ("jit, warm", run(&jit, workload, &block())),
            (
                "interpreter, warm again",
                run(&interpreter, workload, &block()),
            ),
            ("jit, warm again", run(&jit, workload, &block())),
        ];
        for (how, result) in runs {
            if result != reference {
                problems.push(format!(
                    "{}: {how} differs from the first run\n--- first\n{reference}\n--- {how}\n{result}",
                    workload.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The block context is the only source of time and chain data: another block gives other
/// results, the same block the same ones, whatever the host clock says.
#[test]
fn only_the_block_context_reaches_the_contract() {
    let vm = fresh_vm(Engine::Jit);
    let workload = &workloads()[0];
    let later = BlockContext {
        height: 43,
        hash: Hash([0xB2; 32]),
        timestamp: 1_700_000_400,
    };
    let first = run(&vm, workload, &block());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        run(&vm, workload, &block()),
        first,
        "same block, a second later"
    );
    let other = run(&vm, workload, &later);
    assert_ne!(other, first);
    assert!(
        other.contains(&format!("{:016x}", 43))
            && other.contains(&format!("{:016x}", 1_700_000_400u64))
    );
}

/// The child side of `same_results_in_another_process`: prints the digests.
#[test]
fn child_entry() {
    if let Ok(engine) = std::env::var(CHILD) {
        let engine = if engine == "jit" {
            Engine::Jit
        } else {
            Engine::Interpreter
        };
        for line in digests(engine) {
            println!("DIGEST {line}");
        }
    }
}

/// Another process (other hash-map seeds, other addresses, other environment, time zone,
/// locale and working directory; no address-space randomization where `setarch` exists)
/// gets the same results as this one.
#[test]
fn same_results_in_another_process() {
    let expected = digests(Engine::Interpreter);
    assert_eq!(expected, digests(Engine::Jit), "engines differ");
    let exe = std::env::current_exe().unwrap();
    let setarch = Command::new("setarch")
        .args(["--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    for engine in ["interpreter", "jit"] {
        let mut command = if setarch {
            let mut c = Command::new("setarch");
            c.args([std::env::consts::ARCH, "-R"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let output = command
            .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD, engine)
            .env("TZ", "Pacific/Kiritimati")
            .env("LC_ALL", "C")
            .env("LANG", "tr_TR.UTF-8")
            .env("RUST_MIN_STACK", "16777216")
            .current_dir("/")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.find("DIGEST ").map(|at| l[at + 7..].to_string()))
            .collect();
        assert_eq!(lines, expected, "{engine} in another process");
    }
}

/// Building the same sources twice gives the same bytes (so the same contract id).
#[test]
fn builds_are_reproducible() {
    let root = support::root();
    let syscalls = tos_vm::syscalls::syscall_names();
    let options = toolchain::BuildOptions::new(&syscalls, root.join("sdk/c"));
    let dir = root.join("tests/hostile/poker");
    let link = |objects: &[(String, Vec<u8>)]| {
        let files: Vec<loader::ObjectFile<'_>> = objects
            .iter()
            .map(|(name, bytes)| loader::ObjectFile { name, bytes })
            .collect();
        loader::link(
            &files,
            &loader::LinkOptions {
                entry_symbol: "entrypoint",
                syscalls: &syscalls,
            },
        )
        .unwrap()
    };
    let first = toolchain::compile_objects(&dir, &options).unwrap();
    let second = toolchain::compile_objects(&dir, &options).unwrap();
    assert_eq!(first, second, "clang output differs between two compiles");
    assert_eq!(link(&first), link(&second));
    assert_eq!(link(&first), link(&first));
    assert_eq!(
        link(&first),
        support::hostile_elf("poker"),
        "differs from the cached build"
    );
}

/// Files of the execution path, and the uses of host state they are allowed, with why.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "program-runtime/src/cache.rs",
        "HashMap",
        "executable lookup by (code hash, engine); never iterated into a result",
    ),
    (
        "program-runtime/src/cache.rs",
        "Instant::now",
        "load-time metric in CacheStats; never part of an outcome",
    ),
    (
        "storage/src/memory.rs",
        "HashMap",
        "MemoryStorage's maps (foldhash, per-map random seed): every listing and Debug sorts; \
         sealing a block handles each pending key on its own",
    ),
    (
        "storage/src/memory.rs",
        "HashSet",
        "MemoryStorage's pending keys: sealed one by one, the order cannot show",
    ),
    (
        "loader/src/lib.rs",
        "HashMap",
        "syscall hash -> name lookup; never iterated",
    ),
    (
        "loader/src/link.rs",
        "HashMap",
        "symbol lookups; never iterated (the output follows the input objects' order)",
    ),
    (
        "src/block/execute.rs",
        "Instant::now",
        "wall-clock timing reported beside a block's results; not part of effects or state",
    ),
    (
        "src/block/replay.rs",
        "Instant::now",
        "wall-clock timing of a block's commit; not part of effects or state",
    ),
    (
        "src/pending.rs",
        "HashMap",
        "a block's pending changes by key; iterated only into a ChangeSet's BTreeMaps, which sort",
    ),
    (
        "src/block/recording.rs",
        "HashMap",
        "multi-version writes looked up by key hash; never iterated into a result",
    ),
    (
        "src/block/recording.rs",
        "RandomState",
        "per-segment seed (foldhash) of the multi-version map's hash (a block cannot be built \
         ahead to collide); lookups compare whole keys, nothing is iterated",
    ),
];

const FORBIDDEN: &[&str] = &[
    "SystemTime",
    "Instant::now",
    "thread_rng",
    "rand::",
    "RandomState",
    "getrandom",
    "HashMap",
    "HashSet",
    "env::var",
];

/// No clock, no randomness, no hash-map iteration order, no environment in the code that
/// computes outcomes (everything but the build driver and the CLI), except the uses listed
/// in `ALLOWED` with their reason. Use `BTreeMap`/`BTreeSet` for anything iterated.
#[test]
fn no_host_state_in_the_execution_path() {
    let root = support::root();
    let mut files = Vec::new();
    for dir in [
        "program-runtime/src",
        "syscalls/src",
        "storage/src",
        "loader/src",
        "src",
        "src/block",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // The build driver runs compilers (tool paths from the environment); the CLI is
            // a front end.
            if path.extension().is_some_and(|e| e == "rs")
                && !["toolchain.rs", "irpass.rs"].contains(&name.as_str())
            {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for token in FORBIDDEN {
                if code.contains(token) && !ALLOWED.iter().any(|(f, t, _)| f == file && t == token)
                {
                    problems.push(format!("{file}:{}: `{token}`: {}", number + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "host state in the execution path (use BTreeMap/BTreeSet, take time from the \
         BlockContext; or add the use to ALLOWED with the reason it cannot leak):\n{}",
        problems.join("\n")
    );
}

/// The workloads do what they are meant to: the first one succeeds with effects of every kind.
#[test]
fn the_workloads_exercise_what_they_claim() {
    let vm = fresh_vm(Engine::Jit);
    let workloads = workloads();
    let text = run(&vm, &workloads[0], &block());
    assert_eq!(text.matches("status Success").count(), 2, "{text}");
    for needle in [
        "Transfer",
        "StorageChange",
        "Event",
        "ReturnData",
        "a log line",
    ] {
        assert!(text.contains(needle), "no {needle} in\n{text}");
    }
    let by_name = |name: &str| {
        let w = workloads.iter().find(|w| w.name.contains(name)).unwrap();
        run(&vm, w, &block())
    };
    assert!(by_name("infinite loop").contains("ComputeBudgetExceeded"));
    assert!(by_name("deep recursion").contains("CallDepthExceeded"));
    assert!(by_name("log flood").contains("LogLimitExceeded"));
    assert!(
        by_name("counter-rust").contains("count = 3"),
        "{}",
        by_name("counter-rust")
    );
}

/// Copies `from` into `to` (files and directories), leaving out `target/`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&source, &dest);
            }
        } else {
            std::fs::copy(&source, &dest).unwrap();
        }
    }
}

/// A Rust contract built from two checkouts in different directories gives the same bytes,
/// so the same code hash and the same code-load charge. cargo hashes a path dependency's
/// absolute directory into its crate's symbol names (`Cs<hash>_` in v0 mangling); the link
/// step writes the symbol table with demangled names without those hashes.
#[test]
fn rust_builds_do_not_depend_on_the_checkout_directory() {
    let root = support::root();
    let syscalls = tos_vm::syscalls::syscall_names();
    let scratch = tempfile::tempdir().unwrap();
    let checkouts = [
        scratch.path().join("a"),
        scratch.path().join("another").join("checkout"),
    ];
    let mut elfs = Vec::new();
    for checkout in &checkouts {
        std::fs::create_dir_all(checkout).unwrap();
        std::fs::copy(root.join("Cargo.toml"), checkout.join("Cargo.toml")).unwrap();
        // The SDK and what its manifest names (`storage` for its `host` feature).
        for dir in [
            "abi",
            "sdk",
            "sdk-macros",
            "storage",
            "examples/counter-rust",
        ] {
            copy_tree(&root.join(dir), &checkout.join(dir));
        }
        let options = toolchain::BuildOptions {
            syscalls: &syscalls,
            // The fixtures' target directory: `core` and `alloc` are built there already.
            target_dir: Some(root.join("target/contracts/shared")),
            sdk_include: checkout.join("sdk/c"),
            codegen: toolchain::Codegen::default(),
        };
        let elf = toolchain::build_contract(&checkout.join("examples/counter-rust"), &options)
            .unwrap_or_else(|error| panic!("{}: {error}", checkout.display()));
        elfs.push(elf);
    }
    assert!(
        elfs[0] == elfs[1],
        "the two checkouts built different executables ({} and {} bytes)",
        elfs[0].len(),
        elfs[1].len()
    );
    assert_eq!(
        tos_vm::runtime::code_hash(&elfs[0]),
        tos_vm::runtime::code_hash(&elfs[1])
    );
}
