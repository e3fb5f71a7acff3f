# The option type for secrets: an absolute path given as a *string*, so that Nix never
# copies the file into the (world-readable) store, and which must not point into it.
{ lib }:
lib.types.addCheck (lib.types.strMatching "/.+") (p: !(lib.hasPrefix builtins.storeDir p))
// {
  description = "absolute path outside the Nix store (a string, not a Nix path)";
}
