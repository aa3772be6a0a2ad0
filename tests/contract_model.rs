//! The contract model's syscalls (issue 17) from real BPF code (the C probe), under both
//! engines: instance address vs code hash, the call's deposits, balances and transfers of any
//! asset (nested calls included), and factories (`tos_create_contract`).

use tos_test_harness::{
    probe::{self, echoes, op, results, Scratch, Script, Value},
    Check, Harness, Hash, DEFAULT_SENDER, NATIVE_ASSET,
};
use tos_vm::{syscalls::create as codes, StorageProvider};

const TOKEN: Hash = Hash([0x70; 32]);
const GOLD: Hash = Hash([0x60; 32]);
const BOB: Hash = Hash([0xB0; 32]);

fn echo(script: Script, at: u16) -> Script {
    script.call(op::ECHO_SCRATCH, &[Value(u64::from(at)), Value(32)])
}

#[test]
fn the_address_is_the_instance_and_the_code_hash_is_shared() {
    let elf = probe::elf();
    let mut chain = Harness::new();
    let first = chain.deploy_contract(&elf);
    let second = chain.deploy_contract(&elf);
    let script = echo(
        echo(
            Script::new()
                .call(op::CONTRACT_HASH, &[Scratch(0)])
                .call(op::CODE_HASH, &[Scratch(32)]),
            0,
        ),
        32,
    )
    .build(0);
    for address in [first, second] {
        let mut chain = chain.clone().target(address);
        let run = chain.invoke(&script);
        run.expect(&[Check::success()]);
        assert_eq!(
            echoes(&run),
            vec![address.0.to_vec(), tos_vm::code_hash(&elf).0.to_vec()]
        );
    }
}

#[test]
fn a_contract_reads_its_deposits() {
    let mut chain = Harness::new().deploy(probe::elf());
    for asset in [NATIVE_ASSET, TOKEN, GOLD] {
        chain.set_asset_balance(DEFAULT_SENDER, asset, 100);
    }
    let mut chain = chain.with_deposits(&[(TOKEN, 7), (NATIVE_ASSET, 3), (GOLD, 5)]);
    let script = Script::new()
        .call(op::DEPOSIT_COUNT, &[])
        // Ascending asset order: native (0x00..), gold (0x60..), token (0x70..).
        .call(op::DEPOSIT, &[Value(0), Scratch(0)])
        .call(op::DEPOSIT, &[Value(1), Scratch(32)])
        .call(op::DEPOSIT, &[Value(2), Scratch(64)])
        .with_data(&TOKEN.0, |s, token| s.call(op::DEPOSIT_AMOUNT, &[token]))
        .with_data(&BOB.0, |s, bob| s.call(op::DEPOSIT_AMOUNT, &[bob]))
        .call(op::CALL_VALUE, &[]);
    let script = echo(echo(echo(script, 0), 32), 64).build(0);
    let run = chain.invoke(&script);
    run.expect(&[Check::success()]);
    assert_eq!(results(&run), vec![3, 3, 5, 7, 7, 0, 3]);
    assert_eq!(
        echoes(&run),
        vec![NATIVE_ASSET.0.to_vec(), GOLD.0.to_vec(), TOKEN.0.to_vec()]
    );
    // An index past the count aborts the call, and then no deposit moves.
    chain
        .invoke(
            &Script::new()
                .call(op::DEPOSIT, &[Value(3), Scratch(0)])
                .build(0),
        )
        .expect(&[Check::abort("DepositIndexOutOfRange"), Check::unchanged()]);
}

/// `transfer_asset(to, asset, amount)` from the running probe.
fn pay(script: Script, to: Hash, asset: Hash, amount: u64) -> Script {
    script.with_data(&to.0, |s, to| {
        s.with_data(&asset.0, |s, asset| {
            s.call(op::TRANSFER_ASSET, &[to, asset, Value(amount)])
        })
    })
}

fn balance_of(script: Script, account: Hash, asset: Hash) -> Script {
    script.with_data(&account.0, |s, account| {
        s.with_data(&asset.0, |s, asset| {
            s.call(op::ASSET_BALANCE, &[account, asset])
        })
    })
}

#[test]
fn asset_transfers_out_of_a_contract_nested_calls_included() {
    let mut chain = Harness::new();
    let outer = chain.deploy_contract(&probe::elf());
    let inner = chain.deploy_contract(&tos_test_harness::fixtures::probe_variant_elf(2));
    chain.set_asset_balance(outer, TOKEN, 100);
    chain.set_asset_balance(inner, GOLD, 50);
    let mut chain = chain.target(outer);

    // The inner contract pays 20 gold to BOB; a second inner call pays 5 and then fails: only
    // its own transfer is reverted.
    let inner_ok = pay(Script::new(), BOB, GOLD, 20).build(0);
    let inner_failing = pay(Script::new(), BOB, GOLD, 5).build(9);
    let invoke = |script: Script, input: Vec<u8>| {
        script.with_data(&inner.0, |s, callee| {
            s.with_data(&input, |s, data| {
                s.call(
                    op::INVOKE,
                    &[callee, data, Value(input.len() as u64), Value(0)],
                )
            })
        })
    };
    let script = pay(Script::new(), BOB, TOKEN, 30);
    let script = invoke(script, inner_ok);
    let script = invoke(script, inner_failing);
    let script = balance_of(script, BOB, GOLD);
    let run = chain.invoke(&script.build(0));
    run.expect(&[
        Check::success(),
        Check::asset_balance(outer, TOKEN, 70),
        Check::asset_balance(BOB, TOKEN, 30),
        Check::asset_balance(inner, GOLD, 30),
        Check::asset_balance(BOB, GOLD, 20),
    ]);
    // Logs of nested calls are kept (failed ones too): outer pay, inner pay, invoke, inner
    // pay (reverted), invoke (the callee's 9), balance.
    assert_eq!(results(&run), vec![0, 0, 0, 0, 9, 20]);

    // More than the contract holds, of an asset it has none of, or 0: the call aborts and
    // nothing moves.
    for (asset, amount, kind) in [
        (TOKEN, 71, "InsufficientBalance"),
        (GOLD, 1, "InsufficientBalance"),
        (TOKEN, 0, "ZeroAmount"),
    ] {
        chain
            .invoke(&pay(Script::new(), BOB, asset, amount).build(0))
            .expect(&[Check::abort(kind), Check::unchanged()]);
    }
}

/// `create_contract(code_hash, salt, constructor input)`, new address at scratch[0..32].
fn create(script: Script, code_hash: Hash, salt: Hash, constructor: &[u8]) -> Script {
    script.with_data(&code_hash.0, |s, code| {
        s.with_data(&salt.0, |s, salt| {
            s.with_data(constructor, |s, input| {
                s.call(
                    op::CREATE_CONTRACT,
                    &[
                        code,
                        salt,
                        input,
                        Value(constructor.len() as u64),
                        Scratch(0),
                    ],
                )
            })
        })
    })
}

#[test]
fn a_factory_creates_instances_and_is_refused_on_a_taken_address() {
    let elf = probe::elf();
    let code = tos_vm::code_hash(&elf);
    let mut chain = Harness::new();
    let factory = chain.deploy_contract(&elf);
    let mut chain = chain.target(factory);
    let salt = Hash([0x5A; 32]);
    let child = tos_vm::create_address(&factory, &salt);
    assert_ne!(
        child,
        tos_vm::deploy_address(&factory, &salt),
        "each rule has its own tag"
    );

    // Create with a constructor that writes, then call the new contract in the same invoke.
    let constructor = Script::new().storage_write(b"owner", b"factory").build(0);
    let call_child = Script::new().storage_write(b"called", b"yes").build(0);
    let script = echo(create(Script::new(), code, salt, &constructor), 0).with_data(
        &child.0,
        |s, callee| {
            s.with_data(&call_child, |s, data| {
                s.call(
                    op::INVOKE,
                    &[callee, data, Value(call_child.len() as u64), Value(0)],
                )
            })
        },
    );
    let run = chain.invoke(&script.build(0));
    run.expect(&[
        Check::success(),
        Check::contract_storage(child, b"owner", Some(b"factory")),
        Check::contract_storage(child, b"called", Some(b"yes")),
    ]);
    assert_eq!(results(&run)[0], 0);
    assert_eq!(echoes(&run), vec![child.0.to_vec()]);
    assert_eq!(
        chain
            .store()
            .contracts()
            .iter()
            .find(|(address, _)| *address == child)
            .map(|(_, info)| info.code_hash),
        Some(code)
    );
    assert_eq!(run.effects.contracts_created[0].address, child.to_hex());

    // The same salt again: refused, nothing changes, the address output is zeroed.
    let run = chain.invoke(&echo(create(Script::new(), code, salt, &constructor), 0).build(0));
    run.expect(&[Check::success(), Check::unchanged()]);
    assert_eq!(results(&run)[0], codes::CREATE_ADDRESS_TAKEN);
    assert_eq!(echoes(&run), vec![vec![0; 32]]);

    // Unknown code, and a failing constructor: nothing is created.
    let other = Hash([0x5B; 32]);
    let failing = Script::new().storage_write(b"owner", b"x").build(4);
    let script = create(Script::new(), Hash([0xCC; 32]), other, &constructor);
    let script = create(script, code, other, &failing);
    let run = chain.invoke(&script.build(0));
    run.expect(&[Check::success(), Check::unchanged()]);
    // (The failing constructor's own write logs its 0 before it returns 4.)
    assert_eq!(
        results(&run),
        vec![
            codes::CREATE_CODE_NOT_FOUND,
            0,
            codes::CREATE_CONSTRUCTOR_FAILED
        ]
    );
    assert!(chain
        .store()
        .read_contract(&tos_vm::create_address(&factory, &other))
        .unwrap()
        .is_none());

    // A creation inside a call that fails afterwards is reverted with it.
    let run = chain.invoke(&create(Script::new(), code, other, &constructor).build(3));
    run.expect(&[Check::error(3), Check::unchanged()]);
}

/// Bad pointers and indexes to the new syscalls abort the call with a typed error and
/// change nothing (no instance created, no balance moved) under both engines.
#[test]
fn bad_arguments_to_the_model_syscalls_abort_and_change_nothing() {
    let elf = probe::elf();
    let code = tos_vm::code_hash(&elf);
    let mut chain = Harness::new();
    let factory = chain.deploy_contract(&elf);
    chain.set_asset_balance(factory, TOKEN, 10);
    let mut chain = chain.target(factory);
    // The new address written to read-only memory (the input): nothing is created.
    let script = Script::new().with_data(&code.0, |s, code_arg| {
        s.with_data(&[7u8; 32], |s, salt| {
            s.call(
                op::CREATE_CONTRACT,
                &[code_arg, salt, Value(0), Value(0), code_arg],
            )
        })
    });
    chain
        .invoke(&script.build(0))
        .expect(&[Check::access_violation(), Check::unchanged()]);
    // Asset and code hash pointers outside any region.
    for script in [
        Script::new().with_data(&BOB.0, |s, to| {
            s.call(op::TRANSFER_ASSET, &[to, Value(0x10), Value(1)])
        }),
        Script::new().call(
            op::CREATE_CONTRACT,
            &[
                Value(u64::MAX - 8),
                Scratch(0),
                Value(0),
                Value(0),
                Scratch(32),
            ],
        ),
        Script::new().call(op::DEPOSIT_AMOUNT, &[Value(0x10)]),
        Script::new().call(op::CODE_HASH, &[Value(0x4_0000_0000)]),
    ] {
        chain
            .invoke(&script.build(0))
            .expect(&[Check::access_violation(), Check::unchanged()]);
    }
    // A deposit index far past the count.
    chain
        .invoke(
            &Script::new()
                .call(op::DEPOSIT, &[Value(u64::MAX), Scratch(0)])
                .build(0),
        )
        .expect(&[Check::abort("DepositIndexOutOfRange"), Check::unchanged()]);
    // Constructor input over the limit: refused before anything is read or created.
    chain
        .invoke(
            &Script::new()
                .call(
                    op::CREATE_CONTRACT,
                    &[
                        Scratch(0),
                        Scratch(32),
                        Scratch(64),
                        Value(64 * 1024 + 1),
                        Scratch(96),
                    ],
                )
                .build(0),
        )
        .expect(&[Check::abort("InputTooLong"), Check::unchanged()]);
}
