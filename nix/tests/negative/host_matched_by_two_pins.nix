# expect: host `web1` is matched by 2 pins: pins.0, pins.1
import ../base-fleet.nix (
  b:
  b
  // {
    pins = [
      {
        selector.tags = [ "web" ];
        closureHash = "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-nixos-system-web";
        reason = "hold the web tier";
      }
      {
        selector.hosts = [ "web1" ];
        closureHash = "/nix/store/7zqbyq2sdjz1pf8x6wqdgm3nwcs7hb1r-nixos-system-web1";
        reason = "debugging web1";
      }
    ];
  }
)
