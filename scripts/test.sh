#!/usr/bin/env bash
# The project's test command: everything a fresh machine needs, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# generated/ must be exactly what spec/ produces (also asserted by tests/drift.rs).
cargo run -q -p qywx-codegen -- --check

cargo test --workspace --all-targets
cargo test --workspace --doc
