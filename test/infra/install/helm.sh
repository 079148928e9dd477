#!/usr/bin/env bash
# Builds helm from its Go module into the cache.
. "$(dirname "$0")/common.sh"
dest="$CACHE_ROOT/helm-$HELM_VERSION"
if done_marker "$dest"; then echo "$dest/bin"; exit 0; fi
log "building helm $HELM_VERSION"
mkdir -p "$dest/bin"
CGO_ENABLED=0 GOBIN="$dest/bin" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mark_done "$dest"
echo "$dest/bin"
