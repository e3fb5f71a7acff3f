# Tiny stand-ins for NixOS systems, one per demo host: input-addressed derivations (so a
# binary cache must hold a valid signature for them) with a `bin/switch-to-configuration`
# and the paths the agent's inhibitor check reads. Build offline with
#   nix-build nix/examples/demo/systems.nix -A web1 --option sandbox false
{
  system ? builtins.currentSystem,
  # Bump to produce a new generation of every host (a new closure hash).
  generation ? 1,
}:
let
  mkSystem =
    host:
    {
      # What `switch-to-configuration` does: "ok", "fail" (exit 1) or "hang".
      behaviour ? "ok",
      kernel ? "linux-6.6.60",
      systemdVersion ? "256.8",
      dbusVersion ? "1.14.10",
    }:
    builtins.derivation {
      name = "nixos-system-${host}";
      inherit
        system
        host
        behaviour
        kernel
        systemdVersion
        dbusVersion
        ;
      generation = toString generation;
      builder = "/bin/sh";
      PATH = "/bin:/usr/bin";
      args = [
        "-c"
        ''
          set -eu
          mkdir -p "$out/bin" "$out/etc" "$out/sw/bin"
          printf '%s\n' "$kernel" > "$out/kernel"
          printf '%s\n' "$systemdVersion" > "$out/systemd"
          printf '%s\n' "$dbusVersion" > "$out/dbus"
          printf 'NAME=NixOS\nID=nixos\nHOSTNAME=%s\nCONVOY_GENERATION=%s\n' "$host" "$generation" > "$out/etc/os-release"
          printf '%s\n' "$host" > "$out/etc/hostname"
          cat > "$out/bin/switch-to-configuration" <<SCRIPT
          #!/bin/sh
          # Test stand-in for NixOS's switch-to-configuration: records what it was asked.
          action="\''${1:-}"
          case "\$action" in
            switch|boot|test|dry-activate) ;;
            *) echo "usage: switch-to-configuration switch|boot|test|dry-activate" >&2; exit 100 ;;
          esac
          log="\''${CONVOY_TEST_ACTIVATION_LOG:-/dev/null}"
          echo "$host generation $generation: \$action" >> "\$log"
          case "$behaviour" in
            ok) exit 0 ;;
            fail) echo "activation of $host failed (test system)" >&2; exit 1 ;;
            hang) exec sleep 100000 ;;
          esac
          SCRIPT
          chmod 0755 "$out/bin/switch-to-configuration"
        ''
      ];
    };
in
{
  ci1 = mkSystem "ci1" { };
  web1 = mkSystem "web1" { };
  web2 = mkSystem "web2" { };
  db1 = mkSystem "db1" { };
  lb1 = mkSystem "lb1" { };
}
