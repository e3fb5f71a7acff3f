# A fleet split across files: mergeFleets joins the named sections and concatenates the
# lists in fragment order; tags are united.
let
  convoy = import ../../../lib;
in
convoy.mkFleet (
  convoy.mergeFleets [
    ./common.nix
    ./eu.nix
    {
      hosts.us1 = {
        channel = "main";
        tags = [ "us" ];
      };
      edges = [
        {
          before = "eu1";
          after = "us1";
        }
      ];
    }
  ]
)
