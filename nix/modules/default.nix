# The NixOS modules of Convoy, by name.
{
  convoy-cp = ./cp.nix;
  convoy-agent = ./agent.nix;
}
