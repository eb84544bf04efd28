package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/pgtest"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/registry"
)

// server is the package's PostgreSQL, with the template "registry"
// migrated once.
var server *pgtest.Server

func TestMain(m *testing.M) {
	code := pgtest.Main(m, func(s *pgtest.Server) error {
		server = s
		return s.Template(context.Background(), "registry", registry.Prepare)
	})
	if err := stopControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// clock is a settable clock.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(s string) *clock {
	c := &clock{}
	c.set(s)
	return c
}

func (c *clock) now() time.Time { return *c.t.Load() }

func (c *clock) set(s string) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	c.t.Store(&t)
}

// samples is the network of config/samples, loaded once.
var samples = sync.OnceValues(func() (*registry.Net, error) {
	_, file, _, _ := runtime.Caller(0)
	set, err := objfiles.Load(filepath.Join(filepath.Dir(file), "..", "..", "config", "samples"))
	if err != nil {
		return nil, err
	}
	return registry.NewNet(set), nil
})

// fixture is a store on a database of its own.
type fixture struct {
	store *registry.Store
	pool  *pgxpool.Pool
	clock *clock
	net   *registry.Net
	keys  *pii.Keyring
	// keyFile is the key file keys was read from.
	keyFile []byte
}

// newFixture's clock starts at 09:30 on 2026-09-16 in Beijing, the day of
// docs/escalation.md's worked example.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureAt(t, "2026-09-16T09:30:00+08:00")
}

// newFixtureAt is newFixture with its clock starting at now (RFC 3339).
func newFixtureAt(t *testing.T, now string) *fixture {
	t.Helper()
	n, err := samples()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pii.Generate(&buf, "k1"); err != nil {
		t.Fatal(err)
	}
	keyFile := bytes.Clone(buf.Bytes())
	keys, err := pii.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), server.Database(t, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := newClock(now)
	return &fixture{store: registry.New(pool, registry.Static{Net: n}, keys, registry.Options{Now: c.now}), pool: pool, clock: c, net: n, keys: keys, keyFile: keyFile}
}

// TestMigrateTakesThePoolsURL: the registry's one URL may set its pool
// (pool_max_conns), which migrating on a connection of its own leaves out.
func TestMigrateTakesThePoolsURL(t *testing.T) {
	url := server.Database(t, "") + "&pool_max_conns=3"
	v, err := registry.Migrate(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if want, err := registry.SchemaVersion(); err != nil || v != want {
		t.Errorf("schema version %d (%v); want %d", v, err, want)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 3 {
		t.Errorf("the pool's MaxConns = %d; want 3", got)
	}
}
