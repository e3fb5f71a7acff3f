# Selectors: which hosts a wave, budget or pin applies to. This is the Nix twin of
# `convoy_proto::Selector` (proto/src/selector.rs); proto/tests/nix_fixtures.rs checks on
# every golden fixture that both resolve the same host sets.
#
# A selector is an attribute set with exactly one key:
#   { all = true; }            every host (`false` is refused: use { or = [ ]; })
#   { tags = [ .. ]; }         hosts carrying every one of the tags
#   { tagsAny = [ .. ]; }      hosts carrying at least one of them
#   { hosts = [ .. ]; }        hosts with one of these names
#   { channel = "..."; }       hosts following this channel
#   { and = [ sel .. ]; }      every sub-selector matches (empty: every host)
#   { or = [ sel .. ]; }       some sub-selector matches (empty: no host)
#   { not = sel; }             the sub-selector does not match
{ util }:
let
  inherit (builtins)
    all
    any
    attrNames
    elem
    filter
    head
    isAttrs
    isList
    isString
    length
    ;
  inherit (util) concatMap imap0 quote quoteList show;

  keys = [
    "all"
    "tags"
    "tagsAny"
    "hosts"
    "channel"
    "and"
    "or"
    "not"
  ];

  isStringList = v: isList v && all isString v;

  # The errors of a selector's shape, each prefixed by `where` (an option path).
  shapeErrors =
    where: sel:
    if !(isAttrs sel) then
      [ "${where}: a selector must be an attribute set with one of ${quoteList keys}, got ${show sel}" ]
    else if length (attrNames sel) != 1 then
      [
        "${where}: a selector must have exactly one key of ${quoteList keys}, got ${
          if sel == { } then "none" else quoteList (attrNames sel)
        }"
      ]
    else
      let
        key = head (attrNames sel);
        v = sel.${key};
        at = "${where}.${key}";
      in
      if key == "all" then
        (if v == true then [ ] else [ "${at}: `all` must be true; to match no host use { or = [ ]; }" ])
      else if elem key [ "tags" "tagsAny" "hosts" ] then
        (if isStringList v then [ ] else [ "${at}: expected a list of strings, got ${show v}" ])
      else if key == "channel" then
        (if isString v then [ ] else [ "${at}: expected a channel name, got ${show v}" ])
      else if elem key [ "and" "or" ] then
        (
          if isList v then
            concatMap ({ i, s }: shapeErrors "${at}.${toString i}" s) (imap0 (i: s: { inherit i s; }) v)
          else
            [ "${at}: expected a list of selectors, got ${show v}" ]
        )
      else if key == "not" then
        shapeErrors at v
      else
        [ "${where}: unknown selector key ${quote key}; expected one of ${quoteList keys}" ];

  # Assumes a well-formed selector (check shapeErrors first).
  # host: { name, channel, tags }
  matches =
    sel: host:
    let
      key = head (attrNames sel);
      v = sel.${key};
    in
    if key == "all" then
      true
    else if key == "tags" then
      all (t: elem t host.tags) v
    else if key == "tagsAny" then
      any (t: elem t host.tags) v
    else if key == "hosts" then
      elem host.name v
    else if key == "channel" then
      v == host.channel
    else if key == "and" then
      all (s: matches s host) v
    else if key == "or" then
      any (s: matches s host) v
    else
      !(matches v host);

  # Nesting depth of a well-formed selector, as `Selector::depth` counts it in the
  # policies: 1 for a leaf, 1 + the deepest child for `and`/`or` (1 when empty) and `not`.
  depth =
    sel:
    let
      key = head (attrNames sel);
    in
    if elem key [ "and" "or" ] then
      1 + builtins.foldl' (m: s: let d = depth s; in if d > m then d else m) 0 sel.${key}
    else if key == "not" then
      1 + depth sel.not
    else
      1;

  # Every node of a well-formed selector, depth first.
  nodes =
    sel:
    let
      key = head (attrNames sel);
    in
    [ sel ]
    ++ (
      if elem key [ "and" "or" ] then
        concatMap nodes sel.${key}
      else if key == "not" then
        nodes sel.not
      else
        [ ]
    );

  # The names of one kind ("tags", "hosts", "channel") a well-formed selector mentions.
  mentioned =
    kind: sel:
    concatMap (
      n:
      if kind == "tags" then
        (n.tags or [ ]) ++ (n.tagsAny or [ ])
      else if kind == "channel" then
        (if n ? channel then [ n.channel ] else [ ])
      else
        n.${kind} or [ ]
    ) (nodes sel);

  # Empty compound or list selectors: legal, but almost always a mistake.
  emptyParts =
    sel:
    filter (n: any (k: n ? ${k} && n.${k} == [ ]) [ "and" "or" "tags" "tagsAny" "hosts" ]) (nodes sel);
in
{
  inherit
    keys
    shapeErrors
    depth
    matches
    mentioned
    emptyParts
    ;

  # The sorted names of the hosts `sel` picks; hosts: { name = { channel, tags, ... }; }.
  resolve =
    sel: hosts:
    filter (
      name:
      matches sel {
        inherit name;
        inherit (hosts.${name}) channel tags;
      }
    ) (util.sortStrings (attrNames hosts));

  # Constructors, for fleets that prefer `sel.tags [ "web" ]` to `{ tags = [ "web" ]; }`.
  constructors = {
    all = {
      all = true;
    };
    none = {
      or = [ ];
    };
    tags = tags: { inherit tags; };
    tagsAny = tagsAny: { inherit tagsAny; };
    hosts = hosts: { inherit hosts; };
    channel = channel: { inherit channel; };
    and = selectors: { and = selectors; };
    or = selectors: { or = selectors; };
    not = selector: { not = selector; };
  };
}
