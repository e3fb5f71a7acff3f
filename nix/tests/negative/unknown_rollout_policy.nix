# expect: channels.canary.rolloutPolicy: unknown rollout policy `fast`
import ../base-fleet.nix (b: b // { channels = b.channels // { canary = b.channels.canary // { rolloutPolicy = "fast"; }; }; })
