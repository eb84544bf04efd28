// Package chaos is the reliability suite: the manager binary runs as its
// own process against a real control plane (etcd, kube-apiserver and
// kube-controller-manager, so that garbage collection and namespace deletion
// are real), and each test breaks something — the manager killed at random
// moments or stopped while it works, its leader killed or stopped, the API
// server stopped, tenant objects edited by hand, an office that can never
// render, offices and the operator deleted — and proves what the operator
// does about it, with figures in the test's output (the CHAOS lines).
// Every test starts its own control plane, so that none sees another's
// objects.
//
// `go test ./...` and `make test` run every scenario small (fifty offices,
// all but failover at once), so that the suite cannot rot unnoticed;
// `make chaos` runs them at full size (CHAOS_FULL=1: 2,000 offices). See
// docs/reliability.md.
package chaos

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// options are the suite's knobs: flags after -args, or the environment.
// Their defaults are the small sizes of `make test`, or, with -chaos.full
// (CHAOS_FULL=1, as `make chaos` sets), the full ones.
var options struct {
	// full runs every scenario at its full size.
	full bool
	// offices is the size of the network the crash test converges.
	offices int
	// outageOffices is the size of the network of the outage test.
	outageOffices int
	// poisonOffices is the size of the networks of the poison test.
	poisonOffices int
	// shutdownOffices is the size of the network the shutdown test stops
	// the manager in.
	shutdownOffices int
	// kills is how many times the crash test kills the manager.
	kills int
	// seed chooses the moments of the kills.
	seed uint64
	// keep keeps the logs and audit logs of a passing run.
	keep bool
}

// scale are the figures of a scenario that change with its size.
type scale struct {
	// offices is the default size of the crash, poison and shutdown
	// tests' networks, outageOffices of the outage test's, and kills the
	// default number of the crash test's kills (the flags override them).
	offices, outageOffices, kills int
	// killWithin is the latest moment after a (re)start the crash test
	// kills the manager at; the earliest is a thirtieth of it.
	killWithin time.Duration
	// killRounds and termRounds are the failover test's rounds, and
	// failoverOffices the size of its network: what the new leader
	// reconciles before, or beside, the office the test created.
	killRounds, termRounds, failoverOffices int
	// outage is how long the outage test keeps kube-apiserver down: more
	// than the renew deadline (5 s), so that the leader loses its Lease.
	outage time.Duration
	// backoffPast is how long the interval between two reconciles of an
	// office the API server refuses must grow to.
	backoffPast time.Duration
	// quiet is how long the data safety test leaves garbage collection and
	// the namespace controller after the uninstall.
	quiet time.Duration
	// pacing is the managers' status recount pacing: the default, or,
	// small, a twentieth of it, so that waiting out the recounts before
	// counting writes takes 1.5 s rather than 11.
	pacing controllers.StatusPacing
}

var (
	small = scale{
		offices: 50, outageOffices: 50, kills: 2,
		killWithin: 5 * time.Second, killRounds: 1, termRounds: 1, failoverOffices: 20, outage: 10 * time.Second,
		backoffPast: 2 * time.Second, quiet: 10 * time.Second,
		pacing: controllers.StatusPacing{Delay: 100 * time.Millisecond, Interval: 500 * time.Millisecond},
	}
	full = scale{
		offices: 2000, outageOffices: 500, kills: 5,
		killWithin: 30 * time.Second, killRounds: 3, termRounds: 2, failoverOffices: 60, outage: 30 * time.Second,
		backoffPast: 10 * time.Second, quiet: 30 * time.Second,
		pacing: controllers.DefaultStatusPacing,
	}
)

// smallParallel is how many tests (and the poison test's two runs) run at
// once when the suite runs small and -test.parallel is not given: all of
// them but the failover test, which runs alone first. Every test has a
// control plane of its own and spends much of its time waiting on it (the
// API server to come back, a back-off to grow, recounts to be waited out),
// so the suite lasts about as long as its longest test, the drift test,
// when they all start at once.
const smallParallel = 8

// parallelWhenSmall runs the test beside the other such tests when the
// suite runs small (smallParallel of them at once, or -test.parallel):
// each has a control plane of its own and asserts no timing the others'
// load could upset, or compares two runs made side by side (the poison
// test's). The failover test, whose bounds are seconds of work, runs alone
// before them. At full size every test runs alone, so that its figures are
// its own.
func parallelWhenSmall(t *testing.T) {
	if !options.full {
		t.Parallel()
	}
}

// size is the scale of this run: small, or full with -chaos.full.
func size() scale {
	if options.full {
		return full
	}
	return small
}

var (
	// workDir holds every test's control plane data, manager logs and
	// audit log.
	workDir string
	// managerBin is the manager binary built for the suite.
	managerBin string
	// assets is the folder of the control plane binaries.
	assets string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.BoolVar(&options.full, "chaos.full", os.Getenv("CHAOS_FULL") != "",
		"Run every scenario at its full size, as make chaos does (env CHAOS_FULL); small sizes otherwise.")
	// Zero: the size's default, set after the flags are parsed.
	flag.IntVar(&options.offices, "chaos.offices", envInt("CHAOS_OFFICES", 0),
		"Offices of the network the crash test converges (env CHAOS_OFFICES; 50, full 2,000).")
	flag.IntVar(&options.outageOffices, "chaos.outage-offices", envInt("CHAOS_OUTAGE_OFFICES", 0),
		"Offices of the network of the API server outage test (env CHAOS_OUTAGE_OFFICES; 50, full 500).")
	flag.IntVar(&options.poisonOffices, "chaos.poison-offices", envInt("CHAOS_POISON_OFFICES", 0),
		"Offices of the networks the poison test converges twice (env CHAOS_POISON_OFFICES; 50, full 2,000).")
	flag.IntVar(&options.shutdownOffices, "chaos.shutdown-offices", envInt("CHAOS_SHUTDOWN_OFFICES", 0),
		"Offices of the network the shutdown test stops the manager in (env CHAOS_SHUTDOWN_OFFICES; 50, full 2,000).")
	flag.IntVar(&options.kills, "chaos.kills", envInt("CHAOS_KILLS", 0),
		"How many times the crash test kills the manager (env CHAOS_KILLS; 2, full 5).")
	flag.Uint64Var(&options.seed, "chaos.seed", uint64(envInt("CHAOS_SEED", int(time.Now().UnixNano()%1_000_000_000))),
		"Seed of the moments the crash test kills the manager at (env CHAOS_SEED); printed by the test.")
	flag.BoolVar(&options.keep, "chaos.keep", os.Getenv("CHAOS_KEEP") != "",
		"Keep the logs of a passing run (env CHAOS_KEEP); a failing run always keeps them.")
	flag.Parse()
	if !options.full {
		given := false
		flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
		if !given {
			if err := flag.Set("test.parallel", strconv.Itoa(smallParallel)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	sz := size()
	for _, o := range []struct {
		n   *int
		def int
	}{{&options.offices, sz.offices}, {&options.outageOffices, sz.outageOffices}, {&options.poisonOffices, sz.offices},
		{&options.shutdownOffices, sz.offices}, {&options.kills, sz.kills}} {
		if *o.n <= 0 {
			*o.n = o.def
		}
	}
	// controller-runtime's packages used by the tests log through this;
	// the operator's own log is in its process's file.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))

	var err error
	if workDir, err = os.MkdirTemp("", "petition-chaos-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if assets, err = testenv.Assets(root); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	managerBin = filepath.Join(workDir, "manager")
	if err := testenv.BuildManager(root, managerBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 && !options.keep {
		_ = os.RemoveAll(workDir)
	} else {
		fmt.Fprintf(os.Stderr, "chaos: logs, audit logs and control plane data are in %s\n", workDir)
	}
	return code
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
