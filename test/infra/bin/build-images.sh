#!/usr/bin/env bash
# build-images.sh REPO_ROOT OUT_DIR TAG BASE_REF — builds the Dockerfile's operator and sftp targets with buildah
# (overlay storage in the component cache, chroot isolation, cached layers) on the local base image, and writes each as a
# docker-archive into OUT_DIR for `ctr images import`. Run under a lock by test/infra/images.ts; skips a finished OUT_DIR.
set -euo pipefail
root="$1"; out="$2"; tag="$3"; base="$4"
[ -f "$out/.complete" ] && exit 0
cache="${SFTPGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sftpgate}"
bh() { buildah --root "$cache/buildah/root" --runroot "$cache/buildah/runroot" --storage-driver overlay "$@"; }
rm -rf "$out"; mkdir -p "$out" "$HOME/.npm"
# The machine's CA bundle (it may hold a TLS-inspecting egress CA the base's Debian bundle lacks) and an npmrc naming
# it, mounted for the RUN steps only: nothing machine-specific lands in a layer.
npmrc="$out/build.npmrc"
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nfund=false\naudit=false\nupdate-notifier=false\n' > "$npmrc"
mounts=(--volume "$HOME/.npm:/root/.npm" --volume "$npmrc:/usr/local/etc/npmrc:ro")
[ -s /etc/ssl/certs/ca-certificates.crt ] && mounts+=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
for target in operator sftp; do
  ref="localhost/sftpgate-$target:$tag"
  # The machine's npm cache serves the npm installs of the build (the Dockerfile never cleans it: no layer keeps it).
  # One retry: a registry hiccup during `npm install` should not fail a whole test run (cached layers make it cheap).
  for attempt in 1 2; do
    if bh bud --quiet --isolation chroot --layers --pull-never --build-arg "NODE_IMAGE=$base" --target "$target" \
      "${mounts[@]}" -t "$ref" -f "$root/Dockerfile" "$root" >"$out/$target.build.log" 2>&1; then break; fi
    [ "$attempt" = 2 ] && { tail -40 "$out/$target.build.log" >&2; exit 1; }
  done
  bh push --quiet "$ref" "docker-archive:$out/$target.tar:$ref"
done
touch "$out/.complete"
