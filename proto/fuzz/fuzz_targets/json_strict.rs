//! The strict JSON parser: duplicate keys, integer range, lone surrogates, size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = convoy_proto::json::parse_strict(data) {
        // Whatever parses strictly canonicalises, and its canonical form is accepted as
        // canonical (a fixed point: one byte representation per document).
        let canonical = convoy_proto::json::canonical_value_bytes(&value)
            .expect("a strictly parsed value canonicalises");
        convoy_proto::json::parse_canonical(&canonical)
            .expect("canonical bytes parse as canonical");
    }
});
