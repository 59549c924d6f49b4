package debian

import (
	"fmt"
	"sort"
	"strings"
)

// row is what one provider's Debian image holds beyond the common part:
// its packages, whether it boots (kernel and GRUB) and runs cloud-init,
// cloud-init's datasources, its kernel arguments and its default NTP
// servers. As Debian's cloud team ships them (debian-cloud-images,
// config_space classes GENERICCLOUD, AZURE, GCE).
type row struct {
	packages    []string
	boots       bool     // kernel, GRUB for BIOS and UEFI, sshd, growroot
	cloudInit   bool     // cloud-init makes the user, keys and network
	datasources []string // cloud-init's datasource_list
	kernelArgs  []string // beyond the serial console
	ntp         []string // default NTP servers; the site's win
	sshd        []string // sshd settings beyond keys only, one "Key value" each
}

// rows is the one table of providers this package makes disks for.
var rows = map[string]row{
	"openstack": {
		packages:  []string{"qemu-guest-agent"},
		boots:     true,
		cloudInit: true, datasources: []string{"NoCloud", "ConfigDrive", "OpenStack", "None"},
	},
	"azure": {
		packages:  []string{"waagent", "hyperv-daemons"},
		boots:     true,
		cloudInit: true, datasources: []string{"Azure"},
		kernelArgs: []string{"nvme_core.io_timeout=240"},
	},
	"gcp": {
		packages:   []string{"google-guest-agent", "google-compute-engine-oslogin"},
		boots:      true,
		kernelArgs: []string{"intel_iommu=off"},
		ntp:        []string{"metadata.google.internal"},
		// Google's guide to custom images: keep idle sessions through its
		// load balancers, no X11.
		sshd: []string{"ClientAliveInterval 420", "X11Forwarding no"},
	},
	// docker: the root file system only; the rootfs conversion makes the
	// tarball, without kernel, modules, firmware or boot loader.
	"docker": {},
}

// common are the packages of every provider's image.
var common = []string{"ca-certificates"}

// booting are the packages of every image that boots: systemd, the cloud
// kernel, GRUB for BIOS and UEFI, sshd, networking as Debian 12's cloud
// images do it (netplan rendering to systemd-networkd, systemd-resolved),
// chrony, and the root file system grown at boot (growroot in the
// initramfs, growpart).
var booting = []string{
	"systemd-sysv", "udev", "dbus", "linux-image-cloud-amd64",
	"grub-pc-bin", "grub-efi-amd64-bin", "grub2-common",
	"openssh-server", "python3", "sudo", "iproute2",
	"netplan.io", "systemd-resolved", "chrony",
	"cloud-guest-utils", "cloud-initramfs-growroot",
}

// Providers lists the providers this package can make a disk for.
func Providers() []string {
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lookup returns the row of provider, or an error naming it.
func lookup(provider string) (row, error) {
	r, ok := rows[provider]
	if !ok {
		return row{}, fmt.Errorf("making a Debian disk for %q: no such provider here (known: %s)", provider, strings.Join(Providers(), ", "))
	}
	return r, nil
}

// Packages is the sorted package list of provider's bootstrap.
func (r row) Packages() []string {
	p := append([]string{}, common...)
	if r.boots {
		p = append(p, booting...)
	}
	if r.cloudInit {
		p = append(p, "cloud-init")
	}
	p = append(p, r.packages...)
	sort.Strings(p)
	return p
}
