//! Trust roots: the typed parse with its rules, and verification against the org root.
#![no_main]
use convoy_proto::{TrustRoot, sign, verify_trust_root};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = convoy_proto_fuzz::fixture();
    if let Ok(root) = convoy_proto::parse_document::<TrustRoot>(data) {
        let _ = root.check();
        if let Ok(signed) = sign(&root, &[&f.org]) {
            let _ = verify_trust_root(&signed, &f.org.public_key(), &f.options);
        }
    }
    let _ = verify_trust_root(data, &f.org.public_key(), &f.options);
});
