//! Properties of canonical JSON over arbitrary documents: our streaming canonicaliser writes
//! exactly what the reference (`serde_json_canonicalizer`) writes, the strict canonical
//! parser accepts exactly that and reads back the same value, and any other spelling of the
//! same document is refused as non-canonical.
#![allow(clippy::unwrap_used)]

use convoy_proto::json::{self, JsonError, MAX_SAFE_INTEGER};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let safe = MAX_SAFE_INTEGER as i64;
    let number = |f: f64| {
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-safe..=safe).prop_map(|i| Value::Number(i.into())),
        // Non-integral doubles: small exponents, and any bit pattern that is one.
        (any::<i32>(), -300i32..=0)
            .prop_map(move |(m, e)| number((f64::from(m) + 0.5) * 10f64.powi(e))),
        any::<f64>()
            .prop_filter("non-integral finite", |f| f.is_finite() && f.fract() != 0.0)
            .prop_map(number),
        "\\PC{0,12}".prop_map(Value::String),
        // Control characters, quotes, backslashes, astral-plane and high-BMP characters
        // (whose UTF-8 and UTF-16 orders differ).
        prop::collection::vec(
            prop::sample::select(vec![
                '\u{0}', '\u{1f}', '"', '\\', '😀', '\u{7f}', 'é', '\u{fb33}'
            ]),
            0..6
        )
        .prop_map(|c| Value::String(c.into_iter().collect())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = "\\PC{0,6}|[\u{e000}-\u{ffff}\u{10000}-\u{10ffff}]{1,2}";
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn canonical_bytes_match_the_reference_canonicaliser(value in arb_json()) {
        let reference = serde_json_canonicalizer::to_vec(&value).unwrap();
        // The streaming serialiser itself, not the reference it falls back to.
        prop_assert_eq!(json::canonical_bytes_streamed(&value), Some(reference.clone()));
        prop_assert_eq!(json::canonical_bytes(&value).unwrap(), reference);
    }

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
