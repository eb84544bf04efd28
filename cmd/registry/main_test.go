package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/pgtest"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/testhttp"
)

var server *pgtest.Server

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(s *pgtest.Server) error {
		server = s
		return s.Template(context.Background(), "registry", registry.Prepare)
	}))
}

// Staff tokens of the test's registry.
const (
	townToken   = "town-token-0123456789"
	deptToken   = "dept-token-0123456789"
	countyToken = "county-token-0123456789"
	otherToken  = "other-token-0123456789"
	cityToken   = "city-token-0123456789"
)

// live is a registry served from files for a test.
type live struct {
	base string
	logs *syncBuffer
}

// syncBuffer is a log sink the test reads while the registry writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the registry on a database of its own, from config/samples,
// with extra flags, until the test ends.
// A later --network-dir in extra replaces config/samples.
func start(t *testing.T, extra ...string) *live {
	t.Helper()
	return startWith(t, append([]string{"--database-url", server.Database(t, "registry"), "--network-dir", filepath.Join("..", "..", "config", "samples"),
		"--staff-tokens", writeTokens(t), "--key-file", writeKeys(t), "--listen", "127.0.0.1:0", "--sweep-interval", "100ms"}, extra...))
}

// writeKeys writes a new key file and returns its path.
func writeKeys(t *testing.T) string {
	t.Helper()
	var kb bytes.Buffer
	if err := pii.Generate(&kb, "k1"); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "keys", kb.String())
}

// writeTokens writes the test's staff tokens and returns the file's path.
func writeTokens(t *testing.T) string {
	t.Helper()
	return writeFile(t, "tokens", fmt.Sprintf("%s,shifosi-town,clerk\n%s,zhenping-natural-resources\n%s,zhenping-county\n%s,neixiang-county\n%s,nanyang-city\n",
		townToken, deptToken, countyToken, otherToken, cityToken))
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startWith runs the registry with args until the test ends, once it
// listens.
func startWith(t *testing.T, args []string) *live {
	t.Helper()
	l := &live{logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, slog.New(slog.NewJSONHandler(l.logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for l.base == "" {
		sc := bufio.NewScanner(strings.NewReader(l.logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line.Msg, "listening on ") {
				l.base = "http://" + line.Addr
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the registry stopped: %v\n%s", err, l.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not listen within 30 s:\n%s", l.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l
}

// call makes a request and decodes a JSON answer into out (when not nil).
func (l *live) call(t *testing.T, method, path string, headers map[string]string, body string, out any) (int, http.Header) {
	t.Helper()
	code, header, data := l.do(t, method, path, headers, body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, code, data, err)
		}
	}
	return code, header
}

// do makes a request and returns the answer's status, header and body.
func (l *live) do(t *testing.T, method, path string, headers map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	a := testhttp.Do(t, method, l.base+path, headers, body)
	return a.Code, a.Header, a.Body
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// raw GETs path and returns the body whatever it is.
func (l *live) raw(t *testing.T, path string, headers map[string]string) string {
	t.Helper()
	_, _, data := l.do(t, "GET", path, headers, "")
	return string(data)
}
