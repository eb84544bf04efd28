package httpguard

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientRate(t *testing.T) {
	now := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	c := NewClientRate(1, 2)
	c.Now = func() time.Time { return now }
	for i, want := range []bool{true, true, false} {
		if wait := c.Take(attacker); (wait == 0) != want {
			t.Errorf("request %d: wait %s, want allowed %v", i+1, wait, want)
		} else if !want && wait != time.Second {
			t.Errorf("request %d: wait %s, want 1s", i+1, wait)
		}
	}
	// A refused request takes no token; another client has its own bucket.
	if wait := c.Take(citizen); wait != 0 {
		t.Errorf("another client waits %s", wait)
	}
	now = now.Add(time.Second)
	if wait := c.Take(attacker); wait != 0 {
		t.Errorf("a second later the client waits %s", wait)
	}
	if wait := c.Take(attacker); wait != time.Second {
		t.Errorf("then it waits %s, want 1s", wait)
	}

	// The table holds maxRateClients buckets; a full one is forgotten for
	// a newcomer, a busy one is not.
	c = NewClientRate(1, 2)
	c.Now = func() time.Time { return now }
	for i := range maxRateClients {
		c.Take(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if wait := c.Take(citizen); wait == 0 {
		t.Error("a client past the table's bound was served while every bucket was busy")
	}
	now = now.Add(2 * time.Second)
	if wait := c.Take(citizen); wait != 0 || len(c.buckets) != 1 {
		t.Errorf("once the buckets are full again: wait %s, %d buckets; want 0 and 1", wait, len(c.buckets))
	}
}

// TestLimit: a request past its client's burst is answered by refuse with
// 429, a message naming the rate, the client and the wait, and
// Retry-After in whole seconds; the handler does not see it.
func TestLimit(t *testing.T) {
	now := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	c := NewClientRate(0.4, 1)
	c.Now = func() time.Time { return now }
	served := 0
	var refused []string
	h := c.Limit(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }), func(w http.ResponseWriter, status int, msg string) {
		w.WriteHeader(status)
		refused = append(refused, msg)
	})
	do := func(from string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = from
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("127.0.0.2:4000"); rec.Code != http.StatusOK || served != 1 {
		t.Fatalf("first request = %d, %d served", rec.Code, served)
	}
	// The same client from another port, IPv4 in IPv6: the same bucket.
	rec := do("[::ffff:127.0.0.2]:4001")
	if want := "more than 0.4 requests a second from 127.0.0.2; retry after 3 s"; rec.Code != http.StatusTooManyRequests ||
		rec.Header().Get("Retry-After") != "3" || len(refused) != 1 || refused[0] != want || served != 1 {
		t.Errorf("second request = %d, Retry-After %q, %q, %d served; want 429, 3 and %q", rec.Code, rec.Header().Get("Retry-After"), refused, served, want)
	}
	if rec := do("127.0.0.3:4000"); rec.Code != http.StatusOK || served != 2 {
		t.Errorf("another client = %d, %d served", rec.Code, served)
	}
	if got := RequestClient(&http.Request{RemoteAddr: "not an address"}); got.IsValid() {
		t.Errorf("RequestClient of a malformed address = %s, want the zero address", got)
	}
}
