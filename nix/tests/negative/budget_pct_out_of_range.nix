# expect: disruptionBudgets.0.maxInFlightPct: 101 is outside 0..100
# expect: disruptionBudgets.1.maxInFlightPct: -5 is outside 0..100
import ../base-fleet.nix (
  b:
  b
  // {
    disruptionBudgets = [
      { selector.all = true; maxInFlightPct = 101; }
      { selector.all = true; maxInFlightPct = -5; }
    ];
  }
)
