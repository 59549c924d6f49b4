#!/bin/bash
# Runs in the guest after the Ansible play (Packer's shell provisioner, as
# root), before zero.sh: removes what must not ship in an image built from
# it (caches, logs, the kickstart copies with the root password hash, the
# machine and network identity, shell history) and, last, the build's SSH key.
# Packer keeps the SSH connection it opened at the start for this script,
# zero.sh and the shutdown, so removing the key here does not lock it out.
set -euo pipefail

say() { printf '>> cleanup: %s\n' "$*"; }

say "package caches"
if command -v yum >/dev/null; then
  yum --quiet clean all # dnf on EL 8 and later
  rm -rf /var/cache/yum /var/cache/dnf
fi
if command -v apt-get >/dev/null; then # the e2e test's Debian fixture guest
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi

say "kickstart copies and install logs (they hold the root password hash)"
rm -f /root/anaconda-ks.cfg /root/original-ks.cfg /root/install.log /root/install.log.syslog
rm -rf /var/log/anaconda

say "machine and network identity"
# An empty machine-id makes systemd create a new one at the next boot.
: >/etc/machine-id
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
  rm -f /var/lib/dbus/machine-id
  ln -s /etc/machine-id /var/lib/dbus/machine-id
fi
rm -f /etc/udev/rules.d/70-persistent-net.rules
for ifcfg in /etc/sysconfig/network-scripts/ifcfg-*; do
  [ -f "$ifcfg" ] || continue
  [ "$ifcfg" = /etc/sysconfig/network-scripts/ifcfg-lo ] && continue
  # Bound to this VM's NIC; clones get new MAC addresses.
  sed -i -e '/^HWADDR=/d' -e '/^UUID=/d' "$ifcfg"
done
rm -f /var/lib/dhclient/* /var/lib/NetworkManager/*.lease
rm -rf /var/lib/cloud/instance /var/lib/cloud/instances

say "logs, temporary files and shell history"
find /var/log -type f \( -name '*.gz' -o -name '*.old' -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' -o -name '*.[0-9]' \) -delete
find /var/log -type f -exec truncate --size=0 {} +
find /tmp /var/tmp -mindepth 1 -delete
rm -f /root/.bash_history /home/*/.bash_history
unset HISTFILE

say "the build's SSH key (root keeps no authorized keys)"
rm -f /root/.ssh/authorized_keys
if [ -e /root/.ssh/authorized_keys ]; then
  echo "cleanup: /root/.ssh/authorized_keys is still there" >&2
  exit 1
fi

sync
say "done"
