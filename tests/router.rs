//! The `router` example calls the `token` example (both built from source, run under both
//! engines by the harness): a failing token call is reverted, the router's own writes stand.

use tos_sdk::{Address, Amount};
use tos_test_harness::{Check, Harness};
use tos_vm::Hash;

const OWNER: Hash = Hash([0x0E; 32]);
const ALICE: Hash = Hash([0xA1; 32]);
const BOB: Hash = Hash([0xB0; 32]);

fn addr(account: Hash) -> Address {
    Address(account.0)
}

/// A chain with the token (owned by OWNER) and the router holding 100 tokens.
fn setup() -> (Harness, Hash, Hash) {
    let mut chain = Harness::new()
        .with_budget(2_000_000)
        .with_sender(OWNER)
        .deploy_example("token");
    let token = chain.contract();
    chain = chain.deploy_example("router");
    let router = chain.contract();
    chain = chain
        .name(token, "token")
        .name(router, "router")
        .target(token);
    let init = token::calls::init("Test".into(), "TST".into(), 0, Amount(1_000));
    chain.invoke(&init).expect(&[Check::success()]);
    chain
        .invoke(&token::calls::transfer(addr(router), Amount(100)))
        .expect(&[Check::success()]);
    (chain.target(router), token, router)
}

fn token_balance(chain: &mut Harness, token: Hash, owner: Hash) -> u64 {
    let mut probe = chain.clone().target(token);
    let result = probe.invoke(&token::calls::balance_of(addr(owner)));
    let data = result
        .return_data
        .as_ref()
        .expect("balance_of returns data");
    token::returns::balance_of(&data.data).unwrap().get()
}

/// The router's call that forwards `input` (a call of the token) to `token`.
fn forward(token: Hash, input: Vec<u8>) -> Vec<u8> {
    router::calls::forward(addr(token), input, Amount(0))
}

#[test]
fn the_router_moves_its_tokens_through_the_token_contract() {
    let (mut chain, token, router) = setup();
    chain
        .invoke(&forward(
            token,
            token::calls::transfer(addr(ALICE), Amount(30)),
        ))
        .expect(&[
            Check::success(),
            Check::storage_u64(b"calls", 1),
            Check::storage_u64(b"ok", 1),
            Check::storage_u64(b"last_status", 0),
            Check::log("router: call succeeded"),
        ]);
    assert_eq!(token_balance(&mut chain, token, ALICE), 30);
    assert_eq!(token_balance(&mut chain, token, router), 70);
}

#[test]
fn a_failing_token_call_is_reverted_while_the_router_commits_its_own_writes() {
    let (mut chain, token, router) = setup();
    // Two transfers: 60 to Alice (written by the token), then 60 to Bob (overdraft: the
    // router holds only 40 by then). The whole token call fails with InsufficientFunds (4).
    let batch =
        token::calls::batch_transfer(vec![(addr(ALICE), Amount(60)), (addr(BOB), Amount(60))]);
    let result = chain.invoke(&forward(token, batch));
    result.expect(&[
        Check::success(),
        Check::storage_u64(b"calls", 1),
        Check::storage_absent(b"ok"),
        Check::storage_u64(b"last_status", 4),
        Check::log("router: call failed, its effects were reverted"),
    ]);
    // The token's first write (Alice +60, router -60) was undone with the failed frame.
    assert_eq!(token_balance(&mut chain, token, ALICE), 0);
    assert_eq!(token_balance(&mut chain, token, BOB), 0);
    assert_eq!(token_balance(&mut chain, token, router), 100);
    assert!(
        result.events.is_empty(),
        "the token's transfer event was dropped too"
    );

    // The same batch within the router's means succeeds, all of it.
    let affordable =
        token::calls::batch_transfer(vec![(addr(ALICE), Amount(60)), (addr(BOB), Amount(40))]);
    chain.invoke(&forward(token, affordable)).expect(&[
        Check::success(),
        Check::storage_u64(b"calls", 2),
        Check::storage_u64(b"ok", 1),
        Check::storage_u64(b"last_status", 0),
    ]);
    assert_eq!(
        (
            token_balance(&mut chain, token, ALICE),
            token_balance(&mut chain, token, BOB)
        ),
        (60, 40)
    );
}

#[test]
fn forwarding_to_a_missing_contract_is_recorded_not_fatal() {
    let (mut chain, _, _) = setup();
    let missing = Hash([0x99; 32]);
    chain
        .invoke(&forward(missing, token::calls::total_supply()))
        .expect(&[
            Check::success(),
            Check::storage_u64(b"last_status", 0xFFFF_FFFF_0000_0001),
        ]);
}
