//! `tos-vm build` and `tos-vm inspect`: compile a contract, show what an executable holds.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use tos_vm::loader::toolchain::{self, BuildOptions};

use crate::{args::read_code_file, calls::signature};

/// Where `sdk/c/tos.h` lives: `TOS_SDK_C_DIR` at run time, else this source tree's copy.
pub fn sdk_include_dir() -> PathBuf {
    std::env::var_os("TOS_SDK_C_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk").join("c"))
}

pub fn build(dir: &Path, output: Option<PathBuf>) -> Result<ExitCode, String> {
    let syscalls = tos_vm::syscalls::syscall_names();
    let options = BuildOptions {
        syscalls: &syscalls,
        // As cargo: CARGO_TARGET_DIR (relative to the working directory) when set.
        target_dir: std::env::var_os("CARGO_TARGET_DIR")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from),
        sdk_include: sdk_include_dir(),
        codegen: toolchain::Codegen::default(),
    };
    let elf = toolchain::build_contract(dir, &options).map_err(|e| e.to_string())?;
    let output = output.unwrap_or_else(|| {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "contract".into());
        dir.join(format!("{name}.so"))
    });
    std::fs::write(&output, &elf).map_err(|e| format!("writing {}: {e}", output.display()))?;
    out!(
        "{} ({} bytes, code hash {})",
        output.display(),
        elf.len(),
        tos_vm::code_hash(&elf)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn inspect(
    file: &Path,
    list_functions: bool,
    interface_json: bool,
) -> Result<ExitCode, String> {
    let elf = read_code_file(file)?;
    let syscalls = tos_vm::syscalls::syscall_names();
    let info = tos_vm::loader::validate_executable(&elf, &syscalls).map_err(|e| e.to_string())?;
    if interface_json {
        // Only the JSON, so that it can be piped.
        let interface = info
            .interface
            .as_ref()
            .ok_or_else(|| format!("{} has no interface", file.display()))?;
        out!("{}", interface.to_json_pretty());
        return Ok(ExitCode::SUCCESS);
    }
    out!("file          {}", file.display());
    out!("code hash     {}", tos_vm::code_hash(&elf));
    out!("size          {} bytes", elf.len());
    out!("sbpf version  V{}", info.sbpf_version);
    out!(
        "text          {} bytes, {} instructions",
        info.text_bytes,
        info.instruction_count
    );
    out!("rodata        {} bytes", info.rodata_bytes);
    out!("entry pc      {}", info.entry_pc);
    out!("syscalls      {}", info.syscalls_used.join(", "));
    out!("functions     {}", info.functions.len());
    if list_functions {
        for (name, pc) in &info.functions {
            out!("  {name} @ {pc}");
        }
    }
    let Some(interface) = &info.interface else {
        out!("interface     none (call it with raw --input)");
        return Ok(ExitCode::SUCCESS);
    };
    out!(
        "interface     {} ({} methods, {} events, {} errors)",
        interface.name,
        interface.methods.len(),
        interface.events.len(),
        interface.errors.len()
    );
    if let Some(docs) = &interface.docs {
        out!("  {}", docs.replace('\n', "\n  "));
    }
    for method in &interface.methods {
        let mut flags = Vec::new();
        if method.readonly {
            flags.push("read-only");
        }
        if method.constructor {
            flags.push("constructor");
        }
        out!(
            "  method {}  [selector {:#010x}{}{}]",
            signature(method),
            method.selector,
            if flags.is_empty() { "" } else { ", " },
            flags.join(", ")
        );
        if let Some(docs) = &method.docs {
            out!("      {}", docs.replace('\n', "\n      "));
        }
    }
    for event in &interface.events {
        let fields: Vec<String> = event
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect();
        out!("  event  {}({})", event.name, fields.join(", "));
    }
    for error in &interface.errors {
        out!(
            "  error  {} {}{}",
            error.code,
            error.name,
            error
                .docs
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
    }
    for (name, decl) in &interface.types {
        let fields: Vec<String> = decl
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect();
        out!("  type   {name} {{ {} }}", fields.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
