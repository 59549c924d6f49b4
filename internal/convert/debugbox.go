package convert

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gold-standard-images/internal/kvm"
	"gold-standard-images/internal/ova"
	"gold-standard-images/internal/run"
)

// Debug boxes: the images of aws, azure, docker, gcp, openstack and vmware
// carry no vagrant user (an image for a cloud, vSphere or a registry must
// not ship passwordless sudo), so their Vagrant box is made from a copy of
// the built disk on which guestfish adds what Ansible's vagrant_user role
// gives the virtualbox image: the
// user vagrant, the site's vagrant public key as its authorized_keys (0700
// .ssh, 0600 file, owned by vagrant) and a sudoers drop-in letting it sudo
// without password or tty (0440). The Packer output and the platform's
// artifact are never written to.

// libvirtDebugBox is the debug box of a QEMU build: a qcow2 copy of its
// disk, the vagrant user added, as a libvirt box.
func libvirtDebugBox(ctx context.Context, j *job, tmp string) ([]string, error) {
	disk := filepath.Join(filepath.Dir(tmp), "debug.qcow2")
	if err := j.qemuImg(ctx, "convert", "-f", "qcow2", "-O", "qcow2", j.input, disk); err != nil {
		return nil, fmt.Errorf("copying %q for the debug box: %w", j.input, err)
	}
	if err := addVagrantUser(ctx, j, disk); err != nil {
		return nil, err
	}
	return nil, writeLibvirtBox(ctx, j, disk, tmp)
}

// virtualboxDebugBox is the debug box of a VirtualBox build (aws): the OVA's
// first disk copied out, the vagrant user added, written back as a
// streamOptimized VMDK under its name in the OVA, as a virtualbox box.
func virtualboxDebugBox(ctx context.Context, j *job, tmp string) ([]string, error) {
	dir := filepath.Dir(tmp)
	name, vmdk, err := firstOVADisk(j.input, dir)
	if err != nil {
		return nil, err
	}
	if _, err := j.checkDisk(ctx, vmdk, "vmdk"); err != nil {
		return nil, fmt.Errorf("reading the disk %q of %q for the debug box: %w", name, j.input, err)
	}
	disk := filepath.Join(dir, "debug.qcow2")
	if err := j.qemuImgOver(ctx, vmdk, "convert", "-f", "vmdk", "-O", "qcow2", vmdk, disk); err != nil {
		return nil, fmt.Errorf("copying the disk %q of %q for the debug box: %w", name, j.input, err)
	}
	os.Remove(vmdk)
	if err := addVagrantUser(ctx, j, disk); err != nil {
		return nil, err
	}
	if err := j.qemuImgOver(ctx, disk, "convert", "-f", "qcow2", "-O", "vmdk", "-o", "subformat=streamOptimized", disk, vmdk); err != nil {
		return nil, fmt.Errorf("writing the debug box's disk %q: %w", name, err)
	}
	os.Remove(disk)
	return nil, writeVirtualboxBox(ctx, j, tmp, map[string]string{name: vmdk})
}

// vmwareDebugBox is the debug box of the vmware build: the VMX's first
// disk (split into extents or not) copied into a qcow2, the vagrant user
// added, written back as one monolithicSparse VMDK under the disk's name,
// boxed with the VM's other files as a vmware_desktop box.
func vmwareDebugBox(ctx context.Context, j *job, tmp string) ([]string, error) {
	dir := filepath.Dir(tmp)
	disks, err := ova.VMXDisks(j.input)
	if err != nil {
		return nil, err
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("reading the VMX %q: it attaches no .vmdk disk", j.input)
	}
	if filepath.Dir(disks[0]) != j.inDir {
		return nil, fmt.Errorf("reading the VMX %q: its disk %q is not beside it", j.input, disks[0])
	}
	disk := filepath.Join(dir, "debug.qcow2")
	if err := j.qemuImgOver(ctx, j.inDir, "convert", "-f", "vmdk", "-O", "qcow2", disks[0], disk); err != nil {
		return nil, fmt.Errorf("copying the disk %q for the debug box: %w", disks[0], err)
	}
	if err := addVagrantUser(ctx, j, disk); err != nil {
		return nil, err
	}
	vmdk := filepath.Join(dir, filepath.Base(disks[0]))
	if err := j.qemuImgOver(ctx, disk, "convert", "-f", "qcow2", "-O", "vmdk", "-o", "subformat=monolithicSparse", disk, vmdk); err != nil {
		return nil, fmt.Errorf("writing the debug box's disk %q: %w", filepath.Base(vmdk), err)
	}
	os.Remove(disk)
	return nil, writeVmwareBox(ctx, j, tmp, filepath.Base(vmdk), vmdk)
}

// firstOVADisk copies the first .vmdk member of the OVA ova into dir and
// returns its name in the OVA and the copy's path.
func firstOVADisk(ova, dir string) (name, path string, err error) {
	in, err := os.Open(ova)
	if err != nil {
		return "", "", fmt.Errorf("reading %q: %w", ova, err)
	}
	defer in.Close()
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", "", fmt.Errorf("reading the OVA %q: no .vmdk disk in it", ova)
		}
		if err != nil {
			return "", "", fmt.Errorf("reading the OVA %q: %w", ova, err)
		}
		if filepath.Ext(h.Name) != ".vmdk" {
			continue
		}
		path = filepath.Join(dir, "ova-"+filepath.Base(h.Name))
		out, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return "", "", fmt.Errorf("copying the disk %q out of the OVA %q: %w", h.Name, ova, err)
		}
		return filepath.Base(h.Name), path, nil
	}
}

// addVagrantUser adds the vagrant user, its key and its sudoers drop-in to
// the disk (a private qcow2 copy) in one guestfish session.
func addVagrantUser(ctx context.Context, j *job, disk string) error {
	key, err := readVagrantKey(j.vagrantKey)
	if err != nil {
		return err
	}
	env, accel, err := j.libguestfsEnv(ctx)
	if err != nil {
		return err
	}
	err = run.Run(ctx, run.Cmd{
		Name:    "guestfish",
		Args:    []string{"--format=qcow2", "-a", disk, "-i"},
		Stdin:   strings.NewReader("sh " + guestfishQuote(vagrantUserScript(key)) + "\n"),
		Env:     env,
		Output:  j.tools,
		Timeout: boundFor(disk, guestfishStartup, guestfishRate),
		Log:     j.toolLog,
		Hint:    fmt.Sprintf("the libguestfs appliance did not start or stalled (%s; QEMU_ACCELERATOR=tcg or LIBGUESTFS_BACKEND_SETTINGS=force_tcg forces TCG, LIBGUESTFS_DEBUG=1 shows where it stops), a guest without useradd or sh, or a full disk (df -h %s)", accel.Line, j.outDir),
	})
	if err != nil {
		return fmt.Errorf("adding the vagrant user to the debug box's copy of %q: %w", j.input, err)
	}
	return nil
}

// libguestfsEnv is the environment guestfish runs with: TCG where KVM runs
// no guest (kvm.Choose), and the direct backend unless LIBGUESTFS_BACKEND
// says otherwise.
func (j *job) libguestfsEnv(ctx context.Context) ([]string, kvm.Choice, error) {
	accel, err := kvm.Choose(ctx, j.getenv, "")
	if err != nil {
		return nil, accel, err
	}
	env := accel.GuestfishEnv(j.getenv)
	return env, accel, nil
}

// publicKeyLine is one OpenSSH public key line, with nothing a shell or
// guestfish string would read specially.
var publicKeyLine = regexp.MustCompile(`^(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [^'"\\\x00-\x1f]*)?$`)

// readVagrantKey reads the site's vagrant public key (keys/vagrant.pub).
func readVagrantKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the vagrant public key for the debug box: %w; `mage keys` makes it", err)
	}
	key := strings.TrimSpace(string(data))
	if !publicKeyLine.MatchString(key) {
		return "", fmt.Errorf("reading the vagrant public key %q for the debug box: want one OpenSSH public key line (type, base64 key, comment without quotes or backslashes)", path)
	}
	return key, nil
}

// vagrantUserScript is the shell script, run in the guest by guestfish's
// sh, that does what ansible/roles/vagrant_user does. It uses the guest's
// own useradd, so that EL and Debian each allocate ids and write passwd,
// shadow and group their way; on an SELinux guest the files it touched are
// labelled again (or the next boot relabels everything).
func vagrantUserScript(key string) string {
	return `set -e
key='` + key + `'
getent passwd vagrant >/dev/null || useradd -m -s /bin/bash -c Vagrant vagrant
home=$(getent passwd vagrant | cut -d: -f6)
group=$(id -gn vagrant)
install -d -m 0700 -o vagrant -g "$group" "$home/.ssh"
printf '%s\n' "$key" > "$home/.ssh/authorized_keys"
chown vagrant:"$group" "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"
[ -d /etc/sudoers.d ] || install -d -m 0750 /etc/sudoers.d
grep -Eq '^[#@]includedir[[:space:]]+/etc/sudoers.d' /etc/sudoers 2>/dev/null || printf '#includedir /etc/sudoers.d\n' >> /etc/sudoers
printf '%s\n' '# Added by gold-standard-images to the debug box only.' 'Defaults:vagrant !requiretty' 'Defaults:vagrant env_keep += "SSH_AUTH_SOCK"' 'vagrant ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/vagrant
chown root:root /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
if command -v visudo >/dev/null 2>&1; then visudo -cqf /etc/sudoers.d/vagrant; fi
if [ -f /etc/selinux/config ] && ! grep -q '^SELINUX=disabled' /etc/selinux/config; then
  type=$(sed -n 's/^SELINUXTYPE=//p' /etc/selinux/config)
  paths=
  for p in /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid /etc/subgid /etc/sudoers /etc/sudoers.d "$home"; do [ -e "$p" ] && paths="$paths $p"; done
  setfiles -F /etc/selinux/${type:-targeted}/contexts/files/file_contexts $paths 2>/dev/null || touch /.autorelabel
fi
`
}

// guestfishQuote quotes s as one guestfish argument (a double-quoted
// string with backslash escapes).
func guestfishQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}
