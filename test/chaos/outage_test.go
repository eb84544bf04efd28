package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// The outage test's figures: how long kube-apiserver stays down, when in the
// run it goes, and how soon after it is back every office must be Ready.
const (
	outageReadyPct = 80
	recoveryBound  = 60 * time.Second
)

// TestAPIServerOutage stops kube-apiserver for 30 s (small: 10 s) while a network of
// -chaos.outage-offices offices converges (once four fifths are Ready) and
// starts it again on the same address. The manager runs as the chart runs
// it, with leader election and the default timings, so it cannot renew its
// Lease during the outage and stops leading; it must ride the outage out in
// its process, campaigning again in process, and the test fails if the
// process exits (it is then started once more, for the figures). Every
// office must be Ready within 60 s of the API server's return, with no
// duplicate, orphaned or missing object.
func TestAPIServerOutage(t *testing.T) {
	parallelWhenSmall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cl := newCluster(t, "outage")
	op := cl.startOperator(ctx, "outage", testenv.ManagerOptions{Args: defaultArgs("--leader-elect",
		"--leader-election-namespace=default", "--leader-election-id=chaos-outage")})
	w := watchOffices(t, cl.c)
	net := generate(t, options.outageOffices, "")
	if _, err := createAll(ctx, cl.c, policies(net), 1); err != nil {
		t.Fatal(err)
	}
	want := names(offices(net))
	start := time.Now()
	if _, err := createAll(ctx, cl.c, offices(net), 4); err != nil {
		t.Fatal(err)
	}
	if err := w.waitAtLeast(ctx, want, len(want)*outageReadyPct/100, 20*time.Minute); err != nil {
		t.Fatal(err)
	}

	sup := supervise(ctx, cl, op)
	readyBefore, _ := w.ready(want)
	down := time.Now()
	killed, err := cl.stopAPIServer()
	if err != nil {
		t.Fatalf("stopping kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver stopped %ss into the run, %d of %d offices Ready (SIGTERM; it had exited after %ss; killed: %t)",
		seconds(down.Sub(start)), readyBefore, len(want), seconds(time.Since(down)), killed)
	// Down for the outage from the signal, when it stopped listening.
	outage := size().outage
	if err := sleep(ctx, time.Until(down.Add(outage))); err != nil {
		t.Fatal(err)
	}
	if err := cl.startAPIServer(ctx); err != nil {
		t.Fatalf("starting kube-apiserver again: %v", err)
	}
	recovered := time.Now()
	t.Logf("kube-apiserver ready again %ss after it was stopped", seconds(recovered.Sub(down)))

	last, err := w.waitReady(ctx, t, want, 20*time.Minute)
	sup.stop()
	for _, e := range sup.events {
		t.Logf("manager: %s", e)
	}
	if err != nil {
		t.Fatal(err)
	}
	if sup.err != nil {
		t.Error(sup.err)
	}
	recovery := last.Sub(recovered)
	t.Logf("every office Ready %ss after kube-apiserver was back (bound %s); the manager was started again %d time(s)",
		seconds(recovery), recoveryBound, sup.restarts)
	lost := 0
	for i := 1; i <= op.starts; i++ {
		data, _ := os.ReadFile(op.logPath(i))
		lost += strings.Count(string(data), "Lost the leadership")
	}
	t.Logf("the manager lost its leadership %d time(s) and campaigned again in process", lost)
	if sup.restarts > 0 {
		t.Errorf("the manager's process exited %d time(s) during the outage, want none: it should stand down and campaign again in process", sup.restarts)
	}
	if recovery > recoveryBound {
		t.Errorf("every office was Ready %s after kube-apiserver was back, want at most %s", recovery.Round(100*time.Millisecond), recoveryBound)
	}
	if err := op.settle(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	report, err := checkInventory(ctx, cl.c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory: %s", report.summary())
	if problems := report.problems(); len(problems) > 0 {
		t.Errorf("%d problems in the inventory:\n%s", len(problems), firstN(problems))
	}
	fmt.Printf("CHAOS outage offices=%d outage_s=%.0f ready_at_outage=%d lost_leadership=%d manager_restarts=%d recovery_s=%s objects=%d missing=%d duplicate=%d orphaned=%d inventory_mismatch=%d\n",
		len(want), outage.Seconds(), readyBefore, lost, sup.restarts, seconds(recovery), report.objects, len(report.missing),
		len(report.duplicate), len(report.orphaned), len(report.inventory)+len(report.hash))
}

// supervisor starts the manager again, once, if its process exits: once
// kube-apiserver is ready, as a kubelet restarting a crashed container
// would find it. A second exit is an error.
type supervisor struct {
	cancel   context.CancelFunc
	done     chan struct{}
	restarts int
	events   []string
	err      error
}

func supervise(ctx context.Context, cl *cluster, op *operator) *supervisor {
	ctx, cancel := context.WithCancel(ctx)
	s := &supervisor{cancel: cancel, done: make(chan struct{})}
	began := time.Now()
	note := func(format string, args ...any) {
		s.events = append(s.events, fmt.Sprintf("%ss: ", seconds(time.Since(began)))+fmt.Sprintf(format, args...))
	}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			if !op.exited() {
				_ = sleep(ctx, 250*time.Millisecond)
				continue
			}
			err := op.stop()
			note("the process exited (%v)", err)
			if s.restarts > 0 {
				s.err = errors.New("the manager exited again after its one restart")
				return
			}
			if err := cl.waitAPIServerReady(ctx, 5*time.Minute); err != nil {
				s.err = err
				return
			}
			s.restarts++
			if err := op.start(ctx); err != nil {
				if ctx.Err() == nil {
					s.err = err
				}
				return
			}
			note("started again")
		}
	}()
	return s
}

// stop stops supervising; its fields are then safe to read.
func (s *supervisor) stop() {
	s.cancel()
	<-s.done
}
