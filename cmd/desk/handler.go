package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// handler serves the public listener: the configuration at /v1/office and
// its answers, and the petitions forwarded to the registry.
func (d *desk) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/office", d.serveOffice)
	mux.HandleFunc("GET /v1/escalation", d.serveEscalation)
	mux.HandleFunc("GET /v1/deadlines", d.serveDeadlines)
	mux.HandleFunc("POST /v1/route", d.serveRoute)
	mux.HandleFunc("GET /v1/handler", d.serveHandling)
	mux.HandleFunc("GET /v1/windows", d.serveWindows)
	mux.HandleFunc("GET /open311/v2/services.json", d.serveOpen311Services)
	return newForwarder(d.opts.Registry).routes(d.limitBodies(mux))
}

// serveOffice answers GET /v1/office: the configuration as loaded.
func (d *desk) serveOffice(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(d.current().raw)
}

// serveEscalation answers GET /v1/escalation: the escalation chain, the
// handler office of each stage, its limits, reminders and the supervisor;
// 404 when the configuration has none.
func (d *desk) serveEscalation(w http.ResponseWriter, _ *http.Request) {
	office := d.current().office
	if office.Escalation == nil {
		writeError(w, http.StatusNotFound, "the office configuration has no escalation chain")
		return
	}
	writeJSON(w, http.StatusOK, office.Escalation)
}

// serveDeadlines answers GET /v1/deadlines?received=YYYY-MM-DD: the
// projected dates of every stage of a petition received on that date,
// optionally with the petition (category and type, channel) and the date
// of the reply (replied). With locality, the office where the matter
// arose, the desk of the locality names the handler and its chain (GET
// /v1/handler); every date is counted with this office's calendar.
func (d *desk) serveDeadlines(w http.ResponseWriter, r *http.Request) {
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
	if err == nil {
		err = datesFit(&ans, q.Received)
	}
	if noChain := (*xinfang.NoChainError)(nil); errors.As(err, &noChain) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// datesFit refuses an answer with a date YYYY-MM-DD cannot write: long
// limits over a long holiday can carry a late date past 9999-12-31.
func datesFit(ans *xinfang.DeadlineAnswer, received time.Time) error {
	for _, date := range ans.Dates() {
		if len(date) > len(time.DateOnly) {
			return fmt.Errorf("received: the deadlines of a petition received on %s run past 9999-12-31", received.Format(time.DateOnly))
		}
	}
	return nil
}

// serveRoute answers POST /v1/route {"category", "type", "channel",
// "locality"}: where the petition goes. The routing table of the locality
// (asked of its desk, GET /v1/handler) decides, this office whether it is
// a skip-level visit.
func (d *desk) serveRoute(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r.Body)
	if !ok {
		return
	}
	p, locality, err := routeRequest(body)
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
}

// serveWindows answers GET /v1/windows?channel=Visit&at=RFC3339: whether
// the channel is open, and when it next opens; 500 when that search runs
// out of steps (--max-search-steps).
func (d *desk) serveWindows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	at, err := parseInstant("at", q.Get("at"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := xinfang.SearchLimit{Days: xinfang.NextOpeningDays, Steps: d.opts.SearchSteps}
	ans, err := d.windows(v1alpha1.Channel(q.Get("channel")), at, limit)
	switch {
	case errors.Is(err, xinfang.ErrSearchExhausted):
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("nextOpening: %v (%d)", err, limit.Steps))
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusOK, ans)
	}
}

// windows answers for channel at a time: the office's windows and, at a
// joint reception centre, those of the departments stationed there. It
// keeps the work of each search (noteSearch).
func (d *desk) windows(channel v1alpha1.Channel, at time.Time, limit xinfang.SearchLimit) (windowsAnswer, error) {
	answers := d.current().answers
	ans, stats, err := answers.Windows(channel, at, limit)
	d.noteSearch(stats)
	if err != nil {
		return windowsAnswer{}, err
	}
	stationed, stats, err := answers.StationedWindows(channel, at, limit)
	d.noteSearch(stats)
	return windowsAnswer{WindowAnswer: ans, Stationed: stationed}, err
}

// serveOpen311Services answers GET /open311/v2/services.json, Open311
// GeoReport v2 service discovery: one service per category the office
// routes.
func (d *desk) serveOpen311Services(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, open311Services(d.current().office))
}

// windowsAnswer is the answer of GET /v1/windows: the office's, and at a
// joint reception centre each stationed department's.
type windowsAnswer struct {
	xinfang.WindowAnswer
	Stationed []xinfang.StationedWindow `json:"stationed,omitempty"`
}

// serveHandling answers GET /v1/handler?category=&type=&channel=, for the
// desk of the office that received a petition that arose here: its route
// in this office's table, where the handler stands and its chain from
// Handling on (xinfang.Handling). Read-only; it never calls another desk.
func (d *desk) serveHandling(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if err := checkParams(v, handlerParams, "category, type, channel"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p := xinfang.Petition{Category: v.Get("category"), Type: v1alpha1.PetitionType(v.Get("type")), Channel: v1alpha1.Channel(v.Get("channel"))}
	h, err := d.current().office.Handling(p)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// maxMessage bounds an error message; values in it are already cut by
// xinfang.Quote.
const maxMessage = 512

// writeJSON answers code with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers code with {"error": msg}, msg cut to maxMessage bytes.
func writeError(w http.ResponseWriter, code int, msg string) {
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// handling is the locality's handling of the petition, asked of its desk;
// nil when there is no locality, or the office is its own, or the locality
// is one of the office's villages (a Village has no desk: its township's
// serves it, and its matters route as the township's). A locality that is
// no place, a Department, is refused (422) as petitionctl refuses it
// (xinfang.CheckLocality).
func (d *desk) handling(ctx context.Context, office *xinfang.OfficeConfig, locality string, p *xinfang.Petition) (*xinfang.Handling, error) {
	if locality == "" || p == nil {
		return nil, nil
	}
	notAPlace := func(level v1alpha1.Level) error {
		if err := xinfang.CheckLocality(locality, level); err != nil {
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

// peerPaths are what the peer listener answers: what localityHandling asks.
const peerPaths = "GET /v1/handler"

// peerHandler serves the peer listener, which other offices' desks reach:
// only GET /v1/handler, each client within the peer rate; any other
// request gets 404.
func (d *desk) peerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(peerPaths, d.serveHandling)
	mux.HandleFunc("/", notOnPeer)
	return d.limitBodies(d.peerRate.Limit(mux, writeError))
}

// notOnPeer answers 404 to what the peer listener does not serve.
func notOnPeer(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s: the peer port answers only %s", r.Method, xinfang.Quote(r.URL.Path), peerPaths))
}

// probeHandler serves the probe listener: /healthz and /readyz, which the
// kubelet asks on a listener of their own so that clients holding the
// public or peer listener cannot make the pod unready.
func probeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", serveOK)
	mux.HandleFunc("GET /readyz", serveOK)
	return mux
}

// serveOK answers a probe: the desk serves as long as it answers.
func serveOK(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }

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
func open311Services(office *xinfang.OfficeConfig) []open311Service {
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
