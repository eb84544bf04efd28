package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/controllers"
	"github.com/xinfang/petition-operator/internal/certs"
	"github.com/xinfang/petition-operator/internal/fields"
	petitionwebhook "github.com/xinfang/petition-operator/internal/webhook"
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
	// kube-controller-manager would (deploymentDriver), so that tenants roll
	// out and staged rollouts move on.
	RollOutDeployments bool
}

// Run is the TestMain of a package whose tests need the control plane and
// the operator: it starts both, calls setup (which typically creates the
// package's clients), runs the tests and stops both. It returns the exit
// code.
func Run(m *testing.M, opts OperatorOptions, setup func(*Env, *Operator) error) int {
	flag.Parse()
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	SetLogger()
	op, err := env.StartOperator(opts)
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

// StartOperator starts the operator against e and returns once the API
// server calls its webhooks.
func (e *Env) StartOperator(opts OperatorOptions) (*Operator, error) {
	options := ctrl.Options{
		Scheme:  Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   controllers.CacheOptions(nil),
	}
	var (
		port    int
		certDir string
		ca      []byte
		err     error
	)
	if !opts.NoWebhooks {
		ports, err := FreePorts(1)
		if err != nil {
			return nil, err
		}
		port = ports[0]
		if certDir, err = os.MkdirTemp("", "petition-webhook-certs-"); err != nil {
			return nil, err
		}
		if ca, err = certs.EnsureServingCert(certDir, []string{"127.0.0.1"}, time.Now()); err != nil {
			_ = os.RemoveAll(certDir)
			return nil, err
		}
		options.WebhookServer = webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir})
	}
	mgr, err := ctrl.NewManager(e.Config, options)
	if err != nil {
		_ = os.RemoveAll(certDir)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	fail := func(err error) (*Operator, error) {
		cancel()
		_ = os.RemoveAll(certDir)
		return nil, err
	}
	if opts.Reconcilers {
		err = controllers.Setup(ctx, mgr, controllers.Options{TenantImage: opts.TenantImage, IngressNamespace: "ingress-nginx"})
	} else {
		err = fields.Register(ctx, mgr.GetFieldIndexer())
	}
	if err != nil {
		return fail(err)
	}
	if opts.RollOutDeployments {
		if err := setupDeploymentDriver(mgr); err != nil {
			return fail(err)
		}
	}
	if !opts.NoWebhooks {
		if err := petitionwebhook.Setup(mgr); err != nil {
			return fail(err)
		}
		direct, err := client.New(e.Config, client.Options{Scheme: Scheme})
		if err != nil {
			return fail(err)
		}
		url := "https://127.0.0.1:" + strconv.Itoa(port)
		if err := mgr.Add(&petitionwebhook.LocalInstaller{Client: direct, URL: url, CABundle: ca, Log: ctrl.Log.WithName("webhooks")}); err != nil {
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
	if err := e.waitForWebhooks(mgr, done); err != nil {
		_ = op.Stop()
		return nil, err
	}
	return op, nil
}

// waitForWebhooks waits until the API server calls the webhooks.
func (e *Env) waitForWebhooks(mgr ctrl.Manager, done <-chan error) error {
	started := mgr.GetWebhookServer().StartedChecker()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("the manager stopped: %w", err)
		default:
		}
		if started(&http.Request{}) == nil {
			if called, _ := WebhooksCalled(context.Background(), e.Config); called {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the API server did not call the webhooks within 60s")
}

// WebhooksCalled reports whether the API server calls the operator's
// webhooks: a dry-run create of an office whose parent does not exist comes
// back with the webhook's warning. The error is that of the create.
func WebhooksCalled(ctx context.Context, cfg *rest.Config) (bool, error) {
	warnings := &WarningRecorder{}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = warnings
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return false, err
	}
	probe := &v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe"},
		Spec:       v1alpha1.OfficeSpec{Level: v1alpha1.LevelCounty, Parent: "webhook-probe-parent"},
	}
	if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
		return false, err
	}
	return strings.Contains(strings.Join(warnings.Messages(), "\n"), "webhook-probe-parent"), nil
}

// WarningRecorder is a rest.WarningHandler that keeps the warnings the API
// server returns.
type WarningRecorder struct {
	mu       sync.Mutex
	messages []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *WarningRecorder) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

// Messages returns the warnings received since the last Reset.
func (w *WarningRecorder) Messages() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.messages...)
}

// Reset forgets the warnings received.
func (w *WarningRecorder) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = nil
}

// FreePorts returns n distinct free TCP ports of the loopback interface.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
