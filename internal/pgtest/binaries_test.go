package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBinaries writes initdb, pg_ctl and a postgres that reports version
// into a new folder and returns it.
func fakeBinaries(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		script := "#!/bin/sh\necho 'postgres (PostgreSQL) " + version + "'\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// noDebianBinaries points debianBinDir at an empty folder for the test.
func noDebianBinaries(t *testing.T) {
	was := debianBinDir
	debianBinDir = t.TempDir()
	t.Cleanup(func() { debianBinDir = was })
}

// TestNotInstalled checks that Start says what to run when neither PATH
// nor Debian's folder has the binaries, or only of another version.
func TestNotInstalled(t *testing.T) {
	noDebianBinaries(t)
	t.Setenv("PG_BIN_DIR", "")
	for name, path := range map[string]string{
		"none":             t.TempDir(),
		"another version":  fakeBinaries(t, "16.4"),
		"no version shown": fakeBinaries(t, ""),
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PATH", path)
			_, err := Start(Options{})
			if !errors.Is(err, ErrNotInstalled) {
				t.Fatalf("Start = %v, want ErrNotInstalled", err)
			}
			const want = "PostgreSQL 15 server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/15/bin; run hack/postgres.sh (as root it installs Debian's postgresql-15)"
			if err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		})
	}
}

// TestDebianFolderAfterPath checks that binaries of another version on PATH
// give way to Debian's folder, and that version 15 on PATH is taken first.
func TestDebianFolderAfterPath(t *testing.T) {
	t.Setenv("PG_BIN_DIR", "")
	debian := fakeBinaries(t, "15.2")
	was := debianBinDir
	debianBinDir = debian
	t.Cleanup(func() { debianBinDir = was })

	t.Setenv("PATH", fakeBinaries(t, "16.4"))
	b, err := findBinaries()
	if err != nil {
		t.Fatal(err)
	}
	if b.postgres != filepath.Join(debian, "postgres") || b.initdb != filepath.Join(debian, "initdb") || b.pgCtl != filepath.Join(debian, "pg_ctl") {
		t.Errorf("found %+v, want those of %s", b, debian)
	}

	onPath := fakeBinaries(t, "15.9")
	t.Setenv("PATH", onPath)
	if b, err = findBinaries(); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(b.postgres) != onPath {
		t.Errorf("found %+v, want those of PATH (%s)", b, onPath)
	}
}

// TestBinDirOverride checks that PG_BIN_DIR is the one place looked at, of
// any version.
func TestBinDirOverride(t *testing.T) {
	t.Setenv("PATH", fakeBinaries(t, "15.9"))
	dir := fakeBinaries(t, "16.4")
	t.Setenv("PG_BIN_DIR", dir)
	b, err := findBinaries()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(b.postgres) != dir {
		t.Errorf("found %+v, want those of PG_BIN_DIR (%s)", b, dir)
	}

	t.Setenv("PG_BIN_DIR", t.TempDir())
	if _, err := Start(Options{}); err == nil || errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "PG_BIN_DIR=") {
		t.Errorf("Start with an empty PG_BIN_DIR = %v, want an error naming PG_BIN_DIR", err)
	}
}
