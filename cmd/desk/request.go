package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

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
		return time.Time{}, fmt.Errorf("%s: %s is not an RFC 3339 time such as 2026-10-08T09:00:00+08:00", name, xinfang.Quote(v))
	}
	return t, checkYear(name, t)
}

// parseDate parses the YYYY-MM-DD query parameter name.
func parseDate(name, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %s is not a date; want YYYY-MM-DD", name, xinfang.Quote(v))
	}
	return t, checkYear(name, t)
}

// deadlineParams are the query parameters of GET /v1/deadlines, each with
// the most bytes it may hold.
var deadlineParams = map[string]int{"received": len(time.DateOnly), "replied": len(time.DateOnly),
	"category": v1alpha1.MaxCategoryLength, "type": maxEnum, "channel": maxEnum, "locality": xinfang.MaxOfficeName}

// handlerParams are the query parameters of GET /v1/handler.
var handlerParams = map[string]int{"category": v1alpha1.MaxCategoryLength, "type": maxEnum, "channel": maxEnum}

// checkParams refuses a parameter not in params, given more than once or
// longer than its bound; want lists the parameters for the message.
func checkParams(v url.Values, params map[string]int, want string) error {
	for name, values := range v {
		limit, ok := params[name]
		if !ok {
			return fmt.Errorf("%s: unknown parameter; want %s", xinfang.Quote(name), want)
		}
		if len(values) > 1 {
			return fmt.Errorf("%s: given %d times, want once", name, len(values))
		}
		if len(values[0]) > limit {
			return fmt.Errorf("%s: %s is longer than %d bytes", name, xinfang.Quote(values[0]), limit)
		}
	}
	return nil
}

// deadlineQuery reads the query of GET /v1/deadlines: received, and
// optionally replied, the petition (category and type, and channel) and
// its locality, each at most once and within its bounds. Errors name the
// parameter.
func deadlineQuery(v url.Values) (xinfang.DeadlineQuery, string, error) {
	var q xinfang.DeadlineQuery
	if err := checkParams(v, deadlineParams, "received, replied, category, type, channel, locality"); err != nil {
		return q, "", err
	}
	q, err := deadlineDates(v)
	if err != nil {
		return q, "", err
	}
	if v.Has("category") || v.Has("type") || v.Has("channel") {
		q.Petition = &xinfang.Petition{Category: v.Get("category"), Type: v1alpha1.PetitionType(v.Get("type")), Channel: v1alpha1.Channel(v.Get("channel"))}
	}
	if !v.Has("locality") {
		return q, "", nil
	}
	locality := v.Get("locality")
	if err := xinfang.CheckOfficeName("locality", locality); err != nil {
		return q, "", err
	}
	if q.Petition == nil {
		return q, "", errors.New("locality: needs the petition (category and type) to route")
	}
	return q, locality, q.Petition.Validate()
}

// deadlineDates reads received and replied.
func deadlineDates(v url.Values) (xinfang.DeadlineQuery, error) {
	var q xinfang.DeadlineQuery
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
func decodePetition(body []byte) (p xinfang.Petition, locality string, _ error) {
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
			field, limit = &locality, xinfang.MaxOfficeName
		default:
			return p, "", fmt.Errorf("body: unknown field %s; want category, type, channel and locality", xinfang.Quote(key))
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
			return p, "", fmt.Errorf("%s: %s is longer than %d bytes", key, xinfang.Quote(*field), limit)
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

// routeRequest reads the body of POST /v1/route: a valid petition, and the
// office name of its locality when one is given.
func routeRequest(body []byte) (xinfang.Petition, string, error) {
	p, locality, err := decodePetition(body)
	if err == nil {
		err = p.Validate()
	}
	if err == nil && locality != "" {
		err = xinfang.CheckOfficeName("locality", locality)
	}
	return p, locality, err
}
