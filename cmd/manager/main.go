// Command manager runs petition-operator: the reconcilers of the Office,
// RoutingPolicy, EscalationPolicy and HolidayCalendar kinds.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/version"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr          string
		metricsSecure        bool
		probeAddr            string
		leaderElect          bool
		leaderElectionID     string
		leaderElectionNS     string
		leaseDuration        time.Duration
		renewDeadline        time.Duration
		retryPeriod          time.Duration
		concurrency          int
		qps                  float64
		burst                int
		gracefulShutdownTime time.Duration
		tenantImage          string
		ingressNamespace     string
		wh                   webhookFlags
		pprofAddr            string
		watchLabelSelector   string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, authenticated and authorized by the API server (TokenReview and SubjectAccessReview).")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address the Go profiler (/debug/pprof) binds to; 0 disables it. Keep it on loopback.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectionID, "leader-election-id", "petition-operator.petition.xinfang.io", "Name of the Lease used for leader election.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a standby waits after the leader's last renewal before it takes the Lease: the bound of a failover after the leader dies.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader retries renewing the Lease before it gives up leading; less than --leader-elect-lease-duration.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often the leader renews and standbys try to acquire the Lease.")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 4, "Reconciles run in parallel per kind.")
	flag.Float64Var(&qps, "kube-api-qps", 50, "Sustained queries per second to the API server.")
	flag.IntVar(&burst, "kube-api-burst", 100, "Burst of queries to the API server.")
	flag.DurationVar(&gracefulShutdownTime, "graceful-shutdown-timeout", 30*time.Second, "How long to wait for running reconciles on shutdown.")
	flag.StringVar(&tenantImage, "tenant-image", "ghcr.io/xinfang/petition-desk:"+version.Version, "Default image of each office's tenant service (spec.tenant.image overrides it).")
	flag.StringVar(&ingressNamespace, "ingress-namespace", "ingress-nginx", "Namespace of the platform ingress that every tenant's NetworkPolicy admits.")
	flag.StringVar(&watchLabelSelector, "watch-label-selector", "", "Reconcile only the offices whose labels match this selector (e.g. petition.xinfang.io/shard=east), to split a large network between instances; each instance needs its own --leader-election-id. Empty reconciles every office.")
	wh.bind(flag.CommandLine)
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	err := wh.prepare()
	if err != nil {
		return err
	}
	log := ctrl.Log.WithName("setup")
	var shard labels.Selector
	if watchLabelSelector != "" {
		if shard, err = labels.Parse(watchLabelSelector); err != nil {
			return fmt.Errorf("--watch-label-selector %q: %w", watchLabelSelector, err)
		}
	}
	if err := leaseTimings(leaseDuration, renewDeadline, retryPeriod); err != nil {
		return err
	}
	if limit, ok := memoryLimit(os.Getenv, log); ok {
		debug.SetMemoryLimit(limit)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS = float32(qps)
	cfg.Burst = burst
	cfg.UserAgent = "petition-operator/" + version.Version

	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: metricsSecure}
	if metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
		GracefulShutdownTimeout:       &gracefulShutdownTime,
		Cache:                         controllers.CacheOptions(shard),
		WebhookServer:                 wh.server(),
		PprofBindAddress:              pprofAddr,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles: concurrency, TenantImage: tenantImage, IngressNamespace: ingressNamespace, Shard: shard,
	}); err != nil {
		return fmt.Errorf("setting up controllers: %w", err)
	}
	if err := wh.setup(mgr, log); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	readyz := healthz.Ping
	if wh.enabled {
		// Ready once the webhook server serves TLS.
		readyz = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddReadyzCheck("readyz", readyz); err != nil {
		return err
	}

	log.Info("starting manager", "version", version.Version, "tenantImage", tenantImage, "leaderElection", leaderElect, "webhooks", wh.enabled,
		"watchLabelSelector", watchLabelSelector)
	return mgr.Start(ctx)
}

// leaseTimings checks the leader election timings as client-go's leader
// elector would, to say which flag is wrong before the manager starts.
func leaseTimings(lease, renew, retry time.Duration) error {
	switch {
	case retry <= 0:
		return fmt.Errorf("--leader-elect-retry-period %s: must be positive", retry)
	case renew <= time.Duration(1.2*float64(retry)):
		return fmt.Errorf("--leader-elect-renew-deadline %s: must be more than 1.2 × --leader-elect-retry-period (%s)", renew, retry)
	case lease <= renew:
		return fmt.Errorf("--leader-elect-lease-duration %s: must be more than --leader-elect-renew-deadline (%s)", lease, renew)
	}
	return nil
}
