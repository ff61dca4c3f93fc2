#!/usr/bin/env bash
# Builds the upstream binaries the cluster suite runs, from the Go module proxy, at the
# versions pinned by the wrapper modules next to this script:
#   kubernetes/  kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#   etcd/        etcd
#   helm/        helm
# into $PIIQ_K8S_CACHE (default ~/.cache/piiq-k8s)/<module>-<version>-<recipe>/, reused when
# present (<recipe>: a hash of this script and the wrapper module, so a change rebuilds).
# Prints the directory holding all of them (one per line) on stdout; progress goes to stderr.
# A cold build takes 20-40 minutes on 2 cores; a warm one takes no time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${PIIQ_K8S_CACHE:-$HOME/.cache/piiq-k8s}"

log() { printf '==> %s\n' "$*" >&2; }

command -v go > /dev/null || {
    echo "make test-cluster needs Go 1.26+ (https://go.dev/dl/) to build the control plane" >&2
    exit 1
}

# The pinned version of MODULE in the wrapper module DIR's go.mod.
pinned() {
    awk -v m="$2" '$1 == "require" && $2 == m { print $3; exit } $1 == m { print $2; exit }' \
        "$here/$1/go.mod"
}

# The -X flags that stamp a release's version into the binaries, as upstream's builds do
# (helm checks the chart's kubeVersion against the API server's).
version_flags() {
    local dir=$1 version=$2 flags=() pkg
    case "$dir" in
    kubernetes)
        local minor=${version#v*.}
        minor=${minor%%.*}
        for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            flags+=("-X $pkg.gitVersion=$version" "-X $pkg.gitMajor=1" "-X $pkg.gitMinor=$minor"
                "-X $pkg.gitTreeState=clean" "-X $pkg.buildDate=1970-01-01T00:00:00Z")
        done
        ;;
    helm) flags+=("-X helm.sh/helm/v4/internal/version.version=$version") ;;
    esac
    echo "${flags[*]}"
}

# build DIR MODULE BINARY=PACKAGE...: builds each package into the cache, once per version.
build() {
    local dir=$1 module=$2 version out started recipe ldflags
    shift 2
    version=$(pinned "$dir" "$module")
    [[ -n "$version" ]] || { echo "no version of $module pinned in $here/$dir/go.mod" >&2; exit 1; }
    recipe=$(cat "$0" "$here/$dir/go.mod" "$here/$dir/go.sum" | sha256sum | cut -c1-12)
    ldflags="-s -w $(version_flags "$dir" "$version")"
    out="$cache/$dir-$version-$recipe"
    if [[ -f "$out/.complete" ]]; then
        log "$dir $version: cached in $out"
    else
        started=$SECONDS
        log "$dir $version: building $* (cold: this takes a while)"
        mkdir -p "$out"
        local spec
        for spec in "$@"; do
            log "  go build ${spec#*=}"
            (cd "$here/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" \
                -o "$out/${spec%%=*}" "${spec#*=}")
        done
        touch "$out/.complete"
        log "$dir $version: built in $((SECONDS - started)) s"
    fi
    echo "$out"
}

total=$SECONDS
build etcd go.etcd.io/etcd/server/v3 etcd=go.etcd.io/etcd/server/v3
build helm helm.sh/helm/v4 helm=helm.sh/helm/v4/cmd/helm
build kubernetes k8s.io/kubernetes \
    kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
    kubectl=k8s.io/kubernetes/cmd/kubectl
log "control plane binaries ready in $((SECONDS - total)) s"
