// Package testhttp makes the HTTP requests of tests: one request, its
// answer read whole, any failure to make it failing the test.
package testhttp

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Answer is what a server answered.
type Answer struct {
	Code   int
	Header http.Header
	Body   []byte
}

// Do makes a request of method to url with headers and body, on the
// default client, and reads the whole answer. A request that cannot be
// made or read fails t.
func Do(t testing.TB, method, url string, headers map[string]string, body string) Answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return Answer{Code: resp.StatusCode, Header: resp.Header, Body: data}
}
