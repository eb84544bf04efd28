package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/httpguard"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// fastOptions are the default limits with timeouts short enough for a test.
func fastOptions() options {
	o := defaultOptions()
	o.ReadHeaderTimeout = 300 * time.Millisecond
	o.ReadTimeout = 600 * time.Millisecond
	o.WriteTimeout = time.Second
	o.IdleTimeout = 500 * time.Millisecond
	return o
}

// liveDesk is a desk served on loopback listeners as run serves it.
type liveDesk struct {
	*desk
	// addr, peerAddr and probeAddr are the public, peer and probe
	// listeners' addresses.
	addr, peerAddr, probeAddr string
	public, peer              *httpguard.LimitedListener
}

// startDesk serves the configuration with the options on real listeners;
// hook, when not nil, sees every connection state change of the public
// listener.
func startDesk(t testing.TB, cfg *xinfang.OfficeConfig, opts options, hook func(net.Conn, http.ConnState)) *liveDesk {
	t.Helper()
	d := loadDesk(t, cfg, opts)
	eps, err := d.endpoints("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	eps[0].srv.ConnState = hook
	for _, ep := range eps {
		go func() { _ = ep.srv.Serve(ep.ln) }()
		t.Cleanup(func() { _ = ep.srv.Close() })
	}
	return &liveDesk{desk: d, addr: eps[0].ln.Addr().String(), peerAddr: eps[1].ln.Addr().String(), probeAddr: eps[2].ln.Addr().String(),
		public: eps[0].ln, peer: eps[1].ln}
}

func (l *liveDesk) url(path string) string { return "http://" + l.addr + path }

// plainOffice is an office with the usual reception window and no calendar.
func plainOffice() *xinfang.OfficeConfig {
	return &xinfang.OfficeConfig{Format: xinfang.ConfigFormat, Office: "o", Level: v1alpha1.LevelCounty, Path: []string{"o"},
		TimeZone: "Asia/Shanghai", ReceptionWindows: []xinfang.CompiledWindow{{Name: "reception", Kind: v1alpha1.WindowRegular,
			Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Weekdays: []string{"monday:friday"},
			Times: []v1alpha1.TimeRange{{Start: "08:30", End: "12:00"}}, ClosedOnHolidays: true}}}
}

// closedWithin reads from conn until the desk closes it, and fails the test
// when that takes longer than within.
func closedWithin(t *testing.T, conn net.Conn, within time.Duration, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: the desk kept the connection open for %s", what, within)
	}
}

func TestSlowClientsAreCut(t *testing.T) {
	opts := fastOptions()
	l := startDesk(t, plainOffice(), opts, nil)
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	// trickle writes a byte every 50 ms until the connection breaks or
	// stop closes.
	trickle := func(conn net.Conn, stop chan struct{}) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}

	// Slowloris: headers that never end.
	conn := dial()
	_, _ = io.WriteString(conn, "GET /v1/office HTTP/1.1\r\nHost: desk\r\nX-Slow: ")
	stop := make(chan struct{})
	go trickle(conn, stop)
	closedWithin(t, conn, 10*opts.ReadHeaderTimeout, "headers a byte at a time")
	close(stop)

	// A body that never ends.
	conn = dial()
	_, _ = io.WriteString(conn, "POST /v1/route HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"category\":\"")
	stop = make(chan struct{})
	go trickle(conn, stop)
	start := time.Now()
	closedWithin(t, conn, 10*opts.ReadTimeout, "a body a byte at a time")
	close(stop)
	if took := time.Since(start); took < opts.ReadTimeout/2 {
		t.Errorf("a slow body was cut after %s, before the read timeout %s", took, opts.ReadTimeout)
	}

	// A kept-alive connection that sends nothing more.
	conn = dial()
	_, _ = io.WriteString(conn, "GET /v1/office HTTP/1.1\r\nHost: desk\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/office = %v, %v", resp, err)
	}
	_ = resp.Body.Close()
	closedWithin(t, conn, 10*opts.IdleTimeout, "an idle kept-alive connection")
}

func TestConnectionCap(t *testing.T) {
	opts := defaultOptions()
	opts.MaxConnections = 2
	opts.MaxConnectionsPerClient = 2
	var active, most atomic.Int64
	var mu sync.Mutex
	seen := map[net.Conn]bool{}
	hook := func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			seen[c] = true
			if n := active.Add(1); n > most.Load() {
				most.Store(n) // under mu: no other writer
			}
		case http.StateClosed, http.StateHijacked:
			if seen[c] {
				delete(seen, c)
				active.Add(-1)
			}
		}
	}
	l := startDesk(t, plainOffice(), opts, hook)

	// Two clients hold the desk's two connections with unfinished headers.
	var held []net.Conn
	for range opts.MaxConnections {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_, _ = io.WriteString(conn, "GET /v1/office HTTP/1.1\r\nHost: desk\r\n")
		held = append(held, conn)
	}
	for deadline := time.Now().Add(5 * time.Second); active.Load() < int64(opts.MaxConnections); {
		if time.Now().After(deadline) {
			t.Fatalf("the desk took %d connections, want %d", active.Load(), opts.MaxConnections)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Three more send whole requests: none is served while the two are held.
	const extra = 3
	answers := make(chan int, extra)
	for range extra {
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		_, _ = io.WriteString(conn, "GET /v1/office HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n")
		go func() {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				answers <- 0
				return
			}
			_ = resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	select {
	case code := <-answers:
		t.Fatalf("a connection beyond the cap was answered (%d) while %d were held", code, opts.MaxConnections)
	case <-time.After(300 * time.Millisecond):
	}
	// Once the held clients finish, the waiting ones are served, still at
	// most two at a time.
	for _, conn := range held {
		_, _ = io.WriteString(conn, "Connection: close\r\n\r\n")
	}
	for range extra {
		if code := <-answers; code != http.StatusOK {
			t.Errorf("a waiting connection got %d, want 200", code)
		}
	}
	if m := most.Load(); m > int64(opts.MaxConnections) {
		t.Errorf("the desk served %d connections at once, the cap is %d", m, opts.MaxConnections)
	}
}

func TestRouteTakesExactlyOneObject(t *testing.T) {
	opts := defaultOptions()
	opts.MaxBodyBytes = 16 << 10 // room for the 8 KiB values below
	l := startDesk(t, plainOffice(), opts, nil)
	long := strings.Repeat("x", 8<<10)
	for _, tt := range []struct{ body, want string }{
		{`{"category":"land","type":"Appeal"}garbage`, "body: unexpected data after the JSON object"},
		{`{"category":"land","type":"Appeal"} {}`, "body: unexpected data after the JSON object"},
		{`{"category":"land","type":"Appeal"}}`, "body: unexpected data after the JSON object"},
		{`{"category":"land","type":"Appeal"`, "body: want a JSON object"},
		{`[{"category":"land","type":"Appeal"}]`, "body: want a JSON object"},
		{`null`, "body: want a JSON object"},
		{``, "body: want a JSON object"},
		{`{"category":"land","type":"Appeal","priority":"1"}`, `body: unknown field \"priority\"`},
		{`{"Category":"land","type":"Appeal"}`, `body: unknown field \"Category\"`},
		{`{"category":"land","category":"water","type":"Appeal"}`, "body: field category given twice"},
		{`{"category":1,"type":"Appeal"}`, "category: want a string"},
		{`{"category":null,"type":"Appeal"}`, "category: want a string"},
		{`{"category":"land","type":{"a":1}}`, "type: want a string"},
		// Long values are refused, and repeated only in part.
		{`{"category":"` + long + `","type":"Appeal"}`, `category: \"xxxxxxxx`},
		{`{"category":"land","type":"` + long + `"}`, `type: \"xxxxxxxx`},
		{`{"category":"land","type":"Appeal","channel":"` + long + `"}`, `channel: \"xxxxxxxx`},
		{`{"` + long + `":"1"}`, `body: unknown field \"xxxxxxxx`},
	} {
		code, got := post(t, l.url("/v1/route"), tt.body)
		if code != http.StatusBadRequest || !strings.Contains(got, tt.want) {
			t.Errorf("POST /v1/route %.60s = %d %.200s, want 400 with %q", tt.body, code, got, tt.want)
		}
		if len(got) > 300 {
			t.Errorf("POST /v1/route %.60s: a %d-byte answer repeats the input", tt.body, len(got))
		}
		if strings.Contains(tt.body, long) && !strings.Contains(got, `xxx…\"`) {
			t.Errorf("POST /v1/route %.60s = %s, want the value cut with an ellipsis", tt.body, got)
		}
	}
	code, got := post(t, l.url("/v1/route"), " {\"category\":\"land\",\"type\":\"Appeal\"}\n")
	if code != http.StatusOK || !strings.Contains(got, `"office":"o"`) {
		t.Errorf("POST /v1/route with white space around = %d %s", code, got)
	}
}

func TestBodiesAreBounded(t *testing.T) {
	opts := defaultOptions()
	l := startDesk(t, plainOffice(), opts, nil)
	body := `{"category":"` + strings.Repeat("x", int(opts.MaxBodyBytes)) + `","type":"Appeal"}`
	code, got := post(t, l.url("/v1/route"), body)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(got, fmt.Sprintf("body: larger than %d bytes", opts.MaxBodyBytes)) {
		t.Errorf("POST /v1/route with %d bytes = %d %.200s, want 413", len(body), code, got)
	}
	// A body sent where none is read is not drained past the cap either:
	// the desk answers and closes the connection.
	req, _ := http.NewRequest(http.MethodGet, l.url("/v1/office"), strings.NewReader(strings.Repeat("x", 1<<20)))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	// Headers past MaxHeaderBytes (with net/http's 4 KiB of slack) get 431.
	req, _ = http.NewRequest(http.MethodGet, l.url("/v1/office"), nil)
	req.Header.Set("X-Big", strings.Repeat("x", opts.MaxHeaderBytes+8<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET with %d bytes of headers = %d, want 431", opts.MaxHeaderBytes+8<<10, resp.StatusCode)
	}
}

func TestQueryValuesAreCutInErrors(t *testing.T) {
	l := startDesk(t, plainOffice(), defaultOptions(), nil)
	long := strings.Repeat("y", 4<<10)
	for _, q := range []string{
		"/v1/windows?channel=Visit&at=" + long,
		"/v1/windows?at=2026-10-13T09:00:00Z&channel=" + long,
		"/v1/deadlines?received=" + long,
	} {
		code, body := get(t, l.url(q))
		if code != http.StatusBadRequest || len(body) > 300 || !strings.Contains(body, `yyy…\"`) {
			t.Errorf("GET %.50s = %d %.300s, want 400 with the value cut", q, code, body)
		}
	}
}

// officeWithChain is plainOffice with the statutory chain and a calendar.
func officeWithChain(limit xinfang.Limit) *xinfang.OfficeConfig {
	cfg := plainOffice()
	cfg.Escalation = &xinfang.Escalation{Policy: "p", Supervisor: "o", Steps: []xinfang.Step{
		{Stage: v1alpha1.StageAcceptance, Office: "o", Limit: xinfang.Limit{Days: 15}},
		{Stage: v1alpha1.StageHandling, Office: "o", Limit: limit, Extension: &xinfang.Limit{Days: 30}},
	}, Reminders: []xinfang.Limit{{Days: 5}}}
	cfg.Calendar = &xinfang.CompiledCalendar{Holidays: []v1alpha1.Holiday{{Name: "国庆节", From: "2026-10-01", To: "2026-10-07"}}}
	return cfg
}

func TestDatesBetween1900And9998(t *testing.T) {
	l := startDesk(t, officeWithChain(xinfang.Limit{Days: 60}), defaultOptions(), nil)
	for _, tt := range []struct{ query, want string }{
		{"/v1/windows?channel=Visit&at=9999-12-28T09:00:00%2B08:00", "at: year 9999 is outside 1900 to 9998"},
		{"/v1/windows?channel=Visit&at=1899-12-31T09:00:00%2B08:00", "at: year 1899 is outside 1900 to 9998"},
		{"/v1/windows?channel=Visit&at=0000-01-01T00:00:00Z", "at: year 0 is outside 1900 to 9998"},
		{"/v1/deadlines?received=9999-01-01", "received: year 9999 is outside 1900 to 9998"},
		{"/v1/deadlines?received=1899-12-31", "received: year 1899 is outside 1900 to 9998"},
	} {
		if code, body := get(t, l.url(tt.query)); code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %s, want 400 with %q", tt.query, code, body, tt.want)
		}
	}
	// At the ends of the range every date answered is RFC 3339.
	for _, at := range []string{"1900-01-01T00:00:00Z", "9998-12-31T23:59:59-12:00", "9998-12-31T23:59:59%2B14:00"} {
		code, body := get(t, l.url("/v1/windows?channel=Visit&at="+at))
		var ans xinfang.WindowAnswer
		if err := json.Unmarshal([]byte(body), &ans); code != http.StatusOK || err != nil {
			t.Fatalf("GET /v1/windows at %s = %d %s", at, code, body)
		}
		if _, err := time.Parse(time.RFC3339, ans.NextOpening); ans.NextOpening != "" && err != nil {
			t.Errorf("at %s: nextOpening %q is not RFC 3339", at, ans.NextOpening)
		}
	}
	for _, received := range []string{"1900-01-01", "9998-12-31"} {
		code, body := get(t, l.url("/v1/deadlines?received="+received))
		if code != http.StatusOK {
			t.Fatalf("GET /v1/deadlines?received=%s = %d %s", received, code, body)
		}
		checkDeadlineDates(t, body)
	}
	// Limits that carry a late petition's deadlines past 9999-12-31 are
	// refused rather than written as year 10000.
	l = startDesk(t, officeWithChain(xinfang.Limit{Days: 999, Working: true}), defaultOptions(), nil)
	if code, body := get(t, l.url("/v1/deadlines?received=9998-06-01")); code != http.StatusBadRequest ||
		!strings.Contains(body, "received: the deadlines of a petition received on 9998-06-01 run past 9999-12-31") {
		t.Errorf("deadlines past year 9999 = %d %s, want 400", code, body)
	}
}

// checkDeadlineDates checks that every date of a deadlines answer is
// YYYY-MM-DD.
func checkDeadlineDates(t testing.TB, body string) {
	t.Helper()
	var got struct {
		Stages []xinfang.StageDeadline `json:"stages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("deadlines answer %q: %v", body, err)
	}
	for _, s := range got.Stages {
		for _, d := range append([]string{s.Due, s.DueWithExtension}, s.Reminders...) {
			if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
				t.Fatalf("deadlines answer %s: %q is not YYYY-MM-DD", body, d)
			}
		}
	}
}

func TestWindowSetBuiltOncePerConfiguration(t *testing.T) {
	l := startDesk(t, plainOffice(), defaultOptions(), nil)
	first := l.current().answers
	for i := range 20 {
		at := time.Date(2026, 10, 1+i, 9, 0, 0, 0, time.UTC).Format(time.RFC3339)
		if code, body := get(t, l.url("/v1/windows?channel=Visit&at="+at)); code != http.StatusOK {
			t.Fatalf("GET /v1/windows = %d %s", code, body)
		}
		if code, body := get(t, l.url("/v1/deadlines?received=2026-10-01")); code != http.StatusNotFound {
			t.Fatalf("GET /v1/deadlines = %d %s", code, body)
		}
	}
	if n := l.builds.Load(); n != 1 || l.current().answers != first {
		t.Errorf("after 40 requests: %d builds, same answers %v; want 1 build", n, l.current().answers == first)
	}
	// An unchanged file builds nothing; a changed one builds once.
	if changed, err := l.reload(); changed || err != nil || l.builds.Load() != 1 {
		t.Errorf("reload of an unchanged file = %v, %v, %d builds", changed, err, l.builds.Load())
	}
	data, _, _ := officeWithChain(xinfang.Limit{Days: 60}).Marshal()
	writeFile(t, l.path, string(data))
	if changed, err := l.reload(); !changed || err != nil || l.builds.Load() != 2 || l.current().answers == first {
		t.Errorf("reload of a changed file = %v, %v, %d builds", changed, err, l.builds.Load())
	}

	// What a request allocates is a fraction of what building the windows
	// allocates: a request does not build them.
	cfg := costlyOffice()
	h := startDesk(t, cfg, defaultOptions(), nil).handler()
	req := httptest.NewRequest(http.MethodGet, "/v1/windows?channel=Visit&at=2026-10-13T09:00:00%2B08:00", nil)
	perRequest := testing.AllocsPerRun(10, func() { h.ServeHTTP(httptest.NewRecorder(), req) })
	perBuild := testing.AllocsPerRun(10, func() { _, _ = cfg.Prepare() })
	if perRequest > perBuild/4 {
		t.Errorf("a windows request allocates %.0f times, building the windows %.0f", perRequest, perBuild)
	}
}

// costlyOffice is a schema-valid configuration that made one GET
// /v1/windows take seconds when the desk checked every window start of
// every date: 31 windows of 8 one-minute spans each, all starts distinct,
// with 31 daysOfMonth and 32 dateRanges each, closed on 64 holidays, and an
// always-open window last, so the channel never opens anew and the search
// looks at all of its 400 days.
func costlyOffice() *xinfang.OfficeConfig {
	cfg := plainOffice()
	cfg.ReceptionWindows = nil
	clock := func(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
	minute := 0
	for i := range 31 {
		w := xinfang.CompiledWindow{Name: fmt.Sprintf("w%02d", i), Kind: v1alpha1.WindowRegular,
			Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Weekdays: []string{"sunday:saturday"}, ClosedOnHolidays: true}
		for range 8 {
			w.Times = append(w.Times, v1alpha1.TimeRange{Start: clock(minute), End: clock(minute + 1)})
			minute += 2
		}
		for d := 31; d >= 1; d-- {
			w.DaysOfMonth = append(w.DaysOfMonth, fmt.Sprint(d))
		}
		for d := 1; d <= 31; d++ {
			day := v1alpha1.Date(fmt.Sprintf("1990-01-%02d", d))
			w.DateRanges = append(w.DateRanges, v1alpha1.DateRange{From: day, To: day})
		}
		w.DateRanges = append(w.DateRanges, v1alpha1.DateRange{From: "1991-01-01", To: "9999-12-31"})
		cfg.ReceptionWindows = append(cfg.ReceptionWindows, w)
	}
	cfg.ReceptionWindows = append(cfg.ReceptionWindows, xinfang.CompiledWindow{Name: "always", Kind: v1alpha1.WindowRegular,
		Channels: []v1alpha1.Channel{v1alpha1.ChannelVisit}, Always: true})
	cfg.Calendar = &xinfang.CompiledCalendar{}
	for i := range 64 {
		d := v1alpha1.Date(fmt.Sprintf("%d-06-01", 1910+i))
		cfg.Calendar.Holidays = append(cfg.Calendar.Holidays, v1alpha1.Holiday{Name: fmt.Sprint(i), From: d, To: d})
	}
	return cfg
}

// searchCost is the steps one date costs a search of the configuration's
// Visit windows (xinfang.SearchLimit.Steps).
func searchCost(cfg *xinfang.OfficeConfig) int {
	cost := 1
	for _, w := range cfg.ReceptionWindows {
		cost += 1 + len(w.Times) + len(w.DaysOfMonth) + len(w.DateRanges)
	}
	return cost
}

func TestCostlyWindowsWithinBudget(t *testing.T) {
	cfg := costlyOffice()
	opts := defaultOptions()
	l := startDesk(t, cfg, opts, nil)
	code, body := get(t, l.url("/v1/windows?channel=Visit&at=2026-10-13T09:00:00%2B08:00"))
	if want := `{"open":true,"window":"always","nextOpening":""}`; code != http.StatusOK || strings.TrimSpace(body) != want {
		t.Fatalf("GET /v1/windows = %d %s, want %s", code, body, want)
	}
	// The search looked at the 400 days and the dates either side once
	// each, never more than a date's windows' fields per date.
	days, steps := l.searchDays.Load(), l.searchSteps.Load()
	if bound := int64(xinfang.NextOpeningDays+3) * int64(searchCost(cfg)); days > xinfang.NextOpeningDays+2 || steps > bound || steps > int64(opts.SearchSteps) {
		t.Errorf("the search took %d days and %d steps, want at most %d days and %d steps (budget %d)",
			days, steps, xinfang.NextOpeningDays+2, bound, opts.SearchSteps)
	}

	// A smaller budget stops the search within it.
	opts.SearchSteps = 20 * searchCost(cfg)
	l = startDesk(t, cfg, opts, nil)
	code, body = get(t, l.url("/v1/windows?channel=Visit&at=2026-10-13T09:00:00%2B08:00"))
	if code != http.StatusInternalServerError || !strings.Contains(body, "nextOpening: the search for the next opening needs more steps") {
		t.Errorf("GET /v1/windows within %d steps = %d %s, want 500", opts.SearchSteps, code, body)
	}
	if steps := l.searchSteps.Load(); steps > int64(opts.SearchSteps) {
		t.Errorf("the search took %d steps, the budget is %d", steps, opts.SearchSteps)
	}
}

func TestConfigurationBeyondTheAPIBoundsIsRefused(t *testing.T) {
	for name, edit := range map[string]func(*xinfang.OfficeConfig){
		"33 windows": func(c *xinfang.OfficeConfig) {
			for i := range 33 {
				w := c.ReceptionWindows[0]
				w.Name = fmt.Sprintf("w%d", i)
				c.ReceptionWindows = append(c.ReceptionWindows, w)
			}
		},
		"9 times": func(c *xinfang.OfficeConfig) {
			for range 8 {
				c.ReceptionWindows[0].Times = append(c.ReceptionWindows[0].Times, v1alpha1.TimeRange{Start: "13:00", End: "14:00"})
			}
		},
		"65 holidays": func(c *xinfang.OfficeConfig) {
			c.Calendar = &xinfang.CompiledCalendar{Holidays: make([]v1alpha1.Holiday, 65)}
		},
		"a 1000-day limit": func(c *xinfang.OfficeConfig) {
			c.Escalation = officeWithChain(xinfang.Limit{Days: 1000}).Escalation
		},
		"a handler's 1000-day limit": func(c *xinfang.OfficeConfig) {
			c.Routing = &xinfang.RoutingTable{Rules: []xinfang.CompiledRule{{Name: "r", Office: "h"}}}
			c.Handlers = map[string]*xinfang.HandlerChain{"h": {Escalation: *officeWithChain(xinfang.Limit{Days: 1000}).Escalation}}
		},
		"7 overdue rungs": func(c *xinfang.OfficeConfig) {
			c.Escalation = officeWithChain(xinfang.Limit{Days: 15}).Escalation
			c.Escalation.Steps[0].Overdue = make([]xinfang.Rung, 7)
		},
		"a 1000-day overdue rung": func(c *xinfang.OfficeConfig) {
			c.Escalation = officeWithChain(xinfang.Limit{Days: 15}).Escalation
			c.Escalation.Steps[0].Overdue = []xinfang.Rung{{Action: v1alpha1.OverdueRemind, By: v1alpha1.OverdueByParent, After: xinfang.Limit{Days: 1000}}}
		},
		"a rung's 300-character body": func(c *xinfang.OfficeConfig) {
			c.Escalation = officeWithChain(xinfang.Limit{Days: 15}).Escalation
			c.Escalation.Steps[0].Overdue = []xinfang.Rung{{Action: v1alpha1.OverdueFlag, By: v1alpha1.OverdueByParent, External: strings.Repeat("局", 300)}}
		},
		"more handlers than rules": func(c *xinfang.OfficeConfig) {
			c.Handlers = map[string]*xinfang.HandlerChain{"h": {}}
		},
	} {
		cfg := plainOffice()
		edit(cfg)
		data, _, _ := cfg.Marshal()
		file := filepath.Join(t.TempDir(), "office.json")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := newDesk(file, defaultOptions()); err == nil || !strings.Contains(err.Error(), "at most") && !strings.Contains(err.Error(), "want 0 to 999") &&
			!strings.Contains(err.Error(), "more than the 0 routing rules") && !strings.Contains(err.Error(), "longer than") {
			t.Errorf("%s: newDesk = %v, want refused", name, err)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	if err := (&options{}).check(); err == nil {
		t.Error("zero options accepted")
	}
	o := defaultOptions()
	if err := o.check(); err != nil {
		t.Errorf("default options: %v", err)
	}
}
