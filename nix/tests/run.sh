#!/usr/bin/env bash
# Evaluates every Nix fixture with a bare `nix` (no nixpkgs, offline):
#   golden/<case>/input.nix   → must equal golden/<case>/expected.json (semantic JSON compare)
#   negative/<case>.nix       → must fail, and the error must contain every `# expect:` line
#                               (evaluates `.resolved`, or the `# attr:` line's attribute)
# plus a parse check of every .nix file, the NixOS modules evaluated with a stub module
# system (modules/stub-lib.nix: nixpkgs is not available offline), a check that
# docs/fleet-nix.md documents every option,
# and one `nix eval` of the flake's outputs.
#
#   nix/tests/run.sh            run everything
#   nix/tests/run.sh --update   rewrite the golden expected.json files (review the diff!)
#
# The last line is always `N passed, M failed`; the exit status is non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export NIX_CONFIG="experimental-features = nix-command flakes"
update=0
[[ "${1:-}" == "--update" ]] && update=1

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s\n' "$1"
  [[ -n "${2:-}" ]] && printf '%s\n' "$2" | sed 's/^/      /'
}

if ! command -v nix-instantiate >/dev/null; then
  echo "nix-instantiate not found: install Debian's nix-bin (apt-get install nix-bin)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Semantic JSON comparison; prints a unified diff of the pretty forms on mismatch.
json_equal() {
  python3 - "$1" "$2" <<'PY'
import difflib, json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a != b:
    pretty = lambda v: json.dumps(v, indent=2, sort_keys=True).splitlines()
    sys.stdout.write("\n".join(difflib.unified_diff(pretty(b), pretty(a), "expected", "actual", lineterm="")) + "\n")
    sys.exit(1)
PY
}

# ── parse every Nix file ──
for f in $(cd "$root" && git ls-files --cached --others --exclude-standard -- 'nix/*.nix' flake.nix 2>/dev/null || find nix -name '*.nix'); do
  if err=$(nix-instantiate --parse "$root/$f" 2>&1 >/dev/null); then
    pass "parse $f"
  else
    fail "parse $f" "$err"
  fi
done

# ── golden fixtures ──
for dir in "$here"/golden/*/; do
  case=$(basename "$dir")
  out="$tmp/$case.json"
  if ! nix-instantiate --eval --strict --json "$here/golden.nix" --argstr case "$case" >"$out" 2>"$tmp/$case.err"; then
    fail "golden $case (evaluation failed)" "$(grep -v '^trace:' "$tmp/$case.err")"
    continue
  fi
  if [[ $update == 1 ]]; then
    python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2],"w"), indent=2, sort_keys=True); open(sys.argv[2],"a").write("\n")' "$out" "$dir/expected.json"
    pass "golden $case (updated)"
  elif [[ ! -f "$dir/expected.json" ]]; then
    fail "golden $case" "no expected.json (run with --update and review it)"
  elif diff=$(json_equal "$out" "$dir/expected.json"); then
    pass "golden $case"
  else
    fail "golden $case" "$diff"
  fi
done

# ── negative fixtures ──
for f in "$here"/negative/*.nix; do
  case=$(basename "$f" .nix)
  attr=$(sed -n 's/^# attr: //p' "$f")
  mapfile -t expects < <(sed -n 's/^# expect: //p' "$f")
  if [[ ${#expects[@]} == 0 ]]; then
    fail "negative $case" "no '# expect:' line"
    continue
  fi
  if nix-instantiate --eval --strict --json "$f" -A "${attr:-resolved}" >/dev/null 2>"$tmp/neg.err"; then
    fail "negative $case" "evaluated successfully, but must fail"
    continue
  fi
  # Nix indents continuation lines of the message; compare on single-spaced text.
  msg=$(tr -s ' \n' ' ' <"$tmp/neg.err")
  missing=()
  for e in "${expects[@]}"; do
    [[ "$msg" == *"$e"* ]] || missing+=("$e")
  done
  if [[ ${#missing[@]} == 0 ]]; then
    pass "negative $case"
  else
    fail "negative $case" "$(printf 'missing from the error: %s\n' "${missing[@]}"; echo '--- error was:'; cat "$tmp/neg.err")"
  fi
done

# ── NixOS modules, evaluated with the stub module system (no nixpkgs here) ──
if nix-instantiate --eval --strict --json "$here/modules/eval.nix" -A checks >"$tmp/modules.json" 2>"$tmp/modules.err"; then
  while read -r verdict name; do
    if [[ $verdict == ok ]]; then pass "module check $name"; else fail "module check $name"; fi
  done < <(python3 -c 'import json,sys; [print("ok" if v is True else "FAIL", k) for k, v in sorted(json.load(open(sys.argv[1])).items())]' "$tmp/modules.json")
else
  fail "module checks (evaluation failed)" "$(cat "$tmp/modules.err")"
fi

# ── docs/fleet-nix.md documents every option of mkFleet and of both modules ──
docs="$root/docs/fleet-nix.md"
if nix-instantiate --eval --strict --json "$here/modules/eval.nix" -A options >"$tmp/module-options.json" 2>"$tmp/opts.err" &&
  nix-instantiate --eval --strict --json -E "(import $root/nix/lib).fleetOptions" >"$tmp/fleet-options.json" 2>>"$tmp/opts.err"; then
  if [[ ! -f "$docs" ]]; then
    fail "docs/fleet-nix.md exists"
  elif undocumented=$(python3 - "$docs" "$tmp/module-options.json" "$tmp/fleet-options.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
paths = [o["path"] for o in json.load(open(sys.argv[2]))] + json.load(open(sys.argv[3]))
missing = [p for p in paths if f"`{p}`" not in text]
print(" ".join(missing))
sys.exit(1 if missing else 0)
PY
  ); then
    pass "docs/fleet-nix.md documents every mkFleet and module option"
  else
    fail "docs/fleet-nix.md documents every option" "undocumented: $undocumented"
  fi
else
  fail "option listing" "$(cat "$tmp/opts.err")"
fi

# ── the example fleet printed in the docs is the demo fleet ──
if python3 - "$docs" "$root" "$tmp/doc-example.nix" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## An example fleet of three channels"):]
code = re.search(r"```nix\n(.*?)```", section, re.S).group(1)
open(sys.argv[3], "w").write(code.replace("./nix/", sys.argv[2] + "/nix/"))
PY
then
  if nix-instantiate --eval --strict --json "$tmp/doc-example.nix" -A resolved >"$tmp/doc-example.json" 2>"$tmp/doc.err" &&
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2]))["resolved"])' "$tmp/doc-example.json" "$here/golden/demo/expected.json"; then
    pass "docs example fleet resolves like the demo fleet"
  else
    fail "docs example fleet resolves like the demo fleet" "$(cat "$tmp/doc.err")"
  fi
else
  fail "docs example fleet (no nix block found)"
fi

# ── the ported fleet printed in docs/porting-from-nixfleet.md is nix/examples/porting ──
porting="$root/docs/porting-from-nixfleet.md"
if python3 - "$porting" "$root/nix/examples/porting/fleet.nix" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## The ported fleet"):]
code = re.search(r"```nix\n(.*?)```", section, re.S).group(1)
sys.exit(code != open(sys.argv[2]).read())
PY
then
  pass "docs/porting-from-nixfleet.md prints nix/examples/porting/fleet.nix"
else
  fail "docs/porting-from-nixfleet.md prints nix/examples/porting/fleet.nix" "the guide's nix block and the file differ"
fi
if nix-instantiate --eval --strict --json "$root/nix/examples/porting/fleet.nix" -A resolved >/dev/null 2>"$tmp/porting.err" &&
  got=$(nix-instantiate --eval --strict --json "$root/nix/examples/porting/fleet.nix" -A warnings 2>/dev/null) &&
  [[ "$got" == '["channels.prod: hosts `legacy1` are in no wave of rollout policy `db-first`: its rollouts never dispatch them, so they stay on the closure they run"]' ]]; then
  pass "ported example fleet resolves with its one documented warning"
else
  fail "ported example fleet resolves with its one documented warning" "$(grep -v '^trace:' "$tmp/porting.err") ${got:-}"
fi

# ── the flake (no inputs: evaluates offline) ──
flake="git+file://$root"
if got=$(cd "$root" && nix eval --json "$flake#lib" --apply 'lib: builtins.attrNames lib' 2>"$tmp/flake.err") &&
  [[ "$got" == *'"mkFleet"'* && "$got" == *'"mergeFleets"'* && "$got" == *'"mkHost"'* ]]; then
  pass "flake lib exposes $got"
else
  fail "flake lib" "$(cat "$tmp/flake.err") $got"
fi
if got=$(cd "$root" && nix eval --json "$flake#nixosModules" --apply 'm: builtins.attrNames m' 2>"$tmp/flake.err") &&
  [[ "$got" == *'"convoy-agent"'* && "$got" == *'"convoy-cp"'* ]]; then
  pass "flake nixosModules $got"
else
  fail "flake nixosModules" "$(cat "$tmp/flake.err") $got"
fi
# The flake's demo document is the same as the golden `demo` case's resolved.
if (cd "$root" && nix eval --json "$flake#packages.x86_64-linux.demo-fleet-resolved.json" 2>"$tmp/flake.err") >"$tmp/flake-demo.json" &&
  python3 -c 'import json,sys; a=json.loads(json.load(open(sys.argv[1]))); b=json.load(open(sys.argv[2]))["resolved"]; sys.exit(a!=b)' "$tmp/flake-demo.json" "$here/golden/demo/expected.json"; then
  pass "flake packages demo-fleet-resolved matches golden demo"
else
  fail "flake packages demo-fleet-resolved" "$(cat "$tmp/flake.err")"
fi

if (cd "$root" && nix flake check --no-build "$flake") >"$tmp/check.out" 2>&1; then
  pass "nix flake check --no-build"
else
  fail "nix flake check --no-build" "$(cat "$tmp/check.out")"
fi

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
