//! Builds the example contracts with the stock toolchain (clang-19, Debian's cargo/rustc)
//! and links them with tos-loader. Skipped, with a printed reason, when those tools are
//! missing (`scripts/setup` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tos_loader::toolchain::{
    build_contract, compile_objects, default_sdk_include, detect_language, BuildOptions, Codegen,
    ContractLanguage, ToolchainError,
};

/// The syscalls of the TOS ABI.
const SYSCALLS: &[&str] = &[
    "tos_log",
    "tos_panic",
    "tos_get_block_hash",
    "tos_get_block_height",
    "tos_get_tx_hash",
    "tos_get_tx_sender",
    "tos_get_contract_hash",
    "tos_get_balance",
    "tos_transfer",
    "tos_storage_read",
    "tos_storage_write",
    "tos_storage_delete",
    // counter-rust's `count` view answers through return data.
    "tos_set_return_data",
    "tos_memcpy",
    "tos_memmove",
    "tos_memset",
    "tos_memcmp",
];

const ELF_MAGIC: &[u8] = b"\x7fELF";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example(name: &str) -> PathBuf {
    repo_root().join("examples").join(name)
}

/// Shared, persistent cargo target directory of the Rust contracts built by these tests:
/// `core` is compiled once (~20 s), later builds take about a second.
fn rust_target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("contracts")
}

fn options(target_dir: Option<PathBuf>) -> BuildOptions<'static> {
    BuildOptions {
        syscalls: SYSCALLS,
        target_dir,
        sdk_include: default_sdk_include(),
        codegen: Codegen::default(),
    }
}

fn clang_missing() -> Option<String> {
    let clang = std::env::var("TOS_CLANG").unwrap_or_else(|_| "clang-19".to_owned());
    match Command::new(&clang).arg("--version").output() {
        Ok(output) if output.status.success() => None,
        _ => Some(format!("{clang} is not installed (run scripts/setup)")),
    }
}

fn rust_missing() -> Option<String> {
    if let Some(reason) = clang_missing() {
        return Some(reason);
    }
    let cargo = std::env::var("TOS_CARGO").unwrap_or_else(|_| "/usr/bin/cargo".to_owned());
    if Path::new(&cargo).is_file() {
        None
    } else {
        Some(format!("{cargo} is not installed (run scripts/setup)"))
    }
}

macro_rules! skip_if {
    ($reason:expr) => {
        if let Some(reason) = $reason {
            println!("skipped: {reason}");
            return;
        }
    };
}

fn check_executable(elf: &[u8]) {
    assert!(elf.starts_with(ELF_MAGIC), "output is not an ELF file");
    if let Err(error) = tos_loader::validate_executable(elf, SYSCALLS) {
        panic!("linked executable rejected: {error}");
    }
}

/// Writes a throw-away Rust contract depending on the repository's tos-sdk.
fn rust_contract(dir: &Path, body: &str) {
    let sdk = repo_root().join("sdk");
    let manifest = format!(
        "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
         [lib]\ncrate-type = [\"staticlib\"]\n\n[dependencies]\ntos-sdk = {{ path = {:?} }}\n",
        sdk.display().to_string()
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        format!("#![no_std]\ntos_sdk::entrypoint!(process);\n{body}\n"),
    )
    .unwrap();
}

#[test]
fn hello_world_c_builds_and_links() {
    skip_if!(clang_missing());
    let dir = example("hello-world");
    assert_eq!(detect_language(&dir).unwrap(), ContractLanguage::C);

    let objects = compile_objects(&dir, &options(None)).unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].0, "hello.o");
    assert!(objects[0].1.starts_with(ELF_MAGIC));

    let elf = build_contract(&dir, &options(None)).unwrap();
    println!("hello-world: {} bytes", elf.len());
    check_executable(&elf);
}

#[test]
fn counter_rust_builds_and_links() {
    skip_if!(rust_missing());
    let dir = example("counter-rust");
    assert_eq!(detect_language(&dir).unwrap(), ContractLanguage::Rust);
    let opts = options(Some(rust_target_dir()));

    let started = Instant::now();
    let elf = build_contract(&dir, &opts).unwrap();
    println!(
        "counter-rust: {} bytes, first build {:?}",
        elf.len(),
        started.elapsed()
    );
    check_executable(&elf);

    // A second build reuses the cached dependencies and gives the same executable.
    let started = Instant::now();
    let again = build_contract(&dir, &opts).unwrap();
    println!("counter-rust: rebuild {:?}", started.elapsed());
    assert_eq!(elf, again, "rebuilding gave a different executable");
}

#[test]
fn rust_runtime_length_copies_are_routed_to_the_memory_syscalls() {
    skip_if!(rust_missing());
    let dir = tempfile::tempdir().unwrap();
    rust_contract(
        dir.path(),
        "fn process(_ctx: &tos_sdk::Context, input: &[u8]) -> Result<(), tos_sdk::ContractError> {\n\
         let mut buf = [0u8; 64];\n\
         let n = input.len().min(64);\n\
         buf[..n].copy_from_slice(&input[..n]);\n\
         buf[n..].fill(0xAA);\n\
         tos_sdk::storage::write(b\"k\", &buf[..n]);\n\
         Ok(())\n}",
    );
    let elf = build_contract(dir.path(), &options(Some(rust_target_dir()))).unwrap();
    let info = tos_loader::validate_executable(&elf, SYSCALLS).unwrap();
    assert!(
        info.syscalls_used.iter().any(|s| s == "tos_memmove")
            && info.syscalls_used.iter().any(|s| s == "tos_memset"),
        "{:?}",
        info.syscalls_used
    );
}

#[test]
fn rust_signed_division_compiles_without_signed_instructions() {
    skip_if!(rust_missing());
    let dir = tempfile::tempdir().unwrap();
    rust_contract(
        dir.path(),
        "fn process(_ctx: &tos_sdk::Context, input: &[u8]) -> Result<(), tos_sdk::ContractError> {\n\
         let a = input.len() as i64 - 5;\n\
         let b = input.first().copied().unwrap_or(1) as i64 - 3;\n\
         let q = a.wrapping_div(b | 1) + a / 3 + (a as i32 % 7) as i64;\n\
         tos_sdk::storage::write_u64(b\"q\", q as u64);\n\
         Ok(())\n}",
    );
    // The link step refuses v4's sdiv/smod; linking at all proves none is left.
    let elf = build_contract(dir.path(), &options(Some(rust_target_dir()))).unwrap();
    check_executable(&elf);
}

#[test]
fn unsupported_operations_still_fail_the_build_loudly() {
    skip_if!(rust_missing());
    let dir = tempfile::tempdir().unwrap();
    // Floating point needs compiler_builtins' soft-float helpers, which the backend refuses.
    rust_contract(
        dir.path(),
        "fn process(_ctx: &tos_sdk::Context, input: &[u8]) -> Result<(), tos_sdk::ContractError> {\n\
         let x = input.len() as f64 * 1.5;\n\
         tos_sdk::storage::write_u64(b\"q\", x as u64);\n\
         Ok(())\n}",
    );
    match compile_objects(dir.path(), &options(Some(rust_target_dir()))) {
        Err(ToolchainError::CompileFailed { stderr, .. }) => {
            assert!(
                stderr.contains("is not supported"),
                "unexpected error: {stderr}"
            );
        }
        other => panic!("expected a build error, got {other:?}"),
    }
}

#[test]
fn c_signed_division_and_copies_compile() {
    skip_if!(clang_missing());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ops.c"),
        "#include \"tos.h\"\n\
         struct big { uint8_t bytes[300]; };\n\
         uint64_t entrypoint(const uint8_t *input, uint64_t len) {\n\
             struct big a, b;\n\
             tos_memset(a.bytes, 1, sizeof a.bytes);\n\
             b = a;\n\
             int64_t x = (int64_t)len - 100, y = (int64_t)input[0] - 3;\n\
             return (uint64_t)(x / y) + b.bytes[len % 300];\n\
         }\n",
    )
    .unwrap();
    let elf = build_contract(dir.path(), &options(None)).unwrap();
    check_executable(&elf);
}

/// `llc` runs with misaligned accesses allowed (`toolchain::LLC_FEATURES`): a `u64` read at
/// an odd offset is one `ldxdw`, not 8 byte loads, 7 shifts and 7 ors.
#[test]
fn misaligned_reads_are_one_load() {
    skip_if!(clang_missing());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("read.c"),
        "#include \"tos.h\"\n\
         uint64_t entrypoint(const uint8_t *input, uint64_t len) {\n\
             uint64_t v;\n\
             if (len < 9) return 0;\n\
             __builtin_memcpy(&v, input + 1, 8);\n\
             return v;\n\
         }\n",
    )
    .unwrap();
    let elf = build_contract(dir.path(), &options(None)).unwrap();
    let text = tos_loader::disassemble(&elf, SYSCALLS).unwrap();
    assert!(text.contains("ldxdw"), "{text}");
    assert!(!text.contains("ldxb"), "{text}");
}

/// C is compiled as hosted C (`-nostdlibinc`, no `-ffreestanding`/`-fno-builtin`), so clang
/// knows the memory functions: a byte loop that clears a constant-size buffer becomes 8-byte
/// stores, one that copies a runtime length a `tos_memmove` call, and a `memcpy` call of a
/// constant length inline loads and stores instead of a syscall. Freestanding, the first two
/// were byte loops (a call of the VM's memory mapping per byte under the JIT) and the third a
/// `tos_memcpy` syscall.
#[test]
fn c_byte_loops_and_short_copies_become_wide_accesses_or_a_syscall() {
    skip_if!(clang_missing());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loops.c"),
        "#include \"tos.h\"\n\
         uint64_t entrypoint(const uint8_t *input, uint64_t len) {\n\
             uint8_t block[128];\n\
             uint8_t head[32];\n\
             uint64_t i, sum = 0;\n\
             if (len > 128) len = 128;\n\
             for (i = 0; i < 128; i++) block[i] = 0;\n\
             for (i = 0; i < len; i++) block[i] = input[i];\n\
             memcpy(head, block + 1, 32);\n\
             for (i = 0; i < 32; i++) sum = sum * 31 + head[i];\n\
             return sum + block[127];\n\
         }\n",
    )
    .unwrap();
    let elf = build_contract(dir.path(), &options(None)).unwrap();
    check_executable(&elf);
    let text = tos_loader::disassemble(&elf, SYSCALLS).unwrap();
    assert!(text.contains("syscall tos_memmove"), "{text}");
    assert!(!text.contains("syscall tos_memcpy"), "{text}");
    assert!(!text.contains("stxb"), "{text}");
    assert!(text.contains("stxdw"), "{text}");
}

#[test]
fn c_compile_error_is_reported() {
    skip_if!(clang_missing());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.c"),
        "#include \"tos.h\"\nuint64_t entrypoint(const uint8_t *input, uint64_t len) { return undefined_name; }\n",
    )
    .unwrap();
    match compile_objects(dir.path(), &options(None)) {
        Err(ToolchainError::CompileFailed { command, stderr }) => {
            assert!(command.contains("-mcpu=v2"), "{command}");
            assert!(stderr.contains("undefined_name"), "{stderr}");
        }
        other => panic!("expected a build error, got {other:?}"),
    }
}

#[test]
fn empty_directory_is_not_a_contract() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        build_contract(dir.path(), &options(None)),
        Err(ToolchainError::NotAContract { .. })
    ));
}

/// A Rust contract whose `process` runs `body` on `input` (with `alloc` available).
fn rust_contract_with(dir: &Path, body: &str) {
    rust_contract(
        dir,
        &format!(
            "extern crate alloc;\nuse alloc::vec::Vec;\n\
             fn process(_ctx: &tos_sdk::Context, input: &[u8]) -> Result<(), tos_sdk::ContractError> {{\n\
             {body}\nOk(())\n}}"
        ),
    );
}

/// The backend error of a contract that must not build, with tos-vm's explanation.
fn refused(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    rust_contract_with(dir.path(), body);
    match build_contract(dir.path(), &options(Some(rust_target_dir()))) {
        Err(ToolchainError::CompileFailed { stderr, .. }) => stderr,
        other => panic!("expected a build error, got {other:?}"),
    }
}

#[test]
fn sort_unstable_builds_its_traps_abort_through_tos_panic() {
    skip_if!(rust_missing());
    let dir = tempfile::tempdir().unwrap();
    rust_contract_with(
        dir.path(),
        "let mut v: Vec<u64> = input.iter().map(|&b| u64::from(b) * 7 % 11).collect();\n\
         v.sort_unstable();\n\
         tos_sdk::storage::write_u64(b\"min\", v.first().copied().unwrap_or(0));",
    );
    let elf = build_contract(dir.path(), &options(Some(rust_target_dir()))).unwrap();
    check_executable(&elf);
}

#[test]
fn debug_formatting_and_padding_build() {
    skip_if!(rust_missing());
    for body in [
        "let text = alloc::format!(\"{:?}\", input);\ntos_sdk::log(&text);",
        "#[derive(Debug)] struct P { a: u64, b: Vec<u8> }\n\
         let text = alloc::format!(\"{:?}\", P { a: input.len() as u64, b: input.to_vec() });\n\
         tos_sdk::log(&text);",
        "let text = alloc::format!(\"{:>8}|{:08.3}\", input.len(), input.len());\n\
         tos_sdk::log(&text);",
    ] {
        let dir = tempfile::tempdir().unwrap();
        rust_contract_with(dir.path(), body);
        let elf = build_contract(dir.path(), &options(Some(rust_target_dir())))
            .unwrap_or_else(|error| panic!("{body}: {error}"));
        check_executable(&elf);
    }
}

#[test]
fn stable_sort_and_u128_formatting_are_refused_naming_the_alternative() {
    skip_if!(rust_missing());
    for (body, construct, alternative) in [
        (
            "let mut v: Vec<u64> = input.iter().map(|&b| u64::from(b)).collect();\n\
             v.sort();\n\
             tos_sdk::storage::write_u64(b\"min\", v.first().copied().unwrap_or(0));",
            "slice::sort",
            "sort_unstable",
        ),
        (
            "let mut v: Vec<i64> = input.iter().map(|&b| i64::from(b) - 9).collect();\n\
             v.sort();\n\
             tos_sdk::storage::write_u64(b\"min\", v.first().copied().unwrap_or(0) as u64);",
            "slice::sort",
            "sort_unstable",
        ),
        (
            "let x = u128::from(input.len() as u64) << 70;\n\
             let text = alloc::format!(\"{}\", x);\n\
             tos_sdk::log(&text);",
            "u128",
            "two `u64` halves",
        ),
    ] {
        let stderr = refused(body);
        assert!(
            stderr.contains(construct) && stderr.contains(alternative),
            "{construct}: {stderr}"
        );
    }
}

#[test]
fn c_interface_file_is_embedded_and_its_header_generated() {
    skip_if!(clang_missing());
    use tos_loader::interface::selector;
    let dir = tempfile::tempdir().unwrap();
    let json = format!(
        r#"{{"format": 1, "name": "echo", "methods": [
            {{"name": "echo", "selector": {}, "readonly": true, "args": [{{"name": "x", "type": "u64"}}], "returns": "u64"}},
            {{"name": "bump_all", "selector": {}, "readonly": false}}],
            "errors": [{{"code": 1001, "name": "TooBig"}}]}}"#,
        selector("echo"),
        selector("bump_all")
    );
    std::fs::write(dir.path().join("interface.json"), &json).unwrap();
    // The contract compares against the generated constants: a wrong or missing header
    // fails the build.
    std::fs::write(
        dir.path().join("echo.c"),
        "#include \"tos.h\"\n\
         #include \"tos_interface.h\"\n\
         _Static_assert(TOS_ERROR_TOO_BIG == 1001u, \"error constant\");\n\
         static uint64_t process(const uint8_t *input, uint64_t len) {\n\
             uint32_t selector;\n\
             tos_args args;\n\
             if (!tos_call_begin(input, len, &selector, &args)) return 1;\n\
             if (selector == TOS_SELECTOR_BUMP_ALL) return 2;\n\
             if (selector != TOS_SELECTOR_ECHO) return 3;\n\
             uint64_t x = tos_args_u64(&args);\n\
             if (!tos_args_end(&args)) return 4;\n\
             return tos_return_u64(x);\n\
         }\n\
         TOS_ENTRYPOINT(process)\n",
    )
    .unwrap();
    let mut syscalls = SYSCALLS.to_vec();
    syscalls.push("tos_set_return_data");
    let opts = BuildOptions::new(&syscalls, default_sdk_include());
    let elf = build_contract(dir.path(), &opts).unwrap_or_else(|e| panic!("{e}"));
    let info = tos_loader::validate_executable(&elf, &syscalls).unwrap();
    assert!(info.interface.is_some());
    let interface = tos_loader::interface_of(&elf).unwrap().expect("embedded");
    assert_eq!(interface.name, "echo");
    assert_eq!(
        interface.to_json(),
        tos_loader::Interface::parse(json.as_bytes())
            .unwrap()
            .to_json()
    );
    let header = tos_loader::toolchain::interface_header(&interface);
    assert!(header.contains(&format!(
        "#define TOS_SELECTOR_ECHO 0x{:08x}u",
        selector("echo")
    )));
    assert!(header.contains("#define TOS_SELECTOR_BUMP_ALL "));

    // A lying interface file fails the build with the file's name and the problem.
    std::fs::write(
        dir.path().join("interface.json"),
        json.replacen(&selector("echo").to_string(), "7", 1),
    )
    .unwrap();
    match build_contract(dir.path(), &opts) {
        Err(ToolchainError::Interface { path, source }) => {
            assert!(path.ends_with("interface.json"));
            assert!(source.to_string().contains("`echo`"), "{source}");
        }
        other => panic!(
            "expected an interface error, got {:?}",
            other.map(|e| e.len())
        ),
    }
}
