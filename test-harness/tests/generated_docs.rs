//! Generated tables in docs/ are checked here, never rewritten: a stale table fails with a diff
//! and the command that regenerates it, so `scripts/test` leaves a fresh clone clean.
//! (docs/performance.md is machine-dependent timings written by `scripts/bench`: not checked.)

use tos_test_harness::{examples, fixtures};

#[test]
fn the_compute_unit_report_of_the_examples_is_current() {
    let path = fixtures::workspace_root().join(examples::DOCUMENT);
    let document = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if let Err(diff) = examples::report().check(&document) {
        panic!(
            "{} is stale; regenerate it with\n\n    {}\n\nand commit it with the change that moved the numbers.\n\n{diff}",
            examples::DOCUMENT,
            examples::REGENERATE
        );
    }
}
