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

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "office.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServesConfig(t *testing.T) {
	const cfg = `{"office":"zhenping-county","path":["nanyang-city","zhenping-county"]}`
	data, err := loadConfig(writeFile(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(data))
	defer srv.Close()

	for path, want := range map[string]string{"/v1/config": cfg, "/healthz": "ok\n", "/readyz": "ok\n"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != want {
			t.Errorf("GET %s = %d %q, want 200 %q", path, resp.StatusCode, body, want)
		}
	}
	resp, err := http.Post(srv.URL+"/v1/config", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/config = %d, want 405", resp.StatusCode)
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for name, content := range map[string]string{
		"not json":   "office: zhenping",
		"json array": `["zhenping"]`,
		"empty":      "",
		"too large":  `{"x":"` + strings.Repeat("a", maxConfigBytes) + `"}`,
	} {
		if _, err := loadConfig(writeFile(t, content)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: accepted")
	}
}
