//! The vault example (examples/vault) under both engines: deposits sent with a call (native
//! TOS and other assets) are held by the contract and released with `tos_transfer_asset` once
//! the unlock height is reached.

mod sdk_common;

use sdk_common::Chain;
use tos_sdk::{Address, Amount};
use tos_vm::Hash;
use vault::{calls, returns, Lock, VaultError};

const DEPOSITOR: Hash = Hash([0xD0; 32]);
const HEIR: Hash = Hash([0xE1; 32]);

const UNAUTHORIZED: u64 = 3;
const NOT_FOUND: u64 = 6;
const ZERO_DEPOSIT: u64 = VaultError::ZeroDeposit.code();
const TOO_EARLY: u64 = VaultError::TooEarly.code();

fn addr(account: Hash) -> Address {
    Address(account.0)
}

fn lock(data: Option<Vec<u8>>) -> Lock {
    returns::get(&data.expect("return data")).unwrap()
}

#[test]
fn holds_native_tos_and_releases_it_at_the_unlock_height() {
    let mut chain = Chain::deploy(&tos_test_harness::fixtures::example_elf("vault"));
    let vault = chain.contract;
    chain.set_balance(DEPOSITOR, 1_000);
    chain.block.height = 10;

    let deposit = calls::deposit(addr(HEIR), 50);
    let step = chain.call(DEPOSITOR, &deposit, 400);
    assert!(
        step.is_success(),
        "{:?} {:?}",
        step.outcome.status,
        step.logs()
    );
    assert_eq!(returns::deposit(&step.return_data().unwrap()).unwrap(), 0);
    assert_eq!(chain.balance(&vault), 400);
    assert_eq!(chain.balance(&DEPOSITOR), 600);
    let second = chain.call(DEPOSITOR, &deposit, 100);
    assert_eq!(returns::deposit(&second.return_data().unwrap()).unwrap(), 1);

    let lock = chain.call(HEIR, &calls::get(0), 0);
    assert_eq!(
        self::lock(lock.return_data()),
        Lock {
            depositor: addr(DEPOSITOR),
            beneficiary: addr(HEIR),
            assets: vec![(tos_sdk::NATIVE_ASSET, Amount(400))],
            unlock_height: 50
        }
    );

    let withdraw = calls::withdraw(0);
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
    let deposit = calls::deposit(addr(HEIR), 0);
    assert_eq!(
        chain.call(DEPOSITOR, &deposit, 0).code(),
        Some(ZERO_DEPOSIT)
    );
    // A call that fails does not move its value.
    let bad = chain.call(DEPOSITOR, &[9, 9, 9, 9, 9], 300);
    assert_eq!(bad.code(), Some(2));
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
    let deposit = calls::deposit(addr(HEIR), 0);
    let deposits: tos_vm::Deposits = [(GOLD, 60), (SILVER, 25)].into_iter().collect();
    let step = chain.call_with_deposits(DEPOSITOR, &deposit, deposits.clone());
    assert!(step.is_success(), "{:?}", step.outcome.status);
    assert_eq!(chain.asset_balance(&vault, &GOLD), 60);
    assert_eq!(chain.asset_balance(&vault, &SILVER), 25);
    let lock = chain.call(HEIR, &calls::get(0), 0);
    assert_eq!(
        self::lock(lock.return_data()).assets,
        vec![
            (tos_sdk::Hash(SILVER.0), Amount(25)),
            (tos_sdk::Hash(GOLD.0), Amount(60))
        ]
    );
    // A deposit the depositor cannot cover in one asset moves neither.
    let too_much: tos_vm::Deposits = [(GOLD, 41), (SILVER, 1)].into_iter().collect();
    let refused = chain.call_with_deposits(DEPOSITOR, &deposit, too_much);
    assert!(!refused.is_success());
    assert_eq!(chain.asset_balance(&DEPOSITOR, &GOLD), 40);
    assert_eq!(chain.asset_balance(&DEPOSITOR, &SILVER), 45);

    let step = chain.call(HEIR, &calls::withdraw(0), 0);
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
