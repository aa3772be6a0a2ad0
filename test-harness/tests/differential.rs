//! Differential tests of the two engines: thousands of random programs that the verifier
//! accepts, each run under the interpreter and the JIT with the real syscalls, must give the
//! same status (fault kind and details included), compute used, logs, journal, change set,
//! events, return data and final state.
//!
//! `TOS_DIFF_CASES=<n>` changes the number of programs per test (default 3 000 contract-shaped
//! programs through the whole deploy/invoke pipeline, 2 000 raw V3 programs).

use std::{cell::RefCell, collections::BTreeMap, time::Instant};

use proptest::{
    prelude::*,
    test_runner::{FileFailurePersistence, TestRunner},
};
use tos_test_harness::{
    random::{self, Profile, RandomProgram},
    Harness, Hash, Status,
};

fn cases(default: u32) -> u32 {
    std::env::var("TOS_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn budget() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => 1u64..=400,
        3 => 400u64..=6_000,
        2 => Just(30_000u64),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=48)
}

/// Outcome kinds seen, to show (and check) that the programs reach the interesting paths.
#[derive(Default)]
struct Tally {
    kinds: BTreeMap<String, u32>,
    programs: u32,
    slots: usize,
}

impl Tally {
    fn add(&mut self, status: &Status, slots: usize) {
        let kind = match status {
            Status::Success => "success".to_string(),
            Status::Failed(_) => "non-zero status".to_string(),
            Status::Aborted(abort) => abort.kind(),
        };
        *self.kinds.entry(kind).or_default() += 1;
        self.programs += 1;
        self.slots += slots;
    }

    fn report(&self, name: &str, started: Instant) {
        eprintln!(
            "{name}: {} programs ({} instruction slots on average) in {:.1?}: {:?}",
            self.programs,
            self.slots / self.programs.max(1) as usize,
            started.elapsed(),
            self.kinds
        );
    }

    fn assert_reaches(&self, kinds: &[&str]) {
        // Only meaningful with enough cases.
        if self.programs < 500 {
            return;
        }
        for kind in kinds {
            assert!(
                self.kinds.get(*kind).copied().unwrap_or(0) > 0,
                "no program ended with {kind}: {:?}",
                self.kinds
            );
        }
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        // Keeps failing cases in tests/differential.proptest-regressions, replayed first.
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// Runs `cases` programs from `strategy` through `run`; panics with the minimal failing
/// program, else reports what the programs reached.
fn differential<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    run: impl Fn(S::Value) -> Result<(Status, usize), TestCaseError>,
) {
    let started = Instant::now();
    let tally = RefCell::new(Tally::default());
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(&strategy, |value| {
        let (status, slots) = run(value)?;
        tally.borrow_mut().add(&status, slots);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{name}: the engines disagree or a generated program was refused:\n{error}");
    }
    let tally = tally.into_inner();
    tally.report(name, started);
    tally.assert_reaches(&[
        "success",
        "non-zero status",
        "AccessViolation",
        "ComputeBudgetExceeded",
        "DivideByZero",
        "CallDepthExceeded",
    ]);
}

fn run_contract_program(
    program: &RandomProgram,
    budget: u64,
    input: &[u8],
) -> Result<(Status, usize), TestCaseError> {
    let elf = program.elf();
    let mut harness = Harness::isolated().with_budget(budget);
    let contract = harness
        .try_deploy(&elf)
        .map_err(|e| TestCaseError::fail(format!("deploy refused a generated program: {e}")))?;
    let seeded = random::seeded_state(contract);
    harness = harness.with_state(|state| {
        for (key, value) in seeded.storage_entries(&contract) {
            state.set_storage(contract, &key, Some(&value));
        }
        state.set_balance(contract, tos_storage::NATIVE_ASSET, 1_000_000);
    });
    let invocation = harness
        .try_invoke(input)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok((invocation.status, program.len()))
}

/// Contract-shaped programs (what the loader accepts) through deploy and invoke.
#[test]
fn random_contract_programs_agree_under_both_engines() {
    differential(
        "contract programs",
        cases(3_000),
        (random::program(Profile::Contract, 20), budget(), input()),
        |(program, budget, input)| run_contract_program(&program, budget, &input),
    );
}

/// Every instruction V3's verifier accepts (32-bit add/sub/mul included), loaded raw.
#[test]
fn random_v3_programs_agree_under_both_engines() {
    differential(
        "raw V3 programs",
        cases(2_000),
        (random::program(Profile::AnyV3, 20), budget(), input()),
        |(program, budget, input)| {
            let contract = Hash([0xC0; 32]);
            let state = random::seeded_state(contract);
            let agreement = random::run_text(&program.text(), &input, budget, contract, &state)
                .map_err(TestCaseError::fail)?;
            Ok((agreement.status, program.len()))
        },
    );
}
