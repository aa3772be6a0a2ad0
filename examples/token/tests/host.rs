//! The token's test suite in host mode: `cargo test` in examples/token runs the contract
//! natively against tos-sdk's in-memory chain (tos-storage's MemoryStorage).

use token::{calls, entrypoint, returns, Event, Transfer};
use tos_sdk::host::{Outcome, Status, TestEnv};
use tos_sdk::{Address, Amount, ContractError};

const ALICE: Address = Address([0xA1; 32]);
const BOB: Address = Address([0xB0; 32]);
const CAROL: Address = Address([0xC4; 32]);

fn call(env: &mut TestEnv, sender: Address, input: Vec<u8>) -> Outcome {
    env.sender = sender;
    env.invoke(entrypoint, &input)
}

fn answer(outcome: &Outcome) -> &[u8] {
    &outcome.return_data.as_ref().expect("return data").1
}

fn balance(env: &mut TestEnv, owner: Address) -> u64 {
    let outcome = call(env, CAROL, calls::balance_of(owner));
    assert!(outcome.is_success(), "{outcome:?}");
    returns::balance_of(answer(&outcome)).unwrap().get()
}

fn supply(env: &mut TestEnv) -> u64 {
    let outcome = call(env, CAROL, calls::total_supply());
    returns::total_supply(answer(&outcome)).unwrap().get()
}

fn deployed(initial: u64) -> TestEnv {
    let mut env = TestEnv::new();
    let outcome = call(
        &mut env,
        ALICE,
        calls::init("Tos Example Token".into(), "TET".into(), 8, Amount(initial)),
    );
    assert!(outcome.is_success(), "{outcome:?}");
    env
}

#[test]
fn init_sets_owner_supply_and_metadata() {
    let mut env = deployed(1_000);
    assert_eq!(balance(&mut env, ALICE), 1_000);
    assert_eq!(balance(&mut env, BOB), 0);
    assert_eq!(supply(&mut env), 1_000);
    let meta = returns::metadata(answer(&call(&mut env, BOB, calls::metadata()))).unwrap();
    assert_eq!(meta.symbol, "TET");
    assert_eq!(env.get::<Address>(b"owner"), Some(ALICE));
}

#[test]
fn init_twice_fails() {
    let mut env = deployed(1);
    let again = call(
        &mut env,
        BOB,
        calls::init("x".into(), "x".into(), 0, Amount(5)),
    );
    assert_eq!(again.error(), Some(ContractError::AlreadyInitialized));
    assert_eq!(env.get::<Address>(b"owner"), Some(ALICE));
}

#[test]
fn calls_before_init_fail() {
    let mut env = TestEnv::new();
    assert_eq!(
        call(&mut env, ALICE, calls::transfer(BOB, Amount(1))).error(),
        Some(ContractError::NotInitialized)
    );
    assert_eq!(
        call(&mut env, ALICE, calls::mint(BOB, Amount(1))).error(),
        Some(ContractError::NotInitialized)
    );
}

#[test]
fn transfer_moves_tokens_and_emits_an_event() {
    let mut env = deployed(1_000);
    let outcome = call(&mut env, ALICE, calls::transfer(BOB, Amount(300)));
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.events.len(), 1);
    let (topic, data) = &outcome.events[0];
    assert_eq!(topic, b"transfer");
    let Some(Event::Transfer(event)) = Event::decode(topic, data) else {
        panic!("not a transfer event: {topic:?}");
    };
    assert_eq!(
        event,
        Transfer {
            from: ALICE,
            to: BOB,
            amount: Amount(300)
        }
    );
    assert_eq!(balance(&mut env, ALICE), 700);
    assert_eq!(balance(&mut env, BOB), 300);
    assert_eq!(supply(&mut env), 1_000);

    // To oneself: allowed, nothing changes.
    let outcome = call(&mut env, BOB, calls::transfer(BOB, Amount(300)));
    assert!(outcome.is_success());
    assert_eq!(balance(&mut env, BOB), 300);
}

#[test]
fn overdraft_is_rejected_and_changes_nothing() {
    let mut env = deployed(100);
    let before = env.storage.clone();
    let outcome = call(&mut env, ALICE, calls::transfer(BOB, Amount(101)));
    assert_eq!(outcome.status, Status::Failed { code: 4 });
    assert_eq!(outcome.error(), Some(ContractError::InsufficientFunds));
    assert!(outcome.events.is_empty());
    assert_eq!(env.storage, before);
    // An account without tokens cannot send any.
    let outcome = call(&mut env, CAROL, calls::transfer(BOB, Amount(1)));
    assert_eq!(outcome.error(), Some(ContractError::InsufficientFunds));
}

#[test]
fn only_the_owner_mints() {
    let mut env = deployed(10);
    let mint = calls::mint(BOB, Amount(5));
    let outcome = call(&mut env, BOB, mint.clone());
    assert_eq!(outcome.error(), Some(ContractError::Unauthorized));
    assert_eq!(supply(&mut env), 10);
    let outcome = call(&mut env, ALICE, mint);
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.events[0].0, b"mint");
    assert_eq!(balance(&mut env, BOB), 5);
    assert_eq!(supply(&mut env), 15);
}

#[test]
fn mint_overflow_is_rejected() {
    let mut env = deployed(u64::MAX - 1);
    let outcome = call(&mut env, ALICE, calls::mint(BOB, Amount(2)));
    assert_eq!(outcome.error(), Some(ContractError::ArithmeticOverflow));
    assert_eq!(supply(&mut env), u64::MAX - 1);
    assert_eq!(balance(&mut env, BOB), 0);
    // Up to the limit is fine.
    let outcome = call(&mut env, ALICE, calls::mint(BOB, Amount(1)));
    assert!(outcome.is_success());
    assert_eq!(supply(&mut env), u64::MAX);
}

#[test]
fn garbage_input_is_invalid() {
    let mut env = deployed(1);
    env.sender = ALICE;
    // Too short for a selector.
    let outcome = env.invoke(entrypoint, &[42, 1, 2]);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInput));
    // No method has this selector; an empty input names none.
    let outcome = env.invoke(entrypoint, &[42, 1, 2, 3]);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInstruction));
    let outcome = env.invoke(entrypoint, &[]);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInstruction));
    // Arguments cut short, or bytes left over.
    let mut transfer = calls::transfer(BOB, Amount(1));
    let outcome = env.invoke(entrypoint, &transfer[..transfer.len() - 1]);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInput));
    transfer.push(0);
    let outcome = env.invoke(entrypoint, &transfer);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInput));
}

#[test]
fn the_interface_describes_the_methods() {
    let interface = token::INTERFACE;
    assert!(
        interface.starts_with(r#"{"format":1,"name":"token""#),
        "{interface}"
    );
    for (name, selector) in [
        ("transfer", token::selectors::TRANSFER),
        ("balance_of", token::selectors::BALANCE_OF),
    ] {
        assert_eq!(selector, tos_sdk::method_selector(name));
        assert!(interface.contains(&format!(r#""name":"{name}","selector":{selector}"#)));
    }
    assert_eq!(
        &calls::total_supply(),
        &token::selectors::TOTAL_SUPPLY.to_le_bytes()
    );
    assert!(interface.contains(r#""code":1001,"name":"BadMetadata""#));
    assert_eq!(
        token::TokenError::from_code(1001),
        Some(token::TokenError::BadMetadata)
    );
    assert_eq!(token::TokenError::BadMetadata.code(), 1001);
}

#[test]
fn a_long_name_fails_with_the_declared_error() {
    let mut env = TestEnv::new();
    let outcome = call(
        &mut env,
        ALICE,
        calls::init("n".repeat(65), "X".into(), 0, Amount(1)),
    );
    assert_eq!(outcome.code(), Some(token::TokenError::BadMetadata.code()));
}
