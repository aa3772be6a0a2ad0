//! The vault in host mode (`cargo test` here).

use tos_sdk::host::TestEnv;
use tos_sdk::{Address, Amount, ContractError};
use vault::{calls, entrypoint, returns, VaultError};

const DEPOSITOR: Address = Address([0xD0; 32]);
const HEIR: Address = Address([0xE1; 32]);

fn answer(outcome: &tos_sdk::host::Outcome) -> &[u8] {
    &outcome.return_data.as_ref().expect("return data").1
}

#[test]
fn deposit_then_withdraw_after_the_unlock_height() {
    let mut env = TestEnv::new();
    let vault = env.contract;
    env.set_balance(DEPOSITOR, 1_000);
    env.sender = DEPOSITOR;
    let deposit = calls::deposit(HEIR, 50);
    let outcome = env.invoke_with_value(entrypoint, &deposit, 400);
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(returns::deposit(answer(&outcome)).unwrap(), 0);
    assert_eq!(env.balance(&vault), 400);

    let lock = returns::get(answer(&env.invoke(entrypoint, &calls::get(0)))).unwrap();
    assert_eq!(lock.assets, vec![(tos_sdk::NATIVE_ASSET, Amount(400))]);

    let withdraw = calls::withdraw(0);
    env.sender = HEIR;
    env.block_height = 49;
    let early = env.invoke(entrypoint, &withdraw);
    assert_eq!(early.code(), Some(VaultError::TooEarly.code()));
    assert_eq!(early.error(), Some(ContractError::Custom(2)));
    env.block_height = 50;
    env.sender = DEPOSITOR;
    assert_eq!(
        env.invoke(entrypoint, &withdraw).error(),
        Some(ContractError::Unauthorized)
    );
    env.sender = HEIR;
    let outcome = env.invoke(entrypoint, &withdraw);
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.logs, ["released 400"]);
    assert_eq!(env.balance(&HEIR), 400);
    assert_eq!(env.balance(&vault), 0);
    assert_eq!(
        env.invoke(entrypoint, &withdraw).error(),
        Some(ContractError::NotFound)
    );
}

#[test]
fn a_deposit_needs_value() {
    let mut env = TestEnv::new();
    let outcome = env.invoke(entrypoint, &calls::deposit(HEIR, 0));
    assert_eq!(outcome.error(), Some(VaultError::ZeroDeposit.into()));
}

#[test]
fn two_assets_in_one_deposit_are_released_together() {
    let gold = tos_sdk::Hash([0x60; 32]);
    let silver = tos_sdk::Hash([0x51; 32]);
    let mut env = TestEnv::new();
    let vault = env.contract;
    env.set_asset_balance(DEPOSITOR, gold, 100);
    env.set_asset_balance(DEPOSITOR, silver, 70);
    env.sender = DEPOSITOR;
    let deposit = calls::deposit(HEIR, 0);
    let outcome = env.invoke_with_deposits(entrypoint, &deposit, &[(gold, 60), (silver, 25)]);
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(env.asset_balance(&vault, &gold), 60);
    // One asset not covered: neither moves.
    let refused = env.invoke_with_deposits(entrypoint, &deposit, &[(gold, 41), (silver, 1)]);
    assert!(!refused.is_success());
    assert_eq!(env.asset_balance(&DEPOSITOR, &silver), 45);
    env.sender = HEIR;
    let outcome = env.invoke(entrypoint, &calls::withdraw(0));
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(
        outcome.logs,
        [
            "released 25 of asset 51515151",
            "released 60 of asset 60606060"
        ]
    );
    assert_eq!(env.asset_balance(&HEIR, &gold), 60);
    assert_eq!(env.asset_balance(&HEIR, &silver), 25);
}
