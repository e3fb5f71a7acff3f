//! The verification pipeline, failure by failure: each test builds a real signed artifact,
//! breaks exactly one thing, and asserts the specific typed error.

#![allow(clippy::unwrap_used)]

mod common;

use common::{fleet, sign_raw, ts};
use convoy_proto::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const FLEET: &str = <FleetResolved as Artifact>::PAYLOAD_TYPE;

struct Keys {
    org: SecretKey,
    release: SecretKey,
    root: Verified<TrustRoot>,
}

fn t0() -> Timestamp {
    ts("2026-11-24T10:00:00Z")
}

fn keys() -> Keys {
    let org = SecretKey::generate();
    let release = SecretKey::generate();
    let mut root = TrustRoot::single(&org, &release, ts("2026-01-01T00:00:00Z"));
    root.meta.signed_at = ts("2026-01-01T00:00:00Z");
    let bytes = sign(&root, &[&org]).unwrap();
    let root = verify_trust_root(&bytes, &org.public_key(), &VerifyOptions::at(t0())).unwrap();
    Keys { org, release, root }
}

fn fleet_value(signed_at: Timestamp) -> Value {
    serde_json::to_value(fleet(6, 7, signed_at)).unwrap()
}

fn verify_fleet(
    k: &Keys,
    bytes: &[u8],
    opts: &VerifyOptions,
) -> Result<Verified<FleetResolved>, VerifyError> {
    verify_artifact::<FleetResolved>(bytes, &k.root, opts)
}

#[test]
fn a_well_signed_fleet_verifies() {
    let k = keys();
    let bytes = sign(&fleet(6, 7, t0()), &[&k.release]).unwrap();
    let v = verify_fleet(&k, &bytes, &VerifyOptions::at(t0().plus_secs(60))).unwrap();
    assert_eq!(v.meta.version.get(), 7);
    assert_eq!(v.signed_by(), &[k.release.key_id()]);
    assert_eq!(
        v.freshness_window_minutes(),
        Some(180),
        "the strictest channel applies"
    );
    assert_eq!(v.envelope_sha256(), Sha256Digest::of(&bytes));
}

#[test]
fn unknown_key() {
    let k = keys();
    let stranger = SecretKey::generate();
    let bytes = sign(&fleet(3, 1, t0()), &[&stranger]).unwrap();
    assert_eq!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::UnknownKey {
            key_id: stranger.key_id()
        }
    );
}

#[test]
fn bad_signature_on_a_changed_payload() {
    let k = keys();
    let bytes = sign(&fleet(3, 1, t0()), &[&k.release]).unwrap();
    let tampered = String::from_utf8(bytes)
        .unwrap()
        .replace("\"prod\"", "\"prox\"");
    assert_eq!(
        verify_fleet(&k, tampered.as_bytes(), &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::BadSignature {
            key_id: k.release.key_id()
        }
    );
}

#[test]
fn key_outside_its_validity_window() {
    let k = keys();
    // Signed before the key's notBefore (2026-01-01).
    let early = ts("2025-12-31T00:00:00Z");
    let bytes = sign(&fleet(3, 1, early), &[&k.release]).unwrap();
    let err = verify_fleet(&k, &bytes, &VerifyOptions::at(early)).unwrap_err();
    assert!(
        matches!(&err, VerifyError::KeyOutsideValidity { key_id, which: "signedAt", .. } if *key_id == k.release.key_id()),
        "{err:?}"
    );
}

#[test]
fn duplicate_field_in_the_payload() {
    let k = keys();
    let bytes = sign(&fleet(3, 1, t0()), &[&k.release]).unwrap();
    let text = String::from_utf8(bytes).unwrap().replacen(
        "\"schemaVersion\":2",
        "\"schemaVersion\":2,\"schemaVersion\":2",
        1,
    );
    let err = verify_fleet(&k, text.as_bytes(), &VerifyOptions::at(t0())).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Json(json::JsonError::DuplicateKey {
            path: "$.payload".into(),
            key: "schemaVersion".into()
        })
    );
}

#[test]
fn unknown_field_even_when_correctly_signed() {
    let k = keys();
    let mut payload = fleet_value(t0());
    payload["hosts"]["host00001"]["owner"] = json!("mallory");
    let bytes = sign_raw(FLEET, &payload, &[&k.release]);
    assert_eq!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::UnknownField {
            path: "$.hosts.host00001".into(),
            field: "owner".into()
        }
    );
}

#[test]
fn wrong_schema_version() {
    let k = keys();
    let mut payload = fleet_value(t0());
    // A version-1 fleet (before the snapshot binding) is refused, like any other.
    payload["schemaVersion"] = json!(1);
    let bytes = sign_raw(FLEET, &payload, &[&k.release]);
    assert_eq!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::WrongSchemaVersion {
            found: Some(1),
            expected: 2
        }
    );
}

#[test]
fn schema_violations_name_the_path() {
    let k = keys();
    let mut payload = fleet_value(t0());
    payload["hosts"]["host00002"]["closureHash"] = json!("/tmp/evil");
    let err = verify_fleet(
        &k,
        &sign_raw(FLEET, &payload, &[&k.release]),
        &VerifyOptions::at(t0()),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::Schema { path, .. } if path == "$.hosts.host00002.closureHash"),
        "{err:?}"
    );
}

#[test]
fn stale_beyond_the_window_plus_skew_and_fresh_within() {
    let k = keys();
    let bytes = sign(&fleet(3, 1, t0()), &[&k.release]).unwrap();
    // canary's window is 180 min; default skew 300 s.
    let edge = t0().plus_secs(180 * 60 + DEFAULT_CLOCK_SKEW_SECS);
    assert!(verify_fleet(&k, &bytes, &VerifyOptions::at(edge)).is_ok());
    let err = verify_fleet(&k, &bytes, &VerifyOptions::at(edge.plus_secs(1))).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Stale {
                window_minutes: 180,
                ..
            }
        ),
        "{err:?}"
    );
    // prod's own window (1440 min) is longer: an agent of prod still accepts it.
    assert!(
        verify_fleet(
            &k,
            &bytes,
            &VerifyOptions::at(edge.plus_secs(1)).channel("prod")
        )
        .is_ok()
    );
    assert!(matches!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0()).channel("nope")),
        Err(VerifyError::Invalid { .. })
    ));
}

#[test]
fn future_dated_beyond_the_skew() {
    let k = keys();
    let bytes = sign(
        &fleet(3, 1, t0().plus_secs(DEFAULT_CLOCK_SKEW_SECS + 1)),
        &[&k.release],
    )
    .unwrap();
    assert!(matches!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::FutureDated { .. }
    ));
    let within = sign(
        &fleet(3, 1, t0().plus_secs(DEFAULT_CLOCK_SKEW_SECS)),
        &[&k.release],
    )
    .unwrap();
    assert!(verify_fleet(&k, &within, &VerifyOptions::at(t0())).is_ok());
}

#[test]
fn the_clock_skew_is_bounded() {
    assert_eq!(
        VerifyOptions::at(t0())
            .clock_skew(MAX_CLOCK_SKEW_SECS + 1)
            .unwrap_err(),
        VerifyError::SkewTooLarge(MAX_CLOCK_SKEW_SECS + 1)
    );
}

#[test]
fn rollback_and_equivocation() {
    let k = keys();
    let v5 = verify_fleet(
        &k,
        &sign(&fleet(3, 5, t0()), &[&k.release]).unwrap(),
        &VerifyOptions::at(t0()),
    )
    .unwrap();
    let after = VerifyOptions::at(t0()).last_accepted(v5.accepted());
    let v4 = sign(&fleet(3, 4, t0()), &[&k.release]).unwrap();
    assert!(matches!(
        verify_fleet(&k, &v4, &after).unwrap_err(),
        VerifyError::Rollback { version, highest } if version.get() == 4 && highest.get() == 5
    ));
    let other5 = sign(&fleet(4, 5, t0()), &[&k.release]).unwrap();
    assert!(matches!(
        verify_fleet(&k, &other5, &after).unwrap_err(),
        VerifyError::Equivocation { .. }
    ));
    // The same artifact again, and a newer one, are fine.
    assert!(
        verify_fleet(
            &k,
            &sign(&fleet(3, 5, t0()), &[&k.release]).unwrap(),
            &after
        )
        .is_ok()
    );
    assert!(
        verify_fleet(
            &k,
            &sign(&fleet(3, 6, t0()), &[&k.release]).unwrap(),
            &after
        )
        .is_ok()
    );
}

#[test]
fn content_hash_mismatch() {
    let k = keys();
    let bytes = sign(&fleet(3, 1, t0()), &[&k.release]).unwrap();
    let pinned = Sha256Digest::of(b"the artifact the receipt named");
    assert!(matches!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0()).expect_sha256(pinned)).unwrap_err(),
        VerifyError::ContentHashMismatch { expected, .. } if expected == pinned
    ));
    assert!(
        verify_fleet(
            &k,
            &bytes,
            &VerifyOptions::at(t0()).expect_sha256(Sha256Digest::of(&bytes))
        )
        .is_ok()
    );
    assert!(check_content_hash("policy waves", b"wasm", &Sha256Digest::of(b"wasm")).is_ok());
}

#[test]
fn a_revocations_signature_cannot_pass_as_a_fleet() {
    let k = keys();
    let revocations = Revocations {
        schema_version: REVOCATIONS_SCHEMA_VERSION,
        freshness_window_minutes: 60,
        revocations: vec![Revocation {
            host: "host00001".into(),
            not_before: t0(),
            reason: "disk stolen".into(),
        }],
        meta: common::meta(1, t0()),
    };
    let bytes = sign(&revocations, &[&k.release]).unwrap();
    assert!(verify_artifact::<Revocations>(&bytes, &k.root, &VerifyOptions::at(t0())).is_ok());
    assert!(matches!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::WrongPayloadType { .. }
    ));
    // Relabelling the envelope breaks the signature, which covers the payload type.
    let relabelled = String::from_utf8(bytes)
        .unwrap()
        .replace(<Revocations as Artifact>::PAYLOAD_TYPE, FLEET);
    let relabelled =
        json::canonical_bytes(&json::parse_strict(relabelled.as_bytes()).unwrap()).unwrap();
    assert!(matches!(
        verify_fleet(&k, &relabelled, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::BadSignature { .. }
    ));
}

#[test]
fn envelope_problems() {
    let k = keys();
    let payload = fleet_value(t0());
    let unsigned =
        json::canonical_bytes(&json!({"payloadType": FLEET, "payload": payload, "signatures": []}))
            .unwrap();
    assert_eq!(
        verify_fleet(&k, &unsigned, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::NoSignatures
    );

    let signed = sign(&fleet(3, 1, t0()), &[&k.release]).unwrap();
    let pretty = serde_json::to_vec_pretty(&json::parse_strict(&signed).unwrap()).unwrap();
    assert!(matches!(
        verify_fleet(&k, &pretty, &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::Json(json::JsonError::NonCanonical { .. })
    ));

    let other_alg = String::from_utf8(signed.clone())
        .unwrap()
        .replace("\"algorithm\":\"ed25519\"", "\"algorithm\":\"rsa\"");
    assert!(matches!(
        verify_fleet(&k, other_alg.as_bytes(), &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::UnsupportedAlgorithm { .. }
    ));

    let extra = String::from_utf8(signed).unwrap().replacen(
        "{\"payload\"",
        "{\"note\":\"x\",\"payload\"",
        1,
    );
    assert!(matches!(
        verify_fleet(&k, extra.as_bytes(), &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::Envelope(_)
    ));
}

#[test]
fn thresholds_count_each_key_once() {
    let org = SecretKey::generate();
    let (a, b) = (SecretKey::generate(), SecretKey::generate());
    let mut root = TrustRoot::single(&org, &a, ts("2026-01-01T00:00:00Z"));
    root.release_keys.push(ReleaseKey {
        key_id: b.key_id(),
        public_key: b.public_key(),
        not_before: ts("2026-01-01T00:00:00Z"),
        not_after: None,
    });
    root.release_threshold = 2;
    let root = verify_trust_root(
        &sign(&root, &[&org]).unwrap(),
        &org.public_key(),
        &VerifyOptions::at(t0()),
    )
    .unwrap();
    let doc = fleet(3, 1, t0());
    let verify =
        |bytes: &[u8]| verify_artifact::<FleetResolved>(bytes, &root, &VerifyOptions::at(t0()));
    assert!(verify(&sign(&doc, &[&a, &b]).unwrap()).is_ok());
    assert_eq!(
        verify(&sign(&doc, &[&a, &a]).unwrap()).unwrap_err(),
        VerifyError::ThresholdNotMet {
            valid: 1,
            required: 2
        }
    );
    assert_eq!(
        verify(&sign(&doc, &[&a]).unwrap()).unwrap_err(),
        VerifyError::ThresholdNotMet {
            valid: 1,
            required: 2
        }
    );
}

#[test]
fn trust_root_rules() {
    let k = keys();
    // A trust root must be signed by the pinned org root, not by a release key.
    let mut root = TrustRoot::single(&k.org, &k.release, t0());
    let by_release = sign(&root, &[&k.release]).unwrap();
    assert_eq!(
        verify_trust_root(&by_release, &k.org.public_key(), &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::UnknownKey {
            key_id: k.release.key_id()
        }
    );
    // A trust root naming another org root is refused even if the pinned key signed it.
    let other = SecretKey::generate();
    let mut foreign = TrustRoot::single(&other, &k.release, t0());
    foreign.meta = root.meta.clone();
    let payload = serde_json::to_value(&foreign).unwrap();
    let bytes = sign_raw(<TrustRoot as Artifact>::PAYLOAD_TYPE, &payload, &[&k.org]);
    assert!(matches!(
        verify_trust_root(&bytes, &k.org.public_key(), &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::OrgRootMismatch { .. }
    ));
    // Threshold 0 is refused at signing time and at verification time.
    root.release_threshold = 0;
    assert!(matches!(
        sign(&root, &[&k.org]),
        Err(SignError::Invalid { .. })
    ));
    let payload = serde_json::to_value(&root).unwrap();
    let bytes = sign_raw(<TrustRoot as Artifact>::PAYLOAD_TYPE, &payload, &[&k.org]);
    assert!(matches!(
        verify_trust_root(&bytes, &k.org.public_key(), &VerifyOptions::at(t0())).unwrap_err(),
        VerifyError::Invalid { .. }
    ));
}

/// Rotation: the new key verifies during and after the overlap; the retired key's
/// artifacts are refused once the overlap has ended.
#[test]
fn key_rotation_with_overlap() {
    let org = SecretKey::generate();
    let (old, new) = (SecretKey::generate(), SecretKey::generate());
    let start = ts("2026-01-01T00:00:00Z");
    let rotation = ts("2026-11-24T00:00:00Z");
    let overlap_end = ts("2026-11-25T00:00:00Z");
    let mut root = TrustRoot::single(&org, &old, start);
    root.release_keys[0].not_after = Some(overlap_end);
    root.release_keys.push(ReleaseKey {
        key_id: new.key_id(),
        public_key: new.public_key(),
        not_before: rotation,
        not_after: None,
    });
    root.meta.version = Version::new(2).unwrap();
    root.meta.signed_at = rotation;
    let root = verify_trust_root(
        &sign(&root, &[&org]).unwrap(),
        &org.public_key(),
        &VerifyOptions::at(rotation),
    )
    .unwrap();

    let during = ts("2026-11-24T12:00:00Z");
    let after = ts("2026-11-25T06:00:00Z");
    let by = |key: &SecretKey, at: Timestamp| sign(&fleet(3, 1, at), &[key]).unwrap();
    let check = |bytes: &[u8], now: Timestamp| {
        verify_artifact::<FleetResolved>(bytes, &root, &VerifyOptions::at(now))
    };

    assert!(
        check(&by(&new, during), during).is_ok(),
        "new key during overlap"
    );
    assert!(
        check(&by(&old, during), during).is_ok(),
        "old key during overlap"
    );
    assert!(
        check(&by(&new, after), after).is_ok(),
        "new key after overlap"
    );
    let err = check(&by(&old, during), after).unwrap_err();
    assert!(
        matches!(&err, VerifyError::KeyOutsideValidity { which: "now", key_id, .. } if *key_id == old.key_id()),
        "retired key after the overlap: {err:?}"
    );
    assert!(matches!(
        check(&by(&old, after), after).unwrap_err(),
        VerifyError::KeyOutsideValidity { .. }
    ));
}

fn signed_fixture() -> (Keys, Vec<u8>) {
    let k = keys();
    let bytes = sign(&fleet(4, 3, t0()), &[&k.release]).unwrap();
    (k, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Flipping any bits of any single byte — payload, payload type, key id or signature —
    /// is refused.
    #[test]
    fn any_single_byte_flip_is_refused(index in any::<prop::sample::Index>(), mask in 1u8..=255) {
        thread_local!(static FIXTURE: (Keys, Vec<u8>) = signed_fixture());
        FIXTURE.with(|(k, bytes)| {
            let mut flipped = bytes.clone();
            let at = index.index(flipped.len());
            flipped[at] ^= mask;
            prop_assert!(verify_fleet(k, &flipped, &VerifyOptions::at(t0())).is_err(), "flip {mask:#04x} at {at} accepted");
            Ok(())
        })?;
    }
}

/// Every byte of the signature field, flipped, is refused (a targeted sweep on top of the
/// random property above).
#[test]
fn every_signature_byte_flip_is_refused() {
    let (k, bytes) = signed_fixture();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let start = text.rfind("\"signature\":\"").unwrap() + 13;
    let end = start + text[start..].find('"').unwrap();
    for at in start..end {
        for mask in [0x01, 0x20, 0x80] {
            let mut flipped = bytes.clone();
            flipped[at] ^= mask;
            assert!(
                verify_fleet(&k, &flipped, &VerifyOptions::at(t0())).is_err(),
                "flip at {at}"
            );
        }
    }
}

#[test]
fn freshness_never_fails_open() {
    let k = keys();
    // A fleet with no channel at all gets the fleet-wide default window, not "never stale".
    let mut empty = fleet(0, 1, t0());
    empty.channels.clear();
    empty.channel_edges.clear();
    let bytes = sign(&empty, &[&k.release]).unwrap();
    let edge =
        t0().plus_secs(u64::from(DEFAULT_FRESHNESS_WINDOW_MINUTES) * 60 + DEFAULT_CLOCK_SKEW_SECS);
    let v = verify_fleet(&k, &bytes, &VerifyOptions::at(edge)).unwrap();
    assert_eq!(
        v.freshness_window_minutes(),
        Some(DEFAULT_FRESHNESS_WINDOW_MINUTES)
    );
    let years_later = ts("2029-11-24T10:00:00Z");
    assert!(matches!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(edge.plus_secs(1))).unwrap_err(),
        VerifyError::Stale { window_minutes, .. } if window_minutes == DEFAULT_FRESHNESS_WINDOW_MINUTES
    ));
    assert_eq!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(years_later))
            .unwrap_err()
            .code(),
        "stale"
    );

    // A revocation list (or a channel) signed with a window of years is bounded by the
    // verifier-side maximum.
    let revocations = Revocations {
        schema_version: REVOCATIONS_SCHEMA_VERSION,
        freshness_window_minutes: u32::MAX,
        revocations: vec![],
        meta: common::meta(1, t0()),
    };
    let bytes = sign(&revocations, &[&k.release]).unwrap();
    let max =
        t0().plus_secs(u64::from(MAX_FRESHNESS_WINDOW_MINUTES) * 60 + DEFAULT_CLOCK_SKEW_SECS);
    let v = verify_artifact::<Revocations>(&bytes, &k.root, &VerifyOptions::at(max)).unwrap();
    assert_eq!(
        v.freshness_window_minutes(),
        Some(MAX_FRESHNESS_WINDOW_MINUTES)
    );
    assert!(matches!(
        verify_artifact::<Revocations>(&bytes, &k.root, &VerifyOptions::at(max.plus_secs(1)))
            .unwrap_err(),
        VerifyError::Stale { window_minutes, .. } if window_minutes == MAX_FRESHNESS_WINDOW_MINUTES
    ));
    let mut long = fleet(3, 1, t0());
    for channel in long.channels.values_mut() {
        channel.freshness_window_minutes = u32::MAX;
    }
    let bytes = sign(&long, &[&k.release]).unwrap();
    assert_eq!(
        verify_fleet(
            &k,
            &bytes,
            &VerifyOptions::at(max.plus_secs(1)).channel("prod")
        )
        .unwrap_err()
        .code(),
        "stale"
    );
}

#[test]
fn the_verifier_state_covers_the_trust_root_and_a_check_records_nothing() {
    let k = keys();
    let mut state = VerifierState::new();
    // Trust root v2 (a rotation) is accepted and recorded.
    let mut root = TrustRoot::single(&k.org, &k.release, ts("2026-01-01T00:00:00Z"));
    let v1 = sign(&root, &[&k.org]).unwrap();
    root.meta.version = Version::new(2).unwrap();
    let v2 = sign(&root, &[&k.org]).unwrap();
    let opts = |state: &VerifierState| VerifyOptions::at(t0()).state(state);
    let accepted = verify_trust_root(&v2, &k.org.public_key(), &opts(&state)).unwrap();
    state.record(&accepted);
    // The older one, validly signed by the same org root, is a rollback.
    assert_eq!(
        verify_trust_root(&v1, &k.org.public_key(), &opts(&state))
            .unwrap_err()
            .code(),
        "rollback"
    );
    // Another v2 is equivocation.
    root.release_threshold = 1;
    root.meta.ci_commit = Some("other".into());
    let other_v2 = sign(&root, &[&k.org]).unwrap();
    assert_eq!(
        verify_trust_root(&other_v2, &k.org.public_key(), &opts(&state))
            .unwrap_err()
            .code(),
        "equivocation"
    );
    // Verifying (even successfully) changes nothing until the caller records.
    let before = state.clone();
    let fleet_bytes = sign(&fleet(3, 9, t0()), &[&k.release]).unwrap();
    verify_fleet(&k, &fleet_bytes, &opts(&state)).unwrap();
    assert_eq!(state, before);
}

#[test]
fn a_released_fleet_must_carry_its_snapshot_binding() {
    let k = keys();
    let mut unbound = fleet(3, 1, t0());
    unbound.snapshot = None;
    assert!(matches!(
        sign(&unbound, &[&k.release]).unwrap_err(),
        SignError::Invalid { .. }
    ));
    // Signed anyway (bypassing `sign`'s check): refused as invalid.
    let payload = serde_json::to_value(&unbound).unwrap();
    let bytes = sign_raw(FLEET, &payload, &[&k.release]);
    assert_eq!(
        verify_fleet(&k, &bytes, &VerifyOptions::at(t0()))
            .unwrap_err()
            .code(),
        "invalid"
    );
}

#[test]
fn the_snapshot_binding_refuses_mix_and_match() {
    let k = keys();
    let revocations = |version: u64| Revocations {
        schema_version: REVOCATIONS_SCHEMA_VERSION,
        freshness_window_minutes: 60,
        revocations: vec![],
        meta: common::meta(version, t0()),
    };
    let verify_rev = |r: &Revocations| {
        verify_artifact::<Revocations>(
            &sign(r, &[&k.release]).unwrap(),
            &k.root,
            &VerifyOptions::at(t0()),
        )
        .unwrap()
    };
    let (old, new) = (verify_rev(&revocations(1)), verify_rev(&revocations(2)));
    let mut f = fleet(3, 1, t0());
    f.snapshot = Some(Snapshot {
        revocations: pin_of_unsigned(&revocations(2)).unwrap(),
        policy_bundle: None,
    });
    assert!(published::check_snapshot(&f, &new, None).is_ok());
    let err = published::check_snapshot(&f, &old, None).unwrap_err();
    assert_eq!(err.code(), "snapshot-mismatch");
    assert!(err.to_string().contains("revocations version 2"), "{err}");
    // A bundle the fleet does not name (or a missing one it does) is a mismatch too.
    let bundle = policy_bundle::PolicyBundle {
        schema_version: policy_bundle::POLICY_BUNDLE_SCHEMA_VERSION,
        source_commit: "abc".into(),
        policies: vec![],
        meta: common::meta(4, t0()),
    };
    let bundle = verify_artifact::<policy_bundle::PolicyBundle>(
        &sign(&bundle, &[&k.release]).unwrap(),
        &k.root,
        &VerifyOptions::at(t0()),
    )
    .unwrap();
    assert_eq!(
        published::check_snapshot(&f, &new, Some(&bundle))
            .unwrap_err()
            .code(),
        "snapshot-mismatch"
    );
    f.snapshot = Some(Snapshot {
        revocations: pin_of_unsigned(&revocations(2)).unwrap(),
        policy_bundle: Some(published::pin_of(&bundle)),
    });
    assert!(published::check_snapshot(&f, &new, Some(&bundle)).is_ok());
    assert_eq!(
        published::check_snapshot(&f, &new, None)
            .unwrap_err()
            .code(),
        "snapshot-mismatch"
    );
}
