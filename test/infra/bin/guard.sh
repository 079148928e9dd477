#!/usr/bin/env bash
# guard.sh CMD [ARGS...] — runs CMD so that it can never outlive the process that started this guard.
#
# The parent (a test-bed launcher, test/infra/process.ts) holds the write end of our stdin. When that pipe closes —
# the parent stopped us on purpose, exited, or was SIGKILLed — we stop CMD's whole process group: SIGTERM, then
# SIGKILL after SFTPGATE_GUARD_GRACE_S seconds. SIGTERM/SIGINT/SIGHUP to the guard do the same. When CMD exits on its
# own the guard exits with CMD's status. CMD runs in its own session (setsid), so a terminal's Ctrl-C reaches the
# parent, which then stops it in order, and so the whole group of anything CMD forks can be signalled at once.
set -u
grace_s="${SFTPGATE_GUARD_GRACE_S:-5}"

# Keep our stdin on fd 3: background jobs of a non-interactive shell get /dev/null as stdin unless told otherwise.
exec 3<&0
# setsid does not fork here (a background job is not a process-group leader), so $! is CMD's pid and its pgid.
setsid "$@" </dev/null 3<&- &
child=$!

stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  kill -TERM -- "-$child" 2>/dev/null
  local waited=0
  # Bash reaps $child as soon as it exits, so the group disappears once every member is gone.
  while kill -0 -- "-$child" 2>/dev/null; do
    if [ "$waited" -ge $((grace_s * 10)) ]; then
      kill -KILL -- "-$child" 2>/dev/null
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  exit 143
}
trap stop TERM INT HUP

# Watcher: blocks reading the pipe; EOF means the parent is gone or wants CMD stopped.
(
  trap - TERM INT HUP
  while IFS= read -r _ <&3; do :; done
  kill -TERM "$$" 2>/dev/null
) &
watcher=$!
exec 3<&-

# `wait` returns early when a trapped signal arrives; the trap then runs stop, which never returns.
wait "$child"
rc=$?
kill "$watcher" 2>/dev/null
exit "$rc"
