# expect: channels.stable.freshnessWindowMinutes: 90 is below twice the signing interval (2 × 60 = 120)
import ../base-fleet.nix (
  b:
  b
  // {
    channels = b.channels // {
      stable = b.channels.stable // {
        signingIntervalMinutes = 60;
        freshnessWindowMinutes = 90;
      };
    };
  }
)
