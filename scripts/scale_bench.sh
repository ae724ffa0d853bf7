#!/usr/bin/env bash
# The scale benchmark of issue 12: a synthetic spec of N copies of the real groups
# (`qywx-codegen synth`), generated and built as a crate. Per N it reports the regeneration time,
# generated lines per endpoint, and the debug build time and peak memory of the `qywx` crate alone
# (its dependencies built beforehand), all groups and then one group (`wecom-department`, the
# per-group feature: 1 of the N copies of one group). N above SCALE_BUILD_MAX (default 50) is only
# regenerated, not built (the issue's N = 250 target is about regeneration). Usage: bash scripts/scale_bench.sh [N ...]   (default 1 10 50)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
[ $# -gt 0 ] || set -- 1 10 50
# The synthetic workspaces build offline from the same Cargo.lock: fetch its crates first.
cargo fetch -q
cargo build -q --release -p qywx-codegen
codegen="$root/target/release/qywx-codegen"
printf '| N | endpoints | regeneration | lines | lines/endpoint | debug build of qywx | peak memory | one group: build | one group: memory |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for n in "$@"; do
  ws="$root/target/scale/ws-$n"
  rm -rf "$ws" && mkdir -p "$ws"
  "$codegen" synth "$n" --out "$ws/spec" >/dev/null
  cp -r runtime "$ws/runtime"
  cp Cargo.lock "$ws/Cargo.lock"
  deps=$(sed -n '/^\[workspace.dependencies\]/,/^\[profile/p' Cargo.toml | sed '/^\[profile/d')
  printf '[workspace]\nresolver = "2"\nmembers = ["generated", "runtime"]\n\n[workspace.package]\nedition = "2021"\nlicense = "MIT OR Apache-2.0"\nrust-version = "1.85"\n\n%s\n\n[profile.dev]\ndebug = "line-tables-only"\n\n[profile.dev.package."*"]\ndebug = false\n' "$deps" > "$ws/Cargo.toml"
  regen=$( { /usr/bin/time -f '%e' "$codegen" --spec "$ws/spec" --out "$ws/generated" >/dev/null; } 2>&1 )
  endpoints=$(grep -ho '"id": "[^"]*"' "$ws"/spec/groups/*.json | wc -l)
  lines=$(cat "$ws"/generated/src/*.rs "$ws"/generated/src/*/*.rs | wc -l)
  if [ "$n" -gt "${SCALE_BUILD_MAX:-50}" ]; then
    printf '| %s | %s | %s s | %s | %s | not built | | | |\n' "$n" "$endpoints" "$regen" "$lines" "$((lines / endpoints))"
    continue
  fi
  export CARGO_TARGET_DIR="$root/target/scale/target"
  (cd "$ws" && cargo build -q --offline -p qywx-runtime && cargo clean -q --offline -p qywx)
  build=$( { cd "$ws" && /usr/bin/time -f '%e %M' cargo build -q --offline -p qywx >/dev/null; } 2>&1 | tail -1 )
  one="n/a"; one_kb=""
  if grep -q '^wecom-department = ' "$ws/generated/Cargo.toml"; then
    (cd "$ws" && cargo clean -q --offline -p qywx)
    one=$( { cd "$ws" && /usr/bin/time -f '%e %M' cargo build -q --offline -p qywx --no-default-features --features rustls,wecom-department >/dev/null; } 2>&1 | tail -1 )
    one_kb=${one#* }; one="${one% *} s"; one_kb="$((one_kb / 1024)) MiB"
  fi
  unset CARGO_TARGET_DIR
  secs=${build% *}; kb=${build#* }
  printf '| %s | %s | %s s | %s | %s | %s s | %s MiB | %s | %s |\n' "$n" "$endpoints" "$regen" "$lines" "$((lines / endpoints))" "$secs" "$((kb / 1024))" "$one" "$one_kb"
done
