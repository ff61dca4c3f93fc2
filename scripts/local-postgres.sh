#!/usr/bin/env bash
# Start this machine's Debian PostgreSQL cluster when nothing answers on 127.0.0.1:5432,
# trusting loopback connections as a CI database does, and write its URL to .ci/.pg-url
# for the tests (PIIQ_TEST_DATABASE_URL). Used by .ci/run and `make test-cluster`.
# Exits non-zero, saying why, when there is no server to use; the tests then fall back to
# the embedded one.
set -euo pipefail
cd "$(dirname "$0")/.."
url_file=.ci/.pg-url
url=postgresql://postgres@127.0.0.1:5432/postgres

command -v pg_isready >/dev/null || { echo "pg_isready not found: no local PostgreSQL"; exit 1; }
if [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null; then
  read -r version name _ < <(pg_lsclusters --no-header | head -n1) || true
  if [ -n "${version:-}" ]; then
    # Loopback only, and only on a machine where we are root: the test box's own cluster.
    hba=$(su postgres -c "psql -qAtX -c 'SHOW hba_file'" 2>/dev/null \
          || echo "/etc/postgresql/$version/$name/pg_hba.conf")
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload 2>/dev/null || true
    fi
    pg_isready -q -h 127.0.0.1 -p 5432 \
      || pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start
  fi
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
psql -qAtX "$url" -c 'SELECT 1' >/dev/null \
  || { echo "PostgreSQL answers but refuses $url"; exit 1; }
echo "$url" > "$url_file"
