package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// shutdownElection is the Lease of the shutdown test's manager.
const shutdownElection = "chaos-shutdown"

// TestShutdown stops the manager with SIGTERM, as a rolling upgrade or a
// node drain does, twice: while a network of -chaos.shutdown-offices offices
// converges (a third of them Ready, the work queue full) and as soon as it
// has converged (every office Ready, the last status writes and recounts
// still running). Each time the manager must exit by itself within the kubelet's
// grace period (30 s; it would be killed after that) and release its Lease
// on the way out, so that the next leader need not wait for it to expire.
// The figures are the time from SIGTERM to the exit.
func TestShutdown(t *testing.T) {
	parallelWhenSmall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	cl := newCluster(t, "shutdown")
	// At info level: a manager slow to stop logs the reconciles it waits on.
	op := cl.startOperator(ctx, "shutdown", testenv.ManagerOptions{LogLevel: "info", Args: defaultArgs("--leader-elect",
		"--leader-election-namespace=default", "--leader-election-id="+shutdownElection)})
	w := watchOffices(t, cl.c)
	net := generate(t, options.shutdownOffices, "")
	if _, err := createAll(ctx, cl.c, policies(net), 1); err != nil {
		t.Fatal(err)
	}
	all := offices(net)
	want := names(all)
	start := time.Now()
	if _, err := createAll(ctx, cl.c, all, 4); err != nil {
		t.Fatal(err)
	}
	if err := w.waitAtLeast(ctx, want, len(want)/3, 20*time.Minute); err != nil {
		t.Fatal(err)
	}
	readyAtStop, _ := w.ready(want)
	converging, err := stopAndCheck(ctx, t, cl, op, "converging")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converging (%d of %d offices Ready, %ss in): the manager exited %ss after SIGTERM", readyAtStop, len(want),
		seconds(time.Since(start)), seconds(converging))

	if err := op.start(ctx); err != nil {
		t.Fatal(err)
	}
	// Stopped as soon as every office is Ready, while the last status
	// writes and the policies' paced recounts still run.
	if _, err := w.waitReady(ctx, t, want, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	converged, err := stopAndCheck(ctx, t, cl, op, "converged")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converged (%d offices Ready): the manager exited %ss after SIGTERM", len(want), seconds(converged))
	fmt.Printf("CHAOS shutdown offices=%d converging_stop_s=%s converged_stop_s=%s grace_s=%.0f lease_released=true\n",
		len(want), seconds(converging), seconds(converged), testenv.TerminationGracePeriod.Seconds())
}

// stopAndCheck stops op with SIGTERM and returns how long it took to exit.
// It fails when the manager did not exit by itself within the grace period
// (its goroutines are then in its log) or left its Lease held, and logs
// what the manager said it waited on.
func stopAndCheck(ctx context.Context, t *testing.T, cl *cluster, op *operator, when string) (time.Duration, error) {
	t.Helper()
	if err := op.stop(); err != nil {
		return op.m.StopTook(), fmt.Errorf("%s: %w", when, err)
	}
	took := op.m.StopTook()
	if data, err := os.ReadFile(op.logPath(op.starts)); err == nil {
		for line := range strings.Lines(string(data)) {
			if strings.Contains(line, "reconciles still running") {
				t.Logf("%s: the manager said: %s", when, strings.TrimSpace(line))
			}
		}
	}
	var lease coordinationv1.Lease
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: shutdownElection}, &lease); err != nil {
		return took, fmt.Errorf("%s: reading the Lease: %w", when, err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		return took, fmt.Errorf("%s: the manager exited %s after SIGTERM holding its Lease (holder %q): the next leader must wait for it to expire", when, took.Round(100*time.Millisecond), *h)
	}
	return took, nil
}
