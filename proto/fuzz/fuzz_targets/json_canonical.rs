//! The canonical check: input accepted by `parse_canonical` is byte-for-byte its own
//! canonical form.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = convoy_proto::json::parse_canonical(data) {
        let canonical = convoy_proto::json::canonical_value_bytes(&value)
            .expect("accepted input canonicalises");
        assert_eq!(canonical, data, "accepted input is its own canonical form");
    }
});
