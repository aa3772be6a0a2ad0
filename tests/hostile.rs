//! The hostile-input suite: named cases of everything a stranger's contract, ELF or object
//! can try, each expecting one specific typed error and no state change.
//!
//! Every case runs under the interpreter and the JIT on a `MemoryStorage`, and under the JIT
//! on a `DiskStorage`; the three runs must agree on the whole outcome (status with its typed
//! error, compute, logs, effects) and the store must be exactly as it was before (memory:
//! equality of the whole state; disk: `list_*` before and after). Link-step cases have no
//! store: they check the `LoaderError` of `tos_loader::link`.
//!
//! Contracts: the syscall probe (`tests/contracts/probe`), the hostile contract
//! `tests/hostile/poker` (built from C; it writes storage and transfers before doing the
//! forbidden thing, so "no state change" is never trivially true), objects built from
//! `tests/hostile/link/*.c` and damaged by hand, and hand-assembled bytecode in a V3 ELF.
//!
//! `docs/security.md` lists the classes and the limits; `security_doc_matches_the_code`
//! checks it against the constants.

mod common;
#[path = "hostile/support.rs"]
mod support;

use std::{
    process::Command,
    sync::{Arc, OnceLock},
};

use common::{op, Arg, Scratch, Script, Value};
use support::{block, bpf, call, disk_snapshot, memory_snapshot, outcome_fingerprint, vm};
use tos_vm::{
    loader::{self, LoaderError},
    runtime::{limits, RuntimeError},
    storage::StorageError,
    syscalls::{invoke as codes, SyscallError},
    AbortReason, ChangeSet, DeployError, DiskStorage, Engine, Hash, InvokeOutcome, InvokeStatus,
    MemoryStorage, StorageProvider, VmError, NATIVE_ASSET,
};

const BUDGET: u64 = limits::DEFAULT_COMPUTE_BUDGET;
const RECIPIENT: Hash = Hash([0xAA; 32]);
/// Unmapped: between the heap and the input region.
const UNMAPPED: u64 = 0x3_8000_0000;
const HEAP_END: u64 = bpf::MM_HEAP + limits::HEAP_SIZE as u64;
const STACK_END: u64 =
    bpf::MM_STACK + (limits::STACK_FRAME_SIZE * limits::MAX_BPF_CALL_DEPTH) as u64;

// ---- what a case does and what it saw ------------------------------------------------------

type Contracts = Arc<dyn Fn(&[Hash]) -> Vec<u8> + Send + Sync>;
type Setup = Arc<dyn Fn(&[Hash]) -> ChangeSet + Send + Sync>;
type Target = Arc<dyn Fn(&[Hash]) -> Hash + Send + Sync>;

#[derive(Clone)]
struct InvokeSpec {
    /// Deployed in order; the call goes to the first unless `target` says otherwise.
    contracts: Vec<Vec<u8>>,
    /// Committed after the deploys (balances, storage, raw code).
    setup: Setup,
    target: Option<Target>,
    input: Contracts,
    budget: u64,
    value: u64,
}

#[derive(Clone)]
enum Action {
    /// `Vm::deploy` of these bytes.
    Deploy(Vec<u8>),
    /// `tos_loader::link` of these objects.
    Link(Vec<(String, Vec<u8>)>),
    /// Deploy the contracts, set up, invoke.
    Invoke(InvokeSpec),
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Observed {
    Deploy(Result<Hash, VmError>),
    Link(Result<Vec<u8>, LoaderError>),
    Invoke(Result<InvokeOutcome, VmError>),
}

impl Observed {
    fn loader_error(&self) -> Option<&LoaderError> {
        match self {
            Observed::Deploy(Err(VmError::Deploy {
                error: DeployError::InvalidElf(e) | DeployError::UnknownSyscall(e),
                ..
            }))
            | Observed::Link(Err(e)) => Some(e),
            Observed::Invoke(Err(VmError::Loader(e))) => Some(e),
            Observed::Invoke(Ok(outcome)) => match &outcome.status {
                InvokeStatus::Aborted(AbortReason::Loader(e)) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
    /// The error of a call the VM stopped.
    fn abort(&self) -> Option<&AbortReason> {
        match self {
            Observed::Invoke(Ok(outcome)) => match &outcome.status {
                InvokeStatus::Aborted(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }
    /// `Vm::invoke` itself failed (the call could not start).
    fn invoke_error(&self) -> Option<&VmError> {
        match self {
            Observed::Invoke(Err(e)) => Some(e),
            _ => None,
        }
    }
    fn failed_with(&self) -> Option<u64> {
        match self {
            Observed::Invoke(Ok(outcome)) => match &outcome.status {
                InvokeStatus::Failed { code } => Some(*code),
                _ => None,
            },
            _ => None,
        }
    }
    fn succeeded(&self) -> bool {
        matches!(self, Observed::Invoke(Ok(o)) if o.status.is_success())
    }
    /// The probe's `r=` results, in order.
    fn results(&self) -> Vec<u64> {
        match self {
            Observed::Invoke(Ok(outcome)) => outcome
                .logs
                .iter()
                .filter_map(|l| l.message.strip_prefix("r="))
                .filter_map(|hex| u64::from_str_radix(hex, 16).ok())
                .collect(),
            _ => Vec::new(),
        }
    }
    /// One line for the summary table.
    fn short(&self) -> String {
        let text = match self {
            Observed::Deploy(Ok(_)) => "deployed".to_string(),
            Observed::Deploy(Err(e)) => format!("{e:?}"),
            Observed::Link(Ok(_)) => "linked".to_string(),
            Observed::Link(Err(e)) => format!("{e:?}"),
            Observed::Invoke(Err(e)) => format!("invoke error {e:?}"),
            Observed::Invoke(Ok(o)) => match &o.status {
                InvokeStatus::Aborted(e) => format!("{e:?}"),
                other => format!("{other:?} results {:x?}", self.results()),
            },
        };
        let text = text.replace('\n', " ");
        if text.chars().count() > 150 {
            format!("{}…", text.chars().take(150).collect::<String>())
        } else {
            text
        }
    }
    /// What both engines and both stores must agree on.
    fn fingerprint(&self) -> String {
        match self {
            Observed::Invoke(Ok(outcome)) => outcome_fingerprint(outcome),
            other => format!("{other:?}"),
        }
    }
}

type Check = Box<dyn Fn(&Observed) -> bool + Send + Sync>;

struct Case {
    name: &'static str,
    class: &'static str,
    /// The expected error, as documented.
    expect: &'static str,
    action: Action,
    check: Check,
}

// ---- running a case ------------------------------------------------------------------------

trait Store: StorageProvider {
    fn snapshot(&self) -> String;
}
impl Store for MemoryStorage {
    fn snapshot(&self) -> String {
        memory_snapshot(self)
    }
}
impl Store for DiskStorage {
    fn snapshot(&self) -> String {
        disk_snapshot(self)
    }
}

/// Runs `action` on `store`; fails if the store changed.
fn run_on(action: &Action, engine: Engine, store: &mut dyn StoreDyn) -> Result<Observed, String> {
    match action {
        Action::Link(objects) => {
            let files: Vec<loader::ObjectFile<'_>> = objects
                .iter()
                .map(|(name, bytes)| loader::ObjectFile { name, bytes })
                .collect();
            let syscalls = tos_vm::syscalls::syscall_names();
            Ok(Observed::Link(loader::link(
                &files,
                &loader::LinkOptions {
                    entry_symbol: "entrypoint",
                    syscalls: &syscalls,
                },
            )))
        }
        Action::Deploy(elf) => {
            let vm = vm(engine, BUDGET);
            let before = store.snap();
            let result = vm
                .deploy(
                    elf,
                    tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                    store.provider(),
                )
                .map(|deployed| deployed.contract);
            if result.is_err() && store.snap() != before {
                return Err("a refused deploy changed the store".to_string());
            }
            Ok(Observed::Deploy(result))
        }
        Action::Invoke(spec) => {
            let vm = vm(engine, spec.budget);
            let mut hashes = Vec::new();
            for elf in &spec.contracts {
                hashes.push(
                    vm.deploy(
                        elf,
                        tos_vm::deploy_address(&tos_vm::Hash::default(), &tos_vm::code_hash(elf)),
                        store.provider(),
                    )
                    .map(|deployed| deployed.contract)
                    .map_err(|e| format!("setup deploy failed: {e}"))?,
                );
            }
            let setup = (spec.setup)(&hashes);
            if !setup.is_empty() {
                store
                    .provider()
                    .commit(&setup)
                    .map_err(|e| format!("setup commit failed: {e}"))?;
            }
            let target = match &spec.target {
                Some(target) => target(&hashes),
                None => hashes[0],
            };
            let input = (spec.input)(&hashes);
            let before = store.snap();
            let result = vm.invoke(
                &call(target, &input, spec.value),
                &block(),
                store.provider(),
            );
            let after = store.snap();
            if after != before {
                return Err(format!(
                    "the store changed:\nbefore:\n{before}\nafter:\n{after}\noutcome: {result:?}"
                ));
            }
            if let Ok(outcome) = &result {
                if !outcome.effects.is_empty() || !outcome.changes.is_empty() {
                    return Err(format!("the call reports effects: {outcome:?}"));
                }
            }
            Ok(Observed::Invoke(result))
        }
    }
}

/// Object-safe access to both stores.
trait StoreDyn {
    fn provider(&mut self) -> &mut dyn StorageProvider;
    fn snap(&self) -> String;
}
impl<S: Store> StoreDyn for S {
    fn provider(&mut self) -> &mut dyn StorageProvider {
        self
    }
    fn snap(&self) -> String {
        self.snapshot()
    }
}

/// Runs a case everywhere; returns what it saw or why it failed.
fn run_case(case: &Case) -> Result<Observed, String> {
    if let Action::Link(_) = case.action {
        let observed = run_on(
            &case.action,
            Engine::Interpreter,
            &mut MemoryStorage::default(),
        )?;
        return if (case.check)(&observed) {
            Ok(observed)
        } else {
            Err(format!(
                "expected {}, got {}",
                case.expect,
                observed.short()
            ))
        };
    }
    let interpreter = run_on(
        &case.action,
        Engine::Interpreter,
        &mut MemoryStorage::default(),
    )?;
    let jit = run_on(&case.action, Engine::Jit, &mut MemoryStorage::default())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut disk = DiskStorage::open(dir.path()).map_err(|e| e.to_string())?;
    let on_disk = run_on(&case.action, Engine::Jit, &mut disk)?;
    if interpreter.fingerprint() != jit.fingerprint() {
        return Err(format!(
            "engines disagree:\ninterpreter {}\njit {}",
            interpreter.fingerprint(),
            jit.fingerprint()
        ));
    }
    if jit.fingerprint() != on_disk.fingerprint() {
        return Err(format!(
            "memory and disk stores disagree:\nmemory {}\ndisk {}",
            jit.fingerprint(),
            on_disk.fingerprint()
        ));
    }
    if (case.check)(&interpreter) {
        Ok(interpreter)
    } else {
        Err(format!(
            "expected {}, got {}",
            case.expect,
            interpreter.short()
        ))
    }
}

// ---- contracts and inputs ------------------------------------------------------------------

fn probe() -> &'static Vec<u8> {
    static ELF: OnceLock<Vec<u8>> = OnceLock::new();
    ELF.get_or_init(support::probe_elf)
}

fn poker() -> &'static Vec<u8> {
    static ELF: OnceLock<Vec<u8>> = OnceLock::new();
    ELF.get_or_init(|| support::hostile_elf("poker"))
}

fn variants(count: u32) -> Vec<Vec<u8>> {
    static ELFS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ELFS.get_or_init(|| (1..=9).map(support::probe_variant_elf).collect())[..count as usize]
        .to_vec()
}

/// Gives every deployed contract 1 000 units and the sender 1 000.
fn funded(hashes: &[Hash]) -> ChangeSet {
    let mut changes = ChangeSet::new();
    for hash in hashes {
        changes.set_balance(*hash, NATIVE_ASSET, 1_000);
    }
    changes.set_balance(support::SENDER, NATIVE_ASSET, 1_000);
    changes
}

fn setup(f: impl Fn(&[Hash]) -> ChangeSet + Send + Sync + 'static) -> Setup {
    Arc::new(f)
}

/// The probe's prelude: a storage write and a transfer that a failing call must not keep.
fn prelude() -> Script {
    Script::new()
        .with_data(b"key", |s, key| {
            s.with_data(b"value", |s, value| {
                s.call(op::STORAGE_WRITE, &[key, Value(3), value, Value(5)])
            })
        })
        .with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(1)]))
}

/// Invokes the probe with `prelude() + hostile(...)`, then `return status`.
fn probe_action(
    budget: u64,
    status: u64,
    hostile: impl Fn(Script) -> Script + Send + Sync + 'static,
) -> Action {
    Action::Invoke(InvokeSpec {
        contracts: vec![probe().clone()],
        setup: setup(funded),
        target: None,
        input: Arc::new(move |_| hostile(prelude()).build(status)),
        budget,
        value: 0,
    })
}

/// The probe, prelude, one hostile syscall, return 0.
fn probe_call(op: u8, args: &'static [Arg]) -> Action {
    probe_action(BUDGET, 0, move |s| s.call(op, args))
}

/// The probe with some data in its input, then one hostile syscall built from it.
fn probe_with(data: &'static [u8], f: fn(Script, Arg) -> Script) -> Action {
    probe_action(BUDGET, 0, move |s| s.with_data(data, f))
}

/// The poker contract in `mode` with arguments `a`, `b`.
fn poker_action(mode: u8, a: u64, b: u64) -> Action {
    let mut input = vec![mode];
    input.extend_from_slice(&a.to_le_bytes());
    input.extend_from_slice(&b.to_le_bytes());
    Action::Invoke(InvokeSpec {
        contracts: vec![poker().clone()],
        setup: setup(funded),
        target: None,
        input: Arc::new(move |_| input.clone()),
        budget: BUDGET,
        value: 0,
    })
}

/// Hand-assembled bytecode, deployed and invoked with an empty input.
fn raw_action(slots: &[[u8; 8]]) -> Action {
    Action::Invoke(InvokeSpec {
        contracts: vec![bpf::elf_text(slots)],
        setup: setup(|_| ChangeSet::new()),
        target: None,
        input: Arc::new(|_| Vec::new()),
        budget: BUDGET,
        value: 0,
    })
}

/// A caller probe whose script invokes `callee` (given by index) with `callee_script`.
fn invoking(script: Script, callee: &Hash, callee_script: Vec<u8>, value: u64) -> Script {
    let len = callee_script.len() as u64;
    script.with_data(&callee.0, |s, hash| {
        s.with_data(&callee_script, |s, input| {
            s.call(op::INVOKE, &[hash, input, Value(len), Value(value)])
        })
    })
}

// ---- hand-made executables -----------------------------------------------------------------

/// `mov r0, 0; exit` with 16 bytes of read-only data: two program headers.
fn tiny() -> Vec<u8> {
    bpf::elf(
        &bpf::code(&[bpf::mov64_imm(0, 0), bpf::exit()]),
        &[0u8; 16],
        0,
    )
}

fn patched(mut elf: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    elf[at..at + bytes.len()].copy_from_slice(bytes);
    elf
}

/// `insn; mov r0, 0; exit`.
fn with_insn(slot: [u8; 8]) -> Vec<u8> {
    bpf::elf_text(&[slot, bpf::mov64_imm(0, 0), bpf::exit()])
}

fn unsupported(mnemonic: &'static str) -> Check {
    Box::new(
        move |o| matches!(o.loader_error(), Some(LoaderError::UnsupportedInstruction { mnemonic: m, .. }) if m.starts_with(mnemonic)),
    )
}

fn verifier(message: &'static str) -> Check {
    Box::new(
        move |o| matches!(o.loader_error(), Some(LoaderError::Verifier { message: m, .. }) if m.contains(message)),
    )
}

/// `LoaderError::InvalidExecutable` whose message names the broken rule.
fn invalid(what: &'static str) -> Check {
    Box::new(
        move |o| matches!(o.loader_error(), Some(LoaderError::InvalidExecutable { what: w }) if w.contains(what)),
    )
}

// ---- objects -------------------------------------------------------------------------------

fn clang() -> String {
    std::env::var("TOS_CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

/// `tests/hostile/link/<file>` compiled for BPF with `-mcpu=<cpu>`.
fn object(file: &str, cpu: &str) -> Vec<u8> {
    let root = support::root();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("out.o");
    let output = Command::new(clang())
        .args([
            "-target",
            "bpf",
            &format!("-mcpu={cpu}"),
            "-O2",
            "-ffreestanding",
        ])
        .args(["-fno-builtin", "-mllvm", "-bpf-stack-size=4096", "-I"])
        .arg(root.join("sdk/c"))
        .arg("-c")
        .arg(root.join("tests/hostile/link").join(file))
        .arg("-o")
        .arg(&path)
        .output()
        .expect("clang-19 runs (scripts/setup installs it)");
    assert!(
        output.status.success(),
        "compiling {file}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&path).unwrap()
}

fn link_action(file: &str, bytes: Vec<u8>) -> Action {
    Action::Link(vec![(file.to_string(), bytes)])
}

/// A section header of a relocatable object.
#[derive(Debug, Clone, Copy)]
struct Shdr {
    /// File offset of the header itself.
    at: usize,
    sh_type: u32,
    offset: u64,
    size: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn section_headers(obj: &[u8]) -> Vec<Shdr> {
    let shoff = u64_at(obj, 0x28) as usize;
    let count = usize::from(u16_at(obj, 0x3c));
    (0..count)
        .map(|i| {
            let at = shoff + 64 * i;
            Shdr {
                at,
                sh_type: u32_at(obj, at + 4),
                offset: u64_at(obj, at + 24),
                size: u64_at(obj, at + 32),
            }
        })
        .collect()
}

/// The `relocs.c` object and its first `.text` section and `.rel.text` section.
fn relocs_object() -> (Vec<u8>, Shdr, Shdr) {
    let obj = object("relocs.c", "v2");
    let headers = section_headers(&obj);
    let rel = *headers
        .iter()
        .find(|s| s.sh_type == 9)
        .expect("a SHT_REL section");
    let text = *headers
        .iter()
        .find(|s| s.sh_type == 1 && s.size > 0 && obj[s.offset as usize] != 0)
        .expect("a code section");
    (obj, text, rel)
}

fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

// ---- the cases -----------------------------------------------------------------------------

fn case(
    name: &'static str,
    class: &'static str,
    expect: &'static str,
    action: Action,
    check: impl Fn(&Observed) -> bool + Send + Sync + 'static,
) -> Case {
    Case {
        name,
        class,
        expect,
        action,
        check: Box::new(check),
    }
}

fn boxed(check: Check) -> impl Fn(&Observed) -> bool + Send + Sync + 'static {
    move |o| check(o)
}

const ELF: &str = "ELF structure";
const INSN: &str = "instructions SBPF would misread";
const LINK: &str = "objects at the link step";
const EXEC: &str = "execution faults";
const ARGS: &str = "syscall arguments";
const LIMIT: &str = "resource limits";
const VALUE: &str = "native value";
const CALLS: &str = "cross-contract calls";
const STORE: &str = "hostile store content";

fn elf_cases() -> Vec<Case> {
    let probe = probe().clone();
    let too_many: Vec<[u8; 8]> =
        std::iter::repeat_n(bpf::mov64_imm(0, 0), loader::MAX_INSTRUCTIONS)
            .chain([bpf::exit()])
            .collect();
    let mut oversized = probe.clone();
    oversized.resize(loader::MAX_ELF_SIZE + 1, 0);
    // tiny(): phdr 0 (rodata) at 64, phdr 1 (text) at 120; rodata at 176, text at 192.
    vec![
        case(
            "elf_empty_file",
            ELF,
            "Loader(InvalidExecutable: missing \\x7fELF magic)",
            Action::Deploy(Vec::new()),
            boxed(invalid("missing \\x7fELF magic")),
        ),
        case(
            "elf_not_an_elf",
            ELF,
            "Loader(InvalidExecutable: missing \\x7fELF magic)",
            Action::Deploy(b"MZ\x90\x00 this is a PE file, not an ELF".to_vec()),
            boxed(invalid("missing \\x7fELF magic")),
        ),
        case(
            "elf_truncated_in_file_header",
            ELF,
            "Loader(InvalidExecutable: shorter than an ELF64 file header)",
            Action::Deploy(probe[..40].to_vec()),
            boxed(invalid("shorter than an ELF64 file header")),
        ),
        case(
            "elf_truncated_in_program_headers",
            ELF,
            "Loader(InvalidExecutable: program header table extends past the end of the file)",
            Action::Deploy(probe[..100].to_vec()),
            boxed(invalid(
                "program header table extends past the end of the file",
            )),
        ),
        case(
            "elf_truncated_in_text",
            ELF,
            "Loader(InvalidExecutable: extends past the end of the file)",
            Action::Deploy({
                let t = tiny();
                t[..t.len() - 4].to_vec()
            }),
            boxed(invalid("extends past the end of the file")),
        ),
        case(
            "elf_oversized",
            ELF,
            "Deploy(CodeTooLarge { len: MAX_ELF_SIZE + 1 }), charged the deploy base cost",
            Action::Deploy(oversized),
            |o| matches!(o, Observed::Deploy(Err(VmError::Deploy { error: DeployError::CodeTooLarge { len, limit }, deploy_units })) if *len == loader::MAX_ELF_SIZE + 1 && *limit == loader::MAX_ELF_SIZE && *deploy_units == tos_vm::DEPLOY_BASE_COST),
        ),
        case(
            "elf_too_many_instructions",
            ELF,
            "Loader(TooManyInstructions { count: 65537 })",
            Action::Deploy(bpf::elf_text(&too_many)),
            |o| matches!(o.loader_error(), Some(LoaderError::TooManyInstructions { count, max }) if *count == loader::MAX_INSTRUCTIONS + 1 && *max == loader::MAX_INSTRUCTIONS),
        ),
        case(
            "elf_no_instructions",
            ELF,
            "Loader(InvalidExecutable: starts at or after the end of the file)",
            Action::Deploy(bpf::elf(&[], &[], 0)),
            boxed(invalid("starts at or after the end of the file")),
        ),
        case(
            "elf_wrong_machine",
            ELF,
            "Loader(InvalidExecutable: machine 62 is not BPF)",
            Action::Deploy(patched(tiny(), 18, &62u16.to_le_bytes())),
            boxed(invalid("machine 62 is not BPF")),
        ),
        case(
            "elf_32_bit_class",
            ELF,
            "Loader(InvalidExecutable: ELF class 1 is not ELFCLASS64)",
            Action::Deploy(patched(tiny(), 4, &[1])),
            boxed(invalid("ELF class 1 is not ELFCLASS64")),
        ),
        case(
            "elf_big_endian",
            ELF,
            "Loader(InvalidExecutable: is not little-endian)",
            Action::Deploy(patched(tiny(), 5, &[2])),
            boxed(invalid("is not little-endian")),
        ),
        case(
            "elf_sbpf_v0",
            ELF,
            "Loader(WrongSbpfVersion { e_flags: 0 })",
            Action::Deploy(patched(tiny(), 48, &0u32.to_le_bytes())),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::WrongSbpfVersion { e_flags: 0 })
                )
            },
        ),
        case(
            "elf_sbpf_v4",
            ELF,
            "Loader(WrongSbpfVersion { e_flags: 4 })",
            Action::Deploy(patched(tiny(), 48, &4u32.to_le_bytes())),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::WrongSbpfVersion { e_flags: 4 })
                )
            },
        ),
        case(
            "elf_relocatable_type",
            ELF,
            "Loader(InvalidExecutable: ELF type 1 is not ET_EXEC or ET_DYN)",
            Action::Deploy(patched(tiny(), 16, &1u16.to_le_bytes())),
            boxed(invalid("ELF type 1 is not ET_EXEC or ET_DYN")),
        ),
        case(
            "elf_program_headers_past_end",
            ELF,
            "Loader(InvalidExecutable: program headers must directly follow)",
            Action::Deploy(patched(tiny(), 32, &(1u64 << 40).to_le_bytes())),
            boxed(invalid("program headers must directly follow")),
        ),
        case(
            "elf_segment_offset_past_end",
            ELF,
            "Loader(InvalidExecutable: starts at file offset 0x1000)",
            Action::Deploy(patched(tiny(), 120 + 8, &4096u64.to_le_bytes())),
            boxed(invalid("starts at file offset 0x1000")),
        ),
        case(
            "elf_segment_size_past_end",
            ELF,
            "Loader(InvalidExecutable: does not fit a memory region)",
            Action::Deploy({
                let e = patched(tiny(), 120 + 32, &(1u64 << 40).to_le_bytes());
                patched(e, 120 + 40, &(1u64 << 40).to_le_bytes())
            }),
            boxed(invalid("does not fit a memory region")),
        ),
        case(
            "elf_segment_size_wraps",
            ELF,
            "Loader(InvalidExecutable: is not a multiple of 8)",
            Action::Deploy({
                let e = patched(tiny(), 120 + 32, &u64::MAX.to_le_bytes());
                patched(e, 120 + 40, &u64::MAX.to_le_bytes())
            }),
            boxed(invalid("is not a multiple of 8")),
        ),
        case(
            "elf_segments_overlap",
            ELF,
            "Loader(InvalidExecutable: segments must be contig)",
            Action::Deploy({
                let e = patched(tiny(), 64 + 32, &24u64.to_le_bytes());
                patched(e, 64 + 40, &24u64.to_le_bytes())
            }),
            boxed(invalid("segments must be contig")),
        ),
        case(
            "elf_text_at_wrong_address",
            ELF,
            "Loader(InvalidExecutable: has vaddr 0x200000000)",
            Action::Deploy({
                let e = patched(tiny(), 120 + 16, &0x2_0000_0000u64.to_le_bytes());
                patched(e, 120 + 24, &0x2_0000_0000u64.to_le_bytes())
            }),
            boxed(invalid("has vaddr 0x200000000")),
        ),
        case(
            "elf_writable_text",
            ELF,
            "Loader(InvalidExecutable: has flags 0x3, expected 0x1)",
            Action::Deploy(patched(tiny(), 120 + 4, &3u32.to_le_bytes())),
            boxed(invalid("has flags 0x3, expected 0x1")),
        ),
        case(
            "elf_writable_rodata",
            ELF,
            "Loader(InvalidExecutable: has flags 0x6, expected 0x4)",
            Action::Deploy(patched(tiny(), 64 + 4, &6u32.to_le_bytes())),
            boxed(invalid("has flags 0x6, expected 0x4")),
        ),
        case(
            "elf_three_segments",
            ELF,
            "Loader(InvalidExecutable: 3 program headers)",
            Action::Deploy(patched(tiny(), 56, &3u16.to_le_bytes())),
            boxed(invalid("3 program headers")),
        ),
        case(
            "elf_entry_past_text",
            ELF,
            "Loader(InvalidExecutable: entry point 0x100000010 is not an instruction)",
            Action::Deploy(patched(tiny(), 24, &(bpf::MM_CODE + 16).to_le_bytes())),
            boxed(invalid("entry point 0x100000010 is not an instruction")),
        ),
        case(
            "elf_entry_misaligned",
            ELF,
            "Loader(InvalidExecutable: entry point 0x100000004 is not an instruction)",
            Action::Deploy(patched(tiny(), 24, &(bpf::MM_CODE + 4).to_le_bytes())),
            boxed(invalid("entry point 0x100000004 is not an instruction")),
        ),
        case(
            "elf_entry_in_rodata",
            ELF,
            "Loader(InvalidExecutable: entry point 0x8 is not an instruction)",
            Action::Deploy(patched(tiny(), 24, &8u64.to_le_bytes())),
            boxed(invalid("entry point 0x8 is not an instruction")),
        ),
    ]
}

fn insn_cases() -> Vec<Case> {
    let lddw = bpf::lddw(1, 0x1234_5678_9abc);
    vec![
        case(
            "insn_v4_sdiv",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"sdiv\" })",
            Action::Deploy(with_insn(bpf::insn(0x3f, 0, 1, 1, 0))),
            boxed(unsupported("sdiv")),
        ),
        case(
            "insn_v4_smod",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"smod\" })",
            Action::Deploy(with_insn(bpf::insn(0x9f, 0, 1, 1, 0))),
            boxed(unsupported("smod")),
        ),
        case(
            "insn_v4_movsx",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"movsx\" })",
            Action::Deploy(with_insn(bpf::insn(0xbf, 0, 1, 8, 0))),
            boxed(unsupported("movsx")),
        ),
        case(
            "insn_v4_ldsx",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"ldxs8\" })",
            Action::Deploy(with_insn(bpf::insn(0x91, 0, 1, 0, 0))),
            boxed(unsupported("ldxs8")),
        ),
        case(
            "insn_v4_bswap",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"bswap\" })",
            Action::Deploy(with_insn(bpf::insn(0xd7, 0, 0, 0, 64))),
            boxed(unsupported("bswap")),
        ),
        case(
            "insn_v4_gotol",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"gotol\" })",
            Action::Deploy(with_insn(bpf::insn(0x06, 0, 0, 0, 0))),
            boxed(unsupported("gotol")),
        ),
        case(
            "insn_alu32_add_sign_extends",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"add32\" })",
            Action::Deploy(with_insn(bpf::insn(0x04, 0, 0, 0, 1))),
            boxed(unsupported("add32")),
        ),
        case(
            "insn_alu32_sub_then_mov32_of_another_register",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"sub32\" })",
            // sub32 r0, r1; mov32 r1, r1 - the zero-extension misses r0.
            Action::Deploy(bpf::elf_text(&[
                bpf::insn(0x1c, 0, 1, 0, 0),
                bpf::insn(0xbc, 1, 1, 0, 0),
                bpf::exit(),
            ])),
            boxed(unsupported("sub32")),
        ),
        case(
            "insn_alu32_mul_zero_extended_into_a_copy",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"mul32\" })",
            // mul32 r0, 3; mov32 r1, r0 - r1 gets eBPF's value, r0 keeps SBPF's.
            Action::Deploy(bpf::elf_text(&[
                bpf::insn(0x24, 0, 0, 0, 3),
                bpf::insn(0xbc, 1, 0, 0, 0),
                bpf::exit(),
            ])),
            boxed(unsupported("mul32")),
        ),
        case(
            "insn_alu32_add_in_the_last_slot",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"add32\" })",
            // The entry ends in an exit, the add32 after it has no slot after it.
            Action::Deploy(bpf::elf_text(&[
                bpf::mov64_imm(0, 0),
                bpf::exit(),
                bpf::insn(0x04, 0, 0, 0, 1),
            ])),
            boxed(unsupported("add32")),
        ),
        case(
            "insn_atomic_add",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"atomic_add64\" })",
            Action::Deploy(with_insn(bpf::insn(0xdb, 10, 1, -8, 0))),
            boxed(unsupported("atomic_add64")),
        ),
        case(
            "insn_kfunc_call",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"call (kfunc)\" })",
            Action::Deploy(with_insn(bpf::insn(0x85, 0, 2, 0, 1))),
            boxed(unsupported("call (kfunc)")),
        ),
        case(
            "insn_pseudo_lddw",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"lddw (src=1)\" })",
            Action::Deploy(bpf::elf_text(&[
                bpf::insn(0x18, 1, 1, 0, 3),
                lddw[1],
                bpf::exit(),
            ])),
            boxed(unsupported("lddw (src=1)")),
        ),
        case(
            "insn_packet_load",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"ld_abs32\" })",
            Action::Deploy(with_insn(bpf::insn(0x20, 0, 0, 0, 0))),
            boxed(unsupported("ld_abs")),
        ),
        case(
            "insn_unknown_opcode",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"opcode 0xff\" })",
            Action::Deploy(with_insn(bpf::insn(0xff, 0, 0, 0, 0))),
            boxed(unsupported("opcode 0xff")),
        ),
        case(
            "insn_lddw_cut_off",
            INSN,
            "Loader(UnsupportedInstruction { mnemonic: \"lddw\" })",
            Action::Deploy(bpf::elf_text(&[bpf::mov64_imm(0, 0), bpf::exit(), lddw[0]])),
            boxed(unsupported("lddw")),
        ),
        case(
            "insn_write_r10",
            INSN,
            "Loader(Verifier: cannot write r10)",
            Action::Deploy(with_insn(bpf::mov64_imm(10, 0))),
            boxed(verifier("cannot write")),
        ),
        case(
            "insn_register_11",
            INSN,
            "Loader(Verifier: invalid register)",
            Action::Deploy(with_insn(bpf::mov64_imm(11, 0))),
            boxed(verifier("register")),
        ),
        case(
            "insn_divide_by_zero_immediate",
            INSN,
            "Loader(Verifier: division by 0)",
            Action::Deploy(with_insn(bpf::insn(0x37, 0, 0, 0, 0))),
            boxed(verifier("division by 0")),
        ),
        case(
            "insn_shift_by_64",
            INSN,
            "Loader(Verifier: shift with overflow)",
            Action::Deploy(with_insn(bpf::insn(0x67, 0, 0, 0, 64))),
            boxed(verifier("overflow")),
        ),
        case(
            "insn_jump_out_of_code",
            INSN,
            "Loader(Verifier: jump out of code)",
            Action::Deploy(with_insn(bpf::ja(100))),
            boxed(verifier("jump out of code")),
        ),
        case(
            "insn_jump_into_lddw",
            INSN,
            "Loader(Verifier: jump to the middle of lddw)",
            Action::Deploy(bpf::elf_text(&[
                bpf::ja(1),
                lddw[0],
                lddw[1],
                bpf::mov64_imm(0, 0),
                bpf::exit(),
            ])),
            boxed(verifier("middle of LD_DW")),
        ),
        case(
            "insn_unknown_syscall",
            INSN,
            "Loader(UnknownSyscallHash)",
            Action::Deploy(with_insn(bpf::syscall("sol_log_"))),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::UnknownSyscallHash { .. })
                )
            },
        ),
        case(
            "insn_call_into_lddw",
            INSN,
            "Loader(InvalidCallTarget)",
            Action::Deploy(bpf::elf_text(&[
                bpf::call_rel(2),
                bpf::mov64_imm(0, 0),
                lddw[0],
                lddw[1],
                bpf::exit(),
            ])),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::InvalidCallTarget { target: 3, .. })
                )
            },
        ),
        case(
            "insn_call_out_of_code",
            INSN,
            "Loader(InvalidCallTarget)",
            Action::Deploy(with_insn(bpf::call_rel(1000))),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::InvalidCallTarget { .. })
                )
            },
        ),
        case(
            "insn_callx_r10",
            INSN,
            "Loader(Verifier: invalid register)",
            Action::Deploy(with_insn(bpf::callx(10))),
            boxed(verifier("register")),
        ),
    ]
}

fn link_cases() -> Vec<Case> {
    let (relocs, text, rel) = relocs_object();
    let first_rel = rel.offset as usize;
    let linked = support::probe_elf();
    vec![
        case(
            "link_writable_global",
            LINK,
            "LoaderError::WritableData",
            link_action("bss.c", object("bss.c", "v2")),
            |o| matches!(o.loader_error(), Some(LoaderError::WritableData { .. })),
        ),
        case(
            "link_unknown_syscall",
            LINK,
            "LoaderError::UnknownSyscall { symbol: \"sol_log_\" }",
            link_action("unknown_syscall.c", object("unknown_syscall.c", "v2")),
            |o| matches!(o.loader_error(), Some(LoaderError::UnknownSyscall { symbol, .. }) if symbol == "sol_log_"),
        ),
        case(
            "link_v4_signed_division",
            LINK,
            "LoaderError::UnsupportedInstruction { mnemonic: \"sdiv\" }",
            link_action("signed_ops.c", object("signed_ops.c", "v4")),
            boxed(unsupported("sdiv")),
        ),
        case(
            "link_v4_sign_extending_load",
            LINK,
            "LoaderError::UnsupportedInstruction { mnemonic: \"ldxs8\" }",
            link_action("sign_extend.c", object("sign_extend.c", "v4")),
            boxed(unsupported("ldxs8")),
        ),
        case(
            "link_no_entrypoint",
            LINK,
            "LoaderError::MissingEntry",
            link_action("no_entry.c", object("no_entry.c", "v2")),
            |o| matches!(o.loader_error(), Some(LoaderError::MissingEntry { .. })),
        ),
        case(
            "link_executable_as_object",
            LINK,
            "LoaderError::NotRelocatable",
            link_action("probe.so", linked),
            |o| matches!(o.loader_error(), Some(LoaderError::NotRelocatable { .. })),
        ),
        case(
            "link_truncated_object",
            LINK,
            "LoaderError::Malformed",
            link_action("relocs.o", relocs[..relocs.len() / 2].to_vec()),
            |o| matches!(o.loader_error(), Some(LoaderError::Malformed { .. })),
        ),
        case(
            "link_section_offset_past_end",
            LINK,
            "LoaderError::Malformed",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                put_u64(&mut obj, text.at + 24, relocs.len() as u64 + 64);
                obj
            }),
            |o| matches!(o.loader_error(), Some(LoaderError::Malformed { .. })),
        ),
        case(
            "link_section_size_wraps",
            LINK,
            "LoaderError::Malformed",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                put_u64(&mut obj, text.at + 32, u64::MAX - 7);
                obj
            }),
            |o| matches!(o.loader_error(), Some(LoaderError::Malformed { .. })),
        ),
        case(
            "link_code_not_whole_instructions",
            LINK,
            "LoaderError::Malformed",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                put_u64(&mut obj, text.at + 32, text.size - 4);
                obj
            }),
            |o| matches!(o.loader_error(), Some(LoaderError::Malformed { .. })),
        ),
        case(
            "link_relocation_symbol_out_of_range",
            LINK,
            "LoaderError::Malformed",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                let info = u64_at(&obj, first_rel + 8);
                put_u64(
                    &mut obj,
                    first_rel + 8,
                    (999u64 << 32) | (info & 0xffff_ffff),
                );
                obj
            }),
            |o| matches!(o.loader_error(), Some(LoaderError::Malformed { .. })),
        ),
        case(
            "link_relocation_offset_out_of_range",
            LINK,
            "LoaderError::RelocationOutOfRange",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                put_u64(&mut obj, first_rel, text.size + 64);
                obj
            }),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::RelocationOutOfRange { .. })
                )
            },
        ),
        case(
            "link_relocation_offset_wraps",
            LINK,
            "LoaderError::RelocationOutOfRange",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                put_u64(&mut obj, first_rel, u64::MAX - 3);
                obj
            }),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::RelocationOutOfRange { .. })
                )
            },
        ),
        case(
            "link_relocation_unknown_type",
            LINK,
            "LoaderError::UnsupportedRelocation",
            link_action("relocs.o", {
                let mut obj = relocs.clone();
                let info = u64_at(&obj, first_rel + 8);
                put_u64(&mut obj, first_rel + 8, (info & !0xffff_ffff) | 0x77);
                obj
            }),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::UnsupportedRelocation { r_type: 0x77, .. })
                )
            },
        ),
        case(
            "link_relocation_on_wrong_instruction",
            LINK,
            "LoaderError::RelocationAtWrongInstruction",
            link_action("relocs.o", {
                // The lddw relocation moved onto the `mov r6, r2` at offset 0.
                let mut obj = relocs.clone();
                put_u64(&mut obj, first_rel, 0);
                obj
            }),
            |o| {
                matches!(
                    o.loader_error(),
                    Some(LoaderError::RelocationAtWrongInstruction { .. })
                )
            },
        ),
    ]
}

fn exec_cases() -> Vec<Case> {
    let access_violation = |o: &Observed| {
        matches!(
            o.abort(),
            Some(AbortReason::Runtime(RuntimeError::AccessViolation(_)))
        )
    };
    vec![
        case(
            "exec_deep_recursion",
            EXEC,
            "Runtime(CallDepthExceeded { max: 64 })",
            poker_action(1, 100_000, 0),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(RuntimeError::CallDepthExceeded {
                        max: 64
                    }))
                )
            },
        ),
        case(
            "exec_infinite_loop",
            EXEC,
            "Runtime(ComputeBudgetExceeded { budget })",
            poker_action(6, 0, 0),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(RuntimeError::ComputeBudgetExceeded {
                        budget: BUDGET
                    }))
                )
            },
        ),
        case(
            "exec_stack_buffer_overrun",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(7, 100_000, 0),
            access_violation,
        ),
        case(
            "exec_store_below_the_stack",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(2, bpf::MM_STACK - 8, 1),
            access_violation,
        ),
        case(
            "exec_store_past_the_stack",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(2, STACK_END, 1),
            access_violation,
        ),
        case(
            "exec_heap_exhaustion",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(8, 40_000, 0),
            access_violation,
        ),
        case(
            "exec_unaligned_store_across_heap_end",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(2, HEAP_END - 4, 1),
            access_violation,
        ),
        case(
            "exec_null_dereference",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(3, 0, 0),
            access_violation,
        ),
        case(
            "exec_store_into_rodata",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(2, 8, 1),
            access_violation,
        ),
        case(
            "exec_store_into_input",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(2, bpf::MM_INPUT, 1),
            access_violation,
        ),
        case(
            "exec_store_into_code",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(2, bpf::MM_CODE, 1),
            access_violation,
        ),
        case(
            "exec_load_from_code",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(3, bpf::MM_CODE, 0),
            access_violation,
        ),
        case(
            "exec_load_from_unmapped_gap",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(3, UNMAPPED, 0),
            access_violation,
        ),
        case(
            "exec_load_wraps_address_space",
            EXEC,
            "Runtime(AccessViolation)",
            poker_action(3, u64::MAX - 3, 0),
            access_violation,
        ),
        case(
            "exec_call_into_data",
            EXEC,
            "Runtime(Fault: call outside the text segment)",
            poker_action(4, 8, 0),
            |o| fault(o, "outside of the text segment"),
        ),
        case(
            "exec_call_into_heap",
            EXEC,
            "Runtime(Fault: call outside the text segment)",
            poker_action(4, bpf::MM_HEAP, 0),
            |o| fault(o, "outside of the text segment"),
        ),
        case(
            "exec_callx_misaligned_into_code",
            EXEC,
            "rounded down to its instruction in both engines: Failed { code: 42 }",
            raw_action(&[
                bpf::lddw(1, bpf::MM_CODE + 4 * 8 + 3)[0],
                bpf::lddw(1, bpf::MM_CODE + 4 * 8 + 3)[1],
                bpf::callx(1),
                bpf::exit(),
                bpf::mov64_imm(0, 42),
                bpf::exit(),
            ]),
            |o| o.failed_with() == Some(42),
        ),
        case(
            "exec_unaligned_load_inside_the_heap_is_legal",
            EXEC,
            "no fault (SBPF is byte-addressed): Failed { code: 5 }",
            raw_action(&[
                bpf::lddw(1, bpf::MM_HEAP + 3)[0],
                bpf::lddw(1, bpf::MM_HEAP + 3)[1],
                bpf::insn(0x79, 0, 1, 0, 0),
                bpf::insn(0x07, 0, 0, 0, 5),
                bpf::exit(),
            ]),
            |o| o.failed_with() == Some(5),
        ),
        case(
            "exec_callx_into_second_half_of_lddw",
            EXEC,
            "Runtime(Fault(\"unsupported BPF instruction\"))",
            raw_action(&[
                bpf::lddw(1, bpf::MM_CODE + 5 * 8)[0],
                bpf::lddw(1, bpf::MM_CODE + 5 * 8)[1],
                bpf::callx(1),
                bpf::exit(),
                bpf::lddw(2, 0x95)[0],
                bpf::lddw(2, 0x95)[1],
                bpf::exit(),
            ]),
            |o| fault(o, "unsupported BPF instruction"),
        ),
        case(
            "exec_callx_past_the_last_instruction",
            EXEC,
            "Runtime(Fault: call outside the text segment)",
            raw_action(&[
                bpf::lddw(1, bpf::MM_CODE + 5 * 8)[0],
                bpf::lddw(1, bpf::MM_CODE + 5 * 8)[1],
                bpf::callx(1),
                bpf::exit(),
                bpf::exit(),
            ]),
            |o| fault(o, "outside of the text segment"),
        ),
        case(
            "exec_divide_by_zero",
            EXEC,
            "Runtime(DivideByZero)",
            poker_action(5, 7, 0),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(RuntimeError::DivideByZero))
                )
            },
        ),
        case(
            "exec_storage_write_flood",
            EXEC,
            "Runtime(ComputeBudgetExceeded)",
            poker_action(10, 0, 0),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(
                        RuntimeError::ComputeBudgetExceeded { .. }
                    ))
                )
            },
        ),
        case(
            "exec_log_flood",
            EXEC,
            "Syscall(LogEntriesExceeded { limit: 1024 })",
            poker_action(9, 0, 0),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::LogEntriesExceeded {
                        limit: limits::MAX_LOG_ENTRIES_PER_INVOKE
                    }))
                )
            },
        ),
        case(
            "exec_panic",
            EXEC,
            "Syscall(ContractPanicked { message })",
            probe_with(b"boom", |s, msg| s.call(op::PANIC, &[msg, Value(4)])),
            |o| matches!(o.abort(), Some(AbortReason::Syscall(SyscallError::ContractPanicked { message })) if message == "boom"),
        ),
    ]
}

fn fault(o: &Observed, message: &str) -> bool {
    matches!(o.abort(), Some(AbortReason::Runtime(RuntimeError::Fault(m))) if m.contains(message))
}

fn access_violation(o: &Observed) -> bool {
    matches!(
        o.abort(),
        Some(AbortReason::Runtime(RuntimeError::AccessViolation(_)))
    )
}

fn args_cases() -> Vec<Case> {
    vec![
        case(
            "args_unmapped_pointer",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::LOG, &[Value(UNMAPPED), Value(4)]),
            access_violation,
        ),
        case(
            "args_null_pointer",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(
                op::STORAGE_READ,
                &[Value(0), Value(4), Scratch(0), Value(8)],
            ),
            access_violation,
        ),
        case(
            "args_pointer_plus_length_wraps",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::LOG, &[Value(u64::MAX - 2), Value(8)]),
            access_violation,
        ),
        case(
            "args_memcpy_length_wraps",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::MEMCPY, &[Scratch(0), Value(u64::MAX - 15), Value(64)]),
            access_violation,
        ),
        case(
            "args_output_into_input",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::BLOCK_HASH, &[Value(bpf::MM_INPUT)]),
            access_violation,
        ),
        case(
            "args_output_into_rodata",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::TX_HASH, &[Value(8)]),
            access_violation,
        ),
        case(
            "args_output_into_code",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::TX_SENDER, &[Value(bpf::MM_CODE)]),
            access_violation,
        ),
        case(
            "args_unaligned_output_across_stack_end",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::CONTRACT_HASH, &[Value(STACK_END - 7)]),
            access_violation,
        ),
        case(
            "args_unaligned_output_across_heap_end",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::BLOCK_HASH, &[Value(HEAP_END - 31)]),
            access_violation,
        ),
        case(
            "args_storage_read_into_read_only",
            ARGS,
            "Runtime(AccessViolation)",
            probe_action(BUDGET, 0, |s| {
                s.with_data(b"key", |s, key| {
                    s.call(op::STORAGE_READ, &[key, Value(3), key, Value(5)])
                })
            }),
            access_violation,
        ),
        case(
            "args_memcpy_overlap",
            ARGS,
            "Syscall(CopyOverlapping)",
            probe_call(op::MEMCPY, &[Scratch(8), Scratch(0), Value(16)]),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::CopyOverlapping))
                )
            },
        ),
        case(
            "args_return_data_setter_into_read_only",
            ARGS,
            "Runtime(AccessViolation)",
            probe_call(op::GET_RETURN_DATA, &[Scratch(0), Value(8), Value(8)]),
            access_violation,
        ),
    ]
}

fn limit_cases() -> Vec<Case> {
    vec![
        case(
            "limit_storage_key_257",
            LIMIT,
            "Syscall(KeyTooLong { len: 257, limit: 256 })",
            probe_with(&[7; 300], |s, k| {
                s.call(op::STORAGE_WRITE, &[k, Value(257), k, Value(1)])
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::KeyTooLong {
                        len: 257,
                        limit: 256
                    }))
                )
            },
        ),
        case(
            "limit_storage_key_length_max",
            LIMIT,
            "Syscall(KeyTooLong { len: u64::MAX })",
            probe_with(b"k", |s, k| {
                s.call(
                    op::STORAGE_READ,
                    &[k, Value(u64::MAX), Scratch(0), Value(8)],
                )
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::KeyTooLong {
                        len: u64::MAX,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_storage_delete_key_257",
            LIMIT,
            "Syscall(KeyTooLong { len: 257 })",
            probe_with(&[7; 300], |s, k| {
                s.call(op::STORAGE_DELETE, &[k, Value(257)])
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::KeyTooLong {
                        len: 257,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_storage_value_65537",
            LIMIT,
            "Syscall(ValueTooLong { len: 65537, limit: 65536 })",
            probe_with(b"k", |s, k| {
                s.call(
                    op::STORAGE_WRITE,
                    &[k, Value(1), Value(bpf::MM_HEAP), Value(65_537)],
                )
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::ValueTooLong {
                        len: 65_537,
                        limit: 65_536
                    }))
                )
            },
        ),
        case(
            "limit_storage_value_length_max",
            LIMIT,
            "Syscall(ValueTooLong { len: u64::MAX })",
            probe_with(b"k", |s, k| {
                s.call(op::STORAGE_WRITE, &[k, Value(1), k, Value(u64::MAX)])
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::ValueTooLong {
                        len: u64::MAX,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_log_message_10001",
            LIMIT,
            "Syscall(LogMessageTooLong { len: 10001 })",
            probe_with(b"x", |s, m| s.call(op::LOG, &[m, Value(10_001)])),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::LogMessageTooLong {
                        len: 10_001,
                        limit: 10_000
                    }))
                )
            },
        ),
        case(
            "limit_log_bytes_per_invoke",
            LIMIT,
            "Syscall(LogLimitExceeded { limit: 65536 })",
            probe_action(BUDGET, 0, |s| {
                s.with_data(&[b'a'; 10_000], |mut s, m| {
                    for _ in 0..7 {
                        s = s.call(op::LOG, &[m, Value(10_000)]);
                    }
                    s
                })
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::LogLimitExceeded {
                        limit: 65_536
                    }))
                )
            },
        ),
        case(
            "limit_mem_op_length",
            LIMIT,
            "Syscall(MemOpTooLong { len: 1048577 })",
            probe_call(
                op::MEMSET,
                &[Value(bpf::MM_HEAP), Value(0), Value((1 << 20) + 1)],
            ),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::MemOpTooLong {
                        len: 1_048_577,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_hash_slices_257",
            LIMIT,
            "Syscall(TooManySlices { count: 257, limit: 256 })",
            probe_call(op::SHA256, &[Value(bpf::MM_HEAP), Value(257), Scratch(0)]),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::TooManySlices {
                        count: 257,
                        limit: 256
                    }))
                )
            },
        ),
        case(
            "limit_hash_input_bytes",
            LIMIT,
            "Syscall(HashInputTooLong { limit: 1048576 })",
            probe_action(BUDGET, 0, |s| {
                // One slice (heap, 1 MiB + 1) described at scratch[0..16].
                s.call(op::STORE_ADDRESS, &[Value(0), Value(bpf::MM_HEAP)])
                    .call(op::STORE_ADDRESS, &[Value(8), Value((1 << 20) + 1)])
                    .call(op::BLAKE3, &[Scratch(0), Value(1), Scratch(32)])
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::HashInputTooLong {
                        limit: 1_048_576,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_signed_message_bytes",
            LIMIT,
            "Syscall(HashInputTooLong { limit: 65536 })",
            probe_call(
                op::ED25519_VERIFY,
                &[Scratch(0), Value(bpf::MM_HEAP), Value(65_537), Scratch(0)],
            ),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::HashInputTooLong {
                        len: 65_537,
                        limit: 65_536
                    }))
                )
            },
        ),
        case(
            "limit_return_data_1025",
            LIMIT,
            "Syscall(ReturnDataTooLong { len: 1025, limit: 1024 })",
            probe_call(op::SET_RETURN_DATA, &[Value(bpf::MM_HEAP), Value(1025)]),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::ReturnDataTooLong {
                        len: 1025,
                        limit: 1024
                    }))
                )
            },
        ),
        case(
            "limit_event_topic_65",
            LIMIT,
            "Syscall(EventTooLarge { what: \"topic\", len: 65 })",
            probe_call(
                op::EMIT_EVENT,
                &[
                    Value(bpf::MM_HEAP),
                    Value(65),
                    Value(bpf::MM_HEAP),
                    Value(1),
                ],
            ),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::EventTooLarge {
                        len: 65,
                        limit: 64,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_event_data_1025",
            LIMIT,
            "Syscall(EventTooLarge { what: \"data\", len: 1025 })",
            probe_call(
                op::EMIT_EVENT,
                &[
                    Value(bpf::MM_HEAP),
                    Value(1),
                    Value(bpf::MM_HEAP),
                    Value(1025),
                ],
            ),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::EventTooLarge {
                        len: 1025,
                        limit: 1024,
                        ..
                    }))
                )
            },
        ),
        case(
            "limit_events_per_invoke",
            LIMIT,
            "Syscall(EventLimitExceeded)",
            probe_action(BUDGET, 0, |mut s| {
                for _ in 0..=limits::MAX_EVENTS_PER_INVOKE {
                    s = s.call(
                        op::EMIT_EVENT,
                        &[Value(bpf::MM_HEAP), Value(1), Value(bpf::MM_HEAP), Value(1)],
                    );
                }
                s
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::EventLimitExceeded))
                )
            },
        ),
        case(
            "limit_input_65537",
            LIMIT,
            "Runtime(InputTooLarge { len: 65537, limit: 65536 })",
            Action::Invoke(InvokeSpec {
                contracts: vec![probe().clone()],
                setup: setup(funded),
                target: None,
                input: Arc::new(|_| vec![0u8; limits::MAX_INPUT_LEN + 1]),
                budget: BUDGET,
                value: 0,
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(RuntimeError::InputTooLarge {
                        len: 65_537,
                        limit: 65_536
                    }))
                )
            },
        ),
        case(
            "limit_nested_input_65537",
            LIMIT,
            "Syscall(InputTooLong { len: 65537 })",
            probe_call(
                op::INVOKE,
                &[Scratch(0), Value(bpf::MM_HEAP), Value(65_537), Value(0)],
            ),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Syscall(SyscallError::InputTooLong {
                        len: 65_537,
                        limit: 65_536
                    }))
                )
            },
        ),
        case(
            "limit_syscall_cost_over_budget",
            LIMIT,
            "Runtime(ComputeBudgetExceeded { budget: 100000 })",
            probe_action(100_000, 0, |s| {
                s.with_data(b"k", |s, k| {
                    s.call(
                        op::STORAGE_WRITE,
                        &[k, Value(1), Value(bpf::MM_HEAP), Value(32_768)],
                    )
                })
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(RuntimeError::ComputeBudgetExceeded {
                        budget: 100_000
                    }))
                )
            },
        ),
    ]
}

fn value_cases() -> Vec<Case> {
    let value_action = |value: u64, sender: u64, contract: u64, script: fn(Script) -> Script| {
        Action::Invoke(InvokeSpec {
            contracts: vec![probe().clone()],
            setup: setup(move |h| {
                let mut c = ChangeSet::new();
                c.set_balance(support::SENDER, NATIVE_ASSET, sender);
                c.set_balance(h[0], NATIVE_ASSET, contract);
                c.set_balance(RECIPIENT, NATIVE_ASSET, u64::MAX);
                c
            }),
            target: None,
            input: Arc::new(move |_| script(Script::new()).build(0)),
            budget: BUDGET,
            value,
        })
    };
    let storage_error = |o: &Observed, f: fn(&StorageError) -> bool| match o.abort() {
        Some(AbortReason::Syscall(SyscallError::Storage(e))) | Some(AbortReason::Storage(e)) => {
            f(e)
        }
        _ => false,
    };
    vec![
        case(
            "value_transfer_zero",
            VALUE,
            "Syscall(Storage(ZeroAmount))",
            probe_with(&[0x11; 32], |s, to| s.call(op::TRANSFER, &[to, Value(0)])),
            move |o| storage_error(o, |e| matches!(e, StorageError::ZeroAmount)),
        ),
        case(
            "value_transfer_max",
            VALUE,
            "Syscall(Storage(InsufficientBalance { needed: u64::MAX }))",
            probe_with(&[0x11; 32], |s, to| {
                s.call(op::TRANSFER, &[to, Value(u64::MAX)])
            }),
            move |o| {
                storage_error(o, |e| {
                    matches!(
                        e,
                        StorageError::InsufficientBalance {
                            needed: u64::MAX,
                            ..
                        }
                    )
                })
            },
        ),
        case(
            "value_transfer_to_self_over_balance",
            VALUE,
            "Syscall(Storage(InsufficientBalance))",
            probe_action(BUDGET, 0, |s| {
                s.call(op::CONTRACT_HASH, &[Scratch(64)])
                    .call(op::TRANSFER, &[Scratch(64), Value(1_000)])
            }),
            move |o| {
                storage_error(o, |e| {
                    matches!(
                        e,
                        StorageError::InsufficientBalance {
                            balance: 999,
                            needed: 1_000,
                            ..
                        }
                    )
                })
            },
        ),
        case(
            "value_recipient_overflow",
            VALUE,
            "Syscall(Storage(BalanceOverflow))",
            value_action(0, 0, 10, |s| {
                s.with_data(&RECIPIENT.0, |s, to| s.call(op::TRANSFER, &[to, Value(1)]))
            }),
            move |o| storage_error(o, |e| matches!(e, StorageError::BalanceOverflow { .. })),
        ),
        case(
            "value_call_value_over_sender_balance",
            VALUE,
            "Storage(InsufficientBalance)",
            value_action(1_001, 1_000, 0, |s| s),
            move |o| {
                storage_error(o, |e| {
                    matches!(
                        e,
                        StorageError::InsufficientBalance {
                            balance: 1_000,
                            needed: 1_001,
                            ..
                        }
                    )
                })
            },
        ),
        case(
            "value_call_value_max_overflows_contract",
            VALUE,
            "Storage(BalanceOverflow)",
            value_action(u64::MAX, u64::MAX, 1, |s| s),
            move |o| storage_error(o, |e| matches!(e, StorageError::BalanceOverflow { .. })),
        ),
    ]
}

fn call_cases() -> Vec<Case> {
    let multi = |count: u32, value: u64, input: fn(&[Hash]) -> Vec<u8>| {
        Action::Invoke(InvokeSpec {
            contracts: variants(count),
            setup: setup(funded),
            target: None,
            input: Arc::new(input),
            budget: BUDGET,
            value,
        })
    };
    vec![
        case(
            "calls_reentrancy_direct",
            CALLS,
            "tos_invoke returns INVOKE_REENTRANCY",
            multi(1, 0, |h| {
                invoking(prelude(), &h[0], Script::new().build(0), 0).build(1)
            }),
            |o| o.failed_with() == Some(1) && o.results().contains(&codes::INVOKE_REENTRANCY),
        ),
        case(
            "calls_reentrancy_through_another_contract",
            CALLS,
            "tos_invoke returns INVOKE_REENTRANCY",
            multi(2, 0, |h| {
                let inner = invoking(Script::new(), &h[0], Script::new().build(0), 0).build(0);
                invoking(prelude(), &h[1], inner, 0).build(1)
            }),
            |o| o.failed_with() == Some(1) && o.results().contains(&codes::INVOKE_REENTRANCY),
        ),
        case(
            "calls_depth_exhausted",
            CALLS,
            "tos_invoke returns INVOKE_DEPTH_EXCEEDED at depth 8",
            multi(9, 0, depth_chain),
            |o| o.failed_with() == Some(1) && o.results().contains(&codes::INVOKE_DEPTH_EXCEEDED),
        ),
        case(
            "calls_unknown_contract",
            CALLS,
            "tos_invoke returns INVOKE_NOT_FOUND",
            multi(1, 0, |_| {
                invoking(prelude(), &Hash([0xEE; 32]), Vec::new(), 0).build(1)
            }),
            |o| o.failed_with() == Some(1) && o.results().contains(&codes::INVOKE_NOT_FOUND),
        ),
        case(
            "calls_value_over_balance",
            CALLS,
            "tos_invoke returns INVOKE_INSUFFICIENT_VALUE",
            multi(2, 0, |h| {
                invoking(prelude(), &h[1], Script::new().build(0), 5_000).build(1)
            }),
            |o| {
                o.failed_with() == Some(1)
                    && o.results().contains(&codes::INVOKE_INSUFFICIENT_VALUE)
            },
        ),
        case(
            "calls_callee_exhausts_compute",
            CALLS,
            "Runtime(ComputeBudgetExceeded): the whole invoke ends",
            multi(2, 0, |h| {
                invoking(
                    prelude(),
                    &h[1],
                    Script::new().call(op::SPIN, &[]).build(0),
                    0,
                )
                .build(0)
            }),
            |o| {
                matches!(
                    o.abort(),
                    Some(AbortReason::Runtime(
                        RuntimeError::ComputeBudgetExceeded { .. }
                    ))
                )
            },
        ),
        case(
            "calls_callee_aborts_after_writing",
            CALLS,
            "tos_invoke returns INVOKE_ABORTED; the callee's writes are reverted",
            multi(2, 0, |h| {
                let callee = prelude()
                    .with_data(b"boom", |s, m| s.call(op::PANIC, &[m, Value(4)]))
                    .build(0);
                invoking(Script::new(), &h[1], callee, 0).build(0)
            }),
            |o| o.succeeded() && o.results().last() == Some(&codes::INVOKE_ABORTED),
        ),
        case(
            "calls_callee_fails_after_writing",
            CALLS,
            "tos_invoke returns the callee's status; its writes are reverted",
            multi(2, 0, |h| {
                invoking(Script::new(), &h[1], prelude().build(77), 0).build(0)
            }),
            |o| o.succeeded() && o.results().last() == Some(&77),
        ),
        case(
            "calls_unknown_contract_at_top_level",
            CALLS,
            "invoke error ContractNotFound",
            Action::Invoke(InvokeSpec {
                contracts: vec![],
                setup: setup(|_| ChangeSet::new()),
                target: Some(Arc::new(|_| Hash([0xEE; 32]))),
                input: Arc::new(|_| Vec::new()),
                budget: BUDGET,
                value: 0,
            }),
            |o| {
                matches!(
                    o.invoke_error(),
                    Some(VmError::ContractNotFound(Hash([0xEE, ..])))
                )
            },
        ),
    ]
}

/// h[0] → h[1] → … → h[8]; each level runs `invoke(next)` and then fails with 1 (so nothing
/// of the chain is kept); the level at depth 8 gets INVOKE_DEPTH_EXCEEDED.
fn depth_chain(h: &[Hash]) -> Vec<u8> {
    let mut script = Script::new().build(0); // h[8]'s script (never runs)
    for level in (1..9).rev() {
        // `script` is h[level]'s input; wrap it into the script of h[level - 1].
        let caller = if level == 1 { prelude() } else { Script::new() };
        script = invoking(caller, &h[level], script, 0).build(1);
    }
    script
}

fn store_cases() -> Vec<Case> {
    vec![
        case(
            "store_code_under_wrong_hash",
            STORE,
            "invoke error Backend(Corrupt)",
            Action::Invoke(InvokeSpec {
                contracts: vec![],
                setup: setup(|_| {
                    let mut c = ChangeSet::new();
                    c.deploy_code(Hash([0xC0; 32]), probe().clone());
                    c.create_contract(Hash([0xC1; 32]), Hash([0xC0; 32]));
                    c
                }),
                target: Some(Arc::new(|_| Hash([0xC1; 32]))),
                input: Arc::new(|_| Vec::new()),
                budget: BUDGET,
                value: 0,
            }),
            |o| {
                matches!(
                    o.invoke_error(),
                    Some(VmError::Backend(StorageError::Corrupt { what })) if what.contains("hashes to")
                )
            },
        ),
        case(
            "store_invalid_code_under_its_hash",
            STORE,
            "invoke error Loader(..)",
            Action::Invoke(InvokeSpec {
                contracts: vec![],
                setup: setup(|_| {
                    let garbage = b"\x7fELF but not really an executable".to_vec();
                    let mut c = ChangeSet::new();
                    c.create_contract(Hash([0xC2; 32]), tos_vm::code_hash(&garbage));
                    c.deploy_code(tos_vm::code_hash(&garbage), garbage);
                    c
                }),
                target: Some(Arc::new(|_| Hash([0xC2; 32]))),
                input: Arc::new(|_| Vec::new()),
                budget: BUDGET,
                value: 0,
            }),
            |o| matches!(o.invoke_error(), Some(VmError::Loader(_))),
        ),
        case(
            "store_invalid_code_called_by_a_contract",
            STORE,
            "Loader(..): the whole invoke ends",
            Action::Invoke(InvokeSpec {
                contracts: vec![probe().clone()],
                setup: setup(|h| {
                    let mut c = funded(h);
                    let garbage = b"\x7fELF but not really an executable".to_vec();
                    c.create_contract(Hash([0xC2; 32]), tos_vm::code_hash(&garbage));
                    c.deploy_code(tos_vm::code_hash(&garbage), garbage);
                    c
                }),
                target: None,
                input: Arc::new(|_| invoking(prelude(), &Hash([0xC2; 32]), Vec::new(), 0).build(0)),
                budget: BUDGET,
                value: 0,
            }),
            |o| o.loader_error().is_some(),
        ),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(elf_cases());
    cases.extend(insn_cases());
    cases.extend(link_cases());
    cases.extend(exec_cases());
    cases.extend(args_cases());
    cases.extend(limit_cases());
    cases.extend(value_cases());
    cases.extend(call_cases());
    cases.extend(store_cases());
    cases
}

/// Runs every case (on 2 threads); prints the table; fails with every failing case.
#[test]
fn hostile_cases() {
    // Build the fixtures once, before the threads.
    let _ = (probe(), poker(), variants(9));
    let cases = all_cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");

    let results: Vec<(usize, Result<String, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let cases = &cases;
                scope.spawn(move || {
                    (0..cases.len())
                        .filter(|i| i % 2 == worker)
                        .map(|i| (i, run_case(&cases[i]).map(|o| o.short())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all
    });

    let mut failures = Vec::new();
    println!("| case | class | expected | observed |");
    println!("|---|---|---|---|");
    for (i, result) in &results {
        let case = &cases[*i];
        match result {
            Ok(observed) => println!(
                "| `{}` | {} | {} | {} |",
                case.name, case.class, case.expect, observed
            ),
            Err(failure) => failures.push(format!("{}: {failure}", case.name)),
        }
    }
    let errors = cases.len();
    println!("{errors} hostile cases, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} hostile cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(errors >= 50);
}

/// Limits defined twice (by the layer that enforces them and by the one that relies on them)
/// agree.
#[test]
#[allow(clippy::assertions_on_constants)]
fn duplicated_limits_agree() {
    assert_eq!(
        loader::toolchain::STACK_FRAME_SIZE as usize,
        limits::STACK_FRAME_SIZE,
        "clang's -bpf-stack-size and the VM's stack frame"
    );
    assert_eq!(loader::RODATA_NULL_GUARD as usize, limits::NULL_GUARD_SIZE);
    assert_eq!(tos_vm::MAX_CODE_LEN, loader::MAX_ELF_SIZE);
    assert_eq!(tos_vm::MAX_CONSTRUCTOR_INPUT_LEN, limits::MAX_INPUT_LEN);
    assert!(
        limits::MAX_EVENT_BYTES_PER_INVOKE
            >= limits::MAX_EVENT_DATA_LEN + limits::MAX_EVENT_TOPIC_LEN
    );
    assert!(limits::MAX_LOG_BYTES_PER_INVOKE >= limits::MAX_LOG_MESSAGE_LEN);
    assert!(
        limits::MAX_STORAGE_VALUE_LEN <= limits::MAX_INPUT_LEN,
        "a value can be passed in"
    );
}

/// `docs/security.md` lists every limit with the value the code has, and every case class.
#[test]
fn security_doc_matches_the_code() {
    let doc = std::fs::read_to_string(support::root().join("docs/security.md"))
        .expect("docs/security.md exists");
    let limits: &[(&str, u64)] = &[
        ("MAX_ELF_SIZE", loader::MAX_ELF_SIZE as u64),
        ("MAX_INSTRUCTIONS", loader::MAX_INSTRUCTIONS as u64),
        ("RODATA_NULL_GUARD", loader::RODATA_NULL_GUARD),
        ("DEFAULT_COMPUTE_BUDGET", limits::DEFAULT_COMPUTE_BUDGET),
        ("MAX_INPUT_LEN", limits::MAX_INPUT_LEN as u64),
        ("HEAP_SIZE", limits::HEAP_SIZE as u64),
        ("STACK_FRAME_SIZE", limits::STACK_FRAME_SIZE as u64),
        ("MAX_BPF_CALL_DEPTH", limits::MAX_BPF_CALL_DEPTH as u64),
        ("MAX_STORAGE_KEY_LEN", limits::MAX_STORAGE_KEY_LEN as u64),
        (
            "MAX_STORAGE_VALUE_LEN",
            limits::MAX_STORAGE_VALUE_LEN as u64,
        ),
        ("MAX_LOG_MESSAGE_LEN", limits::MAX_LOG_MESSAGE_LEN as u64),
        (
            "MAX_LOG_BYTES_PER_INVOKE",
            limits::MAX_LOG_BYTES_PER_INVOKE as u64,
        ),
        (
            "MAX_LOG_ENTRIES_PER_INVOKE",
            limits::MAX_LOG_ENTRIES_PER_INVOKE as u64,
        ),
        ("MAX_COMPUTE_BUDGET", limits::MAX_COMPUTE_BUDGET),
        (
            "MAX_JOURNAL_BYTES_PER_INVOKE",
            limits::MAX_JOURNAL_BYTES_PER_INVOKE as u64,
        ),
        (
            "JOURNAL_ENTRY_OVERHEAD",
            tos_vm::storage::JOURNAL_ENTRY_OVERHEAD as u64,
        ),
        ("NULL_GUARD_SIZE", limits::NULL_GUARD_SIZE as u64),
        (
            "MAX_CONTRACT_CALL_DEPTH",
            limits::MAX_CONTRACT_CALL_DEPTH as u64,
        ),
        ("MAX_RETURN_DATA_LEN", limits::MAX_RETURN_DATA_LEN as u64),
        ("MAX_EVENT_TOPIC_LEN", limits::MAX_EVENT_TOPIC_LEN as u64),
        ("MAX_EVENT_DATA_LEN", limits::MAX_EVENT_DATA_LEN as u64),
        (
            "MAX_EVENTS_PER_INVOKE",
            limits::MAX_EVENTS_PER_INVOKE as u64,
        ),
        (
            "MAX_EVENT_BYTES_PER_INVOKE",
            limits::MAX_EVENT_BYTES_PER_INVOKE as u64,
        ),
        (
            "MAX_MEM_OP_LEN",
            tos_vm::syscalls::mem::MAX_MEM_OP_LEN as u64,
        ),
        (
            "MAX_HASH_SLICES",
            tos_vm::syscalls::crypto::MAX_HASH_SLICES as u64,
        ),
        (
            "MAX_HASH_BYTES",
            tos_vm::syscalls::crypto::MAX_HASH_BYTES as u64,
        ),
        (
            "MAX_SIGNED_MESSAGE_LEN",
            tos_vm::syscalls::crypto::MAX_SIGNED_MESSAGE_LEN as u64,
        ),
        ("MAX_CODE_LEN", tos_vm::MAX_CODE_LEN as u64),
        (
            "MAX_CONSTRUCTOR_INPUT_LEN",
            tos_vm::MAX_CONSTRUCTOR_INPUT_LEN as u64,
        ),
        ("MAX_PAYLOAD_LEN", tos_vm::MAX_PAYLOAD_LEN as u64),
        (
            "MAX_INVOKE_PAYLOAD_LEN",
            tos_vm::MAX_INVOKE_PAYLOAD_LEN as u64,
        ),
        ("MAX_DEPOSITS", limits::MAX_DEPOSITS as u64),
        ("DEFAULT_CACHE_BUDGET", tos_vm::DEFAULT_CACHE_BUDGET as u64),
        ("MAX_BLOCK_FILE_LEN", tos_vm::MAX_BLOCK_FILE_LEN as u64),
    ];
    let mut problems = Vec::new();
    for (name, value) in limits {
        // A table row: | `NAME` | value | ...
        let row = doc
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("`{name}`")));
        match row {
            None => problems.push(format!("{name} is not in the limits table")),
            Some(row) => {
                let cells: Vec<&str> = row.split('|').map(str::trim).collect();
                let documented: String = cells
                    .get(2)
                    .unwrap_or(&"")
                    .chars()
                    .filter(|c| c.is_ascii_digit())
                    .collect();
                if documented != value.to_string() {
                    problems.push(format!(
                        "{name}: the doc says {:?}, the code {value}",
                        cells.get(2)
                    ));
                }
            }
        }
    }
    let count = format!("is a table of {} named cases", all_cases().len());
    if !doc.contains(&count) {
        problems.push(format!("the doc should say `{count}`"));
    }
    for class in [ELF, INSN, LINK, EXEC, ARGS, LIMIT, VALUE, CALLS, STORE] {
        if !doc.contains(class) {
            problems.push(format!("case class `{class}` is not described"));
        }
    }
    for case in all_cases() {
        if !doc.contains(&format!("`{}`", case.name)) {
            problems.push(format!("case `{}` is not listed", case.name));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/security.md is out of date:\n{}",
        problems.join("\n")
    );
}
