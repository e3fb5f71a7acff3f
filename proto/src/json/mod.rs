//! Strict JSON in, canonical JSON out.
//!
//! Signatures cover the RFC 8785 (JCS) canonical bytes of a document, so the parser and
//! the canonicaliser must agree on exactly one meaning for every accepted input:
//!
//! * duplicate object keys are an error (`serde_json` would silently keep the last one, so
//!   a verifier and a policy could read different values from the same signed bytes);
//! * every integer is within ±(2^53 − 1): JCS writes numbers as IEEE doubles, so a larger
//!   integer would be silently rounded and two different documents would share a signature;
//! * lone UTF-16 surrogates (`"\ud800"`) are an error: they have no UTF-8 encoding;
//! * [`parse_canonical`] additionally requires the input to *be* its canonical form, so a
//!   signed file has exactly one byte representation and no byte of it is malleable.

mod stream;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest integer JCS can carry exactly (2^53 − 1, JavaScript's `MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Largest document the strict parser accepts: far above a 10,000-host fleet (~4 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Why a JSON document was refused before any meaning was given to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not well-formed JSON (or not UTF-8).
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser reported.
        message: String,
    },
    /// A string escape encodes half of a UTF-16 surrogate pair.
    #[error("lone UTF-16 surrogate in a string at line {line}, column {column}")]
    LoneSurrogate {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The same key appears twice in one object.
    #[error("duplicate key `{key}` in the object at {path}")]
    DuplicateKey {
        /// JSON path of the object, e.g. `$.hosts`.
        path: String,
        /// The repeated key.
        key: String,
    },
    /// An integer that JCS would round (outside ±(2^53 − 1)).
    #[error("number {number} at {path} is outside ±(2^53 - 1); carry it as a string")]
    IntegerOutOfRange {
        /// JSON path of the number.
        path: String,
        /// The number as parsed.
        number: String,
    },
    /// A document larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document is {size} bytes, above the {limit}-byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The input parses but is not byte-for-byte its own canonical (RFC 8785) form.
    #[error("document is not in canonical (RFC 8785) form: first difference at byte {offset}")]
    NonCanonical {
        /// Offset of the first differing byte.
        offset: usize,
    },
    /// A value could not be canonicalised (a non-finite number, or a serialiser failure).
    #[error("cannot canonicalise: {0}")]
    Canonicalise(String),
}

/// Parses `bytes` as strict JSON (see the module documentation) into a [`Value`].
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(JsonError::TooLarge {
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let violation = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        path: "$".to_owned(),
        violation: &violation,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(value) => Ok(value),
        Err(err) => Err(violation.into_inner().unwrap_or_else(|| {
            // serde_json words surrogate errors in several ways; find the escape itself.
            find_lone_surrogate(bytes).unwrap_or_else(|| JsonError::Syntax {
                line: err.line(),
                column: err.column(),
                message: err.to_string(),
            })
        })),
    }
}

/// Parses `bytes` strictly and requires them to equal their canonical form.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, JsonError> {
    let value = parse_strict(bytes)?;
    let canonical = canonical_bytes(&value)?;
    if canonical != bytes {
        let offset = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(JsonError::NonCanonical { offset });
    }
    Ok(value)
}

/// The RFC 8785 canonical bytes of any serialisable value, after the same integer-range
/// check the parser applies (so we never sign what we would refuse to verify).
///
/// Written straight from the value by a streaming serialiser; only when that gives up (an
/// out-of-range number, or a shape Convoy's documents do not use) does the slow path build
/// a [`Value`] tree, which either canonicalises it or names the JSON path of the problem.
pub fn canonical_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JsonError> {
    match stream::to_vec(value) {
        Ok(bytes) => Ok(bytes),
        Err(stream::Unsupported::DuplicateKey(key)) => Err(JsonError::Canonicalise(format!(
            "two object members named `{key}`"
        ))),
        Err(stream::Unsupported::Fallback(_)) => {
            let tree =
                serde_json::to_value(value).map_err(|e| JsonError::Canonicalise(e.to_string()))?;
            check_integers(&tree, &mut "$".to_owned())?;
            jcs(&tree)
        }
    }
}

/// The streaming serialiser alone: `None` where [`canonical_bytes`] would fall back to the
/// slow path. For tests that must reach the fast path, which the fallback would mask.
#[doc(hidden)]
pub fn canonical_bytes_streamed<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    stream::to_vec(value).ok()
}

/// [`canonical_bytes`] for a value that is already a [`Value`].
pub fn canonical_value_bytes(value: &Value) -> Result<Vec<u8>, JsonError> {
    canonical_bytes(value)
}

/// The reference canonicaliser (`serde_json_canonicalizer`), used by the slow path.
fn jcs(value: &Value) -> Result<Vec<u8>, JsonError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| JsonError::Canonicalise(e.to_string()))
}

/// Scans the string literals of `bytes` for a `\\uXXXX` escape that is half of a surrogate
/// pair without its other half.
fn find_lone_surrogate(bytes: &[u8]) -> Option<JsonError> {
    let hex = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let escape_at = |at: usize| {
        (bytes.get(at..at + 2) == Some(b"\\u".as_slice()))
            .then(|| hex(at + 2))
            .flatten()
    };
    let (mut in_string, mut i, mut line, mut line_start) = (false, 0, 1, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => (line, line_start) = (line + 1, i + 1),
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if let Some(unit) = escape_at(i) {
                    let lone = match unit {
                        0xD800..=0xDBFF => !matches!(escape_at(i + 6), Some(0xDC00..=0xDFFF)),
                        0xDC00..=0xDFFF => true,
                        _ => false,
                    };
                    if lone {
                        return Some(JsonError::LoneSurrogate {
                            line,
                            column: i - line_start + 1,
                        });
                    }
                    // Skip a whole valid pair so its low half is not seen as lone.
                    i += if (0xD800..=0xDBFF).contains(&unit) {
                        12
                    } else {
                        6
                    };
                    continue;
                }
                i += 1; // the escaped character
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn check_integers(value: &Value, path: &mut String) -> Result<(), JsonError> {
    match value {
        Value::Number(n) => check_number(n, path),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let r = check_integers(item, path);
            path.truncate(len);
            r
        }),
        Value::Object(map) => map.iter().try_for_each(|(k, item)| {
            let len = path.len();
            push_key(path, k);
            let r = check_integers(item, path);
            path.truncate(len);
            r
        }),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

fn check_number(n: &Number, path: &str) -> Result<(), JsonError> {
    let in_range = if let Some(u) = n.as_u64() {
        u <= MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER
    } else {
        // A float: integral values beyond 2^53 are integers that JCS would have rounded.
        n.as_f64().is_some_and(|f| {
            f.is_finite() && (f.fract() != 0.0 || f.abs() <= MAX_SAFE_INTEGER as f64)
        })
    };
    if in_range {
        Ok(())
    } else {
        Err(JsonError::IntegerOutOfRange {
            path: path.to_owned(),
            number: n.to_string(),
        })
    }
}

fn push_key(path: &mut String, key: &str) {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{key:?}]"));
    }
}

/// A `DeserializeSeed` that builds a [`Value`] while enforcing the strict rules, recording
/// the typed violation on the side (serde errors are strings) with the JSON path.
struct Strict<'v> {
    path: String,
    violation: &'v RefCell<Option<JsonError>>,
}

impl Strict<'_> {
    fn fail<E: de::Error>(&self, error: JsonError) -> E {
        let message = error.to_string();
        self.violation.borrow_mut().get_or_insert(error);
        E::custom(message)
    }

    fn child(&self, path: String) -> Self {
        Strict {
            path,
            violation: self.violation,
        }
    }

    fn number<E: de::Error>(&self, n: Number) -> Result<Value, E> {
        check_number(&n, &self.path).map_err(|e| self.fail(e))?;
        Ok(Value::Number(n))
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        self.number(u.into())
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        self.number(i.into())
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        match Number::from_f64(f) {
            Some(n) => self.number(n),
            None => Err(E::custom("non-finite number")),
        }
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(self.fail(JsonError::DuplicateKey {
                    path: self.path.clone(),
                    key,
                }));
            }
            let mut path = self.path.clone();
            push_key(&mut path, &key);
            let value = map.next_value_seed(self.child(path))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        String::from_utf8(canonical_bytes(&parse_strict(text.as_bytes()).unwrap()).unwrap())
            .unwrap()
    }

    #[test]
    fn rfc8785_example_document() {
        // RFC 8785 §3.2.2 input, canonicalised without the strict parser (1E30 is an
        // integral float above 2^53, which artifacts refuse but the canonicaliser handles).
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        let out = String::from_utf8(serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_number_vectors() {
        // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
        let vectors: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, expected) in vectors {
            let value = Value::from(f64::from_bits(bits));
            let out = String::from_utf8(serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap();
            assert_eq!(out, expected, "bits {bits:#018x}");
        }
    }

    #[test]
    fn rfc8785_key_order_is_utf16() {
        let out = canon(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        );
        let keys: Vec<&str> = ["\\r", "1", "\u{80}", "ö", "€", "😀", "\u{fb33}"].to_vec();
        let mut at = 0;
        for key in keys {
            let found = out[at..]
                .find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("{key} out of order in {out}"));
            at += found + 1;
        }
    }

    #[test]
    fn escapes_are_minimal() {
        assert_eq!(
            canon(r#"["\u0041\u00e9\u001f\t\"\\\/"]"#),
            "[\"Aé\\u001f\\t\\\"\\\\/\"]"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let err = parse_strict(br#"{"hosts":{"web1":{"channel":"a","channel":"b"}}}"#).unwrap_err();
        assert_eq!(
            err,
            JsonError::DuplicateKey {
                path: "$.hosts.web1".into(),
                key: "channel".into()
            }
        );
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused() {
        assert!(parse_strict(b"[9007199254740991, -9007199254740991]").is_ok());
        for bad in [
            "9007199254740992",
            "-9007199254740992",
            "18446744073709551615",
            "1e300",
            "100000000000000000000000",
        ] {
            let err =
                parse_strict(format!("{{\"meta\":{{\"version\":{bad}}}}}").as_bytes()).unwrap_err();
            assert!(
                matches!(&err, JsonError::IntegerOutOfRange { path, .. } if path == "$.meta.version"),
                "{bad}: {err:?}"
            );
        }
        // Non-integral floats are fine: JCS writes them exactly.
        assert!(parse_strict(b"[0.5, 1.5e-300, 4503599627370495.5]").is_ok());
    }

    #[test]
    fn canonicalising_refuses_unsafe_integers_too() {
        assert!(matches!(
            canonical_bytes(&serde_json::json!({"v": u64::MAX})),
            Err(JsonError::IntegerOutOfRange { .. })
        ));
    }

    #[test]
    fn lone_surrogates_are_refused() {
        for bad in [
            r#"["\ud800"]"#,
            r#"["\udc00"]"#,
            r#"["\ud800x"]"#,
            r#"{"k\ud800\u0041":1}"#,
        ] {
            let err = parse_strict(bad.as_bytes()).unwrap_err();
            assert!(
                matches!(err, JsonError::LoneSurrogate { .. }),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(canon(r#"["\ud83d\ude00"]"#), "[\"😀\"]");
        // An escaped backslash followed by `ud800` is text, not an escape.
        assert_eq!(canon(r#"["\\ud800"]"#), r#"["\\ud800"]"#);
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = parse_strict(b"{\n  \"a\": tru\n}").unwrap_err();
        assert!(
            matches!(err, JsonError::Syntax { line: 2..=3, .. }),
            "{err:?}"
        );
        assert!(matches!(
            parse_strict(b"{} {}"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_strict(b"\xff"),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse_strict(deep.as_bytes()),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn parse_canonical_requires_the_canonical_bytes() {
        assert!(parse_canonical(br#"{"a":1,"b":[true]}"#).is_ok());
        assert_eq!(
            parse_canonical(br#"{"b":1,"a":2}"#),
            Err(JsonError::NonCanonical { offset: 2 })
        );
        assert!(matches!(
            parse_canonical(b"{\"a\": 1}"),
            Err(JsonError::NonCanonical { .. })
        ));
        assert!(matches!(
            parse_canonical(b"{\"a\":1}\n"),
            Err(JsonError::NonCanonical { .. })
        ));
        assert!(matches!(
            parse_canonical(b"[1.0]"),
            Err(JsonError::NonCanonical { .. })
        ));
    }

    /// The evaluation behind docs/canonical-json.md: `serde_jcs` silently rounds integers
    /// above 2^53 and keeps the last duplicate key; our path refuses both.
    #[test]
    fn serde_jcs_traps_that_we_close() {
        let big: Value = serde_json::from_str("[9007199254740993]").unwrap();
        assert_eq!(serde_jcs::to_string(&big).unwrap(), "[9007199254740992]");
        assert!(canonical_bytes(&big).is_err());

        let dup: Value = serde_json::from_str(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(serde_jcs::to_string(&dup).unwrap(), r#"{"a":2}"#);
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
    }
}
