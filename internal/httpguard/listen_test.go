package httpguard

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/httpguard/guardtest"
)

// The clients of the tests (guardtest).
var (
	attacker = guardtest.Attacker
	citizen  = guardtest.Citizen
	dialFrom = guardtest.DialFrom
)

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
