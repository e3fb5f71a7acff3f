# The handful of list, string and attribute helpers the library needs, written with
# builtins only: mkFleet must evaluate on machines without nixpkgs (CI, operator laptops
# with a bare `nix`), so nothing here may import <nixpkgs>.
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    filter
    foldl'
    genList
    length
    listToAttrs
    map
    match
    sort
    ;
in
rec {
  # [ a b ] -> f 0 a, f 1 b
  imap0 = f: list: genList (i: f i (builtins.elemAt list i)) (length list);

  concatMap = f: list: concatLists (map f list);

  # a mod b, for a >= 0 and b > 0.
  mod = a: b: a - (a / b) * b;

  # The index of the first element satisfying `pred`, or null.
  firstIndex =
    pred: list:
    let
      go = i: if i >= length list then null else if pred (builtins.elemAt list i) then i else go (i + 1);
    in
    go 0;

  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);

  concatMapAttrs = f: attrs: concatLists (mapAttrsToList f attrs);

  filterAttrs =
    pred: attrs:
    listToAttrs (
      concatMap (
        name:
        if pred name attrs.${name} then
          [
            {
              inherit name;
              value = attrs.${name};
            }
          ]
        else
          [ ]
      ) (attrNames attrs)
    );

  genAttrs' =
    names: f:
    listToAttrs (
      map (name: {
        inherit name;
        value = f name;
      }) names
    );

  # Order-preserving de-duplication.
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];

  sortStrings = sort builtins.lessThan;

  uniqueSorted = list: sortStrings (unique list);

  # Elements of `xs` that are not in `ys`, in the order of `xs`.
  subtract = xs: ys: filter (x: !(elem x ys)) xs;

  # Elements that occur more than once, each reported once, in first-duplicate order.
  duplicates =
    list:
    (foldl' (
      acc: x:
      if elem x acc.seen then
        acc // { dups = if elem x acc.dups then acc.dups else acc.dups ++ [ x ]; }
      else
        acc // { seen = acc.seen ++ [ x ]; }
    ) { seen = [ ]; dups = [ ]; } list).dups;

  # `a`, `b` and `c` — how names are quoted in every message.
  quote = s: "`${toString s}`";
  quoteList = list: if list == [ ] then "(none)" else concatStringsSep ", " (map quote list);

  # A short, single-line rendering of any value for error messages.
  show =
    v:
    let
      t = builtins.typeOf v;
    in
    if t == "string" then
      builtins.toJSON v
    else if t == "lambda" then
      "<function>"
    else if t == "set" && v ? outPath then
      "<derivation ${v.name or "?"}>"
    else if elem t [ "int" "bool" "null" "float" ] then
      builtins.toJSON v
    else if t == "path" then
      toString v
    else if t == "list" then
      "[ ${concatStringsSep " " (map show v)} ]"
    else
      "{ ${concatStringsSep "; " (map (n: "${n} = ${show v.${n}}") (attrNames v))} }";

  isInt = builtins.isInt;

  # Whether `v` is an integer in [lo, hi].
  intBetween = lo: hi: v: builtins.isInt v && v >= lo && v <= hi;

  maxU32 = 4294967295;

  # Nix's store path syntax, as `convoy_proto::ClosureHash` parses it.
  isStorePath =
    s:
    builtins.isString s
    &&
      match "/nix/store/[0123456789abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+._?=-]+" s != null
    && match "/nix/store/.{32}-\\..*" s == null
    && builtins.stringLength s <= 11 + 32 + 1 + 211;

  isSha256Hex = s: builtins.isString s && match "[0-9a-f]{64}" s != null;

  # Ed25519 public keys are 32 bytes, written as strict standard base64.
  isPublicKey = s: builtins.isString s && match "[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=" s != null;

  # `convoy_proto::Timestamp`: RFC 3339 in UTC with whole seconds.
  isTimestamp =
    s:
    let
      m = if builtins.isString s then match "([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z" s else null;
      num = i: let d = builtins.elemAt m i; in builtins.fromJSON (if builtins.substring 0 1 d == "0" then builtins.substring 1 1 d else d);
      y0 = builtins.elemAt m 0;
      year = if builtins.substring 0 1 y0 == "0" then 0 else builtins.fromJSON y0;
      leap = y: (y / 4 * 4 == y && y / 100 * 100 != y) || y / 400 * 400 == y;
      daysIn = y: mo: if mo == 2 then (if leap y then 29 else 28) else if elem mo [ 4 6 9 11 ] then 30 else 31;
    in
    m != null
    && year >= 1970
    && (let mo = num 1; in mo >= 1 && mo <= 12 && num 2 >= 1 && num 2 <= daysIn year mo)
    && num 3 <= 23
    && num 4 <= 59
    && num 5 <= 59;
}
