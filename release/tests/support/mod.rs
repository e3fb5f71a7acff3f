//! Real fixtures for the release tests: tiny input-addressed NixOS-like systems built by
//! the machine's Nix, key files, a trust root. Each test uses its own nonce so parallel
//! tests never share (or delete) each other's store paths.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use convoy_proto::{PublicKeyFile, SecretKey, Timestamp, TrustRoot};

pub fn nonce() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{t:x}-{}", std::process::id())
}

/// A Nix file with one attribute per host; `failing` hosts' builders exit 1.
pub fn write_systems(dir: &Path, hosts: &[&str], failing: &[&str]) -> PathBuf {
    let nonce = nonce();
    let mut attrs = String::new();
    for host in hosts {
        let script = if failing.contains(host) {
            "echo 'kernel config does not evaluate' >&2; exit 1".to_owned()
        } else {
            format!(
                "mkdir -p $out/bin; echo {nonce} > $out/nonce; printf '#!/bin/sh\\\\necho switched {host}\\\\n' > $out/bin/switch-to-configuration; chmod +x $out/bin/switch-to-configuration"
            )
        };
        attrs.push_str(&format!(
            "  {host} = builtins.derivation {{ name = \"nixos-system-{host}\"; system = builtins.currentSystem; builder = \"/bin/sh\"; PATH = \"/bin:/usr/bin\"; args = [ \"-c\" \"{script}\" ]; }};\n"
        ));
    }
    let path = dir.join("systems.nix");
    std::fs::write(&path, format!("{{\n{attrs}}}\n")).unwrap();
    path
}

/// A small fleet JSON (unsigned, as mkFleet emits it) over `hosts`, one channel.
pub fn fleet_json(hosts: &[&str]) -> String {
    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| format!(r#""{h}":{{"system":"x86_64-linux","tags":["web"],"channel":"stable","closureHash":null,"pubkey":null,"pin":null}}"#))
        .collect();
    format!(
        r#"{{"schemaVersion":2,"hosts":{{{}}},"channels":{{"stable":{{"rolloutPolicy":"all","reconcileIntervalMinutes":1,"signingIntervalMinutes":60,"freshnessWindowMinutes":180,"policies":[{{"name":"health","kind":"health","sha256":"abababababababababababababababababababababababababababababababab","config":{{}}}}]}}}},"rolloutPolicies":{{"all":{{"strategy":"all-at-once","waves":[{{"selector":{{"all":true}},"soakMinutes":0}}],"healthGate":{{"policy":"health","timeoutMinutes":10}},"onHealthFailure":"halt"}}}},"edges":[],"channelEdges":[],"disruptionBudgets":[],"meta":null}}"#,
        hosts.join(",")
    )
}

pub struct Keys {
    pub org: SecretKey,
    pub release: SecretKey,
    pub release_key: PathBuf,
    pub trust_root: PathBuf,
    pub org_pub: PathBuf,
    pub cache_key: PathBuf,
    pub cache_pub: String,
}

pub fn keys(dir: &Path, since: Timestamp) -> Keys {
    let org = SecretKey::generate();
    let release = SecretKey::generate();
    let release_key = dir.join("release.key");
    std::fs::write(&release_key, release.to_file_bytes()).unwrap();
    let org_pub = dir.join("org.pub");
    std::fs::write(
        &org_pub,
        PublicKeyFile::new(org.public_key()).to_file_bytes(),
    )
    .unwrap();
    let trust_root = dir.join("trust-root.json");
    std::fs::write(
        &trust_root,
        convoy_proto::sign(&TrustRoot::single(&org, &release, since), &[&org]).unwrap(),
    )
    .unwrap();
    let (cache_key, cache_pub) = convoy_release::nix::Nix::default()
        .generate_cache_key("test-cache-1", dir)
        .unwrap();
    Keys {
        org,
        release,
        release_key,
        trust_root,
        org_pub,
        cache_key,
        cache_pub,
    }
}

/// The built-in policy components (see `convoy_test_support::builtin_components`).
pub fn builtin_policies_dir() -> PathBuf {
    convoy_test_support::builtin_components().unwrap()
}

/// [`fleet_json`] whose channel uses the health and disruption-budget built-ins, unpinned.
pub fn fleet_json_with_policies(hosts: &[&str], budget_config: &str) -> String {
    let policies = format!(
        r#""policies":[{{"name":"disruption-budget","kind":"gate","sha256":null,"config":{budget_config}}},{{"name":"health","kind":"health","sha256":null,"config":{{"consecutiveFailures":3,"graceSeconds":120,"required":["api"]}}}}]"#
    );
    let plain = fleet_json(hosts);
    let start = plain.find("\"policies\":[").unwrap();
    let end = start + plain[start..].find("}]").unwrap() + 2;
    format!("{}{}{}", &plain[..start], policies, &plain[end..])
}
