//! Properties of canonical JSON over arbitrary documents: canonicalising is idempotent, the
//! strict canonical parser accepts exactly what we write and reads back the same value, and
//! any other spelling of the same document is refused as non-canonical.
#![allow(clippy::unwrap_used)]

use convoy_proto::json::{self, JsonError, MAX_SAFE_INTEGER};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let safe = MAX_SAFE_INTEGER as i64;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-safe..=safe).prop_map(|i| Value::Number(i.into())),
        // Non-integral doubles, including tiny and huge exponents.
        (any::<i32>(), -300i32..=0).prop_map(|(m, e)| {
            let f = (f64::from(m) + 0.5) * 10f64.powi(e);
            Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }),
        "\\PC{0,12}".prop_map(Value::String),
        // Control characters, quotes, backslashes and astral-plane characters.
        prop::collection::vec(
            prop_oneof![
                Just('\u{0}'),
                Just('\u{1f}'),
                Just('"'),
                Just('\\'),
                Just('😀'),
                Just('\u{7f}'),
                Just('é')
            ],
            0..6
        )
        .prop_map(|c| Value::String(c.into_iter().collect())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn canonical_bytes_parse_back_to_the_same_value(value in arb_json()) {
        let bytes = json::canonical_bytes(&value).unwrap();
        let parsed = json::parse_canonical(&bytes).unwrap();
        prop_assert_eq!(&parsed, &value);
        prop_assert_eq!(json::canonical_bytes(&parsed).unwrap(), bytes);
    }

    #[test]
    fn pretty_printed_documents_are_refused_unless_trivial(value in arb_json()) {
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let canonical = json::canonical_bytes(&value).unwrap();
        let parsed = json::parse_canonical(&pretty);
        if pretty == canonical {
            prop_assert!(parsed.is_ok());
        } else {
            prop_assert!(matches!(parsed, Err(JsonError::NonCanonical { .. })), "{:?}", parsed);
        }
    }
}
