#!/bin/bash
# Runs in the guest after cleanup.sh (Packer's shell provisioner, as root):
# fills the free space of every mounted local file system (XFS, the CentOS 7
# default, as well as ext2/3/4) with zeros and deletes the fill, and zeroes
# every active swap area keeping its UUID and label, so that the exported
# disk images compress and convert to small sparse files.
set -euo pipefail

say() { printf '>> zero: %s\n' "$*"; }

fill=""
trap 'if [ -n "$fill" ]; then rm -f "$fill"; fi' EXIT

# zero_free_space MOUNTPOINT: write zeros into a file there until the file
# system is full (dd ends with "No space left on device"), then delete it.
zero_free_space() {
  local mnt=$1 err
  fill="${mnt%/}/.zero.fill"
  err=$(mktemp)
  say "free space of $mnt"
  if LC_ALL=C dd if=/dev/zero of="$fill" bs=1M 2>"$err"; then
    : # dd stopping without an error means the file system never filled
  elif ! grep -q 'No space left on device' "$err"; then
    cat "$err" >&2
    rm -f "$err"
    echo "zero: writing zeros to $fill failed" >&2
    exit 1
  fi
  rm -f "$err"
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
