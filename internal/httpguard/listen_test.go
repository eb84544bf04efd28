package httpguard

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Loopback addresses standing for distinct clients.
var (
	attacker = netip.MustParseAddr("127.0.0.2")
	citizen  = netip.MustParseAddr("127.0.0.3")
)

// dialFrom opens a TCP connection to addr from the loopback address from.
func dialFrom(t testing.TB, from netip.Addr, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing %s from %s: %v", addr, from, err)
	}
	return c
}

func TestClientLimitListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitPerClient(raw, 2)
	defer func() { _ = ln.Close() }()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	addr := raw.Addr().String()
	next := func() net.Conn {
		select {
		case c := <-accepted:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no connection accepted")
			return nil
		}
	}
	// closedByServer reads from a client's connection until the server
	// closes it.
	closedByServer := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && (!errors.As(err, &ne) || !ne.Timeout())
	}

	dial := func(from netip.Addr) net.Conn {
		c := dialFrom(t, from, addr)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	dial(attacker)
	dial(attacker)
	s1, s2 := next(), next()
	// The attacker's third connection is closed; another client's is taken.
	a3 := dial(attacker)
	if !closedByServer(a3) {
		t.Error("a client's third connection was kept, the limit is 2")
	}
	dial(citizen)
	if c := next(); ClientAddr(c) != citizen {
		t.Errorf("accepted a connection of %s, want %s's", ClientAddr(c), citizen)
	}
	if got := ln.Clients(); got[attacker] != 2 || got[citizen] != 1 || ln.Refused() != 1 {
		t.Errorf("clients %v, %d refused; want 2 of %s, 1 of %s, 1 refused", got, ln.Refused(), attacker, citizen)
	}
	// A connection closed gives its client's place back, once however
	// often it is closed.
	_ = s1.Close()
	_ = s1.Close()
	dial(attacker)
	if c := next(); ClientAddr(c) != attacker {
		t.Errorf("accepted a connection of %s, want %s's", ClientAddr(c), attacker)
	}
	a5 := dial(attacker)
	if !closedByServer(a5) {
		t.Error("a closed connection gave back two places")
	}
	_ = s2.Close()
	if got := ln.Clients()[attacker]; got != 1 {
		t.Errorf("%s holds %d connections, want 1", attacker, got)
	}
}
