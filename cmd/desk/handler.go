package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
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
	mu   sync.RWMutex
	cfg  []byte
}

func newDesk(path string) (*desk, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	return &desk{path: path, cfg: cfg}, nil
}

// reload reads the file again; it reports whether the configuration changed.
func (d *desk) reload() (bool, error) {
	cfg, err := loadConfig(d.path)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if bytes.Equal(cfg, d.cfg) {
		return false, nil
	}
	d.cfg = cfg
	return true, nil
}

func (d *desk) config() []byte {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg
}

// handler serves the configuration at /v1/office and the probes.
func (d *desk) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/office", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(d.config())
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	return mux
}
