#!/bin/bash
# Runs in the guest after cleanup.sh (Packer's shell provisioner, as root):
# fills the free space of every mounted local file system (XFS, the CentOS 7
# default, as well as ext2/3/4) with zeros and deletes the fill, and zeroes
# every active swap area keeping its UUID and label, so that the exported
# disk images compress and convert to small sparse files.
#
# Usage: zero.sh [MOUNTPOINT...]: with mount points, only their free space is
# zeroed (no swap).
set -euo pipefail

say() { printf '>> zero: %s\n' "$*"; }

fill=""
trap 'if [ -n "$fill" ]; then rm -f "$fill"; fi' EXIT

# zero_free_space MOUNTPOINT: write zeros into a file there until the file
# system is full (dd ends with "No space left on device"), then delete it.
# dd's messages are kept in memory: a temporary file could sit on the very
# file system being filled, and then the message could not be written.
zero_free_space() {
  local mnt=$1 err
  fill="${mnt%/}/.zero.fill"
  say "free space of $mnt"
  if err=$(LC_ALL=C dd if=/dev/zero of="$fill" bs=1M 2>&1); then
    : # dd stopping without an error means the file system never filled
  elif [[ $err != *'No space left on device'* ]]; then
    printf '%s\n' "$err" >&2
    echo "zero: writing zeros to $fill failed" >&2
    exit 1
  fi
  sync
  rm -f "$fill"
  fill=""
  sync
}

# zero_swap DEVICE TYPE: swapoff, overwrite with zeros, mkswap with the same
# UUID and label, swapon.
zero_swap() {
  local dev=$1 type=$2 uuid label size
  uuid=$(blkid -o value -s UUID "$dev" || true)
  label=$(blkid -o value -s LABEL "$dev" || true)
  if [ "$type" = partition ]; then
    size=$(blockdev --getsize64 "$dev")
  else
    size=$(stat -c %s "$dev")
  fi
  say "swap $dev ($((size / 1048576)) MiB)"
  swapoff "$dev"
  dd if=/dev/zero of="$dev" bs=1M count=$((size / 1048576)) conv=notrunc,fsync 2>/dev/null
  local args=()
  if [ -n "$uuid" ]; then args+=(-U "$uuid"); fi
  if [ -n "$label" ]; then args+=(-L "$label"); fi
  mkswap ${args[@]+"${args[@]}"} "$dev" >/dev/null
  swapon "$dev"
}

if [ $# -gt 0 ]; then
  for mnt in "$@"; do
    zero_free_space "$mnt"
  done
  say "done"
  exit 0
fi

# Each local file system once, even when it is mounted more than once.
# findmnt --raw writes a space in a path as \x20, /proc/swaps as \040; the
# ${a[@]+...} form keeps bash 4.2 (CentOS 7) quiet on empty arrays under -u.
mapfile -t mounts < <(findmnt --noheadings --raw --types xfs,ext2,ext3,ext4 --output SOURCE,TARGET | awk '!seen[$1]++ { print $2 }')
for mnt in ${mounts[@]+"${mounts[@]}"}; do
  zero_free_space "$(printf '%b' "$mnt")"
done

# /proc/swaps: Filename Type Size Used Priority, after a header line.
mapfile -t swaps < <(tail -n +2 /proc/swaps)
for line in ${swaps[@]+"${swaps[@]}"}; do
  read -r dev type _ <<<"$line"
  zero_swap "$(printf '%b' "$dev")" "$type"
done

say "done"
