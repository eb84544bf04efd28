package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/testhttp"
)

// seen is one call the registry stand-in received.
type seen struct {
	method, path, query string
	header              http.Header
	body                string
}

// registryStub is a real HTTP server standing in for the case registry:
// it records each call and answers with answer.
type registryStub struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []seen
	answer func(w http.ResponseWriter, r *http.Request)
}

func newRegistryStub(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *registryStub {
	t.Helper()
	s := &registryStub{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		s.mu.Unlock()
		s.answer(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *registryStub) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// tokens are the Authorization headers of the calls, in order.
func (s *registryStub) tokens() []string {
	var out []string
	for _, c := range s.seen() {
		out = append(out, c.header.Get("Authorization"))
	}
	return out
}

// intakeDesk serves a desk that forwards to url with the token in a file
// it returns, with opts changed by mutate.
func intakeDesk(t *testing.T, url string, mutate func(*options)) (srv *httptest.Server, tokenPath string) {
	t.Helper()
	tokenPath = filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenPath, "desk-token-1\n")
	opts := defaultOptions()
	opts.Registry.URL, opts.Registry.TokenFile = url, tokenPath
	opts.Registry.Timeout = 500 * time.Millisecond
	if mutate != nil {
		mutate(&opts)
	}
	if err := opts.check(); err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(loadDesk(t, plainOffice(), opts).handler())
	t.Cleanup(srv.Close)
	return srv, tokenPath
}

// answer is what the desk answered.
type answer struct {
	StatusCode int
	Header     http.Header
}

// send makes a request with headers and returns the answer.
func send(t *testing.T, method, url, body string, headers map[string]string) (answer, string) {
	t.Helper()
	a := testhttp.Do(t, method, url, headers, body)
	return answer{a.Code, a.Header}, string(a.Body)
}

const petition = `{"office":"o","type":"Complaint","category":"land","channel":"Online","description":"围墙倒塌","petitioner":{"name":"张三","phone":"13800000000"}}`

// TestIntakeForwards: the three routes reach the registry with the desk's
// token and the client's Idempotency-Key, Content-Type and Accept only,
// the body as sent; the registry's status, JSON answer, Retry-After and
// Location come back unchanged, nothing else of its headers.
func TestIntakeForwards(t *testing.T) {
	reg := newRegistryStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "registry=1")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/petitions":
			w.Header().Set("Location", "/v1/petitions/2026-0000001")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"caseNo":"2026-0000001","queryCode":"ABCDE-FGHJK"}`)
		case strings.HasSuffix(r.URL.Path, "/rating"):
			_, _ = io.WriteString(w, `{"caseNo":"2026-0000001","satisfaction":"Satisfied"}`)
		default:
			_, _ = io.WriteString(w, `{"caseNo":"2026-0000001","state":"Registered"}`)
		}
	})
	srv, _ := intakeDesk(t, reg.URL+"/", nil)
	client := map[string]string{
		"Idempotency-Key": "k-1", "Content-Type": "application/json", "Accept": "application/json",
		"Authorization": "Bearer someone-elses-token", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example",
		"X-Office": "another-office", "Cookie": "session=1", "Impersonate-User": "admin",
	}
	resp, body := send(t, http.MethodPost, srv.URL+"/v1/petitions", petition, client)
	if resp.StatusCode != http.StatusCreated || body != `{"caseNo":"2026-0000001","queryCode":"ABCDE-FGHJK"}` {
		t.Fatalf("POST /v1/petitions = %d %s, want the registry's 201 and answer", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Location"); got != "/v1/petitions/2026-0000001" {
		t.Errorf("Location = %q, want the registry's", got)
	}
	if got := resp.Header.Get("Set-Cookie"); got != "" {
		t.Errorf("the registry's Set-Cookie was passed on: %q", got)
	}
	resp, body = send(t, http.MethodGet, srv.URL+"/v1/petitions/2026-0000001?code=ABCDE-FGHJK", "", client)
	if resp.StatusCode != http.StatusOK || body != `{"caseNo":"2026-0000001","state":"Registered"}` {
		t.Fatalf("GET = %d %s", resp.StatusCode, body)
	}
	resp, body = send(t, http.MethodPost, srv.URL+"/v1/petitions/2026-0000001/rating?code=ABCDE-FGHJK", `{"satisfaction":"Satisfied"}`, client)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Satisfied") {
		t.Fatalf("rating = %d %s", resp.StatusCode, body)
	}

	calls := reg.seen()
	want := []seen{
		{method: "POST", path: "/v1/petitions", body: petition},
		{method: "GET", path: "/v1/petitions/2026-0000001", query: "code=ABCDE-FGHJK"},
		{method: "POST", path: "/v1/petitions/2026-0000001/rating", query: "code=ABCDE-FGHJK", body: `{"satisfaction":"Satisfied"}`},
	}
	if len(calls) != len(want) {
		t.Fatalf("the registry got %d calls, want %d", len(calls), len(want))
	}
	for i, c := range calls {
		if c.method != want[i].method || c.path != want[i].path || c.query != want[i].query || c.body != want[i].body {
			t.Errorf("call %d = %s %s?%s %q, want %s %s?%s %q", i, c.method, c.path, c.query, c.body, want[i].method, want[i].path, want[i].query, want[i].body)
		}
		if got := c.header.Get("Authorization"); got != "Bearer desk-token-1" {
			t.Errorf("call %d: Authorization = %q, want the desk's token", i, got)
		}
		for _, h := range []string{"Idempotency-Key", "Content-Type", "Accept"} {
			if got := c.header.Get(h); got != client[h] {
				t.Errorf("call %d: %s = %q, want the client's %q", i, h, got, client[h])
			}
		}
		// Only what the desk's HTTP client itself sends, besides.
		for h := range c.header {
			if !slices.Contains([]string{"Authorization", "Idempotency-Key", "Content-Type", "Accept", "User-Agent", "Content-Length", "Accept-Encoding"}, h) {
				t.Errorf("call %d: the client's header %s = %q was passed on", i, h, c.header.Get(h))
			}
		}
	}
}

// TestIntakeTokenRotation: the token is read again once it is TokenMaxAge
// old, not on every call, and at once when the registry refuses it; a
// token the registry refuses that the file still holds is a 502, sent once.
func TestIntakeTokenRotation(t *testing.T) {
	var mu sync.Mutex
	accepted := map[string]bool{"Bearer desk-token-1": true, "Bearer desk-token-2": true}
	reg := newRegistryStub(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := accepted[r.Header.Get("Authorization")]
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"token refused"}`)
			return
		}
		_, _ = io.WriteString(w, `{"state":"Registered"}`)
	})
	var clockMu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	srv, tokenPath := intakeDesk(t, reg.URL, func(o *options) {
		o.Registry.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	})
	query := func() (int, string) {
		resp, body := send(t, http.MethodGet, srv.URL+"/v1/petitions/2026-0000001?code=ABCDE-FGHJK", "", nil)
		return resp.StatusCode, body
	}
	query()
	// The kubelet replaces the file: the cached token serves until it is
	// TokenMaxAge old.
	writeFile(t, tokenPath, "desk-token-2")
	query()
	advance(6 * time.Second)
	query()
	if got, want := reg.tokens(), []string{"Bearer desk-token-1", "Bearer desk-token-1", "Bearer desk-token-2"}; !slices.Equal(got, want) {
		t.Fatalf("tokens presented %q, want %q", got, want)
	}
	// The registry stops taking token 2; the file already holds token 3:
	// refused once, read again, accepted.
	mu.Lock()
	delete(accepted, "Bearer desk-token-2")
	accepted["Bearer desk-token-3"] = true
	mu.Unlock()
	writeFile(t, tokenPath, "desk-token-3")
	if code, body := query(); code != http.StatusOK {
		t.Fatalf("after a rotation the registry refused = %d %s, want 200", code, body)
	}
	if got, want := reg.tokens()[3:], []string{"Bearer desk-token-2", "Bearer desk-token-3"}; !slices.Equal(got, want) {
		t.Fatalf("tokens presented %q, want %q", got, want)
	}
	// A token refused that the file still holds: one call, a 502 that
	// says so (not the registry's 401, which the client cannot mend).
	mu.Lock()
	delete(accepted, "Bearer desk-token-3")
	mu.Unlock()
	code, body := query()
	if code != http.StatusBadGateway || !strings.Contains(body, "the case registry refused this desk's token") {
		t.Fatalf("a refused token = %d %s, want 502 saying so", code, body)
	}
	if n := len(reg.tokens()); n != 6 {
		t.Errorf("the registry got %d calls, want 6: a token the file still holds is not sent again", n)
	}
}

// TestIntakeErrors: what the registry answers is passed on, status and
// body; when it cannot be reached, answers late or badly, the desk says
// so in JSON with its own status; bad requests never reach it.
func TestIntakeErrors(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	reg := newRegistryStub(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Idempotency-Key") {
		case "forbidden":
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":"office o may not file for office x"}`)
		case "conflict":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"Idempotency-Key: used with another body"}`)
		case "invalid":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"error":"description: required","field":"description"}`)
		case "busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":"rate limited"}`)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `<script>alert(1)</script>`)
		case "huge":
			_, _ = io.WriteString(w, `"`+strings.Repeat("x", maxRegistryAnswer)+`"`)
		case "slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
			_, _ = io.WriteString(w, `{"caseNo":"2026-0000002"}`)
		}
	})
	srv, _ := intakeDesk(t, reg.URL, nil)
	for _, tc := range []struct {
		key       string
		code      int
		body      string
		retryWant string
	}{
		{"forbidden", http.StatusForbidden, `{"error":"office o may not file for office x"}`, ""},
		{"conflict", http.StatusConflict, `{"error":"Idempotency-Key: used with another body"}`, ""},
		{"invalid", http.StatusUnprocessableEntity, `{"error":"description: required","field":"description"}`, ""},
		{"busy", http.StatusTooManyRequests, `{"error":"rate limited"}`, "7"},
		{"html", http.StatusBadGateway, "the case registry answered 200 with a body that is not JSON", ""},
		{"huge", http.StatusBadGateway, "the case registry's answer is larger than", ""},
		{"slow", http.StatusGatewayTimeout, "the case registry did not answer in time; retry with the same Idempotency-Key", ""},
	} {
		t.Run(tc.key, func(t *testing.T) {
			resp, body := send(t, http.MethodPost, srv.URL+"/v1/petitions", petition, map[string]string{"Idempotency-Key": tc.key})
			if resp.StatusCode != tc.code || !strings.Contains(body, tc.body) {
				t.Fatalf("= %d %s, want %d with %s", resp.StatusCode, body, tc.code, tc.body)
			}
			if !json.Valid([]byte(body)) || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("answer %q of type %q, want JSON", body, resp.Header.Get("Content-Type"))
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retryWant {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryWant)
			}
		})
	}

	before := len(reg.seen())
	for name, tc := range map[string]struct {
		method, path, body string
		code               int
		want               string
	}{
		"not a case number":  {"GET", "/v1/petitions/..%2F..%2Fv1%2Fcases%2F2026-0000001?code=x", "", http.StatusNotFound, "is not a case number"},
		"no code":            {"GET", "/v1/petitions/2026-0000001", "", http.StatusBadRequest, "code: required"},
		"another parameter":  {"GET", "/v1/petitions/2026-0000001?code=x&office=y", "", http.StatusBadRequest, `\"office\": unknown parameter; want code`},
		"code twice":         {"POST", "/v1/petitions/2026-0000001/rating?code=x&code=y", "{}", http.StatusBadRequest, "code: given 2 times"},
		"a long code":        {"GET", "/v1/petitions/2026-0000001?code=" + strings.Repeat("x", 65), "", http.StatusBadRequest, "longer than 64 bytes"},
		"a query on intake":  {"POST", "/v1/petitions?office=x", petition, http.StatusBadRequest, `\"office\": unknown parameter; want no parameters`},
		"a body too large":   {"POST", "/v1/petitions", strings.Repeat("x", 32<<10+1), http.StatusRequestEntityTooLarge, "body: larger than 32768 bytes"},
		"a staff path":       {"GET", "/v1/petitions/2026-0000001/timeline", "", http.StatusNotFound, "the desk answers POST /v1/petitions"},
		"the wrong method":   {"DELETE", "/v1/petitions", "", http.StatusNotFound, "the desk answers POST /v1/petitions"},
		"the staff API":      {"GET", "/v1/cases/2026-0000001", "", http.StatusNotFound, "404 page not found"},
		"a petition of 12 K": {"POST", "/v1/petitions", `{"description":"` + strings.Repeat("信", 4000) + `"}`, http.StatusOK, "2026-0000002"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := send(t, tc.method, srv.URL+tc.path, tc.body, nil)
			if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%s %s = %d %s, want %d with %s", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.want)
			}
		})
	}
	if n := len(reg.seen()) - before; n != 1 {
		t.Errorf("the registry got %d of these calls, want 1 (the petition of 12 K)", n)
	}

	// A registry that cannot be reached: 503, with Retry-After.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	down, _ := intakeDesk(t, gone.URL, nil)
	resp, body := send(t, http.MethodPost, down.URL+"/v1/petitions", petition, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "the case registry cannot be reached") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a registry down = %d %s (Retry-After %q), want 503 saying so", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	// A token that cannot be read: 503, nothing sent.
	noToken, tokenPath := intakeDesk(t, reg.URL, nil)
	writeFile(t, tokenPath, " \n")
	before = len(reg.seen())
	resp, body = send(t, http.MethodPost, noToken.URL+"/v1/petitions", petition, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "holds no token") || len(reg.seen()) != before {
		t.Errorf("no token = %d %s, want 503 saying so and no call", resp.StatusCode, body)
	}
}

// TestIntakeWithoutRegistry: a desk whose City declares no case store
// says so on the intake routes, and serves the rest as before.
func TestIntakeWithoutRegistry(t *testing.T) {
	srv := httptest.NewServer(loadDesk(t, plainOffice(), defaultOptions()).handler())
	t.Cleanup(srv.Close)
	for _, r := range []struct{ method, path string }{
		{"POST", "/v1/petitions"}, {"GET", "/v1/petitions/2026-0000001?code=x"}, {"POST", "/v1/petitions/2026-0000001/rating?code=x"},
	} {
		resp, body := send(t, r.method, srv.URL+r.path, "{}", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "its office's City declares no case store (spec.cases)") {
			t.Errorf("%s %s = %d %s, want 503 naming spec.cases", r.method, r.path, resp.StatusCode, body)
		}
	}
	if code, _ := get(t, srv.URL+"/v1/office"); code != http.StatusOK {
		t.Errorf("GET /v1/office = %d", code)
	}
}

// TestRegistryOptionsChecked: flags the desk cannot forward with are
// refused, naming the flag.
func TestRegistryOptionsChecked(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*registryOptions)
		want   string
	}{
		"a token without a registry": {func(o *registryOptions) { o.URL = ""; o.TokenFile = "/t" }, "--registry-token-file: given without --registry-url"},
		"a registry without a token": {func(o *registryOptions) { o.TokenFile = "" }, "--registry-token-file: required with --registry-url"},
		"a file URL":                 {func(o *registryOptions) { o.URL = "file:///etc/passwd" }, `--registry-url: "file:///etc/passwd" is not an http or https address`},
		"a URL with a user":          {func(o *registryOptions) { o.URL = "http://u:p@registry:8080" }, "--registry-url"},
		"a URL with a query":         {func(o *registryOptions) { o.URL = "http://registry:8080/?office=x" }, "--registry-url"},
		"a timeout past the write":   {func(o *registryOptions) { o.Timeout = time.Minute }, "--registry-timeout: 1m0s must be positive and at most --write-timeout (10s)"},
		"no body":                    {func(o *registryOptions) { o.MaxBodyBytes = 0 }, "--max-petition-bytes: 0 is not a positive number"},
	} {
		t.Run(name, func(t *testing.T) {
			o := defaultOptions()
			o.Registry.URL, o.Registry.TokenFile = "http://cases-nanyang-city.petition-system.svc:8080", "/var/run/secrets/petition-registry/token"
			if err := o.check(); err != nil {
				t.Fatalf("the base options: %v", err)
			}
			tc.mutate(&o.Registry)
			if err := o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
