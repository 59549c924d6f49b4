#!/usr/bin/env bash
# Runs apt-get with its arguments, waiting (bounded) for the locks another
# apt holds: on a new cloud VM unattended-upgrades and apt-daily hold them
# for minutes after boot. It says once what it waits for and who holds it.
# apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout) but not for
# the lists lock of `apt-get update`, so that one is retried here.
#
# Usage: apt-wait.sh <apt-get arguments>   (as root, or through sudo)
# APT_LOCK_TIMEOUT: seconds to wait for a lock (default 600).
set -euo pipefail

timeout=${APT_LOCK_TIMEOUT:-600}
locks='/var/lib/dpkg/lock-frontend|/var/lib/dpkg/lock|/var/lib/apt/lists/lock|/var/cache/apt/archives/lock'

# holder names the process holding one of apt's locks, if any.
holder() {
  lslocks -n -o PID,COMMAND,PATH 2>/dev/null | awk -v re="^(${locks})\$" '$3 ~ re { print $2 " (pid " $1 ") holds " $3; exit }'
}

said=""
say_waiting() {
  local who
  who=$(holder)
  if [ -z "$said" ] && [ -n "$who" ]; then
    echo ">> apt: $who; waiting up to ${timeout}s for it (APT_LOCK_TIMEOUT)" >&2
    said=1
  fi
}

deadline=$((SECONDS + timeout))
err=$(mktemp)
trap 'rm -f "$err"' EXIT
while :; do
  say_waiting
  rc=0
  left=$((deadline - SECONDS))
  apt-get -o DPkg::Lock::Timeout="$((left > 0 ? left : 0))" "$@" 2>"$err" || rc=$?
  # Only a lock apt-get does not wait for itself (the lists lock) is
  # retried, silently; anything else ends here with apt-get's messages
  # (less its "Waiting for cache lock" lines, one a second).
  if [ "$rc" -ne 0 ] && grep -q '^E: Could not get lock' "$err" && [ "$SECONDS" -lt "$deadline" ]; then
    sleep 2
    continue
  fi
  grep -v '^Waiting for cache lock' "$err" >&2 || true
  if [ "$rc" -ne 0 ] && grep -q '^E: Could not get lock' "$err"; then
    echo ">> apt: gave up waiting ${timeout}s for apt's lock (APT_LOCK_TIMEOUT)" >&2
  fi
  exit "$rc"
done
