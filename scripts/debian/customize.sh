#!/bin/sh
# Customizes a Debian bootstrap for one provider (mmdebstrap's
# --customize-hook, on the host; $1 is the new root). What does not depend
# on the disk or the site goes here, so it is cached with the bootstrap;
# finish.sh does the rest inside the disk. Read by internal/debian, which
# sets:
#   GSI_PROVIDER     provider name (openstack, azure, gcp, docker)
#   GSI_BOOTS        1 when the image boots (kernel, GRUB, sshd)
#   GSI_CLOUD_INIT   1 when cloud-init provisions the machine
#   GSI_DATASOURCES  cloud-init's datasource list, comma separated
#   GSI_KERNEL_ARGS  kernel arguments beyond the serial console
#   GSI_ROOT_LABEL   label of the root file system
#   GSI_SSHD         more sshd settings, comma separated ("Key value,...")
set -eu
root=$1

# Nothing of the build host: its resolv.conf, hostname and apt settings.
rm -f "$root/etc/hostname"
echo localhost >"$root/etc/hostname"
if [ ! -L "$root/etc/resolv.conf" ]; then
  rm -f "$root/etc/resolv.conf"
  if [ -e "$root/lib/systemd/system/systemd-resolved.service" ]; then
    ln -s ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
  fi
fi
rm -f "$root/etc/apt/apt.conf.d/"*proxy* "$root/etc/apt/apt.conf.d/99mmdebstrap"

# The locale cloud-init and Python expect (C.UTF-8 is built into glibc).
echo LANG=C.UTF-8 >"$root/etc/default/locale"

# Root is locked; the machine ID is made at first boot.
chroot "$root" passwd -l root >/dev/null
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

if [ "${GSI_BOOTS:-}" = 1 ]; then
  # sshd: keys only, no root password login.
  mkdir -p "$root/etc/ssh/sshd_config.d"
  cat >"$root/etc/ssh/sshd_config.d/50-gsi.conf" <<'CONF'
# gold-standard-images: keys only.
PasswordAuthentication no
PermitRootLogin prohibit-password
CONF
  if [ -n "${GSI_SSHD:-}" ]; then
    echo "$GSI_SSHD" | tr , '\n' >>"$root/etc/ssh/sshd_config.d/50-gsi.conf"
  fi
  # SSH host keys are made at first boot: by cloud-init where it runs, else
  # (or if it made none) by this unit, before sshd starts.
  cat >"$root/etc/systemd/system/gsi-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Make the SSH host keys this machine lacks
After=cloud-init.service
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
  chroot "$root" systemctl enable gsi-ssh-hostkeys.service systemd-networkd systemd-resolved >/dev/null 2>&1
  rm -f "$root"/etc/ssh/ssh_host_*

  # Without cloud-init nothing writes the network: DHCP on every NIC.
  if [ "${GSI_CLOUD_INIT:-}" != 1 ]; then
    cat >"$root/etc/systemd/network/90-gsi-dhcp.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
  fi
  # The kernel line: serial console, no menu wait (finish.sh installs GRUB
  # on the disk, whose update-grub writes root=UUID).
  mkdir -p "$root/etc/default/grub.d"
  cat >"$root/etc/default/grub.d/50-gsi.cfg" <<GRUB
# gold-standard-images: serial console, no menu wait, root by UUID.
GRUB_TIMEOUT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 earlyprintk=ttyS0${GSI_KERNEL_ARGS:+ $GSI_KERNEL_ARGS}"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
  # The initramfs is made here, on the host, where it takes seconds (in
  # the appliance under TCG, minutes): its fsck hook reads the root's type
  # from fstab, which finish.sh rewrites with the disk's UUIDs.
  echo "LABEL=$GSI_ROOT_LABEL / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1" >"$root/etc/fstab"
  chroot "$root" update-initramfs -u -k all
fi

if [ "${GSI_CLOUD_INIT:-}" = 1 ]; then
  cat >"$root/etc/cloud/cloud.cfg.d/90_gsi_datasources.cfg" <<CFG
# gold-standard-images: the datasources of $GSI_PROVIDER.
datasource_list: [ $(echo "$GSI_DATASOURCES" | sed 's/,/, /g') ]
CFG
fi

case $GSI_PROVIDER in
azure)
  # waagent leaves provisioning, the resource disk and swap to cloud-init.
  sed -i -e 's/^Provisioning.Agent=.*/Provisioning.Agent=cloud-init/' \
    -e 's/^ResourceDisk.Format=.*/ResourceDisk.Format=n/' \
    -e 's/^ResourceDisk.EnableSwap=.*/ResourceDisk.EnableSwap=n/' \
    "$root/etc/waagent.conf"
  grep -q '^Provisioning.Agent=cloud-init' "$root/etc/waagent.conf"
  # chrony reads the Hyper-V PTP clock where there is one.
  mkdir -p "$root/etc/chrony/conf.d"
  echo 'refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2' >"$root/etc/chrony/conf.d/azure.conf"
  ;;
esac

# No logs or caches of the build (mmdebstrap removes the apt lists).
rm -rf "$root/var/cache/apt/"*.bin "$root/var/lib/apt/lists/"* "$root/var/cache/debconf/"*-old
find "$root/var/log" -type f -exec truncate -s 0 {} +
