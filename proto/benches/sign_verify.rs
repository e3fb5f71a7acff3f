//! Signs and verifies a 10,000-host fleet.resolved.json and prints time and throughput.
//! Goal (issue 2): sign + verify under 200 ms. Run: `cargo bench -p convoy-proto --bench sign_verify`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use convoy_proto::*;

fn main() {
    let hosts: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let org = SecretKey::generate();
    let release = SecretKey::generate();
    let now = common::ts("2026-11-24T10:00:00Z");
    let root_bytes =
        sign(&TrustRoot::single(&org, &release, now), &[&org]).expect("sign trust root");
    let opts = VerifyOptions::at(now);
    let root = verify_trust_root(&root_bytes, &org.public_key(), &opts).expect("verify trust root");
    let fleet = common::fleet(hosts, 1, now);

    let rounds = 20;
    let (mut sign_t, mut verify_t, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..rounds {
        let t = Instant::now();
        let bytes = sign(&fleet, &[&release]).expect("sign");
        sign_t.push(t.elapsed());
        size = bytes.len();
        let t = Instant::now();
        let verified = verify_artifact::<FleetResolved>(&bytes, &root, &opts).expect("verify");
        verify_t.push(t.elapsed());
        assert_eq!(verified.hosts.len(), hosts);
    }
    let mut canon_t = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let bytes = convoy_proto::json::canonical_bytes(&fleet).expect("canonical bytes");
        canon_t.push(t.elapsed());
        std::hint::black_box(bytes);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (s, v, c) = (
        median(&mut sign_t),
        median(&mut verify_t),
        median(&mut canon_t),
    );
    let total = s + v;
    let mib = size as f64 / (1024.0 * 1024.0);
    println!(
        "fleet.resolved.json: {hosts} hosts, {size} bytes ({mib:.2} MiB), median of {rounds} rounds"
    );
    println!(
        "sign   (serialise + JCS + Ed25519):                 {:>8.1} ms  {:>6.1} MiB/s",
        ms(s),
        mib / s.as_secs_f64()
    );
    println!(
        "verify (strict parse + canonical check + Ed25519 + typed parse): {:>8.1} ms  {:>6.1} MiB/s",
        ms(v),
        mib / v.as_secs_f64()
    );
    println!(
        "canonical bytes alone (what a policy receipt hashes): {:>8.1} ms  {:>6.1} MiB/s",
        ms(c),
        mib / c.as_secs_f64()
    );
    println!(
        "sign + verify:                                      {:>8.1} ms  (goal < 200 ms: {})",
        ms(total),
        if total < Duration::from_millis(200) {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
