//! The verifier state file: a corrupt or hostile one is a typed error, and what parses
//! writes back to the same state.
#![no_main]
use convoy_proto::VerifierState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = VerifierState::from_bytes(data) {
        let again = VerifierState::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
    }
});
