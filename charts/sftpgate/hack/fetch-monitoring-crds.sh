#!/usr/bin/env bash
# Caches the prometheus-operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule) that the chart's opt-in monitoring
# objects need, so the chart tests can install them into the test API server. There is no internet on CI machines,
# but the Go module proxy is reachable: the prometheus-operator module ships its published CRD YAML under
# example/prometheus-operator-crd/, so `go mod download` of a pinned version is the fetch. Idempotent; prints the dir.
set -euo pipefail
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
CACHE_ROOT="${SFTPGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sftpgate}"
dest="$CACHE_ROOT/monitoring-crds-$PROMETHEUS_OPERATOR_VERSION"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
printf '[install] fetching prometheus-operator %s CRDs\n' "$PROMETHEUS_OPERATOR_VERSION" >&2
module_dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$module_dir" ] || [ ! -d "$module_dir/example/prometheus-operator-crd" ]; then
  echo "[install] prometheus-operator module has no example/prometheus-operator-crd (dir: '$module_dir')" >&2
  exit 1
fi
tmp="$(mktemp -d "$CACHE_ROOT/.monitoring-crds.XXXXXX")"
for kind in servicemonitors podmonitors prometheusrules; do
  cp "$module_dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$tmp/"
done
chmod -R u+w "$tmp"
rm -rf "$dest" && mv "$tmp" "$dest" && touch "$dest/.complete"
echo "$dest"
