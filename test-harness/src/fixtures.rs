//! Contracts built from source, cached by the hash of their sources.
//!
//! Two levels: within one process every contract is built (or read) once; across processes
//! and runs the ELF is kept under `target/tos-fixtures/<name>-<source hash>.so`, where the
//! hash covers the contract's directory, the SDKs (`sdk/`, `sdk-macros/`, `abi/`) and the link step
//! (`loader/src`). Older builds of the same contract are removed when a new one is written.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    sync::Mutex,
};

use tos_loader::toolchain::{self, BuildOptions, Codegen};

/// The repository root (this crate lives in `<root>/test-harness`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `examples/<name>` in the repository.
pub fn example_dir(name: &str) -> PathBuf {
    workspace_root().join("examples").join(name)
}

fn hash_tree(hasher: &mut blake3::Hasher, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "target"
            || name.starts_with('.')
            || name.ends_with(".so")
            || name == "Cargo.lock"
        {
            continue;
        }
        if path.is_dir() {
            hash_tree(hasher, &path);
        } else if let Ok(bytes) = fs::read(&path) {
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
}

/// Hash of everything an example's build depends on: its sources, the SDKs and the linker.
fn source_hash(dir: &Path) -> String {
    let root = workspace_root();
    let mut hasher = blake3::Hasher::new();
    for tree in [
        dir.to_path_buf(),
        root.join("sdk"),
        root.join("sdk-macros"),
        root.join("abi"),
        root.join("loader").join("src"),
    ] {
        hash_tree(&mut hasher, &tree);
    }
    hasher.finalize().to_hex()[..16].to_string()
}

/// ELFs this process already has, by contract directory and code generation. Also
/// serializes builds.
static BUILT: Mutex<Option<BuiltElfs>> = Mutex::new(None);

type BuiltElfs = HashMap<(PathBuf, Codegen), Vec<u8>>;

/// Builds the contract in `dir` (C or Rust) unless an ELF of the same sources is cached.
pub fn build_contract_cached(dir: &Path) -> Result<Vec<u8>, String> {
    build_contract_cached_with(dir, Codegen::default())
}

/// [`build_contract_cached`] with another code generation (cached apart: `<name>-alu32-...`).
pub fn build_contract_cached_with(dir: &Path, codegen: Codegen) -> Result<Vec<u8>, String> {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    let key = (dir.to_path_buf(), codegen);
    if let Some(elf) = built.get(&key) {
        return Ok(elf.clone());
    }
    let elf = build_uncached_in_process(dir, codegen)?;
    built.insert(key, elf.clone());
    Ok(elf)
}

fn build_uncached_in_process(dir: &Path, codegen: Codegen) -> Result<Vec<u8>, String> {
    let root = workspace_root();
    let mut name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match codegen {
        Codegen::V2 => {}
        Codegen::Alu32 => name.push_str("-alu32"),
    }
    let cache_dir = root.join("target").join("tos-fixtures");
    let file_name = format!("{name}-{}.so", source_hash(dir));
    let cached = cache_dir.join(&file_name);
    if let Ok(elf) = fs::read(&cached) {
        return Ok(elf);
    }
    let syscalls = tos_syscalls::syscall_names();
    let options = BuildOptions {
        syscalls: &syscalls,
        // One target directory for every contract: `core`, `alloc` and the SDK's
        // dependencies are built for BPF once, not once per contract.
        target_dir: Some(root.join("target").join("contracts").join("shared")),
        sdk_include: root.join("sdk").join("c"),
        codegen,
    };
    let elf = toolchain::build_contract(dir, &options)
        .map_err(|e| format!("building {}: {e}", dir.display()))?;
    fs::create_dir_all(&cache_dir).map_err(|e| e.to_string())?;
    // Write then rename: a concurrent test binary never reads half a file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = cache_dir.join(format!("{name}.{}.{serial}.partial", std::process::id()));
    fs::write(&partial, &elf).map_err(|e| e.to_string())?;
    fs::rename(&partial, &cached).map_err(|e| e.to_string())?;
    remove_stale_builds(&cache_dir, &name, &file_name);
    Ok(elf)
}

/// Removes `<name>-<other hash>.so`: builds of sources that no longer exist. Readers load a
/// whole file at once, so removing one under another process is harmless.
fn remove_stale_builds(cache_dir: &Path, name: &str, keep: &str) {
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    let prefix = format!("{name}-");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(hash) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".so"))
        else {
            continue;
        };
        // Only our own names: 16 hex digits (so `counter` never removes `counter-rust-...`).
        if file != keep && hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Every contract directory under `examples/`, sorted by name.
pub fn example_names() -> Vec<String> {
    let Ok(entries) = fs::read_dir(workspace_root().join("examples")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// The ELF of `examples/<name>`, built from source (cached). Panics with the build's error:
/// for tests only.
pub fn example_elf(name: &str) -> Vec<u8> {
    match build_contract_cached(&example_dir(name)) {
        Ok(elf) => elf,
        Err(error) => panic!("{error}"),
    }
}

/// The C syscall probe (`tests/contracts/probe/probe.c`) compiled with `PROBE_VARIANT` =
/// `variant`: the same behaviour under a distinct code hash, for tests that need several
/// contracts (cross-contract calls, reentrancy, call depth, parallel blocks).
pub fn probe_variant_elf(variant: u32) -> Vec<u8> {
    let root = workspace_root();
    let source = match fs::read_to_string(root.join("tests/contracts/probe/probe.c")) {
        Ok(source) => source,
        Err(error) => panic!("reading the probe's source: {error}"),
    };
    let dir = root.join(format!("target/tos-fixtures/src/probe-v{variant}"));
    let file = dir.join("probe.c");
    let text = format!("#define PROBE_VARIANT {variant}\n{source}");
    if fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        // Write then rename: another test process may be building from it. The partial name
        // is unique per process and call, so threads of one test binary never share it.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let serial = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let written = fs::create_dir_all(&dir).and_then(|()| {
            let partial = dir.join(format!("probe.c.{}.{serial}.partial", std::process::id()));
            fs::write(&partial, &text).and_then(|()| fs::rename(&partial, &file))
        });
        if let Err(error) = written {
            panic!("writing {}: {error}", file.display());
        }
    }
    match build_contract_cached(&dir) {
        Ok(elf) => elf,
        Err(error) => panic!("{error}"),
    }
}
