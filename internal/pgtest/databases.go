package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Template creates the database name, runs prepare against it (its URL, as
// URL returns it; nil for none), for example to apply migrations, and
// marks it a template for Database to clone. prepare must close the
// connections it opens; the server ends any it leaves, since no database
// can be cloned from a template with sessions. No one can connect to the
// template afterwards. When name is a template already, Template does
// nothing and prepare is not run: a package's tests prepare each template
// once. When prepare fails, the database is dropped.
func (s *Server) Template(ctx context.Context, name string, prepare func(ctx context.Context, url string) error) error {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	conn, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var isTemplate bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate:
		return nil
	case err == nil:
		return fmt.Errorf("pgtest: database %s exists and is not a template", name)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("pgtest: %w", err)
	}
	db := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return fmt.Errorf("pgtest: creating template %s: %w", name, err)
	}
	if prepare == nil {
		prepare = func(context.Context, string) error { return nil }
	}
	if err := prepare(ctx, s.URL(name)); err != nil {
		drop, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, dropErr := conn.Exec(drop, "DROP DATABASE "+db+" WITH (FORCE)"); dropErr != nil {
			err = errors.Join(err, fmt.Errorf("dropping it: %w", dropErr))
		}
		return fmt.Errorf("pgtest: preparing template %s: %w", name, err)
	}
	// No new session, then none left: pg_terminate_backend waits up to
	// 10 s for each to end.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+db+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("pgtest: marking %s a template: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
		return fmt.Errorf("pgtest: ending the sessions of template %s: %w", name, err)
	}
	return nil
}

// Database creates a database for the test t alone, a copy of template
// (CREATE DATABASE ... TEMPLATE), and returns its URL; an empty template
// gives an empty database. Its name, unique on the server, is the test's
// name (its end, when long) and a number. It is dropped, with any session
// still connected to it, when t and its subtests end, unless the server no
// longer runs (after Kill, Shutdown or Stop). Parallel tests may call it at
// the same time.
func (s *Server) Database(t testing.TB, template string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d", namePrefix(t.Name()), s.seq.Add(1))
	db := pgx.Identifier{name}.Sanitize()
	create := "CREATE DATABASE " + db
	if template != "" {
		create += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.dbMu.Lock()
	err := s.exec(ctx, create)
	s.dbMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if !s.running() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping the test's database: %v", err)
		}
	})
	return s.URL(name)
}

// namePrefix turns a test's name into the start of a database name: lower
// case letters, digits and underscores, at most 50 bytes (the end of a
// longer name, where its subtests are), to leave room for a number within
// PostgreSQL's 63.
func namePrefix(test string) string {
	const most = 50
	b := []byte(strings.ToLower(test))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	if len(b) > most {
		b = b[len(b)-most:]
	}
	return string(b)
}

// admin connects to the database postgres as the superuser.
func (s *Server) admin(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return conn, nil
}

// exec runs one statement on the database postgres.
func (s *Server) exec(ctx context.Context, sql string) error {
	conn, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// Main runs the tests of a package on one server: called from TestMain as
// os.Exit(pgtest.Main(m, setup)), it starts the server (Start with the
// default Options), runs setup (for example Template; nil for none) and
// the tests, stops the server and returns the exit code. It fails, rather
// than skipping the tests, when the server binaries cannot be found or the
// server or setup fails.
func Main(m *testing.M, setup func(*Server) error) int {
	s, err := Start(Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if setup != nil {
		if err := setup(s); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: setup: %v\n", err)
			if err := s.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			return 1
		}
	}
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
