package controllers

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// running records the reconciles in progress and the phase each is in, so
// that a manager slow to stop says what it waits on.
type running struct {
	mu   sync.Mutex
	next uint64
	now  func() time.Time
	all  map[uint64]*runningReconcile
}

// runningReconcile is one reconcile in progress.
type runningReconcile struct {
	controller, name, phase string
	since                   time.Time
}

func newRunning(now func() time.Time) *running {
	return &running{now: now, all: map[uint64]*runningReconcile{}}
}

// begin records a reconcile of name by controller, in phase; the returned
// functions move it to another phase and end it.
func (r *running) begin(controller, name, phase string) (enter func(phase string), end func()) {
	r.mu.Lock()
	r.next++
	id := r.next
	r.all[id] = &runningReconcile{controller: controller, name: name, phase: phase, since: r.now()}
	r.mu.Unlock()
	enter = func(phase string) {
		r.mu.Lock()
		if rr := r.all[id]; rr != nil {
			rr.phase = phase
		}
		r.mu.Unlock()
	}
	end = func() {
		r.mu.Lock()
		delete(r.all, id)
		r.mu.Unlock()
	}
	return enter, end
}

// snapshot lists the reconciles in progress, longest running first, as
// "controller/name (phase, for 1.2s)".
func (r *running) snapshot() []string {
	r.mu.Lock()
	all := make([]runningReconcile, 0, len(r.all))
	for _, rr := range r.all {
		all = append(all, *rr)
	}
	now := r.now()
	r.mu.Unlock()
	slices.SortFunc(all, func(a, b runningReconcile) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return strings.Compare(a.controller+"/"+a.name, b.controller+"/"+b.name)
	})
	out := make([]string, len(all))
	for i, rr := range all {
		out[i] = rr.controller + "/" + rr.name + " (" + rr.phase + ", for " + now.Sub(rr.since).Round(100*time.Millisecond).String() + ")"
	}
	return out
}

// shutdownReport is how long after the manager begins to stop the
// reconciles still running are logged, and then how often, until none is
// left or shutdownReportFor has passed.
const (
	shutdownReport    = 3 * time.Second
	shutdownReportFor = time.Minute
)

// shutdownReporter is a runnable of every replica: when the manager begins
// to stop, it returns at once (it holds nothing up) and, from a goroutine of
// its own, logs the reconciles still running shutdownReport later and every
// shutdownReport after that, each with its office and phase.
type shutdownReporter struct {
	running *running
	clock   clock.WithTicker
	log     logr.Logger
}

var (
	_ manager.Runnable               = &shutdownReporter{}
	_ manager.LeaderElectionRunnable = &shutdownReporter{}
)

func (s *shutdownReporter) Start(ctx context.Context) error {
	<-ctx.Done()
	go s.report()
	return nil
}

// NeedLeaderElection is false: it is among the first runnables stopped.
func (s *shutdownReporter) NeedLeaderElection() bool { return false }

func (s *shutdownReporter) report() {
	tick := s.clock.NewTicker(shutdownReport)
	defer tick.Stop()
	for waited := time.Duration(0); waited < shutdownReportFor; waited += shutdownReport {
		<-tick.C()
		left := s.running.snapshot()
		if len(left) == 0 {
			return
		}
		s.log.Info("Stopping: reconciles still running", "count", len(left), "reconciles", left)
	}
}
