//go:build chaos

// Package chaos is the reliability suite of `make chaos`: the manager binary
// runs as its own process against a real control plane (etcd,
// kube-apiserver and kube-controller-manager, so that garbage collection and
// namespace deletion are real), and each test breaks something — the
// manager killed at random moments, its leader killed or stopped, the API
// server stopped, tenant objects edited by hand, an office that can never
// render, offices and the operator deleted — and proves what the operator
// does about it, with figures in the test's output. Every test starts its own
// control plane, so that none sees another's objects or load.
//
// It is guarded by the build tag chaos: `go test ./...` and `make test` skip
// it. See docs/reliability.md.
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

	"github.com/xinfang/petition-operator/internal/testenv"
)

// options are the suite's knobs: flags after -args, or the environment.
var options struct {
	// offices is the size of the network the crash test converges.
	offices int
	// outageOffices is the size of the network of the outage test.
	outageOffices int
	// poisonOffices is the size of the networks of the poison test.
	poisonOffices int
	// kills is how many times the crash test kills the manager.
	kills int
	// seed chooses the moments of the kills.
	seed uint64
	// keep keeps the logs and audit logs of a passing run.
	keep bool
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
	flag.IntVar(&options.offices, "chaos.offices", envInt("CHAOS_OFFICES", 2000),
		"Offices of the network the crash test converges (env CHAOS_OFFICES).")
	flag.IntVar(&options.outageOffices, "chaos.outage-offices", envInt("CHAOS_OUTAGE_OFFICES", 500),
		"Offices of the network of the API server outage test (env CHAOS_OUTAGE_OFFICES).")
	flag.IntVar(&options.poisonOffices, "chaos.poison-offices", envInt("CHAOS_POISON_OFFICES", 2000),
		"Offices of the networks the poison test converges twice (env CHAOS_POISON_OFFICES).")
	flag.IntVar(&options.kills, "chaos.kills", envInt("CHAOS_KILLS", 5),
		"How many times the crash test kills the manager (env CHAOS_KILLS).")
	flag.Uint64Var(&options.seed, "chaos.seed", uint64(envInt("CHAOS_SEED", int(time.Now().UnixNano()%1_000_000_000))),
		"Seed of the moments the crash test kills the manager at (env CHAOS_SEED); printed by the test.")
	flag.BoolVar(&options.keep, "chaos.keep", os.Getenv("CHAOS_KEEP") != "",
		"Keep the logs of a passing run (env CHAOS_KEEP); a failing run always keeps them.")
	flag.Parse()
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
