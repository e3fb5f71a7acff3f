# Values the release tool would otherwise fill, given by hand: closure, policy sha256,
# host key; tags declared with descriptions; nested policy configuration.
let
  convoy = import ../../../lib;
in
convoy.mkFleet {
  tags = {
    gpu = "hosts with a GPU";
    eu = "EU region";
  };
  hosts.gpu1 = {
    system = "aarch64-linux";
    channel = "ml";
    tags = [
      "gpu"
      "eu"
    ];
    closureHash = "/nix/store/7zqbyq2sdjz1pf8x6wqdgm3nwcs7hb1r-nixos-system-gpu1";
    pubkey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  };
  channels.ml = {
    rolloutPolicy = "one";
    reconcileIntervalMinutes = 10;
    signingIntervalMinutes = 120;
    freshnessWindowMinutes = 240;
    policies = [
      {
        name = "gpu-health";
        kind = "health";
        sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        config = {
          probes = [
            {
              name = "cuda";
              threshold = 0;
            }
          ];
          strict = true;
          note = null;
        };
      }
      {
        name = "tpm-attestation";
        kind = "attestation";
        config.consecutiveFailures = 3;
      }
    ];
  };
  rolloutPolicies.one = {
    strategy = "staged";
    waves = [
      {
        selector.tags = [ "gpu" ];
        soakMinutes = 1440;
      }
    ];
    healthGate = {
      policy = "gpu-health";
      timeoutMinutes = 90;
    };
    onHealthFailure = "rollback-and-halt";
  };
}
