# Every selector form, nested, as waves and budgets: the Rust test resolves each with
# convoy_proto::Selector and must find the same hosts as Nix.
let
  convoy = import ../../../lib;
  inherit (convoy) sel;
  h = channel: tags: { inherit channel tags; };
in
convoy.mkFleet {
  hosts = {
    web1 = h "prod" [ "web" "eu" ];
    web2 = h "prod" [ "web" "us" ];
    web3 = h "prod" [ "web" "us" "canary" ];
    db1 = h "prod" [ "db" "eu" ];
    db2 = h "prod" [ "db" "us" ];
    ci1 = h "staging" [ "ci" ];
    bare = h "staging" [ ];
  };
  channels = {
    prod = {
      rolloutPolicy = "algebra";
      policies = [
        {
          name = "health";
          kind = "health";
        }
      ];
    };
    staging = {
      rolloutPolicy = "algebra";
      policies = [
        {
          name = "health";
          kind = "health";
        }
      ];
    };
  };
  rolloutPolicies.algebra = {
    waves = [
      { selector = sel.tags [ "web" "eu" ]; }
      { selector = sel.tagsAny [ "us" "ci" ]; }
      { selector = sel.hosts [ "db1" "bare" ]; }
      { selector = sel.channel "staging"; }
      {
        selector = sel.and [
          (sel.channel "prod")
          (sel.not (sel.tags [ "web" ]))
        ];
      }
      {
        selector = sel.or [
          (sel.hosts [ "ci1" ])
          (sel.tags [ "db" ])
        ];
      }
      {
        selector = sel.not (
          sel.or [
            (sel.tagsAny [ "canary" ])
            (sel.and [
              (sel.tags [ "db" ])
              (sel.not (sel.tags [ "us" ]))
            ])
          ]
        );
      }
      { selector = sel.all; }
    ];
    healthGate.policy = "health";
  };
  disruptionBudgets = [
    {
      selector = sel.and [
        (sel.tagsAny [ "eu" "us" ])
        (sel.not (sel.hosts [ "web3" ]))
      ];
      maxInFlight = 2;
    }
    {
      selector = sel.not (sel.channel "prod");
      maxInFlightPct = 100;
    }
  ];
}
