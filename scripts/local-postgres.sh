#!/usr/bin/env bash
# Start this machine's Debian PostgreSQL cluster when nothing answers on 127.0.0.1:5432,
# and write its URL to .ci/.pg-url for the tests (PIIQ_TEST_DATABASE_URL).
# Used by .ci/run and `make test-cluster`; a no-op (exit 0) when a server already answers.
set -euo pipefail
cd "$(dirname "$0")/.."
url_file=.ci/.pg-url
password=piiq-local-test

command -v pg_isready >/dev/null || { echo "pg_isready not found: no local PostgreSQL"; exit 1; }
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  [ "$(id -u)" = 0 ] || { echo "PostgreSQL is not running and starting it needs root"; exit 1; }
  cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
  [ -n "$cluster" ] || { echo "no PostgreSQL cluster is installed (pg_lsclusters)"; exit 1; }
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not answer on 127.0.0.1:5432"; exit 1; }
# Debian's cluster asks for a password over TCP: give the superuser a local test password.
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
  su postgres -c "psql -qXc \"ALTER USER postgres PASSWORD '$password'\"" >/dev/null
  echo "postgresql://postgres:$password@127.0.0.1:5432/postgres" > "$url_file"
fi
