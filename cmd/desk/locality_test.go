package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// sampleNetwork serves the desk of every given office of config/samples
// behind one server, each one's public API at /<office> and its peer API at
// /peer/<office>, and points each desk's PeerURLTemplate at the peer APIs:
// the desks ask each other as they do in a cluster, and only what the peer
// port answers. An office that is not served answers 404. calls counts the
// requests to /v1/handler.
type sampleNetwork struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newSampleNetwork(t *testing.T, offices ...string) *sampleNetwork {
	t.Helper()
	set, err := objfiles.Load("../../config/samples")
	if err != nil {
		t.Fatal(err)
	}
	src := set.Network()
	n := &sampleNetwork{}
	mux := http.NewServeMux()
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/v1/handler") {
			n.calls.Add(1)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	for _, office := range offices {
		cfg, err := src.OfficeConfig(office)
		if err != nil {
			t.Fatal(err)
		}
		opts := defaultOptions()
		opts.PeerURLTemplate = n.srv.URL + "/peer/" + officePlaceholder
		d := loadDesk(t, cfg, opts)
		mux.Handle("/"+office+"/", http.StripPrefix("/"+office, d.handler()))
		mux.Handle("/peer/"+office+"/", http.StripPrefix("/peer/"+office, d.peerHandler()))
	}
	return n
}

func (n *sampleNetwork) route(t *testing.T, office, body string) (int, string) {
	t.Helper()
	return post(t, n.srv.URL+"/"+office+"/v1/route", body)
}

// TestRouteThroughTheLocalitysDesk: the City's desk routes petitions that
// arose at townships through their desks, by hand.
func TestRouteThroughTheLocalitysDesk(t *testing.T) {
	n := newSampleNetwork(t, "nanyang-city", "zhenping-county", "shifosi-town", "jiasong-town", "mashankou-town", "chaopi-town")
	route := func(rest string) string {
		return `{"office":` + rest + `}`
	}
	cases := []struct{ office, body, want string }{
		{"nanyang-city", `{"category":"land-acquisition","type":"Appeal","channel":"Visit","locality":"shifosi-town"}`,
			route(`"zhenping-natural-resources","rule":"land-to-natural-resources","policy":"land-disputes","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""`)},
		{"nanyang-city", `{"category":"wage-arrears","type":"Appeal","channel":"Visit","locality":"mashankou-town"}`,
			route(`"neixiang-human-resources","rule":"wages-to-human-resources","policy":"wage-arrears","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""`)},
		{"nanyang-city", `{"category":"road-repair","type":"Appeal","channel":"Visit","locality":"jiasong-town"}`,
			route(`"jiasong-town","rule":"","policy":"","fallback":false,"copies":[],"skipLevel":true,"redirectTo":"jiasong-town"`)},
		{"nanyang-city", `{"category":"road-repair","type":"Appeal","channel":"Online","locality":"jiasong-town"}`,
			route(`"jiasong-town","rule":"","policy":"","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""`)},
		{"zhenping-county", `{"category":"road-repair","type":"Appeal","channel":"Visit","locality":"jiasong-town"}`,
			route(`"jiasong-town","rule":"","policy":"","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""`)},
		{"nanyang-city", `{"category":"court-judgment","type":"Report","channel":"Visit","locality":"chaopi-town"}`,
			route(`"zhenping-procuratorate","rule":"law-related-to-procuratorate","policy":"law-related","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""`)},
		// The office itself as the locality: no call.
		{"jiasong-town", `{"category":"road-repair","type":"Appeal","channel":"Visit","locality":"jiasong-town"}`,
			route(`"jiasong-town","rule":"","policy":"","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""`)},
	}
	for _, tc := range cases {
		before := n.calls.Load()
		code, body := n.route(t, tc.office, tc.body)
		if code != http.StatusOK || strings.TrimSpace(body) != tc.want {
			t.Errorf("%s POST /v1/route %s = %d %s, want %s", tc.office, tc.body, code, body, tc.want)
		}
		calls, want := n.calls.Load()-before, int64(1)
		if strings.Contains(tc.body, `"locality":"`+tc.office+`"`) {
			want = 0
		}
		if calls != want {
			t.Errorf("%s %s: %d calls to other desks, want %d", tc.office, tc.body, calls, want)
		}
	}
}

func TestDeadlinesThroughTheLocalitysDesk(t *testing.T) {
	n := newSampleNetwork(t, "nanyang-city", "shifosi-town")
	code, body := get(t, n.srv.URL+"/nanyang-city/v1/deadlines?received=2026-09-16&category=land-acquisition&type=Appeal&channel=Visit&locality=shifosi-town")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var ans xinfang.DeadlineAnswer
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ans.Stages {
		got = append(got, string(s.Name)+" "+s.Office+" "+s.Due)
	}
	// The county department the township's table names is stationed at
	// the City's joint reception centre: the visit is accepted there on the
	// spot, no Transfer; the later stages with the department and above
	// it; every date with the City's calendar (2026-09-16 + 15 days:
	// National Day, 10-08).
	want := []string{"Acceptance zhenping-natural-resources 2026-10-08", "Handling zhenping-natural-resources 2026-12-07",
		"Review zhenping-county 2027-02-05", "ReReview nanyang-city 2027-04-07"}
	if ans.Handler != "zhenping-natural-resources" || !reflect.DeepEqual(got, want) {
		t.Errorf("handler %s, stages %q; want %q", ans.Handler, got, want)
	}
	// A letter is transferred by the City first (Arts. 21–22).
	code, body = get(t, n.srv.URL+"/nanyang-city/v1/deadlines?received=2026-09-16&category=land-acquisition&type=Appeal&channel=Letter&locality=shifosi-town")
	if code != http.StatusOK || !strings.Contains(body, `"stages":[{"name":"Transfer","office":"nanyang-city"`) {
		t.Errorf("a letter: %d %s", code, body)
	}
}

// TestLocalityErrors: an unknown locality is the client's mistake (422,
// naming locality); a desk that does not answer well is a bad gateway.
func TestLocalityErrors(t *testing.T) {
	n := newSampleNetwork(t, "nanyang-city")
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/v1/route", `{"category":"x","type":"Appeal","locality":"nowhere-town"}`, 422, `locality: office nowhere-town has no desk that answers`},
		{"/v1/route", `{"category":"x","type":"Appeal","locality":"Nowhere"}`, 400, `locality: \"Nowhere\" is not an office name`},
		{"/v1/route", `{"category":"x","type":"Appeal","locality":"` + strings.Repeat("a", 57) + `"}`, 400, `locality: \"aaaa`},
		{"/v1/route", `{"category":"x","type":"Appeal","locality":7}`, 400, `locality: want a string`},
		{"/v1/route", `{"type":"Appeal","locality":"nowhere-town"}`, 400, `category: required`},
		{"/v1/deadlines?received=2026-09-16&category=x&type=Appeal&locality=nowhere-town", "", 422, `locality: office nowhere-town`},
	} {
		var code int
		var body string
		if tc.body != "" {
			code, body = n.route(t, "nanyang-city", tc.body)
		} else {
			code, body = get(t, n.srv.URL+"/nanyang-city"+tc.path)
		}
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s = %d %s, want %d %q", tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
}

// badPeer serves one answer to every request and points a City desk at it.
func badPeer(t *testing.T, h http.HandlerFunc, edit func(*options)) *httptest.Server {
	t.Helper()
	peer := httptest.NewServer(h)
	t.Cleanup(peer.Close)
	set, err := objfiles.Load("../../config/samples")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := set.OfficeConfig("nanyang-city")
	if err != nil {
		t.Fatal(err)
	}
	opts := defaultOptions()
	opts.PeerURLTemplate = peer.URL + "/" + officePlaceholder
	if edit != nil {
		edit(&opts)
	}
	srv := httptest.NewServer(loadDesk(t, cfg, opts).handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestBadLocalityDesks(t *testing.T) {
	const petition = `{"category":"road-repair","type":"Appeal","channel":"Visit","locality":"jiasong-town"}`
	good := `{"route":{"office":"jiasong-town","rule":"","policy":"","fallback":false,"copies":[],"skipLevel":false,"redirectTo":""},` +
		`"handler":{"path":["nanyang-city","zhenping-county","jiasong-town"],"level":"Township"},"chain":null}`
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"a redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
		}, "answered 302"},
		{"a server error", answer(500, `{"error":"boom"}`), "answered 500: boom"},
		{"not JSON", answer(200, `<html>`), "the answer of office jiasong-town's desk: invalid character"},
		{"an unknown field", answer(200, strings.Replace(good, `"chain":null`, `"chain":null,"extra":1`, 1)), `unknown field \"extra\"`},
		{"two objects", answer(200, good+good), "unexpected data after the JSON object"},
		{"too large", answer(200, `{"route":{"office":"`+strings.Repeat("a", maxPeerBytes)+`"}}`), "larger than 65536 bytes"},
		{"a path that does not end at the handler", answer(200, strings.Replace(good, `"jiasong-town"],`, `"chaopi-town"],`, 1)), "handler.path: ends at"},
		{"a chain beyond the bounds", answer(200, strings.Replace(good, `"chain":null`, `"chain":{"policy":"p","supervisor":"","stages":[{"stage":"Handling","office":"x","limit":{"days":100000}}]}`, 1)), "chain.stages[0].limit: 100000 days"},
		{"too slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			answer(200, good)(w, r)
		}, "did not answer: timed out"},
	} {
		srv := badPeer(t, tc.h, func(o *options) { o.PeerTimeout = 200 * time.Millisecond })
		code, body := post(t, srv.URL+"/v1/route", petition)
		if code != http.StatusBadGateway || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want 502 %q", tc.name, code, body, tc.want)
		}
	}
	// The good answer, from the same fake desk: skip-level at the City.
	srv := badPeer(t, answer(200, good), nil)
	if code, body := post(t, srv.URL+"/v1/route", petition); code != 200 || !strings.Contains(body, `"skipLevel":true,"redirectTo":"jiasong-town"`) {
		t.Errorf("good answer: %d %s", code, body)
	}
	// A desk that is not there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	srv = badPeer(t, answer(200, good), func(o *options) { o.PeerURLTemplate = "http://" + addr + "/" + officePlaceholder })
	if code, body := post(t, srv.URL+"/v1/route", petition); code != http.StatusBadGateway || !strings.Contains(body, "did not answer") {
		t.Errorf("unreachable: %d %s", code, body)
	}
}

// TestLocalityThatDoesNotResolve: a name without a DNS record is no
// office's: 422.
func TestLocalityThatDoesNotResolve(t *testing.T) {
	d := &desk{opts: defaultOptions()}
	d.opts.PeerURLTemplate = "http://desk.office-" + officePlaceholder + ".svc"
	d.peer = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		return nil, &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}
	})}
	_, err := d.localityHandling(t.Context(), "nowhere-town", xinfang.Petition{Category: "x", Type: "Appeal"})
	var pe *peerError
	if !errors.As(err, &pe) || pe.code != http.StatusUnprocessableEntity || pe.msg != "locality: no office nowhere-town: its desk desk.office-nowhere-town.svc does not resolve (a Village has no desk of its own: ask its township's desk, or name the township)" {
		t.Errorf("got %v", err)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHandlerEndpoint(t *testing.T) {
	srv := sampleDesk(t, "shifosi-town")
	code, body := get(t, srv.URL+"/v1/handler?category=land-acquisition&type=Appeal&channel=Visit")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	h, err := decodeHandling([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if h.Route.Office != "zhenping-natural-resources" || strings.Join(h.Handler.Path, "/") != "nanyang-city/zhenping-county/zhenping-natural-resources" ||
		h.Handler.Level != "Department" || h.Chain == nil || len(h.Chain.Steps) != 4 || h.Chain.Steps[0].Stage != "Acceptance" || h.Chain.Steps[1].Stage != "Handling" ||
		len(h.Chain.Steps[0].Overdue) != 3 || h.Chain.Steps[0].Overdue[2].Office != "nanyang-city" ||
		h.Locality.Level != "Township" || strings.Join(h.Locality.Path, "/") != "nanyang-city/zhenping-county/shifosi-town" {
		t.Errorf("handler = %s", body)
	}
	for q, want := range map[string]string{
		"category=x&type=Appeal&locality=a":  `\"locality\": unknown parameter; want category, type, channel`,
		"type=Appeal":                        "category: required",
		"category=x&type=Appeal&type=Appeal": "type: given 2 times",
	} {
		if code, body := get(t, srv.URL+"/v1/handler?"+q); code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want 400 %q", q, code, body, want)
		}
	}
}

func TestPeerOptions(t *testing.T) {
	for tmpl, ok := range map[string]bool{
		"http://desk.office-{office}.svc":      true,
		"http://127.0.0.1:8080/{office}":       true,
		"http://desk.office.svc":               false,
		"http://{office}.{office}":             false,
		"ftp://{office}":                       false,
		"http://desk.office-{office}.svc?x=1":  false,
		"http://user@desk.office-{office}.svc": false,
		"desk.office-{office}.svc":             false,
	} {
		o := defaultOptions()
		o.PeerURLTemplate = tmpl
		if err := o.check(); (err == nil) != ok || (err != nil && !strings.HasPrefix(err.Error(), "--peer-url-template: ")) {
			t.Errorf("%s: %v", tmpl, err)
		}
	}
	o := defaultOptions()
	if o.PeerURLTemplate != "http://desk.office-{office}.svc:8081" || o.PeerTimeout != 2*time.Second {
		t.Errorf("defaults %q %v", o.PeerURLTemplate, o.PeerTimeout)
	}
	o.PeerTimeout = time.Minute
	if err := o.check(); err == nil || !strings.HasPrefix(err.Error(), "--peer-timeout: ") {
		t.Errorf("a peer timeout past the write timeout: %v", err)
	}
}

// TestCLIAndDeskAgree: petitionctl route and deadlines with --locality
// answer what the desks, asking each other, answer.
func TestCLIAndDeskAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds petitionctl")
	}
	bin := filepath.Join(t.TempDir(), "petitionctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../petitionctl").CombinedOutput(); err != nil {
		t.Fatalf("building petitionctl: %v\n%s", err, out)
	}
	offices := []string{"nanyang-city", "zhenping-county", "nanyang-human-resources", "shifosi-town", "jiasong-town", "tuandong-town", "mashankou-town"}
	n := newSampleNetwork(t, offices...)
	cli := func(args ...string) string {
		out, err := exec.Command(bin, append([]string{"-f", "../../config/samples", "-o", "json"}, args...)...).Output()
		if err != nil {
			t.Fatalf("petitionctl %v: %v", args, err)
		}
		return string(out)
	}
	// The CLI's answer is an object of its own kind, holding the question
	// (asked: the office and date of deadlines) and leaving out empty
	// strings; the desk's is the bare answer.
	same := func(what, a, b string, asked ...string) {
		var x map[string]any
		var y any
		if err := json.Unmarshal([]byte(a), &x); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if err := json.Unmarshal([]byte(b), &y); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, k := range append([]string{"apiVersion", "kind"}, asked...) {
			if _, ok := x[k]; !ok {
				t.Errorf("%s: the CLI's answer has no %q: %s", what, k, a)
			}
			delete(x, k)
		}
		if !reflect.DeepEqual(x, withoutEmptyStrings(y)) {
			t.Errorf("%s: CLI %s, desk %s", what, a, b)
		}
	}
	for _, receiver := range []string{"nanyang-city", "zhenping-county", "nanyang-human-resources", "jiasong-town"} {
		for _, locality := range []string{"", "shifosi-town", "jiasong-town", "mashankou-town"} {
			for _, category := range []string{"land-acquisition", "wage-arrears", "road-repair"} {
				channel := "Visit"
				if category == "wage-arrears" {
					channel = "Letter"
				}
				{
					args := []string{"--office", receiver, "--category", category, "--type", "Appeal", "--channel", channel}
					req := map[string]string{"category": category, "type": "Appeal", "channel": channel}
					if locality != "" {
						args = append(args, "--locality", locality)
						req["locality"] = locality
					}
					body, _ := json.Marshal(req)
					code, fromDesk := n.route(t, receiver, string(body))
					if code != http.StatusOK {
						t.Fatalf("%s %s: %d %s", receiver, body, code, fromDesk)
					}
					same(fmt.Sprintf("route %v", args), cli(append([]string{"route"}, args...)...), fromDesk)
				}
			}
			if locality == "" {
				continue
			}
			q := url.Values{"received": {"2026-09-16"}, "category": {"land-acquisition"}, "type": {"Appeal"}, "locality": {locality}}
			code, fromDesk := get(t, n.srv.URL+"/"+receiver+"/v1/deadlines?"+q.Encode())
			if code != http.StatusOK {
				t.Fatalf("%s deadlines %s: %d %s", receiver, q.Encode(), code, fromDesk)
			}
			fromCLI := cli("deadlines", "--office", receiver, "--locality", locality, "--received", "2026-09-16", "--category", "land-acquisition", "--type", "Appeal")
			same(fmt.Sprintf("deadlines %s at %s", q.Encode(), receiver), fromCLI, fromDesk, "office", "received")
		}
	}
}

// withoutEmptyStrings is a decoded JSON value without the empty strings of
// its objects, as petitionctl prints it.
func withoutEmptyStrings(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == "" {
				delete(v, k)
				continue
			}
			v[k] = withoutEmptyStrings(e)
		}
	case []any:
		for i, e := range v {
			v[i] = withoutEmptyStrings(e)
		}
	}
	return v
}
