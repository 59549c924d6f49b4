#!/bin/sh
# Finishes a Debian disk inside it (guestfish `command`: a chroot of the
# new root in the libguestfs appliance, with /dev, /proc and /sys). What
# depends on the disk or the site goes here: fstab by UUID, the record of
# the build, the time zone and NTP servers, the kernel line, the initramfs
# and GRUB for BIOS and UEFI. internal/debian uploads the settings as
# /tmp/gsi-finish.env:
#   GSI_PROVIDER, GSI_VM_NAME, GSI_VERSION   recorded in /etc/gold-standard-image
#   GSI_BOOTS          1 when the image boots (kernel, GRUB)
#   GSI_ROOT_LABEL     label of the root file system (found by it, not by
#                      the appliance's name of the disk, which varies)
#   GSI_TIMEZONE       e.g. UTC
#   GSI_NTP            NTP servers, space separated; empty keeps Debian's
set -eu
# shellcheck source=/dev/null
. /tmp/gsi-finish.env

root_dev=$(blkid -L "$GSI_ROOT_LABEL")
root_uuid=$(blkid -s UUID -o value "$root_dev")
# A container (docker) keeps Debian's unconfigured fstab.
if [ "$GSI_BOOTS" = 1 ]; then
  efi_dev=$(blkid -L UEFI)
  cat >/etc/fstab <<FSTAB
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=$root_uuid / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
UUID=$(blkid -s UUID -o value "$efi_dev") /boot/efi vfat defaults 0 0
FSTAB
fi

cat >/etc/gold-standard-image <<REC
vm_name=$GSI_VM_NAME
version=$GSI_VERSION
build=$GSI_PROVIDER
os=debian-$(cat /etc/debian_version)
REC

if [ -n "$GSI_TIMEZONE" ]; then
  test -e "/usr/share/zoneinfo/$GSI_TIMEZONE" || { echo "no time zone $GSI_TIMEZONE" >&2; exit 1; }
  ln -sf "/usr/share/zoneinfo/$GSI_TIMEZONE" /etc/localtime
  echo "$GSI_TIMEZONE" >/etc/timezone
fi

if [ "$GSI_BOOTS" = 1 ]; then
  if [ -n "$GSI_NTP" ]; then
    sed -i 's/^pool /#pool /' /etc/chrony/chrony.conf
    for s in $GSI_NTP; do echo "server $s iburst"; done >/etc/chrony/sources.d/gsi.sources
  fi

  disk=${root_dev%%[0-9]*}
  grub-install --target=i386-pc "$disk"
  grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram
  update-grub
  grep -q "root=UUID=$root_uuid" /boot/grub/grub.cfg || { echo "grub.cfg lacks root=UUID=$root_uuid" >&2; exit 1; }
fi

rm -f /tmp/gsi-finish.env /tmp/gsi-finish.sh
find /var/log -type f -exec truncate -s 0 {} +
