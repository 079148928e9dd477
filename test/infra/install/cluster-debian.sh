#!/usr/bin/env bash
# Debian packages for the single-node test cluster (test/infra/cluster.ts) and the local image build: containerd,
# runc, the CNI plugins, buildah (images, overlay storage, chroot isolation), mmdebstrap (the base image's Debian root),
# iptables and conntrack (kube-proxy, inside the cluster's own network namespace). Installed with apt, not unpacked
# like debian.sh: containerd, runc and buildah link shared libraries (libseccomp, libgpgme, libdevmapper, ...) that a
# bare unpack would leave missing. No service is started (the cluster runs its own containerd with its own dirs).
. "$(dirname "$0")/common.sh"
dest="$CACHE_ROOT/cluster-debian"
bins=(containerd containerd-shim-runc-v2 ctr runc buildah mmdebstrap iptables conntrack)
have_all() { for b in "${bins[@]}"; do command -v "$b" >/dev/null || return 1; done; [ -x /usr/lib/cni/bridge ]; }
if done_marker "$dest" && have_all; then echo "$dest"; exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
log "installing containerd, runc, CNI plugins, buildah, mmdebstrap, iptables, conntrack (apt)"
$SUDO apt-get update -qq >/dev/null
# policy-rc.d (where the machine has one) keeps dpkg from starting containerd's service; nothing here needs it.
$SUDO apt-get install -y -qq --no-install-recommends containerd runc containernetworking-plugins buildah \
  mmdebstrap iptables conntrack >/dev/null
have_all || { log "cluster packages installed but a binary is missing"; exit 1; }
mkdir -p "$dest"
mark_done "$dest"
echo "$dest"
