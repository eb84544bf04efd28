package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
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

// newHandler serves the configuration at /v1/config and the probes.
func newHandler(cfg []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cfg)
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	return mux
}
