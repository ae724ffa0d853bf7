#!/usr/bin/env bash
# Runs cargo-semver-checks on the catalogue of tests/semver.rs: each spec edit's generated crate
# against today's, and prints the catalogue's class beside cargo-semver-checks' verdict.
# Needs `cargo install cargo-semver-checks --locked` (not part of the test command: it takes
# minutes to build). Usage: bash scripts/semver_checks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-semver-checks >/dev/null || { echo "install it: cargo install cargo-semver-checks --locked"; exit 2; }
# Outside the workspace, so each snapshot is a workspace of its own.
out="${TMPDIR:-/tmp}/qywx-semver-catalogue"
rm -rf "$out" && mkdir -p "$out"
QYWX_CATALOGUE_SNAPSHOTS="$out" cargo test -q -p qywx-tests --test semver the_catalogue >/dev/null
export CARGO_TARGET_DIR="$PWD/target/semver-checks"
base="$out/00-baseline/generated"
printf '| edit | catalogue | cargo-semver-checks | agree |\n| --- | --- | --- | --- |\n'
for dir in "$out"/*/; do
  name=$(basename "$dir"); [ "$name" = 00-baseline ] && continue
  class=$(cat "$dir/class")
  if log=$(cargo semver-checks check-release --manifest-path "$dir/generated/Cargo.toml" \
        --baseline-root "$base" --release-type minor 2>&1); then verdict=compatible; else verdict=breaking; fi
  if echo "$log" | grep -q "error: "; then
    if ! echo "$log" | grep -qE "FAIL|failed"; then verdict="error: $(echo "$log" | grep 'error: ' | head -1)"; fi
  fi
  case "$class:$verdict" in
    breaking:breaking|additive:compatible|docs-only:compatible) agree=yes ;;
    *) agree=no ;;
  esac
  printf '| %s | %s | %s | %s |\n' "${name#*-}" "$class" "$verdict" "$agree"
done
