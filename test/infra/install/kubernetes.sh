#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl from Go modules into the cache (kubectl is the fallback
# for machines without one on PATH; tests prefer the machine's own). The node components: kubernetes-node.sh.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/kube-wrapper.sh"
dest="$CACHE_ROOT/kubernetes-$KUBERNETES_VERSION"
if done_marker "$dest"; then echo "$dest/bin"; exit 0; fi
log "building kube-apiserver, kube-controller-manager, kubectl $KUBERNETES_VERSION (cold: ~10-20 min on 2 cores)"
kube_build "$dest" kube-apiserver kube-controller-manager kubectl
mark_done "$dest"
echo "$dest/bin"
