# expect: merge collision: hosts.web1 is defined in fragment 0 and fragment 1
# expect: merge collision: channels.stable is defined in fragment 0 and fragment 1
let
  convoy = import ../../lib;
  fragment = {
    hosts.web1.channel = "stable";
    channels.stable = {
      rolloutPolicy = "staged";
      policies = [ { name = "health"; kind = "health"; } ];
    };
  };
in
convoy.mkFleet (
  convoy.mergeFleets [
    (fragment // { rolloutPolicies.staged = { waves = [ { selector.all = true; } ]; healthGate.policy = "health"; }; })
    fragment
  ]
)
