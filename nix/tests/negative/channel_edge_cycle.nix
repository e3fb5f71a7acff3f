# expect: cycle in channel edges: canary -> stable -> canary
import ../base-fleet.nix (
  b:
  b
  // {
    channelEdges = [
      { before = "canary"; after = "stable"; }
      { before = "stable"; after = "canary"; }
    ];
  }
)
