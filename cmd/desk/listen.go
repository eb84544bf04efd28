package main

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/net/netutil"
)

// clientLimitListener accepts at most limit connections at once from one
// client (remote IP address); a connection past that is closed as soon as
// it is accepted, and the listener accepts the next one. One client that
// opens many connections, idle or silent, then holds at most limit of the
// desk's connections and never makes another client wait.
type clientLimitListener struct {
	net.Listener
	limit int
	mu    sync.Mutex
	open  map[netip.Addr]int
	// refused counts the connections closed for their client's limit.
	refused atomic.Int64
}

// limitPerClient wraps ln so that it accepts at most limit connections at
// once from each remote IP address.
func limitPerClient(ln net.Listener, limit int) *clientLimitListener {
	return &clientLimitListener{Listener: ln, limit: limit, open: map[netip.Addr]int{}}
}

// Accept returns the next connection whose client is within its limit.
func (l *clientLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientAddr(c)
		if l.acquire(ip) {
			return &clientConn{Conn: c, release: sync.OnceFunc(func() { l.release(ip) })}, nil
		}
		l.refused.Add(1)
		_ = c.Close()
	}
}

func (l *clientLimitListener) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.limit {
		return false
	}
	l.open[ip]++
	return true
}

func (l *clientLimitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// clients is how many connections each client holds now.
func (l *clientLimitListener) clients() map[netip.Addr]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[netip.Addr]int, len(l.open))
	for ip, n := range l.open {
		m[ip] = n
	}
	return m
}

// clientAddr is the remote IP address of c, IPv4 in IPv6 unmapped; the
// zero address for a connection that is not TCP (all such count as one
// client).
func clientAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// clientConn gives its client's place back when it closes.
type clientConn struct {
	net.Conn
	release func()
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// limitedListener is one of the desk's listeners: at most perClient
// connections from one client, at most total at once; a connection past
// total waits in the listen backlog until one closes.
type limitedListener struct {
	net.Listener
	perClient *clientLimitListener
}

// listenLimited listens on addr with the two limits. A connection over its
// client's limit is refused without taking one of the total's places.
func listenLimited(addr string, perClient, total int) (*limitedListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := limitPerClient(ln, perClient)
	return &limitedListener{Listener: netutil.LimitListener(pc, total), perClient: pc}, nil
}
