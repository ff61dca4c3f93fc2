#!/usr/bin/env bash
# make test-cluster: build (or reuse) the control plane, then run tests/cluster against it.
# Prints the build time and the suite time. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" = 0 ] || { echo "make test-cluster runs pods in network namespaces: run it as root" >&2; exit 1; }

started=$SECONDS
bin_dirs=$(scripts/cluster/build.sh | paste -sd: -)
echo "control plane binaries: $((SECONDS - started)) s (build or cache)"

if [ -z "${PIIQ_TEST_DATABASE_URL:-}" ] && [ -f .ci/.pg-url ]; then
  PIIQ_TEST_DATABASE_URL="$(cat .ci/.pg-url)"
  export PIIQ_TEST_DATABASE_URL
fi
# Pods run as podman containers of the image when `make image` built it here, with the
# podman settings scripts/image.sh uses (runc, rlimits root may set); else as local processes.
# shellcheck source=scripts/image.sh
source scripts/image.sh
if command -v podman > /dev/null && (configure_podman) 2> /dev/null; then
  export CONTAINERS_CONF="$CACHE_DIR/containers.conf"
else
  export PIIQ_CLUSTER_RUNTIME=${PIIQ_CLUSTER_RUNTIME:-process}
fi

suite=$SECONDS
# pytest tears the cluster down on SIGINT (its fixtures' finally): a TERM (CI's time-out) is
# passed on as one, so no process, mount or network namespace outlives the run.
PIIQ_CLUSTER_BIN="$bin_dirs" .venv/bin/pytest tests/cluster -p no:cacheprovider "$@" &
pytest_pid=$!
trap 'kill -INT "$pytest_pid" 2>/dev/null' INT TERM
status=0
wait "$pytest_pid" || status=$?
if [ "$status" -gt 128 ]; then wait "$pytest_pid" || status=$?; fi  # interrupted: let it finish
echo "cluster suite: $((SECONDS - suite)) s"
exit "$status"
