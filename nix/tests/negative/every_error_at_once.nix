# expect: the fleet has 5 errors
# expect: hosts.web1.channel: unknown channel `prod`
# expect: channels.stable.freshnessWindowMinutes: 60 is below twice the signing interval
# expect: edges.0.before: unknown host `ghost`
# expect: disruptionBudgets.0: sets neither maxInFlight nor maxInFlightPct
# expect: cycle in channel edges: canary -> stable -> canary
import ../base-fleet.nix (
  b:
  b
  // {
    hosts = b.hosts // { web1 = b.hosts.web1 // { channel = "prod"; }; };
    channels = b.channels // { stable = b.channels.stable // { freshnessWindowMinutes = 60; }; };
    edges = [ { before = "ghost"; after = "web2"; } ];
    channelEdges = [ { before = "canary"; after = "stable"; } { before = "stable"; after = "canary"; } ];
    disruptionBudgets = [ { selector.all = true; } ];
  }
)
