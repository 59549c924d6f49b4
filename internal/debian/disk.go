package debian

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gold-standard-images/internal/run"
)

// finishRecipe runs inside the new disk (guestfish `command`).
const finishRecipe = "scripts/debian/finish.sh"

// GPT partition types.
const (
	biosBootType = "21686148-6449-6E6F-744E-656564454649"
	espType      = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	linuxType    = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
)

// finishEnv is the settings file finish.sh reads.
func finishEnv(s Spec, provider string, r row) string {
	ntp := s.NTPServers
	if len(ntp) == 0 {
		ntp = r.ntp
	}
	vars := [][2]string{
		{"GSI_PROVIDER", provider},
		{"GSI_VM_NAME", s.VMName},
		{"GSI_VERSION", s.Version},
		{"GSI_BOOTS", flag(r.boots)},
		{"GSI_ROOT_LABEL", rootLabel},
		{"GSI_TIMEZONE", s.Timezone},
		{"GSI_NTP", strings.Join(ntp, " ")},
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s\n", v[0], shellQuote(v[1]))
	}
	return b.String()
}

// guestfishScript lays out the disk and fills it: for a disk that boots, a
// GPT with the BIOS boot partition (1 MiB), the ESP (127 MiB, vfat) and
// the root file system last, so that growroot can grow it; for docker the
// root file system alone. It unpacks rootfs, then runs finish.sh inside.
func guestfishScript(r row, disk, rootfs, env, finish string) string {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	p("add %s format:qcow2", gfQuote(disk))
	p("run")
	p("part-init /dev/sda gpt")
	root := "/dev/sda1"
	if r.boots {
		p("part-add /dev/sda p 2048 4095")
		p("part-add /dev/sda p 4096 264191")
		p("part-add /dev/sda p 264192 -34")
		p("part-set-gpt-type /dev/sda 1 %s", biosBootType)
		p("part-set-gpt-type /dev/sda 2 %s", espType)
		p("part-set-gpt-type /dev/sda 3 %s", linuxType)
		p("mkfs vfat /dev/sda2 label:UEFI")
		root = "/dev/sda3"
	} else {
		p("part-add /dev/sda p 2048 -34")
		p("part-set-gpt-type /dev/sda 1 %s", linuxType)
	}
	p("mkfs ext4 %s label:%s", root, rootLabel)
	p("mount %s /", root)
	if r.boots {
		p("mkdir-p /boot/efi")
		p("mount /dev/sda2 /boot/efi")
	}
	p("tar-in %s / xattrs:true acls:true", gfQuote(rootfs))
	p("upload %s /tmp/gsi-finish.env", gfQuote(env))
	p("upload %s /tmp/gsi-finish.sh", gfQuote(finish))
	p(`command "/bin/sh /tmp/gsi-finish.sh"`)
	p("fstrim /")
	p("umount-all")
	p("shutdown")
	return b.String()
}

// gfQuote quotes a file name for a guestfish script.
func gfQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// makeDisk makes the sparse qcow2 disk at tmp from rootfs.
func makeDisk(ctx context.Context, s Spec, provider string, r row, rootfs, tmp string, logw io.Writer) error {
	work, err := os.MkdirTemp(filepath.Dir(tmp), ".debian-disk-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env := filepath.Join(work, "finish.env")
	if err := os.WriteFile(env, []byte(finishEnv(s, provider, r)), 0o600); err != nil {
		return err
	}
	err = runTool(ctx, s, logw, run.Cmd{
		Name:    "qemu-img",
		Args:    []string{"create", "-q", "-f", "qcow2", tmp, fmt.Sprintf("%dM", s.DiskSizeMiB)},
		Timeout: diskcheckBound,
	})
	if err != nil {
		return err
	}
	script := guestfishScript(r, tmp, rootfs, env, filepath.Join(s.Root, finishRecipe))
	return runTool(ctx, s, logw, run.Cmd{
		Name:    "guestfish",
		Args:    []string{"--no-progress-bars", "-x"}, // -x: each command in the log
		Env:     s.GuestfishEnv,
		Stdin:   strings.NewReader(script),
		Timeout: guestfishBound,
		Hint:    "the libguestfs appliance did not start or stalled (QEMU_ACCELERATOR=tcg forces TCG, LIBGUESTFS_DEBUG=1 shows where it stops)",
	})
}
