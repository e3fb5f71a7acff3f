# expect: hosts.web1.channel: unknown channel `prod`
import ../base-fleet.nix (b: b // { hosts = b.hosts // { web1 = b.hosts.web1 // { channel = "prod"; }; }; })
