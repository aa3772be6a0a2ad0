//! `tos-cu-report`: runs the example contracts' named cases under both engines and writes
//! their compute units into `docs/compute-units.md`, printing what changed against the table
//! already there. The test suite only checks the table
//! (`test-harness/tests/generated_docs.rs`); this command is the one that rewrites it.
//!
//! ```text
//! cargo run -p tos-test-harness --bin tos-cu-report            # update docs/compute-units.md
//! cargo run -p tos-test-harness --bin tos-cu-report -- --check # fail with a diff if stale
//! cargo run -p tos-test-harness --bin tos-cu-report -- --out other.md
//! ```

use std::{path::PathBuf, process::ExitCode};

use tos_test_harness::{examples, fixtures};

fn main() -> ExitCode {
    let mut out = fixtures::workspace_root().join(examples::DOCUMENT);
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--out" => match args.next() {
                Some(path) => out = PathBuf::from(path),
                None => {
                    eprintln!("--out needs a path");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: tos-cu-report [--out FILE] [--check]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument `{other}` (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let bench = examples::report();
    let document = std::fs::read_to_string(&out).unwrap_or_default();
    let changes = bench.changes(&bench.previous(&document));
    for case in bench.cases() {
        println!(
            "{:>12}  {}  ({})",
            case.compute_units, case.name, case.status
        );
    }
    if changes.is_empty() {
        println!(
            "compute units unchanged since the previous run ({})",
            out.display()
        );
    } else {
        println!("changed since the previous run:");
        for change in &changes {
            println!("  {change}");
        }
    }
    if check {
        return match bench.check(&document) {
            Ok(()) => ExitCode::SUCCESS,
            Err(diff) => {
                eprintln!(
                    "{} is out of date:\n{diff}regenerate it with: {}",
                    out.display(),
                    examples::REGENERATE
                );
                ExitCode::FAILURE
            }
        };
    }
    match bench.write(&out) {
        Ok(_) => {
            println!("wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("writing {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}
