//! Example contracts built from source, cached by the hash of their sources.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::Mutex,
};

use tos_loader::toolchain::{self, BuildOptions};

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
        root.join("loader").join("src"),
    ] {
        hash_tree(&mut hasher, &tree);
    }
    hasher.finalize().to_hex()[..16].to_string()
}

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds the contract in `dir` (C or Rust) unless an ELF of the same sources is cached.
pub fn build_contract_cached(dir: &Path) -> Result<Vec<u8>, String> {
    let root = workspace_root();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cache_dir = root.join("target").join("tos-fixtures");
    let cached = cache_dir.join(format!("{name}-{}.so", source_hash(dir)));
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(elf) = fs::read(&cached) {
        return Ok(elf);
    }
    let syscalls = tos_syscalls::syscall_names();
    let options = BuildOptions {
        syscalls: &syscalls,
        target_dir: Some(root.join("target").join("contracts").join(&name)),
        sdk_include: root.join("sdk").join("c"),
    };
    let elf = toolchain::build_contract(dir, &options)
        .map_err(|e| format!("building {}: {e}", dir.display()))?;
    fs::create_dir_all(&cache_dir).map_err(|e| e.to_string())?;
    // Write then rename: a concurrent test binary never reads half a file.
    let partial = cache_dir.join(format!("{name}.{}.partial", std::process::id()));
    fs::write(&partial, &elf).map_err(|e| e.to_string())?;
    fs::rename(&partial, &cached).map_err(|e| e.to_string())?;
    Ok(elf)
}

/// The ELF of `examples/<name>`, built from source (cached). Panics with the build's error:
/// for tests only.
pub fn example_elf(name: &str) -> Vec<u8> {
    match build_contract_cached(&example_dir(name)) {
        Ok(elf) => elf,
        Err(error) => panic!("{error}"),
    }
}
