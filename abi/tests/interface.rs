//! The interface format: every validation rule refuses what it should with the error that
//! names the problem, and the value codec round-trips every type.
#![cfg(feature = "interface")]

use serde_json::{json, Value};
use tos_abi::interface::{selector, Interface, InterfaceError, Type, MAX_INTERFACE_LEN};

fn method(name: &str, readonly: bool, args: Value, returns: Value) -> Value {
    json!({"name": name, "selector": selector(name), "readonly": readonly, "args": args, "returns": returns})
}

fn token() -> Value {
    json!({
        "format": 1,
        "name": "token",
        "docs": "A fungible token.",
        "methods": [
            method("transfer", false, json!([{"name": "to", "type": "address"}, {"name": "amount", "type": "u64"}]), Value::Null),
            method("balance_of", true, json!([{"name": "owner", "type": "address"}]), json!("u64")),
            method("metadata", true, json!([]), json!("Metadata")),
            {"name": "init", "selector": selector("init"), "readonly": false, "constructor": true,
             "args": [{"name": "meta", "type": "Metadata"}, {"name": "supply", "type": "u128"}], "returns": null},
        ],
        "events": [{"name": "transfer", "fields": [{"name": "from", "type": "address"}, {"name": "amount", "type": "u64"}]}],
        "errors": [{"code": 1001, "name": "BadMetadata", "docs": "Name or symbol too long."}],
        "types": {"Metadata": {"fields": [{"name": "name", "type": "string"}, {"name": "decimals", "type": "u8"}]}}
    })
}

fn parse(v: &Value) -> Result<Interface, InterfaceError> {
    Interface::parse(v.to_string().as_bytes())
}

#[test]
fn selector_is_sha256_prefix_little_endian() {
    // `printf 'tos.method:transfer' | sha256sum` starts with 1caf8baf; read little-endian.
    assert_eq!(selector("transfer"), 0xaf8b_af1c);
    // `printf 'tos.method:balance_of' | sha256sum` starts with 070cc2e8.
    assert_eq!(selector("balance_of"), 0xe8c2_0c07);
    assert_ne!(selector("transfer"), selector("transfer_from"));
}

#[test]
fn a_valid_interface_parses_and_round_trips_through_json() {
    let interface = parse(&token()).expect("valid");
    assert_eq!(interface.methods.len(), 4);
    assert!(interface.method("balance_of").is_some_and(|m| m.readonly));
    let again = Interface::parse(interface.to_json().as_bytes()).expect("re-parses");
    assert_eq!(again, interface);
}

#[test]
fn calls_encode_and_decode_by_name() {
    let interface = parse(&token()).expect("valid");
    let to = "ab".repeat(32);
    let input = interface
        .encode_call("transfer", &json!({"to": to, "amount": 250}))
        .expect("encodes");
    let mut expected = selector("transfer").to_le_bytes().to_vec();
    expected.extend_from_slice(&[0xab; 32]);
    expected.extend_from_slice(&250u64.to_le_bytes());
    assert_eq!(input, expected);
    // By position too.
    assert_eq!(
        interface
            .encode_call("transfer", &json!([to, 250]))
            .expect("encodes"),
        expected
    );
    let (m, args) = interface.decode_call(&input).expect("decodes");
    assert_eq!(m.name, "transfer");
    assert_eq!(args, json!({"to": to, "amount": 250}));

    let init = interface
        .encode_call(
            "init",
            &json!({"meta": {"name": "Gold", "decimals": 8}, "supply": "340282366920938463463374607431768211455"}),
        )
        .expect("encodes");
    let (_, args) = interface.decode_call(&init).expect("decodes");
    assert_eq!(
        args,
        json!({"meta": {"name": "Gold", "decimals": 8}, "supply": "340282366920938463463374607431768211455"})
    );
    assert_eq!(
        interface
            .decode_return("balance_of", &7u64.to_le_bytes())
            .expect("decodes"),
        Some(json!(7))
    );
    assert_eq!(
        interface.decode_return("transfer", &[]).expect("unit"),
        None
    );
    let mut event = vec![0x11; 32];
    event.extend_from_slice(&5u64.to_le_bytes());
    assert_eq!(
        interface.decode_event("transfer", &event).expect("decodes"),
        json!({"from": "11".repeat(32), "amount": 5})
    );
    assert_eq!(
        interface.error(1001).map(|e| e.name.as_str()),
        Some("BadMetadata")
    );
}

#[test]
fn every_type_round_trips() {
    let interface = parse(&json!({
        "format": 1, "name": "types", "methods": [],
        "types": {"Pair": {"fields": [{"name": "a", "type": "i8"}, {"name": "b", "type": "option<string>"}]}}
    }))
    .expect("valid");
    let cases: Vec<(&str, Value)> = vec![
        ("bool", json!(true)),
        ("u8", json!(255)),
        ("u16", json!(65535)),
        ("u32", json!(4_000_000_000u32)),
        ("u64", json!(u64::MAX)),
        ("u128", json!("12345678901234567890123")),
        ("i8", json!(-128)),
        ("i16", json!(-2)),
        ("i32", json!(-70000)),
        ("i64", json!(i64::MIN)),
        ("i128", json!("-170141183460469231731687303715884105728")),
        ("string", json!("héllo")),
        ("bytes", json!("00ff10")),
        ("address", json!("01".repeat(32))),
        ("hash", json!("fe".repeat(32))),
        ("vec<u16>", json!([1, 2, 3])),
        ("vec<string>", json!([])),
        ("option<u8>", json!(null)),
        ("option<u8>", json!(4)),
        ("[u32; 3]", json!([7, 8, 9])),
        ("(u8, string, bool)", json!([1, "x", false])),
        (
            "vec<Pair>",
            json!([{"a": -1, "b": null}, {"a": 2, "b": "y"}]),
        ),
    ];
    for (ty, value) in cases {
        let ty: Type = ty.parse().expect("type parses");
        let bytes = interface.encode_value(&ty, &value).expect("encodes");
        let back = interface.decode_value(&ty, &bytes).expect("decodes");
        assert_eq!(back, value, "type {ty}");
    }
    // borsh layout spot checks.
    let ty: Type = "vec<u16>".parse().expect("type");
    assert_eq!(
        interface
            .encode_value(&ty, &json!([1, 2]))
            .expect("encodes"),
        vec![2, 0, 0, 0, 1, 0, 2, 0]
    );
    let ty: Type = "option<u8>".parse().expect("type");
    assert_eq!(
        interface.encode_value(&ty, &json!(9)).expect("encodes"),
        vec![1, 9]
    );
    // Byte arrays take hex too.
    let ty: Type = "[u8; 2]".parse().expect("type");
    assert_eq!(
        interface
            .encode_value(&ty, &json!("0x0a0b"))
            .expect("encodes"),
        vec![10, 11]
    );
}

#[test]
fn type_strings_print_as_they_parse() {
    for text in [
        "vec<option<[u8; 32]>>",
        "(u64, address)",
        "Metadata",
        "bytes",
    ] {
        let ty: Type = text.parse().expect("parses");
        assert_eq!(ty.to_string(), text);
    }
    for bad in [
        "",
        "vec<u8>>",
        "vec<u8",
        "[u8; 0]",
        "[u8; 4097]",
        "vec<>",
        "(u8,",
        "u8 u8",
        "9abc",
    ] {
        assert!(bad.parse::<Type>().is_err(), "`{bad}` must not parse");
    }
    let deep = format!("{}u8{}", "vec<".repeat(100_000), ">".repeat(100_000));
    assert!(
        deep.parse::<Type>().is_err(),
        "deep nesting is refused without recursing far"
    );
    let wide = format!("({})", vec!["u8"; 17].join(", "));
    assert!(wide.parse::<Type>().is_err());
}

fn assert_refused(v: Value, check: impl Fn(&InterfaceError) -> bool) {
    match parse(&v) {
        Ok(_) => panic!("accepted: {v}"),
        Err(e) => assert!(check(&e), "wrong error: {e:?}"),
    }
}

#[test]
fn every_rule_is_enforced() {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = token();
        f(&mut v);
        v
    };
    assert_refused(with(&|v| v["format"] = json!(2)), |e| {
        matches!(e, InterfaceError::UnsupportedFormat { found: 2 })
    });
    assert_refused(
        with(&|v| v["name"] = json!("Token")),
        |e| matches!(e, InterfaceError::InvalidName { what, .. } if what == "contract"),
    );
    assert_refused(with(&|v| v["name"] = json!("x".repeat(65))), |e| {
        matches!(e, InterfaceError::InvalidName { .. })
    });
    assert_refused(
        with(&|v| v["methods"][0] = method("Transfer", false, json!([]), Value::Null)),
        |e| matches!(e, InterfaceError::InvalidName { what, name, .. } if what == "method" && name == "Transfer"),
    );
    assert_refused(
        with(&|v| v["methods"][1] = method("transfer", true, json!([]), Value::Null)),
        |e| matches!(e, InterfaceError::DuplicateName { what, name } if what == "method" && name == "transfer"),
    );
    assert_refused(
        with(&|v| v["methods"][0]["selector"] = json!(selector("balance_of"))),
        |e| matches!(e, InterfaceError::SelectorMismatch { method, .. } if method == "transfer"),
    );
    assert_refused(with(&|v| v["methods"][0]["selector"] = json!(-1)), |e| {
        matches!(e, InterfaceError::Json { .. })
    });
    assert_refused(
        with(&|v| v["methods"][0]["readonly"] = json!("no")),
        |e| matches!(e, InterfaceError::Json { message } if message.contains("boolean")),
    );
    assert_refused(
        with(&|v| v["methods"][0]["surprise"] = json!(1)),
        |e| matches!(e, InterfaceError::Json { message } if message.contains("surprise")),
    );
    // Not a primitive, so a struct name: refused as unknown.
    assert_refused(
        with(&|v| v["methods"][0]["args"][1]["type"] = json!("u256")),
        |e| matches!(e, InterfaceError::InvalidType { reason, .. } if reason.contains("u256")),
    );
    assert_refused(
        with(&|v| v["methods"][0]["args"][1]["type"] = json!("vec<u8")),
        |e| matches!(e, InterfaceError::Json { message } if message.contains("vec<u8")),
    );
    assert_refused(
        with(&|v| v["methods"][0]["args"][1]["type"] = json!("Missing")),
        |e| matches!(e, InterfaceError::InvalidType { reason, .. } if reason.contains("Missing")),
    );
    assert_refused(
        with(&|v| v["methods"][0]["args"][1]["name"] = json!("to")),
        |e| matches!(e, InterfaceError::DuplicateName { name, .. } if name == "to"),
    );
    assert_refused(
        with(&|v| v["methods"][1]["returns"] = json!("Missing")),
        |e| matches!(e, InterfaceError::InvalidType { at, .. } if at.contains("balance_of")),
    );
    assert_refused(
        with(&|v| v["methods"][3]["readonly"] = json!(true)),
        |e| matches!(e, InterfaceError::InvalidMethod { method, .. } if method == "init"),
    );
    assert_refused(
        with(&|v| v["methods"][0]["constructor"] = json!(true)),
        |e| matches!(e, InterfaceError::InvalidMethod { reason, .. } if reason.contains("second constructor")),
    );
    assert_refused(
        with(&|v| {
            v["errors"]
                .as_array_mut()
                .expect("array")
                .push(json!({"code": 1001, "name": "Other"}))
        }),
        |e| matches!(e, InterfaceError::DuplicateErrorCode { code: 1001, .. }),
    );
    assert_refused(with(&|v| v["errors"][0]["code"] = json!(0)), |e| {
        matches!(e, InterfaceError::InvalidErrorCode { code: 0, .. })
    });
    assert_refused(
        with(&|v| {
            v["events"]
                .as_array_mut()
                .expect("array")
                .push(json!({"name": "transfer", "fields": []}))
        }),
        |e| matches!(e, InterfaceError::DuplicateName { what, .. } if what == "event"),
    );
    assert_refused(
        with(&|v| v["types"]["u8"] = json!({"fields": [{"name": "a", "type": "u8"}]})),
        |e| matches!(e, InterfaceError::InvalidName { what, .. } if what == "type"),
    );
    assert_refused(
        with(&|v| v["types"]["Empty"] = json!({"fields": []})),
        |e| matches!(e, InterfaceError::InvalidType { .. }),
    );
    // A struct containing itself has unbounded depth.
    assert_refused(
        with(&|v| {
            v["types"]["Node"] = json!({"fields": [{"name": "next", "type": "option<Node>"}]})
        }),
        |e| matches!(e, InterfaceError::InvalidType { reason, .. } if reason.contains("deeper")),
    );
    // Depth counts through structs: 5 levels in a struct used under 4 more is 9.
    assert_refused(
        with(&|v| {
            v["types"]["Deep"] =
                json!({"fields": [{"name": "x", "type": "vec<vec<vec<vec<u8>>>>"}]});
            v["methods"][2]["returns"] = json!("vec<vec<vec<vec<Deep>>>>");
        }),
        |e| matches!(e, InterfaceError::InvalidType { at, .. } if at.contains("metadata")),
    );
    // Exactly 8 levels is fine.
    parse(&with(&|v| {
        v["methods"][2]["returns"] = json!("vec<vec<vec<vec<vec<vec<vec<vec<u8>>>>>>>>")
    }))
    .expect("depth 8 is allowed");
}

#[test]
fn hostile_bytes_are_refused() {
    let huge = format!(
        r#"{{"format": 1, "name": "x", "docs": "{}", "methods": []}}"#,
        "a".repeat(MAX_INTERFACE_LEN)
    );
    assert!(matches!(
        Interface::parse(huge.as_bytes()),
        Err(InterfaceError::TooLarge { .. })
    ));
    assert!(matches!(
        Interface::parse(b"{\"format\": 1, \xff}"),
        Err(InterfaceError::NotUtf8 { offset: 14 })
    ));
    for bad in [
        &b""[..],
        b"{",
        b"[]",
        b"null",
        b"{\"format\": 1}",
        b"{\"format\": \"1\", \"name\": \"x\"}",
    ] {
        assert!(
            matches!(Interface::parse(bad), Err(InterfaceError::Json { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Deep JSON nesting is refused by serde_json's recursion limit, not by a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Interface::parse(deep.as_bytes()).is_err());
}

#[test]
fn bad_arguments_name_the_method_argument_and_type() {
    let interface = parse(&token()).expect("valid");
    let err = interface
        .encode_call("transfer", &json!({"to": "ab".repeat(32), "amount": -1}))
        .expect_err("negative amount");
    let text = err.to_string();
    assert!(
        text.contains("transfer") && text.contains("amount") && text.contains("u64"),
        "{text}"
    );
    let err = interface
        .encode_call("transfer", &json!({"to": "abcd", "amount": 1}))
        .expect_err("short address");
    assert!(err.to_string().contains("address"), "{err}");
    assert!(matches!(
        interface.encode_call("transfer", &json!({"to": "ab".repeat(32)})),
        Err(InterfaceError::MissingArgument { argument, .. }) if argument == "amount"
    ));
    assert!(matches!(
        interface.encode_call("transfer", &json!({"to": "ab".repeat(32), "amount": 1, "memo": "x"})),
        Err(InterfaceError::UnexpectedArgument { argument, .. }) if argument == "memo"
    ));
    assert!(matches!(
        interface.encode_call("mint", &json!({})),
        Err(InterfaceError::UnknownMethod { method, known, .. }) if method == "mint" && known.contains("transfer")
    ));
    assert!(matches!(
        interface.encode_call("transfer", &json!([1])),
        Err(InterfaceError::BadArguments { .. })
    ));
}

#[test]
fn hostile_answers_are_refused_without_allocating() {
    let interface = parse(&token()).expect("valid");
    let ty: Type = "vec<u64>".parse().expect("type");
    // A count of 4 billion elements with no bytes behind it.
    assert!(matches!(
        interface.decode_value(&ty, &u32::MAX.to_le_bytes()),
        Err(InterfaceError::Decode { .. })
    ));
    assert!(interface.decode_return("balance_of", &[1, 2, 3]).is_err());
    assert!(
        interface.decode_return("balance_of", &[0; 9]).is_err(),
        "trailing bytes"
    );
    assert!(
        interface.decode_return("transfer", &[0]).is_err(),
        "unit method with data"
    );
    let ty: Type = "bool".parse().expect("type");
    assert!(interface.decode_value(&ty, &[2]).is_err());
    let ty: Type = "string".parse().expect("type");
    assert!(interface
        .decode_value(&ty, &[2, 0, 0, 0, 0xff, 0xff])
        .is_err());
    assert!(interface.decode_call(&[1, 2]).is_err());
    assert!(
        interface.decode_call(&[1, 2, 3, 4]).is_err(),
        "unknown selector"
    );
}

#[test]
fn struct_depth_is_computed_once_per_struct() {
    // T0 has 16 fields of T1, T1 16 of T2, ... T7 16 of u8: 8 levels, allowed. Walking every
    // path would take 16^8 (4 billion) steps; each struct's depth must be reused instead.
    let mut types = serde_json::Map::new();
    for level in 0..8 {
        let ty = if level == 7 {
            "u8".to_string()
        } else {
            format!("T{}", level + 1)
        };
        let fields: Vec<Value> = (0..16)
            .map(|i| json!({"name": format!("f{i}"), "type": ty}))
            .collect();
        types.insert(format!("T{level}"), json!({"fields": fields}));
    }
    let mut v = json!({
        "format": 1, "name": "wide",
        "methods": [method("get", true, json!([]), json!("T0"))],
        "types": types,
    });
    let started = std::time::Instant::now();
    parse(&v).expect("8 levels through structs are allowed");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // One level more is refused, just as fast.
    v["methods"][0]["returns"] = json!("vec<T0>");
    assert!(matches!(parse(&v), Err(InterfaceError::InvalidType { .. })));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
