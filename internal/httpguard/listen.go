package httpguard

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/net/netutil"
)

// ClientLimitListener accepts at most limit connections at once from one
// client (remote IP address); a connection past that is closed as soon as
// it is accepted, and the listener accepts the next one. One client that
// opens many connections, idle or silent, then holds at most limit of the
// service's connections and never makes another client wait.
type ClientLimitListener struct {
	net.Listener
	limit int
	mu    sync.Mutex
	open  map[netip.Addr]int
	// refused counts the connections closed for their client's limit.
	refused atomic.Int64
}

// LimitPerClient wraps ln so that it accepts at most limit connections at
// once from each remote IP address.
func LimitPerClient(ln net.Listener, limit int) *ClientLimitListener {
	return &ClientLimitListener{Listener: ln, limit: limit, open: map[netip.Addr]int{}}
}

// Accept returns the next connection whose client is within its limit.
func (l *ClientLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := ClientAddr(c)
		if l.acquire(ip) {
			return &clientConn{Conn: c, release: sync.OnceFunc(func() { l.release(ip) })}, nil
		}
		l.refused.Add(1)
		_ = c.Close()
	}
}

func (l *ClientLimitListener) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.limit {
		return false
	}
	l.open[ip]++
	return true
}

func (l *ClientLimitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// Refused is how many connections the listener has closed for their
// client's limit.
func (l *ClientLimitListener) Refused() int64 { return l.refused.Load() }

// Clients is how many connections each client holds now.
func (l *ClientLimitListener) Clients() map[netip.Addr]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[netip.Addr]int, len(l.open))
	for ip, n := range l.open {
		m[ip] = n
	}
	return m
}

// ClientAddr is the remote IP address of c, IPv4 in IPv6 unmapped; the
// zero address for a connection that is not TCP (all such count as one
// client).
func ClientAddr(c net.Conn) netip.Addr {
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

// LimitedListener is a listener with both limits: at most perClient
// connections from one client, at most total at once; a connection past
// total waits in the listen backlog until one closes.
type LimitedListener struct {
	net.Listener
	// PerClient is the per-client limit under the total, with its counts.
	PerClient *ClientLimitListener
}

// Limited wraps ln with the two limits. A connection over its client's
// limit is refused without taking one of the total's places.
func Limited(ln net.Listener, perClient, total int) *LimitedListener {
	pc := LimitPerClient(ln, perClient)
	return &LimitedListener{Listener: netutil.LimitListener(pc, total), PerClient: pc}
}

// ListenLimited listens on the TCP address addr with the two limits, as
// Limited.
func ListenLimited(addr string, perClient, total int) (*LimitedListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Limited(ln, perClient, total), nil
}
