package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotInstalled is the error of Start, and the message of Main, when
// the PostgreSQL 15 server binaries cannot be found.
var ErrNotInstalled = errors.New("PostgreSQL 15 server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/15/bin; run hack/postgres.sh (as root it installs Debian's postgresql-15)")

// debianBinDir is where Debian's postgresql-15 installs the server
// binaries (a variable for the tests).
var debianBinDir = "/usr/lib/postgresql/15/bin"

// majorVersion is the major version of PostgreSQL the harness looks for.
const majorVersion = "15"

// binaries are the paths of the server binaries.
type binaries struct {
	initdb, pgCtl, postgres string
}

// findBinaries finds the server binaries: in $PG_BIN_DIR when it is set,
// whatever their version; else on PATH, then in debianBinDir, where they
// must be of PostgreSQL 15.
func findBinaries() (binaries, error) {
	if dir := os.Getenv("PG_BIN_DIR"); dir != "" {
		b, err := binariesIn(dir)
		if err != nil {
			return binaries{}, fmt.Errorf("pgtest: PG_BIN_DIR=%s: %w", dir, err)
		}
		return b, nil
	}
	if b, err := lookBinaries(exec.LookPath); err == nil && version(b.postgres) == majorVersion {
		return b, nil
	}
	if b, err := binariesIn(debianBinDir); err == nil && version(b.postgres) == majorVersion {
		return b, nil
	}
	return binaries{}, ErrNotInstalled
}

// binariesIn returns the server binaries of dir, if it has them all.
func binariesIn(dir string) (binaries, error) {
	return lookBinaries(func(name string) (string, error) { return exec.LookPath(filepath.Join(dir, name)) })
}

// lookBinaries finds each server binary with look, which returns the path
// of an executable by its name.
func lookBinaries(look func(name string) (string, error)) (binaries, error) {
	var b binaries
	for name, path := range map[string]*string{"initdb": &b.initdb, "pg_ctl": &b.pgCtl, "postgres": &b.postgres} {
		p, err := look(name)
		if err != nil {
			return binaries{}, err
		}
		*path = p
	}
	return b, nil
}

// version returns the major version postgres --version reports, as
// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"; empty when it
// cannot tell.
func version(postgres string) string {
	out, err := exec.Command(postgres, "--version").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return ""
	}
	major, _, _ := strings.Cut(f[2], ".")
	return major
}
