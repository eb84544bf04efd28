package testenv

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KwokNodeAnnotation marks the Node objects that kwok simulates: it manages
// the nodes that have it (--manage-nodes-with-annotation-selector) and the
// pods bound to them, and leaves every other node alone.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// kwokStages is the Stage configuration of kwok: the kwok binary embeds no
// default Stages (kwokctl writes them into the configuration it gives it),
// and without a node and a pod Stage it would simulate nothing.
//
//go:embed kwok-stages.yaml
var kwokStages []byte

// Workloads is what makes the pods of a control plane run as in a cluster:
// kube-controller-manager (Deployments → ReplicaSets → Pods, garbage
// collection, service accounts, node lifecycle), kube-scheduler (binds pods
// to nodes) and kwok, which simulates nodes and the pods bound to them, so
// that a Deployment reports updated and available replicas.
type Workloads struct {
	// Nodes are the names of the simulated nodes.
	Nodes []string
	// Dir holds the kubeconfigs, configuration and logs of the processes.
	Dir string

	procs []*component
}

// NodesAssets returns the folder of kube-scheduler and kwok: $NODES_ASSETS
// when set (as `make test` does), else the folder hack/nodes.sh builds or
// reuses.
func NodesAssets(root string) (string, error) {
	if dir := os.Getenv("NODES_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command(filepath.Join(root, "hack", "nodes.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building kube-scheduler and kwok with hack/nodes.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// StartWorkloads runs kube-controller-manager (from the control plane's
// folder), kube-scheduler and kwok (from NodesAssets) against the control
// plane, creates that many simulated nodes and returns once they are Ready
// and schedulable and the default ServiceAccount exists. The kubeconfigs,
// kwok's configuration and each process's log go to dir. Workloads.Stop
// stops them all.
func (e *Env) StartWorkloads(dir string, nodes int) (*Workloads, error) {
	nodesAssets, err := NodesAssets(e.Root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c, err := client.New(e.Config, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, err
	}
	w := &Workloads{Dir: dir}
	ok := false
	defer func() {
		if !ok {
			w.Stop()
		}
	}()

	kubeconfig := func(name string) (string, error) {
		path := filepath.Join(dir, name+".kubeconfig")
		return path, e.WriteKubeconfig(name, path)
	}
	kcmConfig, err := kubeconfig("kube-controller-manager")
	if err != nil {
		return nil, err
	}
	err = w.start(filepath.Join(e.BinaryAssetsDirectory, "kube-controller-manager"), nil,
		"--kubeconfig", kcmConfig,
		"--authentication-kubeconfig", kcmConfig,
		"--authorization-kubeconfig", kcmConfig,
		// envtest's kube-apiserver verifies service-account tokens with
		// sa-signer.crt (--service-account-key-file); this is its key.
		"--service-account-private-key-file", filepath.Join(e.ControlPlane.APIServer.CertDir, "sa-signer.key"),
		"--leader-elect=false",
		"--secure-port=0",
	)
	if err != nil {
		return nil, err
	}

	schedulerConfig, err := kubeconfig("kube-scheduler")
	if err != nil {
		return nil, err
	}
	err = w.start(filepath.Join(nodesAssets, "kube-scheduler"), nil,
		"--kubeconfig", schedulerConfig,
		"--leader-elect=false",
		// No serving port: nothing scrapes or probes it here, and parallel
		// test packages would fight over the fixed default one.
		"--secure-port=0",
	)
	if err != nil {
		return nil, err
	}

	kwokConfig, err := kubeconfig("kwok")
	if err != nil {
		return nil, err
	}
	stages := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, kwokStages, 0o644); err != nil {
		return nil, err
	}
	err = w.start(filepath.Join(nodesAssets, "kwok"),
		// kwok also reads $KWOK_WORKDIR/kwok.yaml (~/.kwok by default): a
		// folder of its own keeps a developer's configuration out.
		[]string{"KWOK_WORKDIR=" + dir},
		"--kubeconfig", kwokConfig,
		"--config", stages,
		"--manage-nodes-with-annotation-selector", KwokNodeAnnotation+"=fake",
		// The nodes renew a Lease, as kubelets do, which is the heartbeat
		// kube-controller-manager's node lifecycle controller checks.
		"--node-lease-duration-seconds=40",
		// Pod IPs apart from envtest's Service range (10.0.0.0/24).
		"--cidr=10.244.0.0/16",
	)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range nodes {
		node := fakeNode(fmt.Sprintf("kwok-node-%d", i))
		if err := c.Create(ctx, node); err != nil {
			return nil, fmt.Errorf("creating node %s: %w", node.Name, err)
		}
		w.Nodes = append(w.Nodes, node.Name)
	}

	// Ready is what kwok sets; no taint is what kube-controller-manager then
	// does (it removes node.kubernetes.io/not-ready), and only then does the
	// scheduler bind pods to the node.
	err = w.wait(ctx, "the nodes Ready and untainted", func() (bool, error) {
		for _, name := range w.Nodes {
			var node corev1.Node
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &node); err != nil {
				return false, err
			}
			if len(node.Spec.Taints) > 0 || !nodeReady(&node) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	// Pods are admitted only once their namespace has its default
	// ServiceAccount, which the service-account controller creates.
	err = w.wait(ctx, "the default ServiceAccount", func() (bool, error) {
		var sa corev1.ServiceAccount
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &sa); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return w, nil
}

// fakeNode is a Node that kwok simulates, with room for about a hundred
// small pods and no taint, so that ordinary pods schedule there. Nodes take
// their status on create: kwok's node-initialize Stage keeps this
// allocatable and capacity.
func fakeNode(name string) *corev1.Node {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{KwokNodeAnnotation: "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Allocatable: resources, Capacity: resources},
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// wait polls done until it reports true, the context ends or one of the
// processes exits; what names what it waits for in the error.
func (w *Workloads) wait(ctx context.Context, what string, done func() (bool, error)) error {
	for {
		ok, err := done()
		if ok {
			return nil
		}
		for _, p := range w.procs {
			select {
			case <-p.done:
				exit := p.err
				if exit == nil {
					exit = errors.New("exit status 0")
				}
				return fmt.Errorf("%s exited while waiting for %s (its log is %s): %w", p.name, what, p.log.Name(), exit)
			default:
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("waiting for %s: %w; logs in %s", what, err, w.Dir)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Stop stops kwok, kube-scheduler and kube-controller-manager, in that
// order: SIGTERM, then SIGKILL for one that has not exited 20 s later. The
// Node objects stay: they go with the control plane.
func (w *Workloads) Stop() {
	for i := len(w.procs) - 1; i >= 0; i-- {
		w.procs[i].stop()
	}
	w.procs = nil
}

// component is one process of the workloads.
type component struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// start runs bin with args and the extra environment env, its output in
// <name>.log of w.Dir.
func (w *Workloads) start(bin string, env []string, args ...string) error {
	name := filepath.Base(bin)
	logFile, err := os.Create(filepath.Join(w.Dir, name+".log"))
	if err != nil {
		return err
	}
	p := &component{name: name, cmd: exec.Command(bin, args...), log: logFile, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	w.procs = append(w.procs, p)
	return nil
}

func (p *component) stop() {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
