#!/usr/bin/env bash
# Installs, on a Debian 12 host, the tools the test suite runs for real:
# qemu-img and qemu-system (disk conversions, TCG), libguestfs (rootfs export
# without KVM), vagrant (catalog), vagrant-libvirt with libvirtd and dnsmasq
# (boxes:check boots the fixture box; util-linux's unshare and iproute2 put it
# in a network namespace of its own), docker-registry and skopeo (image push),
# podman (kickstart container), ansible and ansible-lint, shellcheck, gnupg,
# mmdebstrap and socat (the e2e test's fixture guest and its kickstart relay),
# dosfstools and mtools (the NoCloud seed of the e2e growth check, made without a loop mount),
# jq (the GitLab CI example in docs/ci.md), glance-api (a real Glance for upload:openstack,
# started by its tests), ovmf (UEFI firmware of the QEMU builds with firmware uefi),
# and from npm Azurite (the Azure Storage emulator of upload:azure's tests).
# Idempotent: does nothing when every tool is already there. apt waits for
# the locks another apt holds (apt-wait.sh; APT_LOCK_TIMEOUT, default 600 s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  qemu-utils qemu-system-x86 libguestfs-tools linux-image-amd64
  vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base util-linux iproute2
  docker-registry skopeo podman runc uidmap
  ansible ansible-lint shellcheck gnupg openssl fdisk e2fsprogs xorriso mmdebstrap socat ovmf dosfstools mtools
  git ca-certificates jq glance-api
)
# npm packages: the command each installs, and the package@version.
npm_tools=(
  "azurite-blob azurite@3.35.0"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm itself: Debian's package where no Node.js with its own npm is installed.
command -v npm >/dev/null || missing+=(npm)
missing_npm=()
for t in "${npm_tools[@]}"; do
  command -v "${t%% *}" >/dev/null || missing_npm+=("${t#* }")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_npm[@]} -eq 0 ]; then
  echo ">> test tools: all installed"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install as root: apt-get install ${missing[*]}; npm install -g ${missing_npm[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo ">> test tools: installing ${missing[*]}"
  apt=("${sudo[@]}" env APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}" DEBIAN_FRONTEND=noninteractive "$here/apt-wait.sh")
  "${apt[@]}" update -qq
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#missing_npm[@]} -gt 0 ]; then
  echo ">> test tools: installing ${missing_npm[*]} (npm)"
  "${sudo[@]}" npm install -g --no-fund --no-audit "${missing_npm[@]}"
fi
