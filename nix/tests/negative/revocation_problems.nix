# expect: revocations.0.notBefore: expected a UTC timestamp of the form YYYY-MM-DDTHH:MM:SSZ, got "2026-11-24 10:00:00"
# expect: revocations.1.host: unknown host `web7`
import ../base-fleet.nix (
  b:
  b
  // {
    revocations = [
      { host = "web1"; notBefore = "2026-11-24 10:00:00"; reason = "lost laptop"; }
      { host = "web7"; notBefore = "2026-11-24T10:00:00Z"; reason = "typo'd host"; }
    ];
  }
)
