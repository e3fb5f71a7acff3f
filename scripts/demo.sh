#!/usr/bin/env bash
# Convoy's main job, end to end on this machine: the org root signs a trust root; the
# example fleet in nix/ is evaluated by mkFleet; each host's system is built by Nix and
# pushed to a signed local binary cache; the built-in WASM policies are built, checked by
# the host runtime and bundled; convoy-release signs and publishes everything; then an
# auditor verifies it offline, a tampered copy is refused, CI's refresh keeps it fresh,
# and a host's closure comes back from the cache only with the cache's key.
#
#   scripts/demo.sh [OUT_DIR]      (default: demo-out/, recreated on each run)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib/deps.sh
convoy_install_deps

out=$(realpath -m "${1:-demo-out}")
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "building convoy, convoy-release and the built-in policy components"
cargo build --quiet -p convoy-cli -p convoy-release
convoy="$root/target/debug/convoy"
release="$root/target/debug/convoy-release"
policies/build.sh "$out/components" | column -t

rm -rf "$out/keys" "$out/artifacts" "$out/cache" "$out/tampered.json"
mkdir -p "$out/keys"

step "keys: the offline org root, the CI release key, the binary-cache key"
"$convoy" keygen --name org-root --out-dir "$out/keys"
"$convoy" keygen --name release --out-dir "$out/keys"
nix-store --generate-binary-cache-key demo-cache-1 "$out/keys/cache.sec" "$out/keys/cache.pub"
echo "binary cache public key: $(cat "$out/keys/cache.pub")"

step "trust root: the org root authorises the release key"
"$convoy" trust init --org-key "$out/keys/org-root.key" --release-key "$out/keys/release.pub" --out "$out/keys/trust-root.json"

step "mkFleet: the example fleet (nix/examples/demo/fleet.nix), evaluated with every rule checked"
nix-instantiate --eval --strict --json nix/examples/demo/fleet.nix -A resolved |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("hosts:", ", ".join("%s (%s)" % (n, h["channel"]) for n,h in d["hosts"].items())); print("channels:", ", ".join(d["channels"]))'

step "convoy-release publish: build systems, push closures, bundle policies, sign, publish"
"$release" publish \
  --fleet-nix nix/examples/demo/fleet.nix --revocations-attr revocations \
  --systems nix/examples/demo/systems.nix \
  --cache "file://$out/cache" --cache-key "$out/keys/cache.sec" \
  --policies-dir "$out/components" \
  --release-key "$out/keys/release.key" \
  --trust-root "$out/keys/trust-root.json" --org-root "$out/keys/org-root.pub" \
  --out "$out/artifacts" --state "$out/ci/release-record.json"
find "$out/artifacts" -type f | sed "s|$out/||" | sort

step "audit: verify every artifact offline against the pinned org root"
for artifact in fleet.resolved.json revocations.json policies/policy-bundle.json; do
  "$convoy" verify "$out/artifacts/$artifact" --org-root "$out/keys/org-root.pub" --trust-root "$out/keys/trust-root.json"
done
# …and as one release set (the fleet's snapshot names the revocations and the bundle),
# recording what was accepted in a verifier state as an agent would.
"$convoy" verify "$out/artifacts" --org-root "$out/keys/org-root.pub" --trust-root "$out/keys/trust-root.json" \
  --state "$out/auditor-state.json"

step "audit: which policy components a channel runs, and who signed them"
"$convoy" policy inspect --bundle "$out/artifacts/policies" \
  --trust-root "$out/keys/trust-root.json" --org-root "$out/keys/org-root.pub"

step "a tampered artifact (one byte changed) is refused"
python3 - "$out/artifacts/fleet.resolved.json" "$out/tampered.json" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.index(b'"web"') + 1
data[at] ^= 0x01
open(sys.argv[2], "wb").write(data)
PY
if "$convoy" verify "$out/tampered.json" --expect fleet --org-root "$out/keys/org-root.pub" --trust-root "$out/keys/trust-root.json"; then
  echo "the tampered artifact verified: this is a bug" >&2
  exit 1
fi

step "CI's scheduled refresh: re-sign with a new signedAt and version (the CP holds no key)"
"$release" refresh --out "$out/artifacts" --release-key "$out/keys/release.key" \
  --trust-root "$out/keys/trust-root.json" --org-root "$out/keys/org-root.pub" \
  --state "$out/ci/release-record.json"

step "a host fetches its closure from the cache, trusting only the cache's key"
closure=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["payload"]["hosts"]["web1"]["closureHash"])' "$out/artifacts/fleet.resolved.json")
nix-store --delete "$closure" >/dev/null 2>&1 || true
nix copy --from "file://$out/cache" "$closure" --option trusted-public-keys "$(cat "$out/keys/cache.pub")" --option require-sigs true
echo "web1 closure $closure fetched; it has $(ls "$closure/bin")"

simulate() {
  "$convoy" simulate --fleet "$out/artifacts/fleet.resolved.json" --bundle "$out/artifacts/policies" \
    --org-root "$out/keys/org-root.pub" --trust-root "$out/keys/trust-root.json" --channel stable "$@"
}
step "convoy simulate: the stable channel's rollout under its signed policies, no faults"
simulate

step "convoy simulate: the same rollout when web1's health probes fail (rollback-and-halt)"
simulate --scenario nix/examples/demo/scenario-web1-probes-fail.json

step "done: artifacts in $out/artifacts"
