package pgtest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xinfang/petition-operator/internal/pgtest"
)

// server is the package's server; its template widgets has the table items
// with one row, (0, template).
var server *pgtest.Server

const widgets = "widgets"

// runs numbers the runs of a test that needs a template of its own.
var runs atomic.Int64

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(s *pgtest.Server) error {
		server = s
		return s.Template(context.Background(), widgets, prepareWidgets)
	}))
}

// prepareWidgets makes the table items and its first row, as migrations
// would.
func prepareWidgets(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, `CREATE TABLE items (id int PRIMARY KEY, owner text NOT NULL);
		INSERT INTO items VALUES (0, 'template')`)
	return err
}

// connect connects to url for the rest of the test.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// items returns the rows of items as "id owner", by id.
func items(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT id::text || ' ' || owner FROM items ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// databases returns which of names the server has.
func databases(t *testing.T, names ...string) []string {
	t.Helper()
	rows, err := connect(t, server.URL("postgres")).Query(t.Context(),
		"SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname", names)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestParallelTestsGetTheirOwnDatabase runs two parallel tests that each
// get a copy of the template, write the same keys to it and, once both have
// written, find the template's row and their own rows only.
func TestParallelTestsGetTheirOwnDatabase(t *testing.T) {
	var mu sync.Mutex
	dbs := map[string]string{}
	var inserted sync.WaitGroup
	inserted.Add(2)
	t.Run("group", func(t *testing.T) {
		for _, owner := range []string{"a", "b"} {
			t.Run(owner, func(t *testing.T) {
				t.Parallel()
				done := sync.OnceFunc(inserted.Done)
				defer done()
				conn := connect(t, server.Database(t, widgets))
				var db string
				if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&db); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				dbs[owner] = db
				mu.Unlock()
				// The same keys in both: in one database, the second
				// test's insert would break the primary key.
				if _, err := conn.Exec(t.Context(), "INSERT INTO items VALUES (1, $1), (2, $1)", owner); err != nil {
					t.Fatal(err)
				}
				done()
				waitForOthers(t, &inserted)
				if got, want := items(t, conn), []string{"0 template", "1 " + owner, "2 " + owner}; !slices.Equal(got, want) {
					t.Errorf("items = %q, want %q", got, want)
				}
			})
		}
	})
	if len(dbs) != 2 || dbs["a"] == dbs["b"] {
		t.Fatalf("databases of the tests = %v, want two different ones", dbs)
	}
	for owner, db := range dbs {
		if prefix := "testparalleltestsgettheirowndatabase_group_" + owner + "_"; !strings.HasPrefix(db, prefix) {
			t.Errorf("database of test %s = %q, want a name starting %q", owner, db, prefix)
		}
	}
	if left := databases(t, dbs["a"], dbs["b"]); len(left) > 0 {
		t.Errorf("databases %v are left after their tests ended", left)
	}
}

// waitForOthers waits for the parallel tests of wg, unless tests run one at
// a time (go test -parallel 1).
func waitForOthers(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == "1" {
		return
	}
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-time.After(time.Minute):
		t.Fatal("the other parallel test did not get this far within a minute")
	}
}

// TestDatabaseDroppedWithItsTest checks that a test's database, with a
// session still open on it, is gone once the test ends.
func TestDatabaseDroppedWithItsTest(t *testing.T) {
	var url string
	var open *pgx.Conn
	t.Run("test", func(t *testing.T) {
		url = server.Database(t, "")
		var err error
		// Not closed by the test: the database goes all the same.
		if open, err = pgx.Connect(t.Context(), url); err != nil {
			t.Fatal(err)
		}
	})
	defer func() { _ = open.Close(context.Background()) }()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if left := databases(t, cfg.Database); len(left) > 0 {
		t.Fatalf("database %s is left after its test ended", cfg.Database)
	}
	_, err = pgx.Connect(t.Context(), url)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Errorf("connecting to the dropped database: %v, want invalid_catalog_name (3D000)", err)
	}
	if err := open.Ping(t.Context()); err == nil {
		t.Error("the session left open on the dropped database still answers")
	}
}

// TestTemplatePreparedOnce checks that Template of an existing template
// leaves it as it is.
func TestTemplatePreparedOnce(t *testing.T) {
	err := server.Template(t.Context(), widgets, func(context.Context, string) error {
		return errors.New("prepare ran again")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := items(t, connect(t, server.Database(t, widgets))), []string{"0 template"}; !slices.Equal(got, want) {
		t.Errorf("items = %q, want %q", got, want)
	}
}

// TestTemplateFailedPrepare checks that a template whose prepare fails is
// dropped, and the failure returned.
func TestTemplateFailedPrepare(t *testing.T) {
	boom := errors.New("boom")
	err := server.Template(t.Context(), "broken", func(ctx context.Context, url string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "CREATE TABLE half (id int)"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Template = %v, want prepare's error", err)
	}
	if left := databases(t, "broken"); len(left) > 0 {
		t.Error("the template whose prepare failed is left")
	}
}

// TestTemplateEndsSessionsLeftOpen checks that a template whose prepare
// leaves a session open can be cloned all the same: Template ends the
// session.
func TestTemplateEndsSessionsLeftOpen(t *testing.T) {
	// A template of its own for each run (go test -count).
	leaky := fmt.Sprintf("leaky_%d", runs.Add(1))
	var leaked *pgx.Conn
	err := server.Template(t.Context(), leaky, func(ctx context.Context, url string) error {
		var err error
		if leaked, err = pgx.Connect(ctx, url); err != nil {
			return err
		}
		_, err = leaked.Exec(ctx, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = leaked.Close(context.Background()) }()
	var id int
	if err := connect(t, server.Database(t, leaky)).QueryRow(t.Context(), "SELECT id FROM kept").Scan(&id); err != nil || id != 7 {
		t.Errorf("kept in the copy of the template: %d, %v; want 7", id, err)
	}
	if err := leaked.Ping(t.Context()); err == nil {
		t.Error("the session prepare left open on the template still answers")
	}
}

// show returns the value of a server setting.
func show(t *testing.T, conn *pgx.Conn, setting string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(t.Context(), "SHOW "+pgx.Identifier{setting}.Sanitize()).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestQuickByDefault checks that the default server trades durability for
// speed and listens on no TCP address.
func TestQuickByDefault(t *testing.T) {
	conn := connect(t, server.URL("postgres"))
	for setting, want := range map[string]string{
		"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "listen_addresses": "",
	} {
		if got := show(t, conn, setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}

// TestKillKeepsCommittedData kills a durable server while a transaction is
// open and restarts it: every committed row is there, the open
// transaction's is not, and the server recovered from a crash. A clean
// shutdown and restart then keep them too, without a recovery.
func TestKillKeepsCommittedData(t *testing.T) {
	s, err := pgtest.Start(pgtest.Options{Durable: true, Settings: map[string]string{"max_connections": "20"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	url := s.Database(t, "")
	conn := connect(t, url)
	for setting, want := range map[string]string{
		"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "max_connections": "20",
	} {
		if got := show(t, conn, setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	const committed = 100
	if _, err := conn.Exec(t.Context(), "CREATE TABLE events (n int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= committed; n++ {
		if _, err := conn.Exec(t.Context(), "INSERT INTO events VALUES ($1)", n); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "INSERT INTO events VALUES (-1)"); err != nil {
		t.Fatal(err)
	}

	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if c, err := pgx.Connect(t.Context(), url); err == nil {
		_ = c.Close(t.Context())
		t.Fatal("the killed server still accepts connections")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		var count, lowest int
		if err := connect(t, url).QueryRow(t.Context(), "SELECT count(*), min(n) FROM events").Scan(&count, &lowest); err != nil {
			t.Fatal(err)
		}
		if count != committed || lowest != 1 {
			t.Errorf("after %s: %d rows from %d, want the %d committed from 1", when, count, lowest, committed)
		}
	}
	check("a kill and restart")

	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	check("a shutdown and restart")

	log, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "automatic recovery in progress"); n != 1 {
		t.Errorf("the log tells of %d recoveries, want 1 (after the kill); the log:\n%s", n, log)
	}
}

// TestStartFailureShowsLog checks that a server that cannot start is
// reported with the end of its log, and leaves no directory behind.
func TestStartFailureShowsLog(t *testing.T) {
	const setting = "no_such_setting"
	_, err := pgtest.Start(pgtest.Options{Settings: map[string]string{setting: "1"}})
	if err == nil || !strings.Contains(err.Error(), `unrecognized configuration parameter "`+setting+`"`) {
		t.Errorf("Start = %v, want the log's complaint about %s", err, setting)
	}
	// The servers' directories are in one of these, and the log of this
	// one names the setting.
	logs, err := filepath.Glob(filepath.Join(os.TempDir(), "pg*", "postgres.log"))
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("/tmp/pg*/postgres.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, log := range append(logs, more...) {
		if data, err := os.ReadFile(log); err == nil && strings.Contains(string(data), setting) {
			t.Errorf("%s is left behind", filepath.Dir(log))
		}
	}
}
