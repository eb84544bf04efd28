package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServesAndReloadsConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "office.json")
	const v1 = `{"office":"zhenping-county","path":["nanyang-city","zhenping-county"]}`
	writeFile(t, path, v1)
	d, err := newDesk(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.handler())
	defer srv.Close()

	for p, want := range map[string]string{"/v1/office": v1, "/healthz": "ok\n", "/readyz": "ok\n"} {
		if code, body := get(t, srv.URL+p); code != http.StatusOK || body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", p, code, body, want)
		}
	}
	resp, err := http.Post(srv.URL+"/v1/office", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/office = %d, want 405", resp.StatusCode)
	}

	// Unchanged file: no reload.
	if changed, err := d.reload(); changed || err != nil {
		t.Errorf("reload of an unchanged file = %v, %v", changed, err)
	}
	// A new configuration is served after a reload.
	const v2 = `{"office":"zhenping-county","displayName":"镇平县信访局"}`
	writeFile(t, path, v2)
	if changed, err := d.reload(); !changed || err != nil {
		t.Fatalf("reload = %v, %v", changed, err)
	}
	if _, body := get(t, srv.URL+"/v1/office"); body != v2 {
		t.Errorf("after reload: %q", body)
	}
	// A broken file keeps the last good configuration.
	writeFile(t, path, "not json")
	if _, err := d.reload(); err == nil {
		t.Error("a broken file reloaded")
	}
	if _, body := get(t, srv.URL+"/v1/office"); body != v2 {
		t.Errorf("after a broken reload: %q", body)
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for name, content := range map[string]string{
		"not json":   "office: zhenping",
		"json array": `["zhenping"]`,
		"empty":      "",
		"too large":  `{"x":"` + strings.Repeat("a", maxConfigBytes) + `"}`,
	} {
		path := filepath.Join(t.TempDir(), "office.json")
		writeFile(t, path, content)
		if _, err := newDesk(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := newDesk(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: accepted")
	}
}
