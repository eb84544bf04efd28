package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Manager is the operator running as its own process, as in a cluster.
type Manager struct {
	cmd     *exec.Cmd
	done    chan error
	webhook string
	metrics string
	health  string
	pprof   string
	log     *os.File

	stopOnce sync.Once
	stopErr  error
	// exited is set once the process is gone, however it ended.
	exited atomic.Bool
	// stopTook is how long Stop took from SIGTERM to the exit.
	stopTook time.Duration
}

// Exited reports whether the manager's process has ended (it exited, was
// stopped or was killed), from the process itself rather than from its
// endpoints, which a manager that campaigns again in process closes for a
// moment.
func (m *Manager) Exited() bool { return m.exited.Load() }

// ManagerOptions say how StartManager runs the manager binary.
type ManagerOptions struct {
	// Bin is the manager binary (BuildManager builds it).
	Bin string
	// Kubeconfig is the path of the kubeconfig it uses (Env.WriteKubeconfig).
	Kubeconfig string
	// LogPath is where its output goes; the webhook certificates go beside
	// it.
	LogPath string
	// Args are more flags, after the ones StartManager sets.
	Args []string
	// NoWebhooks runs it with --enable-webhooks=false. Two managers with
	// webhooks would both install the same local webhook configurations.
	NoWebhooks bool
	// LogLevel is its --zap-log-level; error when empty.
	LogLevel string
	// CertDir is its --webhook-cert-dir; webhook-certs beside LogPath when
	// empty.
	CertDir string
	// SysProcAttr, when set, runs it as another user or in a root of its
	// own (Chroot), with Bin, Kubeconfig and CertDir paths inside that
	// root; it then starts in the root's /.
	SysProcAttr *syscall.SysProcAttr
	// SharedCert serves the webhooks as in a cluster without cert-manager
	// rather than with --webhook-local-url: on 127.0.0.1 (WebhookAddr),
	// with the certificate of a Secret every replica shares, whose CA
	// bundle the manager keeps in the webhook configurations the caller
	// installs. Its certificate directory is CertDir.
	SharedCert *SharedCert
}

// SharedCert names the Secret of the webhook certificate and the webhook
// configurations of a manager run with ManagerOptions.SharedCert.
type SharedCert struct {
	Namespace, Secret    string
	Validating, Mutating string
}

// StartManager starts the manager binary on free loopback ports and returns
// once it is ready (its webhooks served when it has them).
func StartManager(ctx context.Context, opts ManagerOptions) (*Manager, error) {
	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(opts.LogPath)
	if err != nil {
		return nil, err
	}
	logPath := opts.LogPath
	m := &Manager{
		done:    make(chan error, 1),
		metrics: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		pprof:   fmt.Sprintf("127.0.0.1:%d", ports[3]),
		health:  fmt.Sprintf("127.0.0.1:%d", ports[1]),
		log:     logFile,
	}
	level := opts.LogLevel
	if level == "" {
		level = "error"
	}
	all := []string{
		"--metrics-bind-address", m.metrics,
		"--health-probe-bind-address", m.health,
		"--pprof-bind-address", m.pprof,
		"--zap-log-level", level,
	}
	certDir := opts.CertDir
	if certDir == "" {
		certDir = filepath.Join(filepath.Dir(logPath), "webhook-certs")
	}
	switch {
	case opts.NoWebhooks:
		all = append(all, "--enable-webhooks=false")
	case opts.SharedCert != nil:
		m.webhook = fmt.Sprintf("127.0.0.1:%d", ports[2])
		all = append(all,
			"--webhook-host", "127.0.0.1",
			"--webhook-port", strconv.Itoa(ports[2]),
			"--webhook-cert-dir", certDir,
			"--webhook-self-signed-hosts", "127.0.0.1",
			"--webhook-cert-secret", opts.SharedCert.Secret,
			"--webhook-cert-secret-namespace", opts.SharedCert.Namespace,
			"--validating-webhook-configuration", opts.SharedCert.Validating,
			"--mutating-webhook-configuration", opts.SharedCert.Mutating)
	default:
		all = append(all,
			"--webhook-port", strconv.Itoa(ports[2]),
			"--webhook-local-url", fmt.Sprintf("https://127.0.0.1:%d", ports[2]),
			"--webhook-cert-dir", certDir)
	}
	all = append(all, opts.Args...)
	m.cmd = exec.Command(opts.Bin, all...)
	if opts.SysProcAttr != nil {
		m.cmd.SysProcAttr = opts.SysProcAttr
		if opts.SysProcAttr.Chroot != "" {
			m.cmd.Dir = "/"
		}
	}
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+opts.Kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", opts.Bin, err)
	}
	go func() {
		err := m.cmd.Wait()
		m.exited.Store(true)
		m.done <- err
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-m.done:
			return nil, fmt.Errorf("the manager exited (its log is %s): %w", logPath, err)
		case <-ctx.Done():
			_ = m.Stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if resp, err := http.Get("http://" + m.health + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			_ = m.Stop()
			return nil, fmt.Errorf("the manager was not ready within 2m; its log is %s", logPath)
		}
	}
}

// Stop stops the manager as Kubernetes does: SIGTERM, then, if it has not
// exited TerminationGracePeriod later, SIGQUIT (its goroutines to its log)
// and SIGKILL. Only the first call stops it (or Kill); later calls return its
// result.
func (m *Manager) Stop() error {
	m.stopOnce.Do(func() { m.stopErr = m.terminate() })
	return m.stopErr
}

// Kill stops the manager with SIGKILL, as a node failure or the OOM killer
// would: no lease released, no webhook configuration removed.
func (m *Manager) Kill() error {
	m.stopOnce.Do(func() {
		defer func() { _ = m.log.Close() }()
		if err := m.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			m.stopErr = err
			return
		}
		// Killed as asked: that exit status is no error; any other is.
		err := <-m.done
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				err = nil
			}
		}
		m.stopErr = err
	})
	return m.stopErr
}

// WebhookAddr is the host:port of its webhook server when it runs with
// ManagerOptions.SharedCert; empty otherwise.
func (m *Manager) WebhookAddr() string { return m.webhook }

// Ready tells whether its /readyz passes now.
func (m *Manager) Ready() bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + m.health + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// MetricsAddr is the host:port of its plain-HTTP metrics endpoint.
func (m *Manager) MetricsAddr() string { return m.metrics }

func (m *Manager) terminate() error {
	defer func() { _ = m.log.Close() }()
	signalled := time.Now()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	// A stop slower than slowStop: what the manager waits on, from its
	// profiler while it still serves (the manager's own shutdown timeout
	// may end it before the grace period does).
	dumped := ""
	slow := time.After(slowStop)
	grace := time.After(TerminationGracePeriod)
wait:
	for {
		select {
		case err := <-m.done:
			m.stopTook = time.Since(signalled)
			if err != nil {
				return fmt.Errorf("the manager stopped with %w on SIGTERM%s; its log is %s", err, dumped, m.log.Name())
			}
			return nil
		case <-slow:
			path := m.log.Name() + ".goroutines"
			if err := m.Profile("goroutine?debug=2", path); err == nil {
				dumped = fmt.Sprintf(" (its goroutines %s after SIGTERM are in %s)", slowStop, path)
			}
		case <-grace:
			break wait
		}
	}
	// What it waits on: SIGQUIT makes the Go runtime write every
	// goroutine's stack to its log and exit.
	_ = m.cmd.Process.Signal(syscall.SIGQUIT)
	var exit error
	select {
	case exit = <-m.done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		exit = <-m.done
	}
	m.stopTook = time.Since(signalled)
	return fmt.Errorf("the manager did not stop within %s of SIGTERM and was killed (%w)%s; its goroutines at the kill are in its log %s", TerminationGracePeriod, exit, dumped, m.log.Name())
}

// slowStop is how long after SIGTERM a manager that has not exited has its
// goroutines written beside its log.
const slowStop = 10 * time.Second

// TerminationGracePeriod is how long Stop waits after SIGTERM, as the
// kubelet does by default (a Pod's terminationGracePeriodSeconds: 30).
const TerminationGracePeriod = 30 * time.Second

// StopTook is how long the manager took from SIGTERM to its exit in Stop;
// zero before Stop, or after Kill.
func (m *Manager) StopTook() time.Duration { return m.stopTook }

// PeakRSSMiB is the manager's peak resident set size so far (VmHWM).
func (m *Manager) PeakRSSMiB() (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, err
			}
			return kib / 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// Profile writes one of the manager's profiles (heap, or profile?seconds=N
// for the CPU) to path, for go tool pprof.
func (m *Manager) Profile(which, path string) error {
	resp, err := http.Get("http://" + m.pprof + "/debug/pprof/" + which)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// Scrape reads the manager's Prometheus metrics.
func (m *Manager) Scrape() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// Sum adds the values of family's series whose labels include labels.
func Sum(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	f, ok := families[family]
	if !ok {
		return 0
	}
	var total float64
series:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		}
	}
	return total
}

// WaitIdle waits until the office controller has reconciled at least n
// offices since the manager started and has nothing queued or running.
func (m *Manager) WaitIdle(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		families, err := m.Scrape()
		if err == nil {
			office := map[string]string{"controller": "office"}
			reconciled := Sum(families, "controller_runtime_reconcile_total", office)
			active := Sum(families, "controller_runtime_active_workers", office)
			depth := Sum(families, "workqueue_depth", map[string]string{"name": "office"})
			if reconciled >= float64(n) && active == 0 && depth == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the office controller was not idle after %d reconciles within %s (last scrape error: %w)", n, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// BuildManager builds cmd/manager of the repository at root into out.
func BuildManager(root, out string) error {
	return BuildCommand(root, "./cmd/manager", out)
}

// BuildCommand builds the main package pkg of the repository at root into
// out, without a symbol table and DWARF (stack traces and profiles still
// work): the link is most of a build from a warm cache, and DWARF most of
// the link.
func BuildCommand(root, pkg, out string) error {
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}

// WriteKubeconfig writes to path a kubeconfig of a new administrator (group
// system:masters) named user: a manager process authenticates as it, so the
// audit log and the managedFields tell its requests apart.
func (e *Env) WriteKubeconfig(user, path string) error {
	u, err := e.ControlPlane.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := u.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, kubeconfig, 0o600)
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
