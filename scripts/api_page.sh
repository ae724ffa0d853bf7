#!/usr/bin/env bash
# Writes target/api-page/index.html (+ redoc.standalone.js): the OpenAPI documents of
# generated/openapi/ as a static reference, rendered by Redoc (pinned in scripts/api-page/).
# With --check, also loads it in headless Chromium and fails unless every endpoint of the spec
# is rendered; the screenshot goes to target/ci-artifacts/api-page.png.
set -euo pipefail
cd "$(dirname "$0")/.."

page=scripts/api-page
# Install the locked Redoc unless node_modules already matches the lock.
if ! (cd "$page" && npm ls --silent >/dev/null 2>&1); then
  (cd "$page" && npm ci --silent --no-audit --no-fund)
fi
node "$page/build.mjs"
if [ "${1:-}" = "--check" ]; then
  node "$page/check.mjs"
fi
