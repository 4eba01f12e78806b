//go:build bench && !linux

package benchreport

import "net"

// stampListener is the listener itself where the kernel's receive stamps
// are not read: a call then starts when the proxy sees its first bytes.
func stampListener(l net.Listener) net.Listener { return l }
