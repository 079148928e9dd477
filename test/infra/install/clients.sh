#!/usr/bin/env bash
# The SFTP clients of the e2e client matrix (test/e2e/clients-*.test.ts) that the other scripts don't bring:
# PuTTY's psftp and puttygen (Debian putty-tools, unpacked into the cache like debian.sh does), paramiko (PyPI, in a
# venv), and the JSch fork com.github.mwiede:jsch (Maven Central, fetched with mvn) with a JDK from Debian.
# OpenSSH sftp/scp, lftp, curl and rclone come from debian.sh. Idempotent; prints the bin dir.
. "$(dirname "$0")/common.sh"
dest="$CACHE_ROOT/clients-paramiko-$PARAMIKO_VERSION-jsch-$JSCH_VERSION"
if done_marker "$dest" && command -v java >/dev/null; then echo "$dest/bin"; exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! command -v java >/dev/null || ! command -v mvn >/dev/null || ! python3 -c 'import venv' 2>/dev/null; then
  log "installing a JDK, Maven and python3-venv (apt)"
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends default-jdk-headless maven python3-venv >/dev/null
fi
rm -rf "$dest"; mkdir -p "$dest/debs" "$dest/root" "$dest/bin" "$dest/jsch"

(cd "$dest/debs" && apt-get download -qq putty-tools >/dev/null)
for deb in "$dest"/debs/*.deb; do dpkg-deb -x "$deb" "$dest/root"; log "unpacked $(basename "$deb")"; done
for b in psftp puttygen; do
  ln -sf "../root/usr/bin/$b" "$dest/bin/$b"
  if ldd "$dest/bin/$b" 2>/dev/null | grep -q 'not found'; then
    log "missing shared libraries for $b:"; ldd "$dest/bin/$b" | grep 'not found' >&2; exit 1
  fi
done

log "installing paramiko==$PARAMIKO_VERSION into a venv"
python3 -m venv "$dest/paramiko"
"$dest/paramiko/bin/pip" install -q --disable-pip-version-check "paramiko==$PARAMIKO_VERSION"
# A wrapper, not a symlink: python finds its venv (pyvenv.cfg) from the path it was started by.
printf '#!/bin/sh\nexec "%s/paramiko/bin/python" "$@"\n' "$dest" > "$dest/bin/paramiko-python"
chmod +x "$dest/bin/paramiko-python"

log "fetching com.github.mwiede:jsch:$JSCH_VERSION (Maven Central)"
mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy "-Dartifact=com.github.mwiede:jsch:$JSCH_VERSION" "-DoutputDirectory=$dest/jsch" >&2
ln -sf "../jsch/jsch-$JSCH_VERSION.jar" "$dest/bin/jsch.jar"

"$dest/bin/psftp" -V >/dev/null
"$dest/bin/paramiko-python" -c 'import paramiko' >/dev/null
[ -s "$dest/bin/jsch.jar" ]
mark_done "$dest"
echo "$dest/bin"
