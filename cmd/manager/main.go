// Command manager runs petition-operator: the reconcilers of the Office,
// RoutingPolicy, EscalationPolicy and HolidayCalendar kinds.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"
	_ "time/tzdata" // offices have time zones; the image has no /usr/share/zoneinfo

	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/xinfang/petition-operator/cmd/manager/app"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/casestore"
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
		opts               app.Options
		qps                float64
		burst              int
		watchLabelSelector string
		registryURL        registryURLFlag
	)
	flag.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&opts.MetricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, authenticated and authorized by the API server (TokenReview and SubjectAccessReview).")
	flag.StringVar(&opts.PprofBindAddress, "pprof-bind-address", "0", "Address the Go profiler (/debug/pprof) binds to; 0 disables it. Keep it on loopback.")
	flag.StringVar(&opts.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&opts.LeaderElectionID, "leader-election-id", "petition-operator.petition.xinfang.io", "Name of the Lease used for leader election.")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.DurationVar(&opts.LeaseDuration, "leader-elect-lease-duration", 8*time.Second, "How long a standby waits after the leader's last renewal before it takes the Lease: with two tries of the standby (2 × 2.2 × --leader-elect-retry-period), the bound of a failover after the leader dies.")
	flag.DurationVar(&opts.RenewDeadline, "leader-elect-renew-deadline", 5*time.Second, "How long the leader retries renewing the Lease before it stands down (and campaigns again, in process); with --leader-elect-retry-period, less than --leader-elect-lease-duration.")
	flag.DurationVar(&opts.RetryPeriod, "leader-elect-retry-period", time.Second, "How often the leader renews and standbys try to acquire the Lease.")
	flag.IntVar(&opts.Controllers.MaxConcurrentReconciles, "max-concurrent-reconciles", 4, "Reconciles run in parallel per kind.")
	flag.Float64Var(&qps, "kube-api-qps", 50, "Sustained queries per second to the API server.")
	flag.IntVar(&burst, "kube-api-burst", 100, "Burst of queries to the API server.")
	flag.DurationVar(&opts.GracefulShutdownTimeout, "graceful-shutdown-timeout", 30*time.Second, "How long to wait for running reconciles on shutdown.")
	flag.DurationVar(&opts.Controllers.StatusPacing.Delay, "status-recount-delay", controllers.DefaultStatusPacing.Delay,
		"How long after a single office event the policies, calendars and TenantDefaults recount their offices in status.")
	flag.DurationVar(&opts.Controllers.StatusPacing.Interval, "status-recount-interval", controllers.DefaultStatusPacing.Interval,
		"The least time between two recounts of one policy, calendar or TenantDefaults while office events keep coming: one status write each per interval, however many offices change.")
	flag.StringVar(&opts.Controllers.TenantImage, "tenant-image", "ghcr.io/xinfang/petition-desk:"+version.ImageTag(), "Default image of each office's tenant service (spec.tenant.image overrides it).")
	flag.StringVar(&opts.Controllers.CasesNamespace, "cases-namespace", casesNamespace(os.Getenv),
		"Namespace the Cities' case registries and CloudNativePG databases run in, and where an external database's Secret is read: the operator's own ($POD_NAMESPACE, else petition-system), where its Role and admission policy let it write them.")
	flag.StringVar(&opts.Controllers.RegistryImage, "registry-image", "ghcr.io/xinfang/petition-registry:"+version.ImageTag(), "Image of each City's case registry.")
	flag.StringVar(&opts.Controllers.RegistryServiceAccount, "registry-service-account", casestore.ServiceAccountName,
		"ServiceAccount of each City's case registry in --cases-namespace, installed with the operator and bound to the registry's ClusterRole.")
	flag.StringVar(&opts.Controllers.IngressNamespace, "ingress-namespace", "ingress-nginx", "Namespace of the platform ingress that every tenant's NetworkPolicy admits.")
	flag.StringVar(&watchLabelSelector, "watch-label-selector", "", "Reconcile only the offices whose labels match this selector (e.g. petition.xinfang.io/shard=east), to split a large network between instances; each instance needs its own --leader-election-id. Empty reconciles every office.")
	bindWebhookFlags(flag.CommandLine, &opts.Webhooks)
	bindFiguresFlags(flag.CommandLine, &opts.Controllers, &registryURL)
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := opts.Webhooks.Validate(); err != nil {
		return err
	}
	log := ctrl.Log.WithName("setup")
	if watchLabelSelector != "" {
		shard, err := labels.Parse(watchLabelSelector)
		if err != nil {
			return fmt.Errorf("--watch-label-selector %q: %w", watchLabelSelector, err)
		}
		opts.Controllers.Shard = shard
	}
	if err := leaseTimings(opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod); err != nil {
		return err
	}
	if limit, ok := memoryLimit(os.Getenv, log); ok {
		debug.SetMemoryLimit(limit)
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS = float32(qps)
	cfg.Burst = burst
	cfg.UserAgent = "petition-operator/" + version.String()

	opts.Controllers.RegistryURL = registryURL.url()
	opts.Reconcilers = true
	ctx := ctrl.SetupSignalHandler()

	log.Info("starting manager", "version", version.String(), "tenantImage", opts.Controllers.TenantImage, "leaderElection", opts.LeaderElection,
		"webhooks", opts.Webhooks.Enabled, "watchLabelSelector", watchLabelSelector)
	return app.Run(ctx, cfg, opts, log)
}

// casesNamespace is --cases-namespace's default: the pod's namespace
// ($POD_NAMESPACE, from the downward API), else petition-system.
func casesNamespace(getenv func(string) string) string {
	if ns := getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "petition-system"
}

// leaseTimings checks the leader election timings as client-go's leader
// elector would, to say which flag is wrong before the manager starts, and
// one more: a leader that cannot renew stops leading at the latest a retry
// period and the renew deadline after its last renewal, which must come
// before the Lease may be taken by another (the lease duration after it),
// since the manager campaigns again in process rather than exiting.
func leaseTimings(lease, renew, retry time.Duration) error {
	switch {
	case retry <= 0:
		return fmt.Errorf("--leader-elect-retry-period %s: must be positive", retry)
	case renew <= time.Duration(1.2*float64(retry)):
		return fmt.Errorf("--leader-elect-renew-deadline %s: must be more than 1.2 × --leader-elect-retry-period (%s)", renew, retry)
	case lease <= renew:
		return fmt.Errorf("--leader-elect-lease-duration %s: must be more than --leader-elect-renew-deadline (%s)", lease, renew)
	case lease <= renew+retry:
		return fmt.Errorf("--leader-elect-lease-duration %s: must be more than --leader-elect-renew-deadline + --leader-elect-retry-period (%s), so that a leader that cannot renew stops before another may lead", lease, renew+retry)
	}
	return nil
}
