//! The link step binds the C memory functions a compiler calls by name to the `tos_mem*`
//! syscalls, when those are allowed.

mod common;

use common::*;
use tos_loader::{
    link, validate_executable, LinkOptions, LoaderError, ObjectFile, BUILTIN_ALIASES,
};

#[test]
fn memcpy_is_bound_to_tos_memcpy_when_allowed() {
    if !have_clang("memcpy_is_bound_to_tos_memcpy_when_allowed") {
        return;
    }
    let obj = compile("memcpy.c", &[]);
    let syscalls = ["tos_log", "tos_memcpy"];
    let elf = link(
        &[ObjectFile {
            name: "memcpy.o",
            bytes: &obj,
        }],
        &LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: &syscalls,
        },
    )
    .unwrap();
    let info = validate_executable(&elf, &syscalls).unwrap();
    assert_eq!(info.syscalls_used, vec!["tos_memcpy".to_string()]);

    // Without the syscall the name stays unknown, with a hint naming what to allow.
    let err = link(
        &[ObjectFile {
            name: "memcpy.o",
            bytes: &obj,
        }],
        &LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: &["tos_log"],
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, LoaderError::UnknownSyscall { symbol, .. } if symbol == "memcpy"),
        "{err:?}"
    );
    assert!(err.to_string().contains("tos_memcpy"), "{err}");
}

#[test]
fn alias_table_names_only_memory_syscalls() {
    for (alias, target) in BUILTIN_ALIASES {
        assert!(target.starts_with("tos_mem"), "{alias} -> {target}");
    }
    assert!(BUILTIN_ALIASES.contains(&("bcmp", "tos_memcmp")));
}
