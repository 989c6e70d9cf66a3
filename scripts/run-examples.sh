#!/usr/bin/env bash
# Runs every TypeScript example in examples/ with ts-node (CommonJS mode), as a user would; each
# example checks its own result and throws when it is wrong. Needs dist/ and the addon (npm install).
set -euo pipefail
cd "$(dirname "$0")/.."
for example in examples/*.ts; do
  echo "== $example"
  npx ts-node -P examples/tsconfig.json "$example"
done
