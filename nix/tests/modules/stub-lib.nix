# A deliberately small stand-in for the part of nixpkgs' `lib` and module system that
# nix/modules uses, so that the modules can be evaluated on machines without nixpkgs.
#
# It is NOT the NixOS module system: no priorities beyond mkDefault, no mkMerge/mkForce,
# no type merging of conflicting definitions. It checks what can be checked without
# nixpkgs: every option is declared with a type and a description, every attribute the
# modules read exists, option values type-check, and the generated unit and settings
# come out as intended. Full evaluation against real nixpkgs happens in a NixOS test.
let
  inherit (builtins)
    all
    any
    attrNames
    elem
    filter
    foldl'
    hasAttr
    isAttrs
    isBool
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    match
    substring
    stringLength
    ;

  hasPrefix = p: s: substring 0 (stringLength p) s == p;

  mkType = name: check: {
    _type = "option-type";
    inherit name check;
    description = name;
    normalize = v: v;
  };

  types = {
    str = mkType "string" isString;
    bool = mkType "boolean" isBool;
    path = mkType "path" (v: isPath v || (isString v && hasPrefix "/" v));
    package = mkType "package" (v: isAttrs v && v ? outPath);
    anything = mkType "anything" (_: true);
    enum = vs: mkType "one of ${builtins.toJSON vs}" (v: elem v vs);
    strMatching = re: mkType "string matching ${re}" (v: isString v && match re v != null);
    nullOr =
      t:
      t
      // {
        name = "null or ${t.name}";
        check = v: v == null || t.check v;
        normalize = v: if v == null then null else t.normalize v;
      };
    listOf =
      t:
      mkType "list of ${t.name}" (v: isList v && all t.check v)
      // {
        normalize = map t.normalize;
      };
    attrsOf =
      t:
      mkType "attribute set of ${t.name}" (v: isAttrs v && all (n: t.check v.${n}) (attrNames v))
      // {
        normalize = mapAttrs (_: t.normalize);
      };
    ints = {
      positive = mkType "positive integer" (v: isInt v && v > 0);
      between = lo: hi: mkType "integer between ${toString lo} and ${toString hi}" (v: isInt v && v >= lo && v <= hi);
    };
    addCheck = t: c: t // { check = v: t.check v && c v; };
    submodule = m: mkType "submodule" isAttrs // { normalize = v: (evalOptions "submodule" m.options [ v ]).value; };
  };

  # ── the little module system ──

  isOption = v: isAttrs v && v._type or null == "option";

  # Definitions may be wrapped by mkDefault (priority 1000) or be plain (100).
  priorityOf = d: if isAttrs d && d._type or null == "override" then d.priority else 100;
  contentOf = d: if isAttrs d && d._type or null == "override" then d.content else d;

  isPlainAttrs = v: isAttrs v && !(v ? _type) && !(v ? outPath);
  isIf = v: isAttrs v && v._type or null == "if";

  # Like NixOS, push `mkIf c { a = ..; }` down to `{ a = mkIf c ..; }` without evaluating
  # `c`, so that reading an option never forces a condition that depends on it.
  pushDown =
    v:
    if isIf v then
      let
        inner = pushDown v.content;
      in
      if isPlainAttrs inner then
        mapAttrs (_: x: {
          _type = "if";
          inherit (v) condition;
          content = x;
        }) inner
      else
        v
    else
      v;

  discarded = {
    _type = "discarded";
  };
  resolveLeaf = d: if isIf d then (if d.condition then resolveLeaf (pushDown d.content) else discarded) else d;

  # Merges definitions: attribute sets recursively, lists by concatenation, other leaves
  # by priority (mkDefault loses to a plain definition).
  mergeDefs =
    defs:
    let
      ds = map pushDown (filter (d: d != null) defs);
    in
    if ds == [ ] then
      null
    else if all isPlainAttrs ds then
      let
        names = foldl' (acc: d: acc ++ filter (n: !(elem n acc)) (attrNames d)) [ ] ds;
      in
      listToAttrs (
        map (n: {
          name = n;
          value = mergeDefs (map (d: d.${n}) (filter (d: hasAttr n d) ds));
        }) names
      )
    else
      let
        leaves = filter (d: d != discarded) (map resolveLeaf ds);
      in
      if leaves == [ ] then
        null
      else if all (d: isList (contentOf d)) leaves then
        builtins.concatLists (map contentOf leaves)
      else if all (d: isPlainAttrs (contentOf d)) leaves && length leaves > 1 then
        mergeDefs (map contentOf leaves)
      else
        contentOf (foldl' (acc: d: if priorityOf d < priorityOf acc then d else acc) (builtins.head leaves) leaves);

  # options: a tree of mkOption leaves; defs: list of attribute sets.
  evalOptions =
    where: options: defs:
    let
      merged = mergeDefs defs;
      go =
        path: opts: value:
        if isOption opts then
          let
            at = builtins.concatStringsSep "." path;
            set = value != null;
            v = if set then value else opts.default or (throw "${at}: used but not set and has no default");
            ok = opts.type.check v;
          in
          {
            value = if ok then opts.type.normalize v else throw "${at}: ${builtins.toJSON v} is not a ${opts.type.name}";
            declared = [
              {
                inherit path;
                inherit (opts) description;
                type = opts.type.name;
                hasDefault = opts ? default;
              }
            ];
            undeclared = { };
          }
        else
          let
            names = attrNames opts;
            sub = mapAttrs (n: o: go (path ++ [ n ]) o (if isAttrs value then value.${n} or null else null)) opts;
            extra = if isAttrs value then removeAttrs value names else { };
          in
          {
            value = mapAttrs (_: s: s.value) sub;
            declared = builtins.concatLists (map (n: sub.${n}.declared) names);
            undeclared = extra;
          };
      result = go [ ] options merged;
    in
    result;
in
{
  lib = rec {
    inherit types hasPrefix;
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = name: mkOption {
      type = types.bool;
      default = false;
      description = "Whether to enable ${name}.";
    };
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkDefault = content: {
      _type = "override";
      priority = 1000;
      inherit content;
    };
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    optional = c: x: if c then [ x ] else [ ];
    optionalAttrs = c: x: if c then x else { };
    removePrefix = p: s: if hasPrefix p s then substring (stringLength p) (stringLength s) s else s;
    filterAttrs = pred: attrs: removeAttrs attrs (filter (n: !(pred n attrs.${n})) (attrNames attrs));
    mapAttrs = builtins.mapAttrs;
    mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (attrNames attrs);
    splitString = sep: s: filter isString (builtins.split sep s);
    last = l: builtins.elemAt l (length l - 1);
    toInt = s: builtins.fromJSON s;
  };

  # Evaluates `modules` (functions or attribute sets) the way NixOS does, closed under a
  # fixpoint on `config`, with `pkgs` given. Options declared by `options` of the modules
  # are type-checked and defaulted; everything else (systemd, nix, networking, …) is
  # merged freely, as the real NixOS options would accept it.
  evalModules =
    { lib, pkgs }:
    modules:
    let
      load = m: if isPath m then import m else m;
      called = map (
        m: if builtins.isFunction (load m) then (load m) { inherit config lib pkgs; } else load m
      ) modules;
      optionsTree = mergeDefs (map (m: m.options or { }) called);
      defs = map (m: if m ? config || m ? options then m.config or { } else m) called;
      evaluated = evalOptions "config" optionsTree defs;
      freeform = mergeDefs defs;
      # Declared option values win; the rest of the tree comes from the definitions.
      overlay =
        base: top:
        if isAttrs base && isAttrs top && !(top ? outPath) then
          base // mapAttrs (n: v: if base ? ${n} then overlay base.${n} v else v) top
        else
          top;
      config = overlay freeform evaluated.value;
    in
    {
      inherit config;
      options = evaluated.declared;
    };
}
