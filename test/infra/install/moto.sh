#!/usr/bin/env bash
# moto's server (AWS IAM/STS API) in a venv under the cache. Prints the venv's bin dir.
. "$(dirname "$0")/common.sh"
dest="$CACHE_ROOT/moto-$MOTO_VERSION"
if done_marker "$dest"; then echo "$dest/bin"; exit 0; fi
log "installing moto[server]==$MOTO_VERSION into a venv"
rm -rf "$dest"
python3 -m venv "$dest"
"$dest/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$dest/bin/moto_server" --help >/dev/null
mark_done "$dest"
echo "$dest/bin"
