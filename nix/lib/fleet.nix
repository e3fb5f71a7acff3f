# mkFleet and mergeFleets: the front door of a Convoy fleet.
#
# mkFleet takes the operator's description of the fleet, checks all of it, and returns
# `.resolved`: exactly the document `convoy_proto::UnsignedFleet` parses (camelCase keys,
# explicit nulls, stable key sets), which `convoy-release` fills (closures, policy hashes,
# meta) and signs. A bad fleet fails here, at evaluation, with every problem listed at
# once and named by its option path, never at rollout time.
{
  util,
  selectors,
  graph,
}:
let
  inherit (builtins)
    all
    any
    attrNames
    concatStringsSep
    elem
    filter
    foldl'
    isAttrs
    isBool
    isFunction
    isList
    isString
    length
    listToAttrs
    mapAttrs
    ;
  inherit (util)
    concatMap
    concatMapAttrs
    imap0
    quote
    quoteList
    show
    sortStrings
    subtract
    ;

  # A budget of one over at least this many hosts serialises rollouts: warn.
  manyHosts = 10;

  # Selectors nest at most this deep: the built-in policies' validate-config refuses
  # deeper ones (MAX_SELECTOR_DEPTH in policies/), so mkFleet does too.
  maxSelectorDepth = 32;

  # The built-in policies' default offline-skip threshold
  # (convoy_policy_sdk::progress::DEFAULT_SKIP_OFFLINE_AFTER_MINUTES).
  defaultSkipOfflineAfterMinutes = 60;

  isDerivation = v: isAttrs v && (v.type or null) == "derivation";

  # What a value is, in a few words (a NixOS system must not be printed whole).
  describe =
    v:
    if isDerivation v then
      "a derivation"
    else if isAttrs v then
      "an attribute set (${quoteList (util.sortStrings (attrNames v))})"
    else if isString v then
      "the string ${builtins.toJSON v}"
    else
      show v;

  # ── field specs ────────────────────────────────────────────────────────────────────
  # A spec maps each option to { default?, fallback, errs }. `errs at value` lists what is
  # wrong with a value; a field without `default` is required. A wrong value is replaced
  # by `fallback` so that the later, semantic checks still run and report their own
  # problems instead of crashing on a type error.

  simple =
    expect: pred: at: v:
    if pred v then [ ] else [ "${at}: expected ${expect}, got ${show v}" ];

  isStringList = v: isList v && all isString v;
  nonEmptyString = v: isString v && v != "";
  nullOr = pred: v: v == null || pred v;
  isJson =
    v:
    let
      t = builtins.typeOf v;
    in
    if t == "set" then
      !(v ? outPath) && all (n: isJson v.${n}) (attrNames v)
    else if t == "list" then
      all isJson v
    else if t == "int" then
      # Canonical JSON (RFC 8785) writes numbers as doubles: integers must stay exact.
      v <= 9007199254740991 && v >= -9007199254740991
    else
      elem t [
        "string"
        "bool"
        "null"
        "float"
      ];

  u32 = min: {
    errs = simple "an integer from ${toString min} to ${toString util.maxU32}" (util.intBetween min util.maxU32);
    fallback = null;
  };
  str = expect: {
    errs = simple expect nonEmptyString;
    fallback = null;
  };
  enum = values: {
    errs = simple "one of ${quoteList values}" (v: elem v values);
    fallback = null;
  };
  selectorField = {
    errs = selectors.shapeErrors;
    fallback = null;
  };

  # Checks `attrs` against `spec`; returns { value (defaults filled, bad fields replaced
  # by their fallback), errors }.
  normalize =
    where: spec: attrs:
    if !(isAttrs attrs) || attrs ? outPath then
      {
        value = null;
        errors = [ "${where}: expected an attribute set, got ${show attrs}" ];
      }
    else
      let
        unknown = subtract (attrNames attrs) (attrNames spec);
        fields = mapAttrs (
          name: s:
          let
            at = "${where}.${name}";
          in
          if attrs ? ${name} then
            let
              errs = s.errs at attrs.${name};
            in
            {
              value = if errs == [ ] || s.keep or false then attrs.${name} else s.fallback;
              errors = errs;
            }
          else if s ? default then
            {
              value = s.default;
              errors = [ ];
            }
          else
            {
              value = s.fallback;
              errors = [ "${at}: missing (this option has no default)" ];
            }
        ) spec;
      in
      {
        value = mapAttrs (_: f: f.value) fields;
        errors =
          map (
            n: "${where}.${n}: unknown option ${quote n} (known: ${quoteList (sortStrings (attrNames spec))})"
          ) unknown
          ++ concatMap (n: fields.${n}.errors) (attrNames fields);
      };

  # A list of records: [ { index, value } ] of the well-formed-enough ones, and errors.
  normalizeList =
    where: spec: list:
    if !(isList list) then
      {
        items = [ ];
        errors = [ "${where}: expected a list, got ${show list}" ];
      }
    else
      let
        results = imap0 (i: x: { index = i; } // normalize "${where}.${toString i}" spec x) list;
      in
      {
        items = map (r: {
          inherit (r) index value;
          raw = builtins.elemAt list r.index;
        }) (filter (r: r.value != null) results);
        errors = concatMap (r: r.errors) results;
      };

  # An attribute set of records, by name.
  normalizeAttrs =
    where: spec: attrs:
    if !(isAttrs attrs) then
      {
        value = { };
        errors = [ "${where}: expected an attribute set, got ${show attrs}" ];
      }
    else
      let
        results = mapAttrs (name: x: normalize "${where}.${name}" spec x) attrs;
      in
      {
        value = mapAttrs (_: r: r.value) (util.filterAttrs (_: r: r.value != null) results);
        errors = concatMap (n: results.${n}.errors) (attrNames results);
      };

  pinSpec = {
    closureHash = {
      errs = simple "a Nix store path (/nix/store/<32 base32 chars>-<name>)" util.isStorePath;
      fallback = null;
    };
    reason = str "a non-empty reason";
  };

  hostSpec = {
    system = {
      default = "x86_64-linux";
    }
    // str "a Nix system such as \"x86_64-linux\"";
    tags = {
      default = [ ];
      errs = simple "a list of tags (strings)" isStringList;
      fallback = [ ];
    };
    channel = str "a channel name";
    closureHash = {
      default = null;
      errs = simple "null or a Nix store path (/nix/store/<32 base32 chars>-<name>)" (
        nullOr util.isStorePath
      );
      fallback = null;
    };
    pubkey = {
      default = null;
      errs = simple "null or an Ed25519 public key (strict base64 of 32 bytes)" (nullOr util.isPublicKey);
      fallback = null;
    };
    pin = {
      default = null;
      errs = at: v: if v == null then [ ] else (normalize at pinSpec v).errors;
      fallback = null;
    };
    # Set by mkHost: the NixOS system and its toplevel (what convoy-release builds).
    # Checked below (hostErrors, systemErrors): reading them may evaluate a NixOS system.
    toplevel = {
      default = null;
      errs = _: _: [ ];
      fallback = null;
    };
    nixos = {
      default = null;
      errs = _: _: [ ];
      fallback = null;
    };
  };

  policyKinds = [
    "rollout"
    "gate"
    "health"
    "attestation"
  ];

  policyRefSpec = {
    name = str "a policy name";
    kind = enum policyKinds;
    sha256 = {
      default = null;
      errs = simple "null or a sha256 digest (64 lowercase hex characters)" (nullOr util.isSha256Hex);
      fallback = null;
    };
    # null: a built-in policy gets its configuration from the fleet's own declarations
    # (see builtinConfig below); any other policy gets {}.
    config = {
      default = null;
      errs = simple "JSON-like data (attribute sets, lists, strings, numbers, booleans, null; integers within ±(2^53 - 1))" isJson;
      fallback = null;
    };
  };

  channelSpec = {
    rolloutPolicy = str "the name of a rollout policy";
    reconcileIntervalMinutes = {
      default = 2;
    }
    // u32 1;
    signingIntervalMinutes = {
      default = 60;
    }
    // u32 1;
    freshnessWindowMinutes = {
      default = 180;
    }
    // u32 1;
    policies = {
      default = [ ];
      errs = at: v: (normalizeList at policyRefSpec v).errors;
      fallback = [ ];
      # The well-formed entries are kept so that the later checks see them.
      keep = true;
    };
  };

  waveSpec = {
    selector = selectorField;
    soakMinutes = {
      default = 15;
    }
    // u32 0;
  };

  healthGateSpec = {
    policy = str "the name of a health policy of the channel";
    timeoutMinutes = {
      default = 15;
    }
    // u32 1;
  };

  rolloutPolicySpec = {
    strategy = {
      default = "staged";
    }
    // enum [
      "canary"
      "staged"
      "all-at-once"
    ];
    waves = {
      errs =
        at: v:
        if isList v && v == [ ] then
          [ "${at}: a rollout policy needs at least one wave" ]
        else
          (normalizeList at waveSpec v).errors;
      fallback = [ ];
      keep = true;
    };
    healthGate = {
      errs = at: v: (normalize at healthGateSpec v).errors;
      fallback = null;
    };
    onHealthFailure = {
      default = "halt";
    }
    // enum [
      "halt"
      "rollback-and-halt"
    ];
  };

  edgeSpec = {
    before = str "a name";
    after = str "a name";
  };

  budgetSpec = {
    selector = selectorField;
    maxInFlight = {
      default = null;
      errs = simple "null or a non-negative integer" (nullOr (util.intBetween 0 util.maxU32));
      fallback = null;
    };
    # Range 0..100 is a semantic check below, so that its message names the problem.
    maxInFlightPct = {
      default = null;
      errs = simple "null or an integer percentage" (nullOr builtins.isInt);
      fallback = null;
    };
  };

  pinRuleSpec = pinSpec // {
    selector = selectorField;
  };

  revocationSpec = {
    host = str "a host name";
    notBefore = {
      errs = simple "a UTC timestamp of the form YYYY-MM-DDTHH:MM:SSZ" util.isTimestamp;
      fallback = null;
    };
    reason = str "a non-empty reason";
  };

  fleetSpec = {
    hosts = {
      errs = _: _: [ ];
      fallback = { };
    };
    tags = {
      default = null;
      errs = simple "null, a list of tags, or an attribute set of tag = description" (
        v: v == null || isStringList v || (isAttrs v && all (n: isString v.${n}) (attrNames v))
      );
      fallback = null;
    };
    channels = {
      errs = _: _: [ ];
      fallback = { };
    };
    rolloutPolicies = {
      errs = _: _: [ ];
      fallback = { };
    };
    edges = {
      default = [ ];
      errs = _: _: [ ];
      fallback = [ ];
    };
    channelEdges = {
      default = [ ];
      errs = _: _: [ ];
      fallback = [ ];
    };
    disruptionBudgets = {
      default = [ ];
      errs = _: _: [ ];
      fallback = [ ];
    };
    pins = {
      default = [ ];
      errs = _: _: [ ];
      fallback = [ ];
    };
    revocations = {
      default = [ ];
      errs = _: _: [ ];
      fallback = [ ];
    };
    # Left by mergeFleets so that merge collisions are reported with everything else.
    _mergeErrors = {
      default = [ ];
      errs = _: _: [ ];
      fallback = [ ];
    };
  };

  # ── mkFleet ────────────────────────────────────────────────────────────────────────

  mkFleet =
    args:
    let
      top = normalize "mkFleet" fleetSpec args;
      get = name: if top.value == null then fleetSpec.${name}.fallback else top.value.${name};

      hostsN = normalizeAttrs "hosts" hostSpec (get "hosts");
      channelsN = normalizeAttrs "channels" channelSpec (get "channels");
      rolloutN = normalizeAttrs "rolloutPolicies" rolloutPolicySpec (get "rolloutPolicies");
      edgesN = normalizeList "edges" edgeSpec (get "edges");
      channelEdgesN = normalizeList "channelEdges" edgeSpec (get "channelEdges");
      budgetsN = normalizeList "disruptionBudgets" budgetSpec (get "disruptionBudgets");
      pinsN = normalizeList "pins" pinRuleSpec (get "pins");
      revocationsN = normalizeList "revocations" revocationSpec (get "revocations");

      hosts = hostsN.value;
      channels = mapAttrs (
        _: c: c // { policies = map (p: p.value) (normalizeList "" policyRefSpec c.policies).items; }
      ) channelsN.value;
      rolloutPolicies = mapAttrs (
        _: r:
        r
        // {
          waves = map (w: w.value) (normalizeList "" waveSpec r.waves).items;
          healthGate = if r.healthGate == null then null else (normalize "" healthGateSpec r.healthGate).value;
        }
      ) rolloutN.value;

      hostNames = sortStrings (attrNames hosts);
      channelNames = sortStrings (attrNames channels);
      rolloutNames = sortStrings (attrNames rolloutPolicies);

      declaredTags =
        let
          t = get "tags";
        in
        if t == null then null else if isList t then t else attrNames t;
      hostTags = util.uniqueSorted (concatMap (n: hosts.${n}.tags) hostNames);
      knownTags = if declaredTags == null then hostTags else util.uniqueSorted declaredTags;

      # Selector views of hosts whose channel is known (a host with a bad channel still
      # matches channel-free selectors).
      resolve = sel: selectors.resolve sel hosts;

      # Wave membership, as the waves policy decides it: a host of channel `c` is in the
      # first wave of `c`'s rollout policy whose selector matches it, or in none (null),
      # and then no rollout of `c` ever dispatches it.
      hostView = n: {
        name = n;
        inherit (hosts.${n}) channel tags;
      };
      rolloutOf =
        c:
        let
          name = channels.${c}.rolloutPolicy or null;
        in
        if name == null then null else rolloutPolicies.${name} or null;
      waveOf =
        n:
        let
          c = hosts.${n}.channel;
          rp = if c != null && channels ? ${c} then rolloutOf c else null;
        in
        if rp == null then
          null
        else
          util.firstIndex (w: w.selector != null && selectors.matches w.selector (hostView n)) rp.waves;
      # channel → the sorted hosts of the channel that no wave of its rollout policy selects.
      unselectedHosts = listToAttrs (
        map (c: {
          name = c;
          value = filter (n: hosts.${n}.channel == c && waveOf n == null) hostNames;
        }) (filter (c: rolloutOf c != null) channelNames)
      );

      # ── semantic checks ──
      hostErrors = concatMap (
        n:
        let
          h = hosts.${n};
        in
        (
          if h.channel != null && !(channels ? ${h.channel}) then
            [ "hosts.${n}.channel: unknown channel ${quote h.channel} (channels: ${quoteList channelNames})" ]
          else
            [ ]
        )
        ++ (
          if declaredTags != null then
            map (
              t: "hosts.${n}.tags: unknown tag ${quote t} (declared tags: ${quoteList knownTags})"
            ) (subtract h.tags knownTags)
          else
            [ ]
        )
        # A host with a NixOS system has its toplevel checked with the system, in
        # `.systems`: reading it here would evaluate NixOS (and need nixpkgs) just to
        # resolve the fleet.
        ++ (if h.nixos == null then toplevelErrors n h else [ ])
      ) hostNames;

      toplevelErrors =
        n: h:
        if h.toplevel == null || isDerivation h.toplevel then
          [ ]
        else
          [
            "hosts.${n}.toplevel: expected a derivation (a NixOS system's config.system.build.toplevel) or null, got ${describe h.toplevel}"
          ];

      # The checks that evaluate a host's NixOS system; `.systems` (what CI builds) runs them.
      systemErrors = concatMap (
        n:
        let
          h = hosts.${n};
          nixosOk =
            isAttrs h.nixos
            && h.nixos ? config.system.build.toplevel
            && isDerivation h.nixos.config.system.build.toplevel;
        in
        if h.nixos == null then
          [ ]
        else
          (
            if nixosOk then
              [ ]
            else
              [
                "hosts.${n}.nixos: expected a NixOS system whose config.system.build.toplevel is a derivation, or null, got ${
                  if isAttrs h.nixos && h.nixos ? config.system.build.toplevel then
                    "one whose toplevel is ${describe h.nixos.config.system.build.toplevel}"
                  else
                    describe h.nixos
                }"
              ]
          )
          ++ toplevelErrors n h
      ) hostNames;
      systemOf =
        h:
        if h.toplevel != null then
          h.toplevel
        else if h.nixos != null then
          h.nixos.config.system.build.toplevel
        else
          null;

      channelErrors = concatMap (
        c:
        let
          ch = channels.${c};
          at = "channels.${c}";
        in
        (
          if ch.rolloutPolicy != null && !(rolloutPolicies ? ${ch.rolloutPolicy}) then
            [
              "${at}.rolloutPolicy: unknown rollout policy ${quote ch.rolloutPolicy} (rolloutPolicies: ${quoteList rolloutNames})"
            ]
          else
            [ ]
        )
        ++ (
          if
            ch.freshnessWindowMinutes != null
            && ch.signingIntervalMinutes != null
            && ch.freshnessWindowMinutes < 2 * ch.signingIntervalMinutes
          then
            [
              "${at}.freshnessWindowMinutes: ${toString ch.freshnessWindowMinutes} is below twice the signing interval (2 × ${toString ch.signingIntervalMinutes} = ${toString (2 * ch.signingIntervalMinutes)}); one late CI run would freeze the fleet"
            ]
          else
            [ ]
        )
        ++ map (p: "${at}.policies: policy ${quote p} is listed more than once") (
          util.duplicates (map (p: p.name) ch.policies)
        )
      ) channelNames;

      # A rollout policy's health gate must name a health policy of every channel using it.
      rolloutErrors = concatMap (
        r:
        let
          rp = rolloutPolicies.${r};
          users = filter (c: channels.${c}.rolloutPolicy == r) channelNames;
          gate = rp.healthGate;
        in
        if gate == null || gate.policy == null then
          [ ]
        else
          concatMap (
            c:
            let
              policies = channels.${c}.policies;
              named = filter (p: p.name == gate.policy) policies;
              health = map (p: p.name) (filter (p: p.kind == "health") policies);
            in
            if named == [ ] then
              [
                "rolloutPolicies.${r}.healthGate.policy: unknown policy ${quote gate.policy} in channel ${quote c} (its health policies: ${quoteList health})"
              ]
            else if !(elem (builtins.head named).kind [ "health" null ]) then
              [
                "rolloutPolicies.${r}.healthGate.policy: policy ${quote gate.policy} of channel ${quote c} is a ${quote (builtins.head named).kind} policy, not a `health` one"
              ]
            else
              [ ]
          ) users
      ) rolloutNames
      # The wave counts the waves policy's validate-config requires of each strategy.
      ++ concatMap (
        r:
        let
          rp = rolloutPolicies.${r};
          n = length rp.waves;
          at = "rolloutPolicies.${r}.waves";
        in
        if rp.strategy == "canary" && n == 1 then
          [ "${at}: a canary rollout needs at least two waves (the canary, then the rest), not 1" ]
        else if rp.strategy == "all-at-once" && n > 1 then
          [ "${at}: an all-at-once rollout has exactly one wave, not ${toString n}" ]
        else
          [ ]
      ) rolloutNames;

      # An explicit `config` for the built-in `waves` policy: the rules of its
      # validate-config that do not need the policy's JSON parser (wave counts per
      # strategy, thresholds of at least 1). Everything else is checked at release.
      explicitWavesErrors = concatMap (
        c:
        concatMap (
          p:
          let
            cfg = p.value.config;
            at = "channels.${c}.policies.${toString p.index}.config";
            strategy = cfg.strategy or "staged";
            n = if isList (cfg.waves or [ ]) then length (cfg.waves or [ ]) else 0;
            gate = cfg.healthGate or null;
          in
          if p.value.name != "waves" || !(isAttrs cfg) then
            [ ]
          else
            (
              if n == 0 && strategy != "all-at-once" then
                [ "${at}.waves: at least one wave is needed" ]
              else if strategy == "canary" && n == 1 then
                [ "${at}.waves: a canary rollout needs at least two waves (the canary, then the rest), not 1" ]
              else if strategy == "all-at-once" && n > 1 then
                [ "${at}.waves: an all-at-once rollout has exactly one wave, not ${toString n}" ]
              else
                [ ]
            )
            ++ (
              if (cfg.skipOfflineAfterMinutes or null) == 0 then
                [ "${at}.skipOfflineAfterMinutes: must be at least 1" ]
              else
                [ ]
            )
            ++ (
              if isAttrs gate && (gate.timeoutMinutes or null) == 0 then
                [ "${at}.healthGate.timeoutMinutes: must be at least 1" ]
              else
                [ ]
            )
        ) (util.imap0 (i: v: { index = i; value = v; }) channels.${c}.policies)
      ) channelNames;

      # Every selector that ends up in the document or in a pin, with its option path.
      waveSelectors = concatMap (
        r: imap0 (i: w: {
          at = "rolloutPolicies.${r}.waves.${toString i}";
          inherit (w) selector;
        }) rolloutPolicies.${r}.waves
      ) rolloutNames;
      budgetSelectors = map (b: {
        at = "disruptionBudgets.${toString b.index}";
        inherit (b.value) selector;
      }) (filter (b: b.value.selector != null) budgetsN.items);
      pinSelectors = map (p: {
        at = "pins.${toString p.index}";
        inherit (p.value) selector;
      }) (filter (p: p.value.selector != null) pinsN.items);
      allSelectors = filter (s: s.selector != null) (waveSelectors ++ budgetSelectors ++ pinSelectors);

      selectorErrors = concatMap (
        s:
        (
          if selectors.depth s.selector > maxSelectorDepth then
            [
              "${s.at}.selector: selector nests ${toString (selectors.depth s.selector)} levels deep; at most ${toString maxSelectorDepth} are allowed"
            ]
          else
            [ ]
        )
        ++ map (t: "${s.at}.selector: unknown tag ${quote t} (known tags: ${quoteList knownTags})") (
          util.unique (subtract (selectors.mentioned "tags" s.selector) knownTags)
        )
        ++ map (h: "${s.at}.selector: unknown host ${quote h}") (
          util.unique (subtract (selectors.mentioned "hosts" s.selector) hostNames)
        )
        ++ map (c: "${s.at}.selector: unknown channel ${quote c} (channels: ${quoteList channelNames})") (
          util.unique (subtract (selectors.mentioned "channel" s.selector) channelNames)
        )
      ) allSelectors;

      edgeErrors =
        let
          items = edgesN.items;
          unknownEnds = concatMap (
            e:
            concatMap (
              end:
              if hosts ? ${e.value.${end}} then
                [ ]
              else
                [ "edges.${toString e.index}.${end}: unknown host ${quote e.value.${end}}" ]
            ) [ "before" "after" ]
          ) (filter (e: e.value.before != null && e.value.after != null) items);
          known = filter (
            e: e.value.before != null && e.value.after != null && hosts ? ${e.value.before} && hosts ? ${e.value.after}
          ) items;
          cross = concatMap (
            e:
            let
              a = hosts.${e.value.before}.channel;
              b = hosts.${e.value.after}.channel;
            in
            if a != null && b != null && a != b then
              [
                "edges.${toString e.index}: host edge ${quote e.value.before} -> ${quote e.value.after} crosses channels (${quote a} -> ${quote b}); order channels with channelEdges instead"
              ]
            else
              [ ]
          ) known;
          cycles = map (c: "edges: cycle in host edges: ${concatStringsSep " -> " c}") (
            graph.cycles (map (e: e.value) known)
          );
          # `after` waits until `before` has converged; the waves policy finishes a wave
          # before it starts the next. An `after` in an earlier wave than its `before`, or
          # a `before` that no wave updates, would wait forever: the rollout deadlocks.
          waveOrder = concatMap (
            e:
            let
              inherit (e.value) before after;
              c = hosts.${after}.channel;
              wb = waveOf before;
              wa = waveOf after;
              policy = quote channels.${c}.rolloutPolicy;
              at = "edges.${toString e.index}: host ${quote after} waits for ${quote before}";
            in
            if c == null || hosts.${before}.channel != c || rolloutOf c == null || wa == null then
              [ ]
            else if wb == null then
              [
                "${at}, which is in no wave of rollout policy ${policy} and is never updated: ${quote after} would wait forever"
              ]
            else if wa < wb then
              [
                "${at}, but ${quote after} is in wave ${toString wa} and ${quote before} in the later wave ${toString wb} of rollout policy ${policy}: wave ${toString wa} cannot finish, so the rollout would deadlock"
              ]
            else
              [ ]
          ) known;
        in
        unknownEnds ++ cross ++ cycles ++ waveOrder;

      channelEdgeErrors =
        let
          items = filter (e: e.value.before != null && e.value.after != null) channelEdgesN.items;
          unknownEnds = concatMap (
            e:
            concatMap (
              end:
              if channels ? ${e.value.${end}} then
                [ ]
              else
                [
                  "channelEdges.${toString e.index}.${end}: unknown channel ${quote e.value.${end}} (channels: ${quoteList channelNames})"
                ]
            ) [ "before" "after" ]
          ) items;
          known = filter (e: channels ? ${e.value.before} && channels ? ${e.value.after}) items;
        in
        unknownEnds
        ++ map (c: "channelEdges: cycle in channel edges: ${concatStringsSep " -> " c}") (
          graph.cycles (map (e: e.value) known)
        );

      budgetErrors = concatMap (
        b:
        let
          at = "disruptionBudgets.${toString b.index}";
          v = b.value;
        in
        (
          if v.maxInFlightPct != null && (v.maxInFlightPct < 0 || v.maxInFlightPct > 100) then
            [ "${at}.maxInFlightPct: ${toString v.maxInFlightPct} is outside 0..100" ]
          else
            [ ]
        )
        ++ (
          if (b.raw.maxInFlight or null) == null && (b.raw.maxInFlightPct or null) == null then
            [ "${at}: sets neither maxInFlight nor maxInFlightPct; a budget needs at least one limit" ]
          else
            [ ]
        )
      ) budgetsN.items;

      # Pins: a host's own `pin` and the `pins` rules; a host may be matched by one at most.
      pinSources =
        map (n: {
          at = "hosts.${n}.pin";
          hosts = [ n ];
          pin = hosts.${n}.pin;
        }) (filter (n: hosts.${n}.pin != null) hostNames)
        ++ map (p: {
          at = "pins.${toString p.index}";
          hosts = resolve p.value.selector;
          pin = {
            inherit (p.value) closureHash reason;
          };
        }) (filter (p: p.value.selector != null) pinsN.items);
      pinsOf = n: filter (p: elem n p.hosts) pinSources;
      pinErrors = concatMap (
        n:
        let
          ps = pinsOf n;
        in
        if length ps > 1 then
          [ "host ${quote n} is matched by ${toString (length ps)} pins: ${concatStringsSep ", " (map (p: p.at) ps)}" ]
        else
          [ ]
      ) hostNames;

      revocationErrors =
        concatMap (
          r:
          if r.value.host != null && !(hosts ? ${r.value.host}) then
            [ "revocations.${toString r.index}.host: unknown host ${quote r.value.host}" ]
          else
            [ ]
        ) revocationsN.items
        ++ map (h: "revocations: host ${quote h} is revoked more than once") (
          util.duplicates (filter (h: h != null) (map (r: r.value.host) revocationsN.items))
        );

      errors =
        (get "_mergeErrors")
        ++ top.errors
        ++ hostsN.errors
        ++ channelsN.errors
        ++ rolloutN.errors
        ++ edgesN.errors
        ++ channelEdgesN.errors
        ++ budgetsN.errors
        ++ pinsN.errors
        ++ revocationsN.errors
        ++ hostErrors
        ++ channelErrors
        ++ rolloutErrors
        ++ explicitWavesErrors
        ++ selectorErrors
        ++ edgeErrors
        ++ channelEdgeErrors
        ++ budgetErrors
        ++ pinErrors
        ++ revocationErrors;

      # ── warnings ──
      emptyWarnings = concatMap (
        s:
        map (n: "${s.at}.selector: empty ${quote (builtins.head (attrNames n))} list (${
          if n ? or || n ? tagsAny || n ? hosts then "matches no host" else "matches every host"
        })") (selectors.emptyParts s.selector)
        ++ (
          if resolve s.selector == [ ] then [ "${s.at}.selector: selects no host" ] else [ ]
        )
      ) allSelectors;

      budgetWarnings = concatMap (
        b:
        let
          covered = length (resolve b.value.selector);
          pct = b.value.maxInFlightPct;
          at = "disruptionBudgets.${toString b.index}";
        in
        (
          if b.value.maxInFlight == 1 && covered >= manyHosts then
            [ "${at}: maxInFlight = 1 over ${toString covered} hosts updates them one at a time" ]
          else
            [ ]
        )
        # The budget policy rounds a percentage down but never below one host
        # (convoy_policy_sdk::pct::pct_of): below one host, it lets more through than asked.
        ++ (
          if
            pct != null && pct > 0 && pct <= 100 && covered > 0 && covered * pct < 100
            && (b.value.maxInFlight == null || b.value.maxInFlight >= 1)
          then
            [
              "${at}: maxInFlightPct = ${toString pct} of ${toString covered} hosts is less than one host; the budget rounds it up to 1 host at a time, more than ${toString pct}% of them"
            ]
          else
            [ ]
        )
      ) (filter (b: b.value.selector != null) budgetsN.items);

      # An explicit `waves` configuration that sets skipOfflineAfterMinutes no shorter
      # than its health-gate timeout: a dispatched host that goes silent is counted as
      # failed (stuck in flight) at the timeout, before it could be skipped as offline.
      skipWarnings = concatMap (
        c:
        concatMap (
          p:
          let
            cfg = p.value.config;
            skip = cfg.skipOfflineAfterMinutes or null;
            timeout = (if isAttrs (cfg.healthGate or null) then cfg.healthGate else { }).timeoutMinutes or null;
          in
          if
            p.value.name == "waves" && isAttrs cfg && builtins.isInt skip && builtins.isInt timeout && timeout <= skip
          then
            [
              "channels.${c}.policies.${toString p.index}.config.skipOfflineAfterMinutes: ${toString skip} minutes never takes effect for a dispatched host: healthGate.timeoutMinutes is ${toString timeout}, so a dispatched host that goes silent counts as failed at ${toString timeout} minutes, before it could be skipped as offline"
            ]
          else
            [ ]
        ) (util.imap0 (i: v: { index = i; value = v; }) channels.${c}.policies)
      ) channelNames;

      usageWarnings =
        map (r: "rolloutPolicies.${r}: used by no channel") (
          filter (r: !(any (c: channels.${c}.rolloutPolicy == r) channelNames)) rolloutNames
        )
        ++ concatMap (
          c:
          let
            missed = unselectedHosts.${c};
          in
          if missed == [ ] then
            [ ]
          else
            [
              "channels.${c}: hosts ${quoteList missed} are in no wave of rollout policy ${quote channels.${c}.rolloutPolicy}: its rollouts never dispatch them, so they stay on the closure they run"
            ]
        ) (attrNames unselectedHosts);

      warnings = emptyWarnings ++ budgetWarnings ++ skipWarnings ++ usageWarnings;

      systemsReport =
        "mkFleet: the fleet's systems have ${toString (length systemErrors)} error${
          if length systemErrors == 1 then "" else "s"
        }:\n"
        + concatStringsSep "\n" (map (e: "  - ${e}") systemErrors);

      # ── outputs ──
      report =
        "mkFleet: the fleet has ${toString (length errors)} error${
          if length errors == 1 then "" else "s"
        }:\n"
        + concatStringsSep "\n" (map (e: "  - ${e}") errors);
      checked = v: if errors == [ ] then v else throw report;
      traced = v: foldl' (acc: w: builtins.trace "warning: mkFleet: ${w}" acc) v warnings;

      jsonHost = n: h: {
        inherit (h)
          system
          tags
          channel
          closureHash
          pubkey
          ;
        pin =
          let
            ps = pinsOf n;
          in
          if ps == [ ] then
            null
          else
            {
              inherit ((builtins.head ps).pin) closureHash reason;
            };
      };

      # The built-in policies' configurations restate what the fleet already declares
      # (waves from the channel's rollout policy, the edges, the budgets), so operators
      # write them once; the signed artifact carries them explicitly.
      builtinConfig =
        channel: name:
        let
          rollout = rolloutPolicies.${channel.rolloutPolicy} or null;
          derived = {
            waves =
              if rollout == null then
                { }
              else
                {
                  inherit (rollout) strategy onHealthFailure healthGate;
                  waves = map (w: { inherit (w) selector soakMinutes; }) rollout.waves;
                };
            channel-edges.edges = resolved.channelEdges;
            host-edges.edges = resolved.edges;
            disruption-budget.budgets = resolved.disruptionBudgets;
          };
        in
        derived.${name} or { };

      resolved = {
        schemaVersion = 2;
        hosts = mapAttrs jsonHost hosts;
        channels = mapAttrs (_: c: {
          inherit (c)
            rolloutPolicy
            reconcileIntervalMinutes
            signingIntervalMinutes
            freshnessWindowMinutes
            ;
          policies = map (p: {
            inherit (p) name kind sha256;
            config = if p.config != null then p.config else builtinConfig c p.name;
          }) c.policies;
        }) channels;
        rolloutPolicies = mapAttrs (_: r: {
          inherit (r) strategy onHealthFailure healthGate;
          waves = map (w: { inherit (w) selector soakMinutes; }) r.waves;
        }) rolloutPolicies;
        edges = map (e: { inherit (e.value) before after; }) edgesN.items;
        channelEdges = map (e: { inherit (e.value) before after; }) channelEdgesN.items;
        disruptionBudgets = map (b: {
          inherit (b.value) selector maxInFlight maxInFlightPct;
        }) budgetsN.items;
        meta = null;
      };

      selectorResolutions = listToAttrs (
        map (s: {
          name = s.at;
          value = resolve s.selector;
        }) (waveSelectors ++ budgetSelectors)
      );
    in
    {
      _type = "convoy-fleet";
      # The checked input with every default filled in (NixOS systems left out).
      config = checked {
        hosts = mapAttrs (_: h: removeAttrs h [ "toplevel" "nixos" ]) hosts;
        tags = knownTags;
        inherit channels rolloutPolicies;
        edges = resolved.edges;
        channelEdges = resolved.channelEdges;
        disruptionBudgets = resolved.disruptionBudgets;
        pins = map (p: p.value) pinsN.items;
        revocations = map (r: r.value) revocationsN.items;
      };
      # fleet.resolved.json, as convoy-release consumes it.
      resolved = checked (traced resolved);
      # The unsigned revocation list (convoy_proto::RevocationList).
      revocations = checked {
        revocations = map (r: { inherit (r.value) host notBefore reason; }) revocationsN.items;
      };
      # Every wave and budget selector of `resolved` → the sorted host names it picks, as
      # computed here; proto/tests/nix_fixtures.rs checks that Rust agrees.
      selectorResolutions = checked selectorResolutions;
      # The hosts each pin holds (pins are folded into hosts.<name>.pin in `resolved`).
      pinnedHosts = checked (listToAttrs (map (p: { name = p.at; value = p.hosts; }) pinSources));
      inherit warnings errors;
      # host name → its system's toplevel derivation, for hosts that have one (mkHost or
      # `toplevel = ...`): what convoy-release builds and pushes to the binary cache.
      # The checks that need a host's NixOS system evaluated run here, not in `.resolved`.
      systems = checked (
        if systemErrors != [ ] then
          throw systemsReport
        else
          util.filterAttrs (_: t: t != null) (mapAttrs (_: systemOf) hosts)
      );
      # channel → the hosts no wave of its rollout policy selects (never dispatched by
      # its rollouts; the warning above names them). Checked against the waves policy in
      # policies/conformance/tests/nix_agreement.rs.
      unselectedHosts = checked unselectedHosts;
      # channel → built-in policy name → the configuration it gets (the derived one, or
      # the explicit `config`). Not checked: for tooling and the tests that run each
      # built-in's validate-config on what mkFleet accepts or refuses.
      builtinConfigs = mapAttrs (
        _: c:
        listToAttrs (
          map (p: {
            inherit (p) name;
            value = if p.config != null then p.config else builtinConfig c p.name;
          }) c.policies
        )
      ) channels;
    };

  # ── mergeFleets ────────────────────────────────────────────────────────────────────

  namedSections = [
    "hosts"
    "channels"
    "rolloutPolicies"
  ];
  listSections = [
    "edges"
    "channelEdges"
    "disruptionBudgets"
    "pins"
    "revocations"
  ];

  mergeFleets =
    fragments:
    let
      loaded = imap0 (i: f: {
        label = if builtins.isPath f then toString f else "fragment ${toString i}";
        value = if builtins.isPath f then import f else f;
      }) fragments;
      good = filter (f: isAttrs f.value) loaded;
      badErrors = map (f: "mergeFleets: ${f.label} is not an attribute set (got ${show f.value})") (
        filter (f: !(isAttrs f.value)) loaded
      );
      unknownErrors = concatMap (
        f:
        map (k: "mergeFleets: ${f.label}: unknown option ${quote k}") (
          subtract (attrNames f.value) (namedSections ++ listSections ++ [ "tags" "_mergeErrors" ])
        )
      ) good;

      mergeSection =
        section:
        let
          withIt = filter (f: isAttrs (f.value.${section} or null)) good;
          names = util.uniqueSorted (concatMap (f: attrNames f.value.${section}) withIt);
          owners = n: filter (f: f.value.${section} ? ${n}) withIt;
        in
        {
          value = foldl' (acc: f: acc // f.value.${section}) { } withIt;
          errors = concatMap (
            n:
            let
              o = owners n;
            in
            if length o > 1 then
              [ "merge collision: ${section}.${n} is defined in ${concatStringsSep " and " (map (f: f.label) o)}" ]
            else
              [ ]
          ) names;
        };
      merged = util.genAttrs' namedSections mergeSection;

      tagSets = filter (t: t != null) (map (f: f.value.tags or null) good);
      tags =
        if tagSets == [ ] then
          null
        else
          util.uniqueSorted (concatMap (t: if isList t then t else attrNames t) tagSets);
    in
    util.genAttrs' namedSections (s: merged.${s}.value)
    // util.genAttrs' listSections (s: concatMap (f: f.value.${s} or [ ]) good)
    // {
      inherit tags;
      _mergeErrors =
        concatMap (f: f.value._mergeErrors or [ ]) good
        ++ badErrors
        ++ unknownErrors
        ++ concatMap (s: merged.${s}.errors) namedSections;
    };
  # Every option of mkFleet as a path (`hosts.<name>.channel`, `edges.*.before`), for
  # documentation and its completeness check in nix/tests/run.sh.
  optionPaths =
    let
      under = prefix: spec: map (n: "${prefix}.${n}") (sortStrings (attrNames spec));
    in
    filter (p: p != "_mergeErrors") (sortStrings (attrNames fleetSpec))
    ++ under "hosts.<name>" hostSpec
    ++ under "hosts.<name>.pin" pinSpec
    ++ under "channels.<name>" channelSpec
    ++ under "channels.<name>.policies.*" policyRefSpec
    ++ under "rolloutPolicies.<name>" rolloutPolicySpec
    ++ under "rolloutPolicies.<name>.waves.*" waveSpec
    ++ under "rolloutPolicies.<name>.healthGate" healthGateSpec
    ++ under "edges.*" edgeSpec
    ++ under "channelEdges.*" edgeSpec
    ++ under "disruptionBudgets.*" budgetSpec
    ++ under "pins.*" pinRuleSpec
    ++ under "revocations.*" revocationSpec;
in
{
  inherit mkFleet mergeFleets optionPaths;
}
