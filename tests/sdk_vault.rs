//! The vault example (examples/vault) under both engines: deposits sent with a call (native
//! TOS and other assets) are held by the contract and released with `tos_transfer_asset` once
//! the unlock height is reached.

mod sdk_common;

use borsh::{BorshDeserialize, BorshSerialize};
use sdk_common::Chain;
use tos_vm::Hash;

/// Mirror of `vault::Instruction`.
#[derive(BorshSerialize)]
enum Instruction {
    Deposit {
        beneficiary: [u8; 32],
        unlock_height: u64,
    },
    Withdraw {
        id: u64,
    },
    Get {
        id: u64,
    },
}

/// Mirror of `vault::Lock`.
#[derive(BorshDeserialize, Debug, PartialEq, Eq)]
struct Lock {
    depositor: [u8; 32],
    beneficiary: [u8; 32],
    assets: Vec<([u8; 32], u64)>,
    unlock_height: u64,
}

const DEPOSITOR: Hash = Hash([0xD0; 32]);
const HEIR: Hash = Hash([0xE1; 32]);

const UNAUTHORIZED: u64 = 3;
const NOT_FOUND: u64 = 6;
const ZERO_DEPOSIT: u64 = 1001;
const TOO_EARLY: u64 = 1002;

fn input(ix: &Instruction) -> Vec<u8> {
    borsh::to_vec(ix).unwrap()
}

#[test]
fn holds_native_tos_and_releases_it_at_the_unlock_height() {
    let mut chain = Chain::deploy(&tos_test_harness::fixtures::example_elf("vault"));
    let vault = chain.contract;
    chain.set_balance(DEPOSITOR, 1_000);
    chain.block.height = 10;

    let deposit = input(&Instruction::Deposit {
        beneficiary: HEIR.0,
        unlock_height: 50,
    });
    let step = chain.call(DEPOSITOR, &deposit, 400);
    assert!(
        step.is_success(),
        "{:?} {:?}",
        step.outcome.status,
        step.logs()
    );
    assert_eq!(step.return_data(), Some(0u64.to_le_bytes().to_vec()));
    assert_eq!(chain.balance(&vault), 400);
    assert_eq!(chain.balance(&DEPOSITOR), 600);
    let second = chain.call(DEPOSITOR, &deposit, 100);
    assert_eq!(second.return_data(), Some(1u64.to_le_bytes().to_vec()));

    let lock = chain.call(HEIR, &input(&Instruction::Get { id: 0 }), 0);
    assert_eq!(
        Lock::try_from_slice(&lock.return_data().unwrap()).unwrap(),
        Lock {
            depositor: DEPOSITOR.0,
            beneficiary: HEIR.0,
            assets: vec![([0; 32], 400)],
            unlock_height: 50
        }
    );

    let withdraw = input(&Instruction::Withdraw { id: 0 });
    // Too early: nothing moves.
    assert_eq!(chain.call(HEIR, &withdraw, 0).code(), Some(TOO_EARLY));
    chain.block.height = 50;
    // Only the beneficiary.
    assert_eq!(
        chain.call(DEPOSITOR, &withdraw, 0).code(),
        Some(UNAUTHORIZED)
    );
    assert_eq!(chain.balance(&vault), 500);

    let step = chain.call(HEIR, &withdraw, 0);
    assert!(
        step.is_success(),
        "{:?} {:?}",
        step.outcome.status,
        step.logs()
    );
    assert_eq!(step.logs(), vec!["released 400".to_string()]);
    assert_eq!(chain.balance(&HEIR), 400);
    assert_eq!(chain.balance(&vault), 100);
    // Paid once.
    assert_eq!(chain.call(HEIR, &withdraw, 0).code(), Some(NOT_FOUND));
    assert_eq!(chain.balance(&HEIR), 400);
}

#[test]
fn a_deposit_needs_value_and_a_failed_call_keeps_it() {
    let mut chain = Chain::deploy(&tos_test_harness::fixtures::example_elf("vault"));
    chain.set_balance(DEPOSITOR, 1_000);
    let deposit = input(&Instruction::Deposit {
        beneficiary: HEIR.0,
        unlock_height: 0,
    });
    assert_eq!(
        chain.call(DEPOSITOR, &deposit, 0).code(),
        Some(ZERO_DEPOSIT)
    );
    // A call that fails does not move its value.
    let bad = chain.call(DEPOSITOR, &[9, 9], 300);
    assert_eq!(bad.code(), Some(1));
    assert_eq!(chain.balance(&DEPOSITOR), 1_000);
    assert_eq!(chain.balance(&chain.contract.clone()), 0);
}

const GOLD: Hash = Hash([0x60; 32]);
const SILVER: Hash = Hash([0x51; 32]);

/// Issue 17: the vault takes deposits in two assets in one call and releases both.
#[test]
fn holds_deposits_in_two_assets_and_releases_them_together() {
    let mut chain = Chain::deploy(&tos_test_harness::fixtures::example_elf("vault"));
    let vault = chain.contract;
    chain.set_asset_balance(DEPOSITOR, GOLD, 100);
    chain.set_asset_balance(DEPOSITOR, SILVER, 70);
    let deposit = input(&Instruction::Deposit {
        beneficiary: HEIR.0,
        unlock_height: 0,
    });
    let deposits: tos_vm::Deposits = [(GOLD, 60), (SILVER, 25)].into_iter().collect();
    let step = chain.call_with_deposits(DEPOSITOR, &deposit, deposits.clone());
    assert!(step.is_success(), "{:?}", step.outcome.status);
    assert_eq!(chain.asset_balance(&vault, &GOLD), 60);
    assert_eq!(chain.asset_balance(&vault, &SILVER), 25);
    let lock = chain.call(HEIR, &input(&Instruction::Get { id: 0 }), 0);
    assert_eq!(
        Lock::try_from_slice(&lock.return_data().unwrap())
            .unwrap()
            .assets,
        vec![(SILVER.0, 25), (GOLD.0, 60)]
    );
    // A deposit the depositor cannot cover in one asset moves neither.
    let too_much: tos_vm::Deposits = [(GOLD, 41), (SILVER, 1)].into_iter().collect();
    let refused = chain.call_with_deposits(DEPOSITOR, &deposit, too_much);
    assert!(!refused.is_success());
    assert_eq!(chain.asset_balance(&DEPOSITOR, &GOLD), 40);
    assert_eq!(chain.asset_balance(&DEPOSITOR, &SILVER), 45);

    let step = chain.call(HEIR, &input(&Instruction::Withdraw { id: 0 }), 0);
    assert!(step.is_success(), "{:?}", step.outcome.status);
    assert_eq!(
        step.logs(),
        vec![
            "released 25 of asset 51515151".to_string(),
            "released 60 of asset 60606060".to_string()
        ]
    );
    assert_eq!(chain.asset_balance(&HEIR, &GOLD), 60);
    assert_eq!(chain.asset_balance(&HEIR, &SILVER), 25);
    assert_eq!(chain.asset_balance(&vault, &GOLD), 0);
    assert_eq!(chain.asset_balance(&vault, &SILVER), 0);
}
