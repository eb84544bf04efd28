package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/httpguard"
	"github.com/xinfang/petition-operator/internal/network"
)

// maxConfigBytes bounds the configuration; a ConfigMap holds at most 1 MiB.
const maxConfigBytes = 1 << 20

// loadConfig reads the compiled configuration: a JSON object.
func loadConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the office configuration: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the office configuration: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("the office configuration %s is larger than %d bytes", path, maxConfigBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("the office configuration %s is not a JSON object: %w", path, err)
	}
	return data, nil
}

// desk serves the office's configuration and reloads it when the file
// changes; a file that does not load keeps the last good configuration.
type desk struct {
	path string
	opts options
	// peer asks the desks of other offices (localityHandling).
	peer *http.Client
	// peerRate bounds each client's requests on the peer listener.
	peerRate *httpguard.ClientRate
	// reloading serialises reloads; requests read state without a lock.
	reloading sync.Mutex
	state     atomic.Pointer[loaded]
	// builds counts the configurations built: their calendar and window
	// set are built once per configuration, never per request.
	builds atomic.Int64
	// searchDays and searchSteps are the most dates and steps one
	// request's search for the next opening took.
	searchDays, searchSteps atomic.Int64
}

// loaded is one configuration as the desk serves it.
type loaded struct {
	raw     []byte
	office  *network.OfficeConfig
	answers *network.Answers
}

func newDesk(path string, opts options) (*desk, error) {
	d := &desk{path: path, opts: opts, peer: opts.peerClient(), peerRate: httpguard.NewClientRate(opts.PeerRate, opts.PeerBurst)}
	if _, err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// reload reads the file again; it reports whether the configuration changed.
// It builds the calendar and window set of a changed configuration, and
// refuses one whose windows or calendar do not build or exceed the API's
// bounds.
func (d *desk) reload() (bool, error) {
	raw, err := loadConfig(d.path)
	if err != nil {
		return false, err
	}
	d.reloading.Lock()
	defer d.reloading.Unlock()
	if cur := d.state.Load(); cur != nil && bytes.Equal(raw, cur.raw) {
		return false, nil
	}
	var office network.OfficeConfig
	if err := json.Unmarshal(raw, &office); err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	if err := checkBounds(&office); err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	answers, err := office.Prepare()
	if err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	d.builds.Add(1)
	d.state.Store(&loaded{raw: raw, office: &office, answers: answers})
	return true, nil
}

func (d *desk) current() *loaded { return d.state.Load() }

// noteSearch keeps the most work one search took.
func (d *desk) noteSearch(st network.SearchStats) {
	for _, f := range []struct {
		max *atomic.Int64
		v   int64
	}{{&d.searchDays, int64(st.Days)}, {&d.searchSteps, int64(st.Steps)}} {
		for {
			old := f.max.Load()
			if f.v <= old || f.max.CompareAndSwap(old, f.v) {
				break
			}
		}
	}
}

// maxMessage bounds an error message; values in it are already cut by
// network.Quote.
const maxMessage = 512

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// The years a date the desk is given may lie in: every date it answers then
// lies within 0000 to 9999 and is valid RFC 3339.
const (
	minYear = 1900
	maxYear = 9998
)

// checkYear refuses a time of parameter name outside minYear to maxYear.
func checkYear(name string, t time.Time) error {
	if y := t.Year(); y < minYear || y > maxYear {
		return fmt.Errorf("%s: year %d is outside %d to %d", name, y, minYear, maxYear)
	}
	return nil
}

// parseInstant parses the RFC 3339 query parameter name.
func parseInstant(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %s is not an RFC 3339 time such as 2026-10-08T09:00:00+08:00", name, network.Quote(v))
	}
	return t, checkYear(name, t)
}

// parseDate parses the YYYY-MM-DD query parameter name.
func parseDate(name, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %s is not a date; want YYYY-MM-DD", name, network.Quote(v))
	}
	return t, checkYear(name, t)
}

// deadlineParams are the query parameters of GET /v1/deadlines, each with
// the most bytes it may hold.
var deadlineParams = map[string]int{"received": len(time.DateOnly), "replied": len(time.DateOnly),
	"category": v1alpha1.MaxCategoryLength, "type": maxEnum, "channel": maxEnum, "locality": network.MaxOfficeName}

// handlerParams are the query parameters of GET /v1/handler.
var handlerParams = map[string]int{"category": v1alpha1.MaxCategoryLength, "type": maxEnum, "channel": maxEnum}

// checkParams refuses a parameter not in params, given more than once or
// longer than its bound; want lists the parameters for the message.
func checkParams(v url.Values, params map[string]int, want string) error {
	for name, values := range v {
		limit, ok := params[name]
		if !ok {
			return fmt.Errorf("%s: unknown parameter; want %s", network.Quote(name), want)
		}
		if len(values) > 1 {
			return fmt.Errorf("%s: given %d times, want once", name, len(values))
		}
		if len(values[0]) > limit {
			return fmt.Errorf("%s: %s is longer than %d bytes", name, network.Quote(values[0]), limit)
		}
	}
	return nil
}

// deadlineQuery reads the query of GET /v1/deadlines: received, and
// optionally replied, the petition (category and type, and channel) and
// its locality, each at most once and within its bounds. Errors name the
// parameter.
func deadlineQuery(v url.Values) (network.DeadlineQuery, string, error) {
	var q network.DeadlineQuery
	if err := checkParams(v, deadlineParams, "received, replied, category, type, channel, locality"); err != nil {
		return q, "", err
	}
	q, err := deadlineDates(v)
	if err != nil {
		return q, "", err
	}
	if v.Has("category") || v.Has("type") || v.Has("channel") {
		q.Petition = &network.Petition{Category: v.Get("category"), Type: v1alpha1.PetitionType(v.Get("type")), Channel: v1alpha1.Channel(v.Get("channel"))}
	}
	if !v.Has("locality") {
		return q, "", nil
	}
	locality := v.Get("locality")
	if err := network.CheckOfficeName("locality", locality); err != nil {
		return q, "", err
	}
	if q.Petition == nil {
		return q, "", errors.New("locality: needs the petition (category and type) to route")
	}
	return q, locality, q.Petition.Validate()
}

// deadlineDates reads received and replied.
func deadlineDates(v url.Values) (network.DeadlineQuery, error) {
	var q network.DeadlineQuery
	received, err := parseDate("received", v.Get("received"))
	if err != nil {
		return q, err
	}
	q.Received = received
	if v.Has("replied") {
		replied, err := parseDate("replied", v.Get("replied"))
		if err != nil {
			return q, err
		}
		q.Replied = &replied
	}
	return q, nil
}

// maxEnum bounds a petition's type and channel in a request, well above
// the longest value either enum has; a category is bounded as the API
// bounds the categories a route matches.
const maxEnum = 16

// decodePetition reads exactly one JSON object {"category", "type",
// "channel", "locality"} with string values, each field at most once, and
// nothing after it; it returns the petition and its locality.
func decodePetition(body []byte) (p network.Petition, locality string, _ error) {
	const want = `body: want a JSON object {"category", "type", "channel", "locality"}`
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return p, "", errors.New(want)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p, "", fmt.Errorf("%s: %w", want, err)
		}
		key, _ := tok.(string)
		var field *string
		limit := maxEnum
		switch key {
		case "category":
			field, limit = &p.Category, v1alpha1.MaxCategoryLength
		case "type":
			field = (*string)(&p.Type)
		case "channel":
			field = (*string)(&p.Channel)
		case "locality":
			field, limit = &locality, network.MaxOfficeName
		default:
			return p, "", fmt.Errorf("body: unknown field %s; want category, type, channel and locality", network.Quote(key))
		}
		if seen[key] {
			return p, "", fmt.Errorf("body: field %s given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return p, "", fmt.Errorf("%s: %w", want, err)
		}
		if len(raw) == 0 || raw[0] != '"' {
			return p, "", fmt.Errorf("%s: want a string", key)
		}
		if err := json.Unmarshal(raw, field); err != nil {
			return p, "", fmt.Errorf("%s: %w", key, err)
		}
		if len(*field) > limit {
			return p, "", fmt.Errorf("%s: %s is longer than %d bytes", key, network.Quote(*field), limit)
		}
	}
	if _, err := dec.Token(); err != nil {
		return p, "", fmt.Errorf("%s: %w", want, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return p, "", errors.New("body: unexpected data after the JSON object")
	}
	return p, locality, nil
}

// handling is the locality's handling of the petition, asked of its desk;
// nil when there is no locality, or the office is its own, or the locality
// is one of the office's villages (a Village has no desk: its township's
// serves it, and its matters route as the township's). A locality that is
// no place, a Department, is refused (422) as petitionctl refuses it
// (network.CheckLocality).
func (d *desk) handling(ctx context.Context, office *network.OfficeConfig, locality string, p *network.Petition) (*network.Handling, error) {
	if locality == "" || p == nil {
		return nil, nil
	}
	notAPlace := func(level v1alpha1.Level) error {
		if err := network.CheckLocality(locality, level); err != nil {
			return &peerError{code: http.StatusUnprocessableEntity, msg: "locality: " + err.Error()}
		}
		return nil
	}
	if locality == office.Office {
		return nil, notAPlace(office.Level)
	}
	if slices.Contains(office.Villages, locality) {
		return nil, nil
	}
	h, err := d.localityHandling(ctx, locality, *p)
	if err != nil {
		return nil, err
	}
	if err := notAPlace(h.Locality.Level); err != nil {
		return nil, err
	}
	return h, nil
}

// writePeerError answers a failure to learn the locality's handling.
func writePeerError(w http.ResponseWriter, err error) {
	code := http.StatusBadGateway
	if pe := (*peerError)(nil); errors.As(err, &pe) {
		code = pe.code
		if pe.retryAfter != "" {
			w.Header().Set("Retry-After", pe.retryAfter)
		}
	}
	writeError(w, code, err.Error())
}

// limitBodies caps every request's body: reading past the cap fails, and
// the server then closes the connection instead of draining it.
func (d *desk) limitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, d.opts.MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// handler serves the public listener: the configuration at /v1/office and
// its answers, and the petitions forwarded to the registry.
func (d *desk) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/office", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(d.current().raw)
	})
	// The escalation chain: the handler office of each stage, its limits,
	// reminders and the supervisor.
	mux.HandleFunc("GET /v1/escalation", func(w http.ResponseWriter, _ *http.Request) {
		office := d.current().office
		if office.Escalation == nil {
			writeError(w, http.StatusNotFound, "the office configuration has no escalation chain")
			return
		}
		writeJSON(w, http.StatusOK, office.Escalation)
	})
	// The projected dates of every stage of a petition received on a date:
	// GET /v1/deadlines?received=YYYY-MM-DD, optionally with the petition
	// (category and type, channel) and the date of the reply (replied).
	// With locality, the office where the matter arose, the desk of the
	// locality names the handler and its chain (GET /v1/handler); every
	// date is counted with this office's calendar.
	mux.HandleFunc("GET /v1/deadlines", func(w http.ResponseWriter, r *http.Request) {
		q, locality, err := deadlineQuery(r.URL.Query())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		cur := d.current()
		if q.Locality, err = d.handling(r.Context(), cur.office, locality, q.Petition); err != nil {
			writePeerError(w, err)
			return
		}
		ans, err := cur.answers.Deadlines(q)
		var noChain *network.NoChainError
		switch {
		case errors.As(err, &noChain):
			writeError(w, http.StatusNotFound, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		// Long limits over a long holiday can carry a late date past
		// 9999-12-31, which YYYY-MM-DD cannot write.
		for _, date := range ans.Dates() {
			if len(date) > len(time.DateOnly) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("received: the deadlines of a petition received on %s run past 9999-12-31", q.Received.Format(time.DateOnly)))
				return
			}
		}
		writeJSON(w, http.StatusOK, ans)
	})
	// Where a petition goes: POST /v1/route {"category", "type", "channel",
	// "locality"}; the routing table of the locality (asked of its desk,
	// GET /v1/handler) decides, this office whether it is a skip-level
	// visit.
	mux.HandleFunc("POST /v1/route", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r.Body)
		if !ok {
			return
		}
		p, locality, err := decodePetition(body)
		if err == nil {
			err = p.Validate()
		}
		if err == nil && locality != "" {
			err = network.CheckOfficeName("locality", locality)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		office := d.current().office
		h, err := d.handling(r.Context(), office, locality, &p)
		if err != nil {
			writePeerError(w, err)
			return
		}
		route, err := office.RouteWith(p, h)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, route)
	})
	// How this office handles a petition that arose here, for the desk of
	// the office that received it: GET /v1/handler?category=&type=&channel=
	// answers the route in this office's table, where the handler stands and
	// its chain from Handling on (network.Handling). Read-only; it never
	// calls another desk.
	mux.HandleFunc("GET /v1/handler", d.serveHandling)
	// Whether a channel is open: GET /v1/windows?channel=Visit&at=RFC3339.
	mux.HandleFunc("GET /v1/windows", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		at, err := parseInstant("at", q.Get("at"))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		limit := network.SearchLimit{Days: network.NextOpeningDays, Steps: d.opts.SearchSteps}
		answers := d.current().answers
		channel := v1alpha1.Channel(q.Get("channel"))
		ans, stats, err := answers.Windows(channel, at, limit)
		d.noteSearch(stats)
		// At a joint reception centre, the windows of the departments
		// stationed there too.
		var stationed []network.StationedWindow
		if err == nil {
			stationed, stats, err = answers.StationedWindows(channel, at, limit)
			d.noteSearch(stats)
		}
		switch {
		case errors.Is(err, network.ErrSearchExhausted):
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("nextOpening: %v (%d)", err, limit.Steps))
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, windowsAnswer{WindowAnswer: ans, Stationed: stationed})
	})
	// Open311 GeoReport v2 service discovery: one service per category the
	// office routes.
	mux.HandleFunc("GET /open311/v2/services.json", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, open311Services(d.current().office))
	})
	return newForwarder(d.opts.Registry).routes(d.limitBodies(mux))
}

// windowsAnswer is the answer of GET /v1/windows: the office's, and at a
// joint reception centre each stationed department's.
type windowsAnswer struct {
	network.WindowAnswer
	Stationed []network.StationedWindow `json:"stationed,omitempty"`
}

// serveHandling answers GET /v1/handler.
func (d *desk) serveHandling(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if err := checkParams(v, handlerParams, "category, type, channel"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p := network.Petition{Category: v.Get("category"), Type: v1alpha1.PetitionType(v.Get("type")), Channel: v1alpha1.Channel(v.Get("channel"))}
	h, err := d.current().office.Handling(p)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// peerPaths are what the peer listener answers: what localityHandling asks.
const peerPaths = "GET /v1/handler"

// peerHandler serves the peer listener, which other offices' desks reach:
// only GET /v1/handler, each client within the peer rate; any other
// request gets 404.
func (d *desk) peerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(peerPaths, d.serveHandling)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s: the peer port answers only %s", r.Method, network.Quote(r.URL.Path), peerPaths))
	})
	return d.limitBodies(d.peerRate.Limit(mux, writeError))
}

// probeHandler serves the probe listener: /healthz and /readyz, which the
// kubelet asks on a listener of their own so that clients holding the
// public or peer listener cannot make the pod unready.
func probeHandler() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	return mux
}

// open311Service is a service of the Open311 GeoReport v2 service list.
type open311Service struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"`
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
}

// open311Services lists one service per category the office's rules name,
// in rule order, described by where the first rule that names it routes.
func open311Services(office *network.OfficeConfig) []open311Service {
	services := []open311Service{}
	if office.Routing == nil {
		return services
	}
	seen := map[string]bool{}
	for _, r := range office.Routing.Rules {
		for _, c := range r.Match.Categories {
			if seen[c] {
				continue
			}
			seen[c] = true
			services = append(services, open311Service{
				ServiceCode: c, ServiceName: c, Type: "realtime", Group: r.Policy,
				Description: fmt.Sprintf("%s petitions received by %s are handled by %s", c, office.Office, r.Office),
			})
		}
	}
	return services
}

// readBody reads a request's body, bounded by the reader it is given; on
// failure it answers 413 for a body past the bound, 400 otherwise, and
// returns false.
func readBody(w http.ResponseWriter, body io.Reader) ([]byte, bool) {
	b, err := io.ReadAll(body)
	if err == nil {
		return b, true
	}
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", tooLarge.Limit))
		return nil, false
	}
	writeError(w, http.StatusBadRequest, "body: "+err.Error())
	return nil, false
}
