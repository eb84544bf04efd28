package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// managerUser is the user every manager process of a test authenticates as,
// so that the audit log tells the operator's writes from the test's and
// kube-controller-manager's.
const managerUser = "petition-operator"

// cluster is one test's control plane: etcd and kube-apiserver (envtest,
// with an audit log of writes and a certificate folder of its own, so that
// kube-apiserver can be stopped and started again on the same address with
// the same certificates) and kube-controller-manager.
type cluster struct {
	t   *testing.T
	dir string
	env *testenv.Env
	// c is an administrator's client, not rate limited.
	c client.WithWatch
	// cfg is its configuration.
	cfg *rest.Config
	// audit reads the audit log.
	audit *testenv.AuditLog
	// kubeconfig is the manager user's.
	kubeconfig string

	kcm     *exec.Cmd
	kcmDone chan struct{}
	kcmErr  error
}

// newCluster starts a control plane for the test; it is stopped and its
// data removed when the test ends.
func newCluster(t *testing.T, name string) *cluster {
	t.Helper()
	dir := filepath.Join(workDir, name)
	certDir := filepath.Join(dir, "apiserver")
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(testenv.AuditPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	cl := &cluster{t: t, dir: dir, audit: &testenv.AuditLog{Path: filepath.Join(dir, "audit.log")}}
	apiLog, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	env, err := testenv.Start(func(e *envtest.Environment) {
		e.ControlPlaneStartTimeout = 3 * time.Minute
		// kube-apiserver stops listening at once on SIGTERM but may take
		// longer than this to exit; envtest then kills it.
		e.ControlPlaneStopTimeout = 15 * time.Second
		api := e.ControlPlane.GetAPIServer()
		// A folder of its own: envtest keeps it (and the serving and
		// service-account keys in it) when kube-apiserver stops, so that
		// it starts again with the same ones.
		api.CertDir = certDir
		api.Out, api.Err = apiLog, apiLog
		args := api.Configure()
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", cl.audit.Path)
		args.Set("audit-log-format", "json")
		args.Set("audit-log-maxsize", "0")
		// A Service per office: room for more than envtest's 256 addresses.
		args.Set("service-cluster-ip-range", "10.96.0.0/16")
	})
	if err != nil {
		_ = apiLog.Close()
		t.Fatal(err)
	}
	cl.env = env
	t.Cleanup(func() {
		cl.stopControllerManager()
		if err := env.Stop(); err != nil {
			t.Logf("stopping the control plane: %v", err)
		}
		_ = apiLog.Close()
	})
	cl.cfg = rest.CopyConfig(env.Config)
	cl.cfg.QPS, cl.cfg.Burst = -1, 0
	cl.cfg.Timeout = time.Minute
	if cl.c, err = client.NewWithWatch(cl.cfg, client.Options{Scheme: testenv.Scheme}); err != nil {
		t.Fatal(err)
	}
	cl.kubeconfig = filepath.Join(dir, "manager.kubeconfig")
	if err := env.WriteKubeconfig(managerUser, cl.kubeconfig); err != nil {
		t.Fatal(err)
	}
	cl.startControllerManager()
	t.Logf("control plane up in %s (etcd, kube-apiserver on %s, kube-controller-manager); files in %s",
		time.Since(start).Round(100*time.Millisecond), cl.cfg.Host, dir)
	return cl
}

// startControllerManager runs kube-controller-manager against the cluster
// with every default controller, as hack/cluster.sh does, and waits until
// its service-account controller has created the default ServiceAccount.
func (cl *cluster) startControllerManager() {
	t := cl.t
	t.Helper()
	kubeconfig := filepath.Join(cl.dir, "kube-controller-manager.kubeconfig")
	if err := cl.env.WriteKubeconfig("kube-controller-manager", kubeconfig); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(cl.dir, "kube-controller-manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	certDir := cl.env.ControlPlane.APIServer.CertDir
	cl.kcm = exec.Command(filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		// envtest's kube-apiserver verifies service-account tokens with
		// sa-signer.crt (--service-account-key-file); this is its key.
		"--service-account-private-key-file", filepath.Join(certDir, "sa-signer.key"),
		"--leader-elect=false",
		"--secure-port=0",
	)
	cl.kcm.Stdout, cl.kcm.Stderr = logFile, logFile
	if err := cl.kcm.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	cl.kcmDone = make(chan struct{})
	go func() {
		cl.kcmErr = cl.kcm.Wait()
		_ = logFile.Close()
		close(cl.kcmDone)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var sa corev1.ServiceAccount
		err := cl.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "default"}, &sa)
		if err == nil {
			return
		}
		select {
		case <-cl.kcmDone:
			t.Fatalf("kube-controller-manager exited (%v); its log is %s", cl.kcmErr, logFile.Name())
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-controller-manager created no default ServiceAccount within 2m (%v); its log is %s", err, logFile.Name())
		}
	}
}

func (cl *cluster) stopControllerManager() {
	if cl.kcm == nil || cl.kcm.Process == nil {
		return
	}
	_ = cl.kcm.Process.Signal(syscall.SIGTERM)
	select {
	case <-cl.kcmDone:
	case <-time.After(20 * time.Second):
		_ = cl.kcm.Process.Kill()
		<-cl.kcmDone
	}
}

// stopAPIServer stops kube-apiserver: SIGTERM, then SIGKILL if it has not
// exited 15 s later (it stops listening at once, but its exit may take
// longer). etcd and the rest keep running. It reports whether kube-apiserver
// had to be killed.
func (cl *cluster) stopAPIServer() (killed bool, err error) {
	err = cl.env.ControlPlane.APIServer.Stop()
	if err != nil && strings.Contains(err.Error(), "timeout waiting for process") {
		return true, nil
	}
	return false, err
}

// startAPIServer starts kube-apiserver again, on the same address and with
// the same certificates, and waits until it is ready.
func (cl *cluster) startAPIServer(ctx context.Context) error {
	if err := cl.env.ControlPlane.APIServer.Start(); err != nil {
		return err
	}
	return cl.waitAPIServerReady(ctx, 3*time.Minute)
}

// waitAPIServerReady waits until /readyz answers ok.
func (cl *cluster) waitAPIServerReady(ctx context.Context, timeout time.Duration) error {
	cs, err := kubernetes.NewForConfig(cl.cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready within %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// operator is one replica of the manager binary in a cluster, started again
// after a kill under the same name. Its logs are <name>-<start>.log.
type operator struct {
	cl     *cluster
	name   string
	opts   testenv.ManagerOptions
	m      *testenv.Manager
	starts int
}

// defaultArgs are the flags every manager of the suite runs with: the
// size's status pacing among them.
func defaultArgs(more ...string) []string {
	p := size().pacing
	return append([]string{"--tenant-image=" + tenantImage,
		"--status-recount-delay=" + p.Delay.String(), "--status-recount-interval=" + p.Interval.String()}, more...)
}

// startOperator starts a manager replica; it is stopped (SIGTERM) when the
// test ends, and its logs are printed if the test failed.
func (cl *cluster) startOperator(ctx context.Context, name string, opts testenv.ManagerOptions) *operator {
	t := cl.t
	t.Helper()
	opts.Bin = managerBin
	opts.Kubeconfig = cl.kubeconfig
	op := &operator{cl: cl, name: name, opts: opts}
	if err := op.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := op.stop(); err != nil {
			t.Errorf("stopping manager %s: %v", name, err)
		} else if took := op.m.StopTook(); took > 0 {
			t.Logf("manager %s exited %ss after SIGTERM", name, seconds(took))
		}
		if t.Failed() {
			op.printLogs()
		}
	})
	return op
}

// start starts the replica (again), and waits for its webhooks when it has
// them.
func (op *operator) start(ctx context.Context) error {
	op.starts++
	opts := op.opts
	opts.LogPath = op.logPath(op.starts)
	m, err := testenv.StartManager(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting manager %s: %w", op.name, err)
	}
	op.m = m
	if !opts.NoWebhooks {
		return testenv.WaitForWebhooks(ctx, op.cl.cfg, 2*time.Minute)
	}
	return nil
}

func (op *operator) logPath(start int) string {
	return filepath.Join(op.cl.dir, fmt.Sprintf("%s-%d.log", op.name, start))
}

// kill stops the replica with SIGKILL.
func (op *operator) kill() error { return op.m.Kill() }

// stop stops the replica with SIGTERM; a second call returns the first's
// result.
func (op *operator) stop() error { return op.m.Stop() }

// exited reports whether the replica's process is gone. Its endpoints are
// no sign: a manager that lost its leadership closes them for a moment as
// it campaigns again in process.
func (op *operator) exited() bool {
	return op.m.Exited()
}

// leader reads leader_election_master_status of the replica.
func (op *operator) leader() bool {
	families, err := op.m.Scrape()
	return err == nil && testenv.Sum(families, "leader_election_master_status", nil) == 1
}

// recountsWithin is how long after the last office event the policies',
// calendars' and TenantDefaults' paced recounts have all run: the
// managers' --status-recount-interval and a second.
func recountsWithin() time.Duration { return size().pacing.Interval + time.Second }

// settle waits until the office controller has had nothing to do for a
// while: idle, then idle again after the policies' paced recounts.
func (op *operator) settle(ctx context.Context, timeout time.Duration) error {
	for range 2 {
		if err := op.m.WaitIdle(ctx, 0, timeout); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(recountsWithin()):
		}
	}
	return op.m.WaitIdle(ctx, 0, timeout)
}

// printLogs prints the end of each of the replica's logs.
func (op *operator) printLogs() {
	for i := 1; i <= op.starts; i++ {
		data, err := os.ReadFile(op.logPath(i))
		if err != nil || len(data) == 0 {
			continue
		}
		const tail = 8000
		if len(data) > tail {
			data = data[len(data)-tail:]
		}
		op.cl.t.Logf("manager %s (start %d) log, last %d bytes:\n%s", op.name, i, len(data), data)
	}
}
