#!/usr/bin/env bash
# make test-cluster: build (or reuse) the control plane, then run tests/cluster against it.
# Prints the build time and the suite time. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$SECONDS
bin_dirs=$(scripts/cluster/build.sh | paste -sd: -)
echo "control plane binaries: $((SECONDS - started)) s (build or cache)"

if [ -z "${PIIQ_TEST_DATABASE_URL:-}" ] && [ -f .ci/.pg-url ]; then
  PIIQ_TEST_DATABASE_URL="$(cat .ci/.pg-url)"
  export PIIQ_TEST_DATABASE_URL
fi
suite=$SECONDS
PIIQ_CLUSTER_BIN="$bin_dirs" .venv/bin/pytest tests/cluster -p no:cacheprovider "$@"
echo "cluster suite: $((SECONDS - suite)) s"
