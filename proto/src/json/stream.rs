//! A serde `Serializer` that writes RFC 8785 canonical JSON directly, without building a
//! `serde_json::Value` tree first.
//!
//! Receipts hash the canonical bytes of every policy input (10,000 hosts per call) and
//! releases sign whole fleets, so this path is hot. Object members go straight to the
//! output while their keys arrive in canonical order (as serde's derives emit the fields of
//! a type declared in that order); the first key out of order makes the object buffer its
//! members and sort them by their keys' UTF-16 code units (RFC 8785 §3.2.3). Strings use
//! `serde_json`'s escaping, which is exactly ECMAScript's `JSON.stringify` for valid UTF-8
//! (`\b \t \n \f \r \" \\`, other controls as lowercase `\u00xx`); numbers are integers
//! within ±(2^53 − 1) written as such, or finite non-integral doubles written the
//! ECMAScript way (`ryu-js`). Anything else is an error: the caller then takes the slow
//! path, whose error names the JSON path of the problem.

use serde::ser::{self, Impossible, Serialize};

use super::MAX_SAFE_INTEGER;

/// Why the fast path gave up.
#[derive(Debug)]
pub(super) enum Unsupported {
    /// Something the slow path handles or reports with its JSON path.
    Fallback(String),
    /// Two members with one key: never canonical (the slow path would keep the last).
    DuplicateKey(String),
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Unsupported::Fallback(what) => f.write_str(what),
            Unsupported::DuplicateKey(key) => write!(f, "duplicate object key `{key}`"),
        }
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Unsupported::Fallback(msg.to_string())
    }
}

/// Canonical bytes of `value`, or `Err` when the value holds something canonical JSON
/// cannot carry (out-of-range integers, non-finite numbers, map keys that are neither
/// strings nor integers, which are written as their decimal text) or a repeated key.
pub(super) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Unsupported> {
    let mut out = Vec::with_capacity(256);
    value.serialize(Canonical { out: &mut out })?;
    Ok(out)
}

struct Canonical<'a> {
    out: &'a mut Vec<u8>,
}

fn unsupported(what: &str) -> Unsupported {
    Unsupported::Fallback(what.to_owned())
}

impl Canonical<'_> {
    fn integer(self, magnitude: u64, negative: bool) -> Result<(), Unsupported> {
        if magnitude > MAX_SAFE_INTEGER {
            return Err(unsupported("integer outside ±(2^53 - 1)"));
        }
        if negative && magnitude != 0 {
            self.out.push(b'-');
        }
        self.out
            .extend_from_slice(itoa::Buffer::new().format(magnitude).as_bytes());
        Ok(())
    }

    fn string(self, s: &str) {
        // serde_json's string escaping is JCS's (see the module documentation).
        let _ = serde_json::to_writer(&mut *self.out, s);
    }
}

impl<'a> ser::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.integer(v.unsigned_abs(), v < 0)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        let magnitude = u64::try_from(v.unsigned_abs())
            .map_err(|_| unsupported("integer outside ±(2^53 - 1)"))?;
        self.integer(magnitude, v < 0)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.integer(v, false)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        let v = u64::try_from(v).map_err(|_| unsupported("integer outside ±(2^53 - 1)"))?;
        self.integer(v, false)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        if !v.is_finite() {
            return Err(unsupported("non-finite number"));
        }
        if v.fract() == 0.0 && v.abs() > MAX_SAFE_INTEGER as f64 {
            return Err(unsupported("integral number outside ±(2^53 - 1)"));
        }
        self.out
            .extend_from_slice(ryu_js::Buffer::new().format_finite(v).as_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        let mut seq = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        v.iter()
            .try_for_each(|b| ser::SerializeSeq::serialize_element(&mut seq, b))?;
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        let mut object = Object::new(self.out);
        ser::SerializeMap::serialize_entry(&mut object, variant, value)?;
        ser::SerializeMap::end(object)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, Unsupported> {
        self.out.push(b'[');
        Ok(Seq {
            out: self.out,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Seq<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        // Not used by Convoy's documents; the slow path writes them.
        Err(unsupported(variant))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>, Unsupported> {
        let mut object = Object::new(self.out);
        object.streamed.reserve(len.unwrap_or(0));
        Ok(object)
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'a>, Unsupported> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(unsupported(variant))
    }
}

/// An array being written.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        value.serialize(Canonical { out: self.out })
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.element(value)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeSeq::end(self)
    }
}

/// An object being written. While keys arrive in strictly increasing order (ASCII keys,
/// where byte order is UTF-16 order: serde's derives emit fields in declaration order, so
/// a type declared in canonical order never buffers), members go straight to `out`.
/// The first key out of order moves what was written into `members`; from then on
/// members are buffered (key, canonical value bytes) and written in UTF-16 key order when
/// the object ends.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    /// Where this object's `{` is in `out`.
    start: usize,
    /// Members written straight to `out`: key, and the value's byte range in `out`.
    streamed: Vec<(std::borrow::Cow<'static, str>, usize, usize)>,
    /// Set once a key arrived out of order.
    buffered: bool,
    members: Vec<(String, Vec<u8>)>,
    pending_key: Option<String>,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        out.push(b'{');
        Object {
            out,
            start,
            streamed: Vec::new(),
            buffered: false,
            members: Vec::new(),
            pending_key: None,
        }
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: std::borrow::Cow<'static, str>,
        value: &T,
    ) -> Result<(), Unsupported> {
        if !self.buffered {
            let in_order = key.is_ascii()
                && self
                    .streamed
                    .last()
                    .is_none_or(|(last, _, _)| last.as_ref() < key.as_ref());
            if in_order {
                if !self.streamed.is_empty() {
                    self.out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *self.out, key.as_ref());
                self.out.push(b':');
                let from = self.out.len();
                value.serialize(Canonical { out: self.out })?;
                let to = self.out.len();
                self.streamed.push((key, from, to));
                return Ok(());
            }
            self.buffer();
        }
        let mut bytes = Vec::new();
        value.serialize(Canonical { out: &mut bytes })?;
        self.members.push((key.into_owned(), bytes));
        Ok(())
    }

    /// Leaves streaming: takes the members written so far back out of `out`.
    fn buffer(&mut self) {
        self.buffered = true;
        for (key, from, to) in self.streamed.drain(..) {
            self.members
                .push((key.into_owned(), self.out[from..to].to_vec()));
        }
        self.out.truncate(self.start);
    }

    fn finish(mut self) -> Result<(), Unsupported> {
        if !self.buffered {
            self.out.push(b'}');
            return Ok(());
        }
        // ASCII keys (the common case) sort the same by bytes as by UTF-16 code units.
        if self.members.iter().all(|(k, _)| k.is_ascii()) {
            self.members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        } else {
            self.members
                .sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        }
        if let Some(w) = self.members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Unsupported::DuplicateKey(w[0].0.clone()));
        }
        self.out.push(b'{');
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let _ = serde_json::to_writer(&mut *self.out, key);
            self.out.push(b':');
            self.out.extend_from_slice(value);
        }
        self.out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.pending_key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| unsupported("map value without a key"))?;
        self.member(key.into(), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.member(key.into(), value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.finish()
    }
}

/// Serialises a map key to its text: strings as they are, integers as decimal (as
/// `serde_json` does); anything else is not a JSON object key.
struct KeyText;

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = Impossible<String, Unsupported>;
    type SerializeTuple = Impossible<String, Unsupported>;
    type SerializeTupleStruct = Impossible<String, Unsupported>;
    type SerializeTupleVariant = Impossible<String, Unsupported>;
    type SerializeMap = Impossible<String, Unsupported>;
    type SerializeStruct = Impossible<String, Unsupported>;
    type SerializeStructVariant = Impossible<String, Unsupported>;

    fn serialize_str(self, v: &str) -> Result<String, Unsupported> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Unsupported> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Unsupported> {
        value.serialize(self)
    }
    fn serialize_i8(self, v: i8) -> Result<String, Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Unsupported> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Unsupported> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Unsupported> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_bool(self, _: bool) -> Result<String, Unsupported> {
        Err(unsupported("a boolean map key"))
    }
    fn serialize_f32(self, _: f32) -> Result<String, Unsupported> {
        Err(unsupported("a float map key"))
    }
    fn serialize_f64(self, _: f64) -> Result<String, Unsupported> {
        Err(unsupported("a float map key"))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Unsupported> {
        Err(unsupported("a bytes map key"))
    }
    fn serialize_none(self) -> Result<String, Unsupported> {
        Err(unsupported("a null map key"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Unsupported> {
        Err(unsupported("an optional map key"))
    }
    fn serialize_unit(self) -> Result<String, Unsupported> {
        Err(unsupported("a unit map key"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Unsupported> {
        Err(unsupported("a unit map key"))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Unsupported> {
        Err(unsupported("an enum map key"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(unsupported("a sequence map key"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(unsupported("a tuple map key"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(unsupported("a tuple map key"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(unsupported("an enum map key"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(unsupported("a map as a map key"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        Err(unsupported("a struct map key"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(unsupported("an enum map key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reference(value: &Value) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(value).unwrap()
    }

    #[test]
    fn typed_documents_agree_with_the_reference() {
        let fleet: crate::UnsignedFleet =
            crate::parse_document(include_bytes!("../../tests/data/fleet_three_hosts.json"))
                .unwrap();
        let tree = serde_json::to_value(&fleet).unwrap();
        assert_eq!(to_vec(&fleet).unwrap(), reference(&tree));
        let selector =
            crate::Selector::Not(Box::new(crate::Selector::Or(vec![crate::Selector::All(
                crate::True,
            )])));
        assert_eq!(
            to_vec(&selector).unwrap(),
            b"{\"not\":{\"or\":[{\"all\":true}]}}"
        );
    }

    #[test]
    fn utf16_order_differs_from_utf8_order_and_is_used() {
        // U+FB33 sorts before U+1F600 in UTF-8 but after it in UTF-16 (surrogates D83D..).
        let value: Value = serde_json::json!({"\u{fb33}": 1, "😀": 2});
        let out = String::from_utf8(to_vec(&value).unwrap()).unwrap();
        assert_eq!(out, "{\"😀\":2,\"\u{fb33}\":1}");
        assert_eq!(out.as_bytes(), reference(&value));
    }

    /// Fields in canonical order stream straight through; one out of order (after some
    /// were written, nested, or with a non-ASCII key) falls back to sorting, and a repeat
    /// key is refused either way.
    #[test]
    fn members_out_of_order_fall_back_to_sorting() {
        #[derive(serde::Serialize)]
        struct Inner {
            b: u8,
            a: Vec<u8>,
        }
        #[derive(serde::Serialize)]
        struct Outer {
            a: u8,
            c: Inner,
            b: &'static str,
            #[serde(rename = "é")]
            e: u8,
            d: Inner,
        }
        let value = Outer {
            a: 1,
            c: Inner { b: 2, a: vec![3] },
            b: "x",
            e: 4,
            d: Inner { b: 5, a: vec![] },
        };
        let tree = serde_json::to_value(&value).unwrap();
        let out = to_vec(&value).unwrap();
        assert_eq!(out, reference(&tree));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\":1,\"b\":\"x\",\"c\":{\"a\":[3],\"b\":2},\"d\":{\"a\":[],\"b\":5},\"é\":4}"
        );

        #[derive(serde::Serialize)]
        struct Repeat {
            a: u8,
            b: u8,
            #[serde(rename = "a")]
            again: u8,
        }
        assert!(matches!(
            to_vec(&Repeat { a: 1, b: 2, again: 3 }),
            Err(Unsupported::DuplicateKey(k)) if k == "a"
        ));
    }

    #[test]
    fn refuses_what_canonical_json_cannot_carry() {
        assert!(to_vec(&u64::MAX).is_err());
        assert!(to_vec(&(MAX_SAFE_INTEGER + 1)).is_err());
        assert!(to_vec(&f64::NAN).is_err());
        assert!(to_vec(&1e300).is_err());
        assert_eq!(to_vec(&-0.0f64).unwrap(), b"0");
        assert_eq!(
            to_vec(&i64::try_from(MAX_SAFE_INTEGER).unwrap().wrapping_neg()).unwrap(),
            b"-9007199254740991"
        );
        let mut dup = std::collections::BTreeMap::new();
        dup.insert(1u8, 1);
        assert_eq!(to_vec(&dup).unwrap(), b"{\"1\":1}");
    }
}
