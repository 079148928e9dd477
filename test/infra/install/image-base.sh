#!/usr/bin/env bash
# The base images the test cluster builds on, since no container registry is reachable here:
#   localhost/sftpgate-base:bookworm-node-$NODE_VERSION — Debian bookworm (mmdebstrap minbase from the machine's own
#     apt sources) plus the pinned Node runtime and npm from the npm registry, laid out like the public
#     node:<version>-bookworm-slim image (/usr/local/bin/{node,npm,npx}); the Dockerfile's NODE_IMAGE in the test bed.
#   localhost/sftpgate-pause:$KUBERNETES_VERSION — the static pause binary (kubernetes-node.sh), the sandbox image.
# Both are committed to the buildah storage the test bed builds with ($CACHE_ROOT/buildah, overlay driver); the pause
# image is also written as a docker-archive for `ctr images import`. Needs cluster-debian.sh and kubernetes-node.sh.
. "$(dirname "$0")/common.sh"
dir="$(dirname "$0")"
base_ref="localhost/sftpgate-base:bookworm-node-$NODE_VERSION"
pause_ref="localhost/sftpgate-pause:$KUBERNETES_VERSION"
dest="$CACHE_ROOT/image-base-node-$NODE_VERSION-k8s-$KUBERNETES_VERSION"
export BUILDAH_ISOLATION=chroot
bh() { buildah --root "$CACHE_ROOT/buildah/root" --runroot "$CACHE_ROOT/buildah/runroot" --storage-driver overlay "$@"; }
have() { bh inspect --type image "$1" >/dev/null 2>&1; }
if done_marker "$dest" && have "$base_ref" && have "$pause_ref"; then echo "$dest"; exit 0; fi
node_bin="$(bash "$dir/node.sh" "$NODE_VERSION")"
node_bins="$(bash "$dir/kubernetes-node.sh")"
log "building the base image $base_ref and the sandbox image $pause_ref"
rm -rf "$dest"; mkdir -p "$dest"
tmp="$(mktemp -d)"; ctr=""
cleanup() { [ -z "$ctr" ] || bh rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT

ctr="$(bh from --quiet scratch)"
bh copy --quiet "$ctr" "$node_bins/pause" /pause >/dev/null
bh config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
bh commit --quiet --rm "$ctr" "$pause_ref" >/dev/null; ctr=""
bh push --quiet "$pause_ref" "docker-archive:$dest/pause.tar:$pause_ref"
# Debian: the machine's own apt sources (deb822 or one-line), so no mirror is named here. libatomic1: Node 26 links it.
sources=()
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [ -s "$f" ] && grep -qE '^(Types:|deb )' "$f" && sources+=("$f")
done
[ "${#sources[@]}" -gt 0 ] || { log "no apt sources found"; exit 1; }
mmdebstrap --quiet --variant=minbase --include=ca-certificates,libatomic1 --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/{doc,man,locale,info}/*' bookworm "$tmp/rootfs.tar" "${sources[@]}"
# npm: the version the machine's npm has, from the npm registry (the Node package carries none).
(cd "$tmp" && npm pack --silent "npm@$(npm --version)" >/dev/null 2>&1)

ctr="$(bh from --quiet scratch)"
mnt="$(bh mount "$ctr")"
tar -xf "$tmp/rootfs.tar" -C "$mnt"
install -m 0755 "$node_bin/node" "$mnt/usr/local/bin/node"
mkdir -p "$mnt/usr/local/lib/node_modules/npm"
tar -xzf "$tmp"/npm-*.tgz -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
rm -rf "$mnt"/var/cache/apt/* "$mnt"/var/lib/apt/lists/*
chroot "$mnt" /usr/local/bin/node -e 'require("node:crypto").createHash("sha256")' || { log "node does not run in the base"; exit 1; }
bh umount "$ctr" >/dev/null
bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env "NODE_VERSION=$NODE_VERSION" \
  --cmd node --workingdir / "$ctr"
bh commit --quiet --rm "$ctr" "$base_ref" >/dev/null; ctr=""

mark_done "$dest"
echo "$dest"
