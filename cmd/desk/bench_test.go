package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
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

// clientFrom is an HTTP client whose connections come from the loopback
// address from, a new one for each request, and whose requests fail after
// timeout.
func clientFrom(from netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// getFrom asks url from the address from within timeout.
func getFrom(from netip.Addr, url string, timeout time.Duration) (int, string, error) {
	resp, err := clientFrom(from, timeout).Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// attack is connections an attacker holds open.
type attack []net.Conn

func (a attack) close() {
	for _, c := range a {
		_ = c.Close()
	}
}

// holdIdle opens n connections from the attacker to addr, sends one
// request of path on each and reads its answer, and leaves them open and
// idle; it returns how many were answered 200.
func holdIdle(t testing.TB, addr, path string, n int) (attack, int) {
	t.Helper()
	var a attack
	answered := 0
	for range n {
		c := dialFrom(t, attacker, addr)
		a = append(a, c)
		_, _ = io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: desk\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			answered++
		}
	}
	return a, answered
}

// holdSilent opens n connections from the attacker to addr that never send
// a byte.
func holdSilent(t testing.TB, addr string, n int) attack {
	t.Helper()
	var a attack
	for range n {
		a = append(a, dialFrom(t, attacker, addr))
	}
	return a
}

// BenchmarkStarvedDesk measures how long a citizen's GET /v1/office waits
// on a desk with the shipped limits while one client holds 256 idle
// kept-alive connections, or 2,000 silent ones, on its public port; the
// citizen's client gives up after 2 minutes. Each iteration starts a desk
// and the attack afresh (untimed), so run it a few times, not for a
// duration:
//
//	go test ./cmd/desk -run '^$' -bench StarvedDesk -benchtime 3x
//
// Only the citizen's request is timed: ns/op is its wait, as is wait-s in
// seconds.
func BenchmarkStarvedDesk(b *testing.B) {
	for _, tc := range []struct {
		name string
		hold func(b *testing.B, addr string) attack
	}{
		{"idle-keepalive-256", func(b *testing.B, addr string) attack { a, _ := holdIdle(b, addr, "/v1/office", 256); return a }},
		{"silent-2000", func(b *testing.B, addr string) attack { return holdSilent(b, addr, 2000) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.StopTimer()
			file := filepath.Join(b.TempDir(), "office.json")
			data, _, err := plainOffice().Marshal()
			if err != nil {
				b.Fatal(err)
			}
			writeFile(b, file, string(data))
			var waited time.Duration
			for range b.N {
				addr, stop := benchDesk(b, file)
				a := tc.hold(b, addr)
				b.StartTimer()
				start := time.Now()
				code, body, err := getFrom(citizen, "http://"+addr+"/v1/office", 2*time.Minute)
				waited += time.Since(start)
				b.StopTimer()
				if err != nil || code != http.StatusOK {
					b.Errorf("GET /v1/office = %d %.100s, %v", code, body, err)
				}
				a.close()
				stop()
			}
			b.ReportMetric(waited.Seconds()/float64(b.N), "wait-s")
		})
	}
}

// benchDesk serves the configuration file with the default options on the
// desk's public listener; stop closes it and its connections.
func benchDesk(b *testing.B, file string) (addr string, stop func()) {
	b.Helper()
	d, err := newDesk(file, defaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	eps, err := d.endpoints("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	for _, ep := range eps {
		go func() { _ = ep.srv.Serve(ep.ln) }()
	}
	return eps[0].ln.Addr().String(), func() {
		for _, ep := range eps {
			_ = ep.srv.Close()
		}
	}
}
