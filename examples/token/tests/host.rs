//! The token's test suite in host mode: `cargo test` in examples/token runs the contract
//! natively against tos-sdk's in-memory chain (tos-storage's MemoryStorage).

use borsh::BorshDeserialize;
use token::{entrypoint, Instruction, Metadata, TransferEvent};
use tos_sdk::host::{Outcome, Status, TestEnv};
use tos_sdk::{Address, Amount, ContractError};

const ALICE: Address = Address([0xA1; 32]);
const BOB: Address = Address([0xB0; 32]);
const CAROL: Address = Address([0xC4; 32]);

fn call(env: &mut TestEnv, sender: Address, ix: &Instruction) -> Outcome {
    env.sender = sender;
    env.invoke(entrypoint, &borsh::to_vec(ix).unwrap())
}

fn balance(env: &mut TestEnv, owner: Address) -> u64 {
    let outcome = call(env, CAROL, &Instruction::BalanceOf { owner });
    assert!(outcome.is_success(), "{outcome:?}");
    outcome.return_value::<Amount>().unwrap().get()
}

fn supply(env: &mut TestEnv) -> u64 {
    let outcome = call(env, CAROL, &Instruction::TotalSupply);
    outcome.return_value::<Amount>().unwrap().get()
}

fn deployed(initial: u64) -> TestEnv {
    let mut env = TestEnv::new();
    let outcome = call(
        &mut env,
        ALICE,
        &Instruction::Init {
            name: "Tos Example Token".into(),
            symbol: "TET".into(),
            decimals: 8,
            initial_supply: Amount(initial),
        },
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
    let meta = call(&mut env, BOB, &Instruction::Metadata)
        .return_value::<Metadata>()
        .unwrap();
    assert_eq!(meta.symbol, "TET");
    assert_eq!(env.get::<Address>(b"owner"), Some(ALICE));
}

#[test]
fn init_twice_fails() {
    let mut env = deployed(1);
    let again = call(
        &mut env,
        BOB,
        &Instruction::Init {
            name: "x".into(),
            symbol: "x".into(),
            decimals: 0,
            initial_supply: Amount(5),
        },
    );
    assert_eq!(again.error(), Some(ContractError::AlreadyInitialized));
    assert_eq!(env.get::<Address>(b"owner"), Some(ALICE));
}

#[test]
fn calls_before_init_fail() {
    let mut env = TestEnv::new();
    let transfer = Instruction::Transfer {
        to: BOB,
        amount: Amount(1),
    };
    assert_eq!(
        call(&mut env, ALICE, &transfer).error(),
        Some(ContractError::NotInitialized)
    );
    let mint = Instruction::Mint {
        to: BOB,
        amount: Amount(1),
    };
    assert_eq!(
        call(&mut env, ALICE, &mint).error(),
        Some(ContractError::NotInitialized)
    );
}

#[test]
fn transfer_moves_tokens_and_emits_an_event() {
    let mut env = deployed(1_000);
    let outcome = call(
        &mut env,
        ALICE,
        &Instruction::Transfer {
            to: BOB,
            amount: Amount(300),
        },
    );
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.events.len(), 1);
    let (topic, data) = &outcome.events[0];
    assert_eq!(topic, b"transfer");
    let event = TransferEvent::try_from_slice(data).unwrap();
    assert_eq!(
        (event.from, event.to, event.amount),
        (ALICE, BOB, Amount(300))
    );
    assert_eq!(balance(&mut env, ALICE), 700);
    assert_eq!(balance(&mut env, BOB), 300);
    assert_eq!(supply(&mut env), 1_000);

    // To oneself: allowed, nothing changes.
    let outcome = call(
        &mut env,
        BOB,
        &Instruction::Transfer {
            to: BOB,
            amount: Amount(300),
        },
    );
    assert!(outcome.is_success());
    assert_eq!(balance(&mut env, BOB), 300);
}

#[test]
fn overdraft_is_rejected_and_changes_nothing() {
    let mut env = deployed(100);
    let before = env.storage.clone();
    let outcome = call(
        &mut env,
        ALICE,
        &Instruction::Transfer {
            to: BOB,
            amount: Amount(101),
        },
    );
    assert_eq!(outcome.status, Status::Failed { code: 4 });
    assert_eq!(outcome.error(), Some(ContractError::InsufficientFunds));
    assert!(outcome.events.is_empty());
    assert_eq!(env.storage, before);
    // An account without tokens cannot send any.
    let outcome = call(
        &mut env,
        CAROL,
        &Instruction::Transfer {
            to: BOB,
            amount: Amount(1),
        },
    );
    assert_eq!(outcome.error(), Some(ContractError::InsufficientFunds));
}

#[test]
fn only_the_owner_mints() {
    let mut env = deployed(10);
    let mint = Instruction::Mint {
        to: BOB,
        amount: Amount(5),
    };
    let outcome = call(&mut env, BOB, &mint);
    assert_eq!(outcome.error(), Some(ContractError::Unauthorized));
    assert_eq!(supply(&mut env), 10);
    let outcome = call(&mut env, ALICE, &mint);
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.events[0].0, b"mint");
    assert_eq!(balance(&mut env, BOB), 5);
    assert_eq!(supply(&mut env), 15);
}

#[test]
fn mint_overflow_is_rejected() {
    let mut env = deployed(u64::MAX - 1);
    let outcome = call(
        &mut env,
        ALICE,
        &Instruction::Mint {
            to: BOB,
            amount: Amount(2),
        },
    );
    assert_eq!(outcome.error(), Some(ContractError::ArithmeticOverflow));
    assert_eq!(supply(&mut env), u64::MAX - 1);
    assert_eq!(balance(&mut env, BOB), 0);
    // Up to the limit is fine.
    let outcome = call(
        &mut env,
        ALICE,
        &Instruction::Mint {
            to: BOB,
            amount: Amount(1),
        },
    );
    assert!(outcome.is_success());
    assert_eq!(supply(&mut env), u64::MAX);
}

#[test]
fn garbage_input_is_invalid() {
    let mut env = deployed(1);
    env.sender = ALICE;
    let outcome = env.invoke(entrypoint, &[42, 1, 2]);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInput));
    let outcome = env.invoke(entrypoint, &[]);
    assert_eq!(outcome.error(), Some(ContractError::InvalidInput));
}
