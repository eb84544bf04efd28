// Package apptest runs the operator in process for integration tests: the
// manager of app.New, as cmd/manager runs it outside a cluster with
// --webhook-local-url, against a control plane of internal/testenv.
package apptest

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/xinfang/petition-operator/cmd/manager/app"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/testenv"
)

// Operator is the manager with every reconciler and the admission webhooks,
// as cmd/manager runs it outside a cluster with --webhook-local-url.
type Operator struct {
	// Stop stops the manager and waits for it, which removes its webhook
	// configurations.
	Stop func() error
	// Cache reads what the manager sees, which is what the webhooks judge
	// by: a test waits on it before an admission that depends on an object
	// it just wrote.
	Cache client.Reader
}

// The namespace of the Cities' case stores and the registry's image, as the
// operator runs them in these tests. The namespace is not made: a test of
// the case store makes it.
const (
	CasesNamespace = "petition-system"
	RegistryImage  = "ghcr.io/xinfang/petition-registry:test"
)

// OperatorOptions say what StartOperator runs.
type OperatorOptions struct {
	// Reconcilers runs the reconcilers too; without them only the webhooks
	// run, and offices get no finalizer, so they delete at once.
	Reconcilers bool
	// TenantImage is the default tenant image of the reconcilers.
	TenantImage string
	// NoWebhooks runs the manager without its admission webhooks, to test
	// what the reconcilers do with objects the webhooks would refuse.
	NoWebhooks bool
	// RollOutDeployments writes the status of Deployments as
	// kube-controller-manager would (testenv.AddDeploymentDriver), so that
	// tenants roll out and staged rollouts move on.
	RollOutDeployments bool
	// Clock, if set, is the operator's clock (controllers.Options.Clock).
	Clock clock.WithTicker
	// StatusPacing, if set, paces the recounts of policy and calendar
	// status (controllers.Options.StatusPacing); the default waits up to
	// 10 s between recounts, and so between the stages of a rollout.
	StatusPacing controllers.StatusPacing
	// Figures and RegistryURL, if set, configure the reading of the
	// Cities' case figures (controllers.Options.Figures, RegistryURL).
	Figures     controllers.FiguresOptions
	RegistryURL func(city string) string
	// CasesNamespace, if set, is where the Cities' case stores run
	// (controllers.Options.CasesNamespace); CasesNamespace when empty.
	CasesNamespace string
}

// Run is the TestMain of a package whose tests need the control plane and
// the operator: it starts both, calls setup (which typically creates the
// package's clients), runs the tests and stops both. It returns the exit
// code.
func Run(m *testing.M, opts OperatorOptions, setup func(*testenv.Env, *Operator) error) int {
	flag.Parse()
	env, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	testenv.SetLogger()
	op, err := StartOperator(env.Config, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the operator:", err)
		return 1
	}
	if setup != nil {
		if err := setup(env, op); err != nil {
			fmt.Fprintln(os.Stderr, err)
			_ = op.Stop()
			return 1
		}
	}
	code := m.Run()
	if err := op.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	return code
}

// StartOperator starts the operator against the API server of cfg, as the
// user of cfg, and returns once the API server calls its webhooks. The
// webhooks are served on loopback with a self-signed certificate in a
// temporary folder, removed by Stop; metrics and probes are off.
func StartOperator(cfg *rest.Config, opts OperatorOptions) (*Operator, error) {
	options := app.Options{
		MetricsBindAddress: "0",
		// controller-runtime's default, which the flag's matches.
		GracefulShutdownTimeout: 30 * time.Second,
		Reconcilers:             opts.Reconcilers,
		Controllers: controllers.Options{TenantImage: opts.TenantImage, IngressNamespace: "ingress-nginx", Clock: opts.Clock, StatusPacing: opts.StatusPacing,
			Figures: opts.Figures, RegistryURL: opts.RegistryURL,
			CasesNamespace: cmp.Or(opts.CasesNamespace, CasesNamespace), RegistryImage: RegistryImage},
	}
	var certDir string
	if !opts.NoWebhooks {
		ports, err := testenv.FreePorts(1)
		if err != nil {
			return nil, err
		}
		if certDir, err = os.MkdirTemp("", "petition-webhook-certs-"); err != nil {
			return nil, err
		}
		options.Webhooks = app.WebhookOptions{Enabled: true, CertDir: certDir, LocalURL: "https://127.0.0.1:" + strconv.Itoa(ports[0])}
	}
	ctx, cancel := context.WithCancel(context.Background())
	fail := func(err error) (*Operator, error) {
		cancel()
		_ = os.RemoveAll(certDir)
		return nil, err
	}
	mgr, err := app.New(ctx, cfg, options)
	if err != nil {
		return fail(err)
	}
	if opts.RollOutDeployments {
		if err := testenv.AddDeploymentDriver(mgr); err != nil {
			return fail(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	var stopErr error
	op := &Operator{Cache: mgr.GetCache(), Stop: func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
			_ = os.RemoveAll(certDir)
		})
		return stopErr
	}}
	if opts.NoWebhooks {
		return op, nil
	}
	if err := waitForWebhooks(cfg, mgr, done); err != nil {
		_ = op.Stop()
		return nil, err
	}
	return op, nil
}

// waitForWebhooks waits until the API server calls the webhooks.
func waitForWebhooks(cfg *rest.Config, mgr ctrl.Manager, done <-chan error) error {
	started := mgr.GetWebhookServer().StartedChecker()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("the manager stopped: %w", err)
		default:
		}
		if started(&http.Request{}) == nil {
			if called, _ := testenv.WebhooksCalled(context.Background(), cfg); called {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the API server did not call the webhooks within 60s")
}
