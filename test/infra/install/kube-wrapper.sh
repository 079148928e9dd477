# Shared by kubernetes.sh and kubernetes-node.sh: builds Kubernetes commands from Go modules. Source it.
# k8s.io/kubernetes can't be `go install`ed (its go.mod replaces the staging modules with local paths), so a wrapper
# module requires it at the pinned tag and replaces each staging module with its published version.

# kube_build DEST PKG...: builds each k8s.io/kubernetes/cmd/PKG into DEST/bin, via a wrapper module in DEST/wrapper.
kube_build() {
  local dest="$1"; shift
  local work="$dest/wrapper"
  rm -rf "$work"; mkdir -p "$work" "$dest/bin"
  (
    cd "$work"
    cat > go.mod <<MOD
module sftpgate.local/kube-wrapper

go 1.24.0

require k8s.io/kubernetes $KUBERNETES_VERSION
MOD
    # The staging list comes from the pinned tag's own go.mod, so it stays right when the pin moves.
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk '{print $1}' | while read -r m; do
      echo "replace $m => $m $KUBERNETES_STAGING_VERSION" >> go.mod
    done
    { printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for p in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$p"; done
      printf ')\n'; } > tools.go
    # tidy, not `go get pkg`: a bare `go get` would move k8s.io/kubernetes to its newest release.
    go mod tidy
    grep -q "k8s.io/kubernetes $KUBERNETES_VERSION\$" go.mod || { log "go.mod lost the pin on k8s.io/kubernetes"; exit 1; }
    # Stamp the version like the upstream build does: helm and kubectl read it from /version.
    local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
    local ver_pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $ver_pkg.gitVersion=$KUBERNETES_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$minor"
    ldflags="$ldflags -X $ver_pkg.gitTreeState=clean -X $ver_pkg.buildDate=1970-01-01T00:00:00Z"
    local pkgs=(); for p in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$p"); done
    CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$dest/bin/" "${pkgs[@]}"
  )
}
