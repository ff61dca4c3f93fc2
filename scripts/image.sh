#!/usr/bin/env bash
# Build the piiq image from ./Dockerfile for real, with podman and no container registry.
#
#   scripts/image.sh [extra `podman build` arguments, e.g. --build-arg WITH_TESSERACT=0]
#
# The Dockerfile's FROM image (python:3.11-slim-bookworm) is not pulled: a stand-in is made once
# with debootstrap from the host's Debian mirror and tagged with that name locally. docs/image.md
# explains the recipe and its measurements.
#
# Exit status: 0 built; 77 podman cannot be installed or cannot run here (the reason is printed;
# scripts/image-test.sh turns it into SKIPPED); anything else is a real failure.
#
# Environment:
#   PIIQ_IMAGE_CACHE  cache directory (containers.conf, compat Containerfile, rootfs while made)
#                     default ${XDG_CACHE_HOME:-$HOME/.cache}/piiq-image
#   PIIQ_IMAGE_NAME   default localhost/piiq
#   PIIQ_IMAGE_BUILD_TIMEOUT  seconds the podman build may take (default 1800)
#
# This file is also sourced by scripts/image-test.sh for its settings and helpers.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PIIQ_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/piiq-image}
IMAGE_NAME=${PIIQ_IMAGE_NAME:-localhost/piiq}
BASE_IMAGE=localhost/piiq-bookworm-python:latest
COMPAT_IMAGE=localhost/piiq-python-slim-compat:3.11
DEBIAN_SUITE=bookworm
EXIT_SKIP=77
# Upper bounds, so that nothing waits forever on a stalled mirror or index (seconds).
BUILD_TIMEOUT=${PIIQ_IMAGE_BUILD_TIMEOUT:-1800}
STEP_LIMIT=900
REQUIRED_TOOLS=(podman buildah runc debootstrap)

log() { printf '==> %s\n' "$*" >&2; }

# Exit 77 with the reason: this machine cannot build or run the image at all.
skip() {
    printf 'SKIPPED: %s\n' "$*" >&2
    exit "$EXIT_SKIP"
}

# Runs "$@", logs how long it took, and returns its status.
timed() {
    local start=$SECONDS status=0
    "$@" || status=$?
    if ((status == 0)); then
        log "  done in $((SECONDS - start)) s"
    else
        log "  failed (exit $status) after $((SECONDS - start)) s: $*"
    fi
    return "$status"
}

project_version() {
    sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO_ROOT/pyproject.toml" | head -n 1
}

# The default of `ARG PYTHON_IMAGE=` in the Dockerfile, fully qualified as podman stores it:
# python:3.11-slim-bookworm -> docker.io/library/python:3.11-slim-bookworm.
dockerfile_base_image() {
    local name
    name=$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$REPO_ROOT/Dockerfile" | head -n 1)
    [[ -n "$name" ]] || { log "no 'ARG PYTHON_IMAGE=' line in $REPO_ROOT/Dockerfile"; exit 1; }
    case "$name" in
        */*/*) ;;
        *.*/* | *:*/* | localhost/*) ;;
        */*) name="docker.io/$name" ;;
        *) name="docker.io/library/$name" ;;
    esac
    printf '%s\n' "$name"
}

missing_tools() {
    local tool
    for tool in "${REQUIRED_TOOLS[@]}"; do
        command -v "$tool" > /dev/null || printf '%s ' "$tool"
    done
}

install_tools() {
    local missing
    missing=$(missing_tools)
    [[ -z "$missing" ]] && return 0
    if [[ $EUID -ne 0 ]]; then
        skip "missing ${missing% }; not root, so not installing them. As root: apt-get install podman buildah runc debootstrap"
    fi
    command -v apt-get > /dev/null \
        || skip "missing ${missing% } and there is no apt-get to install them (need podman buildah runc debootstrap)"
    log "installing podman buildah runc debootstrap with apt (missing: ${missing% })"
    export DEBIAN_FRONTEND=noninteractive
    timed timeout "$STEP_LIMIT" apt-get update -q > /dev/null \
        || skip "apt-get update failed, so podman cannot be installed"
    timed timeout "$STEP_LIMIT" apt-get install -y -q podman buildah runc debootstrap > /dev/null \
        || skip "apt-get install podman buildah runc debootstrap failed"
    missing=$(missing_tools)
    [[ -z "$missing" ]] || skip "still missing after apt-get install: ${missing% }"
}

# podman's defaults fail here: crun cannot handle the host's hybrid cgroups, and root lacks
# CAP_SYS_RESOURCE for the default rlimits. The fix lives in our own containers.conf, picked up
# through CONTAINERS_CONF; no system file is edited.
configure_podman() {
    mkdir -p "$CACHE_DIR"
    cat > "$CACHE_DIR/containers.conf" <<'CONF'
# Written by piiq's scripts/image.sh; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
    export CONTAINERS_CONF="$CACHE_DIR/containers.conf"
    podman info > /dev/null 2>"$CACHE_DIR/podman-info.err" \
        || skip "podman cannot start here: $(tail -n 1 "$CACHE_DIR/podman-info.err")"
}

host_ca_certificates() {
    compgen -G '/usr/local/share/ca-certificates/*.crt' || true
}

# A fingerprint of the host's extra CA certificates, kept as a label on the base image: when they
# change (another TLS-intercepting proxy), the base is made again.
host_ca_fingerprint() {
    local certs
    mapfile -t certs < <(host_ca_certificates)
    if ((${#certs[@]})); then
        cat "${certs[@]}" | sha256sum | cut -c1-16
    else
        echo none
    fi
}

image_label() {
    podman image inspect --format "{{index .Labels \"$2\"}}" "$1" 2> /dev/null || true
}

host_apt_mirror() {
    local mirror=""
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z "$mirror" && -r /etc/apt/sources.list ]]; then
        mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
    fi
    printf '%s\n' "${mirror:-http://deb.debian.org/debian}"
}

# Debian bookworm minbase with Python 3.11, imported as $BASE_IMAGE (about a minute, once).
make_base_image() {
    local fingerprint=$1 rootfs="$CACHE_DIR/rootfs" bundle=/etc/ssl/certs/ca-certificates.crt
    local mirror certs
    mirror=$(host_apt_mirror)
    rm -rf "$rootfs"
    log "debootstrap $DEBIAN_SUITE (minbase + python3) from $mirror into $rootfs (about 1 min)"
    timed timeout "$STEP_LIMIT" debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        "$DEBIAN_SUITE" "$rootfs" "$mirror" > "$CACHE_DIR/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE_DIR/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
    mapfile -t certs < <(host_ca_certificates)
    if ((${#certs[@]})); then
        log "adding the host's extra CA certificates: ${certs[*]##*/}"
        cp "${certs[@]}" "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates > /dev/null
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    log "importing the root filesystem as $BASE_IMAGE"
    tar -C "$rootfs" -c . | timeout "$STEP_LIMIT" podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "ENV PIP_CERT=$bundle" \
        --change "ENV REQUESTS_CA_BUNDLE=$bundle" \
        --change "ENV SSL_CERT_FILE=$bundle" \
        --change "LABEL piiq.host-ca=$fingerprint" \
        --change 'CMD ["python3"]' \
        - "$BASE_IMAGE" > /dev/null
    rm -rf "$rootfs"
}

# Make $BASE_IMAGE look like python:3.11-slim: Debian's Python 3.11 in /usr, with pip allowed
# outside a venv, `python`/`pip` on PATH and /usr/local site-packages visible.
make_compat_image() {
    local dir="$CACHE_DIR/compat"
    mkdir -p "$dir"
    cat > "$dir/Containerfile" <<CF
FROM $BASE_IMAGE
RUN rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \\
 && ln -sf /usr/bin/python3 /usr/local/bin/python \\
 && ln -sf /usr/bin/pip3 /usr/local/bin/pip \\
 && printf '/usr/local/lib/python3.11/site-packages\n/usr/local/local/lib/python3.11/dist-packages\n' \\
      > /usr/lib/python3/dist-packages/zz-slim-compat.pth
ENV PATH=/usr/local/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["python3"]
CF
    timeout "$STEP_LIMIT" podman build --quiet --pull=never -t "$COMPAT_IMAGE" "$dir" > /dev/null
}

# The Dockerfile's FROM image. One without our label (a real python image someone loaded) is used
# as it is; our debootstrap stand-in is (re)made when missing or made for other CA certificates.
ensure_from_image() {
    local from=$1 fingerprint made_for
    fingerprint=$(host_ca_fingerprint)
    if podman image exists "$from"; then
        made_for=$(image_label "$from" piiq.host-ca)
        if [[ -z "$made_for" || "$made_for" == "$fingerprint" ]]; then
            log "base image $from present: reusing it"
            return 0
        fi
        log "$from was made for other host CA certificates: making it again"
        podman rmi --force "$from" "$COMPAT_IMAGE" > /dev/null 2>&1 || true
    fi
    if [[ "$(image_label "$BASE_IMAGE" piiq.host-ca)" != "$fingerprint" ]]; then
        make_base_image "$fingerprint"
    fi
    log "making $COMPAT_IMAGE and tagging it $from (local only, never pushed)"
    make_compat_image
    podman tag "$COMPAT_IMAGE" "$from"
}

# A container must start at all; a kernel that refuses (no namespaces, seccomp) is a skip.
check_podman_runs() {
    local image=$1
    timeout 120 podman run --rm --network=none "$image" true > /dev/null 2>"$CACHE_DIR/podman-run.err" \
        || skip "podman cannot run a container here: $(tail -n 1 "$CACHE_DIR/podman-run.err")"
}

build_image() {
    local version
    version=$(project_version)
    log "building $IMAGE_NAME:$version from $REPO_ROOT/Dockerfile (cold: several minutes; warm: seconds)"
    timed timeout "$BUILD_TIMEOUT" podman build --pull=never --layers \
        --build-arg "VERSION=$version" \
        -t "$IMAGE_NAME:$version" -t "$IMAGE_NAME:latest" \
        -f "$REPO_ROOT/Dockerfile" "$@" "$REPO_ROOT"
    log "built $IMAGE_NAME:$version and $IMAGE_NAME:latest ($(podman image inspect --format '{{.Size}}' "$IMAGE_NAME:latest" | numfmt --to=si)B)"
}

# Everything up to a podman that can build and run; scripts/image-test.sh calls this too.
prepare_podman() {
    install_tools
    configure_podman
}

main() {
    local from start=$SECONDS
    prepare_podman
    from=$(dockerfile_base_image)
    ensure_from_image "$from"
    check_podman_runs "$from"
    build_image "$@"
    log "image.sh finished in $((SECONDS - start)) s"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
