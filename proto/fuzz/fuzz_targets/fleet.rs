//! `FleetResolved`: the typed parse with its rules, and the whole verification pipeline.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    convoy_proto_fuzz::exercise::<convoy_proto::FleetResolved>(data);
});
