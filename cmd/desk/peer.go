package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

// maxPeerBytes bounds the answer of another desk: a handling holds one
// route, a path and a chain of at most four stages.
const maxPeerBytes = 64 << 10

// peerError is why a locality's handling could not be had, with the status
// the desk answers: 422 for a locality that is no office's, 503 for a desk
// that limits this desk's rate (with its Retry-After), 502 for a desk that
// did not answer well.
type peerError struct {
	code int
	msg  string
	// retryAfter is the Retry-After of a 503, whole seconds, or "".
	retryAfter string
}

func (e *peerError) Error() string { return e.msg }

// localityHandling asks the desk of the locality how it handles the
// petition: one GET /v1/handler to the address PeerURLTemplate makes of
// the name (the peer port of its desk's Service), within PeerTimeout, its answer at most maxPeerBytes of exactly
// one JSON object of the fields of xinfang.Handling, within their bounds.
func (d *desk) localityHandling(ctx context.Context, locality string, p xinfang.Petition) (*xinfang.Handling, error) {
	if err := xinfang.CheckOfficeName("locality", locality); err != nil {
		return nil, &peerError{code: http.StatusBadRequest, msg: err.Error()}
	}
	q := url.Values{"category": {p.Category}, "type": {string(p.Type)}}
	if p.Channel != "" {
		q.Set("channel", string(p.Channel))
	}
	addr := strings.Replace(d.opts.PeerURLTemplate, officePlaceholder, locality, 1) + "/v1/handler?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, d.opts.PeerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	if err != nil {
		return nil, &peerError{code: http.StatusBadGateway, msg: fmt.Sprintf("locality: the address of office %s's desk: %v", locality, err)}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := d.peer.Do(req)
	if err != nil {
		if dns := (*net.DNSError)(nil); errors.As(err, &dns) && dns.IsNotFound {
			return nil, &peerError{code: http.StatusUnprocessableEntity, msg: fmt.Sprintf("locality: no office %s: its desk %s does not resolve (a Village has no desk of its own: ask its township's desk, or name the township)", locality, dns.Name)}
		}
		return nil, &peerError{code: http.StatusBadGateway, msg: fmt.Sprintf("locality: the desk of office %s did not answer: %v", locality, unwrapURLError(err))}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBytes+1))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, &peerError{code: http.StatusUnprocessableEntity, msg: fmt.Sprintf("locality: office %s has no desk that answers GET /v1/handler (404)", locality)}
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &peerError{code: http.StatusServiceUnavailable, retryAfter: retrySeconds(resp.Header.Get("Retry-After")),
			msg: fmt.Sprintf("locality: the desk of office %s limits this desk's requests (429)%s", locality, peerMessage(body))}
	case resp.StatusCode != http.StatusOK:
		return nil, &peerError{code: http.StatusBadGateway, msg: fmt.Sprintf("locality: the desk of office %s answered %d%s", locality, resp.StatusCode, peerMessage(body))}
	case err != nil:
		return nil, &peerError{code: http.StatusBadGateway, msg: fmt.Sprintf("locality: reading the answer of office %s's desk: %v", locality, err)}
	case len(body) > maxPeerBytes:
		return nil, &peerError{code: http.StatusBadGateway, msg: fmt.Sprintf("locality: the answer of office %s's desk is larger than %d bytes", locality, maxPeerBytes)}
	}
	h, err := decodeHandling(body)
	if err != nil {
		return nil, &peerError{code: http.StatusBadGateway, msg: fmt.Sprintf("locality: the answer of office %s's desk: %v", locality, err)}
	}
	return h, nil
}

// decodeHandling reads exactly one JSON object of xinfang.Handling's
// fields, nothing unknown and nothing after it, within its bounds.
func decodeHandling(body []byte) (*xinfang.Handling, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var h xinfang.Handling
	if err := dec.Decode(&h); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if err := h.Check(); err != nil {
		return nil, err
	}
	if h.Chain != nil {
		if err := checkChain("chain", &h.Chain.Escalation); err != nil {
			return nil, err
		}
	}
	return &h, nil
}

// maxRetrySeconds bounds the Retry-After passed on from another desk.
const maxRetrySeconds = 3600

// retrySeconds is a Retry-After of whole seconds, 1 to maxRetrySeconds, as
// given, or "" for anything else (a date included).
func retrySeconds(v string) string {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxRetrySeconds {
		return ""
	}
	return strconv.Itoa(n)
}

// peerMessage is the error another desk gave, cut short, or nothing.
func peerMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	return ": " + xinfang.Truncate(e.Error, 200)
}

// unwrapURLError drops the method and address that url.Error repeats.
func unwrapURLError(err error) error {
	if u := (*url.Error)(nil); errors.As(err, &u) {
		if u.Timeout() {
			return errors.New("timed out")
		}
		return u.Err
	}
	return err
}
