package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Limits of a request, checked before any work on it.
const (
	maxBodyBytes     = 32 << 10
	maxKeyLength     = 128
	maxMessage       = 1024
	defaultStatsDays = 30
	maxStatsDays     = 3660
)

// api is the registry's HTTP API: the public intake and progress query,
// the staff API, the feed, metrics and probes.
type api struct {
	store   *registry.Store
	auth    authenticator
	log     *slog.Logger
	metrics *metrics
	// ready says whether the registry serves: its network is read, its
	// database answers and is migrated.
	ready func(ctx context.Context) error
	// network says whether the network is read (nil: always, from files);
	// until it is, the API answers 503 and only the probes and /metrics
	// serve.
	network func() error
	// publicIntake says whether petitions may be filed without a token;
	// when not, they come in through the desks (or staff).
	publicIntake bool
	// operators says whether any operator account is configured: without
	// one, nobody reads the figures.
	operators bool
}

func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/petitions", a.instrument("petitions.create", a.createPetition))
	mux.HandleFunc("GET /v1/petitions/{caseNo}", a.instrument("petitions.get", a.getPetition))
	mux.HandleFunc("POST /v1/petitions/{caseNo}/rating", a.instrument("petitions.rate", a.ratePetition))
	mux.HandleFunc("POST /v1/cases", a.instrument("cases.create", a.staff(a.createCase)))
	mux.HandleFunc("GET /v1/cases/{caseNo}", a.instrument("cases.get", a.staff(a.getCase)))
	mux.HandleFunc("POST /v1/cases/{caseNo}/transitions", a.instrument("cases.transition", a.staff(a.transition)))
	mux.HandleFunc("GET /v1/offices/{office}/cases", a.instrument("offices.cases", a.staff(a.listCases)))
	mux.HandleFunc("GET /v1/offices/{office}/stats", a.instrument("offices.stats", a.staff(a.stats)))
	mux.HandleFunc("GET /v1/events", a.instrument("events", a.staff(a.events)))
	mux.HandleFunc("GET /v1/figures", a.instrument("figures", a.operator(a.figures)))
	mux.HandleFunc("POST /open311/v2/requests.json", a.instrument("open311.create", a.open311Create))
	mux.HandleFunc("GET /open311/v2/requests/{id}", a.instrument("open311.get", a.open311Get))
	mux.Handle("GET /metrics", a.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.ready(ctx); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if a.network == nil {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
		default:
			if err := a.network(); err != nil {
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// staffHandler is an endpoint that runs for an authenticated caller.
type staffHandler func(w http.ResponseWriter, r *http.Request, actor registry.Actor) int

// Refusals of a token on an endpoint that is not its role's (403).
const (
	deskOnly     = "a desk's token may file and query petitions only"
	operatorOnly = "the operator's token may read the figures (GET /v1/figures) only"
)

// errorWriter answers an error in an API's own form (writeError,
// open311Error).
type errorWriter func(w http.ResponseWriter, code int, msg string) int

// bearer authenticates the request's bearer token: the actor, or the
// status already answered with werr (401 for a missing or refused token,
// 503 when it cannot be checked now). The office of a caller comes from
// its token alone, never from a header.
func (a *api) bearer(w http.ResponseWriter, r *http.Request, werr errorWriter) (registry.Actor, int) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || len(token) > maxTokenLength {
		w.Header().Set("WWW-Authenticate", `Bearer realm="petition-registry"`)
		return registry.Actor{}, werr(w, http.StatusUnauthorized, errUnauthenticated.Error())
	}
	actor, err := a.auth.authenticate(r.Context(), token)
	switch {
	case errors.Is(err, errUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="petition-registry"`)
		return registry.Actor{}, werr(w, http.StatusUnauthorized, errUnauthenticated.Error())
	case err != nil:
		// The API server could not review the token: not the caller's
		// fault, and worth a retry.
		a.log.Error("authenticating a token", "err", err)
		w.Header().Set("Retry-After", "1")
		return registry.Actor{}, werr(w, http.StatusServiceUnavailable, "the token cannot be checked now; retry")
	}
	return actor, 0
}

// staff runs h for an office's staff (a desk's or the operator's token is
// refused) and audits the call: who, which office, what, on which case,
// and the answer's status.
func (a *api) staff(h staffHandler) func(w http.ResponseWriter, r *http.Request) int {
	return func(w http.ResponseWriter, r *http.Request) int {
		actor, status := a.bearer(w, r, writeError)
		if status != 0 {
			return status
		}
		switch actor.Role {
		case registry.RoleDesk:
			status = writeError(w, http.StatusForbidden, deskOnly)
		case registry.RoleOperator:
			status = writeError(w, http.StatusForbidden, operatorOnly)
		default:
			status = h(w, r, actor)
		}
		a.audit(r, actor, status)
		return status
	}
}

// operator runs h for the operator's ServiceAccount (--operator-account)
// alone, and audits the call; without an operator account configured it
// answers 403 to everyone.
func (a *api) operator(h staffHandler) func(w http.ResponseWriter, r *http.Request) int {
	return func(w http.ResponseWriter, r *http.Request) int {
		if !a.operators {
			return writeError(w, http.StatusForbidden, "the figures are the operator's, and no operator account is configured (--operator-account)")
		}
		actor, status := a.bearer(w, r, writeError)
		if status != 0 {
			return status
		}
		switch actor.Role {
		case registry.RoleOperator:
			status = h(w, r, actor)
		case registry.RoleDesk:
			status = writeError(w, http.StatusForbidden, deskOnly)
		default:
			status = writeError(w, http.StatusForbidden, "the figures are the operator's: a ServiceAccount of --operator-account may read them, not the staff of office "+actor.Office)
		}
		a.audit(r, actor, status)
		return status
	}
}

// audit writes the audit row of an authenticated call.
func (a *api) audit(r *http.Request, actor registry.Actor, status int) {
	if err := a.store.Audit(context.WithoutCancel(r.Context()), actor, r.Method+" "+r.Pattern, r.PathValue("caseNo"), false, status); err != nil {
		a.log.Error("writing the audit row", "err", err, "office", actor.Office)
	}
}

// filer authenticates who files a petition: a desk for its office, staff
// for theirs, or, without a token and when --public-intake allows it,
// the petitioner (an empty actor). The operator files nothing. Refusals
// are answered with werr.
func (a *api) filer(w http.ResponseWriter, r *http.Request, werr errorWriter) (registry.Actor, int) {
	if r.Header.Get("Authorization") == "" {
		if !a.publicIntake {
			w.Header().Set("WWW-Authenticate", `Bearer realm="petition-registry"`)
			return registry.Actor{}, werr(w, http.StatusUnauthorized, "a desk's token is required: petitions come in through the desks of the offices (Authorization: Bearer <token>)")
		}
		return registry.Actor{}, 0
	}
	actor, status := a.bearer(w, r, werr)
	if status != 0 {
		return registry.Actor{}, status
	}
	if actor.Role == registry.RoleOperator {
		return registry.Actor{}, werr(w, http.StatusForbidden, operatorOnly)
	}
	return actor, 0
}

// instrument counts and times each request by route (bounded labels).
func (a *api) instrument(route string, h func(w http.ResponseWriter, r *http.Request) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := h(w, r)
		a.metrics.request(route, status, time.Since(start))
	}
}

// readBody reads a bounded body: 413 past maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: at most %d bytes", maxBodyBytes))
	case err != nil:
		return nil, writeError(w, http.StatusBadRequest, "body: "+err.Error())
	}
	return body, 0
}

// idempotencyKey reads the required Idempotency-Key header: 1 to 128
// printable ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return "", &cases.FieldError{Field: "Idempotency-Key", Message: "the header is required: a unique key per petition (a UUID), sent again with a retry"}
	}
	if len(k) > maxKeyLength || strings.IndexFunc(k, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return "", &cases.FieldError{Field: "Idempotency-Key", Message: fmt.Sprintf("want 1 to %d printable ASCII characters", maxKeyLength)}
	}
	return k, nil
}

func (a *api) createPetition(w http.ResponseWriter, r *http.Request) int {
	actor, status := a.filer(w, r, writeError)
	if status != 0 {
		return status
	}
	return a.take(w, r, actor, false)
}

func (a *api) createCase(w http.ResponseWriter, r *http.Request, actor registry.Actor) int {
	return a.take(w, r, actor, true)
}

// take is the intake of a petition (from the petitioner, actor empty, or
// through a desk or staff) or of a visit, letter or call registered by an
// office's staff (registration).
func (a *api) take(w http.ResponseWriter, r *http.Request, actor registry.Actor, registration bool) int {
	key, err := idempotencyKey(r)
	if err != nil {
		return a.fail(w, err)
	}
	body, status := readBody(w, r)
	if status != 0 {
		return status
	}
	in, err := cases.DecodeIntake(body, registration)
	if err != nil {
		return a.fail(w, err)
	}
	sub, err := a.submission(actor, in, key, "public")
	if err != nil {
		return a.fail(w, err)
	}
	ans, created, err := a.store.Take(r.Context(), sub)
	if err != nil {
		a.metrics.intake(string(in.Channel), "refused")
		return a.fail(w, err)
	}
	if !created {
		a.metrics.intake(string(in.Channel), "replayed")
		return writeJSON(w, http.StatusOK, ans)
	}
	a.metrics.intake(string(in.Channel), "created")
	w.Header().Set("Location", "/v1/petitions/"+ans.CaseNo)
	return writeJSON(w, http.StatusCreated, ans)
}

// submission is an intake from actor: a desk files for its office (or a
// Village it serves), under keys of its own; staff for their office or
// one below it; a petitioner (no actor) under the keys of scope.
func (a *api) submission(actor registry.Actor, in cases.Intake, key, scope string) (registry.Submission, error) {
	sub := registry.Submission{Intake: in, Key: key, Scope: scope}
	switch actor.Role {
	case registry.RoleDesk:
		if !deskFiles(a.store.Network(), actor.Office, &sub.Intake) {
			return sub, &deskError{desk: actor.Office, office: in.Office}
		}
		sub.Scope = "desk:" + actor.Office
	case registry.RoleStaff:
		if !a.store.Network().Within(in.Office, actor.Office) {
			return sub, &registry.ForbiddenError{Office: actor.Office, CaseNo: "(new)", Responsible: in.Office}
		}
		sub.Scope, sub.Staff = "staff:"+actor.Office, actor.Office
	}
	return sub, nil
}

// deskError is a desk filing for an office it does not serve (HTTP 403).
type deskError struct{ desk, office string }

func (e *deskError) Error() string {
	return fmt.Sprintf("the desk of office %s files petitions for %s and the Villages it serves, not for office %s",
		xinfang.Quote(e.desk), xinfang.Quote(e.desk), xinfang.Quote(e.office))
}

// deskFiles says whether the desk of office files the intake: one made to
// its office, or to a Village its office is the township of (a Village
// has no desk). The case is received at the desk's office; a Village's
// petition keeps the Village as its locality when it names none.
func deskFiles(n *registry.Net, office string, in *cases.Intake) bool {
	if in.Office == office {
		return true
	}
	o, ok := n.Office(in.Office)
	if !ok || o.Spec.Level != v1alpha1.LevelVillage || string(o.Spec.Parent) != office {
		return false
	}
	if in.Locality == "" {
		in.Locality = in.Office
	}
	in.Office = office
	return true
}

func (a *api) getPetition(w http.ResponseWriter, r *http.Request) int {
	caseNo, code := r.PathValue("caseNo"), r.URL.Query().Get("code")
	if len(caseNo) > 32 || len(code) > 32 || code == "" {
		return writeError(w, http.StatusNotFound, "no case of that number and query code")
	}
	p, err := a.store.Progress(r.Context(), caseNo, code)
	var nf *registry.NotFoundError
	if errors.As(err, &nf) {
		return writeError(w, http.StatusNotFound, "no case of that number and query code")
	}
	if err != nil {
		return a.fail(w, err)
	}
	return writeJSON(w, http.StatusOK, p)
}

// ratePetition takes the petitioner's rating of the answer, with the case
// number and the query code, once.
func (a *api) ratePetition(w http.ResponseWriter, r *http.Request) int {
	caseNo, code := r.PathValue("caseNo"), r.URL.Query().Get("code")
	if len(caseNo) > 32 || len(code) > 32 || code == "" {
		return writeError(w, http.StatusNotFound, "no case of that number and query code")
	}
	body, status := readBody(w, r)
	if status != 0 {
		return status
	}
	rating, err := cases.DecodeRating(body)
	if err != nil {
		return a.fail(w, err)
	}
	var nf *registry.NotFoundError
	if err := a.store.Rate(r.Context(), caseNo, code, rating); errors.As(err, &nf) {
		return writeError(w, http.StatusNotFound, "no case of that number and query code")
	} else if err != nil {
		return a.fail(w, err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"caseNo": caseNo, "satisfaction": rating.Satisfaction})
}

func (a *api) getCase(w http.ResponseWriter, r *http.Request, actor registry.Actor) int {
	c, err := a.store.Case(r.Context(), actor, r.PathValue("caseNo"))
	if err != nil {
		return a.fail(w, err)
	}
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(c.Version)))
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, c)
}

func (a *api) transition(w http.ResponseWriter, r *http.Request, actor registry.Actor) int {
	match := r.Header.Get("If-Match")
	if match == "" {
		return writeError(w, http.StatusPreconditionRequired, "If-Match: the header is required: the case's version (its ETag)")
	}
	version, err := registry.ParseVersion(match)
	if err != nil {
		return a.fail(w, err)
	}
	body, status := readBody(w, r)
	if status != 0 {
		return status
	}
	req, err := cases.DecodeRequest(body)
	if err != nil {
		return a.fail(w, err)
	}
	moved, err := a.store.Transition(r.Context(), actor, r.PathValue("caseNo"), version, req)
	if err != nil {
		a.metrics.transition(string(req.Action), "refused")
		return a.fail(w, err)
	}
	a.metrics.transition(string(req.Action), "done")
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(moved.Version)))
	return writeJSON(w, http.StatusOK, moved)
}

// officeIn resolves the {office} of a staff path: the caller's office or
// one below it.
func (a *api) officeIn(r *http.Request, actor registry.Actor) (string, error) {
	office := r.PathValue("office")
	if err := xinfang.CheckOfficeName("office", office); err != nil {
		return "", &cases.FieldError{Field: "office", Message: err.Error()}
	}
	n := a.store.Network()
	if _, ok := n.Office(office); !ok {
		return "", &registry.NotFoundError{CaseNo: "office/" + office}
	}
	if !n.Within(office, actor.Office) {
		return "", &registry.ForbiddenError{Office: actor.Office, CaseNo: "(the cases of office " + office + ")", Responsible: office}
	}
	return office, nil
}

func (a *api) listCases(w http.ResponseWriter, r *http.Request, actor registry.Actor) int {
	office, err := a.officeIn(r, actor)
	if err != nil {
		return a.fail(w, err)
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state != "" && !isState(state) {
		return a.fail(w, &cases.FieldError{Field: "state", Message: fmt.Sprintf("%s is not a state; want one of %s", xinfang.Quote(state), stateList())})
	}
	overdue := q.Get("overdue") == "true"
	if v := q.Get("overdue"); v != "" && v != "true" && v != "false" {
		return a.fail(w, &cases.FieldError{Field: "overdue", Message: "want true or false"})
	}
	var after int64
	if t := q.Get("pageToken"); t != "" {
		if after, err = strconv.ParseInt(t, 10, 64); err != nil || after <= 0 {
			return a.fail(w, &cases.FieldError{Field: "pageToken", Message: "want the nextPageToken of the previous page"})
		}
	}
	offices := []string{office}
	if q.Get("scope") == "subtree" {
		offices = a.store.Network().Subtree(office)
	}
	today := todayAt(a.store, office)
	list, next, err := a.store.List(r.Context(), offices, state, overdue, today, after, 0)
	if err != nil {
		return a.fail(w, err)
	}
	out := map[string]any{"cases": nonNil(list)}
	if next > 0 {
		out["nextPageToken"] = strconv.FormatInt(next, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func isState(s string) bool {
	for _, st := range cases.States() {
		if string(st) == s {
			return true
		}
	}
	return false
}

func stateList() string {
	var names []string
	for _, st := range cases.States() {
		names = append(names, string(st))
	}
	return strings.Join(names, ", ")
}

func todayAt(s *registry.Store, office string) time.Time {
	t := s.Now().In(s.Network().Location(office))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (a *api) stats(w http.ResponseWriter, r *http.Request, actor registry.Actor) int {
	office, err := a.officeIn(r, actor)
	if err != nil {
		return a.fail(w, err)
	}
	q := r.URL.Query()
	scope := q.Get("scope")
	if scope == "" {
		scope = "self"
	}
	offices := []string{office}
	switch scope {
	case "self":
	case "subtree":
		offices = a.store.Network().Subtree(office)
	default:
		return a.fail(w, &cases.FieldError{Field: "scope", Message: "want self or subtree"})
	}
	today := todayAt(a.store, office)
	to, from := today, today.AddDate(0, 0, -defaultStatsDays+1)
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil || len(v) != 10 {
				return a.fail(w, &cases.FieldError{Field: f.name, Message: "want a date YYYY-MM-DD"})
			}
			*f.to = t
		}
	}
	if to.Before(from) || to.Sub(from) > maxStatsDays*24*time.Hour {
		return a.fail(w, &cases.FieldError{Field: "from", Message: fmt.Sprintf("want from on or before to, at most %d days apart", maxStatsDays)})
	}
	st, err := a.store.Stats(r.Context(), office, scope, offices, from, to, today)
	if err != nil {
		return a.fail(w, err)
	}
	return writeJSON(w, http.StatusOK, st)
}

// maxFiguresYears bounds how far back the figures' since may reach.
const maxFiguresYears = 10

// figures answers the operator the own counts of every office of the
// network that has any (cases.Figures): open, overdue and due within 7
// days now; replies, acceptance, skip-level visits, repeats and ratings
// from since (the first of the year in the City's zone by default) to
// today.
func (a *api) figures(w http.ResponseWriter, r *http.Request, _ registry.Actor) int {
	today := todayAt(a.store, a.store.Network().City())
	since, err := figuresSince(r.URL.Query().Get("since"), today)
	if err != nil {
		return a.fail(w, err)
	}
	counts, err := a.store.Figures(r.Context(), since, today)
	if err != nil {
		return a.fail(w, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, cases.Figures{Since: since.Format(time.DateOnly), AsOf: today.Format(time.DateOnly), Offices: counts})
}

// figuresSince reads the figures' since: a date YYYY-MM-DD, not after
// today, at most maxFiguresYears back; the first of today's year when
// empty.
func figuresSince(v string, today time.Time) (time.Time, error) {
	if v == "" {
		return time.Date(today.Year(), time.January, 1, 0, 0, 0, 0, time.UTC), nil
	}
	earliest := today.AddDate(-maxFiguresYears, 0, 0)
	want := fmt.Sprintf("want a date YYYY-MM-DD from %s to today, %s", earliest.Format(time.DateOnly), today.Format(time.DateOnly))
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || len(v) != len(time.DateOnly) {
		return time.Time{}, &cases.FieldError{Field: "since", Message: want}
	}
	if t.After(today) || t.Before(earliest) {
		return time.Time{}, &cases.FieldError{Field: "since", Message: fmt.Sprintf("%s is out of range: %s", v, want)}
	}
	return t, nil
}

func (a *api) events(w http.ResponseWriter, r *http.Request, actor registry.Actor) int {
	q := r.URL.Query()
	after, err := registry.ParseCursor(q.Get("after"))
	if err != nil {
		return a.fail(w, err)
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > registry.MaxEventsPage {
			return a.fail(w, &cases.FieldError{Field: "limit", Message: fmt.Sprintf("want 1 to %d", registry.MaxEventsPage)})
		}
	}
	events, next, err := a.store.Events(r.Context(), after, limit, a.store.Network().Subtree(actor.Office))
	if err != nil {
		return a.fail(w, err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": nonNil(events), "next": next.String()})
}

// fail answers an error with its status: bad input 422 naming the field,
// a state that does not allow the action or a reused key 409, a stale
// version 412, another office's case 403, an unknown one 404; anything
// else is the registry's fault, 500, logged without the request's data.
func (a *api) fail(w http.ResponseWriter, err error) int {
	var (
		field     *cases.FieldError
		conflict  *cases.ConflictError
		reused    *registry.ConflictError
		rating    *registry.RatingError
		stale     *registry.StaleError
		forbidden *registry.ForbiddenError
		desk      *deskError
		notFound  *registry.NotFoundError
	)
	switch {
	case errors.As(err, &field):
		return writeError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.As(err, &conflict), errors.As(err, &reused), errors.As(err, &rating):
		return writeError(w, http.StatusConflict, err.Error())
	case errors.As(err, &stale):
		return writeError(w, http.StatusPreconditionFailed, err.Error())
	case errors.As(err, &forbidden), errors.As(err, &desk):
		return writeError(w, http.StatusForbidden, err.Error())
	case errors.As(err, &notFound):
		return writeError(w, http.StatusNotFound, err.Error())
	}
	var nc *xinfang.NoChainError
	if errors.As(err, &nc) {
		return writeError(w, http.StatusUnprocessableEntity, "office: "+err.Error())
	}
	a.log.Error("request failed", "err", err)
	return writeError(w, http.StatusInternalServerError, "the registry could not answer; retry with the same Idempotency-Key")
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
	return code
}

func writeError(w http.ResponseWriter, code int, msg string) int {
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	return writeJSON(w, code, map[string]string{"error": msg})
}
