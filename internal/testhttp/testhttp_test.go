package testhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/xinfang/petition-operator/internal/testhttp"
)

// TestDo: the request carries the method, headers and body given, and the
// answer its status, headers and whole body.
func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write(append([]byte("got "), body...))
	}))
	defer srv.Close()
	a := testhttp.Do(t, http.MethodPut, srv.URL, map[string]string{"Authorization": "Bearer x"}, "hello")
	if a.Code != http.StatusTeapot || a.Header.Get("X-Seen") != "PUT Bearer x" || string(a.Body) != "got hello" {
		t.Errorf("Do = %d %q %q, want 418 %q %q", a.Code, a.Header.Get("X-Seen"), a.Body, "PUT Bearer x", "got hello")
	}
}
