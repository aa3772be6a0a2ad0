//! Generated tables in docs/ are checked here, never rewritten: a stale table fails with a diff
//! and the command that regenerates it, so `scripts/test` leaves a fresh clone clean.
//! (docs/performance.md is machine-dependent timings written by `scripts/bench`: not checked;
//! of the calibration table in docs/compute-units.md only the cases and their units are.)

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

/// The calibration table (benches/metering.rs) lists every calibration case with the compute
/// units it is charged now; its times are the machine's and are not compared.
#[test]
fn the_calibration_table_lists_every_case_with_its_current_units() {
    use tos_test_harness::calibration;
    let path = fixtures::workspace_root().join(calibration::DOCUMENT);
    let document = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    // The on-disk cases' key count does not change their units: a small store will do.
    if let Err(diff) = calibration::check(&document, &calibration::cases(1_000)) {
        panic!(
            "the calibration table of {} is stale; regenerate it with\n\n    {}\n\nand commit it \
             with the change that moved the units.\n\n{diff}",
            calibration::DOCUMENT,
            calibration::REGENERATE
        );
    }
}
