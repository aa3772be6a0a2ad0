//! The compute-unit report of the example contracts (`docs/compute-units.md`): named cases
//! per example under `examples/`. An example without cases here is reported with one call on
//! empty input; add its real cases to [`report`] when it gets an instruction format.

use crate::{bench::CuBench, fixtures, harness::Harness};

/// Where the report lives, relative to the workspace root.
pub const DOCUMENT: &str = "docs/compute-units.md";

/// The one command that regenerates [`DOCUMENT`]; the test that checks it names it on failure.
pub const REGENERATE: &str = "cargo run -p tos-test-harness --bin tos-cu-report";

/// Budget of every reported call: the default, so the numbers are what a chain would see.
fn chain(example: &str) -> Harness {
    Harness::new().deploy_example(example)
}

/// The input of a call to a `#[contract]` method: its selector, then its arguments' borsh bytes.
fn token_input(method: &str, args: &[&[u8]]) -> Vec<u8> {
    let mut input = tos_abi::method_selector(method).to_le_bytes().to_vec();
    for arg in args {
        input.extend_from_slice(arg);
    }
    input
}

/// A borsh `String`: u32 length, then the bytes.
fn borsh_string(text: &str) -> Vec<u8> {
    let mut out = (text.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

/// Runs every case (both engines, compared) and returns the report.
pub fn report() -> CuBench {
    let mut bench = CuBench::new("examples");
    for name in fixtures::example_names() {
        match name.as_str() {
            "hello-world" => {
                chain(&name).bench(&mut bench, "hello-world: greet", b"");
            }
            "counter-rust" => {
                let mut counter = chain(&name);
                counter.bench(
                    &mut bench,
                    "counter-rust: first count (nothing stored)",
                    b"",
                );
                counter.bench(&mut bench, "counter-rust: second count", b"");
                chain(&name)
                    .with_storage(b"count", &999_999u64.to_le_bytes())
                    .bench(&mut bench, "counter-rust: 999 999 → 1 000 000", b"");
                chain(&name)
                    .with_storage(b"count", &(u64::MAX - 1).to_le_bytes())
                    .bench(&mut bench, "counter-rust: to u64::MAX (20 digits)", b"");
                chain(&name)
                    .with_storage(b"count", &u64::MAX.to_le_bytes())
                    .bench(&mut bench, "counter-rust: overflow refused", b"");
                chain(&name).with_storage(b"count", b"bad").bench(
                    &mut bench,
                    "counter-rust: corrupt value refused",
                    b"",
                );
            }
            "token" => {
                // The owner (the default sender) creates the token, then transfers: every
                // call is a transaction of its own, so each pays the cold load of the code.
                let bob = tos_storage::Hash([0xB0; 32]);
                let mut token = chain(&name);
                token.bench(&mut bench, "token: empty input", b"");
                let init = token_input(
                    "init",
                    &[
                        &borsh_string("Tos Example Token"),
                        &borsh_string("TET"),
                        &[8],
                        &1_000_000u64.to_le_bytes(),
                    ],
                );
                token.bench(&mut bench, "token: init", &init);
                let transfer =
                    |amount: u64| token_input("transfer", &[&bob.0, &amount.to_le_bytes()]);
                token.bench(
                    &mut bench,
                    "token: transfer to a new account",
                    &transfer(10),
                );
                token.bench(&mut bench, "token: transfer", &transfer(10));
                token.bench(&mut bench, "token: overdraft refused", &transfer(u64::MAX));
                token.bench(
                    &mut bench,
                    "token: balance_of",
                    &token_input("balance_of", &[&bob.0]),
                );
            }
            other => {
                chain(other).bench(&mut bench, &format!("{other}: empty input"), b"");
            }
        }
    }
    bench
}
