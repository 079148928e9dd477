#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl from Go modules into the cache (kubectl is the fallback
# for machines without one on PATH; tests prefer the machine's own).
# k8s.io/kubernetes can't be `go install`ed (its go.mod replaces the staging modules with local paths), so a wrapper
# module requires it at the pinned tag and replaces each staging module with its published version.
. "$(dirname "$0")/common.sh"
dest="$CACHE_ROOT/kubernetes-$KUBERNETES_VERSION"
if done_marker "$dest"; then echo "$dest/bin"; exit 0; fi
log "building kube-apiserver, kube-controller-manager, kubectl $KUBERNETES_VERSION (cold: ~10-20 min on 2 cores)"
work="$dest/wrapper"; rm -rf "$work"; mkdir -p "$work" "$dest/bin"
cd "$work"
cat > go.mod <<MOD
module sftpgate.local/kube-wrapper

go 1.24.0

require k8s.io/kubernetes $KUBERNETES_VERSION
MOD
# The staging list comes from the pinned tag's own go.mod, so it stays right when the pin moves.
gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk '{print $1}' | while read -r m; do
  echo "replace $m => $m $KUBERNETES_STAGING_VERSION" >> go.mod
done
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
# tidy, not `go get pkg`: a bare `go get` would move k8s.io/kubernetes to its newest release.
go mod tidy
grep -q "k8s.io/kubernetes $KUBERNETES_VERSION\$" go.mod || { log "go.mod lost the pin on k8s.io/kubernetes"; exit 1; }
# Stamp the version like the upstream build does: helm and kubectl read it from /version.
minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
ver_pkg=k8s.io/component-base/version
ldflags="-s -w -X $ver_pkg.gitVersion=$KUBERNETES_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$minor"
ldflags="$ldflags -X $ver_pkg.gitTreeState=clean -X $ver_pkg.buildDate=1970-01-01T00:00:00Z"
CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$dest/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
mark_done "$dest"
echo "$dest/bin"
