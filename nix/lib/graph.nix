# Cycle detection for the host-edge and channel-edge graphs, with builtins only.
# An edge { before, after } means `after` waits for `before`; a cycle means nothing on it
# can ever start, so mkFleet refuses it and names every node on it, in rollout order
# (`before -> after`), starting at its smallest name.
{ util }:
let
  inherit (builtins)
    any
    elem
    filter
    head
    length
    ;
  inherit (util) unique sortStrings;

  succ = edges: n: map (e: e.after) (filter (e: e.before == n) edges);

  # Drop, until nothing changes, the nodes with no incoming or no outgoing edge inside
  # the remaining set: what is left lies on cycles or between them.
  core =
    nodes: edges:
    let
      inner = filter (e: elem e.before nodes && elem e.after nodes) edges;
      keep = filter (n: any (e: e.after == n) inner && any (e: e.before == n) inner) nodes;
    in
    if length keep == length nodes then nodes else core keep edges;

  # From `start` (in a core), follow the smallest successor inside the core until a node
  # repeats; the path from its first visit is a cycle.
  walk =
    coreNodes: edges: path:
    let
      cur = builtins.elemAt path (length path - 1);
      next = head (sortStrings (filter (n: elem n coreNodes) (succ edges cur)));
    in
    if elem next path then
      let
        idx = util.imap0 (i: n: { inherit i n; }) path;
        from = (head (filter (x: x.n == next) idx)).i;
      in
      (builtins.genList (i: builtins.elemAt path (from + i)) (length path - from)) ++ [ next ]
    else
      walk coreNodes edges (path ++ [ next ]);

  cyclesOf =
    nodes: edges:
    let
      c = core nodes edges;
    in
    if c == [ ] then
      [ ]
    else
      let
        cycle = rotated (walk c edges [ (head (sortStrings c)) ]);
      in
      [ cycle ] ++ cyclesOf (filter (n: !(elem n cycle)) c) edges;

  # A cycle `[ x0 .. xk x0 ]` restarted at its smallest name, the way the edge policies'
  # validate-config names it (convoy_policy_sdk::graph::in_rollout_order): the same
  # cycle reads the same in Nix and in WASM.
  rotated =
    cycle:
    let
      open = builtins.genList (i: builtins.elemAt cycle i) (length cycle - 1);
      smallest = head (sortStrings open);
      from = util.firstIndex (n: n == smallest) open;
      n = length open;
      turned = builtins.genList (i: builtins.elemAt open (util.mod (from + i) n)) n;
    in
    turned ++ [ (head turned) ];
in
{
  # Every cycle found (each a list of names, first name repeated at the end), for edges
  # whose endpoints are known; disjoint cycles are reported separately.
  cycles = edges: cyclesOf (sortStrings (unique (util.concatMap (e: [ e.before e.after ]) edges))) edges;
}
