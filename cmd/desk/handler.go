package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
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
	path   string
	mu     sync.RWMutex
	cfg    []byte
	office network.OfficeConfig
}

func newDesk(path string) (*desk, error) {
	d := &desk{path: path}
	if _, err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// reload reads the file again; it reports whether the configuration changed.
func (d *desk) reload() (bool, error) {
	cfg, err := loadConfig(d.path)
	if err != nil {
		return false, err
	}
	var office network.OfficeConfig
	if err := json.Unmarshal(cfg, &office); err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if bytes.Equal(cfg, d.cfg) {
		return false, nil
	}
	d.cfg, d.office = cfg, office
	return true, nil
}

func (d *desk) config() ([]byte, network.OfficeConfig) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg, d.office
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// handler serves the configuration at /v1/office and the probes.
func (d *desk) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/office", func(w http.ResponseWriter, _ *http.Request) {
		raw, _ := d.config()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	})
	// The escalation chain: the handler office of each stage, its limits,
	// reminders and the supervisor.
	mux.HandleFunc("GET /v1/escalation", func(w http.ResponseWriter, _ *http.Request) {
		_, office := d.config()
		if office.Escalation == nil {
			writeError(w, http.StatusNotFound, "the office configuration has no escalation chain")
			return
		}
		writeJSON(w, http.StatusOK, office.Escalation)
	})
	// The projected due date of every stage for a petition received on a
	// date: GET /v1/deadlines?received=YYYY-MM-DD.
	mux.HandleFunc("GET /v1/deadlines", func(w http.ResponseWriter, r *http.Request) {
		received, err := time.Parse(time.DateOnly, r.URL.Query().Get("received"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("received: %q is not a date; want YYYY-MM-DD", r.URL.Query().Get("received")))
			return
		}
		_, office := d.config()
		stages, err := office.Deadlines(received)
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"stages": stages})
	})
	// Where a petition goes: POST /v1/route {"category", "type", "channel"}.
	mux.HandleFunc("POST /v1/route", func(w http.ResponseWriter, r *http.Request) {
		var p network.Petition
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			writeError(w, http.StatusBadRequest, "body: want a JSON object {\"category\", \"type\", \"channel\"}: "+err.Error())
			return
		}
		_, office := d.config()
		route, err := office.Route(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, route)
	})
	// Whether a channel is open: GET /v1/windows?channel=Visit&at=RFC3339.
	mux.HandleFunc("GET /v1/windows", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		at, err := time.Parse(time.RFC3339, q.Get("at"))
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("at: %q is not an RFC 3339 time such as 2026-10-08T09:00:00+08:00", q.Get("at")))
			return
		}
		_, office := d.config()
		ans, err := office.Windows(v1alpha1.Channel(q.Get("channel")), at)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, ans)
	})
	// Open311 GeoReport v2 service discovery: one service per category the
	// office routes.
	mux.HandleFunc("GET /open311/v2/services.json", func(w http.ResponseWriter, _ *http.Request) {
		_, office := d.config()
		writeJSON(w, http.StatusOK, open311Services(&office))
	})
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	return mux
}

// open311Service is a service of the Open311 GeoReport v2 service list.
type open311Service struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"`
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
}

// open311Services lists one service per category the office's rules name,
// in rule order, described by where the first rule that names it routes.
func open311Services(office *network.OfficeConfig) []open311Service {
	services := []open311Service{}
	if office.Routing == nil {
		return services
	}
	seen := map[string]bool{}
	for _, r := range office.Routing.Rules {
		for _, c := range r.Match.Categories {
			if seen[c] {
				continue
			}
			seen[c] = true
			services = append(services, open311Service{
				ServiceCode: c, ServiceName: c, Type: "realtime", Group: r.Policy,
				Description: fmt.Sprintf("%s petitions received by %s are handled by %s", c, office.Office, r.Office),
			})
		}
	}
	return services
}
