// Package guardtest holds what the tests of a guarded HTTP service share:
// loopback addresses that stand for distinct clients, and dialing from
// them.
package guardtest

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// Loopback addresses standing for distinct clients.
var (
	Attacker = netip.MustParseAddr("127.0.0.2")
	Citizen  = netip.MustParseAddr("127.0.0.3")
)

// DialFrom opens a TCP connection to addr from the loopback address from.
func DialFrom(t testing.TB, from netip.Addr, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing %s from %s: %v", addr, from, err)
	}
	return c
}
