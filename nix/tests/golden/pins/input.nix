# Pins: a host's own pin and a selector pin rule, both folded into hosts.<name>.pin.
let
  convoy = import ../../../lib;
  old = "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-nixos-system-db1";
  lts = "/nix/store/7zqbyq2sdjz1pf8x6wqdgm3nwcs7hb1r-nixos-system-legacy";
in
convoy.mkFleet {
  hosts = {
    db1 = {
      channel = "main";
      tags = [ "db" ];
      pin = {
        closureHash = old;
        reason = "INC-4711: hold db1 until the migration is verified";
      };
    };
    legacy1 = {
      channel = "main";
      tags = [ "legacy" ];
    };
    legacy2 = {
      channel = "main";
      tags = [ "legacy" ];
    };
    web1 = {
      channel = "main";
      tags = [ "web" ];
    };
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
  pins = [
    {
      selector.tags = [ "legacy" ];
      closureHash = lts;
      reason = "legacy hardware stays on the LTS kernel";
    }
  ];
}
