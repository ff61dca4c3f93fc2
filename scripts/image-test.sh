#!/usr/bin/env bash
# Build the piiq image (scripts/image.sh) and prove that it runs, every container as uid 10001 with
# a read-only root filesystem and only a tmpfs on /tmp writable:
#
#   1. the image is configured to run `piiq` as 10001:10001;
#   2. `piiq --help` and `piiq --version`;
#   3. `piiq migrate` (twice: idempotent) against the host's PostgreSQL, in a throwaway database;
#   4. `piiq worker --queue default=2` in one container completes the job that
#      `piiq canary --queue default` inserts from another; the worker then exits 0 on SIGTERM;
#   5. `piiq scan` finds a card number (CREDIT_CARD, default policy) and, with a policy that
#      deletes on names, a name (PERSON: the baked-in spaCy model, which the default policy
#      runs only when a name could change the decision);
#   6. when the image has Tesseract: `piiq scan --file` finds the card number in a PNG (OCR);
#   7. tests/e2e (helm install -> operator -> Deployments, CronJob) with every pod a container
#      of the image (PIIQ_E2E_IMAGE): Slack events deleted and DMed, a killed pod losing nothing.
#
#   scripts/image-test.sh [extra `podman build` arguments, passed to scripts/image.sh]
#
# Exit status: 0 passed, or SKIPPED (printed) when podman cannot be installed or cannot run here;
# with PIIQ_IMAGE_REQUIRED=1 a skip fails instead. Anything else that goes wrong exits non-zero.
# Containers reach only 127.0.0.1 (--network=host for PostgreSQL); every wait has a timeout.
#
# Environment: PIIQ_IMAGE_TEST_PG (default postgresql://postgres@127.0.0.1:5432), plus those of
# scripts/image.sh.
set -euo pipefail

# shellcheck source=scripts/image.sh
source "$(dirname "${BASH_SOURCE[0]}")/image.sh"

PG_SERVER=${PIIQ_IMAGE_TEST_PG:-postgresql://postgres@127.0.0.1:5432}
TEST_DB=piiq_image_test_$$
RUN_LABEL=piiq-image-test=$$
WORKER=piiq-image-test-worker-$$
IMAGE="$IMAGE_NAME:$(project_version)"
STEP_TIMEOUT=180
# Luhn-valid, and not one of the well-known test numbers the default policy allows.
CARD="4539 1488 0343 6467"
RUN_OPTS=(
    --label "$RUN_LABEL" --user 10001 --read-only --tmpfs /tmp --network=host
    -e "PIIQ_DATABASE_URL=$PG_SERVER/$TEST_DB" -e PIIQ_METRICS_PORT=0
)
CHECKS=0
DB_CREATED=0

fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

passed() {
    CHECKS=$((CHECKS + 1))
    log "ok: $*"
}

# `piiq ARGS...` in a fresh container; --entrypoint X as the first arguments runs X instead.
run_image() {
    local entrypoint=()
    if [[ "${1:-}" == --entrypoint ]]; then
        entrypoint=(--entrypoint "$2")
        shift 2
    fi
    timeout "$STEP_TIMEOUT" podman run --rm "${RUN_OPTS[@]}" "${entrypoint[@]}" "$IMAGE" "$@"
}

# SQL on the server's maintenance database, through the image's own psycopg (no psql needed).
admin_sql() {
    run_image --entrypoint python -c '
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=10) as conn:
    conn.execute(sys.argv[2])
' "$PG_SERVER/postgres" "$1"
}

cleanup() {
    local status=$? ids
    trap - EXIT
    if podman container exists "$WORKER" 2> /dev/null && ((status != 0)); then
        log "worker container log (last 30 lines):"
        podman logs --tail 30 "$WORKER" >&2 || true
    fi
    ids=$(podman ps -aq --filter "label=$RUN_LABEL" 2> /dev/null || true)
    if [[ -n "$ids" ]]; then
        # shellcheck disable=SC2086 # one id per word
        timeout 60 podman rm --force --time 5 $ids > /dev/null 2>&1 || true
    fi
    if ((DB_CREATED)); then
        admin_sql "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" \
            || log "could not drop database $TEST_DB"
    fi
    exit "$status"
}

build_or_skip() {
    local rc=0
    "$REPO_ROOT/scripts/image.sh" "$@" || rc=$?
    if ((rc == EXIT_SKIP)); then
        [[ "${PIIQ_IMAGE_REQUIRED:-0}" == 1 ]] && fail "PIIQ_IMAGE_REQUIRED=1, but the image cannot be built here (see above)"
        printf 'SKIPPED: image-test: the image cannot be built or run on this machine (reason above); nothing was tested\n'
        exit 0
    fi
    ((rc == 0)) || fail "scripts/image.sh exited $rc"
}

check_image_config() {
    local user entrypoint
    user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
    entrypoint=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")
    [[ "$user" == 10001:10001 ]] || fail "image user is '$user', expected 10001:10001"
    [[ "$entrypoint" == '["piiq"]' ]] || fail "image entrypoint is $entrypoint, expected [\"piiq\"]"
    passed "image runs piiq as 10001:10001"
}

check_help() {
    local out
    out=$(run_image --help) || fail "piiq --help exited non-zero"
    for command in migrate worker canary scan maintenance; do
        grep -q "^  $command " <<< "$out" || fail "piiq --help lists no '$command' command"
    done
    out=$(run_image --version) || fail "piiq --version exited non-zero"
    passed "piiq --help and --version ($out)"
}

create_test_database() {
    admin_sql "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" \
        || fail "cannot reach PostgreSQL at $PG_SERVER (set PIIQ_IMAGE_TEST_PG)"
    admin_sql "CREATE DATABASE $TEST_DB"
    DB_CREATED=1
    passed "created database $TEST_DB"
}

check_migrate() {
    run_image migrate || fail "piiq migrate failed"
    run_image migrate > /dev/null || fail "piiq migrate failed the second time (not idempotent)"
    passed "piiq migrate (twice)"
}

check_worker_runs_job() {
    local out exit_code
    timeout 60 podman run --detach --name "$WORKER" "${RUN_OPTS[@]}" "$IMAGE" \
        worker --queue default=2 > /dev/null || fail "could not start the worker container"
    out=$(run_image canary --queue default --timeout 60s) \
        || fail "piiq canary: no worker completed the canary job: $out"
    log "  $out"
    [[ "$(podman inspect --format '{{.State.Running}}' "$WORKER")" == true ]] \
        || fail "the worker container is no longer running"
    podman kill --signal TERM "$WORKER" > /dev/null
    exit_code=$(timeout 60 podman wait "$WORKER") || fail "the worker did not stop within 60 s of SIGTERM"
    ((exit_code == 0)) || fail "the worker exited $exit_code on SIGTERM, expected 0"
    log "  worker log (what kubectl logs would show):"
    podman logs "$WORKER" 2>&1 | sed 's/^/      /' >&2
    passed "worker completed the canary job and exited 0 on SIGTERM"
}

# Runs `piiq scan --json ARGS...` (or `--entrypoint CMD ARGS...` as given), expects exit 2 (delete) and every given type among the findings.
expect_scan_finds() {
    local types=$1 out rc=0 type
    shift
    if [[ "${1:-}" == --entrypoint ]]; then
        out=$(run_image "$@") || rc=$?
    else
        out=$(run_image scan --json "$@") || rc=$?
    fi
    ((rc == 2)) || fail "piiq scan $* exited $rc, expected 2 (delete): $out"
    for type in $types; do
        grep -q "\"type\": \"$type\"" <<< "$out" || fail "piiq scan $* found no $type: $out"
    done
    log "  $out"
}

check_scan() {
    expect_scan_finds CREDIT_CARD "my card is $CARD, thanks"
    # The default policy skips the model once a card already deletes: a policy that deletes
    # on names makes the model run. The root is read-only, so the policy goes to /tmp.
    expect_scan_finds PERSON --entrypoint sh -c \
        'printf "version: 1\nentities:\n  PERSON: {delete: 0.5}\n" > /tmp/names.yaml &&
         exec piiq scan --json --policy /tmp/names.yaml "see you tomorrow, thanks, John Smith"'
    passed "piiq scan found CREDIT_CARD and PERSON (model $(run_image --entrypoint printenv PIIQ_SPACY_MODEL))"
}

check_ocr() {
    if ! run_image --entrypoint sh -c 'command -v tesseract' > /dev/null; then
        log "no tesseract in the image (WITH_TESSERACT=0): OCR not checked"
        return 0
    fi
    local out rc=0
    # shellcheck disable=SC2016 # expanded by the container's sh
    out=$(run_image --entrypoint sh -c '
python -c "
import sys
from PIL import Image, ImageDraw, ImageFont
img = Image.new(\"L\", (1400, 160), 255)
ImageDraw.Draw(img).text((30, 40), \"Card \" + sys.argv[1], fill=0, font=ImageFont.load_default(size=64))
img.save(\"/tmp/card.png\")
" "$1" && exec piiq scan --json --file /tmp/card.png' sh "$CARD") || rc=$?
    if ((rc != 2)) || ! grep -q '"type": "CREDIT_CARD"' <<< "$out"; then
        fail "OCR: piiq scan --file card.png exited $rc without CREDIT_CARD: $out"
    fi
    log "  $out"
    passed "piiq scan --file found the card number in a PNG (Tesseract OCR)"
}

# The no-cluster end-to-end run (tests/e2e: helm install -> operator -> pods) with every
# pod a container of this image instead of a local process.
check_e2e_in_containers() {
    local venv=$REPO_ROOT/.venv/bin/python
    [[ -x $venv ]] || fail "tests/e2e needs the project's .venv (make test builds it)"
    local url=${PIIQ_TEST_DATABASE_URL:-$PG_SERVER/postgres}
    if ! (cd "$REPO_ROOT" && PIIQ_E2E_IMAGE=$IMAGE PIIQ_TEST_DATABASE_URL=$url timeout 600 \
        "$venv" -m pytest -q -p no:cacheprovider tests/e2e >&2); then
        fail "tests/e2e with the pods as containers of $IMAGE failed (output above)"
    fi
    passed "tests/e2e: the chart's and the operator's pods, run as containers of the image"
}

main() {
    local start=$SECONDS
    build_or_skip "$@"
    configure_podman
    trap cleanup EXIT
    log "testing $IMAGE (every container: --user 10001 --read-only --tmpfs /tmp --network=host)"
    check_image_config
    check_help
    create_test_database
    check_migrate
    check_worker_runs_job
    check_scan
    check_ocr
    check_e2e_in_containers
    log "image-test PASSED: $CHECKS checks in $((SECONDS - start)) s"
}

main "$@"
