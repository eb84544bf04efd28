package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/xinfang/petition-operator/internal/httpguard"
	"github.com/xinfang/petition-operator/internal/xinfang"
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
	opts options
	// peer asks the desks of other offices (localityHandling).
	peer *http.Client
	// peerRate bounds each client's requests on the peer listener.
	peerRate *httpguard.ClientRate
	// reloading serialises reloads; requests read state without a lock.
	reloading sync.Mutex
	state     atomic.Pointer[loaded]
	// builds counts the configurations built: their calendar and window
	// set are built once per configuration, never per request.
	builds atomic.Int64
	// searchDays and searchSteps are the most dates and steps one
	// request's search for the next opening took.
	searchDays, searchSteps atomic.Int64
}

// loaded is one configuration as the desk serves it.
type loaded struct {
	raw     []byte
	office  *xinfang.OfficeConfig
	answers *xinfang.Answers
}

func newDesk(path string, opts options) (*desk, error) {
	d := &desk{path: path, opts: opts, peer: opts.peerClient(), peerRate: httpguard.NewClientRate(opts.PeerRate, opts.PeerBurst)}
	if _, err := d.reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// reload reads the file again; it reports whether the configuration changed.
// It builds the calendar and window set of a changed configuration, and
// refuses one whose windows or calendar do not build or exceed the API's
// bounds.
func (d *desk) reload() (bool, error) {
	raw, err := loadConfig(d.path)
	if err != nil {
		return false, err
	}
	d.reloading.Lock()
	defer d.reloading.Unlock()
	if cur := d.state.Load(); cur != nil && bytes.Equal(raw, cur.raw) {
		return false, nil
	}
	var office xinfang.OfficeConfig
	if err := json.Unmarshal(raw, &office); err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	if err := checkBounds(&office); err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	answers, err := office.Prepare()
	if err != nil {
		return false, fmt.Errorf("the office configuration %s: %w", d.path, err)
	}
	d.builds.Add(1)
	d.state.Store(&loaded{raw: raw, office: &office, answers: answers})
	return true, nil
}

// current is the configuration the desk serves now.
func (d *desk) current() *loaded { return d.state.Load() }

// noteSearch keeps the most work one search took.
func (d *desk) noteSearch(st xinfang.SearchStats) {
	for _, f := range []struct {
		max *atomic.Int64
		v   int64
	}{{&d.searchDays, int64(st.Days)}, {&d.searchSteps, int64(st.Steps)}} {
		for {
			old := f.max.Load()
			if f.v <= old || f.max.CompareAndSwap(old, f.v) {
				break
			}
		}
	}
}
