package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// errLeaderElectionLost is the message of controller-runtime's manager when
// it could not renew its Lease within the renew deadline
// (pkg/manager/internal.go).
const errLeaderElectionLost = "leader election lost"

// LostLeadership tells whether err, returned by a manager's Start, says
// that it stopped leading without being asked to.
func LostLeadership(err error) bool {
	return err != nil && strings.Contains(err.Error(), errLeaderElectionLost)
}

// recampaignWithin is how long after a lost leadership Run keeps trying to
// build and start a new manager that fails at once (its ports are still
// held by the old one as it winds down, or the API server is still away).
const recampaignWithin = 2 * time.Minute

// stepDown is how long Run waits after a manager stopped on a lost
// leadership before it builds the next, so that the old one's servers and
// runnables have wound down.
const stepDown = time.Second

// Run builds the manager with New and runs it until ctx is done. With
// leader election, a manager that loses its leadership (it could not renew
// its Lease within the renew deadline, e.g. while the API server is away)
// does not end the process: Run stands it down and starts a new manager
// from New, which serves the webhooks and probes again at once and
// campaigns for the Lease like any other replica.
//
// Two leaders never act at once. The old manager stops leading at most
// RetryPeriod + RenewDeadline after its last renewal, which is before
// LeaseDuration has passed since it (the manager refuses timings
// otherwise), and no one else may take the Lease before that; it cancels
// the context of every reconciler as it stops, so a reconcile still running
// cannot write. The new manager has an identity of its own: it must wait
// for the old Lease to expire, as a standby in another pod would.
//
// Any other error of a manager, and an error of the first New, ends Run.
func Run(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger) error {
	var lost time.Time // when the last leadership was lost; zero before
	for {
		err := runOnce(ctx, cfg, opts)
		switch {
		case ctx.Err() != nil:
			return err
		case opts.LeaderElection && LostLeadership(err):
			lost = time.Now()
			log.Error(err, "Lost the leadership; standing down and campaigning again in process")
		case !lost.IsZero() && time.Since(lost) < recampaignWithin:
			log.Info("Starting again after a lost leadership failed; retrying", "error", err.Error())
		default:
			return err
		}
		// The controllers of the next manager have the same names.
		opts.SkipNameValidation = true
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(stepDown):
		}
		// The stopped manager's queues are gone; their gauges must not
		// count into the next one's.
		if err := resetQueueMetrics(); err != nil {
			log.Error(err, "The workqueue gauges may count the stopped manager's queues")
		}
	}
}

// runOnce builds one manager and runs it until it stops. The context of
// its setup ends with it.
func runOnce(ctx context.Context, cfg *rest.Config, opts Options) error {
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mgr, err := New(mctx, cfg, opts)
	if err != nil {
		return err
	}
	if err := mgr.Start(mctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

// The workqueue gauges of controller-runtime (pkg/internal/metrics), as it
// registers them. A controller's queue that is dropped when its manager
// stops on a lost leadership leaves its depth in them, and the next
// manager's queue of the same name adds to it: resetQueueMetrics clears them
// between the two.
var queueGauges = []struct {
	opts   prometheus.GaugeOpts
	labels []string
}{
	{prometheus.GaugeOpts{Subsystem: "workqueue", Name: "depth", Help: "Current depth of workqueue by workqueue and priority"},
		[]string{"name", "controller", "priority"}},
	{prometheus.GaugeOpts{Subsystem: "workqueue", Name: "unfinished_work_seconds", Help: "How many seconds of work has been done that " +
		"is in progress and hasn't been observed by work_duration. Large " +
		"values indicate stuck threads. One can deduce the number of stuck " +
		"threads by observing the rate at which this increases."},
		[]string{"name", "controller"}},
	{prometheus.GaugeOpts{Subsystem: "workqueue", Name: "longest_running_processor_seconds", Help: "How many seconds has the longest running " +
		"processor for workqueue been running."},
		[]string{"name", "controller"}},
}

// resetQueueMetrics resets controller-runtime's workqueue gauges, which it
// finds in its registry by registering the same gauges again (the registry
// answers with the collector it holds). Call it only when no queue runs.
func resetQueueMetrics() error {
	var errs []error
	for _, g := range queueGauges {
		probe := prometheus.NewGaugeVec(g.opts, g.labels)
		err := ctrlmetrics.Registry.Register(probe)
		var registered prometheus.AlreadyRegisteredError
		if errors.As(err, &registered) {
			if existing, ok := registered.ExistingCollector.(*prometheus.GaugeVec); ok {
				existing.Reset()
				continue
			}
		}
		if err == nil {
			ctrlmetrics.Registry.Unregister(probe)
			err = errors.New("it was not registered")
		}
		errs = append(errs, fmt.Errorf("controller-runtime's gauge workqueue_%s: %w", g.opts.Name, err))
	}
	return errors.Join(errs...)
}
