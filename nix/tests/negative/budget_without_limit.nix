# expect: disruptionBudgets.0: sets neither maxInFlight nor maxInFlightPct
import ../base-fleet.nix (b: b // { disruptionBudgets = [ { selector.tags = [ "web" ]; maxInFlight = null; } ]; })
