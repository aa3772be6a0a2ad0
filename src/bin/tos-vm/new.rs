//! `tos-vm new NAME [--lang rust|c]`: a contract project that builds with `tos-vm build`, with a
//! host-side test (Rust), a harness test under both engines, and a README (docs/tutorial.md
//! starts from it).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

/// The language of a new project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    C,
}

/// This source tree (the SDK, tos.h and the test harness the project points at):
/// `TOS_VM_REPO` at run time, else the tree this binary was built from.
fn repo_root() -> PathBuf {
    std::env::var_os("TOS_VM_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A project name: the interface's contract-name rule (1..=64 of `[a-z0-9_-]`), starting with a
/// letter so it is a crate name too.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a contract name: 1..=64 characters of [a-z0-9_-], starting with a letter"
        ))
    }
}

fn fill(template: &str, name: &str, repo: &Path) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
        .replace("{{repo}}", &repo.display().to_string())
}

/// The files of a project, as (relative path, contents).
pub fn project_files(name: &str, lang: Lang, repo: &Path) -> Vec<(PathBuf, String)> {
    let files: &[(&str, &str)] = match lang {
        Lang::Rust => &[
            ("Cargo.toml", RUST_CARGO_TOML),
            ("src/lib.rs", RUST_LIB),
            ("tests/harness.rs", RUST_HARNESS_TEST),
            ("README.md", RUST_README),
            (".gitignore", "/target\n*.so\n"),
        ],
        Lang::C => &[
            ("interface.json", C_INTERFACE),
            ("contract.c", C_SOURCE),
            ("test/Cargo.toml", C_TEST_CARGO_TOML),
            ("test/tests/harness.rs", C_HARNESS_TEST),
            ("README.md", C_README),
            (".gitignore", "/test/target\n*.so\n"),
        ],
    };
    files
        .iter()
        .map(|(path, template)| (PathBuf::from(path), fill(template, name, repo)))
        .collect()
}

pub fn new_project(name: &str, lang: Lang, parent: Option<&Path>) -> Result<ExitCode, String> {
    check_name(name)?;
    let dir = parent.unwrap_or(Path::new(".")).join(name);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let repo = repo_root();
    if !repo.join("sdk").join("c").join("tos.h").is_file() {
        return Err(format!(
            "{} is not a tos-vm source tree (no sdk/c/tos.h): set TOS_VM_REPO",
            repo.display()
        ));
    }
    for (path, contents) in project_files(name, lang, &repo) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, contents).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let test = match lang {
        Lang::Rust => format!("cd {0} && cargo test", dir.display()),
        Lang::C => format!("cd {0}/test && cargo test", dir.display()),
    };
    out!(
        "created {} ({})",
        dir.display(),
        match lang {
            Lang::Rust => "Rust",
            Lang::C => "C",
        }
    );
    out!("  build:  tos-vm build {0} -o {0}/{name}.so", dir.display());
    out!("  test:   {test}");
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Rust

const RUST_CARGO_TOML: &str = r#"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2021"
publish = false

# Built for BPF by `tos-vm build .`; a workspace of its own.
[workspace]

[lib]
# staticlib: what tos-vm build links; rlib: the host-side tests and typed clients.
crate-type = ["staticlib", "rlib"]
path = "src/lib.rs"

[dependencies]
tos-sdk = { path = "{{repo}}/sdk" }
# The derives of the event struct (and of any struct the methods take or return).
borsh = { version = "1", default-features = false, features = ["derive"] }

[dev-dependencies]
# `cargo test` runs the contract natively against an in-memory chain (TestEnv) ...
tos-sdk = { path = "{{repo}}/sdk", features = ["host"] }
# ... and, in tests/harness.rs, built for BPF under the interpreter and the JIT.
tos-test-harness = { path = "{{repo}}/test-harness" }

[profile.dev]
panic = "abort"

[profile.release]
panic = "abort"
opt-level = 3
lto = "fat"
codegen-units = 1
debug = false
"#;

const RUST_LIB: &str = r#"//! {{name}}: a TOS contract (started with `tos-vm new`).
//!
//! `add(by)` adds to a running total and returns it; `total()` reads it (a view: callable with
//! `tos-vm query`). Each addition emits an `Added` event.

#![cfg_attr(not(test), no_std)]

pub use crate::contract::*;

/// A running total anyone can add to.
#[tos_sdk::contract]
pub mod contract {
    use tos_sdk::prelude::*;

    /// The running total.
    const TOTAL: Item<u64> = Item::new(b"total");

    /// Something was added.
    #[event]
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct Added {
        pub by: u64,
        pub total: u64,
    }

    /// Adds `by` to the total and returns the new total.
    #[method]
    pub fn add(ctx: &Context, by: u64) -> Result<u64, ContractError> {
        let total = TOTAL
            .get_or_default()?
            .checked_add(by)
            .ok_or(ContractError::ArithmeticOverflow)?;
        TOTAL.set(&total)?;
        Added { by, total }.emit(ctx)?;
        Ok(total)
    }

    /// The total so far (0 at first).
    #[view]
    pub fn total() -> Result<u64, ContractError> {
        TOTAL.get_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tos_sdk::host::TestEnv;
    use tos_sdk::ContractError;

    #[test]
    fn adds_and_remembers() {
        let mut env = TestEnv::new();
        let first = env.invoke(entrypoint, &calls::add(5));
        assert!(first.is_success(), "{first:?}");
        let (_, data) = first.return_data.expect("return data");
        assert_eq!(returns::add(&data).unwrap(), 5);
        env.invoke(entrypoint, &calls::add(7));
        let answer = env.invoke(entrypoint, &calls::total());
        let (_, data) = answer.return_data.expect("return data");
        assert_eq!(returns::total(&data).unwrap(), 12);
    }

    #[test]
    fn overflow_fails_and_changes_nothing() {
        let mut env = TestEnv::new();
        env.invoke(entrypoint, &calls::add(u64::MAX));
        let outcome = env.invoke(entrypoint, &calls::add(1));
        assert_eq!(outcome.error(), Some(ContractError::ArithmeticOverflow));
        assert_eq!(env.get::<u64>(b"total"), Some(u64::MAX));
    }
}
"#;

const RUST_HARNESS_TEST: &str = r#"//! The contract built for BPF (as `tos-vm build` does) and run by the test harness, which
//! runs every call under the interpreter and the JIT and fails if they disagree.

use std::path::Path;

use tos_test_harness::{Check, Harness};
use {{crate}}::{calls, returns};

#[test]
fn adds_under_both_engines() {
    let elf = tos_test_harness::fixtures::build_contract_cached(Path::new(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut chain = Harness::new().deploy_named("{{name}}", &elf);
    chain.invoke(&calls::add(5)).expect(&[Check::success()]);
    let run = chain.invoke(&calls::add(7));
    run.expect(&[Check::success(), Check::return_data(12u64.to_le_bytes())]);
    let answer = chain.invoke(&calls::total());
    let data = answer.return_data.as_ref().expect("return data");
    assert_eq!(returns::total(&data.data).unwrap(), 12);
}
"#;

const RUST_README: &str = r#"# {{name}}

A TOS contract in Rust, started with `tos-vm new {{name}}`.

```sh
cargo test                                  # host-side tests, then the BPF build under both engines
tos-vm build . -o {{name}}.so               # the SBPF executable, with its interface inside
tos-vm inspect {{name}}.so                  # its methods, views and events
ADDR=$(tos-vm deploy {{name}}.so)
tos-vm invoke $ADDR add --by 5              # returned 5, event Added {"by":5,"total":5}
tos-vm query $ADDR total                    # returned 5 — read-only, no block
```

`src/lib.rs` declares the contract once with `#[tos_sdk::contract]`: methods (`#[method]`),
read-only views (`#[view]`), events (`#[event]`) and errors (`#[errors]`). From that the SDK
generates the dispatch, the interface (`docs/interface.md` of tos-vm) and typed clients
(`calls::add(5)`, `returns::total(&data)`) used by the tests. See tos-vm's `docs/tutorial.md`.
"#;

// ---------------------------------------------------------------------------------------
// C

const C_INTERFACE: &str = r#"{
  "format": 1,
  "name": "{{name}}",
  "docs": "A running total anyone can add to.",
  "methods": [
    {
      "name": "add",
      "selector": 3101306044,
      "readonly": false,
      "docs": "Adds `by` to the total and returns the new total.",
      "args": [{"name": "by", "type": "u64"}],
      "returns": "u64"
    },
    {
      "name": "total",
      "selector": 3373287167,
      "readonly": true,
      "docs": "The total so far (0 at first).",
      "args": [],
      "returns": "u64"
    }
  ],
  "events": [
    {"name": "added", "docs": "Something was added.", "fields": [{"name": "by", "type": "u64"}, {"name": "total", "type": "u64"}]}
  ]
}
"#;

const C_SOURCE: &str = r#"/*
 * {{name}}: a TOS contract in C (started with `tos-vm new {{name}} --lang c`).
 *
 * Its methods are declared in interface.json; `tos-vm build` embeds that file in the
 * executable and generates tos_interface.h (TOS_SELECTOR_<METHOD>) for this file.
 *
 *   add(by: u64) -> u64      adds to the running total, emits `added`, returns the total
 *   total() -> u64           the total (read-only: callable with `tos-vm query`)
 */
#include "tos.h"
#include "tos_interface.h"

#define ERR_INVALID_INPUT 1       /* the SDK's InvalidInput */
#define ERR_OVERFLOW 5            /* the SDK's ArithmeticOverflow */

static uint64_t process(const uint8_t *input, uint64_t len) {
    uint32_t selector;
    tos_args args;
    uint64_t total;
    if (!tos_call_begin(input, len, &selector, &args)) return ERR_INVALID_INPUT;
    switch (selector) {
    case TOS_SELECTOR_ADD: {
        uint64_t by = tos_args_u64(&args);
        if (!tos_args_end(&args)) return ERR_INVALID_INPUT;
        tos_storage_read_u64((const uint8_t *)"total", 5, &total);
        if (total + by < total) return ERR_OVERFLOW;
        total += by;
        tos_storage_write_u64((const uint8_t *)"total", 5, total);
        uint8_t event[16];
        tos_store_u64_le(event, by);
        tos_store_u64_le(event + 8, total);
        tos_emit_event_str("added", event, sizeof event);
        return tos_return_u64(total);
    }
    case TOS_SELECTOR_TOTAL:
        if (!tos_args_end(&args)) return ERR_INVALID_INPUT;
        tos_storage_read_u64((const uint8_t *)"total", 5, &total);
        return tos_return_u64(total);
    default:
        return ERR_INVALID_INPUT;
    }
}

TOS_ENTRYPOINT(process)
"#;

const C_TEST_CARGO_TOML: &str = r#"[package]
name = "{{name}}-test"
version = "0.1.0"
edition = "2021"
publish = false

# The contract's tests (the contract itself is the C code one directory up).
[workspace]

[dev-dependencies]
tos-test-harness = { path = "{{repo}}/test-harness" }
tos-vm = { path = "{{repo}}" }
serde_json = "1"
"#;

const C_HARNESS_TEST: &str = r#"//! The contract built as `tos-vm build` does and run by the test harness, which runs every call
//! under the interpreter and the JIT and fails if they disagree. Calls are encoded by name
//! through the interface embedded in the executable.

use std::path::Path;

use serde_json::json;
use tos_test_harness::{Check, Harness};

#[test]
fn adds_under_both_engines() {
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let elf = tos_test_harness::fixtures::build_contract_cached(&contract)
        .unwrap_or_else(|e| panic!("{e}"));
    let interface = tos_vm::loader::interface_of(&elf)
        .expect("a valid interface")
        .expect("interface.json is embedded");
    let call = |method: &str, args: serde_json::Value| {
        interface.encode_call(method, &args).unwrap_or_else(|e| panic!("{e}"))
    };
    let mut chain = Harness::new().deploy_named("{{name}}", &elf);
    chain.invoke(&call("add", json!({"by": 5}))).expect(&[Check::success()]);
    let run = chain.invoke(&call("add", json!({"by": 7})));
    run.expect(&[Check::success(), Check::return_data(12u64.to_le_bytes())]);
    let answer = chain.invoke(&call("total", json!({})));
    let data = answer.return_data.as_ref().expect("return data");
    assert_eq!(interface.decode_return("total", &data.data).unwrap(), Some(json!(12)));
    // Overflow fails with the SDK's ArithmeticOverflow (5) and changes nothing.
    chain
        .invoke(&call("add", json!({"by": u64::MAX})))
        .expect(&[Check::error(5), Check::unchanged()]);
}
"#;

const C_README: &str = r#"# {{name}}

A TOS contract in C, started with `tos-vm new {{name}} --lang c`.

```sh
tos-vm build . -o {{name}}.so               # embeds interface.json, generates tos_interface.h
tos-vm inspect {{name}}.so                  # its methods and events
(cd test && cargo test)                     # the harness test, under both engines
ADDR=$(tos-vm deploy {{name}}.so)
tos-vm invoke $ADDR add --by 5              # returned 5, event added {"by":5,"total":5}
tos-vm query $ADDR total                    # returned 5 — read-only, no block
```

`interface.json` declares the methods (their `selector` is the first 4 bytes, little-endian,
of `sha256("tos.method:" ++ name)`; `tos-vm build` refuses a wrong one), and `contract.c`
dispatches on the generated `TOS_SELECTOR_*` with the `tos.h` argument readers. See tos-vm's
`docs/interface.md` and `docs/contracts.md`.
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn c_template_selectors_are_right() {
        let json = super::fill(super::C_INTERFACE, "demo", std::path::Path::new("/x"));
        tos_vm::loader::Interface::parse(json.as_bytes()).expect("the template validates");
    }
}
