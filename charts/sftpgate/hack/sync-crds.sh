#!/usr/bin/env bash
# Regenerates charts/sftpgate/templates/crds.yaml from crds/*.yaml. Run after every change to crds/.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec node charts/sftpgate/hack/sync-crds.ts
