# expect: edges.0.after: unknown host `web9`
import ../base-fleet.nix (b: b // { edges = [ { before = "db1"; after = "web9"; } ]; })
