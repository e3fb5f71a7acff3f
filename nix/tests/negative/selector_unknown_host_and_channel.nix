# expect: disruptionBudgets.0.selector: unknown host `web3`
# expect: disruptionBudgets.0.selector: unknown channel `beta`
import ../base-fleet.nix (
  b:
  b
  // {
    disruptionBudgets = [
      {
        selector.or = [ { hosts = [ "web1" "web3" ]; } { channel = "beta"; } ];
        maxInFlight = 1;
      }
    ];
  }
)
