#!/usr/bin/env bash
# Runs every cargo-fuzz target of the repository for a bounded time: every `*/fuzz`
# directory with a Cargo.toml (proto/fuzz, host-runtime/fuzz, …) is found, built once with
# nightly, and each of its targets runs for FUZZ_SECONDS (default 20) from its committed
# seed corpus (`<dir>/seeds/<target>/`, read only; new inputs go to a scratch directory).
# A crash, a hang (-timeout), or memory past -rss_limit_mb/-malloc_limit_mb fails the run;
# the reproducer is left in <dir>/artifacts/<target>/.
#
#   scripts/fuzz.sh                           all targets, 20 s each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh         the longer run (an hour per target)
#   FUZZ_SECONDS=600 scripts/fuzz.sh fleet    only targets whose name contains `fleet`
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
convoy_install_fuzz_deps

seconds=${FUZZ_SECONDS:-20}
filter=${1:-}
started=$SECONDS
ran=0

mapfile -t dirs < <(find . -name target -prune -o -name .git -prune -o -type d -name fuzz -print | sort)
for dir in "${dirs[@]}"; do
  dir=${dir#./}
  [[ -f "$dir/Cargo.toml" ]] || continue
  echo "==> building the fuzz targets of $dir"
  cargo +nightly fuzz build --fuzz-dir "$dir" --sanitizer none
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir "$dir")
  for target in "${targets[@]}"; do
    [[ -z "$filter" || "$target" == *"$filter"* ]] || continue
    scratch=$(mktemp -d)
    seeds="$dir/seeds/$target"
    mkdir -p "$seeds"
    echo "==> $dir: $target for ${seconds}s"
    cargo +nightly fuzz run --fuzz-dir "$dir" --sanitizer none "$target" "$scratch" "$seeds" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
      -max_len=65536 -print_final_stats=0
    rm -rf "$scratch"
    ran=$((ran + 1))
  done
done
if [[ $ran -eq 0 ]]; then
  echo "no fuzz target found${filter:+ matching $filter}" >&2
  exit 1
fi
echo "fuzzed $ran target(s) in $((SECONDS - started))s"
