package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// manager is the operator running as its own process, as in a cluster.
type manager struct {
	cmd     *exec.Cmd
	done    chan error
	metrics string
	health  string
	pprof   string
	log     *os.File

	stopOnce sync.Once
	stopErr  error
}

// startManager starts the manager binary with kubeconfig and args, and
// returns once it is ready (its webhooks served, its caches synced).
func startManager(ctx context.Context, bin, kubeconfig, logPath string, args []string) (*manager, error) {
	ports, err := testenv.FreePorts(4)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	m := &manager{
		done:    make(chan error, 1),
		metrics: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		pprof:   fmt.Sprintf("127.0.0.1:%d", ports[3]),
		health:  fmt.Sprintf("127.0.0.1:%d", ports[1]),
		log:     logFile,
	}
	all := append([]string{
		"--metrics-bind-address", m.metrics,
		"--health-probe-bind-address", m.health,
		"--pprof-bind-address", m.pprof,
		"--webhook-port", strconv.Itoa(ports[2]),
		"--webhook-local-url", fmt.Sprintf("https://127.0.0.1:%d", ports[2]),
		"--webhook-cert-dir", filepath.Join(filepath.Dir(logPath), "webhook-certs"),
		"--zap-log-level", "error",
	}, args...)
	m.cmd = exec.Command(bin, all...)
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-m.done:
			return nil, fmt.Errorf("the manager exited (its log is %s): %w", logPath, err)
		case <-ctx.Done():
			_ = m.stop()
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
			_ = m.stop()
			return nil, fmt.Errorf("the manager was not ready within 2m; its log is %s", logPath)
		}
	}
}

// stop stops the manager as Kubernetes does: SIGTERM, then SIGKILL after
// 30 s. Only the first call stops it; later calls return its result.
func (m *manager) stop() error {
	m.stopOnce.Do(func() { m.stopErr = m.terminate() })
	return m.stopErr
}

func (m *manager) terminate() error {
	defer func() { _ = m.log.Close() }()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-m.done:
		if err != nil {
			return fmt.Errorf("the manager stopped with %w on SIGTERM; its log is %s", err, m.log.Name())
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		err := <-m.done
		return fmt.Errorf("the manager did not stop within 30s of SIGTERM and was killed: %w", err)
	}
}

// peakRSSMiB is the manager's peak resident set size so far (VmHWM).
func (m *manager) peakRSSMiB() (float64, error) {
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

// profile writes one of the manager's profiles (heap, or profile?seconds=N
// for the CPU) to path, for go tool pprof.
func (m *manager) profile(which, path string) error {
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

// scrape reads the manager's Prometheus metrics.
func (m *manager) scrape() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// sum adds the values of family's series whose labels include labels.
func sum(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
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

// waitIdle waits until the office controller has reconciled at least n
// offices since the manager started and has nothing queued or running.
func (m *manager) waitIdle(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		families, err := m.scrape()
		if err == nil {
			office := map[string]string{"controller": "office"}
			reconciled := sum(families, "controller_runtime_reconcile_total", office)
			active := sum(families, "controller_runtime_active_workers", office)
			depth := sum(families, "workqueue_depth", map[string]string{"name": "office"})
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
