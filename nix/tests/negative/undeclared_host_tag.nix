# expect: hosts.db1.tags: unknown tag `database` (declared tags: `ci`, `db`, `web`)
import ../base-fleet.nix (
  b:
  b
  // {
    tags = [ "web" "db" "ci" ];
    hosts = b.hosts // { db1 = b.hosts.db1 // { tags = [ "database" ]; }; };
  }
)
