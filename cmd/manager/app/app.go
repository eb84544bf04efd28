// Package app assembles petition-operator: the manager with its caches,
// reconcilers, admission webhooks and their certificate, and probes. The
// manager command and the tests that run the operator in process build it
// with New alone, so that what is tested is what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/buildinfo"
	"github.com/xinfang/petition-operator/internal/cluster"
	"github.com/xinfang/petition-operator/internal/fieldindex"
	"github.com/xinfang/petition-operator/internal/kinds"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
)

// Options are what the manager's flags decide, but the API server client's
// own settings (QPS, burst, user agent), which are the rest.Config's.
type Options struct {
	// MetricsBindAddress is the address of the Prometheus metrics
	// endpoint; "0" disables it.
	MetricsBindAddress string
	// MetricsSecure serves metrics over HTTPS, authenticated and
	// authorized by the API server.
	MetricsSecure bool
	// PprofBindAddress is the address of the Go profiler; "0" or empty
	// disables it.
	PprofBindAddress string
	// HealthProbeBindAddress is the address of /healthz and /readyz; "0"
	// or empty disables them.
	HealthProbeBindAddress string

	// LeaderElection elects a leader so that only one replica reconciles
	// at a time; the other fields of leader election apply only with it.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	LeaseDuration           time.Duration
	RenewDeadline           time.Duration
	RetryPeriod             time.Duration

	// GracefulShutdownTimeout is how long the manager waits for running
	// reconciles on shutdown; 0 waits for none.
	GracefulShutdownTimeout time.Duration

	// Reconcilers runs the reconcilers, with Controllers. Without them only
	// the field indexes the webhooks read by are registered.
	Reconcilers bool
	// Controllers configure the reconcilers; Controllers.Shard also scopes
	// the caches of the tenant kinds, and Controllers.Clock, the
	// operator's one clock, also paces the webhook certificate's rotation.
	Controllers controllers.Options

	// Webhooks are the admission webhooks and their TLS.
	Webhooks WebhookOptions

	// SkipNameValidation lets the controllers be created again in a process
	// that created them before: Run sets it for each manager after the
	// first.
	SkipNameValidation bool
}

// New returns the operator's manager against cfg, not started: the
// manager with the operator's scheme and caches, the reconcilers (or only
// the field indexes), the admission webhooks with what installs their
// configurations or keeps their CA bundles current, and the health and
// readiness checks. ctx is that of the controllers' setup; start the
// manager with the same.
func New(ctx context.Context, cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.Controllers.Clock == nil {
		opts.Controllers.Clock = clock.RealClock{}
	}
	wh, err := opts.Webhooks.serving(ctx, cfg, opts.Controllers.Clock)
	if err != nil {
		return nil, err
	}
	metricsOpts := metricsserver.Options{BindAddress: opts.MetricsBindAddress, SecureServing: opts.MetricsSecure}
	if opts.MetricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        kinds.NewScheme(),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        opts.HealthProbeBindAddress,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &opts.LeaseDuration,
		RenewDeadline:                 &opts.RenewDeadline,
		RetryPeriod:                   &opts.RetryPeriod,
		GracefulShutdownTimeout:       &opts.GracefulShutdownTimeout,
		Cache:                         controllers.CacheOptions(opts.Controllers.Shard),
		WebhookServer:                 wh.server(),
		PprofBindAddress:              opts.PprofBindAddress,
		// The workqueue, not controller-runtime's priority queue: in v0.24
		// the priority queue can deadlock on shutdown (a ready item handed
		// to a worker that has already stopped, under its lock;
		// kubernetes-sigs/controller-runtime#3538, fixed in v0.25), and a
		// manager that does not stop within its grace period is killed
		// with its Lease still held.
		Controller: config.Controller{SkipNameValidation: &opts.SkipNameValidation, UsePriorityQueue: ptr.To(false)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}

	// Which version runs: registered once per process (a manager started
	// again in the same process finds it there).
	var registered prometheus.AlreadyRegisteredError
	if err := ctrlmetrics.Registry.Register(buildinfo.Collector("petition_operator")); err != nil && !errors.As(err, &registered) {
		return nil, fmt.Errorf("the build-info metric: %w", err)
	}

	// The process's one network, fed on every replica: the reconcilers
	// (when this process runs them) and the webhooks read it alike.
	feed, err := cluster.NewFeed(ctx, mgr.GetCache())
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	if opts.Reconcilers {
		if err := controllers.Setup(ctx, mgr, feed, opts.Controllers); err != nil {
			return nil, fmt.Errorf("setting up controllers: %w", err)
		}
	} else if err := fieldindex.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	log := ctrl.Log.WithName("setup")
	whOpts := petitionwebhook.Options{Network: feed}
	if opts.Reconcilers {
		// A new office this process reconciles gets the finalizer with its
		// create; another shard's office gets it from its own reconciler.
		whOpts.Finalize = func(o *v1alpha1.Office) bool { return opts.Controllers.Owns(o) }
	}
	if err := wh.setup(mgr, log, whOpts); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	readyz := healthz.Ping
	if wh.Enabled {
		// Ready once the webhook server serves the certificate in its
		// directory: started, and the latest certificate loaded.
		readyz = wh.readyz()
	}
	if err := mgr.AddReadyzCheck("readyz", readyz); err != nil {
		return nil, err
	}
	// And once the caches have synced: a replica that judges an office
	// before it has read the network would wait in every admission.
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 100*time.Millisecond)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// And once the network has taken in every office of the cache: until
	// then the webhooks refuse, so the Service should send them nothing.
	if err := mgr.AddReadyzCheck("network", func(*http.Request) error {
		if !feed.Synced() {
			return errors.New("the network has not taken in every office yet")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}
