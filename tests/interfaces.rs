//! The example contracts' interfaces (issue 14): each `#[tos_sdk::contract]` declaration's JSON
//! validates with `tos_abi::interface`, travels in the built executable, and round-trips under
//! both engines: a call encoded with the typed client (`token::calls`) is what the interface's
//! generic encoder makes of the same arguments, the harness runs it under the interpreter and
//! the JIT (compared), and the answer and events decode alike with the typed decoders and with
//! the interface.

use serde_json::json;
use tos_abi::interface::{self, Interface};
use tos_sdk::{Address, Amount};
use tos_test_harness::{Check, Harness, Invocation};
use tos_vm::Hash;

const OWNER: Hash = Hash([0x0E; 32]);
const ALICE: Hash = Hash([0xA1; 32]);

fn addr(account: Hash) -> Address {
    Address(account.0)
}

fn parsed(json: &str) -> Interface {
    Interface::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn answer(invocation: &Invocation) -> Vec<u8> {
    invocation
        .return_data
        .as_ref()
        .expect("return data")
        .data
        .clone()
}

/// Every example's generated interface passes the validator, and its selectors are the ones
/// the generated code dispatches on.
/// An example's name, its generated interface, and its methods' names and selectors.
type InterfaceCase = (&'static str, &'static str, Vec<(&'static str, u32)>);

#[test]
fn every_example_interface_validates() {
    let cases: [InterfaceCase; 4] = [
        (
            "token",
            token::INTERFACE,
            vec![
                ("init", token::selectors::INIT),
                ("mint", token::selectors::MINT),
                ("transfer", token::selectors::TRANSFER),
                ("batch_transfer", token::selectors::BATCH_TRANSFER),
                ("balance_of", token::selectors::BALANCE_OF),
                ("total_supply", token::selectors::TOTAL_SUPPLY),
                ("metadata", token::selectors::METADATA),
            ],
        ),
        (
            "vault",
            vault::INTERFACE,
            vec![
                ("deposit", vault::selectors::DEPOSIT),
                ("withdraw", vault::selectors::WITHDRAW),
                ("get", vault::selectors::GET),
            ],
        ),
        (
            "router",
            router::INTERFACE,
            vec![("forward", router::selectors::FORWARD)],
        ),
        (
            "counter-rust",
            counter_rust::INTERFACE,
            vec![
                ("increment", counter_rust::selectors::INCREMENT),
                ("count", counter_rust::selectors::COUNT),
            ],
        ),
    ];
    for (name, json, selectors) in cases {
        let iface = parsed(json);
        assert_eq!(iface.name, name);
        assert_eq!(iface.methods.len(), selectors.len(), "{name}");
        for (method, selector) in selectors {
            assert_eq!(interface::selector(method), selector, "{name}.{method}");
            let declared = iface.require_method(method).unwrap();
            assert_eq!(declared.selector, selector);
        }
        // The build carried the declaration's JSON into the executable's `.tos.interface`
        // section (through rustc's bitcode, the IR step, llc and the link step), and the
        // loader reads back the same interface.
        let elf = tos_test_harness::fixtures::example_elf(name);
        let embedded = tos_vm::loader::interface_of(&elf)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: no interface in the executable"));
        assert_eq!(embedded, iface, "{name}");
    }
    let token = parsed(token::INTERFACE);
    let views: Vec<&str> = token
        .methods
        .iter()
        .filter(|m| m.readonly)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(views, ["balance_of", "total_supply", "metadata"]);
    assert_eq!(
        token.methods.iter().filter(|m| m.constructor).count(),
        1,
        "init"
    );
    assert_eq!(token.error(1001).unwrap().name, "BadMetadata");
}

/// token: init, transfer, balance_of and metadata, each encoded by the typed client and by
/// the interface (the same bytes), run under both engines, decoded both ways.
#[test]
fn the_token_round_trips() {
    let iface = parsed(token::INTERFACE);
    let mut chain = Harness::new().with_sender(OWNER).deploy_example("token");

    let init = token::calls::init("Demo".into(), "DMO".into(), 2, Amount(1_000));
    assert_eq!(
        iface
            .encode_call(
                "init",
                &json!({"name": "Demo", "symbol": "DMO", "decimals": 2, "initial_supply": 1000})
            )
            .unwrap(),
        init
    );
    chain.invoke(&init).expect(&[Check::success()]);

    let transfer = token::calls::transfer(addr(ALICE), Amount(250));
    let (method, args) = iface.decode_call(&transfer).unwrap();
    assert_eq!(method.name, "transfer");
    assert_eq!(args["amount"], json!(250));
    assert_eq!(
        iface.encode_call("transfer", &args).unwrap(),
        transfer,
        "the interface's encoder agrees with the typed client"
    );
    let moved = chain.invoke(&transfer);
    moved.expect(&[Check::success()]);
    let event = &moved.events[0];
    let Some(token::Event::Transfer(typed)) = token::Event::decode(&event.topic, &event.data)
    else {
        panic!("not a transfer event: {:?}", event.topic);
    };
    assert_eq!(
        typed,
        token::Transfer {
            from: addr(OWNER),
            to: addr(ALICE),
            amount: Amount(250)
        }
    );
    let generic = iface
        .decode_event(std::str::from_utf8(&event.topic).unwrap(), &event.data)
        .unwrap();
    assert_eq!(generic["amount"], json!(250));
    assert_eq!(generic["to"], json!(hex::encode(ALICE.0)));

    let balance = chain.invoke(&token::calls::balance_of(addr(ALICE)));
    balance.expect(&[Check::success()]);
    assert_eq!(
        token::returns::balance_of(&answer(&balance)).unwrap(),
        Amount(250)
    );
    assert_eq!(
        iface
            .decode_return("balance_of", &answer(&balance))
            .unwrap(),
        Some(json!(250))
    );

    let metadata = chain.invoke(&token::calls::metadata());
    let typed = token::returns::metadata(&answer(&metadata)).unwrap();
    assert_eq!((typed.symbol.as_str(), typed.decimals), ("DMO", 2));
    assert_eq!(
        iface.decode_return("metadata", &answer(&metadata)).unwrap(),
        Some(json!({"name": "Demo", "symbol": "DMO", "decimals": 2}))
    );

    // A declared error: its code and the interface's name for it.
    let long = chain.invoke(&token::calls::init(
        "n".repeat(65),
        "X".into(),
        0,
        Amount(1),
    ));
    assert_eq!(long.code(), Some(7), "already initialised comes first");
    let fresh = Harness::new()
        .with_sender(OWNER)
        .deploy_example("token")
        .invoke(&token::calls::init(
            "n".repeat(65),
            "X".into(),
            0,
            Amount(1),
        ))
        .code();
    assert_eq!(fresh, Some(token::TokenError::BadMetadata.code()));
    assert_eq!(iface.error(1001).unwrap().name, "BadMetadata");
}

/// vault and counter: a returned id, a returned struct, the default method on empty input.
#[test]
fn the_vault_and_the_counter_round_trip() {
    let iface = parsed(vault::INTERFACE);
    let mut chain = Harness::new()
        .with_sender(ALICE)
        .with_balance(ALICE, 1_000)
        .with_value(300)
        .deploy_example("vault");
    let deposit = vault::calls::deposit(addr(OWNER), 0);
    assert_eq!(
        iface
            .encode_call(
                "deposit",
                &json!({"beneficiary": hex::encode(OWNER.0), "unlock_height": 0})
            )
            .unwrap(),
        deposit
    );
    let stored = chain.invoke(&deposit);
    stored.expect(&[Check::success()]);
    assert_eq!(vault::returns::deposit(&answer(&stored)).unwrap(), 0);
    let lock = chain.invoke(&vault::calls::get(0));
    let typed = vault::returns::get(&answer(&lock)).unwrap();
    assert_eq!(typed.beneficiary, addr(OWNER));
    assert_eq!(typed.assets, vec![(tos_sdk::NATIVE_ASSET, Amount(300))]);
    let generic = iface.decode_return("get", &answer(&lock)).unwrap().unwrap();
    assert_eq!(generic["unlock_height"], json!(0));

    let counter_iface = parsed(counter_rust::INTERFACE);
    let mut counter = Harness::new().deploy_example("counter-rust");
    counter
        .invoke(&counter_rust::calls::increment())
        .expect(&[Check::success(), Check::log("count = 1")]);
    counter
        .invoke(b"")
        .expect(&[Check::success(), Check::log("count = 2")]);
    let count = counter.invoke(&counter_rust::calls::count());
    assert_eq!(counter_rust::returns::count(&answer(&count)).unwrap(), 2);
    assert_eq!(
        counter_iface
            .decode_return("count", &answer(&count))
            .unwrap(),
        Some(json!(2))
    );
}

/// A Rust contract with the raw `entrypoint!` and no declaration still builds, deploys and
/// runs; its executable simply has no interface.
#[test]
fn a_contract_without_a_declaration_has_no_interface_and_runs() {
    let dir = tos_test_harness::fixtures::workspace_root().join("tests/contracts/sdk-ops");
    let elf =
        tos_test_harness::fixtures::build_contract_cached(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tos_vm::loader::interface_of(&elf).unwrap(), None);
    // `Op::Echo(vec![])` in its own borsh encoding (variant 0, empty vector): it runs.
    Harness::new()
        .with_budget(2_000_000)
        .deploy(&elf)
        .invoke(&[0, 0, 0, 0, 0])
        .expect(&[Check::success()]);
}

/// The methods an interface marks read-only really are: each of the token's views runs as a
/// query (`Vm::query`, every write refused) under both engines, and `transfer`, which writes,
/// is stopped there.
#[test]
fn the_views_run_as_queries_and_a_method_that_writes_does_not() {
    let iface = parsed(token::INTERFACE);
    let mut chain = Harness::new().with_sender(OWNER).deploy_example("token");
    chain
        .invoke(&token::calls::init(
            "Demo".into(),
            "DMO".into(),
            0,
            Amount(10),
        ))
        .expect(&[Check::success()]);
    let token = chain.contract();
    let views = [
        ("balance_of", token::calls::balance_of(addr(OWNER))),
        ("total_supply", token::calls::total_supply()),
        ("metadata", token::calls::metadata()),
    ];
    for engine in [tos_vm::Engine::Interpreter, tos_vm::Engine::Jit] {
        let vm = tos_vm::Vm::new(tos_vm::VmConfig {
            engine,
            ..tos_vm::VmConfig::default()
        });
        for (name, input) in &views {
            assert!(iface.require_method(name).unwrap().readonly, "{name}");
            let call = tos_vm::ContractCall::new(token, input.clone());
            let outcome = vm
                .query(chain.store(), &call, chain.block(), 1_000_000)
                .unwrap();
            assert!(outcome.status.is_success(), "{name}: {:?}", outcome.status);
            let data = &outcome.return_data.as_ref().expect("an answer").data;
            assert!(iface.decode_return(name, data).unwrap().is_some(), "{name}");
        }
        assert!(!iface.require_method("transfer").unwrap().readonly);
        let transfer = tos_vm::ContractCall {
            sender: OWNER,
            ..tos_vm::ContractCall::new(token, token::calls::transfer(addr(ALICE), Amount(1)))
        };
        let refused = vm
            .query(chain.store(), &transfer, chain.block(), 1_000_000)
            .unwrap();
        assert!(
            format!("{:?}", refused.status).contains("WriteInReadOnlyCall"),
            "{:?}",
            refused.status
        );
    }
}
