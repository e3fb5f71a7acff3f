# Revocations come out beside the fleet, as convoy_proto::RevocationList, never inside it.
let
  convoy = import ../../../lib;
in
convoy.mkFleet {
  hosts = {
    a1 = {
      channel = "main";
      pubkey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    };
    a2.channel = "main";
  };
  channels.main = {
    rolloutPolicy = "all";
    policies = [
      {
        name = "health";
        kind = "health";
      }
    ];
  };
  rolloutPolicies.all = {
    waves = [ { selector.all = true; } ];
    healthGate.policy = "health";
  };
  revocations = [
    {
      host = "a2";
      notBefore = "2026-11-24T10:00:00Z";
      reason = "disk replaced; re-enrol with a new key";
    }
    {
      host = "a1";
      notBefore = "2024-02-29T23:59:59Z";
      reason = "key leaked in a support bundle";
    }
  ];
}
