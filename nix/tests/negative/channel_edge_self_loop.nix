# expect: cycle in channel edges: stable -> stable
import ../base-fleet.nix (b: b // { channelEdges = [ { before = "stable"; after = "stable"; } ]; })
