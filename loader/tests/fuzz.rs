//! Random damage to real inputs must give errors, never panics.

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use tos_loader::{link, validate_executable, LinkOptions, ObjectFile};

/// A clang-built object with calls, rodata, relocations and a syscall, if clang is present;
/// otherwise the hand-built sample.
fn real_object() -> &'static [u8] {
    static OBJ: OnceLock<Vec<u8>> = OnceLock::new();
    OBJ.get_or_init(|| {
        if have_clang("fuzz (falls back to the hand-built object)") {
            let mut obj = compile("fnptr.c", &["-ffunction-sections"]);
            // Make sure the object exercises the syscall path too.
            if let Ok(log) = try_compile("log.c", &[]) {
                if log.len() > obj.len() {
                    obj = log;
                }
            }
            obj
        } else {
            sample_object()
        }
    })
}

fn linked() -> &'static [u8] {
    static ELF: OnceLock<Vec<u8>> = OnceLock::new();
    ELF.get_or_init(|| link_one("sample.o", &sample_object()).unwrap())
}

fn mutate(base: &[u8], edits: &[(usize, u8)], truncate: Option<usize>) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for (pos, value) in edits {
        let i = pos % bytes.len();
        bytes[i] = *value;
    }
    if let Some(t) = truncate {
        bytes.truncate(t % (bytes.len() + 1));
    }
    bytes
}

fn link_both(obj: &[u8]) {
    let sample = sample_object();
    let _ = link(
        &[ObjectFile {
            name: "m.o",
            bytes: obj,
        }],
        &LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: SYSCALLS,
        },
    );
    // Also next to a good object (symbol resolution across objects).
    let _ = link(
        &[
            ObjectFile {
                name: "m.o",
                bytes: obj,
            },
            ObjectFile {
                name: "s.o",
                bytes: &sample,
            },
        ],
        &LinkOptions {
            entry_symbol: "entrypoint",
            syscalls: SYSCALLS,
        },
    );
}

/// 512 cases per property by default; `PROPTEST_CASES=N` for a longer hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_clang_object_never_panics(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        truncate in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let obj = mutate(real_object(), &edits, truncate);
        link_both(&obj);
    }

    #[test]
    fn mutated_sample_object_never_panics(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        truncate in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let obj = mutate(&sample_object(), &edits, truncate);
        link_both(&obj);
    }

    /// Mutations inside the header area (where offsets and counts live) are the dangerous ones.
    #[test]
    fn mutated_object_headers_never_panic(
        edits in prop::collection::vec((0usize..64, any::<u8>()), 1..6),
        table_edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        let base = real_object();
        let mut obj = mutate(base, &edits, None);
        // Hit the section header table (at the end of clang's objects) too.
        let tail = base.len().saturating_sub(64 * 20);
        for (pos, value) in table_edits {
            let i = tail + pos % (base.len() - tail);
            obj[i] = value;
        }
        link_both(&obj);
    }

    /// Whole 32/64-bit fields set to random (often huge) values: offsets, sizes, symbol values,
    /// relocation infos.
    #[test]
    fn word_mutations_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<u64>(), any::<bool>()), 1..6),
        use_sample in any::<bool>(),
    ) {
        let sample = sample_object();
        let mut obj = if use_sample { sample.clone() } else { real_object().to_vec() };
        let mut elf = linked().to_vec();
        for (pos, value, wide) in &edits {
            for bytes in [&mut obj, &mut elf] {
                let width = if *wide { 8 } else { 4 };
                let at = (pos % (bytes.len() / 4)) * 4;
                let end = (at + width).min(bytes.len());
                bytes[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
            }
        }
        link_both(&obj);
        let _ = validate_executable(&elf, SYSCALLS);
    }

    #[test]
    fn mutated_executable_never_panics(
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        truncate in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let elf = mutate(linked(), &edits, truncate);
        if validate_executable(&elf, SYSCALLS).is_ok() {
            // Whatever we accept, solana-sbpf loads (validate_executable already checked it with
            // its own loader; this double-checks with a different context type and config).
            let loader = std::sync::Arc::new(solana_sbpf::program::BuiltinProgram::<TestContext>::new_mock());
            prop_assert!(solana_sbpf::elf::Executable::<TestContext>::load(&elf, loader).is_ok());
        }
        let _ = tos_loader::disassemble(&elf, SYSCALLS);
    }

    #[test]
    fn mutated_executable_headers_never_panic(
        edits in prop::collection::vec((0usize..176, any::<u8>()), 1..6),
    ) {
        let elf = mutate(linked(), &edits, None);
        let _ = validate_executable(&elf, SYSCALLS);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        link_both(&bytes);
        let _ = validate_executable(&bytes, SYSCALLS);
        let mut with_magic = bytes.clone();
        with_magic.splice(0..0, [0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
        link_both(&with_magic);
        let _ = validate_executable(&with_magic, SYSCALLS);
    }
}
