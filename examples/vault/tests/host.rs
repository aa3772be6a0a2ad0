//! The vault in host mode (`cargo test` here).

use tos_sdk::host::TestEnv;
use tos_sdk::{Address, Amount, ContractError};
use vault::{entrypoint, Instruction, Lock};

const DEPOSITOR: Address = Address([0xD0; 32]);
const HEIR: Address = Address([0xE1; 32]);

fn input(ix: &Instruction) -> Vec<u8> {
    borsh::to_vec(ix).unwrap()
}

#[test]
fn deposit_then_withdraw_after_the_unlock_height() {
    let mut env = TestEnv::new();
    let vault = env.contract;
    env.set_balance(DEPOSITOR, 1_000);
    env.sender = DEPOSITOR;
    let deposit = input(&Instruction::Deposit {
        beneficiary: HEIR,
        unlock_height: 50,
    });
    let outcome = env.invoke_with_value(entrypoint, &deposit, 400);
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.return_value::<u64>(), Some(0));
    assert_eq!(env.balance(&vault), 400);

    let lock = env
        .invoke(entrypoint, &input(&Instruction::Get { id: 0 }))
        .return_value::<Lock>()
        .unwrap();
    assert_eq!(lock.amount, Amount(400));

    let withdraw = input(&Instruction::Withdraw { id: 0 });
    env.sender = HEIR;
    env.block_height = 49;
    let early = env.invoke(entrypoint, &withdraw);
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
    let outcome = env.invoke(
        entrypoint,
        &input(&Instruction::Deposit {
            beneficiary: HEIR,
            unlock_height: 0,
        }),
    );
    assert_eq!(outcome.error(), Some(ContractError::Custom(1)));
}
