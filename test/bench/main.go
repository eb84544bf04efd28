// Command bench measures the operator against the API server's own limit
// (make bench). It starts the local control plane with an audit log of
// writes, generates a network of --offices offices, and measures in one run:
//
//   - baseline_s: client-go creating the tenant objects the operator will
//     create for that network (rendered the same way, under other names),
//     at the operator's concurrency;
//   - converge_s: from applying every office to every office Ready with its
//     generation observed, the operator running as its own process;
//   - steady_writes: the operator's writes in the --steady period after;
//   - noop_writes: the operator's writes when a new process resyncs every
//     office;
//   - rss_mib: the operator's peak resident memory;
//   - rollout_s: a city-wide RoutingPolicy change until every office's
//     tenant ConfigMap carries it, with rollout_baseline_s, the same number
//     of raw ConfigMap updates.
//
// It prints a table, then one line:
//
//	BENCH offices=N objects=N converge_s=X baseline_s=Y ratio=R steady_writes=W noop_writes=W rss_mib=M rollout_s=Z rollout_baseline_s=B
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/netgen"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// managerUser is the user the operator authenticates as, so that the audit
// log tells its writes from the benchmark's.
const managerUser = "petition-operator"

const tenantImage = "ghcr.io/xinfang/petition-desk:bench"

type options struct {
	offices     int
	seed        uint64
	concurrency int
	steady      time.Duration
	managerBin  string
	managerArgs string
	workDir     string
	timeout     time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.offices, "offices", 2000, "Offices in the network: 1 City, one County per 100, one Township per 5, the rest Departments.")
	flag.Uint64Var(&o.seed, "seed", 1, "Seed of the network's reception windows and time zones.")
	flag.IntVar(&o.concurrency, "concurrency", 4, "The operator's --max-concurrent-reconciles, and the baseline's parallel clients.")
	flag.DurationVar(&o.steady, "steady", 60*time.Second, "How long to count the operator's writes after convergence.")
	flag.StringVar(&o.managerBin, "manager", "bin/manager", "The manager binary (make bench builds it).")
	flag.StringVar(&o.managerArgs, "manager-args", "", "More flags for the manager, space-separated, e.g. \"--kube-api-qps=200 --kube-api-burst=400\".")
	flag.StringVar(&o.workDir, "work-dir", "bin/bench", "Where the audit log and the manager's logs go (emptied first).")
	flag.DurationVar(&o.timeout, "timeout", 45*time.Minute, "Give up after this long.")
	flag.Parse()
	// controller-runtime's packages log through this; the operator's own
	// log is in its process's file.
	ctrl.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	err := run(ctx, o)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is what one run measured.
type result struct {
	offices, objects                     int
	baseline, converge                   time.Duration
	steadyWrites, noopWrites             int
	steadyDetail, noopDetail, applyWrite string
	noopResync                           time.Duration
	rssMiB                               float64
	rollout, rolloutBaseline             time.Duration
}

func run(ctx context.Context, o options) error {
	if err := os.RemoveAll(o.workDir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return err
	}
	work, err := filepath.Abs(o.workDir)
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(o.managerBin)
	if err != nil {
		return err
	}
	policyPath := filepath.Join(work, "audit-policy.yaml")
	if err := os.WriteFile(policyPath, []byte(testenv.AuditPolicy), 0o644); err != nil {
		return err
	}
	audit := &testenv.AuditLog{Path: filepath.Join(work, "audit.log")}

	step("starting the control plane (etcd, kube-apiserver) with an audit log of writes")
	env, err := testenv.Start(func(e *envtest.Environment) {
		args := e.ControlPlane.GetAPIServer().Configure()
		args.Set("audit-policy-file", policyPath)
		args.Set("audit-log-path", audit.Path)
		args.Set("audit-log-format", "json")
		args.Set("audit-log-maxsize", "0")
		// A Service per office: room for more than envtest's 256 addresses.
		args.Set("service-cluster-ip-range", "10.96.0.0/16")
	})
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	kubeconfigPath := filepath.Join(work, "manager.kubeconfig")
	if err := env.WriteKubeconfig(managerUser, kubeconfigPath); err != nil {
		return err
	}
	// The benchmark's own client is not rate limited: the baseline is what
	// the API server can take.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: testenv.Scheme})
	if err != nil {
		return err
	}

	net, err := netgen.Generate(netgen.Options{Offices: o.offices, Seed: o.seed})
	if err != nil {
		return err
	}
	res := result{offices: len(net.Offices)}

	step("rendering the baseline's objects")
	other, err := netgen.Generate(netgen.Options{Offices: o.offices, Seed: o.seed, Prefix: "bl-"})
	if err != nil {
		return err
	}
	stacks, err := baselineStacks(other, tenantImage)
	if err != nil {
		return err
	}
	res.objects = countObjects(stacks)
	step(fmt.Sprintf("baseline: creating %d objects with client-go, %d at a time", res.objects, o.concurrency))
	if res.baseline, err = createStacks(ctx, c, stacks, o.concurrency); err != nil {
		return err
	}

	args := append([]string{
		fmt.Sprintf("--max-concurrent-reconciles=%d", o.concurrency),
		"--tenant-image=" + tenantImage,
	}, strings.Fields(o.managerArgs)...)
	step("starting the operator: " + strings.Join(args, " "))
	m, err := testenv.StartManager(ctx, testenv.ManagerOptions{Bin: bin, Kubeconfig: kubeconfigPath, LogPath: filepath.Join(work, "manager-1.log"), Args: args})
	if err != nil {
		return err
	}
	defer func() { _ = m.Stop() }()
	if err := testenv.WaitForWebhooks(ctx, env.Config, time.Minute); err != nil {
		return err
	}

	for i := range net.HolidayCalendars {
		if err := c.Create(ctx, &net.HolidayCalendars[i]); err != nil {
			return err
		}
	}
	for i := range net.EscalationPolicies {
		if err := c.Create(ctx, &net.EscalationPolicies[i]); err != nil {
			return err
		}
	}
	for i := range net.RoutingPolicies {
		if err := c.Create(ctx, &net.RoutingPolicies[i]); err != nil {
			return err
		}
	}
	if err := audit.Skip(); err != nil {
		return err
	}
	step(fmt.Sprintf("converge: applying %d offices, %d at a time, until every one is Ready", len(net.Offices), o.concurrency))
	converged := make(chan error, 1)
	// The operator's CPU profile of the first 30 s of convergence, for
	// go tool pprof.
	cpuProfiled := make(chan error, 1)
	go func() { cpuProfiled <- m.Profile("profile?seconds=30", filepath.Join(work, "cpu-converge.pprof")) }()
	start := time.Now()
	go func() {
		converged <- waitAll(ctx, c, &v1alpha1.OfficeList{}, nil, len(net.Offices), byName, officeReady, nil)
	}()
	if err := parallel(ctx, len(net.Offices), o.concurrency, func(ctx context.Context, i int) error {
		return c.Create(ctx, net.Offices[i].DeepCopy())
	}); err != nil {
		return err
	}
	if err := <-converged; err != nil {
		return err
	}
	res.converge = time.Since(start)
	applyWrites, err := writes(audit, managerUser)
	if err != nil {
		return err
	}
	res.applyWrite = testenv.DescribeWrites(applyWrites)
	if err := m.Profile("heap", filepath.Join(work, "heap-converged.pprof")); err != nil {
		return err
	}
	if err := <-cpuProfiled; err != nil {
		return err
	}

	step(fmt.Sprintf("steady: counting the operator's writes for %s", o.steady))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.steady):
	}
	steady, err := writes(audit, managerUser)
	if err != nil {
		return err
	}
	res.steadyWrites, res.steadyDetail = len(steady), testenv.DescribeWrites(steady)

	step("no-op resync: a new operator process reconciles every office")
	if res.rssMiB, err = m.PeakRSSMiB(); err != nil {
		return err
	}
	if err := m.Stop(); err != nil {
		return err
	}
	if err := audit.Skip(); err != nil {
		return err
	}
	resync := time.Now()
	m, err = testenv.StartManager(ctx, testenv.ManagerOptions{Bin: bin, Kubeconfig: kubeconfigPath, LogPath: filepath.Join(work, "manager-2.log"), Args: args})
	if err != nil {
		return err
	}
	if err := m.WaitIdle(ctx, len(net.Offices), 15*time.Minute); err != nil {
		return err
	}
	res.noopResync = time.Since(resync)
	// The webhook configurations are the process's own, written once when
	// it starts; they are not a write of any office.
	noop, err := writes(audit, managerUser, "validatingwebhookconfigurations", "mutatingwebhookconfigurations")
	if err != nil {
		return err
	}
	res.noopWrites, res.noopDetail = len(noop), testenv.DescribeWrites(noop)

	marker := fmt.Sprintf("bench-rollout-%d", time.Now().UnixNano())
	step("rollout: a new rule in the city-wide RoutingPolicy, until every office's ConfigMap carries it")
	if res.rollout, err = rollout(ctx, c, net, marker); err != nil {
		return err
	}
	step(fmt.Sprintf("rollout baseline: %d raw ConfigMap updates, %d at a time", len(stacks), o.concurrency))
	if res.rolloutBaseline, err = updateConfigMaps(ctx, c, stacks, o.concurrency, marker); err != nil {
		return err
	}
	rss, err := m.PeakRSSMiB()
	if err != nil {
		return err
	}
	res.rssMiB = max(res.rssMiB, rss)
	return report(os.Stdout, res)
}

// officeReady reports whether an office is Ready for its current
// generation.
func officeReady(obj client.Object) bool {
	o := obj.(*v1alpha1.Office)
	ready := apimeta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
	return ready != nil && ready.Status == "True" && ready.ObservedGeneration == o.Generation &&
		o.Status.ObservedGeneration == o.Generation
}

// rollout adds a rule matching marker to the network's city-wide policy and
// returns how long until every office's tenant ConfigMap holds it.
func rollout(ctx context.Context, c client.WithWatch, net *xinfang.Snapshot, marker string) (time.Duration, error) {
	cityWide := net.RoutingPolicies[0].DeepCopy()
	if err := c.Get(ctx, client.ObjectKeyFromObject(cityWide), cityWide); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	watching := make(chan struct{})
	go func() {
		done <- waitAll(ctx, c, &corev1.ConfigMapList{}, managedOnly, len(net.Offices), byNamespace, func(obj client.Object) bool {
			return configMapHolds(obj, marker)
		}, watching)
	}()
	select {
	case <-watching:
	case err := <-done:
		return 0, err
	}
	cityWide.Spec.Rules = append(cityWide.Spec.Rules, v1alpha1.RoutingRule{
		Name:    "bench-rollout",
		Match:   v1alpha1.RouteMatch{Categories: []string{marker}},
		RouteTo: v1alpha1.RouteTarget{Department: "HumanResources"},
	})
	start := time.Now()
	if err := c.Update(ctx, cityWide); err != nil {
		return 0, err
	}
	if err := <-done; err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func step(msg string) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), msg)
}

func report(out io.Writer, r result) error {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }
	ratio := r.converge.Seconds() / r.baseline.Seconds()
	rows := [][3]string{
		{"measure", "value", "detail"},
		{"offices", fmt.Sprint(r.offices), ""},
		{"tenant objects", fmt.Sprint(r.objects), "rendered for the network"},
		{"baseline_s", secs(r.baseline), "client-go creating them"},
		{"converge_s", secs(r.converge), "apply to all Ready; operator writes: " + r.applyWrite},
		{"ratio", fmt.Sprintf("%.2f", ratio), "converge_s / baseline_s (goal ≤ 1.5)"},
		{"steady_writes", fmt.Sprint(r.steadyWrites), r.steadyDetail},
		{"noop_writes", fmt.Sprint(r.noopWrites), fmt.Sprintf("a new process resynced every office in %ss: %s", secs(r.noopResync), r.noopDetail)},
		{"rss_mib", fmt.Sprintf("%.0f", r.rssMiB), "peak of the operator's processes"},
		{"rollout_s", secs(r.rollout), "city-wide RoutingPolicy change to every ConfigMap"},
		{"rollout_baseline_s", secs(r.rolloutBaseline), "the same number of raw ConfigMap updates (goal: rollout_s ≤ 2×)"},
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", row[0], row[1], row[2]); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "BENCH offices=%d objects=%d converge_s=%s baseline_s=%s ratio=%.2f steady_writes=%d noop_writes=%d rss_mib=%.0f rollout_s=%s rollout_baseline_s=%s\n",
		r.offices, r.objects, secs(r.converge), secs(r.baseline), ratio, r.steadyWrites, r.noopWrites, r.rssMiB, secs(r.rollout), secs(r.rolloutBaseline))
	return err
}
