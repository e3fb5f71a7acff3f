# The example fleet of nix/examples/demo, which the README's main job releases.
import ../../../examples/demo/fleet.nix
