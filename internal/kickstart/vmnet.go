package kickstart

import (
	"net"
	"strings"
)

// VMwareHostAddrs returns the host's IPv4 addresses on VMware's virtual
// network interfaces (vmnet1, vmnet8, ... on Linux), where Packer's
// {{ .HTTPIP }} points VMware guests.
func VMwareHostAddrs() []string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []string
	for _, ifc := range ifaces {
		if !strings.HasPrefix(ifc.Name, "vmnet") || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, ipn.IP.String())
			}
		}
	}
	return out
}
