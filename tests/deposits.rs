//! Deposits in any asset and the per-call compute limit (issue 17), under both engines
//! through the harness: deposits arrive together before the contract runs or not at all.

use tos_test_harness::{
    probe::{self, op, Script},
    Check, Harness, Hash, DEFAULT_SENDER, NATIVE_ASSET,
};

const TOKEN: Hash = Hash([0x70; 32]);
const GOLD: Hash = Hash([0x60; 32]);

/// The probe deployed, its sender holding 1000 of each asset.
/// What every call of the probe pays to load its code.
fn load() -> u64 {
    tos_test_harness::code_load_cost(tos_test_harness::code_load_size(&probe::elf()))
}

fn chain() -> Harness {
    let mut chain = Harness::new().deploy(probe::elf());
    for asset in [NATIVE_ASSET, TOKEN, GOLD] {
        chain.set_asset_balance(DEFAULT_SENDER, asset, 1_000);
    }
    chain
}

#[test]
fn deposits_in_several_assets_arrive_together() {
    let mut chain = chain().with_deposits(&[(NATIVE_ASSET, 10), (TOKEN, 20), (GOLD, 30)]);
    let contract = chain.contract();
    // The contract sees its native deposit as the call value, and the balances already moved.
    chain
        .invoke(&Script::new().call(op::CALL_VALUE, &[]).build(0))
        .expect(&[
            Check::success(),
            Check::log("r=000000000000000a"),
            Check::asset_balance(contract, NATIVE_ASSET, 10),
            Check::asset_balance(contract, TOKEN, 20),
            Check::asset_balance(contract, GOLD, 30),
            Check::asset_balance(DEFAULT_SENDER, NATIVE_ASSET, 990),
            Check::asset_balance(DEFAULT_SENDER, TOKEN, 980),
            Check::asset_balance(DEFAULT_SENDER, GOLD, 970),
        ]);
}

#[test]
fn a_failed_call_moves_no_deposit() {
    let mut chain = chain().with_deposits(&[(TOKEN, 20), (GOLD, 30)]);
    // A non-zero status, then a panic: nothing moved either time.
    chain
        .invoke(&Script::new().build(3))
        .expect(&[Check::error(3), Check::unchanged()]);
    chain
        .invoke(&Script::new().call(op::PANIC, &[]).build(0))
        .expect(&[Check::aborted(), Check::unchanged()]);
}

#[test]
fn a_deposit_the_sender_cannot_cover_moves_none() {
    // TOKEN is covered, GOLD (the later asset in order) is not: TOKEN does not move either.
    let mut chain = chain().with_deposits(&[(TOKEN, 20), (GOLD, 1_001)]);
    chain.invoke(&Script::new().build(0)).expect(&[
        Check::abort("InsufficientBalance"),
        Check::unchanged(),
        // The code load is paid before the deposits move; nothing ran.
        Check::compute_units(load()),
    ]);
    // And the other way round: the first asset in order fails.
    let mut chain = chain_with(&[(GOLD, 1), (TOKEN, 5_000)]);
    chain
        .invoke(&Script::new().build(0))
        .expect(&[Check::abort("InsufficientBalance"), Check::unchanged()]);
}

fn chain_with(deposits: &[(Hash, u64)]) -> Harness {
    chain().with_deposits(deposits)
}

#[test]
fn a_deposit_that_would_overflow_the_contract_moves_none() {
    let mut chain = chain().with_deposits(&[(NATIVE_ASSET, 5), (TOKEN, 2)]);
    let contract = chain.contract();
    chain.set_asset_balance(contract, TOKEN, u64::MAX - 1);
    chain.invoke(&Script::new().build(0)).expect(&[
        Check::abort("BalanceOverflow"),
        Check::unchanged(),
        Check::asset_balance(DEFAULT_SENDER, NATIVE_ASSET, 1_000),
    ]);
}

#[test]
fn the_compute_limit_stops_a_call_and_moves_no_deposit() {
    let spin = Script::new().call(op::SPIN, &[]).build(0);
    let mut chain = chain()
        .with_deposits(&[(NATIVE_ASSET, 10), (TOKEN, 20)])
        .with_compute_limit(Some(load() + 5_000));
    chain.invoke(&spin).expect(&[
        Check::compute_exhausted(),
        Check::compute_units(load() + 5_000),
        Check::unchanged(),
    ]);
    // The node's budget stays the ceiling: a limit above it changes nothing.
    let mut chain = chain
        .with_budget(load() + 4_000)
        .with_compute_limit(Some(load() + 1_000_000));
    chain.invoke(&spin).expect(&[
        Check::compute_exhausted(),
        Check::compute_units(load() + 4_000),
        Check::unchanged(),
    ]);
    // Within the limit the same call (without the spin) succeeds and moves both.
    let contract = chain.contract();
    let mut chain = chain
        .with_budget(1_400_000)
        .with_compute_limit(Some(load() + 5_000));
    chain.invoke(&Script::new().build(0)).expect(&[
        Check::success(),
        Check::asset_balance(contract, NATIVE_ASSET, 10),
        Check::asset_balance(contract, TOKEN, 20),
    ]);
}

#[test]
fn too_many_or_zero_deposits_are_refused_and_move_nothing() {
    let many: Vec<(Hash, u64)> = (0..=255u8).map(|i| (Hash([i; 32]), 1)).collect();
    chain()
        .with_deposits(&many)
        .invoke(&Script::new().build(0))
        .expect(&[Check::abort("TooManyDeposits"), Check::unchanged()]);
    chain()
        .with_deposits(&[(TOKEN, 0)])
        .invoke(&Script::new().build(0))
        .expect(&[Check::abort("ZeroDeposit"), Check::unchanged()]);
}
