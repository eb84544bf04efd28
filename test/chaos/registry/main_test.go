// Package registry is the case registry's reliability suite: the registry
// binary runs as two replicas, each its own process, on one durable
// PostgreSQL (internal/pgtest, fsync on), and each test kills something
// with SIGKILL at random moments while the registry works — a replica in
// the middle of a burst of intakes, the postmaster in the middle of one,
// the sweeping leader and the postmaster while alarms fall due — and
// proves from the database and the API that nothing acknowledged was lost
// or doubled and that every rung fired once, with figures in the test's
// output (the CHAOS lines). It needs no Kubernetes control plane.
//
// `go test ./...` and `make test` run every scenario small (a few hundred
// intakes, the package in about half a minute); `make chaos` runs them at
// full size (CHAOS_FULL=1). See docs/reliability.md, "Case registry".
package registry

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/pgtest"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// options are the suite's knobs: flags after -args, or the environment.
// Their defaults are the small sizes of `make test`, or, with -chaos.full
// (CHAOS_FULL=1, as `make chaos` sets), the full ones.
var options struct {
	// full runs every scenario at its full size.
	full bool
	// intakes is the size of the bursts of the intake tests, clients the
	// number of clients that share it.
	intakes, clients int
	// kills is how many times each test kills something.
	kills int
	// cases is how many cases the sweep test makes fall due.
	cases int
	// seed chooses the moments and the targets of the kills.
	seed uint64
	// keep keeps the logs of a passing run.
	keep bool
}

// scale are the figures of a run that change with its size.
type scale struct {
	// intakes, clients, kills and cases are the defaults of the options
	// of the same names.
	intakes, clients, kills, cases int
	// dueOver is how long the sweep test's alarms take to fall due: the
	// kills come within it.
	dueOver time.Duration
}

var (
	small = scale{intakes: 300, clients: 4, kills: 2, cases: 100, dueOver: 5 * time.Second}
	full  = scale{intakes: 10000, clients: 16, kills: 8, cases: 5000, dueOver: 40 * time.Second}
)

// size is the scale of this run: small, or full with -chaos.full.
func size() scale {
	if options.full {
		return full
	}
	return small
}

var (
	// workDir holds the registry binary, its key and token files, the
	// replicas' logs and, kept, PostgreSQL's.
	workDir string
	// registryBin is the registry binary built for the suite.
	registryBin string
	// keyFile and tokenFile are the replicas' --key-file and
	// --staff-tokens.
	keyFile, tokenFile string
	// server is the suite's PostgreSQL, durable: a commit it acknowledged
	// survives its SIGKILL. The tests run one after the other, since two
	// of them kill it; each has a database of its own.
	server *pgtest.Server
)

// staffToken is the token of the City's staff, who read the whole feed.
const staffToken = "chaos-city-staff-token-0001"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.BoolVar(&options.full, "chaos.full", os.Getenv("CHAOS_FULL") != "",
		"Run every scenario at its full size, as make chaos does (env CHAOS_FULL); small sizes otherwise.")
	// Zero: the size's default, set after the flags are parsed.
	flag.IntVar(&options.intakes, "chaos.intakes", envInt("CHAOS_REGISTRY_INTAKES", 0),
		"Petitions of the burst of each intake test (env CHAOS_REGISTRY_INTAKES; 300, full 10,000).")
	flag.IntVar(&options.clients, "chaos.clients", envInt("CHAOS_REGISTRY_CLIENTS", 0),
		"Clients that share the burst, each retrying its own keys (env CHAOS_REGISTRY_CLIENTS; 4, full 16).")
	flag.IntVar(&options.kills, "chaos.kills", envInt("CHAOS_REGISTRY_KILLS", 0),
		"How many times each test kills a replica or the postmaster (env CHAOS_REGISTRY_KILLS; 2, full 8).")
	flag.IntVar(&options.cases, "chaos.cases", envInt("CHAOS_REGISTRY_CASES", 0),
		"Cases whose alarms the sweep test makes fall due (env CHAOS_REGISTRY_CASES; 100, full 5,000).")
	flag.Uint64Var(&options.seed, "chaos.seed", uint64(envInt("CHAOS_SEED", int(time.Now().UnixNano()%1_000_000_000))),
		"Seed of the moments and targets of the kills (env CHAOS_SEED); printed by each test.")
	flag.BoolVar(&options.keep, "chaos.keep", os.Getenv("CHAOS_KEEP") != "",
		"Keep the logs of a passing run (env CHAOS_KEEP); a failing run always keeps them.")
	flag.Parse()
	sz := size()
	for _, o := range []struct {
		n   *int
		def int
	}{{&options.intakes, sz.intakes}, {&options.clients, sz.clients}, {&options.kills, sz.kills}, {&options.cases, sz.cases}} {
		if *o.n <= 0 {
			*o.n = o.def
		}
	}

	var err error
	if workDir, err = os.MkdirTemp("", "registry-chaos-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// PostgreSQL starts while the registry builds.
	type started struct {
		s   *pgtest.Server
		err error
	}
	pg := make(chan started, 1)
	go func() {
		// Statements slower than a second are logged, for the log a
		// failing run keeps.
		s, err := pgtest.Start(pgtest.Options{Durable: true, Settings: map[string]string{"log_min_duration_statement": "1s"}})
		pg <- started{s, err}
	}()
	err = prepare()
	st := <-pg
	if err != nil || st.err != nil {
		fmt.Fprintln(os.Stderr, errors.Join(err, st.err))
		if st.s != nil {
			_ = st.s.Stop()
		}
		fmt.Fprintf(os.Stderr, "chaos: the registry's logs are in %s\n", workDir)
		return 1
	}
	server = st.s
	code := m.Run()
	if code != 0 || options.keep {
		if log, err := os.ReadFile(server.LogPath()); err == nil {
			_ = os.WriteFile(filepath.Join(workDir, "postgres.log"), log, 0o644)
		}
	}
	if err := server.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	if code == 0 && !options.keep {
		_ = os.RemoveAll(workDir)
	} else {
		fmt.Fprintf(os.Stderr, "chaos: the registry's logs are in %s\n", workDir)
	}
	return code
}

// prepare builds the registry binary into workDir and writes its key file
// (registry keygen) and staff token file.
func prepare() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	registryBin = filepath.Join(workDir, "registry")
	// Without a symbol table and DWARF (stack traces still work): the
	// link of the registry is most of the suite's start.
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", registryBin, "./cmd/registry")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/registry: %w\n%s", err, out)
	}
	var keys, stderr bytes.Buffer
	keygen := exec.Command(registryBin, "keygen")
	keygen.Stdout, keygen.Stderr = &keys, &stderr
	if err := keygen.Run(); err != nil {
		return fmt.Errorf("registry keygen: %w\n%s", err, stderr.Bytes())
	}
	keyFile = filepath.Join(workDir, "keys")
	if err := os.WriteFile(keyFile, keys.Bytes(), 0o600); err != nil {
		return err
	}
	tokenFile = filepath.Join(workDir, "staff-tokens")
	return os.WriteFile(tokenFile, []byte(staffToken+",nanyang-city,chaos\n"), 0o600)
}

// networkDir is the network the replicas route with: config/samples.
func networkDir() string {
	root, err := testenv.RepoRoot()
	if err != nil {
		panic(err)
	}
	return filepath.Join(root, "config", "samples")
}

// envInt reads an integer from the environment, or def.
func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %s=%q is not an integer; using %d\n", name, v, def)
		return def
	}
	return n
}

// seconds formats a duration as seconds with one decimal.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
}
