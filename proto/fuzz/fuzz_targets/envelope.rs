//! The signature envelope, read as every kind: shape, payload type, signatures, and the
//! kind picked at run time from what the caller expects.
#![no_main]
use convoy_proto::ArtifactKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = convoy_proto_fuzz::fixture();
    let _ = convoy_proto::parse_document::<convoy_proto::Envelope>(data);
    let _ = convoy_proto::verify_trust_root(data, &f.org.public_key(), &f.options);
    let _ = convoy_proto::verify_artifact::<convoy_proto::FleetResolved>(data, &f.root, &f.options);
    for kind in ArtifactKind::ALL {
        let _ = ArtifactKind::from_payload_type(kind.payload_type());
    }
});
