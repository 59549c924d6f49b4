package inspect

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gold-standard-images/internal/run"
)

// needs is what the rules of one image read.
type needs struct {
	files    []string // read when present
	globs    []string // listed
	packages bool
	boot     bool // kernel command lines
	kernels  bool // kernels and their initramfs
	shipped  bool // modules.dep too
	sshd     bool
	keyFiles bool // every account's authorized_keys (homes from /etc/passwd)
	sudoers  bool // the sudoers drop-ins
}

func needsOf(rules []Rule) needs {
	var n needs
	add := func(list *[]string, v ...string) {
		for _, s := range v {
			if !slices.Contains(*list, s) {
				*list = append(*list, s)
			}
		}
	}
	for _, r := range rules {
		switch r.Kind {
		case FileExists, FileHas, FileLacks:
			add(&n.files, r.Args[0])
		case NoFiles:
			add(&n.globs, r.Args[0])
		case UnitEnabled:
			add(&n.globs, "/etc/systemd/system/*.wants/"+r.Args[0])
		case RootLocked:
			add(&n.files, "/etc/shadow")
		case NoBuildKey:
			add(&n.files, "/root/.ssh/authorized_keys")
		case NoKnownKey:
			n.keyFiles = true
			add(&n.files, "/etc/passwd")
		case NoPasswordlessSudo:
			n.sudoers = true
			add(&n.files, sudoersFile)
			add(&n.globs, sudoersDropins)
		case SSHD:
			n.sshd = true
			add(&n.files, sshdConfig)
			add(&n.globs, sshdDropins)
		case Installed, NotInstalled:
			n.packages = true
		case KernelArgs, NoKernelArgs:
			n.boot = true
			add(&n.files, grubEnv, defaultGrub)
			add(&n.globs, bootGlobs...)
		case NotInRootfs:
			for _, dir := range r.Args {
				add(&n.globs, dir+"/*")
			}
		case InitramfsModules, InitramfsModulesShipped:
			n.kernels = true
			n.shipped = n.shipped || r.Kind == InitramfsModulesShipped
			add(&n.globs, "/boot/vmlinuz-*", "/boot/initramfs-*.img", "/boot/initrd.img-*")
		}
	}
	return n
}

// readDisk opens disk (read-only, in format) in one guestfish session and
// reads what rules need; the family comes from libguestfs' inspection and
// only then are the rules for it chosen (pick). Downloads (initramfs
// images) go to tmp. cmd carries the bounds (Timeout, Log, Env, Output).
func readDisk(ctx context.Context, disk, format, tmp string, pick func(family string) []Rule, cmd run.Cmd) (*Image, []Rule, error) {
	s, err := start(ctx, disk, format, cmd)
	if err != nil {
		return nil, nil, err
	}
	im, rules, err := gather(s, tmp, pick)
	cerr := s.close()
	if err != nil {
		if cerr != nil {
			return nil, nil, fmt.Errorf("reading %q with guestfish: %w", disk, cerr)
		}
		return nil, nil, fmt.Errorf("reading %q with guestfish: %w", disk, err)
	}
	if cerr != nil {
		return nil, nil, fmt.Errorf("reading %q with guestfish: %w", disk, cerr)
	}
	return im, rules, nil
}

func gather(s *session, tmp string, pick func(family string) []Rule) (*Image, []Rule, error) {
	out, err := s.batch([]string{"inspect-get-roots"})
	if err != nil {
		return nil, nil, err
	}
	root := strings.TrimSpace(strings.SplitN(out[0], "\n", 2)[0])
	qroot, ok := quote(root)
	if root == "" || !ok {
		return nil, nil, fmt.Errorf("libguestfs found no operating system")
	}
	out, err = s.batch([]string{"inspect-get-distro " + qroot})
	if err != nil {
		return nil, nil, err
	}
	im := &Image{Distro: strings.TrimSpace(out[0]), Files: map[string]string{}}
	im.Family = Family(im.Distro)
	rules := pick(im.Family)
	n := needsOf(rules)

	// Phase 1: the files named by the rules, the globs, the packages.
	var cmds []string
	var files []string
	for _, f := range n.files {
		if q, ok := quote(f); ok {
			files = append(files, f)
			cmds = append(cmds, "is-file "+q+" followsymlinks:true", "cat "+q)
		}
	}
	for _, g := range n.globs {
		q, _ := quote(g)
		cmds = append(cmds, "glob-expand "+q)
	}
	if n.packages {
		cmds = append(cmds, "inspect-list-applications2 "+qroot)
	}
	out, err = s.batch(cmds)
	if err != nil {
		return nil, nil, err
	}
	for i, f := range files {
		if strings.TrimSpace(out[2*i]) == "true" {
			im.Files[f] = out[2*i+1]
		}
	}
	out = out[2*len(files):]
	for i := range n.globs {
		for _, p := range strings.Split(out[i], "\n") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(im.Paths, p) {
				im.Paths = append(im.Paths, p)
			}
		}
	}
	if n.packages {
		im.Packages = map[string]bool{}
		for _, l := range strings.Split(out[len(n.globs)], "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(l), "app2_name: "); ok {
				im.Packages[name] = true
			}
		}
	}

	// Phase 2: what phase 1 found: boot entries, sshd and sudoers
	// drop-ins, the accounts' authorized_keys, kernels.
	cmds, files = nil, nil
	var more []string
	if n.boot {
		for _, g := range bootGlobs {
			more = append(more, im.glob(g)...)
		}
	}
	if n.sshd {
		more = append(more, im.glob(sshdDropins)...)
	}
	if n.sudoers {
		more = append(more, im.glob(sudoersDropins)...)
	}
	for _, f := range more {
		if q, ok := quote(f); ok {
			files = append(files, f)
			cmds = append(cmds, "cat "+q)
		}
	}
	var keyFiles []string // each with two answers: is-file, cat
	if n.keyFiles {
		for _, f := range keyFilesOf(im.Files["/etc/passwd"]) {
			if q, ok := quote(f); ok {
				keyFiles = append(keyFiles, f)
				cmds = append(cmds, "is-file "+q+" followsymlinks:true", "cat "+q)
			}
		}
	}
	var kernels []*Kernel
	if n.kernels {
		for _, v := range im.glob("/boot/vmlinuz-*") {
			ver := strings.TrimPrefix(v, "/boot/vmlinuz-")
			if strings.Contains(ver, "-rescue-") {
				continue
			}
			k := &Kernel{Version: ver}
			for _, c := range []string{"/boot/initramfs-" + ver + ".img", "/boot/initrd.img-" + ver} {
				if slices.Contains(im.Paths, c) {
					k.Initramfs = c
				}
			}
			kernels = append(kernels, k)
			lists := []string{"modules.builtin"}
			if n.shipped {
				lists = append(lists, "modules.dep")
			}
			for _, list := range lists {
				q, _ := quote("/lib/modules/" + ver + "/" + list)
				cmds = append(cmds, "cat "+q)
			}
			if q, ok := quote(k.Initramfs); ok && k.Initramfs != "" {
				local, _ := quote(filepath.Join(tmp, path.Base(k.Initramfs)))
				cmds = append(cmds, "download "+q+" "+local)
			}
		}
	}
	if len(cmds) == 0 {
		return im, rules, nil
	}
	out, err = s.batch(cmds)
	if err != nil {
		return nil, nil, err
	}
	for i, f := range files {
		im.Files[f] = out[i]
	}
	out = out[len(files):]
	for i, f := range keyFiles {
		if strings.TrimSpace(out[2*i]) == "true" {
			im.Files[f] = out[2*i+1]
		}
	}
	out = out[2*len(keyFiles):]
	for _, k := range kernels {
		k.Builtin = moduleSet(out[0])
		k.Shipped = moduleSet(out[0])
		out = out[1:]
		if n.shipped {
			for m := range moduleSet(out[0]) {
				k.Shipped[m] = true
			}
			out = out[1:]
		}
		if k.Initramfs != "" {
			out = out[1:]
			k.Modules, k.Err = readInitramfs(filepath.Join(tmp, path.Base(k.Initramfs)))
		}
		im.Kernels = append(im.Kernels, *k)
	}
	return im, rules, nil
}

// keyFilesOf lists the authorized_keys files sshd reads by default for the
// accounts of passwd (/etc/passwd's text) and root: .ssh/authorized_keys
// and .ssh/authorized_keys2 in each home, sorted, once each.
func keyFilesOf(passwd string) []string {
	homes := []string{"/root"}
	for _, l := range strings.Split(passwd, "\n") {
		if f := strings.Split(l, ":"); len(f) >= 7 && strings.HasPrefix(f[5], "/") && path.Clean(f[5]) != "/" {
			homes = append(homes, path.Clean(f[5]))
		}
	}
	var out []string
	for _, h := range homes {
		for _, name := range []string{"authorized_keys", "authorized_keys2"} {
			if f := path.Join(h, ".ssh", name); !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out
}

// readInitramfs lists the modules of the initramfs downloaded to local.
func readInitramfs(local string) (map[string]bool, error) {
	f, err := os.Open(local)
	if err != nil {
		return nil, fmt.Errorf("reading the downloaded initramfs: %w", err)
	}
	defer f.Close()
	defer os.Remove(local)
	names, err := InitramfsFiles(f)
	if err != nil {
		return nil, err
	}
	mods := map[string]bool{}
	for _, n := range names {
		if m := ModuleName(n); m != "" {
			mods[m] = true
		}
	}
	return mods, nil
}
