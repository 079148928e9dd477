#!/usr/bin/env bash
# Debian packages the tests use. Servers (etcd, sshd) and static tools (promtool, rclone) are unpacked into the cache
# and never started as services; lftp, the libraries sshd links (libwrap0) and g++ (make deps compiles ssh2's native
# crypto binding, patches/build-ssh2-binding.ts) are installed with apt. Prints the bin dir.
. "$(dirname "$0")/common.sh"
dest="$CACHE_ROOT/debian-bookworm"
if done_marker "$dest" && command -v lftp >/dev/null && command -v g++ >/dev/null; then echo "$dest/bin"; exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
log "installing Debian packages (apt)"
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends lftp curl openssh-client libwrap0 g++ >/dev/null
rm -rf "$dest"; mkdir -p "$dest/debs" "$dest/root" "$dest/bin"
(cd "$dest/debs" && apt-get download -qq etcd-server prometheus rclone openssh-server openssh-sftp-server >/dev/null)
for deb in "$dest"/debs/*.deb; do dpkg-deb -x "$deb" "$dest/root"; log "unpacked $(basename "$deb")"; done
ln -sf ../root/usr/bin/etcd "$dest/bin/etcd"
ln -sf ../root/usr/bin/promtool "$dest/bin/promtool"
ln -sf ../root/usr/bin/rclone "$dest/bin/rclone"
ln -sf ../root/usr/sbin/sshd "$dest/bin/sshd"
ln -sf ../root/usr/lib/openssh/sftp-server "$dest/bin/sftp-server"
for b in etcd promtool rclone sshd; do
  if ! ldd "$dest/bin/$b" 2>/dev/null | grep -q 'not found'; then continue; fi
  log "missing shared libraries for $b:"; ldd "$dest/bin/$b" | grep 'not found' >&2; exit 1
done
"$dest/bin/etcd" --version >/dev/null
mark_done "$dest"
echo "$dest/bin"
