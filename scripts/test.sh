#!/usr/bin/env bash
# The project's test command: everything a fresh machine needs, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The token-sharing tests start their own redis-server processes; make sure it is installed.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server (needed by tests/tokens.rs)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# generated/ and spec/schema.json must be exactly what spec/ produces (also asserted by tests/drift.rs).
# This reads nothing outside the repository: citations are checked against spec/sources.json.
cargo run -q -p qywx-codegen -- --check

# The line-level lint of the citations reads the maintainers' copies of the cited documents,
# which live beside the repository (../shared), not in it.
if [ -d ../shared ]; then
  cargo run -q -p qywx-codegen -- lint-sources --sources ../shared
else
  echo "skipped: line-level source lint (qywx-codegen lint-sources): no ../shared beside the repository holds the cited documents"
fi

# The OpenAPI documents must be valid OpenAPI 3.1 (a real validator, from PyPI, pinned).
if ! python3 -c 'import importlib.metadata as m; assert m.version("openapi-spec-validator") == "0.9.0"' 2>/dev/null; then
  echo "installing openapi-spec-validator (validates generated/openapi/*.json)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'openapi-spec-validator==0.9.0'
fi
python3 -m openapi_spec_validator --schema 3.1 generated/openapi/*.json
# ...and every example in them valid against its own schema (verbatim departures are marked).
python3 scripts/openapi_examples.py generated/openapi/*.json

# The API page (scripts/api_page.sh): rendered in headless Chromium, every endpoint must show.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "installing chromium and a CJK font (needed by scripts/api_page.sh --check)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
bash scripts/api_page.sh --check

# Unit, integration and doc tests of every crate (benches are built by clippy in CI and run by `cargo bench`).
cargo test --workspace
