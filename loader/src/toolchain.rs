//! The contract build driver: contract sources → BPF objects → SBPF V3 executable.
//!
//! Uses only stock Debian tools (`scripts/setup` installs them):
//! - C: `clang-19 -target bpf -mcpu=v2 -O2 -nostdlibinc -emit-llvm` compiles every `*.c` of the
//!   contract directory into LLVM bitcode;
//! - Rust: Debian's `/usr/bin/cargo` + `/usr/bin/rustc` build the contract crate for
//!   `bpfel-unknown-none` with `-Zbuild-std=core,alloc`, fat LTO into one codegen unit (so the
//!   code of `core`, `alloc`, `tos-sdk` and every other dependency lands in the crate's own
//!   module), emitted as LLVM bitcode (`--emit=llvm-bc`: rustc's own BPF code generation is
//!   never run);
//! - then both go through the same IR step with LLVM 22's tools (Debian `llvm-22`, the LLVM of
//!   Debian's rustc): `opt` expands 128-bit division into loops and prints the module,
//!   the private `irpass` module routes the memory intrinsics the BPF backend cannot expand to the
//!   `tos_mem*` syscalls and rewrites signed division, overflow-checked and 128-bit
//!   multiplication and 128-bit variable shifts into helpers built from what the backend
//!   compiles, `opt -passes=always-inline,globaldce` inlines the helpers, and `llc -march=bpfel -mcpu=v2
//!   -mattr=+allows-misaligned-mem-access -pre-RA-sched=list-hybrid` writes the object (or, with [`Codegen::Alu32`],
//!   `+alu32` assembly that the private `asmpass` module fixes up and `llvm-mc` assembles). Every tool's exit status and
//!   error output are checked: a backend error always fails the build, and the output of a
//!   failed run is never used;
//! - then [`crate::link`] turns the objects into an SBPF V3 executable with entry
//!   `entrypoint` (stock `ld.lld` refuses BPF, so the link step is tos-vm's own); calls of
//!   `memcpy`/`memmove`/`memset`/`memcmp`/`bcmp` that remain in an object (a C contract calling
//!   them by name) are bound to the `tos_mem*` syscalls there.
//!
//! Tool locations can be overridden with the environment variables `TOS_CLANG`
//! (default `clang-19` from `PATH`), `TOS_CARGO` (default `/usr/bin/cargo`), `TOS_RUSTC`
//! (default `/usr/bin/rustc`) and `TOS_LLVM_BIN` (directory of `opt`, `llc` and `llvm-mc`;
//! default `/usr/lib/llvm-22/bin`). Rustup's toolchains are never used for contracts: the
//! `rustc` first in `PATH` may be a rustup proxy without the `core` sources and with another
//! LLVM.

// `ToolchainError` carries a `LoaderError` (with its `Location`) inline; errors are rare and a
// build is slow anyway, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Interface, LinkOptions, ObjectFile};

/// The message of a Rust contract's panics (see [`PANIC_STRATEGY_FLAGS`]) and of C's
/// `__builtin_trap`: `ContractPanicked { message }` carries it.
pub use crate::irpass::TRAP_MESSAGE;
use tos_abi::interface::MAX_INTERFACE_LEN;

/// What to tell a user whose machine lacks a tool.
pub const SETUP_HINT: &str = "run scripts/setup";

/// Name of the symbol every contract exports as its entry point.
pub const ENTRY_SYMBOL: &str = "entrypoint";

/// Rust target the contracts are compiled for.
pub const RUST_TARGET: &str = "bpfel-unknown-none";

/// Stack frame size the compilers may use; equals the VM's `Config::stack_frame_size`.
/// LLVM's BPF backend stops at 512 bytes unless told otherwise.
pub const STACK_FRAME_SIZE: u64 = 4096;

const DEFAULT_CLANG: &str = "clang-19";
const DEFAULT_CARGO: &str = "/usr/bin/cargo";
const DEFAULT_RUSTC: &str = "/usr/bin/rustc";
const DEFAULT_LLVM_BIN: &str = "/usr/lib/llvm-22/bin";

/// Major version of the LLVM tools the IR step expects by default (Debian's `llvm-22`, the
/// LLVM of Debian's rustc 1.96).
pub const LLVM_MAJOR: u32 = 22;

/// Rust standard crates built for the contract target (`-Zbuild-std=...`). `alloc` is there so
/// that contracts (and borsh) can use `Vec`/`String` with the SDK's heap allocator.
pub const BUILD_STD: &str = "core,alloc";

/// Everything that can go wrong while building a contract.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolchainError {
    /// A compiler (or the Rust `core` sources) is not installed.
    #[error("`{tool}` is not installed ({hint})")]
    ToolMissing {
        /// The missing tool or component.
        tool: String,
        /// How to get it.
        hint: &'static str,
    },

    /// A compiler ran and failed (the output of a failed run is never used).
    #[error("contract build failed: `{command}`\n{stderr}")]
    CompileFailed {
        /// The command line, as it could be pasted into a shell.
        command: String,
        /// What the tool printed on stderr.
        stderr: String,
    },

    /// The directory holds neither a `Cargo.toml` nor any `*.c` file.
    #[error("`{}` is not a contract directory: no Cargo.toml and no *.c file", dir.display())]
    NotAContract {
        /// The directory given.
        dir: PathBuf,
    },

    /// The objects compiled but did not link into a valid executable.
    #[error("link failed: {0}")]
    Link(#[from] crate::LoaderError),

    /// A C contract's `interface.json` is not a valid interface description.
    #[error("`{}`: {source}", path.display())]
    Interface {
        /// The interface file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: tos_abi::interface::InterfaceError,
    },

    /// Reading or writing a file or directory failed.
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result type of this module.
pub type Result<T, E = ToolchainError> = std::result::Result<T, E>;

/// The language a contract directory is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractLanguage {
    /// One or more `*.c` files (no `Cargo.toml`).
    C,
    /// A Cargo package with a library target.
    Rust,
}

/// How to build a contract.
#[derive(Clone, Debug)]
pub struct BuildOptions<'a> {
    /// Names of the syscalls the executable may call (passed to [`crate::link`]).
    pub syscalls: &'a [&'a str],
    /// Cargo target directory for Rust contracts; `None` = `<contract>/target`. Keep it
    /// between builds: the first build compiles `core` (~20 s), later ones only the contract.
    pub target_dir: Option<PathBuf>,
    /// Directory holding `tos.h` (the repository's `sdk/c`), added with `-I` for C contracts.
    pub sdk_include: PathBuf,
    /// How `llc` turns the IR into BPF code ([`Codegen::V2`] unless measuring the other).
    pub codegen: Codegen,
}

/// How 32-bit arithmetic becomes BPF code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Codegen {
    /// `llc -mcpu=v2`: 32-bit values live in 64-bit registers and are computed with 64-bit
    /// instructions, zero-extended with shifts where it matters. The default.
    #[default]
    V2,
    /// The 32-bit ALU route: `llc -mattr=+alu32` writes assembly, the private `asmpass` puts a
    /// `mov32 dst, dst` after every `add32`/`sub32`/`mul32` (SBPF V3 sign-extends their
    /// results, eBPF zero-extends), `llvm-mc` assembles it. Correct (the loader accepts the
    /// three only in that pair), but not faster on the compute benchmarks: docs/performance.md,
    /// "The 32-bit ALU route".
    Alu32,
}

impl<'a> BuildOptions<'a> {
    /// Options with the default target directory.
    pub fn new(syscalls: &'a [&'a str], sdk_include: impl Into<PathBuf>) -> Self {
        Self {
            syscalls,
            target_dir: None,
            sdk_include: sdk_include.into(),
            codegen: Codegen::V2,
        }
    }
}

/// `sdk/c` of the repository this crate was built from (for in-repo tools and tests).
pub fn default_sdk_include() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("sdk")
        .join("c")
}

/// Tells whether `dir` holds a Rust contract (`Cargo.toml`) or a C contract (`*.c` files).
pub fn detect_language(dir: &Path) -> Result<ContractLanguage> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(ContractLanguage::Rust);
    }
    if !dir.is_dir() {
        return Err(ToolchainError::NotAContract {
            dir: dir.to_path_buf(),
        });
    }
    if c_sources(dir)?.is_empty() {
        return Err(ToolchainError::NotAContract {
            dir: dir.to_path_buf(),
        });
    }
    Ok(ContractLanguage::C)
}

/// Compiles the contract in `dir` into BPF relocatable objects, as (name, ELF bytes) pairs.
pub fn compile_objects(dir: &Path, options: &BuildOptions<'_>) -> Result<Vec<(String, Vec<u8>)>> {
    // Tools run with the contract directory as their working directory: make every path
    // absolute so a relative `dir` (e.g. `examples/counter-rust`) still resolves.
    let dir = &std::path::absolute(dir).map_err(|source| io_error(dir, source))?;
    match detect_language(dir)? {
        ContractLanguage::C => compile_c(dir, options),
        ContractLanguage::Rust => compile_rust(dir, options).map(|object| vec![object]),
    }
}

/// Builds the contract in `dir` into an SBPF V3 executable (ELF bytes) with entry
/// [`ENTRY_SYMBOL`]. A C contract's [`INTERFACE_FILE`] is validated and embedded as the
/// executable's `.tos.interface` section (a Rust contract's comes from its own object).
pub fn build_contract(dir: &Path, options: &BuildOptions<'_>) -> Result<Vec<u8>> {
    let dir = &std::path::absolute(dir).map_err(|source| io_error(dir, source))?;
    let objects = compile_objects(dir, options)?;
    let files: Vec<ObjectFile<'_>> = objects
        .iter()
        .map(|(name, bytes)| ObjectFile {
            name: name.as_str(),
            bytes: bytes.as_slice(),
        })
        .collect();
    let link_options = LinkOptions {
        entry_symbol: ENTRY_SYMBOL,
        syscalls: options.syscalls,
    };
    if detect_language(dir)? == ContractLanguage::C {
        if let Some((path, json, _)) = read_interface_file(dir)? {
            return Ok(crate::link_with_interface(
                &files,
                &link_options,
                &path.display().to_string(),
                &json,
            )?);
        }
    }
    Ok(crate::link(&files, &link_options)?)
}

// ---------------------------------------------------------------------------------------
// C interface file

/// The interface description beside a C contract's sources (docs/interface.md).
pub const INTERFACE_FILE: &str = "interface.json";

/// The header `tos-vm build` generates from [`INTERFACE_FILE`] for the C sources to include.
pub const INTERFACE_HEADER: &str = "tos_interface.h";

/// `dir/interface.json`, read (at most [`MAX_INTERFACE_LEN`] bytes) and validated; `None`
/// when there is none.
fn read_interface_file(dir: &Path) -> Result<Option<(PathBuf, Vec<u8>, Interface)>> {
    let path = dir.join(INTERFACE_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error(&path, source)),
    };
    let mut json = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_INTERFACE_LEN as u64 + 1),
        &mut json,
    )
    .map_err(|source| io_error(&path, source))?;
    match Interface::parse(&json) {
        Ok(interface) => Ok(Some((path, json, interface))),
        Err(source) => Err(ToolchainError::Interface { path, source }),
    }
}

/// `BadMetadata` -> `BAD_METADATA`, `balance_of` -> `BALANCE_OF`.
fn c_constant_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    out
}

/// The C header for an interface: `TOS_SELECTOR_<METHOD>` for every method (compare with
/// `tos_call_selector` of tos.h) and `TOS_ERROR_<NAME>` for every declared error code.
pub fn interface_header(interface: &Interface) -> String {
    let mut out = format!(
        "/* Generated by tos-vm build from {INTERFACE_FILE} of `{}`: do not edit. */\n\
         #ifndef TOS_INTERFACE_H\n#define TOS_INTERFACE_H\n\n\
         #define TOS_INTERFACE_NAME \"{}\"\n\n",
        interface.name, interface.name
    );
    for method in &interface.methods {
        out.push_str(&format!(
            "/* {}({}){}{} */\n#define TOS_SELECTOR_{} 0x{:08x}u\n",
            method.name,
            method
                .args
                .iter()
                .map(|a| format!("{}: {}", a.name, a.ty))
                .collect::<Vec<_>>()
                .join(", "),
            method
                .returns
                .as_ref()
                .map(|t| format!(" -> {t}"))
                .unwrap_or_default(),
            if method.readonly { ", read-only" } else { "" },
            c_constant_name(&method.name),
            method.selector
        ));
    }
    if !interface.errors.is_empty() {
        out.push('\n');
    }
    for error in &interface.errors {
        out.push_str(&format!(
            "#define TOS_ERROR_{} {}u\n",
            c_constant_name(&error.name),
            error.code
        ));
    }
    out.push_str("\n#endif /* TOS_INTERFACE_H */\n");
    out
}

/// A directory holding the generated [`INTERFACE_HEADER`], removed when dropped.
struct GeneratedInclude(PathBuf);

impl Drop for GeneratedInclude {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the header of `dir`'s interface file (if any) into a fresh temporary directory.
fn generate_interface_header(dir: &Path) -> Result<Option<GeneratedInclude>> {
    let Some((_, _, interface)) = read_interface_file(dir)? else {
        return Ok(None);
    };
    let seq = BUILD_SEQ.fetch_add(1, Ordering::Relaxed);
    let include = std::env::temp_dir().join(format!("tos-vm-include-{}-{seq}", std::process::id()));
    std::fs::create_dir_all(&include).map_err(|source| io_error(&include, source))?;
    let guard = GeneratedInclude(include);
    let header = guard.0.join(INTERFACE_HEADER);
    std::fs::write(&header, interface_header(&interface))
        .map_err(|source| io_error(&header, source))?;
    Ok(Some(guard))
}

// ---------------------------------------------------------------------------------------
// C

/// Target flags of every clang-19 invocation.
///
/// `-mcpu=v2`, never v3 or v4: v3 turns on alu32, and clang then assumes that 32-bit ALU
/// results are zero-extended into the 64-bit register, as in eBPF. SBPF sign-extends the
/// results of `add32`/`sub32`/`mul32` instead, so `(uint64_t)(a + b)` with
/// `uint32_t a = 0x7fffffff, b = 1` would give 0xffffffff80000000. v4 adds `sdiv`/`smod`/
/// `movsx` encodings that SBPF silently runs as unsigned division / plain moves, and `ldsx`,
/// which it rejects. v2 has neither: 32-bit values are zero-extended explicitly with 64-bit
/// instructions. (clang-19 has no switch for v3 without alu32.) The same CPU is given to `llc`.
const CLANG_TARGET_FLAGS: &[&str] = &["-target", "bpf", "-mcpu=v2"];

/// Language flags of every C contract's compilation (after [`CLANG_TARGET_FLAGS`]).
///
/// Hosted C, so that clang knows what `memset`, `memcpy` and `memmove` do (with
/// `-ffreestanding` or `-fno-builtin` it knows nothing of them): a byte loop that clears or
/// copies becomes one `llvm.memset`/`llvm.memcpy`, which `llc` expands into 8-byte loads and
/// stores when the length is a constant of up to 128 bytes (the `irpass` module's limit) and the
/// IR step routes to `tos_memset`/`tos_memmove` otherwise, and a `memcpy` call of a constant
/// length is expanded inline instead of costing a syscall. This is what Rust contracts always
/// had. Every guest load and store is a call into the VM's memory mapping under the JIT, so a
/// byte loop was the dearest way to move bytes: sha256's padding loops were 15 % of its
/// memory accesses (docs/performance.md, "Compute: fewer memory accesses").
/// `-nostdlibinc`: only clang's own headers (`stdint.h`, `stddef.h`, `stdbool.h`, ...), never
/// the build machine's libc headers, which do not exist for BPF (hosted clang's `stdint.h`
/// would include them). What hosted C adds beyond that is clang's knowledge of the C library's
/// names: a contract function named like one (`strlen`, `abs`, ...) must behave like it, and
/// a call the optimizer makes up must be one the link step binds (`memcpy`, `memmove`,
/// `memset`, `memcmp`, `bcmp`), or the build fails with "undefined symbol".
const C_FLAGS: &[&str] = &["-O2", "-nostdlibinc", "-emit-llvm"];

fn c_sources(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| io_error(dir, source))?.path();
        if path.extension().is_some_and(|ext| ext == "c") && path.is_file() {
            sources.push(path);
        }
    }
    sources.sort();
    Ok(sources)
}

fn compile_c(dir: &Path, options: &BuildOptions<'_>) -> Result<Vec<(String, Vec<u8>)>> {
    let clang = tool_path("TOS_CLANG", DEFAULT_CLANG);
    let llvm = LlvmTools::locate()?;
    let generated = generate_interface_header(dir)?;
    let mut objects = Vec::new();
    for source in c_sources(dir)? {
        let mut command = Command::new(&clang);
        command
            .args(CLANG_TARGET_FLAGS)
            .args(C_FLAGS)
            .arg("-I")
            .arg(&options.sdk_include);
        if let Some(include) = &generated {
            command.arg("-I").arg(&include.0);
        }
        command.arg("-c").arg(&source).args(["-o", "-"]);
        let bitcode = run(&mut command, &clang, &[])?.stdout;
        let stem = source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "contract".to_owned());
        let object = llvm.compile_bitcode(
            &bitcode,
            &source.display().to_string(),
            None,
            options.codegen,
        )?;
        objects.push((format!("{stem}.o"), object));
    }
    Ok(objects)
}

// ---------------------------------------------------------------------------------------
// Rust

/// The panic strategy of every crate built for the contract target: a panic (overflow check,
/// index out of bounds, `unwrap`, `panic!`) calls `core::intrinsics::abort` at once, which the
/// IR step turns into an abort of the call through `tos_panic` (the `irpass` module). Nothing
/// formats a message or records a location, so `core::fmt` and the panic handler leave the
/// contract: counter-rust went from 9,272 to 4,712 bytes, token from 55,640 to 50,488
/// (docs/performance.md, "Contract size"). The message is lost; host tests of the same code
/// (`cargo test`, the SDK's `host` feature) still show it. Debian's rustc 1.96 has this as a
/// panic strategy (core's older `panic_immediate_abort` feature now stops the build with a
/// pointer to it); it is unstable, so it needs `-Zunstable-options` (the build runs with
/// `RUSTC_BOOTSTRAP=1` anyway for `-Zbuild-std`). The flags come after cargo's
/// `-C panic=abort` (the profile's) on rustc's command line, and the last one counts.
pub const PANIC_STRATEGY_FLAGS: &[&str] = &["-Zunstable-options", "-Cpanic=immediate-abort"];

/// Counter that makes every Rust build's bitcode path unique within the process.
static BUILD_SEQ: AtomicU64 = AtomicU64::new(0);

fn compile_rust(dir: &Path, options: &BuildOptions<'_>) -> Result<(String, Vec<u8>)> {
    let cargo = tool_path("TOS_CARGO", DEFAULT_CARGO);
    let rustc = tool_path("TOS_RUSTC", DEFAULT_RUSTC);
    check_rust_sources(&rustc)?;
    let llvm = LlvmTools::locate()?;
    llvm.check_matches_rustc(&rustc)?;

    let manifest = dir.join("Cargo.toml");
    let target_dir = options
        .target_dir
        .clone()
        .unwrap_or_else(|| dir.join("target"));
    let target_dir =
        std::path::absolute(&target_dir).map_err(|source| io_error(&target_dir, source))?;
    let name = package_name(&manifest)?;

    // The bitcode goes to a path no other build uses (`--emit=llvm-bc=PATH`), for two reasons:
    // - it changes the final crate's command line, so cargo never skips rustc as "fresh"
    //   and the file is always this run's output (dependencies stay cached);
    // - concurrent builds into one target directory (cargo serialises them with its lock)
    //   never read each other's output and nothing has to be deleted in shared `deps/`.
    // The file is removed first and read only when cargo succeeded.
    let ir_dir = target_dir.join("tos-ir");
    std::fs::create_dir_all(&ir_dir).map_err(|source| io_error(&ir_dir, source))?;
    let seq = BUILD_SEQ.fetch_add(1, Ordering::Relaxed);
    let bc_path = ir_dir.join(format!("{name}-{}-{seq}.bc", std::process::id()));
    remove_if_exists(&bc_path)?;

    // Flags of every crate built for the target (core, alloc, compiler_builtins, tos-sdk, the
    // contract); host crates (proc macros, build scripts) do not get them. Given through
    // CARGO_ENCODED_RUSTFLAGS so that RUSTFLAGS or `build.rustflags` of the caller's
    // environment cannot add to them. `target-cpu=v2` lands in every function's attributes,
    // which `llc` honours and the IR step checks.
    // The build machine's directories are remapped out of the code (panic locations name
    // source files), so the same sources give the same executable, code hash and code-load
    // charge wherever they are built.
    let mut rustflags: Vec<String> = ["-Ctarget-cpu=v2"]
        .iter()
        .chain(PANIC_STRATEGY_FLAGS)
        .map(|flag| (*flag).to_owned())
        .collect();
    rustflags.extend(
        source_path_remaps(&cargo, &manifest)?
            .into_iter()
            .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display())),
    );
    let rustflags = rustflags.join("\x1f");
    let env: Vec<(&str, OsString)> = vec![
        ("RUSTC", rustc.clone().into()),
        // -Zbuild-std on a stable compiler.
        ("RUSTC_BOOTSTRAP", "1".into()),
        ("CARGO_ENCODED_RUSTFLAGS", rustflags.into()),
        // Fat LTO into one codegen unit merges the bitcode of every Rust dependency into
        // the contract's module, so the one bitcode file holds all the code. These override
        // the manifest.
        ("CARGO_PROFILE_RELEASE_LTO", "fat".into()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1".into()),
        ("CARGO_PROFILE_RELEASE_PANIC", "abort".into()),
        ("CARGO_PROFILE_RELEASE_DEBUG", "false".into()),
        ("CARGO_PROFILE_RELEASE_INCREMENTAL", "false".into()),
        // Overflow checks on, whatever the manifest says: `cargo test` (host mode) builds with
        // them, so `u64::MAX + 2` must panic in the VM too instead of giving 1.
        ("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "true".into()),
        ("CARGO_TERM_COLOR", "never".into()),
    ];
    let mut command = Command::new(&cargo);
    command
        .args(["rustc", "--release", "--lib", "--crate-type", "staticlib"])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--target", RUST_TARGET])
        .arg(format!("-Zbuild-std={BUILD_STD}"))
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--")
        .arg({
            let mut emit = OsString::from("--emit=llvm-bc=");
            emit.push(&bc_path);
            emit
        })
        .current_dir(dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "RUSTUP_TOOLCHAIN",
    ] {
        command.env_remove(var);
    }
    for (key, value) in &env {
        command.env(key, value);
    }
    let result = run(&mut command, &cargo, &env);
    if let Err(error) = result {
        let _ = std::fs::remove_file(&bc_path);
        return Err(error);
    }
    let bitcode = match std::fs::read(&bc_path) {
        Ok(bitcode) => bitcode,
        Err(_) => {
            return Err(ToolchainError::CompileFailed {
                command: render_command(&command, &env),
                stderr: format!(
                    "cargo succeeded but wrote no bitcode to `{}`",
                    bc_path.display()
                ),
            })
        }
    };
    let _ = std::fs::remove_file(&bc_path);
    // Keep the newest rewritten IR of the contract around for inspection.
    let keep = ir_dir.join(format!("{name}.ll"));
    let object = llvm.compile_bitcode(&bitcode, &name, Some(&keep), options.codegen)?;
    Ok((format!("{name}.o"), object))
}

/// The prefixes that differ between build machines, and what they become in the executable
/// (`--remap-path-prefix`; rustc applies the last that matches): the common directory of the
/// contract and its path dependencies (the SDK in a checkout) becomes `.`, Cargo's home (the
/// registry's sources, also those of `-Zbuild-std`) becomes `/cargo`.
fn source_path_remaps(cargo: &Path, manifest: &Path) -> Result<Vec<(PathBuf, &'static str)>> {
    let mut command = Command::new(cargo);
    command
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest);
    let output = run(&mut command, cargo, &[])?;
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| ToolchainError::CompileFailed {
            command: render_command(&command, &[]),
            stderr: format!("unreadable output: {e}"),
        })?;
    let mut root: Option<PathBuf> = None;
    let packages = metadata["packages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for package in packages.iter().filter(|p| p["source"].is_null()) {
        let Some(dir) = package["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
        else {
            continue;
        };
        root = Some(match root {
            None => dir.to_path_buf(),
            Some(root) => common_ancestor(&root, dir),
        });
    }
    let mut remaps = Vec::new();
    if let Some(root) = root.filter(|root| root.parent().is_some()) {
        remaps.push((root, "."));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    if let Some(cargo_home) = cargo_home.and_then(|home| std::path::absolute(home).ok()) {
        remaps.push((cargo_home, "/cargo"));
    }
    Ok(remaps)
}

/// The longest directory both `a` and `b` are in.
fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

// ---------------------------------------------------------------------------------------
// The IR step (LLVM 22 tools)

/// `opt` and `llc` of one LLVM installation.
struct LlvmTools {
    opt: PathBuf,
    llc: PathBuf,
    /// `llvm-mc`, the assembler of the 32-bit ALU route.
    mc: PathBuf,
}

impl LlvmTools {
    fn locate() -> Result<Self> {
        let bin = tool_path("TOS_LLVM_BIN", DEFAULT_LLVM_BIN);
        let tools = LlvmTools {
            opt: bin.join("opt"),
            llc: bin.join("llc"),
            mc: bin.join("llvm-mc"),
        };
        for tool in [&tools.opt, &tools.llc, &tools.mc] {
            if !tool.is_file() {
                return Err(ToolchainError::ToolMissing {
                    tool: format!("{} (Debian llvm-{LLVM_MAJOR})", tool.display()),
                    hint: SETUP_HINT,
                });
            }
        }
        Ok(tools)
    }

    /// Fails unless these tools can read rustc's bitcode (same LLVM major version or newer).
    fn check_matches_rustc(&self, rustc: &Path) -> Result<()> {
        let mut command = Command::new(rustc);
        command.arg("-vV");
        let rustc_info =
            String::from_utf8_lossy(&run(&mut command, rustc, &[])?.stdout).into_owned();
        let mut command = Command::new(&self.llc);
        command.arg("--version");
        let llc_info =
            String::from_utf8_lossy(&run(&mut command, &self.llc, &[])?.stdout).into_owned();
        let rustc_major = llvm_major(&rustc_info, "LLVM version: ");
        let tools_major = llvm_major(&llc_info, "LLVM version ");
        match (rustc_major, tools_major) {
            (Some(r), Some(t)) if t >= r => Ok(()),
            _ => Err(ToolchainError::ToolMissing {
                tool: format!(
                    "LLVM tools at least as new as rustc's LLVM (rustc: {}, {}: {}); set TOS_LLVM_BIN",
                    rustc_major.map_or("unknown".to_owned(), |m| m.to_string()),
                    self.llc.display(),
                    tools_major.map_or("unknown".to_owned(), |m| m.to_string()),
                ),
                hint: SETUP_HINT,
            }),
        }
    }

    /// Bitcode → rewritten IR → `opt` → `llc` → BPF object. `keep_ir`: where to leave the
    /// rewritten IR for inspection.
    fn compile_bitcode(
        &self,
        bitcode: &[u8],
        what: &str,
        keep_ir: Option<&Path>,
        codegen: Codegen,
    ) -> Result<Vec<u8>> {
        // Division wider than 64 bits (u128/i128) becomes a shift-subtract loop in IR (the
        // backend would call compiler_builtins for it, which it refuses), and the module is
        // printed as text for the rewrite.
        let mut expand = Command::new(&self.opt);
        expand.args([
            "-mtriple=bpfel",
            "-passes=require<libcall-lowering-info>,expand-ir-insts<O2>",
            "-expand-div-rem-bits=64",
            "-S",
            "-",
            "-o",
            "-",
        ]);
        let ir = run_with_input(&mut expand, &self.opt, bitcode)?.stdout;
        let ir = String::from_utf8(ir).map_err(|_| ToolchainError::CompileFailed {
            command: render_command(&expand, &[]),
            stderr: format!("{what}: opt printed invalid UTF-8"),
        })?;
        let rewritten =
            crate::irpass::rewrite(&ir).map_err(|reason| ToolchainError::CompileFailed {
                command: format!("tos-vm IR step (loader/src/irpass.rs) on {what}"),
                stderr: reason,
            })?;
        if let Some(path) = keep_ir {
            let stats = &rewritten.stats;
            let header = format!(
                "; tos-vm IR step: {} memory intrinsic call(s) routed to syscalls, {} left inline, \
                 {} signed division(s) and {} wide multiplication(s) rewritten, {} memory \
                 function body(ies) replaced\n",
                stats.mem_calls_routed,
                stats.mem_calls_inline,
                stats.signed_divisions,
                stats.multiplications,
                stats.mem_functions
            );
            let _ = std::fs::write(path, header + &rewritten.text);
        }

        let mut opt = Command::new(&self.opt);
        opt.args(["-passes=always-inline,globaldce", "-", "-o", "-"]);
        let optimized = run_with_input(&mut opt, &self.opt, rewritten.text.as_bytes())?.stdout;

        let stack = format!("-bpf-stack-size={STACK_FRAME_SIZE}");
        let mut llc = Command::new(&self.llc);
        if codegen == Codegen::V2 {
            llc.args([
                "-march=bpfel",
                "-mcpu=v2",
                LLC_FEATURES,
                "-O2",
                LLC_SCHEDULER,
                stack.as_str(),
                "-filetype=obj",
                "-",
                "-o",
                "-",
            ]);
            return run_with_input(&mut llc, &self.llc, &optimized)
                .map(|output| output.stdout)
                .map_err(explain_backend_error);
        }
        // The 32-bit ALU route: assembly text, eBPF's zero-extension restored after every
        // add32/sub32/mul32 (crate::asmpass), then assembled.
        llc.args([
            "-march=bpfel",
            "-mcpu=v2",
            LLC_FEATURES_ALU32,
            "-O2",
            LLC_SCHEDULER,
            stack.as_str(),
            "-filetype=asm",
            "-",
            "-o",
            "-",
        ]);
        let asm = run_with_input(&mut llc, &self.llc, &optimized)
            .map_err(explain_backend_error)?
            .stdout;
        let asm = String::from_utf8(asm).map_err(|_| ToolchainError::CompileFailed {
            command: render_command(&llc, &[]),
            stderr: format!("{what}: llc printed invalid UTF-8"),
        })?;
        let (asm, _stats) = crate::asmpass::zero_extend_alu32(&asm);
        let mut mc = Command::new(&self.mc);
        mc.args([
            "-triple=bpfel",
            LLC_FEATURES_ALU32,
            "-filetype=obj",
            "-",
            "-o",
            "-",
        ]);
        run_with_input(&mut mc, &self.mc, asm.as_bytes()).map(|output| output.stdout)
    }
}

/// Target features of every `llc` run. `allows-misaligned-mem-access` (LLVM 21+): a load or
/// store of 2, 4 or 8 bytes may sit at any address, as in SBPF (solana-sbpf's `MemoryMapping`
/// reads and writes with `read_unaligned`/`write_unaligned`, and its JIT with plain x86 moves,
/// which allow it). Without it the backend reads a `u64` at an address it cannot prove
/// 8-aligned (every borsh field, every `[u8; 32]` copy) as 8 byte loads, 7 shifts and 7 ors:
/// the token's code was 18 % smaller with it. Only the width of accesses changes, never
/// which bytes are read or written: a misaligned access lies inside the object it belongs to,
/// as its bytes did.
pub const LLC_FEATURES: &str = "-mattr=+allows-misaligned-mem-access";

/// The instruction scheduler `llc` orders each basic block with before register allocation:
/// LLVM's bottom-up list scheduler that weighs register pressure against latency
/// (`list-hybrid`) instead of the BPF backend's default (`list-ilp`, latency first). BPF has
/// ten registers, and every value that does not fit is spilled to the stack, and every spill
/// and reload is a load or store through the VM's memory mapping — under the JIT a call into
/// `MemoryMapping::load`/`store`, ~70 host instructions against ~3 for an ALU instruction
/// (docs/performance.md, "Compute: fewer memory accesses"). Measured on the compute
/// benchmarks: sha256's memory accesses −25 % (121,250 → 90,450 per run), its instructions
/// −1.5 %; fib and sort unchanged; the Rust examples' code within ±0.3 % of its size.
pub const LLC_SCHEDULER: &str = "-pre-RA-sched=list-hybrid";

/// [`LLC_FEATURES`] plus `alu32`, for the 32-bit ALU route (`llc` and `llvm-mc`).
pub const LLC_FEATURES_ALU32: &str = "-mattr=+allows-misaligned-mem-access,+alu32";

/// Backend refusals of ordinary Rust that the build cannot make compile, with the construct
/// that causes them and what to write instead (docs/contracts.md, "Limits that remain").
const BACKEND_REFUSALS: &[(&str, &str)] = &[
    (
        "too many arguments",
        "tos-vm: a function with more than 5 arguments was not inlined (BPF passes arguments \
         in r1-r5). Known causes: `slice::sort`, `sort_by`, `sort_by_key` (use \
         `sort_unstable`, `sort_unstable_by`, `sort_unstable_by_key`) and `format!`/`write!` \
         with `{:?}` or a width, fill or precision (use `{}` without padding, or \
         `tos_sdk::LogLine`).",
    ),
    (
        "stack limit",
        "tos-vm: a function needs more than the 4 KiB stack frame. Known cause: `slice::sort` \
         (its merge buffer; use `sort_unstable`); else move large locals to the heap (`Vec`, \
         `Box`).",
    ),
    (
        "__multi3",
        "tos-vm: 128-bit multiplication through compiler_builtins' `__multi3`, which the \
         backend cannot call. Known cause: formatting a `u128`/`i128` (`{}`); format it as \
         two `u64` halves (`x / 10_000_000_000_000_000_000` and the remainder) instead.",
    ),
];

/// Adds to a backend error what a known refusal means and what to write instead.
fn explain_backend_error(error: ToolchainError) -> ToolchainError {
    match error {
        ToolchainError::CompileFailed { command, stderr } => {
            let hints: Vec<&str> = BACKEND_REFUSALS
                .iter()
                .filter(|(needle, _)| stderr.contains(needle))
                .map(|(_, hint)| *hint)
                .collect();
            let stderr = if hints.is_empty() {
                stderr
            } else {
                format!("{stderr}\n{}", hints.join("\n"))
            };
            ToolchainError::CompileFailed { command, stderr }
        }
        other => other,
    }
}

/// The major version after `prefix` in a tool's version output.
fn llvm_major(info: &str, prefix: &str) -> Option<u32> {
    let at = info.find(prefix)? + prefix.len();
    let digits: String = info[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Fails with [`ToolchainError::ToolMissing`] when `rustc` has no `core` sources to build.
fn check_rust_sources(rustc: &Path) -> Result<()> {
    let mut command = Command::new(rustc);
    command.args(["--print", "sysroot"]);
    let output = run(&mut command, rustc, &[])?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let core = Path::new(&sysroot).join("lib/rustlib/src/rust/library/core/Cargo.toml");
    if core.is_file() {
        Ok(())
    } else {
        Err(ToolchainError::ToolMissing {
            tool: format!(
                "Rust core sources ({}; Debian rust-web-src)",
                core.display()
            ),
            hint: SETUP_HINT,
        })
    }
}

/// The package name of a manifest (`[package] name`), with `-` turned into `_`; used only to
/// name the object and the kept assembly. Falls back to the directory's name.
fn package_name(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest).map_err(|source| io_error(manifest, source))?;
    let mut in_package = false;
    let mut name = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "name" {
                let value = value.trim().trim_matches('"').trim_matches('\'');
                name = Some(value.to_owned());
                break;
            }
        }
    }
    let name = name
        .or_else(|| {
            manifest
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "contract".to_owned());
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Ok(name)
}

// ---------------------------------------------------------------------------------------
// Process helpers

fn tool_path(env_var: &str, default: &str) -> PathBuf {
    match std::env::var_os(env_var) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => PathBuf::from(default),
    }
}

/// Runs `command`; a tool that cannot be started is [`ToolchainError::ToolMissing`], a
/// non-zero exit status is [`ToolchainError::CompileFailed`].
fn run(command: &mut Command, tool: &Path, env: &[(&str, OsString)]) -> Result<Output> {
    let output = match command.output() {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolchainError::ToolMissing {
                tool: tool.display().to_string(),
                hint: SETUP_HINT,
            });
        }
        Err(source) => return Err(io_error(tool, source)),
    };
    check_output(command, env, output)
}

/// Runs an LLVM tool with `input` on its standard input. Besides a non-zero exit status, any
/// `error:` on its standard error fails the run: a backend error never passes unseen.
fn run_with_input(command: &mut Command, tool: &Path, input: &[u8]) -> Result<Output> {
    use std::io::Write as _;
    use std::process::Stdio;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolchainError::ToolMissing {
                tool: tool.display().to_string(),
                hint: SETUP_HINT,
            });
        }
        Err(source) => return Err(io_error(tool, source)),
    };
    let output = std::thread::scope(|scope| {
        let mut stdin = child.stdin.take();
        let writer = scope.spawn(move || {
            if let Some(stdin) = stdin.as_mut() {
                // A tool that stops reading early fails on its own; its status tells.
                let _ = stdin.write_all(input);
            }
        });
        let output = child.wait_with_output();
        let _ = writer.join();
        output
    })
    .map_err(|source| io_error(tool, source))?;
    let output = check_output(command, &[], output)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("error:") {
        return Err(ToolchainError::CompileFailed {
            command: render_command(command, &[]),
            stderr: stderr.into_owned(),
        });
    }
    Ok(output)
}

fn check_output(command: &Command, env: &[(&str, OsString)], output: Output) -> Result<Output> {
    if output.status.success() {
        Ok(output)
    } else {
        let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if stderr.trim().is_empty() {
            stderr = format!("exited with {}", output.status);
        }
        Err(ToolchainError::CompileFailed {
            command: render_command(command, env),
            stderr,
        })
    }
}

/// The command line as it could be pasted into a shell (with the environment we set).
fn render_command(command: &Command, env: &[(&str, OsString)]) -> String {
    let mut parts: Vec<String> = env
        .iter()
        .map(|(key, value)| format!("{key}={}", shell_quote(&value.to_string_lossy())))
        .collect();
    parts.push(shell_quote(&command.get_program().to_string_lossy()));
    parts.extend(
        command
            .get_args()
            .map(|arg| shell_quote(&arg.to_string_lossy())),
    );
    parts.join(" ")
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!(
            "'{}'",
            s.replace('\'', r"'\''").replace('\x1f', r"'$'\x1f''")
        )
    }
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_error(path, source)),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ToolchainError {
    ToolchainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_name_from_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[workspace]\n\n[package]\nname = \"counter-rust\"\nversion = \"0.1.0\"\n\n[lib]\nname = \"x\"\n",
        )
        .unwrap();
        assert_eq!(package_name(&manifest).unwrap(), "counter_rust");
    }

    #[test]
    fn detect() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            detect_language(dir.path()),
            Err(ToolchainError::NotAContract { .. })
        ));
        std::fs::write(dir.path().join("a.c"), "").unwrap();
        assert_eq!(detect_language(dir.path()).unwrap(), ContractLanguage::C);
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        assert_eq!(detect_language(dir.path()).unwrap(), ContractLanguage::Rust);
        assert!(matches!(
            detect_language(&dir.path().join("missing")),
            Err(ToolchainError::NotAContract { .. })
        ));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("-Zbuild-std=core"), "-Zbuild-std=core");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
