// Package e2e runs the manager binary as its own process against the local
// control plane, as it runs in a cluster, and checks what an SRE looks at:
// its metrics endpoint, its logs, shards and leader election.
package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/testenv"
)

var (
	env     *testenv.Env
	k8s     client.Client
	workDir string
	bin     string
	// petitionctl is the CLI, built like the manager.
	petitionctl string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// testParallel is -test.parallel when it is not given: every parallel test
// at once, TestStagedRolloutOnNodes on a control plane of its own beside
// the others taking turns on the shared one (sharedControlPlane).
const testParallel = 8

func run(m *testing.M) int {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(testParallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	var err error
	if workDir, err = os.MkdirTemp("", "petition-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(workDir) }()
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The binaries build while the control plane starts.
	bin = filepath.Join(workDir, "manager")
	petitionctl = filepath.Join(workDir, "petitionctl")
	built := make(chan error, 2)
	go func() { built <- testenv.BuildManager(root, bin) }()
	go func() { built <- testenv.BuildCommand(root, "./cmd/petitionctl", petitionctl) }()
	env, err = testenv.Start()
	buildErr := errors.Join(<-built, <-built)
	if err != nil || buildErr != nil {
		fmt.Fprintln(os.Stderr, errors.Join(err, buildErr))
		if env != nil {
			_ = env.Stop()
		}
		return 1
	}
	defer func() { _ = env.Stop() }()
	testenv.SetLogger()
	if k8s, err = client.New(env.Config, client.Options{Scheme: testenv.Scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// sharedMu is held by the test that has the shared control plane.
var sharedMu sync.Mutex

// sharedControlPlane runs the test on the shared control plane, one such
// test at a time (their managers and webhooks select their own offices by
// label, but a test's figures are its own), beside the tests that start a
// control plane of their own; its time includes its wait for its turn.
func sharedControlPlane(t *testing.T) {
	t.Helper()
	t.Parallel()
	sharedMu.Lock()
	// The first cleanup registered runs last: after the test's managers
	// have stopped.
	t.Cleanup(sharedMu.Unlock)
}

// startManager runs the manager binary as user name, with its output in the
// test's log directory; it is stopped (SIGTERM) when the test ends.
func startManager(t *testing.T, name string, opts testenv.ManagerOptions) *testenv.Manager {
	t.Helper()
	return startManagerOn(t, env, name, opts)
}

// startManagerOn is startManager against the control plane e.
func startManagerOn(t *testing.T, e *testenv.Env, name string, opts testenv.ManagerOptions) *testenv.Manager {
	t.Helper()
	dir := filepath.Join(workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts.Bin = bin
	opts.Kubeconfig = filepath.Join(dir, "kubeconfig")
	opts.LogPath = filepath.Join(dir, "manager.log")
	if err := e.WriteKubeconfig("petition-operator-"+name, opts.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := testenv.StartManager(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !opts.NoWebhooks && opts.SharedCert == nil {
		// Ready, but the API server takes in the webhook configurations
		// the manager installed a moment later: until then an office
		// would be created unadmitted.
		if err := testenv.WaitForWebhooks(ctx, e.Config, time.Minute); err != nil {
			_ = m.Stop()
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stopping manager %s: %v", name, err)
		}
		if t.Failed() {
			if log, err := os.ReadFile(opts.LogPath); err == nil {
				t.Logf("manager %s log:\n%s", name, log)
			}
		}
	})
	return m
}

// office returns an office of level under parent, with labels.
func office(name string, level v1alpha1.Level, parent string, labels map[string]string) *v1alpha1.Office {
	o := &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent), DisplayName: name},
	}
	if level == v1alpha1.LevelDepartment {
		o.Spec.Department = "Land"
	}
	return o
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := k8s.Create(context.Background(), obj); err != nil {
			t.Fatalf("creating %s: %v", obj.GetName(), err)
		}
	}
}

// readyOffice waits until the office is Ready for its current generation and
// returns it.
func readyOffice(g Gomega, name string) *v1alpha1.Office {
	o := &v1alpha1.Office{}
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, o)).To(Succeed())
		g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation))
		g.Expect(readyStatus(o)).To(Equal(metav1.ConditionTrue), "office %s: %+v", name, o.Status.Conditions)
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	return o
}

func readyStatus(o *v1alpha1.Office) metav1.ConditionStatus {
	for _, c := range o.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return c.Status
		}
	}
	return ""
}

// namespace returns the Namespace name.
func namespace(g Gomega, name string) *corev1.Namespace {
	ns := &corev1.Namespace{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Name: name}, ns)).To(Succeed())
	return ns
}
