package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/httpguard"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// waitFor waits, up to within, until cond holds; what says what did not.
func waitFor(t testing.TB, within time.Duration, cond func() bool, what func() string) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(within)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("after %s: %s", within, what())
		}
	}
}

// sampleConfig is the compiled configuration of an office of
// config/samples.
func sampleConfig(t testing.TB, office string) *xinfang.OfficeConfig {
	t.Helper()
	set, err := objfiles.Load("../../config/samples")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := set.OfficeConfig(office)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// patientOptions are the default limits with timeouts that never cut an
// attacker in a test: only the connection limits protect the desk.
func patientOptions() options {
	o := defaultOptions()
	o.ReadHeaderTimeout, o.ReadTimeout, o.WriteTimeout, o.IdleTimeout = time.Minute, time.Minute, time.Minute, time.Minute
	return o
}

// TestDeskStaysUp: 256 idle kept-alive connections, or 2,000 silent ones,
// from one client, on the public or the peer listener, leave another
// client's request and the probes answered within a second.
func TestDeskStaysUp(t *testing.T) {
	opts := patientOptions()
	const handler = "/v1/handler?category=land-acquisition&type=Appeal&channel=Visit"
	for _, listener := range []struct {
		name, path string
		ln         func(*liveDesk) (*httpguard.LimitedListener, string)
		perClient  int
	}{
		{"public", "/v1/office", func(l *liveDesk) (*httpguard.LimitedListener, string) { return l.public, l.addr }, opts.MaxConnectionsPerClient},
		{"peer", handler, func(l *liveDesk) (*httpguard.LimitedListener, string) { return l.peer, l.peerAddr }, opts.PeerMaxConnectionsPerClient},
	} {
		for _, attack := range []struct {
			name string
			n    int
			run  func(t *testing.T, addr, path string, n int) attack
		}{
			{"256 idle kept-alive connections", 256, func(t *testing.T, addr, path string, n int) attack {
				a, answered := holdIdle(t, addr, path, n)
				if answered != listener.perClient {
					t.Errorf("%d of the attacker's connections were answered, want %d", answered, listener.perClient)
				}
				return a
			}},
			{"2000 silent connections", 2000, func(t *testing.T, addr, _ string, n int) attack { return holdSilent(t, addr, n) }},
		} {
			t.Run(listener.name+"/"+attack.name, func(t *testing.T) {
				l := startDesk(t, sampleConfig(t, "shifosi-town"), opts, nil)
				ln, addr := listener.ln(l)
				a := attack.run(t, addr, listener.path, attack.n)
				defer a.close()
				held := func() bool {
					return ln.PerClient.Clients()[attacker] == listener.perClient && ln.PerClient.Refused() == int64(attack.n-listener.perClient)
				}
				waitFor(t, 10*time.Second, held, func() string {
					return fmt.Sprintf("the attacker holds %d connections, %d were refused; want %d and %d",
						ln.PerClient.Clients()[attacker], ln.PerClient.Refused(), listener.perClient, attack.n-listener.perClient)
				})

				for _, u := range []string{"http://" + addr + listener.path, "http://" + l.probeAddr + "/readyz", "http://" + l.probeAddr + "/healthz"} {
					if code, body, err := getFrom(citizen, u, time.Second); err != nil || code != http.StatusOK {
						t.Errorf("GET %s from %s under attack = %d %.100s, %v; want 200 within 1s", u, citizen, code, body, err)
					}
				}
				if !held() {
					t.Errorf("the attack ended before the requests: the attacker holds %d connections", ln.PerClient.Clients()[attacker])
				}
			})
		}
	}
}

// TestThreePorts: the public port serves the API and not the probes, the
// peer port only GET /v1/handler, the probe port only the probes.
func TestThreePorts(t *testing.T) {
	l := startDesk(t, sampleConfig(t, "shifosi-town"), defaultOptions(), nil)
	const handler = "/v1/handler?category=land-acquisition&type=Appeal&channel=Visit"
	for _, tc := range []struct {
		addr, method, path string
		code               int
		want               string
	}{
		{l.addr, "GET", "/v1/office", 200, `"office": "shifosi-town"`},
		{l.addr, "GET", handler, 200, `"route":`},
		{l.addr, "GET", "/healthz", 404, ""},
		{l.peerAddr, "GET", handler, 200, `"route":`},
		{l.peerAddr, "HEAD", handler, 200, ""},
		{l.peerAddr, "GET", "/v1/office", 404, `GET \"/v1/office\": the peer port answers only GET /v1/handler`},
		{l.peerAddr, "GET", "/v1/deadlines?received=2026-09-16", 404, "the peer port answers only GET /v1/handler"},
		{l.peerAddr, "GET", "/v1/windows?channel=Visit&at=2026-10-13T09:00:00Z", 404, "the peer port answers only GET /v1/handler"},
		{l.peerAddr, "POST", "/v1/route", 404, `POST \"/v1/route\": the peer port answers only GET /v1/handler`},
		{l.peerAddr, "POST", handler, 404, "the peer port answers only GET /v1/handler"},
		{l.peerAddr, "GET", "/readyz", 404, "the peer port answers only GET /v1/handler"},
		{l.probeAddr, "GET", "/healthz", 200, "ok"},
		{l.probeAddr, "GET", "/readyz", 200, "ok"},
		{l.probeAddr, "GET", "/v1/office", 404, ""},
		{l.probeAddr, "GET", handler, 404, ""},
	} {
		req, err := http.NewRequest(tc.method, "http://"+tc.addr+tc.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		client := clientFrom(citizen, 5*time.Second)
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s %s on %s = %d %.200s, want %d with %q", tc.method, tc.path, tc.addr, resp.StatusCode, body, tc.code, tc.want)
		}
	}
}

// TestPeerRate: a client past the peer rate gets 429 with Retry-After;
// another client is served, and the public port is not limited.
func TestPeerRate(t *testing.T) {
	opts := defaultOptions()
	opts.PeerRate, opts.PeerBurst = 0.01, 3
	l := startDesk(t, sampleConfig(t, "shifosi-town"), opts, nil)
	handler := "/v1/handler?category=land-acquisition&type=Appeal&channel=Visit"
	for i := range opts.PeerBurst {
		if code, body, err := getFrom(attacker, "http://"+l.peerAddr+handler, 5*time.Second); err != nil || code != http.StatusOK {
			t.Fatalf("request %d: %d %s %v", i+1, code, body, err)
		}
	}
	// Refused paths count too: a client cannot probe for free.
	resp, err := clientFrom(attacker, 5*time.Second).Get("http://" + l.peerAddr + "/v1/office")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || retry < 1 || retry > 100 || !strings.Contains(string(body), "more than 0.01 requests a second from 127.0.0.2") {
		t.Errorf("request past the burst = %d, Retry-After %q, %s; want 429 and 1 to 100 s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if code, body, err := getFrom(citizen, "http://"+l.peerAddr+handler, 5*time.Second); err != nil || code != http.StatusOK {
		t.Errorf("another client: %d %s %v", code, body, err)
	}
	for range opts.PeerBurst + 1 {
		if code, body, err := getFrom(attacker, "http://"+l.addr+handler, 5*time.Second); err != nil || code != http.StatusOK {
			t.Errorf("the public port: %d %s %v", code, body, err)
		}
	}
}

// TestPeerRateReachesTheCitizen: a desk limited by the locality's desk
// answers 503 with the locality's Retry-After.
func TestPeerRateReachesTheCitizen(t *testing.T) {
	const petition = `{"category":"road-repair","type":"Appeal","channel":"Visit","locality":"jiasong-town"}`
	for _, tc := range []struct{ given, want string }{{"7", "7"}, {"Wed, 21 Oct 2026 07:28:00 GMT", ""}, {"999999", ""}} {
		srv := badPeer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", tc.given)
			writeError(w, http.StatusTooManyRequests, "more than 10 requests a second")
		}, nil)
		resp, err := http.Post(srv.URL+"/v1/route", "application/json", strings.NewReader(petition))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != tc.want ||
			!strings.Contains(string(body), "the desk of office jiasong-town limits this desk's requests (429): more than 10 requests a second") {
			t.Errorf("Retry-After %q: %d, Retry-After %q, %s; want 503 and %q", tc.given, resp.StatusCode, resp.Header.Get("Retry-After"), body, tc.want)
		}
	}
}

// TestListenersRefuseATakenAddress: an address that cannot be listened on
// is named by its listener.
func TestListenersRefuseATakenAddress(t *testing.T) {
	d := loadDesk(t, plainOffice(), defaultOptions())
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	if _, err := d.endpoints("127.0.0.1:0", taken.Addr().String(), "127.0.0.1:0"); err == nil || !strings.HasPrefix(err.Error(), "the peer listener: ") {
		t.Errorf("endpoints on a taken peer address = %v", err)
	}
}
