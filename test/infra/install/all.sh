#!/usr/bin/env bash
# Installs every test component (idempotent; a warm cache returns in about a second).
# The two Go builds run side by side: they share the module and build caches and overlap download with compile.
. "$(dirname "$0")/common.sh"
dir="$(dirname "$0")"
bash "$dir/debian.sh" >/dev/null
bash "$dir/cluster-debian.sh" >/dev/null
bash "$dir/moto.sh" >/dev/null
bash "$dir/helm.sh" >/dev/null
bash "$dir/clients.sh" >/dev/null
# prometheus-operator's CRDs (from its Go module) for the chart's server-side dry-run of monitoring objects.
bash "$dir/../../../charts/sftpgate/hack/fetch-monitoring-crds.sh" >/dev/null
pids=()
bash "$dir/minio.sh" >/dev/null & pids+=($!)
bash "$dir/kubernetes.sh" >/dev/null & pids+=($!)
rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ "$rc" = 0 ] || exit "$rc"
# The test cluster's node side, after kubernetes.sh so its build reuses the compiled packages; then the local base
# and sandbox images (they need the pause binary).
bash "$dir/kubernetes-node.sh" >/dev/null
bash "$dir/image-base.sh" >/dev/null
