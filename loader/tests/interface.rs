//! The `.tos.interface` section: carried from an object or embedded from a file by the link
//! step, validated at link and at deploy time, never loaded, and hostile ones refused with a
//! typed error before anything runs.

mod common;

use common::{compile, have_clang, run, SYSCALLS};
use tos_loader::interface::{selector, InterfaceError, SECTION_NAME};
use tos_loader::{
    interface_of, link, link_with_interface, validate_executable, LinkOptions, LoaderError,
    ObjectFile,
};

fn options() -> LinkOptions<'static> {
    LinkOptions {
        entry_symbol: "entrypoint",
        syscalls: SYSCALLS,
    }
}

fn interface_json(methods: &[(&str, u32)]) -> String {
    let methods: Vec<String> = methods
        .iter()
        .map(|(name, sel)| {
            format!(
                r#"{{"name":"{name}","selector":{sel},"readonly":false,"args":[{{"name":"x","type":"u64"}}],"returns":"u64"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"format":1,"name":"log-fixture","methods":[{}]}}"#,
        methods.join(",")
    )
}

fn log_object() -> Vec<u8> {
    compile("log.c", &[])
}

fn link_log(interface: &[u8]) -> Result<Vec<u8>, LoaderError> {
    let object = log_object();
    link_with_interface(
        &[ObjectFile {
            name: "log.o",
            bytes: &object,
        }],
        &options(),
        "interface.json",
        interface,
    )
}

/// The byte range of the section named `name` in a finished executable.
fn section_range(elf: &[u8], name: &str) -> Option<(usize, usize, usize)> {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let shoff = u64_at(40);
    let shnum = u16_at(60);
    let shstrndx = u16_at(62);
    let strtab = u64_at(shoff + shstrndx * 64 + 24);
    (0..shnum).find_map(|i| {
        let header = shoff + i * 64;
        let name_off = strtab + u32_at(header);
        let end = elf[name_off..].iter().position(|b| *b == 0)? + name_off;
        (&elf[name_off..end] == name.as_bytes())
            .then(|| (header, u64_at(header + 24), u64_at(header + 32)))
    })
}

#[test]
fn an_embedded_interface_is_carried_validated_and_never_loaded() {
    if !have_clang("an_embedded_interface_is_carried_validated_and_never_loaded") {
        return;
    }
    let object = log_object();
    let plain = link(
        &[ObjectFile {
            name: "log.o",
            bytes: &object,
        }],
        &options(),
    )
    .expect("links");
    let json = interface_json(&[("get", selector("get"))]);
    let elf = link_log(json.as_bytes()).expect("links with an interface");

    let info = validate_executable(&elf, SYSCALLS).expect("valid");
    let interface = info.interface.clone().expect("carries the interface");
    assert_eq!(interface.name, "log-fixture");
    assert_eq!(interface_of(&elf).expect("reads"), Some(interface));
    assert_eq!(interface_of(&plain).expect("reads"), None);
    assert!(validate_executable(&plain, SYSCALLS)
        .expect("valid")
        .interface
        .is_none());

    // Never loaded: the loaded segments are byte for byte those of the plain link, and the
    // program runs the same (solana-sbpf's strict parser ignores section headers).
    let plain_info = validate_executable(&plain, SYSCALLS).expect("valid");
    assert_eq!(info.rodata_bytes, plain_info.rodata_bytes);
    assert_eq!(info.text_bytes, plain_info.text_bytes);
    let loaded_end = 64 + 56 * 2 + info.rodata_bytes + info.text_bytes;
    assert_eq!(elf[64..loaded_end], plain[64..loaded_end]);
    assert_eq!(run(&elf, b"abc"), run(&plain, b"abc"));
    let (header, offset, size) = section_range(&elf, SECTION_NAME).expect("section present");
    assert!(
        offset >= loaded_end,
        "the section lies outside the loaded segments"
    );
    assert_eq!(&elf[offset..offset + size], json.as_bytes());
    let flags = u64::from_le_bytes(elf[header + 8..header + 16].try_into().unwrap());
    assert_eq!(flags, 0, "not SHF_ALLOC");
}

#[test]
fn the_link_step_refuses_a_bad_interface_file() {
    if !have_clang("the_link_step_refuses_a_bad_interface_file") {
        return;
    }
    let inner = |r: Result<Vec<u8>, LoaderError>| match r {
        Err(LoaderError::InvalidInterface(e)) => *e,
        other => panic!("expected InvalidInterface, got {other:?}"),
    };
    let huge = format!(
        r#"{{"format":1,"name":"x","docs":"{}"}}"#,
        "a".repeat(70 * 1024)
    );
    assert!(matches!(
        inner(link_log(huge.as_bytes())),
        InterfaceError::TooLarge { .. }
    ));
    assert!(matches!(
        inner(link_log(b"{\"format\":1,")),
        InterfaceError::Json { .. }
    ));
    assert!(matches!(
        inner(link_log(b"\xff\xfe")),
        InterfaceError::NotUtf8 { .. }
    ));
    let wrong_type = interface_json(&[("get", selector("get"))]).replace("\"u64\"", "42");
    assert!(matches!(
        inner(link_log(wrong_type.as_bytes())),
        InterfaceError::Json { .. }
    ));
    let duplicated = interface_json(&[("get", selector("get")), ("get", selector("get"))]);
    assert!(matches!(
        inner(link_log(duplicated.as_bytes())),
        InterfaceError::DuplicateName { .. }
    ));
    let lying = interface_json(&[("get", selector("set"))]);
    let err = inner(link_log(lying.as_bytes()));
    assert!(
        matches!(&err, InterfaceError::SelectorMismatch { method, .. } if method == "get"),
        "{err:?}"
    );
    let message = LoaderError::from(err).to_string();
    assert!(
        message.contains(".tos.interface") && message.contains("`get`"),
        "{message}"
    );
}

/// Overwrites the section's JSON in place (same length) and returns the patched executable.
fn patched(elf: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let (_, offset, size) = section_range(elf, SECTION_NAME).expect("section");
    let json = std::str::from_utf8(&elf[offset..offset + size]).expect("utf-8");
    let edited = edit(json);
    assert_eq!(edited.len(), json.len(), "same-length edits only");
    let mut out = elf.to_vec();
    out[offset..offset + size].copy_from_slice(edited.as_bytes());
    out
}

#[test]
fn deploy_validation_refuses_a_tampered_interface() {
    if !have_clang("deploy_validation_refuses_a_tampered_interface") {
        return;
    }
    let json = interface_json(&[("get", selector("get")), ("put", selector("put"))]);
    let elf = link_log(json.as_bytes()).expect("links");
    let refused = |elf: &[u8]| {
        let deploy = validate_executable(elf, SYSCALLS);
        let read = interface_of(elf);
        assert_eq!(deploy.as_ref().err(), read.as_ref().err());
        deploy.expect_err("refused")
    };
    // A selector that no longer matches its method.
    let bad = patched(&elf, |j| j.replacen("\"get\"", "\"gex\"", 1));
    assert!(matches!(
        refused(&bad),
        LoaderError::InvalidInterface(e) if matches!(*e, InterfaceError::SelectorMismatch { .. })
    ));
    // Two methods of one name (hence one selector).
    let bad = patched(&elf, |j| {
        j.replacen("\"put\"", "\"get\"", 1).replacen(
            &selector("put").to_string(),
            &format!(
                "{:0width$}",
                selector("get"),
                width = selector("put").to_string().len()
            ),
            1,
        )
    });
    assert!(matches!(refused(&bad), LoaderError::InvalidInterface(_)));
    // Not JSON any more.
    let bad = patched(&elf, |j| j.replacen('{', "[", 1));
    assert!(matches!(
        refused(&bad),
        LoaderError::InvalidInterface(e) if matches!(*e, InterfaceError::Json { .. })
    ));
    // A wrong JSON type.
    let bad = patched(&elf, |j| j.replacen("false", "0    ", 1));
    assert!(matches!(refused(&bad), LoaderError::InvalidInterface(_)));

    // The section made loadable, or claiming more bytes than the file has.
    let (header, _, _) = section_range(&elf, SECTION_NAME).expect("section");
    let mut alloc = elf.clone();
    alloc[header + 8] = 2; // SHF_ALLOC
    assert!(matches!(
        refused(&alloc),
        LoaderError::InterfaceSection { .. }
    ));
    let mut long = elf.clone();
    long[header + 32..header + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        refused(&long),
        LoaderError::InvalidInterface(e) if matches!(*e, InterfaceError::TooLarge { .. })
    ));
    let mut past = elf.clone();
    past[header + 24..header + 32].copy_from_slice(&(elf.len() as u64 - 4).to_le_bytes());
    assert!(matches!(
        refused(&past),
        LoaderError::InterfaceSection { .. }
    ));
}

#[test]
fn an_interface_section_of_an_object_is_carried() {
    if !have_clang("an_interface_section_of_an_object_is_carried") {
        return;
    }
    let object = compile("interface_obj.c", &[]);
    let elf = link(
        &[ObjectFile {
            name: "interface_obj.o",
            bytes: &object,
        }],
        &options(),
    )
    .expect("links");
    let interface = interface_of(&elf).expect("valid").expect("carried");
    assert_eq!(interface.name, "fixture");
    assert!(interface.method("ping").is_some_and(|m| m.readonly));
    // Not loaded: no rodata at all besides the log message.
    let info = validate_executable(&elf, SYSCALLS).expect("valid");
    assert!(
        info.rodata_bytes < 64,
        "{} bytes of rodata",
        info.rodata_bytes
    );
    assert_eq!(run(&elf, b"xy").log, vec![b"pong".to_vec()]);

    // An object's interface and a file's at once, or two objects' interfaces, are refused.
    let both = link_with_interface(
        &[ObjectFile {
            name: "interface_obj.o",
            bytes: &object,
        }],
        &options(),
        "interface.json",
        interface_json(&[]).as_bytes(),
    );
    assert!(
        matches!(both, Err(LoaderError::InterfaceSection { .. })),
        "{both:?}"
    );
    let lib = compile("interface_lib.c", &[]);
    let two = link(
        &[
            ObjectFile {
                name: "interface_obj.o",
                bytes: &object,
            },
            ObjectFile {
                name: "interface_lib.o",
                bytes: &lib,
            },
        ],
        &options(),
    );
    assert!(
        matches!(&two, Err(LoaderError::InterfaceSection { what, .. }) if what.contains("second")),
        "{two:?}"
    );
}

#[test]
fn code_cannot_refer_to_the_interface() {
    if !have_clang("code_cannot_refer_to_the_interface") {
        return;
    }
    let object = compile("interface_ref.c", &[]);
    let result = link(
        &[ObjectFile {
            name: "interface_ref.o",
            bytes: &object,
        }],
        &options(),
    );
    assert!(
        matches!(&result, Err(LoaderError::UnsupportedSection { section, .. }) if section == SECTION_NAME),
        "{result:?}"
    );
}
