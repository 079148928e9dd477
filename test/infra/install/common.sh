# Shared by the install scripts: pins, cache root, logging. Source it; don't run it.
set -euo pipefail
INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$INSTALL_DIR/versions.env"
CACHE_ROOT="${SFTPGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sftpgate}"
mkdir -p "$CACHE_ROOT"
log() { printf '[install] %s\n' "$*" >&2; }
# done_marker DIR: true when DIR was completed by an earlier run (installs are idempotent and atomic per dir).
done_marker() { [ -f "$1/.complete" ]; }
mark_done() { touch "$1/.complete"; }
