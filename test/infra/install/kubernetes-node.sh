#!/usr/bin/env bash
# Builds the node side of the test cluster (test/infra/cluster.ts) from the same wrapper module as kubernetes.sh:
# kubelet, kube-scheduler, kube-proxy, plus the sandbox ("pause") binary from the same module's build/pause, linked
# statically. Kept at Kubernetes 1.33: later kubelets refuse cgroup v1 hosts by default. Prints the bin dir.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/kube-wrapper.sh"
dest="$CACHE_ROOT/kubernetes-node-$KUBERNETES_VERSION"
if done_marker "$dest"; then echo "$dest/bin"; exit 0; fi
log "building kubelet, kube-scheduler, kube-proxy $KUBERNETES_VERSION (cold: ~5-10 min on 2 cores after kubernetes.sh)"
kube_build "$dest" kubelet kube-scheduler kube-proxy
src="$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBERNETES_VERSION/build/pause/linux/pause.c"
cc -Os -static -Wall -DVERSION="$KUBERNETES_VERSION-sftpgate" -o "$dest/bin/pause" "$src"
strip "$dest/bin/pause"
mark_done "$dest"
echo "$dest/bin"
