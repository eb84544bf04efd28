package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// fuzzHandler is the handler of a desk serving the compiled configuration
// of an office of config/samples.
func fuzzHandler(f *testing.F, office string) http.Handler {
	f.Helper()
	set, err := objfiles.Load("../../config/samples")
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := set.OfficeConfig(office)
	if err != nil {
		f.Fatal(err)
	}
	data, _, err := cfg.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(f.TempDir(), "office.json")
	writeFile(f, file, string(data))
	d, err := newDesk(file, defaultOptions())
	if err != nil {
		f.Fatal(err)
	}
	return d.handler()
}

// serveFuzz serves the request and checks what every answer must be: 200 or
// a 4xx with a short JSON error, never a value repeated at length.
func serveFuzz(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
		t.Fatalf("%s %s = %d %s, want 200 or 4xx", req.Method, req.URL, rec.Code, rec.Body)
	}
	if rec.Code != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Error == "" {
			t.Fatalf("%s %s = %d %q, not a JSON error", req.Method, req.URL, rec.Code, rec.Body)
		}
		if len(e.Error) > maxMessage+len("…") {
			t.Fatalf("%s %s: a %d-byte error", req.Method, req.URL, len(e.Error))
		}
	}
	return rec
}

// strictJSON decodes a 200 answer into v, refusing unknown fields.
func strictJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
}

func FuzzRoute(f *testing.F) {
	h := fuzzHandler(f, "shifosi-town")
	f.Add([]byte(`{"category":"land-acquisition","type":"Appeal","channel":"Visit"}`))
	f.Add([]byte(`{"category":"wage-arrears","type":"Report"}garbage`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/route", bytes.NewReader(body))
		rec := serveFuzz(t, h, req)
		if rec.Code != http.StatusOK {
			return
		}
		var route xinfang.Route
		strictJSON(t, rec.Body.Bytes(), &route)
		if route.Office == "" || route.Copies == nil {
			t.Fatalf("POST /v1/route %q = %s: no office or copies", body, rec.Body)
		}
		// Only one object of known string fields is taken.
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("POST /v1/route %q answered 200: not a JSON object: %v", body, err)
		}
		for k, v := range p {
			if _, ok := v.(string); !ok || (k != "category" && k != "type" && k != "channel") {
				t.Fatalf("POST /v1/route %q answered 200 with field %q = %v", body, k, v)
			}
		}
	})
}

func FuzzWindows(f *testing.F) {
	h := fuzzHandler(f, "zhenping-county")
	f.Add("Visit", "2026-10-01T09:00:00+08:00")
	f.Add("Online", "9998-12-31T23:59:59+14:00")
	f.Fuzz(func(t *testing.T, channel, at string) {
		q := url.Values{"channel": {channel}, "at": {at}}
		req := httptest.NewRequest(http.MethodGet, "/v1/windows?"+q.Encode(), nil)
		rec := serveFuzz(t, h, req)
		if rec.Code != http.StatusOK {
			return
		}
		var ans xinfang.WindowAnswer
		strictJSON(t, rec.Body.Bytes(), &ans)
		if ans.Open != (ans.Window != "") {
			t.Fatalf("windows at %q: open %v in window %q", at, ans.Open, ans.Window)
		}
		given, err := time.Parse(time.RFC3339, at)
		if err != nil || given.Year() < minYear || given.Year() > maxYear {
			t.Fatalf("windows at %q answered 200", at)
		}
		if ans.NextOpening == "" {
			return
		}
		next, err := time.Parse(time.RFC3339, ans.NextOpening)
		if err != nil || !next.After(given) || next.Format(time.RFC3339) != ans.NextOpening {
			t.Fatalf("windows at %q: nextOpening %q is not an RFC 3339 time after it (%v)", at, ans.NextOpening, err)
		}
	})
}

func FuzzDeadlines(f *testing.F) {
	h := fuzzHandler(f, "shifosi-town")
	f.Add("2026-09-16")
	f.Add("9998-12-31")
	f.Fuzz(func(t *testing.T, received string) {
		q := url.Values{"received": {received}}
		req := httptest.NewRequest(http.MethodGet, "/v1/deadlines?"+q.Encode(), nil)
		rec := serveFuzz(t, h, req)
		if rec.Code != http.StatusOK {
			return
		}
		given, err := time.Parse(time.DateOnly, received)
		if err != nil || given.Year() < minYear || given.Year() > maxYear {
			t.Fatalf("deadlines received %q answered 200", received)
		}
		if !strings.Contains(rec.Body.String(), `"stages"`) {
			t.Fatalf("deadlines received %q = %s", received, rec.Body)
		}
		checkDeadlineDates(t, rec.Body.String())
	})
}
