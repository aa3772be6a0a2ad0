//! Shared test helpers: compiling fixtures with clang-19 / the host cc, running linked programs
//! in solana-sbpf (interpreter and JIT), and building small ELF objects by hand.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use solana_sbpf::{
    aligned_memory::AlignedMemory,
    declare_builtin_function, ebpf,
    elf::Executable,
    error::EbpfError,
    memory_region::{AccessType, HostBuffer, MemoryMapping, MemoryRegion},
    program::{BuiltinFunctionDefinition, BuiltinProgram, SBPFVersion},
    verifier::{RequisiteVerifier, Verifier},
    vm::{CallFrame, Config, ContextObject, EbpfVm, ExecutionMode},
};

pub const SYSCALLS: &[&str] = &["tos_log"];
pub const CLANG: &str = "clang-19";
pub const BPF_FLAGS: &[&str] = &["-target", "bpf", "-mcpu=v2", "-O2", "-ffreestanding", "-c"];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// True if `clang-19` runs; otherwise prints why the calling test is skipped.
pub fn have_clang(test: &str) -> bool {
    let ok = Command::new(CLANG)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED {test}: `{CLANG}` not found (install clang-19; CI does)");
    }
    ok
}

/// Compiles a fixture (C or assembly) with clang-19 for BPF; `extra` goes after the default
/// flags (so `-mcpu=v4` there overrides `-mcpu=v2`).
pub fn try_compile(fixture: &str, extra: &[&str]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("out.o");
    let output = Command::new(CLANG)
        .args(BPF_FLAGS)
        .args(extra)
        .arg(fixtures().join(fixture))
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    std::fs::read(&out).map_err(|e| e.to_string())
}

pub fn compile(fixture: &str, extra: &[&str]) -> Vec<u8> {
    match try_compile(fixture, extra) {
        Ok(bytes) => bytes,
        Err(e) => panic!("compiling {fixture} {extra:?} failed:\n{e}"),
    }
}

pub fn link_one(name: &str, bytes: &[u8]) -> Result<Vec<u8>, tos_loader::LoaderError> {
    tos_loader::link(
        &[tos_loader::ObjectFile { name, bytes }],
        &tos_loader::LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: SYSCALLS,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Running in solana-sbpf

pub struct TestContext {
    pub remaining: u64,
    pub mapping: MemoryMapping,
    pub log: Vec<Vec<u8>>,
}

impl ContextObject for TestContext {
    fn consume(&mut self, amount: u64) {
        self.remaining = self.remaining.saturating_sub(amount);
    }
    fn get_remaining(&self) -> u64 {
        self.remaining
    }
    fn active_mapping_ptr(&mut self) -> std::ptr::NonNull<MemoryMapping> {
        std::ptr::NonNull::from(&mut self.mapping)
    }
}

declare_builtin_function!(
    /// `tos_log(ptr, len) -> len`: records the bytes.
    TosLog,
    fn rust(
        ctx: &mut TestContext,
        addr: u64,
        len: u64,
        _c: u64,
        _d: u64,
        _e: u64,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        let host: HostBuffer = Result::<HostBuffer, EbpfError>::from(ctx.mapping.map(AccessType::Load, addr, len))?;
        // SAFETY: the mapping just checked that the range is backed by live host memory.
        let bytes = unsafe { &*host.ptr() };
        ctx.log.push(bytes.to_vec());
        Ok(len)
    }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub result: Result<u64, String>,
    pub instructions: u64,
    pub log: Vec<Vec<u8>>,
}

pub const BUDGET: u64 = 10_000_000;

fn run_mode(elf: &[u8], input: &[u8], jit: bool) -> Run {
    let config = Config {
        enabled_sbpf_versions: SBPFVersion::V3..=SBPFVersion::V3,
        enable_symbol_and_section_labels: true,
        ..Config::default()
    };
    let mut loader = BuiltinProgram::<TestContext>::new_loader(config);
    TosLog::register(&mut loader, "tos_log").unwrap();
    let executable =
        Executable::<TestContext>::load(elf, Arc::new(loader)).expect("Executable::load");
    assert_eq!(executable.get_sbpf_version(), SBPFVersion::V3);
    executable
        .verify::<RequisiteVerifier>()
        .expect("RequisiteVerifier");
    if jit {
        executable.jit_compile().expect("jit_compile");
    }
    let config = executable.get_config().clone();
    let mut stack = AlignedMemory::<{ ebpf::HOST_ALIGN }>::zero_filled(config.stack_size());
    let stack_len = stack.len();
    let mut heap = AlignedMemory::<{ ebpf::HOST_ALIGN }>::zero_filled(32 * 1024);
    let mut input_mem = AlignedMemory::<{ ebpf::HOST_ALIGN }>::from_slice(input);
    let regions = vec![
        executable.get_ro_region(),
        MemoryRegion::new(&mut stack, ebpf::MM_STACK_START),
        MemoryRegion::new(&mut heap, ebpf::MM_HEAP_START),
        MemoryRegion::new(&mut input_mem, ebpf::MM_INPUT_START),
    ];
    // SAFETY: every region's backing memory outlives the VM below.
    let mapping =
        unsafe { MemoryMapping::new(regions, &config, SBPFVersion::V3) }.expect("mapping");
    let mut ctx = TestContext {
        remaining: BUDGET,
        mapping,
        log: Vec::new(),
    };
    let (instructions, result) = {
        let mut vm = EbpfVm::new(
            executable.get_loader().clone(),
            SBPFVersion::V3,
            &mut ctx,
            stack_len,
        );
        vm.registers[1] = ebpf::MM_INPUT_START;
        vm.registers[2] = input.len() as u64;
        let mut frames = vec![CallFrame::default(); config.max_call_depth];
        let mut mode = if jit {
            ExecutionMode::Jit
        } else {
            ExecutionMode::Interpreted
        };
        let (count, result) = vm.execute_program(&executable, &mut mode, &mut frames);
        (
            count,
            Result::from(result).map_err(|e: EbpfError| format!("{e:?}")),
        )
    };
    Run {
        result,
        instructions,
        log: ctx.log,
    }
}

/// Runs under the interpreter and the JIT and asserts both agree on everything.
pub fn run(elf: &[u8], input: &[u8]) -> Run {
    let interpreted = run_mode(elf, input, false);
    let jitted = run_mode(elf, input, true);
    assert_eq!(
        interpreted, jitted,
        "interpreter and JIT disagree for input {input:02x?}"
    );
    interpreted
}

/// Also checks the instruction verifier that `tos_loader` runs (LocalVerifier) independently.
pub fn verify_text(elf: &[u8]) {
    let loader = Arc::new(BuiltinProgram::<TestContext>::new_loader(Config::default()));
    let executable = Executable::<TestContext>::load(elf, loader).expect("load");
    let mut registry = solana_sbpf::program::FunctionRegistry::<usize>::default();
    registry
        .register_function(ebpf::hash_symbol_name(b"tos_log"), "tos_log", 0)
        .unwrap();
    solana_sbpf::verifier::LocalVerifier::verify(
        executable.get_text_bytes().1,
        SBPFVersion::V3,
        &registry,
    )
    .expect("LocalVerifier");
}

// ---------------------------------------------------------------------------------------------
// Native reference

/// Output of the fixture compiled natively with the host C compiler: r0 and logged messages.
pub struct Native {
    pub r0: u64,
    pub log: Vec<Vec<u8>>,
}

fn host_cc() -> Option<String> {
    ["cc", "gcc", "clang-19", "clang"]
        .into_iter()
        .map(str::to_string)
        .find(|cc| {
            Command::new(cc)
                .arg("--version")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
}

/// Builds `sources` (fixtures) with the host compiler plus the native harness into one program.
/// Returns `None` (and prints why) when there is no host compiler.
pub struct NativeProgram {
    _dir: tempfile::TempDir,
    exe: PathBuf,
}

impl NativeProgram {
    pub fn build(sources: &[&str]) -> Option<NativeProgram> {
        let Some(cc) = host_cc() else {
            eprintln!("note: no host C compiler, native comparison skipped");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("native");
        let mut cmd = Command::new(cc);
        cmd.arg("-O1")
            .arg("-o")
            .arg(&exe)
            .arg(fixtures().join("native_harness.c"));
        for s in sources {
            cmd.arg(fixtures().join(s));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "native build of {sources:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(NativeProgram { _dir: dir, exe })
    }

    pub fn run(&self, input: &[u8]) -> Native {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        let out = Command::new(&self.exe).arg(hex).output().unwrap();
        assert!(out.status.success(), "native run failed");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut r0 = None;
        let mut log = Vec::new();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("r0:") {
                r0 = Some(v.parse().unwrap());
            } else if let Some(h) = line.strip_prefix("log:") {
                log.push(
                    (0..h.len() / 2)
                        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                        .collect(),
                );
            }
        }
        Native {
            r0: r0.expect("native output has no r0 line"),
            log,
        }
    }
}

/// Runs `elf` on every input (both engines) and compares with the native build, if any.
/// Returns the runs.
pub fn run_and_compare(elf: &[u8], native: Option<&NativeProgram>, inputs: &[&[u8]]) -> Vec<Run> {
    let mut runs = Vec::new();
    for input in inputs {
        let run = run(elf, input);
        let r0 = run
            .result
            .clone()
            .unwrap_or_else(|e| panic!("program failed on input {input:02x?}: {e}"));
        if let Some(native) = native {
            let n = native.run(input);
            assert_eq!(r0, n.r0, "VM and native disagree on input {input:02x?}");
            assert_eq!(
                run.log, n.log,
                "VM and native logs differ on input {input:02x?}"
            );
        }
        runs.push(run);
    }
    runs
}

// ---------------------------------------------------------------------------------------------
// Hand-built relocatable objects

/// A section for [`build_object`]. Relocation sections are described by `relocs`.
pub struct Sec {
    pub name: &'static str,
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub data: Vec<u8>,
    /// (offset, type, symbol index) for a `.rel<name>` section.
    pub relocs: Vec<(u64, u32, u32)>,
}

impl Sec {
    pub fn text(name: &'static str, code: &[u8]) -> Sec {
        Sec {
            name,
            sh_type: 1,
            flags: 0x6,
            align: 8,
            data: code.to_vec(),
            relocs: Vec::new(),
        }
    }
    pub fn rodata(name: &'static str, data: &[u8]) -> Sec {
        Sec {
            name,
            sh_type: 1,
            flags: 0x2,
            align: 8,
            data: data.to_vec(),
            relocs: Vec::new(),
        }
    }
    pub fn with_relocs(mut self, relocs: &[(u64, u32, u32)]) -> Sec {
        self.relocs = relocs.to_vec();
        self
    }
}

/// A symbol for [`build_object`]: `shndx` counts the sections given (first = 1).
pub struct Sym {
    pub name: &'static str,
    pub info: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

pub const STT_FUNC_GLOBAL: u8 = 0x12;
pub const STT_FUNC_LOCAL: u8 = 0x02;
pub const STT_OBJECT_LOCAL: u8 = 0x01;
pub const STT_SECTION_LOCAL: u8 = 0x03;
pub const STT_NOTYPE_GLOBAL: u8 = 0x10;

/// Builds an ET_REL EM_BPF object: the given sections (index 1..), then one `.rel*` per section
/// with relocations, then `.symtab`, `.strtab`, `.shstrtab`. Symbols must list locals first.
pub fn build_object(sections: &[Sec], symbols: &[Sym]) -> Vec<u8> {
    struct Out {
        name: String,
        sh_type: u32,
        flags: u64,
        data: Vec<u8>,
        link: u32,
        info: u32,
        align: u64,
        entsize: u64,
    }
    let n = sections.len() as u32;
    let rel_count = sections.iter().filter(|s| !s.relocs.is_empty()).count() as u32;
    let symtab_idx = 1 + n + rel_count;
    let strtab_idx = symtab_idx + 1;
    let mut outs = Vec::new();
    for s in sections {
        outs.push(Out {
            name: s.name.to_string(),
            sh_type: s.sh_type,
            flags: s.flags,
            data: s.data.clone(),
            link: 0,
            info: 0,
            align: s.align,
            entsize: 0,
        });
    }
    for (i, s) in sections.iter().enumerate() {
        if s.relocs.is_empty() {
            continue;
        }
        let mut data = Vec::new();
        for (off, ty, sym) in &s.relocs {
            data.extend_from_slice(&off.to_le_bytes());
            data.extend_from_slice(&((u64::from(*sym) << 32) | u64::from(*ty)).to_le_bytes());
        }
        outs.push(Out {
            name: format!(".rel{}", s.name),
            sh_type: 9,
            flags: 0x40,
            data,
            link: symtab_idx,
            info: i as u32 + 1,
            align: 8,
            entsize: 16,
        });
    }
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    let mut first_global = symbols.len() as u32 + 1;
    for (i, s) in symbols.iter().enumerate() {
        if s.info >> 4 != 0 && first_global == symbols.len() as u32 + 1 {
            first_global = i as u32 + 1;
        }
        let name_off = if s.name.is_empty() {
            0
        } else {
            let o = strtab.len() as u32;
            strtab.extend_from_slice(s.name.as_bytes());
            strtab.push(0);
            o
        };
        symtab.extend_from_slice(&name_off.to_le_bytes());
        symtab.push(s.info);
        symtab.push(0);
        symtab.extend_from_slice(&s.shndx.to_le_bytes());
        symtab.extend_from_slice(&s.value.to_le_bytes());
        symtab.extend_from_slice(&s.size.to_le_bytes());
    }
    outs.push(Out {
        name: ".symtab".into(),
        sh_type: 2,
        flags: 0,
        data: symtab,
        link: strtab_idx,
        info: first_global,
        align: 8,
        entsize: 24,
    });
    outs.push(Out {
        name: ".strtab".into(),
        sh_type: 3,
        flags: 0,
        data: strtab,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    let mut shstrtab = vec![0u8];
    let mut name_offs = Vec::new();
    for o in &outs {
        name_offs.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(o.name.as_bytes());
        shstrtab.push(0);
    }
    let shstr_name = shstrtab.len() as u32;
    shstrtab.extend_from_slice(b".shstrtab\0");
    outs.push(Out {
        name: ".shstrtab".into(),
        sh_type: 3,
        flags: 0,
        data: shstrtab,
        link: 0,
        info: 0,
        align: 1,
        entsize: 0,
    });
    name_offs.push(shstr_name);

    let mut file = vec![0u8; 64];
    let mut offsets = Vec::new();
    for o in &outs {
        while file.len() % 8 != 0 {
            file.push(0);
        }
        offsets.push(file.len() as u64);
        file.extend_from_slice(&o.data);
    }
    while file.len() % 8 != 0 {
        file.push(0);
    }
    let shoff = file.len() as u64;
    file.extend_from_slice(&[0u8; 64]); // null section header
    for (i, o) in outs.iter().enumerate() {
        file.extend_from_slice(&name_offs[i].to_le_bytes());
        file.extend_from_slice(&o.sh_type.to_le_bytes());
        file.extend_from_slice(&o.flags.to_le_bytes());
        file.extend_from_slice(&0u64.to_le_bytes());
        file.extend_from_slice(&offsets[i].to_le_bytes());
        file.extend_from_slice(&(o.data.len() as u64).to_le_bytes());
        file.extend_from_slice(&o.link.to_le_bytes());
        file.extend_from_slice(&o.info.to_le_bytes());
        file.extend_from_slice(&o.align.to_le_bytes());
        file.extend_from_slice(&o.entsize.to_le_bytes());
    }
    let shnum = outs.len() as u16 + 1;
    let header: Vec<u8> = [
        &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0][..],
        &[0; 8],
        &1u16.to_le_bytes(),   // ET_REL
        &247u16.to_le_bytes(), // EM_BPF
        &1u32.to_le_bytes(),
        &0u64.to_le_bytes(), // entry
        &0u64.to_le_bytes(), // phoff
        &shoff.to_le_bytes(),
        &0u32.to_le_bytes(), // flags
        &64u16.to_le_bytes(),
        &0u16.to_le_bytes(),
        &0u16.to_le_bytes(),
        &64u16.to_le_bytes(),
        &shnum.to_le_bytes(),
        &(shnum - 1).to_le_bytes(),
    ]
    .concat();
    file[..64].copy_from_slice(&header);
    file
}

/// Encodes one instruction.
pub fn insn(opc: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = opc;
    b[1] = (src << 4) | (dst & 0xf);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

pub fn code(insns: &[[u8; 8]]) -> Vec<u8> {
    insns.concat()
}

pub const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];

/// `mov64 r0, imm`
pub fn mov_r0(imm: i32) -> [u8; 8] {
    insn(0xb7, 0, 0, 0, imm)
}

/// A small self-contained object: `entrypoint` calls `helper` (in another section, via
/// R_BPF_64_32 against its section symbol), loads the address of a rodata string (R_BPF_64_64),
/// calls the `tos_log` syscall; a rodata table holds a function pointer (R_BPF_64_ABS64).
pub fn sample_object() -> Vec<u8> {
    let entry = code(&[
        insn(0x18, 1, 0, 0, 0), // lddw r1, .rodata+0
        insn(0, 0, 0, 0, 0),
        insn(0xb7, 2, 0, 0, 5),  // mov64 r2, 5
        insn(0x85, 0, 1, 0, -1), // call tos_log
        insn(0xb7, 1, 0, 0, 20), // mov64 r1, 20
        insn(0x85, 0, 1, 0, -1), // call helper
        insn(0x18, 2, 0, 0, 8),  // lddw r2, .rodata+8 (the table)
        insn(0, 0, 0, 0, 0),
        insn(0x79, 2, 2, 0, 0), // ldxdw r2, [r2]
        insn(0xbf, 6, 0, 0, 0), // mov64 r6, r0
        insn(0xb7, 1, 0, 0, 1), // mov64 r1, 1
        insn(0x8d, 2, 0, 0, 0), // callx r2
        insn(0x0f, 0, 6, 0, 0), // add64 r0, r6
        EXIT,
    ]);
    let helper = code(&[
        insn(0xbf, 0, 1, 0, 0),  // mov64 r0, r1
        insn(0x07, 0, 0, 0, 22), // add64 r0, 22
        EXIT,
    ]);
    let mut rodata = b"hello\0\0\0".to_vec();
    rodata.extend_from_slice(&0u64.to_le_bytes()); // function pointer slot
    build_object(
        &[
            Sec::text(".text.entrypoint", &entry).with_relocs(&[
                (0, 1, 3),
                (24, 10, 6),
                (40, 10, 2),
                (48, 1, 3),
            ]),
            Sec::text(".text.helper", &helper),
            Sec::rodata(".rodata", &rodata).with_relocs(&[(8, 2, 2)]),
        ],
        &[
            Sym {
                name: "",
                info: STT_SECTION_LOCAL,
                shndx: 1,
                value: 0,
                size: 0,
            }, // 1: .text.entrypoint
            Sym {
                name: "",
                info: STT_SECTION_LOCAL,
                shndx: 2,
                value: 0,
                size: 0,
            }, // 2: .text.helper
            Sym {
                name: "",
                info: STT_SECTION_LOCAL,
                shndx: 3,
                value: 0,
                size: 0,
            }, // 3: .rodata
            Sym {
                name: "helper",
                info: STT_FUNC_LOCAL,
                shndx: 2,
                value: 0,
                size: 24,
            }, // 4
            Sym {
                name: "entrypoint",
                info: STT_FUNC_GLOBAL,
                shndx: 1,
                value: 0,
                size: 112,
            }, // 5
            Sym {
                name: "tos_log",
                info: STT_NOTYPE_GLOBAL,
                shndx: 0,
                value: 0,
                size: 0,
            }, // 6
        ],
    )
}

/// Text segment of a linked executable (from its program headers).
pub fn text_of(elf: &[u8]) -> (usize, usize) {
    let phnum = u16::from_le_bytes([elf[56], elf[57]]) as usize;
    let ph = 64 + 56 * (phnum - 1);
    let off = u64::from_le_bytes(elf[ph + 8..ph + 16].try_into().unwrap()) as usize;
    let size = u64::from_le_bytes(elf[ph + 32..ph + 40].try_into().unwrap()) as usize;
    (off, size)
}

/// Rodata segment (offset, size) of a linked executable, if it has one.
pub fn rodata_of(elf: &[u8]) -> Option<(usize, usize)> {
    let phnum = u16::from_le_bytes([elf[56], elf[57]]) as usize;
    if phnum < 2 {
        return None;
    }
    let off = u64::from_le_bytes(elf[64 + 8..64 + 16].try_into().unwrap()) as usize;
    let size = u64::from_le_bytes(elf[64 + 32..64 + 40].try_into().unwrap()) as usize;
    Some((off, size))
}
