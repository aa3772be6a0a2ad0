//! `#[tos_sdk::contract]` in host mode: the dispatch, return data, events, errors, the
//! default method, the views' context and the interface JSON it generates.

use tos_sdk::host::TestEnv;
use tos_sdk::{Address, ContractError};

/// A contract exercising every kind of declaration.
#[tos_sdk::contract(name = "shapes")]
mod shapes {
    use tos_sdk::prelude::*;

    /// A point.
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct Point {
        pub x: i32,
        pub y: i32,
    }

    /// Something was stored.
    #[event]
    #[derive(BorshSerialize, BorshDeserialize, Debug, Clone, PartialEq, Eq)]
    pub struct PointStored {
        pub by: Address,
        pub point: Point,
    }

    #[errors]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ShapeError {
        /// The origin is refused.
        Origin,
        /// Numbered explicitly.
        TooFar = 7,
        /// Numbered after the one before; "quoted", a \ backslash and a	tab.
        Next,
    }

    const POINT: Item<Point> = Item::new(b"point");
    const HITS: Item<u64> = Item::new(b"hits");

    /// Stores `point`.
    #[constructor]
    pub fn new(ctx: &Context, point: Point) -> Result<(), ContractError> {
        store(ctx, point, None)
    }

    /// Stores a point; `label` is logged.
    #[method]
    pub fn store(ctx: &Context, point: Point, label: Option<String>) -> Result<(), ContractError> {
        require(point != Point { x: 0, y: 0 }, ShapeError::Origin)?;
        require(point.x.abs() < 1000, ShapeError::TooFar)?;
        if let Some(label) = label {
            log(&label);
        }
        POINT.set(&point)?;
        PointStored {
            by: ctx.caller(),
            point,
        }
        .emit(ctx)
    }

    /// Counts calls; runs on an empty input too.
    #[method(default)]
    pub fn hit() -> u64 {
        let hits = HITS.get_or_default().unwrap_or(0) + 1;
        let _ = HITS.set(&hits);
        hits
    }

    /// The stored point and who asks.
    #[view]
    pub fn point(view: &View) -> Result<(Point, Address), ContractError> {
        Ok((POINT.load()?, view.caller()))
    }

    /// Sums bytes (any argument types round-trip).
    #[view]
    pub fn sum(values: Vec<u8>, extra: [u16; 3], pairs: Vec<(bool, i64)>) -> u128 {
        let bytes: u128 = values.iter().map(|v| u128::from(*v)).sum();
        let extra: u128 = extra.iter().map(|v| u128::from(*v)).sum();
        let pairs: i64 = pairs.iter().filter(|(on, _)| *on).map(|(_, v)| v).sum();
        bytes + extra + pairs as u128
    }
}

use shapes::{calls, returns, Event, Point, ShapeError};

const ALICE: Address = Address([0xA1; 32]);

fn answer(outcome: &tos_sdk::host::Outcome) -> Vec<u8> {
    outcome.return_data.as_ref().expect("return data").1.clone()
}

#[test]
fn methods_round_trip_through_the_typed_client() {
    let mut env = TestEnv::new();
    env.sender = ALICE;
    let outcome = env.invoke(shapes::entrypoint, &calls::new(Point { x: 3, y: 4 }));
    assert!(outcome.is_success(), "{outcome:?}");
    let (topic, data) = &outcome.events[0];
    let Some(Event::PointStored(event)) = Event::decode(topic, data) else {
        panic!("{topic:?}");
    };
    assert_eq!(event.by, ALICE);
    assert_eq!(event.point, Point { x: 3, y: 4 });
    assert_eq!(shapes::PointStored::NAME.as_bytes(), topic.as_slice());

    let outcome = env.invoke(
        shapes::entrypoint,
        &calls::store(Point { x: -1, y: 2 }, Some("moved".into())),
    );
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.logs, ["moved"]);
    let outcome = env.invoke(shapes::entrypoint, &calls::point());
    assert_eq!(
        returns::point(&answer(&outcome)).unwrap(),
        (Point { x: -1, y: 2 }, ALICE)
    );
    let outcome = env.invoke(
        shapes::entrypoint,
        &calls::sum(vec![1, 2, 250], [1000, 0, 7], vec![(true, 5), (false, 100)]),
    );
    assert_eq!(returns::sum(&answer(&outcome)).unwrap(), 1265);
}

#[test]
fn errors_are_the_declared_codes() {
    let mut env = TestEnv::new();
    let origin = env.invoke(
        shapes::entrypoint,
        &calls::store(Point { x: 0, y: 0 }, None),
    );
    assert_eq!(origin.code(), Some(1000));
    let far = env.invoke(
        shapes::entrypoint,
        &calls::store(Point { x: 5000, y: 0 }, None),
    );
    assert_eq!(far.code(), Some(1007));
    assert_eq!(far.error(), Some(ShapeError::TooFar.into()));
    assert_eq!(ShapeError::Next.code(), 1008);
    assert_eq!(ShapeError::from_code(1008), Some(ShapeError::Next));
    assert_eq!(ShapeError::from_code(1001), None);
    assert_eq!(ContractError::from(ShapeError::Origin).code(), 1000);
}

#[test]
fn an_empty_input_runs_the_default_method() {
    let mut env = TestEnv::new();
    let first = env.invoke(shapes::entrypoint, b"");
    assert_eq!(returns::hit(&answer(&first)).unwrap(), 1);
    let second = env.invoke(shapes::entrypoint, &calls::hit());
    assert_eq!(returns::hit(&answer(&second)).unwrap(), 2);
    assert_eq!(calls::hit(), shapes::selectors::HIT.to_le_bytes());
}

#[test]
fn malformed_inputs_fail_with_invalid_input_or_instruction() {
    let mut env = TestEnv::new();
    let store = calls::store(Point { x: 1, y: 1 }, None);
    for (input, error) in [
        (&store[..3], ContractError::InvalidInput),
        (&store[..store.len() - 1], ContractError::InvalidInput),
        (&[1, 2, 3, 4][..], ContractError::InvalidInstruction),
    ] {
        assert_eq!(env.invoke(shapes::entrypoint, input).error(), Some(error));
    }
    let mut longer = store.clone();
    longer.push(0);
    assert_eq!(
        env.invoke(shapes::entrypoint, &longer).error(),
        Some(ContractError::InvalidInput)
    );
    // A `String` argument that is not UTF-8.
    let mut bad_label = shapes::selectors::STORE.to_le_bytes().to_vec();
    bad_label.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]); // Point { x: 1, y: 1 }
    bad_label.extend_from_slice(&[1, 2, 0, 0, 0, 0xC3, 0x28]); // Some(2 invalid bytes)
    assert_eq!(
        env.invoke(shapes::entrypoint, &bad_label).error(),
        Some(ContractError::InvalidInput)
    );
}

#[test]
fn the_interface_json_describes_the_declaration() {
    let json = shapes::INTERFACE;
    let selector = |name: &str| tos_sdk::method_selector(name);
    let expected = format!(
        concat!(
            r#"{{"format":1,"name":"shapes","docs":"A contract exercising every kind of declaration.","#,
            r#""methods":["#,
            r#"{{"name":"new","selector":{},"readonly":false,"constructor":true,"docs":"Stores `point`.","args":[{{"name":"point","type":"Point"}}],"returns":null}},"#,
            r#"{{"name":"store","selector":{},"readonly":false,"docs":"Stores a point; `label` is logged.","args":[{{"name":"point","type":"Point"}},{{"name":"label","type":"option<string>"}}],"returns":null}},"#,
            r#"{{"name":"hit","selector":{},"readonly":false,"docs":"Counts calls; runs on an empty input too.\nAlso runs on an empty input.","args":[],"returns":"u64"}},"#,
            r#"{{"name":"point","selector":{},"readonly":true,"docs":"The stored point and who asks.","args":[],"returns":"(Point, address)"}},"#,
            r#"{{"name":"sum","selector":{},"readonly":true,"docs":"Sums bytes (any argument types round-trip).","args":[{{"name":"values","type":"bytes"}},{{"name":"extra","type":"[u16; 3]"}},{{"name":"pairs","type":"vec<(bool, i64)>"}}],"returns":"u128"}}],"#,
            r#""events":[{{"name":"point_stored","docs":"Something was stored.","fields":[{{"name":"by","type":"address"}},{{"name":"point","type":"Point"}}]}}],"#,
            r#""errors":[{{"code":1000,"name":"Origin","docs":"The origin is refused."}},{{"code":1007,"name":"TooFar","docs":"Numbered explicitly."}},{{"code":1008,"name":"Next","docs":"Numbered after the one before; \"quoted\", a \\ backslash and a\ttab."}}],"#,
            r#""types":{{"Point":{{"docs":"A point.","fields":[{{"name":"x","type":"i32"}},{{"name":"y","type":"i32"}}]}}}}}}"#
        ),
        selector("new"),
        selector("store"),
        selector("hit"),
        selector("point"),
        selector("sum"),
    );
    assert_eq!(json, expected);
    // The validator of the format accepts it, and reads the escaped text back.
    let parsed = tos_abi::interface::Interface::parse(json.as_bytes()).unwrap();
    assert_eq!(
        parsed.error(1008).and_then(|e| e.docs.as_deref()),
        Some("Numbered after the one before; \"quoted\", a \\ backslash and a\ttab.")
    );
    assert_eq!(
        parsed.method("sum").map(|m| m.selector),
        Some(shapes::selectors::SUM)
    );
}
