#!/usr/bin/env bash
# npm run check: everything CI requires besides the tests (STYLE.md rule 12).
#   lint        eslint, zero warnings
#   typecheck   tsc --noEmit over src, test, scripts, migrations, sdk
#   schema      schema.graphql matches what the resolvers emit
#   migrations  the migrations produce the schema the entities describe
#   sdk         sdk/generated matches codegen over schema.graphql + sdk/operations,
#               and @parley/sdk builds (ESM + CJS) and loads with require and import
# Every step runs even when an earlier one fails; the exit status is non-zero
# if any failed. Run a subset with e.g. `bash scripts/check.sh schema sdk`.
# The migration step needs Postgres: TEST_DATABASE_URL, else
# postgres://postgres@127.0.0.1:5432/postgres.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

ALL_STEPS=(lint typecheck schema migrations sdk)
if [[ $# -gt 0 ]]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/parley-check.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

step_lint() {
  npm run --silent lint
}

step_typecheck() {
  npm run --silent typecheck
}

step_schema() {
  npx ts-node --transpile-only scripts/emit-schema.ts "$TMP/schema.graphql"
  if ! diff -u schema.graphql "$TMP/schema.graphql"; then
    echo >&2
    echo "schema.graphql is stale: run npm run schema:emit" >&2
    return 1
  fi
  echo "schema.graphql is up to date."
}

step_migrations() {
  echo "Postgres: ${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} (scratch database)"
  npx ts-node --transpile-only scripts/check-migrations.ts
}

step_sdk() {
  # Generate into a copy so a dirty tree is never touched and nothing but the
  # inputs of codegen (config, committed schema, operations) decides the result.
  local gen="$TMP/codegen"
  mkdir -p "$gen/sdk"
  cp codegen.yml schema.graphql "$gen/"
  cp -R sdk/operations "$gen/sdk/operations"
  ln -s "$ROOT/node_modules" "$gen/node_modules"
  if ! (cd "$gen" && "$ROOT/node_modules/.bin/graphql-codegen" --config codegen.yml) >"$TMP/codegen.log" 2>&1; then
    cat "$TMP/codegen.log" >&2
    echo >&2
    echo "codegen failed: an operation in sdk/operations no longer matches schema.graphql?" >&2
    return 1
  fi
  if ! diff -ru sdk/generated "$gen/sdk/generated"; then
    echo >&2
    echo "SDK is stale: run npm run codegen" >&2
    return 1
  fi
  echo "sdk/generated is up to date."

  # The package as published: both builds, each loadable by plain Node.
  npm run --silent sdk:build
  node -e "if (typeof require('@parley/sdk').createParleyClient !== 'function') process.exit(1)"
  node --input-type=module -e "import { createParleyClient } from '@parley/sdk'; if (typeof createParleyClient !== 'function') process.exit(1)"
  echo "@parley/sdk builds, and loads as CommonJS and as an ES module."
}

declare -a SUMMARY=()
FAILED=0

for step in "${STEPS[@]}"; do
  if ! declare -F "step_$step" >/dev/null; then
    echo "unknown step: $step (steps: ${ALL_STEPS[*]})" >&2
    exit 2
  fi
  echo
  echo "================================================================"
  echo "== check: $step"
  echo "================================================================"
  start=$SECONDS
  # A subshell outside any `if`/`||` keeps `set -e` in force inside the step.
  set +e
  ( set -e; "step_$step" )
  rc=$?
  set -e
  took=$((SECONDS - start))
  if [[ $rc -eq 0 ]]; then
    SUMMARY+=("  ok    $step (${took}s)")
  else
    SUMMARY+=("  FAIL  $step (${took}s, exit $rc)")
    FAILED=1
  fi
done

echo
echo "================================================================"
echo "== check summary"
echo "================================================================"
printf '%s\n' "${SUMMARY[@]}"
if [[ $FAILED -ne 0 ]]; then
  echo "check FAILED"
  exit 1
fi
echo "check passed"
