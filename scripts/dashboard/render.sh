#!/usr/bin/env bash
# `make dashboard-image`: docs/images/dashboard.png, drawn from what a real Prometheus scraped
# from real piiq processes during a demo-like run (scripts/dashboard/render.py says what runs).
#
# Prometheus is built once from source with Go (service discovery left out: the run scrapes
# static 127.0.0.1 targets) and cached outside the repository. Set PIIQ_PROMETHEUS to use a
# prometheus binary of your own instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=v0.316.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/piiq-prometheus"
PROMETHEUS="${PIIQ_PROMETHEUS:-$CACHE/prometheus-$VERSION}"

if [ ! -x "$PROMETHEUS" ]; then
  if ! command -v go >/dev/null; then
    echo "make dashboard-image needs a prometheus binary: install Go (1.25 or newer) to build one, or set PIIQ_PROMETHEUS=/path/to/prometheus" >&2
    exit 1
  fi
  echo "building Prometheus $VERSION into $CACHE (once, a few minutes)"
  mkdir -p "$CACHE/bin"
  GOBIN="$CACHE/bin" GOFLAGS=-buildvcs=false \
    go install -tags remove_all_sd "github.com/prometheus/prometheus/cmd/prometheus@$VERSION"
  mv "$CACHE/bin/prometheus" "$PROMETHEUS"
fi

# The repository root on the path: render.py borrows the tests' emulator and Helm helpers
# (tests.support, tests.operator).
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python scripts/dashboard/render.py --prometheus "$PROMETHEUS" "$@"
