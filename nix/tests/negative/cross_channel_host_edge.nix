# expect: edges.0: host edge `ci1` -> `db1` crosses channels (`canary` -> `stable`)
import ../base-fleet.nix (b: b // { edges = [ { before = "ci1"; after = "db1"; } ]; })
