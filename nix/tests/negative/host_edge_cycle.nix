# expect: cycle in host edges: db1 -> web1 -> web2 -> db1
import ../base-fleet.nix (
  b:
  b
  // {
    edges = [
      { before = "db1"; after = "web1"; }
      { before = "web1"; after = "web2"; }
      { before = "web2"; after = "db1"; }
    ];
  }
)
