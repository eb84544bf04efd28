package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/registry"
)

// Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): a service
// request is a petition filed Online. jurisdiction_id names the office,
// service_code the category; attribute[type] the petition's type (default
// Appeal, a request to solve a problem) and attribute[locality] where the
// matter arose. The service_request_id is the case number and the query
// code joined by a "~": whoever holds it may follow the request, as a
// petitioner holds the two.

// open311Separator joins the case number and the query code of a
// service_request_id.
const open311Separator = "~"

// open311Error is GeoReport's error list.
func open311Error(w http.ResponseWriter, code int, msg string) int {
	return writeJSON(w, code, []map[string]any{{"code": code, "description": msg}})
}

func (a *api) open311Create(w http.ResponseWriter, r *http.Request) int {
	actor, status := a.filer(w, r, open311Error)
	if status != 0 {
		return status
	}
	body, status := readBody(w, r)
	if status != 0 {
		return status
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return open311Error(w, http.StatusBadRequest, "the body is not application/x-www-form-urlencoded")
	}
	for k, v := range form {
		if len(v) > 1 {
			return open311Error(w, http.StatusUnprocessableEntity, k+": given more than once")
		}
	}
	name := strings.TrimSpace(form.Get("first_name") + " " + form.Get("last_name"))
	typ := form.Get("attribute[type]")
	if typ == "" {
		typ = "Appeal"
	}
	in := map[string]any{
		"office": form.Get("jurisdiction_id"), "category": form.Get("service_code"), "type": typ, "channel": "Online",
		"description": form.Get("description"),
		"petitioner":  map[string]any{"name": name, "phone": form.Get("phone")},
	}
	if l := form.Get("attribute[locality]"); l != "" {
		in["locality"] = l
	}
	encoded, err := jsonMarshal(in)
	if err != nil {
		return open311Error(w, http.StatusInternalServerError, "encoding the request")
	}
	intake, err := cases.DecodeIntake(encoded, false)
	if err != nil {
		return open311Error(w, http.StatusUnprocessableEntity, open311Field(err))
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		// GeoReport clients send no key: the request itself is its key,
		// so that a retry of the same request files one case.
		sum := sha256.Sum256(body)
		key = "open311-" + hex.EncodeToString(sum[:16])
	} else if k, err := idempotencyKey(r); err != nil {
		return open311Error(w, http.StatusUnprocessableEntity, err.Error())
	} else {
		key = k
	}
	sub, err := a.submission(actor, intake, key, "open311")
	if err != nil {
		return open311Error(w, http.StatusForbidden, err.Error())
	}
	ans, created, err := a.store.Take(r.Context(), sub)
	if err != nil {
		var field *cases.FieldError
		if errors.As(err, &field) {
			return open311Error(w, http.StatusUnprocessableEntity, open311Field(err))
		}
		return a.fail(w, err)
	}
	a.metrics.intake("Online", map[bool]string{true: "created", false: "replayed"}[created])
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	id := ans.CaseNo
	if ans.QueryCode != "" {
		id += open311Separator + ans.QueryCode
	}
	return writeJSON(w, code, []map[string]any{{"service_request_id": id,
		"service_notice": "keep this id: it is the case number and the query code of your petition", "account_id": nil}})
}

// open311Field words an intake error with GeoReport's field names.
func open311Field(err error) string {
	msg := err.Error()
	for ours, theirs := range map[string]string{"office:": "jurisdiction_id:", "category:": "service_code:", "petitioner.phone:": "phone:",
		"petitioner.name:": "first_name:", "type:": "attribute[type]:", "locality:": "attribute[locality]:"} {
		if strings.HasPrefix(msg, ours) {
			return theirs + strings.TrimPrefix(msg, ours)
		}
	}
	return msg
}

func (a *api) open311Get(w http.ResponseWriter, r *http.Request) int {
	id, ok := strings.CutSuffix(r.PathValue("id"), ".json")
	caseNo, code, found := strings.Cut(id, open311Separator)
	if !ok || !found || len(id) > 64 {
		return open311Error(w, http.StatusNotFound, "no service request of that id")
	}
	p, err := a.store.Progress(r.Context(), caseNo, code)
	var nf *registry.NotFoundError
	if errors.As(err, &nf) {
		return open311Error(w, http.StatusNotFound, "no service request of that id")
	}
	if err != nil {
		return a.fail(w, err)
	}
	req := map[string]any{
		"service_request_id": id,
		"status":             p.State.Open311(),
		"status_notes":       p.Label,
		"agency_responsible": p.Office,
		"requested_datetime": p.Received,
	}
	if p.Due != "" {
		if t, err := time.Parse(time.DateOnly, p.Due); err == nil {
			req["expected_datetime"] = t.Format(time.RFC3339)
		}
	}
	if n := len(p.Timeline); n > 0 {
		req["updated_datetime"] = p.Timeline[n-1].At.Format(time.RFC3339)
	}
	if r.URL.Query().Get("extensions") == "true" {
		req["extended_attributes"] = map[string]any{"detailed_status": p.State, "notes": p.Timeline}
	}
	return writeJSON(w, http.StatusOK, []map[string]any{req})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
